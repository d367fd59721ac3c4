"""Checks the schema cannot express: taxonomy keys, duplicate keys, references,
retention rules against the datasets, unknown keys in Fides datasets, fødselsnummer."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import fodselsnummer

from datavern.core.errors import Location, Problem
from datavern.register.loader.dataset_shapes import (
    DATASET_SHAPE,
    LEGACY_DATASET_KEYS,
    Shape,
)
from datavern.register.loader.loaded import PathKey, nearest
from datavern.register.loader.messages import as_dict, as_list, did_you_mean, unknown_key
from datavern.register.rules import path_str


@cache
def _taxonomy() -> dict[str, frozenset[str]]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {
        "data category": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category),
        "data use": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_use),
        "data subject": frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_subject),
    }


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


class Semantics:
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
        location = (self.keys.get(path) if at_key else None) or nearest(self.values, path)
        self.problems.append(Problem(message, location, path_str(path)))

    # taxonomy ---------------------------------------------------------------

    def taxonomy(self, kind: str, value: Any, path: PathKey) -> None:
        if not isinstance(value, str):
            return  # a type error the schema reports
        known = _taxonomy()[kind]
        if value in known:
            return
        self.add(
            f"unknown {kind} {value!r}: not in the fideslang taxonomy"
            f"{did_you_mean(value, sorted(known), 0.7)}; see docs/register.md, 'Taxonomy'",
            path,
        )

    def taxonomy_list(self, kind: str, value: Any, path: PathKey) -> None:
        for i, item in enumerate(as_list(value)):
            self.taxonomy(kind, item, (*path, i))

    # duplicates -------------------------------------------------------------

    def unique(self, what: str, items: list[tuple[Any, PathKey]]) -> set[str]:
        seen: dict[str, PathKey] = {}
        for value, path in items:
            if not isinstance(value, str):
                continue
            if value in seen:
                first = nearest(self.values, seen[value])
                self.add(f"duplicate {what} {value!r}; first defined at {first}", path)
            else:
                seen[value] = path
        return set(seen)

    def unique_keys(self, what: str, section: str, key: str = "key") -> None:
        """Report every ``key`` given twice among the items of a top-level list."""
        items = as_list(self.data.get(section))
        self.unique(what, [(as_dict(x).get(key), (section, i, key)) for i, x in enumerate(items)])

    def declared(self, section: str) -> set[str]:
        """The keys of the items of a top-level list (for references to them)."""
        found = (as_dict(item).get("key") for item in as_list(self.data.get(section)))
        return {key for key in found if isinstance(key, str)}

    def refer(self, what: str, value: Any, known: set[str], path: PathKey, fix: str) -> None:
        if not isinstance(value, str) or value in known:
            return
        self.add(
            f"{what} {value!r} is not defined{did_you_mean(value, sorted(known))}; {fix}", path
        )

    # sections ---------------------------------------------------------------

    def _systems(self) -> None:
        systems = as_list(self.data.get("systems"))
        self.unique_keys("system key", "systems")
        activities: list[tuple[Any, PathKey]] = []
        processors = self.declared("sub_processors")
        purposes = self.declared("consent_purposes")
        for i, system in enumerate(map(as_dict, systems)):
            for j, activity in enumerate(map(as_dict, as_list(system.get("processing")))):
                base: PathKey = ("systems", i, "processing", j)
                activities.append((activity.get("key"), (*base, "key")))
                self.taxonomy("data use", activity.get("data_use"), (*base, "data_use"))
                self.taxonomy_list(
                    "data category", activity.get("data_categories"), (*base, "data_categories")
                )
                self.taxonomy_list(
                    "data subject", activity.get("data_subjects"), (*base, "data_subjects")
                )
                for k, recipient in enumerate(as_list(activity.get("recipients"))):
                    self.refer(
                        "recipient",
                        recipient,
                        processors,
                        (*base, "recipients", k),
                        "a recipient is the key of an entry under sub_processors",
                    )
                self.refer(
                    "consent purpose",
                    activity.get("consent_purpose"),
                    purposes,
                    (*base, "consent_purpose"),
                    "name the key of an entry under consent_purposes",
                )
        self.unique("processing activity key", activities)

    def _sub_processors(self) -> None:
        self.unique_keys("sub-processor key", "sub_processors")
        for i, item in enumerate(map(as_dict, as_list(self.data.get("sub_processors")))):
            self.taxonomy_list(
                "data category",
                item.get("data_categories"),
                ("sub_processors", i, "data_categories"),
            )

    def _consent_purposes(self) -> None:
        self.unique_keys("consent purpose key", "consent_purposes")
        for i, item in enumerate(map(as_dict, as_list(self.data.get("consent_purposes")))):
            if item.get("data_use") is not None:
                self.taxonomy("data use", item.get("data_use"), ("consent_purposes", i, "data_use"))

    def _cookies(self) -> None:
        purposes = self.declared("consent_purposes")
        for i, cookie in enumerate(map(as_dict, as_list(self.data.get("cookies")))):
            self.refer(
                "consent purpose",
                cookie.get("consent_purpose"),
                purposes,
                ("cookies", i, "consent_purpose"),
                "name the key of an entry under consent_purposes",
            )

    def _datasets(self) -> None:
        self.unique_keys("dataset fides_key", "dataset", "fides_key")
        for i, dataset in enumerate(as_list(self.data.get("dataset"))):
            self._resource(dataset, ("dataset", i), DATASET_SHAPE)

    def _dataset_fields(self) -> dict[str, dict[str, bool]]:
        """``dataset.collection`` -> {top-level field name: is a primary key}."""
        found: dict[str, dict[str, bool]] = {}
        for dataset in map(as_dict, as_list(self.data.get("dataset"))):
            key = dataset.get("fides_key")
            if not isinstance(key, str):
                continue
            for collection in map(as_dict, as_list(dataset.get("collections"))):
                name = collection.get("name")
                if not isinstance(name, str):
                    continue
                fields = found.setdefault(f"{key}.{name}", {})
                for item in map(as_dict, as_list(collection.get("fields"))):
                    if isinstance(item.get("name"), str):
                        meta = as_dict(item.get("fides_meta") or item.get("fidesops_meta"))
                        fields[item["name"]] = bool(meta.get("primary_key"))
        return found

    def _retention_rules(self) -> None:
        """Retention rules name collections and fields the datasets declare (docs/retention.md):
        a sweep must never guess which table or column a rule means."""
        rules = as_list(self.data.get("retention_rules"))
        if not rules:
            return
        self.unique_keys("retention rule key", "retention_rules")
        collections = self._dataset_fields()
        for i, rule in enumerate(map(as_dict, rules)):
            base: PathKey = ("retention_rules", i)
            name = f"retention rule {rule.get('key')!r}"
            fields = self._retention_collection(
                name, rule.get("collection"), collections, (*base, "collection")
            )
            trigger = as_dict(rule.get("trigger"))
            for which in ("field", "financial_year_end_of"):
                self._retention_field(name, trigger.get(which), fields, (*base, "trigger", which))
            for k, item in enumerate(as_list(rule.get("anonymise_fields"))):
                path = (*base, "anonymise_fields", k)
                self._retention_field(name, item, fields, path)
                if fields and isinstance(item, str) and fields.get(item):
                    self.add(
                        f"{name}: {item!r} is part of the primary key and cannot be anonymised; "
                        "use action delete",
                        path,
                    )
            aggregate = as_dict(rule.get("aggregate"))
            if aggregate:
                into = self._retention_collection(
                    name, aggregate.get("into"), collections, (*base, "aggregate", "into")
                )
                for k, item in enumerate(as_list(aggregate.get("group_by"))):
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
            f"{did_you_mean(value, known)}{hint}",
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
            f"{name}: {where} has no field {value!r}{did_you_mean(value, sorted(fields))}",
            path,
        )

    def _resource(self, value: Any, path: PathKey, shape: Shape) -> None:
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key not in shape.keys:
                self.add(
                    unknown_key(key, sorted(shape.keys - LEGACY_DATASET_KEYS), f"in {shape.name}"),
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
                for n, element in enumerate(as_list(item)):
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
