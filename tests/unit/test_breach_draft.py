"""The draft to Datatilsynet (its form's fields) and the message to the people affected."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from datavern.breaches import rules
from datavern.breaches.draft import (
    DraftInput,
    NoticeTotals,
    Organisation,
    build_draft,
    draft_pdf,
    draft_text,
)
from datavern.breaches.notice_text import (
    SMS_LIMIT,
    Sender,
    custom_message,
    email_message,
    sms_message,
)

AWARE = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
FACTS: dict[str, Any] = rules.BreachFacts.model_validate(
    {
        "title": "Kundeliste sendt til feil mottaker",
        "description": "En kundeliste med navn og e-post ble sendt til en ekstern mottaker.",
        "cause": "Feil i autoutfylling av mottaker i e-postprogrammet.",
        "discovered_by": "Kundeservice",
        "aware_at": AWARE,
        "started_at": AWARE - timedelta(hours=2),
        "data_categories": ["user.name", "user.contact.email"],
        "data_subjects": ["customer"],
        "people_affected": "1200-1300",
        "consequences": "Risiko for målrettet svindel (phishing).",
        "measures_taken": "Mottakeren har bekreftet sletting.",
    }
).content()
ORG = Organisation("Nettbutikken AS", "923609016", "Personvernombud / DPO: Kari Hansen\ndpo@x.no")


def make(now: datetime, **changes: Any) -> DraftInput:
    values: dict[str, Any] = {
        "breach_id": 7,
        "version": 2,
        "versions": 2,
        "stage_number": 0,
        "facts": FACTS,
        "risk": {"level": "high_risk", "reasoning": "Mange kunder, phishing er sannsynlig."},
        "exception": None,
        "notices": [],
        "organisation": ORG,
        "clock": rules.clock_status(AWARE, now),
        "generated_at": now,
        "late_if_sent_now": rules.is_late(AWARE, now),
    }
    values.update(changes)
    return DraftInput(**values)


def fields(draft: Any) -> dict[str, str | None]:
    return {f.key: f.value for s in draft.sections for f in s.fields}


def test_the_draft_has_the_fields_of_datatilsynets_form_in_order() -> None:
    draft = build_draft(make(AWARE + timedelta(hours=5)), "nb")
    assert [s.key for s in draft.sections] == [
        "description",
        "consequences",
        "measures",
        "informed",
        "contact",
    ]
    keys = list(fields(draft))
    for key in (
        "cause",
        "period",
        "discovery",
        "people",
        "what",
        "data_categories",
        "data_subjects",
        "data_location",
        "consequences",
        "measures_taken",
        "measures_planned",
        "told",
        "contact",
    ):
        assert key in keys
    values = fields(draft)
    assert values["people"] == "mellom 1\u00a0200 og 1\u00a0300 personer."
    assert "E-postadresse (user.contact.email)" in (values["data_categories"] or "")
    assert values["data_subjects"] == "Kunder (customer)"
    assert "Kari Hansen" in (values["contact"] or "")
    assert "Ikke ennå" in (values["told"] or "")
    # Unknown fields are marked, so the missing ones can follow in an update (art. 33(4)).
    assert values["data_location"] is None
    assert "Hvor opplysningene befinner seg nå" in draft.missing()


def test_the_text_draft_marks_what_is_not_known_yet() -> None:
    text = draft_text(build_draft(make(AWARE + timedelta(hours=5)), "nb"))
    assert text.startswith("MELDING OM BRUDD PÅ PERSONOPPLYSNINGSSIKKERHETEN")
    assert "Hovedårsak:\n  Feil i autoutfylling" in text
    assert "[Ikke kjent ennå – ettersendes (artikkel 33 nr. 4)]" in text
    assert "67 t 0 min igjen" in text
    english = draft_text(build_draft(make(AWARE + timedelta(hours=5)), "en"))
    assert "Main cause:" in english and "Not known yet" in english


def test_a_late_draft_asks_for_the_reasons_for_the_delay() -> None:
    on_time = build_draft(make(AWARE + timedelta(hours=5)), "en")
    assert "delay" not in [s.key for s in on_time.sections]
    late = build_draft(make(AWARE + timedelta(hours=80)), "en")
    assert late.sections[-1].key == "delay"
    assert fields(late)["delay_reasons"] is None
    given = build_draft(
        make(AWARE + timedelta(hours=80), facts={**FACTS, "delay_reasons": "Helg."}), "en"
    )
    assert fields(given)["delay_reasons"] == "Helg."


def test_whether_and_how_people_were_told() -> None:
    told = make(
        AWARE + timedelta(hours=5),
        notices=[NoticeTotals("email", 1250, AWARE, AWARE + timedelta(hours=3))],
    )
    told_text = fields(build_draft(told, "nb"))["told"] or ""
    assert "1\u00a0250 personer er varslet på e-post" in told_text
    exception = make(
        AWARE + timedelta(hours=5),
        exception={"letter": "c", "reasoning": "Uten adresse.", "public_communication": "Nett."},
    )
    text = fields(build_draft(exception, "en"))["told"] or ""
    assert "art. 34(3)(c)" in text and "Public communication: Nett." in text
    low = make(AWARE + timedelta(hours=5), risk={"level": "risk", "reasoning": "Få."})
    assert (fields(build_draft(low, "nb"))["told"] or "").startswith("Nei.")


def test_staged_updates_are_numbered() -> None:
    draft = build_draft(make(AWARE + timedelta(hours=5), stage_number=2), "nb")
    stage = next(f.value for f in draft.header if f.key == "stage")
    assert stage == "Oppdatering nr. 2 (artikkel 33 nr. 4)"


def test_the_pdf_holds_the_same_fields() -> None:
    data = draft_pdf(build_draft(make(AWARE + timedelta(hours=5)), "nb"))
    assert data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for words in ("Hovedårsak", "Antall berørte personer", "Kontaktinformasjon", "Tiltak"):
        assert words in text


SENDER = Sender("Nettbutikken AS", "dpo@nettbutikken.no", "https://nettbutikken.no/personvern")


def test_the_email_to_people_covers_article_34_2() -> None:
    message = email_message(FACTS, SENDER, "nb")
    assert message.subject is not None and "Nettbutikken AS" in message.subject
    body = message.body
    assert "En kundeliste med navn og e-post" in body  # what happened
    assert "- E-postadresse" in body  # which data
    assert "Risiko for målrettet svindel" in body  # likely consequences
    assert "Mottakeren har bekreftet sletting." in body  # measures
    assert "Vi spør aldri etter passordet ditt" in body  # default advice
    assert "dpo@nettbutikken.no" in body  # contact point
    assert "Datatilsynet" in body  # right to complain
    english = email_message({**FACTS, "advice": "Bytt passord."}, SENDER, "en").body
    assert "What you can do\nBytt passord." in english


def test_sms_is_short() -> None:
    long_facts = {**FACTS, "data_categories": ["user.name"] * 3}
    for lang in ("nb", "en"):
        message = sms_message(long_facts, SENDER, lang)  # type: ignore[arg-type]
        assert message.subject is None
        assert len(message.body) <= SMS_LIMIT
        assert SENDER.website in message.body


@pytest.mark.parametrize(
    ("text", "subject", "body"),
    [
        ("Subject: Viktig\n\nHei\n", "Viktig", "Hei\n"),
        ("Hei alle\n", None, "Hei alle\n"),
    ],
)
def test_custom_email_messages(text: str, subject: str | None, body: str) -> None:
    message = custom_message(text, "email")
    assert (message.subject, message.body) == (subject, body)
