"""Render the privacy notice from a register: HTML (canonical), Markdown, PDF.

The wording lives in one Jinja2 template per language (``templates/notice_nb.html.j2``,
``templates/notice_en.html.j2``), one ``<section>`` per art. 13/14 item, written
for readers of that language. This module turns the register into plain data
for those templates: texts in the reader's language, fideslang keys as human
names, legal bases, transfer bases and retention periods in plain words.

Markdown and PDF are derived from the same HTML (``blocks.py``), so the three
formats always carry the same sections and the same facts.

Section ids (stable, the same in every language, for links and tests):
``dv-controller dv-dpo dv-purposes dv-sources dv-requirement dv-automated
dv-recipients dv-transfers dv-retention dv-rights dv-complaint dv-cookies dv-version``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from datavern.core.errors import InvalidInput
from datavern.core.i18n import LANGUAGES, Lang, long_date
from datavern.notices import vocabulary as vocab
from datavern.notices.rules import LEGAL_RETENTION_RULES, duration_parts, is_eea
from datavern.register.schema import (
    UNKNOWN_COUNTRY,
    Activity,
    Address,
    Contact,
    Register,
    Retention,
    SubProcessor,
    System,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECTION_IDS = (
    "dv-controller",
    "dv-dpo",
    "dv-purposes",
    "dv-sources",
    "dv-requirement",
    "dv-automated",
    "dv-recipients",
    "dv-transfers",
    "dv-retention",
    "dv-rights",
    "dv-complaint",
    "dv-cookies",
    "dv-version",
)


@dataclass(frozen=True)
class NoticeMeta:
    """Which applied register version a notice shows. All None: a draft, not applied."""

    version: int | None = None
    applied_at: datetime | None = None
    content_hash: str | None = None

    @classmethod
    def from_version(cls, version: Any) -> NoticeMeta:
        """From a ``RegisterVersion`` row (anything with number, applied_at, content_hash)."""
        return cls(version.number, version.applied_at, version.content_hash)


# --- plain data for the templates --------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text and the language it is written in (it differs when a translation is missing)."""

    text: str
    lang: str


@dataclass(frozen=True)
class Basis:
    letter: str
    name: str
    explanation: str


@dataclass(frozen=True)
class RetentionView:
    period: str | None  # "5 år"
    trigger: str | None  # "etter utgangen av regnskapsåret"
    action: str | None
    law: str | None  # "bokføringsloven § 13 første ledd nr. 1-4"
    law_explanation: str | None
    rule_unknown: str | None  # a named rule Datavern does not know
    indefinite: bool
    missing: bool
    description: Text | None


@dataclass(frozen=True)
class ConsentView:
    name: Text | None
    withdraw: Text | None


@dataclass(frozen=True)
class AutomatedView:
    logic: Text
    significance: Text


@dataclass
class PurposeView:
    key: str
    system: str
    purpose: Text
    subjects: list[str]
    categories: list[str]
    basis: Basis | None
    legitimate_interest: Text | None
    consent: ConsentView | None
    special_basis: tuple[str, str] | None
    national_id_need: Text | None
    recipients: list[str]
    source: Text | None
    source_public: bool
    requirement: str | None
    requirement_consequence: Text | None
    automated: AutomatedView | None
    retention: RetentionView
    marketing: bool
    legal_basis: str | None


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    eea: bool


@dataclass
class RecipientView:
    key: str
    name: str
    org_nr: str | None
    service: Text | None
    role: str
    country: Place
    places: list[Place]
    categories: list[str]
    transfer: str | None
    transfer_note: str | None
    safeguards_url: str | None
    outside_eea: bool
    outside_places: list[Place]
    copy_available: bool  # art. 46/47 safeguards: the subject may ask for a copy (13(1)(f))
    processor: bool
    dpa: bool
    purposes: list[Text] = field(default_factory=list)
    country_unknown: bool = False  # the register does not know where it is (country: unknown)


@dataclass(frozen=True)
class CookieView:
    name: str
    provider: str
    purpose: Text | None
    duration: str
    category: str
    third_party: bool
    necessary: bool
    consent: bool


