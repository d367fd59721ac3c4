"""The access report as PDF: readable text with æøå, every value whole, page numbers."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from datavern.dsr.report import CollectedData, render_access_report
from datavern.notices import pdf as pdf_module
from notice_fixtures import register

AT = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)


def pdf(data: CollectedData, lang: str = "nb", **kwargs: Any) -> bytes:
    return render_access_report(register(), data, lang, "pdf", generated_at=AT, **kwargs)  # type: ignore[arg-type]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Extracted text without the line breaks a table cell wraps at."""
    return re.sub(r"\s+", "", text)


def customer() -> CollectedData:
    return CollectedData.from_nested(
        {
            "kundedb": {
                "kunder": {
                    "fields": {"navn": ["user.name"], "by": ["user.contact.address.city"]},
                    "rows": [{"navn": "Åse Ødegård Ærø", "by": "<i>Tromsø</i>"}],
                }
            }
        },
        identities={"email": "ase@bolge.example"},
    )


def test_pdf_holds_controller_headings_and_values_with_norwegian_letters() -> None:
    data = pdf(customer(), request_id="DSR-7")
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Dine personopplysninger hos Bølgeblikk Drift" in text
    assert "Bølgeblikk Drift AS er behandlingsansvarlig" in text
    for heading in (
        "Hva vi fant",
        "Hva vi bruker opplysningene til",
        "Hvem som får opplysningene",
        "Hvor lenge vi lagrer opplysningene",
        "Klage til Datatilsynet",
        "Opplysningene vi har om deg",
    ):
        assert heading in text, heading
    assert "Åse Ødegård Ærø" in text
    assert "<i>Tromsø</i>" in text  # shown as written, not interpreted
    assert "DSR-7" in flat(text)
    assert "Innhold" not in text  # the table of contents links only work in HTML


def test_pdf_metadata_and_page_numbers() -> None:
    data = pdf(customer(), "en")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Your personal data held by Bølgeblikk Drift AS"
    assert reader.metadata.author == "Bølgeblikk Drift AS"
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) > 1
    for number, page in enumerate(pages, 1):
        assert f"Your personal data held by Bølgeblikk Drift AS · {number}" in page


def test_same_input_gives_the_same_pdf() -> None:
    assert pdf(customer()) == pdf(customer())


def test_pdf_says_when_nothing_was_found() -> None:
    nothing = CollectedData.from_nested({}, identities={"email": "ola@eksempel.no"})
    assert "Vi fant ingen personopplysninger om deg" in pdf_text(pdf(nothing))
    english = pdf_text(pdf(nothing, "en"))
    assert "We found no personal data about you" in english
    assert "Complaints to Datatilsynet" in english


def test_long_values_are_wrapped_and_printed_whole() -> None:
    # A long free text (taller than a page as one cell), a hash without spaces (wider
    # than the page), and many fields: the PDF still renders and holds every character.
    story = " ".join(f"ord{i}æ" for i in range(1500))
    token = "".join(f"{i:04d}" for i in range(150))
    fields = {f"felt{i}": ["user.content.private"] for i in range(7)}
    row = {"felt0": story, "felt1": token, "felt2": "\n".join(["linje"] * 80)}
    data = CollectedData.from_nested({"db": {"notater": {"fields": fields, "rows": [row]}}})
    text = pdf_text(pdf(data))
    # Every word, in order (a page break may put a footer and the table head between them).
    assert re.findall(r"ord\d+æ", text) == story.split()
    assert token in flat(text)
    assert text.count("linje") == 80


def test_many_rows_in_a_narrow_table() -> None:
    rows = [
        {"ip": f"10.0.{i // 250}.{i % 250}", "tid": f"2026-01-01 00:00:{i % 60:02d}"}
        for i in range(400)
    ]
    data = CollectedData.from_nested(
        {"db": {"logg": {"fields": {"ip": ["user.device.ip_address"], "tid": None}, "rows": rows}}}
    )
    text = pdf_text(pdf(data))
    assert "10.0.1.149" in text and "Vi fant 400 oppføringer om deg i 1 system." in text


def test_pdf_without_dejavu_falls_back_to_latin1_core_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pdf_module, "FONT_DIR", tmp_path / "no-fonts")
    text = pdf_text(pdf(customer()))
    assert "Åse Ødegård Ærø" in text and "Klage til Datatilsynet" in text
