"""Group commit of ledger appends: the records of requests that arrive together are
checked and appended to the chain in one transaction with one flush to disk.

The REST API's ``POST /records`` and ``POST /withdraw`` hand their decisions to the
appender of their database (``for_database``) and wait for the answer. One thread
per process and database takes whatever has queued up (at most ``MAX_BATCH``), and
in one transaction: checks each distinct API token once (unknown, revoked or
without ``consent:write``: that request is refused, the others go on), reads the
register head with it, checks every decision against the register exactly as
``service.record`` does (``service.prepare``; a bad one gets its own error and is
not appended), appends the good ones in arrival order (``service.append_many``:
one head lock, one multi-row insert) and commits. Only then is each caller told
"recorded", with its own sequence number; a failed commit fails only this batch,
whose requests are then retried one by one so that one bad record cannot sink its
neighbours. On PostgreSQL the head's lock is released before the flush and one
flush covers the whole batch (see ``service.append_many``).

Why: a durable commit costs milliseconds on an ordinary disk, and the chain lets
only one transaction append at a time; committing each request on its own caps
the ledger near one record per flush. Grouping is the database's own answer to
that (PostgreSQL's ``commit_delay``, InnoDB's group commit), done here because the
chain's head row would otherwise serialise the flushes. Nothing about a subject is
cached between batches; the register's consent purposes are (per version), as
everywhere else. The thread ends after ``IDLE_SECONDS`` without work and starts
again with the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from datavern.accounts import tokens
from datavern.consent import service
from datavern.consent.rules import RecordFields
from datavern.core.db import session_factory, sessions_for
from datavern.core.errors import DatavernError, InvalidInput, NotFound

MAX_BATCH: Final = 256
IDLE_SECONDS: Final = 30.0
WRITE_SCOPE: Final = "consent:write"

_TOKEN_AND_HEAD: Final = tokens.lookup_query(*service.head_columns())


class Refused(DatavernError):
    """The API token of a request is unknown or revoked (``status`` 401) or lacks
    ``consent:write`` (403). Nothing of that request was appended."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__("unknown or revoked token" if status == 401 else "missing scope")


@dataclass
class _Job:
    values: Mapping[str, Any]  # service.prepare's keyword arguments but recorded_by
    token_hash: str | None  # an API token to check in the batch, or
    actor: str | None  # the caller already known (a logged-in user)
    future: Future[service.RecordView] = field(default_factory=Future)


@dataclass
class Stats:
    """What an appender has done since it was made (for the benchmark and tests)."""

    batches: int = 0  # transactions committed with at least one record
    records: int = 0
    largest: int = 0  # most records in one transaction


_STOP: Final = _Job({}, None, "stop")  # close(): answer what came before, then end


class GroupAppender:
    """The appender of one database in this process (see the module's docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stats = Stats()
        self._queue: SimpleQueue[_Job] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        values: Mapping[str, Any],
        *,
        token_hash: str | None = None,
        actor: str | None = None,
    ) -> Future[service.RecordView]:
        """Queue one decision; the future gives its RecordView once committed, or raises
        InvalidInput / NotFound / ConsentRefused / Refused (nothing appended) or the
        database's error. Give either ``token_hash`` (checked in the batch) or
        ``actor``."""
        if (token_hash is None) == (actor is None):
            raise ValueError("give exactly one of token_hash and actor")
        job = _Job(values, token_hash, actor)
        self._queue.put(job)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="consent-appender", daemon=True
                )
                self._thread.start()
        return job.future

    def close(self) -> None:
        """Answer what is queued and stop the thread (its connection goes back to the
        pool; ``core.db.dispose_engines`` closes it)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._lock:
                # Ended (idle, closed, or something that was not an Exception): the
                # next submit() starts a new thread; a job queued before this point
                # and not taken is answered by that thread.
                self._thread = None
                if not self._queue.empty():
                    self._thread = threading.Thread(
                        target=self._run, name="consent-appender", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except Empty:
                with self._lock:
                    # submit() puts before it looks at the thread, under this lock: a
                    # job queued after this check finds no thread and starts one.
                    if self._queue.empty():
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            stop = batch[-1] is _STOP
            if stop:
                batch.pop()
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Job]) -> None:
        try:
            try:
                self._write_once(batch)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                self._write_once([j for j in batch if not j.future.done()])  # reconnected
        except BaseException as exc:  # every caller must get an answer
            waiting = [j for j in batch if not j.future.done()]
            if len(waiting) > 1:
                for job in waiting:  # one by one: a bad record fails alone
                    self._write([job])
            else:
                for job in waiting:
                    job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _write_once(self, batch: list[_Job]) -> None:
        session = _sessions_of(self.url)()  # looked up each time: engines get disposed
        try:
            try:
                appended = self._append(session, batch)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            if appended and session.get_bind().dialect.name == "postgresql":
                try:
                    _wait_for_disk(session)
                except Exception as exc:
                    # Committed, but not known to be on disk: say so, never append
                    # them a second time.
                    for job, _view in appended:
                        job.future.set_exception(exc)
                    return
        finally:
            session.close()
        if appended:
            self.stats.batches += 1
            self.stats.records += len(appended)
            self.stats.largest = max(self.stats.largest, len(appended))
        for job, view in appended:
            job.future.set_result(view)

    def _append(self, session: Session, batch: list[_Job]) -> list[tuple[_Job, service.RecordView]]:
        actors, head = _callers(session, batch)
        try:
            ctx = service.context_at(session, head)
        except NotFound as exc:
            for job in batch:
                job.future.set_exception(exc)
            return []
        appended: list[tuple[_Job, service.RecordView]] = []
        pending: list[tuple[_Job, RecordFields]] = []
        keys: set[tuple[str, str]] = set()
        for job in batch:
            actor = actors[id(job)]
            if isinstance(actor, Refused):
                job.future.set_exception(actor)
                continue
            try:
                fields = service.prepare(session, ctx, **job.values, recorded_by=actor)
            except (InvalidInput, NotFound, service.ConsentRefused) as exc:
                job.future.set_exception(exc)
                continue
            key = (fields.subject, fields.purpose)
            if key in keys:
                # A second decision on the same subject and purpose reads the state the
                # first one leaves (a withdrawal's text version): append those first.
                appended.extend(_append_pending(session, pending))
                pending, keys = [], set()
            pending.append((job, fields))
            keys.add(key)
        appended.extend(_append_pending(session, pending))
        return appended


