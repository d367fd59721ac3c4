"""Run the lint on a register on disk and report it as text, JSON or SARIF 2.1.0.

``check_register(path)`` loads the register (every schema problem becomes a
``DV000`` entry), lints it, and places each finding at file:line:column through
``LoadedRegister.where``. A finding about something the register lacks (say
``organisation.email``) is placed at the nearest enclosing node that exists.

Output formats (documented in docs/lint-rules.md, "Output"):
- text: grouped by severity, colour only on a terminal, then a summary line.
- json: one object, ``{"format": "datavern-check/1", ...}``, stable keys.
- sarif: SARIF 2.1.0 with every rule in ``tool.driver.rules``; invalid input is
  reported as results of rule ``DV000`` at level ``error``.

Exit codes (``exit_code``): 0 clean, 1 a finding at or above ``--fail-on``,
2 invalid input. Invalid input exits 2 in every format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from datavern import __version__
from datavern.core.errors import DatavernError, InvalidInput, Location, Problem
from datavern.register.rules import (
    REGISTER_INVALID,
    RULES,
    Finding,
    Rule,
    Severity,
    lint,
    path_str,
)

# Where the rules are documented; SARIF wants an absolute helpUri (SARIF 2.1.0
# §3.49.12). The project has no published URL yet: change it here when it has.
DOCS_URL = "https://github.com/datavern/datavern/blob/main/docs/lint-rules.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
JSON_FORMAT = "datavern-check/1"

SARIF_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


def help_uri(rule: Rule) -> str:
    return f"{DOCS_URL}#{rule.id.lower()}"


@dataclass(frozen=True)
class Entry:
    """One thing to report: a lint finding, or (rule DV000) a problem reading the register."""

    rule: Rule
    message: str
    path: str
    fix: str
    location: Location | None

    @property
    def severity(self) -> Severity:
        return self.rule.severity


@dataclass
class CheckReport:
    register: str  # the path as the user gave it (or as resolved)
    valid: bool
    entries: list[Entry] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for e in self.entries if e.severity is severity)

    def summary(self) -> dict[str, int]:
        return {
            "errors": self.count(Severity.error),
            "warnings": self.count(Severity.warning),
            "info": self.count(Severity.info),
        }

    def exit_code(self, fail_on: FailOn) -> int:
        if not self.valid:
            return 2
        if fail_on is FailOn.never:
            return 0
        threshold = Severity(fail_on.value).rank
        return 1 if any(e.severity.rank <= threshold for e in self.entries) else 0


# ------------------------------------------------------------------ loading


def default_register_path(configured: Path | None, cwd: Path | None = None) -> Path:
    """DATAVERN_REGISTER_PATH, else ./register.yaml, else the ./register folder."""
    if configured is not None:
        return configured
    cwd = cwd or Path.cwd()
    for candidate in (cwd / "register.yaml", cwd / "register.yml", cwd / "register"):
        if candidate.exists():
            return candidate.relative_to(cwd)
    raise InvalidInput(
        Problem(
            "no register found: give a PATH, set DATAVERN_REGISTER_PATH, or run where "
            "register.yaml or a register/ folder is (`datavern init` writes one)"
        )
    )


def _problem_from_exception(exc: BaseException, path: Path) -> list[Problem]:
    """Turn anything the loader may raise into problems, without file contents."""
    if isinstance(exc, InvalidInput):
        return list(exc.problems) or [Problem(str(exc) or "invalid register")]
    if isinstance(exc, DatavernError):
        return [Problem(str(exc) or type(exc).__name__, Location(str(path)))]
    if isinstance(exc, yaml.MarkedYAMLError):
        # Only the problem and position: the snippet yaml adds may quote personal data.
        mark = exc.problem_mark
        where = (
            Location(str(mark.name), mark.line + 1, mark.column + 1)
            if mark is not None
            else Location(str(path))
        )
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return [Problem(f"invalid YAML: {what}", where)]
    if isinstance(exc, yaml.YAMLError):
        return [Problem("invalid YAML", Location(str(path)))]
    if isinstance(exc, ValidationError):
        return [
            Problem(str(err["msg"]), Location(str(path)), path_str(tuple(err["loc"])))
            for err in exc.errors(include_url=False, include_input=False)
        ]
    if isinstance(exc, UnicodeError):
        return [Problem("the file is not valid UTF-8 text", Location(str(path)))]
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        name = exc.filename if exc.filename is not None else path
        return [Problem(f"cannot read: {reason}", Location(str(name)))]
    if isinstance(exc, RecursionError):
        return [Problem("the register is nested too deeply", Location(str(path)))]
    return [Problem(f"cannot read the register ({type(exc).__name__})", Location(str(path)))]


def entries_from_problems(problems: Iterable[Problem]) -> list[Entry]:
    return [
        Entry(REGISTER_INVALID, p.message, p.path, REGISTER_INVALID.fix, p.location)
        for p in problems
    ]


def _locate(loaded: Any, finding: Finding, fallback: Location) -> Location:
    """The finding's node, or the nearest existing parent, or the main file."""
    path = finding.path
    for end in range(len(path), -1, -1):
        try:
            location: Location | None = loaded.where(path[:end])
        except (KeyError, IndexError, TypeError, ValueError):
            location = None
        if location is not None:
            return location
    return fallback


def _main_file(path: Path) -> Location:
    if path.is_dir():
        return Location(str(path / "register.yaml"), 1, 1)
    return Location(str(path), 1, 1)


