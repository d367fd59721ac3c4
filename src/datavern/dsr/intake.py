"""Filing a request and proving who asks: the privacy centre's and the API's use cases.

``submit`` validates what the subject gave, stores a case (contact and identities
sealed), sets its deadline (deadlines.py: one calendar month from receipt, in
Oslo) and e-mails a one-time code to the address given. The answer is the same
whether or not the company knows that address: the case is made and the code
is sent either way, and nothing the subject sees depends on the company's data
(no enumeration). The company's databases are not searched before an agent
approves the request.

``check_code`` and ``verify_with_login`` confirm the identity (verification.py);
a confirmed case waits for an agent (cases.py).

Every function takes the caller's session and writes audit entries; e-mail is
queued in the same transaction and its ids returned, so the caller delivers it
after the commit (notify.email.deliver).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final

from sqlalchemy.orm import Session

from datavern.core import audit, clock
from datavern.core.config import get_settings
from datavern.core.errors import InvalidInput, Problem
from datavern.core.i18n import LANGUAGES, long_date
from datavern.dsr import crypto, deadlines, processor, verification
from datavern.dsr.case_models import CASE_KINDS, CaseEvent, PrivacyCase
from datavern.dsr.rules import IdentityError, parse_identity
from datavern.register.schema import Register

AUDIT_TARGET: Final = "dsr_case:{}"
MAX_DETAILS: Final = 5000
MAX_CORRECTION: Final = 1000
# What a subject may name for a correction; "other" leaves the field to the agent.
CORRECTION_FIELDS: Final[dict[str, str]] = {
    "name": "user.name",
    "email": "email",
    "phone": "phone",
    "address": "user.contact.address",
    "other": "",
}
OPTIONAL_IDENTITIES: Final = ("phone", "fnr", "customer_id")
DIRECT_MARKETING: Final = "direct_marketing"
PUBLIC_PATHS: Final[dict[str, str]] = {"nb": "/personvern/foresporsel", "en": "/privacy/requests"}
START_PATHS: Final[dict[str, str]] = {"nb": "/personvern/rettigheter", "en": "/privacy/rights"}
CHANNELS: Final = ("web", "api", "agent")


# --------------------------------------------------------------------------- #
# The register, as the privacy centre needs it
# --------------------------------------------------------------------------- #


# Parsed registers by content hash (a version's content never changes): one query per
# call on a hit instead of two. execute.register_for parses on a miss.
_parsed: dict[str, Register] = {}


def current_register_keyed(session: Session) -> tuple[Register | None, str | None]:
    """The newest applied register and its content hash (None, None before the first apply).

    One small query on the version table; the content is parsed once per version.
    The hash lets callers cache what they derive from the register.
    """
    from sqlalchemy import select

    from datavern.dsr.execute import register_for
    from datavern.register.models import RegisterVersion

    row = session.execute(
        select(RegisterVersion.number, RegisterVersion.content_hash)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None, None
    number, digest = row
    register = _parsed.get(digest)
    if register is None:
        register = register_for(session, number)
        if len(_parsed) > 16:
            _parsed.clear()
        _parsed[digest] = register
    return register, digest


def current_register(session: Session) -> Register | None:
    """The newest applied register, or None before the first apply."""
    return current_register_keyed(session)[0]


def organisation_name(register: Register | None) -> str:
    return register.organisation.name if register else "Datavern"


def objection_choices(register: Register | None) -> list[str]:
    """What a subject can object to (art. 21): direct marketing always, and each activity
    resting on legitimate interests or a public task, or used for marketing."""
    keys = [DIRECT_MARKETING]
    if register is None:
        return keys
    for _system, activity in register.activities():
        basis = activity.legal_basis.value if activity.legal_basis else ""
        if basis in ("legitimate_interests", "public_task") or activity.data_use.startswith(
            "marketing"
        ):
            keys.append(activity.key)
    return list(dict.fromkeys(keys))


def consent_choices(register: Register | None) -> list[str]:
    return [p.key for p in register.consent_purposes] if register else []


def status_url(case_id: str, lang: str) -> str:
    base = get_settings().base_url.rstrip("/")
    return f"{base}{PUBLIC_PATHS.get(lang, PUBLIC_PATHS['nb'])}/{case_id}"


def reference(case_id: str) -> str:
    """The short reference people read out on the phone: the first 8 hex digits."""
    return case_id[:8].upper()


# --------------------------------------------------------------------------- #
# Submission
# --------------------------------------------------------------------------- #


@dataclass
class Submission:
    """What a subject (or a system on their behalf) gives. Raw text, validated by ``submit``."""

    kind: str
    email: str
    lang: str = "nb"
    phone: str = ""
    fnr: str = ""
    customer_id: str = ""
    details: str = ""
    correction_field: str = ""
    correction_value: str = ""
    purposes: list[str] = field(default_factory=list)
    controller: str = ""


@dataclass(frozen=True)
class Submitted:
    case_id: str
    status: str
    messages: list[str]
    # Only for tests and the embedded demo: the code is never shown to the requester.
    code: str | None = None


@dataclass(frozen=True)
class Sealed:
    """What a case keeps sealed: the contact address, identities and the subject's words."""

    email: str
    identities: dict[str, list[str]]
    details: str = ""
    correction_field: str = ""
    correction_value: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "identities": self.identities,
            "details": self.details,
            "correction_field": self.correction_field,
            "correction_value": self.correction_value,
        }


