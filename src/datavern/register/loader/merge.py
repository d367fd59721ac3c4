"""Merging the register's files into one mapping, with positions re-keyed to it."""

from __future__ import annotations

from typing import Any

from datavern.core.errors import Location, Problem
from datavern.register.loader.files import Doc
from datavern.register.loader.loaded import PathKey
from datavern.register.loader.messages import kind_of
from datavern.register.schema import DOCUMENT_KEYS, LIST_KEYS


def merge(
    docs: list[Doc],
) -> tuple[dict[str, Any], dict[PathKey, Location], dict[PathKey, Location], list[Problem]]:
    """One register mapping from all documents, with positions re-keyed to it.

    List keys concatenate; every other key may appear in one file only. The problems
    found are not fatal: the merged mapping is still validated.
    """
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    values: dict[PathKey, Location] = {}
    keys: dict[PathKey, Location] = {}
    owner: dict[str, Location | None] = {}
    if docs:
        values[()] = docs[0].document.values.get((), Location(docs[0].display))
    for doc in docs:
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
                    problems.append(
                        Problem(
                            f"{key} must be a list (lines starting with '- '), "
                            f"not {kind_of(value)}",
                            doc.document.values.get((key,)),
                        )
                    )
                    continue
                items = merged.setdefault(key, [])
                offsets[key] = len(items)
                items.extend(value)
            else:
                if key in merged:
                    problems.append(
                        Problem(
                            f"{key!r} is already given at {owner[key]}; it may appear in one "
                            "file only",
                            key_location,
                        )
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
    return merged, values, keys, problems
