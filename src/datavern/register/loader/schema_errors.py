"""The schema (schema.Register), each pydantic error turned into a placed Problem."""

from __future__ import annotations

import enum
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from datavern.core.errors import Location, Problem
from datavern.register.loader.loaded import PathKey, nearest
from datavern.register.loader.messages import (
    did_you_mean,
    kind_of,
    short_repr,
    unknown_key,
)
from datavern.register.rules import path_str
from datavern.register.schema import Register


def validate(
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
            nearest(values, path),
            path_str((*path, absent)),
        )
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else str(err["loc"][-1])
        expected = _fields_of(_type_at(path[:-1]))
        message = unknown_key(name, expected) if expected else f"unknown key {name!r}"
        return Problem(message, keys.get(path) or nearest(values, path), path_str(path))
    location = nearest(values, path)
    if "[key]" in err["loc"]:
        # A mapping key failed its own validation (e.g. an address under dsr.masking.fields).
        location = keys.get(path) or location
    if kind in ("enum", "literal_error"):
        choices = _choices(_type_at(path)) or []
        if not choices:
            expected_text = str(err.get("ctx", {}).get("expected", ""))
            choices = [c.strip(" '") for c in re.split(r",| or ", expected_text) if c.strip(" '")]
        return Problem(
            f"{short_repr(given)} is not allowed here{did_you_mean(given, choices)}; "
            f"expected one of: {', '.join(choices)}",
            location,
            path_str(path),
        )
    if kind in ("value_error", "assertion_error"):
        error = err.get("ctx", {}).get("error")
        message = str(error) if error is not None else str(err["msg"])
        return Problem(message, location, path_str(path))
    if kind == "dict_type" and get_origin(_type_at(path)) is dict:
        # A Localized text: a plain string or one text per language.
        return Problem(
            f"expected a text, or one text per language (nb: ..., en: ...), got {kind_of(given)}",
            location,
            path_str(path),
        )
    if kind in _TYPE_WORDS:
        return Problem(
            f"expected {_TYPE_WORDS[kind]}, got {kind_of(given)}", location, path_str(path)
        )
    if kind == "too_short":
        minimum = err.get("ctx", {}).get("min_length", 1)
        return Problem(
            f"needs at least {minimum} item{'s' if minimum != 1 else ''}", location, path_str(path)
        )
    return Problem(str(err["msg"]), location, path_str(path))
