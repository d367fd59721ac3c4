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

Besides ``rules.lint`` the runner reports what needs more than the register model:
- the dataset graph (DV951-DV954): ``dsr.graph.graph_errors`` names each place by
  dataset, collection and field name; the runner turns the names into model paths
  (fideslang sorts collections and fields by name, as ``LoadedRegister.where`` does);
- TODO markers in YAML comments (DV904), from the raw files (the loader keeps no
  comments), placed at the marker;
- with ``live``, the datasets against the live databases (DV955-DV959).

Exit codes (``exit_code``): 0 clean, 1 a finding at or above ``--fail-on``,
2 invalid input. Invalid input exits 2 in every format. With ``--live``, a database
that could not be read (DV958) also exits 2 whatever ``--fail-on`` says: the check
that was asked for was not done, which is not the same as passing it.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Iterable, Sequence
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
    DATASET_IDENTITY_INVALID,
    DATASET_ORDER_INVALID,
    DATASET_REFERENCE_INVALID,
    DATASET_UNREACHABLE,
    GRAPH_CODE_RULES,
    LIVE_COLLECTION_MISSING,
    LIVE_COLUMN_UNDECLARED,
    LIVE_DATABASE_UNREACHABLE,
    LIVE_FIELD_MISSING,
    LIVE_NOT_CHECKED,
    REGISTER_INVALID,
    RULES,
    TODO_PLACEHOLDER,
    Finding,
    Rule,
    Severity,
    lint,
    path_str,
    personal_column_hint,
)
from datavern.register.rules import (
    Path as ModelPath,
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

    @property
    def incomplete(self) -> bool:
        """``--live`` could not read a database: the comparison asked for was not made."""
        return any(e.rule is LIVE_DATABASE_UNREACHABLE for e in self.entries)

    def exit_code(self, fail_on: FailOn) -> int:
        if not self.valid or self.incomplete:
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


# ------------------------------------------------------------------ the dataset graph


def _named(items: Sequence[Any] | None, name: str) -> int | None:
    for index, item in enumerate(items or []):
        if getattr(item, "name", None) == name:
            return index
    return None


def _field_path(fields: Sequence[Any] | None, dotted: str) -> ModelPath | None:
    """The model path of a (nested, dotted) field inside ``fields``: ("fields", k, ...)."""
    if not dotted:
        return ()
    # A field name may itself hold dots: try the longest name first.
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        index = _named(fields, ".".join(parts[:cut]))
        if index is None:
            continue
        rest = _field_path((fields or [])[index].fields, ".".join(parts[cut:]))
        if rest is not None:
            return ("fields", index, *rest)
    return None


def dataset_path(
    register: Any, dataset: str, collection: str | None = None, field_name: str | None = None
) -> ModelPath:
    """The model path of a place named by dataset key, collection and field names; as far
    down as the names lead (an unknown name stops at its parent)."""
    index = next((i for i, d in enumerate(register.dataset) if d.fides_key == dataset), None)
    if index is None:
        return ("dataset",)
    path: ModelPath = ("dataset", index)
    if collection is None:
        return path
    ds = register.dataset[index]
    c = _named(ds.collections, collection)
    if c is None:
        return path
    path = (*path, "collections", c)
    if field_name is None:
        return path
    inner = _field_path(ds.collections[c].fields, field_name)
    return path if inner is None else (*path, *inner)


def _graph_rule(code: str) -> Rule:
    rule = GRAPH_CODE_RULES.get(code)
    if rule is not None:
        return rule
    # A code the DSR engine added later: its family decides (tests pin the known ones).
    if "after" in code:
        return DATASET_ORDER_INVALID
    if "identity" in code:
        return DATASET_IDENTITY_INVALID
    if "unreachable" in code:
        return DATASET_UNREACHABLE
    return DATASET_REFERENCE_INVALID


def register_findings(register: Any, today: date) -> list[Finding]:
    """What `check` reports without `--live`: the register rules and the dataset graph.
    `register apply` refuses the errors among them."""
    return [*lint(register, today=today), *graph_findings(register)]


def graph_findings(register: Any) -> list[Finding]:
    """The DSR engine's dataset-graph problems (docs/dsr-plan.md) as findings DV951-DV954.

    A duplicate dataset key is left to DV901, which ``lint`` reports already.
    """
    from datavern.dsr.graph import graph_errors

    if not register.dataset:
        return []
    findings: list[Finding] = []
    for problem in graph_errors(register.dataset):
        rule = _graph_rule(problem.code)
        if rule.id == "DV901":
            continue
        path = dataset_path(register, problem.dataset, problem.collection, problem.field)
        findings.append(
            Finding(
                rule,
                f"{problem.where}: {problem.message} [{problem.code}]",
                (*path, *problem.key),
                rule.fix,
            )
        )
    return findings


# ------------------------------------------------------------------ TODO in comments

# A comment that starts with the marker: `# TODO` or `# TODO: ...` (the scaffold's
# explanations mention "TODO" mid-sentence and are not markers).
_TODO_COMMENT = re.compile(r"(?:^|(?<=[ \t]))#[ \t]*TODO\b", re.M)


def todo_comments(text: str) -> list[tuple[int, int]]:
    """(line, column), 1-based, of every ``# TODO`` comment marker in a YAML text.

    A ``#`` inside a quoted or block scalar is text, not a comment; PyYAML's scanner
    (which skips comments) gives the spans of the scalars.
    """
    import yaml

    candidates = [m.start() for m in _TODO_COMMENT.finditer(text)]
    if not candidates:
        return []
    spans: list[tuple[int, int]] = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken):
                spans.append((token.start_mark.index, token.end_mark.index))
    except yaml.YAMLError:
        return []
    starts = [a for a, _ in spans]
    out: list[tuple[int, int]] = []
    for offset in candidates:
        k = bisect.bisect_right(starts, offset) - 1
        if k >= 0 and spans[k][0] <= offset < spans[k][1]:
            continue
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        out.append((line, column))
    return out


