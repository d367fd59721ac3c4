"""docs/register.md documents every field and allowed value of the register schema.

The test walks the pydantic models from ``Register`` down (Datavern's own models
and the fideslang dataset models), so a new field, enum value or taxonomy key
fails here until it is documented.
"""

from __future__ import annotations

import enum
import re
import types
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from pydantic import BaseModel

from datavern.register import schema, yamlsafe
from datavern.register.loader import DEFAULT_LIMITS, load_register
from datavern.register.rules import lint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "register.md"
TEXT = DOCS.read_text(encoding="utf-8")
# Everything written as `code` in the docs, and every word inside a code span
# (a cell may list several, e.g. `data_uses`, `data_subjects`).
CODE = set(re.findall(r"`([^`\n]+)`", TEXT))


def _types(annotation: Any) -> list[Any]:
    """The classes, enums and literals inside an annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _types(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, dict, tuple):
        return [t for arg in get_args(annotation) for t in _types(arg)]
    if origin is Literal:
        return [annotation]
    return [annotation]


def _models() -> tuple[list[type[BaseModel]], list[Any]]:
    """Every model reachable from Register, and every enum/Literal a field uses."""
    models: list[type[BaseModel]] = []
    choices: list[Any] = []
    todo: list[Any] = [schema.Register]
    while todo:
        model = todo.pop()
        if model in models:
            continue
        models.append(model)
        for info in model.model_fields.values():
            for tp in _types(info.annotation):
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    todo.append(tp)
                elif (isinstance(tp, type) and issubclass(tp, enum.Enum)) or get_origin(
                    tp
                ) is Literal:
                    choices.append(tp)
    # Every model schema.py defines counts too, even one not (yet) used by Register.
    for value in vars(schema).values():
        if (
            isinstance(value, type)
            and issubclass(value, schema.Strict)
            and value is not schema.Strict
            and value not in models
        ):
            models.append(value)
    return models, choices


MODELS, CHOICES = _models()


def test_the_walk_reaches_datavern_and_fideslang_models() -> None:
    names = {m.__name__ for m in MODELS}
    assert {"Register", "Organisation", "Activity", "Retention", "Transfer", "Cookie"} <= names
    assert {"Dataset", "DatasetCollection", "DatasetField", "FidesMeta"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if name not in CODE]
    assert missing == [], f"{model.__name__}: document {missing} in docs/register.md"


def test_every_allowed_value_is_documented() -> None:
    missing: list[str] = []
    for choice in CHOICES:
        values = (
            [str(m.value) for m in choice]
            if isinstance(choice, type)
            else [str(v) for v in get_args(choice)]
        )
        missing += [v for v in values if v not in CODE and v not in ("1",)]
    assert missing == []


def test_every_enum_of_schema_is_documented() -> None:
    enums = [
        v
        for v in vars(schema).values()
        if isinstance(v, type) and issubclass(v, enum.Enum) and v.__module__ == schema.__name__
    ]
    assert enums
    missing = [f"{e.__name__}.{m.value}" for e in enums for m in e if m.value not in CODE]
    assert missing == []


def test_every_taxonomy_key_is_listed() -> None:
    keys = [
        item.fides_key
        for family in (
            DEFAULT_TAXONOMY.data_category,
            DEFAULT_TAXONOMY.data_use,
            DEFAULT_TAXONOMY.data_subject,
        )
        for item in family
    ]
    assert [k for k in keys if k not in CODE] == []


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)


def test_every_yaml_example_parses() -> None:
    blocks = _yaml_blocks()
    assert len(blocks) > 10
    for block in blocks:
        yamlsafe.parse(block, "docs/register.md")


def test_the_complete_example_loads_and_has_no_findings(tmp_path: Path) -> None:
    example = TEXT.split("<!-- complete-example -->\n```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "register.yaml").write_text(example, encoding="utf-8")
    loaded = load_register(tmp_path)
    findings = lint(loaded.register, today=date(2025, 3, 1))
    assert [f"{f.id} {f.message}" for f in findings] == []


def test_the_documented_limits_are_the_loader_defaults() -> None:
    assert DEFAULT_LIMITS.max_file_bytes == 5 * 1024 * 1024 and "| size of one file | 5 MB" in TEXT
    assert DEFAULT_LIMITS.max_total_bytes == 20 * 1024 * 1024 and "together | 20 MB |" in TEXT
    assert f"| number of files | {DEFAULT_LIMITS.max_files} |" in TEXT
    assert f"| nesting depth | {DEFAULT_LIMITS.max_depth} levels |" in TEXT
    assert f"| values in one file | {DEFAULT_LIMITS.max_nodes:,} |".replace(",", " ") in TEXT