def _append_pending(
    session: Session, pending: list[tuple[_Job, RecordFields]]
) -> list[tuple[_Job, service.RecordView]]:
    views = service.append_many(session, [f for _j, f in pending], wait_for_disk=False)
    return [(job, view) for (job, _f), view in zip(pending, views, strict=True)]


def _callers(
    session: Session, batch: list[_Job]
) -> tuple[dict[int, str | Refused], service.Head | None]:
    """Each job's actor (or why it is refused), and the register head read with the
    first token: one query per distinct token in the batch."""
    conn = session.connection()
    by_hash: dict[str, str | Refused] = {}
    head: service.Head | None = None
    head_read = False
    # In a fixed order: two processes' batches touching the same tokens' last use then
    # lock them in the same order (no deadlock).
    for digest in sorted({j.token_hash for j in batch if j.token_hash is not None}):
        row = conn.execute(_TOKEN_AND_HEAD, {"h": digest}).first()
        if row is not None and not head_read:
            head, head_read = service.head_of(row), True
        verdict = tokens.admit(conn, row, digest, WRITE_SCOPE)
        found = verdict.principal
        by_hash[digest] = Refused(verdict.status) if found is None else found.actor
    if not head_read:
        head = service.read_head(session)
    actors: dict[int, str | Refused] = {}
    for job in batch:
        actor = job.actor if job.token_hash is None else by_hash[job.token_hash]
        assert actor is not None
        actors[id(job)] = actor
    return actors, head


def _wait_for_disk(session: Session) -> None:
    """The batch committed without waiting for its WAL; a transaction with an id
    commits synchronously, and its flush covers the batch's commit record."""
    session.connection().exec_driver_sql("SELECT txid_current()")
    session.commit()


def _sessions_of(url: str) -> sessionmaker[Session]:
    """PostgreSQL: a connection of the appender's own, without the ping before each
    checkout (a dropped connection is retried once, ``_write``). SQLite: the shared
    engine (its pragmas: WAL, busy timeout)."""
    if url.startswith("postgresql"):  # as the fast reads decide; no parse per batch
        return sessions_for(url, "consent-appender", pool_size=1, max_overflow=1)
    return session_factory(url)


_appenders: dict[str, GroupAppender] = {}
_appenders_lock = threading.Lock()


def close(url: str) -> None:
    """Close this process's appender of the database at ``url``, if it has one (the
    web app's shutdown); the next request makes a new one."""
    with _appenders_lock:
        found = _appenders.pop(url, None)
    if found is not None:
        found.close()


def for_database(url: str) -> GroupAppender:
    """This process's appender for the database at ``url``."""
    found = _appenders.get(url)
    if found is None:
        with _appenders_lock:
            found = _appenders.get(url)
            if found is None:
                found = _appenders[url] = GroupAppender(url)
    return found