def unseal(case: PrivacyCase) -> Sealed:
    if not case.sealed:
        return Sealed(email="", identities={})
    data = crypto.unseal(case.sealed, "the request's contact details")
    return Sealed(
        email=str(data.get("email", "")),
        identities={k: list(v) for k, v in (data.get("identities") or {}).items()},
        details=str(data.get("details", "")),
        correction_field=str(data.get("correction_field", "")),
        correction_value=str(data.get("correction_value", "")),
    )


def validate(
    register: Register | None, sub: Submission, *, channel: str = "web"
) -> tuple[Sealed, list[str], str | None]:
    """Check a submission; InvalidInput lists every problem, each on its field, no values."""
    problems: list[Problem] = []
    today = clock.now().astimezone(clock.OSLO).date()
    if sub.kind not in CASE_KINDS:
        problems.append(Problem("choose what you are asking for", path="kind"))
    if sub.lang not in LANGUAGES:
        problems.append(Problem("unknown language; nb or en", path="lang"))
    identities: dict[str, list[str]] = {}
    email = ""
    try:
        email = parse_identity("email", sub.email).value
        identities["email"] = [email]
    except IdentityError as exc:
        problems.extend(Problem(p.split(": ", 1)[-1], path="email") for p in exc.problems)
    for name in OPTIONAL_IDENTITIES:
        raw = getattr(sub, name)
        if not raw or not raw.strip():
            continue
        try:
            identity = parse_identity(name, raw, today=today)
        except IdentityError as exc:
            problems.extend(Problem(p.split(": ", 1)[-1], path=name) for p in exc.problems)
            continue
        identities.setdefault(identity.name, []).append(identity.value)
    details = sub.details.strip()
    if len(details) > MAX_DETAILS:
        problems.append(Problem(f"at most {MAX_DETAILS} characters", path="details"))
    correction_field = sub.correction_field.strip()
    correction_value = sub.correction_value.strip()
    if sub.kind == "rectification":
        if correction_field not in CORRECTION_FIELDS:
            problems.append(Problem("choose what is wrong", path="correction_field"))
        if not correction_value:
            problems.append(Problem("write what is right", path="correction_value"))
        elif len(correction_value) > MAX_CORRECTION:
            problems.append(
                Problem(f"at most {MAX_CORRECTION} characters", path="correction_value")
            )
    else:
        correction_field = correction_value = ""
    purposes = [p.strip() for p in sub.purposes if p and p.strip()]
    purposes = list(dict.fromkeys(purposes))
    if sub.kind == "objection":
        allowed = objection_choices(register)
        if not purposes:
            problems.append(Problem("choose what you object to", path="purposes"))
        elif any(p not in allowed for p in purposes):
            problems.append(Problem("choose among the listed purposes", path="purposes"))
    elif sub.kind == "withdraw_consent":
        allowed = consent_choices(register)
        if any(p not in allowed for p in purposes):
            problems.append(Problem("choose among the listed consents", path="purposes"))
    else:
        purposes = []
    controller = sub.controller.strip() or None
    if controller is not None:
        entry = processor.customer(register, controller)
        if entry is None or (channel == "web" and not entry.listed):
            problems.append(Problem("choose among the listed services", path="controller"))
    if problems:
        raise InvalidInput(problems)
    sealed = Sealed(email, identities, details, correction_field, correction_value)
    return sealed, purposes, controller


def _event(session: Session, case: PrivacyCase, event: str, actor: str, **details: Any) -> None:
    session.add(
        CaseEvent(case_id=case.id, at=clock.now(), actor=actor, event=event, details=details)
    )


