"""The six example registers: the demo company passes `datavern check`, each seed
company's register fails it with the real problems of that company's notice.

The seed registers (examples/<name>/) hold only what each notice in seeds/
states. The expectations below are the problems of each notice that a register
can show, pinned to the node the finding points at; the problems a register
cannot show are listed in examples/<name>/NOTICE-AUDIT.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datavern.cli.main import app
from datavern.core.clock import FixedClock, use_clock
from datavern.dsr.graph import graph_errors, plan_walk
from datavern.register.lint import check_register
from datavern.register.loader import LoadedRegister, load_register
from datavern.register.rules import Finding, Severity, lint
from datavern.register.schema import Register

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# A day after every date in the examples (the demo's last DPA is 2025-01-15).
TODAY = date(2025, 6, 1)

SEEDS = {
    "bysant": "000_79faf12d7c97a551.txt",
    "hosting-001": "001_0999d4d53e4fbb70.txt",
    "07-sor-it-drift": "002_e3e4994a799a7353.txt",
    "integrasjonspartner-bits": "003_8574d9de256b9d0f.txt",
    "bizbot": "004_1d927393ebeb4c1d.txt",
}
ALL = ["demo", *SEEDS]

runner = CliRunner()


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    previous = use_clock(FixedClock(datetime(2025, 6, 1, 12, tzinfo=UTC)))
    yield
    use_clock(previous)


def load(name: str) -> LoadedRegister:
    return load_register(EXAMPLES / name)


def resolve(register: Register, spec: str) -> tuple[str | int, ...]:
    """`activities[kontaktskjema].retention` -> ("systems", 0, "processing", 2, "retention").

    The head names an activity (`activities[key]`), a sub-processor
    (`sub_processors[key]`) or a top-level field; the rest is field names and list
    indexes (`data_categories.0`).
    """
    head, _, rest = spec.partition(".")
    tail = tuple(int(p) if p.isdigit() else p for p in rest.split(".")) if rest else ()
    match = re.fullmatch(r"(activities|sub_processors)\[([^\]]+)\]", head)
    if match is None:
        return (head, *tail)
    kind, key = match.groups()
    if kind == "sub_processors":
        index = [p.key for p in register.sub_processors].index(key)
        return ("sub_processors", index, *tail)
    for i, system in enumerate(register.systems):
        for j, activity in enumerate(system.processing):
            if activity.key == key:
                return ("systems", i, "processing", j, *tail)
    raise AssertionError(f"no activity {key!r}")


def findings(name: str) -> tuple[Register, list[Finding]]:
    register = load(name).register
    return register, lint(register, today=TODAY)


def fired(name: str) -> set[tuple[str, tuple[str | int, ...]]]:
    _, found = findings(name)
    return {(f.slug, f.path) for f in found}


def expect(name: str, expected: list[tuple[str, str]]) -> None:
    """Each (slug, path spec) must be among the findings for example ``name``."""
    register, _ = findings(name)
    got = fired(name)
    missing = [
        (slug, spec) for slug, spec in expected if (slug, resolve(register, spec)) not in got
    ]
    assert not missing, f"{name}: expected findings not reported: {missing}"


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# ------------------------------------------------------------------ every example


@pytest.mark.parametrize("name", ALL)
def test_example_loads(name: str) -> None:
    loaded = load(name)
    assert loaded.register.organisation.name
    assert loaded.register.systems
    assert "register.yaml" in loaded.files


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_register_names_its_seed_and_has_an_audit(name: str) -> None:
    text = (EXAMPLES / name / "register.yaml").read_text(encoding="utf-8")
    first_comment = text.split("\n\n", 1)[0]
    assert first_comment.startswith("#")
    assert SEEDS[name] in first_comment
    audit = (EXAMPLES / name / "NOTICE-AUDIT.md").read_text(encoding="utf-8")
    assert SEEDS[name] in audit
    assert "## Not caught by any lint rule" in audit


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_notices_are_norwegian_only(name: str) -> None:
    # Every seed notice is published in bokmål only; the register says so, so
    # the check does not demand English texts the company never had.
    assert load(name).register.organisation.languages == ["nb"]


# ------------------------------------------------------------------ the demo


def test_demo_has_no_errors_or_warnings() -> None:
    _, found = findings("demo")
    serious = [f for f in found if f.severity is not Severity.info]
    assert serious == [], [f"{f.id} {f.message}" for f in serious]
    # The one reminder: a hosting company is also a processor for its customers.
    assert {f.slug for f in found} <= {"processor-role-reminder"}


def test_check_on_the_demo_exits_0() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / "demo"), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["summary"]["errors"] == 0
    assert report["summary"]["warnings"] == 0


def test_demo_is_complete() -> None:
    register = load("demo").register
    org = register.organisation
    assert org.org_nr and org.address and org.email and org.dpo and org.privacy_centre_url
    assert org.languages == ["nb", "en"]
    assert {c.category.value for c in register.cookies} == {"necessary", "analytics", "marketing"}
    assert any(c.double_opt_in for c in register.consent_purposes)
    bases = {a.legal_basis.value for _, a in register.activities() if a.legal_basis}
    assert bases == {"contract", "legal_obligation", "legitimate_interests", "consent"}
    rules = {a.retention.rule for _, a in register.activities() if a.retention}
    assert "bokforingsloven-13-1-1-4" in rules
    us = [p for p in register.sub_processors if p.country == "US"]
    assert len(us) == 1 and us[0].transfer is not None
    assert us[0].transfer.basis.value == "dpf" and us[0].transfer.dpf_certified is True
    others = [p for p in register.sub_processors if p.country != "US"]
    assert {p.country for p in others} <= {"NO", "SE", "DK"}


def test_demo_dataset_is_included_and_reaches_every_table_from_email() -> None:
    loaded = load("demo")
    assert "datasets/kundedatabase.yaml" in loaded.files
    datasets = loaded.register.dataset
    assert [d.fides_key for d in datasets] == ["fjordvarme_kundedatabase"]
    assert graph_errors(datasets) == []
    plan = plan_walk(datasets, ["email"])
    reached = {step.collection for step in plan.steps}
    assert plan.unreachable == ()
    assert reached == {"customers", "orders", "invoices", "support_tickets", "login_events"}


# ------------------------------------------------------------------ the seeds


@pytest.mark.parametrize("name", list(SEEDS))
def test_check_on_a_seed_exits_1(name: str) -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / name), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is True  # the register is well formed; the notice is not
    assert report["summary"]["errors"] > 0


def test_bysant_privacy_shield_and_indefinite_retention() -> None:
    expect(
        "bysant",
        [
            # Dropbox under the EU-US Privacy Shield, struck down in Schrems II.
            ("transfer-basis-invalid", "sub_processors[dropbox].transfer.basis"),
            # Providers the notice places nowhere: whether data leaves the EEA is unknown.
            ("recipient-country-unknown", "sub_processors[google].country"),
            ("recipient-country-unknown", "sub_processors[amazon].country"),
            ("recipient-country-unknown", "sub_processors[microsoft-365].country"),
            ("recipient-country-unknown", "sub_processors[skype].country"),
            ("recipient-country-unknown", "sub_processors[telia].country"),
            # Complaints to TRUSTe instead of Datatilsynet.
            ("supervisory-authority-not-eea-dpa", "organisation.supervisory_authority.url"),
            # "tredjeparter som Bysant samarbeider med"; onward transfers by agents.
            ("recipients-unnamed", "organisation.unnamed_recipients"),
            ("transfers-unspecified", "organisation.unspecified_transfers"),
            # "anonymiserte informasjonskapsler", none listed.
            ("cookies-not-listed", "activities[trafikkmaling].data_categories.0"),
            # "all informasjon lagret i kundeløsninger": not itemised.
            ("data-categories-unitemised", "activities[drift-og-backup].data_categories.0"),
            ("data-categories-unitemised", "sub_processors[dropbox].data_categories.0"),
            # "på ubestemt tid": contact form and reviews.
            ("retention-indefinite", "activities[kontaktskjema].retention.indefinite"),
            ("retention-indefinite", "activities[omtaler].retention.indefinite"),
            # Consent from "Ved å fortsette å bruke dette nettstedet": no consent purpose.
            ("consent-purpose-missing", "activities[serverlogg].consent_purpose"),
            ("consent-purpose-missing", "activities[trafikkmaling].consent_purpose"),
            ("consent-purpose-missing", "activities[kontaktskjema].consent_purpose"),
            # ... even for logs kept against misuse, which need no consent.
            ("consent-for-necessary-processing", "activities[serverlogg].legal_basis"),
            # "i henhold til lover, forskrifter og våre avtaler": no basis per purpose.
            ("legal-basis-missing", "activities[kundeforhold].legal_basis"),
            ("legal-basis-missing", "activities[fakturering].legal_basis"),
            ("legal-basis-missing", "activities[kortbetaling].legal_basis"),
            # "en del må lagres grunnet egne lovpålegg": no period, no law named.
            ("retention-period-missing", "activities[fakturering].retention"),
            ("retention-missing", "activities[serverlogg].retention"),
            ("requirement-missing", "activities[kundeforhold].requirement"),
        ],
    )
    register, found = findings("bysant")
    # No data processing agreement is mentioned for any sub-processor.
    dpa = {f.path for f in found if f.slug == "dpa-missing"}
    assert dpa == {
        resolve(register, f"sub_processors[{p.key}].dpa_signed") for p in register.sub_processors
    }


def test_bysant_findings_point_at_file_line_column() -> None:
    report = check_register(EXAMPLES / "bysant", today=TODAY)
    file = EXAMPLES / "bysant" / "register.yaml"
    by_rule = {(e.rule.slug, e.path): e.location for e in report.entries}
    truste = by_rule[
        ("supervisory-authority-not-eea-dpa", "organisation.supervisory_authority.url")
    ]
    assert truste is not None and truste.line == line_of(file, "url: https://feedback-form")
    shield = by_rule[("transfer-basis-invalid", "sub_processors[12].transfer.basis")]
    assert shield is not None and Path(shield.file) == file
    assert shield.line == line_of(file, "basis: privacy_shield")
    indefinite = [
        e.location for e in report.entries if e.rule.slug == "retention-indefinite" and e.location
    ]
    assert min(loc.line or 0 for loc in indefinite) == line_of(file, "indefinite: true")


def test_hosting_001_unnamed_controller() -> None:
    expect(
        "hosting-001",
        [
            # No name, org.nr, address, e-mail or phone in the notice.
            ("controller-email-missing", "organisation.email"),
            ("controller-address-missing", "organisation.address"),
            ("controller-org-nr-missing", "organisation.org_nr"),
            # Newsletters under "Stort sett alle behandlinger [...] avtaler".
            ("legal-basis-missing", "activities[nyhetsbrev].legal_basis"),
            # "dersom du har gitt ditt samtykke, eller om det er nødvendig for å
            # oppfylle en avtale": two bases at once.
            ("legal-basis-missing", "activities[bruksanalyse].legal_basis"),
            # Cookies with a browser opt-out only.
            ("legal-basis-missing", "activities[informasjonskapsler].legal_basis"),
            # "så lenge det er nødvendig": no period anywhere.
            ("retention-period-missing", "activities[identifikasjon].retention"),
            ("retention-period-missing", "activities[kontakt-og-fakturering].retention"),
            ("retention-missing", "activities[nyhetsbrev].retention"),
            ("requirement-missing", "activities[identifikasjon].requirement"),
            # "vi tar rollen som databehandler".
            ("processor-role-reminder", "organisation.role"),
            # "utvalgte leverandører", registrars and SSL vendors, none named; data
            # "kan [...] bli overført til [...] land utenfor EU / EØS".
            ("recipients-unnamed", "organisation.unnamed_recipients"),
            ("transfers-unspecified", "organisation.unspecified_transfers"),
            # Cookies with a browser opt-out, none listed.
            ("cookies-not-listed", "activities[informasjonskapsler].data_categories.0"),
            # "visse opplysninger" shared with registrars.
            ("data-categories-unitemised", "activities[domene-og-ssl].data_categories.0"),
        ],
    )


def test_07_sor_us_transfers() -> None:
    expect(
        "07-sor-it-drift",
        [
            # Squareup: "Ved å benytte tjenesten samtykker du til at
            # personopplysninger blir overført til, og behandlet i, USA".
            ("transfer-derogation", "sub_processors[squareup].transfer.basis"),
            # A general "EU Standard Contractual Clauses" claim without version,
            # party or copy, for the recipients the notice places in the US.
            ("scc-version-unknown", "sub_processors[managewp].transfer.basis"),
            ("scc-version-unknown", "sub_processors[atlassian].transfer.basis"),
            # ... and recipients the notice places nowhere.
            ("recipient-country-unknown", "sub_processors[facebook-inc].country"),
            ("recipient-country-unknown", "sub_processors[google].country"),
            ("recipient-country-unknown", "sub_processors[delighted].country"),
            ("recipient-country-unknown", "sub_processors[payex].country"),
            ("recipient-country-unknown", "sub_processors[globalsign].country"),
            ("recipient-country-unknown", "sub_processors[telia].country"),
            # Linode LLC (USA), data centre "innenfor EU", no transfer basis.
            ("transfer-basis-missing", "sub_processors[linode].transfer"),
            # "tredjepart som 07 SØR IT DRIFT AS samarbeider med, så vel innenfor som
            # utenfor EØS", and international registrars.
            ("recipients-unnamed", "organisation.unnamed_recipients"),
            ("transfers-unspecified", "organisation.unspecified_transfers"),
            # Cookies "i markedsføringsøyemed", details in a policy not in the notice.
            ("cookies-not-listed", "activities[tjenesteanalyse].data_categories.3"),
            ("cookies-not-listed", "activities[annonser-og-markedsforing].data_categories.0"),
            ("data-categories-unitemised", "activities[sitebuilder].data_categories.0"),
            # No data processing agreement mentioned.
            ("dpa-missing", "sub_processors[payex].dpa_signed"),
            ("dpa-missing", "sub_processors[squareup].dpa_signed"),
            ("dpa-missing", "sub_processors[google].dpa_signed"),
            # "Før du kjøper [...] avgir du samtykke": consent bundled with purchase.
            ("consent-purpose-missing", "activities[kunderegister].consent_purpose"),
            ("consent-purpose-missing", "activities[sitebuilder].consent_purpose"),
            # ... and the service cannot be had without it.
            ("consent-for-necessary-processing", "activities[kunderegister].legal_basis"),
            ("consent-for-necessary-processing", "activities[betaling].legal_basis"),
            # "Det er ikke frivillig", with no consequence stated.
            (
                "requirement-consequence-missing",
                "activities[kunderegister].requirement_consequence",
            ),
            # Website visitors and ad tracking: no basis at all.
            ("legal-basis-missing", "activities[tjenesteanalyse].legal_basis"),
            ("legal-basis-missing", "activities[annonser-og-markedsforing].legal_basis"),
            # "slettet fortløpende": no period; elsewhere nothing.
            ("retention-period-missing", "activities[kunderegister].retention"),
            ("retention-missing", "activities[oppdatering-fra-registre].retention"),
            ("retention-missing", "activities[annonser-og-markedsforing].retention"),
            ("controller-org-nr-missing", "organisation.org_nr"),
        ],
    )


def test_integrasjonspartner_bits_contact_bases_and_retention() -> None:
    expect(
        "integrasjonspartner-bits",
        [
            # "ved å kontakte oss", with no e-mail, phone or website.
            ("controller-email-missing", "organisation.email"),
            # Direct sales on "en berettiget og gjensidig interesse": no interest
            # named, no assessment to point to.
            ("legitimate-interest-not-stated", "activities[direktesalg].legitimate_interest"),
            (
                "legitimate-interest-assessment-missing",
                "activities[direktesalg].legitimate_interest_assessment",
            ),
            # Marketing e-mail on consent, with no consent text and no contact to
            # withdraw through.
            ("consent-purpose-missing", "activities[markedsforing-e-post].consent_purpose"),
            # Bases listed but not tied to these purposes.
            ("legal-basis-missing", "activities[partneres-markedsforing].legal_basis"),
            ("legal-basis-missing", "activities[jobbsoknader].legal_basis"),
            ("legal-basis-missing", "activities[informasjonskapsler-og-analyse].legal_basis"),
            # "en rimelig periode etter din siste samhandling med oss".
            ("retention-period-missing", "activities[kontraktsforpliktelser].retention"),
            ("retention-period-missing", "activities[jobbsoknader].retention"),
            ("processor-role-reminder", "organisation.role"),
            # "distributører, agenter, underleverandører og andre assosierte
            # organisasjoner", none named.
            ("recipients-unnamed", "organisation.unnamed_recipients"),
            # Cookies "for forretnings-og markedsføringsinformasjon", none listed.
            (
                "cookies-not-listed",
                "activities[informasjonskapsler-og-analyse].data_categories.1",
            ),
            # "samler vi inn opplysningene du gir": not itemised.
            ("data-categories-unitemised", "activities[jobbsoknader].data_categories.0"),
        ],
    )


def test_bizbot_fodselsnummer_and_no_retention() -> None:
    expect(
        "bizbot",
        [
            # "fødsels- og personnummer" for every user, "av identifiseringsårsaker".
            (
                "national-id-need-missing",
                "activities[registrering-og-identifisering].national_id_need",
            ),
            # The garbled "Samtykke [...] berettiget interesse" basis.
            ("legal-basis-missing", "activities[registrering-og-identifisering].legal_basis"),
            ("legal-basis-missing", "activities[markedsforing].legal_basis"),
            ("legal-basis-missing", "activities[offentlige-registre].legal_basis"),
            # Newsletter subscription and cookie "consent" by browser settings.
            ("consent-purpose-missing", "activities[nyhetsbrev].consent_purpose"),
            (
                "consent-purpose-missing",
                "activities[statistikk-og-informasjonskapsler].consent_purpose",
            ),
            ("controller-org-nr-missing", "organisation.org_nr"),
            # "Leverandører, konsulenter, markedsføringspartnere", none named.
            ("recipients-unnamed", "organisation.unnamed_recipients"),
            # "førsteparts informasjonskapsler", none listed.
            (
                "cookies-not-listed",
                "activities[statistikk-og-informasjonskapsler].data_categories.0",
            ),
        ],
    )
    register, found = findings("bizbot")
    # The notice says nothing about retention for any purpose.
    retention = {f.path for f in found if f.slug == "retention-missing"}
    assert retention == {
        resolve(register, f"activities[{a.key}].retention") for _, a in register.activities()
    }


# ------------------------------------------------------------------ what the notices do not say


@pytest.mark.parametrize("name", ALL)
def test_no_example_holds_a_todo_placeholder(name: str) -> None:
    report = check_register(EXAMPLES / name, today=TODAY)
    assert [e for e in report.entries if e.rule.id == "DV904"] == []


@pytest.mark.parametrize("name", ALL)
def test_the_dataset_graph_of_every_example_is_sound(name: str) -> None:
    report = check_register(EXAMPLES / name, today=TODAY)
    assert [e.message for e in report.entries if e.rule.id.startswith("DV95")] == []


def test_seed_countries_are_known_only_where_the_notice_gives_them() -> None:
    """Countries taken from public knowledge were replaced by `unknown` (DV110)."""
    unknown = {
        name: sorted(p.key for p in load(name).register.sub_processors if p.country == "unknown")
        for name in SEEDS
    }
    assert unknown["bysant"] == ["amazon", "google", "microsoft-365", "skype", "telia"]
    assert unknown["07-sor-it-drift"] == [
        "delighted",
        "facebook-inc",
        "globalsign",
        "google",
        "payex",
        "telia",
    ]


def test_unnamed_recipients_and_transfers_only_where_the_notice_states_them() -> None:
    recipients = {n for n in SEEDS if load(n).register.organisation.unnamed_recipients}
    transfers = {n for n in SEEDS if load(n).register.organisation.unspecified_transfers}
    assert recipients == set(SEEDS)
    # Seeds 003 and 004 say nothing about transfers at all: nothing to record.
    assert transfers == {"bysant", "hosting-001", "07-sor-it-drift"}


def test_every_seed_uses_cookies_without_listing_them() -> None:
    for name in SEEDS:
        register, found = findings(name)
        assert not register.cookies
        assert any(f.slug == "cookies-not-listed" for f in found), name
