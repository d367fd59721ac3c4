"""The DSR plan: which collections a request walks, in what order, and what it reads."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from fideslang.models import Dataset

from datavern.dsr.graph import GRAPH_PROBLEM_CODES, Plan, PlanError, graph_errors, plan_walk
from datavern.dsr.rules import UnknownIdentity


def datasets(text: str) -> list[Dataset]:
    return [Dataset.model_validate(d) for d in yaml.safe_load(text)["dataset"]]


def order(plan: Plan) -> list[str]:
    return [s.key for s in plan.steps]


def codes(text: str) -> list[tuple[str, str]]:
    problems = graph_errors(datasets(text))
    assert {p.code for p in problems} <= set(GRAPH_PROBLEM_CODES)
    return [(p.code, p.where) for p in problems]


SHOP = """
dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: name
            data_categories: [user.name]
          - name: segment
            data_categories: [system.operations]
      - name: order
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customer.id, direction: from}]
          - name: note
            data_categories: [user.content]
      - name: order_line
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: order_id
            fides_meta:
              references: [{dataset: shop, field: order.id, direction: from}]
          - name: product_id
            fides_meta:
              references: [{dataset: shop, field: product.id, direction: to}]
      - name: product
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: title
  - fides_key: billing
    collections:
      - name: invoice
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: order_ref
            fides_meta:
              references: [{dataset: shop, field: order.id, direction: from}]
          - name: address
            data_categories: [user.contact.address]
      - name: payment
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: invoice_id
            fides_meta:
              references: [{dataset: billing, field: invoice.id, direction: from}]
          - name: card_last4
            data_categories: [user.financial]
"""


def test_walk_starts_at_the_collection_holding_the_given_identity() -> None:
    plan = plan_walk(datasets(SHOP), ["email"])
    first = plan.steps[0]
    assert first.key == "shop.customer"
    assert [(i.identity, i.field) for i in first.identity_inputs] == [("email", "email")]
    assert first.reference_inputs == ()
    # primary key, the selecting field, the join field and personal data; not `segment`
    assert first.retrieve == ("id", "email", "name")
    assert first.query == "SELECT id, email, name FROM customer WHERE email IN (:email)"
    assert [(p.field, p.categories) for p in first.personal_fields] == [
        ("email", ("user.contact.email",)),
        ("name", ("user.name",)),
    ]


def test_walk_follows_references_over_several_hops_and_datasets() -> None:
    plan = plan_walk(datasets(SHOP), ["email"])
    keys = order(plan)
    # customer -> order -> invoice (another dataset) -> payment: four hops deep
    assert keys.index("shop.customer") < keys.index("shop.order")
    assert keys.index("shop.order") < keys.index("billing.invoice")
    assert keys.index("billing.invoice") < keys.index("billing.payment")
    payment = plan.step("billing", "payment")
    assert payment is not None
    assert [(r.field, str(r.source)) for r in payment.reference_inputs] == [
        ("invoice_id", "billing.invoice.id")
    ]
    assert payment.depends_on == (plan.step("billing", "invoice").number,)  # type: ignore[union-attr]
    assert payment.query == (
        "SELECT id, card_last4, invoice_id FROM payment WHERE invoice_id IN (:billing.invoice.id)"
    )
    assert set(keys) == {
        "shop.customer",
        "shop.order",
        "shop.order_line",
        "shop.product",
        "billing.invoice",
        "billing.payment",
    }


def test_join_fields_are_read_even_without_personal_data() -> None:
    plan = plan_walk(datasets(SHOP), ["email"])
    line = plan.step("shop", "order_line")
    assert line is not None
    assert line.join_fields == ("product_id",)
    assert "product_id" in line.retrieve
    # order_line and product hold nothing personal and lead to nothing personal
    assert not line.required
    assert not plan.step("shop", "product").required  # type: ignore[union-attr]
    assert plan.step("shop", "order").required  # type: ignore[union-attr]


def test_reserved_words_are_quoted_in_the_query_text() -> None:
    plan = plan_walk(datasets(SHOP), ["email"])
    assert plan.step("shop", "order").query == (  # type: ignore[union-attr]
        'SELECT id, customer_id, note FROM "order" WHERE customer_id IN (:shop.customer.id)'
    )


DIRECTIONS = """
dataset:
  - fides_key: d
    collections:
      - name: a
        fields:
          - name: id
            fides_meta: {primary_key: true, identity: user_id}
      - name: b
        fields:
          - name: a_id
            fides_meta:
              references: [{dataset: d, field: a.id, direction: {b_dir}}]
            data_categories: [user.unique_id]
          - name: key
            fides_meta: {identity: b_key}
