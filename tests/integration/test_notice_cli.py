"""`datavern notice render | versions | diff` against applied register versions."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from typer.testing import CliRunner

from datavern.cli.main import app

REGISTERS = Path(__file__).resolve().parents[1] / "fixtures" / "registers"
FULL = REGISTERS / "notice_full.yaml"
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def apply_edited(tmp_path: Path, replacements: list[tuple[str, str]]) -> None:
    text = FULL.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "register.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("register", "apply", str(path))
    assert result.exit_code == 0, result.output


def test_render_before_any_apply_exits_2(database_url: str) -> None:
    result = cli("notice", "render")
    assert result.exit_code == 2
    assert "no register has been applied" in result.output


def test_render_markdown_and_html(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    md = cli("notice", "render", "--lang", "nb", "--format", "md")
    assert md.exit_code == 0
    assert md.output.startswith("# Personvernerklæring for Fjordlys Drift AS")
    assert "## Hvor lenge vi lagrer opplysningene" in md.output
    assert "Versjon 1, gjeldende fra" in md.output
    out = tmp_path / "privacy.html"
    html = cli("notice", "render", "--lang", "en", "--format", "html", "--output", str(out))
    assert html.exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert "Kundeservice Cloud Inc." in page and "Your rights" in page


def test_render_pdf_to_file(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    out = tmp_path / "notice.pdf"
    result = cli("notice", "render", "--format", "pdf", "--output", str(out))
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Fjordlys Drift AS" in text
    assert "Overføring til land utenfor EØS" in text and "Dine rettigheter" in text


def test_render_an_older_version(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    apply_edited(tmp_path, [("name: Fjordlys Drift AS", "name: Fjordlys Hosting AS")])
    newest = cli("notice", "render", "--format", "md").output
    oldest = cli("notice", "render", "--format", "md", "--version", "1").output
    assert "Fjordlys Hosting AS" in newest and "Versjon 2" in newest
    assert "Fjordlys Drift AS" in oldest and "Versjon 1" in oldest


def test_unknown_version_or_language_exits_2(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    result = cli("notice", "render", "--version", "5")
    assert result.exit_code == 2 and "version 5 does not exist" in result.output
    apply_edited(tmp_path, [("languages: [nb, en]", "languages: [nb]")])
    result = cli("notice", "render", "--lang", "en")
    assert result.exit_code == 2 and "organisation.languages" in result.output
    result = cli("notice", "diff", "1", "9")
    assert result.exit_code == 2 and "version 9 does not exist" in result.output


def test_diff_marks_material_and_editorial(database_url: str, tmp_path: Path) -> None:
    assert cli("register", "apply", str(FULL)).exit_code == 0
    apply_edited(
        tmp_path,
        [
            ('phone: "+47 55 00 00 00"', 'phone: "+47 55 11 11 11"'),
            (
                "data_categories: [user.contact.email]\n    transfer:\n      basis: dpf",
                "data_categories: [user.contact.email, user.name]\n    transfer:\n      basis: dpf",
            ),
            ("basis: scc_2021", "basis: art49"),
        ],
    )
    result = cli("notice", "diff", "1", "2")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(
        line.startswith("MATERIAL") and "sub_processors[postkasse].data_categories" in line
        for line in lines
    )
    assert any(
        line.startswith("MATERIAL")
        and "sub_processors[helpdesk].transfer" in line
        and "weaker" in line
        for line in lines
    )
    assert any(line.startswith("editorial") and "organisation.phone" in line for line in lines)
    assert lines[-1] == "2 material, 1 editorial"
    body = json.loads(cli("notice", "diff", "1", "2", "--json").output)
    assert (body["material"], body["editorial"]) == (2, 1)
    assert {c["path"] for c in body["changes"] if c["material"]} == {
        "sub_processors[postkasse].data_categories",
        "sub_processors[helpdesk].transfer",
    }
    same = cli("notice", "diff", "2", "2")
    assert same.exit_code == 0 and same.output.strip().endswith("0 material, 0 editorial")


def test_versions_lists_every_notice_version(database_url: str, tmp_path: Path) -> None:
    empty = cli("notice", "versions")
    assert empty.exit_code == 0 and "no notice versions yet" in empty.output
    assert cli("register", "apply", str(FULL), "-m", "første").exit_code == 0
    apply_edited(tmp_path, [("period: P6M", "period: P1Y")])
    body = json.loads(cli("notice", "versions", "--json").output)
    assert [v["version"] for v in body] == [1, 2]
    assert body[0]["message"] == "første"
    assert (body[1]["material_changes"], body[1]["editorial_changes"]) == (1, 0)
    text = cli("notice", "versions").output.splitlines()
    assert len(text) == 2 and "1 material, 0 editorial" in text[1]
