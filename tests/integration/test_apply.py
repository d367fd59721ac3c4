"""`datavern register apply`: immutable, hashed versions written with their audit entry in one
transaction, on SQLite and PostgreSQL. An invalid register changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from datavern.cli.main import app
from datavern.core import audit
from datavern.core.db import session_scope
from datavern.core.errors import NotFound
from datavern.register import service
from datavern.register.loader import load_register
from datavern.register.models import RegisterVersion

REGISTERS = Path(__file__).resolve().parents[1] / "fixtures" / "registers"
FULL = REGISTERS / "notice_full.yaml"
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def counts() -> tuple[int, int]:
    with session_scope() as session:
        versions = session.execute(select(func.count()).select_from(RegisterVersion)).scalar_one()
        entries = session.execute(select(func.count()).select_from(audit.AuditEntry)).scalar_one()
    return versions, entries


def edited(tmp_path: Path, old: str, new: str, name: str = "register.yaml") -> Path:
    text = FULL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_first_apply_stores_version_one_with_its_audit_entry(database_url: str) -> None:
    loaded = load_register(FULL)
    result = cli("register", "apply", str(FULL), "--message", "første versjon")
    assert result.exit_code == 0, result.output
    assert "applied register version 1" in result.output
    with session_scope() as session:
        version, register = service.current_register(session)
        assert version.number == 1
        assert version.content_hash == loaded.content_hash
        assert version.applied_by == "test"
        assert version.message == "første versjon"
        assert version.source == loaded.files
        assert version.diff == []
        assert register == loaded.register
        entries = session.execute(select(audit.AuditEntry)).scalars().all()
        assert [(e.action, e.target) for e in entries] == [("register.apply", "register_version:1")]
        assert entries[0].details["content_hash"] == loaded.content_hash
        assert audit.verify(session).ok


def test_identical_register_makes_no_new_version(database_url: str) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    before = counts()
    result = cli("register", "apply", str(FULL))
    assert result.exit_code == 0
    assert "unchanged" in result.output and "version 1" in result.output
    assert counts() == before


def test_second_version_keeps_the_classified_diff(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    changed = edited(tmp_path, "period: P2Y", "period: P3Y")
    result = cli("register", "apply", str(changed), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["version"] == 2 and body["created"] is True
    assert body["material"] == 1 and body["editorial"] == 0
    with session_scope() as session:
        version = service.get_version(session, 2)
        [change] = service.changes_of(version)
        assert change.path == "systems[portal].processing[support].retention"
        assert change.material
        assert [v.number for v in service.list_versions(session)] == [1, 2]
        entry = session.execute(
            select(audit.AuditEntry).where(audit.AuditEntry.target == "register_version:2")
        ).scalar_one()
        assert entry.details["material_changes"] == 1
        assert entry.details["previous"] == 1


@pytest.mark.parametrize("fixture", ["notice_invalid.yaml", "does-not-exist.yaml"])
def test_invalid_register_exits_2_and_changes_nothing(database_url: str, fixture: str) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    before = counts()
    result = cli("register", "apply", str(REGISTERS / fixture))
    assert result.exit_code == 2
    assert "nothing was applied" in result.output
    assert "Traceback" not in result.output
    assert counts() == before


def test_invalid_register_names_file_line_and_column(database_url: str) -> None:
    result = cli("register", "apply", str(REGISTERS / "notice_invalid.yaml"))
    assert result.exit_code == 2
    assert "notice_invalid.yaml:6:" in result.output  # the bad org.nr
    assert "colour" in result.output and "because_we_can" in result.output
    assert counts() == (0, 0)


def test_lint_errors_block_apply_unless_allowed(database_url: str) -> None:
    findings = str(REGISTERS / "notice_findings.yaml")
    result = cli("register", "apply", findings)
    assert result.exit_code == 1
    assert "DV101" in result.output and "--allow-findings" in result.output
    assert counts() == (0, 0)
    result = cli("register", "apply", findings, "--allow-findings")
    assert result.exit_code == 0, result.output
    assert counts() == (1, 1)
    with session_scope() as session:
        entry = session.execute(select(audit.AuditEntry)).scalar_one()
        assert entry.details["accepted_lint_errors"] == 2


def test_version_and_audit_entry_are_one_transaction(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_register(FULL)

    def broken_record(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(service.audit, "record", broken_record)
    with pytest.raises(RuntimeError), session_scope() as session:
        service.apply_register(session, loaded, "tester")
    assert counts() == (0, 0)


def test_versions_cannot_be_changed_or_deleted(database_url: str) -> None:
    with session_scope() as session:
        service.apply_register(session, load_register(FULL), "tester")
    with pytest.raises(service.ImmutableVersion), session_scope() as session:
        version = service.get_version(session, 1)
        version.message = "rewritten history"
        session.flush()
    with pytest.raises(service.ImmutableVersion), session_scope() as session:
        session.delete(service.get_version(session, 1))
        session.flush()
    with session_scope() as session:
        assert service.get_version(session, 1).message is None
    # The hash still matches the stored content: nothing above reached the database.
    with session_scope() as session:
        stored = session.execute(
            select(RegisterVersion.content_hash).where(RegisterVersion.number == 1)
        ).scalar_one()
        assert stored == load_register(FULL).content_hash


def test_unknown_version_and_empty_database(database_url: str) -> None:
    with session_scope() as session:
        with pytest.raises(NotFound, match="no register has been applied"):
            service.current_register(session)
        with pytest.raises(NotFound, match="no register has been applied"):
            service.get_version(session, 1)
    assert cli("register", "apply", str(FULL)).exit_code == 0
    with session_scope() as session, pytest.raises(NotFound, match="versions are 1 to 1"):
        service.get_version(session, 7)
    result = cli("register", "show", "7")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_versions_and_show_commands(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL), "-m", "start").exit_code == 0
    changed = edited(tmp_path, "name: Postkasse Inc.", "name: Postkasse Incorporated")
    assert cli("register", "apply", str(changed)).exit_code == 0
    listing = cli("register", "versions")
    assert listing.exit_code == 0
    lines = listing.output.strip().splitlines()
    assert len(lines) == 2 and "first version" in lines[0] and "0 material, 1 editorial" in lines[1]
    shown = cli("register", "show")
    assert "register version 2" in shown.output
    assert "editorial" in shown.output and "sub_processors[postkasse].name" in shown.output
    as_json = json.loads(cli("register", "show", "1", "--json").output)
    assert as_json["version"] == 1 and as_json["message"] == "start"
    assert as_json["register"]["organisation"]["name"] == "Fjordlys Drift AS"
    assert list(as_json["files"]) == ["notice_full.yaml"]


BROKEN_DATASET = """
dataset:
  - fides_key: shop
    name: Shop
    collections:
      - name: customers
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
          - name: region_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - dataset: shop
                  field: regions.id
                  direction: to
"""


def test_dataset_graph_errors_block_apply_like_check(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(FULL.read_text(encoding="utf-8") + BROKEN_DATASET, encoding="utf-8")
    checked = cli("check", str(path), "--format", "json")
    assert checked.exit_code == 1
    assert "DV952" in checked.output
    result = cli("register", "apply", str(path))
    assert result.exit_code == 1
    assert "DV952" in result.output
    assert counts() == (0, 0)
