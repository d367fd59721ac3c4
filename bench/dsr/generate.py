"""Generate the synthetic hosting-company database the DSR benchmark runs against.

The company is a Norwegian web-hosting business ("Fjordhost AS"): customers (persons
with fødselsnummer, companies with organisasjonsnummer), their contacts, addresses,
logins and login events, subscriptions and servers, domains with WHOIS data, orders,
order lines, invoices, payments, support tickets with messages and attachments,
newsletter subscriptions and API keys: 18 tables, the deepest 3 hops from the
identity (customers -> support_tickets -> ticket_messages -> ticket_attachments).

Full scale (``--scale 1``) is 1M customers, 5M orders, 5M invoices and 20M login
events, about 51M rows. ``--scale 0.01`` builds the same shape 100 times smaller in a
few seconds.

Loading is done for speed on a 2-core machine:

* ``customers`` is generated in Python (valid fødselsnummer and organisasjonsnummer
  need mod-11 check digits and must be unique) and streamed with COPY;
* every other table is filled server-side with ``INSERT ... SELECT ... FROM
  generate_series``, with pseudo-random values from ``hashint8extended(id, seed)``, so
  output is deterministic for a given seed and nothing crosses the socket;
* primary keys, indexes and foreign keys are added after loading, then ANALYZE.

"Rich" customers: the first ``n/STRIDE`` rows of every child table belong to the
customers whose id is a multiple of STRIDE, so those customers have data in every
table and every hop. ``--sample-identities N`` prints (or writes) their e-mails;
they are the identities the benchmark requests are made for.

Usage:
    python bench/dsr/generate.py --scale 0.01
    python bench/dsr/generate.py --scale 1 --sample-identities 60 --out ids.txt
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

STRIDE = 50  # customers with id % STRIDE == 0 (up to n/STRIDE of them) are "rich"
MARKER = "datavern-bench"  # prefix of the database comment written when generation completed

FIRST_NAMES = [
    "Ola", "Kari", "Per", "Anne", "Lars", "Ingrid", "Jon", "Marit", "Knut", "Liv",
    "Bjørn", "Solveig", "Håkon", "Åse", "Erik", "Hilde", "Nils", "Tone", "Geir", "Randi",
    "Sindre", "Nora", "Emil", "Sofie", "Jonas", "Emma", "Magnus", "Ida", "Henrik", "Thea",
    "Sigurd", "Ragnhild", "Øystein", "Kristin", "Tor", "Astrid", "Vegard", "Silje", "Eirik", "Maja",
]  # fmt: skip
LAST_NAMES = [
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
    "Mathisen", "Lie", "Nordmann", "Bråten", "Rønning", "Aas", "Fjeld",
]  # fmt: skip
COMPANY_WORDS = [
    "Fjord", "Nord", "Vest", "Berg", "Dal", "Havn", "Skog", "Elv", "Lys", "Kyst",
    "Fjell", "Tind", "Bølge", "Vind", "Sol", "Is", "Bru", "Stein", "Tre", "Nett",
]  # fmt: skip
COMPANY_KINDS = [
    "Bygg", "Regnskap", "Data", "Design", "Transport", "Eiendom", "Rør", "Elektro",
    "Frisør", "Consult", "Media", "Helse", "Mat", "Invest", "Maskin",
]  # fmt: skip
STREETS = [
    "Storgata", "Kirkegata", "Dronningens gate", "Kongens gate", "Skolegata", "Parkveien",
    "Bjørkeveien", "Granveien", "Furuveien", "Sjøgata", "Strandveien", "Fjordveien",
    "Bakkegata", "Møllergata", "Torggata", "Elvegata", "Nygata", "Jernbanegata",
    "Solbakken", "Lindeveien", "Eikeveien", "Hagegata", "Markveien", "Stasjonsveien",
]  # fmt: skip
PLACES = [
    ("0150", "Oslo"), ("0250", "Oslo"), ("0550", "Oslo"), ("0661", "Oslo"), ("1337", "Sandvika"),
    ("1430", "Ås"), ("1606", "Fredrikstad"), ("2000", "Lillestrøm"), ("2317", "Hamar"),
    ("2609", "Lillehammer"), ("3015", "Drammen"), ("3117", "Tønsberg"), ("3717", "Skien"),
    ("4006", "Stavanger"), ("4307", "Sandnes"), ("4612", "Kristiansand"), ("5003", "Bergen"),
    ("5058", "Bergen"), ("5501", "Haugesund"), ("6002", "Ålesund"), ("6413", "Molde"),
    ("7010", "Trondheim"), ("7030", "Trondheim"), ("8006", "Bodø"), ("8514", "Narvik"),
    ("9008", "Tromsø"), ("9510", "Alta"),
]  # fmt: skip
PLANS = [
    (1, "Webhotell Mini", "webhotel", 39), (2, "Webhotell Medium", "webhotel", 79),
    (3, "Webhotell Pro", "webhotel", 149), (4, "WordPress Start", "wordpress", 99),
    (5, "WordPress Bedrift", "wordpress", 249), (6, "E-post Basis", "email", 29),
    (7, "E-post Bedrift", "email", 59), (8, "VPS 2 kjerner", "vps", 199),
    (9, "VPS 4 kjerner", "vps", 399), (10, "VPS 8 kjerner", "vps", 799),
    (11, "Dedikert server", "dedicated", 1990), (12, "Nettbutikk", "shop", 349),
]  # fmt: skip
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
    "fjordhost-cli/2.4.1 (linux; amd64)",
]  # fmt: skip
TICKET_SUBJECTS = [
    "Nettsiden er nede", "Får ikke sendt e-post", "Spørsmål om faktura", "Flytte domene til dere",
    "Glemt passord", "SSL-sertifikat utløpt", "Oppgradere abonnement", "Treg nettside",
    "Si opp abonnement", "DNS-endring", "Backup av database", "Spam i innboksen",
]  # fmt: skip
TICKET_BODIES = [
    "Hei! Nettsiden vår svarer ikke siden i morges. Kan dere se på det?",
    "Hei, jeg får feilmelding når jeg sender e-post fra Outlook.",
    "Fakturaen denne måneden ser for høy ut. Kan dere sjekke?",
    "Vi ønsker å flytte domenet vårt til dere. Hva trenger dere fra oss?",
    "Jeg har glemt passordet og får ikke tilbakestilt det.",
    "Sertifikatet har gått ut og nettleseren advarer de besøkende.",
]  # fmt: skip
AGENT_BODIES = [
    "Takk for henvendelsen! Vi ser på saken og kommer tilbake i løpet av dagen.",
    "Dette skal nå være rettet. Gi beskjed om problemet kommer tilbake.",
    "Vi har sendt en lenke for å tilbakestille passordet til e-postadressen på kontoen.",
]  # fmt: skip

PAYMENT_METHODS = ["kort", "kort", "vipps", "avtalegiro", "bankoverføring"]

TABLES = [
    "customers", "contacts", "addresses", "accounts", "login_events", "api_keys",
    "hosting_plans", "subscriptions", "servers", "domains", "orders", "order_lines",
    "invoices", "payments", "support_tickets", "ticket_messages", "ticket_attachments",
    "newsletter_subscriptions",
]  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """Row counts for one scale factor (scale 1.0 = 1M customers)."""

    customers: int
    contacts: int
    addresses: int
    login_events: int
    api_keys: int
    subscriptions: int
    servers: int
    domains: int
    orders: int
    order_lines: int
    payments: int
    support_tickets: int
    ticket_messages: int
    ticket_attachments: int
    newsletter_subscriptions: int

    @property
    def rich(self) -> int:
        return self.customers // STRIDE

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        n = max(round(1_000_000 * scale), 10 * STRIDE)

        def part(factor: float) -> int:
            return max(round(n * factor), n // STRIDE)

        return cls(
            customers=n,
            contacts=part(0.5),
            addresses=part(1.2),
            login_events=part(20),
            api_keys=part(0.2),
            subscriptions=part(1.5),
            servers=part(0.3),
            domains=part(1.5),
            orders=part(5),
            order_lines=part(6),
            payments=part(4),
            support_tickets=part(0.8),
            ticket_messages=part(2.4),
            ticket_attachments=part(0.3),
            newsletter_subscriptions=part(0.6),
        )

    def total_rows(self) -> int:
        counted = sum(getattr(self, f) for f in self.__dataclass_fields__)
        # accounts (one per customer), invoices (one per order), hosting plans
        return counted + self.customers + self.orders + len(PLANS)


# ----------------------------------------------------------------------------- safety


def require_loopback(host: str) -> None:
    """The benchmark only ever talks to this machine."""
    if host.startswith("/") or host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing non-loopback database host {host!r}: the benchmark is local only")


def conninfo(host: str, port: int, user: str, dbname: str) -> str:
    require_loopback(host)
    return psycopg.conninfo.make_conninfo(host=host, port=port, user=user, dbname=dbname)


# --------------------------------------------------------------------- Norwegian numbers


def fnr_check_digits(first9: str) -> str | None:
    """Both mod-11 check digits of a fødselsnummer, or None when the number is unusable."""
    w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
    w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    digits = [int(c) for c in first9]
    k1 = 11 - sum(a * b for a, b in zip(w1, digits, strict=True)) % 11
    if k1 == 11:
        k1 = 0
    if k1 == 10:
        return None
    digits.append(k1)
    k2 = 11 - sum(a * b for a, b in zip(w2, digits, strict=True)) % 11
    if k2 == 11:
        k2 = 0
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def make_fnr(rng: random.Random, birth: dt.date) -> str:
    """A valid fødselsnummer for a birth date (individual number in the century's range)."""
    low, high = (0, 499) if birth.year < 2000 else (500, 999)
    date_part = birth.strftime("%d%m%y")
    while True:
        first9 = f"{date_part}{rng.randint(low, high):03d}"
        check = fnr_check_digits(first9)
        if check is not None:
            return first9 + check


def make_org_nr(rng: random.Random) -> str:
    """A valid organisasjonsnummer (9 digits, mod-11 check digit, starts with 8 or 9)."""
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    while True:
        body = f"{rng.choice('89')}{rng.randint(0, 9_999_999):07d}"
        rest = sum(w * int(c) for w, c in zip(weights, body, strict=True)) % 11
        check = 0 if rest == 0 else 11 - rest
        if check != 10:
            return body + str(check)


def ascii_slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", " ": "-"})
    return text.lower().translate(table)


# ---------------------------------------------------------------------------- customers


def customer_lines(sizes: Sizes, seed: int) -> Iterator[str]:
    """COPY text lines for the customers table (deterministic for a seed)."""
    rng = random.Random(seed)
    seen_fnr: set[str] = set()
    seen_org: set[str] = set()
    base = dt.datetime(2008, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2025, 6, 1, tzinfo=dt.UTC) - base).total_seconds())
    for cid in range(1, sizes.customers + 1):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        is_company = rng.random() < 0.2
        fnr = org_nr = company = birth = r"\N"
        if is_company:
            company_name = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS).lower()} AS"
            company = company_name
            org = make_org_nr(rng)
            while org in seen_org:
                org = make_org_nr(rng)
            seen_org.add(org)
            org_nr = org
            email = f"post.{ascii_slug(company_name[:-3])}.{cid}@example.net"
        else:
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 65 * 365))
            birth = born.isoformat()
            if rng.random() < 0.7:
                number = make_fnr(rng, born)
                while number in seen_fnr:
                    number = make_fnr(rng, born)
                seen_fnr.add(number)
                fnr = number
            email = f"{ascii_slug(first)}.{ascii_slug(last)}.{cid}@example.com"
        # unique per customer: 4xxxxxxx or 9xxxxxxx mobile numbers
        phone = f"+47{(40_000_000 if cid % 3 else 90_000_000) + cid * 7919 % 10_000_000}"
        created = (base + dt.timedelta(seconds=rng.randint(0, span))).isoformat()
        language = "en" if rng.random() < 0.08 else "nb"
        marketing = "t" if rng.random() < 0.35 else "f"
        yield (
            f"{cid}\tK{cid:08d}\t{'company' if is_company else 'person'}\t{first}\t{last}\t"
            f"{company}\t{org_nr}\t{fnr}\t{birth}\t{email}\t{phone}\t{language}\t{created}\t"
            f"{marketing}\n"
        )


