"""`datavern check`: exit codes, --fail-on, default paths, and the text/json/sarif formats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from datavern.cli.main import app
from datavern.core.clock import FixedClock, use_clock
from datavern.core.config import reset_settings
from datavern.register.rules import RULES
from lint_fixtures import activity, clean, processor

runner = CliRunner()


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    previous = use_clock(FixedClock(datetime(2025, 3, 1, 12, tzinfo=UTC)))
    yield
    use_clock(previous)


def write(folder: Path, data: dict[str, Any], name: str = "register.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["check", *args])


def with_privacy_shield(data: dict[str, Any]) -> dict[str, Any]:
    data["sub_processors"].append(
        {
            "key": "dropbox",
            "name": "Dropbox",
            "country": "US",
            "service": {"nb": "Fillagring.", "en": "File storage."},
            "data_categories": ["user.contact.email"],
            "dpa_signed": "2020-01-01",
            "transfer": {"basis": "privacy_shield"},
        }
    )
    activity(data)["recipients"].append("dropbox")
    return data


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# ---------------------------------------------------------------- exit codes


def test_clean_register_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, clean())
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings, 0 info" in result.stdout


def test_a_folder_holding_register_yaml_is_checked(tmp_path: Path) -> None:
    write(tmp_path / "reg", clean())
    assert invoke(str(tmp_path / "reg")).exit_code == 0


def test_errors_exit_1_with_file_line_column(tmp_path: Path) -> None:
    path = write(tmp_path, with_privacy_shield(clean()))
    result = invoke(str(path))
    assert result.exit_code == 1
    line = line_of(path, "basis: privacy_shield")
    assert f"{path}:{line}:" in result.stdout
    assert "DV101" in result.stdout and "transfer-basis-invalid" in result.stdout
    assert "Schrems II" in result.stdout  # the legal source
    assert "1 error, 0 warnings, 0 info" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not a terminal


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("error", 0), ("warning", 1), ("info", 1), ("never", 0), ("WARNING", 1)],
)
def test_fail_on_with_a_warning(tmp_path: Path, fail_on: str, expected: int) -> None:
    data = clean()
    del data["organisation"]["org_nr"]  # DV303, a warning
    path = write(tmp_path, data)
    result = invoke(str(path), "--fail-on", fail_on)
    assert result.exit_code == expected, result.output
    assert "DV303" in result.stdout


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 0), ("warning", 0), ("info", 1)])
def test_fail_on_with_info_only(tmp_path: Path, fail_on: str, expected: int) -> None:
    data = clean()
    data["organisation"]["role"] = "both"  # DV307, info
    result = invoke(str(write(tmp_path, data)), "--fail-on", fail_on)
    assert result.exit_code == expected


def test_fail_on_never_still_fails_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text("organisation: [\n", encoding="utf-8")
    assert invoke(str(path), "--fail-on", "never").exit_code == 2


def test_unknown_fail_on_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path, clean())), "--fail-on", "sometimes")
    assert result.exit_code == 2


def test_dpa_in_the_future_follows_the_clock(tmp_path: Path) -> None:
    data = clean()
    processor(data)["dpa_signed"] = "2025-03-02"
    path = write(tmp_path, data)
    assert "DV202" in invoke(str(path)).stdout
    use_clock(FixedClock(datetime(2025, 3, 2, 12, tzinfo=UTC)))
    assert invoke(str(path)).exit_code == 0


# ---------------------------------------------------------------- invalid input


def test_invalid_register_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    data = clean()
    data["organisation"]["org_nr"] = "123456789"
    activity(data)["legal_basis"] = "because"
    path = write(tmp_path, data)
    result = invoke(str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    org_line = line_of(path, "org_nr:")
    basis_line = line_of(path, "legal_basis: because")
    assert f"{path}:{org_line}:" in result.stderr
    assert f"{path}:{basis_line}:" in result.stderr
    assert "invalid register, 2 problems" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "text",
    ["organisation: [\n", "a: b\n  c: d\n", "organisation:\n  name: X\n  name: Y\n", "\x00\x01"],
)
def test_malformed_yaml_exits_2_without_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(text, encoding="utf-8")
    for fmt in ("text", "json", "sarif"):
        result = invoke(str(path), "--format", fmt)
        assert result.exit_code == 2, (fmt, result.output)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_register_exits_2(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nothing.yaml"))
    assert result.exit_code == 2
    assert "no register found" in result.stderr


def test_invalid_input_in_json(tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text("organisation:\n  name: X\n  bogus: 1\n", encoding="utf-8")
    result = invoke(str(path), "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["exit_code"] == 2
    (problem,) = report["findings"]
    assert problem["id"] == "DV000" and problem["severity"] == "error"
    assert problem["location"] == {"file": str(path), "line": 3, "column": 3}
    assert report["summary"] == {"errors": 1, "warnings": 0, "info": 0}


def test_invalid_input_in_sarif(tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text("organisation:\n  name: X\n  bogus: 1\n", encoding="utf-8")
    result = invoke(str(path), "--format", "sarif")
    assert result.exit_code == 2
    sarif = json.loads(result.stdout)
    (res,) = sarif["runs"][0]["results"]
    assert res["ruleId"] == "DV000" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 3}


# ---------------------------------------------------------------- default path


def test_default_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "elsewhere", with_privacy_shield(clean()), name="mine.yaml")
    monkeypatch.setenv("DATAVERN_REGISTER_PATH", str(path))
    reset_settings()
    result = invoke()
    assert result.exit_code == 1
    assert "DV101" in result.stdout


def test_default_register_yaml_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, clean())
    monkeypatch.chdir(tmp_path)
    result = invoke("--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["register"] == "register.yaml"


def test_default_register_folder_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "register", with_privacy_shield(clean()))
    monkeypatch.chdir(tmp_path)
    result = invoke("--format", "json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["location"]["file"] == "register/register.yaml"


def test_no_register_anywhere_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke()
    assert result.exit_code == 2
    assert "DATAVERN_REGISTER_PATH" in result.stderr


# ---------------------------------------------------------------- formats


def test_json_format(tmp_path: Path) -> None:
    data = with_privacy_shield(clean())
    del data["organisation"]["org_nr"]
    path = write(tmp_path, data)
    result = invoke(str(path), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["format"] == "datavern-check/1"
    assert report["valid"] is True and report["exit_code"] == 1 and report["fail_on"] == "error"
    assert report["summary"] == {"errors": 1, "warnings": 1, "info": 0}
    first, second = report["findings"]
    assert first["id"] == "DV101" and first["severity"] == "error"
    assert first["path"] == "sub_processors[1].transfer.basis"
    assert first["location"]["file"] == str(path)
    assert first["location"]["line"] == line_of(path, "basis: privacy_shield")
    assert first["location"]["column"] >= 1
    assert first["legal_source"] == RULES["DV101"].legal_source
    assert first["help_uri"].endswith("lint-rules.md#dv101")
    # a missing field is placed at the mapping that should hold it (its first key)
    assert second["id"] == "DV303" and second["path"] == "organisation.org_nr"
    assert second["location"]["line"] == line_of(path, "name: Eksempel AS")


def test_json_is_stable(tmp_path: Path) -> None:
    path = write(tmp_path, with_privacy_shield(clean()))
    assert (
        invoke(str(path), "--format", "json").stdout == invoke(str(path), "--format", "json").stdout
    )


def test_sarif_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = with_privacy_shield(clean())
    data["organisation"]["role"] = "processor"
    write(tmp_path / "reg", data)
    result = invoke("reg", "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "datavern"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        assert rule["name"] == RULES[rule["id"]].slug
        assert rule["shortDescription"]["text"]
        assert rule["helpUri"].startswith("https://")
        assert rule["helpUri"].endswith(f"#{rule['id'].lower()}")
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    levels = {}
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["message"]["text"]
        (location,) = res["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "reg/register.yaml"
        assert physical["region"]["startLine"] >= 1
        assert physical["region"]["startColumn"] >= 1
        levels[res["ruleId"]] = res["level"]
    assert levels == {"DV101": "error", "DV307": "note"}
    basis = next(r for r in run["results"] if r["ruleId"] == "DV101")
    assert basis["locations"][0]["physicalLocation"]["region"]["startLine"] == line_of(
        tmp_path / "reg" / "register.yaml", "basis: privacy_shield"
    )


def test_findings_in_an_included_file_point_at_that_file(tmp_path: Path) -> None:
    data = with_privacy_shield(clean())
    sub_processors = data.pop("sub_processors")
    data["include"] = ["processors.yaml"]
    write(tmp_path, data)
    included = write(tmp_path, {"sub_processors": sub_processors}, name="processors.yaml")
    result = invoke(str(tmp_path), "--format", "json")
    assert result.exit_code == 1, result.output
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["location"]["file"] == str(included)
    assert finding["location"]["line"] == line_of(included, "basis: privacy_shield")


def test_text_groups_by_severity_and_rule(tmp_path: Path) -> None:
    data = with_privacy_shield(clean())
    del data["organisation"]["org_nr"]
    data["organisation"]["role"] = "both"
    result = invoke(str(write(tmp_path, data)))
    out = result.stdout
    assert out.index("Errors (1)") < out.index("Warnings (1)") < out.index("Info (1)")
    assert out.index("DV101 transfer-basis-invalid") < out.index("DV303 controller-org-nr-missing")
    assert "fix: " in out
    assert out.rstrip().splitlines()[-1] == "1 error, 1 warning, 1 info"


def test_sarif_uri_outside_the_working_directory_is_a_file_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    path = write(tmp_path / "reg", with_privacy_shield(clean()))
    sarif = json.loads(invoke(str(path), "--format", "sarif").stdout)
    (result,) = sarif["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == path.resolve().as_uri()
