"""Properties of the DSR walk on random dataset graphs, cyclic and acyclic.

The expected reach is computed here from the reference declarations alone,
with the documented direction rule (``to``: holder -> referenced, ``from``:
referenced -> holder, none: both), independently of the module under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fideslang.models import Dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from datavern.dsr.graph import plan_walk

DATASETS = ("alpha", "beta", "gamma")
IDENTITIES = ("email", "customer_id")  # built in: always valid to give
DIRECTIONS = ("to", "from", None)


@dataclass(frozen=True)
class Ref:
    holder: int
    target: int
    direction: str | None


@dataclass(frozen=True)
class Graph:
    dataset_of: tuple[str, ...]
    identity_of: tuple[str | None, ...]
    personal: tuple[bool, ...]
    refs: tuple[Ref, ...]
    given: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.dataset_of)

    def key(self, i: int) -> str:
        return f"{self.dataset_of[i]}.c{i}"

    def flows(self) -> set[tuple[int, int]]:
        out = set()
        for ref in self.refs:
            if ref.holder == ref.target:
                continue
            if ref.direction in ("to", None):
                out.add((ref.holder, ref.target))
            if ref.direction in ("from", None):
                out.add((ref.target, ref.holder))
        return out

    def reach(self, avoid: int | None = None) -> set[int]:
        seen = {i for i in range(self.size) if self.identity_of[i] in self.given} - {avoid}
        frontier = list(seen)
        flows = self.flows()
        while frontier:
            node = frontier.pop()
            for src, tgt in flows:
                if src == node and tgt not in seen and tgt != avoid:
                    seen.add(tgt)
                    frontier.append(tgt)
        return seen

    def datasets(self, order: list[str] | None = None) -> list[Dataset]:
        collections: dict[str, list[dict[str, Any]]] = {}
        for i in range(self.size):
            fields: list[dict[str, Any]] = [{"name": "id", "fides_meta": {"primary_key": True}}]
            if self.identity_of[i]:
                fields.append({"name": "ident", "fides_meta": {"identity": self.identity_of[i]}})
            if self.personal[i]:
                fields.append({"name": "pd", "data_categories": ["user.name"]})
            for k, ref in enumerate(self.refs):
                if ref.holder == i:
                    reference: dict[str, Any] = {
                        "dataset": self.dataset_of[ref.target],
                        "field": f"c{ref.target}.id",
                    }
                    if ref.direction:
                        reference["direction"] = ref.direction
                    fields.append({"name": f"r{k}", "fides_meta": {"references": [reference]}})
            collection = {"name": f"c{i}", "fields": fields}
            collections.setdefault(self.dataset_of[i], []).append(collection)
        keys = order if order is not None else sorted(collections)
        return [
            Dataset.model_validate({"fides_key": key, "collections": collections[key]})
            for key in keys
            if key in collections
        ]


@st.composite
def graphs(draw: st.DrawFn, acyclic: bool = False) -> Graph:
    size = draw(st.integers(min_value=1, max_value=8))
    dataset_of = tuple(draw(st.sampled_from(DATASETS)) for _ in range(size))
    identity_of = tuple(draw(st.sampled_from((None, *IDENTITIES))) for _ in range(size))
    personal = tuple(draw(st.booleans()) for _ in range(size))
    pairs = st.tuples(
        st.integers(min_value=0, max_value=size - 1), st.integers(min_value=0, max_value=size - 1)
    )
    raw = draw(st.lists(pairs, max_size=size * 2))
    if acyclic:
        # every reference points at a lower-numbered collection and all share one
        # direction, so values flow one way only: a DAG
        direction = draw(st.sampled_from(DIRECTIONS[:2]))
        refs = tuple(Ref(max(a, b), min(a, b), direction) for a, b in raw if a != b)
    else:
        refs = tuple(Ref(a, b, draw(st.sampled_from(DIRECTIONS))) for a, b in raw)
    given_ids = tuple(draw(st.lists(st.sampled_from(IDENTITIES), unique=True)))
    return Graph(dataset_of, identity_of, personal, refs, given_ids)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_walk_visits_each_reachable_collection_once_and_nothing_else(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    keys = [s.key for s in plan.steps]
    expected = {graph.key(i) for i in graph.reach()}
    assert len(keys) == len(set(keys))
    assert set(keys) == expected
    assert {u.key for u in plan.unreachable} == {graph.key(i) for i in range(graph.size)} - expected


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_every_step_uses_only_values_from_earlier_steps(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    number = {s.key: s.number for s in plan.steps}
    for position, step in enumerate(plan.steps, start=1):
        assert step.number == position
        index = int(step.collection[1:])
        starts = graph.identity_of[index] in graph.given
        assert bool(step.identity_inputs) == starts
        # a step is selected by something: its identity or an earlier step's values
        assert step.identity_inputs or step.reference_inputs
        for ref in step.reference_inputs:
            assert number[ref.source.collection_key] < step.number
        assert all(d < step.number for d in step.depends_on)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_a_collection_waits_for_every_parent_not_reached_through_it(graph: Graph) -> None:
    # The documented rule: a collection is queried once every reachable parent
    # that can be reached without it is done; only when a cycle leaves no
    # collection in that state may one go early.
    plan = plan_walk(graph.datasets(), graph.given)
    number = {int(s.collection[1:]): s.number for s in plan.steps}
    flows = graph.flows()
    parents_to_wait_for = {
        node: {src for src, tgt in flows if tgt == node and src in graph.reach(avoid=node)}
        for node in number
    }

    def ready(node: int, done: set[int]) -> bool:
        return parents_to_wait_for[node] <= done

    for node, position in number.items():
        done = {n for n, p in number.items() if p < position}
        if not ready(node, done):
            remaining = set(number) - done
            assert not any(ready(other, done) for other in remaining)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_no_edge_between_reached_collections_is_dropped_silently(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    reached = {graph.key(i) for i in graph.reach()}
    walked = {(str(e.source), str(e.target)) for e in plan.edges}
    skipped = {(str(s.edge.source), str(s.edge.target)) for s in plan.skipped_edges}
    assert not walked & skipped
    for k, ref in enumerate(graph.refs):
        holder = f"{graph.key(ref.holder)}.r{k}"
        target = f"{graph.key(ref.target)}.id"
        flows = []
        if ref.direction in ("to", None):
            flows.append((holder, target))
        if ref.direction in ("from", None):
            flows.append((target, holder))
        for src, tgt in flows:
            if src.rsplit(".", 1)[0] in reached:
                assert (src, tgt) in walked | skipped


@settings(max_examples=100, deadline=None)
@given(graphs(acyclic=True))
def test_on_a_dag_each_collection_waits_for_all_its_parents(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    # self-references aside (none here), nothing is skipped: every value a
    # collection can get arrives before it is queried
    assert plan.skipped_edges == ()
    reached = graph.reach()
    for src, tgt in graph.flows():
        if src in reached:
            source = plan.step(graph.dataset_of[src], f"c{src}")
            target = plan.step(graph.dataset_of[tgt], f"c{tgt}")
            assert source and target
            assert source.number < target.number


@settings(max_examples=100, deadline=None)
@given(graphs(acyclic=True))
def test_erasure_order_puts_every_child_before_its_parent(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    position = {e.key: n for n, e in enumerate(plan.erasure_order)}
    assert sorted(position) == sorted(s.key for s in plan.steps)
    for ref in graph.refs:
        child, parent = graph.key(ref.holder), graph.key(ref.target)
        # r<k> is a plain field pointing at the parent's primary key: a foreign key
        if child in position and parent in position:
            assert position[child] < position[parent]


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_erasure_order_covers_every_step_even_with_cycles(graph: Graph) -> None:
    plan = plan_walk(graph.datasets(), graph.given)
    assert sorted(e.key for e in plan.erasure_order) == sorted(s.key for s in plan.steps)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_the_order_datasets_are_listed(graph: Graph, rnd: Any) -> None:
    keys = sorted(set(graph.dataset_of))
    shuffled = keys[:]
    rnd.shuffle(shuffled)
    assert plan_walk(graph.datasets(shuffled), graph.given) == plan_walk(
        graph.datasets(keys), graph.given
    )
