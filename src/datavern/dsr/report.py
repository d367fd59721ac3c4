"""The readable report of an access package (GDPR art. 15), HTML or PDF, bokmål or English.

``render_access_report`` turns what the DSR engine collected about one person
(``CollectedData``) and the applied register into the report a data subject
reads: a copy of their data (art. 15(3)) with the art. 15(1)-(2) facts drawn
from the register. The machine-readable copy (``data.json``, CSV) is written
by the engine; this module only writes the report.

The facts reuse the privacy notice's view of the register
(``notices.render.build_view``) and its vocabulary, so the notice and the
report always describe a purpose, a recipient or a retention period in the
same words. The PDF is made from the report's HTML through the notice's block
parser and PDF writer (``notices.blocks``, ``notices.pdf``): the same fonts
(DejaVu Sans for æøå), the same tables and page numbers.

Decisions (where the law or the brief leaves room):

- *Which purposes.* An activity is relevant when one of its data categories
  covers a category found in the subject's data; a category covers itself and
  every category below it (``user.contact`` covers ``user.contact.email``, not
  the other way round). Where a dataset (or its collection or field) names its
  ``data_subjects``, an activity must also concern one of them: a customer's
  e-mail address does not bring the recruitment purpose. Found personal
  categories that no activity covers are named in the report: the subject is
  told, and the controller sees the gap; for such data the report states no
  recipient, retention or source, since the register gives none.
- *Nothing found.* Art. 15(1) opens with the right to know *whether* data is
  processed; "no" is an answer and is said plainly, together with what was
  searched. The report then still gives the art. 15 facts, for every activity
  in the register, as the general practice of the controller.
- *The identity searched for* is shown masked (``o***@eksempel.no``,
  ``*********45``): the report may be printed or forwarded, and the type plus
  a recognisable fragment is enough for the subject to know which identity was
  matched. Values stored in the company's systems are shown in full: they are
  the copy the subject is entitled to.
- *Only what is given.* The report shows exactly the rows and fields in
  ``CollectedData``; keys of a row that are not among the collection's fields
  (keys the engine used to walk the graph) are not shown.
- *Language.* The report is written in the language asked for even when the
  register holds its texts in one language only; such texts are shown in the
  language they are written in and marked with ``lang`` (the subject must get
  an answer in time, art. 12(3), and a missing translation must not stop it).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from babel.dates import format_time
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup

from datavern.core.clock import OSLO
from datavern.core.errors import InvalidInput
from datavern.core.i18n import LANGUAGES, long_date
from datavern.dsr.graph import is_personal_category
from datavern.dsr.rules import canonical_identity
from datavern.notices import render as notice_render
from datavern.notices import vocabulary as vocab
from datavern.notices.blocks import Block, Inline, Span, Table, parse_html, span_text
from datavern.notices.pdf import blocks_to_pdf
from datavern.notices.render import NoticeView, PurposeView, RecipientView, build_view
from datavern.register.schema import Activity, Register

__all__ = [
    "DATA_FILE",
    "CollectedCollection",
    "CollectedData",
    "CollectedDataset",
    "CollectedField",
    "SearchedIdentity",
    "covers",
    "mask_identity",
    "render_access_report",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
DATA_FILE = "data.json"
"""The machine-readable copy in the package, named in the report (issue 3: ``data.json``)."""

# --- what the engine collected ---------------------------------------------------------


@dataclass(frozen=True)
class CollectedField:
    """A field the engine read, with its fideslang data categories (from the dataset)."""

    name: str
    """The field's name in the dataset; a dotted path for nested fields (``address.city``)."""
    data_categories: tuple[str, ...] = ()


@dataclass
class CollectedCollection:
    """One collection (table) that was searched, and the subject's rows found in it.

    A collection searched without result belongs here too, with no rows: the
    report then lists it among the places searched.
    """

    name: str
    fields: list[CollectedField] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """One mapping per row: field name -> value. Nested fields may be given either
    under their dotted name or as nested mappings."""

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass
class CollectedDataset:
    """One dataset (a system's database), by its ``fides_key`` in the register."""

    key: str
    collections: list[CollectedCollection] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(c.count for c in self.collections)


@dataclass(frozen=True)
class SearchedIdentity:
    """An identity the request searched with (type as in ``dsr.rules``: email, phone, ...)."""

    type: str
    value: str = field(repr=False)


