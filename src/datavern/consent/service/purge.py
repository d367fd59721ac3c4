"""Consent housekeeping: dropping spent banner nonces and unconfirmed opt-ins past their
expiry (the ledger is never purged)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from datavern.consent.models import OptIn, UsedNonce
from datavern.core import clock


def purge_expired(session: Session) -> dict[str, int]:
    """Drop spent nonces past their expiry and unconfirmed opt-ins past theirs (with the
    sealed address they hold). The ledger is never purged here."""
    now = clock.now()
    nonces = session.execute(delete(UsedNonce).where(UsedNonce.expires_at < now))
    optins = session.execute(
        delete(OptIn).where(OptIn.confirmed_at.is_(None), OptIn.expires_at < now)
    )
    return {
        "nonces": int(getattr(nonces, "rowcount", 0) or 0),
        "optins": int(getattr(optins, "rowcount", 0) or 0),
    }