def _display_root(path: Path) -> Path:
    """The folder the loader names the register's files from (its Location.file)."""
    return path if path.is_dir() else path.parent


def todo_comment_entries(loaded: Any, path: Path, taken: set[tuple[str, int]]) -> list[Entry]:
    """DV904 for ``# TODO`` comments, except on lines a finding already points at."""
    entries: list[Entry] = []
    root = _display_root(path)
    for rel, text in loaded.files.items():
        display = os.path.normpath(os.path.join(root, rel))
        for line, column in todo_comments(text):
            if (display, line) in taken:
                continue
            entries.append(
                Entry(
                    TODO_PLACEHOLDER,
                    "a `# TODO` comment marks a value on this line or below as a placeholder",
                    "",
                    TODO_PLACEHOLDER.fix,
                    Location(display, line, column),
                )
            )
    return entries


# ------------------------------------------------------------------ --live


class LiveSource:
    """Where ``--live`` reads the databases: the stored connections (connectors service).

    Tests may pass any object with the same two methods.
    """

    def connections(self) -> set[str]:
        from datavern.cli.common import ensure_database
        from datavern.connectors import service
        from datavern.core.db import session_scope

        ensure_database()
        with session_scope() as session:
            return {c.name for c in service.list_connections(session)}

    def describe(self, name: str) -> Any:
        """The live tables of connection ``name`` (a ``DatabaseDescription``)."""
        from datavern.connectors import service
        from datavern.core.db import session_scope

        with session_scope() as session:
            return service.describe_connection(session, name)

    def collection(self, name: str, table: str) -> Any | None:
        """One table (a ``CollectionInfo``), also outside the default schema, which
        ``describe`` lists alone (``schema.table``); None when there is no such table."""
        from datavern.connectors import service
        from datavern.connectors.base import UnknownName
        from datavern.core.db import session_scope

        with session_scope() as session:
            try:
                return service.open_connector(session, name).collection(table)
            except UnknownName:
                return None


def _live_connection(register: Any, dataset: str, stored: set[str]) -> tuple[str | None, bool]:
    """(connection name, named in dsr.connections) as the DSR engine resolves it."""
    named = register.dsr.connections if register.dsr is not None else {}
    if dataset in named:
        return named[dataset], True
    # The engine's default: the connection named like the dataset (dsr/execute.py).
    return (dataset if dataset in stored else None), False