"""


@pytest.mark.parametrize(
    ("direction", "from_a", "from_b"),
    [
        # `from`: a.id -> b.a_id: a's values select b rows, not the other way
        ("from", {"d.a", "d.b"}, {"d.b"}),
        # `to`: b.a_id -> a.id
        ("to", {"d.a"}, {"d.a", "d.b"}),
        # no direction: both ways
        ("null", {"d.a", "d.b"}, {"d.a", "d.b"}),
    ],
)
def test_reference_direction_decides_which_way_values_flow(
    direction: str, from_a: set[str], from_b: set[str]
) -> None:
    ds = datasets(DIRECTIONS.replace("{b_dir}", direction))
    assert set(order(plan_walk(ds, ["user_id"]))) == from_a
    assert set(order(plan_walk(ds, ["b_key"]))) == from_b


def test_undirected_reference_is_walked_from_whichever_side_is_reached_first() -> None:
    ds = datasets(DIRECTIONS.replace("{b_dir}", "null"))
    plan = plan_walk(ds, ["b_key"])
    assert order(plan) == ["d.b", "d.a"]
    a = plan.step("d", "a")
    assert a is not None
    assert [(r.field, str(r.source)) for r in a.reference_inputs] == [("id", "d.b.a_id")]
    # the way back carries only values a already has: listed, no warning
    [skipped] = plan.skipped_edges
    assert str(skipped.edge) == "d.a.id -> d.b.a_id"
    assert not skipped.may_miss_rows
    assert not any("cycle" in w for w in plan.warnings)


CYCLE = """
dataset:
  - fides_key: g
    collections:
      - name: a
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: c_ref
            fides_meta:
              references: [{dataset: g, field: c.id, direction: from}]
      - name: b
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: a_id
            fides_meta:
              references: [{dataset: g, field: a.id, direction: from}]
      - name: c
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: b_id
            fides_meta:
              references: [{dataset: g, field: b.id, direction: from}]
"""


def test_walk_terminates_on_a_cycle_and_reports_the_edge_it_could_not_use() -> None:
    plan = plan_walk(datasets(CYCLE), ["email"])
    assert order(plan) == ["g.a", "g.b", "g.c"]
    [skipped] = plan.skipped_edges
    assert str(skipped.edge) == "g.c.id -> g.a.c_ref"
    # c's ids could select more a rows: said out loud, not skipped silently
    assert skipped.may_miss_rows
    assert any("g.c.id" in w and "cycle" in w for w in plan.warnings)


TWO_PARENTS = """
dataset:
  - fides_key: crm
    collections:
      - name: person
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
      - name: ticket
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: person_id
            fides_meta:
              references: [{dataset: crm, field: person.id, direction: from}]
      - name: contract
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: person_id
            fides_meta:
              references: [{dataset: crm, field: person.id, direction: from}]
          - name: signer_email
            data_categories: [user.contact.email]
      - name: contract_version
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: contract_id
            fides_meta:
              references: [{dataset: crm, field: contract.id, direction: from}]
      - name: attachment
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: ticket_id
            fides_meta:
              references: [{dataset: crm, field: ticket.id, direction: from}]
          - name: version_id
            fides_meta:
              references: [{dataset: crm, field: contract_version.id, direction: from}]
          - name: file_name
            data_categories: [user.content]
