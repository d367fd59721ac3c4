"""docs/lint-rules.md documents every lint rule, exactly as register/rules/ defines it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from datavern.register.lint import CheckReport, FailOn, help_uri, to_json
from datavern.register.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md"
SECTION_RE = re.compile(r'<a id="(dv\d{3})"></a>\n### (DV\d{3}) `([a-z0-9-]+)`\n')


def _sections() -> dict[str, tuple[str, str]]:
    """rule id -> (slug, section text)."""
    text = DOCS.read_text(encoding="utf-8")
    matches = list(SECTION_RE.finditer(text))
    sections: dict[str, tuple[str, str]] = {}
    for n, match in enumerate(matches):
        anchor, rule_id, slug = match.groups()
        assert anchor == rule_id.lower(), f"anchor {anchor} does not match {rule_id}"
        assert rule_id not in sections, f"{rule_id} is documented twice"
        end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
        sections[rule_id] = (slug, text[match.end() : end])
    return sections


def test_every_rule_is_documented_and_nothing_else() -> None:
    documented = set(_sections())
    defined = set(RULES)
    assert not defined - documented, f"undocumented rules: {sorted(defined - documented)}"
    assert not documented - defined, (
        f"documented but not in register/rules/: {documented - defined}"
    )


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_section_matches_rules_py(rule_id: str) -> None:
    rule = RULES[rule_id]
    slug, body = _sections()[rule_id]
    assert slug == rule.slug
    assert f"| Severity | {rule.severity.value} |" in body
    assert f"| Legal source | {rule.legal_source} |" in body
    for heading in ("**What it checks.**", "**Why.**", "**How to fix.**"):
        assert heading in body, f"{rule_id} lacks {heading}"
    examples = re.findall(r"```yaml\n(.*?)```", body, re.S)
    assert examples, f"{rule_id} has no YAML example"
    for example in examples:
        _texts_are_whole(yaml.safe_load(example))  # valid YAML, texts not split by commas


def _texts_are_whole(node: object) -> None:
    """A {nb: ..., en: ...} text has only language keys (an unquoted comma would add one)."""
    if isinstance(node, dict):
        if "nb" in node or "en" in node:
            assert set(node) <= {"nb", "en"}, f"a text was split by a comma: {node}"
        for value in node.values():
            _texts_are_whole(value)
    elif isinstance(node, list):
        for item in node:
            _texts_are_whole(item)


def test_help_uri_points_at_the_rule_anchor() -> None:
    for rule in RULES.values():
        assert help_uri(rule).endswith(f"docs/lint-rules.md#{rule.id.lower()}")


def test_documented_json_shape_is_the_real_one() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"### json\n.*?```json\n(.*?)```", text, re.S)
    assert block is not None
    documented = json.loads(block.group(1))
    real = to_json(CheckReport("x", True, []), FailOn.error)
    assert set(documented) == set(real)
    assert documented["format"] == real["format"]
    assert set(documented["summary"]) == set(real["summary"])
    finding_keys = set(documented["findings"][0])
    assert finding_keys == {
        "id",
        "slug",
        "severity",
        "legal_source",
        "message",
        "path",
        "location",
        "fix",
        "help_uri",
    }