@dataclass
class CollectedData:
    """Everything an access request found about one person, ready for the report.

    Build it field by field, or with ``from_nested`` from the shape the engine
    already has::

        CollectedData.from_nested(
            {"crm_db": {"customers": {"fields": {"email": ["user.contact.email"]},
                                      "rows": [{"email": "ola@eksempel.no"}]}}},
            identities={"email": "ola@eksempel.no"},
        )
    """

    datasets: list[CollectedDataset] = field(default_factory=list)
    identities: list[SearchedIdentity] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        """Rows found, over every dataset and collection."""
        return sum(d.count for d in self.datasets)

    @property
    def found(self) -> bool:
        return self.record_count > 0

    def categories(self) -> list[str]:
        """Data categories of the fields that hold a value in some row, in order of appearance."""
        seen: dict[str, None] = {}
        for dataset in self.datasets:
            for collection in dataset.collections:
                for f in collection.fields:
                    if any(_lookup(row, f.name) not in (None, "") for row in collection.rows):
                        seen.update(dict.fromkeys(f.data_categories))
        return list(seen)

    @classmethod
    def from_nested(
        cls,
        nested: Mapping[str, Mapping[str, Mapping[str, Any]]],
        identities: Mapping[str, str] | Iterable[Any] = (),
    ) -> CollectedData:
        """From ``{dataset: {collection: {"fields": ..., "rows": [...]}}}``.

        ``fields`` is a mapping ``name -> [categories]`` (a single category may be a
        string, ``None`` means none), or a list of names or ``(name, [categories])``
        pairs; without ``fields`` the fields are the keys of the rows, in order.
        ``identities`` is a mapping ``type -> value``, or ``(type, value)`` pairs, or
        objects with ``name`` and ``value`` (``dsr.rules.Identity``).

        Raises ``ValueError`` naming the dataset and collection (never a value).
        """
        datasets = []
        for dataset_key, collections in nested.items():
            if not isinstance(collections, Mapping):
                raise ValueError(f"dataset {dataset_key!r}: expected a mapping of collections")
            items = []
            for name, spec in collections.items():
                where = f"{dataset_key}.{name}"
                if not isinstance(spec, Mapping):
                    raise ValueError(f"{where}: expected a mapping with 'fields' and 'rows'")
                rows = spec.get("rows") or []
                if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
                    raise ValueError(f"{where}: 'rows' must be a list of mappings")
                if not all(isinstance(row, Mapping) for row in rows):
                    raise ValueError(f"{where}: every row must be a mapping of field to value")
                fields = _fields(spec.get("fields"), rows, where)
                items.append(CollectedCollection(str(name), fields, [dict(row) for row in rows]))
            datasets.append(CollectedDataset(str(dataset_key), items))
        return cls(datasets, _identities(identities))


def _categories(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise ValueError(f"{where}: data categories must be a string or a list of strings")


def _fields(spec: Any, rows: Sequence[Mapping[str, Any]], where: str) -> list[CollectedField]:
    if spec is None:
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(str(k) for k in row))
        return [CollectedField(name) for name in names]
    if isinstance(spec, Mapping):
        return [
            CollectedField(str(name), _categories(cats, f"{where}.{name}"))
            for name, cats in spec.items()
        ]
    if isinstance(spec, Iterable) and not isinstance(spec, str | bytes):
        out = []
        for item in spec:
            if isinstance(item, str):
                out.append(CollectedField(item))
            elif isinstance(item, CollectedField):
                out.append(item)
            elif isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
                out.append(CollectedField(item[0], _categories(item[1], f"{where}.{item[0]}")))
            else:
                raise ValueError(f"{where}: a field is a name or a (name, categories) pair")
        return out
    raise ValueError(f"{where}: 'fields' must be a mapping or a list")


def _identities(identities: Mapping[str, str] | Iterable[Any]) -> list[SearchedIdentity]:
    if isinstance(identities, Mapping):
        return [SearchedIdentity(str(k), str(v)) for k, v in identities.items()]
    out = []
    for item in identities:
        if isinstance(item, SearchedIdentity):
            out.append(item)
        elif hasattr(item, "name") and hasattr(item, "value"):
            out.append(SearchedIdentity(str(item.name), str(item.value)))
        elif isinstance(item, Sequence) and len(item) == 2:
            out.append(SearchedIdentity(str(item[0]), str(item[1])))
        else:
            raise ValueError("an identity is a (type, value) pair or has .name and .value")
    return out


# --- the report's view -----------------------------------------------------------------

