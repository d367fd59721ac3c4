"""Consent rules without I/O: decisions, subjects, text hashes, the ledger chain, state,
re-consent cut-offs, which purposes need consent, signed tokens and IP truncation.

Everything here is pure (stdlib and pydantic models only), so the legal logic is
tested fast and exhaustively. The service applies these rules to the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Self
from urllib.parse import urlsplit

from datavern.register.schema import CookieCategory, LegalBasis, Register, text_for

GENESIS: Final = "0" * 64


class Decision(StrEnum):
    """What a ledger record says. ``object`` is an objection under GDPR art. 21."""

    grant = "grant"
    deny = "deny"
    withdraw = "withdraw"
    object = "object"


class Method(StrEnum):
    """How a decision was collected (the proof of art. 7(1) names it)."""

    banner_accept_all = "banner_accept_all"
    banner_reject_all = "banner_reject_all"
    banner_custom = "banner_custom"
    form_checkbox = "form_checkbox"
    double_opt_in = "double_opt_in"
    gpc = "gpc"
    api = "api"
    unsubscribe = "unsubscribe"


BANNER_METHODS: Final = frozenset(
    {Method.banner_accept_all, Method.banner_reject_all, Method.banner_custom, Method.gpc}
)

# Banner consents are asked again after a year: Datatilsynet and the EDPB expect
# consent to be renewed at reasonable intervals, and a cookie choice older than the
# longest cookie lifetime we commonly see (13 months) proves little.
BANNER_CONSENT_LIFETIME: Final = timedelta(days=365)

# A direct-marketing objection (art. 21(2)-(3)) recorded under this key covers every
# purpose whose data use is marketing, whatever its legal basis.
DIRECT_MARKETING: Final = "direct_marketing"

# Purposes the DSR restriction still allows (art. 18(1): storage).
STORAGE_PURPOSES: Final = frozenset({"storage", "functional.storage"})


# --------------------------------------------------------------------------- #
# Subjects
# --------------------------------------------------------------------------- #


class SubjectError(ValueError):
    """A subject reference that cannot be used; the message never repeats the value."""


class SubjectKind(StrEnum):
    account = "account"  # an account or customer id in the company's own systems
    email = "email"  # an e-mail address; stored only as a keyed hash (``emailhash:``)
    emailhash = "emailhash"  # the stored form of an e-mail subject
    visitor = "visitor"  # the banner's random visitor id


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ACCOUNT_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,150}$")
MAX_SUBJECT_LENGTH: Final = 320


@dataclass(frozen=True)
class SubjectInput:
    """A parsed subject: ``kind`` and the normalised value (an e-mail is lower-cased)."""

    kind: SubjectKind
    value: str

    @property
    def needs_hash(self) -> bool:
        return self.kind is SubjectKind.email


def parse_subject(text: str) -> SubjectInput:
    """``account:ID``, ``email:ADDRESS`` (or a bare address), ``emailhash:HEX`` or
    ``visitor:ID``. Raises SubjectError naming what is wrong, never the value."""
    text = text.strip()
    if not text:
        raise SubjectError("the subject is empty")
    if len(text) > MAX_SUBJECT_LENGTH:
        raise SubjectError(f"the subject is longer than {MAX_SUBJECT_LENGTH} characters")
    kind_text, sep, value = text.partition(":")
    if not sep or kind_text not in SubjectKind.__members__:
        if "@" in text:
            kind_text, value = "email", text
        else:
            raise SubjectError(
                "write the subject as account:ID, email:ADDRESS, emailhash:HEX or visitor:ID"
            )
    kind = SubjectKind(kind_text)
    value = value.strip()
    if kind is SubjectKind.email:
        value = value.lower()
        if not _EMAIL_RE.match(value):
            raise SubjectError("the subject's e-mail address is not valid")
    elif kind is SubjectKind.emailhash:
        value = value.lower()
        if not _HEX64_RE.match(value):
            raise SubjectError("an emailhash subject is 64 hexadecimal characters")
    elif kind is SubjectKind.visitor:
        if not _VISITOR_RE.match(value):
            raise SubjectError("a visitor id is 16-64 characters of letters, digits, '-' and '_'")
    elif not _ACCOUNT_RE.match(value):
        raise SubjectError("an account id is 1-150 characters without spaces or control characters")
    return SubjectInput(kind, value)


def stored_subject(subject: SubjectInput, email_hash: str | None = None) -> str:
    """The reference the ledger keeps: e-mail addresses only as their keyed hash."""
    if subject.kind is SubjectKind.email:
        if email_hash is None:
            raise ValueError("an e-mail subject is stored by its keyed hash")
        return f"emailhash:{email_hash}"
    return f"{subject.kind.value}:{subject.value}"


# --------------------------------------------------------------------------- #
# IP addresses
# --------------------------------------------------------------------------- #


def truncate_ip(address: str | None) -> str | None:
    """The network an address belongs to: IPv4 /24, IPv6 /48; None if not an address.

    The full address is personal data that proves nothing more about a consent than
    its network does (data minimisation, art. 5(1)(c)).
    """
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def is_ip_address(address: str) -> bool:
    """Whether ``address`` is one IPv4 or IPv6 address (what ``truncate_ip`` can keep).

    A caller that names an address (the API's ``ip``) is refused when it is not one,
    instead of the record silently getting none.
    """
    try:
        ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return True


MAX_USER_AGENT: Final = 300


def clip_user_agent(value: str | None) -> str | None:
    """The user agent as sent, cut to a bounded length, control characters removed."""
    if not value:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable())
    return cleaned[:MAX_USER_AGENT] or None


# --------------------------------------------------------------------------- #
# Collection points
# --------------------------------------------------------------------------- #

MAX_COLLECTION_POINT: Final = 500
COLLECTION_POINT_SCHEMES: Final = frozenset({"http", "https"})
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class CollectionPointError(ValueError):
    """A collection point that cannot be stored; the message never repeats the value."""


def clean_collection_point(value: str | None) -> str | None:
    """Where a decision was collected, as the ledger keeps it; None for nothing.

    The ledger is append-only, so nothing beyond the place itself goes in: a query
    string or fragment (which often carries an e-mail address, a token or a campaign
    id) is never stored.

    - An absolute URL keeps ``scheme://host[:port]/path`` only: query, fragment and
      any ``user:password@`` are dropped; the scheme and host are lower-cased.
      Only ``http`` and ``https`` are URLs here; any other scheme (``javascript:``,
      ``data:``, ``file:``, ``mailto:``, ...) is refused.
    - A value without a scheme is a system name (``crm``, ``cli``, ``skjema``) and
      keeps its text, cut at the first ``?`` or ``#``.

    The result is at most ``MAX_COLLECTION_POINT`` characters and holds no control
    characters; CollectionPointError otherwise.
    """
    if value is None:
        return None
    text = value.strip()
    if any(not ch.isprintable() for ch in text):
        raise CollectionPointError("a collection point holds no control characters")
    scheme = _SCHEME_RE.match(text)
    if scheme is None:
        cleaned = re.split(r"[?#]", text, maxsplit=1)[0].strip()
    else:
        if scheme.group(1).lower() not in COLLECTION_POINT_SCHEMES:
            raise CollectionPointError(
                "a collection point is an http(s) URL or a system name without a scheme; "
                f"{scheme.group(1).lower()}: is not accepted"
            )
        cleaned = _origin_and_path(text)
    if len(cleaned) > MAX_COLLECTION_POINT:
        raise CollectionPointError(f"at most {MAX_COLLECTION_POINT} characters")
    return cleaned or None


def _origin_and_path(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CollectionPointError("the collection point is not a valid URL") from None
    host = parts.hostname
    if not host or not parts.netloc:
        raise CollectionPointError("a collection point URL names a host (https://host/path)")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path}"


# --------------------------------------------------------------------------- #
# Methods and decisions
# --------------------------------------------------------------------------- #

# Which decisions each method can collect. A method that contradicts the decision
# (a grant "by" reject-all, GPC or an unsubscribe link) would be false proof.
METHOD_DECISIONS: Final[Mapping[Method, frozenset[Decision]]] = {
    Method.banner_accept_all: frozenset({Decision.grant}),
    Method.banner_reject_all: frozenset({Decision.deny, Decision.withdraw}),
    Method.banner_custom: frozenset({Decision.grant, Decision.deny, Decision.withdraw}),
    Method.gpc: frozenset({Decision.deny, Decision.withdraw}),
    Method.form_checkbox: frozenset(
        {Decision.grant, Decision.deny, Decision.withdraw, Decision.object}
    ),
    Method.double_opt_in: frozenset({Decision.grant}),
    Method.api: frozenset({Decision.grant, Decision.deny, Decision.withdraw, Decision.object}),
    Method.unsubscribe: frozenset({Decision.withdraw}),
}


def method_problem(method: Method, decision: Decision, *, banner: bool = False) -> str | None:
    """Why ``method`` cannot record ``decision``, or None.

    The banner methods (and ``gpc``) are recorded only by Datavern's cookie banner
    endpoint, which checks its signed nonce; any other caller (``banner=False``:
    the REST API, the CLI, the library) is refused them.
    """
    if method in BANNER_METHODS and not banner:
        return f"{method.value} is recorded by the cookie banner endpoint only"
    allowed = METHOD_DECISIONS[method]
    if decision not in allowed:
        listed = ", ".join(d.value for d in Decision if d in allowed)
        return f"method {method.value} records only {listed}, not {decision.value}"
    return None


# --------------------------------------------------------------------------- #
# Texts
# --------------------------------------------------------------------------- #


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def text_content(
    purpose: str,
    language: str,
    name: str,
    text: str,
    withdraw: str | None,
    services: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """What a subject is shown for one purpose in one language: the content a version fixes."""
    return {
        "purpose": purpose,
        "language": language,
        "name": name,
        "text": text,
        "withdraw": withdraw,
        "services": [dict(s) for s in services],
    }


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a text version (sorted keys, UTF-8, no spaces)."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def text_version_id(purpose: str, language: str, number: int) -> str:
    """``purpose/language/number``: readable, and '/' never occurs in a register key."""
    return f"{purpose}/{language}/{number}"


@dataclass(frozen=True)
class StoredText:
    """A text version as stored, for ``check_texts``."""

    id: str
    purpose: str
    language: str
    number: int
    content_hash: str
    content: Mapping[str, Any]


def check_texts(texts: Iterable[StoredText]) -> tuple[str, str] | None:
    """The first text version that does not hold, and why; None when all do.

    Each version's content must hash to its stored hash (an edit shows), and the
    versions of each purpose and language must be numbered 1..n without a gap (a
    deleted version shows). Checked in id order of purpose, language, number.
    """
    by_key: dict[tuple[str, str], list[StoredText]] = {}
    for t in texts:
        by_key.setdefault((t.purpose, t.language), []).append(t)
    for (purpose, language), versions in sorted(by_key.items()):
        versions.sort(key=lambda t: t.number)
        for expected, t in enumerate(versions, start=1):
            if t.number != expected:
                missing = text_version_id(purpose, language, expected)
                return missing, f"text version {missing} is missing (deleted?)"
            if content_hash(t.content) != t.content_hash:
                return t.id, f"text version {t.id} was changed after it was stored"
    return None


def register_texts(register: Register) -> dict[tuple[str, str], dict[str, Any]]:
    """Every (purpose, language) text the register defines, as version content."""
    languages: list[str] = [str(lang) for lang in register.organisation.languages]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for purpose in register.consent_purposes:
        services = sorted(
            (
                {"name": c.name, "provider": c.provider}
                for c in register.cookies
                if c.consent_purpose == purpose.key
            ),
            key=lambda s: (s["provider"], s["name"]),
        )
        for lang in languages:
            text = text_for(purpose.text, lang, languages)
            if text is None:
                continue
            name = text_for(purpose.name, lang, languages) or purpose.key
            withdraw = text_for(purpose.withdraw, lang, languages)
            out[(purpose.key, lang)] = text_content(
                purpose.key, lang, name, text, withdraw, services
            )
    return out


# --------------------------------------------------------------------------- #
# Which purposes need consent
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PurposeInfo:
    """A consent purpose as the register defines it, and whether consent is its basis."""

    key: str
    needs_consent: bool
    reason: str
    data_use: str | None
    activities: tuple[str, ...]
    categories: tuple[str, ...]  # cookie categories of the cookies that name it
    double_opt_in: bool
    marketing: bool


@dataclass(frozen=True)
class ActivityInfo:
    key: str
    basis: str | None
    consent_purpose: str | None
    data_use: str
    marketing: bool


@dataclass(frozen=True)
class PurposeIndex:
    purposes: Mapping[str, PurposeInfo]
    activities: Mapping[str, ActivityInfo]
    languages: tuple[str, ...]

    def known(self) -> list[str]:
        return sorted(self.purposes)


def _is_marketing(data_use: str | None) -> bool:
    return bool(data_use) and (data_use == "marketing" or str(data_use).startswith("marketing."))


def analyse_register(register: Register) -> PurposeIndex:
    """Which consent purposes rest on consent, derived from the register.

    A consent purpose needs consent when an activity with legal basis consent (or an
    art. 9 basis of explicit consent) names it, or a cookie outside the necessary
    category names it (ekomloven § 2-7b: storing on the user's device needs consent
    unless strictly necessary), or nothing names it at all (it was declared as a
    consent purpose, and nothing says it rests on another basis). It needs no consent
    when only activities on another basis name it: recording a consent there would
    suggest a choice the subject does not have (EDPB Guidelines 05/2020).
    """
    activities: dict[str, ActivityInfo] = {}
    by_purpose: dict[str, list[tuple[str, bool]]] = {}
    for _system, activity in register.activities():
        consent_basis = activity.legal_basis is LegalBasis.consent or (
            activity.special_category_basis is not None
            and activity.special_category_basis.value == "explicit_consent"
        )
        activities[activity.key] = ActivityInfo(
            activity.key,
            activity.legal_basis.value if activity.legal_basis else None,
            activity.consent_purpose,
            activity.data_use,
            _is_marketing(activity.data_use),
        )
        if activity.consent_purpose:
            by_purpose.setdefault(activity.consent_purpose, []).append(
                (activity.key, consent_basis)
            )
    purposes: dict[str, PurposeInfo] = {}
    for purpose in register.consent_purposes:
        named_by = by_purpose.get(purpose.key, [])
        categories = sorted(
            {c.category.value for c in register.cookies if c.consent_purpose == purpose.key}
        )
        nonessential = [c for c in categories if c != CookieCategory.necessary.value]
        if any(basis for _, basis in named_by):
            needs, reason = True, "an activity that names it rests on consent"
        elif nonessential:
            needs, reason = True, "cookies outside the necessary category name it"
        elif not named_by:
            needs, reason = True, "it is declared as a consent purpose"
        else:
            bases = sorted({activities[key].basis or "no legal basis" for key, _ in named_by})
            needs, reason = False, f"its activities rest on {', '.join(bases)}, not consent"
        data_uses = [purpose.data_use] + [activities[k].data_use for k, _ in named_by]
        purposes[purpose.key] = PurposeInfo(
            purpose.key,
            needs,
            reason,
            purpose.data_use,
            tuple(k for k, _ in named_by),
            tuple(categories),
            purpose.double_opt_in,
            any(_is_marketing(u) for u in data_uses),
        )
    return PurposeIndex(purposes, activities, tuple(register.organisation.languages))


@dataclass(frozen=True)
class ResolvedPurpose:
    """What ``may_process`` checks for a purpose the caller named."""

    asked: str
    consent_purposes: tuple[str, ...]  # consent must be granted for each of these
    objection_keys: tuple[str, ...]  # an objection under any of these says no
    storage: bool = False


class UnknownPurpose(ValueError):
    def __init__(self, purpose: str, known: Iterable[str]) -> None:
        self.purpose = purpose
        self.known = sorted(set(known))
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown purpose {purpose!r}; known purposes: {listed}")


def resolve_purpose(index: PurposeIndex, purpose: str) -> ResolvedPurpose:
    """A consent purpose key, an activity key, a fideslang data use, or storage."""
    if purpose in STORAGE_PURPOSES:
        return ResolvedPurpose(purpose, (), (), storage=True)
    info = index.purposes.get(purpose)
    if info is not None:
        objections = [purpose, *info.activities]
        if info.marketing:
            objections.append(DIRECT_MARKETING)
        consent = (purpose,) if info.needs_consent else ()
        return ResolvedPurpose(purpose, consent, tuple(dict.fromkeys(objections)))
    activity = index.activities.get(purpose)
    if activity is not None:
        return _resolve_activities(index, purpose, [activity])
    matching = [
        a
        for a in index.activities.values()
        if a.data_use == purpose or a.data_use.startswith(purpose + ".")
    ]
    if matching:
        return _resolve_activities(index, purpose, matching)
    if purpose == DIRECT_MARKETING:
        return ResolvedPurpose(purpose, (), (DIRECT_MARKETING,))
    raise UnknownPurpose(purpose, [*index.purposes, *index.activities])


def _resolve_activities(
    index: PurposeIndex, asked: str, activities: Sequence[ActivityInfo]
) -> ResolvedPurpose:
    consent: list[str] = []
    objections: list[str] = []
    for activity in activities:
        objections.append(activity.key)
        if activity.marketing:
            objections.append(DIRECT_MARKETING)
        if activity.basis == LegalBasis.consent.value and activity.consent_purpose:
            consent.append(activity.consent_purpose)
            objections.append(activity.consent_purpose)
    return ResolvedPurpose(asked, tuple(dict.fromkeys(consent)), tuple(dict.fromkeys(objections)))


def objection_allowed(index: PurposeIndex, purpose: str) -> bool:
    """An objection (art. 21) can be recorded against direct marketing, an activity on
    legitimate interests or public task, any marketing activity, or a consent purpose."""
    if purpose == DIRECT_MARKETING or purpose in index.purposes:
        return True
    activity = index.activities.get(purpose)
    if activity is None:
        return False
    return activity.marketing or activity.basis in (
        LegalBasis.legitimate_interests.value,
        LegalBasis.public_task.value,
    )


# --------------------------------------------------------------------------- #
# The ledger chain
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RecordFields:
    """One ledger record's content: everything its hash covers except seq and prev."""

    id: str
    subject: str
    purpose: str
    decision: str
    text_version_id: str | None
    text_hash: str | None
    method: str
    collection_point: str | None
    at: datetime
    ip: str | None
    user_agent: str | None
    expires_at: datetime | None
    language: str | None
    recorded_by: str

    @classmethod
    def of(cls, row: Any) -> Self:
        """The record (or subclass) from any object with the same attribute names, such
        as a ledger row."""
        return cls(**{f.name: getattr(row, f.name) for f in dataclass_fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "purpose": self.purpose,
            "decision": self.decision,
            "text_version_id": self.text_version_id,
            "text_hash": self.text_hash,
            "method": self.method,
            "collection_point": self.collection_point,
            "at": self.at.isoformat(timespec="microseconds"),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "expires_at": self.expires_at.isoformat(timespec="microseconds")
            if self.expires_at
            else None,
            "language": self.language,
            "recorded_by": self.recorded_by,
        }


def record_hash(seq: int, fields: RecordFields, prev: str) -> str:
    """SHA-256 over the record's canonical JSON, its sequence number and the previous hash."""
    body = canonical_json({**fields.as_dict(), "seq": seq, "prev": prev})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    record_id: str | None
    reason: str


def check_link(
    expected_seq: int, seq: int, prev_expected: str, prev_stored: str, computed: str, stored: str
) -> str | None:
    """Why one record does not hold in the chain, or None."""
    if seq != expected_seq:
        return f"record {expected_seq} is missing"
    if prev_stored != prev_expected:
        return "chain broken: records deleted or reordered before it"
    if computed != stored:
        return "record was changed after it was written"
    return None


# --------------------------------------------------------------------------- #
# State
# --------------------------------------------------------------------------- #


class Status(StrEnum):
    """The effective answer for one subject and purpose, now."""

    granted = "granted"
    denied = "denied"
    withdrawn = "withdrawn"
    objected = "objected"
    expired = "expired"
    superseded = "superseded"  # granted under a text a re-consent campaign cut off
    none = "none"


@dataclass(frozen=True)
class Latest:
    """The newest record of a subject for a purpose."""

    seq: int
    decision: str
    text_version_id: str | None
    method: str
    at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Campaign:
    """A re-consent: grants under ``superseded`` versions stop counting at ``cutoff``."""

    purpose: str
    superseded: frozenset[str]
    cutoff: datetime


def effective_status(
    latest: Latest | None, now: datetime, campaigns: Iterable[Campaign] = ()
) -> Status:
    if latest is None:
        return Status.none
    decision = Decision(latest.decision)
    if decision is Decision.deny:
        return Status.denied
    if decision is Decision.withdraw:
        return Status.withdrawn
    if decision is Decision.object:
        return Status.objected
    if latest.expires_at is not None and now >= latest.expires_at:
        return Status.expired
    if latest.text_version_id is not None and any(
        now >= c.cutoff and latest.text_version_id in c.superseded for c in campaigns
    ):
        return Status.superseded
    return Status.granted


def fold(records: Iterable[tuple[str, str, Latest]]) -> dict[tuple[str, str], Latest]:
    """The newest record per (subject, purpose), from records in ledger order."""
    state: dict[tuple[str, str], Latest] = {}
    for subject, purpose, latest in records:
        state[(subject, purpose)] = latest
    return state


def default_expiry(method: Method, at: datetime) -> datetime | None:
    return at + BANNER_CONSENT_LIFETIME if method in BANNER_METHODS else None


@dataclass(frozen=True)
class ProcessAnswer:
    allowed: bool
    reasons: tuple[str, ...]
    statuses: Mapping[str, Status] = field(default_factory=dict)
    objected_by: str | None = None


def decide(
    resolved: ResolvedPurpose,
    statuses: Mapping[str, Status],
    objections: Mapping[str, Latest],
    restricted: bool,
) -> ProcessAnswer:
    """Combine restriction (art. 18), objection (art. 21) and consent (art. 6(1)(a), 7)."""
    reasons: list[str] = []
    allowed = True
    if restricted and not resolved.storage:
        allowed = False
        reasons.append(
            "processing is restricted (GDPR art. 18): only storage is allowed until the "
            "restriction is lifted"
        )
    objected_by = next(
        (key for key in resolved.objection_keys if key in objections),
        None,
    )
    if objected_by is not None:
        allowed = False
        reasons.append(
            f"the subject has objected (GDPR art. 21) to {objected_by}"
            if objected_by != DIRECT_MARKETING
            else "the subject has objected to direct marketing (GDPR art. 21(3))"
        )
    for purpose in resolved.consent_purposes:
        status = statuses.get(purpose, Status.none)
        if status is not Status.granted:
            allowed = False
            if status is Status.objected and objected_by is not None:
                continue  # the objection's reason above says it once
            reasons.append(_consent_reason(purpose, status))
    if allowed:
        if resolved.consent_purposes:
            reasons.append("consent is granted for " + ", ".join(resolved.consent_purposes))
        elif resolved.storage and restricted:
            reasons.append("processing is restricted (GDPR art. 18); storing is still allowed")
        else:
            reasons.append("no consent is needed and no objection or restriction is recorded")
    return ProcessAnswer(allowed, tuple(reasons), dict(statuses), objected_by)


def _consent_reason(purpose: str, status: Status) -> str:
    return {
        Status.none: f"no consent is recorded for {purpose}",
        Status.denied: f"the subject said no to {purpose}",
        Status.withdrawn: f"the subject withdrew consent to {purpose}",
        Status.objected: f"the subject objected to {purpose}",
        Status.expired: f"the consent to {purpose} has expired; ask again",
        Status.superseded: f"the consent to {purpose} was given to an older text that stopped "
        "counting at the re-consent cut-off; ask again",
    }.get(status, f"consent to {purpose} is not granted")


# --------------------------------------------------------------------------- #
# Signed tokens (banner nonces, unsubscribe links)
# --------------------------------------------------------------------------- #


class TokenError(ValueError):
    """A token that does not verify. ``kind``: malformed, forged, expired or wrong_use."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


MAX_TOKEN_LENGTH: Final = 2000


def sign_token(key: bytes, use: str, payload: Mapping[str, Any]) -> str:
    """``payload`` as base64url JSON, a dot, and an HMAC-SHA256 over use + payload."""
    body = _b64(canonical_json({**payload, "use": use}).encode("utf-8"))
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_token(key: bytes, use: str, token: str, now: datetime) -> dict[str, Any]:
    """The payload of a token signed with ``key`` for ``use``; TokenError otherwise.

    A payload with ``exp`` (seconds since the epoch) expires then.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise TokenError("malformed", "the token is malformed")
    body, mac_text = token.split(".")
    try:
        mac = _unb64(mac_text)
        expected = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise TokenError("malformed", "the token is malformed") from None
    if not hmac.compare_digest(mac, expected):
        raise TokenError("forged", "the token's signature does not verify")
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise TokenError("malformed", "the token is malformed") from None
    if not isinstance(payload, dict) or payload.get("use") != use:
        raise TokenError("wrong_use", "the token was not issued for this")
    exp = payload.get("exp")
    if exp is not None and (not isinstance(exp, int) or now.timestamp() >= exp):
        raise TokenError("expired", "the token has expired")
    return payload