@dataclass(frozen=True)
class ContactView:
    name: str | None
    email: str | None
    phone: str | None
    address: list[str]
    url: str | None


@dataclass
class NoticeView:
    lang: str
    org_name: str
    org_nr: str | None
    address: list[str]
    email: str | None
    phone: str | None
    website: str | None
    dpo: ContactView | None
    representative: ContactView | None
    authority_name: str
    authority_url: str
    authority_address: str | None
    authority_complaint_url: str | None
    privacy_centre_url: str | None
    contact_email: str | None
    purposes: list[PurposeView]
    recipients: list[RecipientView]
    cookies: list[CookieView]
    version: int | None
    applied_on: str | None
    content_hash: str | None
    # Which purposes each conditional right concerns (art. 20, 21, 7(3), 22).
    portability_purposes: list[Text]
    objection_purposes: list[Text]
    marketing_purposes: list[Text]
    consent_purposes: list[Text]
    consent_withdrawal: list[tuple[Text, Text | None]]
    # What the register records but cannot name (organisation.unnamed_recipients,
    # unspecified_transfers): the notice says so instead of staying silent.
    unnamed_recipients: Text | None = None
    unspecified_transfers: Text | None = None

    @property
    def processors_have_dpa(self) -> bool:
        """Every processor has a signed art. 28 agreement (so the notice may say so)."""
        processors = [r for r in self.recipients if r.processor]
        return bool(processors) and all(r.dpa for r in processors)

    @property
    def cookies_need_consent(self) -> bool:
        """Every cookie that is not strictly necessary is tied to a consent purpose."""
        return all(c.necessary or c.consent for c in self.cookies)

    @property
    def retention_complete(self) -> bool:
        """Every purpose has a stated, finite retention (so the notice may promise so)."""
        return all(
            not (p.retention.missing or p.retention.indefinite or p.retention.rule_unknown)
            for p in self.purposes
        )

    @property
    def transfers(self) -> list[RecipientView]:
        return [r for r in self.recipients if r.outside_eea]

    @property
    def unknown_locations(self) -> list[RecipientView]:
        """Recipients whose country is unknown, with no known place outside the EEA."""
        return [r for r in self.recipients if r.country_unknown and not r.outside_eea]

    @property
    def sourced(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.source or p.source_public]

    @property
    def required(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.requirement]

    @property
    def automated(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.automated]


class _Texts:
    """Localized register texts in one language, falling back to another one."""

    def __init__(self, lang: str, languages: list[str]) -> None:
        self.lang = lang
        self.languages = languages

    def __call__(self, value: dict[str, str] | None) -> Text | None:
        if not value:
            return None
        if self.lang in value:
            return Text(value[self.lang], self.lang)
        first = self.languages[0] if self.languages else "nb"
        if "_" in value:
            return Text(value["_"], first)
        for lang in (*self.languages, *LANGUAGES):
            if lang in value:
                return Text(value[lang], lang)
        return None


def _address_lines(address: Address | None, lang: str) -> list[str]:
    if address is None:
        return []
    lines = [address.street, f"{address.postal_code} {address.city}"]
    if address.country != "NO":
        lines.append(vocab.country_name(address.country, lang))
    return lines


def _contact(contact: Contact | None, lang: str) -> ContactView | None:
    if contact is None:
        return None
    return ContactView(
        contact.name,
        contact.email,
        contact.phone,
        _address_lines(contact.address, lang),
        contact.url,
    )


