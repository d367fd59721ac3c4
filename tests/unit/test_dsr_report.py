"""The access report (art. 15): what the subject reads, in bokmål and English, as HTML.

The register is the notice tests' small register (Bølgeblikk Drift AS): four purposes,
one US recipient under the Data Privacy Framework on the customer purpose only.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from datavern.core.errors import InvalidInput
from datavern.dsr.report import (
    CollectedCollection,
    CollectedData,
    CollectedDataset,
    CollectedField,
    SearchedIdentity,
    build_report_view,
    covers,
    format_value,
    mask_identity,
    render_access_report,
)
from datavern.dsr.rules import parse_identity
from notice_fixtures import register

AT = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)  # 10.15 in Oslo (winter time)
EMAIL = "åse.ødegård@bølge.example"
HOSTILE = "<script>alert('æøå')</script>"


def collected(**extra_rows: Any) -> CollectedData:
    """Åse's data: a customer row (e-mail, name, IP) and two log rows (IP only)."""
    customer = {"epost": EMAIL, "navn": HOSTILE, "ip": "10.0.0.7", **extra_rows}
    return CollectedData.from_nested(
        {
            "kundedb": {
                "kunder": {
                    "fields": {
                        "epost": ["user.contact.email"],
                        "navn": ["user.name"],
                        "ip": "user.device.ip_address",
                    },
                    "rows": [customer],
                },
                "innlogging": {
                    "fields": {"ip": ["user.device.ip_address"]},
                    "rows": [{"ip": "10.0.0.7"}, {"ip": "<b>fet</b>"}],
                },
            },
            "arkiv": {"gamle_kunder": {"fields": {"epost": ["user.contact.email"]}, "rows": []}},
        },
        identities={"email": EMAIL},
    )


def empty() -> CollectedData:
    return CollectedData.from_nested(
        {
            "kundedb": {
                "kunder": {"fields": {"epost": ["user.contact.email"]}, "rows": []},
                "innlogging": {"fields": {"ip": ["user.device.ip_address"]}, "rows": []},
            }
        },
        identities={"email": "ola.nordmann@eksempel.no", "phone": "+4791234567"},
    )


def html(data: CollectedData, lang: str = "nb", **kwargs: Any) -> str:
    reg = kwargs.pop("register", None) or register()
    out = render_access_report(reg, data, lang, "html", generated_at=AT, **kwargs)  # type: ignore[arg-type]
    assert isinstance(out, bytes)
    return out.decode("utf-8")


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', page, re.S)
    assert match, section_id
    return match.group(0)


def text(fragment: str) -> str:
    """Visible text, tags dropped, entities kept as written (to check escaping separately)."""
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))
    return re.sub(r" ([.,:;])", r"\1", spaced)


# --- CollectedData -----------------------------------------------------------------


def test_from_nested_builds_datasets_collections_fields_rows_and_counts() -> None:
    data = collected()
    assert [d.key for d in data.datasets] == ["kundedb", "arkiv"]
    kunder = data.datasets[0].collections[0]
    assert kunder.fields == [
        CollectedField("epost", ("user.contact.email",)),
        CollectedField("navn", ("user.name",)),
        CollectedField("ip", ("user.device.ip_address",)),
    ]
    assert (kunder.count, data.datasets[0].count, data.datasets[1].count) == (1, 3, 0)
    assert data.record_count == 3 and data.found
    assert data.identities == [SearchedIdentity("email", EMAIL)]
    # Categories of collections with rows only: the empty archive adds nothing.
    assert data.categories() == ["user.contact.email", "user.name", "user.device.ip_address"]


def test_from_nested_accepts_field_lists_inferred_fields_and_identity_objects() -> None:
    identity = parse_identity("phone", "912 34 567")
    data = CollectedData.from_nested(
        {
            "db": {
                "a": {"fields": ["x", ("y", "user.name"), ["z", None]], "rows": [{"x": 1}]},
                "b": {"rows": [{"p": 1, "q": 2}, {"q": 3, "r": 4}]},
            }
        },
        identities=[identity, ("customer_id", "K-1")],
    )
    a, b = data.datasets[0].collections
    assert a.fields == [
        CollectedField("x"),
        CollectedField("y", ("user.name",)),
        CollectedField("z"),
    ]
    assert [f.name for f in b.fields] == ["p", "q", "r"]
    assert data.identities == [
        SearchedIdentity("phone", identity.value),
        SearchedIdentity("customer_id", "K-1"),
    ]


