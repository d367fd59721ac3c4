"""docs/cli.md is the command tree itself; a new or changed command must be documented."""

from __future__ import annotations

from pathlib import Path

from datavern.cli.reference import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is out of date: run `make docs`"
    )


def test_every_command_has_a_help_text() -> None:
    from typing import Any

    import typer.main

    from datavern.cli.main import app

    def walk(cmd: Any, path: str) -> list[tuple[str, Any]]:
        items = [(path, cmd)]
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                items += walk(sub, f"{path} {name}")
        return items

    missing = [
        p for p, c in walk(typer.main.get_command(app), "datavern") if not (c.help or "").strip()
    ]
    assert missing == []
