"""Consent: re-consent campaigns: asking again when a text changed, the cut-off after
which older grants stop counting, the subjects a campaign affects, and the list."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.consent.models import ConsentContact, ConsentState, OptIn, ReconsentCampaign
from datavern.consent.rules import Decision
from datavern.consent.service.checks import _check_purpose, _Problems
from datavern.consent.service.optin import _token_hash, marketing_headers, public_url
from datavern.consent.service.texts import context, list_texts
from datavern.core import audit, clock
from datavern.core.errors import InvalidInput, Problem
from datavern.core.i18n import LANGUAGES

RECONSENT_LINK_GRACE: Final = timedelta(days=30)


@dataclass(frozen=True)
class CampaignView:
    id: int
    purpose: str
    superseded: list[str]
    current: list[str]
    cutoff_date: date
    affected: int
    mailed: int
    created_at: datetime
    created_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "superseded": self.superseded,
            "current": self.current,
            "cutoff_date": self.cutoff_date.isoformat(),
            "affected": self.affected,
            "mailed": self.mailed,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


def _cutoff_moment(day: date) -> datetime:
    """Old consents stop counting at the start of the cut-off day, Norwegian time."""
    return datetime.combine(day, time(0, 0), tzinfo=clock.OSLO).astimezone(UTC)


def start_reconsent(
    session: Session, purpose: str, cutoff: date, *, actor: str, mail: bool = True
) -> CampaignView:
    """Ask again: grants under older texts of ``purpose`` stop counting at ``cutoff``.

    Subjects with a grant under an older text and a known address get an e-mail
    with a link to consent to the current text (a double opt-in confirmation);
    banner visitors are asked again by the banner (the text version changed).
    """
    from datavern.dsr import crypto
    from datavern.notify import email as mailer

    ctx = context(session)
    problems = _Problems()
    _check_purpose(ctx, purpose, Decision.grant, problems, "purpose")
    today = clock.now().astimezone(clock.OSLO).date()
    if cutoff < today:
        problems.add(f"the cut-off date {cutoff.isoformat()} is in the past", "cutoff")
    problems.raise_if_any()
    versions = list_texts(session, purpose)
    current_ids = {v.id for k, v in ctx.current.items() if k[0] == purpose}
    superseded = sorted(v.id for v in versions if v.id not in current_ids)
    if not superseded:
        raise InvalidInput(
            Problem(
                f"{purpose} has only its current text: nothing to ask again (change the text in "
                "the register and apply it first)",
                path="purpose",
            )
        )
    now = clock.now()
    campaign = ReconsentCampaign(
        purpose=purpose,
        superseded=superseded,
        current=sorted(current_ids),
        cutoff_date=cutoff,
        cutoff=_cutoff_moment(cutoff),
        created_by=actor,
        created_at=now,
        mailed=0,
    )
    session.add(campaign)
    session.flush()
    affected_rows = list(
        session.execute(
            select(ConsentState.subject, ConsentState.text_version_id).where(
                ConsentState.purpose == purpose,
                ConsentState.decision == Decision.grant.value,
                ConsentState.text_version_id.in_(superseded),
            )
        )
    )
    mailed = 0
    if mail:
        org = ctx.register.organisation
        for subject_ref, _old in affected_rows:
            contact = session.get(ConsentContact, subject_ref)
            if contact is None:
                continue
            lang = contact.language if contact.language in LANGUAGES else ctx.languages[0]
            version = ctx.current_for(purpose, lang)
            if version is None:
                continue
            token = secrets.token_urlsafe(32)
            session.add(
                OptIn(
                    id=uuid.uuid4().hex,
                    token_hash=_token_hash(token),
                    subject=subject_ref,
                    purpose=purpose,
                    text_version_id=version.id,
                    language=lang,
                    email_sealed=None,
                    collection_point="re-consent e-mail",
                    created_at=now,
                    # The link works until 30 days after the cut-off: a late "yes" is
                    # still a fresh consent to the current text.
                    expires_at=max(campaign.cutoff, now) + RECONSENT_LINK_GRACE,
                )
            )
            address = crypto.unseal(contact.email_sealed, "a subscriber's address")
            mailer.queue(
                session,
                to=address,
                template="consent_reconsent",
                lang=lang,
                context={
                    "organisation": org.name,
                    "purpose_name": version.content.get("name"),
                    "text": version.content.get("text"),
                    "withdraw": version.content.get("withdraw"),
                    "confirm_url": public_url("confirm", lang, token),
                    "cutoff": cutoff,
                    "cutoff_text": _date_text(cutoff, lang),
                },
                headers=marketing_headers(subject_ref, purpose, lang, mailto=org.email),
                category="consent.reconsent",
            )
            mailed += 1
    campaign.mailed = mailed
    audit.record(
        session,
        "consent.reconsent",
        f"consent_purpose:{purpose}",
        {
            "campaign": campaign.id,
            "cutoff": cutoff.isoformat(),
            "superseded": superseded,
            "affected": len(affected_rows),
            "mailed": mailed,
        },
        actor=actor,
    )
    return CampaignView(
        campaign.id,
        purpose,
        superseded,
        sorted(current_ids),
        cutoff,
        len(affected_rows),
        mailed,
        now,
        actor,
    )


def _date_text(day: date, lang: str) -> str:
    from datavern.core.i18n import long_date

    return long_date(day, "en" if lang == "en" else "nb")


def campaign_affected(session: Session, campaign: ReconsentCampaign) -> int:
    """Subjects whose current decision is a grant under a text the campaign supersedes."""
    return int(
        session.execute(
            select(func.count()).where(
                ConsentState.purpose == campaign.purpose,
                ConsentState.decision == Decision.grant.value,
                ConsentState.text_version_id.in_(list(campaign.superseded)),
            )
        ).scalar_one()
    )


def list_campaigns(session: Session, purpose: str | None = None) -> list[ReconsentCampaign]:
    query = select(ReconsentCampaign).order_by(ReconsentCampaign.id.desc())
    if purpose:
        query = query.where(ReconsentCampaign.purpose == purpose)
    return list(session.execute(query).scalars())
