"""The SQL connector against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from datavern.connectors.base import (
    ColumnInfo,
    ConnectorError,
    Locked,
    UnknownName,
    Unreachable,
    WriteRejected,
)
from datavern.connectors.sql import SQLConnector

Read = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def shop(shop_url: str) -> Iterator[SQLConnector]:
    connector = SQLConnector(shop_url, name="shop", lock_timeout=1)
    yield connector
    connector.close()


def _statements(connector: SQLConnector) -> list[str]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connector._engine, "before_cursor_execute", listen)
    return seen


# -- describe ----------------------------------------------------------------


def test_describe_lists_tables_columns_types_and_keys(shop: SQLConnector) -> None:
    description = shop.describe()
    names = [c.name for c in description.collections]
    assert names == ["access_log", "customers", "order_lines", "orders"]

    customers = description.collection("customers")
    assert customers.primary_key == ("id",)
    email = customers.column("email")
    assert (email.kind, email.max_length, email.nullable) == ("string", 100, True)
    assert email.null_allowed
    name = customers.column("name")
    assert not name.nullable and not name.null_allowed
    assert customers.column("id").primary_key and not customers.column("id").null_allowed
    assert customers.column("born").kind == "date"
    status = customers.column("status")
    assert status.kind in ("enum", "string")  # SQLite keeps an enum as VARCHAR
    if shop.backend != "sqlite":
        assert status.choices == ("active", "closed")

    orders = description.collection("orders")
    assert orders.column("amount").kind == "number"
    assert [
        (fk.columns, fk.referred_collection, fk.referred_columns) for fk in orders.foreign_keys
    ] == [(("customer_id",), "customers", ("id",))]
    lines = description.collection("order_lines")
    assert lines.primary_key == ("order_id", "line_no")
    assert description.collection("access_log").primary_key == ()


def test_collection_describes_one_table(shop: SQLConnector) -> None:
    info = shop.collection("orders")
    assert info.column_names == ("id", "customer_id", "amount", "shipped_to")
    with pytest.raises(UnknownName, match="no field 'nope'"):
        info.column("nope")


def test_schema_qualified_collections(shop: SQLConnector) -> None:
    if shop.backend != "postgresql":
        pytest.skip("the shop has a second schema on PostgreSQL only")
    rows = list(shop.retrieve("crm.contacts", {"email": ["ola@example.no"]}, ["id"]))
    assert rows == [{"id": 1}]
    assert shop.collection("crm.contacts").name == "crm.contacts"
    assert shop.count("public.customers", {"id": [1, 2]}) == 2
    assert [c.name for c in shop.describe(schema="crm").collections] == ["crm.contacts"]


# -- reads -------------------------------------------------------------------


def test_retrieve_returns_exactly_the_matching_rows_and_fields(shop: SQLConnector) -> None:
    rows = list(shop.retrieve("customers", {"email": ["ola@example.no"]}, ["id", "name"]))
    assert rows == [{"id": 1, "name": "Ola Nordmann"}]

    rows = list(
        shop.retrieve("orders", {"customer_id": [1, 3]}, ["id", "shipped_to"], batch_size=1000)
    )
    assert sorted(r["id"] for r in rows) == [10, 11]
    assert all(set(r) == {"id", "shipped_to"} for r in rows)


def test_filters_on_several_fields_are_and_ed(shop: SQLConnector) -> None:
    filters = {"email": ["ola@example.no", "kari@example.no"], "phone": ["+4791234567"]}
    assert [r["id"] for r in shop.retrieve("customers", filters, ["id"])] == [1]


def test_empty_value_list_and_none_match_nothing(shop: SQLConnector) -> None:
    assert list(shop.retrieve("customers", {"email": []}, ["id"])) == []
    assert shop.count("customers", {"email": [None]}) == 0
    # None never widens into "every row without an e-mail address"
    assert shop.count("access_log", {"customer_email": [None, "kari@example.no"]}) == 1


def test_text_identity_matches_an_integer_field(shop: SQLConnector) -> None:
    assert [r["id"] for r in shop.retrieve("orders", {"customer_id": ["2"]}, ["id"])] == [12]
    assert shop.count("orders", {"customer_id": ["two"]}) == 0


def test_large_in_lists_are_split_into_batches(
    shop: SQLConnector, bulk_customers: list[int]
) -> None:
    bulk = bulk_customers
    ids = [*bulk, 1, 1, 2]
    statements = _statements(shop)
    rows = list(shop.retrieve("customers", {"id": ids}, ["id"], batch_size=1000))
    assert sorted(r["id"] for r in rows) == sorted({*ids})
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in selects if "customers" in s]) == 3  # 2502 distinct ids / 1000
    assert shop.count("customers", {"id": ids}) == len(bulk) + 2


def test_long_lists_of_text_and_mixed_values(shop: SQLConnector, bulk_customers: list[int]) -> None:
    emails = [f"bulk{i}@example.no" for i in bulk_customers[:1500]]
    emails += ["ola@example.no", "' OR 1=1 --", "nobody@example.no"]
    rows = list(shop.retrieve("customers", {"email": emails}, ["id"]))
    assert sorted(r["id"] for r in rows) == sorted([1, *bulk_customers[:1500]])
    ids = [str(i) for i in bulk_customers[:100]] + ["x", "1.5"]  # as typed on a command line
    assert shop.count("customers", {"id": ids}) == 100


def test_batching_over_two_fields_returns_each_row_once(
    shop: SQLConnector, bulk_customers: list[int]
) -> None:
    filters = {"id": list(range(100, 160)), "status": ["active", "closed"]}
    rows = list(shop.retrieve("customers", filters, ["id"], batch_size=7))
    assert sorted(r["id"] for r in rows) == list(range(100, 160))


def test_retrieve_needs_fields(shop: SQLConnector) -> None:
    with pytest.raises(ConnectorError, match="name the fields"):
        shop.retrieve("customers", {}, [])


# -- writes ------------------------------------------------------------------


def _hmac(value: Any, column: ColumnInfo) -> Any:
    if value is None:
        return None
    digest = hashlib.sha256(b"secret" + str(value).encode()).hexdigest()
    return digest[: column.max_length or len(digest)]


def test_mask_writes_values_and_per_row_strategies(shop: SQLConnector, read_shop: Read) -> None:
    changed = shop.mask(
        "customers",
        [{"id": 1}, {"id": 2}],
        {"email": _hmac, "phone": None, "note": "erased"},
    )
    assert changed == 2
    rows = read_shop(
        "SELECT id, email, phone, note FROM customers WHERE id IN (1, 2, 3) ORDER BY id"
    )
    assert rows[0]["email"] == _hmac(
        "ola@example.no", ColumnInfo("e", "", "string", True, max_length=100)
    )
    assert rows[0]["email"] != rows[1]["email"]  # computed per row
    assert [r["phone"] for r in rows[:2]] == [None, None]
    assert [r["note"] for r in rows[:2]] == ["erased", "erased"]
    assert rows[2] == {
        "id": 3,
        "email": "per@example.no",
        "phone": "+4799999999",
        "note": None,
    }


def test_mask_a_table_without_primary_key(shop: SQLConnector, read_shop: Read) -> None:
    changed = shop.mask(
        "access_log",
        [{"customer_email": "ola@example.no"}],
        {"ip": lambda value, column: "0.0.0.0", "customer_email": None},
    )
    assert changed == 2
    rows = read_shop("SELECT customer_email, ip FROM access_log ORDER BY ip")
    assert [(r["customer_email"], r["ip"]) for r in rows] == [
        (None, "0.0.0.0"),
        (None, "0.0.0.0"),
        ("kari@example.no", "10.0.0.3"),
        (None, "10.0.0.4"),
    ]


def test_mask_and_delete_by_composite_key(shop: SQLConnector, read_shop: Read) -> None:
    keys = [{"order_id": 10, "line_no": 2}, {"order_id": 11, "line_no": 1}]
    assert shop.mask("order_lines", keys, {"description": "x"}) == 2
    rows = read_shop(
        "SELECT order_id, line_no, description FROM order_lines ORDER BY order_id, line_no"
    )
    assert [r["description"] for r in rows] == ["ski", "x", "x", "boots"]
    assert shop.delete("order_lines", [{"order_id": 10, "line_no": 1}]) == 1
    assert len(read_shop("SELECT * FROM order_lines")) == 3


def test_update_rectifies_the_keyed_rows_only(shop: SQLConnector, read_shop: Read) -> None:
    assert (
        shop.update("customers", [{"id": 2}], {"name": "Kari Olsen", "phone": "+4740000000"}) == 1
    )
    rows = read_shop("SELECT id, name, phone FROM customers WHERE id IN (1, 2) ORDER BY id")
    assert rows == [
        {"id": 1, "name": "Ola Nordmann", "phone": "+4791234567"},
        {"id": 2, "name": "Kari Olsen", "phone": "+4740000000"},
    ]
    assert shop.update("customers", [], {"name": "nobody"}) == 0


def test_text_values_are_written_in_the_column_type(shop: SQLConnector, read_shop: Read) -> None:
    # Rectification values arrive as text from the command line (--set born=1980-05-18).
    assert shop.update("customers", [{"id": "1"}], {"born": "1980-05-18"}) == 1
    assert shop.update("orders", [{"id": 10}], {"amount": "12.50"}) == 1
    [customer] = read_shop("SELECT born FROM customers WHERE id = 1")
    assert str(customer["born"]) == "1980-05-18"
    [order] = read_shop("SELECT amount FROM orders WHERE id = 10")
    assert Decimal(str(order["amount"])) == Decimal("12.50")
    with pytest.raises(WriteRejected, match=r"'customers'\.'born' is not a valid date") as caught:
        shop.update("customers", [{"id": 1}], {"born": "18.05.1980"})
    assert "18.05.1980" not in str(caught.value)
    with pytest.raises(WriteRejected, match="not a valid date"):
        shop.mask("customers", [{"id": 1}], {"born": lambda value, column: "someday"})


def test_delete_respects_foreign_keys(shop: SQLConnector, read_shop: Read) -> None:
    with pytest.raises(WriteRejected, match="refer to these rows through a foreign key"):
        shop.delete("customers", [{"id": 1}])
    assert shop.count("customers", {"id": [1]}) == 1  # nothing half-done

    assert (
        shop.delete(
            "order_lines",
            [
                {"order_id": 10, "line_no": 1},
                {"order_id": 10, "line_no": 2},
                {"order_id": 11, "line_no": 1},
            ],
        )
        == 3
    )
    assert shop.delete("orders", [{"id": 10}, {"id": 11}]) == 2
    assert shop.delete("customers", [{"id": 1}]) == 1
    assert read_shop("SELECT id FROM customers WHERE id < 100 ORDER BY id") == [
        {"id": 2},
        {"id": 3},
    ]


def test_write_refused_by_a_constraint_names_the_field_not_the_value(shop: SQLConnector) -> None:
    with pytest.raises(WriteRejected, match="must have a value") as caught:
        shop.mask("customers", [{"id": 1}], {"name": None})
    assert "(field 'name')" in str(caught.value)
    with pytest.raises(WriteRejected, match="unique field") as unique:
        shop.update("customers", [{"id": 2}], {"email": "ola@example.no"})
    assert "ola@example.no" not in str(unique.value)
    assert shop.count("customers", {"email": ["kari@example.no"]}) == 1


def test_too_long_value_is_refused(shop: SQLConnector) -> None:
    if shop.backend == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(WriteRejected, match="longer than its field"):
        shop.update("customers", [{"id": 1}], {"phone": "9" * 50})


def test_a_failing_strategy_changes_nothing(shop: SQLConnector, read_shop: Read) -> None:
    def broken(value: Any, column: ColumnInfo) -> Any:
        raise ValueError(f"cannot mask {value}")

    with pytest.raises(ConnectorError, match="failed \\(ValueError\\)") as caught:
        shop.mask("customers", [{"id": 1}], {"note": "gone", "email": broken})
    assert "ola@example.no" not in str(caught.value)
    assert read_shop("SELECT note FROM customers WHERE id = 1") == [{"note": "likes skis"}]


def test_primary_key_is_never_masked(shop: SQLConnector) -> None:
    with pytest.raises(ConnectorError, match="primary key"):
        shop.mask("customers", [{"id": 1}], {"id": 999})


def test_keys_must_name_the_primary_key(shop: SQLConnector) -> None:
    with pytest.raises(ConnectorError, match="exactly its primary key"):
        shop.delete("customers", [{"email": "ola@example.no"}])
    assert shop.count("customers", {"id": [1]}) == 1


# -- injection ---------------------------------------------------------------

INJECTIONS = [
    "customers; DROP TABLE customers",
    "customers; DROP TABLE customers; --",
    'customers" WHERE 1=1; --',
    "customers` WHERE 1=1; --",
    "' OR 1=1 --",
    "public.customers; DROP TABLE orders",
    "information_schema.tables",
    "",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_injection_through_a_collection_name_is_refused(
    shop: SQLConnector, read_shop: Read, name: str
) -> None:
    with pytest.raises(UnknownName):
        list(shop.retrieve(name, {}, ["id"]))
    with pytest.raises(UnknownName):
        shop.delete(name, [{"id": 1}])
    assert len(read_shop("SELECT id FROM customers")) == 3
    assert len(read_shop("SELECT id FROM orders")) == 3


@pytest.mark.parametrize(
    "field", ["id; DROP TABLE customers", "id FROM customers; --", "' OR 1=1 --", "*", "id, name"]
)
def test_injection_through_a_field_name_is_refused(
    shop: SQLConnector, read_shop: Read, field: str
) -> None:
    with pytest.raises(UnknownName, match="has no field"):
        list(shop.retrieve("customers", {}, [field]))
    with pytest.raises(UnknownName, match="has no field"):
        shop.count("customers", {field: [1]})
    with pytest.raises(UnknownName, match="has no field"):
        shop.update("customers", [{"id": 1}], {field: "x"})
    assert len(read_shop("SELECT id FROM customers")) == 3


def test_injection_through_values_is_inert(shop: SQLConnector, read_shop: Read) -> None:
    evil = ["' OR 1=1 --", "x' OR '1'='1", "1; DROP TABLE customers", '"); DROP TABLE orders; --']
    assert list(shop.retrieve("customers", {"email": evil}, ["id"])) == []
    assert shop.count("customers", {"id": evil}) == 0
    assert shop.delete("customers", [{"id": "1 OR 1=1"}]) == 0
    assert shop.update("customers", [{"id": 3}], {"note": evil[3]}) == 1
    assert read_shop("SELECT note FROM customers WHERE id = 3") == [{"note": evil[3]}]
    assert len(read_shop("SELECT id FROM customers")) == 3
    assert len(read_shop("SELECT id FROM orders")) == 3


# -- locks and reachability --------------------------------------------------


@contextmanager
def _other_transaction_holds_customers(url: str, backend: str) -> Iterator[None]:
    """A second connection locks the customers table (row 1) until the block ends."""
    if backend == "sqlite":
        raw = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("UPDATE customers SET note = 'held' WHERE id = 1")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    engine = create_engine(url)
    conn = engine.connect()
    transaction = conn.begin()
    try:
        if backend == "postgresql":
            conn.execute(text("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE"))
        else:
            conn.execute(text("SELECT id FROM customers WHERE id = 1 FOR UPDATE"))
        yield
    finally:
        transaction.rollback()
        conn.close()
        engine.dispose()


def test_a_locked_table_gives_a_clear_error_instead_of_hanging(
    shop: SQLConnector, shop_url: str, read_shop: Read
) -> None:
    # pytest.raises can only return while the other transaction still holds its lock
    # if the connector gives up waiting: a hang here is the bug this test catches.
    with _other_transaction_holds_customers(shop_url, shop.backend):
        with pytest.raises(
            Locked, match="table 'customers' in connection 'shop' is locked by another transaction"
        ):
            shop.mask("customers", [{"id": 1}, {"id": 2}], {"note": "erased"})
        with pytest.raises(Locked):
            shop.update("customers", [{"id": 1}], {"note": "x"})
    # after the other transaction ends, the same call goes through
    assert shop.mask("customers", [{"id": 1}, {"id": 2}], {"note": "erased"}) == 2
    assert read_shop("SELECT note FROM customers WHERE id = 2") == [{"note": "erased"}]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:Hemmelig-Pa55ord@127.0.0.1:1/shop",
        "mysql://alice:Hemmelig-Pa55ord@127.0.0.1:1/shop",
        "postgresql+psycopg://alice:Hemmelig-Pa55ord@127.0.0.1:1/shop?sslpassword=Hemmelig-Pa55ord",
    ],
)
def test_unreachable_database_names_host_and_port_but_not_the_password(url: str) -> None:
    connector = SQLConnector(url, name="gone")
    with pytest.raises(Unreachable) as caught:
        connector.count("customers", {})
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "'gone'" in message
    assert "Hemmelig" not in message
    check = connector.test_connection()
    assert not check.ok and "127.0.0.1:1" in check.message and "Hemmelig" not in check.message
    connector.close()


def test_wrong_password_on_mariadb_is_reported_without_it(mariadb_database: str) -> None:
    url = mariadb_database.replace("root@", "root:Hemmelig-Pa55ord@")
    check = SQLConnector(url, name="maria").test_connection()
    assert not check.ok
    assert "127.0.0.1:3306" in check.message and "Hemmelig" not in check.message


def test_missing_sqlite_file_is_not_created(tmp_path: Any) -> None:
    path = tmp_path / "typo.db"
    connector = SQLConnector(f"sqlite:///{path}", name="local")
    check = connector.test_connection()
    assert not check.ok and "no database file" in check.message
    assert not path.exists()


def test_test_connection_reports_the_server(shop: SQLConnector) -> None:
    check = shop.test_connection()
    assert check.ok and check.message.startswith(f"connected to {shop.backend}")