# -------------------------------------------------------------------------------- SQL

DDL = """
CREATE TABLE customers (
    id bigint NOT NULL, customer_number text, kind text NOT NULL,
    first_name text, last_name text, company_name text, org_nr text, fnr text,
    birth_date date, email text, phone text, preferred_language text,
    created_at timestamptz NOT NULL, marketing_consent boolean NOT NULL);
CREATE TABLE contacts (
    id bigint NOT NULL, customer_id bigint NOT NULL, role text NOT NULL,
    first_name text, last_name text, email text, phone text, created_at timestamptz NOT NULL);
CREATE TABLE addresses (
    id bigint NOT NULL, customer_id bigint NOT NULL, kind text NOT NULL, street text,
    postal_code text, city text, country text);
CREATE TABLE accounts (
    id bigint NOT NULL, customer_id bigint NOT NULL, username text, password_hash text,
    mfa_enabled boolean NOT NULL, created_at timestamptz NOT NULL, last_login_at timestamptz);
CREATE TABLE login_events (
    id bigint NOT NULL, account_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
    ip_address inet, user_agent text, method text NOT NULL, success boolean NOT NULL);
CREATE TABLE api_keys (
    id bigint NOT NULL, account_id bigint NOT NULL, label text, key_prefix text NOT NULL,
    key_hash text, created_at timestamptz NOT NULL, last_used_at timestamptz,
    last_used_ip inet);
CREATE TABLE hosting_plans (
    id bigint NOT NULL, name text NOT NULL, kind text NOT NULL, monthly_price_nok numeric(10,2));
CREATE TABLE subscriptions (
    id bigint NOT NULL, customer_id bigint NOT NULL, plan_id bigint NOT NULL, status text NOT NULL,
    started_at timestamptz NOT NULL, ended_at timestamptz, monthly_price_nok numeric(10,2));
CREATE TABLE servers (
    id bigint NOT NULL, subscription_id bigint NOT NULL, hostname text NOT NULL,
    ipv4_address inet, admin_email text, root_ssh_key text, created_at timestamptz NOT NULL);
CREATE TABLE domains (
    id bigint NOT NULL, customer_id bigint NOT NULL, name text NOT NULL,
    registered_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
    auto_renew boolean NOT NULL, whois_privacy boolean NOT NULL, registrant_name text,
    registrant_email text,
    registrant_phone text);
CREATE TABLE orders (
    id bigint NOT NULL, customer_id bigint NOT NULL, order_number text NOT NULL,
    ordered_at timestamptz NOT NULL, status text NOT NULL, ip_address inet,
    total_nok numeric(12,2) NOT NULL);
CREATE TABLE order_lines (
    id bigint NOT NULL, order_id bigint NOT NULL, product text NOT NULL, description text,
    quantity integer NOT NULL, unit_price_nok numeric(12,2) NOT NULL);
CREATE TABLE invoices (
    id bigint NOT NULL, customer_id bigint NOT NULL, order_id bigint NOT NULL,
    invoice_number text NOT NULL, kid text NOT NULL, issued_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL, buyer_name text, buyer_email text, buyer_address text,
    buyer_org_nr text, amount_nok numeric(12,2) NOT NULL, status text NOT NULL);
CREATE TABLE payments (
    id bigint NOT NULL, invoice_id bigint NOT NULL, paid_at timestamptz NOT NULL,
    method text NOT NULL, amount_nok numeric(12,2) NOT NULL, payer_name text,
    card_last4 text, payer_account text);
CREATE TABLE support_tickets (
    id bigint NOT NULL, customer_id bigint NOT NULL, subject text, channel text NOT NULL,
    status text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE ticket_messages (
    id bigint NOT NULL, ticket_id bigint NOT NULL, sender text NOT NULL, author_name text,
    author_email text, body text, created_at timestamptz NOT NULL);
CREATE TABLE ticket_attachments (
    id bigint NOT NULL, message_id bigint NOT NULL, filename text, content_type text NOT NULL,
    size_bytes integer NOT NULL, storage_key text NOT NULL);
CREATE TABLE newsletter_subscriptions (
    id bigint NOT NULL, customer_id bigint, email text, list_name text NOT NULL,
    consent_source text NOT NULL, subscribed_at timestamptz NOT NULL,
    unsubscribed_at timestamptz);
"""