"""


def test_a_collection_reached_from_two_parents_is_queried_once_after_both() -> None:
    plan = plan_walk(datasets(TWO_PARENTS), ["email"])
    keys = order(plan)
    assert keys.count("crm.attachment") == 1
    attachment = plan.step("crm", "attachment")
    ticket = plan.step("crm", "ticket")
    version = plan.step("crm", "contract_version")
    assert attachment and ticket and version
    # reached in two hops through ticket, but it waits for the three-hop parent too
    assert attachment.number > max(ticket.number, version.number)
    assert sorted(attachment.depends_on) == sorted([ticket.number, version.number])
    assert {(r.field, str(r.source)) for r in attachment.reference_inputs} == {
        ("ticket_id", "crm.ticket.id"),
        ("version_id", "crm.contract_version.id"),
    }
    assert attachment.query == (
        "SELECT id, file_name, ticket_id, version_id FROM attachment "
        "WHERE ticket_id IN (:crm.ticket.id) OR version_id IN (:crm.contract_version.id)"
    )
    assert plan.skipped_edges == ()


def test_a_collection_with_an_identity_still_waits_for_its_reachable_parents() -> None:
    text = TWO_PARENTS.replace(
        "          - name: signer_email\n            data_categories: [user.contact.email]\n",
        "          - name: signer_email\n            data_categories: [user.contact.email]\n"
        "            fides_meta: {identity: email}\n",
    )
    plan = plan_walk(datasets(text), ["email"])
    contract = plan.step("crm", "contract")
    person = plan.step("crm", "person")
    assert contract and person
    assert contract.number > person.number
    assert [i.field for i in contract.identity_inputs] == ["signer_email"]
    assert [str(r.source) for r in contract.reference_inputs] == ["crm.person.id"]
    assert contract.query.endswith(
        "WHERE signer_email IN (:email) OR person_id IN (:crm.person.id)"
    )


UNREACHABLE = """
dataset:
  - fides_key: app
    collections:
      - name: user
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
      - name: sms_log
        fields:
          - name: msisdn
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone_number}
      - name: legacy
        fields:
          - name: full_name
            data_categories: [user.name]
      - name: settings
        fields:
          - name: key
      - name: archive
        fides_meta: {skip_processing: true}
        fields:
          - name: user_id
            data_categories: [user.unique_id]
            fides_meta:
              references: [{dataset: app, field: user.id, direction: from}]
"""


def test_unreachable_collections_are_reported_with_the_reason() -> None:
    plan = plan_walk(datasets(UNREACHABLE), ["email"])
    assert order(plan) == ["app.user"]
    reasons = {u.key: u for u in plan.unreachable}
    assert set(reasons) == {"app.sms_log", "app.legacy", "app.settings", "app.archive"}
    assert reasons["app.sms_log"].other_identities == ("phone",)
    assert "phone" in reasons["app.sms_log"].reason
    assert reasons["app.legacy"].has_personal_data
    assert "no identity field" in reasons["app.legacy"].reason
    assert not reasons["app.settings"].has_personal_data
    assert "skip_processing" in reasons["app.archive"].reason
    # the edge into the skipped collection is listed, not silently dropped
    assert [str(s.edge) for s in plan.skipped_edges] == ["app.user.id -> app.archive.user_id"]


def test_phone_number_in_a_fides_dataset_is_the_phone_identity() -> None:
    plan = plan_walk(datasets(UNREACHABLE), ["phone"])
    assert order(plan) == ["app.sms_log"]
    assert plan.steps[0].query == "SELECT msisdn FROM sms_log WHERE msisdn IN (:phone)"
    assert plan.unmatched_identities == ()
    assert any("no primary key" in w for w in plan.warnings)


def test_check_reports_personal_data_no_identity_reaches() -> None:
    found = codes(UNREACHABLE)
    assert ("dsr-unreachable-personal-data", "app.legacy") in found
    # reachable through the phone identity, holds nothing personal, or skipped on purpose
    assert not any(where in {"app.sms_log", "app.settings", "app.archive"} for _, where in found)


def test_a_built_in_identity_no_dataset_declares_is_valid_but_matches_nothing() -> None:
    plan = plan_walk(datasets(UNREACHABLE), ["email", "fnr"])
    assert plan.unmatched_identities == ("fnr",)
    assert order(plan) == ["app.user"]


def test_unknown_identity_type_lists_the_known_ones() -> None:
    with pytest.raises(UnknownIdentity) as caught:
        plan_walk(datasets(UNREACHABLE), ["emial"])
    message = str(caught.value)
    assert "'emial'" in message
    for known in ("customer_id", "email", "fnr", "phone"):
        assert known in message


BROKEN = """
dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            fides_meta: {identity: email}
          - name: nickname
            fides_meta: {identity: ""}
      - name: order
        fields:
          - name: customer_id
            fides_meta:
              references:
                - {dataset: shop, field: customer.id, direction: from}
                - {dataset: shopp, field: customer.id}
                - {dataset: shop, field: customers.id}
                - {dataset: shop, field: customer.uid}
                - {dataset: shop, field: customer}
          - name: note
            data_categories: [user.content]