@pytest.mark.parametrize(
    ("nested", "message"),
    [
        ({"db": ["t"]}, "dataset 'db'"),
        ({"db": {"t": "rows"}}, "db.t"),
        ({"db": {"t": {"rows": "hemmelig@eksempel.no"}}}, "db.t: 'rows'"),
        ({"db": {"t": {"rows": [["hemmelig@eksempel.no"]]}}}, "db.t: every row"),
        ({"db": {"t": {"fields": {"f": 5}, "rows": []}}}, "db.t.f"),
        ({"db": {"t": {"fields": 5, "rows": []}}}, "db.t: 'fields'"),
    ],
)
def test_from_nested_names_the_place_of_a_malformed_input_never_a_value(
    nested: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        CollectedData.from_nested(nested)
    assert "hemmelig" not in str(info.value)


def test_identity_repr_hides_the_value() -> None:
    assert EMAIL not in repr(SearchedIdentity("email", EMAIL))


# --- small rules ---------------------------------------------------------------------


def test_a_category_covers_itself_and_what_is_below_it_only() -> None:
    assert covers("user.contact", "user.contact.email")
    assert covers("user.contact.email", "user.contact.email")
    assert covers("user", "user.name.first")
    assert not covers("user.contact.email", "user.contact")
    assert not covers("user.contact", "user.contactless")


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("email", "ola.nordmann@eksempel.no", "o***@eksempel.no"),
        ("email", "a@b.no", "a***@b.no"),
        ("phone", "+4791234567", "+********67"),
        ("phone_number", "+4791234567", "+********67"),
        ("fnr", "01010012345", "*********45"),
        ("customer_id", "1234", "***"),
    ],
)
def test_identities_are_shown_masked(kind: str, value: str, masked: str) -> None:
    assert mask_identity(kind, value) == masked


def test_values_are_shown_as_readable_text() -> None:
    assert format_value(None, "nb") == "–"
    assert (format_value(True, "nb"), format_value(False, "en")) == ("Ja", "No")
    assert format_value(datetime(2025, 1, 2, 3, 4, 5, 678), "nb") == "2025-01-02 03:04:05"
    assert format_value(date(2025, 1, 2), "en") == "2025-01-02"
    assert format_value(Decimal("1.50"), "nb") == "1.50"
    assert format_value(b"\x00\x01\x02", "nb") == "(binære data, 3 byte)"
    assert format_value({"by": "Tromsø", "nr": [1, 2]}, "nb") == '{"by": "Tromsø", "nr": [1, 2]}'


# --- the HTML report -----------------------------------------------------------------

NB_HEADINGS = (
    "Dine personopplysninger hos Bølgeblikk Drift AS",
    "Hvem som er ansvarlig",
    "Hva vi fant",
    "Hva vi bruker opplysningene til",
    "Hvilke opplysninger det gjelder",
    "Hvem som får opplysningene",
    "Overføring til land utenfor EØS",
    "Hvor lenge vi lagrer opplysningene",
    "Hvor opplysningene kommer fra",
    "Automatiserte avgjørelser",
    "Dine andre rettigheter",
    "Klage til Datatilsynet",
    "Opplysningene vi har om deg",
    "Om denne rapporten",
)
EN_HEADINGS = (
    "Your personal data held by Bølgeblikk Drift AS",
    "Who is responsible",
    "What we found",
    "What we use the data for",
    "What kinds of data",
    "Who receives the data",
    "Transfers outside the EEA",
    "How long we keep the data",
    "Where the data comes from",
    "Automated decisions",
    "Your other rights",
    "Complaints to Datatilsynet",
    "The data we hold about you",
    "About this report",
)


@pytest.mark.parametrize(("lang", "headings"), [("nb", NB_HEADINGS), ("en", EN_HEADINGS)])
def test_report_is_a_standalone_page_with_every_heading(
    lang: str, headings: tuple[str, ...]
) -> None:
    page = html(collected(), lang)
    assert page.startswith("<!doctype html>")
    assert f'<html lang="{lang}">' in page
    found = re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", page, re.S)
    titles = [text(h).strip() for h in found]
    for heading in headings:
        assert heading in titles, heading


