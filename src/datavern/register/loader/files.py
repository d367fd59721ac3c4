"""Reading the register's files: size limits, UTF-8, includes followed depth first."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum.no import fodselsnummer

from datavern.core.errors import Location, Problem
from datavern.register import yamlsafe
from datavern.register.loader.includes import IncludePaths
from datavern.register.loader.limits import Limits, size_text
from datavern.register.loader.messages import kind_of, line_col, unknown_key
from datavern.register.schema import DOCUMENT_KEYS

_NATIONAL_ID_RE = re.compile(r"(?<![0-9])([0-9]{6})[ -]?([0-9]{5})(?![0-9])")


@dataclass
class Doc:
    rel: str
    display: str
    document: yamlsafe.Document


class Reader:
    def __init__(self, root: Path, display_root: Path, limits: Limits) -> None:
        self.root = root
        self.display_root = display_root
        self.limits = limits
        self.files: dict[str, str] = {}
        self.docs: list[Doc] = []
        self.loaded: dict[Path, str] = {}  # real path -> where it was included (for messages)
        self.total = 0
        self.problems: list[Problem] = []
        self.too_many_files = False
        # A fatal problem leaves part of the register unread; validating the rest
        # would only add misleading "missing" errors.
        self.fatal = False
        self.include_paths = IncludePaths(root, display_root, limits.max_files, self.problem)

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
                f"not {kind_of(data)}",
                document.values.get((), Location(display, 1, 1)),
            )
            return
        for key in data:
            if key not in DOCUMENT_KEYS:
                self.problem(
                    unknown_key(key, sorted(DOCUMENT_KEYS), "at the top level of a register file"),
                    document.keys.get((key,)),
                    fatal=False,
                )
        self.docs.append(Doc(rel, display, document))
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
                f"{subject} is {size_text(info.st_size)}; a register file may be at most "
                f"{size_text(limits.max_file_bytes)}",
                here,
            )
            return None
        if self.total + info.st_size > limits.max_total_bytes:
            self.problem(
                f"the register files together exceed {size_text(limits.max_total_bytes)}", here
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
                f"{subject} is larger than {size_text(limits.max_file_bytes)}; "
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
                line, column = line_col(text, match.start())
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
                f"include must be a list of file names or globs, not {kind_of(raw)}", base_location
            )
            return
        folder = real.parent
        for pattern, location in items:
            if not isinstance(pattern, str) or not pattern.strip():
                self.problem("an include entry must be a file name or a glob", location)
                continue
            for target in self.include_paths.resolve(folder, pattern, location):
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
