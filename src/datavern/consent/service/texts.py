"""Consent: the register's purposes and the current text versions (``Context``, cached
per database and register), the register head, and storing and reading text versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import ConsentText, ReconsentCampaign
from datavern.consent.rules import PurposeIndex
from datavern.consent.service.statements import _HEAD
from datavern.core import clock
from datavern.core.errors import NotFound
from datavern.register.schema import Register


@dataclass(frozen=True)
class Context:
    """What the applied register says about consent, with the current text versions."""

    register_version: int
    register: Register
    index: PurposeIndex
    current: Mapping[tuple[str, str], ConsentTextView]  # (purpose, lang) -> newest version

    @property
    def languages(self) -> tuple[str, ...]:
        return self.index.languages

    def current_for(self, purpose: str, lang: str | None) -> ConsentTextView | None:
        lang = lang or self.languages[0]
        found = self.current.get((purpose, lang))
        if found is None:
            # A purpose without a text in this language: the first language's text.
            found = self.current.get((purpose, self.languages[0]))
        return found


@dataclass(frozen=True)
class ConsentTextView(rules.StoredText):
    """A text version as stored, with the time it became valid."""

    valid_from: datetime

    @classmethod
    def of(cls, row: ConsentText) -> ConsentTextView:
        return cls(
            row.id,
            row.purpose,
            row.language,
            row.number,
            row.content_hash,
            dict(row.content),
            row.valid_from,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "language": self.language,
            "number": self.number,
            "hash": self.content_hash,
            "valid_from": self.valid_from.isoformat(),
            "name": self.content.get("name"),
            "text": self.content.get("text"),
            "withdraw": self.content.get("withdraw"),
            "services": self.content.get("services", []),
        }


_contexts: dict[tuple[str, str], Context] = {}


def _db_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _context_key(session: Session, head: Head) -> tuple[str, str]:
    return (_db_key(session), f"{head.number}:{head.content_hash}")


def cached_context(session: Session, head: Head) -> Context | None:
    """The register's consent context at ``head`` if it is cached already (no query)."""
    return _contexts.get(_context_key(session, head))


def read_head(session: Session) -> Head | None:
    """(number, content hash, newest campaign id) of the applied register, in one query."""
    row = session.connection().execute(_HEAD).first()
    if row is None:
        return None
    return Head(int(row.number), str(row.content_hash), int(row.newest_campaign))


@dataclass(frozen=True)
class Head:
    """The applied register version and the newest re-consent campaign, as read together
    with other things by a caller that saves a round trip (the API's login query)."""

    number: int
    content_hash: str
    newest_campaign: int


def head_columns() -> list[Any]:
    """Scalar subqueries giving a ``Head``'s fields, to add to another SELECT."""
    from datavern.register.models import RegisterVersion

    newest = select(RegisterVersion.number, RegisterVersion.content_hash).order_by(
        RegisterVersion.number.desc()
    )
    return [
        newest.with_only_columns(RegisterVersion.number)
        .limit(1)
        .scalar_subquery()
        .label("head_number"),
        newest.with_only_columns(RegisterVersion.content_hash)
        .limit(1)
        .scalar_subquery()
        .label("head_hash"),
        select(func.coalesce(func.max(ReconsentCampaign.id), 0))
        .scalar_subquery()
        .label("head_campaign"),
    ]


def head_of(row: Any) -> Head | None:
    """The ``Head`` from a row with ``head_columns()``; None when no register is applied."""
    if row.head_number is None:
        return None
    return Head(int(row.head_number), str(row.head_hash), int(row.head_campaign))


def context(session: Session) -> Context:
    """The applied register's consent purposes and current texts; NotFound if none applied.

    Cached per database and register content: a new register version (whose apply
    also syncs the texts) is a new cache entry.
    """
    return context_at(session, read_head(session))


def context_at(session: Session, head: Head | None) -> Context:
    from datavern.register.models import RegisterVersion
    from datavern.register.service import register_of

    if head is None:
        raise NotFound("no register has been applied yet (run `datavern register apply`)")
    key = _context_key(session, head)
    found = _contexts.get(key)
    if found is not None:
        return found
    version = session.get(RegisterVersion, head.number)
    assert version is not None
    register = register_of(version)
    current = _current_texts(session)
    wanted = rules.register_texts(register)
    if any(
        (k not in current or current[k].content_hash != rules.content_hash(c))
        for k, c in wanted.items()
    ):
        # Texts of a register applied before this feature existed (or outside
        # apply_register): make their versions now, once.
        sync_texts(session, register, head.number)
        current = _current_texts(session)
    made = Context(head.number, register, rules.analyse_register(register), current)
    if len(_contexts) > 64:
        _contexts.clear()
    _contexts[key] = made
    return made


def _current_texts(session: Session) -> dict[tuple[str, str], ConsentTextView]:
    current: dict[tuple[str, str], ConsentTextView] = {}
    for row in session.execute(select(ConsentText).order_by(ConsentText.number)).scalars():
        current[(row.purpose, row.language)] = ConsentTextView.of(row)
    return current


def sync_texts(
    session: Session, register: Register, register_version: int | None = None
) -> list[ConsentTextView]:
    """Store a new text version for every (purpose, language) whose content changed.

    Called by ``register apply`` in its transaction. Old versions stay forever.
    Marks the session as written (``session.info["wrote"]``): a read path that
    only commits when it wrote (the API's fast reads) then commits these.
    """
    session.info["wrote"] = True
    current = _current_texts(session)
    now = clock.now()
    made: list[ConsentTextView] = []
    for (purpose, lang), content in sorted(rules.register_texts(register).items()):
        digest = rules.content_hash(content)
        previous = current.get((purpose, lang))
        if previous is not None and previous.content_hash == digest:
            continue
        number = (previous.number if previous else 0) + 1
        row = ConsentText(
            id=rules.text_version_id(purpose, lang, number),
            purpose=purpose,
            language=lang,
            number=number,
            content_hash=digest,
            content=content,
            valid_from=now,
            register_version=register_version,
        )
        session.add(row)
        made.append(ConsentTextView.of(row))
    if made:
        session.flush()
    return made


def list_texts(session: Session, purpose: str | None = None) -> list[ConsentTextView]:
    """Every text version (of one purpose), oldest first."""
    query = select(ConsentText).order_by(
        ConsentText.purpose, ConsentText.language, ConsentText.number
    )
    if purpose:
        query = query.where(ConsentText.purpose == purpose)
    return [ConsentTextView.of(r) for r in session.execute(query).scalars()]


def get_text(session: Session, version_id: str) -> ConsentTextView | None:
    if len(version_id) > 250:
        return None
    row = session.get(ConsentText, version_id)
    return ConsentTextView.of(row) if row else None
