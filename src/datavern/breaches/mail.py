"""E-mail of the breach register, through the outbox of ``notify.email``.

Messages are put in the outbox in the caller's transaction: a notice to a
person is recorded (``breach_notices``) in the same commit that queues it, so
an interrupted sending never tells anyone twice, and ``notify.email.deliver``
(or the ``notify.deliver`` task) hands them to the SMTP server afterwards.

The breach texts are composed here (``notice_text.py``, reminders below) rather
than in templates of ``notify/templates``: what a person is told must be stored
verbatim as a message version, so the text is made once and the outbox row
holds exactly that text.
"""

from __future__ import annotations

import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from datavern.breaches import rules
from datavern.breaches.draft import moment_text
from datavern.breaches.models import Breach
from datavern.breaches.rules import ClockStatus
from datavern.core import clock
from datavern.core.errors import InvalidInput, Problem
from datavern.core.i18n import Lang


def normalise_email(value: str) -> str | None:
    """The address as it is compared and hashed (domain lower-cased), or None if invalid."""
    if not value or len(value) > 320 or "\n" in value or "\r" in value:
        return None
    try:
        found = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    local, _, domain = found.normalized.rpartition("@")
    # Local parts are case-sensitive in theory, never in practice: one person, one hash.
    return f"{local.lower()}@{domain.lower()}"


def queue_text(
    session: Session, *, to: str, subject: str, text: str, lang: str, category: str
) -> str:
    """Put one plain-text message in the outbox; returns its id (never the address)."""
    from datavern.notify.email import smtp_settings
    from datavern.notify.models import OutboxMessage

    if normalise_email(to) is None:
        raise InvalidInput(Problem("not a valid e-mail address", path="to"))
    if "\n" in subject or "\r" in subject:
        raise InvalidInput(Problem("the subject must be one line", path="subject"))
    settings = smtp_settings()
    message_id = uuid.uuid4().hex
    session.add(
        OutboxMessage(
            id=message_id,
            category=category,
            template=category,
            language=lang,
            to_addr=to,
            from_addr=settings.from_addr,
            subject=subject,
            text_body=text,
            html_body=None,
            headers={"X-Datavern-Category": category},
            status="pending" if settings.host else "kept",
            attempts=0,
            created_at=clock.now(),
        )
    )
    session.flush()
    return message_id


THRESHOLD_TEXT = {
    "48h": ("under 48 timer igjen", "less than 48 hours left"),
    "24h": ("under 24 timer igjen", "less than 24 hours left"),
    "6h": ("under 6 timer igjen", "less than 6 hours left"),
    "overdue": ("fristen er passert", "the deadline has passed"),
}


def reminder_text(
    breach: Breach, status: ClockStatus, organisation: str, lang: Lang
) -> tuple[str, str]:
    """(subject, body) of a reminder about the 72-hour deadline."""
    nb = lang == "nb"
    countdown = rules.format_countdown(status, lang)
    deadline = moment_text(status.deadline, lang)
    if nb:
        subject = f"Avvik {breach.id}: {countdown} til fristen for å melde til Datatilsynet"
        if status.state == "overdue":
            subject = f"Avvik {breach.id}: {countdown} – meld til Datatilsynet nå"
        body = (
            f"Avvik {breach.id} i {organisation} («{breach.title}») skal meldes til "
            f"Datatilsynet innen 72 timer etter at dere ble klar over det: innen {deadline}.\n\n"
            f"Status: {countdown}.\n\n"
            "Slik går dere videre:\n"
            f"- Se utkastet til meldingen: datavern breach draft {breach.id}\n"
            "- Fyll inn meldeskjemaet «Melde avvik» i Altinn\n"
            f"- Registrer at meldingen er sendt: datavern breach submitted {breach.id}\n\n"
            "Meldes avviket etter fristen, må meldingen begrunne forsinkelsen "
            "(personvernforordningen artikkel 33 nr. 1). Er avviket vurdert til ikke å "
            f"medføre risiko, registrer vurderingen: datavern breach assess {breach.id} "
            "--risk none --reasoning ...\n\n"
            "Denne påminnelsen er sendt av Datavern.\n"
        )
    else:
        subject = f"Breach {breach.id}: {countdown} to notify Datatilsynet"
        if status.state == "overdue":
            subject = f"Breach {breach.id}: {countdown} – notify Datatilsynet now"
        body = (
            f"Breach {breach.id} at {organisation} (“{breach.title}”) must be notified to "
            f"Datatilsynet within 72 hours of becoming aware of it: by {deadline}.\n\n"
            f"Status: {countdown}.\n\n"
            "Next steps:\n"
            f"- Read the draft notification: datavern breach draft {breach.id} --lang en\n"
            "- Fill in Datatilsynet's breach form («Melde avvik») in Altinn\n"
            f"- Record that it was sent: datavern breach submitted {breach.id}\n\n"
            "A notification after the deadline must give the reasons for the delay "
            "(GDPR art. 33(1)). If the breach is assessed as unlikely to result in a risk, "
            f"record that: datavern breach assess {breach.id} --risk none --reasoning ...\n\n"
            "This reminder was sent by Datavern.\n"
        )
    return subject, body


def queue_reminder(
    session: Session,
    *,
    to: str,
    breach: Breach,
    status: ClockStatus,
    organisation: str,
    lang: Lang,
) -> str:
    subject, body = reminder_text(breach, status, organisation, lang)
    return queue_text(
        session, to=to, subject=subject, text=body, lang=lang, category="breach.reminder"
    )
