"""The commands and YAML the README and docs/ show are ones a new user can run.

Every `datavern ...` line in a fenced code block of README.md, docs/*.md and
examples/README.md must name an existing command and parse: its options exist,
its required arguments are given, its values have the right type. The command
is not run; only its command line is checked. Lines written as a synopsis
(``[--json]``, ``a|b|c``, ``...``, ``ID``) are not command lines and are skipped.
Every ```` ```yaml ```` block must be YAML.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from datavern.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
# docs/cli.md is generated from the commands themselves (test_docs_cli.py).
PAGES = [
    ROOT / "README.md",
    ROOT / "examples" / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md"),
]
FENCE = re.compile(r"^\s*```(\S*)")
# A synopsis, not a command line: optional parts, alternatives, elided values,
# or a word that is an upper-case placeholder (ID, RUN, NAME, REQUEST_ID, ...).
SYNOPSIS = re.compile(r"\[|\.\.\.|\w\|\w")
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]+")


def _blocks(page: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(language, first line number, lines) of every fenced block of a page."""
    lang, start, lines, inside = "", 0, [], False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if fence and not inside:
            lang, start, lines, inside = fence.group(1), number + 1, [], True
        elif fence and inside:
            inside = False
            yield lang, start, lines
        elif inside:
            lines.append(line)


def _command_lines() -> list[tuple[str, str]]:
    """(where, command line) of every `datavern` line in a shell block."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        for lang, start, lines in _blocks(page):
            if lang not in ("", "sh", "console", "shell", "bash"):
                continue
            logical: list[tuple[int, str]] = []
            for offset, line in enumerate(lines):
                text = line.strip()
                if logical and logical[-1][1].endswith("\\"):
                    logical[-1] = (logical[-1][0], logical[-1][1][:-1] + " " + text)
                else:
                    logical.append((start + offset, text))
            for number, text in logical:
                text = text.removeprefix("$ ")
                text = re.sub(r"^export \w+=\$\((.*)\)$", r"\1", text)
                if not text.startswith("datavern "):
                    continue
                words = shlex.split(text, comments=True)
                # Stop at a redirection or a pipe: the rest is the shell's.
                for i, word in enumerate(words):
                    if word in (">", "<", "|", "2>&1") or word.startswith((">", "<")):
                        words = words[:i]
                        break
                line_text = shlex.join(words)
                if SYNOPSIS.search(line_text) or any(PLACEHOLDER.fullmatch(w) for w in words):
                    continue
                found.append((f"{page.relative_to(ROOT)}:{number}", line_text))
    return found


COMMANDS = _command_lines()


def test_the_docs_show_commands() -> None:
    # The extraction itself works: the README tour alone shows more than ten.
    readme = [where for where, _ in COMMANDS if where.startswith("README.md:")]
    assert len(readme) > 10, readme


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_line_parses(where: str, line: str) -> None:
    command: Any = typer.main.get_command(app)
    words = shlex.split(line)[1:]
    path = ["datavern"]
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words[0]]
        path.append(words.pop(0))
    assert not hasattr(command, "commands"), f"{where}: `{line}` names no command"
    try:
        command.make_context(" ".join(path), list(words))
    except Exception as error:
        # --help and --version end parsing with an Exit, which is fine.
        if type(error).__name__ != "Exit":
            format_message = getattr(error, "format_message", None)
            message = format_message() if callable(format_message) else str(error)
            pytest.fail(f"{where}: `{line}`: {message}")


def _yaml_blocks() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}:{start}", "\n".join(lines))
        for page in PAGES
        for lang, start, lines in _blocks(page)
        if lang in ("yaml", "yml")
    ]


YAML_BLOCKS = _yaml_blocks()


@pytest.mark.parametrize(("where", "text"), YAML_BLOCKS, ids=[w for w, _ in YAML_BLOCKS])
def test_documented_yaml_is_yaml(where: str, text: str) -> None:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        pytest.fail(f"{where}: not YAML: {error}")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_and_anchors_resolve() -> None:
    broken = []
    for page in PAGES:
        for match in re.finditer(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            link = match.group(1)
            if re.match(r"[a-z]+:", link):
                continue  # https:, mailto:
            path, _, anchor = link.partition("#")
            target = (page.parent / path) if path else page
            if not target.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and target.suffix == ".md":
                text = target.read_text(encoding="utf-8")
                headings = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.MULTILINE)}
                if anchor not in headings:
                    broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert broken == []