def test_controller_date_and_reference_are_stated() -> None:
    page = html(collected(), request_id="DSR-2026-0042")
    controller = text(section(page, "dv-controller"))
    for fact in ("Bølgeblikk Drift AS", "923456783", "Kaigata 1", "personvern@bolge.example"):
        assert fact in controller
    assert "Personvernombud Åse Ødegård" in controller
    assert "4. mars 2026 kl. 10.15" in page
    assert "DSR-2026-0042" in page
    assert "4 March 2026 at 10:15" in html(collected(), "en")


def test_summary_counts_records_per_system_and_lists_what_was_searched() -> None:
    summary = text(section(html(collected()), "dv-summary"))
    assert "Vi fant 3 oppføringer om deg i 1 system." in summary
    assert "kundedb kunder 1" in summary
    assert "kundedb innlogging 2" in summary
    assert "arkiv gamle_kunder 0" in summary  # searched, nothing found
    assert "e-postadressen å***@bølge.example" in summary
    en = text(section(html(collected(), "en"), "dv-summary"))
    assert "We found 3 records about you in 1 system." in en


def test_values_are_escaped_and_the_page_has_no_script() -> None:
    page = html(collected())
    assert "<script" not in page and "<b>fet</b>" not in page
    assert "&lt;script&gt;alert(&#39;æøå&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;fet&lt;/b&gt;" in page
    assert EMAIL in section(page, "dv-data")
    # Names and references are escaped as well as values.
    odd = CollectedData.from_nested(
        {"<i>db</i>": {"<u>t</u>": {"fields": {"<s>f</s>": None}, "rows": [{"<s>f</s>": 1}]}}},
        identities={"<em>kind</em>": "<q>verdi</q>"},
    )
    page = html(odd, request_id="<img src=x>")
    for raw in ("<i>db", "<u>t", "<s>f", "<em>kind", "<img", "<q>"):
        assert raw not in page, raw
    assert "&lt;i&gt;db&lt;/i&gt;" in page and "&lt;img src=x&gt;" in page


def test_data_tables_name_fields_by_category_and_field_name() -> None:
    data = section(html(collected()), "dv-data")
    assert '<th scope="col">E-postadresse<br><code>epost</code></th>' in data
    assert '<th scope="col">IP-adresse<br><code>ip</code></th>' in data
    en = section(html(collected(), "en"), "dv-data")
    assert '<th scope="col">E-mail address<br><code>epost</code></th>' in en


def test_every_table_header_cell_has_a_scope() -> None:
    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.th: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "th":
                self.th.append(dict(attrs))

    for lang in ("nb", "en"):
        for data in (collected(), empty()):
            parser = Cells()
            parser.feed(html(data, lang))
            assert parser.th
            assert all(cell.get("scope") in ("col", "row") for cell in parser.th)


def test_only_the_collections_fields_are_shown_never_other_keys_of_a_row() -> None:
    # The engine may carry join keys (here another customer's address) in a row.
    page = html(collected(kontakt_for="kari.nordmann@eksempel.no", intern_id="K-991"))
    assert "kari.nordmann" not in page and "K-991" not in page
    assert "kontakt_for" not in page


def test_many_fields_are_shown_one_record_at_a_time() -> None:
    fields = {f"felt{i}": ["user.name"] for i in range(6)}
    data = CollectedData.from_nested(
        {"db": {"personer": {"fields": fields, "rows": [{"felt0": "Ærlig"}, {"felt5": "Øy"}]}}}
    )
    page = section(html(data), "dv-data")
    assert "<caption>personer, oppføring 1 av 2</caption>" in page
    assert "<caption>personer, oppføring 2 av 2</caption>" in page
    assert page.count('<th scope="row">Navn<br><code>felt') == 12


def test_nested_fields_are_found_under_their_dotted_name() -> None:
    data = CollectedData(
        [
            CollectedDataset(
                "db",
                [
                    CollectedCollection(
                        "kunder",
                        [CollectedField("adresse.poststed", ("user.contact.address.city",))],
                        [{"adresse": {"poststed": "Tromsø"}}],
                    )
                ],
            )
        ]
    )
    page = section(html(data), "dv-data")
    assert "Poststed<br><code>adresse.poststed</code>" in page
    assert ">Tromsø</td>" in page