def _retention(retention: Retention | None, lang: str, texts: _Texts) -> RetentionView:
    if retention is None:
        return RetentionView(None, None, None, None, None, None, False, True, None)
    period = trigger = law = law_explanation = rule_unknown = None
    if retention.rule:
        rule = LEGAL_RETENTION_RULES.get(retention.rule)
        if rule is None:
            rule_unknown = retention.rule
        else:
            parts = duration_parts(rule.period)
            period = vocab.period_text(parts, lang) if parts else rule.period
            trigger = vocab.trigger_text(rule.trigger, lang)
            law = rule.citation.get(lang)
            law_explanation = rule.explanation.get(lang)
    if retention.period:
        parts = duration_parts(retention.period)
        period = vocab.period_text(parts, lang) if parts else retention.period
    if retention.trigger:
        trigger = vocab.trigger_text(retention.trigger, lang)
    return RetentionView(
        period=period,
        trigger=trigger,
        action=vocab.RETENTION_ACTIONS[retention.action.value][lang],
        law=law,
        law_explanation=law_explanation,
        rule_unknown=rule_unknown,
        indefinite=retention.indefinite,
        missing=False,
        description=texts(retention.description),
    )


def _basis(key: str | None, lang: str) -> Basis | None:
    if key is None or key not in vocab.LEGAL_BASES:
        return None
    letter, name, explanation = vocab.LEGAL_BASES[key][lang]
    return Basis(letter, name, explanation)


def _purpose(
    system: System,
    activity: Activity,
    register: Register,
    lang: str,
    texts: _Texts,
) -> PurposeView:
    consent = None
    if activity.consent_purpose:
        cp = register.consent_purpose(activity.consent_purpose)
        consent = ConsentView(
            name=texts(cp.name) if cp else None, withdraw=texts(cp.withdraw) if cp else None
        )
    elif activity.legal_basis and activity.legal_basis.value == "consent":
        consent = ConsentView(None, None)
    special = None
    if activity.special_category_basis:
        special = vocab.SPECIAL_CATEGORY_BASES[activity.special_category_basis.value][lang]
    automated = None
    if activity.automated_decisions:
        logic = texts(activity.automated_decisions.logic)
        significance = texts(activity.automated_decisions.significance)
        if logic and significance:
            automated = AutomatedView(logic, significance)
    recipients = []
    for key in activity.recipients:
        processor = register.sub_processor(key)
        recipients.append(processor.name if processor else key)
    purpose = texts(activity.purpose) or Text(activity.key, lang)
    return PurposeView(
        key=activity.key,
        system=system.name,
        purpose=purpose,
        subjects=[vocab.subject_name(s, lang) for s in activity.data_subjects],
        categories=[vocab.category_name(c, lang) for c in activity.data_categories],
        basis=_basis(activity.legal_basis.value if activity.legal_basis else None, lang),
        legitimate_interest=texts(activity.legitimate_interest),
        consent=consent,
        special_basis=special,
        national_id_need=texts(activity.national_id_need),
        recipients=recipients,
        source=texts(activity.source),
        source_public=activity.source_publicly_available,
        requirement=(
            vocab.REQUIREMENTS[activity.requirement.value][lang] if activity.requirement else None
        ),
        requirement_consequence=texts(activity.requirement_consequence),
        automated=automated,
        retention=_retention(activity.retention, lang, texts),
        marketing=activity.data_use.startswith("marketing"),
        legal_basis=activity.legal_basis.value if activity.legal_basis else None,
    )


def _place(code: str, lang: str) -> Place:
    return Place(code, vocab.country_name(code, lang), is_eea(code))


def _recipient(processor: SubProcessor, lang: str, texts: _Texts) -> RecipientView:
    codes = [processor.country, *[c for c in processor.locations if c != processor.country]]
    places = [_place(c, lang) for c in codes]
    unknown = processor.country == UNKNOWN_COUNTRY
    # As in the lint (register/rules/transfers.py): a recipient seated or processing outside the
    # EEA receives a transfer (chapter V), whatever its data centre. An unknown country
    # is neither inside nor outside: the notice says it cannot tell.
    outside_places = [p for p in places if not p.eea and p.code != UNKNOWN_COUNTRY]
    outside = bool(outside_places) or (
        processor.transfer is not None and processor.transfer.basis.value != "eea"
    )
    transfer = processor.transfer
    if transfer is not None:
        transfer_text = vocab.transfer_basis_text(
            transfer.basis.value, lang, transfer.dpf_certified
        )
    elif outside:
        transfer_text = vocab.transfer_basis_text("none", lang)
    elif unknown:
        transfer_text = vocab.transfer_basis_text("unknown_country", lang)
    else:
        transfer_text = vocab.transfer_basis_text("eea", lang)
    return RecipientView(
        key=processor.key,
        name=processor.name,
        org_nr=processor.org_nr,
        service=texts(processor.service),
        role=vocab.recipient_role_name(processor.role, lang),
        country=_place(processor.country, lang),
        places=places,
        categories=[vocab.category_name(c, lang) for c in processor.data_categories],
        transfer=transfer_text,
        transfer_note=transfer.note if transfer else None,
        safeguards_url=transfer.safeguards_url if transfer else None,
        outside_eea=outside,
        outside_places=outside_places,
        copy_available=transfer is not None
        and (transfer.basis.value in ("scc_2021", "bcr") or bool(transfer.safeguards_url)),
        processor=processor.role == "processor",
        dpa=processor.dpa_signed is not None,
        country_unknown=unknown,
    )


