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


def place(path: Path, needle: str) -> tuple[int, int]:
    """(line, column), 1-based, of the first occurrence of ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


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


# ---------------------------------------------------------------- the dataset graph


GRAPH_REGISTER = """\
organisation:
  name: Eksempel AS
  org_nr: "923609016"
  email: personvern@eksempel.no
  address: {street: Storgata 1, postal_code: "0155", city: Oslo}
  languages: [nb]
systems:
  - key: crm
    name: Kunderegister
    processing:
      - key: kunder
        purpose: Levere tjenesten.
        data_use: essential.service
        data_categories: [user.contact.email, user.name]
        data_subjects: [customer]
        legal_basis: contract
        requirement: contractual
        requirement_consequence: Uten e-post kan vi ikke levere tjenesten.
        retention: {period: P3Y, trigger: contract_end}
dataset:
  - fides_key: shop
    collections:
      - name: orders
        fields:
          - name: id
          - name: customer_id
            fides_meta:
              references:
                - dataset: shop
                  field: customers.nope
                  direction: from
      - name: customers
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: id
      - name: notes
        fides_meta: {after: [shop.gone]}
        fields:
          - name: author
            data_categories: [user.name]
"""


def test_dataset_graph_errors_point_at_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(GRAPH_REGISTER, encoding="utf-8")
    result = invoke(str(path), "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    got = {
        (f["id"], f["path"], f["location"]["line"], f["location"]["column"])
        for f in report["findings"]
    }
    assert got == {
        # collections and fields are sorted by name in the model: orders is [2]
        (
            "DV952",
            "dataset[0].collections[2].fields[0].fides_meta.references[0]",
            *place(path, "dataset: shop"),
        ),
        ("DV954", "dataset[0].collections[1].fides_meta.after[0]", *place(path, "shop.gone")),
        ("DV951", "dataset[0].collections[1]", *place(path, "name: notes")),
    }
    messages = {f["id"]: f["message"] for f in report["findings"]}
    assert messages["DV952"].endswith("[dsr-reference-unknown-field]")
    assert "shop.notes" in messages["DV951"]


# ---------------------------------------------------------------- TODO markers


def test_todo_markers_in_values_and_comments(tmp_path: Path) -> None:
    data = clean()
    data["organisation"]["address"]["street"] = "TODO: Gateadresse 1"
    path = write(tmp_path, data)
    text = path.read_text(encoding="utf-8").replace(
        "country: 'NO'\n", "country: 'NO'                # TODO: where it is established\n", 1
    )
    text = "# Lines marked TODO hold placeholders.\n" + text
    path.write_text(text, encoding="utf-8")
    result = invoke(str(path), "--format", "json")
    assert result.exit_code == 0, result.output  # warnings do not fail by default
    todos = [f for f in json.loads(result.stdout)["findings"] if f["id"] == "DV904"]
    assert [(f["path"], f["location"]["line"]) for f in todos] == [
        ("organisation.address.street", line_of(path, "street: 'TODO")),
        ("", line_of(path, "# TODO: where")),
    ]
    assert (todos[1]["location"]["line"], todos[1]["location"]["column"]) == place(
        path, "# TODO: where"
    )
    assert invoke(str(path), "--fail-on", "warning").exit_code == 1


# ---------------------------------------------------------------- --live


@pytest.fixture
def connection_key(monkeypatch: pytest.MonkeyPatch) -> str:
    from datavern.connectors.secrets import KEY_ENV, generate_key

    key = generate_key()
    monkeypatch.setenv(KEY_ENV, key)
    return key


def _shop_register(**dsr: Any) -> dict[str, Any]:
    """The register of the test shop (tests/integration/conftest.py), declared with
    one column that is not there, one table that is not there, and two things left
    out: customers.phone and the access_log table."""
    data = clean()
    activity(data)["data_categories"] = ["user"]  # covers every dataset category
    data["dataset"] = [
        {
            "fides_key": "shop",
            "collections": [
                {
                    "name": "customers",
                    "fields": [
                        {"name": "id", "fides_meta": {"primary_key": True}},
                        {
                            "name": "email",
                            "data_categories": ["user.contact.email"],
                            "fides_meta": {"identity": "email"},
                        },
                        {"name": "name", "data_categories": ["user.name"]},
                        {"name": "born", "data_categories": ["user.demographic.date_of_birth"]},
                        {"name": "status"},
                        {"name": "note", "data_categories": ["user.content.private"]},
                        {"name": "loyalty_points"},
                    ],
                },
                {
                    "name": "orders",
                    "fields": [
                        {"name": "id", "fides_meta": {"primary_key": True}},
                        {
                            "name": "customer_id",
                            "fides_meta": {
                                "references": [
                                    {
                                        "dataset": "shop",
                                        "field": "customers.id",
                                        "direction": "from",
                                    }
                                ]
                            },
                        },
                        {"name": "amount"},
                        {"name": "shipped_to", "data_categories": ["user.contact.address"]},
                    ],
                },
                {"name": "invoices", "fields": [{"name": "id"}]},
            ],
        }
    ]
    if dsr:
        data["dsr"] = dsr
    return data


def test_live_compares_declared_collections_and_fields_with_the_database(
    tmp_path: Path, shop_url: str, connection_key: str
) -> None:
    added = runner.invoke(app, ["connection", "add", "shop", shop_url])
    assert added.exit_code == 0, added.output
    path = write(tmp_path, _shop_register())
    # Without --live nothing is read from the database.
    plain = json.loads(invoke(str(path), "--format", "json").stdout)
    assert not [f for f in plain["findings"] if f["id"].startswith("DV95")]

    result = invoke(str(path), "--live", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    live = {(f["id"], f["path"]) for f in report["findings"] if f["id"].startswith("DV95")}
    assert live == {
        # customers is collections[0], invoices [1], orders [2]; fields sorted by name
        ("DV956", "dataset[0].collections[0].fields[3]"),  # customers.loyalty_points
        ("DV955", "dataset[0].collections[1]"),  # invoices
        ("DV957", "dataset[0].collections[0].fields"),  # customers.phone
        ("DV957", "dataset[0].collections"),  # the access_log table
    }
    by_id = {f["id"]: f for f in report["findings"]}
    assert by_id["DV956"]["location"]["line"] == line_of(path, "name: loyalty_points")
    assert by_id["DV955"]["location"]["line"] == line_of(path, "name: invoices")
    text = result.stdout
    assert "'loyalty_points'" in text and "'invoices'" in text
    assert "'phone'" in text and "access_log" in text and "customer_email" in text
    # Names only: no value from the database is read or shown.
    assert "ola@example.no" not in text and "Nordmann" not in text


@pytest.mark.parametrize("shop_url", ["postgres"], indirect=True)
def test_live_finds_a_table_outside_the_default_schema(
    tmp_path: Path, shop_url: str, connection_key: str
) -> None:
    assert runner.invoke(app, ["connection", "add", "shop", shop_url]).exit_code == 0
    data = clean()
    data["dataset"] = [
        {
            "fides_key": "crm",
            "fides_meta": {"namespace": {"schema": "crm"}},
            "collections": [
                {
                    "name": "contacts",
                    "fields": [
                        {"name": "id"},
                        {
                            "name": "email",
                            "data_categories": ["user.contact.email"],
                            "fides_meta": {"identity": "email"},
                        },
                        {"name": "mobile", "data_categories": ["user.contact.phone_number"]},
                    ],
                }
            ],
        }
    ]
    data["dsr"] = {"connections": {"crm": "shop"}}
    activity(data)["data_categories"] = ["user"]
    result = invoke(str(write(tmp_path, data)), "--live", "--format", "json")
    live = [f for f in json.loads(result.stdout)["findings"] if f["id"] in ("DV955", "DV956")]
    # crm.contacts exists (id, email); only the declared mobile column does not.
    assert [(f["id"], f["path"]) for f in live] == [
        ("DV956", "dataset[0].collections[0].fields[2]")
    ]
    assert "'crm.contacts'" in live[0]["message"]


def test_live_follows_dsr_connections(tmp_path: Path, shop_url: str, connection_key: str) -> None:
    assert runner.invoke(app, ["connection", "add", "butikk", shop_url]).exit_code == 0
    path = write(tmp_path, _shop_register(connections={"shop": "butikk"}))
    report = json.loads(invoke(str(path), "--live", "--format", "json").stdout)
    assert {f["id"] for f in report["findings"]} >= {"DV955", "DV956"}


def test_live_without_a_connection_skips_the_dataset_with_a_note(
    tmp_path: Path, connection_key: str
) -> None:
    path = write(tmp_path, clean())
    result = invoke(str(path), "--live", "--format", "json")
    assert result.exit_code == 0, result.output
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["id"] == "DV959" and finding["path"] == "dataset[0]"


@pytest.mark.parametrize("fail_on", ["error", "never"])
def test_live_with_an_unknown_connection_exits_2(
    tmp_path: Path, connection_key: str, fail_on: str
) -> None:
    path = write(tmp_path, _shop_register(connections={"shop": "nowhere"}))
    result = invoke(str(path), "--live", "--fail-on", fail_on)
    assert result.exit_code == 2, result.output
    assert "DV958" in result.stdout and "'nowhere'" in result.stdout
    assert line_of(path, "shop: nowhere") and f"{path}:{line_of(path, 'shop: nowhere')}:" in (
        result.stdout
    )
    assert "comparison is incomplete" in result.stdout
    assert "Traceback" not in result.output


def test_live_with_an_unreachable_server_exits_2_without_the_password(
    tmp_path: Path, connection_key: str
) -> None:
    secret = "Hemmelig-Passord-42"
    url = f"postgresql://datavern:{secret}@127.0.0.1:1/shop"
    assert runner.invoke(app, ["connection", "add", "shop", url]).exit_code == 0
    path = write(tmp_path, _shop_register())
    result = invoke(str(path), "--live", "--format", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["exit_code"] == 2
    (finding,) = [f for f in report["findings"] if f["id"] == "DV958"]
    assert "'shop'" in finding["message"]
    assert secret not in result.output


def test_live_without_the_key_says_how_to_set_it(
    tmp_path: Path, shop_url: str, connection_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["connection", "add", "shop", shop_url]).exit_code == 0
    monkeypatch.delenv("DATAVERN_CONNECTION_KEY")
    result = invoke(str(write(tmp_path, _shop_register())), "--live")
    assert result.exit_code == 2
    assert "DV958" in result.stdout and "DATAVERN_CONNECTION_KEY" in result.stdout
