"""Telling the people affected by a breach (art. 34): select them, compose, send, record.

Selecting. A selection such as ``shop.customers where created_at < 2024-01-01``
is parsed into data (``rules.parse_selection``); the dataset and collection
must be declared in the applied register, every condition must name a
declared field, and the collection must have a field with the data category of
the channel (``user.contact.email`` for e-mail, ``user.contact.phone_number``
for SMS). The rows are read through the dataset's connector: equality and
``in`` conditions on text, numbers and booleans go to the database as filters
(bound values, never SQL text); every condition is then checked on each row
returned. Only the condition fields and the contact fields are read.

Sending. One message (composed from the breach record, or given by hand) is
stored as a numbered message version and sent to every address selected,
in batches of one transaction each: the notice record and the outbox entry
(e-mail, and SMS by the default sender) commit together, so a sending that is
interrupted and run again tells nobody twice and skips everyone already told.
An SMS webhook is called inside the batch transaction; if the commit then
fails, those people may get the SMS a second time when the sending is repeated.

Recording. Who was told is kept as a keyed hash of channel and address
(``recipient_hash``), with when, through which channel, with which message
version and from which collection. The audit log gets counts and the
selection with its quoted values replaced by '…', never an address.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datavern.breaches import mail, notice_text, rules
from datavern.breaches.models import BreachMessage, BreachNotice, BreachNoticeRun
from datavern.breaches.notice_text import Message, Sender
from datavern.breaches.rules import Channel, ComparisonError, Selection, SelectionError
from datavern.breaches.service import BreachNotFound, _breach, _latest, target
from datavern.core import audit, clock
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem
from datavern.core.i18n import LANGUAGES, Lang
from datavern.dsr import crypto
from datavern.register.schema import Register

CONTACT_CATEGORIES: Final[dict[str, str]] = {
    "email": "user.contact.email",
    "sms": "user.contact.phone_number",
}
BATCH_SIZE: Final = 200


@dataclass(frozen=True)
class Recipient:
    hash: str
    address: str = field(repr=False)


@dataclass(frozen=True)
class Selected:
    source: str
    contact_fields: list[str]
    rows: int  # rows matching the selection
    recipients: list[Recipient]
    invalid: int  # addresses that are not valid e-mail addresses / phone numbers
    missing: int  # matching rows without any address


@dataclass(frozen=True)
class NoticeResult:
    breach_id: int
    channel: str
    lang: str
    dry_run: bool
    message: Message
    message_number: int | None
    run_id: int | None
    selected: int
    rows: int
    already: int
    sent: int
    failed: int
    invalid: int
    missing: int
    warnings: list[str]
    delivery: dict[str, int] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "breach": self.breach_id,
            "channel": self.channel,
            "lang": self.lang,
            "dry_run": self.dry_run,
            "message_version": self.message_number,
            "run": self.run_id,
            "rows": self.rows,
            "recipients": self.selected,
            "already_told": self.already,
            "sent": self.sent,
            "failed": self.failed,
            "invalid_addresses": self.invalid,
            "without_address": self.missing,
            "delivery": self.delivery,
            "warnings": self.warnings,
            "subject": self.message.subject,
            "body": self.message.body,
        }


def _key() -> bytes:
    secret = get_settings().effective_secret_key()
    return hmac.new(secret.encode("utf-8"), b"datavern/breach-recipient", hashlib.sha256).digest()


def recipient_hash(channel: str, address: str) -> str:
    """The keyed hash a notice is recorded under (address already normalised)."""
    return hmac.new(_key(), f"{channel}\0{address}".encode(), hashlib.sha256).hexdigest()


def normalise_address(channel: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if channel == "email":
        return mail.normalise_email(value)
    from datavern.notify.sms import normalise_phone

    return normalise_phone(value)


def _parse_channel(channel: str) -> Channel:
    for known in rules.CHANNELS:
        if known == channel:
            return known
    raise InvalidInput(Problem(f"unknown channel {channel!r}; use email or sms", path="channel"))


def _parse_lang(lang: str) -> Lang:
    for known in LANGUAGES:
        if known == lang:
            return known
    raise InvalidInput(Problem(f"unknown language {lang!r}; use nb or en", path="lang"))


def parse(text: str) -> Selection:
    try:
        return rules.parse_selection(text)
    except SelectionError as exc:
        raise InvalidInput(Problem(str(exc), path="select")) from None


def _fields(collection: Any) -> list[Any]:
    found = []
    stack = list(collection.fields)
    while stack:
        item = stack.pop(0)
        found.append(item)
        stack.extend(item.fields or [])
    return found


def resolve(
    register: Register, selection: Selection, channel: Channel
) -> tuple[str, str, list[str]]:
    """(connection name, table, contact fields) of a selection; InvalidInput says what is wrong."""
    from datavern.dsr.execute import connection_name, table_name
    from datavern.register.schema import DsrSettings

    datasets = {d.fides_key: d for d in register.dataset}
    dataset = datasets.get(selection.dataset)
    if dataset is None:
        known = ", ".join(sorted(datasets)) or "none"
        raise InvalidInput(
            Problem(
                f"the register declares no dataset {selection.dataset!r} (datasets: {known})",
                path="select",
            )
        )
    collections = {c.name: c for c in dataset.collections}
    collection = collections.get(selection.collection)
    if collection is None:
        known = ", ".join(sorted(collections)) or "none"
        raise InvalidInput(
            Problem(
                f"dataset {selection.dataset!r} has no collection {selection.collection!r} "
                f"(collections: {known})",
                path="select",
            )
        )
    fields = _fields(collection)
    names = {f.name for f in fields}
    problems = [
        Problem(
            f"collection {selection.address} declares no field {c.field!r} "
            f"(fields: {', '.join(sorted(names))})",
            path="select",
        )
        for c in selection.conditions
        if c.field not in names
    ]
    category = CONTACT_CATEGORIES[channel]
    contacts = [
        f.name
        for f in fields
        if not f.fields
        and any(c == category or c.startswith(category + ".") for c in f.data_categories or [])
    ]
    if not contacts:
        problems.append(
            Problem(
                f"collection {selection.address} has no field with the data category "
                f"{category}, so there is no {'address' if channel == 'email' else 'number'} "
                "to send to; choose a collection that has one",
                path="select",
            )
        )
    if problems:
        raise InvalidInput(problems)
    settings = register.dsr or DsrSettings()
    return (
        connection_name(settings, selection.dataset),
        table_name(register, selection.dataset, selection.collection),
        contacts,
    )


def _pushdown(selection: Selection) -> dict[str, list[Any]]:
    # Text, whole numbers and booleans only: a date compared with a date-time column
    # means midnight here, and the database might see it differently.
    return {
        name: values
        for name, values in rules.pushdown_candidates(selection).items()
        if all(isinstance(v, str | int | bool) for v in values)
    }


def _applied_register(session: Session) -> Register:
    """The register a selection is checked against, or a clear error naming `select`."""
    from datavern.register.service import current_register

    try:
        _version, register = current_register(session)
    except NotFound:
        raise InvalidInput(
            Problem(
                "no register is applied, so no dataset is known to select from "
                "(run `datavern register apply`)",
                path="select",
            )
        ) from None
    return register


def select_recipients(session: Session, selection_text: str, channel: str) -> Selected:
    """Everyone the selection reaches, deduplicated by address; reads through the connector."""
    from datavern.connectors.service import open_connector

    known_channel = _parse_channel(channel)
    selection = parse(selection_text)
    register = _applied_register(session)
    connection, table, contacts = resolve(register, selection, known_channel)
    connector = open_connector(session, connection)
    wanted = list(dict.fromkeys([*(c.field for c in selection.conditions), *contacts]))
    rows = missing = invalid = 0
    seen: dict[str, Recipient] = {}
    try:
        for row in connector.retrieve(table, _pushdown(selection), wanted):
            if not rules.matches(selection, row):
                continue
            rows += 1
            values = [row.get(name) for name in contacts]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                missing += 1
                continue
            for value in values:
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                address = normalise_address(known_channel, value)
                if address is None:
                    invalid += 1
                    continue
                digest = recipient_hash(known_channel, address)
                seen.setdefault(digest, Recipient(digest, address))
    except ComparisonError as exc:
        raise InvalidInput(Problem(str(exc), path="select")) from None
    except SelectionError as exc:
        raise InvalidInput(Problem(str(exc), path="select")) from None
    return Selected(selection.address, contacts, rows, list(seen.values()), invalid, missing)


def sender_of(register: Register | None) -> Sender:
    if register is None:
        return Sender("Datavern", None, None)
    org = register.organisation
    dpo = org.dpo
    if dpo is not None and (dpo.email or dpo.phone):
        contact = ", ".join(str(v) for v in (dpo.email, dpo.phone) if v)
    else:
        contact = ", ".join(str(v) for v in (org.email, org.phone) if v)
    return Sender(org.name, contact or None, org.privacy_centre_url or org.website)


def compose(
    facts: dict[str, object],
    register: Register | None,
    channel: Channel,
    lang: Lang,
    custom: str | None = None,
) -> Message:
    sender = sender_of(register)
    generated = (
        notice_text.email_message(facts, sender, lang)
        if channel == "email"
        else notice_text.sms_message(facts, sender, lang)
    )
    if custom is None or not custom.strip():
        return generated
    message = notice_text.custom_message(custom, channel)
    if channel == "email" and message.subject is None:
        message = Message(generated.subject, message.body)
    if channel == "sms" and len(message.body) > 1000:
        raise InvalidInput(
            Problem("an SMS message may have at most 1000 characters", path="message")
        )
    if len(message.body) > rules.MAX_TEXT:
        raise InvalidInput(
            Problem(
                f"the message is too long (at most {rules.MAX_TEXT} characters)", path="message"
            )
        )
    return message


def preview(
    session: Session, breach_id: int, channel: str, lang: str, custom: str | None = None
) -> Message:
    """The message as it would be sent now (nothing is read from any dataset)."""
    from datavern.breaches.service import _register

    breach = _breach(session, breach_id)
    facts = dict(_latest(session, breach).facts)
    return compose(facts, _register(session), _parse_channel(channel), _parse_lang(lang), custom)


def _message_row(
    session: Session, breach_id: int, channel: str, lang: str, message: Message, actor: str
) -> BreachMessage:
    digest = hashlib.sha256(
        f"{channel}\0{lang}\0{message.subject or ''}\0{message.body}".encode()
    ).hexdigest()
    existing = session.execute(
        select(BreachMessage).where(
            BreachMessage.breach_id == breach_id, BreachMessage.content_hash == digest
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    numbers = session.execute(
        select(BreachMessage.number).where(BreachMessage.breach_id == breach_id)
    ).scalars()
    row = BreachMessage(
        breach_id=breach_id,
        number=max(numbers, default=0) + 1,
        channel=channel,
        lang=lang,
        subject=message.subject,
        body=message.body,
        content_hash=digest,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def _chunks(items: list[Recipient], size: int) -> Iterator[list[Recipient]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _told(session: Session, breach_id: int) -> set[str]:
    return set(
        session.execute(
            select(BreachNotice.recipient_hash).where(
                BreachNotice.breach_id == breach_id, BreachNotice.status == "sent"
            )
        ).scalars()
    )


JOB_KEY: Final = "job"
"""Key in a notice run's counts holding its selection, sealed, while the run is unfinished
(the job reads it to select the people again; it is removed when the run is done)."""


@dataclass(frozen=True)
class QueuedNotice:
    run_id: int
    message_number: int
    warnings: list[str]


def _warnings(current: Any) -> list[str]:
    warnings: list[str] = []
    level = current.risk.get("level") if current.risk else None
    if level != "high_risk":
        warnings.append("the risk is not assessed as high, so art. 34 does not require this notice")
    if current.exception:
        warnings.append(
            f"an art. 34(3)({current.exception.get('letter')}) exception is recorded for "
            "this breach"
        )
    return warnings


def _check_selection(session: Session, selection_text: str, channel: Channel) -> None:
    """The selection parses and fits the applied register (no dataset is read)."""
    selection = parse(selection_text)
    register = _applied_register(session)
    resolve(register, selection, channel)


def notify_subjects(
    breach_id: int,
    selection_text: str,
    channel: str,
    lang: str,
    *,
    actor: str,
    dry_run: bool = False,
    custom_message: str | None = None,
    url: str | None = None,
    sms_sender: Any = None,
    batch_size: int = BATCH_SIZE,
    deliver_now: bool = True,
) -> NoticeResult:
    """Select the people affected, and (unless ``dry_run``) tell each of them once, now.

    The same as :func:`queue_notice` followed by :func:`send_notice` in this process.
    """
    if not dry_run:
        queued = queue_notice(
            breach_id,
            selection_text,
            channel,
            lang,
            actor=actor,
            custom_message=custom_message,
            url=url,
        )
        try:
            return send_notice(
                queued.run_id,
                url=url,
                sms_sender=sms_sender,
                batch_size=batch_size,
                deliver_now=deliver_now,
                warnings=queued.warnings,
            )
        except InvalidInput:
            # The selection failed while reading the rows: nobody was told; the run
            # is not kept (bad input stores nothing).
            _discard(queued.run_id, url)
            raise
    from datavern.breaches.service import _register

    known_channel = _parse_channel(channel)
    known_lang = _parse_lang(lang)
    with session_scope(url) as session:
        breach = _breach(session, breach_id)
        current = _latest(session, breach)
        register = _register(session)
        message = compose(dict(current.facts), register, known_channel, known_lang, custom_message)
        selected = select_recipients(session, selection_text, known_channel)
        warnings = _warnings(current)
        already = _told(session, breach_id)
        todo = [r for r in selected.recipients if r.hash not in already]
        redacted = rules.selection_text(parse(selection_text), redact_text=True)
        counts = {
            "rows": selected.rows,
            "recipients": len(selected.recipients),
            "already_told": len(selected.recipients) - len(todo),
            "invalid_addresses": selected.invalid,
            "without_address": selected.missing,
        }
        audit.record(
            session,
            "breach.notify_subjects.dry_run",
            target(breach_id),
            {"channel": known_channel, "lang": known_lang, "selection": redacted, **counts},
            actor=actor,
        )
    return NoticeResult(
        breach_id,
        known_channel,
        known_lang,
        True,
        message,
        None,
        None,
        len(selected.recipients),
        selected.rows,
        counts["already_told"],
        0,
        0,
        selected.invalid,
        selected.missing,
        warnings,
    )


def queue_notice(
    breach_id: int,
    selection_text: str,
    channel: str,
    lang: str,
    *,
    actor: str,
    custom_message: str | None = None,
    url: str | None = None,
) -> QueuedNotice:
    """Check the selection, store the message and a run ``queued`` for the job
    (``breach.notify_subjects``, see tasks.py) that selects the people and tells them.

    Bad input raises InvalidInput and stores nothing."""
    from datavern.breaches.service import _register

    known_channel = _parse_channel(channel)
    known_lang = _parse_lang(lang)
    with session_scope(url) as session:
        breach = _breach(session, breach_id)
        current = _latest(session, breach)
        register = _register(session)
        message = compose(dict(current.facts), register, known_channel, known_lang, custom_message)
        _check_selection(session, selection_text, known_channel)
        selection = parse(selection_text)
        redacted = rules.selection_text(selection, redact_text=True)
        message_row = _message_row(session, breach_id, known_channel, known_lang, message, actor)
        run = BreachNoticeRun(
            breach_id=breach_id,
            message_id=message_row.id,
            channel=known_channel,
            lang=known_lang,
            selection=redacted,
            source=selection.address,
            state="queued",
            counts={JOB_KEY: {"selection": crypto.seal(selection_text)}},
            started_at=clock.now(),
            created_by=actor,
        )
        session.add(run)
        session.flush()
        audit.record(
            session,
            "breach.notify_subjects.queued",
            target(breach_id),
            {
                "run": run.id,
                "channel": known_channel,
                "lang": known_lang,
                "message_version": message_row.number,
                "selection": redacted,
            },
            actor=actor,
        )
        return QueuedNotice(run.id, message_row.number, _warnings(current))


def unfinished_runs(session: Session, breach_id: int | None = None) -> list[BreachNoticeRun]:
    """Notice runs queued, running or failed (a job that was killed leaves one running)."""
    query = select(BreachNoticeRun).where(
        BreachNoticeRun.state.in_(("queued", "running", "failed"))
    )
    if breach_id is not None:
        query = query.where(BreachNoticeRun.breach_id == breach_id)
    return list(session.execute(query.order_by(BreachNoticeRun.id)).scalars())


def public_counts(counts: dict[str, Any]) -> dict[str, Any]:
    """A run's counts without the job's sealed selection."""
    return {k: v for k, v in counts.items() if k != JOB_KEY}


def send_notice(
    run_id: int,
    *,
    url: str | None = None,
    sms_sender: Any = None,
    batch_size: int = BATCH_SIZE,
    deliver_now: bool = True,
    warnings: list[str] | None = None,
) -> NoticeResult:
    """Tell everyone run ``run_id`` selects who has not been told yet; resumable.

    Run again after a kill (or delivered twice by a queue), it selects the people again
    and skips everyone already told: the notice record, the outbox entry and the run's
    progress commit together, batch by batch, and each batch looks again at who was told.
    A run already done does nothing."""
    with session_scope(url) as session:
        run = session.get(BreachNoticeRun, run_id)
        if run is None:
            raise NotFound(f"no notice run {run_id}; `datavern breach notices ID` lists them")
        breach_id, known_channel, known_lang = run.breach_id, run.channel, run.lang
        message_row = session.get(BreachMessage, run.message_id)
        assert message_row is not None
        message = Message(message_row.subject, message_row.body)
        message_id, message_number = message_row.id, message_row.number
        job = dict(run.counts).get(JOB_KEY)
        if run.state == "done" or job is None:
            return _result(run, message, message_number, warnings or [])
        if warnings is None:
            warnings = _warnings(_latest(session, _breach(session, breach_id)))
        selection_text = crypto.unseal(job["selection"], "a breach notice's selection")
        redacted = run.selection
        before = dict(run.counts)
        sent_before = int(before.get("sent", 0))
        run.state = "running"
        run.error = None
    try:
        with session_scope(url) as session:
            selected = select_recipients(session, selection_text, known_channel)
            already = _told(session, breach_id)
    except DatavernError as exc:
        # Nobody was selected, so nobody was told by this attempt.
        with session_scope(url) as session:
            run_row = session.get(BreachNoticeRun, run_id)
            assert run_row is not None
            run_row.state = "failed"
            run_row.error = str(exc)
        raise
    todo = [r for r in selected.recipients if r.hash not in already]
    counts: dict[str, Any] = {
        "rows": selected.rows,
        "recipients": len(selected.recipients),
        "already_told": max(0, len(selected.recipients) - len(todo) - sent_before),
        "invalid_addresses": selected.invalid,
        "without_address": selected.missing,
        "to_tell": len(todo),
    }
    sender = sms_sender
    if known_channel == "sms" and sender is None:
        from datavern.notify.sms import sms_sender as configured

        sender = configured()
    sent, failed = sent_before, 0
    delivery: dict[str, int] | None = None
    attempted: set[str] = set()
    error: str | None = None
    try:
        with session_scope(url) as session:
            run_row = session.get(BreachNoticeRun, run_id)
            assert run_row is not None
            run_row.counts = {**counts, "sent": sent, "failed": 0, JOB_KEY: job}
        for batch in _chunks(todo, batch_size):
            queued: list[str] = []
            with session_scope(url) as session:
                # Take the run's lock first (a row lock; SQLite's write lock): a second
                # sending of the same run at once (a queue delivering the job twice, a
                # continuation started while one runs) waits here for this batch and
                # then sees who it told, instead of telling them again.
                session.execute(
                    update(BreachNoticeRun)
                    .where(BreachNoticeRun.id == run_id)
                    .values(state="running")
                )
                # Told meanwhile (by another sending, or this one delivered twice)?
                told_now = set(
                    session.execute(
                        select(BreachNotice.recipient_hash).where(
                            BreachNotice.breach_id == breach_id,
                            BreachNotice.status == "sent",
                            BreachNotice.recipient_hash.in_([r.hash for r in batch]),
                        )
                    ).scalars()
                )
                for recipient in batch:
                    if recipient.hash in told_now:
                        counts["already_told"] += 1
                        continue
                    ok, reference, problem = _send_one(
                        session, known_channel, known_lang, recipient, message, sender, breach_id
                    )
                    _record(
                        session,
                        breach_id,
                        run_id,
                        message_id,
                        known_channel,
                        selected.source,
                        recipient,
                        ok,
                        reference,
                        problem,
                    )
                    if ok:
                        sent += 1
                        if known_channel == "email" and reference:
                            queued.append(reference)
                    else:
                        failed += 1
                run_row = session.get(BreachNoticeRun, run_id)
                assert run_row is not None
                run_row.counts = {**counts, "sent": sent, "failed": failed, JOB_KEY: job}
            if queued and deliver_now:
                attempted.update(queued)
                delivery = _add_delivery(delivery, _deliver(url, queued))
    except DatavernError as exc:
        error = str(exc)
    if deliver_now and known_channel == "email" and not error:
        # Messages of this run queued before a kill and not delivered yet.
        earlier = [ref for ref in _undelivered(url, run_id) if ref not in attempted]
        if earlier:
            delivery = _add_delivery(delivery, _deliver(url, earlier))
    with session_scope(url) as session:
        run_row = session.get(BreachNoticeRun, run_id)
        assert run_row is not None
        final: dict[str, Any] = {**counts, "sent": sent, "failed": failed}
        if delivery is not None:
            final["delivery"] = delivery
        if error:
            final[JOB_KEY] = job  # kept for the next attempt
        run_row.counts = final
        run_row.state = "failed" if error else "done"
        run_row.error = error
        run_row.finished_at = clock.now()
        audit.record(
            session,
            "breach.notify_subjects",
            target(breach_id),
            {
                "run": run_id,
                "channel": known_channel,
                "lang": known_lang,
                "message_version": message_number,
                "selection": redacted,
                **public_counts(final),
            },
            actor=run_row.created_by,
        )
    if error:
        raise DatavernError(
            f"sending stopped after {sent} message(s): {error}; continue with "
            f"`datavern breach notices {breach_id} --resume {run_id}` "
            "(people already told are skipped)"
        )
    return NoticeResult(
        breach_id,
        known_channel,
        known_lang,
        False,
        message,
        message_number,
        run_id,
        len(selected.recipients),
        selected.rows,
        counts["already_told"],
        sent,
        failed,
        selected.invalid,
        selected.missing,
        warnings,
        delivery,
    )


def _discard(run_id: int, url: str | None) -> None:
    with session_scope(url) as session:
        run = session.get(BreachNoticeRun, run_id)
        if run is None:
            return
        told = session.execute(
            select(BreachNotice.id).where(BreachNotice.run_id == run_id).limit(1)
        ).first()
        if told is not None:  # pragma: no cover - the selection failed before any sending
            return
        message_id = run.message_id
        session.delete(run)
        session.flush()
        used = session.execute(
            select(BreachNoticeRun.id).where(BreachNoticeRun.message_id == message_id).limit(1)
        ).first()
        if used is None:
            message = session.get(BreachMessage, message_id)
            if message is not None:
                session.delete(message)


def _result(
    run: BreachNoticeRun, message: Message, message_number: int, warnings: list[str]
) -> NoticeResult:
    counts = run.counts or {}
    return NoticeResult(
        run.breach_id,
        run.channel,
        run.lang,
        False,
        message,
        message_number,
        run.id,
        int(counts.get("recipients", 0)),
        int(counts.get("rows", 0)),
        int(counts.get("already_told", 0)),
        int(counts.get("sent", 0)),
        int(counts.get("failed", 0)),
        int(counts.get("invalid_addresses", 0)),
        int(counts.get("without_address", 0)),
        warnings,
        counts.get("delivery"),
    )


def _deliver(url: str | None, ids: list[str]) -> dict[str, int]:
    from datavern.notify.email import deliver

    result: dict[str, int] = deliver(url=url, ids=ids, limit=len(ids)).as_json()
    return result


def _add_delivery(total: dict[str, int] | None, more: dict[str, int]) -> dict[str, int]:
    merged = dict(total or {})
    for key, value in more.items():
        merged[key] = merged.get(key, 0) + int(value)
    return merged


def _undelivered(url: str | None, run_id: int) -> list[str]:
    from datavern.notify.models import OutboxMessage

    with session_scope(url) as session:
        refs = [
            ref
            for ref in session.execute(
                select(BreachNotice.delivery_ref).where(
                    BreachNotice.run_id == run_id,
                    BreachNotice.status == "sent",
                    BreachNotice.delivery_ref.is_not(None),
                )
            ).scalars()
            if ref
        ]
        if not refs:
            return []
        return list(
            session.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.id.in_(refs), OutboxMessage.status == "pending"
                )
            ).scalars()
        )


def _send_one(
    session: Session,
    channel: str,
    lang: str,
    recipient: Recipient,
    message: Message,
    sender: Any,
    breach_id: int,
) -> tuple[bool, str | None, str | None]:
    from datavern.notify.sms import SmsDeliveryError, SmsMessage

    category = f"breach.{breach_id}.notice"
    try:
        if channel == "email":
            reference = mail.queue_text(
                session,
                to=recipient.address,
                subject=message.subject or "",
                text=message.body,
                lang=lang,
                category="breach.notice",
            )
        else:
            reference = sender.send(
                session, SmsMessage(recipient.address, message.body, category, lang)
            )
    except (SmsDeliveryError, InvalidInput) as exc:
        return False, None, str(exc)
    return True, reference, None


def _record(
    session: Session,
    breach_id: int,
    run_id: int,
    message_id: int,
    channel: str,
    source: str,
    recipient: Recipient,
    ok: bool,
    reference: str | None,
    problem: str | None,
) -> None:
    now = clock.now()
    row = session.execute(
        select(BreachNotice).where(
            BreachNotice.breach_id == breach_id, BreachNotice.recipient_hash == recipient.hash
        )
    ).scalar_one_or_none()
    if row is None:
        row = BreachNotice(
            breach_id=breach_id,
            recipient_hash=recipient.hash,
            attempts=0,
        )
        session.add(row)
    row.run_id = run_id
    row.message_id = message_id
    row.channel = channel
    row.source = source
    row.status = "sent" if ok else "failed"
    row.delivery_ref = reference
    row.error = problem
    row.attempts = (row.attempts or 0) + 1
    row.sent_at = now if ok else None
    row.updated_at = now
    session.flush()


def was_told(session: Session, breach_id: int, channel: str, address: str) -> bool:
    """Whether this address was told about the breach (looked up by its hash)."""
    normalised = normalise_address(_parse_channel(channel), address)
    if normalised is None:
        raise InvalidInput(Problem("not a valid address for this channel", path="address"))
    digest = recipient_hash(channel, normalised)
    return digest in _told(session, breach_id)


def told_hashes(session: Session, breach_id: int) -> Iterable[str]:
    return sorted(_told(session, breach_id))


__all__ = [
    "BreachNotFound",
    "NoticeResult",
    "Selected",
    "compose",
    "notify_subjects",
    "preview",
    "queue_notice",
    "recipient_hash",
    "select_recipients",
    "send_notice",
    "was_told",
]
