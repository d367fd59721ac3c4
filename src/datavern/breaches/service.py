"""The breach register: register, update, assess, record exceptions and notifications,
drafts for Datatilsynet, reminders about the 72-hour deadline.

Every use case takes a session and writes the audit log in the same
transaction; invalid input raises :class:`InvalidInput` (exit code 2) naming
every problem before anything is stored. Telling the people affected
(art. 34) is in ``subjects.py``.

The audit log names the breach, the version and which fields changed; never
the texts (they are the company's own words and may, against advice, name
someone).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.breaches import rules
from datavern.breaches.draft import Draft, DraftInput, NoticeTotals, Organisation, build_draft
from datavern.breaches.models import (
    Breach,
    BreachMessage,
    BreachNotice,
    BreachNoticeRun,
    BreachReminder,
    BreachSubmission,
    BreachVersion,
)
from datavern.breaches.rules import BreachFacts, ClockStatus, Finding, RiskLevel
from datavern.core import audit, clock
from datavern.core.errors import InvalidInput, Location, NotFound, Problem
from datavern.core.i18n import Lang
from datavern.register.schema import Register

RISK_KEYS: Final = ("risk", "risk_reasoning")


class BreachNotFound(NotFound):
    pass


class BreachInvalid(InvalidInput):
    """Invalid input, with the findings (field, code) so a page can say it in its language."""

    def __init__(self, problems: list[Problem], findings: list[Finding]) -> None:
        super().__init__(problems)
        self.findings = findings


def target(breach_id: int) -> str:
    return f"breach:{breach_id}"


# --------------------------------------------------------------------------- #
# Views
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class VersionInfo:
    number: int
    kind: str
    changed: list[str]
    note: str | None
    created_at: datetime
    created_by: str
    facts: dict[str, Any]
    risk: dict[str, Any] | None
    exception: dict[str, Any] | None


@dataclass(frozen=True)
class SubmissionInfo:
    id: int
    version: int
    stage: str
    submitted_at: datetime
    reference: str | None
    late: bool
    delay_reasons: str | None
    draft_hash: str
    recorded_by: str


@dataclass(frozen=True)
class NoticeRunInfo:
    id: int
    channel: str
    lang: str
    selection: str
    state: str
    counts: dict[str, Any]
    message_number: int
    started_at: datetime
    finished_at: datetime | None
    created_by: str
    error: str | None


@dataclass(frozen=True)
class BreachSummary:
    id: int
    title: str
    aware_at: datetime
    risk: RiskLevel | None
    clock: ClockStatus
    version: int
    notified_at: datetime | None
    exception: str | None
    people_told: int
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "aware_at": self.aware_at.isoformat(),
            "deadline": self.clock.deadline.isoformat(),
            "clock": self.clock.state,
            "remaining_seconds": int(self.clock.remaining.total_seconds()),
            "risk": self.risk,
            "version": self.version,
            "notified_at": self.notified_at.isoformat() if self.notified_at else None,
            "art34_exception": self.exception,
            "people_told": self.people_told,
        }


@dataclass(frozen=True)
class BreachView:
    summary: BreachSummary
    facts: BreachFacts
    risk: dict[str, Any] | None
    exception: dict[str, Any] | None
    versions: list[VersionInfo]
    submissions: list[SubmissionInfo]
    runs: list[NoticeRunInfo]
    notices: list[NoticeTotals]
    reminders: list[tuple[str, datetime]]
    next_steps: list[str]
    created_by: str

    @property
    def id(self) -> int:
        return self.summary.id

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary.as_json(),
            "facts": self.facts.content(),
            "risk_assessment": self.risk,
            "exception": self.exception,
            "next_steps": self.next_steps,
            "versions": [
                {
                    "number": v.number,
                    "kind": v.kind,
                    "changed": v.changed,
                    "note": v.note,
                    "at": v.created_at.isoformat(),
                    "by": v.created_by,
                }
                for v in self.versions
            ],
            "submissions": [
                {
                    "version": s.version,
                    "stage": s.stage,
                    "submitted_at": s.submitted_at.isoformat(),
                    "reference": s.reference,
                    "late": s.late,
                    "draft_sha256": s.draft_hash,
                }
                for s in self.submissions
            ],
            "notices": [{"channel": n.channel, "people": n.count} for n in self.notices if n.count],
        }


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


@cache
def _taxonomy() -> dict[str, frozenset[str]]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {
        "data_categories": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category),
        "data_subjects": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_subject),
    }


def _register(session: Session) -> Register | None:
    from datavern.register.service import current_register

    try:
        return current_register(session)[1]
    except (NotFound, InvalidInput):
        return None


def _unknown(
    path: str, what: str, value: str, known: frozenset[str] | set[str], code: str
) -> Finding:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return Finding(path, f"unknown {what} {value!r}{hint}", code, value[:100])


def reference_problems(facts: BreachFacts, register: Register | None) -> list[Finding]:
    """Systems the register does not have, categories fideslang does not know."""
    findings: list[Finding] = []
    for path, what, code in (
        ("data_categories", "data category", "unknown_category"),
        ("data_subjects", "data subject", "unknown_subject"),
    ):
        known = _taxonomy()[path]
        for value in getattr(facts, path):
            if value not in known:
                findings.append(_unknown(path, what, value, known, code))
    if register is not None and register.systems:
        systems = {s.key for s in register.systems}
        for value in facts.systems:
            if value not in systems:
                known_list = ", ".join(sorted(systems))
                found = _unknown("systems", "system", value, systems, "unknown_system")
                findings.append(
                    Finding(
                        "systems",
                        f"{found.message} (the register's systems: {known_list})",
                        found.code,
                        found.value,
                    )
                )
    return findings


def invalid(
    findings: list[Finding], locations: Mapping[str, Location] | None = None
) -> BreachInvalid:
    locations = locations or {}
    problems = []
    for finding in findings:
        head = finding.path.split(".", 1)[0]
        problems.append(Problem(finding.message, locations.get(head), finding.path))
    return BreachInvalid(problems, findings)


@dataclass(frozen=True)
class Checked:
    facts: BreachFacts
    risk: tuple[RiskLevel, str] | None
    warnings: list[Finding] = field(default_factory=list)


def check_input(
    session: Session,
    data: Mapping[str, Any],
    *,
    locations: Mapping[str, Location] | None = None,
) -> Checked:
    """Validate a breach as given (flags, a file, a form); InvalidInput lists every problem."""
    raw = dict(data)
    risk_given = any(raw.get(k) not in (None, "") for k in RISK_KEYS)
    level, reasoning = raw.pop("risk", None), raw.pop("risk_reasoning", None)
    facts, findings = rules.parse_facts(raw)
    risk: tuple[RiskLevel, str] | None = None
    if risk_given:
        parsed, problems = rules.parse_risk(level, reasoning)
        findings += problems
        if parsed is not None:
            risk = (parsed, str(reasoning).strip())
    warnings: list[Finding] = []
    if facts is not None:
        errors, warnings = rules.facts_problems(facts, clock.now())
        findings += errors
        findings += reference_problems(facts, _register(session))
    else:
        findings += rules.moment_problems(raw, clock.now())
    if findings or facts is None:
        raise invalid(findings, locations)
    return Checked(facts, risk, warnings)


# --------------------------------------------------------------------------- #
# Storing versions
# --------------------------------------------------------------------------- #


def _hash(content: Mapping[str, Any]) -> str:
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _breach(session: Session, breach_id: int, *, lock: bool = False) -> Breach:
    query = select(Breach).where(Breach.id == breach_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise BreachNotFound(f"no breach {breach_id}; `datavern breach list` shows them")
    return row


def _latest(session: Session, breach: Breach) -> BreachVersion:
    return session.execute(
        select(BreachVersion).where(
            BreachVersion.breach_id == breach.id, BreachVersion.number == breach.current_version
        )
    ).scalar_one()


def _add_version(
    session: Session,
    breach: Breach,
    *,
    kind: str,
    facts: BreachFacts,
    risk: dict[str, Any] | None,
    exception: dict[str, Any] | None,
    changed: list[str],
    note: str | None,
    actor: str,
) -> BreachVersion:
    now = clock.now()
    number = breach.current_version + 1 if breach.current_version else 1
    content = facts.content()
    version = BreachVersion(
        breach_id=breach.id,
        number=number,
        kind=kind,
        facts=content,
        risk=risk,
        exception=exception,
        changed=changed,
        note=(note or "").strip() or None,
        content_hash=_hash({"facts": content, "risk": risk, "exception": exception}),
        created_at=now,
        created_by=actor,
    )
    session.add(version)
    breach.current_version = number
    breach.title = facts.title
    breach.aware_at = facts.aware_at
    breach.deadline_at = rules.deadline(facts.aware_at)
    breach.risk_level = risk["level"] if risk else None
    breach.art34_exception = exception["letter"] if exception else None
    breach.updated_at = now
    session.flush()
    return version


def _risk_record(level: RiskLevel, reasoning: str, actor: str) -> dict[str, Any]:
    return {
        "level": level,
        "reasoning": reasoning,
        "assessed_at": clock.now().isoformat(),
        "assessed_by": actor,
    }


@dataclass(frozen=True)
class Saved:
    breach_id: int
    version: int
    warnings: list[Finding]
    changed: list[str] = field(default_factory=list)


def create_breach(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: str,
    locations: Mapping[str, Location] | None = None,
) -> Saved:
    """Register a breach (version 1); nothing is stored when the input is invalid."""
    checked = check_input(session, data, locations=locations)
    facts = checked.facts
    now = clock.now()
    breach = Breach(
        title=facts.title,
        aware_at=facts.aware_at,
        deadline_at=rules.deadline(facts.aware_at),
        current_version=0,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(breach)
    session.flush()
    risk = _risk_record(*checked.risk, actor) if checked.risk else None
    _add_version(
        session,
        breach,
        kind="registered",
        facts=facts,
        risk=risk,
        exception=None,
        changed=[],
        note=None,
        actor=actor,
    )
    audit.record(
        session,
        "breach.register",
        target(breach.id),
        {
            "version": 1,
            "aware_at": facts.aware_at.isoformat(),
            "deadline": breach.deadline_at.isoformat(),
            "risk": risk["level"] if risk else None,
        },
        actor=actor,
    )
    return Saved(breach.id, 1, checked.warnings)


def update_breach(
    session: Session,
    breach_id: int,
    changes: Mapping[str, Any],
    *,
    actor: str,
    note: str | None = None,
    locations: Mapping[str, Location] | None = None,
) -> Saved:
    """A staged update (art. 33(4)): a new version with the changed fields.

    ``changes`` maps field names to new values; ``None`` or ``""`` clears an
    optional field. ``risk``/``risk_reasoning`` may be changed here too.
    """
    breach = _breach(session, breach_id, lock=True)
    current = _latest(session, breach)
    merged: dict[str, Any] = dict(current.facts)
    for key, value in changes.items():
        if key in RISK_KEYS:
            continue
        if value is None or value == "" or value == []:
            merged.pop(key, None)
        else:
            merged[key] = value
    risk_changes = {k: changes[k] for k in RISK_KEYS if k in changes}
    if risk_changes:
        old = current.risk or {}
        merged["risk"] = risk_changes.get("risk", old.get("level"))
        merged["risk_reasoning"] = risk_changes.get("risk_reasoning", old.get("reasoning"))
    checked = check_input(session, merged, locations=locations)
    new_content = checked.facts.content()
    changed = [k for k in BreachFacts.model_fields if new_content.get(k) != current.facts.get(k)]
    risk = current.risk
    if checked.risk is not None and (
        current.risk is None
        or (current.risk.get("level"), current.risk.get("reasoning")) != checked.risk
    ):
        risk = _risk_record(*checked.risk, actor)
        changed.append("risk")
    if not changed:
        raise invalid(
            [Finding("", "nothing changed: give at least one field with a new value", "unchanged")]
        )
    exception = current.exception
    if risk is not None and risk["level"] != "high_risk" and exception is not None:
        # An art. 34(3) exception only makes sense for a high risk; it lapses with it.
        exception = None
        changed.append("exception")
    version = _add_version(
        session,
        breach,
        kind="update",
        facts=checked.facts,
        risk=risk,
        exception=exception,
        changed=changed,
        note=note,
        actor=actor,
    )
    audit.record(
        session,
        "breach.update",
        target(breach.id),
        {"version": version.number, "changed": changed},
        actor=actor,
    )
    return Saved(breach.id, version.number, checked.warnings, changed)


def assess_risk(
    session: Session, breach_id: int, level: object, reasoning: object, *, actor: str
) -> Saved:
    """Record the risk assessment (art. 33(1), 34(1)) as a new version."""
    parsed, findings = rules.parse_risk(level, reasoning)
    if parsed is None:
        raise invalid(findings)
    breach = _breach(session, breach_id, lock=True)
    current = _latest(session, breach)
    risk = _risk_record(parsed, str(reasoning).strip(), actor)
    exception = current.exception if parsed == "high_risk" else None
    changed = ["risk"] + (["exception"] if current.exception and exception is None else [])
    version = _add_version(
        session,
        breach,
        kind="risk",
        facts=BreachFacts.model_validate(current.facts),
        risk=risk,
        exception=exception,
        changed=changed,
        note=None,
        actor=actor,
    )
    audit.record(
        session,
        "breach.assess",
        target(breach.id),
        {"version": version.number, "risk": parsed},
        actor=actor,
    )
    return Saved(breach.id, version.number, [], changed)


def record_exception(
    session: Session,
    breach_id: int,
    letter: object,
    reasoning: object,
    *,
    public_communication: object = None,
    actor: str,
) -> Saved:
    """Record which exception of art. 34(3) applies when the people are not told one by one."""
    breach = _breach(session, breach_id, lock=True)
    current = _latest(session, breach)
    level = current.risk.get("level") if current.risk else None
    risk: RiskLevel | None = next((r for r in rules.RISK_LEVELS if r == level), None)
    findings = rules.exception_problems(letter, reasoning, public_communication, risk)
    if findings:
        raise invalid(findings)
    assert isinstance(letter, str) and isinstance(reasoning, str)
    public = public_communication.strip() if isinstance(public_communication, str) else None
    exception = {
        "letter": letter.strip().lower(),
        "reasoning": reasoning.strip(),
        "public_communication": public or None,
        "recorded_at": clock.now().isoformat(),
        "recorded_by": actor,
    }
    version = _add_version(
        session,
        breach,
        kind="exception",
        facts=BreachFacts.model_validate(current.facts),
        risk=current.risk,
        exception=exception,
        changed=["exception"],
        note=None,
        actor=actor,
    )
    audit.record(
        session,
        "breach.art34_exception",
        target(breach.id),
        {"version": version.number, "exception": exception["letter"]},
        actor=actor,
    )
    return Saved(breach.id, version.number, [], ["exception"])


def record_submission(
    session: Session,
    breach_id: int,
    *,
    actor: str,
    submitted_at: object = None,
    reference: str | None = None,
    delay_reasons: str | None = None,
    lang: Lang = "nb",
) -> SubmissionInfo:
    """Record that the current version was sent to Datatilsynet (first time or an update).

    The first notification stops the 72-hour clock. Sent after the deadline, it
    needs the reasons for the delay (art. 33(1)): given here, or already in the
    record; reasons given here are added to the record as a new version first.
    """
    breach = _breach(session, breach_id, lock=True)
    now = clock.now()
    if submitted_at is None or submitted_at == "":
        at = now
    else:
        try:
            at = rules.parse_moment(submitted_at)
        except rules.MomentError as exc:
            raise invalid([Finding("submitted_at", str(exc), exc.code)]) from None
    findings: list[Finding] = []
    if at > now + timedelta(minutes=1):
        findings.append(Finding("submitted_at", "lies in the future", "future"))
    if at < breach.aware_at:
        findings.append(
            Finding("submitted_at", "is before the moment of awareness", "submitted_before_aware")
        )
    reference = (reference or "").strip() or None
    if reference and len(reference) > 200:
        findings.append(Finding("reference", "too long (at most 200 characters)", "too_long"))
    current = _latest(session, breach)
    reasons = (delay_reasons or "").strip() or current.facts.get("delay_reasons")
    # Only the first notification has the 72-hour deadline; staged updates follow
    # "without undue further delay" (art. 33(4)) and need no reasons of their own.
    initial = breach.notified_at is None
    problem = rules.delay_reasons_problem(breach.aware_at, at, reasons) if initial else None
    if problem:
        findings.append(Finding("delay_reasons", problem, "late_needs_reasons"))
    if findings:
        raise invalid(findings)
    if delay_reasons and delay_reasons.strip() != current.facts.get("delay_reasons"):
        update_breach(
            session,
            breach_id,
            {"delay_reasons": delay_reasons.strip()},
            actor=actor,
            note="reasons for the delay (art. 33(1))",
        )
        current = _latest(session, breach)
    previous = session.execute(
        select(func.count())
        .select_from(BreachSubmission)
        .where(BreachSubmission.breach_id == breach.id)
    ).scalar_one()
    draft = draft_for(session, breach_id, lang=lang, version=current.number)
    from datavern.breaches.draft import draft_text

    late = initial and rules.is_late(breach.aware_at, at)
    row = BreachSubmission(
        breach_id=breach.id,
        version=current.number,
        stage="initial" if previous == 0 else "update",
        submitted_at=at,
        reference=reference,
        late=late,
        delay_reasons=reasons if late else None,
        draft_hash=hashlib.sha256(draft_text(draft).encode("utf-8")).hexdigest(),
        draft_lang=lang,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(row)
    if breach.notified_at is None:
        breach.notified_at = at
    breach.updated_at = now
    session.flush()
    audit.record(
        session,
        "breach.notified_authority",
        target(breach.id),
        {
            "version": current.number,
            "stage": row.stage,
            "submitted_at": at.isoformat(),
            "late": row.late,
            "reference": reference,
        },
        actor=actor,
    )
    return _submission_info(row)


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def _submission_info(row: BreachSubmission) -> SubmissionInfo:
    return SubmissionInfo(
        row.id,
        row.version,
        row.stage,
        row.submitted_at,
        row.reference,
        row.late,
        row.delay_reasons,
        row.draft_hash,
        row.recorded_by,
    )


def _risk_level(value: str | None) -> RiskLevel | None:
    return next((r for r in rules.RISK_LEVELS if r == value), None)


def _told_counts(session: Session, breach_ids: list[int] | None = None) -> dict[int, int]:
    query = (
        select(BreachNotice.breach_id, func.count())
        .where(BreachNotice.status == "sent")
        .group_by(BreachNotice.breach_id)
    )
    if breach_ids is not None:
        query = query.where(BreachNotice.breach_id.in_(breach_ids))
    return {int(b): int(n) for b, n in session.execute(query)}


def _summary(breach: Breach, people_told: int, now: datetime) -> BreachSummary:
    risk = _risk_level(breach.risk_level)
    status = rules.clock_status(breach.aware_at, now, notified_at=breach.notified_at, risk=risk)
    return BreachSummary(
        id=breach.id,
        title=breach.title,
        aware_at=breach.aware_at,
        risk=risk,
        clock=status,
        version=breach.current_version,
        notified_at=breach.notified_at,
        exception=breach.art34_exception,
        people_told=people_told,
        created_at=breach.created_at,
    )


def list_breaches(session: Session) -> list[BreachSummary]:
    """Every breach, newest awareness first."""
    rows = list(
        session.execute(select(Breach).order_by(Breach.aware_at.desc(), Breach.id.desc())).scalars()
    )
    told = _told_counts(session, [r.id for r in rows]) if rows else {}
    now = clock.now()
    return [_summary(r, told.get(r.id, 0), now) for r in rows]


def _notice_totals(session: Session, breach_id: int) -> list[NoticeTotals]:
    totals = []
    for channel, count, first, last in session.execute(
        select(
            BreachNotice.channel,
            func.count(),
            func.min(BreachNotice.sent_at),
            func.max(BreachNotice.sent_at),
        )
        .where(BreachNotice.breach_id == breach_id, BreachNotice.status == "sent")
        .group_by(BreachNotice.channel)
        .order_by(BreachNotice.channel)
    ):
        totals.append(NoticeTotals(str(channel), int(count), first, last))
    return totals


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # func.min/max bypass the column type on SQLite


def get_breach(session: Session, breach_id: int) -> BreachView:
    breach = _breach(session, breach_id)
    versions = list(
        session.execute(
            select(BreachVersion)
            .where(BreachVersion.breach_id == breach.id)
            .order_by(BreachVersion.number)
        ).scalars()
    )
    current = versions[-1]
    submissions = [
        _submission_info(s)
        for s in session.execute(
            select(BreachSubmission)
            .where(BreachSubmission.breach_id == breach.id)
            .order_by(BreachSubmission.submitted_at, BreachSubmission.id)
        ).scalars()
    ]
    messages = {
        m.id: m.number
        for m in session.execute(
            select(BreachMessage).where(BreachMessage.breach_id == breach.id)
        ).scalars()
    }
    runs = [
        NoticeRunInfo(
            r.id,
            r.channel,
            r.lang,
            r.selection,
            r.state,
            # Without the sealed selection an unfinished run keeps for its job.
            {k: v for k, v in (r.counts or {}).items() if k != "job"},
            messages.get(r.message_id, 0),
            r.started_at,
            r.finished_at,
            r.created_by,
            r.error,
        )
        for r in session.execute(
            select(BreachNoticeRun)
            .where(BreachNoticeRun.breach_id == breach.id)
            .order_by(BreachNoticeRun.id)
        ).scalars()
    ]
    notices = [
        NoticeTotals(t.channel, t.count, _aware(t.first), _aware(t.last))
        for t in _notice_totals(session, breach.id)
    ]
    told = sum(n.count for n in notices)
    reminders = [
        (r.threshold, r.sent_at)
        for r in session.execute(
            select(BreachReminder)
            .where(BreachReminder.breach_id == breach.id)
            .order_by(BreachReminder.sent_at)
        ).scalars()
    ]
    summary = _summary(breach, told, clock.now())
    facts = BreachFacts.model_validate(current.facts)
    exception_letter = breach.art34_exception
    steps = rules.next_steps(
        status=summary.clock,
        risk=summary.risk,
        delay_reasons=facts.delay_reasons,
        people_told=told,
        exception=next((e for e in rules.ART34_EXCEPTIONS if e == exception_letter), None),
    )
    return BreachView(
        summary=summary,
        facts=facts,
        risk=current.risk,
        exception=current.exception,
        versions=[
            VersionInfo(
                v.number,
                v.kind,
                list(v.changed),
                v.note,
                v.created_at,
                v.created_by,
                dict(v.facts),
                v.risk,
                v.exception,
            )
            for v in versions
        ],
        submissions=submissions,
        runs=runs,
        notices=notices,
        reminders=reminders,
        next_steps=list(steps),
        created_by=breach.created_by,
    )


# --------------------------------------------------------------------------- #
# The draft to Datatilsynet
# --------------------------------------------------------------------------- #


def organisation_of(register: Register | None) -> Organisation | None:
    """The organisation and its contact point (the DPO when there is one) from the register."""
    if register is None:
        return None
    org = register.organisation
    lines: list[str] = []
    dpo = org.dpo
    if dpo is not None and (dpo.name or dpo.email or dpo.phone):
        head = f"Personvernombud / DPO: {dpo.name}" if dpo.name else "Personvernombud / DPO"
        lines.append(head)
        lines += [str(v) for v in (dpo.email, dpo.phone) if v]
    else:
        lines += [str(v) for v in (org.email, org.phone) if v]
    return Organisation(org.name, org.org_nr, "\n".join(lines) or None)


def draft_for(session: Session, breach_id: int, *, lang: Lang, version: int | None = None) -> Draft:
    """The draft of the notification to Datatilsynet (the newest version unless given)."""
    breach = _breach(session, breach_id)
    number = version if version is not None else breach.current_version
    row = session.execute(
        select(BreachVersion).where(
            BreachVersion.breach_id == breach.id, BreachVersion.number == number
        )
    ).scalar_one_or_none()
    if row is None:
        raise InvalidInput(
            Problem(
                f"breach {breach_id} has versions 1-{breach.current_version}, not {number}",
                path="version",
            )
        )
    earlier = session.execute(
        select(func.count())
        .select_from(BreachSubmission)
        .where(BreachSubmission.breach_id == breach.id, BreachSubmission.version < number)
    ).scalar_one()
    now = clock.now()
    aware_at = datetime.fromisoformat(str(row.facts["aware_at"]))
    status = rules.clock_status(
        aware_at,
        now,
        notified_at=breach.notified_at,
        risk=_risk_level(row.risk.get("level") if row.risk else None),
    )
    notices = [
        NoticeTotals(t.channel, t.count, _aware(t.first), _aware(t.last))
        for t in _notice_totals(session, breach.id)
    ]
    data = DraftInput(
        breach_id=breach.id,
        version=number,
        versions=breach.current_version,
        stage_number=int(earlier),
        facts=dict(row.facts),
        risk=row.risk,
        exception=row.exception,
        notices=notices,
        organisation=organisation_of(_register(session)),
        clock=status,
        generated_at=now,
        late_if_sent_now=rules.is_late(aware_at, breach.notified_at or now),
    )
    return build_draft(data, lang)


def record_draft_export(
    session: Session, breach_id: int, *, version: int, fmt: str, lang: str, actor: str
) -> None:
    audit.record(
        session,
        "breach.draft",
        target(breach_id),
        {"version": version, "format": fmt, "lang": lang},
        actor=actor,
    )


# --------------------------------------------------------------------------- #
# Reminders
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Reminder:
    breach_id: int
    threshold: str
    recipients: int
    sent: bool
    problem: str | None = None


def reminder_addresses(register: Register | None) -> list[str]:
    """The organisation's DPO and contact address, as the register names them."""
    if register is None:
        return []
    org = register.organisation
    found: list[str] = []
    for value in (org.dpo.email if org.dpo else None, org.email):
        if value and str(value) not in found:
            found.append(str(value))
    return found