"""


def test_check_reports_references_to_missing_datasets_collections_and_fields() -> None:
    problems = graph_errors(datasets(BROKEN))
    found = {(p.code, p.where, p.key) for p in problems}
    ref = "shop.order.customer_id"
    assert found >= {
        ("dsr-reference-unknown-dataset", ref, ("fides_meta", "references", 1)),
        ("dsr-reference-unknown-collection", ref, ("fides_meta", "references", 2)),
        ("dsr-reference-unknown-field", ref, ("fides_meta", "references", 3)),
        ("dsr-reference-malformed", ref, ("fides_meta", "references", 4)),
        ("dsr-identity-unnamed", "shop.customer.nickname", ("fides_meta", "identity")),
    }
    messages = {p.code: p.message for p in problems}
    assert "'shopp'" in messages["dsr-reference-unknown-dataset"]
    assert "'customers'" in messages["dsr-reference-unknown-collection"]
    assert "'uid'" in messages["dsr-reference-unknown-field"]


def test_plan_ignores_a_broken_reference_and_says_so() -> None:
    plan = plan_walk(datasets(BROKEN), ["email"])
    assert order(plan) == ["shop.customer", "shop.order"]
    assert any("dsr-reference-unknown-dataset" in w for w in plan.warnings)


def test_check_reports_a_reference_declared_both_ways_at_once() -> None:
    text = """
dataset:
  - fides_key: d
    collections:
      - name: a
        fields:
          - name: id
            fides_meta:
              identity: email
              references: [{dataset: d, field: b.a_id, direction: to}]
      - name: b
        fields:
          - name: a_id
            fides_meta:
              references: [{dataset: d, field: a.id, direction: to}]
"""
    problems = [p for p in graph_errors(datasets(text)) if p.code == "dsr-reference-conflict"]
    assert [p.where for p in problems] == ["d.b.a_id"]
    assert "d.a.id" in problems[0].message
    # the walk still terminates and uses both directions
    assert order(plan_walk(datasets(text), ["email"])) == ["d.a", "d.b"]


def test_agreeing_declarations_on_both_ends_are_not_a_conflict() -> None:
    text = """
dataset:
  - fides_key: d
    collections:
      - name: a
        fields:
          - name: id
            fides_meta:
              identity: email
              references: [{dataset: d, field: b.a_id, direction: to}]
      - name: b
        fields:
          - name: a_id
            fides_meta:
              references: [{dataset: d, field: a.id, direction: from}]
