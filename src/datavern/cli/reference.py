"""Writes docs/cli.md from the command tree itself, so the reference cannot drift.

`make docs` regenerates it; a test fails when docs/cli.md differs from what this renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer.main

HEADER = """# Command-line reference

This page is generated from the commands themselves (`make docs`); a test fails
when it is out of date. Every command also answers `--help`.

Exit codes used throughout: `0` success, `1` findings or a failed check,
`2` invalid input (nothing is changed).
"""


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                found.extend(_walk(sub, [*path, name]))
    return found


def _param_line(param: Any) -> str:
    if param.param_type_name == "argument":
        text = (getattr(param, "help", None) or "").strip()
        name = (param.metavar or param.name or "").upper()
        return f"- `{name}` (argument)" + (f": {text}" if text else "")
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    text = (param.help or "").strip()
    if param.show_default and param.default not in (None, False, ""):
        text += f" (default: `{param.default}`)"
    return f"- {names}: {text}".rstrip(": ")


def render() -> str:
    from datavern.cli.main import app

    root = typer.main.get_command(app)
    out = [HEADER]
    for path, command in _walk(root, ["datavern"]):
        if len(path) == 1:
            continue
        out.append(f"\n## `{' '.join(path)}`\n")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text.split("\f")[0].strip() + "\n")
        if hasattr(command, "commands"):
            continue
        ctx = command.make_context(path[-1], [], resilient_parsing=True)
        usage = " ".join([*path, *command.collect_usage_pieces(ctx)])
        out.append(f"\n```\n{usage}\n```\n")
        params = [p for p in command.params if p.name != "help"]
        if params:
            out.append("")
            out.extend(_param_line(p) for p in params)
            out.append("")
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
