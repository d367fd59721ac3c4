"""DV9xx: the register as a record of processing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from datavern.register.rules.findings import Path, path_str
from datavern.register.rules.legal import ROOT_CATEGORY, category_matches, covered
from datavern.register.rules.registry import ERROR, WARNING, Context, check, rule
from datavern.register.schema import Register

DUPLICATE_KEY = rule(
    "DV901",
    "duplicate-key",
    ERROR,
    "GDPR art. 30(1)",
    "Two entries share one key; references to it are ambiguous.",
    "Give each system, activity, sub-processor, consent purpose, cookie and dataset its own key.",
)
DATASET_CATEGORY_UNDECLARED = rule(
    "DV902",
    "dataset-category-undeclared",
    WARNING,
    "GDPR art. 30(1)(c), 13(1)(c) and 14(1)(d)",
    "A dataset stores a personal data category that no activity declares.",
    "Add the category (or a broader one) to the activity that processes it, or correct the "
    "dataset annotation.",
)
DATA_CATEGORIES_UNITEMISED = rule(
    "DV903",
    "data-categories-unitemised",
    WARNING,
    "GDPR art. 14(1)(d), 15(1)(b) and 30(1)(c)",
    "Data is recorded only as `user`, the root of every personal data category.",
    "List the kinds of personal data, e.g. user.name, user.contact.email, "
    "user.financial.bank_account; see docs/register.md, 'Taxonomy'.",
)
TODO_PLACEHOLDER = rule(
    "DV904",
    "todo-placeholder",
    WARNING,
    "GDPR art. 5(1)(a), 5(2) and 12(1)",
    "The register still holds TODO placeholders: it is not ready to publish.",
    "Replace each value marked TODO with the real fact and delete the marker; "
    "`datavern init` writes them for what only you know.",
)


# A value that still holds the `datavern init` placeholder marker.
TODO_RE = re.compile(r"\bTODO\b")


def _duplicates(ctx: Context, keys: Iterable[tuple[Path, str]], what: str) -> None:
    seen: set[str] = set()
    for path, key in keys:
        if key in seen:
            ctx.add(DUPLICATE_KEY, f"{what} key {key!r} is used more than once", path)
        seen.add(key)


@check
def _keys(ctx: Context) -> None:
    reg = ctx.register
    _duplicates(ctx, ((("systems", i, "key"), s.key) for i, s in enumerate(reg.systems)), "system")
    _duplicates(ctx, (((*p, "key"), a.key) for p, _, a in ctx.activities()), "activity")
    _duplicates(
        ctx,
        ((("sub_processors", i, "key"), p.key) for i, p in enumerate(reg.sub_processors)),
        "sub-processor",
    )
    _duplicates(
        ctx,
        ((("consent_purposes", i, "key"), c.key) for i, c in enumerate(reg.consent_purposes)),
        "consent purpose",
    )
    _duplicates(
        ctx,
        ((("cookies", i, "name"), f"{c.provider}/{c.name}") for i, c in enumerate(reg.cookies)),
        "cookie (provider/name)",
    )
    _duplicates(
        ctx,
        ((("dataset", i, "fides_key"), d.fides_key) for i, d in enumerate(reg.dataset)),
        "dataset",
    )


def _dataset_categories(register: Register) -> Iterator[tuple[Path, str, str]]:
    """(path, dataset key, category) for every data category annotated in the datasets."""

    def fields(
        items: Sequence[Any] | None, path: Path, key: str
    ) -> Iterator[tuple[Path, str, str]]:
        for k, item in enumerate(items or []):
            for m, category in enumerate(item.data_categories or []):
                yield (*path, k, "data_categories", m), key, category
            yield from fields(item.fields, (*path, k, "fields"), key)

    for i, dataset in enumerate(register.dataset):
        here: Path = ("dataset", i)
        for m, category in enumerate(dataset.data_categories or []):
            yield (*here, "data_categories", m), dataset.fides_key, category
        for j, collection in enumerate(dataset.collections):
            col: Path = (*here, "collections", j)
            for m, category in enumerate(collection.data_categories or []):
                yield (*col, "data_categories", m), dataset.fides_key, category
            yield from fields(collection.fields, (*col, "fields"), dataset.fides_key)


@check
def _datasets(ctx: Context) -> None:
    declared = [c for _, _, a in ctx.activities() for c in a.data_categories]
    places: dict[tuple[str, str], list[Path]] = {}
    for path, key, category in _dataset_categories(ctx.register):
        if category_matches(category, "user") and not covered(category, declared):
            places.setdefault((key, category), []).append(path)
    for (key, category), paths in places.items():
        more = f" (and {len(paths) - 1} more place(s))" if len(paths) > 1 else ""
        ctx.add(
            DATASET_CATEGORY_UNDECLARED,
            f"dataset {key!r} stores {category!r}{more}, which no activity declares",
            paths[0],
        )


@check
def _unitemised(ctx: Context) -> None:
    for here, system_key, activity in ctx.activities():
        if ROOT_CATEGORY in activity.data_categories:
            ctx.add(
                DATA_CATEGORIES_UNITEMISED,
                f"activity {activity.key!r} (system {system_key!r}) records its data only as "
                f"{ROOT_CATEGORY!r}",
                (*here, "data_categories", activity.data_categories.index(ROOT_CATEGORY)),
            )
    for i, proc in enumerate(ctx.register.sub_processors):
        if ROOT_CATEGORY in proc.data_categories:
            ctx.add(
                DATA_CATEGORIES_UNITEMISED,
                f"sub-processor {proc.key!r} ({proc.name}) records the data it receives only "
                f"as {ROOT_CATEGORY!r}",
                ("sub_processors", i, "data_categories", proc.data_categories.index(ROOT_CATEGORY)),
            )


def string_values(node: object, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every text in a register model (datasets too), with its path; a Localized text's
    path ends with its language (``_`` for a plain string is left out)."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from string_values(getattr(node, name), (*path, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from string_values(value, path if key == "_" else (*path, str(key)))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from string_values(item, (*path, i))
    elif isinstance(node, str) and not isinstance(node, StrEnum):
        yield path, node


@check
def _placeholders(ctx: Context) -> None:
    for path, text in string_values(ctx.register):
        if TODO_RE.search(text):
            ctx.add(
                TODO_PLACEHOLDER,
                f"`{path_str(path)}` still holds a TODO placeholder",
                path,
            )