"""
    assert graph_errors(datasets(text)) == []
    plan = plan_walk(datasets(text), ["email"])
    assert [str(e) for e in plan.edges] == ["d.a.id -> d.b.a_id"]


ERASURE = """
dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
      - name: address
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customer.id}]
          - name: street
            data_categories: [user.contact.address.street]
      - name: order
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customer.id}]
          - name: delivery_address_id
            fides_meta:
              references: [{dataset: shop, field: address.id}]
      - name: audit_note
        fides_meta:
          erase_after: [shop.customer]
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
"""


def test_erasure_order_puts_children_before_parents() -> None:
    plan = plan_walk(datasets(ERASURE), ["email"])
    erasure = [e.key for e in plan.erasure_order]
    assert sorted(erasure) == sorted(order(plan))
    # order references customer and address; address references customer
    assert erasure.index("shop.order") < erasure.index("shop.address")
    assert erasure.index("shop.address") < erasure.index("shop.customer")
    assert erasure.index("shop.order") < erasure.index("shop.customer")
    customer = next(e for e in plan.erasure_order if e.key == "shop.customer")
    assert set(customer.after) == {"shop.address", "shop.order"}


def test_erase_after_is_honoured() -> None:
    plan = plan_walk(datasets(ERASURE), ["email"])
    erasure = [e.key for e in plan.erasure_order]
    assert erasure.index("shop.customer") < erasure.index("shop.audit_note")


def test_a_foreign_key_cycle_is_ordered_and_flagged_for_masking() -> None:
    text = ERASURE.replace(
        "          - name: email\n            data_categories: [user.contact.email]\n"
        "            fides_meta: {identity: email}\n      - name: address",
        "          - name: email\n            data_categories: [user.contact.email]\n"
        "            fides_meta: {identity: email}\n"
        "          - name: main_order_id\n            fides_meta:\n"
        "              references: [{dataset: shop, field: order.id}]\n      - name: address",
    )
    plan = plan_walk(datasets(text), ["email"])
    assert sorted(e.key for e in plan.erasure_order) == sorted(order(plan))
    assert any("cycle" in w and "mask" in w for w in plan.warnings)


AFTER = """
dataset:
  - fides_key: mail
    fides_meta: {after: [crm]}
    collections:
      - name: subscriber
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
  - fides_key: crm
    collections:
      - name: a_contact
        fides_meta: {after: [crm.z_lead]}
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
      - name: z_lead
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
"""


def test_after_constraints_at_collection_and_dataset_level_are_honoured() -> None:
    plan = plan_walk(datasets(AFTER), ["email"])
    # without `after`, a_contact would come first (same distance, alphabetical)
    assert order(plan) == ["crm.z_lead", "crm.a_contact", "mail.subscriber"]
    subscriber = plan.step("mail", "subscriber")
    assert subscriber is not None
    assert subscriber.depends_on == (1, 2)


def test_after_that_cannot_be_met_is_an_error_for_plan_and_check() -> None:
    text = AFTER.replace("fides_meta: {after: [crm]}", "fides_meta: {after: [nope]}")
    text = text.replace(
        "      - name: z_lead\n",
        "      - name: z_lead\n        fides_meta: {after: [crm.a_contact]}\n",
    )
    with pytest.raises(PlanError, match="after"):
        plan_walk(datasets(text), ["email"])
    found = codes(text)
    assert ("dsr-after-cycle", "crm.a_contact") in found
    assert ("dsr-after-unknown", "mail") in found


def test_after_waiting_for_a_collection_reached_only_through_itself_is_unsatisfiable() -> None:
    text = """
dataset:
  - fides_key: d
    collections:
      - name: a
        fides_meta: {after: [d.b]}
        fields:
          - name: id
            fides_meta: {identity: email}
      - name: b
        fields:
          - name: a_id
            fides_meta:
              references: [{dataset: d, field: a.id, direction: from}]
"""
    with pytest.raises(PlanError):
        plan_walk(datasets(text), ["email"])
    assert ("dsr-after-unsatisfiable", "d.a") in codes(text)


def test_duplicate_dataset_keys_are_refused() -> None:
    text = SHOP + SHOP.replace("dataset:\n", "")
    with pytest.raises(PlanError, match="shop"):
        plan_walk(datasets(text), ["email"])
    assert ("dsr-dataset-duplicate", "shop") in codes(text)


def test_nested_fields_and_inherited_categories() -> None:
    text = """
