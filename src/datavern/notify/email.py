"""E-mail: templated messages in bokmål and English, sent over SMTP or kept in the outbox.

The small API other features use (docs/email.md):

* ``queue(session, to=..., template=..., lang=..., context=..., headers=...)`` stores a
  message in the outbox in the caller's transaction (nothing is sent if the work
  rolls back) and returns its id;
* ``deliver()`` sends the queued messages over SMTP (call it after the commit; the
  ``notify.deliver`` task does the same). Without ``DATAVERN_SMTP_HOST`` messages
  stay in the outbox with status ``kept`` and the admin console shows them;
* ``send(...)`` is ``queue`` in its own transaction followed by delivering that
  message at once; it returns the message id.

Settings (environment): ``DATAVERN_SMTP_HOST``, ``_PORT`` (587 for STARTTLS, 465 for
TLS), ``_SECURITY`` (``starttls``, ``tls`` or ``none``), ``_USERNAME``, ``_PASSWORD``,
``_FROM`` (the sender address), ``_TIMEOUT`` seconds.

Templates live in ``notify/templates``: ``NAME.LANG.txt`` (the first line is
``Subject: ...``, then a blank line, then the plain-text body) and optionally
``NAME.LANG.html`` (the HTML body, autoescaped). Both get the same context.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from datavern.core import clock
from datavern.core.errors import DatavernError, InvalidInput, Problem
from datavern.core.i18n import LANGUAGES

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Headers a caller may add; anything else (To, From, Subject, Bcc ...) is refused so
# that a context value can never change who receives a message.
ALLOWED_EXTRA_HEADERS = frozenset(
    {
        "list-unsubscribe",
        "list-unsubscribe-post",
        "list-id",
        "reply-to",
        "auto-submitted",
        "precedence",
        "x-datavern-category",
    }
)


class SmtpSettings(BaseSettings):
    """``DATAVERN_SMTP_*``: where mail goes. No host means: keep mail in the outbox."""

    model_config = SettingsConfigDict(env_prefix="DATAVERN_SMTP_", extra="ignore")

    host: str | None = Field(default=None, description="SMTP server; unset keeps mail.")
    port: int | None = Field(default=None, description="Default 587 (starttls), 465 (tls), 25.")
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_addr: str = Field(
        default="Datavern <datavern@localhost>",
        validation_alias="DATAVERN_SMTP_FROM",
        description="The From address of every message.",
    )
    timeout: float = 30.0
    # Tests talk to a local server with a self-signed certificate.
    verify_certificate: bool = True

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


def smtp_settings() -> SmtpSettings:
    return SmtpSettings()


class DeliveryError(DatavernError):
    """The SMTP server could not be reached or refused the message."""


class _LoginRefused(Exception):
    pass


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, lang: str, context: Mapping[str, Any]) -> Rendered:
    """Render ``template`` in ``lang``; InvalidInput if it or the language does not exist."""
    if lang not in LANGUAGES:
        raise InvalidInput(Problem(f"unknown language {lang!r}", path="lang"))
    try:
        text = _env(False).get_template(f"{template}.{lang}.txt").render(**context)
    except jinja2.TemplateNotFound:
        raise InvalidInput(
            Problem(f"no e-mail template {template!r} in {lang}", path="template")
        ) from None
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise InvalidInput(
            Problem(f"template {template}.{lang}.txt must start with 'Subject: '", path="template")
        )
    subject = " ".join(first[len("Subject: ") :].split())
    html: str | None
    try:
        html = _env(True).get_template(f"{template}.{lang}.html").render(**context)
    except jinja2.TemplateNotFound:
        html = None
    return Rendered(subject, body.lstrip("\n"), html)


def _check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() not in ALLOWED_EXTRA_HEADERS:
            raise InvalidInput(Problem(f"header {name!r} may not be set", path="headers"))
        if "\r" in value or "\n" in value:
            raise InvalidInput(Problem(f"header {name!r} contains a line break", path="headers"))
        clean[name] = value
    return clean


def _check_address(to: str) -> str:
    _name, addr = parseaddr(to)
    if not addr or "@" not in addr or "\r" in to or "\n" in to:
        raise InvalidInput(Problem("not a valid e-mail address", path="to"))
    return to


def build_message(
    *,
    to: str,
    from_addr: str,
    rendered: Rendered,
    lang: str,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A MIME message: text/plain, and multipart/alternative with HTML when there is HTML."""
    msg = EmailMessage()
    msg["From"] = from_addr
    msg["To"] = _check_address(to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(clock.now())
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    for name, value in _check_headers(headers or {}).items():
        msg[name] = value
    msg.set_content(rendered.text)
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html")
    # After the body: setting the content drops Content-* headers set before it.
    msg["Content-Language"] = lang
    return msg


def send_message(message: EmailMessage, settings: SmtpSettings | None = None) -> None:
    """Deliver one built message over SMTP. DeliveryError says why not, without the address."""
    settings = settings or smtp_settings()
    if not settings.host:
        raise DeliveryError("no SMTP host is configured (DATAVERN_SMTP_HOST)")
    context = ssl.create_default_context()
    if not settings.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    port = settings.effective_port
    try:
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(settings.host, port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.username:
                try:
                    smtp.login(settings.username, settings.password or "")
                except smtplib.SMTPNotSupportedError:
                    raise
                except smtplib.SMTPException:
                    # A refused login may also end in a dropped connection.
                    raise _LoginRefused() from None
            smtp.send_message(message)
    except _LoginRefused:
        raise DeliveryError(
            f"the SMTP server {settings.host}:{port} refused the login (check "
            "DATAVERN_SMTP_USERNAME and DATAVERN_SMTP_PASSWORD)"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            f"the SMTP server {settings.host}:{port} does not offer "
            f"{'STARTTLS' if settings.security == 'starttls' else 'this'}; set "
            "DATAVERN_SMTP_SECURITY to match the server"
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("the SMTP server refused the recipient") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(
            f"sending through {settings.host}:{port} failed ({type(exc).__name__})"
        ) from None


# --------------------------------------------------------------------------- #
# The outbox API
# --------------------------------------------------------------------------- #


def queue(
    session: Session,
    *,
    to: str,
    template: str,
    lang: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    category: str = "",
    settings: SmtpSettings | None = None,
) -> str:
    """Render and store one message in the outbox (in the caller's transaction).

    Status ``pending`` when an SMTP host is configured (``deliver()`` sends it),
    ``kept`` otherwise. Returns the message id.
    """
    from datavern.notify.models import OutboxMessage

    settings = settings or smtp_settings()
    rendered = render(template, lang, context)
    _check_address(to)
    clean = _check_headers(headers or {})
    message_id = uuid.uuid4().hex
    session.add(
        OutboxMessage(
            id=message_id,
            category=category or template,
            template=template,
            language=lang,
            to_addr=to,
            from_addr=settings.from_addr,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            headers=clean,
            status="pending" if settings.host else "kept",
            attempts=0,
            created_at=clock.now(),
        )
    )
    session.flush()
    return message_id


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    failed: int
    kept: int

    def as_json(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "kept": self.kept}


MAX_ATTEMPTS = 5


def deliver(
    *,
    url: str | None = None,
    ids: list[str] | None = None,
    limit: int = 200,
    settings: SmtpSettings | None = None,
) -> DeliveryResult:
    """Send pending messages (or only ``ids``) over SMTP, each in its own transaction.

    A message that fails is retried on the next call, up to five attempts, then
    marked ``failed``; the error (never the address) is kept for the outbox page.
    """
    from sqlalchemy import select

    from datavern.core.db import session_scope
    from datavern.notify.models import OutboxMessage

    settings = settings or smtp_settings()
    if not settings.host:
        with session_scope(url) as session:
            kept = session.query(OutboxMessage).filter(OutboxMessage.status == "kept").count()
        return DeliveryResult(0, 0, kept)
    with session_scope(url) as session:
        query = select(OutboxMessage.id).where(OutboxMessage.status == "pending")
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        todo = list(
            session.execute(query.order_by(OutboxMessage.created_at).limit(limit)).scalars()
        )
    sent = failed = 0
    for message_id in todo:
        with session_scope(url) as session:
            row = session.get(OutboxMessage, message_id, with_for_update=True)
            if row is None or row.status != "pending":
                continue
            message = build_message(
                to=row.to_addr,
                from_addr=row.from_addr,
                rendered=Rendered(row.subject, row.text_body, row.html_body),
                lang=row.language,
                headers=row.headers,
            )
            row.attempts += 1
            try:
                send_message(message, settings)
            except DeliveryError as exc:
                row.error = str(exc)
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                failed += 1
                continue
            row.status, row.sent_at, row.error = "sent", clock.now(), None
            sent += 1
    return DeliveryResult(sent, failed, 0)


def send(
    *,
    to: str,
    template: str,
    lang: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    category: str = "",
    url: str | None = None,
    settings: SmtpSettings | None = None,
) -> str:
    """Queue one message in its own transaction and deliver it now (or keep it)."""
    from datavern.core.db import session_scope

    settings = settings or smtp_settings()
    with session_scope(url) as session:
        message_id = queue(
            session,
            to=to,
            template=template,
            lang=lang,
            context=context,
            headers=headers,
            category=category,
            settings=settings,
        )
    if settings.host:
        deliver(url=url, ids=[message_id], settings=settings)
    return message_id


def sender_address(settings: SmtpSettings | None = None) -> str:
    """The configured From address, for templates that name it."""
    settings = settings or smtp_settings()
    name, addr = parseaddr(settings.from_addr)
    return formataddr((name, addr)) if name else addr
