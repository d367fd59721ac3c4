"""`datavern dsr ...` as a user runs it: exit codes, messages, no tracebacks (real SQLite shop)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dsr_fixtures
from datavern.dsr.cli import app
from dsr_fixtures import DATASET, OLA, ORGANISATION, Shop

sqlite_shop = dsr_fixtures.sqlite_shop
runner = CliRunner()


def dsr(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    output = result.output
    assert "Traceback" not in output
    return result.exit_code, output


def test_plan_prints_the_walk_and_reads_nothing(sqlite_shop: Shop) -> None:
    code, out = dsr("plan", "--identity", f"email={OLA}")
    assert code == 0, out
    assert "shop.customers" in out and "shop.ticket_messages" in out
    assert "Erasure order" in out
    assert OLA not in out  # the plan shows placeholders, never the value
    code, out = dsr("plan", "--identity", f"email={OLA}", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["identities"] == ["email"]
    assert {s["collection"] for s in plan["steps"]} >= {"customers", "invoices"}


def test_plan_from_a_register_file_needs_no_applied_register(tmp_path: Path) -> None:
    (tmp_path / "register.yaml").write_text(ORGANISATION + DATASET)
    code, out = dsr("plan", "--identity", "phone=91234567", "--register", str(tmp_path))
    assert code == 0, out
    assert "by identity phone: phone" in out


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ("shoe_size=44", "unknown identity type 'shoe_size'; known identity types:"),
        ("fnr=17058012328", "the second check digit (digit 11) does not match"),
        ("email=not-an-address", "not a valid e-mail address"),
        ("email", "NAME=VALUE"),
    ],
)
def test_bad_identities_exit_2_with_a_clear_message(
    sqlite_shop: Shop, identity: str, message: str
) -> None:
    for command in ("plan", "access", "erase", "restrict"):
        code, out = dsr(command, "--identity", identity)
        assert code == 2, (command, out)
        assert message in " ".join(out.split())
        assert "17058012328" not in out and "not-an-address" not in out


def test_access_writes_the_package(sqlite_shop: Shop, tmp_path: Path) -> None:
    target = tmp_path / "ola.zip"
    code, out = dsr("access", "--identity", f"email={OLA}", "--output", str(target), "--lang", "nb")
    assert code == 0, out
    assert "package written to" in out and "done" in out
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    assert "data.json" in names and "report.nb.pdf" in names and "report.en.pdf" not in names


def test_erase_dry_run_then_erase_then_status(sqlite_shop: Shop) -> None:
    code, out = dsr("erase", "--identity", f"email={OLA}", "--dry-run")
    assert code == 0, out
    assert "dry run" in out
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": OLA}]
    code, out = dsr("erase", "--identity", f"email={OLA}")
    assert code == 0, out
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": None}]
    code, out = dsr("status")
    assert code == 0 and out.count("erasure") == 2
    code, out = dsr("status", "--json")
    listed = json.loads(out)
    request_id = next(r["id"] for r in listed if not r["dry_run"])
    code, out = dsr("status", request_id[:8])
    assert code == 0 and "verify" in out and "done" in out
    code, out = dsr("holds", "--json")
    assert code == 0
    assert [(h["collection"], h["fields"], h["erase_on"]) for h in json.loads(out)] == [
        ("shop.invoices", ["buyer_address", "buyer_name"], "2030-01-01")
    ]
    assert dsr("holds")[0] == 0
    code, out = dsr("run-due", "--json")
    assert code == 0 and json.loads(out)["due"] == 0


def test_rectify_restrict_and_may_process(sqlite_shop: Shop) -> None:
    code, out = dsr("rectify", "--identity", f"email={OLA}", "--set", "phone=+47 22 33 44 55")
    assert code == 0, out
    assert sqlite_shop.read("SELECT phone FROM customers WHERE id = 1") == [
        {"phone": "+4722334455"}
    ]
    assert dsr("may-process", "--identity", f"email={OLA}", "--purpose", "marketing")[0] == 0
    code, out = dsr("restrict", "--identity", f"email={OLA}")
    assert code == 0, out
    code, out = dsr("may-process", "--identity", f"email={OLA}", "--purpose", "marketing")
    assert code == 1 and "no" in out and "art. 18" in out
    code, out = dsr("may-process", "-i", f"email={OLA}", "-p", "functional.storage", "--json")
    assert code == 0 and json.loads(out)["restricted"] is True
    assert dsr("lift-restriction", "--identity", f"email={OLA}")[0] == 0
    assert dsr("may-process", "--identity", f"email={OLA}", "--purpose", "marketing")[0] == 0


def test_an_unknown_request_id_is_invalid_input(sqlite_shop: Shop) -> None:
    code, out = dsr("resume", "0123456789abcdef")
    assert code == 2 and "no request with id" in out
    code, out = dsr("status", "not-hex!")
    assert code == 2


def test_a_failed_request_exits_1_and_says_how_to_resume(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(
        dsr_fixtures.DSR_DEFAULT + "  masking:\n    fields:\n      shop.customers.born: hmac\n"
    )
    code, out = dsr("erase", "--identity", f"email={OLA}")
    assert code == 1
    assert "shop.customers.born: hmac cannot be used" in " ".join(out.split())
    assert "datavern dsr resume" in out


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("- name: orders\n", "- name: 'orders; DROP TABLE customers; --'\n"),
        ("- name: shipped_to\n", "- name: 'shipped_to FROM orders; DROP TABLE customers; --'\n"),
        ("- name: shipped_to\n", "- name: 'x\" OR 1=1 --'\n"),
    ],
)
def test_dataset_names_carrying_sql_do_nothing_harmful(
    sqlite_shop: Shop, old: str, new: str
) -> None:
    sqlite_shop.apply(dataset=DATASET.replace(old, new, 1).replace("orders.id", "orders.id"))
    before = {t: sqlite_shop.table(t) for t in ("customers", "orders")}
    code, out = dsr("erase", "--identity", f"email={OLA}")
    assert code == 1, out
    assert "does not have" in out or "has no table" in out
    assert {t: sqlite_shop.table(t) for t in before} == before


def test_plan_live_names_what_the_database_lacks(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(
        dataset=DATASET.replace("          - name: status\n", "          - name: nickname\n"
                                "          - name: status\n")
    )  # fmt: skip
    code, out = dsr("plan", "--identity", f"email={OLA}", "--live")
    assert code == 0, out
    assert "shop.customers: field(s) nickname are declared" in " ".join(out.split())


def test_a_typo_in_the_dsr_section_stops_the_requests_it_concerns(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(
        dsr_fixtures.DSR_DEFAULT + "  masking:\n    fields:\n      shop.customers.emial: hmac\n"
    )
    code, out = dsr("erase", "--identity", f"email={OLA}")
    assert code == 2
    assert "shop.customers.emial" in out and "no field 'emial'" in out
    # An access request does not mask anything: it is not held up by the typo.
    assert dsr("access", "--identity", f"email={OLA}", "--lang", "en")[0] == 0
