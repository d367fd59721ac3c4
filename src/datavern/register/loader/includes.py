"""Include paths: relative to the including file, confined to the register folder."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from datavern.core.errors import Location
from datavern.register.loader.messages import short_repr

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class IncludePaths:
    """The files an include entry names, each resolved (symlinks too) inside the root."""

    def __init__(
        self,
        root: Path,
        display_root: Path,
        max_files: int,
        problem: Callable[[str, Location | None], None],
    ) -> None:
        self.root = root
        self.display_root = display_root
        self.max_files = max_files
        self.problem = problem

    def resolve(self, folder: Path, pattern: str, location: Location | None) -> Iterator[Path]:
        shown = short_repr(pattern)
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
                self.problem(f"include {short_repr(pattern)} matches no file", location)
                return
            matches = found
        for name in matches:
            target = Path(os.path.realpath(folder / name))
            if not target.is_relative_to(self.root):
                self.problem(
                    f"include {short_repr(name)} is outside the register folder "
                    f"{self.display_root}; includes must stay inside it",
                    location,
                )
            elif not target.exists():
                self.problem(f"included file {short_repr(name)} does not exist", location)
            elif target.is_dir():
                self.problem(
                    f"include {short_repr(name)} is a folder; name files, or a glob such as "
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
            self.problem(f"include {short_repr(pattern)}: '..' may not follow a wildcard", location)
            return None
        base = Path(os.path.realpath(folder.joinpath(*prefix)))
        if not base.is_relative_to(self.root):
            self.problem(
                f"include {short_repr(pattern)} is outside the register folder "
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
            if len(found) > self.max_files:
                break
        return sorted(found)
