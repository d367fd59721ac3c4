"""The notice as a PDF (fpdf2), drawn from the same blocks as the Markdown.

DejaVu Sans (Debian's fonts-dejavu-core) is embedded when present, so æ, ø, å
and every other character of the register's texts print as written. Without it
the PDF falls back to Helvetica, which holds Latin-1 only (æøå included); other
characters are replaced by their nearest Latin-1 form.

Fonts are read once per process (see ``_cached_font``): each document gets its own
copy of the parsed metrics and a fresh, cheap view of the font file for fpdf2 to
subset, so one PDF never depends on what an earlier one printed and the same
blocks always give the same bytes. A style is embedded only if the document uses it.

Any text fits a table: a word wider than its column (a URL, a hash) is broken
between characters, and a row taller than a page continues on the next rows.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fontTools import ttLib  # fpdf2's own dependency, used here to read each font once
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import FontFace, SubsetMap, TTFFont
from fpdf.util import Padding

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

# fpdf2 logs a warning that quotes the characters a font lacks. In an access report
# those characters come from the data subject's own data, and application logs must
# hold no personal data, so only fpdf2's errors are let through.
logging.getLogger("fpdf").setLevel(logging.ERROR)

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
CELL_LINE = SMALL * 0.48
CELL_PADDING = 1.2
# A row taller than a page is cut into rows of at most this many lines, so that the
# pieces fill pages instead of leaving most of one empty before a page-sized piece.
PIECE_LINES = 30


@dataclass(frozen=True)
class _CachedFont:
    proto: TTFFont  # parsed metrics; never handed to a document itself, only copied
    data: bytes  # the font file, for a fresh fontTools view per document


_FONT_CACHE: dict[tuple[str, int, int, str, str], _CachedFont] = {}
_FONT_LOCK = threading.Lock()


def _cached_font(path: Path, fontkey: str, style: str) -> _CachedFont:
    """The font at ``path``, parsed once per process (again if the file changes)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, fontkey, style)
    with _FONT_LOCK:
        cached = _FONT_CACHE.get(key)
        if cached is None:
            proto = TTFFont(FPDF(), path, fontkey, style)
            proto.close()  # its metrics are read; each document opens its own view
            for old in [k for k in _FONT_CACHE if k[0] == key[0] and k[3:] == key[3:]]:
                del _FONT_CACHE[old]
            cached = _FONT_CACHE[key] = _CachedFont(proto, path.read_bytes())
    return cached


