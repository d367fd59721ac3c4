"""Consent: figures for the admin pages: grants and refusals of a purpose over time,
the number of subjects and the ledger's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.consent.models import ConsentHead, ConsentRecord, ConsentState
from datavern.consent.rules import Decision
from datavern.consent.service.state import _campaigns
from datavern.core import clock


@dataclass(frozen=True)
class PurposeFigures:
    purpose: str
    granted: int
    refused: int  # denied, withdrawn or objected
    days: list[date]
    granted_series: list[int]
    refused_series: list[int]


def purpose_figures(session: Session, purpose: str, days: int = 90) -> PurposeFigures:
    """Current grants and refusals of a purpose, and both counted at the end of each of
    the last ``days`` days (Norwegian dates), replayed from the ledger."""
    now = clock.now()
    today = now.astimezone(clock.OSLO).date()
    first = today - timedelta(days=days - 1)
    campaigns = _campaigns(session, [purpose])
    latest: dict[str, tuple[str, datetime | None, str | None]] = {}
    series_days = [first + timedelta(days=i) for i in range(days)]
    granted_series: list[int] = []
    refused_series: list[int] = []

    def counts(at: datetime) -> tuple[int, int]:
        g = r = 0
        for decision, expires, version in latest.values():
            if decision == Decision.grant.value:
                live = (expires is None or at < expires) and not any(
                    at >= c.cutoff and version in c.superseded for c in campaigns
                )
                g += 1 if live else 0
            else:
                r += 1
        return g, r

    rows = session.execute(
        select(
            ConsentRecord.subject,
            ConsentRecord.decision,
            ConsentRecord.at,
            ConsentRecord.expires_at,
            ConsentRecord.text_version_id,
        )
        .where(ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.seq)
    )
    index = 0
    for subject, decision, at, expires, version in rows:
        day = at.astimezone(clock.OSLO).date()
        while index < len(series_days) and series_days[index] < day:
            end = _day_end(series_days[index])
            g, r = counts(min(end, now))
            granted_series.append(g)
            refused_series.append(r)
            index += 1
        latest[subject] = (decision, expires, version)
    while index < len(series_days):
        g, r = counts(min(_day_end(series_days[index]), now))
        granted_series.append(g)
        refused_series.append(r)
        index += 1
    granted, refused = counts(now)
    return PurposeFigures(purpose, granted, refused, series_days, granted_series, refused_series)


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=clock.OSLO).astimezone(UTC)


def subjects_count(session: Session) -> int:
    return int(
        session.execute(select(func.count(func.distinct(ConsentState.subject)))).scalar_one()
    )


def ledger_size(session: Session) -> int:
    head = session.get(ConsentHead, 1)
    return head.seq if head else 0
