"""The PDF notice is a readable document: its text holds the controller and every heading."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from datavern.notices import pdf as pdf_module
from datavern.notices.render import NoticeMeta, render_notice_pdf
from notice_fixtures import register

META = NoticeMeta(2, datetime(2026, 1, 5, tzinfo=UTC), "a" * 64)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_holds_controller_and_headings_with_norwegian_letters() -> None:
    data = render_notice_pdf(register(), META, "nb")
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Personvernerklæring for Bølgeblikk Drift AS" in text
    for heading in (
        "Hvem som er ansvarlig",
        "Hva vi behandler, og hvorfor",
        "Overføring til land utenfor EØS",
        "Hvor lenge vi lagrer opplysningene",
        "Dine rettigheter",
        "Klage til Datatilsynet",
        "Om denne erklæringen",
    ):
        assert heading in text, heading
    assert "Åse Ødegård" in text
    assert "Brevdue Inc." in text  # the recipients table


def test_pdf_metadata_names_the_notice() -> None:
    reader = PdfReader(io.BytesIO(render_notice_pdf(register(), META, "en")))
    assert reader.metadata is not None
    assert reader.metadata.title == "Privacy notice – Bølgeblikk Drift AS"
    assert reader.metadata.author == "Bølgeblikk Drift AS"
    assert "Your rights" in pdf_text(render_notice_pdf(register(), META, "en"))


def test_pdf_without_dejavu_falls_back_to_latin1_core_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pdf_module, "FONT_DIR", tmp_path / "no-fonts")
    text = pdf_text(render_notice_pdf(register(), META, "nb"))
    assert "Bølgeblikk Drift AS" in text and "Overføring til land utenfor EØS" in text
