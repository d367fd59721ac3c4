"""DV95x: the datasets as a graph a data-subject request can walk (docs/dsr-plan.md), and,
with `datavern check --live`, the datasets against the live databases. These are
reported by the runner (lint.py), which reads the datasets with the DSR engine and the
databases through the connectors; `lint` itself stays pure and never reports them."""

from __future__ import annotations

from datavern.register.rules.findings import Rule
from datavern.register.rules.record import DUPLICATE_KEY
from datavern.register.rules.registry import ERROR, INFO, rule

DATASET_UNREACHABLE = rule(
    "DV951",
    "dataset-personal-data-unreachable",
    ERROR,
    "GDPR art. 12(2), 15(1) and 17(1)",
    "A collection holds personal data that no identity reaches: a request can never find it.",
    "Mark the field that identifies the person with `fides_meta.identity` (e.g. email), or "
    "reference the collection from one an identity reaches (`fides_meta.references`).",
)
DATASET_REFERENCE_INVALID = rule(
    "DV952",
    "dataset-reference-invalid",
    ERROR,
    "GDPR art. 12(2), 15(1) and 17(1)",
    "A dataset reference names a dataset, collection or field that does not exist, or "
    "cannot be followed.",
    "Write `field: <collection>.<field>` of an existing field and the `dataset` it is in; "
    "give the two sides of a reference one direction.",
)
DATASET_IDENTITY_INVALID = rule(
    "DV953",
    "dataset-identity-invalid",
    ERROR,
    "GDPR art. 12(2) and 12(6)",
    "An identity field has no usable name, so no request can start from it.",
    "Name the identity type, e.g. `identity: email`, with letters, digits, '_', '.' or '-'.",
)
DATASET_ORDER_INVALID = rule(
    "DV954",
    "dataset-order-invalid",
    ERROR,
    "GDPR art. 12(3) and 17(1)",
    "`after` or `erase_after` names something that does not exist or cannot be satisfied.",
    "Name existing collections as `<dataset>.<collection>` (or datasets) and remove the "
    "constraint that closes the cycle.",
)
LIVE_COLLECTION_MISSING = rule(
    "DV955",
    "live-collection-missing",
    ERROR,
    "GDPR art. 5(2), 15(1) and 17(1)",
    "A declared collection has no table in the live database.",
    "Correct the collection's `name` (and `fides_meta.namespace.schema`), or the connection "
    "in `dsr.connections`; remove the collection if the table is gone.",
)
LIVE_FIELD_MISSING = rule(
    "DV956",
    "live-field-missing",
    ERROR,
    "GDPR art. 5(2), 15(1) and 17(1)",
    "A declared field has no column in the live table.",
    "Correct the field's `name`, or remove the field if the column is gone.",
)
LIVE_COLUMN_UNDECLARED = rule(
    "DV957",
    "live-column-undeclared",
    INFO,
    "GDPR art. 30(1)(c), 15(1) and 17(1)",
    "A live column whose name suggests personal data is not declared in the datasets.",
    "Declare the column (with its data categories) so requests find and erase it, or confirm "
    "it holds no personal data.",
)
LIVE_DATABASE_UNREACHABLE = rule(
    "DV958",
    "live-database-unreachable",
    ERROR,
    "GDPR art. 5(2)",
    "`--live`: a dataset's database could not be read, so it was not compared.",
    "Check the connection (`datavern connection test NAME`), DATAVERN_CONNECTION_KEY and the "
    "name in `dsr.connections`.",
)
LIVE_NOT_CHECKED = rule(
    "DV959",
    "live-check-skipped",
    INFO,
    "GDPR art. 5(2)",
    "`--live`: a dataset has no stored connection, so it was not compared.",
    "Name its connection in `dsr.connections` (or add a connection named like the dataset "
    "with `datavern connection add`).",
)

RUNNER_RULES = frozenset(
    {
        DATASET_UNREACHABLE.id,
        DATASET_REFERENCE_INVALID.id,
        DATASET_IDENTITY_INVALID.id,
        DATASET_ORDER_INVALID.id,
        LIVE_COLLECTION_MISSING.id,
        LIVE_FIELD_MISSING.id,
        LIVE_COLUMN_UNDECLARED.id,
        LIVE_DATABASE_UNREACHABLE.id,
        LIVE_NOT_CHECKED.id,
    }
)
"""Rules the runner (lint.py) reports from the datasets and live databases, not ``lint``."""

# Each graph code of the DSR engine (dsr/graph.py GRAPH_PROBLEM_CODES) and the rule that
# reports it. `dsr-dataset-duplicate` is DV901 (duplicate-key), which `lint` reports.
GRAPH_CODE_RULES: dict[str, Rule] = {
    "dsr-unreachable-personal-data": DATASET_UNREACHABLE,
    "dsr-reference-unknown-dataset": DATASET_REFERENCE_INVALID,
    "dsr-reference-unknown-collection": DATASET_REFERENCE_INVALID,
    "dsr-reference-unknown-field": DATASET_REFERENCE_INVALID,
    "dsr-reference-malformed": DATASET_REFERENCE_INVALID,
    "dsr-reference-self": DATASET_REFERENCE_INVALID,
    "dsr-reference-conflict": DATASET_REFERENCE_INVALID,
    "dsr-identity-unnamed": DATASET_IDENTITY_INVALID,
    "dsr-identity-name": DATASET_IDENTITY_INVALID,
    "dsr-after-unknown": DATASET_ORDER_INVALID,
    "dsr-erase-after-unknown": DATASET_ORDER_INVALID,
    "dsr-after-cycle": DATASET_ORDER_INVALID,
    "dsr-erase-after-cycle": DATASET_ORDER_INVALID,
    "dsr-after-unsatisfiable": DATASET_ORDER_INVALID,
    "dsr-dataset-duplicate": DUPLICATE_KEY,
}
