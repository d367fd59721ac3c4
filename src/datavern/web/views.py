"""What the admin pages show, built from a Register: plain data for the templates.

The processing map follows the data: system -> activity -> recipient -> country.
A recipient whose data leaves the EEA is a transfer (GDPR chapter V) and is shown
with its basis; a basis that is not valid for that place is an error on the map,
the same facts `datavern check` reports as lint findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from babel import Locale

from datavern.core.i18n import Lang
from datavern.notices.rules import LEGAL_RETENTION_RULES, duration_parts
from datavern.register.rules import EEA, Finding, lint
from datavern.register.schema import (
    UNKNOWN_COUNTRY,
    Activity,
    Register,
    Retention,
    SubProcessor,
    text_for,
)
from datavern.web.messages import translate

Status = Literal["eea", "transfer", "invalid", "unknown"]


def localized(value: dict[str, str] | None, lang: Lang, languages: list[str]) -> str:
    """The text in ``lang``, else the register's own first language: the console shows
    what the register says rather than nothing."""
    if not value:
        return ""
    exact = text_for(value, lang, languages)
    if exact:
        return exact
    for candidate in [*languages, "_", *value]:
        if value.get(candidate):
            return value[candidate]
    return ""


def country_name(code: str, lang: Lang) -> str:
    if code == UNKNOWN_COUNTRY:
        return translate(lang, "country_unknown")
    locale = Locale.parse("nb_NO" if lang == "nb" else "en_GB")
    return str(locale.territories.get(code.upper(), code.upper()))


def duration_text(iso: str, lang: Lang) -> str:
    if iso == "session":
        return translate(lang, "duration_session")
    parts = duration_parts(iso)
    if parts is None:
        return iso
    names = ("years", "months", "weeks", "days")
    pieces = [
        translate(lang, f"duration_{name}_{'one' if count == 1 else 'many'}", n=count)
        for name, count in zip(names, parts, strict=True)
        if count
    ]
    return translate(lang, "list_and").join(pieces) if len(pieces) == 2 else ", ".join(pieces)


def retention_text(retention: Retention | None, lang: Lang, languages: list[str]) -> str:
    if retention is None:
        return translate(lang, "retention_missing")
    if retention.indefinite:
        return translate(lang, "retention_indefinite")
    parts: list[str] = []
    if retention.rule:
        rule = LEGAL_RETENTION_RULES.get(retention.rule)
        if rule is not None:
            parts.append(
                translate(
                    lang,
                    "retention_rule",
                    period=duration_text(rule.period, lang),
                    trigger=rule.trigger,
                    law=rule.citation[lang],
                )
            )
        else:
            parts.append(retention.rule)
    if retention.period:
        text = duration_text(retention.period, lang)
        if retention.trigger:
            text = translate(lang, "retention_after", period=text, trigger=retention.trigger)
        parts.append(text)
    action = translate(lang, f"retention_action_{retention.action.value}")
    described = localized(retention.description, lang, languages)
    out = "; ".join(parts) if parts else translate(lang, "retention_missing")
    out = f"{out} ({action})"
    return f"{out}. {described}" if described else out


# Lint rules on transfers whose finding the console words itself, in the reader's language;
# any other finding is shown with the lint's own (English) message.
TRANSFER_PROBLEM_KEYS = {
    "DV101": "transfer_problem_invalid_basis",
    "DV102": "transfer_problem_no_basis",
    "DV103": "transfer_problem_eea_outside",
    "DV104": "transfer_problem_no_adequacy",
    "DV105": "transfer_problem_dpf_uncertified",
    "DV106": "transfer_problem_dpf_not_us",
    "DV107": "transfer_problem_derogation",
    "DV108": "transfer_problem_safeguards_copy",
    "DV109": "transfer_problem_scc_unversioned",
    "DV110": "transfer_problem_country_unknown",
}


@dataclass
class TransferProblem:
    rule_id: str
    severity: str  # error | warning | info
    key: str | None  # message key, or None: show ``message``
    message: str


@dataclass
class TransferAssessment:
    """Whether data given to a recipient leaves the EEA, on which basis, and what the
    lint (chapter V rules DV1xx) says about it: the map shows what `datavern check` finds."""

    status: Status
    outside: list[str]  # countries outside the EEA where the data goes
    basis: str | None
    problems: list[TransferProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[TransferProblem]:
        return [p for p in self.problems if p.severity == "error"]


def assess_transfer(processor: SubProcessor, findings: list[Finding]) -> TransferAssessment:
    """``findings``: the lint findings whose path lies under this sub-processor."""
    places = [processor.country, *processor.locations]
    outside = sorted({c for c in places if c not in EEA})
    basis = processor.transfer.basis.value if processor.transfer else None
    problems = [
        TransferProblem(f.id, f.severity.value, TRANSFER_PROBLEM_KEYS.get(f.id), f.message)
        for f in findings
        if f.id.startswith("DV1")
    ]
    if any(p.severity == "error" for p in problems):
        status: Status = "invalid"
    elif outside:
        status = "transfer"
    else:
        status = "eea"
    return TransferAssessment(status, outside, basis, problems)


@dataclass
class Place:
    code: str
    name: str
    eea: bool


@dataclass
class RecipientView:
    key: str
    name: str
    known: bool
    service: str = ""
    role: str = "processor"
    country: Place | None = None
    places: list[Place] = field(default_factory=list)
    assessment: TransferAssessment | None = None
    dpa_signed: str | None = None
    data_categories: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return self.assessment.status if self.assessment else "unknown"


@dataclass
class ActivityView:
    key: str
    purpose: str
    legal_basis: str | None
    data_use: str
    data_categories: list[str]
    data_subjects: list[str]
    retention: str
    recipients: list[RecipientView]
    special_category_basis: str | None = None
    legitimate_interest: str = ""
    consent_purpose: str | None = None


@dataclass
class SystemView:
    key: str
    name: str
    description: str
    activities: list[ActivityView]


@dataclass
class CountryView:
    place: Place
    recipients: list[RecipientView]


@dataclass
class RegisterView:
    register: Register
    systems: list[SystemView]
    recipients: list[RecipientView]
    unlinked: list[RecipientView]  # sub-processors no activity names
    transfers: list[RecipientView]  # outside the EEA, or with an invalid basis
    countries: list[CountryView]
    findings: list[Finding] = field(default_factory=list)  # the whole lint, for the dashboard
    # What the register admits without the facts (lint errors DV111, DV208), in its own words.
    unspecified_transfers: str = ""
    unnamed_recipients: str = ""

    @property
    def lint_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity.value == "error")

    @property
    def lint_warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity.value == "warning")

    @property
    def invalid_transfers(self) -> list[RecipientView]:
        return [r for r in self.transfers if r.status == "invalid"]


def _place(code: str, lang: Lang) -> Place:
    # An unknown country counts as outside the EEA: nobody can say the data stays in it.
    return Place("?" if code == UNKNOWN_COUNTRY else code, country_name(code, lang), code in EEA)


def _recipient(
    processor: SubProcessor, findings: list[Finding], lang: Lang, languages: list[str]
) -> RecipientView:
    return RecipientView(
        key=processor.key,
        name=processor.name,
        known=True,
        service=localized(processor.service, lang, languages),
        role=processor.role,
        country=_place(processor.country, lang),
        places=[_place(c, lang) for c in (processor.locations or [processor.country])],
        assessment=assess_transfer(processor, findings),
        dpa_signed=processor.dpa_signed.isoformat() if processor.dpa_signed else None,
        data_categories=list(processor.data_categories),
    )


def _activity(
    activity: Activity,
    recipients: dict[str, RecipientView],
    lang: Lang,
    languages: list[str],
) -> ActivityView:
    return ActivityView(
        key=activity.key,
        purpose=localized(activity.purpose, lang, languages),
        legal_basis=activity.legal_basis.value if activity.legal_basis else None,
        data_use=activity.data_use,
        data_categories=list(activity.data_categories),
        data_subjects=list(activity.data_subjects),
        retention=retention_text(activity.retention, lang, languages),
        recipients=[
            recipients.get(key, RecipientView(key=key, name=key, known=False))
            for key in activity.recipients
        ],
        special_category_basis=(
            activity.special_category_basis.value if activity.special_category_basis else None
        ),
        legitimate_interest=localized(activity.legitimate_interest, lang, languages),
        consent_purpose=activity.consent_purpose,
    )


def build_register_view(register: Register, lang: Lang, today: date) -> RegisterView:
    languages: list[str] = list(register.organisation.languages)
    findings = lint(register, today=today)
    per_processor: dict[int, list[Finding]] = {}
    for finding in findings:
        if len(finding.path) >= 2 and finding.path[0] == "sub_processors":
            index = finding.path[1]
            if isinstance(index, int):
                per_processor.setdefault(index, []).append(finding)
    recipients = {
        p.key: _recipient(p, per_processor.get(i, []), lang, languages)
        for i, p in enumerate(register.sub_processors)
    }
    systems = [
        SystemView(
            key=s.key,
            name=s.name,
            description=localized(s.description, lang, languages),
            activities=[_activity(a, recipients, lang, languages) for a in s.processing],
        )
        for s in register.systems
    ]
    used = {key for _, a in register.activities() for key in a.recipients}
    ordered = list(recipients.values())
    by_country: dict[str, CountryView] = {}
    for recipient in ordered:
        for place in recipient.places:
            view = by_country.setdefault(place.code, CountryView(place, []))
            if recipient not in view.recipients:
                view.recipients.append(recipient)
    countries = sorted(by_country.values(), key=lambda c: (not c.place.eea, c.place.name))
    return RegisterView(
        register=register,
        systems=systems,
        recipients=ordered,
        unlinked=[r for r in ordered if r.key not in used],
        transfers=[r for r in ordered if r.status in ("transfer", "invalid")],
        countries=countries,
        findings=findings,
        unspecified_transfers=localized(
            register.organisation.unspecified_transfers, lang, languages
        ),
        unnamed_recipients=localized(register.organisation.unnamed_recipients, lang, languages),
    )


@dataclass
class FieldRow:
    path: str
    categories: list[str]


@dataclass
class DatasetView:
    key: str
    name: str
    description: str
    rows: list[FieldRow]


def _fields(prefix: str, fields: list[Any] | None) -> list[FieldRow]:
    rows: list[FieldRow] = []
    for f in fields or []:
        path = f"{prefix}.{f.name}"
        rows.append(FieldRow(path, list(f.data_categories or [])))
        rows.extend(_fields(path, getattr(f, "fields", None)))
    return rows


def dataset_views(register: Register) -> list[DatasetView]:
    out: list[DatasetView] = []
    for dataset in register.dataset:
        rows: list[FieldRow] = []
        for collection in dataset.collections:
            rows.append(FieldRow(collection.name, list(collection.data_categories or [])))
            rows.extend(_fields(collection.name, collection.fields))
        out.append(
            DatasetView(
                key=dataset.fides_key,
                name=dataset.name or dataset.fides_key,
                description=dataset.description or "",
                rows=rows,
            )
        )
    return out
