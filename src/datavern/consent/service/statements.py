"""Consent: the statements of the hot read path (the register head, a subject's state
rows, the re-consent campaigns, the oldest active restriction), built once at import
and run on the session's connection without the ORM."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import bindparam, func, select

from datavern.consent.models import ConsentState, ReconsentCampaign


def latest_columns() -> tuple[Any, ...]:
    """The columns of a subject's state row in ``rules.Latest``'s order, after the
    purpose: what every read of the current state selects."""
    return (
        ConsentState.purpose,
        ConsentState.seq,
        ConsentState.decision,
        ConsentState.text_version_id,
        ConsentState.method,
        ConsentState.at,
        ConsentState.expires_at,
    )


LATEST_COLUMNS: Final = latest_columns()


def _prepared() -> tuple[Any, Any, Any, Any]:
    """Statements of the hot read path (state, may-process), built once and run on the
    session's connection without the ORM: the reads the benchmark measures."""
    from datavern.dsr.models import Restriction
    from datavern.register.models import RegisterVersion

    newest_campaign = (
        select(func.coalesce(func.max(ReconsentCampaign.id), 0))
        .scalar_subquery()
        .label("newest_campaign")
    )
    head = (
        select(RegisterVersion.number, RegisterVersion.content_hash, newest_campaign)
        .order_by(RegisterVersion.number.desc())
        .limit(1)
    )
    state_rows = select(*LATEST_COLUMNS).where(
        ConsentState.subject == bindparam("subject"),
        ConsentState.purpose.in_(bindparam("purposes", expanding=True)),
    )
    campaigns = select(
        ReconsentCampaign.purpose, ReconsentCampaign.superseded, ReconsentCampaign.cutoff
    )
    restricted_since = select(func.min(Restriction.created_at)).where(
        Restriction.identity_hash.in_(bindparam("hashes", expanding=True)),
        Restriction.lifted_at.is_(None),
    )
    return head, state_rows, campaigns, restricted_since


def _prepared_one() -> tuple[Any, Any]:
    """The same reads for one purpose and one identity hash (the usual case): a plain
    ``=`` keeps the compiled statement cached whole, where ``IN`` is rebuilt per call."""
    from datavern.dsr.models import Restriction

    state_row = select(*LATEST_COLUMNS).where(
        ConsentState.subject == bindparam("subject"),
        ConsentState.purpose == bindparam("purpose"),
    )
    restricted_since = select(func.min(Restriction.created_at)).where(
        Restriction.identity_hash == bindparam("hash"),
        Restriction.lifted_at.is_(None),
    )
    return state_row, restricted_since


_HEAD, _STATE, _CAMPAIGNS, _RESTRICTED = _prepared()


_STATE_ONE, _RESTRICTED_ONE = _prepared_one()