def submit(
    session: Session,
    sub: Submission,
    *,
    channel: str = "web",
    actor: str = "privacy-centre",
    verified_by: str | None = None,
) -> Submitted:
    """Store a request and send the code (or, when ``verified_by`` names who already
    confirmed the identity, e.g. an agent or a system's token, mark it verified)."""
    register = current_register(session)
    sealed, purposes, controller = validate(register, sub, channel=channel)
    now = clock.now()
    due = deadlines.deadline(now)
    case = PrivacyCase(
        id=uuid.uuid4().hex,
        kind=sub.kind,
        status="unverified",
        lang=sub.lang,
        channel=channel,
        email_hash=verification.email_hash(sealed.email),
        identity_types=sorted(sealed.identities),
        sealed=crypto.seal(sealed.as_json()),
        purposes=purposes,
        controller_key=controller,
        received_at=now,
        due_on=due.due,
        deadline_months=due.months,
        code_attempts=0,
        codes_sent=0,
        reminders_sent=[],
        created_by=actor,
    )
    session.add(case)
    session.flush()
    _event(session, case, "received", actor, channel=channel, kind=sub.kind)
    audit.record(
        session,
        "dsr.case.create",
        AUDIT_TARGET.format(case.id),
        {
            "kind": sub.kind,
            "channel": channel,
            "identity_types": case.identity_types,
            "due_on": case.due_on.isoformat(),
            "controller": controller,
        },
        actor=actor,
    )
    messages: list[str] = []
    code: str | None = None
    if verified_by:
        messages += mark_verified(session, case, method=verified_by, actor=actor)
    else:
        code, sent = send_code(session, case, actor=actor)
        messages += sent
    return Submitted(case.id, case.status, messages, code)


# --------------------------------------------------------------------------- #
# E-mail to the subject
# --------------------------------------------------------------------------- #


def mail_context(session: Session, case: PrivacyCase, **extra: Any) -> dict[str, Any]:
    from datavern.dsr.messages import kind_name

    register = current_register(session)
    lang = case.lang if case.lang in LANGUAGES else "nb"
    authority = register.organisation.supervisory_authority if register else None
    return {
        "organisation": organisation_name(register),
        "reference": reference(case.id),
        "kind_name": kind_name(case.kind, lang),
        "status_url": status_url(case.id, lang),
        "due_date": date_text(case.due_on, lang),
        "authority_name": authority.name if authority else "Datatilsynet",
        "authority_url": (authority.complaint_url or authority.url)
        if authority
        else "https://www.datatilsynet.no",
        **extra,
    }


def mail_subject(session: Session, case: PrivacyCase, template: str, **extra: Any) -> list[str]:
    """Queue ``template`` to the case's contact address; returns the message id."""
    from datavern.notify import email

    sealed = unseal(case)
    if not sealed.email:
        return []
    message_id = email.queue(
        session,
        to=sealed.email,
        template=template,
        lang=case.lang if case.lang in LANGUAGES else "nb",
        context=mail_context(session, case, **extra),
        category=template,
        settings=smtp_settings(),
    )
    return [message_id]


