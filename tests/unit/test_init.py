"""The `datavern init` scaffold: valid, complete (lint-clean), commented, and careful with files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from datavern.core.errors import InvalidInput
from datavern.register.loader import load_register
from datavern.register.rules import Severity, lint, path_str
from datavern.register.scaffold import (
    FILES,
    CompanyFacts,
    render,
    scaffold,
    validate_facts,
)

TODAY = date(2025, 3, 1)
FACTS = CompanyFacts("Fjordkraft Drift AS", "923609016", "personvern@fjorddrift.no")


def test_scaffold_loads_and_has_no_lint_findings(tmp_path: Path) -> None:
    folder = tmp_path / "register"
    written = scaffold(folder, FACTS, today=TODAY)
    assert [p.relative_to(folder).as_posix() for p in written] == list(FILES)
    loaded = load_register(folder)
    register = loaded.register
    assert register.organisation.name == FACTS.name
    assert register.organisation.org_nr == FACTS.org_nr
    assert register.organisation.email == FACTS.email
    assert sorted(loaded.files) == sorted(FILES)
    findings = lint(register, today=TODAY)
    assert [f"{f.id} {f.message}" for f in findings if f.severity is Severity.error] == []
    # Only the placeholders are reported (DV904): the scaffold is not ready to publish.
    assert [f"{f.id} {f.message}" for f in findings if f.id != "DV904"] == []
    assert {path_str(f.path) for f in findings if f.id == "DV904"} >= {
        "organisation.address.street",
        "organisation.address.city",
    }


def test_scaffold_covers_every_notice_item(tmp_path: Path) -> None:
    scaffold(tmp_path, FACTS, today=TODAY)
    register = load_register(tmp_path).register
    assert register.organisation.address is not None
    assert register.organisation.languages == ["nb", "en"]
    activities = [a for _, a in register.activities()]
    assert {a.legal_basis for a in activities} >= {"contract", "legal_obligation", "consent"}
    for activity in activities:
        assert activity.retention is not None
        assert activity.requirement is not None and activity.requirement_consequence is not None
        for text in (activity.purpose, activity.requirement_consequence):
            assert set(text) == {"nb", "en"}
        for key in activity.recipients:
            assert register.sub_processor(key) is not None
    for processor in register.sub_processors:
        assert processor.dpa_signed == TODAY and processor.transfer is not None
    assert all(p.withdraw for p in register.consent_purposes)
    assert register.cookies and register.dataset


def test_each_file_explains_itself_and_points_to_the_docs(tmp_path: Path) -> None:
    files = render(FACTS, "register", TODAY)
    for name, text in files.items():
        assert text.startswith("#"), name
        assert "docs/register.md" in text, name
    # Placeholders the owner must replace are marked TODO.
    assert "TODO" in files["register.yaml"] and "TODO" in files["processors.yaml"]


@pytest.mark.parametrize(
    "name", ['Bjørn & Co "Drift": AS', "# not a comment", "{a: b}", "- list AS", "Ja: nei"]
)
def test_any_company_name_is_embedded_safely(tmp_path: Path, name: str) -> None:
    facts = CompanyFacts(name, FACTS.org_nr, FACTS.email)
    scaffold(tmp_path, facts, today=TODAY)
    register = load_register(tmp_path).register
    assert register.organisation.name == name
    assert register.cookies[0].provider == name
    assert name in register.consent_purposes[0].text["nb"]


def test_existing_register_is_not_overwritten_without_force(tmp_path: Path) -> None:
    (tmp_path / "register.yaml").write_text("# my own register\n")
    with pytest.raises(InvalidInput) as info:
        scaffold(tmp_path, FACTS, today=TODAY)
    assert "a register already exists" in str(info.value) and "--force" in str(info.value)
    assert (tmp_path / "register.yaml").read_text() == "# my own register\n"
    assert not (tmp_path / "systems.yaml").exists()


def test_force_overwrites_only_the_scaffold_files(tmp_path: Path) -> None:
    scaffold(tmp_path, FACTS, today=TODAY)
    (tmp_path / "systems.yaml").write_text("changed")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "datasets" / "erp.yaml").write_text("dataset: []\n")
    scaffold(tmp_path, FACTS, today=TODAY, force=True)
    assert "systems:" in (tmp_path / "systems.yaml").read_text()
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "datasets" / "erp.yaml").read_text() == "dataset: []\n"


def test_validate_facts_reports_every_bad_value() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_facts(" ", "123456789", "not-an-address")
    assert [p.path for p in info.value.problems] == ["--name", "--org-nr", "--email"]
    assert info.value.problems[1].message == (
        "'123456789' is not a valid Norwegian organisation number (checksum)"
    )


def test_validate_facts_normalises() -> None:
    facts = validate_facts("  Eksempel AS ", "923 609 016", " post@eksempel.no ")
    assert facts == CompanyFacts("Eksempel AS", "923609016", "post@eksempel.no")


def test_multi_line_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="one line"):
        validate_facts("Eksempel\nAS", "923609016", "post@eksempel.no")


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "register").write_text("not a folder")
    with pytest.raises(InvalidInput, match="is not a folder"):
        scaffold(tmp_path / "register", FACTS, today=TODAY)
    with pytest.raises(InvalidInput, match="cannot write"):
        scaffold(tmp_path / "register" / "sub", FACTS, today=TODAY)
