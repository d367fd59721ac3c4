"""The runner's dataset checks: graph problems placed by name, `# TODO` comments, and
the `--live` comparison against a described database (no I/O: a fake source)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from datavern.connectors.base import (
    CollectionInfo,
    ColumnInfo,
    DatabaseDescription,
    Unreachable,
)
from datavern.core.errors import NotFound
from datavern.dsr.graph import GRAPH_PROBLEM_CODES
from datavern.register.lint import (
    CheckReport,
    Entry,
    FailOn,
    dataset_path,
    graph_findings,
    live_findings,
    todo_comments,
)
from datavern.register.rules import GRAPH_CODE_RULES, RULES, path_str
from datavern.register.schema import Register
from lint_fixtures import clean

# ------------------------------------------------------------------ exit code


@pytest.mark.parametrize("fail_on", list(FailOn))
def test_a_database_that_could_not_be_read_exits_2(fail_on: FailOn) -> None:
    rule = RULES["DV958"]
    report = CheckReport("r", True, [Entry(rule, "m", "dataset[0]", rule.fix, None)])
    assert report.incomplete
    assert report.exit_code(fail_on) == 2


def test_a_skipped_dataset_is_only_info() -> None:
    rule = RULES["DV959"]
    report = CheckReport("r", True, [Entry(rule, "m", "dataset[0]", rule.fix, None)])
    assert not report.incomplete
    assert report.exit_code(FailOn.error) == 0
    assert report.exit_code(FailOn.info) == 1


# ------------------------------------------------------------------ TODO comments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country: NO   # TODO: where\n", [(1, 15)]),
        ("a: 1\n# TODO\nb: 2\n", [(2, 1)]),
        ("a: 1\n  #TODO later\n", [(2, 3)]),
        ("dpa_signed: 2024-01-01 # TODO\n", [(1, 24)]),
        ("# Lines marked TODO hold placeholders\n", []),  # an explanation, not a marker
        ('name: "Firma # TODO"\n', []),  # inside a quoted text
        ("name: 'a # TODO'\n", []),
        ("text: |\n  # TODO is text here\n  more\n", []),  # inside a block text
        ("text: >-\n  # TODO folded\n", []),
        ("a: x#TODO\n", []),  # no space before '#': part of the value
        ("a: 1  # todo\n", []),  # the marker is upper case, as the scaffold writes it
        ("a: [1, 2]  # TODO\nb: {c: d}  # TODO: x\n", [(1, 12), (2, 12)]),
    ],
)
def test_todo_comments(text: str, expected: list[tuple[int, int]]) -> None:
    assert todo_comments(text) == expected


# ------------------------------------------------------------------ graph


def _register(datasets: list[dict[str, Any]]) -> Register:
    data = clean()
    data["dataset"] = datasets
    return Register.model_validate(data)


SHOP: dict[str, Any] = {
    "fides_key": "shop",
    "collections": [
        {
            "name": "orders",  # model index 3 (collections are sorted by name)
            "fields": [
                {"name": "id"},
                {
                    "name": "customer_id",  # model index 0
                    "fides_meta": {
                        "references": [
                            {"dataset": "shop", "field": "customers.id", "direction": "from"},
                            {"dataset": "shop", "field": "customers.nope", "direction": "from"},
                        ]
                    },
                },
            ],
        },
        {
            "name": "customers",  # model index 1
            "fields": [
                {
                    "name": "email",
                    "data_categories": ["user.contact.email"],
                    "fides_meta": {"identity": "email"},
                },
                {"name": "id"},
            ],
        },
        {
            "name": "logs",  # model index 2 (nested fields keep their order)
            "fides_meta": {"after": ["shop.gone"]},
            "fields": [
                {
                    "name": "meta",
                    "fields": [
                        {"name": "who", "fides_meta": {"identity": "bad name!"}},
                        {"name": "ip", "data_categories": ["user.device.ip_address"]},
                    ],
                },
            ],
        },
        {
            "name": "audit",  # model index 0: personal data no identity reaches
            "fields": [{"name": "user_email", "data_categories": ["user.contact.email"]}],
        },
    ],
}


def test_every_graph_code_has_a_rule() -> None:
    assert set(GRAPH_CODE_RULES) == set(GRAPH_PROBLEM_CODES)


def test_dataset_path_follows_the_model_order_and_nested_fields() -> None:
    register = _register([copy.deepcopy(SHOP)])
    assert dataset_path(register, "shop") == ("dataset", 0)
    assert dataset_path(register, "shop", "orders") == ("dataset", 0, "collections", 3)
    assert dataset_path(register, "shop", "orders", "customer_id") == (
        *("dataset", 0, "collections", 3),
        *("fields", 0),
    )
    assert dataset_path(register, "shop", "logs", "meta.ip") == (
        *("dataset", 0, "collections", 2),
        *("fields", 0, "fields", 1),
    )
    # An unknown name stops at the nearest place that exists.
    assert dataset_path(register, "shop", "logs", "nothing") == ("dataset", 0, "collections", 2)
    assert dataset_path(register, "nope", "x") == ("dataset",)


def test_graph_problems_become_findings_at_their_places() -> None:
    register = _register([copy.deepcopy(SHOP)])
    got = {(f.id, path_str(f.path), f.message.rsplit("[", 1)[1]) for f in graph_findings(register)}
    assert got == {
        (
            "DV952",
            "dataset[0].collections[3].fields[0].fides_meta.references[1]",
            "dsr-reference-unknown-field]",
        ),
        (
            "DV953",
            "dataset[0].collections[2].fields[0].fields[0].fides_meta.identity",
            "dsr-identity-name]",
        ),
        ("DV954", "dataset[0].collections[2].fides_meta.after[0]", "dsr-after-unknown]"),
        ("DV951", "dataset[0].collections[0]", "dsr-unreachable-personal-data]"),
    }


def test_a_duplicate_dataset_is_left_to_dv901() -> None:
    register = _register([copy.deepcopy(SHOP), copy.deepcopy(SHOP)])
    assert all(f.id != "DV901" for f in graph_findings(register))


def test_a_register_without_datasets_has_no_graph_findings() -> None:
    data = clean()
    del data["dataset"]
    assert graph_findings(Register.model_validate(data)) == []


# ------------------------------------------------------------------ --live


def col(name: str) -> ColumnInfo:
    return ColumnInfo(name=name, type="TEXT", kind="string", nullable=True)


def table(name: str, *columns: str) -> CollectionInfo:
    return CollectionInfo(name=name, columns=tuple(col(c) for c in columns), primary_key=())


class FakeSource:
    def __init__(
        self, databases: dict[str, DatabaseDescription | Exception], stored: set[str] | None = None
    ) -> None:
        self.databases = databases
        self.stored = set(databases) if stored is None else stored
        self.described: list[str] = []

    def connections(self) -> set[str]:
        return self.stored

    def describe(self, name: str) -> DatabaseDescription:
        self.described.append(name)
        found = self.databases.get(name)
        if found is None:
            raise NotFound(f"no connection named {name!r}")
        if isinstance(found, Exception):
            raise found
        return found


def _live(register: Register, source: FakeSource) -> set[tuple[str, str]]:
    return {(f.id, path_str(f.path)) for f in live_findings(register, source)}


CRM = DatabaseDescription(
    backend="sqlite",
    collections=(table("customers", "email", "id", "phone"), table("audit", "user_email")),
)


def test_live_matches_the_clean_register() -> None:
    register = Register.model_validate(clean())  # dataset crm_db: customers(email, id)
    source = FakeSource(
        {"crm_db": DatabaseDescription("sqlite", (table("customers", "email", "id"),))}
    )
    assert _live(register, source) == set()


def test_live_reports_missing_fields_collections_and_undeclared_personal_columns() -> None:
    data = clean()
    fields = data["dataset"][0]["collections"][0]["fields"]
    fields.append({"name": "shoe_size"})  # model index 2: not in the table
    data["dataset"][0]["collections"].append({"name": "invoices", "fields": [{"name": "id"}]})
    register = Register.model_validate(data)
    findings = live_findings(register, FakeSource({"crm_db": CRM}))
    got = {(f.id, path_str(f.path)) for f in findings}
    assert got == {
        ("DV956", "dataset[0].collections[0].fields[2]"),  # customers.shoe_size
        ("DV955", "dataset[0].collections[1]"),  # invoices
        ("DV957", "dataset[0].collections[0].fields"),  # customers.phone
        ("DV957", "dataset[0].collections"),  # the audit table, user_email
    }
    messages = " ".join(f.message for f in findings)
    assert "'phone'" in messages and "a phone number" in messages and "user_email" in messages


def test_live_uses_dsr_connections_and_the_namespace_schema() -> None:
    data = clean()
    data["dsr"] = {"connections": {"crm_db": "crm"}}
    data["dataset"][0]["fides_meta"] = {"namespace": {"schema": "sales"}}
    register = Register.model_validate(data)
    source = FakeSource(
        {"crm": DatabaseDescription("postgresql", (table("sales.customers", "email", "id"),))}
    )
    assert _live(register, source) == set()
    assert source.described == ["crm"]


def test_live_asks_for_a_table_outside_the_default_schema() -> None:
    data = clean()
    data["dataset"][0]["fides_meta"] = {"namespace": {"schema": "crm"}}
    register = Register.model_validate(data)

    class WithSchemas(FakeSource):
        def collection(self, name: str, table_name: str) -> CollectionInfo | None:
            return table("crm.customers", "email", "id") if table_name == "crm.customers" else None

    source = WithSchemas({"crm_db": DatabaseDescription("postgresql", ())})
    assert _live(register, source) == set()
    data["dataset"][0]["fides_meta"] = {"namespace": {"schema": "sales"}}
    assert _live(Register.model_validate(data), source) == {("DV955", "dataset[0].collections[0]")}


def test_live_skips_collections_the_engine_skips() -> None:
    data = clean()
    data["dataset"][0]["collections"].append(
        {"name": "archive", "fides_meta": {"skip_processing": True}, "fields": [{"name": "x"}]}
    )
    register = Register.model_validate(data)
    source = FakeSource(
        {"crm_db": DatabaseDescription("sqlite", (table("customers", "email", "id"),))}
    )
    assert _live(register, source) == set()


def test_a_dataset_without_a_connection_is_skipped_with_a_note() -> None:
    register = Register.model_validate(clean())
    assert _live(register, FakeSource({}, stored=set())) == {("DV959", "dataset[0]")}


def test_a_named_connection_that_is_not_stored_is_unreachable() -> None:
    data = clean()
    data["dsr"] = {"connections": {"crm_db": "crm"}}
    findings = live_findings(Register.model_validate(data), FakeSource({}, stored=set()))
    assert [(f.id, path_str(f.path)) for f in findings] == [("DV958", "dsr.connections.crm_db")]
    assert "no connection named 'crm'" in findings[0].message


def test_an_unreachable_database_is_reported_once_per_dataset_and_described_once() -> None:
    data = clean()
    second = copy.deepcopy(data["dataset"][0])
    second["fides_key"] = "crm_copy"
    data["dataset"].append(second)
    data["dsr"] = {"connections": {"crm_db": "crm", "crm_copy": "crm"}}
    source = FakeSource({"crm": Unreachable("cannot reach 10.0.0.9:5432: Connection refused")})
    findings = live_findings(Register.model_validate(data), source)
    assert [f.id for f in findings] == ["DV958", "DV958"]
    assert all("Connection refused" in f.message for f in findings)
    assert source.described == ["crm"]


def test_stored_connections_that_cannot_be_listed_make_every_dataset_unreachable() -> None:
    class Broken(FakeSource):
        def connections(self) -> set[str]:
            raise Unreachable("Datavern's database cannot be opened")

    findings = live_findings(Register.model_validate(clean()), Broken({}))
    assert [(f.id, path_str(f.path)) for f in findings] == [("DV958", "dataset[0]")]
