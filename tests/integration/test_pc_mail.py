"""The privacy centre's e-mail through a real SMTP server (aiosmtpd): the code, the
forwarding to a controller, and the reminders task (7 and 2 days before the due date,
each once; unassigned requests go to the privacy officers)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from smtp_fixtures import SmtpBox, smtp_server  # noqa: F401

from datavern.accounts import service as accounts
from datavern.core import clock
from datavern.core.db import session_scope
from datavern.dsr import cases, intake, reminders
from datavern.dsr.case_models import PrivacyCase
from datavern.register.loader import load_register
from datavern.register.service import apply_register

RECEIVED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # due Thursday 4 June 2026

REGISTER = """
organisation:
  name: Driftsfirma AS
  email: personvern@driftsfirma.example
  role: both
dsr:
  processor_for:
    - key: kunde
      controller: Kunde AS
      email: personvern@kunde.example
"""


@pytest.fixture
def mail(
    smtp_server: SmtpBox,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[tuple[SmtpBox, clock.FixedClock]]:
    from datavern.core.db import migrate

    migrate()
    for key, value in {
        "HOST": smtp_server.host,
        "PORT": str(smtp_server.port),
        "SECURITY": "none",
        "FROM": "Driftsfirma <personvern@driftsfirma.example>",
    }.items():
        monkeypatch.setenv(f"DATAVERN_SMTP_{key}", value)
    folder = tmp_path / "register"
    folder.mkdir()
    (folder / "register.yaml").write_text(textwrap.dedent(REGISTER))
    with session_scope() as session:
        apply_register(session, load_register(folder), "test")
        accounts.create_user(
            session,
            "po",
            "et langt og trygt testpassord",
            "privacy_officer",
            actor="t",
            email="po@driftsfirma.example",
        )
        accounts.create_user(
            session,
            "agent",
            "et langt og trygt testpassord",
            "agent",
            actor="t",
            email="agent@driftsfirma.example",
        )
    fixed = clock.FixedClock(RECEIVED)
    previous = clock.use_clock(fixed)
    try:
        yield smtp_server, fixed
    finally:
        clock.use_clock(previous)


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def file(**fields: object) -> str:
    with session_scope() as session:
        done = intake.submit(
            session,
            intake.Submission(**{"kind": "access", "email": "ola@example.no", **fields}),  # type: ignore[arg-type]
        )
    cases.deliver(done.messages)
    with session_scope() as session:
        case = session.get(PrivacyCase, done.case_id)
        assert case is not None and done.code
        check = intake.check_code(session, case, done.code, actor="t")
    cases.deliver(check.messages)
    return done.case_id


def test_the_code_and_the_receipt_arrive_by_smtp(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, _ = mail
    file()
    subjects = [m["Subject"] for m in box.messages]
    assert subjects[0].startswith("Koden din: ")
    assert subjects[1].startswith("Vi har mottatt forespørselen din")
    assert [m["To"] for m in box.messages] == ["ola@example.no", "ola@example.no"]
    assert "4. juni 2026" in plain(box.messages[1])


def test_forwarding_mails_the_controller_and_the_subject(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, _ = mail
    case_id = file(kind="erasure", controller="kunde")
    with session_scope() as session:
        case = session.get(PrivacyCase, case_id)
        assert case is not None
        result = cases.approve(session, case, actor="agent")
    cases.deliver(result.messages)
    to = {m["To"]: m for m in box.messages[2:]}
    assert set(to) == {"personvern@kunde.example", "ola@example.no"}
    controller = plain(to["personvern@kunde.example"])
    assert "ola@example.no" in controller and "sletting" in controller
    assert "Kunde AS" in plain(to["ola@example.no"])


def test_reminders_seven_and_two_days_before_each_once(
    mail: tuple[SmtpBox, clock.FixedClock],
) -> None:
    box, fixed = mail
    assigned = file()
    unassigned = file(kind="erasure")
    with session_scope() as session:
        case = session.get(PrivacyCase, assigned)
        assert case is not None
        cases.assign(session, case, "agent", actor="t")
    before = len(box.messages)

    def run_at(when: datetime) -> list[tuple[str, str]]:
        fixed.set(when)
        start = len(box.messages)
        reminders.case_reminders()
        return [(m["To"], m["Subject"]) for m in box.messages[start:]]

    assert run_at(datetime(2026, 5, 27, 3, 0, tzinfo=UTC)) == []  # 8 days before
    week = run_at(datetime(2026, 5, 28, 3, 0, tzinfo=UTC))  # 7 days before 4 June
    assert sorted(to for to, _ in week) == ["agent@driftsfirma.example", "po@driftsfirma.example"]
    assert all("7 dager" in subject for _, subject in week)
    assert run_at(datetime(2026, 5, 28, 15, 0, tzinfo=UTC)) == []  # the same day again: nothing
    two = run_at(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
    assert len(two) == 2 and all("2 dager" in s for _, s in two)
    fixed.set(datetime(2026, 6, 5, 3, 0, tzinfo=UTC))
    assert reminders.case_reminders()["overdue"] == 2
    assert len(box.messages) == before + 4
    del unassigned


# --------------------------------------------------------------------------- #
# Every templated message: multipart/alternative, plain text and accessible HTML
# --------------------------------------------------------------------------- #

URL = re.compile(r"https?://[^\s<>\"]+")
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LONG_NUMBER = re.compile(r"\+?\d[\d ]{6,}\d")
DATE = re.compile(r"\b\d{1,2}\.? (?:[a-zæøå]+|[A-Z][a-z]+) \d{4}\b")
CODE = re.compile(r"\b\d{6}\b")
DENY_REASON = "Forespørselen gjelder\nopplysninger vi ikke har."
EXTEND_REASON = "Mange forespørsler <samtidig> & komplisert sak."


class _Html(HTMLParser):
    """The text a reader sees, the links, and every tag and attribute, of an HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag in ("title", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def html_of(message: EmailMessage) -> tuple[str, _Html]:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage) and part.get_content_type() == "text/html"
    source = str(part.get_content())
    parsed = _Html()
    parsed.feed(source)
    return source, parsed


