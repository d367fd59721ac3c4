"""The notice renders every art. 13/14 item from the register, in nb and en, HTML and Markdown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from datavern.core.errors import InvalidInput
from datavern.notices import vocabulary
from datavern.notices.blocks import Heading, parse_html
from datavern.notices.render import (
    SECTION_IDS,
    render_notice_fragment,
    render_notice_markdown,
    render_notice_page,
)
from notice_fixtures import META, register


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"section {section_id} missing"
    return match.group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_page_is_a_complete_accessible_document() -> None:
    page = render_notice_page(register(), META, "nb")
    assert page.startswith("<!doctype html>")
    assert '<html lang="nb">' in page
    assert "<title>Personvernerklæring for Bølgeblikk Drift AS</title>" in page
    assert "<script" not in page.lower()
    assert "<h1>" in page and '<th scope="col">' in page and '<th scope="row">' in page
    for section_id in SECTION_IDS:
        if section_id != "dv-cookies":  # only when the register has cookies
            assert f'id="{section_id}"' in page


def test_fragment_is_embeddable() -> None:
    fragment = render_notice_fragment(register(), META, "en")
    assert fragment.lstrip().startswith('<article class="dv-notice" lang="en">')
    assert "<html" not in fragment and "<style" not in fragment


def test_cookies_section_only_when_the_register_has_cookies() -> None:
    assert 'id="dv-cookies"' not in render_notice_fragment(register(), META, "nb")

    def cookies(d: dict[str, Any]) -> None:
        d["cookies"] = [
            {
                "name": "_stat",
                "provider": "Bølgeblikk Drift AS",
                "purpose": {"nb": "Statistikk", "en": "Statistics"},
                "duration": "P13M",
                "category": "analytics",
                "consent_purpose": "newsletter",
            }
        ]

    html = section(render_notice_fragment(register(cookies), META, "nb"), "dv-cookies")
    assert "_stat" in html and "13 måneder" in html and "Statistikk" in html


def test_controller_dpo_and_version() -> None:
    html = render_notice_fragment(register(), META, "nb")
    controller = text_of(section(html, "dv-controller"))
    assert "Bølgeblikk Drift AS" in controller and "923456783" in controller
    assert "Kaigata 1, 5003 Bergen" in controller
    assert "Åse Ødegård" in text_of(section(html, "dv-dpo"))
    version = text_of(section(html, "dv-version"))
    assert "versjon 4" in version and "2. mars 2026" in version and "f" * 64 in version
    english = text_of(section(render_notice_fragment(register(), META, "en"), "dv-version"))
    assert "version 4" in english and "2 March 2026" in english


def test_unapplied_register_renders_as_draft() -> None:
    html = render_notice_fragment(register(), None, "nb")
    assert "Utkast" in html and "f" * 64 not in html


def test_purposes_name_categories_subjects_and_bases_in_each_language() -> None:
    nb = text_of(section(render_notice_fragment(register(), META, "nb"), "dv-purposes"))
    assert "E-postadresse og IP-adresse" in nb
    assert "Kunder" in nb
    assert "artikkel 6 nr. 1 bokstav b" in nb and "Avtale" in nb
    assert "Å hjelpe kundene raskt." in nb  # the legitimate interest (art. 13(1)(d))
    assert "«Nyhetsbrev på e-post»" in nb and "Klikk «Meld av» i nyhetsbrevet." in nb
    en = text_of(section(render_notice_fragment(register(), META, "en"), "dv-purposes"))
    assert "E-mail address and IP address" in en
    assert "Article 6(1)(b)" in en and "Customers" in en


def test_recipients_and_transfers_in_plain_words() -> None:
    html = render_notice_fragment(register(), META, "nb")
    recipients = text_of(section(html, "dv-recipients"))
    assert "Brevdue Inc." in recipients and "USA" in recipients
    assert "Data Privacy Framework" in recipients
    assert "databehandleravtale" in recipients  # every processor has a DPA
    transfers = text_of(section(html, "dv-transfers"))
    assert "Brevdue Inc." in transfers and "sertifisert" in transfers


def test_invalid_transfer_basis_is_shown_as_invalid_not_hidden() -> None:
    def shield(d: dict[str, Any]) -> None:
        d["sub_processors"][0]["transfer"] = {"basis": "privacy_shield"}

    transfers = text_of(
        section(render_notice_fragment(register(shield), META, "nb"), "dv-transfers")
    )
    assert "Privacy Shield" in transfers and "ikke lenger et gyldig grunnlag" in transfers


def test_scc_transfer_says_where_to_get_a_copy() -> None:
    def scc(d: dict[str, Any]) -> None:
        d["sub_processors"][0]["transfer"] = {"basis": "scc_2021"}

    transfers = text_of(section(render_notice_fragment(register(scc), META, "en"), "dv-transfers"))
    assert "2021/914" in transfers
    assert "copy of the safeguards" in transfers and "personvern@bolge.example" in transfers


def test_no_transfers_and_no_automated_decisions_are_stated() -> None:
    def eea_only(d: dict[str, Any]) -> None:
        d["sub_processors"][0].update(country="SE", transfer=None)

    html = render_notice_fragment(register(eea_only), META, "nb")
    assert "Vi overfører ikke personopplysninger til land utenfor EØS." in html
    assert "Vi treffer ingen avgjørelser om deg" in section(html, "dv-automated")


def test_automated_decision_and_source_are_described() -> None:
    def automated(d: dict[str, Any]) -> None:
        activity = d["systems"][0]["processing"][0]
        activity["automated_decisions"] = {
            "logic": {"nb": "En modell gir poeng.", "en": "A model scores you."},
            "significance": {"nb": "Lav poengsum gir forskudd.", "en": "Low score: prepay."},
        }
        activity["source"] = {"nb": "Kredittbyrået.", "en": "The credit agency."}

    html = render_notice_fragment(register(automated), META, "en")
    assert "A model scores you." in section(html, "dv-automated")
    assert "The credit agency." in section(html, "dv-sources")


def test_retention_per_purpose_with_named_rule_explained() -> None:
    html = render_notice_fragment(register(), META, "nb")
    retention = text_of(section(html, "dv-retention"))
    assert "3 år og 6 måneder etter at avtalen med deg er avsluttet" in retention
    assert "5 år etter utgangen av regnskapsåret" in retention
    assert "bokføringsloven § 13" in retention
    english = text_of(section(render_notice_fragment(register(), META, "en"), "dv-retention"))
    assert "3 years and 6 months after our contract with you ends" in english


def test_every_right_with_how_to_use_it() -> None:
    rights = text_of(section(render_notice_fragment(register(), META, "nb"), "dv-rights"))
    for article in ("15", "16", "17", "18", "20", "21", "7 nr. 3", "22"):
        assert f"artikkel {article})" in rights, article
    assert "mailto:" not in rights  # text only here; the link is in the HTML
    assert "personvern@bolge.example" in rights and "én måned" in rights
    assert "direkte markedsføring" in rights

    def centre(d: dict[str, Any]) -> None:
        d["organisation"]["privacy_centre_url"] = "https://bolge.example/personvern"

    html = section(render_notice_fragment(register(centre), META, "en"), "dv-rights")
    assert '<a href="https://bolge.example/personvern">' in html
    for article in ("15", "16", "17", "18", "20", "21", "7(3)", "22"):
        assert f"Article {article})" in html, article


def test_complaint_to_datatilsynet() -> None:
    complaint = text_of(section(render_notice_fragment(register(), META, "nb"), "dv-complaint"))
    assert "Datatilsynet" in complaint
    assert "Postboks 458 Sentrum, 0105 Oslo" in complaint
    assert "https://www.datatilsynet.no" in complaint


def test_register_texts_are_escaped() -> None:
    def hostile(d: dict[str, Any]) -> None:
        d["systems"][0]["processing"][0]["purpose"] = {
            "nb": "<script>alert('x')</script> *fet* [lenke](javascript:x)",
            "en": "<img src=x onerror=alert(1)>",
        }

    html = render_notice_page(register(hostile), META, "nb")
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in render_notice_page(register(hostile), META, "en")
    markdown = render_notice_markdown(register(hostile), META, "nb")
    assert "\\<script\\>" in markdown and "\\*fet\\*" in markdown and "\\[lenke\\]" in markdown


def test_missing_translation_falls_back_and_is_marked_with_its_language() -> None:
    def nb_only(d: dict[str, Any]) -> None:
        d["systems"][0]["processing"][0]["purpose"] = {"nb": "Kundeforhold"}

    html = render_notice_fragment(register(nb_only), META, "en")
    assert '<span lang="nb">Kundeforhold</span>' in html


def test_language_outside_the_register_is_refused() -> None:
    def nb_only(d: dict[str, Any]) -> None:
        d["organisation"]["languages"] = ["nb"]

    with pytest.raises(InvalidInput, match=r"organisation\.languages"):
        render_notice_page(register(nb_only), META, "en")


def test_markdown_has_the_same_sections_as_html() -> None:
    for lang in ("nb", "en"):
        html = render_notice_fragment(register(), META, lang)
        headings = [b.text for b in parse_html(html) if isinstance(b, Heading) and b.level == 2]
        markdown = render_notice_markdown(register(), META, lang)
        assert re.findall(r"^## (.+)$", markdown, re.M) == headings
        assert len(headings) == len(SECTION_IDS) - 1  # no cookies in this register
        assert "| Brevdue Inc." in markdown  # the recipients table


def test_every_taxonomy_category_and_subject_has_names_in_both_languages() -> None:
    for item in [*DEFAULT_TAXONOMY.data_category, *DEFAULT_TAXONOMY.data_subject]:
        names = vocabulary.DATA_CATEGORIES.get(item.fides_key) or vocabulary.DATA_SUBJECTS.get(
            item.fides_key
        )
        assert names, item.fides_key
        assert all(name.strip() and name != item.fides_key for name in names)
    assert vocabulary.category_name("user.contact.email", "nb") == "E-postadresse"
    assert vocabulary.subject_name("job_applicant", "en") == "Job applicants"


def test_indefinite_retention_is_told_and_nothing_is_promised() -> None:
    def indefinite(d: dict[str, Any]) -> None:
        d["systems"][0]["processing"][0]["retention"] = {"indefinite": True}

    retention = text_of(
        section(render_notice_fragment(register(indefinite), META, "nb"), "dv-retention")
    )
    assert "Vi har ikke satt noen sluttdato for lagringen." in retention
    assert "lenger enn vi trenger dem" not in retention
    complete = text_of(section(render_notice_fragment(register(), META, "nb"), "dv-retention"))
    assert "lenger enn vi trenger dem" in complete


def test_page_inlines_the_stylesheet_the_fragment_can_use() -> None:
    from datavern.notices.render import notice_stylesheet

    css = notice_stylesheet()
    assert ".dv-notice" in css
    assert css.strip()[-20:] in render_notice_page(register(), META, "nb")
