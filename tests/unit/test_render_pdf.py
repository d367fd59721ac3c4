"""The PDF notice is a readable document: its text holds the controller and every heading."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from datavern.notices import pdf as pdf_module
from datavern.notices.blocks import Block, Heading, Inline, Paragraph
from datavern.notices.pdf import blocks_to_pdf
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


# A URL-like token with no space to break at, as a register text may hold one.
URL = ("https://leverandor.example/databehandleravtale/" + "a1b2c3d4e5f6" * 30)[:300]
# A purpose so long that its table cell is taller than a page.
PURPOSE_WORDS = [f"formål{i}æøå" for i in range(500)]


def long_texts(data: dict[str, Any]) -> None:
    data["sub_processors"][0]["service"] = {"nb": f"Se {URL}", "en": f"See {URL}"}
    purpose = " ".join(PURPOSE_WORDS)
    data["systems"][0]["processing"][0]["purpose"] = {"nb": purpose, "en": purpose}


@pytest.mark.parametrize("fonts", ["dejavu", "core fonts"])
def test_long_token_and_cell_taller_than_a_page_are_printed_whole(
    fonts: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if fonts == "core fonts":
        monkeypatch.setattr(pdf_module, "FONT_DIR", tmp_path / "no-fonts")
    data = render_notice_pdf(register(long_texts), META, "nb")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    text = "\n".join(pages)
    assert URL in re.sub(r"\s+", "", text)
    # The purpose is printed in full, word for word, wherever the notice names it (a
    # page break puts a footer and the repeated table head between its pieces).
    found = re.findall(r"formål\d+æøå", text)
    assert found and len(found) % len(PURPOSE_WORDS) == 0
    assert found == PURPOSE_WORDS * (len(found) // len(PURPOSE_WORDS))
    # ... and its cell in the table of obligations ran over pages (a table row cannot):
    # the table's head is repeated above the purpose's continuation on the next pages.
    head = "Hvis du ikke gir oss opplysningene"
    assert sum(1 for page in pages if head in page and "formål" in page) >= 2
    assert "Personvernerklæring for Bølgeblikk Drift AS" in text


def test_same_input_gives_the_same_bytes_whatever_was_rendered_before() -> None:
    first = render_notice_pdf(register(), META, "nb")
    # Other documents in between use other characters, styles and the monospace font.
    render_notice_pdf(register(long_texts), META, "en")
    render_pdf_with_other_glyphs()
    assert render_notice_pdf(register(), META, "nb") == first


def render_pdf_with_other_glyphs() -> None:
    blocks: list[Block] = [
        Heading(1, "Ærlig talt: Ωμέγα, Жж, ½ → ∞"),
        Paragraph(
            [
                Inline("kode "),
                Inline("_ga_ØÆÅ", code=True),
                Inline(" og "),
                Inline("fet", strong=True),
            ]
        ),
    ]
    blocks_to_pdf(blocks, title="Annen", author="Annen AS", lang="nb")
