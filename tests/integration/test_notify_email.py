"""The e-mail sender against a real SMTP server started in the test (aiosmtpd): plain,
STARTTLS with login, TLS from the start; templates in nb and en; extra headers; the
outbox when no SMTP host is configured; retries and failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from smtp_fixtures import SmtpBox, smtp_server, smtp_starttls_server, smtps_server

from datavern.core.db import migrate, session_scope
from datavern.core.errors import InvalidInput
from datavern.notify import email, outbox
from datavern.notify.models import OutboxMessage

__all__ = ["smtp_server", "smtp_starttls_server", "smtps_server"]

CONTEXT = {
    "organisation": "Samtykketest AS",
    "purpose_name": "Nyhetsbrev",
    "text": "Ja takk, send meg nyhetsbrevet <b>hver</b> måned.",
    "withdraw": "Meld deg av med lenken i hvert nyhetsbrev.",
    "confirm_url": "https://samtykke.example/samtykke/bekreft?token=abc",
    "hours": 72,
}
UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://samtykke.example/samtykke/avmelding?token=t>, "
    "<mailto:personvern@samtykketest.example?subject=unsubscribe%20t>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


@pytest.fixture(autouse=True)
def _db(datavern_home: Path) -> None:
    migrate()


def _send(box: SmtpBox, **overrides: object) -> str:
    kwargs: dict[str, object] = {
        "to": "Ola Nordmann <ola@example.no>",
        "template": "consent_confirm",
        "lang": "nb",
        "context": CONTEXT,
        "headers": UNSUBSCRIBE,
        "settings": box.settings(),
    }
    kwargs.update(overrides)
    return email.send(**kwargs)  # type: ignore[arg-type]


def test_plain_smtp_delivers_text_and_html_with_list_unsubscribe(smtp_server: SmtpBox) -> None:
    message_id = _send(smtp_server)
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == "Ola Nordmann <ola@example.no>"
    assert msg["Subject"] == "Bekreft påmeldingen: Nyhetsbrev fra Samtykketest AS"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://samtykke.example/samtykke/avmelding?token=t" in msg["List-Unsubscribe"]
    assert "mailto:personvern@samtykketest.example" in msg["List-Unsubscribe"]
    assert msg["Content-Language"] == "nb"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "https://samtykke.example/samtykke/bekreft?token=abc" in text
    assert "<b>hver</b>" in text  # plain text is not escaped ...
    assert "&lt;b&gt;hver&lt;/b&gt;" in html  # ... HTML is
    assert smtp_server.envelopes[0][1] == ["ola@example.no"]
    with session_scope() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None and row.status == "sent" and row.attempts == 1


def test_english_template(smtp_server: SmtpBox) -> None:
    _send(smtp_server, lang="en", headers=None)
    msg = smtp_server.messages[0]
    assert msg["Subject"] == "Confirm your subscription: Nyhetsbrev from Samtykketest AS"
    assert msg["List-Unsubscribe"] is None


def test_starttls_with_login(smtp_starttls_server: SmtpBox) -> None:
    _send(smtp_starttls_server)
    assert len(smtp_starttls_server.messages) == 1


def test_tls_from_the_first_byte(smtps_server: SmtpBox) -> None:
    _send(smtps_server)
    assert len(smtps_server.messages) == 1


def test_wrong_password_fails_without_the_address_and_is_retried(
    smtp_starttls_server: SmtpBox,
) -> None:
    settings = smtp_starttls_server.settings(password="feil")
    message_id = _send(smtp_starttls_server, settings=settings)
    assert smtp_starttls_server.messages == []
    with session_scope() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None and row.status == "pending" and row.attempts == 1
        assert row.error and "refused the login" in row.error and "ola@" not in row.error
    # With the right password the next delivery run sends it.
    result = email.deliver(settings=smtp_starttls_server.settings())
    assert result.sent == 1 and len(smtp_starttls_server.messages) == 1


def test_a_message_that_keeps_failing_is_given_up(smtp_server: SmtpBox) -> None:
    dead = smtp_server.settings(port=1)  # nothing listens there
    message_id = _send(smtp_server, settings=dead)
    for _ in range(email.MAX_ATTEMPTS):
        email.deliver(settings=dead)
    with session_scope() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None and row.status == "failed" and row.attempts == email.MAX_ATTEMPTS


def test_without_smtp_host_mail_is_kept_in_the_outbox() -> None:
    settings = email.SmtpSettings(host=None)
    message_id = email.send(
        to="ola@example.no",
        template="consent_confirm",
        lang="en",
        context=CONTEXT,
        settings=settings,
    )
    with session_scope() as session:
        page = outbox.list_messages(session)
        assert page.counts["kept"] == 1
        assert page.messages[0].id == message_id
        assert "Confirm here" in page.messages[0].text_body
    assert email.deliver(settings=settings).kept == 1


def test_queue_rolls_back_with_the_callers_work(smtp_server: SmtpBox) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        email.queue(
            session,
            to="ola@example.no",
            template="consent_confirm",
            lang="nb",
            context=CONTEXT,
            settings=smtp_server.settings(),
        )
        raise RuntimeError("the work failed")
    assert email.deliver(settings=smtp_server.settings()).sent == 0
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"template": "no_such_template"}, "template"),
        ({"lang": "de"}, "lang"),
        ({"to": "not an address"}, "to"),
        ({"to": "ola@example.no\r\nBcc: all@example.no"}, "to"),
        ({"headers": {"Bcc": "all@example.no"}}, "headers"),
        ({"headers": {"List-Unsubscribe": "<x>\r\nBcc: y"}}, "headers"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_sent(
    smtp_server: SmtpBox, kwargs: dict[str, object], path: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        _send(smtp_server, **kwargs)
    assert err.value.problems[0].path == path
    assert smtp_server.messages == []


def test_purge_drops_old_messages(smtp_server: SmtpBox) -> None:
    from datetime import timedelta

    _send(smtp_server)
    with session_scope() as session:
        assert outbox.purge(session, older_than=timedelta(days=1)) == 0
        assert outbox.purge(session, older_than=timedelta(seconds=-1)) == 1