def test_register_names_datasets_and_fills_in_missing_field_categories() -> None:
    def with_dataset(reg: dict[str, Any]) -> None:
        reg["dataset"] = [
            {
                "fides_key": "kundedb",
                "name": "Kundedatabasen",
                "collections": [
                    {
                        "name": "kunder",
                        "description": "Én rad per kunde.",
                        "fields": [{"name": "epost", "data_categories": ["user.contact.email"]}],
                    }
                ],
            }
        ]

    data = CollectedData.from_nested({"kundedb": {"kunder": {"rows": [{"epost": EMAIL}]}}})
    page = html(data, register=register(with_dataset))
    assert "Kundedatabasen kunder 1" in text(section(page, "dv-summary"))
    assert "E-postadresse<br><code>epost</code>" in page
    assert "Én rad per kunde." in page


# --- the art. 15 facts -----------------------------------------------------------------


def ip_only() -> CollectedData:
    return CollectedData.from_nested(
        {"db": {"logg": {"fields": {"ip": ["user.device.ip_address"]}, "rows": [{"ip": "1"}]}}}
    )


def name_only() -> CollectedData:
    return CollectedData.from_nested(
        {"db": {"regnskap": {"fields": {"navn": ["user.name"]}, "rows": [{"navn": "Åse"}]}}}
    )


def test_purposes_are_those_whose_categories_cover_the_data_found() -> None:
    purposes = text(section(html(ip_only()), "dv-purposes"))
    assert "Kundeforhold" in purposes
    assert "Regnskap" not in purposes and "Nyhetsbrev" not in purposes
    purposes = text(section(html(name_only()), "dv-purposes"))
    assert "Regnskap" in purposes and "Kundestøtte" in purposes
    assert "Kundeforhold" not in purposes
    assert "Rettslig forpliktelse (personvernforordningen artikkel 6 nr. 1 bokstav c)" in purposes


def test_recipients_and_transfer_safeguards_follow_the_purposes() -> None:
    page = html(ip_only())
    recipients = text(section(page, "dv-recipients"))
    assert "Brevdue Inc." in recipients and "USA" in recipients
    assert "artikkel 15 nr. 2" in recipients
    assert "EU–US Data Privacy Framework. Mottakeren er sertifisert" in recipients
    # Accounting and support have no recipients: none is named.
    recipients = text(section(html(name_only()), "dv-recipients"))
    assert "Brevdue" not in recipients
    assert "Vi deler ikke opplysningene" in recipients
    assert "Opplysningene overføres ikke til land utenfor EØS." in recipients
    en = text(section(html(ip_only(), "en"), "dv-recipients"))
    assert "Brevdue Inc." in en and "Article 15(2)" in en


def test_categories_retention_rights_and_complaint_are_stated() -> None:
    page = html(name_only())
    assert "<li>Navn</li>" in section(page, "dv-categories")
    retention = text(section(page, "dv-retention"))
    assert "5 år etter utgangen av regnskapsåret" in retention
    assert "bokføringsloven § 13" in retention
    assert "1 år etter at saken er avsluttet" in retention
    rights = text(section(page, "dv-rights"))
    for right in (
        "Retting.",
        "Sletting.",
        "Begrensning.",
        "Protest.",
        "artikkel 16",
        "artikkel 21",
    ):
        assert right in rights
    assert "Hos oss gjelder dette: Kundestøtte." in rights
    complaint = section(page, "dv-complaint")
    assert "Klage til Datatilsynet" in complaint
    assert "https://www.datatilsynet.no/om-datatilsynet/kontakt-oss/klage-til-datatilsynet/" in (
        complaint
    )
    en = html(name_only(), "en")
    assert "lodge a complaint with Datatilsynet" in section(en, "dv-complaint")
    assert "Rectification." in section(en, "dv-rights")


def test_consent_withdrawal_is_explained_when_a_purpose_rests_on_consent() -> None:
    email = CollectedData.from_nested(
        {"db": {"t": {"fields": {"e": ["user.contact.email"]}, "rows": [{"e": EMAIL}]}}}
    )
    assert "Klikk «Meld av» i nyhetsbrevet." in section(html(email), "dv-rights")
    assert "Trekke tilbake samtykke" not in section(html(ip_only()), "dv-rights")


