"""The notice's HTML as a list of blocks, and those blocks as Markdown.

The HTML templates are the one source of the notice's wording; Markdown and PDF
are made from the blocks of that HTML, so every format carries the same
sections. The parser knows the small set of elements the templates use
(headings, paragraphs, lists, definition lists, tables, links, strong, code);
``<nav>`` (the table of contents) is left out, since its links only work in HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass(frozen=True)
class Inline:
    text: str
    href: str | None = None
    strong: bool = False
    code: bool = False


Span = list[Inline]


@dataclass
class Heading:
    level: int
    text: str
    anchor: str | None = None


@dataclass
class Paragraph:
    spans: Span
    emphasis: bool = False


@dataclass
class BulletList:
    items: list[Span]
    ordered: bool = False


@dataclass
class Definitions:
    items: list[tuple[Span, Span]]


@dataclass
class Table:
    caption: str
    head: list[Span]
    rows: list[list[Span]]
    row_headers: bool = False


Block = Heading | Paragraph | BulletList | Definitions | Table

_TEXT_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dt", "dd", "th", "td", "caption"}
_SPACE = re.compile(r"\s+")


def span_text(span: Span) -> str:
    return "".join(i.text for i in span)


@dataclass
class _Table:
    caption: Span = field(default_factory=list)
    head: list[Span] = field(default_factory=list)
    rows: list[list[Span]] = field(default_factory=list)
    row: list[Span] | None = None
    in_head: bool = False
    row_headers: bool = False


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.skip: list[str] = []
        self.span: Span | None = None
        self.block_tag: str | None = None
        self.block_attrs: dict[str, str | None] = {}
        self.href: list[str | None] = []
        self.strong = 0
        self.code = 0
        self.list: BulletList | None = None
        self.defs: Definitions | None = None
        self.term: Span | None = None
        self.table: _Table | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self.skip:
            if tag not in ("br", "meta", "img", "hr", "input"):
                self.skip.append(tag)
            return
        if tag == "nav" or "hidden" in attributes:
            self.skip.append(tag)
            return
        if tag in _TEXT_BLOCKS:
            self.span = []
            self.block_tag = tag
            self.block_attrs = attributes
            return
        if tag in ("ul", "ol"):
            self.list = BulletList([], ordered=tag == "ol")
        elif tag == "dl":
            self.defs = Definitions([])
        elif tag == "table":
            self.table = _Table()
        elif tag == "thead" and self.table:
            self.table.in_head = True
        elif tag == "tbody" and self.table:
            self.table.in_head = False
        elif tag == "tr" and self.table:
            self.table.row = []
        elif tag == "a":
            self.href.append(attributes.get("href"))
        elif tag in ("strong", "b"):
            self.strong += 1
        elif tag == "code":
            self.code += 1
        elif tag == "br" and self.span is not None:
            self.span.append(Inline("\n"))

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            self.skip.pop()
            return
        if tag == self.block_tag and self.span is not None:
            self._end_text_block(tag, _trim(self.span))
            self.span = None
            self.block_tag = None
            return
        if tag in ("ul", "ol") and self.list is not None:
            self.blocks.append(self.list)
            self.list = None
        elif tag == "dl" and self.defs is not None:
            self.blocks.append(self.defs)
            self.defs = None
        elif tag == "tr" and self.table and self.table.row is not None:
            if self.table.in_head:
                self.table.head = self.table.row
            else:
                self.table.rows.append(self.table.row)
            self.table.row = None
        elif tag == "table" and self.table is not None:
            t = self.table
            self.blocks.append(Table(span_text(t.caption), t.head, t.rows, t.row_headers))
            self.table = None
        elif tag == "a" and self.href:
            self.href.pop()
        elif tag in ("strong", "b"):
            self.strong = max(0, self.strong - 1)
        elif tag == "code":
            self.code = max(0, self.code - 1)

    def handle_data(self, data: str) -> None:
        if self.skip or self.span is None:
            return
        text = _SPACE.sub(" ", data)
        if not text:
            return
        href = self.href[-1] if self.href else None
        self.span.append(Inline(text, href, self.strong > 0, self.code > 0))

    def _end_text_block(self, tag: str, span: Span) -> None:
        if tag[0] == "h" and tag[1:].isdigit():
            self.blocks.append(Heading(int(tag[1:]), span_text(span), self.block_attrs.get("id")))
        elif tag == "p":
            emphasis = "dv-emphasis" in (self.block_attrs.get("class") or "")
            self.blocks.append(Paragraph(span, emphasis))
        elif tag == "li" and self.list is not None:
            self.list.items.append(span)
        elif tag == "dt":
            self.term = span
        elif tag == "dd" and self.defs is not None:
            self.defs.items.append((self.term or [], span))
            self.term = None
        elif tag == "caption" and self.table is not None:
            self.table.caption = span
        elif tag in ("th", "td") and self.table is not None and self.table.row is not None:
            if tag == "th" and self.block_attrs.get("scope") == "row":
                self.table.row_headers = True
            self.table.row.append(span)


def _trim(span: Span) -> Span:
    """Strip the whitespace at the ends of a block and around line breaks."""
    out = [i for i in span if i.text]
    while out and not out[0].text.strip():
        out.pop(0)
    while out and not out[-1].text.strip():
        out.pop()
    if out:
        first, last = out[0], out[-1]
        out[0] = Inline(first.text.lstrip(), first.href, first.strong, first.code)
        last = out[-1]
        out[-1] = Inline(last.text.rstrip(), last.href, last.strong, last.code)
    trimmed: Span = []
    for i, item in enumerate(out):
        text = item.text
        if i > 0 and out[i - 1].text == "\n":
            text = text.lstrip(" ")
        if i + 1 < len(out) and out[i + 1].text == "\n":
            text = text.rstrip(" ")
        if text:
            trimmed.append(Inline(text, item.href, item.strong, item.code))
    return trimmed


def parse_html(html: str) -> list[Block]:
    """Blocks of a notice fragment, in document order."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.blocks