# The identity a request searched with, named as in a sentence ("knyttet til e-postadressen").
IDENTITY_LABELS: dict[str, tuple[str, str]] = {
    "email": ("e-postadressen", "the e-mail address"),
    "phone": ("telefonnummeret", "the phone number"),
    "fnr": ("fødselsnummeret", "the national identity number"),
    "customer_id": ("kundenummeret", "the customer number"),
}

# In a wide table (one column per field) at most this many fields, each value at most
# this long; anything larger is shown one record at a time (field | value), which stays
# readable on an A4 page.
WIDE_MAX_FIELDS = 4
WIDE_MAX_VALUE = 80

# PDF tables: row headers (a field's name, a purpose) are wrapped at this many
# characters. Long values need nothing here: notices.pdf breaks a word wider than its
# column between characters and continues a row taller than a page on the next rows.
_HEADER_WIDTH = 28


def covers(activity_category: str, category: str) -> bool:
    """An activity's category covers the same category and every category below it."""
    return category == activity_category or category.startswith(activity_category + ".")


def mask_identity(identity_type: str, value: str) -> str:
    """Enough of an identity to recognise it: ``o***@eksempel.no``, ``+********67``,
    ``*********45``; a short value is hidden whole."""
    value = value.strip()
    if canonical_identity(identity_type) == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) < 6:
        return "***"
    lead = "+" if value.startswith("+") else ""
    return lead + "*" * (len(value) - len(lead) - 2) + value[-2:]


def _identity_label(identity_type: str, lang: str) -> str:
    pair = IDENTITY_LABELS.get(canonical_identity(identity_type))
    if pair:
        return pair[0] if lang == "nb" else pair[1]
    return f"identiteten «{identity_type}»" if lang == "nb" else f"the identity “{identity_type}”"


def format_value(value: Any, lang: str) -> str:
    """A stored value as text for the report; the JSON file keeps the value itself."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return ("Ja" if value else "Nei") if lang == "nb" else ("Yes" if value else "No")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        size = len(bytes(value))
        return f"(binære data, {size} byte)" if lang == "nb" else f"(binary data, {size} bytes)"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _lookup(row: Mapping[str, Any], name: str) -> Any:
    """A row's value for a field; a dotted name also finds nested mappings."""
    if name in row:
        return row[name]
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True)
class FieldView:
    name: str
    label: str  # the human names of its data categories, or the field name


@dataclass
class CollectionView:
    name: str
    description: str | None
    fields: list[FieldView]
    rows: list[list[str]]
    wide: bool

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass
class DatasetView:
    key: str
    name: str
    description: str | None
    collections: list[CollectionView]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.collections)


@dataclass
class ReportView:
    lang: str
    n: NoticeView  # the controller, the authority and the register's facts, as in the notice
    title: str
    generated: str
    request_id: str | None
    portable: bool
    data_file: str
    identities: list[tuple[str, str]]  # (label, masked value)
    datasets: list[DatasetView]
    found: bool
    record_count: int
    purposes: list[PurposeView]  # relevant to the data found; every purpose when none was
    categories: list[str]
    uncovered: list[str]  # personal data found that no purpose covers
    recipients: list[RecipientView]
    other_recipients: list[str]  # recipient keys that name no sub-processor

    @property
    def system_count(self) -> int:
        return sum(1 for d in self.datasets if d.count)

    @property
    def collection_count(self) -> int:
        return sum(len(d.collections) for d in self.datasets)

    @property
    def unexplained(self) -> bool:
        """Data was found, but no purpose in the register covers it: the register says
        nothing about its recipients, retention, source or automated use, and the report
        claims nothing either."""
        return self.found and not self.purposes

    @property
    def transfers(self) -> list[RecipientView]:
        return [r for r in self.recipients if r.outside_eea]

    @property
    def sourced(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.source or p.source_public]

    @property
    def automated(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.automated]

    @property
    def objection_purposes(self) -> list[PurposeView]:
        return [
            p for p in self.purposes if p.legal_basis in ("legitimate_interests", "public_task")
        ]

    @property
    def consent_purposes(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.consent is not None]

    @property
    def portability_purposes(self) -> list[PurposeView]:
        return [p for p in self.purposes if p.legal_basis in ("consent", "contract")]


@dataclass(frozen=True)
class _Declared:
    """What the register's dataset declares about a field: its categories, and the data
    subjects of the nearest level that names them (field, then collection, then dataset)."""

    categories: tuple[str, ...] = ()
    subjects: frozenset[str] | None = None


