"""Each lint rule fires on its case, at the right place, and nothing else fires."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from datavern.register.rules import (
    ADEQUACY_DECISIONS,
    BUILTIN_RETENTION_RULES,
    EEA,
    EEA_DPA_DOMAINS,
    RULES,
    RUNNER_RULES,
    Severity,
    is_eea_dpa_url,
    lint,
    path_str,
    personal_column_hint,
)
from datavern.register.schema import Register
from lint_fixtures import TODAY, activity, both, clean, found, processor, run

A0 = "systems[0].processing[0]"
A1 = "systems[0].processing[1]"
P0 = "sub_processors[0]"


@dataclass
class Case:
    name: str
    mutate: Callable[[dict[str, Any]], None]
    expected: set[tuple[str, str]]
    today: date = TODAY


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``a.b[0].c`` (``-`` deletes the key)."""

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        parts: list[str | int] = []
        for piece in path.replace("]", "").split("."):
            name, *indexes = piece.split("[")
            parts.append(name)
            parts.extend(int(i) for i in indexes)
        for part in parts[:-1]:
            node = node[part]
        if value == "-":
            del node[parts[-1]]
        else:
            node[parts[-1]] = value

    return mutate


def _all(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


def _add_processor(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """A second recipient, named by the first activity, with the given fields."""

    def mutate(data: dict[str, Any]) -> None:
        entry = {
            "key": "cloud",
            "name": "Cloud Inc.",
            "country": "US",
            "service": both("Lagring.", "Storage."),
            "data_categories": ["user.contact.email"],
            "dpa_signed": "2024-02-01",
        }
        entry.update(fields)
        data["sub_processors"].append(entry)
        activity(data)["recipients"].append(entry["key"])

    return mutate


P1 = "sub_processors[1]"

CASES = [
    # DV1xx transfers
    Case(
        "privacy shield",
        _add_processor(transfer={"basis": "privacy_shield"}),
        {("DV101", f"{P1}.transfer.basis")},
    ),
    Case(
        "safe harbor",
        _add_processor(transfer={"basis": "safe_harbor"}),
        {("DV101", f"{P1}.transfer.basis")},
    ),
    Case(
        "old scc 2010",
        _add_processor(country="IN", transfer={"basis": "scc_2010"}),
        {("DV101", f"{P1}.transfer.basis")},
    ),
    Case("US without transfer", _add_processor(), {("DV102", f"{P1}.transfer")}),
    Case(
        "EEA processor hosting in the US",
        _add_processor(country="IE", locations=["IE", "US"]),
        {("DV102", f"{P1}.transfer")},
    ),
    Case(
        "basis none outside the EEA",
        _add_processor(transfer={"basis": "none"}),
        {("DV102", f"{P1}.transfer.basis")},
    ),
    Case(
        "basis eea for a US location",
        _add_processor(country="SE", locations=["US"], transfer={"basis": "eea"}),
        {("DV103", f"{P1}.transfer.basis")},
    ),
    Case(
        "adequacy for India",
        _add_processor(country="IN", transfer={"basis": "adequacy"}),
        {("DV104", f"{P1}.transfer.basis")},
    ),
    Case(
        "adequacy for the US",
        _add_processor(transfer={"basis": "adequacy"}),
        {("DV104", f"{P1}.transfer.basis")},
    ),
    Case(
        "dpf without certification",
        _add_processor(transfer={"basis": "dpf", "safeguards_url": "https://x.example"}),
        {("DV105", f"{P1}.transfer.dpf_certified")},
    ),
    Case(
        "dpf certified false",
        _add_processor(transfer={"basis": "dpf", "dpf_certified": False}),
        {("DV105", f"{P1}.transfer.dpf_certified")},
    ),
    Case(
        "dpf for a processor in India",
        _add_processor(locations=["US", "IN"], transfer={"basis": "dpf", "dpf_certified": True}),
        {("DV106", f"{P1}.transfer.basis")},
    ),
    Case(
        "art. 49 derogation",
        _add_processor(transfer={"basis": "art49"}),
        {("DV107", f"{P1}.transfer.basis")},
    ),
    Case(
        "scc without where to get a copy",
        _add_processor(country="IN", transfer={"basis": "scc_2021"}),
        {("DV108", f"{P1}.transfer.safeguards_url")},
    ),
    Case(
        "scc without a version",
        _add_processor(transfer={"basis": "scc_unversioned"}),
        {("DV109", f"{P1}.transfer.basis")},
    ),
    Case(
        "scc without a version inside the EEA is still a claim to check",
        _add_processor(country="SE", transfer={"basis": "scc_unversioned"}),
        {("DV109", f"{P1}.transfer.basis")},
    ),
    Case(
        "country unknown: no transfer rule guesses",
        _add_processor(country="unknown"),
        {("DV110", f"{P1}.country")},
    ),
    Case(
        "country left out is unknown",
        _all(_add_processor(), _set(f"{P1}.country", "-")),
        {("DV110", f"{P1}.country")},
    ),
    Case(
        "country unknown, processing in the US",
        _add_processor(country="Unknown", locations=["US"]),
        {("DV110", f"{P1}.country"), ("DV102", f"{P1}.transfer")},
    ),
    Case(
        "transfers mentioned without recipient, country or basis",
        _set(
            "organisation.unspecified_transfers",
            both("Kan overføres ut av EØS.", "May leave the EEA."),
        ),
        {("DV111", "organisation.unspecified_transfers")},
    ),
    # DV2xx recipients and processors
    Case("no DPA", _set(f"{P0}.dpa_signed", "-"), {("DV201", f"{P0}.dpa_signed")}),
    Case(
        "DPA dated tomorrow",
        _set(f"{P0}.dpa_signed", "2025-03-02"),
        {("DV202", f"{P0}.dpa_signed")},
    ),
    Case(
        "unknown recipient",
        _set(f"{A0}.recipients", ["hosting", "nobody"]),
        {("DV203", f"{A0}.recipients[1]")},
    ),
    Case(
        "processor without categories",
        _set(f"{P0}.data_categories", []),
        {("DV204", f"{P0}.data_categories")},
    ),
    Case(
        "processor gets more than declared",
        _set(f"{P0}.data_categories", ["user.contact.email", "user.financial"]),
        {("DV205", f"{P0}.data_categories[1]")},
    ),
    Case(
        "processor category only in an activity that does not name it",
        _set(f"{P0}.data_categories", ["user.contact"]),
        {("DV205", f"{P0}.data_categories[0]")},
    ),
    Case("recipient nobody uses", _set(f"{A0}.recipients", []), {("DV206", P0)}),
    Case(
        "joint controller",
        _set(f"{P0}.role", "joint_controller"),
        {("DV207", f"{P0}.role")},
    ),
    Case(
        "recipients mentioned but not named",
        _set("organisation.unnamed_recipients", both("Utvalgte leverandører.", "Suppliers.")),
        {("DV208", "organisation.unnamed_recipients")},
    ),
    # DV3xx the controller
    Case("no e-mail", _set("organisation.email", "-"), {("DV301", "organisation.email")}),
    Case("no address", _set("organisation.address", "-"), {("DV302", "organisation.address")}),
    Case("no org.nr", _set("organisation.org_nr", "-"), {("DV303", "organisation.org_nr")}),
    Case(
        "DPO without contact",
        _set("organisation.dpo", {"name": "Personvernombudet"}),
        {("DV304", "organisation.dpo")},
    ),
    Case(
        "authority blanked",
        _set(
            "organisation.supervisory_authority",
            {"name": "", "url": "", "address": None, "complaint_url": None},
        ),
        {("DV305", "organisation.supervisory_authority")},
    ),
    Case(
        "controller in the US without representative",
        _set(
            "organisation.address",
            {"street": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US"},
        ),
        {("DV306", "organisation.representative")},
    ),
    Case("processor role", _set("organisation.role", "both"), {("DV307", "organisation.role")}),
    Case(
        "complaints sent to TRUSTe",
        _set(
            "organisation.supervisory_authority",
            {
                "name": "TRUSTe",
                "url": "https://feedback-form.truste.com/watchdog/request",
                "address": None,
                "complaint_url": None,
            },
        ),
        {("DV308", "organisation.supervisory_authority.url")},
    ),
    Case(
        "complaint page elsewhere than the authority",
        _set(
            "organisation.supervisory_authority",
            {"complaint_url": "https://www.eksempel.no/klage"},
        ),
        {("DV308", "organisation.supervisory_authority.complaint_url")},
    ),
    # DV4xx activities
    Case(
        "no legal basis",
        _set(f"{A0}.legal_basis", "-"),
        {("DV401", f"{A0}.legal_basis")},
    ),
    Case(
        "legitimate interests, nothing stated",
        _set(f"{A0}.legal_basis", "legitimate_interests"),
        {
            ("DV402", f"{A0}.legitimate_interest"),
            ("DV403", f"{A0}.legitimate_interest_assessment"),
        },
    ),
    Case(
        "legitimate interests with interest but no LIA",
        _all(
            _set(f"{A0}.legal_basis", "legitimate_interests"),
            _set(f"{A0}.legitimate_interest", both("Sikkerhet.", "Security.")),
        ),
        {("DV403", f"{A0}.legitimate_interest_assessment")},
    ),
    Case(
        "consent without purpose",
        _set(f"{A1}.consent_purpose", "-"),
        {("DV404", f"{A1}.consent_purpose"), ("DV803", "consent_purposes[0]")},
    ),
    Case(
        "consent purpose unknown",
        _set(f"{A1}.consent_purpose", "nyhetsbrev"),
        {("DV405", f"{A1}.consent_purpose"), ("DV803", "consent_purposes[0]")},
    ),
    Case(
        "consent without withdrawal",
        _set("consent_purposes[0].withdraw", "-"),
        {("DV406", "consent_purposes[0].withdraw")},
    ),
    Case(
        "consent asked on the contract basis",
        _set(f"{A0}.consent_purpose", "statistics"),
        {("DV407", f"{A0}.consent_purpose")},
    ),
    Case(
        "requirement not stated",
        _set(f"{A0}.requirement", "-"),
        {("DV408", f"{A0}.requirement")},
    ),
    Case(
        "statutory without consequence",
        _all(
            _set(f"{A0}.requirement", "statutory"),
            _set(f"{A0}.requirement_consequence", "-"),
        ),
        {("DV409", f"{A0}.requirement_consequence")},
    ),
    Case(
        "next of kin without source",
        _set(f"{A0}.data_subjects", ["customer", "next_of_kin"]),
        {("DV410", f"{A0}.source")},
    ),
    Case(
        "publicly available without source",
        _set(f"{A0}.source_publicly_available", True),
        {("DV410", f"{A0}.source")},
    ),
    Case(
        "automated decision on legitimate interests",
        _all(
            _set(f"{A0}.legal_basis", "legitimate_interests"),
            _set(f"{A0}.legitimate_interest", both("Svindel.", "Fraud.")),
            _set(f"{A0}.legitimate_interest_assessment", "docs/lia-fraud.pdf"),
            _set(
                f"{A0}.automated_decisions",
                {"logic": both("Poeng.", "Scores."), "significance": both("Avslag.", "Refusal.")},
            ),
        ),
        {("DV411", f"{A0}.legal_basis")},
    ),
    Case(
        "automated decision with health data under employment",
        _all(
            _set(f"{A0}.data_categories", ["user.contact.email", "user.health_and_medical"]),
            _set(f"{A0}.special_category_basis", "employment"),
            _set(
                f"{A0}.automated_decisions",
                {"logic": both("Poeng.", "Scores."), "significance": both("Avslag.", "Refusal.")},
            ),
        ),
        {("DV412", f"{A0}.automated_decisions")},
    ),
    Case(
        "marketing on contract",
        _all(_set(f"{A1}.legal_basis", "contract"), _set(f"{A1}.consent_purpose", "-")),
        {
            ("DV413", f"{A1}.legal_basis"),
            ("DV414", f"{A1}.legal_basis"),
            ("DV803", "consent_purposes[0]"),
        },
    ),
    Case(
        "e-mail marketing on legitimate interests",
        _all(
            _set(f"{A1}.legal_basis", "legitimate_interests"),
            _set(f"{A1}.consent_purpose", "-"),
            _set(f"{A1}.legitimate_interest", both("Salg.", "Sales.")),
            _set(f"{A1}.legitimate_interest_assessment", "lia.pdf"),
        ),
        {("DV414", f"{A1}.legal_basis"), ("DV803", "consent_purposes[0]")},
    ),
    Case(
        "consent from employees",
        _set(f"{A1}.data_subjects", ["customer", "employee"]),
        {("DV415", f"{A1}.legal_basis")},
    ),
    Case(
        "consent for what the service needs",
        _all(
            _set(f"{A0}.legal_basis", "consent"),
            _set(f"{A0}.consent_purpose", "statistics"),
        ),
        {("DV416", f"{A0}.legal_basis")},
    ),
    # DV5xx special categories and identifiers
    Case(
        "health data without art. 9 basis",
        _set(f"{A0}.data_categories", ["user.contact.email", "user.health_and_medical.genetic"]),
        {("DV501", f"{A0}.special_category_basis")},
    ),
    Case(
        "religious belief without art. 9 basis",
        _set(f"{A0}.data_categories", ["user.contact.email", "user.demographic.religious_belief"]),
        {("DV501", f"{A0}.special_category_basis")},
    ),
    Case(
        "criminal records",
        _set(f"{A0}.data_categories", ["user.contact.email", "user.criminal_history"]),
        {("DV502", f"{A0}.data_categories[1]")},
    ),
    Case(
        "fødselsnummer without need",
        _set(
            f"{A0}.data_categories",
            ["user.contact.email", "user.government_id.national_identification_number"],
        ),
        {("DV503", f"{A0}.national_id_need")},
    ),
    Case(
        "art. 9 basis without special categories",
        _set(f"{A0}.special_category_basis", "explicit_consent"),
        {("DV504", f"{A0}.special_category_basis")},
    ),
    # DV6xx retention
    Case("no retention", _set(f"{A0}.retention", "-"), {("DV601", f"{A0}.retention")}),
    Case(
        "indefinite",
        _set(f"{A0}.retention", {"indefinite": True}),
        {("DV602", f"{A0}.retention.indefinite")},
    ),
    Case(
        "neither rule nor period",
        _set(f"{A0}.retention", {"trigger": "contract_end"}),
        {("DV603", f"{A0}.retention")},
    ),
    Case(
        "unknown rule",
        _set(f"{A0}.retention", {"rule": "bokforingsloven-10-ar"}),
        {("DV604", f"{A0}.retention.rule")},
    ),
    Case(
        "period without trigger",
        _set(f"{A0}.retention", {"period": "P1Y"}),
        {("DV605", f"{A0}.retention.trigger")},
    ),
    Case(
        "rule and period",
        _set(f"{A0}.retention", {"rule": "bokforingsloven-13-1-1-4", "period": "P1Y"}),
        {("DV606", f"{A0}.retention.period")},
    ),
    # DV7xx languages
    Case(
        "plain string counts for the first language only",
        _set(f"{A0}.purpose", "Levere tjenesten."),
        {("DV701", f"{A0}.purpose")},
    ),
    Case(
        "English missing in a nested text",
        _set(f"{P0}.service", {"nb": "Drift."}),
        {("DV701", f"{P0}.service")},
    ),
    Case(
        "Bokmål missing in a consent withdrawal text",
        _set("consent_purposes[1].withdraw", {"en": "Change it in the banner."}),
        {("DV701", "consent_purposes[1].withdraw")},
    ),
    # DV8xx cookies and consent purposes
    Case(
        "marketing cookie without consent",
        _set("cookies[1].consent_purpose", "-"),
        {("DV801", "cookies[1].consent_purpose"), ("DV803", "consent_purposes[1]")},
    ),
    Case(
        "cookie with unknown consent purpose",
        _set("cookies[1].consent_purpose", "stats"),
        {("DV802", "cookies[1].consent_purpose"), ("DV803", "consent_purposes[1]")},
    ),
    Case(
        "e-mail marketing consent without double opt-in",
        _set("consent_purposes[0].double_opt_in", False),
        {("DV804", "consent_purposes[0].double_opt_in")},
    ),
    Case(
        "cookie identifiers with no cookie listed",
        _all(
            _set("cookies", []),
            _set(f"{A0}.data_categories", ["user.contact.email", "user.device.cookie_id"]),
        ),
        {("DV805", f"{A0}.data_categories[1]"), ("DV803", "consent_purposes[1]")},
    ),
    # DV9xx the register as a record
    Case(
        "duplicate activity key",
        _set(f"{A1}.key", "customer-service"),
        {("DV901", f"{A1}.key")},
    ),
    Case(
        "duplicate sub-processor key",
        _add_processor(key="hosting", country="NO"),
        {("DV901", f"{P1}.key")},
    ),
    Case(
        "dataset stores an undeclared category",
        _set(
            "dataset[0].collections[0].fields[1].data_categories",
            ["user.government_id.national_identification_number"],
        ),
        {("DV902", "dataset[0].collections[0].fields[1].data_categories[0]")},
    ),
    Case(
        "an activity's data only as `user`",
        _set(f"{A0}.data_categories", ["user"]),
        {("DV903", f"{A0}.data_categories[0]")},
    ),
    Case(
        "a processor's data only as `user`",
        _set(f"{P0}.data_categories", ["user.contact.email", "user"]),
        {("DV903", f"{P0}.data_categories[1]"), ("DV205", f"{P0}.data_categories[1]")},
    ),
    Case(
        "a TODO placeholder in a value",
        _set("organisation.address.street", "TODO: Gateadresse 1"),
        {("DV904", "organisation.address.street")},
    ),
    Case(
        "TODO placeholders in a text per language and in a dataset",
        _all(
            _set(f"{A0}.purpose", both("TODO: formålet", "TODO")),
            _set("dataset[0].collections[0].fields[0].description", "TODO"),
        ),
        {
            ("DV904", f"{A0}.purpose.nb"),
            ("DV904", f"{A0}.purpose.en"),
            ("DV904", "dataset[0].collections[0].fields[0].description"),
        },
    ),
]


def test_clean_register_has_no_findings() -> None:
    assert run(clean()) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_fires_at_its_path(case: Case) -> None:
    data = clean()
    case.mutate(data)
    assert found(data, case.today) == case.expected


def test_every_rule_has_a_case() -> None:
    fired = {rule_id for case in CASES for rule_id, _ in case.expected}
    # DV000 is the loader's; the runner (lint.py) reports the dataset-graph and live rules.
    assert fired == set(RULES) - {"DV000"} - RUNNER_RULES


def test_lint_never_reports_a_runner_rule() -> None:
    assert set(RULES) >= RUNNER_RULES
    assert all(rule_id.startswith("DV95") for rule_id in RUNNER_RULES)
    data = clean()
    # A collection with personal data that no identity reaches: the runner's DV951.
    del data["dataset"][0]["collections"][0]["fields"][0]["fides_meta"]
    assert {rule_id for rule_id, _ in found(data)} & RUNNER_RULES == set()


@pytest.mark.parametrize(
    "text",
    ["TODO", "Gate TODO 1", "TODO: postnummer", "(TODO)"],
)
def test_todo_as_a_word_is_a_placeholder(text: str) -> None:
    data = clean()
    data["organisation"]["address"]["city"] = text
    assert found(data) == {("DV904", "organisation.address.city")}


@pytest.mark.parametrize("text", ["Todo-listen", "TODOS", "MASTODONT", "todo"])
def test_todo_inside_a_word_or_lower_case_is_not(text: str) -> None:
    data = clean()
    data["organisation"]["address"]["city"] = text
    assert found(data) == set()


def test_unknown_country_is_not_counted_outside_the_eea() -> None:
    data = clean()
    _add_processor(country="unknown", transfer={"basis": "scc_2021"})(data)
    # No DV108 (safeguards copy): whether the data leaves the EEA is what is unknown.
    assert found(data) == {("DV110", f"{P1}.country")}


@pytest.mark.parametrize(
    "url",
    [
        "https://www.datatilsynet.no",
        "https://www.datatilsynet.no/om-datatilsynet/kontakt-oss/klage-til-datatilsynet/",
        "http://DATATILSYNET.NO",
        "www.imy.se/klagomal",
        "https://www.cnil.fr/fr/plaintes",
        "https://www.datenschutz-berlin.de/",
        "https://datatilsynet.dk.",
    ],
)
def test_eea_dpa_urls(url: str) -> None:
    assert is_eea_dpa_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://feedback-form.truste.com/watchdog/request",
        "https://datatilsynet.no.example.com/",
        "https://notdatatilsynet.no/",
        "https://www.edoeb.admin.ch/",  # Switzerland: adequate, but not in the EEA
        "https://ico.org.uk/",  # the United Kingdom left the EEA
        "not a url",
        "",
    ],
)
def test_not_eea_dpa_urls(url: str) -> None:
    assert not is_eea_dpa_url(url)


def test_every_eea_state_has_an_authority_domain() -> None:
    assert set(EEA_DPA_DOMAINS.values()) == EEA


@pytest.mark.parametrize(
    ("column", "hint"),
    [
        ("email", "an e-mail address"),
        ("customer_email", "an e-mail address"),
        ("EmailAddress", "an e-mail address"),
        ("phone_number", "a phone number"),
        ("fornavn", "a name"),
        ("name", "a name"),
        ("ip_address", "an IP address"),
        ("fodselsnummer", "a fødselsnummer"),
        ("password_hash", "a password"),
        ("postal_code", "a postal code"),
        ("product_name", None),
        ("domain_name", None),
        ("mailbox_size", None),
        ("created_at", None),
        ("id", None),
        ("customer_id", None),
    ],
)
def test_personal_column_hint(column: str, hint: str | None) -> None:
    assert personal_column_hint(column) == hint


@pytest.mark.parametrize("country", sorted(ADEQUACY_DECISIONS.keys() - {"US"}))
def test_adequacy_accepted_for_each_country_with_a_decision(country: str) -> None:
    data = clean()
    _add_processor(country=country, transfer={"basis": "adequacy"})(data)
    assert found(data) == set()


@pytest.mark.parametrize("country", ["NO", "IS", "LI", "DE", "SE", "IE", "FI"])
def test_eea_recipients_need_no_transfer(country: str) -> None:
    data = clean()
    _add_processor(country=country)(data)
    assert found(data) == set()


def test_eea_is_eu_and_three() -> None:
    assert len(EEA) == 30
    assert {"NO", "IS", "LI"} <= EEA
    assert "GB" not in EEA and "CH" not in EEA


def test_dpf_certified_us_processor_is_clean() -> None:
    data = clean()
    _add_processor(transfer={"basis": "dpf", "dpf_certified": True})(data)
    assert found(data) == set()


def test_scc_with_safeguards_url_is_clean() -> None:
    data = clean()
    _add_processor(
        country="IN", transfer={"basis": "scc_2021", "safeguards_url": "https://x.example/scc"}
    )(data)
    assert found(data) == set()


def test_dpa_signed_today_is_fine() -> None:
    data = clean()
    processor(data)["dpa_signed"] = TODAY.isoformat()
    assert found(data) == set()


def test_builtin_retention_rules_are_clean() -> None:
    for name in BUILTIN_RETENTION_RULES:
        data = clean()
        activity(data)["retention"] = {"rule": name}
        assert found(data) == set(), name


def test_special_category_with_basis_is_clean() -> None:
    data = clean()
    activity(data)["data_categories"].append("user.biometric.fingerprint")
    activity(data)["special_category_basis"] = "explicit_consent"
    activity(data)["consent_purpose"] = "statistics"
    assert found(data) == set()


def test_national_id_with_need_is_clean() -> None:
    data = clean()
    activity(data)["data_categories"].append("user.government_id.national_identification_number")
    activity(data)["national_id_need"] = both("Sikker identifisering.", "Secure identification.")
    assert found(data) == set()


def test_source_makes_it_an_article_14_activity() -> None:
    data = clean()
    a = activity(data)
    a["data_subjects"] = ["next_of_kin"]
    a["source"] = both("Fra den ansatte.", "From the employee.")
    del a["requirement"]
    del a["requirement_consequence"]
    assert found(data) == set()


def test_a_category_is_covered_by_a_broader_one_not_a_narrower_one() -> None:
    data = clean()
    activity(data)["data_categories"] = ["user.contact"]
    processor(data)["data_categories"] = ["user.contact.email", "user.contact.phone_number"]
    assert found(data) == set()


def test_single_language_register_accepts_plain_strings() -> None:
    data = clean()
    data["organisation"]["languages"] = ["nb"]
    activity(data)["purpose"] = "Levere tjenesten."
    assert found(data) == set()


def test_missing_languages_are_named() -> None:
    data = clean()
    activity(data)["purpose"] = "Levere tjenesten."
    (finding,) = run(data)
    assert "en" in finding.message and "first language" in finding.message


def test_findings_are_sorted_by_severity_then_id_then_path() -> None:
    data = clean()
    del data["organisation"]["org_nr"]  # warning
    data["organisation"]["role"] = "processor"  # info
    del activity(data, 1)["retention"]  # error DV601 on processing[1]
    del activity(data, 0)["retention"]  # error DV601 on processing[0]
    del data["organisation"]["email"]  # error DV301
    findings = run(data)
    assert [(f.id, path_str(f.path)) for f in findings] == [
        ("DV301", "organisation.email"),
        ("DV601", f"{A0}.retention"),
        ("DV601", f"{A1}.retention"),
        ("DV303", "organisation.org_nr"),
        ("DV307", "organisation.role"),
    ]
    assert [f.severity for f in findings] == [
        Severity.error,
        Severity.error,
        Severity.error,
        Severity.warning,
        Severity.info,
    ]


def test_messages_carry_no_texts_from_the_register() -> None:
    """Messages quote keys and names, never the texts (which may hold personal data)."""
    data = clean()
    activity(data)["purpose"] = "Kontakt Ola Nordmann på 99 99 99 99."
    activity(data)["legal_basis"] = "legitimate_interests"
    for finding in run(data):
        assert "Nordmann" not in finding.message


def test_lint_is_deterministic() -> None:
    data = clean()
    _add_processor(transfer={"basis": "privacy_shield"})(data)
    del activity(data)["retention"]
    register = Register.model_validate(data)
    assert lint(register, today=TODAY) == lint(register, today=TODAY)


def test_every_rule_is_well_formed() -> None:
    slugs = [r.slug for r in RULES.values()]
    assert len(slugs) == len(set(slugs))
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule_id.startswith("DV") and len(rule_id) == 5
        assert rule.slug == rule.slug.lower() and " " not in rule.slug
        assert rule.legal_source and rule.title and rule.fix
