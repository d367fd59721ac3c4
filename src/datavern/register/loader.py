"""Load a register from YAML files: includes, positions, hostile-input limits.

CONTRACT (other features rely on it):

    load_register(path: Path, limits: Limits = DEFAULT_LIMITS) -> LoadedRegister
        path: a register file, or a folder holding `register.yaml` (or `register.yml`).
        raises datavern.core.errors.InvalidInput with EVERY problem found, each a
        Problem(message, Location(file, line, column), path="systems[0].processing[1].legal_basis"),
        sorted by file, line and column (path is "" for a problem with a whole file or an
        include). Nothing else escapes for bad input: no traceback for wrong types,
        hostile YAML, huge or binary files.
        Location.file is the file as the user named it: the folder given (as given,
        relative or absolute) joined with the file's name inside the register folder,
        e.g. "examples/bysant/register.yaml"; line and column are 1-based.

    LoadedRegister:
        register: Register          # the validated, merged model
        root: Path                  # the folder includes are resolved against (resolved, absolute)
        files: dict[str, str]       # file name relative to root (posix) -> YAML text
                                    # (what `register apply` stores), in load order
        content_hash: str           # sha256 hex of the canonical JSON of `register`:
                                    # json.dumps(register.model_dump(mode="json"), sort_keys=True,
                                    # ensure_ascii=False, separators=(",", ":")) in UTF-8;
                                    # also content_hash(register) for a Register built in code
        where(path: tuple[str | int, ...]) -> Location | None
                                    # file:line:column of a node in the merged register,
                                    # e.g. where(("sub_processors", 2, "transfer", "basis")).
                                    # Paths index the model's lists (register.systems[2] is
                                    # ("systems", 2)); fideslang sorts dataset collections and
                                    # their fields by name, and where() follows that order too.
                                    # A path absent from the YAML (a default, a missing field)
                                    # gives the place of its nearest present ancestor, so a
                                    # finding about a missing field points at the mapping that
                                    # should hold it. None only if nothing matches.

What the loader checks (see docs/register.md, "Limits and safety"):
- YAML safety (yamlsafe.py): no anchors/aliases/merge keys/custom tags, no duplicate
  keys, depth and node limits, one document per file, a mapping at the top.
- Files: at most `max_files`, each at most `max_file_bytes` (refused from its size,
  unread), all together at most `max_total_bytes`; UTF-8 text only.
- Includes: top-level `include: [file or glob, ...]`, relative to the including file,
  resolved (symlinks too) inside the root folder; no cycles, no file twice, no missing
  file, globs sorted. The including file's own entries come first, then each included
  file's, depth first, in the order written. List keys (schema.LIST_KEYS: systems,
  sub_processors, consent_purposes, cookies, dataset) concatenate; every other key
  (organisation, datavern, dsr) may appear in one file only; unknown top-level keys
  are errors.
- The schema (schema.Register), with each pydantic error turned into a Problem.
- Semantics: fideslang taxonomy keys (data categories, uses, subjects); duplicate keys;
  references to missing sub-processors and consent purposes; unknown keys inside Fides
  datasets (fideslang itself ignores them); no fødselsnummer/D-nummer anywhere in the
  files, and a value declared as a fødselsnummer must pass its checksum.
"""

from __future__ import annotations

import difflib
import enum
import glob
import hashlib
import json
import os
import re
import stat
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fideslang.models import (
    CollectionMeta,
    Dataset,
    DatasetCollection,
    DatasetField,
    DatasetMetadata,
    FidesDatasetReference,
    FidesMeta,
)
from pydantic import BaseModel, ValidationError
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import fodselsnummer

from datavern.core.errors import InvalidInput, Location, Problem
from datavern.register import yamlsafe
from datavern.register.schema import DOCUMENT_KEYS, LIST_KEYS, Register

PathKey = tuple[str | int, ...]