def _declared(register: Register, dataset: str, collection: str, path: str) -> _Declared:
    ds = next((d for d in register.dataset if d.fides_key == dataset), None)
    if ds is None:
        return _Declared()
    subjects = ds.data_subjects or None
    coll = next((c for c in ds.collections if c.name == collection), None)
    if coll is None:
        return _Declared((), frozenset(subjects) if subjects else None)
    subjects = coll.data_subjects or subjects
    fields = coll.fields
    found = None
    for part in path.split("."):
        found = next((f for f in fields or [] if f.name == part), None)
        if found is None:
            return _Declared((), frozenset(subjects) if subjects else None)
        subjects = found.data_subjects or subjects
        fields = found.fields or []
    categories = tuple(found.data_categories or []) if found else ()
    return _Declared(categories, frozenset(subjects) if subjects else None)


Found = tuple[str, frozenset[str] | None]
"""A data category found in the subject's data, with the data subjects its dataset
declares for it (None: not declared)."""


def _dataset_views(
    register: Register, collected: CollectedData, lang: str
) -> tuple[list[DatasetView], dict[Found, None]]:
    declared_sets = {d.fides_key: d for d in register.dataset}
    found: dict[Found, None] = {}
    views = []
    for ds in collected.datasets:
        meta = declared_sets.get(ds.key)
        collections = []
        for coll in ds.collections:
            coll_meta = (
                next((c for c in meta.collections if c.name == coll.name), None) if meta else None
            )
            fields = []
            for f in coll.fields:
                declared = _declared(register, ds.key, coll.name, f.name)
                cats = list(f.data_categories) or list(declared.categories)
                # A field counts as found when a row holds a value in it: an empty phone
                # column says nothing about the person (art. 15(1)(b): categories concerned).
                if any(_lookup(row, f.name) not in (None, "") for row in coll.rows):
                    found.update(dict.fromkeys((c, declared.subjects) for c in cats))
                names = list(dict.fromkeys(vocab.category_name(c, lang) for c in cats))
                fields.append(FieldView(f.name, ", ".join(names) or f.name))
            rows = [
                [format_value(_lookup(row, f.name), lang) for f in coll.fields] for row in coll.rows
            ]
            wide = len(fields) <= WIDE_MAX_FIELDS and all(
                len(v) <= WIDE_MAX_VALUE and "\n" not in v for row in rows for v in row
            )
            collections.append(
                CollectionView(
                    coll.name,
                    coll_meta.description if coll_meta else None,
                    fields,
                    rows,
                    wide,
                )
            )
        views.append(
            DatasetView(
                ds.key,
                (meta.name if meta and meta.name else ds.key),
                meta.description if meta else None,
                collections,
            )
        )
    return views, found


def _concerns(activity: Activity, item: Found) -> bool:
    """The activity processes this found data: one of its categories covers the category,
    and, where the dataset names its data subjects, the activity concerns one of them
    (a customer's e-mail address is not processed for recruitment)."""
    category, subjects = item
    if subjects is not None and not subjects.intersection(activity.data_subjects):
        return False
    return any(covers(a, category) for a in activity.data_categories)


def _notice_view(register: Register, lang: str) -> NoticeView:
    """The notice's view of the register in ``lang``, even when the register has no texts in
    it (they are then shown in the language they are written in; see the module docstring)."""
    org = register.organisation
    if lang not in org.languages:
        org = org.model_copy(update={"languages": [*org.languages, lang]})
        register = register.model_copy(update={"organisation": org})
    return build_view(register, None, lang)


def _generated(at: datetime, lang: str) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(OSLO)
    day = long_date(local, "nb" if lang == "nb" else "en")
    if lang == "nb":
        return f"{day} kl. {format_time(local, 'HH.mm', locale='nb_NO')}"
    return f"{day} at {format_time(local, 'HH:mm', locale='en_GB')} (Norwegian time)"


def report_title(register: Register, lang: str) -> str:
    name = register.organisation.name
    return (
        f"Dine personopplysninger hos {name}"
        if lang == "nb"
        else (f"Your personal data held by {name}")
    )


