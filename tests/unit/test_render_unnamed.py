"""The notice says honestly what the register records but cannot name: an unknown
country, clauses without a version, recipients and transfers without names (the
facts behind DV109, DV110, DV111 and DV208)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from datavern.notices.render import render_notice_fragment, render_notice_markdown
from datavern.register.schema import Register
from lint_fixtures import both, clean

NO_TRANSFERS = {
    "nb": "Vi overfører ikke personopplysninger til land utenfor EØS.",
    "en": "We do not transfer personal data to countries outside the EEA.",
}
NO_RECIPIENTS = {
    "nb": "Vi deler ikke personopplysninger med leverandører eller andre",
    "en": "We do not share personal data with suppliers or anyone else",
}


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"section {section_id} missing"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def render(data: dict[str, Any], lang: str) -> str:
    return render_notice_fragment(Register.model_validate(data), None, lang)


def with_recipient(**fields: Any) -> dict[str, Any]:
    data = clean()
    entry = {
        "key": "mailer",
        "name": "Postmann Ltd",
        "service": both("Utsending av e-post.", "Sending e-mail."),
        "data_categories": ["user.contact.email"],
        "dpa_signed": "2024-02-01",
        **fields,
    }
    data["sub_processors"].append(entry)
    data["systems"][0]["processing"][0]["recipients"].append("mailer")
    return data


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_a_register_that_names_everything_says_there_are_no_transfers(lang: str) -> None:
    html = render(clean(), lang)
    assert NO_TRANSFERS[lang] in section(html, "dv-transfers")


@pytest.mark.parametrize(
    ("lang", "country", "basis", "unknown_sentence"),
    [
        (
            "nb",
            "ukjent land",
            "Ukjent. Vi har ikke oppgitt hvor mottakeren holder til",
            "Vi har ikke oppgitt hvor Postmann Ltd holder til. Derfor kan vi ikke si om "
            "opplysninger som deles med denne mottakeren, overføres til land utenfor EØS.",
        ),
        (
            "en",
            "unknown country",
            "Unknown. We have not stated where the recipient is based",
            "We have not stated where Postmann Ltd is based, so we cannot say whether data "
            "shared with this recipient is transferred to countries outside the EEA.",
        ),
    ],
)
def test_an_unknown_country_is_said_not_guessed(
    lang: str, country: str, basis: str, unknown_sentence: str
) -> None:
    html = render(with_recipient(country="unknown"), lang)
    recipients = section(html, "dv-recipients")
    assert country in recipients and basis in recipients
    transfers = section(html, "dv-transfers")
    assert unknown_sentence in transfers
    assert NO_TRANSFERS[lang] not in transfers
    # The EEA wording is not used for a recipient nobody can place.
    assert "Innenfor EØS" not in recipients.split("Postmann Ltd", 1)[1]


def test_an_unknown_country_with_a_known_place_outside_the_eea_is_a_transfer() -> None:
    html = render(
        with_recipient(country="unknown", locations=["US"], transfer={"basis": "scc_2021"}), "nb"
    )
    transfers = section(html, "dv-transfers")
    assert "Postmann Ltd (USA)" in transfers
    assert "Vi har ikke oppgitt hvor Postmann Ltd" not in transfers


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("nb", "uten at vi har oppgitt hvilke. Bare standardavtalene fra 2021"),
        ("en", "without our stating which. Only the 2021 clauses"),
    ],
)
def test_clauses_without_a_version_are_shown_as_such(lang: str, words: str) -> None:
    html = render(with_recipient(country="US", transfer={"basis": "scc_unversioned"}), lang)
    assert words in section(html, "dv-transfers")
    # Not offered as a copy of valid safeguards.
    assert "kopi av garantiene" not in section(html, "dv-transfers")


@pytest.mark.parametrize(
    ("lang", "lead"),
    [
        ("nb", "Vi deler også personopplysninger med mottakere som ikke er navngitt"),
        ("en", "We also share personal data with recipients this notice does not name"),
    ],
)
def test_unnamed_recipients_are_named_as_unnamed(lang: str, lead: str) -> None:
    data = clean()
    data["organisation"]["unnamed_recipients"] = both(
        "Utvalgte leverandører innen drift.", "Selected operations suppliers."
    )
    recipients = section(render(data, lang), "dv-recipients")
    assert lead in recipients
    assert ("Utvalgte leverandører innen drift." if lang == "nb" else "Selected operations") in (
        recipients
    )


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_unnamed_recipients_alone_never_claim_that_nothing_is_shared(lang: str) -> None:
    data = clean()
    data["sub_processors"] = []
    data["systems"][0]["processing"][0]["recipients"] = []
    data["organisation"]["unnamed_recipients"] = both("Partnere.", "Partners.")
    recipients = section(render(data, lang), "dv-recipients")
    assert NO_RECIPIENTS[lang] not in recipients
    assert ("Vi deler personopplysninger med mottakere" if lang == "nb" else "We share") in (
        recipients
    )


@pytest.mark.parametrize(
    ("lang", "lead"),
    [
        ("nb", "Opplysninger kan også bli overført til land utenfor EØS uten at vi her oppgir"),
        ("en", "Data may also be transferred to countries outside the EEA without this notice"),
    ],
)
def test_unspecified_transfers_are_stated(lang: str, lead: str) -> None:
    data = clean()
    data["organisation"]["unspecified_transfers"] = both(
        "Noen leverandører kan behandle data utenfor EØS.", "Some suppliers may process data."
    )
    transfers = section(render(data, lang), "dv-transfers")
    assert lead in transfers
    assert NO_TRANSFERS[lang] not in transfers


def test_the_markdown_carries_the_same_sentences() -> None:
    data = with_recipient(country="unknown")
    data["organisation"]["unspecified_transfers"] = both("Kan skje.", "May happen.")
    markdown = render_notice_markdown(Register.model_validate(data), None, "nb")
    assert "ukjent land" in markdown
    assert "Vi har ikke oppgitt hvor Postmann Ltd holder til." in markdown
    assert "uten at vi her oppgir mottaker, land eller grunnlaget" in markdown
