"""Every string of the consent and outbox pages exists in bokmål and English, and every
key a consent template uses is in a catalog (consent's own or the console's); English the
service hands the admin pages (why a purpose needs consent, a refused subject reference or
re-consent) maps to a catalog key, so that none of it reaches a Norwegian page."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest

from datavern.consent import pages, rules
from datavern.consent.messages import EN, NB, translate
from datavern.core.errors import Problem
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


RULES = Path(__file__).resolve().parents[2] / "src" / "datavern" / "consent" / "rules.py"


def test_every_fixed_reason_of_the_register_analysis_has_a_key() -> None:
    reasons = set(re.findall(r'needs, reason = True, "([^"]+)"', RULES.read_text()))
    assert len(reasons) >= 3
    assert sorted(reasons - set(pages.REASONS)) == []
    for key in pages.REASONS.values():
        assert key in NB and key in EN


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "x" * (rules.MAX_SUBJECT_LENGTH + 1),
        "nobody",
        "ola@",
        "email:not-an-address",
        "emailhash:12",
        "visitor:x",
        "account:has space",
    ],
)
def test_every_subject_problem_has_its_own_key(subject: str) -> None:
    with pytest.raises(rules.SubjectError) as caught:
        rules.parse_subject(subject)
    key, values = pages.subject_problem(Problem(str(caught.value), path="subject"))
    assert key != "subject_error", str(caught.value)
    for lang in ("nb", "en"):
        text = translate(lang, key, **values)
        assert "{" not in text and str(caught.value) not in text


def test_reconsent_problems_have_keys() -> None:
    day = date(2001, 1, 1)
    cases = [
        (Problem("the cut-off date 2001-01-01 is in the past", path="cutoff"), "cutoff_past"),
        (Problem("x has only its current text: nothing to ask again", path="purpose"), "only"),
        (Problem("kundeklubb needs no consent: its activities ...", path="purpose"), "no_consent"),
        (Problem("unknown purpose 'x'; known purposes: a", path="purpose"), "unknown"),
        (Problem("something new", path="purpose"), "other"),
    ]
    keys = {
        "cutoff_past": "reconsent_error_cutoff_past",
        "only": "reconsent_error_only_current",
        "no_consent": "reconsent_error_no_consent",
        "unknown": "unknown_purpose",
        "other": "reconsent_error",
    }
    for problem, case in cases:
        key, values = pages.reconsent_problem(problem, day, "nb")
        assert key == keys[case]
        assert "{" not in translate("nb", key, **values)
    key, values = pages.reconsent_problem(cases[0][0], day, "nb")
    assert "1. januar 2001" in translate("nb", key, **values)