# (table, column, referenced table); every one gets an index and a foreign key.
FOREIGN_KEYS = [
    ("contacts", "customer_id", "customers"),
    ("addresses", "customer_id", "customers"),
    ("accounts", "customer_id", "customers"),
    ("login_events", "account_id", "accounts"),
    ("api_keys", "account_id", "accounts"),
    ("subscriptions", "customer_id", "customers"),
    ("subscriptions", "plan_id", "hosting_plans"),
    ("servers", "subscription_id", "subscriptions"),
    ("domains", "customer_id", "customers"),
    ("orders", "customer_id", "customers"),
    ("order_lines", "order_id", "orders"),
    ("invoices", "customer_id", "customers"),
    ("invoices", "order_id", "orders"),
    ("payments", "invoice_id", "invoices"),
    ("support_tickets", "customer_id", "customers"),
    ("ticket_messages", "ticket_id", "support_tickets"),
    ("ticket_attachments", "message_id", "ticket_messages"),
    ("newsletter_subscriptions", "customer_id", "customers"),
]
# Identity and lookup columns a real company indexes: (table, column, unique)
LOOKUP_INDEXES = [
    ("customers", "email", True),
    ("customers", "customer_number", True),
    ("customers", "fnr", True),
    ("customers", "org_nr", False),
    ("customers", "phone", False),
    ("contacts", "email", False),
    ("accounts", "username", True),
    ("domains", "name", True),
    ("orders", "order_number", True),
    ("invoices", "invoice_number", True),
    ("invoices", "kid", False),
    ("newsletter_subscriptions", "email", False),
    ("api_keys", "key_prefix", False),
]