REGISTER_FILE = "register.yaml"
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much a register may hold; generous for real registers, tight for attacks."""

    max_file_bytes: int = 5 * MB
    max_total_bytes: int = 20 * MB
    max_files: int = 200
    max_depth: int = 64
    max_nodes: int = 500_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class LoadedRegister:
    register: Register
    root: Path
    files: dict[str, str]
    content_hash: str
    positions: Mapping[PathKey, Location] = field(default_factory=dict, repr=False, compare=False)

    def where(self, path: tuple[str | int, ...]) -> Location | None:
        key = tuple(path)
        while True:
            location = self.positions.get(key)
            if location is not None:
                return location
            if not key:
                return None
            key = key[:-1]


def content_hash(register: Register) -> str:
    canonical = json.dumps(
        register.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_register(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> LoadedRegister:
    """Read, merge and validate a register; raise InvalidInput with every problem."""
    given = Path(path)
    root_file = given
    if given.is_dir():
        root_file = given / REGISTER_FILE
        if not root_file.exists() and (given / "register.yml").exists():
            root_file = given / "register.yml"
    display_root = root_file.parent
    if not root_file.exists():
        raise InvalidInput(
            Problem(
                f"no register found: {root_file} does not exist "
                "(create a register with `datavern init`)"
            )
        )
    real_root_file = Path(os.path.realpath(root_file))
    reader = _Reader(real_root_file.parent, display_root, limits)
    reader.load(real_root_file, chain=(), included_at=None)
    merged, values, keys = reader.merge()
    problems = reader.problems
    register: Register | None = None
    if not reader.fatal:
        # Only validate a register whose files all parsed: half a register would
        # produce misleading "missing" errors.
        register, schema_problems = _validate(merged, values, keys)
        problems.extend(schema_problems)
        problems.extend(_Semantics(merged, values, keys).run())
    if problems or register is None:
        raise InvalidInput(_sorted(problems))
    return LoadedRegister(
        register=register,
        root=reader.root,
        files=dict(reader.files),
        content_hash=content_hash(register),
        positions=_model_positions(merged, values),
    )


# --------------------------------------------------------------------------- files


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))

    def key(p: Problem) -> tuple[int, str, int, int, str]:
        loc = p.location
        if loc is None:
            return (1, "", 0, 0, p.message)
        return (0, loc.file, loc.line or 0, loc.column or 0, p.message)

    return sorted(unique, key=key)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB // 10 else f"{n} bytes"


@dataclass
class _Doc:
    rel: str
    display: str
    document: yamlsafe.Document


class _Reader:
    def __init__(self, root: Path, display_root: Path, limits: Limits) -> None:
        self.root = root
        self.display_root = display_root
        self.limits = limits
        self.files: dict[str, str] = {}
        self.docs: list[_Doc] = []
        self.loaded: dict[Path, str] = {}  # real path -> where it was included (for messages)
        self.total = 0
        self.problems: list[Problem] = []
        self.too_many_files = False
        # A fatal problem leaves part of the register unread; validating the rest
        # would only add misleading "missing" errors.
        self.fatal = False

    def display(self, rel: str) -> str:
        return os.path.normpath(os.path.join(self.display_root, rel))

    def problem(self, message: str, location: Location | None, *, fatal: bool = True) -> None:
        self.problems.append(Problem(message, location))
        self.fatal = self.fatal or fatal

    def load(self, real: Path, chain: tuple[Path, ...], included_at: Location | None) -> None:
        rel = real.relative_to(self.root).as_posix()
        display = self.display(rel)
        here = included_at or Location(display)
        if len(self.loaded) >= self.limits.max_files:
            if not self.too_many_files:
                self.problem(
                    f"too many register files: at most {self.limits.max_files} may be included",
                    here,
                )
                self.too_many_files = True
            return
        self.loaded[real] = str(included_at) if included_at else display
        text = self._read(real, display, here)
        if text is None:
            return
        self.files[rel] = text
        self._scan_national_ids(text, display)
        try:
            document = yamlsafe.parse(
                text, display, max_depth=self.limits.max_depth, max_nodes=self.limits.max_nodes
            )
        except yamlsafe.YamlProblems as exc:
            self.problems.extend(exc.problems)
            self.fatal = True
            return
        data = document.data
        if not isinstance(data, dict):
            self.problem(
                f"the top level must be a mapping of register keys (organisation:, systems:, ...), "
                f"not {_kind(data)}",
                document.values.get((), Location(display, 1, 1)),
            )
            return
        for key in data:
            if key not in DOCUMENT_KEYS:
                self.problem(
                    _unknown_key(key, sorted(DOCUMENT_KEYS), "at the top level of a register file"),
                    document.keys.get((key,)),
                    fatal=False,
                )
        self.docs.append(_Doc(rel, display, document))
        if "include" in data:
            self._includes(real, document, (*chain, real))

    def _read(self, real: Path, display: str, here: Location) -> str | None:
        limits = self.limits
        # Name the file only when the message is placed elsewhere (at an include line).
        subject = "the file" if here.file == display and here.line is None else display
        try:
            info = os.stat(real)
        except OSError as exc:
            self.problem(f"cannot read {subject}: {exc.strerror}", here)
            return None
        if not stat.S_ISREG(info.st_mode):
            self.problem(f"{subject} is not a regular file", here)
            return None
        # Refuse from the size alone, before reading anything (a 50 MB file costs nothing).
        if info.st_size > limits.max_file_bytes:
            self.problem(
                f"{subject} is {_size(info.st_size)}; a register file may be at most "
                f"{_size(limits.max_file_bytes)}",
                here,
            )
            return None
        if self.total + info.st_size > limits.max_total_bytes:
            self.problem(
                f"the register files together exceed {_size(limits.max_total_bytes)}", here
            )
            return None
        try:
            with open(real, "rb") as handle:
                raw = handle.read(limits.max_file_bytes + 1)
        except OSError as exc:
            self.problem(f"cannot read {display}: {exc.strerror}", here)
            return None
        if len(raw) > limits.max_file_bytes:  # the file grew after stat()
            self.problem(
                f"{subject} is larger than {_size(limits.max_file_bytes)}; "
                "a register file may not be larger",
                here,
            )
            return None
        self.total += len(raw)
        if b"\x00" in raw:
            self.problem("this is a binary file, not YAML text", Location(display))
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            self.problem(
                "the file is not UTF-8 text (byte "
                f"0x{raw[exc.start]:02x} cannot be read); save it as UTF-8",
                Location(display, line, column),
            )
            return None
        return text.removeprefix("\ufeff")

    def _scan_national_ids(self, text: str, display: str) -> None:
        # personopplysningsloven § 12 and art. 5(1)(c): the register describes
        # processing; it must never hold a person's identity number. Comments are
        # scanned too: the files are stored verbatim with every applied version.
        for match in _NATIONAL_ID_RE.finditer(text):
            if fodselsnummer.is_valid(match.group(1) + match.group(2)):
                line, column = _line_col(text, match.start())
                self.problem(
                    "a fødselsnummer or D-nummer is written here; personal data must not be "
                    "in the register (remove it, and describe the field instead)",
                    Location(display, line, column),
                    fatal=False,
                )

    def _includes(self, real: Path, document: yamlsafe.Document, chain: tuple[Path, ...]) -> None:
        raw = document.data["include"]
        base_location = document.values.get(("include",))
        items: list[tuple[Any, Location | None]]
        if isinstance(raw, str):
            items = [(raw, base_location)]
        elif isinstance(raw, list):
            items = [(v, document.values.get(("include", i))) for i, v in enumerate(raw)]
        else:
            self.problem(
                f"include must be a list of file names or globs, not {_kind(raw)}", base_location
            )
            return
        folder = real.parent
        for pattern, location in items:
            if not isinstance(pattern, str) or not pattern.strip():
                self.problem("an include entry must be a file name or a glob", location)
                continue
            for target in self._resolve(folder, pattern, location):
                if target in chain:
                    names = [p.relative_to(self.root).as_posix() for p in chain]
                    start = names.index(target.relative_to(self.root).as_posix())
                    cycle = " -> ".join([*names[start:], names[start]])
                    self.problem(f"include cycle: {cycle}", location)
                elif target in self.loaded:
                    self.problem(
                        f"{target.relative_to(self.root).as_posix()} is included twice "
                        f"(first at {self.loaded[target]})",
                        location,
                    )
                else:
                    self.load(target, chain, location)

    def _resolve(self, folder: Path, pattern: str, location: Location | None) -> Iterator[Path]:
        shown = _short(pattern)
        if _CONTROL_RE.search(pattern) or len(pattern) > 1024:
            self.problem(f"include {shown} is not a usable file name", location)
            return
        if os.path.isabs(pattern) or pattern.startswith("~"):
            self.problem(
                f"include {shown} is an absolute path; include paths are relative to "
                "the including file and stay inside the register folder",
                location,
            )
            return
        try:
            yield from self._targets(folder, pattern, location)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "invalid"
            self.problem(f"include {shown} cannot be used: {reason}", location)

    def _targets(self, folder: Path, pattern: str, location: Location | None) -> Iterator[Path]:
        matches: list[str] = [pattern]
        if glob.has_magic(pattern):
            found = self._glob(folder, pattern, location)
            if found is None:
                return
            if not found:
                self.problem(f"include {_short(pattern)} matches no file", location)
                return
            matches = found
        for name in matches:
            target = Path(os.path.realpath(folder / name))
            if not target.is_relative_to(self.root):
                self.problem(
                    f"include {_short(name)} is outside the register folder "
                    f"{self.display_root}; includes must stay inside it",
                    location,
                )
            elif not target.exists():
                self.problem(f"included file {_short(name)} does not exist", location)
            elif target.is_dir():
                self.problem(
                    f"include {_short(name)} is a folder; name files, or a glob such as "
                    f"'{name.rstrip('/')}/*.yaml'",
                    location,
                )
            else:
                yield target

    def _glob(self, folder: Path, pattern: str, location: Location | None) -> list[str] | None:
        """The files a glob matches, sorted; None after reporting a problem.

        The walk is confined to the register folder: the part before the first
        wildcard must lead inside it and no `..` may follow a wildcard, so a pattern
        such as `../../**/*.yaml` cannot walk the whole disk. `**` does not descend
        into symbolic links (pathlib), so a link loop cannot make the walk explode.
        """
        parts = pattern.split("/")
        first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
        prefix, rest = parts[:first], parts[first:]
        if ".." in rest:
            self.problem(f"include {_short(pattern)}: '..' may not follow a wildcard", location)
            return None
        base = Path(os.path.realpath(folder.joinpath(*prefix)))
        if not base.is_relative_to(self.root):
            self.problem(
                f"include {_short(pattern)} is outside the register folder "
                f"{self.display_root}; includes must stay inside it",
                location,
            )
            return None
        found: list[str] = []
        for match in base.glob("/".join(rest)):
            relative = match.relative_to(base).parts
            # Like the shell (and glob.glob), a wildcard does not match hidden names.
            if any(part.startswith(".") for part in relative) or match.is_dir():
                continue
            found.append("/".join([*prefix, *relative]))
            if len(found) > self.limits.max_files:
                break
        return sorted(found)

    def merge(self) -> tuple[dict[str, Any], dict[PathKey, Location], dict[PathKey, Location]]:
        """One register mapping from all documents, with positions re-keyed to it."""
        merged: dict[str, Any] = {}
        values: dict[PathKey, Location] = {}
        keys: dict[PathKey, Location] = {}
        owner: dict[str, Location | None] = {}
        if self.docs:
            values[()] = self.docs[0].document.values.get((), Location(self.docs[0].display))
        for doc in self.docs:
            data: dict[str, Any] = doc.document.data
            offsets: dict[str, int] = {}
            for key, value in data.items():
                if key == "include" or key not in DOCUMENT_KEYS:
                    continue
                key_location = doc.document.keys.get((key,))
                if key in LIST_KEYS:
                    if value is None:  # `cookies:` with every item commented out
                        value = []
                    if not isinstance(value, list):
                        self.problem(
                            f"{key} must be a list (lines starting with '- '), not {_kind(value)}",
                            doc.document.values.get((key,)),
                            fatal=False,
                        )
                        continue
                    items = merged.setdefault(key, [])
                    offsets[key] = len(items)
                    items.extend(value)
                else:
                    if key in merged:
                        self.problem(
                            f"{key!r} is already given at {owner[key]}; it may appear in one "
                            "file only",
                            key_location,
                            fatal=False,
                        )
                        continue
                    merged[key] = value
                    owner[key] = key_location
                    offsets[key] = -1
                if (key,) not in values:
                    values[(key,)] = doc.document.values[(key,)]
                    if key_location is not None:
                        keys[(key,)] = key_location
            for source, target in ((doc.document.values, values), (doc.document.keys, keys)):
                for path, location in source.items():
                    if len(path) < 2 or path[0] not in offsets:
                        continue
                    offset = offsets[str(path[0])]
                    if offset >= 0 and isinstance(path[1], int):
                        target[(path[0], path[1] + offset, *path[2:])] = location
                    elif offset < 0:
                        target[path] = location
        return merged, values, keys


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_NATIONAL_ID_RE = re.compile(r"(?<![0-9])([0-9]{6})[ -]?([0-9]{5})(?![0-9])")


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a yes/no value)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _unknown_key(key: str, expected: list[str], where: str = "") -> str:
    place = f" {where}" if where else ""
    return f"unknown key {key!r}{place}{_did_you_mean(key, expected)}; expected one of: " + (
        ", ".join(expected)
    )


def _did_you_mean(value: Any, choices: list[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _path_str(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _nearest(positions: Mapping[PathKey, Location], path: PathKey) -> Location | None:
    while True:
        if path in positions:
            return positions[path]
        if not path:
            return None
        path = path[:-1]


# --------------------------------------------------------------------------- schema


def _validate(
    merged: dict[str, Any], values: dict[PathKey, Location], keys: dict[PathKey, Location]
) -> tuple[Register | None, list[Problem]]:
    try:
        return Register.model_validate(merged), []
    except ValidationError as exc:
        return None, [_schema_problem(err, merged, values, keys) for err in exc.errors()]
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        # A validator outside Datavern (fideslang) failed in an unforeseen way; say so
        # rather than showing a traceback.
        return None, [
            Problem(f"the register could not be validated ({type(exc).__name__})", values.get(()))
        ]


def _align(loc: tuple[Any, ...], data: Any) -> tuple[PathKey, str | None]:
    """The data path a pydantic ``loc`` points at, and a trailing absent key if any.

    Pydantic puts union and validator tags in ``loc`` (e.g. ``function-after[...]``);
    they are not in the data and are skipped.
    """
    path: list[str | int] = []
    current = data
    for i, segment in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and isinstance(segment, str):
            if segment in current:
                path.append(segment)
                current = current[segment]
                continue
            if last:
                return tuple(path), segment
            continue
        if isinstance(current, list) and isinstance(segment, int) and 0 <= segment < len(current):
            path.append(segment)
            current = current[segment]
            continue
    return tuple(path), None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(args) == 1:
                tp = args[0]
                continue
            if len(models) == 1:
                tp = models[0]
                continue
        return tp


def _type_at(path: PathKey) -> Any:
    """The annotation of the schema node at a data path (None if not found)."""
    tp: Any = Register
    for segment in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields
            if not isinstance(segment, str) or segment not in info:
                return None
            tp = info[segment].annotation
        elif get_origin(tp) is list and isinstance(segment, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict and isinstance(segment, str):
            tp = get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


def _choices(tp: Any) -> list[str] | None:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [str(m.value) for m in tp]
    if get_origin(tp) is Literal:
        return [str(a) for a in get_args(tp)]
    if get_origin(tp) is list:
        return _choices(_unwrap(get_args(tp)[0]))
    return None


def _fields_of(tp: Any) -> list[str]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


_TYPE_WORDS = {
    "string_type": "a text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (lines starting with '- ')",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "date_type": "a date such as 2024-05-31",
    "date_parsing": "a date such as 2024-05-31",
    "date_from_datetime_parsing": "a date such as 2024-05-31",
    "date_from_datetime_inexact": "a date such as 2024-05-31 (without a time)",
    "url_type": "a web address",
    "url_parsing": "a web address such as https://example.no",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_problem(
    err: Any, merged: dict[str, Any], values: dict[PathKey, Location], keys: dict[PathKey, Location]
) -> Problem:
    kind: str = err["type"]
    path, absent = _align(tuple(err["loc"]), merged)
    given = err.get("input")
    if kind == "missing" and absent is not None:
        parent = _type_at(path)
        info = (
            parent.model_fields.get(absent)
            if isinstance(parent, type) and issubclass(parent, BaseModel)
            else None
        )
        description = f" ({info.description.rstrip('.')})" if info and info.description else ""
        return Problem(
            f"missing required key {absent!r}{description}",
            _nearest(values, path),
            _path_str((*path, absent)),
        )
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else str(err["loc"][-1])
        expected = _fields_of(_type_at(path[:-1]))
        message = _unknown_key(name, expected) if expected else f"unknown key {name!r}"
        return Problem(message, keys.get(path) or _nearest(values, path), _path_str(path))
    location = _nearest(values, path)
    if "[key]" in err["loc"]:
        # A mapping key failed its own validation (e.g. an address under dsr.masking.fields).
        location = keys.get(path) or location
    if kind in ("enum", "literal_error"):
        choices = _choices(_type_at(path)) or []
        if not choices:
            expected_text = str(err.get("ctx", {}).get("expected", ""))
            choices = [c.strip(" '") for c in re.split(r",| or ", expected_text) if c.strip(" '")]
        return Problem(
            f"{_short(given)} is not allowed here{_did_you_mean(given, choices)}; "
            f"expected one of: {', '.join(choices)}",
            location,
            _path_str(path),
        )
    if kind in ("value_error", "assertion_error"):
        error = err.get("ctx", {}).get("error")
        message = str(error) if error is not None else str(err["msg"])
        return Problem(message, location, _path_str(path))
    if kind == "dict_type" and get_origin(_type_at(path)) is dict:
        # A Localized text: a plain string or one text per language.
        return Problem(
            f"expected a text, or one text per language (nb: ..., en: ...), got {_kind(given)}",
            location,
            _path_str(path),
        )
    if kind in _TYPE_WORDS:
        return Problem(
            f"expected {_TYPE_WORDS[kind]}, got {_kind(given)}", location, _path_str(path)
        )
    if kind == "too_short":
        minimum = err.get("ctx", {}).get("min_length", 1)
        return Problem(
            f"needs at least {minimum} item{'s' if minimum != 1 else ''}", location, _path_str(path)
        )
    return Problem(str(err["msg"]), location, _path_str(path))


# --------------------------------------------------------------------------- semantics


@cache
def _taxonomy() -> dict[str, frozenset[str]]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {
        "data category": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category),
        "data use": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_use),
        "data subject": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_subject),
    }


# Keys of older fideslang dataset formats that Fides datasets in the wild still carry;
# fideslang 3 ignores them and so does Datavern (docs/register.md, "Datasets").
_LEGACY_DATASET_KEYS = frozenset(
    {"data_qualifier", "retention", "third_country_transfers", "joint_controller"}
)
_TAXONOMY_KEYS = {
    "data_categories": "data category",
    "data_uses": "data use",
    "data_purposes": "data use",
    "data_subjects": "data subject",
}
_NATIONAL_ID_KEYS = frozenset(
    {
        "fnr",
        "fodselsnummer",
        "personnummer",
        "d_nummer",
        "dnummer",
        "national_id",
        "national_id_number",
        "national_identification_number",
        "nin",
        "birth_number",
    }
)
_EXAMPLE_KEYS = frozenset({"example", "examples", "sample", "samples", "test_value"})
_NATIONAL_ID_CATEGORY = "user.government_id.national_identification_number"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Semantics:
    """Checks the schema cannot express; walks the raw data so every finding has a place."""

    def __init__(
        self,
        data: dict[str, Any],
        values: dict[PathKey, Location],
        keys: dict[PathKey, Location],
    ) -> None:
        self.data = data
        self.values = values
        self.keys = keys
        self.problems: list[Problem] = []

    def run(self) -> list[Problem]:
        self._systems()
        self._sub_processors()
        self._consent_purposes()
        self._cookies()
        self._datasets()
        self._retention_rules()
        self._declared_national_ids(self.data, ())
        return self.problems

    def add(self, message: str, path: PathKey, *, at_key: bool = False) -> None:
        location = (self.keys.get(path) if at_key else None) or _nearest(self.values, path)
        self.problems.append(Problem(message, location, _path_str(path)))

    # taxonomy ---------------------------------------------------------------

    def taxonomy(self, kind: str, value: Any, path: PathKey) -> None:
        if not isinstance(value, str):
            return  # a type error the schema reports
        known = _taxonomy()[kind]
        if value in known:
            return
        self.add(
            f"unknown {kind} {value!r}: not in the fideslang taxonomy"
            f"{_did_you_mean(value, sorted(known), 0.7)}; see docs/register.md, 'Taxonomy'",
            path,
        )

    def taxonomy_list(self, kind: str, value: Any, path: PathKey) -> None:
        for i, item in enumerate(_as_list(value)):
            self.taxonomy(kind, item, (*path, i))

    # duplicates -------------------------------------------------------------

    def unique(self, what: str, items: list[tuple[Any, PathKey]]) -> set[str]:
        seen: dict[str, PathKey] = {}
        for value, path in items:
            if not isinstance(value, str):
                continue
            if value in seen:
                first = _nearest(self.values, seen[value])
                self.add(f"duplicate {what} {value!r}; first defined at {first}", path)
            else:
                seen[value] = path
        return set(seen)

    def refer(self, what: str, value: Any, known: set[str], path: PathKey, fix: str) -> None:
        if not isinstance(value, str) or value in known:
            return
        self.add(
            f"{what} {value!r} is not defined{_did_you_mean(value, sorted(known))}; {fix}", path
        )

    # sections ---------------------------------------------------------------

    def _systems(self) -> None:
        systems = _as_list(self.data.get("systems"))
        self.unique(
            "system key",
            [(_as_dict(s).get("key"), ("systems", i, "key")) for i, s in enumerate(systems)],
        )
        activities: list[tuple[Any, PathKey]] = []
        processors = {
            p.get("key")
            for p in map(_as_dict, _as_list(self.data.get("sub_processors")))
            if isinstance(p.get("key"), str)
        }
        purposes = {
            p.get("key")
            for p in map(_as_dict, _as_list(self.data.get("consent_purposes")))
            if isinstance(p.get("key"), str)
        }
        for i, system in enumerate(map(_as_dict, systems)):
            for j, activity in enumerate(map(_as_dict, _as_list(system.get("processing")))):
                base: PathKey = ("systems", i, "processing", j)
                activities.append((activity.get("key"), (*base, "key")))
                self.taxonomy("data use", activity.get("data_use"), (*base, "data_use"))
                self.taxonomy_list(
                    "data category", activity.get("data_categories"), (*base, "data_categories")
                )
                self.taxonomy_list(
                    "data subject", activity.get("data_subjects"), (*base, "data_subjects")
                )
                for k, recipient in enumerate(_as_list(activity.get("recipients"))):
                    self.refer(
                        "recipient",
                        recipient,
                        processors,  # type: ignore[arg-type]
                        (*base, "recipients", k),
                        "a recipient is the key of an entry under sub_processors",
                    )
                self.refer(
                    "consent purpose",
                    activity.get("consent_purpose"),
                    purposes,  # type: ignore[arg-type]
                    (*base, "consent_purpose"),
                    "name the key of an entry under consent_purposes",
                )
        self.unique("processing activity key", activities)

    def _sub_processors(self) -> None:
        items = _as_list(self.data.get("sub_processors"))
        self.unique(
            "sub-processor key",
            [(_as_dict(p).get("key"), ("sub_processors", i, "key")) for i, p in enumerate(items)],
        )
        for i, item in enumerate(map(_as_dict, items)):
            self.taxonomy_list(
                "data category",
                item.get("data_categories"),
                ("sub_processors", i, "data_categories"),
            )

    def _consent_purposes(self) -> None:
        items = _as_list(self.data.get("consent_purposes"))
        self.unique(
            "consent purpose key",
            [(_as_dict(p).get("key"), ("consent_purposes", i, "key")) for i, p in enumerate(items)],
        )
        for i, item in enumerate(map(_as_dict, items)):
            if item.get("data_use") is not None:
                self.taxonomy("data use", item.get("data_use"), ("consent_purposes", i, "data_use"))

    def _cookies(self) -> None:
        purposes = {
            p.get("key")
            for p in map(_as_dict, _as_list(self.data.get("consent_purposes")))
            if isinstance(p.get("key"), str)
        }
        for i, cookie in enumerate(map(_as_dict, _as_list(self.data.get("cookies")))):
            self.refer(
                "consent purpose",
                cookie.get("consent_purpose"),
                purposes,  # type: ignore[arg-type]
                ("cookies", i, "consent_purpose"),
                "name the key of an entry under consent_purposes",
            )

    def _datasets(self) -> None:
        datasets = _as_list(self.data.get("dataset"))
        self.unique(
            "dataset fides_key",
            [
                (_as_dict(d).get("fides_key"), ("dataset", i, "fides_key"))
                for i, d in enumerate(datasets)
            ],
        )
        for i, dataset in enumerate(datasets):
            self._resource(dataset, ("dataset", i), _DATASET_SHAPE)

    def _dataset_fields(self) -> dict[str, dict[str, bool]]:
        """``dataset.collection`` -> {top-level field name: is a primary key}."""
        found: dict[str, dict[str, bool]] = {}
        for dataset in map(_as_dict, _as_list(self.data.get("dataset"))):
            key = dataset.get("fides_key")
            if not isinstance(key, str):
                continue
            for collection in map(_as_dict, _as_list(dataset.get("collections"))):
                name = collection.get("name")
                if not isinstance(name, str):
                    continue
                fields = found.setdefault(f"{key}.{name}", {})
                for item in map(_as_dict, _as_list(collection.get("fields"))):
                    if isinstance(item.get("name"), str):
                        meta = _as_dict(item.get("fides_meta") or item.get("fidesops_meta"))
                        fields[item["name"]] = bool(meta.get("primary_key"))
        return found

    def _retention_rules(self) -> None:
        """Retention rules name collections and fields the datasets declare (docs/retention.md):
        a sweep must never guess which table or column a rule means."""
        rules = _as_list(self.data.get("retention_rules"))
        if not rules:
            return
        self.unique(
            "retention rule key",
            [(_as_dict(r).get("key"), ("retention_rules", i, "key")) for i, r in enumerate(rules)],
        )
        collections = self._dataset_fields()
        for i, rule in enumerate(map(_as_dict, rules)):
            base: PathKey = ("retention_rules", i)
            name = f"retention rule {rule.get('key')!r}"
            fields = self._retention_collection(
                name, rule.get("collection"), collections, (*base, "collection")
            )
            trigger = _as_dict(rule.get("trigger"))
            for which in ("field", "financial_year_end_of"):
                self._retention_field(name, trigger.get(which), fields, (*base, "trigger", which))
            for k, item in enumerate(_as_list(rule.get("anonymise_fields"))):
                path = (*base, "anonymise_fields", k)
                self._retention_field(name, item, fields, path)
                if fields and isinstance(item, str) and fields.get(item):
                    self.add(
                        f"{name}: {item!r} is part of the primary key and cannot be anonymised; "
                        "use action delete",
                        path,
                    )
            aggregate = _as_dict(rule.get("aggregate"))
            if aggregate:
                into = self._retention_collection(
                    name, aggregate.get("into"), collections, (*base, "aggregate", "into")
                )
                for k, item in enumerate(_as_list(aggregate.get("group_by"))):
                    path = (*base, "aggregate", "group_by", k)
                    self._retention_field(name, item, fields, path)
                    self._retention_field(name, item, into, path, aggregate.get("into"))
                self._retention_field(
                    name,
                    aggregate.get("count_field", "row_count"),
                    into,
                    (*base, "aggregate", "count_field"),
                    aggregate.get("into"),
                )

    def _retention_collection(
        self, name: str, value: Any, collections: dict[str, dict[str, bool]], path: PathKey
    ) -> dict[str, bool] | None:
        if not isinstance(value, str) or value.count(".") != 1:
            return None  # the schema reports the shape
        if value in collections:
            return collections[value]
        known = sorted(collections)
        hint = (
            f"; declared collections: {', '.join(known[:20])}"
            if known
            else "; declare it under `dataset:` first"
        )
        self.add(
            f"{name}: no collection {value!r} in the register's datasets"
            f"{_did_you_mean(value, known)}{hint}",
            path,
        )
        return None

    def _retention_field(
        self,
        name: str,
        value: Any,
        fields: dict[str, bool] | None,
        path: PathKey,
        collection: Any = None,
    ) -> None:
        if fields is None or not isinstance(value, str) or value in fields:
            return
        where = f"collection {collection!r}" if collection else "its collection"
        self.add(
            f"{name}: {where} has no field {value!r}{_did_you_mean(value, sorted(fields))}",
            path,
        )

    def _resource(self, value: Any, path: PathKey, shape: _Shape) -> None:
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key not in shape.keys:
                self.add(
                    _unknown_key(
                        key, sorted(shape.keys - _LEGACY_DATASET_KEYS), f"in {shape.name}"
                    ),
                    (*path, key),
                    at_key=True,
                )
                continue
            if key in _TAXONOMY_KEYS:
                self.taxonomy_list(_TAXONOMY_KEYS[key], item, (*path, key))
            child = shape.children().get(key)
            if child is None:
                continue
            if child.many:
                for n, element in enumerate(_as_list(item)):
                    self._resource(element, (*path, key, n), child.shape())
            else:
                self._resource(item, (*path, key), child.shape())

    # fødselsnummer ----------------------------------------------------------

    def _declared_national_ids(self, value: Any, path: PathKey, declared: bool = False) -> None:
        if isinstance(value, dict):
            categories = value.get("data_categories")
            holds_id = isinstance(categories, list) and _NATIONAL_ID_CATEGORY in categories
            for key, item in value.items():
                normal = key.lower().replace("ø", "o").replace("-", "_").replace(" ", "_")
                is_declared = normal in _NATIONAL_ID_KEYS or (holds_id and normal in _EXAMPLE_KEYS)
                self._declared_national_ids(item, (*path, key), is_declared)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._declared_national_ids(item, (*path, i), declared)
        elif declared and isinstance(value, str | int) and not isinstance(value, bool):
            digits = re.sub(r"[ \-]", "", str(value))
            if not re.fullmatch(r"[0-9]{11}", digits):
                return
            try:
                fodselsnummer.validate(digits)
            except InvalidChecksum:
                reason = "the check digits do not match (checksum)"
            except InvalidComponent:
                reason = "the first six digits are not a valid date of birth"
            except StdnumError:
                reason = "wrong format"
            else:
                return  # valid: already refused by the file scan as personal data
            self.add(f"not a valid fødselsnummer or D-nummer: {reason}", path)


@dataclass(frozen=True)
class _Child:
    many: bool
    shape: Callable[[], _Shape]


@dataclass(frozen=True)
class _Shape:
    """The keys a fideslang dataset mapping may hold, and which of them nest."""

    name: str
    keys: frozenset[str]
    children: Callable[[], dict[str, _Child]]


def _keys(model: type[BaseModel], *extra: str) -> frozenset[str]:
    return frozenset(model.model_fields) | frozenset(extra)


_REFERENCE_SHAPE = _Shape("a field reference", _keys(FidesDatasetReference), dict)
_FIELD_META_SHAPE = _Shape(
    "fides_meta of a field",
    _keys(FidesMeta),
    lambda: {"references": _Child(True, lambda: _REFERENCE_SHAPE)},
)
_COLLECTION_META_SHAPE = _Shape("fides_meta of a collection", _keys(CollectionMeta), dict)
_DATASET_META_SHAPE = _Shape("fides_meta of a dataset", _keys(DatasetMetadata), dict)
_FIELD_SHAPE: _Shape = _Shape(
    "a dataset field",
    _keys(DatasetField, "fidesops_meta", *_LEGACY_DATASET_KEYS),
    lambda: {
        "fields": _Child(True, lambda: _FIELD_SHAPE),
        "fides_meta": _Child(False, lambda: _FIELD_META_SHAPE),
        "fidesops_meta": _Child(False, lambda: _FIELD_META_SHAPE),
    },
)
_COLLECTION_SHAPE = _Shape(
    "a dataset collection",
    _keys(DatasetCollection, "fidesops_meta", *_LEGACY_DATASET_KEYS),
    lambda: {
        "fields": _Child(True, lambda: _FIELD_SHAPE),
        "fides_meta": _Child(False, lambda: _COLLECTION_META_SHAPE),
        "fidesops_meta": _Child(False, lambda: _COLLECTION_META_SHAPE),
    },
)
_DATASET_SHAPE = _Shape(
    "a dataset",
    _keys(Dataset, "fidesops_meta", *_LEGACY_DATASET_KEYS),
    lambda: {
        "collections": _Child(True, lambda: _COLLECTION_SHAPE),
        "fides_meta": _Child(False, lambda: _DATASET_META_SHAPE),
        "fidesops_meta": _Child(False, lambda: _DATASET_META_SHAPE),
    },
)


# --------------------------------------------------------------------------- positions


def _model_positions(
    merged: dict[str, Any], values: dict[PathKey, Location]
) -> dict[PathKey, Location]:
    """Positions keyed by model paths: fideslang sorts collections and their fields by name."""
    order: dict[PathKey, dict[int, int]] = {}

    def rank(items: list[Any]) -> dict[int, int]:
        names = [str(_as_dict(item).get("name")) for item in items]
        return {
            raw: model for model, raw in enumerate(sorted(range(len(names)), key=names.__getitem__))
        }

    for d, dataset in enumerate(_as_list(merged.get("dataset"))):
        collections = _as_list(_as_dict(dataset).get("collections"))
        order[("dataset", d, "collections")] = rank(collections)
        for c, collection in enumerate(collections):
            fields = _as_list(_as_dict(collection).get("fields"))
            order[("dataset", d, "collections", c, "fields")] = rank(fields)
    if not order:
        return dict(values)
    result: dict[PathKey, Location] = {}
    for path, location in values.items():
        out = list(path)
        for i in range(2, len(path)):
            mapping = order.get(path[:i])
            segment = path[i]
            if mapping is not None and isinstance(segment, int):
                out[i] = mapping.get(segment, segment)
        result[tuple(out)] = location
    return result
