"""Material or editorial: the notice diff classifies what a data subject must be told."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from datavern.notices.rules import (
    Change,
    diff_registers,
    duration_days,
    retention_days,
    summarize,
)
from datavern.register.schema import Register

BASE: dict[str, Any] = {
    "organisation": {
        "name": "Testfirma AS",
        "org_nr": "923456783",
        "email": "post@testfirma.example",
        "phone": "+47 22 00 00 00",
    },
    "systems": [
        {
            "key": "crm",
            "name": "Kunderegister",
            "processing": [
                {
                    "key": "customers",
                    "purpose": {"nb": "Kundeforhold", "en": "Customer relationship"},
                    "data_use": "essential.service",
                    "data_categories": ["user.name", "user.contact.email"],
                    "data_subjects": ["customer"],
                    "legal_basis": "contract",
                    "retention": {"period": "P2Y", "trigger": "contract_end"},
                    "recipients": ["hosting"],
                },
                {
                    "key": "invoices",
                    "purpose": {"nb": "Fakturering", "en": "Invoicing"},
                    "data_use": "essential.service.payment_processing",
                    "data_categories": ["user.name"],
                    "data_subjects": ["customer"],
                    "legal_basis": "legal_obligation",
                    "retention": {"rule": "bokforingsloven-13-1-5-8"},
                },
            ],
        }
    ],
    "sub_processors": [
        {
            "key": "hosting",
            "name": "Driftshallen AS",
            "country": "NO",
            "service": {"nb": "Servere", "en": "Servers"},
            "data_categories": ["user.name", "user.contact.email"],
        },
        {
            "key": "mail",
            "name": "Mailer Inc.",
            "country": "US",
            "service": {"nb": "E-post", "en": "E-mail"},
            "data_categories": ["user.contact.email"],
            "transfer": {"basis": "scc_2021"},
        },
    ],
    "consent_purposes": [
        {
            "key": "newsletter",
            "name": {"nb": "Nyhetsbrev", "en": "Newsletter"},
            "text": {"nb": "Ja takk, send meg nyhetsbrev.", "en": "Yes, send me newsletters."},
        }
    ],
    "cookies": [
        {
            "name": "sid",
            "provider": "Testfirma AS",
            "purpose": "Innlogging",
            "duration": "session",
            "category": "necessary",
        }
    ],
}


def dump(data: dict[str, Any]) -> dict[str, Any]:
    """A register dump as `register apply` stores it (validated, defaults filled in)."""
    return Register.model_validate(data).model_dump(mode="json")


def changed(mutate: Any) -> list[Change]:
    after = copy.deepcopy(BASE)
    mutate(after)
    return diff_registers(dump(BASE), dump(after))


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, changes
    return changes[0]


def activity(data: dict[str, Any], key: str = "customers") -> dict[str, Any]:
    return next(a for a in data["systems"][0]["processing"] if a["key"] == key)


def processor(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in data["sub_processors"] if p["key"] == key)


def set_retention(retention: dict[str, Any] | None, key: str = "customers") -> Any:
    def mutate(d: dict[str, Any]) -> None:
        activity(d, key)["retention"] = retention

    return mutate


# --- no change -------------------------------------------------------------------------


def test_identical_registers_have_no_changes() -> None:
    assert diff_registers(dump(BASE), dump(copy.deepcopy(BASE))) == []


def test_reordering_keyed_lists_is_no_change() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["sub_processors"].reverse()
        d["systems"][0]["processing"].reverse()

    assert changed(mutate) == []


# --- purposes and categories -------------------------------------------------------


def test_new_purpose_is_material() -> None:
    def mutate(d: dict[str, Any]) -> None:
        new = copy.deepcopy(activity(d))
        new.update(key="profiling", purpose={"nb": "Analyse", "en": "Analysis"})
        d["systems"][0]["processing"].append(new)

    c = only(changed(mutate))
    assert (c.path, c.kind, c.material) == ("systems[crm].processing[profiling]", "added", True)
    assert "new purpose" in c.reason


def test_purpose_no_longer_pursued_is_editorial() -> None:
    c = only(changed(lambda d: d["systems"][0]["processing"].pop()))
    assert (c.kind, c.material) == ("removed", False)


def test_new_system_with_processing_is_material_and_empty_system_editorial() -> None:
    def with_processing(d: dict[str, Any]) -> None:
        d["systems"].append(
            {"key": "web", "name": "Nettsted", "processing": [copy.deepcopy(activity(d))]}
        )

    assert only(changed(with_processing)).material
    assert not only(changed(lambda d: d["systems"].append({"key": "web", "name": "Web"}))).material


def test_new_data_category_is_material_and_dropping_one_editorial() -> None:
    c = only(changed(lambda d: activity(d)["data_categories"].append("user.financial")))
    assert c.material and c.kind == "added" and c.after == "user.financial"
    assert c.path == "systems[crm].processing[customers].data_categories"
    c = only(changed(lambda d: activity(d)["data_categories"].remove("user.contact.email")))
    assert not c.material and c.kind == "removed"


def test_new_data_subjects_are_editorial() -> None:
    c = only(changed(lambda d: activity(d)["data_subjects"].append("prospect")))
    assert not c.material


def test_changed_data_use_is_material_but_rewording_the_purpose_is_editorial() -> None:
    assert only(changed(lambda d: activity(d).update(data_use="marketing.advertising"))).material
    c = only(changed(lambda d: activity(d).update(purpose={"nb": "Kunder", "en": "Customers"})))
    assert not c.material


def test_new_automated_decision_is_material() -> None:
    decision = {"logic": "Poengmodell", "significance": "Forskuddsbetaling"}
    assert only(changed(lambda d: activity(d).update(automated_decisions=decision))).material


# --- legal bases -------------------------------------------------------------------------


def test_switching_to_consent_is_material() -> None:
    def mutate(d: dict[str, Any]) -> None:
        activity(d).update(legal_basis="consent", consent_purpose="newsletter")

    changes = changed(mutate)
    assert {c.path.rsplit(".", 1)[1] for c in changes} == {"legal_basis", "consent_purpose"}
    assert all(c.material for c in changes)


def test_any_change_of_legal_basis_is_material() -> None:
    def mutate(d: dict[str, Any]) -> None:
        activity(d).update(legal_basis="legitimate_interests", legitimate_interest="Oppfølging")

    changes = {c.path.rsplit(".", 1)[1]: c for c in changed(mutate)}
    assert changes["legal_basis"].material
    assert not changes["legitimate_interest"].material


def test_stating_a_missing_basis_is_editorial() -> None:
    before = copy.deepcopy(BASE)
    del activity(before)["legal_basis"]
    c = only(diff_registers(dump(before), dump(BASE)))
    assert c.kind == "added" and not c.material


def test_changed_consent_text_is_material() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["consent_purposes"][0]["text"] = {"nb": "Ja, send meg tilbud.", "en": "Yes, offers."}

    assert only(changed(mutate)).material
    c = only(changed(lambda d: d["consent_purposes"][0].update(name="Nyheter")))
    assert not c.material


def test_a_consent_text_with_the_same_words_is_editorial() -> None:
    def punctuation(d: dict[str, Any]) -> None:
        text = d["consent_purposes"][0]["text"]
        d["consent_purposes"][0]["text"] = {
            lang: value.replace(",", " –").upper() + "  " for lang, value in text.items()
        }

    assert not only(changed(punctuation)).material

    def one_word(d: dict[str, Any]) -> None:
        text = d["consent_purposes"][0]["text"]
        d["consent_purposes"][0]["text"] = {**text, "en": text["en"] + " weekly"}

    assert only(changed(one_word)).material


# --- recipients and transfers -------------------------------------------------------------


def test_new_recipient_is_material_and_removal_editorial() -> None:
    def add(d: dict[str, Any]) -> None:
        d["sub_processors"].append(
            {"key": "crmsaas", "name": "CRM Cloud Inc.", "country": "US", "service": "CRM"}
        )

    c = only(changed(add))
    assert c.material and "US" in c.reason
    assert not only(changed(lambda d: d["sub_processors"].pop())).material


def test_new_recipient_of_an_activity_is_material() -> None:
    c = only(changed(lambda d: activity(d)["recipients"].append("mail")))
    assert c.material and c.after == "mail"


def test_recipient_getting_a_new_category_is_material() -> None:
    c = only(changed(lambda d: processor(d, "mail")["data_categories"].append("user.name")))
    assert c.material


def test_transfer_to_a_weaker_basis_is_material() -> None:
    c = only(changed(lambda d: processor(d, "mail").update(transfer={"basis": "art49"})))
    assert c.material and "weaker" in c.reason


def test_transfer_to_a_stronger_or_equal_basis_is_editorial() -> None:
    def dpf(d: dict[str, Any]) -> None:
        processor(d, "mail")["transfer"] = {"basis": "dpf", "dpf_certified": True}

    assert not only(changed(dpf)).material
    bcr = only(changed(lambda d: processor(d, "mail").update(transfer={"basis": "bcr"})))
    assert not bcr.material


def test_losing_dpf_certification_is_material() -> None:
    before = copy.deepcopy(BASE)
    processor(before, "mail")["transfer"] = {"basis": "dpf", "dpf_certified": True}
    after = copy.deepcopy(before)
    processor(after, "mail")["transfer"] = {"basis": "dpf", "dpf_certified": False}
    assert only(diff_registers(dump(before), dump(after))).material


def test_moving_a_recipient_outside_the_eea_is_material() -> None:
    def mutate(d: dict[str, Any]) -> None:
        processor(d, "hosting").update(
            country="US", transfer={"basis": "dpf", "dpf_certified": True}
        )

    changes = changed(mutate)
    assert {c.path for c in changes} == {
        "sub_processors[hosting].country",
        "sub_processors[hosting].transfer",
    }
    assert all(c.material for c in changes)


def test_new_location_inside_the_eea_is_editorial_outside_material() -> None:
    c = only(changed(lambda d: processor(d, "hosting").update(locations=["SE"])))
    assert not c.material
    c = only(changed(lambda d: processor(d, "hosting").update(locations=["IN"])))
    assert c.material and "IN" in c.reason


# --- retention --------------------------------------------------------------------------


def test_longer_retention_is_material_shorter_editorial() -> None:
    c = only(changed(set_retention({"period": "P3Y", "trigger": "contract_end"})))
    assert c.material and c.path == "systems[crm].processing[customers].retention"
    assert not only(changed(set_retention({"period": "P1Y", "trigger": "contract_end"}))).material


def test_the_same_length_written_differently_is_editorial() -> None:
    assert not only(changed(set_retention({"period": "P24M", "trigger": "contract_end"}))).material


def test_indefinite_retention_is_material() -> None:
    assert only(changed(set_retention({"indefinite": True}))).material


def test_named_rules_compare_by_their_period() -> None:
    # bokføringsloven § 13: nr. 5-8 is 3.5 years, nr. 1-4 five years.
    longer = set_retention({"rule": "bokforingsloven-13-1-1-4"}, key="invoices")
    assert only(changed(longer)).material
    same = set_retention({"period": "P3Y6M", "trigger": "end_of_financial_year"}, key="invoices")
    assert not only(changed(same)).material


def test_unknown_rule_or_unstated_retention_is_material() -> None:
    assert only(changed(set_retention({"rule": "some-other-law"}))).material
    assert only(changed(set_retention(None))).material


def test_counting_from_another_event_is_material() -> None:
    c = only(changed(set_retention({"period": "P1Y", "trigger": "last_activity"})))
    assert c.material and "last_activity" in c.reason


def test_stating_retention_where_none_was_is_editorial() -> None:
    before = copy.deepcopy(BASE)
    del activity(before)["retention"]
    assert not only(diff_registers(dump(before), dump(BASE))).material


@settings(deadline=None)  # no timing assertions in the suite
@given(st.integers(0, 20), st.integers(0, 30), st.integers(0, 20), st.integers(0, 30))
def test_retention_is_material_exactly_when_longer(y1: int, m1: int, y2: int, m2: int) -> None:
    def period(years: int, months: int) -> str:
        return f"P{years}Y{months}M"

    before = copy.deepcopy(BASE)
    activity(before)["retention"] = {"period": period(y1, m1), "trigger": "contract_end"}
    after = copy.deepcopy(BASE)
    activity(after)["retention"] = {"period": period(y2, m2), "trigger": "contract_end"}
    changes = diff_registers(dump(before), dump(after))
    if period(y1, m1) == period(y2, m2):
        assert changes == []
    else:
        assert only(changes).material == (y2 * 12 + m2 > y1 * 12 + m1)


def test_durations_in_days() -> None:
    assert duration_days("P1Y") == duration_days("P12M")
    assert duration_days("P1W") == 7
    assert duration_days("session") == 0
    assert duration_days("forever") is None
    assert retention_days({"rule": "bokforingsloven-13-1-1-4"}) == duration_days("P5Y")
    assert retention_days({"indefinite": True}) == float("inf")
    assert retention_days(None) is None


# --- cookies, organisation, datasets ----------------------------------------------------


def test_new_analytics_cookie_is_material_necessary_first_party_editorial() -> None:
    def cookie(category: str, third_party: bool) -> Any:
        def mutate(d: dict[str, Any]) -> None:
            d["cookies"].append(
                {
                    "name": "_x",
                    "provider": "X",
                    "purpose": "Formål",
                    "duration": "P1Y",
                    "category": category,
                    "third_party": third_party,
                }
            )

        return mutate

    assert only(changed(cookie("analytics", False))).material
    assert only(changed(cookie("necessary", True))).material
    assert not only(changed(cookie("necessary", False))).material


def test_longer_cookie_is_material() -> None:
    assert only(changed(lambda d: d["cookies"][0].update(duration="P1Y"))).material


def test_contact_details_are_editorial_but_a_new_controller_is_material() -> None:
    c = only(changed(lambda d: d["organisation"].update(phone="+47 23 00 00 00")))
    assert c.path == "organisation.phone" and not c.material
    assert only(changed(lambda d: d["organisation"].update(org_nr="998877660"))).material


def test_dataset_changes_are_editorial() -> None:
    dataset = {"fides_key": "crm_db", "collections": [{"name": "customers", "fields": []}]}
    changes = changed(lambda d: d.update(dataset=[dataset]))
    assert changes and not any(c.material for c in changes)


def test_summary_and_round_trip() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["organisation"]["phone"] = "+47 23 00 00 00"
        activity(d)["data_categories"].append("user.financial")

    changes = changed(mutate)
    assert summarize(changes) == (1, 1)
    assert [Change.from_dict(c.to_dict()) for c in changes] == changes
