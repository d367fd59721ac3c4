"""Consent: proof of a subject's consents with the exact texts shown (art. 7(1)), and
verification of the ledger, the current-state table and the texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import ConsentHead, ConsentRecord, ConsentState, ConsentText
from datavern.consent.rules import RecordFields
from datavern.consent.service.ledger import RecordView
from datavern.consent.service.subjects import subject_of
from datavern.consent.service.texts import ConsentTextView, get_text
from datavern.core import audit


@dataclass(frozen=True)
class ProofItem:
    record: RecordView
    text: ConsentTextView | None
    text_intact: bool  # the stored text still hashes to the hash in the record

    @property
    def text_missing(self) -> bool:
        """The record names a text version that is no longer stored (deleted)."""
        return self.record.text_version_id is not None and self.text is None

    @property
    def warning(self) -> str | None:
        """What makes this record weaker proof than it should be, or None."""
        if self.text_missing:
            return (
                f"text version {self.record.text_version_id} is MISSING: the text shown "
                "cannot be produced (run `datavern audit verify`)"
            )
        if not self.text_intact:
            return (
                f"text version {self.record.text_version_id} does NOT match the hash in the "
                "record (run `datavern audit verify`)"
            )
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.record.as_json(),
            "text": self.text.as_json() if self.text else None,
            "text_intact": self.text_intact,
            "text_missing": self.text_missing,
            "warning": self.warning,
        }


def history(session: Session, subject_ref: str) -> list[RecordView]:
    rows = session.execute(
        select(ConsentRecord)
        .where(ConsentRecord.subject == subject_ref)
        .order_by(ConsentRecord.seq)
    ).scalars()
    return [RecordView.of(r) for r in rows]


def proof(session: Session, subject: str, *, actor: str) -> list[ProofItem]:
    """Every record of a subject with the exact text shown (art. 7(1)); audited."""
    who = subject_of(subject)
    items: list[ProofItem] = []
    texts: dict[str, ConsentTextView | None] = {}
    for rec in history(session, who.ref):
        version = None
        if rec.text_version_id:
            if rec.text_version_id not in texts:
                texts[rec.text_version_id] = get_text(session, rec.text_version_id)
            version = texts[rec.text_version_id]
        if version is None:
            # No text named (an objection) is intact; a named text that is gone is not.
            intact = rec.text_version_id is None
        else:
            intact = rules.content_hash(version.content) == version.content_hash == rec.text_hash
        items.append(ProofItem(rec, version, intact))
    # Reading a subject's consents is access to personal data: audited, by reference.
    audit.record(
        session,
        "consent.proof",
        # By reference: an e-mail subject is already its keyed hash.
        f"consent_subject:{who.ref}",
        {"records": len(items)},
        actor=actor,
    )
    return items


@dataclass(frozen=True)
class LedgerCheck:
    """The ledger check's answer. ``first_bad_seq``/``first_bad_id``: the first record
    that does not hold (or, for a text problem, the first record naming that text;
    None when no record does, or for a state row no record made);
    ``first_bad_text``: the text version a text problem is about. ``reason`` names
    what is wrong (a text version id, a state row's subject reference and purpose)."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str = ""
    first_bad_text: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_record": self.first_bad_seq,
            "first_bad_record_id": self.first_bad_id,
            "first_bad_text_version": self.first_bad_text,
            "reason": self.reason or None,
        }


def verify_ledger(session: Session) -> LedgerCheck:
    """Walk the chain from the start and name the first record that does not hold; then
    check the head, that the state table is what the ledger says, and the consent
    texts: each version hashes to its stored hash, the versions of each purpose and
    language are numbered 1..n, and every text a record names exists with the hash
    the record holds (the proof of art. 7(1) rests on them)."""
    texts = [
        rules.StoredText(t.id, t.purpose, t.language, t.number, t.content_hash, dict(t.content))
        for t in session.execute(select(ConsentText)).scalars()
    ]
    text_hashes = {t.id: t.content_hash for t in texts}
    first_named: dict[str, tuple[int, str]] = {}  # text version -> first record naming it
    bad_reference: LedgerCheck | None = None
    prev = rules.GENESIS
    expected = 1
    count = 0
    latest: dict[tuple[str, str], tuple[int, str, str | None, str, datetime, datetime | None]] = {}
    for row in session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars():
        fields = RecordFields.of(row)
        reason = rules.check_link(
            expected,
            row.seq,
            prev,
            row.prev_hash,
            rules.record_hash(row.seq, fields, row.prev_hash),
            row.hash,
        )
        if reason is not None:
            bad_seq = expected if row.seq != expected else row.seq
            bad_id = None if row.seq != expected else row.id
            return LedgerCheck(False, count, bad_seq, bad_id, reason)
        version_id = row.text_version_id
        if version_id is not None:
            first_named.setdefault(version_id, (row.seq, row.id))
            if bad_reference is None and version_id not in text_hashes:
                bad_reference = LedgerCheck(
                    False,
                    0,
                    row.seq,
                    row.id,
                    f"the record names text version {version_id}, which is missing (deleted?)",
                    version_id,
                )
            elif bad_reference is None and text_hashes[version_id] != row.text_hash:
                bad_reference = LedgerCheck(
                    False,
                    0,
                    row.seq,
                    row.id,
                    f"text version {version_id} no longer has the hash the record holds",
                    version_id,
                )
        latest[(row.subject, row.purpose)] = (
            row.seq,
            row.decision,
            row.text_version_id,
            row.method,
            row.at,
            row.expires_at,
        )
        prev = row.hash
        expected += 1
        count += 1
    head = session.get(ConsentHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, rules.GENESIS)
    if head_seq != count or head_hash != prev:
        return LedgerCheck(
            False,
            count,
            count + 1,
            None,
            f"ledger ends at record {count} but {head_seq} were written",
        )
    for st in session.execute(
        select(ConsentState).order_by(ConsentState.subject, ConsentState.purpose)
    ).scalars():
        want = latest.pop((st.subject, st.purpose), None)
        if want is None:
            return LedgerCheck(
                False,
                count,
                None,
                None,
                f"the current-state table has a row for {st.subject} and {st.purpose} "
                "that no ledger record made",
            )
        have = (st.seq, st.decision, st.text_version_id, st.method, st.at, st.expires_at)
        if want != have:
            return LedgerCheck(
                False,
                count,
                want[0],
                None,
                f"the current-state table disagrees with the ledger at this record "
                f"({st.subject}, {st.purpose})",
            )
    if latest:
        seq = min(v[0] for v in latest.values())
        return LedgerCheck(
            False, count, seq, None, "the current-state table lacks the decision of this record"
        )
    bad_text = rules.check_texts(texts)
    if bad_text is not None:
        version_id, reason = bad_text
        named = first_named.get(version_id)
        if named is not None:
            reason += f"; record {named[0]} is the first to name it"
        return LedgerCheck(
            False,
            count,
            named[0] if named else None,
            named[1] if named else None,
            reason,
            version_id,
        )
    if bad_reference is not None:
        return LedgerCheck(
            False,
            count,
            bad_reference.first_bad_seq,
            bad_reference.first_bad_id,
            bad_reference.reason,
            bad_reference.first_bad_text,
        )
    return LedgerCheck(True, count)