def text_array(values: list[str]) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{quoted}]::text[])"


class SqlBuilder:
    """SQL snippets for deterministic server-side generation."""

    def __init__(self, sizes: Sizes, seed: int) -> None:
        self.sizes = sizes
        self.seed = seed

    def h(self, expr: str, salt: int) -> str:
        """A pseudo-random non-negative 31-bit integer from an id (deterministic per seed)."""
        return f"(hashint8extended(({expr})::bigint, {self.seed * 1000 + salt}) & 2147483647)"

    def pick(self, values: list[str], expr: str, salt: int) -> str:
        return f"{text_array(values)}[1 + {self.h(expr, salt)} % {len(values)}]"

    def parent(self, expr: str, parent_rows: int, salt: int, rich_of: str) -> str:
        """Parent id of a child row: the first `rich` rows go to the rich parents."""
        rich = self.sizes.rich
        return (
            f"(CASE WHEN {expr} <= {rich} THEN {rich_of.format(k=expr)} "
            f"ELSE 1 + {self.h(expr, salt)} % {parent_rows} END)"
        )

    def ts(self, expr: str, salt: int, start: str, days: int) -> str:
        return (
            f"(timestamptz '{start} 00:00:00+00' + "
            f"({self.h(expr, salt)} % {days * 86400}) * interval '1 second')"
        )

    def ip(self, expr: str, salt: int) -> str:
        # addresses in Norwegian ISP ranges (84.208.0.0/12 and 178.232.0.0/14); data only
        return (
            f"(CASE WHEN {self.h(expr, salt)} % 2 = 0 "
            f"THEN inet '84.208.0.0' + ({self.h(expr, salt + 1)} % 1048576) "
            f"ELSE inet '178.232.0.0' + ({self.h(expr, salt + 1)} % 262144) END)"
        )

    def phone(self, expr: str, salt: int) -> str:
        low = f"{self.h(expr, salt)} % 10000000"
        mobile_series = f"50000000 * ({self.h(expr, salt + 1)} % 2)"
        return f"('+47' || (40000000 + {low} + {mobile_series}))"

    def slug(self, expr: str) -> str:
        return f"replace(translate(lower({expr}), 'øå ', 'oa-'), 'æ', 'ae')"


