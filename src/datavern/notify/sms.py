"""SMS: a pluggable sender, with two senders built in and no provider tied in.

Norwegian SMS gateways differ in everything but the idea, so Datavern defines
the one call it needs and lets a company plug in its own provider:

* :class:`SmsSender` — the contract: ``send(session, message) -> reference``.
  It raises :class:`SmsDeliveryError` (a message without the number) when the
  message could not be handed over.
* :class:`OutboxSmsSender` (the default) — keeps the message in the outbox
  (``notify_outbox``, template ``sms``, status ``kept``) in the caller's
  transaction, where the admin console shows it and from where an operator
  sends it. Nothing leaves the machine. Like e-mail, kept messages are purged
  after the outbox retention period (they hold a phone number and a text).
* :class:`WebhookSmsSender` — POSTs the message as JSON to a URL of the
  company's own (a small adapter in front of its SMS gateway):
  ``{"to": "+4791234567", "text": "...", "category": "...", "lang": "nb",
  "reference": "..."}``. With a secret, the body is signed:
  ``X-Datavern-Signature: sha256=<HMAC-SHA256 of the body>``. Any 2xx answer is
  success; a JSON answer with ``id`` gives the provider's reference.

``sms_sender()`` picks the webhook when ``DATAVERN_SMS_WEBHOOK_URL`` is set,
else the outbox. Settings: ``DATAVERN_SMS_WEBHOOK_URL``,
``DATAVERN_SMS_WEBHOOK_SECRET``, ``DATAVERN_SMS_WEBHOOK_TOKEN`` (sent as a
bearer token), ``DATAVERN_SMS_SENDER`` (the sender name shown on the phone,
at most 11 letters and digits), ``DATAVERN_SMS_TIMEOUT`` seconds.

Numbers are normalised to E.164 (``+4791234567``) with Norway as the default
region; ``normalise_phone`` returns None for anything that is not a valid
number. No message, log line or error here contains a number or a text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from datavern.core import clock
from datavern.core.errors import DatavernError, InvalidInput, Problem

DEFAULT_REGION = "NO"
# One SMS holds 160 GSM characters or 70 UCS-2 ones; gateways join up to a few
# parts. A message longer than this is refused rather than cut.
MAX_TEXT = 1000


class SmsSettings(BaseSettings):
    """``DATAVERN_SMS_*``: which sender, and how to reach the webhook."""

    model_config = SettingsConfigDict(env_prefix="DATAVERN_SMS_", extra="ignore")

    webhook_url: str | None = Field(default=None, description="POST each SMS here as JSON.")
    webhook_secret: str | None = Field(default=None, description="Signs the body (HMAC-SHA256).")
    webhook_token: str | None = Field(default=None, description="Sent as a bearer token.")
    sender: str = Field(default="Datavern", description="Sender name shown on the phone.")
    timeout: float = 15.0

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]{1,11}", value):
            raise ValueError("an SMS sender name has 1-11 letters (A-Z) and digits")
        return value


class SmsDeliveryError(DatavernError):
    """The message could not be handed over; says why, never the number or the text."""


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, see normalise_phone
    text: str
    category: str = ""
    lang: str = "nb"

    def __repr__(self) -> str:  # keep the number and the text out of tracebacks and logs
        return f"SmsMessage(category={self.category!r}, lang={self.lang!r})"


@runtime_checkable
class SmsSender(Protocol):
    """What Datavern asks of an SMS sender."""

    name: str

    def send(self, session: Session, message: SmsMessage) -> str:
        """Hand the message over (or keep it); return a reference that is not the number."""
        ...


def normalise_phone(value: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 form, or None when it is not a valid phone number."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _checked(message: SmsMessage) -> SmsMessage:
    to = normalise_phone(message.to)
    if to is None:
        raise InvalidInput(Problem("not a valid phone number", path="to"))
    if not message.text.strip():
        raise InvalidInput(Problem("the message is empty", path="text"))
    if len(message.text) > MAX_TEXT:
        raise InvalidInput(
            Problem(f"the message is too long for SMS (at most {MAX_TEXT} characters)", path="text")
        )
    return SmsMessage(to, message.text, message.category, message.lang)


class OutboxSmsSender:
    """Keeps each message in the outbox (status ``kept``) for an operator to send."""

    name = "outbox"

    def __init__(self, settings: SmsSettings | None = None) -> None:
        self.settings = settings or SmsSettings()

    def send(self, session: Session, message: SmsMessage) -> str:
        from datavern.notify.models import OutboxMessage

        message = _checked(message)
        reference = uuid.uuid4().hex
        session.add(
            OutboxMessage(
                id=reference,
                category=f"sms:{message.category}" if message.category else "sms",
                template="sms",
                language=message.lang,
                to_addr=message.to,
                from_addr=self.settings.sender,
                subject="",
                text_body=message.text,
                html_body=None,
                headers={},
                # "kept", never "pending": the e-mail deliverer sends only pending mail.
                status="kept",
                attempts=0,
                created_at=clock.now(),
            )
        )
        session.flush()
        return reference


class WebhookSmsSender:
    """POSTs each message as JSON to the company's own SMS adapter."""

    name = "webhook"

    def __init__(self, settings: SmsSettings | None = None, client: Any = None) -> None:
        self.settings = settings or SmsSettings()
        if not self.settings.webhook_url:
            raise SmsDeliveryError("no SMS webhook is configured (DATAVERN_SMS_WEBHOOK_URL)")
        self._client = client

    def _post(self, body: bytes, headers: dict[str, str]) -> Any:
        import httpx

        url = self.settings.webhook_url or ""
        if self._client is not None:
            return self._client.post(url, content=body, headers=headers)
        with httpx.Client(timeout=self.settings.timeout, follow_redirects=False) as client:
            return client.post(url, content=body, headers=headers)

    def send(self, session: Session, message: SmsMessage) -> str:
        import httpx

        message = _checked(message)
        reference = uuid.uuid4().hex
        body = json.dumps(
            {
                "to": message.to,
                "text": message.text,
                "category": message.category,
                "lang": message.lang,
                "sender": self.settings.sender,
                "reference": reference,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.settings.webhook_secret:
            digest = hmac.new(
                self.settings.webhook_secret.encode("utf-8"), body, hashlib.sha256
            ).hexdigest()
            headers["X-Datavern-Signature"] = f"sha256={digest}"
        if self.settings.webhook_token:
            headers["Authorization"] = f"Bearer {self.settings.webhook_token}"
        try:
            response = self._post(body, headers)
        except httpx.HTTPError as exc:
            raise SmsDeliveryError(
                f"the SMS webhook could not be reached ({type(exc).__name__})"
            ) from None
        if not 200 <= response.status_code < 300:
            raise SmsDeliveryError(f"the SMS webhook answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str | int):
            return str(answer["id"])[:200]
        return reference


def sms_sender(settings: SmsSettings | None = None) -> SmsSender:
    """The configured sender: the webhook when its URL is set, else the outbox."""
    settings = settings or SmsSettings()
    if settings.webhook_url:
        return WebhookSmsSender(settings)
    return OutboxSmsSender(settings)
