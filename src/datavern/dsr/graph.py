# mypy: disallow-any-generics, disallow-subclassing-any, disallow-untyped-calls
# mypy: disallow-untyped-defs, disallow-incomplete-defs, check-untyped-defs
# mypy: disallow-untyped-decorators, warn-redundant-casts, warn-unused-ignores
# mypy: warn-return-any, no-implicit-reexport, strict-equality, extra-checks
"""The dataset graph walk of a data-subject request; pure, no I/O.

From the fideslang datasets of the register and the identity types a subject
gave, ``plan_walk`` works out which collections (tables) hold that person's
data, in which order to query them, through which references, which fields to
read, and in which order to erase. Nothing is read from any database here: the
plan is data, executed by the DSR service through connectors.

``graph_errors`` checks the same graph for what ``datavern check`` reports:
references to things that do not exist, personal data no identity reaches,
identity fields without a name, references declared both ways at once, and
``after`` constraints that cannot be met.

The rules (with examples) are in ``docs/dsr-plan.md``; the short version:

* Edges. A reference on field ``A.f`` naming ``B.g`` with ``direction: to``
  means values flow ``A.f -> B.g`` (query B where g IN values of A.f);
  ``direction: from`` means ``B.g -> A.f``; no direction means both.
* Reach. Collections with an identity field for a given identity start the
  walk; a collection is reachable when a chain of edges leads to it.
* Order. Each reachable collection is queried exactly once, with every value
  it can get: it waits for every reachable parent, except a parent that can
  only be reached through the collection itself (its own descendants). When a
  cycle leaves nothing ready, the collection closest to an identity (then by
  name) goes first; the edges that then point backwards are listed in the plan.
* ``after`` (collection and dataset level) is a hard ordering constraint.
* Erasure. Children (the side whose field references a primary key) are erased
  before their parents; ``erase_after`` is honoured; ties go to the collection
  queried last.

The mypy header lines switch on the flags of ``strict`` that mypy allows
inline: the strict override in pyproject.toml covers ``*.rules`` modules only.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from fideslang.models import Dataset, DatasetCollection, DatasetField, EdgeDirection
from pydantic import BaseModel, ConfigDict

from datavern.dsr.rules import UnknownIdentity, canonical_identity, known_identities

__all__ = [
    "GRAPH_PROBLEM_CODES",
    "Edge",
    "ErasureStep",
    "FieldAddress",
    "GraphProblem",
    "IdentityInput",
    "PersonalField",
    "Plan",
    "PlanError",
    "PlanStep",
    "ReferenceInput",
    "SkippedEdge",
    "Unreachable",
    "declared_identities",
    "graph_errors",
    "is_personal_category",
    "plan_walk",
]

Node = tuple[str, str]
"""(dataset fides_key, collection name)"""
Addr = tuple[str, str, str]
"""(dataset fides_key, collection name, dotted field path)"""

PERSONAL_ROOT: Final = "user"
_IDENTITY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PLAIN_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Words that cannot stand unquoted as a table or column name in the SQL we
# describe; common table names among them ("order", "user", "group") would
# otherwise print as invalid SQL.
_RESERVED_WORDS = (
    "all and as by case check column constraint create cross default delete desc "
    "distinct drop else end from full grant group having in index inner insert into is "
    "join key left like limit not null offset on or order outer primary references right "
    "select set table then to union unique update user using values when where with"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


def is_personal_category(category: str) -> bool:
    """A fideslang data category under ``user`` describes data about a person."""
    return category == PERSONAL_ROOT or category.startswith(PERSONAL_ROOT + ".")


# --------------------------------------------------------------------------- #
# Output models
# --------------------------------------------------------------------------- #


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldAddress(_Frozen):
    dataset: str
    collection: str
    field: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.collection}.{self.field}"

    @property
    def collection_key(self) -> str:
        return f"{self.dataset}.{self.collection}"


class Edge(_Frozen):
    """Values of ``source`` select rows of ``target``'s collection (``target IN values``)."""

    source: FieldAddress
    target: FieldAddress
    declared_on: FieldAddress
    """The field whose ``fides_meta.references`` holds the reference."""
    direction: Literal["to", "from", "both"]
    """As declared: ``both`` when the reference has no direction."""

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


class IdentityInput(_Frozen):
    identity: str
    """Canonical identity name (``phone_number`` is matched as ``phone``)."""
    field: str


class ReferenceInput(_Frozen):
    field: str
    """The field of this collection that is matched ..."""
    source: FieldAddress
    """... against the values read from this field of an earlier step."""


class PersonalField(_Frozen):
    field: str
    categories: tuple[str, ...]