def table_statements(sizes: Sizes, seed: int) -> list[tuple[str, str]]:
    """(table, INSERT ... SELECT) for every table but customers, in dependency order."""
    b = SqlBuilder(sizes, seed)
    n = sizes.customers
    rich_customer = f"{{k}} * {STRIDE}"
    rich_row = "{k}"
    first = b.pick(FIRST_NAMES, "g", 1)
    last = b.pick(LAST_NAMES, "g", 2)
    streets = b.pick(STREETS, "g", 3)
    place_idx = f"(1 + {b.h('g', 4)} % {len(PLACES)})"
    codes = text_array([p[0] for p in PLACES])
    cities = text_array([p[1] for p in PLACES])
    plan_values = ",".join(f"({i}, '{name}', '{kind}', {price})" for i, name, kind, price in PLANS)
    plan_names = text_array([p[1] for p in PLANS])
    plan_prices = "(ARRAY[" + ",".join(str(p[3]) for p in PLANS) + "]::numeric[])"
    customer_name = "coalesce(c.company_name, c.first_name || ' ' || c.last_name)"

    return [
        ("hosting_plans", f"INSERT INTO hosting_plans VALUES {plan_values}"),
        (
            "contacts",
            f"""INSERT INTO contacts
            SELECT g, {b.parent("g", n, 10, rich_customer)},
                   {b.pick(["teknisk", "faktura", "admin"], "g", 11)},
                   f, l, {b.slug("f")} || '.' || {b.slug("l")} || '.k' || g || '@example.org',
                   {b.phone("g", 12)}, {b.ts("g", 13, "2010-01-01", 5400)}
            FROM (SELECT g, {first} AS f, {last} AS l
                  FROM generate_series(1, {sizes.contacts}) g) s""",
        ),
        (
            "addresses",
            f"""INSERT INTO addresses
            SELECT g, {b.parent("g", n, 20, rich_customer)},
                   {b.pick(["postadresse", "fakturaadresse"], "g", 21)},
                   {streets} || ' ' || (1 + {b.h("g", 22)} % 120),
                   {codes}[{place_idx}], {cities}[{place_idx}], 'NO'
            FROM generate_series(1, {sizes.addresses}) g""",
        ),
        (
            "accounts",
            f"""INSERT INTO accounts
            SELECT c.id, c.id, split_part(c.email, '@', 1),
                   '$argon2id$v=19$m=65536,t=3,p=4$' || md5('salt' || c.id)
                       || '$' || md5('pw' || c.id),
                   {b.h("c.id", 30)} % 4 = 0, c.created_at,
                   c.created_at + ({b.h("c.id", 31)} % 31536000) * interval '1 second'
            FROM customers c""",
        ),
        (
            "login_events",
            f"""INSERT INTO login_events
            SELECT g, {b.parent("g", n, 40, rich_customer)}, {b.ts("g", 41, "2023-01-01", 730)},
                   {b.ip("g", 42)}, {b.pick(USER_AGENTS, "g", 44)},
                   {b.pick(["passord", "passord", "passord", "bankid", "api-nøkkel"], "g", 45)},
                   {b.h("g", 46)} % 20 <> 0
            FROM generate_series(1, {sizes.login_events}) g""",
        ),
        (
            "api_keys",
            f"""INSERT INTO api_keys
            SELECT g, {b.parent("g", n, 50, rich_customer)},
                   {b.pick(["deploy", "CI", "backup", "overvåking", "WordPress"], "g", 51)},
                   'fh_' || substr(md5('p' || g), 1, 8), md5('key' || g),
                   {b.ts("g", 52, "2019-01-01", 2000)}, {b.ts("g", 53, "2024-06-01", 365)},
                   {b.ip("g", 54)}
            FROM generate_series(1, {sizes.api_keys}) g""",
        ),
        (
            "subscriptions",
            f"""INSERT INTO subscriptions
            SELECT g, cust, plan, CASE WHEN ended THEN 'avsluttet' ELSE 'aktiv' END, started,
                   CASE WHEN ended THEN started + interval '400 days' END, {plan_prices}[plan]
            FROM (SELECT g, {b.parent("g", n, 60, rich_customer)} AS cust,
                         1 + {b.h("g", 61)} % {len(PLANS)} AS plan,
                         {b.h("g", 62)} % 4 = 0 AS ended,
                         {b.ts("g", 63, "2012-01-01", 4700)} AS started
                  FROM generate_series(1, {sizes.subscriptions}) g) s""",
        ),
        (
            "servers",
            f"""INSERT INTO servers
            SELECT g, {b.parent("g", sizes.subscriptions, 70, rich_row)},
                   'vps' || g || '.kunde.fjordhost.example', {b.ip("g", 71)},
                   'drift.' || {b.slug(last)} || '.' || g || '@example.org',
                   'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5' || md5('ssh' || g)
                       || ' ' || {b.slug(first)} || '@laptop',
                   {b.ts("g", 73, "2015-01-01", 3600)}
            FROM generate_series(1, {sizes.servers}) g""",
        ),
        (
            "domains",
            f"""INSERT INTO domains
            SELECT s.g, c.id, {b.slug("coalesce(c.company_name, c.last_name)")}
                       || '-' || s.g || {b.pick([".no", ".no", ".no", ".com", ".net"], "s.g", 81)},
                   s.reg, s.reg + interval '1 year' * (1 + {b.h("s.g", 82)} % 10),
                   {b.h("s.g", 83)} % 5 <> 0, {b.h("s.g", 84)} % 3 = 0,
                   {customer_name}, c.email, c.phone
            FROM (SELECT g, {b.parent("g", n, 80, rich_customer)} AS cust,
                         {b.ts("g", 85, "2005-01-01", 7000)} AS reg
                  FROM generate_series(1, {sizes.domains}) g) s
            JOIN customers c ON c.id = s.cust""",
        ),
        (
            "orders",
            f"""INSERT INTO orders
            SELECT g, {b.parent("g", n, 90, rich_customer)}, 'O' || lpad(g::text, 10, '0'),
                   {b.ts("g", 91, "2015-01-01", 3800)},
                   {b.pick(["fullført"] * 8 + ["kansellert", "refundert"], "g", 92)},
                   {b.ip("g", 93)}, (49 + {b.h("g", 95)} % 5000)::numeric(12,2)
            FROM generate_series(1, {sizes.orders}) g""",
        ),
        (
            "order_lines",
            f"""INSERT INTO order_lines
            SELECT g, {b.parent("g", sizes.orders, 100, rich_row)}, {plan_names}[p],
                   'Periode ' || (2015 + {b.h("g", 101)} % 10) || ', ' || {plan_names}[p],
                   1 + {b.h("g", 102)} % 3, {plan_prices}[p] * 12
            FROM (SELECT g, 1 + {b.h("g", 103)} % {len(PLANS)} AS p
                  FROM generate_series(1, {sizes.order_lines}) g) s""",
        ),
        (
            "invoices",
            f"""INSERT INTO invoices
            SELECT o.id, o.customer_id, o.id, 'F' || lpad(o.id::text, 10, '0'),
                   lpad((o.id * 7)::text, 12, '0'), o.ordered_at + interval '1 day',
                   o.ordered_at + interval '15 days', {customer_name}, c.email,
                   {b.pick(STREETS, "o.id", 110)} || ' ' || (1 + {b.h("o.id", 111)} % 120) || ', '
                       || {codes}[1 + {b.h("o.id", 112)} % {len(PLACES)}] || ' '
                       || {cities}[1 + {b.h("o.id", 112)} % {len(PLACES)}],
                   c.org_nr, o.total_nok,
                   CASE WHEN o.id <= {sizes.payments} THEN 'betalt' ELSE 'ubetalt' END
            FROM orders o JOIN customers c ON c.id = o.customer_id""",
        ),
        (
            "payments",
            f"""INSERT INTO payments
            SELECT i.id, i.id, i.issued_at + ({b.h("i.id", 120)} % 1209600) * interval '1 second',
                   m, i.amount_nok, i.buyer_name,
                   CASE WHEN m = 'kort' THEN lpad(({b.h("i.id", 122)} % 10000)::text, 4, '0') END,
                   CASE WHEN m IN ('avtalegiro', 'bankoverføring')
                        THEN lpad((12000000000 + {b.h("i.id", 123)})::text, 11, '0') END
            FROM (SELECT *, {b.pick(PAYMENT_METHODS, "id", 121)} AS m
                  FROM invoices WHERE id <= {sizes.payments}) i""",
        ),
        (
            "support_tickets",
            f"""INSERT INTO support_tickets
            SELECT g, {b.parent("g", n, 130, rich_customer)}, {b.pick(TICKET_SUBJECTS, "g", 131)},
                   {b.pick(["e-post", "chat", "telefon", "kontrollpanel"], "g", 132)},
                   {b.pick(["løst", "løst", "løst", "åpen", "venter på kunde"], "g", 133)},
                   {b.ts("g", 134, "2016-01-01", 3400)}
            FROM generate_series(1, {sizes.support_tickets}) g""",
        ),
        (
            "ticket_messages",
            f"""INSERT INTO ticket_messages
            SELECT s.g, t.id, CASE WHEN s.agent THEN 'kundeservice' ELSE 'kunde' END,
                   CASE WHEN s.agent THEN 'Kundeservice Fjordhost'
                        ELSE coalesce(c.first_name || ' ' || c.last_name, c.company_name) END,
                   CASE WHEN s.agent THEN 'support@fjordhost.example' ELSE c.email END,
                   CASE WHEN s.agent THEN {b.pick(AGENT_BODIES, "s.g", 141)}
                        ELSE {b.pick(TICKET_BODIES, "s.g", 142)}
                             || ' Mvh ' || coalesce(c.first_name, c.company_name)
                             || ', tlf. ' || c.phone END,
                   t.created_at + ({b.h("s.g", 143)} % 604800) * interval '1 second'
            FROM (SELECT g, {b.parent("g", sizes.support_tickets, 140, rich_row)} AS ticket,
                         g > {sizes.rich} AND {b.h("g", 144)} % 2 = 0 AS agent
                  FROM generate_series(1, {sizes.ticket_messages}) g) s
            JOIN support_tickets t ON t.id = s.ticket
            JOIN customers c ON c.id = t.customer_id""",
        ),
        (
            "ticket_attachments",
            f"""INSERT INTO ticket_attachments
            SELECT g, {b.parent("g", sizes.ticket_messages, 150, rich_row)},
                   {b.pick(["skjermbilde", "feilmelding", "faktura", "pass", "logg"], "g", 151)}
                       || '-' || g || '.' || ext,
                   CASE ext WHEN 'png' THEN 'image/png' WHEN 'pdf' THEN 'application/pdf'
                            ELSE 'text/plain' END,
                   1000 + {b.h("g", 153)} % 5000000, 'vedlegg/' || md5('att' || g)
            FROM (SELECT g, {b.pick(["png", "png", "pdf", "txt"], "g", 152)} AS ext
                  FROM generate_series(1, {sizes.ticket_attachments}) g) s""",
        ),
        (
            "newsletter_subscriptions",
            f"""INSERT INTO newsletter_subscriptions
            SELECT s.g, c.id, coalesce(c.email, 'leser.' || s.g || '@example.org'),
                   {b.pick(["Nyheter", "Driftsmeldinger", "Tilbud"], "s.g", 161)},
                   {b.pick(["registrering", "kontrollpanel", "nettside", "messe"], "s.g", 162)},
                   {b.ts("s.g", 163, "2014-01-01", 4000)},
                   CASE WHEN {b.h("s.g", 164)} % 6 = 0 THEN timestamptz '2025-01-01 00:00:00+00' END
            FROM (SELECT g, CASE WHEN g <= {sizes.rich} THEN g * {STRIDE}
                                 WHEN g <= {sizes.newsletter_subscriptions * 2 // 3}
                                 THEN 1 + {b.h("g", 160)} % {n} END AS cust
                  FROM generate_series(1, {sizes.newsletter_subscriptions}) g) s
            LEFT JOIN customers c ON c.id = s.cust""",
        ),
    ]