dataset:
  - fides_key: docs
    data_categories: [system.operations]
    collections:
      - name: profile
        data_categories: [user.contact]
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: {primary_key: true}
          - name: email
            fides_meta: {identity: email}
          - name: address
            fields:
              - name: city
              - name: zip
                data_categories: [user.contact.address.postal_code]
      - name: log
        fields:
          - name: profile_id
            fides_meta:
              references: [{dataset: docs, field: profile.address.zip, direction: from}]
"""
    plan = plan_walk(datasets(text), ["email"])
    profile = plan.step("docs", "profile")
    log = plan.step("docs", "log")
    assert profile and log
    assert [(p.field, p.categories) for p in profile.personal_fields] == [
        ("address.city", ("user.contact",)),
        ("address.zip", ("user.contact.address.postal_code",)),
        ("email", ("user.contact",)),
    ]
    assert profile.join_fields == ("address.zip",)
    # the dataset's own category (system.operations) is not personal data
    assert log.personal_fields == ()


def test_plan_is_the_same_whatever_order_the_datasets_come_in() -> None:
    ds = datasets(SHOP) + datasets(TWO_PARENTS) + datasets(CYCLE)
    expected = plan_walk(ds, ["email"])
    rng = random.Random(7)
    for _ in range(5):
        shuffled = ds[:]
        rng.shuffle(shuffled)
        assert plan_walk(shuffled, ["email"]) == expected


def test_the_plan_holds_no_identity_values() -> None:
    plan = plan_walk(datasets(SHOP), {"email": ["ola.nordmann@eksempel.no"]})
    assert "ola.nordmann" not in plan.model_dump_json()
    assert "ola.nordmann" not in plan.describe()


def test_describe_prints_steps_queries_and_omissions() -> None:
    text = plan_walk(datasets(UNREACHABLE), ["email"]).describe()
    assert "1. app.user" in text
    assert 'SELECT id, email FROM "user" WHERE email IN (:email)' in text
    assert "app.legacy (holds personal data): no identity field" in text
    assert "Erasure order:" in text


def test_check_reports_odd_identity_names_self_references_and_erase_after_problems() -> None:
    text = """
dataset:
  - fides_key: d
    collections:
      - name: a
        fides_meta: {erase_after: [d.b, d.nope]}
        fields:
          - name: id
            fides_meta:
              identity: "e mail"
              references: [{dataset: d, field: a.id}]
      - name: b
        fides_meta: {erase_after: [d.a]}
        fields:
          - name: id
            fides_meta: {identity: email}
"""
    found = codes(text)
    assert ("dsr-identity-name", "d.a.id") in found
    assert ("dsr-reference-self", "d.a.id") in found
    assert ("dsr-erase-after-unknown", "d.a") in found
    assert ("dsr-erase-after-cycle", "d.a") in found


def test_every_graph_problem_code_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dsr-plan.md").read_text()
    for code in GRAPH_PROBLEM_CODES:
        assert f"`{code}`" in docs, code


def test_a_self_reference_is_listed_but_not_walked() -> None:
    text = """
dataset:
  - fides_key: hr
    collections:
      - name: employee
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: manager_id
            fides_meta:
              references: [{dataset: hr, field: employee.id}]
"""
    plan = plan_walk(datasets(text), ["email"])
    assert order(plan) == ["hr.employee"]
    assert plan.steps[0].reference_inputs == ()
    assert {str(s.edge) for s in plan.skipped_edges} == {
        "hr.employee.manager_id -> hr.employee.id",
        "hr.employee.id -> hr.employee.manager_id",
    }
    assert all("self-reference" in s.reason for s in plan.skipped_edges)
    assert graph_errors(datasets(text)) == []