def test_source_and_automated_decisions_come_from_the_register() -> None:
    def sourced(reg: dict[str, Any]) -> None:
        activity = reg["systems"][0]["processing"][0]
        activity["source"] = {"nb": "Fra kredittopplysningsbyrået.", "en": "From the agency."}
        activity["automated_decisions"] = {
            "logic": {"nb": "Vi sjekker kredittverdighet.", "en": "We check credit."},
            "significance": {"nb": "Du kan få avslag.", "en": "You may be refused."},
        }

    page = html(ip_only(), register=register(sourced))
    sources = text(section(page, "dv-sources"))
    assert "Kundeforhold: Fra kredittopplysningsbyrået." in sources
    automated = text(section(page, "dv-automated"))
    assert "Vi sjekker kredittverdighet." in automated and "Du kan få avslag." in automated
    # A purpose the data does not concern brings neither.
    other = html(name_only(), register=register(sourced))
    assert "kredittopplysningsbyrået" not in other
    assert "Vi får opplysningene fra deg selv." in section(other, "dv-sources")
    assert "Vi treffer ingen avgjørelser" in section(other, "dv-automated")


def test_personal_data_that_no_purpose_covers_is_named() -> None:
    data = CollectedData.from_nested(
        {
            "db": {
                "t": {
                    "fields": {"fnr": ["user.government_id.national_identification_number"]},
                    "rows": [{"fnr": "01010012345"}],
                }
            }
        }
    )
    page = html(data)
    purposes = text(section(page, "dv-purposes"))
    assert "ikke knyttet til noe formål" in purposes
    assert "fødselsnummer eller D-nummer" in purposes
    assert "ikke knyttet" not in html(ip_only())
    # Nothing in the register speaks for this data, so the report claims nothing about it.
    for part in ("dv-recipients", "dv-retention", "dv-sources", "dv-automated"):
        assert "sier ikke noe om dette" in section(page, part), part
    assert "Vi deler ikke" not in page and "Vi får opplysningene fra deg selv" not in page
    assert "says nothing about this" in section(html(data, "en"), "dv-sources")


def test_a_broader_activity_category_covers_the_narrower_data_found() -> None:
    def broad(reg: dict[str, Any]) -> None:
        reg["systems"][0]["processing"][1]["data_categories"] = ["user"]

    purposes = text(section(html(ip_only(), register=register(broad)), "dv-purposes"))
    assert "Regnskap" in purposes and "Kundeforhold" in purposes


# --- nothing found -------------------------------------------------------------------


def test_nothing_found_is_said_plainly_with_what_was_searched_nb() -> None:
    page = html(empty())
    summary = text(section(page, "dv-summary"))
    assert "Vi fant ingen personopplysninger om deg" in summary
    assert "e-postadressen o***@eksempel.no og telefonnummeret +********67" in summary
    assert "Vi søkte i 1 system og 2 tabeller" in summary
    assert "kundedb kunder 0" in summary and "kundedb innlogging 0" in summary
    assert 'id="dv-data"' not in page
    # The art. 15 facts are still given: every purpose, every recipient, the complaint.
    purposes = text(section(page, "dv-purposes"))
    for purpose in ("Kundeforhold", "Regnskap", "Nyhetsbrev", "Kundestøtte"):
        assert purpose in purposes
    assert "Brevdue Inc." in section(page, "dv-recipients")
    assert "Klage til Datatilsynet" in page


def test_nothing_found_is_said_plainly_in_english() -> None:
    page = html(empty(), "en")
    summary = text(section(page, "dv-summary"))
    assert "We found no personal data about you" in summary
    assert "the e-mail address o***@eksempel.no and the phone number +********67" in summary
    assert "Brevdue Inc." in section(page, "dv-recipients")
    assert "Complaints to Datatilsynet" in page


def test_nothing_at_all_given_still_answers() -> None:
    page = html(CollectedData())
    assert "Vi fant ingen personopplysninger om deg." in text(section(page, "dv-summary"))


def test_the_identity_searched_for_is_never_shown_in_full() -> None:
    for lang in ("nb", "en"):
        page = html(empty(), lang)
        assert "ola.nordmann" not in page and "91234567" not in page