# ---------------------------------------------------------------------------- driver


def log(message: str) -> None:
    print(message, flush=True)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.start:6.1f}s"


def prepare_database(admin: str, dbname: str, force: bool) -> None:
    """Drop and create the bench database; refuse to drop a database that is not ours."""
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (dbname,),
        ).fetchone()
        if row is not None:
            comment = row[0] or ""
            if not comment.startswith(MARKER) and not force:
                raise SystemExit(
                    f"database {dbname!r} exists and was not made by this generator "
                    "(no complete-generation marker); pass --force to replace it"
                )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def existing_marker(admin: str, dbname: str) -> str | None:
    """The completion comment of an existing bench database, or None."""
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (dbname,),
        ).fetchone()
    if row is None or not (row[0] or "").startswith(MARKER):
        return None
    return str(row[0])


def marker_for(scale: float, seed: int) -> str:
    return f"{MARKER} scale={scale:g} seed={seed}"


def generate(
    *, host: str, port: int, user: str, dbname: str, scale: float, seed: int, force: bool
) -> Sizes:
    sizes = Sizes.for_scale(scale)
    admin = conninfo(host, port, user, "postgres")
    total = Timer()
    log(
        f"generating {dbname!r} at scale {scale:g} (seed {seed}): {sizes.customers:,} customers, "
        f"{sizes.total_rows():,} rows in {len(TABLES)} tables"
    )
    prepare_database(admin, dbname, force)
    with psycopg.connect(conninfo(host, port, user, dbname), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(DDL)

        t = Timer()
        with conn.cursor() as cur, cur.copy("COPY customers FROM STDIN") as copy:
            buf: list[str] = []
            for line in customer_lines(sizes, seed):
                buf.append(line)
                if len(buf) >= 20_000:
                    copy.write("".join(buf))
                    buf.clear()
            copy.write("".join(buf))
        # the customer lookups the later INSERTs join on
        conn.execute("ALTER TABLE customers ADD PRIMARY KEY (id)")
        log(f"  {t}  customers            {sizes.customers:>12,} rows (COPY)")

        for table, statement in table_statements(sizes, seed):
            t = Timer()
            cur = conn.execute(statement)  # type: ignore[call-overload]
            log(f"  {t}  {table:<20} {cur.rowcount:>12,} rows")
            if table in ("orders", "invoices", "support_tickets"):
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(sql.Identifier(table))
                )

        t = Timer()
        for table in TABLES:
            if table in ("customers", "orders", "invoices", "support_tickets"):
                continue
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(sql.Identifier(table))
            )
        log(f"  {t}  primary keys")
        t = Timer()
        for table, column, unique in LOOKUP_INDEXES:
            conn.execute(
                sql.SQL("CREATE {} INDEX {} ON {} ({})").format(
                    sql.SQL("UNIQUE") if unique else sql.SQL(""),
                    sql.Identifier(f"{table}_{column}_idx"),
                    sql.Identifier(table),
                    sql.Identifier(column),
                )
            )
        for table, column, _ in FOREIGN_KEYS:
            conn.execute(
                sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"{table}_{column}_idx"),
                    sql.Identifier(table),
                    sql.Identifier(column),
                )
            )
        log(f"  {t}  identity and foreign-key indexes")
        t = Timer()
        for table, column, parent in FOREIGN_KEYS:
            conn.execute(
                sql.SQL(
                    "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} (id)"
                ).format(
                    sql.Identifier(table),
                    sql.Identifier(f"{table}_{column}_fkey"),
                    sql.Identifier(column),
                    sql.Identifier(parent),
                )
            )
        log(f"  {t}  foreign keys")
        t = Timer()
        conn.execute("VACUUM ANALYZE")
        log(f"  {t}  vacuum analyze")
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dbname), sql.Literal(marker_for(scale, seed))
            )
        )
    log(f"done in {total}")
    return sizes