def due_reminders(session: Session) -> list[tuple[Breach, str, ClockStatus]]:
    """Breaches whose clock runs and which passed a reminder threshold not yet reminded."""
    now = clock.now()
    due = []
    for breach in session.execute(
        select(Breach).where(Breach.notified_at.is_(None)).order_by(Breach.deadline_at)
    ).scalars():
        status = rules.clock_status(breach.aware_at, now, risk=_risk_level(breach.risk_level))
        sent = session.execute(
            select(BreachReminder.threshold).where(BreachReminder.breach_id == breach.id)
        ).scalars()
        threshold = rules.due_reminder(status, sent)
        if threshold is not None:
            due.append((breach, threshold, status))
    return due


def send_reminders(session: Session, *, actor: str, lang: Lang = "nb") -> list[Reminder]:
    """E-mail the organisation contact and DPO about breaches nearing or past 72 hours.

    One reminder per breach and threshold (48, 24 and 6 hours left, overdue),
    queued in the outbox in this transaction and recorded so that running this
    again (the scheduler does, every few minutes) sends nothing twice. Without
    an address in the register nothing is recorded, so the reminder is tried again.
    """
    from datavern.breaches import mail

    register = _register(session)
    addresses = reminder_addresses(register)
    org = register.organisation.name if register else "Datavern"
    results = []
    for breach, threshold, status in due_reminders(session):
        if not addresses:
            results.append(
                Reminder(
                    breach.id,
                    threshold,
                    0,
                    False,
                    "no address to remind: give organisation.email or organisation.dpo.email "
                    "in the register",
                )
            )
            continue
        for address in addresses:
            mail.queue_reminder(
                session, to=address, breach=breach, status=status, organisation=org, lang=lang
            )
        session.add(
            BreachReminder(
                breach_id=breach.id,
                threshold=threshold,
                recipients=len(addresses),
                sent_at=clock.now(),
            )
        )
        session.flush()
        audit.record(
            session,
            "breach.reminder",
            target(breach.id),
            {"threshold": threshold, "recipients": len(addresses)},
            actor=actor,
        )
        results.append(Reminder(breach.id, threshold, len(addresses), True))
    return results
