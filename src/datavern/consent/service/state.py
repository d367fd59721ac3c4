"""Consent: a subject's state and "may I process?": the current decisions, re-consent
campaigns (cached per database), prefetched rows, and the DSR engine's restriction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.rules import Decision
from datavern.consent.service.checks import _Problems, _subject
from datavern.consent.service.statements import (
    _CAMPAIGNS,
    _RESTRICTED,
    _RESTRICTED_ONE,
    _STATE,
    _STATE_ONE,
)
from datavern.consent.service.subjects import Subject
from datavern.consent.service.texts import (
    Head,
    _contexts,
    _db_key,
    cached_context,
    context_at,
    read_head,
)
from datavern.core import clock

_campaign_cache: dict[tuple[str, int], list[rules.Campaign]] = {}


def forget_caches() -> None:
    """Forget the cached register contexts and re-consent campaigns of every database.

    They are keyed by database URL and register version or newest campaign id, which
    is safe while a database lives; a database emptied and refilled under the same
    URL in the same process (the test suite does that) must call this."""
    _contexts.clear()
    _campaign_cache.clear()


def _campaigns(
    session: Session, purposes: Iterable[str], generation: int | None = None
) -> list[rules.Campaign]:
    """Re-consent campaigns of ``purposes``; all campaigns are cached per database and
    newest campaign id (``generation``, read with the register head)."""
    wanted = set(purposes)
    if not wanted:
        return []
    if generation is None:
        head = read_head(session)
        generation = int(head.newest_campaign) if head is not None else 0
    key = (_db_key(session), generation)
    every = _campaign_cache.get(key)
    if every is None:
        rows = session.connection().execute(_CAMPAIGNS)
        every = [rules.Campaign(p, frozenset(s), c) for p, s, c in rows]
        if len(_campaign_cache) > 64:
            _campaign_cache.clear()
        _campaign_cache[key] = every
    return [c for c in every if c.purpose in wanted]


def _latest(session: Session, subject_ref: str, purposes: Sequence[str]) -> dict[str, rules.Latest]:
    if not purposes:
        return {}
    if len(purposes) == 1:
        rows = session.connection().execute(
            _STATE_ONE, {"subject": subject_ref, "purpose": purposes[0]}
        )
    else:
        rows = session.connection().execute(
            _STATE, {"subject": subject_ref, "purposes": list(purposes)}
        )
    return {r[0]: rules.Latest(*r[1:]) for r in rows}


@dataclass(frozen=True)
class Prefetched:
    """A subject's state rows for ``keys`` (purposes or activity keys), read by a caller
    together with other things under the register ``head`` it expected (one round
    trip instead of two; consent/api.py's fast reads). Used only if the register is
    still at ``head`` and ``keys`` covers what the answer needs."""

    head: Head
    subject_ref: str
    keys: frozenset[str]
    latest: Mapping[str, rules.Latest]


def _latest_of(
    session: Session,
    subject_ref: str,
    keys: Sequence[str],
    head: Head,
    prefetched: Prefetched | None,
) -> dict[str, rules.Latest]:
    if (
        prefetched is not None
        and prefetched.head == head
        and prefetched.subject_ref == subject_ref
        and prefetched.keys.issuperset(keys)
    ):
        return {k: v for k, v in prefetched.latest.items() if k in keys}
    return _latest(session, subject_ref, keys)


def _may_process_keys(resolved: rules.ResolvedPurpose) -> list[str]:
    return list(dict.fromkeys([*resolved.consent_purposes, *resolved.objection_keys]))


def read_keys(session: Session, head: Head, purpose: str, *, may_process: bool) -> tuple[str, ...]:
    """The state rows ``state`` (or ``may_process``) will read for ``purpose`` under the
    register ``head``, if its purposes are cached already; () otherwise (or for a
    purpose it does not know: the answer is an error then)."""
    ctx = cached_context(session, head)
    if ctx is None:
        return ()
    if not may_process:
        return (purpose,) if purpose in ctx.index.purposes else ()
    try:
        resolved = rules.resolve_purpose(ctx.index, purpose.strip())
    except rules.UnknownPurpose:
        return ()
    return tuple(_may_process_keys(resolved))


@dataclass(frozen=True)
class StateView:
    subject: str
    purpose: str
    status: str
    decision: str | None
    text_version: str | None
    method: str | None
    at: datetime | None
    expires_at: datetime | None
    reconsent_cutoff: date | None  # a campaign asks again; old consent stops counting then
    current_text_version: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "purpose": self.purpose,
            "status": self.status,
            "decision": self.decision,
            "text_version": self.text_version,
            "method": self.method,
            "at": self.at.isoformat() if self.at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "reconsent_cutoff": self.reconsent_cutoff.isoformat()
            if self.reconsent_cutoff
            else None,
            "current_text_version": self.current_text_version,
        }


def state(
    session: Session,
    subject: str,
    purpose: str,
    lang: str | None = None,
    *,
    head: Head | Literal["read"] | None = "read",
    prefetched: Prefetched | None = None,
) -> StateView:
    """The subject's current answer for one consent purpose.

    ``head``: the register head if the caller read it already (see ``head_columns``);
    ``prefetched``: the subject's state rows if the caller read them already.
    """
    known = read_head(session) if head == "read" else head
    ctx = context_at(session, known)
    assert known is not None  # context_at raised NotFound otherwise
    problems = _Problems()
    who = _subject(subject, problems)
    if purpose not in ctx.index.purposes:
        problems.add(str(rules.UnknownPurpose(purpose, ctx.index.known())), "purpose")
    problems.raise_if_any()
    assert who is not None
    latest = _latest_of(session, who.ref, [purpose], known, prefetched).get(purpose)
    campaigns = _campaigns(session, [purpose], known.newest_campaign)
    status = rules.effective_status(latest, clock.now(), campaigns)
    cutoff = None
    if latest is not None and latest.decision == Decision.grant.value:
        due = [c for c in campaigns if latest.text_version_id in c.superseded]
        if due:
            cutoff = min(c.cutoff for c in due).astimezone(clock.OSLO).date()
    shown_lang = _lang_of(latest.text_version_id) if latest else None
    current = ctx.current_for(purpose, lang or shown_lang)
    return StateView(
        who.ref,
        purpose,
        status.value,
        latest.decision if latest else None,
        latest.text_version_id if latest else None,
        latest.method if latest else None,
        latest.at if latest else None,
        latest.expires_at if latest else None,
        cutoff,
        current.id if current else None,
    )


def _lang_of(version_id: str | None) -> str | None:
    if not version_id:
        return None
    parts = version_id.split("/")
    return parts[1] if len(parts) == 3 else None


@dataclass(frozen=True)
class MayProcess:
    subject: str
    purpose: str
    allowed: bool
    reasons: tuple[str, ...]
    consent: Mapping[str, str]
    objected: bool
    restricted: bool
    restricted_since: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "purpose": self.purpose,
            "allowed": self.allowed,
            "reason": "; ".join(self.reasons),
            "consent": dict(self.consent),
            "objected": self.objected,
            "restricted": self.restricted,
            "restricted_since": self.restricted_since.isoformat()
            if self.restricted_since
            else None,
        }


def may_process(
    session: Session,
    subject: str,
    purpose: str,
    *,
    head: Head | Literal["read"] | None = "read",
    who: Subject | None = None,
    restricted_since: tuple[str, datetime | None] | None = None,
    prefetched: Prefetched | None = None,
) -> MayProcess:
    """May the subject's data be processed for ``purpose`` now?

    ``purpose`` is a consent purpose, an activity key, a fideslang data use from
    the register, or ``storage``. The answer combines the DSR engine's restriction
    (art. 18; ``dsr.service.may_process``), objections in the ledger (art. 21) and
    consent where the register says consent is the legal basis (art. 6(1)(a)).
    ``head``: the register head if the caller read it already (see ``head_columns``);
    ``who``: ``subject`` parsed already; ``restricted_since``: (identity hash, the
    oldest active restriction under it) if the caller read that already (see
    ``restriction_column``); ``prefetched``: the subject's state rows, likewise.
    """
    known = read_head(session) if head == "read" else head
    ctx = context_at(session, known)
    assert known is not None  # context_at raised NotFound otherwise
    problems = _Problems()
    purpose = purpose.strip()
    if who is None:
        who = _subject(subject, problems)
    resolved = None
    if not purpose:
        problems.add("name a purpose, e.g. a consent purpose or an activity key", "purpose")
    else:
        try:
            resolved = rules.resolve_purpose(ctx.index, purpose)
        except rules.UnknownPurpose as exc:
            problems.add(str(exc), "purpose")
    problems.raise_if_any()
    assert who is not None and resolved is not None
    keys = _may_process_keys(resolved)
    latest = _latest_of(session, who.ref, keys, known, prefetched)
    campaigns = _campaigns(session, resolved.consent_purposes, known.newest_campaign)
    now = clock.now()
    statuses = {
        p: rules.effective_status(latest.get(p), now, campaigns) for p in resolved.consent_purposes
    }
    objections = {
        k: v for k, v in latest.items() if k in resolved.objection_keys and v.decision == "object"
    }
    restricted, since, other = _restriction(session, who, purpose, restricted_since)
    answer = rules.decide(resolved, statuses, objections, restricted)
    reasons = answer.reasons + tuple(other)
    return MayProcess(
        who.ref,
        purpose,
        answer.allowed and not other,
        reasons,
        {k: v.value for k, v in statuses.items()},
        answer.objected_by is not None,
        restricted,
        since,
    )


def restriction_column() -> Any:
    """A scalar subquery of the oldest active restriction under the identity hash
    ``:rhash``, to add to another SELECT (``may_process(restricted_since=...)``)."""
    return _RESTRICTED_ONE.scalar_subquery().label("restricted_since")


def single_restriction_hash(who: Subject) -> str | None:
    """The one identity hash ``who``'s restriction is looked up by, if exactly one."""
    hashes = who.restriction_hashes
    return hashes[0] if len(hashes) == 1 else None


def _restriction(
    session: Session,
    who: Subject,
    purpose: str,
    prefetched: tuple[str, datetime | None] | None = None,
) -> tuple[bool, datetime | None, list[str]]:
    """The DSR engine's restriction (art. 18): restricted (and since when), and any other
    "no" the DSR engine gives.

    The active restrictions are looked up by the DSR engine's keyed identity hash
    with one prepared statement (the hot path); when one exists and the raw identity
    is known, ``dsr.service.may_process`` itself is asked, so that its rule decides.
    """
    hashes = who.restriction_hashes
    if not hashes:
        return False, None, []
    conn = session.connection()
    if prefetched is not None and hashes == [prefetched[0]]:
        since = prefetched[1]
    elif len(hashes) == 1:
        since = conn.execute(_RESTRICTED_ONE, {"hash": hashes[0]}).scalar_one_or_none()
    else:
        since = conn.execute(_RESTRICTED, {"hashes": hashes}).scalar_one_or_none()
    if since is None:
        return False, None, []
    identities = who.dsr_identities
    if identities:
        from datavern.dsr import service as dsr

        answer = dsr.may_process(session, identities, purpose)
        other = [] if answer.allowed or answer.restricted else [answer.reason]
        return answer.restricted, answer.restricted_since, other
    return True, since, []
