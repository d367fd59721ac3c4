"""Every string of the consent and outbox pages exists in bokmål and English, and every
key a consent template uses is in a catalog (consent's own or the console's)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from datavern.consent.messages import EN, NB
from datavern.web.messages import MESSAGES as CONSOLE

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "consent" / "templates"
PAGES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "consent" / "pages.py"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(NB) == set(EN)

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    assert [k for k in NB if fields(NB[k]) != fields(EN[k])] == []


def test_every_key_the_templates_and_pages_use_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*(?=[,)])""", path.read_text()))
    used |= set(re.findall(r"""_key["']?\s*[:=]\s*["']([a-z0-9_]+)["']""", PAGES.read_text()))
    used |= {f"decision_{d}" for d in ("grant", "deny", "withdraw", "object")}
    used |= {f"outbox_status_{s}" for s in ("kept", "pending", "sent", "failed")}
    assert len(used) > 60
    for lang, catalog in (("nb", NB), ("en", EN)):
        assert sorted(k for k in used if k not in catalog and k not in CONSOLE[lang]) == []