def live_findings(register: Any, source: Any) -> list[Finding]:
    """Every declared collection and field against the live database (DV955-DV959)."""
    from datavern.dsr.execute import column_of, table_name

    findings: list[Finding] = []
    if not register.dataset:
        return findings
    try:
        stored: set[str] = set(source.connections())
    except DatavernError as exc:
        for i, ds in enumerate(register.dataset):
            findings.append(
                Finding(
                    LIVE_DATABASE_UNREACHABLE,
                    f"dataset {ds.fides_key!r}: the stored connections cannot be read: {exc}",
                    ("dataset", i),
                    LIVE_DATABASE_UNREACHABLE.fix,
                )
            )
        return findings
    described: dict[str, Any] = {}
    failed: dict[str, str] = {}
    declared_tables: dict[str, set[str]] = {}
    first_dataset: dict[str, int] = {}
    for i, ds in enumerate(register.dataset):
        here: ModelPath = ("dataset", i)
        name, configured = _live_connection(register, ds.fides_key, stored)
        if name is None:
            findings.append(
                Finding(
                    LIVE_NOT_CHECKED,
                    f"dataset {ds.fides_key!r} was not compared with a live database: "
                    "`dsr.connections` does not name its connection and no stored connection "
                    "is named like it",
                    here,
                    LIVE_NOT_CHECKED.fix,
                )
            )
            continue
        if name not in described and name not in failed:
            try:
                described[name] = source.describe(name)
            except DatavernError as exc:
                failed[name] = str(exc)
        if name in failed:
            where = " (named in `dsr.connections`)" if configured else ""
            findings.append(
                Finding(
                    LIVE_DATABASE_UNREACHABLE,
                    f"dataset {ds.fides_key!r}: connection {name!r}{where} cannot be read: "
                    f"{failed[name]}",
                    ("dsr", "connections", ds.fides_key) if configured else here,
                    LIVE_DATABASE_UNREACHABLE.fix,
                )
            )
            continue
        tables = {c.name: c for c in described[name].collections}
        first_dataset.setdefault(name, i)
        declared = declared_tables.setdefault(name, set())
        for j, collection in enumerate(ds.collections):
            if collection.fides_meta is not None and collection.fides_meta.skip_processing:
                continue  # the engine never reads it
            at: ModelPath = (*here, "collections", j)
            table = table_name(register, ds.fides_key, collection.name)
            declared.add(table)
            live = tables.get(table)
            if live is None and hasattr(source, "collection"):
                try:
                    live = source.collection(name, table)
                except DatavernError as exc:
                    findings.append(
                        Finding(
                            LIVE_DATABASE_UNREACHABLE,
                            f"{ds.fides_key}.{collection.name}: table {table!r} in connection "
                            f"{name!r} cannot be read: {exc}",
                            at,
                            LIVE_DATABASE_UNREACHABLE.fix,
                        )
                    )
                    continue
            if live is None:
                findings.append(
                    Finding(
                        LIVE_COLLECTION_MISSING,
                        f"{ds.fides_key}.{collection.name}: connection {name!r} has no table "
                        f"{table!r}",
                        at,
                        LIVE_COLLECTION_MISSING.fix,
                    )
                )
                continue
            columns = set(live.column_names)
            fields = {column_of(f.name): k for k, f in enumerate(collection.fields)}
            for column, k in fields.items():
                if column not in columns:
                    findings.append(
                        Finding(
                            LIVE_FIELD_MISSING,
                            f"{ds.fides_key}.{collection.name}.{column}: table {table!r} in "
                            f"connection {name!r} has no column {column!r}",
                            (*at, "fields", k),
                            LIVE_FIELD_MISSING.fix,
                        )
                    )
            for column in live.column_names:
                hint = personal_column_hint(column)
                if column not in fields and hint:
                    findings.append(
                        Finding(
                            LIVE_COLUMN_UNDECLARED,
                            f"{ds.fides_key}.{collection.name}: column {column!r} of table "
                            f"{table!r} looks like {hint} but is not declared",
                            (*at, "fields"),
                            LIVE_COLUMN_UNDECLARED.fix,
                        )
                    )
    for name, tables_declared in declared_tables.items():
        for live in described[name].collections:
            if live.name in tables_declared:
                continue
            hints = [c for c in live.column_names if personal_column_hint(c)]
            if hints:
                ds = register.dataset[first_dataset[name]]
                findings.append(
                    Finding(
                        LIVE_COLUMN_UNDECLARED,
                        f"connection {name!r}: table {live.name!r}, which no dataset declares, "
                        f"has columns that look like personal data ({', '.join(hints)})",
                        ("dataset", first_dataset[name], "collections"),
                        f"Declare the table as a collection of dataset {ds.fides_key!r} (or "
                        "another dataset on this connection) so requests find it, or confirm "
                        "it holds no personal data.",
                    )
                )
    return findings


# ------------------------------------------------------------------ the check


def _sorted_entries(findings: Iterable[Finding], loaded: Any, fallback: Location) -> list[Entry]:
    return [
        Entry(f.rule, f.message, path_str(f.path), f.fix, _locate(loaded, f, fallback))
        for f in sorted(findings, key=Finding.sort_key)
    ]


def check_register(path: Path, *, today: date, live: Any | None = None) -> CheckReport:
    """Load and lint the register at ``path``; never raises for bad input.

    ``live``: a ``LiveSource`` (or an object with its methods) to compare the datasets
    with the live databases (``datavern check --live``).
    """
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
    findings = register_findings(loaded.register, today)
    if live is not None:
        findings += live_findings(loaded.register, live)
    entries = _sorted_entries(findings, loaded, fallback)
    taken = {
        (e.location.file, e.location.line or 0)
        for e in entries
        if e.rule is TODO_PLACEHOLDER and e.location is not None
    }
    todo = todo_comment_entries(loaded, path, taken)
    if todo:
        # The TODO entries (values and comments) in file order; every other rule keeps
        # the path order (sorted() is stable).
        todos = sorted(
            [e for e in entries if e.rule is TODO_PLACEHOLDER] + todo,
            key=lambda e: (
                (e.location.file, e.location.line or 0, e.location.column or 0)
                if e.location
                else ("", 0, 0)
            ),
        )
        others = [e for e in entries if e.rule is not TODO_PLACEHOLDER]
        entries = sorted([*others, *todos], key=lambda e: (e.severity.rank, e.rule.id))
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
    if report.incomplete:
        out.print(
            Text(
                "--live: a database could not be read, so the comparison is incomplete (exit 2)",
                style="bold red",
            ),
            soft_wrap=True,
            highlight=False,
        )
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
