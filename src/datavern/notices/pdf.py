"""The notice as a PDF (fpdf2), drawn from the same blocks as the Markdown.

DejaVu Sans (Debian's fonts-dejavu-core) is embedded when present, so æ, ø, å
and every other character of the register's texts print as written. Without it
the PDF falls back to Helvetica, which holds Latin-1 only (æøå included); other
characters are replaced by their nearest Latin-1 form.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from datavern.notices.blocks import (
    Block,
    BulletList,
    Definitions,
    Heading,
    Paragraph,
    Span,
    Table,
    span_text,
)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONTS = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
_MONO = "DejaVuSansMono.ttf"

# Characters outside Latin-1 that the templates themselves use.
_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "•": "-",
        "…": "...",
        "€": "EUR",
    }
)

BODY = 10.5
LINE = 5.4
SMALL = 8.5


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.family = "helvetica"
        self.mono = "courier"
        self.unicode = False

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.clean(f"{self.footer_text} · {self.page_no()}"), align="C")
        self.set_text_color(0, 0, 0)

    def clean(self, text: str) -> str:
        if self.unicode:
            return text
        text = text.translate(_LATIN1)
        out = []
        for char in text:
            try:
                char.encode("latin-1")
                out.append(char)
            except UnicodeEncodeError:
                folded = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore")
                out.append(folded.decode("latin-1") or "?")
        return "".join(out)


def _load_fonts(pdf: _Document) -> None:
    if all((FONT_DIR / name).is_file() for name in _FONTS.values()):
        for style, name in _FONTS.items():
            pdf.add_font("DejaVu", style, str(FONT_DIR / name))
        pdf.family = "DejaVu"
        pdf.unicode = True
        if (FONT_DIR / _MONO).is_file():
            pdf.add_font("DejaVuMono", "", str(FONT_DIR / _MONO))
            pdf.mono = "DejaVuMono"
        else:
            pdf.mono = "DejaVu"
    if not pdf.unicode:
        pdf.family, pdf.mono = "helvetica", "courier"


def _write_span(pdf: _Document, span: Span, size: float = BODY, bold: bool = False) -> None:
    for item in span:
        if item.text == "\n":
            pdf.ln(LINE)
            continue
        family = pdf.mono if item.code else pdf.family
        style = "B" if (item.strong or bold) and not item.code else ""
        pdf.set_font(family, style, size - (1 if item.code else 0))
        text = pdf.clean(item.text)
        if item.href and not item.href.startswith("#"):
            pdf.set_text_color(11, 92, 173)
            pdf.write(LINE, text, link=item.href)
            pdf.set_text_color(0, 0, 0)
        else:
            pdf.write(LINE, text)
    pdf.set_font(pdf.family, "", BODY)


def _heading(pdf: _Document, block: Heading) -> None:
    sizes = {1: 18.0, 2: 14.0, 3: 12.0}
    size = sizes.get(block.level, 11.0)
    # Keep a heading with the text that follows it.
    if pdf.get_y() > pdf.h - pdf.b_margin - 30:
        pdf.add_page()
    pdf.ln({1: 2, 2: 6, 3: 3}.get(block.level, 2))
    pdf.set_font(pdf.family, "B", size)
    pdf.multi_cell(0, size * 0.5, pdf.clean(block.text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_font(pdf.family, "", BODY)


def _indented(pdf: _Document, marker: str, span: Span, indent: float = 6) -> None:
    left = pdf.l_margin
    pdf.set_x(left)
    pdf.set_font(pdf.family, "", BODY)
    pdf.cell(indent, LINE, pdf.clean(marker))
    pdf.set_left_margin(left + indent)
    _write_span(pdf, span)
    pdf.set_left_margin(left)
    pdf.ln(LINE)
    pdf.set_x(left)


def _column_widths(pdf: _Document, rows: list[list[Span]], available: float) -> list[float]:
    """Every column at least as wide as its longest word; the rest shared by content."""
    columns = max([len(r) for r in rows] or [1])
    padding = 2 * 1.2 + 1
    least = [0.0] * columns
    want = [0.0] * columns
    for row in rows:
        for i, cell in enumerate(row):
            text = pdf.clean(span_text(cell))
            words = text.split() or [""]
            least[i] = max(least[i], *(pdf.get_string_width(w) + padding for w in words))
            lines = text.split("\n")
            want[i] = max(want[i], *(pdf.get_string_width(line) + padding for line in lines))
    want = [min(max(w, m), available * 0.4) for w, m in zip(want, least, strict=True)]
    if sum(least) >= available:
        return [available * m / sum(least) for m in least]
    if sum(want) <= available:
        return [available * w / sum(want) for w in want]
    spare = available - sum(least)
    extra = [w - m for w, m in zip(want, least, strict=True)]
    total = sum(extra) or 1.0
    return [m + spare * e / total for m, e in zip(least, extra, strict=True)]


def _table(pdf: _Document, block: Table) -> None:
    if block.caption:
        pdf.set_font(pdf.family, "B", BODY)
        pdf.multi_cell(0, LINE, pdf.clean(block.caption), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    # Measured in bold, the widest style a cell uses (headings and row headers).
    pdf.set_font(pdf.family, "B", SMALL)
    widths = _column_widths(pdf, [block.head, *block.rows], pdf.epw)
    pdf.set_font(pdf.family, "", SMALL)
    pdf.set_font(pdf.family, "", SMALL)
    head_style = FontFace(emphasis="BOLD", fill_color=(230, 234, 238))
    with pdf.table(
        col_widths=tuple(widths),
        text_align="LEFT",
        line_height=SMALL * 0.48,
        headings_style=head_style,
        first_row_as_headings=bool(block.head),
        padding=1.2,
    ) as table:
        if block.head:
            row = table.row()
            for cell in block.head:
                row.cell(pdf.clean(span_text(cell)))
        for cells in block.rows:
            row = table.row()
            for i, cell in enumerate(cells):
                text = pdf.clean(span_text(cell))
                if i == 0 and block.row_headers:
                    row.cell(text, style=FontFace(emphasis="BOLD"))
                else:
                    row.cell(text)
    pdf.set_font(pdf.family, "", BODY)
    pdf.ln(2)


def blocks_to_pdf(
    blocks: list[Block],
    *,
    title: str,
    author: str,
    lang: str,
    created: datetime | None = None,
) -> bytes:
    """A readable A4 document: title, sections, lists and tables, with page numbers."""
    pdf = _Document(footer_text=title)
    _load_fonts(pdf)
    pdf.set_title(pdf.clean(title))
    pdf.set_author(pdf.clean(author))
    pdf.set_creator("Datavern")
    pdf.set_lang(lang)
    if created is not None:
        # The applied version's date, so one version always yields the same document date.
        pdf.set_creation_date(created)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font(pdf.family, "", BODY)
    for block in blocks:
        if isinstance(block, Heading):
            _heading(pdf, block)
        elif isinstance(block, Paragraph):
            pdf.set_x(pdf.l_margin)
            if block.emphasis:
                _indented(pdf, "▌" if pdf.unicode else "|", block.spans, indent=4)
            else:
                _write_span(pdf, block.spans)
                pdf.ln(LINE)
            pdf.ln(2)
        elif isinstance(block, BulletList):
            for n, item in enumerate(block.items, 1):
                _indented(pdf, f"{n}." if block.ordered else "•", item)
            pdf.ln(2)
        elif isinstance(block, Definitions):
            for term, value in block.items:
                pdf.set_x(pdf.l_margin)
                _write_span(pdf, [*term], bold=True)
                pdf.set_font(pdf.family, "B", BODY)
                pdf.write(LINE, ": ")
                _write_span(pdf, value)
                pdf.ln(LINE)
            pdf.ln(2)
        elif isinstance(block, Table):
            _table(pdf, block)
    return bytes(pdf.output())
