"""Consent: keys derived from the secret key, the keyed hash of an e-mail address, and
subjects parsed from a reference (``Subject``, ``subject_of``)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property, lru_cache

from datavern.consent import rules
from datavern.consent.rules import SubjectError, SubjectInput, SubjectKind
from datavern.core.config import get_settings
from datavern.core.errors import InvalidInput, Problem


@lru_cache(maxsize=16)
def _derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), label.encode("ascii"), hashlib.sha256).digest()


def _key(label: str) -> bytes:
    return _derive(get_settings().effective_secret_key(), label)


def email_hash(address: str) -> str:
    """The keyed hash an e-mail subject is stored under.

    The same keyed hash the DSR engine uses for an ``email`` identity, so that a
    restriction or an access request by e-mail finds the subject's consents.
    """
    from datavern.dsr import crypto

    return crypto.identity_hash("email", address.strip().lower())


@dataclass(frozen=True)
class Subject:
    """A subject as given (``parsed``) and as stored (``ref``)."""

    parsed: SubjectInput
    ref: str

    @property
    def dsr_identities(self) -> dict[str, list[str]]:
        """Identities for the DSR engine's restriction check, when the raw value is known."""
        if self.parsed.kind is SubjectKind.email:
            return {"email": [self.parsed.value]}
        if self.parsed.kind is SubjectKind.account:
            return {"customer_id": [self.parsed.value]}
        return {}

    @cached_property
    def restriction_hashes(self) -> list[str]:
        from datavern.dsr import crypto

        kind = self.parsed.kind
        if kind is SubjectKind.email:
            return [crypto.identity_hash("email", self.parsed.value)]
        if kind is SubjectKind.emailhash:
            return [self.parsed.value]
        if kind is SubjectKind.account:
            return [crypto.identity_hash("customer_id", self.parsed.value)]
        return []


def subject_of(text_value: str, field_name: str = "subject") -> Subject:
    """Parse a subject reference; InvalidInput naming the field, never the value."""
    try:
        parsed = rules.parse_subject(text_value)
    except SubjectError as exc:
        raise InvalidInput(Problem(str(exc), path=field_name)) from None
    digest = email_hash(parsed.value) if parsed.kind is SubjectKind.email else None
    return Subject(parsed, rules.stored_subject(parsed, digest))