def _add_cached_font(pdf: FPDF, fontkey: str, style: str, path: Path) -> None:
    """What ``pdf.add_font`` does, from the parsed copy instead of the file.

    fpdf2 writes into a font while printing (widths of unknown characters, the subset
    of glyphs used) and cuts the font down to that subset when it outputs the PDF, so
    the document gets its own copy of everything it changes.
    """
    cached = _cached_font(path, fontkey, style)
    proto = cached.proto
    if proto.color_font is not None:  # tied to the FPDF it was read for; not for DejaVu
        pdf.add_font(fontkey, style, str(path))
        return
    font = copy.copy(proto)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(io.BytesIO(cached.data), recalcTimestamp=False, lazy=True)
    font.desc = copy.copy(proto.desc)
    font.cw = copy.copy(proto.cw)
    font.glyph_ids = dict(proto.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.family = "helvetica"
        self.mono = "courier"
        self.unicode = False
        # family (lower case) -> style -> font file, added when first used
        self.font_files: dict[str, dict[str, Path]] = {}

    def set_font(
        self,
        family: str | None = None,
        style: str | TextEmphasis = "",
        size: float = 0,
    ) -> None:
        name = (family or self.font_family).lower()
        letters = style.style if isinstance(style, TextEmphasis) else style
        letters = "".join(sorted(letters.upper().replace("U", "").replace("S", "")))
        path = self.font_files.get(name, {}).get(letters)
        if path is not None and name + letters not in self.fonts:
            _add_cached_font(self, name + letters, letters, path)
        super().set_font(family, style, size)

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
        pdf.font_files["dejavu"] = {style: FONT_DIR / name for style, name in _FONTS.items()}
        pdf.family = "DejaVu"
        pdf.unicode = True
        if (FONT_DIR / _MONO).is_file():
            pdf.font_files["dejavumono"] = {"": FONT_DIR / _MONO}
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


def _column_widths(pdf: _Document, rows: list[list[str]], available: float) -> list[float]:
    """Every column at least as wide as its longest word; the rest shared by content.

    A column is never narrower than a few characters (or than an equal share, in a table
    of very many columns), and no single word claims more than 40 % of the width: a
    longer word (a URL, a hash) is broken between characters inside its cell instead of
    squeezing the other columns until not one character fits.
    """
    columns = max([len(r) for r in rows] or [1])
    padding = 2 * CELL_PADDING + 1
    floor = min(available / columns, pdf.get_string_width("MMMM") + padding)
    cap = max(floor, available * 0.4)
    least = [floor] * columns
    want = [floor] * columns
    for row in rows:
        for i, text in enumerate(row):
            words = text.split() or [""]
            least[i] = max(least[i], *(min(pdf.get_string_width(w) + padding, cap) for w in words))
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


def _cell_lines(pdf: _Document, text: str, width: float, bold: bool) -> list[str]:
    """The lines fpdf2 will print ``text`` on in a table cell ``width`` wide."""
    pdf.set_font(pdf.family, "B" if bold else "", SMALL)
    lines = pdf.multi_cell(
        width,
        CELL_LINE,
        text,
        padding=Padding.new(CELL_PADDING),
        max_line_height=CELL_LINE,
        dry_run=True,
        output="LINES",
    )
    assert isinstance(lines, list)
    return [str(line) for line in lines] or [""]


def _split_row(
    pdf: _Document, row: list[str], widths: list[float], bold_first: bool, fit: int
) -> list[list[str]]:
    """``row`` as it is, or, if a cell is taller than ``fit`` lines (more than a page
    holds: fpdf2 cannot break a table row over pages), cut into consecutive rows of at
    most PIECE_LINES lines each, every cell continuing where it left off."""
    # Cheap first: a word-wrapped line is more than half full unless the next word is
    # wider than half the cell, so no paragraph takes more than 2 * its width / the
    # cell's width + 1 lines. Measured in bold, the wider style.
    pdf.set_font(pdf.family, "B", SMALL)
    if all(
        sum(
            2 * pdf.get_string_width(part) / max(widths[i] - 2 * CELL_PADDING, 1.0) + 1
            for part in text.split("\n")
        )
        <= fit
        for i, text in enumerate(row)
    ):
        return [row]
    lines = [_cell_lines(pdf, t, widths[i], bold_first and i == 0) for i, t in enumerate(row)]
    tallest = max((len(cell) for cell in lines), default=1)
    if tallest <= fit:
        return [row]
    size = min(fit, PIECE_LINES)
    return [["\n".join(cell[k : k + size]) for cell in lines] for k in range(0, tallest, size)]


def _table(pdf: _Document, block: Table) -> None:
    caption = pdf.clean(block.caption)
    head = [pdf.clean(span_text(cell)) for cell in block.head]
    body = [[pdf.clean(span_text(cell)) for cell in row] for row in block.rows]
    # Measured in bold, the widest style a cell uses (headings and row headers).
    pdf.set_font(pdf.family, "B", SMALL)
    widths = _column_widths(pdf, [head, *body], pdf.epw)
    # A row must fit on a page below the headings that fpdf2 repeats at the top of it.
    # Headings taller than a third of a page are printed once, as a plain first row.
    head_height = 0.0
    if head:
        tallest = max(len(_cell_lines(pdf, t, widths[i], True)) for i, t in enumerate(head))
        head_height = tallest * CELL_LINE + 2 * CELL_PADDING
        if head_height > pdf.eph / 3:
            body.insert(0, head)
            head, head_height = [], 0.0
    fit = max(1, math.floor((pdf.eph - head_height - 2 * CELL_PADDING - 1) / CELL_LINE))
    rows = [piece for row in body for piece in _split_row(pdf, row, widths, block.row_headers, fit)]
    if caption:
        # Keep the caption with the headings and the first row.
        pdf.set_font(pdf.family, "B", BODY)
        caption_lines = pdf.multi_cell(0, LINE, caption, dry_run=True, output="LINES")
        assert isinstance(caption_lines, list)
        needed = len(caption_lines) * LINE + 1
        if rows:
            first = [
                len(_cell_lines(pdf, t, widths[i], block.row_headers and i == 0))
                for i, t in enumerate(rows[0])
            ]
            needed += head_height + max(first, default=1) * CELL_LINE + 2 * CELL_PADDING
        if pdf.get_y() + needed > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin + LINE:
            pdf.add_page()
        pdf.set_font(pdf.family, "B", BODY)
        pdf.multi_cell(0, LINE, caption, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.set_font(pdf.family, "", SMALL)
    head_style = FontFace(emphasis="BOLD", fill_color=(230, 234, 238))
    with pdf.table(
        col_widths=tuple(widths),
        text_align="LEFT",
        line_height=CELL_LINE,
        headings_style=head_style,
        first_row_as_headings=bool(head),
        padding=CELL_PADDING,
    ) as table:
        if head:
            heading = table.row()
            for text in head:
                heading.cell(text)
        for cells in rows:
            row = table.row()
            for i, text in enumerate(cells):
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