class PlanStep(_Frozen):
    number: int
    """1-based position in the plan."""
    dataset: str
    collection: str
    identity_inputs: tuple[IdentityInput, ...]
    reference_inputs: tuple[ReferenceInput, ...]
    depends_on: tuple[int, ...]
    """Steps that must be done first: sources of the reference inputs and ``after`` targets.
    Steps whose dependencies are done may run in parallel."""
    primary_keys: tuple[str, ...]
    join_fields: tuple[str, ...]
    """Fields read because later steps are selected by their values."""
    personal_fields: tuple[PersonalField, ...]
    retrieve: tuple[str, ...]
    """Every field the query reads: primary keys, selecting fields, join fields, personal fields."""
    required: bool
    """False when the step yields no personal data and feeds no step that does:
    an executor may skip it without missing anything."""
    query: str
    """A readable rendering of the query; never executed, values never filled in."""

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.collection}"


class SkippedEdge(_Frozen):
    edge: Edge
    reason: str
    may_miss_rows: bool
    """True when values arriving over this edge could have selected more rows."""


class Unreachable(_Frozen):
    dataset: str
    collection: str
    reason: str
    has_personal_data: bool
    other_identities: tuple[str, ...] = ()
    """Identities, not given in this request, from which the collection is reachable."""

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.collection}"


class ErasureStep(_Frozen):
    dataset: str
    collection: str
    after: tuple[str, ...]
    """Collections (``dataset.collection``) that must be erased before this one."""

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.collection}"


class Plan(_Frozen):
    identities: tuple[str, ...]
    unmatched_identities: tuple[str, ...]
    """Given identities that no collection declares."""
    steps: tuple[PlanStep, ...]
    edges: tuple[Edge, ...]
    """Edges walked, in step order."""
    skipped_edges: tuple[SkippedEdge, ...]
    unreachable: tuple[Unreachable, ...]
    erasure_order: tuple[ErasureStep, ...]
    warnings: tuple[str, ...]

    def step(self, dataset: str, collection: str) -> PlanStep | None:
        for step in self.steps:
            if step.dataset == dataset and step.collection == collection:
                return step
        return None

    def describe(self) -> str:
        """The plan as text for a person: steps, queries, what is left out and why."""
        lines: list[str] = []
        given = ", ".join(self.identities) or "(none)"
        lines.append(f"Identities: {given}")
        if self.unmatched_identities:
            lines.append("Not declared by any collection: " + ", ".join(self.unmatched_identities))
        lines.append("")
        lines.append(f"Steps ({len(self.steps)}):")
        for step in self.steps:
            after = ""
            if step.depends_on:
                word = "step" if len(step.depends_on) == 1 else "steps"
                after = f"  [after {word} {', '.join(map(str, step.depends_on))}]"
            optional = "" if step.required else "  (no personal data downstream: optional)"
            lines.append(f"  {step.number}. {step.key}{after}{optional}")
            for ident in step.identity_inputs:
                lines.append(f"       by identity {ident.identity}: {ident.field}")
            for ref in step.reference_inputs:
                lines.append(f"       by reference: {ref.field} <- {ref.source}")
            lines.append(f"       {step.query}")
            if step.personal_fields:
                personal = ", ".join(
                    f"{p.field} ({', '.join(p.categories)})" for p in step.personal_fields
                )
                lines.append(f"       personal data: {personal}")
        if self.skipped_edges:
            lines.append("")
            lines.append("Edges not walked:")
            for skipped in self.skipped_edges:
                lines.append(f"  {skipped.edge}: {skipped.reason}")
        if self.unreachable:
            lines.append("")
            lines.append("Not reached:")
            for item in self.unreachable:
                personal = " (holds personal data)" if item.has_personal_data else ""
                lines.append(f"  {item.key}{personal}: {item.reason}")
        if self.erasure_order:
            lines.append("")
            lines.append("Erasure order:")
            for number, erasure in enumerate(self.erasure_order, start=1):
                after = f"  [after {', '.join(erasure.after)}]" if erasure.after else ""
                lines.append(f"  {number}. {erasure.key}{after}")
        if self.warnings:
            lines.append("")
            lines.append("Warnings:")
            for warning in self.warnings:
                lines.append(f"  {warning}")
        return "\n".join(lines)


class GraphProblem(_Frozen):
    """A dataset-graph error for ``datavern check``.

    ``dataset``/``collection``/``field`` name the place; ``key`` continues the
    path inside it, e.g. ``("fides_meta", "references", 0)`` or
    ``("fides_meta", "after", 1)``. fideslang sorts collections and fields by
    name, so the place is given by name, not by list index: the lint runner
    maps names to positions in the YAML it parsed.
    """

    code: str
    message: str
    dataset: str
    collection: str | None = None
    field: str | None = None
    key: tuple[str | int, ...] = ()

    @property
    def where(self) -> str:
        return ".".join(p for p in (self.dataset, self.collection, self.field) if p)

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.code}]"


class PlanError(ValueError):
    """The datasets cannot be walked (duplicate dataset keys, ``after`` that cannot be met)."""

    def __init__(self, message: str, collections: Sequence[Node] = ()) -> None:
        super().__init__(message)
        self.collections: tuple[Node, ...] = tuple(collections)
        """The collections concerned, as (dataset, collection)."""