def build_report_view(
    register: Register,
    collected: CollectedData,
    lang: str,
    *,
    generated_at: datetime,
    request_id: str | None = None,
    portable: bool = False,
) -> ReportView:
    """The report's facts in ``lang``, ready for the templates."""
    notice = _notice_view(register, lang)
    datasets, found_items = _dataset_views(register, collected, lang)
    found = collected.found
    activities = register.activities()
    if found:
        relevant = [
            i
            for i, (_, activity) in enumerate(activities)
            if any(_concerns(activity, item) for item in found_items)
        ]
        personal = [item for item in found_items if is_personal_category(item[0])]
        uncovered = [
            item[0]
            for item in personal
            if not any(_concerns(activity, item) for _, activity in activities)
        ]
        categories = [item[0] for item in personal]
    else:
        relevant = list(range(len(activities)))
        uncovered = []
        categories = list(dict.fromkeys(c for _, act in activities for c in act.data_categories))
    purposes = [notice.purposes[i] for i in relevant]
    if found:
        keys = dict.fromkeys(k for i in relevant for k in activities[i][1].recipients)
    else:
        keys = dict.fromkeys(
            [*(p.key for p in register.sub_processors)]
            + [k for _, act in activities for k in act.recipients]
        )
    recipients = [r for r in notice.recipients if r.key in keys]
    known = {r.key for r in notice.recipients}
    return ReportView(
        lang=lang,
        n=notice,
        title=report_title(register, lang),
        generated=_generated(generated_at, lang),
        request_id=request_id,
        portable=portable,
        data_file=DATA_FILE,
        identities=[
            (_identity_label(i.type, lang), mask_identity(i.type, i.value))
            for i in collected.identities
        ],
        datasets=datasets,
        found=found,
        record_count=collected.record_count,
        purposes=purposes,
        categories=list(dict.fromkeys(vocab.category_name(c, lang) for c in categories)),
        uncovered=list(dict.fromkeys(vocab.category_name(c, lang) for c in uncovered)),
        recipients=recipients,
        other_recipients=[k for k in keys if k not in known],
    )


# --- rendering -------------------------------------------------------------------------


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The notice's Jinja2 environment (autoescape, filters, macros) with the report templates
    in front of it."""
    base = notice_render.environment()
    env = base.overlay(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), base.loader])  # type: ignore[list-item]
    )
    env.filters = dict(base.filters)  # an overlay shares the dict; keep the notice's untouched
    env.filters["pl"] = _plural
    return env


def render_report_fragment(view: ReportView) -> str:
    """The report as an HTML fragment (one ``<article>``)."""
    return environment().get_template(f"report_{view.lang}.html.j2").render(r=view)


def _wrap(text: str, width: int) -> str:
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
        for line in text.split("\n")
    )


def _pdf_table(table: Table) -> Table:
    """The table with its row headers (a field's name, a purpose, a recipient) wrapped
    short, so that the notice's column sizing, which measures the longest line, leaves
    the values the room."""
    if not table.row_headers:
        return table
    rows: list[list[Span]] = []
    for row in table.rows:
        if row:
            row = [[Inline(_wrap(span_text(row[0]), _HEADER_WIDTH))], *row[1:]]
        rows.append(row)
    return Table(table.caption, table.head, rows, table.row_headers)


def _pdf_blocks(blocks: list[Block]) -> list[Block]:
    return [_pdf_table(b) if isinstance(b, Table) else b for b in blocks]


def render_access_report(
    register: Register,
    collected: CollectedData,
    lang: Literal["nb", "en"],
    fmt: Literal["html", "pdf"],
    *,
    generated_at: datetime,
    request_id: str | None = None,
    portable: bool = False,
) -> bytes:
    """The readable report of an access package: a standalone HTML page (UTF-8) or a PDF.

    ``generated_at`` is shown (in Norwegian time) and dated into the PDF, so the same
    input always yields the same report. ``portable`` adds the art. 20 note that the
    package's ``data.json`` is the portable copy.
    """
    if lang not in LANGUAGES:
        raise InvalidInput(f"unknown report language {lang!r}; expected one of nb, en")
    if fmt not in ("html", "pdf"):
        raise InvalidInput(f"unknown report format {fmt!r}; expected one of html, pdf")
    view = build_report_view(
        register,
        collected,
        lang,
        generated_at=generated_at,
        request_id=request_id,
        portable=portable,
    )
    fragment = render_report_fragment(view)
    if fmt == "html":
        page = environment().get_template("report_page.html.j2")
        return page.render(r=view, fragment=Markup(fragment)).encode("utf-8")
    return blocks_to_pdf(
        _pdf_blocks(parse_html(fragment)),
        title=view.title,
        author=register.organisation.name,
        lang=lang,
        created=generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=UTC),
    )
