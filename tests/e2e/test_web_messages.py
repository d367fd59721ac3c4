"""Every string the console shows exists in bokmål and English."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from datavern.accounts.rules import ROLES, PasswordProblem
from datavern.core.i18n import LANGUAGES
from datavern.register.schema import CookieCategory, LegalBasis, RetentionAction, TransferBasis
from datavern.web.deps import NAV
from datavern.web.messages import EN, MESSAGES, NB
from datavern.web.views import TRANSFER_PROBLEM_KEYS

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "web" / "templates"
UNITS = ("years", "months", "weeks", "days")
PAGES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "web"


def test_both_languages_have_the_same_keys() -> None:
    assert set(NB) - set(EN) == set()
    assert set(EN) - set(NB) == set()


def test_placeholders_match_between_languages() -> None:
    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    assert [k for k in NB if fields(NB[k]) != fields(EN[k])] == []


def test_every_literal_key_in_templates_and_code_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*(?=[,)])""", path.read_text()))
    for path in PAGES.rglob("*.py"):
        used |= set(re.findall(r"""translate\(\s*lang,\s*["']([a-z0-9_]+)["']""", path.read_text()))
        used |= set(re.findall(r"""_key=["']([a-z0-9_]+)["']""", path.read_text()))
    assert len(used) > 100
    for lang in LANGUAGES:
        assert sorted(used - set(MESSAGES[lang])) == [], lang


@pytest.mark.parametrize(
    "keys",
    [
        [f"role_{r}" for r in ROLES] + [f"role_help_{r}" for r in ROLES],
        [f"basis_{b.value}" for b in LegalBasis],
        [f"transfer_basis_{b.value}" for b in TransferBasis],
        [f"cookie_category_{c.value}" for c in CookieCategory],
        [f"retention_action_{a.value}" for a in RetentionAction],
        [f"pw_{p.value}" for p in PasswordProblem],
        [f"lang_name_{lang}" for lang in LANGUAGES],
        [f"org_role_{r}" for r in ("controller", "processor", "both")],
        [f"recipient_role_{r}" for r in ("controller", "joint_controller")],
        [f"change_{k}" for k in ("added", "removed", "changed")],
        [item.label for item in NAV] + [f"{item.label}_help" for item in NAV],
        list(TRANSFER_PROBLEM_KEYS.values()),
        [
            f"duration_{u}_{n}"
            for u in ("years", "months", "weeks", "days")
            for n in ("one", "many")
        ],
        ["notice_missing_none", "notice_missing_language", "logged_out", "login_required"],
        ["user_added", "role_changed", "user_disabled", "user_enabled"],
    ],
)
def test_every_computed_key_exists(keys: list[str]) -> None:
    for lang in LANGUAGES:
        assert [k for k in keys if k not in MESSAGES[lang]] == [], lang