def _cookie_duration(value: str, lang: str) -> str:
    if value == "session":
        return "Til du lukker nettleseren" if lang == "nb" else "Until you close your browser"
    parts = duration_parts(value)
    return vocab.period_text(parts, lang) if parts else value


def build_view(register: Register, meta: NoticeMeta | None, lang: str) -> NoticeView:
    """The notice's facts in ``lang``, ready for the templates."""
    check_language(register, lang)
    meta = meta or NoticeMeta()
    org = register.organisation
    languages: list[str] = [str(x) for x in org.languages]
    texts = _Texts(lang, languages)
    purposes = [_purpose(s, a, register, lang, texts) for s, a in register.activities()]
    recipients = [_recipient(p, lang, texts) for p in register.sub_processors]
    by_key = {r.key: r for r in recipients}
    for (_, activity), view in zip(register.activities(), purposes, strict=True):
        for key in activity.recipients:
            if key in by_key and view.purpose not in by_key[key].purposes:
                by_key[key].purposes.append(view.purpose)
    cookies = [
        CookieView(
            name=c.name,
            provider=c.provider,
            purpose=texts(c.purpose),
            duration=_cookie_duration(c.duration, lang),
            category=vocab.cookie_category_name(c.category.value, lang),
            third_party=c.third_party,
            necessary=c.category.value == "necessary",
            consent=c.consent_purpose is not None,
        )
        for c in register.cookies
    ]
    authority = org.supervisory_authority
    contact_email = org.email or (org.dpo.email if org.dpo else None)
    return NoticeView(
        lang=lang,
        org_name=org.name,
        org_nr=org.org_nr,
        address=_address_lines(org.address, lang),
        email=org.email,
        phone=org.phone,
        website=org.website,
        dpo=_contact(org.dpo, lang),
        representative=_contact(org.representative, lang),
        authority_name=authority.name,
        authority_url=authority.url,
        authority_address=authority.address,
        authority_complaint_url=authority.complaint_url,
        privacy_centre_url=org.privacy_centre_url,
        contact_email=contact_email,
        purposes=purposes,
        recipients=recipients,
        cookies=cookies,
        version=meta.version,
        applied_on=long_date(meta.applied_at, _lang(lang)) if meta.applied_at else None,
        content_hash=meta.content_hash,
        portability_purposes=[
            p.purpose for p in purposes if p.legal_basis in ("consent", "contract")
        ],
        objection_purposes=[
            p.purpose for p in purposes if p.legal_basis in ("legitimate_interests", "public_task")
        ],
        marketing_purposes=[p.purpose for p in purposes if p.marketing],
        consent_purposes=[p.purpose for p in purposes if p.consent is not None],
        consent_withdrawal=[
            (name, texts(cp.withdraw))
            for cp in register.consent_purposes
            if (name := texts(cp.name)) is not None
        ],
        unnamed_recipients=texts(org.unnamed_recipients),
        unspecified_transfers=texts(org.unspecified_transfers),
    )


def _lang(lang: str) -> Lang:
    return "en" if lang == "en" else "nb"