# --- portability, languages, bad input ---------------------------------------------------


def test_portable_report_explains_the_json_file() -> None:
    about = text(section(html(collected(), portable=True), "dv-about"))
    assert "Filen data.json er kopien du kan ta med deg." in about
    assert "artikkel 20" in about and "CSV" not in about
    en = text(section(html(collected(), "en", portable=True), "dv-about"))
    assert "The file data.json is the copy you can take with you." in en
    plain = text(section(html(collected()), "dv-about"))
    assert "data.json og én CSV-fil for hver tabell der vi fant opplysninger" in plain
    assert "kopien du kan ta med deg" not in plain
    # Nothing found: the package has no CSV file, and the report does not promise one.
    nothing = text(section(html(empty()), "dv-about"))
    assert "filen data.json, som viser det samme" in nothing and "CSV" not in nothing
    assert "CSV" not in text(section(html(empty(), "en"), "dv-about"))


def test_report_in_a_language_the_register_has_no_texts_in() -> None:
    def nb_only(reg: dict[str, Any]) -> None:
        reg["organisation"]["languages"] = ["nb"]
        for activity in reg["systems"][0]["processing"]:
            activity["purpose"] = activity["purpose"]["nb"]

    page = html(ip_only(), "en", register=register(nb_only))
    assert "What we use the data for" in page
    assert '<span lang="nb">Kundeforhold</span>' in page


def test_view_lists_relevant_purposes_by_key() -> None:
    view = build_report_view(register(), ip_only(), "nb", generated_at=AT)
    assert [p.key for p in view.purposes] == ["customers"]
    assert [r.key for r in view.recipients] == ["mail"]
    assert view.categories == ["IP-adresse"]


@pytest.mark.parametrize(("lang", "fmt"), [("de", "html"), ("nb", "docx")])
def test_unknown_language_or_format_is_invalid_input(lang: str, fmt: str) -> None:
    with pytest.raises(InvalidInput):
        render_access_report(register(), empty(), lang, fmt, generated_at=AT)  # type: ignore[arg-type]


def test_an_empty_field_brings_no_purpose_or_category() -> None:
    # The customer has no IP address on record: the IP purpose and its US recipient stay out.
    data = CollectedData.from_nested(
        {
            "db": {
                "kunder": {
                    "fields": {"navn": ["user.name"], "ip": ["user.device.ip_address"]},
                    "rows": [{"navn": "Åse", "ip": None}],
                }
            }
        }
    )
    assert data.categories() == ["user.name"]
    page = html(data)
    assert "Kundeforhold" not in section(page, "dv-purposes")
    assert "Brevdue" not in page
    assert "IP-adresse" not in section(page, "dv-categories")
    assert "IP-adresse<br><code>ip</code>" in section(page, "dv-data")  # the column is shown


def test_data_subjects_a_dataset_declares_narrow_the_purposes() -> None:
    def recruiting(reg: dict[str, Any], subjects: list[str] | None) -> None:
        reg["systems"][0]["processing"].append(
            {
                "key": "recruiting",
                "purpose": {"nb": "Rekruttering", "en": "Recruitment"},
                "data_use": "employment.recruitment",
                "data_categories": ["user.name"],
                "data_subjects": ["job_applicant"],
                "legal_basis": "contract",
                "retention": {"period": "P6M", "trigger": "recruitment_end"},
            }
        )
        dataset: dict[str, Any] = {
            "fides_key": "db",
            "collections": [
                {"name": "regnskap", "fields": [{"name": "navn", "data_categories": ["user.name"]}]}
            ],
        }
        if subjects:
            dataset["data_subjects"] = subjects
        reg["dataset"] = [dataset]

    customers = register(lambda reg: recruiting(reg, ["customer"]))
    purposes = text(section(html(name_only(), register=customers), "dv-purposes"))
    assert "Regnskap" in purposes and "Rekruttering" not in purposes
    undeclared = register(lambda reg: recruiting(reg, None))
    assert "Rekruttering" in section(html(name_only(), register=undeclared), "dv-purposes")
    applicants = register(lambda reg: recruiting(reg, ["job_applicant"]))
    purposes = text(section(html(name_only(), register=applicants), "dv-purposes"))
    assert "Rekruttering" in purposes and "Regnskap" not in purposes
