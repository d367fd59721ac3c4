"""DV7xx: notice languages."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from datavern.register import schema
from datavern.register.rules.findings import Path, path_str
from datavern.register.rules.registry import ERROR, Context, check, join, rule

TRANSLATION_MISSING = rule(
    "DV701",
    "translation-missing",
    ERROR,
    "GDPR art. 12(1)",
    "A text the notice shows lacks a notice language.",
    "Give the field a mapping with a text per language in `organisation.languages`, "
    "e.g. {nb: ..., en: ...}; a plain string counts for the first language only.",
)


def _is_localized_annotation(annotation: Any) -> bool:
    """True for ``Localized`` and ``Localized | None`` (found by its validator)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return any(getattr(m, "func", None) is schema._check_langs for m in annotation.__metadata__)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_localized_annotation(a) for a in typing.get_args(annotation))
    return False


def _localized_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, info in model.model_fields.items()
        if any(getattr(m, "func", None) is schema._check_langs for m in info.metadata)
        or _is_localized_annotation(info.annotation)
    ]


def localized_texts(node: object, path: Path = ()) -> Iterator[tuple[Path, dict[str, str]]]:
    """Every Localized text in a register model, with its path (datasets are not walked)."""
    if isinstance(node, schema.Strict):
        localized = set(_localized_fields(type(node)))
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name in localized:
                if value:
                    yield (*path, name), value
            else:
                yield from localized_texts(value, (*path, name))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from localized_texts(item, (*path, i))


@check
def _languages(ctx: Context) -> None:
    languages: list[str] = list(ctx.register.organisation.languages)
    for path, texts in localized_texts(ctx.register):
        missing = [lang for lang in languages if schema.text_for(texts, lang, languages) is None]
        if missing:
            plain = " (a plain string counts for the first language only)" if "_" in texts else ""
            ctx.add(
                TRANSLATION_MISSING,
                f"`{path_str(path)}` has no text in {join(missing)}{plain}",
                path,
            )
