"""Every string of the privacy centre and the request pages exists in bokmål and English,
with the same placeholders, and every key the templates and pages use exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from datavern.dsr.case_models import CASE_KINDS, CASE_STATUSES
from datavern.dsr.messages import EN, NB
from datavern.web.messages import MESSAGES

DSR = Path(__file__).resolve().parents[2] / "src" / "datavern" / "dsr"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(NB) ^ set(EN) == set()

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    assert [k for k in NB if fields(NB[k]) != fields(EN[k])] == []


def test_every_key_used_by_the_templates_and_pages_exists() -> None:
    used: set[str] = set()
    for path in (DSR / "templates" / "pc").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*(?=[,)])""", path.read_text()))
    for path in (DSR / "templates" / "pc_admin").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*(?=[,)])""", path.read_text()))
    for name in ("pages.py", "cases.py"):
        text = (DSR / name).read_text()
        used |= set(re.findall(r'"((?:pc|rq|case_err)_[a-z0-9_]+)"', text))
    used -= {"pc_limits", "pc_oidc", "pc_oidc_callback"}  # app attributes and a route name
    computed = (
        [f"kind_{k}" for k in CASE_KINDS]
        + [f"pc_right_{k}" for k in CASE_KINDS]
        + [f"pc_status_{s}" for s in CASE_STATUSES]
        + [f"pc_explain_{s}" for s in CASE_STATUSES]
        + [f"rq_status_{s}" for s in CASE_STATUSES]
        + [f"rq_approve_hint_{k}" for k in CASE_KINDS]
        + [f"rq_channel_{c}" for c in ("web", "api", "agent")]
        + [f"rq_method_{m}" for m in ("email_code", "oidc", "agent", "token")]
        + [f"pc_correction_{f}" for f in ("name", "email", "phone", "address", "other")]
    )
    used |= set(computed)
    assert len(used) > 150
    for lang in ("nb", "en"):
        assert sorted(k for k in used if k not in MESSAGES[lang]) == [], lang
