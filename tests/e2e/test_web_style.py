"""The stylesheet keeps WCAG AA contrast and a visible focus indicator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "src/datavern/web/static/datavern.css").read_text()
VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("fg", "bg"),
    [
        ("text", "bg"),
        ("text", "bg-soft"),
        ("muted", "bg"),
        ("muted", "bg-soft"),
        ("accent", "bg"),
        ("accent", "bg-soft"),
        ("ok-text", "ok-bg"),
        ("transfer-text", "transfer-bg"),
        ("error-text", "error-bg"),
        ("material-text", "material-bg"),
    ],
)
def test_text_colours_meet_wcag_aa(fg: str, bg: str) -> None:
    assert contrast(VARS[fg], VARS[bg]) >= 4.5


def test_white_on_the_primary_button() -> None:
    assert contrast("#ffffff", VARS["accent"]) >= 4.5


def test_focus_indicator_is_visible() -> None:
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid var\(--focus\)", CSS)
    assert contrast(VARS["focus"], VARS["bg"]) >= 3  # WCAG 1.4.11 non-text contrast


def test_no_external_assets() -> None:
    assert "@import" not in CSS and "url(" not in CSS