def check_register(path: Path, *, today: date) -> CheckReport:
    """Load and lint the register at ``path``; never raises for bad input."""
    from datavern.register.loader import load_register

    try:
        loaded = load_register(path)
    except (
        DatavernError,
        yaml.YAMLError,
        ValidationError,
        OSError,
        UnicodeError,
        RecursionError,
        ValueError,
    ) as exc:
        return CheckReport(
            str(path), False, entries_from_problems(_problem_from_exception(exc, path))
        )
    fallback = _main_file(path)
    entries = [
        Entry(f.rule, f.message, path_str(f.path), f.fix, _locate(loaded, f, fallback))
        for f in lint(loaded.register, today=today)
    ]
    return CheckReport(str(path), True, entries)


# ------------------------------------------------------------------ formats


def _display_file(file: str) -> str:
    """A file name relative to the working directory when it is inside it."""
    pure = Path(file)
    if pure.is_absolute():
        try:
            return pure.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return pure.as_posix()
    return PurePath(file).as_posix()


def _where(location: Location | None) -> str:
    if location is None:
        return ""
    return str(Location(_display_file(location.file), location.line, location.column))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_line(report: CheckReport) -> str:
    s = report.summary()
    return ", ".join(
        (
            _plural(s["errors"], "error", "errors"),
            _plural(s["warnings"], "warning", "warnings"),
            f"{s['info']} info",
        )
    )


_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}
_HEADING = {Severity.error: "Errors", Severity.warning: "Warnings", Severity.info: "Info"}


def print_text(report: CheckReport, out: Console, err: Console) -> None:
    """Findings grouped by severity on ``out``; problems with the input on ``err``."""
    if not report.valid:
        for entry in report.entries:
            where = _where(entry.location)
            line = Text()
            if where:
                line.append(f"{where}: ", style="bold")
            if entry.path:
                line.append(f"{entry.path}: ")
            line.append(entry.message)
            err.print(line, soft_wrap=True, highlight=False)
        err.print(
            Text(
                f"{report.register}: invalid register, "
                f"{_plural(len(report.entries), 'problem', 'problems')} (nothing was linted)",
                style="bold red",
            ),
            soft_wrap=True,
            highlight=False,
        )
        return
    for severity in Severity:
        group = [e for e in report.entries if e.severity is severity]
        if not group:
            continue
        heading = f"{_HEADING[severity]} ({len(group)})"
        out.print(Text(heading, style=f"{_STYLE[severity]} underline"), soft_wrap=True)
        by_rule: dict[str, list[Entry]] = {}
        for entry in group:
            by_rule.setdefault(entry.rule.id, []).append(entry)
        for entries in by_rule.values():
            rule = entries[0].rule
            title = Text("  ")
            title.append(f"{rule.id} {rule.slug}", style=_STYLE[severity])
            title.append(f"  {rule.legal_source}", style="dim")
            out.print(title, soft_wrap=True, highlight=False)
            for entry in entries:
                line = Text("    ")
                where = _where(entry.location)
                if where:
                    line.append(f"{where}: ", style="bold")
                line.append(entry.message)
                if entry.fix != rule.fix:
                    line.append(f" (fix: {entry.fix})")
                out.print(line, soft_wrap=True, highlight=False)
            out.print(Text(f"    fix: {rule.fix}", style="green"), soft_wrap=True, highlight=False)
        out.print()
    style = "bold red" if report.count(Severity.error) else "bold green"
    if not report.entries:
        out.print(Text(f"{report.register}: no findings", style="bold green"), soft_wrap=True)
    out.print(Text(summary_line(report), style=style), soft_wrap=True, highlight=False)


def _location_json(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "file": _display_file(location.file),
        "line": location.line,
        "column": location.column,
    }


def to_json(report: CheckReport, fail_on: FailOn) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "register": report.register,
        "valid": report.valid,
        "fail_on": fail_on.value,
        "exit_code": report.exit_code(fail_on),
        "summary": report.summary(),
        "findings": [
            {
                "id": e.rule.id,
                "slug": e.rule.slug,
                "severity": e.severity.value,
                "legal_source": e.rule.legal_source,
                "message": e.message,
                "path": e.path,
                "location": _location_json(e.location),
                "fix": e.fix,
                "help_uri": help_uri(e.rule),
            }
            for e in report.entries
        ],
    }


def _artifact_uri(file: str) -> str:
    """Relative to the working directory when inside it, else an absolute file: URI."""
    shown = _display_file(file)
    if Path(shown).is_absolute():
        return Path(shown).as_uri()
    return quote(shown, safe="/._-~")


def sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title} Legal source: {rule.legal_source}."},
        "helpUri": help_uri(rule),
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"legal_source": rule.legal_source, "severity": rule.severity.value},
    }


def to_sarif(report: CheckReport) -> dict[str, Any]:
    rules = list(RULES.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for e in report.entries:
        result: dict[str, Any] = {
            "ruleId": e.rule.id,
            "ruleIndex": index[e.rule.id],
            "level": SARIF_LEVEL[e.severity],
            "message": {"text": e.message},
            "properties": {"path": e.path, "fix": e.fix, "legal_source": e.rule.legal_source},
        }
        if e.location is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(e.location.file)}}
            if e.location.line is not None:
                region = {"startLine": max(1, e.location.line)}
                if e.location.column is not None:
                    region["startColumn"] = max(1, e.location.column)
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "datavern",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": DOCS_URL,
                        "rules": [sarif_rule(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
