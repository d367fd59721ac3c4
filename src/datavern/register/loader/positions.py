"""Positions keyed by model paths rather than by the order of the YAML."""

from __future__ import annotations

from typing import Any

from datavern.core.errors import Location
from datavern.register.loader.loaded import PathKey
from datavern.register.loader.messages import as_dict, as_list


def model_positions(
    merged: dict[str, Any], values: dict[PathKey, Location]
) -> dict[PathKey, Location]:
    """Positions keyed by model paths: fideslang sorts collections and their fields by name."""
    order: dict[PathKey, dict[int, int]] = {}

    def rank(items: list[Any]) -> dict[int, int]:
        names = [str(as_dict(item).get("name")) for item in items]
        return {
            raw: model for model, raw in enumerate(sorted(range(len(names)), key=names.__getitem__))
        }

    for d, dataset in enumerate(as_list(merged.get("dataset"))):
        collections = as_list(as_dict(dataset).get("collections"))
        order[("dataset", d, "collections")] = rank(collections)
        for c, collection in enumerate(collections):
            fields = as_list(as_dict(collection).get("fields"))
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
