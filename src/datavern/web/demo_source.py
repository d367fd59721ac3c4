"""The demo company's own customer database, so that requests in the demo run end to end.

`datavern demo` applies examples/demo, whose dataset `fjordvarme_kundedatabase` describes
the customer database behind Fjordvarme Hosting's portal. Without a database behind that
dataset, every approved request in the demo would fail with "no connection". This module
creates a small SQLite file with the tables the dataset declares, filled with synthetic
customers (every name is invented and every address is under example.com), and stores it
as the connection named like the dataset.

Connection URLs are stored encrypted with DATAVERN_CONNECTION_KEY (docs/connections.md).
For the demo only, when that variable is not set, a key is kept in the data folder
(``demo-connection.key``, readable only by its owner) and put into this process's
environment: a real installation keeps the key apart from the database it protects.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATASET = "fjordvarme_kundedatabase"
SOURCE_FILE = "demo-kundedatabase.sqlite"
KEY_FILE = "demo-connection.key"
KEY_ENV = "DATAVERN_CONNECTION_KEY"

FIRST = ["Ola", "Kari", "Per", "Ingrid", "Nils", "Sigrid", "Lars", "Astrid", "Jon", "Marit"]
LAST = ["Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Berg", "Dahl", "Lie"]
CITIES = [("0150", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("9008", "Tromsø")]
PRODUCTS = ["Webhotell Basis", "Webhotell Pro", "Domene .no", "VPS 2 GB", "E-post Pluss"]

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, email TEXT, name TEXT, phone TEXT, company_name TEXT,
    street TEXT, postal_code TEXT, city TEXT, password_hash TEXT,
    created_at TIMESTAMP NOT NULL, contract_ended_at TIMESTAMP
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), product TEXT,
    ordered_at TIMESTAMP, cancelled_at TIMESTAMP
);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
    order_id INTEGER REFERENCES orders(id), invoice_number TEXT, billing_name TEXT,
    billing_address TEXT, amount NUMERIC, issued_at DATE, paid_at DATE
);
CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), subject TEXT,
    body TEXT, opened_at TIMESTAMP NOT NULL, closed_at TIMESTAMP
);
CREATE TABLE login_events (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), ip_address TEXT,
    logged_in_at TIMESTAMP NOT NULL, succeeded BOOLEAN NOT NULL
);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX invoices_customer ON invoices(customer_id);
CREATE INDEX invoices_order ON invoices(order_id);
CREATE INDEX tickets_customer ON support_tickets(customer_id);
CREATE INDEX logins_customer ON login_events(customer_id);
"""


def demo_customers() -> list[tuple[str, str]]:
    """(name, e-mail) of the demo's customers; the first is Ola Nordmann."""
    people = []
    for i, last in enumerate(LAST):
        for j, first in enumerate(FIRST):
            if (i + j) % 3 == 0:
                people.append((f"{first} {last}", f"{first}.{last}@example.com".lower()))
    return people


def _isoformat(moment: datetime) -> str:
    """As SQLAlchemy stores a DATETIME in SQLite, so comparisons with its dates hold."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.000000")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _fill(db: sqlite3.Connection, now: datetime) -> None:
    db.executescript(SCHEMA)
    order_id = invoice_id = ticket_id = login_id = 0
    for number, (name, email) in enumerate(demo_customers(), start=1):
        postal, city = CITIES[number % len(CITIES)]
        created = now - timedelta(days=400 + 37 * number)
        db.execute(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                email,
                name,
                f"+47 400 00 {number:03d}",
                None,
                f"Eksempelgata {number}",
                postal,
                city,
                "$argon2id$v=19$m=65536,t=3,p=4$ZGVtbw$ZGVtb2RlbW9kZW1vZGVtbw",
                _isoformat(created),
                None,
            ),
        )
        for k in range(1 + number % 3):
            order_id += 1
            ordered = created + timedelta(days=30 * k)
            product = PRODUCTS[(number + k) % len(PRODUCTS)]
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
                (order_id, number, product, _isoformat(ordered), None),
            )
            invoice_id += 1
            db.execute(
                "INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    invoice_id,
                    number,
                    order_id,
                    f"F-{ordered.year}-{invoice_id:05d}",
                    name,
                    f"Eksempelgata {number}, {postal} {city}",
                    99 + 50 * k,
                    _day(ordered),
                    _day(ordered + timedelta(days=10)),
                ),
            )
        if number % 2:
            ticket_id += 1
            # every third ticket was closed long ago: `datavern retention plan` has work to show
            opened = now - timedelta(days=20 + number + (900 if number % 3 == 0 else 0))
            db.execute(
                "INSERT INTO support_tickets VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ticket_id,
                    number,
                    "E-post kommer ikke fram",
                    "Hei, jeg får ikke e-post på domenet mitt siden i går.",
                    _isoformat(opened),
                    _isoformat(opened + timedelta(days=1)),
                ),
            )
        for k in range(3):
            login_id += 1
            db.execute(
                "INSERT INTO login_events VALUES (?, ?, ?, ?, ?)",
                (
                    login_id,
                    number,
                    f"192.0.2.{(number * 7 + k) % 250 + 1}",  # TEST-NET-1: never a real address
                    _isoformat(now - timedelta(days=5 + 100 * k, hours=number)),
                    k != 1,
                ),
            )


def create_source(data_dir: Path, now: datetime | None = None) -> tuple[Path, bool]:
    """The demo's customer database in `data_dir`; (path, whether it was made now).

    An existing file is left as it is (requests the demo ran may have changed it); the
    file is built under a temporary name and renamed, so it is never half made.
    """
    path = (data_dir / SOURCE_FILE).resolve()
    if path.exists():
        return path, False
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        with db:
            _fill(db, now or datetime.now(UTC))
    finally:
        db.close()
    partial.replace(path)
    return path, True


def ensure_connection_key(data_dir: Path) -> bool:
    """Use DATAVERN_CONNECTION_KEY, or the demo's own key file; True when the file is used."""
    if os.environ.get(KEY_ENV, "").strip():
        return False
    from datavern.connectors.secrets import generate_key

    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key() + "\n")
        path.chmod(0o600)
    os.environ[KEY_ENV] = path.read_text().strip()
    return True