def squash(text: str) -> str:
    return " ".join(text.split())


def every_message(lang: str, box: SmtpBox) -> tuple[dict[str, EmailMessage], set[str]]:
    """File requests in ``lang`` and act on them so that every subject-facing message goes."""
    start = len(box.messages)
    access = file(lang=lang, phone="+4791234567")  # code, received
    denied = file(lang=lang, kind="erasure")
    extended = file(
        lang=lang, kind="rectification", correction_field="name", correction_value="Ola Nordmann"
    )
    forwarded = file(lang=lang, kind="erasure", controller="kunde", details="Slett alt")
    with session_scope() as session:

        def case(case_id: str) -> PrivacyCase:
            found = session.get(PrivacyCase, case_id)
            assert found is not None
            return found

        sent = cases.deny(session, case(denied), DENY_REASON, actor="agent").messages
        sent += cases.extend(
            session, case(extended), EXTEND_REASON, months=1, actor="agent"
        ).messages
        sent += cases.approve(session, case(forwarded), actor="agent").messages
        sent += cases.complete(session, case(access), actor="agent")
    cases.deliver(sent)
    by_template: dict[str, EmailMessage] = {}
    for message in box.messages[start:]:
        name = _template_of(message, lang)
        by_template.setdefault(name, message)
    references = {intake.reference(c) for c in (access, denied, extended, forwarded)}
    return by_template, references


SUBJECT_PREFIXES = {
    "nb": {
        "Koden din": "dsr_code",
        "Vi har mottatt": "dsr_received",
        "Svar på forespørselen": "dsr_denied",
        "Vi trenger mer tid": "dsr_extended",
        "Forespørselen din er sendt videre": "dsr_forwarded",
        "Forespørsel fra en registrert": "dsr_forward_controller",
        "Forespørselen din er ferdig": "dsr_completed",
    },
    "en": {
        "Your code": "dsr_code",
        "We have received": "dsr_received",
        "Answer to your request": "dsr_denied",
        "We need more time": "dsr_extended",
        "Your request has been forwarded": "dsr_forwarded",
        "Data subject request": "dsr_forward_controller",
        "Your request has been completed": "dsr_completed",
    },
}