def send_code(session: Session, case: PrivacyCase, *, actor: str) -> tuple[str | None, list[str]]:
    """A new code for ``case`` by e-mail; (None, []) once the case may get no more codes."""
    if (
        case.status == "locked"
        or case.code_attempts >= verification.MAX_CODE_ATTEMPTS
        or case.codes_sent >= verification.MAX_CODES_SENT
    ):
        return None, []
    code = verification.new_code()
    case.code_hash = verification.code_hash(case.id, code)
    case.code_expires_at = clock.now() + verification.CODE_LIFETIME
    case.codes_sent += 1
    _event(session, case, "code_sent", actor, number=case.codes_sent)
    audit.record(
        session,
        "dsr.case.code_sent",
        AUDIT_TARGET.format(case.id),
        {"number": case.codes_sent},
        actor=actor,
    )
    minutes = int(verification.CODE_LIFETIME.total_seconds() // 60)
    messages = mail_subject(
        session,
        case,
        "dsr_code",
        code=code,
        minutes=minutes,
        verify_url=status_url(case.id, case.lang)
        + ("/bekreft" if case.lang == "nb" else "/verify"),
    )
    return code, messages


# --------------------------------------------------------------------------- #
# Verification
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class CodeCheck:
    outcome: str  # ok | wrong | expired | locked | no_code
    attempts_left: int = 0
    session_token: str | None = None
    messages: list[str] = field(default_factory=list)


def mark_verified(session: Session, case: PrivacyCase, *, method: str, actor: str) -> list[str]:
    """Record that the identity is confirmed; the subject gets the receipt with the deadline."""
    if case.verified_at is not None:
        return []
    case.verified_at = clock.now()
    case.verification_method = method
    case.code_hash = None
    case.code_expires_at = None
    if case.status in ("unverified", "locked"):
        case.status = "verified"
    _event(session, case, "verified", actor, method=method)
    audit.record(
        session,
        "dsr.case.verified",
        AUDIT_TARGET.format(case.id),
        {"method": method},
        actor=actor,
    )
    return mail_subject(session, case, "dsr_received")


def check_code(session: Session, case: PrivacyCase, given: str, *, actor: str) -> CodeCheck:
    """Check a code typed by the subject. Five wrong codes lock the case for an agent.

    A case already verified takes a fresh code too: that is how the subject opens
    the status page again in another browser (a new subject session).
    """
    if case.status == "locked" or case.code_attempts >= verification.MAX_CODE_ATTEMPTS:
        return CodeCheck("locked")
    if not case.code_hash or case.code_expires_at is None:
        return CodeCheck("no_code")
    if case.code_expires_at <= clock.now():
        return CodeCheck("expired", verification.MAX_CODE_ATTEMPTS - case.code_attempts)
    if not verification.code_matches(case.id, case.code_hash, given):
        case.code_attempts += 1
        left = verification.MAX_CODE_ATTEMPTS - case.code_attempts
        _event(session, case, "code_wrong", actor, attempts=case.code_attempts)
        if left <= 0:
            # An unverified case waits for an agent; a verified one keeps its status
            # but takes no more codes until an agent unlocks it.
            if case.verified_at is None:
                case.status = "locked"
            case.code_hash = None
            case.locked_reason = (
                f"{verification.MAX_CODE_ATTEMPTS} wrong codes were entered; the identity "
                "must be confirmed another way"
            )
            _event(session, case, "locked", actor, attempts=case.code_attempts)
            audit.record(
                session,
                "dsr.case.locked",
                AUDIT_TARGET.format(case.id),
                {"attempts": case.code_attempts, "reason": "too many wrong codes"},
                actor=actor,
            )
            return CodeCheck("locked")
        return CodeCheck("wrong", left)
    messages = mark_verified(session, case, method="email_code", actor=actor)
    case.code_hash = None
    case.code_expires_at = None
    token = verification.start_session(session, case.email_hash, "email_code")
    return CodeCheck("ok", session_token=token, messages=messages)


def verify_with_login(
    session: Session, case: PrivacyCase, claims: Mapping[str, Any], settings: Any, *, actor: str
) -> CodeCheck:
    """An OIDC login's claims against the case's identities (verification.claims_match)."""
    if case.status == "locked":
        return CodeCheck("locked")
    sealed = unseal(case)
    proved = verification.claims_match(dict(claims), sealed.identities, sealed.email, settings)
    if proved is None:
        _event(session, case, "login_mismatch", actor)
        audit.record(
            session,
            "dsr.case.login_mismatch",
            AUDIT_TARGET.format(case.id),
            {"issuer": str(claims.get("iss", ""))},
            actor=actor,
        )
        return CodeCheck("mismatch")
    messages = mark_verified(session, case, method=f"oidc:{proved}", actor=actor)
    token = verification.start_session(session, case.email_hash, f"oidc:{proved}")
    return CodeCheck("ok", session_token=token, messages=messages)


# --------------------------------------------------------------------------- #
# What the subject sees
# --------------------------------------------------------------------------- #


def find_case(session: Session, case_id: str) -> PrivacyCase | None:
    text = case_id.strip().lower()
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        return None
    return session.get(PrivacyCase, text)


def owned_by(case: PrivacyCase | None, email_digest: str | None) -> bool:
    """Whether the subject session that proved ``email_digest`` may see ``case``."""
    import hmac

    return (
        case is not None
        and email_digest is not None
        and hmac.compare_digest(case.email_hash, email_digest)
    )


@lru_cache(maxsize=4096)
def date_text(day: date, lang: str) -> str:
    """A long date in the language (Babel is slow; pages show many of the same dates)."""
    return long_date(day, lang if lang in LANGUAGES else "nb")


def due_text(case: PrivacyCase, lang: str) -> str:
    return date_text(case.due_on, lang)


def received_text(moment: datetime, lang: str) -> str:
    return date_text(moment.astimezone(clock.OSLO).date(), lang)


def smtp_settings() -> Any:
    """The SMTP settings, read from the environment once per distinct environment."""
    import os

    from datavern.notify.email import SmtpSettings

    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("DATAVERN_SMTP_")))
    cached = _smtp_cache.get(key)
    if cached is None:
        cached = SmtpSettings()
        _smtp_cache.clear()
        _smtp_cache[key] = cached
    return cached


_smtp_cache: dict[tuple[tuple[str, str], ...], Any] = {}


def subject_cases(session: Session, email_digest: str, limit: int = 50) -> Sequence[PrivacyCase]:
    from sqlalchemy import select

    return list(
        session.execute(
            select(PrivacyCase)
            .where(PrivacyCase.email_hash == email_digest)
            .order_by(PrivacyCase.received_at.desc())
            .limit(limit)
        ).scalars()
    )
