"""Consent by e-mail: double opt-in (subscribe, the confirmation link) and one-click
unsubscribe (signed tokens, the List-Unsubscribe headers, the withdrawal)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import ConsentContact, OptIn
from datavern.consent.rules import Decision, Method, RecordFields, Status, SubjectKind
from datavern.consent.service.checks import _check_purpose, _collection_point, _Problems
from datavern.consent.service.ledger import RecordView, _append, _superseded_problem
from datavern.consent.service.state import _campaigns, _latest
from datavern.consent.service.subjects import Subject, _key, subject_of
from datavern.consent.service.texts import context, get_text
from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.errors import InvalidInput, NotFound, Problem
from datavern.core.i18n import DEFAULT_LANG, LANGUAGES

OPT_IN_LIFETIME: Final = timedelta(hours=72)


PUBLIC_PATHS: Final = {
    "confirm": {"nb": "/samtykke/bekreft", "en": "/consent/confirm"},
    "unsubscribe": {"nb": "/samtykke/avmelding", "en": "/consent/unsubscribe"},
}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def public_url(kind: str, lang: str, token: str) -> str:
    base = get_settings().base_url.rstrip("/")
    path = PUBLIC_PATHS[kind][lang if lang in LANGUAGES else DEFAULT_LANG]
    return f"{base}{path}?token={quote(token)}"


def subscribe(
    session: Session,
    *,
    email: str,
    purpose: str,
    lang: str | None = None,
    collection_point: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    text_version: str | None = None,
) -> str | None:
    """Start a double opt-in: store a pending confirmation and queue the mail with its link.

    Nothing is recorded in the ledger until the link is followed. Returns the
    outbox message id (None when the subject has already granted: no mail is sent,
    and the caller answers the same either way, so nobody learns who is subscribed).
    """
    from datavern.dsr import crypto
    from datavern.notify import email as mail

    ctx = context(session)
    problems = _Problems()
    try:
        who: Subject | None = subject_of(email, "email")
    except InvalidInput:
        who = None
    if who is None or who.parsed.kind is not SubjectKind.email:
        # The field takes an address, not a subject reference: say so in those words.
        problems.add("give a valid e-mail address, such as name@example.no", "email")
        who = None
    if lang is not None and lang not in LANGUAGES:
        problems.add("lang must be nb or en", "lang")
        lang = None
    lang = lang or ctx.languages[0]
    info = ctx.index.purposes.get(purpose)
    purpose_ok = _check_purpose(ctx, purpose, Decision.grant, problems, "purpose")
    if purpose_ok and info is not None and not info.double_opt_in:
        problems.add(
            f"{purpose} does not use double opt-in (set double_opt_in: true in the register, "
            "or record the consent directly)",
            "purpose",
        )
    version = None
    if text_version is not None:
        version = get_text(session, text_version)
        if version is None or version.purpose != purpose:
            problems.add(f"unknown text version {text_version!r} for {purpose}", "text_version")
        else:
            stale = _superseded_problem(session, ctx, version)
            if stale is not None:
                problems.add(stale, "text_version")
    elif info is not None:
        version = ctx.current_for(purpose, lang)
    collection_point = _collection_point(collection_point, "collection_point", problems)
    problems.raise_if_any()
    assert who is not None and version is not None
    latest = _latest(session, who.ref, [purpose]).get(purpose)
    now = clock.now()
    if (
        latest is not None
        and rules.effective_status(latest, now, _campaigns(session, [purpose])) is Status.granted
    ):
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        OptIn(
            id=uuid.uuid4().hex,
            token_hash=_token_hash(token),
            subject=who.ref,
            purpose=purpose,
            text_version_id=version.id,
            language=lang,
            email_sealed=crypto.seal(who.parsed.value),
            collection_point=collection_point,
            ip=rules.truncate_ip(ip),
            user_agent=rules.clip_user_agent(user_agent),
            created_at=now,
            expires_at=now + OPT_IN_LIFETIME,
        )
    )
    return mail.queue(
        session,
        to=who.parsed.value,
        template="consent_confirm",
        lang=lang,
        context={
            "organisation": ctx.register.organisation.name,
            "purpose_name": version.content.get("name"),
            "text": version.content.get("text"),
            "withdraw": version.content.get("withdraw"),
            "confirm_url": public_url("confirm", lang, token),
            "hours": int(OPT_IN_LIFETIME.total_seconds() // 3600),
        },
        category="consent.confirm",
    )


@dataclass(frozen=True)
class OptInView:
    purpose: str
    purpose_name: str
    language: str
    text: str
    confirmed: bool
    expired: bool


def _find_optin(session: Session, token: str) -> OptIn:
    if not token or len(token) > 200:
        raise InvalidInput(Problem("the confirmation link is not complete", path="token"))
    row = session.execute(
        select(OptIn).where(OptIn.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("the confirmation link is unknown or has been used up")
    return row


def optin_view(session: Session, token: str) -> OptInView:
    row = _find_optin(session, token)
    version = get_text(session, row.text_version_id)
    content = version.content if version else {}
    return OptInView(
        row.purpose,
        str(content.get("name") or row.purpose),
        row.language,
        str(content.get("text") or ""),
        row.confirmed_at is not None,
        row.confirmed_at is None and clock.now() >= row.expires_at,
    )


def confirm(
    session: Session, token: str, *, ip: str | None = None, user_agent: str | None = None
) -> RecordView | None:
    """Follow a double opt-in link: record the grant (method double_opt_in) once.

    Returns None when the link was already confirmed (nothing appended twice).
    """
    from datavern.dsr import crypto

    row = _find_optin(session, token)
    if row.confirmed_at is not None:
        return None
    now = clock.now()
    if now >= row.expires_at:
        raise InvalidInput(
            Problem("the confirmation link has expired: subscribe again", path="token")
        )
    version = get_text(session, row.text_version_id)
    assert version is not None
    if any(version.id in c.superseded for c in _campaigns(session, [version.purpose])):
        # Asked before a re-consent campaign replaced the text: a grant to it would not
        # count. The subscriber signs up again and confirms the current text.
        raise InvalidInput(
            Problem(
                f"the link is for text version {version.id}, which a re-consent campaign "
                "superseded: subscribe again",
                path="token",
            )
        )
    fields = RecordFields(
        id=uuid.uuid4().hex,
        subject=row.subject,
        purpose=row.purpose,
        decision=Decision.grant.value,
        text_version_id=version.id,
        text_hash=version.content_hash,
        method=Method.double_opt_in.value,
        collection_point=row.collection_point,
        at=now,
        ip=rules.truncate_ip(ip) or row.ip,
        user_agent=rules.clip_user_agent(user_agent) or row.user_agent,
        expires_at=None,
        language=version.language,
        recorded_by="double_opt_in",
    )
    rec = _append(session, fields)
    row.confirmed_at = now
    row.record_id = rec.id
    if row.email_sealed:
        address = crypto.unseal(row.email_sealed, "the subscriber's address")
        contact = session.get(ConsentContact, row.subject)
        if contact is None:
            session.add(
                ConsentContact(
                    subject=row.subject,
                    email_sealed=crypto.seal(address),
                    language=row.language,
                    created_at=now,
                )
            )
        else:
            contact.language = row.language
        row.email_sealed = None
    session.flush()
    return rec


def _unsubscribe_key() -> bytes:
    return _key("datavern consent unsubscribe v1")


def unsubscribe_token(subject_ref: str, purpose: str, lang: str = DEFAULT_LANG) -> str:
    """A signed, lasting token naming the subject (by reference) and the purpose."""
    return rules.sign_token(
        _unsubscribe_key(), "unsubscribe", {"s": subject_ref, "p": purpose, "l": lang}
    )


def read_unsubscribe_token(token: str) -> tuple[str, str, str]:
    try:
        payload = rules.verify_token(_unsubscribe_key(), "unsubscribe", token, clock.now())
    except rules.TokenError:
        raise InvalidInput(Problem("the unsubscribe link is not valid", path="token")) from None
    lang = payload.get("l", DEFAULT_LANG)
    return str(payload["s"]), str(payload["p"]), lang if lang in LANGUAGES else DEFAULT_LANG


def marketing_headers(
    subject: str, purpose: str, lang: str = DEFAULT_LANG, *, mailto: str | None = None
) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (https and mailto) and RFC 8058 List-Unsubscribe-Post
    for one marketing mail to ``subject`` under ``purpose``."""
    who = subject_of(subject)
    token = unsubscribe_token(who.ref, purpose, lang)
    links = [f"<{public_url('unsubscribe', lang, token)}>"]
    if mailto:
        links.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe(
    session: Session, token: str, *, ip: str | None = None, user_agent: str | None = None
) -> RecordView | None:
    """One-click unsubscribe: record a withdrawal (method unsubscribe) unless the subject
    has already withdrawn or refused; returns None then (nothing appended twice)."""
    subject_ref, purpose, lang = read_unsubscribe_token(token)
    latest = _latest(session, subject_ref, [purpose]).get(purpose)
    if latest is not None and latest.decision in (Decision.withdraw.value, Decision.deny.value):
        return None
    version = None
    if latest is not None and latest.text_version_id:
        version = get_text(session, latest.text_version_id)
    if version is None:
        try:
            version = context(session).current_for(purpose, lang)
        except NotFound:
            version = None
    fields = RecordFields(
        id=uuid.uuid4().hex,
        subject=subject_ref,
        purpose=purpose,
        decision=Decision.withdraw.value,
        text_version_id=version.id if version else None,
        text_hash=version.content_hash if version else None,
        method=Method.unsubscribe.value,
        collection_point="e-mail",
        at=clock.now(),
        ip=rules.truncate_ip(ip),
        user_agent=rules.clip_user_agent(user_agent),
        expires_at=None,
        language=version.language if version else lang,
        recorded_by="unsubscribe",
    )
    return _append(session, fields)


def unsubscribe_purpose_name(session: Session, token: str) -> tuple[str, str]:
    """The purpose's name for the unsubscribe page, and the page language."""
    _subject, purpose, lang = read_unsubscribe_token(token)
    try:
        version = context(session).current_for(purpose, lang)
    except NotFound:
        version = None
    return (str(version.content.get("name")) if version else purpose), lang
