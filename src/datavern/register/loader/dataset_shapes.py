"""The keys a Fides dataset mapping may hold (fideslang itself ignores unknown ones)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fideslang.models import (
    CollectionMeta,
    Dataset,
    DatasetCollection,
    DatasetField,
    DatasetMetadata,
    FidesDatasetReference,
    FidesMeta,
)
from pydantic import BaseModel

# Keys of older fideslang dataset formats that Fides datasets in the wild still carry;
# fideslang 3 ignores them and so does Datavern (docs/register.md, "Datasets").
LEGACY_DATASET_KEYS = frozenset(
    {"data_qualifier", "retention", "third_country_transfers", "joint_controller"}
)


@dataclass(frozen=True)
class Child:
    many: bool
    shape: Callable[[], Shape]


@dataclass(frozen=True)
class Shape:
    """The keys a fideslang dataset mapping may hold, and which of them nest."""

    name: str
    keys: frozenset[str]
    children: Callable[[], dict[str, Child]]


def _keys(model: type[BaseModel], *extra: str) -> frozenset[str]:
    return frozenset(model.model_fields) | frozenset(extra)


_REFERENCE_SHAPE = Shape("a field reference", _keys(FidesDatasetReference), dict)
_FIELD_META_SHAPE = Shape(
    "fides_meta of a field",
    _keys(FidesMeta),
    lambda: {"references": Child(True, lambda: _REFERENCE_SHAPE)},
)
_COLLECTION_META_SHAPE = Shape("fides_meta of a collection", _keys(CollectionMeta), dict)
_DATASET_META_SHAPE = Shape("fides_meta of a dataset", _keys(DatasetMetadata), dict)


def _nested(
    name: str,
    model: type[BaseModel],
    inner_key: str,
    inner: Callable[[], Shape],
    meta: Callable[[], Shape],
) -> Shape:
    """A dataset, collection or field: its own keys, its nested list and its fides_meta."""
    return Shape(
        name,
        _keys(model, "fidesops_meta", *LEGACY_DATASET_KEYS),
        lambda: {
            inner_key: Child(True, inner),
            "fides_meta": Child(False, meta),
            "fidesops_meta": Child(False, meta),
        },
    )


_FIELD_SHAPE: Shape = _nested(
    "a dataset field", DatasetField, "fields", lambda: _FIELD_SHAPE, lambda: _FIELD_META_SHAPE
)
_COLLECTION_SHAPE = _nested(
    "a dataset collection",
    DatasetCollection,
    "fields",
    lambda: _FIELD_SHAPE,
    lambda: _COLLECTION_META_SHAPE,
)
DATASET_SHAPE = _nested(
    "a dataset", Dataset, "collections", lambda: _COLLECTION_SHAPE, lambda: _DATASET_META_SHAPE
)