def _template_of(message: EmailMessage, lang: str) -> str:
    # The controller is written to in the company's language, whatever the subject's.
    for prefix, name in {**SUBJECT_PREFIXES["nb"], **SUBJECT_PREFIXES[lang]}.items():
        if message["Subject"].startswith(prefix):
            return name
    raise AssertionError(f"unexpected message {message['Subject']!r}")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_request_mail_has_a_plain_and_an_accessible_html_part(
    mail: tuple[SmtpBox, clock.FixedClock], lang: str
) -> None:
    box, _ = mail
    messages, references = every_message(lang, box)
    assert set(messages) == set(SUBJECT_PREFIXES[lang].values())
    for name, message in messages.items():
        where = f"{name}.{lang}"
        assert message.get_content_type() == "multipart/alternative", where
        kinds = [part.get_content_type() for part in message.iter_parts()]
        assert kinds == ["text/plain", "text/html"], where  # the richer part last (RFC 2046)
        text = plain(message)
        source, html = html_of(message)
        seen = squash(" ".join(html.text))

        # Accessible and self-contained: language, title, a heading; inline CSS only,
        # no images, no external style sheets or scripts, links underlined.
        assert f'<html lang="{message["Content-Language"]}">' in source, where
        assert re.search(r"<title>[^<]+</title>", source), where
        assert any(tag == "h1" for tag, _ in html.tags), where
        for tag, attrs in html.tags:
            assert tag not in ("img", "link", "style", "script", "iframe", "object"), where
            assert "src" not in attrs and "background" not in attrs, (where, tag)
            assert "url(" not in (attrs.get("style") or ""), (where, tag)
        for tag, attrs in html.tags:
            if tag == "a":
                assert "text-decoration:none" not in (attrs.get("style") or ""), where

        # The same links: every address of the text part is a link in the HTML, and
        # the HTML links to nothing else.
        assert set(html.hrefs) == set(URL.findall(text)), where

        # The same facts: reference, dates, code, reasons and links appear in both.
        told = [r for r in references if r in f"{message['Subject']} {text}"]
        assert told, where
        facts = told + DATE.findall(text) + CODE.findall(text)
        for fact in facts + URL.findall(text):
            assert fact in seen, (where, fact)
        # No personal data beyond the text part: no address or long number the text
        # does not have.
        assert set(ADDRESS.findall(seen)) <= set(ADDRESS.findall(text)), where
        # (A reference of eight digits is a long number too: the subject line has it.)
        compact = "".join(f"{message['Subject']} {text}".split())
        for number in LONG_NUMBER.findall(seen):
            assert number.replace(" ", "") in compact, (where, number)

    code_text = plain(messages["dsr_code"])
    code = CODE.findall(code_text)[0]
    assert code in squash(" ".join(html_of(messages["dsr_code"])[1].text))
    # Reasons keep their words in the HTML, escaped, line breaks kept visible.
    denied_source, denied = html_of(messages["dsr_denied"])
    assert squash(DENY_REASON) in squash(" ".join(denied.text))
    assert "white-space:pre-line" in denied_source
    extended_source, extended = html_of(messages["dsr_extended"])
    assert "&lt;samtidig&gt; &amp;" in extended_source
    assert EXTEND_REASON in squash(" ".join(extended.text))
    # The download link of the completed access request, identical in both parts.
    completed_text = plain(messages["dsr_completed"])
    link = [u for u in URL.findall(completed_text) if "token=" in u]
    assert len(link) == 1 and link[0] in html_of(messages["dsr_completed"])[1].hrefs
    # The controller gets what the subject gave, in both parts; the subject's own
    # messages carry neither their phone number nor their address in the HTML.
    controller_text = plain(messages["dsr_forward_controller"])
    assert "ola@example.no" in controller_text
    assert "ola@example.no" in " ".join(html_of(messages["dsr_forward_controller"])[1].text)
    for name in ("dsr_code", "dsr_received", "dsr_completed", "dsr_denied"):
        source, _html = html_of(messages[name])
        assert "ola@example.no" not in source and "91234567" not in source, name