def check_language(register: Register, lang: str) -> None:
    """The notice is published in the register's languages only (art. 12(1): a language
    the reader understands is one the company has written texts for)."""
    languages = register.organisation.languages
    if lang not in LANGUAGES:
        raise InvalidInput(f"unknown notice language {lang!r}; expected one of nb, en")
    if lang not in languages:
        raise InvalidInput(
            f"the register publishes its notice in {', '.join(languages)}, not {lang!r}: "
            "add it to organisation.languages and write the texts"
        )


# --- templates -----------------------------------------------------------------------


def _text_filter(value: Text | None, lang: str) -> Markup:
    """A register text; marked with its language when it is not the page's (WCAG 3.1.2)."""
    if value is None:
        return Markup("")
    if value.lang != lang and value.lang in LANGUAGES:
        return Markup('<span lang="{}">{}</span>').format(value.lang, value.text)
    return Markup("{}").format(value.text)


def _lower_first(word: str) -> str:
    """'E-postadresse' -> 'e-postadresse', but 'IP-adresse' and 'ID' stay as they are."""
    if len(word) > 1 and word[1].isupper():
        return word
    return word[:1].lower() + word[1:]


def _join(items: list[str], lang: str, case: str = "sentence") -> str:
    """'Navn, e-postadresse og telefonnummer': a list of names as one phrase.

    case: "sentence" lowers every item but the first, "lower" every item, "keep" none
    (proper names such as companies).
    """
    items = list(dict.fromkeys(i for i in items if i))
    if case in ("sentence", "lower"):
        start = 1 if case == "sentence" else 0
        items = items[:start] + [_lower_first(i) for i in items[start:]]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    word = " og " if lang == "nb" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["join_words"] = _join
    env.filters["t"] = _text_filter
    return env


def render_notice_fragment(register: Register, meta: NoticeMeta | None, lang: str) -> str:
    """The notice as an HTML fragment (one ``<article>``), for embedding in a page."""
    view = build_view(register, meta, lang)
    template = environment().get_template(f"notice_{lang}.html.j2")
    return template.render(n=view)


def notice_stylesheet() -> str:
    """The notice CSS (``dv-*`` classes under ``.dv-notice``), for pages embedding the fragment."""
    return (TEMPLATES / "notice.css").read_text(encoding="utf-8")


def render_notice_page(register: Register, meta: NoticeMeta | None, lang: str) -> str:
    """The notice as a complete, standalone HTML page (inline CSS, no JavaScript)."""
    view = build_view(register, meta, lang)
    fragment = Markup(environment().get_template(f"notice_{lang}.html.j2").render(n=view))
    return environment().get_template("page.html.j2").render(n=view, fragment=fragment)


def render_notice_markdown(register: Register, meta: NoticeMeta | None, lang: str) -> str:
    from datavern.notices.blocks import parse_html, to_markdown

    return to_markdown(parse_html(render_notice_fragment(register, meta, lang)))


def render_notice_pdf(register: Register, meta: NoticeMeta | None, lang: str) -> bytes:
    from datavern.notices.blocks import parse_html
    from datavern.notices.pdf import blocks_to_pdf

    blocks = parse_html(render_notice_fragment(register, meta, lang))
    meta = meta or NoticeMeta()
    return blocks_to_pdf(
        blocks,
        title=title(register, lang),
        author=register.organisation.name,
        lang=lang,
        created=meta.applied_at,
    )


def title(register: Register, lang: str) -> str:
    name = register.organisation.name
    return f"Personvernerklæring for {name}" if lang == "nb" else f"Privacy notice – {name}"


FORMATS = ("html", "md", "pdf")


def render(register: Register, meta: NoticeMeta | None, lang: str, fmt: str) -> str | bytes:
    """The notice in ``fmt`` (html: a full page; md; pdf: bytes)."""
    if fmt == "html":
        return render_notice_page(register, meta, lang)
    if fmt == "md":
        return render_notice_markdown(register, meta, lang)
    if fmt == "pdf":
        return render_notice_pdf(register, meta, lang)
    raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