# --- Markdown ------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def md_escape(text: str, *, line_start: bool = True) -> str:
    """Text taken literally by CommonMark/GFM (register texts may hold any character).

    ``line_start``: the text begins a line (or a list item), where ``#``, ``+``, ``-``,
    ``>`` and ``1.`` would start a block.
    """
    text = _MD_SPECIAL.sub(r"\\\1", text)
    if not line_start:
        return text
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def _md_inline(span: Span, *, in_table: bool = False, line_start: bool = True) -> str:
    parts: list[str] = []
    for n, item in enumerate(span):
        at_start = line_start and (n == 0 or span[n - 1].text == "\n") and not in_table
        if item.text == "\n":
            parts.append(" – " if in_table else "  \n")
            continue
        if item.code:
            body = item.text.replace("`", "'")
            text = f"`{body}`"
        else:
            text = md_escape(item.text, line_start=at_start)
        if item.strong and text.strip():
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            text = f"{lead}**{text.strip()}**{trail}"
        if item.href:
            if item.href.startswith("#"):
                pass  # in-page anchors do not survive outside HTML
            elif item.text == item.href or item.href == f"mailto:{item.text}":
                text = f"<{item.text}>"
            else:
                text = f"[{text}](<{item.href}>)"
        parts.append(text)
    return "".join(parts)


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {md_escape(block.text, line_start=False)}")
        elif isinstance(block, Paragraph):
            out.append(_md_inline(block.spans))
        elif isinstance(block, BulletList):
            out.append(
                "\n".join(
                    f"{n}. {_md_inline(item)}" if block.ordered else f"- {_md_inline(item)}"
                    for n, item in enumerate(block.items, 1)
                )
            )
        elif isinstance(block, Definitions):
            out.append(
                "\n".join(
                    f"- **{_md_inline(term).strip('*')}:** {_md_inline(value, line_start=False)}"
                    for term, value in block.items
                )
            )
        elif isinstance(block, Table):
            lines = []
            if block.caption:
                lines.append(f"**{md_escape(block.caption, line_start=False)}**")
                lines.append("")
            head = [_md_inline(c, in_table=True) for c in block.head]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join(" --- " for _ in head) + "|")
            for row in block.rows:
                cells = [_md_inline(c, in_table=True) or " " for c in row]
                lines.append("| " + " | ".join(cells) + " |")
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
