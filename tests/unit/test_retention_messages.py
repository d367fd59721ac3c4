"""Every string the retention pages show exists in bokmål and English."""

from __future__ import annotations

import re
import string
from pathlib import Path

from datavern.retention.messages import EN, NB
from datavern.retention.rules import HOLD_KINDS, HOLD_SCOPES
from datavern.web.messages import MESSAGES as CONSOLE

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "retention" / "templates"
PAGES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "retention" / "pages.py"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(NB) == set(EN)

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    assert [k for k in NB if fields(NB[k]) != fields(EN[k])] == []


def test_every_key_the_pages_use_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*(?=[,)])""", path.read_text()))
    used |= set(re.findall(r"""translate\(\s*lang,\s*["']([a-z0-9_]+)["']""", PAGES.read_text()))
    used |= {f"hold_scope_{s}" for s in HOLD_SCOPES} | {f"hold_kind_{k}" for k in HOLD_KINDS}
    used |= {f"run_state_{s}" for s in ("running", "done", "failed", "abandoned")}
    used |= {f"signature_{s}" for s in ("valid", "invalid", "missing")}
    used |= {f"retention_then_{a}" for a in ("delete", "anonymise", "aggregate")}
    used |= {f"period_{u}{s}" for u in ("year", "month", "week", "day") for s in ("", "s")}
    used |= {"hold_added", "hold_ended"}
    assert len(used) > 60
    for catalog, console in ((NB, CONSOLE["nb"]), (EN, CONSOLE["en"])):
        assert sorted(k for k in used if k not in catalog and k not in console) == []