def sample_identities(
    *, host: str, port: int, user: str, dbname: str, count: int, offset: int = 0
) -> list[str]:
    """E-mails of rich customers that really have rows in every table, by id."""
    query = f"""
        SELECT c.email FROM customers c
        WHERE c.id %% {STRIDE} = 0 AND c.email IS NOT NULL
          AND EXISTS (SELECT 1 FROM contacts x WHERE x.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM addresses x WHERE x.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM login_events x JOIN accounts a ON a.id = x.account_id
                      WHERE a.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM api_keys x JOIN accounts a ON a.id = x.account_id
                      WHERE a.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM servers x JOIN subscriptions s ON s.id = x.subscription_id
                      WHERE s.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM domains x WHERE x.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM order_lines x JOIN orders o ON o.id = x.order_id
                      WHERE o.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM payments x JOIN invoices i ON i.id = x.invoice_id
                      WHERE i.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM ticket_attachments x
                      JOIN ticket_messages m ON m.id = x.message_id
                      JOIN support_tickets t ON t.id = m.ticket_id WHERE t.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM newsletter_subscriptions x WHERE x.email = c.email)
        ORDER BY c.id LIMIT %s OFFSET %s"""
    with psycopg.connect(conninfo(host, port, user, dbname)) as conn:
        rows = conn.execute(query, (count, offset)).fetchall()  # type: ignore[call-overload]
    return [r[0] for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M customers (default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--dbname", default="datavern_bench")
    parser.add_argument("--force", action="store_true", help="replace a database not made here")
    parser.add_argument("--skip-generate", action="store_true", help="only print sample identities")
    parser.add_argument(
        "--sample-identities", type=int, default=0, metavar="N",
        help="print N e-mails of customers with data in every table",
    )  # fmt: skip
    parser.add_argument("--out", help="write the sample identities to this file")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    target = dict(host=args.host, port=args.port, user=args.user, dbname=args.dbname)
    try:
        if not args.skip_generate:
            generate(**target, scale=args.scale, seed=args.seed, force=args.force)
        if args.sample_identities:
            emails = sample_identities(**target, count=args.sample_identities)
            if args.out:
                with open(args.out, "w", encoding="utf-8") as fh:
                    fh.write("".join(e + "\n" for e in emails))
                log(f"wrote {len(emails)} sample identities to {args.out}")
            else:
                for email in emails:
                    print(email)
    except psycopg.Error as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
