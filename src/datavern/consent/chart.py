"""A small line chart as inline SVG, drawn on the server (no script, no external file).

The admin pages' Content-Security-Policy allows no inline styles, so everything is
drawn with SVG presentation attributes. The two lines differ in dash pattern as
well as colour, and the chart has a title and a description for screen readers;
the page shows the same figures in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]
    colour: str
    dash: str | None = None


def line_chart(
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    width: int = 640,
    height: int = 220,
    ident: str = "chart",
    compact: bool = False,
) -> Markup:
    """An SVG line chart of ``series`` over ``labels`` (same length as every series)."""
    left, right, top, bottom = (4, 4, 4, 4) if compact else (44, 12, 12, 40)
    plot_w = width - left - right
    plot_h = height - top - bottom
    peak = max([1, *(v for s in series for v in s.values)])
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: int) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" class="consent-chart" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    if not compact:
        for value in sorted({0, peak // 2, peak}):
            parts.append(
                f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" '
                'stroke="#d0d0c8" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                f'font-size="12" fill="#444">{value}</text>'
            )
        if labels:
            parts.append(
                f'<text x="{left}" y="{height - bottom + 18}" font-size="12" '
                f'fill="#444">{escape(labels[0])}</text>'
            )
            parts.append(
                f'<text x="{width - right}" y="{height - bottom + 18}" text-anchor="end" '
                f'font-size="12" fill="#444">{escape(labels[-1])}</text>'
            )
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<polyline fill="none" stroke="{s.colour}" stroke-width="{1.5 if compact else 2.5}"'
            f'{dash} points="{points}"/>'
        )
    if not compact:
        lx = left
        for s in series:
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            parts.append(
                f'<line x1="{lx}" y1="{height - 8}" x2="{lx + 24}" y2="{height - 8}" '
                f'stroke="{s.colour}" stroke-width="3"{dash}/>'
            )
            parts.append(
                f'<text x="{lx + 30}" y="{height - 4}" font-size="12" fill="#222">'
                f"{escape(s.label)}</text>"
            )
            lx += 40 + 8 * len(s.label)
    parts.append("</svg>")
    return Markup("".join(parts))