# --------------------------------------------------------------------------- #
# The graph
# --------------------------------------------------------------------------- #


@dataclass
class _Collection:
    node: Node
    model: DatasetCollection
    fields: dict[str, DatasetField]
    """Every field by dotted path, objects and their sub-fields alike."""
    leaves: list[str]
    categories: dict[str, tuple[str, ...]]
    primary_keys: tuple[str, ...]
    identities: list[tuple[str, str]]
    """(canonical identity name, field path)"""
    skip: bool


@dataclass
class _Graph:
    collections: dict[Node, _Collection] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    pairs: list[tuple[Addr, Addr]] = field(default_factory=list)
    """Every valid reference, undirected, for the foreign-key rule of erasure."""
    after: dict[Node, set[Node]] = field(default_factory=dict)
    erase_after: dict[Node, set[Node]] = field(default_factory=dict)
    problems: list[GraphProblem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def personal(self, node: Node) -> list[PersonalField]:
        coll = self.collections[node]
        out = []
        for path in coll.leaves:
            cats = tuple(c for c in coll.categories[path] if is_personal_category(c))
            if cats:
                out.append(PersonalField(field=path, categories=cats))
        return out


def _addr(a: Addr) -> FieldAddress:
    return FieldAddress(dataset=a[0], collection=a[1], field=a[2])


def _flatten(
    fields: Sequence[DatasetField],
    prefix: str,
    inherited: tuple[str, ...],
    coll: _Collection,
) -> None:
    for f in sorted(fields, key=lambda f: f.name):
        path = f"{prefix}{f.name}"
        # A field's own categories win; without them it takes those of the
        # object it sits in, then of its collection, then of its dataset
        # (fideslang: collection and dataset categories "apply to all fields").
        cats = tuple(f.data_categories) if f.data_categories else inherited
        coll.fields[path] = f
        coll.categories[path] = cats
        if f.fields:
            _flatten(f.fields, path + ".", cats, coll)
        else:
            coll.leaves.append(path)


def _build(datasets: Sequence[Dataset]) -> _Graph:
    graph = _Graph()
    by_key: dict[str, Dataset] = {}
    for ds in datasets:
        if ds.fides_key in by_key:
            graph.duplicates.append(ds.fides_key)
            graph.problems.append(
                GraphProblem(
                    code="dsr-dataset-duplicate",
                    message=f"dataset {ds.fides_key!r} is declared more than once; "
                    "the first declaration is used",
                    dataset=ds.fides_key,
                )
            )
            continue
        by_key[ds.fides_key] = ds

    for key in sorted(by_key):
        ds = by_key[key]
        ds_cats = tuple(ds.data_categories or ())
        for c in sorted(ds.collections, key=lambda c: c.name):
            node = (key, c.name)
            coll_cats = tuple(c.data_categories) if c.data_categories else ds_cats
            coll = _Collection(
                node=node,
                model=c,
                fields={},
                leaves=[],
                categories={},
                primary_keys=(),
                identities=[],
                skip=bool(c.fides_meta and c.fides_meta.skip_processing),
            )
            _flatten(c.fields, "", coll_cats, coll)
            pks = []
            for path, f in coll.fields.items():
                meta = f.fides_meta
                if meta is None:
                    continue
                if meta.primary_key:
                    pks.append(path)
                if meta.identity is not None:
                    name = meta.identity.strip()
                    if not name:
                        graph.problems.append(
                            GraphProblem(
                                code="dsr-identity-unnamed",
                                message="identity without a name: write the identity type, "
                                "e.g. identity: email",
                                dataset=key,
                                collection=c.name,
                                field=path,
                                key=("fides_meta", "identity"),
                            )
                        )
                        continue
                    if not _IDENTITY_NAME.match(name):
                        graph.problems.append(
                            GraphProblem(
                                code="dsr-identity-name",
                                message=f"identity name {name!r} cannot be typed as "
                                "NAME=VALUE; use letters, digits, '_', '.' or '-'",
                                dataset=key,
                                collection=c.name,
                                field=path,
                                key=("fides_meta", "identity"),
                            )
                        )
                    coll.identities.append((canonical_identity(name), path))
            coll.primary_keys = tuple(pks)
            graph.collections[node] = coll

    _build_references(graph, set(by_key))
    _build_after(graph, by_key)
    return graph


@dataclass
class _ReferenceProblems:
    graph: _Graph
    here: Addr
    index: int

    def __call__(self, code: str, message: str) -> None:
        self.graph.problems.append(
            GraphProblem(
                code=code,
                message=message,
                dataset=self.here[0],
                collection=self.here[1],
                field=self.here[2],
                key=("fides_meta", "references", self.index),
            )
        )


def _build_references(graph: _Graph, dataset_keys: set[str]) -> None:
    seen_flows: dict[tuple[Addr, Addr], Edge] = {}
    # For conflict detection: unordered field pair -> (source of the declared
    # flow, field the declaration sits on) for each reference with a direction.
    explicit: dict[tuple[Addr, Addr], list[tuple[Addr, Addr]]] = {}
    seen_pairs: set[tuple[Addr, Addr]] = set()
    for node, coll in graph.collections.items():
        for path, f in coll.fields.items():
            if f.fides_meta is None or not f.fides_meta.references:
                continue
            here: Addr = (node[0], node[1], path)
            for index, ref in enumerate(f.fides_meta.references):
                problem = _ReferenceProblems(graph, here, index)
                coll_name, dot, target_path = ref.field.partition(".")
                if not dot or not coll_name or not target_path:
                    problem(
                        "dsr-reference-malformed",
                        f"reference field {ref.field!r} must be written "
                        "<collection>.<field> (the dataset goes under 'dataset:')",
                    )
                    continue
                target_node = (ref.dataset, coll_name)
                if ref.dataset not in dataset_keys:
                    problem(
                        "dsr-reference-unknown-dataset",
                        f"reference to dataset {ref.dataset!r}, which no register file declares",
                    )
                    continue
                target_coll = graph.collections.get(target_node)
                if target_coll is None:
                    problem(
                        "dsr-reference-unknown-collection",
                        f"reference to collection {coll_name!r}, which dataset "
                        f"{ref.dataset!r} does not have",
                    )
                    continue
                if target_path not in target_coll.fields:
                    problem(
                        "dsr-reference-unknown-field",
                        f"reference to field {target_path!r}, which collection "
                        f"{ref.dataset}.{coll_name} does not have",
                    )
                    continue
                there: Addr = (ref.dataset, coll_name, target_path)
                if there == here:
                    problem("dsr-reference-self", "a field cannot reference itself")
                    continue
                direction = ref.direction
                flows: list[tuple[Addr, Addr]]
                declared: Literal["to", "from", "both"]
                if direction == EdgeDirection.TO:
                    flows, declared = [(here, there)], "to"
                elif direction == EdgeDirection.FROM:
                    flows, declared = [(there, here)], "from"
                else:
                    flows, declared = [(here, there), (there, here)], "both"
                pair = (here, there) if here <= there else (there, here)
                if pair not in seen_pairs:
                    seen_pairs.add(pair)
                    graph.pairs.append(pair)
                if declared != "both":
                    src, tgt = flows[0]
                    for other_src, other_at in explicit.get(pair, []):
                        if other_src != src:
                            problem(
                                "dsr-reference-conflict",
                                f"reference to {'.'.join(there)} says values flow "
                                f"{'.'.join(src)} -> {'.'.join(tgt)}, but a reference on "
                                f"{'.'.join(other_at)} says the opposite; remove "
                                "'direction' to allow both ways, or make them agree",
                            )
                            break
                    explicit.setdefault(pair, []).append((src, here))
                for src, tgt in flows:
                    if (src, tgt) in seen_flows:
                        continue
                    edge = Edge(
                        source=_addr(src),
                        target=_addr(tgt),
                        declared_on=_addr(here),
                        direction=declared,
                    )
                    seen_flows[(src, tgt)] = edge
                    graph.edges.append(edge)


def _build_after(graph: _Graph, by_key: Mapping[str, Dataset]) -> None:
    nodes_of: dict[str, list[Node]] = {}
    for node in graph.collections:
        nodes_of.setdefault(node[0], []).append(node)
    for node, coll in graph.collections.items():
        graph.after[node] = set()
        graph.erase_after[node] = set()
        meta = coll.model.fides_meta
        for attr, target in (("after", graph.after), ("erase_after", graph.erase_after)):
            names: list[str] = (getattr(meta, attr) or []) if meta else []
            for index, name in enumerate(names):
                ds_key, _, coll_name = name.partition(".")
                other = (ds_key, coll_name)
                if other not in graph.collections:
                    graph.problems.append(
                        GraphProblem(
                            code=f"dsr-{attr.replace('_', '-')}-unknown",
                            message=f"{attr} names {name!r}, which is not a declared collection "
                            "(write <dataset>.<collection>)",
                            dataset=node[0],
                            collection=node[1],
                            key=("fides_meta", attr, index),
                        )
                    )
                elif other != node:
                    target[node].add(other)
    # Dataset-level ``after``: every collection of the dataset comes after
    # every collection of the named datasets.
    for key, ds in by_key.items():
        ds_after = ds.fides_meta.after if ds.fides_meta and ds.fides_meta.after else []
        for index, other_key in enumerate(ds_after):
            if other_key not in nodes_of:
                graph.problems.append(
                    GraphProblem(
                        code="dsr-after-unknown",
                        message=f"after names dataset {other_key!r}, which no register "
                        "file declares",
                        dataset=key,
                        key=("fides_meta", "after", index),
                    )
                )
                continue
            if other_key == key:
                continue
            for node in nodes_of.get(key, []):
                graph.after[node].update(nodes_of[other_key])


def declared_identities(datasets: Sequence[Dataset]) -> tuple[str, ...]:
    """Canonical identity names declared by any field of the datasets, sorted."""
    graph = _build(datasets)
    names = {name for c in graph.collections.values() for name, _ in c.identities}
    return tuple(sorted(names))


# --------------------------------------------------------------------------- #
# Walking
# --------------------------------------------------------------------------- #


def _adjacency(graph: _Graph, active: set[Node]) -> tuple[dict[Node, list[Edge]], list[Edge]]:
    """Edges between distinct active collections, by source; and the self-references."""
    out: dict[Node, list[Edge]] = {n: [] for n in active}
    loops: list[Edge] = []
    for edge in graph.edges:
        src = (edge.source.dataset, edge.source.collection)
        tgt = (edge.target.dataset, edge.target.collection)
        if src not in active or tgt not in active:
            continue
        if src == tgt:
            loops.append(edge)
        else:
            out[src].append(edge)
    return out, loops


def _successors(out: Mapping[Node, list[Edge]]) -> dict[Node, list[Node]]:
    return {n: sorted({_node(e.target) for e in edges}) for n, edges in out.items()}


def _reach(roots: Iterable[Node], succ: Mapping[Node, list[Node]]) -> dict[Node, int]:
    """Breadth-first hop distance from the roots."""
    dist: dict[Node, int] = {}
    queue: deque[Node] = deque()
    for root in sorted(set(roots)):
        dist[root] = 0
        queue.append(root)
    while queue:
        node = queue.popleft()
        for nxt in succ[node]:
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    return dist


_START: Final[Node] = ("", "")
"""A virtual collection before every identity start (fideslang keys are never empty)."""


def _dominators(
    roots: Iterable[Node],
    succ: Mapping[Node, list[Node]],
    preds: Mapping[Node, set[Node]],
    reach: set[Node],
) -> Callable[[Node, Node], bool]:
    """``dominates(n, m)``: every chain of edges from an identity start to ``m`` passes ``n``.

    Iterative dominator computation (Cooper, Harvey and Kennedy, "A Simple, Fast
    Dominance Algorithm", 2001) over the reachable collections, with a virtual
    start ahead of all identity starts; near-linear where removing each
    collection in turn and searching again would be quadratic.
    """
    root_set = set(roots)
    start_succ = sorted(root_set)
    postorder: list[Node] = []
    seen = {_START}
    stack: list[tuple[Node, Iterator[Node]]] = [(_START, iter(start_succ))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(succ[child])))
                break
        else:
            stack.pop()
            postorder.append(node)
    rank = {n: i for i, n in enumerate(postorder)}
    idom: dict[Node, Node] = {_START: _START}

    def intersect(a: Node, b: Node) -> Node:
        while a != b:
            while rank[a] < rank[b]:
                a = idom[a]
            while rank[b] < rank[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in reversed(postorder):
            if node == _START:
                continue
            candidates = [p for p in preds[node] if p in reach and p in idom]
            if node in root_set:
                candidates.append(_START)
            new = candidates[0]
            for other in candidates[1:]:
                new = intersect(other, new)
            if idom.get(node) != new:
                idom[node] = new
                changed = True

    def dominates(n: Node, m: Node) -> bool:
        while True:
            if m == n:
                return True
            if m == _START:
                return False
            m = idom[m]

    return dominates


def _node(a: FieldAddress) -> Node:
    return (a.dataset, a.collection)


def plan_walk(datasets: Sequence[Dataset], identities: Iterable[str]) -> Plan:
    """Plan a request's walk over ``datasets`` from the identity types given.

    ``identities`` are identity names (a mapping such as ``{"email": [...]}``
    iterates as its names; the values are never needed, nor stored in the plan).
    Raises ``UnknownIdentity`` for a name that is neither built in nor declared
    by a dataset, and ``PlanError`` when datasets repeat a key or ``after``
    constraints cannot all be met.
    """
    graph = _build(datasets)
    if graph.duplicates:
        raise PlanError(
            "dataset declared more than once: " + ", ".join(sorted(set(graph.duplicates)))
        )
    declared = {name for c in graph.collections.values() for name, _ in c.identities}
    given = sorted({canonical_identity(i.strip()) for i in identities})
    known = known_identities(declared)
    unknown = [i for i in given if i not in known]
    if unknown:
        raise UnknownIdentity(unknown, known)

    active = {n for n, c in graph.collections.items() if not c.skip}
    out, loops = _adjacency(graph, active)
    succ = _successors(out)
    incoming: dict[Node, list[Edge]] = {n: [] for n in active}
    preds: dict[Node, set[Node]] = {n: set() for n in active}
    for edges in out.values():
        for edge in edges:
            incoming[_node(edge.target)].append(edge)
            preds[_node(edge.target)].add(_node(edge.source))

    roots: dict[Node, list[IdentityInput]] = {}
    for node in sorted(active):
        inputs = [
            IdentityInput(identity=name, field=path)
            for name, path in graph.collections[node].identities
            if name in given
        ]
        if inputs:
            roots[node] = inputs
    dist = _reach(roots, succ)
    reach = set(dist)

    # A collection waits for each reachable parent that can be reached without
    # passing through the collection itself; parents reached only through it
    # are its own descendants, and waiting for them would never end.
    waits: dict[Node, set[Node]] = {}
    dominates = _dominators(roots, succ, preds, reach)
    for node in reach:
        waits[node] = {p for p in preds[node] if p in reach and not dominates(node, p)}
    after = {n: graph.after[n] & reach for n in reach}

    order: list[Node] = []
    number: dict[Node, int] = {}
    done: set[Node] = set()
    remaining = set(reach)
    while remaining:
        available = [
            n
            for n in remaining
            if (n in roots or not preds[n].isdisjoint(done)) and after[n] <= done
        ]
        if not available:
            stuck = sorted(remaining)
            raise PlanError(
                f"'after' constraints cannot be met: {', '.join('.'.join(n) for n in stuck)} "
                "wait for collections that can only be queried after them",
                stuck,
            )
        ready = [n for n in available if waits[n] <= done]
        # Without a ready collection there is a cycle: the one nearest an
        # identity goes first, so that it is queried with the most direct values.
        pick = min(ready or available, key=lambda n: (dist[n], n))
        order.append(pick)
        number[pick] = len(order)
        done.add(pick)
        remaining.discard(pick)

    walked: list[Edge] = []
    inputs_of: dict[Node, list[Edge]] = {}
    for node in order:
        arriving = [
            e
            for e in incoming[node]
            if _node(e.source) in number and number[_node(e.source)] < number[node]
        ]
        arriving.sort(key=lambda e: (number[_node(e.source)], e.target.field, e.source.field))
        inputs_of[node] = arriving
        walked.extend(arriving)

    join_fields: dict[Node, set[str]] = {n: set() for n in order}
    feeds: dict[Node, set[Node]] = {n: set() for n in order}
    for edge in walked:
        join_fields[_node(edge.source)].add(edge.source.field)
        feeds[_node(edge.source)].add(_node(edge.target))

    personal = {n: graph.personal(n) for n in order}
    required: dict[Node, bool] = {}
    for node in reversed(order):
        required[node] = bool(personal[node]) or any(required[t] for t in feeds[node])

    steps: list[PlanStep] = []
    for node in order:
        coll = graph.collections[node]
        idents = tuple(roots.get(node, ()))
        refs = tuple(ReferenceInput(field=e.target.field, source=e.source) for e in inputs_of[node])
        depends = sorted(
            {number[_node(e.source)] for e in inputs_of[node]} | {number[a] for a in after[node]}
        )
        selecting = {i.field for i in idents} | {r.field for r in refs}
        wanted = (
            set(coll.primary_keys)
            | selecting
            | join_fields[node]
            | {p.field for p in personal[node]}
        )
        retrieve = (*coll.primary_keys, *sorted(wanted - set(coll.primary_keys)))
        steps.append(
            PlanStep(
                number=number[node],
                dataset=node[0],
                collection=node[1],
                identity_inputs=idents,
                reference_inputs=refs,
                depends_on=tuple(depends),
                primary_keys=coll.primary_keys,
                join_fields=tuple(sorted(join_fields[node])),
                personal_fields=tuple(personal[node]),
                retrieve=retrieve,
                required=required[node],
                query=_describe_query(node[1], retrieve, idents, refs),
            )
        )

    skipped, skip_warnings = _skipped_edges(graph, reach, number, inputs_of, loops, roots)
    unreachable = _unreachable(graph, active, reach, given, succ)
    erasure, erasure_warnings = _erasure_order(graph, order, number)

    warnings = [str(p) for p in graph.problems]
    warnings.extend(skip_warnings)
    warnings.extend(erasure_warnings)
    for step in steps:
        if not step.primary_keys:
            warnings.append(
                f"{step.key} declares no primary key: its rows are identified by "
                "the fields that select them"
            )
    return Plan(
        identities=tuple(given),
        unmatched_identities=tuple(i for i in given if i not in declared),
        steps=tuple(steps),
        edges=tuple(walked),
        skipped_edges=tuple(skipped),
        unreachable=tuple(unreachable),
        erasure_order=tuple(erasure),
        warnings=tuple(warnings),
    )


def _skipped_edges(
    graph: _Graph,
    reach: set[Node],
    number: Mapping[Node, int],
    inputs_of: Mapping[Node, list[Edge]],
    loops: list[Edge],
    roots: Mapping[Node, object],
) -> tuple[list[SkippedEdge], list[str]]:
    skipped: list[SkippedEdge] = []
    warnings: list[str] = []
    walked_ids = {(str(e.source), str(e.target)) for edges in inputs_of.values() for e in edges}
    for edge in graph.edges:
        src, tgt = _node(edge.source), _node(edge.target)
        if src not in reach:
            continue
        if (str(edge.source), str(edge.target)) in walked_ids:
            continue
        if edge in loops:
            skipped.append(
                SkippedEdge(
                    edge=edge,
                    reason="self-reference: each collection is queried once, so its own "
                    "values select no further rows of it (such links, e.g. a manager_id, "
                    "mostly lead to other people)",
                    may_miss_rows=False,
                )
            )
            continue
        if tgt not in reach:
            skipped.append(
                SkippedEdge(
                    edge=edge,
                    reason=f"{edge.target.collection_key} has skip_processing set",
                    may_miss_rows=False,
                )
            )
            continue
        # The target was queried before the source (a cycle). Values of the
        # source field can only add rows if the source was selected by more
        # than the reverse of this very edge.
        src_inputs = inputs_of[src]
        only_reverse = (
            src not in roots
            and len(src_inputs) == 1
            and src_inputs[0].source == edge.target
            and src_inputs[0].target == edge.source
        )
        skipped.append(
            SkippedEdge(
                edge=edge,
                reason=f"{edge.target.collection_key} is queried before "
                f"{edge.source.collection_key} (step {number[tgt]} before {number[src]})",
                may_miss_rows=not only_reverse,
            )
        )
        if not only_reverse:
            warnings.append(
                f"values of {edge.source} found in step {number[src]} are not used to select "
                f"rows of {edge.target.collection_key} (step {number[tgt]}, a cycle); give the "
                "reference a direction or an 'after' to change the order"
            )
    return skipped, warnings


def _unreachable(
    graph: _Graph,
    active: set[Node],
    reach: set[Node],
    given: Sequence[str],
    succ: Mapping[Node, list[Node]],
) -> list[Unreachable]:
    others = sorted(
        {name for c in graph.collections.values() for name, _ in c.identities} - set(given)
    )
    reach_by: dict[str, set[Node]] = {}
    for name in others:
        roots = [n for n in active if any(i == name for i, _ in graph.collections[n].identities)]
        reach_by[name] = set(_reach(roots, succ))
    result = []
    for node in sorted(graph.collections):
        if node in reach:
            continue
        coll = graph.collections[node]
        has_personal = bool(graph.personal(node))
        if coll.skip:
            result.append(
                Unreachable(
                    dataset=node[0],
                    collection=node[1],
                    reason="skip_processing is set on this collection",
                    has_personal_data=has_personal,
                )
            )
            continue
        via = tuple(name for name in others if node in reach_by[name])
        if via:
            reason = f"reached only from identity {', '.join(via)}, which this request did not give"
        elif coll.identities:
            reason = "its identity fields are not reached by any identity given"
        else:
            reason = "no identity field, and no chain of references from a collection with one"
        result.append(
            Unreachable(
                dataset=node[0],
                collection=node[1],
                reason=reason,
                has_personal_data=has_personal,
                other_identities=via,
            )
        )
    return result


# --------------------------------------------------------------------------- #
# Erasure order
# --------------------------------------------------------------------------- #


def _components(nodes: Sequence[Node], before: Mapping[Node, set[Node]]) -> list[list[Node]]:
    """Strongly connected components of the "must come before" graph (Tarjan, iterative)."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    result: list[list[Node]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[Node, Iterable[Node]]] = []
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(before[start]))))
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(before[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def _erasure_order(
    graph: _Graph, order: Sequence[Node], number: Mapping[Node, int]
) -> tuple[list[ErasureStep], list[str]]:
    """Children before parents, ``erase_after`` honoured, ties to the later-queried.

    A reference between ``A.f`` and ``B.g`` where ``g`` is a primary key of B
    and ``f`` is not a primary key of A is read as a foreign key: A rows point
    at B rows, so A (the child) is erased first and a database enforcing the
    key never refuses the delete. References between two keys (1:1) or two
    plain fields imply no order.
    """
    members = set(order)
    before: dict[Node, set[Node]] = {n: set() for n in order}
    for left, right in graph.pairs:
        a, b = (left[0], left[1]), (right[0], right[1])
        if a == b or a not in members or b not in members:
            continue
        a_pk = left[2] in graph.collections[a].primary_keys
        b_pk = right[2] in graph.collections[b].primary_keys
        if b_pk and not a_pk:
            before[b].add(a)
        elif a_pk and not b_pk:
            before[a].add(b)
    for node in order:
        before[node].update(graph.erase_after[node] & members)

    warnings: list[str] = []
    components = _components(sorted(order), before)
    comp_of: dict[Node, int] = {}
    for i, comp in enumerate(components):
        for n in comp:
            comp_of[n] = i
    comp_before: dict[int, set[int]] = {i: set() for i in range(len(components))}
    for node in order:
        for prior in before[node]:
            if comp_of[prior] != comp_of[node]:
                comp_before[comp_of[node]].add(comp_of[prior])

    done: set[int] = set()
    result: list[ErasureStep] = []
    while len(done) < len(components):
        ready = [i for i in comp_before if i not in done and comp_before[i] <= done]
        pick = max(ready, key=lambda i: max(number[n] for n in components[i]))
        done.add(pick)
        members_sorted = sorted(components[pick], key=lambda n: -number[n])
        if len(members_sorted) > 1:
            names = ", ".join(".".join(n) for n in members_sorted)
            warnings.append(
                f"foreign keys or erase_after form a cycle between {names}: no order "
                "deletes these rows safely; mask them instead of deleting, or declare "
                "erase_after to break the cycle"
            )
        for node in members_sorted:
            result.append(
                ErasureStep(
                    dataset=node[0],
                    collection=node[1],
                    after=tuple(".".join(p) for p in sorted(before[node])),
                )
            )
    return result, warnings


# --------------------------------------------------------------------------- #
# Query text
# --------------------------------------------------------------------------- #


def _ident(name: str) -> str:
    parts = []
    for part in name.split("."):
        if _PLAIN_IDENT.match(part) and part.lower() not in _RESERVED:
            parts.append(part)
        else:
            parts.append('"' + part.replace('"', '""') + '"')
    return ".".join(parts)


def _describe_query(
    collection: str,
    retrieve: Sequence[str],
    identities: Sequence[IdentityInput],
    references: Sequence[ReferenceInput],
) -> str:
    columns = ", ".join(_ident(f) for f in retrieve)
    conditions = [f"{_ident(i.field)} IN (:{i.identity})" for i in identities]
    conditions += [f"{_ident(r.field)} IN (:{r.source})" for r in references]
    return f"SELECT {columns} FROM {_ident(collection)} WHERE {' OR '.join(conditions)}"


# --------------------------------------------------------------------------- #
# Checks for `datavern check`
# --------------------------------------------------------------------------- #


GRAPH_PROBLEM_CODES: Final[tuple[str, ...]] = (
    "dsr-unreachable-personal-data",
    "dsr-reference-unknown-dataset",
    "dsr-reference-unknown-collection",
    "dsr-reference-unknown-field",
    "dsr-reference-malformed",
    "dsr-reference-self",
    "dsr-reference-conflict",
    "dsr-identity-unnamed",
    "dsr-identity-name",
    "dsr-after-unknown",
    "dsr-erase-after-unknown",
    "dsr-after-cycle",
    "dsr-erase-after-cycle",
    "dsr-after-unsatisfiable",
    "dsr-dataset-duplicate",
)
"""Every code ``graph_errors`` can return; each is documented in docs/dsr-plan.md."""


def graph_errors(datasets: Sequence[Dataset]) -> list[GraphProblem]:
    """Every dataset-graph problem (codes in ``GRAPH_PROBLEM_CODES``), sorted by place."""
    graph = _build(datasets)
    problems = list(graph.problems)

    for attr, relation in (("after", graph.after), ("erase_after", graph.erase_after)):
        nodes = sorted(graph.collections)
        for comp in _components(nodes, relation):
            if len(comp) < 2:
                continue
            first = comp[0]
            cycle = ", ".join(".".join(n) for n in comp)
            problems.append(
                GraphProblem(
                    code=f"dsr-{attr.replace('_', '-')}-cycle",
                    message=f"{attr} constraints form a cycle between {cycle}; "
                    "no order satisfies them",
                    dataset=first[0],
                    collection=first[1],
                    key=("fides_meta", attr),
                )
            )

    # Reach from every identity any dataset declares: what none reaches can
    # never be found for a data-subject request (art. 15, 17).
    active = {n for n, c in graph.collections.items() if not c.skip}
    out, _ = _adjacency(graph, active)
    roots = [n for n in active if graph.collections[n].identities]
    reach = set(_reach(roots, _successors(out)))
    for node in sorted(active - reach):
        personal = graph.personal(node)
        if not personal:
            continue
        listed = ", ".join(p.field for p in personal[:5])
        more = f" and {len(personal) - 5} more" if len(personal) > 5 else ""
        problems.append(
            GraphProblem(
                code="dsr-unreachable-personal-data",
                message=f"holds personal data ({listed}{more}) that no identity reaches: "
                "mark a field with fides_meta.identity, or reference a collection "
                "an identity reaches",
                dataset=node[0],
                collection=node[1],
            )
        )

    if not graph.duplicates and not any(p.code == "dsr-after-cycle" for p in problems):
        declared = sorted({n for c in graph.collections.values() for n, _ in c.identities})
        try:
            plan_walk(datasets, declared)
        except PlanError as exc:
            # only `after` can fail here: duplicates were ruled out above
            dataset, collection = exc.collections[0]
            problems.append(
                GraphProblem(
                    code="dsr-after-unsatisfiable",
                    message=str(exc),
                    dataset=dataset,
                    collection=collection,
                    key=("fides_meta", "after"),
                )
            )

    problems.sort(key=lambda p: (p.dataset, p.collection or "", p.field or "", p.key, p.code))
    return problems
