"""The runner's pure parts: exit codes, summaries, error conversion, the output shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from datavern.core.errors import DatavernError, InvalidInput, Location, Problem
from datavern.register.lint import (
    CheckReport,
    Entry,
    FailOn,
    _problem_from_exception,
    entries_from_problems,
    summary_line,
    to_json,
    to_sarif,
)
from datavern.register.rules import RULES, Rule
from datavern.register.schema import Register


def entry(rule_id: str, location: Location | None = None) -> Entry:
    rule: Rule = RULES[rule_id]
    return Entry(rule, "message", "organisation", rule.fix, location)


ERROR, WARNING, INFO = "DV101", "DV303", "DV307"


@pytest.mark.parametrize(
    ("ids", "fail_on", "expected"),
    [
        ([], FailOn.error, 0),
        ([], FailOn.info, 0),
        ([ERROR], FailOn.error, 1),
        ([ERROR], FailOn.never, 0),
        ([WARNING], FailOn.error, 0),
        ([WARNING], FailOn.warning, 1),
        ([WARNING], FailOn.info, 1),
        ([INFO], FailOn.warning, 0),
        ([INFO], FailOn.info, 1),
        ([INFO, WARNING, ERROR], FailOn.error, 1),
    ],
)
def test_exit_code(ids: list[str], fail_on: FailOn, expected: int) -> None:
    report = CheckReport("r", True, [entry(i) for i in ids])
    assert report.exit_code(fail_on) == expected


@pytest.mark.parametrize("fail_on", list(FailOn))
def test_invalid_input_is_always_2(fail_on: FailOn) -> None:
    report = CheckReport("r", False, entries_from_problems([Problem("bad")]))
    assert report.exit_code(fail_on) == 2


def test_summary_line_counts_each_severity() -> None:
    report = CheckReport("r", True, [entry(ERROR), entry(ERROR), entry(WARNING)])
    assert summary_line(report) == "2 errors, 1 warning, 0 info"
    assert summary_line(CheckReport("r", True, [])) == "0 errors, 0 warnings, 0 info"


def test_yaml_errors_keep_the_position_but_not_the_line() -> None:
    """PyYAML quotes the offending line; that line may hold personal data."""
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.safe_load("a: 1\nb: [Ola Nordmann, 01017012345\n")
    assert "Nordmann" in str(caught.value)  # what we must not pass on
    (problem,) = _problem_from_exception(caught.value, Path("register.yaml"))
    assert "Nordmann" not in problem.message and "0101" not in problem.message
    assert problem.location is not None and problem.location.line is not None


def test_validation_errors_become_problems_with_paths() -> None:
    with pytest.raises(ValidationError) as caught:
        Register.model_validate({"organisation": {"name": "X", "role": "owner"}})
    problems = _problem_from_exception(caught.value, Path("r.yaml"))
    assert [p.path for p in problems] == ["organisation.role"]


def test_other_errors_become_problems() -> None:
    path = Path("r.yaml")
    assert _problem_from_exception(InvalidInput([Problem("a"), Problem("b")]), path) == [
        Problem("a"),
        Problem("b"),
    ]
    (p,) = _problem_from_exception(DatavernError("broken"), path)
    assert p.message == "broken"
    (p,) = _problem_from_exception(PermissionError(13, "Permission denied", "r.yaml"), path)
    assert p.message == "cannot read: Permission denied"
    (p,) = _problem_from_exception(RecursionError(), path)
    assert "nested too deeply" in p.message


def test_json_counts_invalid_input_as_errors() -> None:
    report = CheckReport("r", False, entries_from_problems([Problem("bad", Location("r", 2, 3))]))
    data = to_json(report, FailOn.never)
    assert data["valid"] is False and data["exit_code"] == 2
    assert data["summary"] == {"errors": 1, "warnings": 0, "info": 0}
    assert data["findings"][0]["id"] == "DV000"
    assert data["findings"][0]["location"] == {"file": "r", "line": 2, "column": 3}


def test_sarif_result_without_a_place_has_no_location() -> None:
    report = CheckReport("r", False, entries_from_problems([Problem("no register found")]))
    (result,) = to_sarif(report)["runs"][0]["results"]
    assert "locations" not in result
    assert result["ruleId"] == "DV000" and result["level"] == "error"


def test_sarif_levels() -> None:
    report = CheckReport(
        "r", True, [entry(i, Location("r.yaml", 1, 1)) for i in (ERROR, WARNING, INFO)]
    )
    results = to_sarif(report)["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
