"""load_register: a valid register loads with positions; every bad input is a precise Problem."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from datavern.core.errors import InvalidInput, Problem
from datavern.register.loader import Limits, load_register
from datavern.register.loader import files as loader_files

ORG = """\
datavern: 1
organisation:
  name: Eksempel AS
  org_nr: "923609016"
  email: personvern@eksempel.no
  address:
    street: Storgata 1
    postal_code: 0150
    city: Oslo
    country: NO
"""

SYSTEMS = """\
systems:
  - key: crm
    name: Kunderegister
    processing:
      - key: customer-service
        purpose:
          nb: Levere tjenesten du har bestilt.
          en: Deliver the service you ordered.
        data_use: essential.service
        data_categories: [user.name, user.contact.email]
        data_subjects: [customer]
        legal_basis: contract
        consent_purpose: null
        recipients: [mailer]
        retention: {period: P3Y, trigger: contract_end}
"""

PROCESSORS = """\
sub_processors:
  - key: mailer
    name: Post AS
    country: NO
    service: E-post
    data_categories: [user.contact.email]
    dpa_signed: 2024-01-15
"""

DATASET = """\
dataset:
  - fides_key: crm_db
    name: CRM database
    collections:
      - name: customers
        fields:
          - name: id
            fides_meta:
              primary_key: true
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
          - name: address
            fields:
              - name: street
                data_categories: [user.contact.address.street]
      - name: accounts
        fields:
          - name: customer_id
            fides_meta:
              references:
                - dataset: crm_db
                  field: customers.id
                  direction: from
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def problems(folder: Path | str, limits: Limits | None = None) -> list[Problem]:
    with pytest.raises(InvalidInput) as info:
        if limits is None:
            load_register(Path(folder))
        else:
            load_register(Path(folder), limits)
    return info.value.problems


def one(folder: Path, limits: Limits | None = None) -> Problem:
    found = problems(folder, limits)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def at(problem: Problem) -> tuple[str, int | None, int | None]:
    assert problem.location is not None
    return Path(problem.location.file).name, problem.location.line, problem.location.column


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    folder = tmp_path / "reg"
    folder.mkdir()
    return folder


def valid(folder: Path) -> Path:
    return write(
        folder,
        {
            "register.yaml": ORG + "include: [systems.yaml, processors.yaml, datasets/*.yaml]\n",
            "systems.yaml": SYSTEMS,
            "processors.yaml": PROCESSORS,
            "datasets/crm.yaml": DATASET,
        },
    )


# --------------------------------------------------------------------------- valid input


def test_multi_file_register_loads_with_files_hash_and_positions(reg: Path) -> None:
    loaded = load_register(valid(reg))
    register = loaded.register
    assert register.organisation.name == "Eksempel AS"
    assert register.systems[0].processing[0].recipients == ["mailer"]
    assert register.sub_processors[0].key == "mailer"
    assert list(loaded.files) == [
        "register.yaml",
        "systems.yaml",
        "processors.yaml",
        "datasets/crm.yaml",
    ]
    assert loaded.files["processors.yaml"] == PROCESSORS
    assert loaded.root == reg.resolve()
    canonical = json.dumps(register.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    # The hash is of the canonical JSON; separators do not matter to the content but
    # must be stable, so compare against the documented recipe with compact separators.
    compact = json.dumps(
        json.loads(canonical), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert loaded.content_hash == hashlib.sha256(compact.encode()).hexdigest()

    where = loaded.where(("systems", 0, "processing", 0, "legal_basis"))
    assert where is not None and (Path(where.file).name, where.line) == ("systems.yaml", 12)
    where = loaded.where(("sub_processors", 0, "dpa_signed"))
    assert where is not None and (Path(where.file).name, where.line) == ("processors.yaml", 7)


def test_file_path_and_folder_path_give_the_same_register(reg: Path) -> None:
    valid(reg)
    assert load_register(reg).content_hash == load_register(reg / "register.yaml").content_hash


def test_hash_changes_with_content_and_not_with_comments(reg: Path) -> None:
    valid(reg)
    before = load_register(reg).content_hash
    (reg / "systems.yaml").write_text("# a comment\n" + SYSTEMS)
    assert load_register(reg).content_hash == before
    (reg / "systems.yaml").write_text(SYSTEMS.replace("P3Y", "P2Y"))
    assert load_register(reg).content_hash != before


def test_norwegian_values_are_not_yaml_1_1_booleans_or_octal_numbers(reg: Path) -> None:
    valid(reg)
    address = load_register(reg).register.organisation.address
    assert address is not None
    assert address.country == "NO"  # YAML 1.1 would read NO as false
    assert address.postal_code == "0150"  # YAML 1.1 would read 0150 as the octal 104


def test_numbers_where_text_is_expected_become_text(reg: Path) -> None:
    write(reg, {"register.yaml": ORG.replace('"923609016"', "923609016") + "  phone: 22334455\n"})
    organisation = load_register(reg).register.organisation
    assert organisation.org_nr == "923609016"
    assert organisation.phone == "22334455"


def test_where_follows_fideslang_name_order_of_collections_and_fields(reg: Path) -> None:
    loaded = load_register(valid(reg))
    dataset = loaded.register.dataset[0]
    assert [c.name for c in dataset.collections] == ["accounts", "customers"]
    customers = dataset.collections[1]
    assert [f.name for f in customers.fields] == ["address", "email", "id"]
    where = loaded.where(("dataset", 0, "collections", 1, "fields", 2, "name"))
    # "id" is written first under customers in the file (line 7).
    assert where is not None and (Path(where.file).name, where.line) == ("crm.yaml", 7)
    where = loaded.where(("dataset", 0, "collections", 0, "name"))
    assert where is not None and where.line == 18


def test_where_falls_back_to_the_nearest_present_ancestor(reg: Path) -> None:
    loaded = load_register(valid(reg))
    missing = loaded.where(("organisation", "dpo", "email"))
    organisation = loaded.where(("organisation",))
    assert missing == organisation and missing is not None and missing.line == 3


def test_a_fides_dataset_file_loads_unchanged(reg: Path) -> None:
    # Written in the Fides dataset format, including the legacy `fidesops_meta` name
    # and a `data_qualifier` key older fideslang versions required.
    fides = """\
    dataset:
      - fides_key: shop
        name: Shop
        description: Orders and customers
        data_qualifier: aggregated.anonymized.unlinked_pseudonymized.pseudonymized.identified
        collections:
          - name: customer
            fields:
              - name: email
                data_categories: [user.contact.email]
                fidesops_meta:
                  identity: email
                  data_type: string
              - name: id
                data_categories: [system.operations]
                fidesops_meta:
                  primary_key: true
          - name: orders
            fidesops_meta:
              after: [shop.customer]
            fields:
              - name: customer_id
                fidesops_meta:
                  references:
                    - dataset: shop
                      field: customer.id
                      direction: from
    """
    write(reg, {"register.yaml": ORG + "include: [shop.yml]\n", "shop.yml": fides})
    dataset = load_register(reg).register.dataset[0]
    email = dataset.collections[0].fields[0]
    assert email.fides_meta is not None and email.fides_meta.identity == "email"
    assert dataset.collections[1].fides_meta is not None


def test_empty_list_sections_are_allowed(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "cookies:\n# - name: later\n"})
    assert load_register(reg).register.cookies == []


# --------------------------------------------------------------------------- schema errors


def test_wrong_types_are_reported_with_position_and_expectation(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml]\n",
            "systems.yaml": """\
            systems:
              - key: crm
                name: [not, a, name]
                processing:
                  - key: a
                    purpose: 42
                    data_use: essential.service
                    data_categories: user.name
                    data_subjects: [customer]
                    source_publicly_available: maybe
            """,
        },
    )
    found = {p.path: p for p in problems(reg)}
    assert at(found["systems[0].name"]) == ("systems.yaml", 3, 11)
    assert "expected a text, got a list" in found["systems[0].name"].message
    purpose = found["systems[0].processing[0].purpose"]
    assert "one text per language" in purpose.message and at(purpose)[1] == 6
    categories = found["systems[0].processing[0].data_categories"]
    assert "expected a list" in categories.message and at(categories)[1] == 8
    flag = found["systems[0].processing[0].source_publicly_available"]
    assert "expected true or false" in flag.message and at(flag)[1] == 10


def test_unknown_key_points_at_the_key_and_lists_what_is_expected(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml]\n",
            "systems.yaml": SYSTEMS.replace("legal_basis: contract", "legal_bassis: contract"),
        },
    )
    found = {p.path: p for p in problems(reg)}
    extra = found["systems[0].processing[0].legal_bassis"]
    assert at(extra) == ("systems.yaml", 12, 9)
    assert "unknown key 'legal_bassis'" in extra.message
    assert "did you mean 'legal_basis'" in extra.message
    assert "expected one of: key, purpose" in extra.message


def test_unknown_top_level_key_is_an_error(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "system:\n  - key: x\n"})
    problem = one(reg)
    assert "unknown key 'system'" in problem.message and "did you mean 'systems'" in problem.message
    assert at(problem) == ("register.yaml", 11, 1)


def test_enum_error_names_the_allowed_values(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml, processors.yaml]\n",
            "processors.yaml": PROCESSORS,
            "systems.yaml": SYSTEMS.replace("legal_basis: contract", "legal_basis: contrakt"),
        },
    )
    problem = one(reg)
    assert problem.path == "systems[0].processing[0].legal_basis"
    assert at(problem) == ("systems.yaml", 12, 22)
    assert "expected one of: consent, contract, legal_obligation" in problem.message
    assert "did you mean 'contract'" in problem.message


def test_missing_key_points_at_the_mapping_that_should_hold_it(reg: Path) -> None:
    write(reg, {"register.yaml": ORG.replace("  name: Eksempel AS\n", "")})
    problem = one(reg)
    assert problem.message.startswith("missing required key 'name'")
    assert problem.path == "organisation.name"
    assert at(problem) == ("register.yaml", 3, 3)


def test_missing_organisation_points_at_the_register_file(reg: Path) -> None:
    write(reg, {"register.yaml": SYSTEMS})
    found = problems(reg)
    assert any(
        p.message.startswith("missing required key 'organisation'") and at(p)[1] == 1 for p in found
    )


def test_invalid_org_nr_is_rejected_with_checksum_reason(reg: Path) -> None:
    write(reg, {"register.yaml": ORG.replace('"923609016"', "123456789")})
    problem = one(reg)
    assert problem.message == (
        "'123456789' is not a valid Norwegian organisation number (checksum)"
    )
    assert at(problem) == ("register.yaml", 4, 11)


def test_invalid_date_is_an_error_at_the_value(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [processors.yaml]\n",
            "processors.yaml": PROCESSORS.replace("2024-01-15", "2024-02-30"),
        },
    )
    problem = one(reg)
    assert "not a valid timestamp" in problem.message and at(problem) == ("processors.yaml", 7, 17)


def test_all_problems_are_reported_at_once_sorted_by_file_and_line(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG.replace('"923609016"', "123456789")
            + "include: [systems.yaml, processors.yaml]\n",
            "systems.yaml": SYSTEMS.replace("contract\n", "contrakt\n").replace(
                "essential.service\n", "essential.servis\n"
            ),
            "processors.yaml": PROCESSORS.replace("country: NO", "country: Norge"),
        },
    )
    found = problems(reg)
    places = [at(p) for p in found]
    assert places == sorted(places)
    assert [name for name, _, _ in places] == [
        "processors.yaml",
        "register.yaml",
        "systems.yaml",
        "systems.yaml",
    ]


# --------------------------------------------------------------------------- hostile YAML


def test_duplicate_keys_are_an_error_at_the_second_naming_the_first(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "  name: Annet AS\n"})
    problem = one(reg)
    assert at(problem) == ("register.yaml", 11, 3)
    assert "duplicate key 'name'" in problem.message and "line 3" in problem.message


def test_billion_laughs_is_refused_at_the_first_anchor(reg: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        previous = chr(ord("a") + n - 1)
        name = chr(ord("a") + n)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    (reg / "register.yaml").write_text("\n".join(lines) + "\n")
    problem = one(reg)
    assert "anchor '&a' is not allowed" in problem.message
    assert at(problem) == ("register.yaml", 1, 4)


def test_aliases_and_merge_keys_are_refused(reg: Path) -> None:
    write(reg, {"register.yaml": "base: {a: 1}\nother:\n  <<: {a: 2}\n"})
    assert any("merge keys" in p.message for p in problems(reg))


def test_python_and_custom_tags_are_refused_and_never_run(reg: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write(
        reg,
        {
            "register.yaml": ORG
            + f"systems: !!python/object/apply:os.system ['touch {marker}']\n"
            + "cookies: !custom {}\n"
        },
    )
    found = problems(reg)
    assert "tag '!!python/object/apply:os.system' is not allowed" in found[0].message
    assert not marker.exists()
    write(reg, {"register.yaml": ORG + "cookies: !custom []\n"})
    assert "tag '!custom' is not allowed" in one(reg).message


def test_deeply_nested_document_is_refused(reg: Path) -> None:
    (reg / "register.yaml").write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested more than 64 levels" in one(reg).message


def test_a_file_over_the_size_limit_is_refused_without_being_read(
    reg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = reg / "register.yaml"
    with open(big, "wb") as handle:  # a sparse 50 MB file
        handle.truncate(50 * 1024 * 1024)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader opened a file over the size limit")

    monkeypatch.setattr(loader_files, "open", refuse, raising=False)
    problem = one(reg)
    assert "50.0 MB" in problem.message and "at most 5.0 MB" in problem.message


def test_total_size_and_file_count_are_limited(reg: Path) -> None:
    valid(reg)
    small_total = Limits(max_total_bytes=len(ORG) + 200)
    assert any("together exceed" in p.message for p in problems(reg, small_total))
    few_files = Limits(max_files=2)
    assert any("too many register files" in p.message for p in problems(reg, few_files))


def test_binary_file_is_refused(reg: Path) -> None:
    (reg / "register.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary file" in one(reg).message


def test_non_utf8_text_is_refused_with_its_line(reg: Path) -> None:
    (reg / "register.yaml").write_bytes(ORG.replace("Eksempel", "Bl\xe5b\xe6r").encode("latin-1"))
    problem = one(reg)
    assert "not UTF-8" in problem.message and at(problem)[1] == 3


def test_control_characters_are_refused(reg: Path) -> None:
    (reg / "register.yaml").write_text(ORG + "  phone: \x07\n")
    assert "control character" in one(reg).message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file_is_refused(reg: Path, text: str) -> None:
    (reg / "register.yaml").write_text(text)
    assert "the file is empty" in one(reg).message


def test_top_level_must_be_a_mapping(reg: Path) -> None:
    (reg / "register.yaml").write_text("- organisation\n- systems\n")
    assert "top level must be a mapping" in one(reg).message


def test_two_documents_in_one_file_are_refused(reg: Path) -> None:
    (reg / "register.yaml").write_text(ORG + "---\ncookies: []\n")
    problem = one(reg)
    assert "one YAML document" in problem.message and at(problem)[1] == 11


def test_invalid_yaml_syntax_names_the_place(reg: Path) -> None:
    (reg / "register.yaml").write_text(ORG + "systems: [\n")
    problem = one(reg)
    assert problem.message.startswith("invalid YAML") and at(problem)[0] == "register.yaml"


def test_no_register_in_folder(tmp_path: Path) -> None:
    problem = one(tmp_path)
    assert "no register found" in problem.message and "datavern init" in problem.message


# --------------------------------------------------------------------------- includes


def test_include_cycle_names_the_chain(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [a.yaml]\n",
            "a.yaml": "include: [b.yaml]\ncookies: []\n",
            "b.yaml": "include: [a.yaml]\ncookies: []\n",
        },
    )
    problem = one(reg)
    assert problem.message == "include cycle: a.yaml -> b.yaml -> a.yaml"
    assert at(problem) == ("b.yaml", 1, 11)


def test_include_of_the_root_file_is_a_cycle(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "include: [register.yaml]\n"})
    assert one(reg).message == "include cycle: register.yaml -> register.yaml"


def test_include_with_dotdot_outside_the_folder_is_refused(reg: Path) -> None:
    (reg.parent / "outside.yaml").write_text("cookies: []\n")
    write(reg, {"register.yaml": ORG + "include:\n  - ../outside.yaml\n"})
    problem = one(reg)
    assert "outside the register folder" in problem.message
    assert at(problem) == ("register.yaml", 12, 5)


def test_absolute_include_is_refused(reg: Path) -> None:
    outside = reg.parent / "outside.yaml"
    outside.write_text("cookies: []\n")
    write(reg, {"register.yaml": ORG + f"include: ['{outside}']\n"})
    problem = one(reg)
    assert "absolute path" in problem.message and at(problem)[1] == 11


def test_include_through_a_symlink_to_outside_is_refused(reg: Path) -> None:
    secret = reg.parent / "secret"
    secret.mkdir()
    (secret / "data.yaml").write_text("cookies: []\n")
    os.symlink(secret / "data.yaml", reg / "link.yaml")
    os.symlink(secret, reg / "linkdir")
    write(reg, {"register.yaml": ORG + "include: [link.yaml, 'linkdir/*.yaml']\n"})
    found = problems(reg)
    assert len(found) == 2
    assert all("outside the register folder" in p.message for p in found)


def test_symlink_inside_the_folder_is_followed(reg: Path) -> None:
    valid(reg)
    (reg / "parts").mkdir()
    os.replace(reg / "processors.yaml", reg / "parts" / "processors.yaml")
    os.symlink(reg / "parts" / "processors.yaml", reg / "processors.yaml")
    assert load_register(reg).register.sub_processors[0].key == "mailer"


def test_missing_include_and_empty_glob_are_errors(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "include: [nope.yaml, 'none/*.yaml']\n"})
    messages = sorted(p.message for p in problems(reg))
    assert messages == [
        "include 'none/*.yaml' matches no file",
        "included file 'nope.yaml' does not exist",
    ]


def test_a_file_included_twice_is_an_error(reg: Path) -> None:
    valid(reg)
    (reg / "register.yaml").write_text(
        ORG + "include: [systems.yaml, processors.yaml, '*.yaml', datasets/crm.yaml]\n"
    )
    found = problems(reg)
    assert any("systems.yaml is included twice" in p.message for p in found)


def test_glob_includes_are_sorted_and_merged_in_order(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: ['cookies/*.yaml']\n",
            "cookies/b.yaml": "cookies:\n  - {name: b, provider: x, purpose: p, duration: P1D, "
            "category: necessary}\n",
            "cookies/a.yaml": "cookies:\n  - {name: a, provider: x, purpose: p, duration: P1D, "
            "category: necessary}\n",
        },
    )
    loaded = load_register(reg)
    assert [c.name for c in loaded.register.cookies] == ["a", "b"]
    where = loaded.where(("cookies", 1))
    assert where is not None and Path(where.file).name == "b.yaml"


def test_organisation_may_appear_in_one_file_only(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "include: [more.yaml]\n", "more.yaml": ORG})
    found = problems(reg)
    messages = [p.message for p in found]
    assert any(
        "'organisation' is already given at" in m and "register.yaml:2:1" in m for m in messages
    )
    assert any("'datavern' is already given at" in m for m in messages)
    assert all(at(p)[0] == "more.yaml" for p in found)


def test_include_must_be_a_list_of_names(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "include: {a: b}\n"})
    assert "include must be a list" in one(reg).message
    write(reg, {"register.yaml": ORG + "include: [1]\n"})
    assert "must be a file name or a glob" in one(reg).message


# --------------------------------------------------------------------------- semantics


def test_unknown_fideslang_keys_are_errors_everywhere_with_a_suggestion(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml, processors.yaml, datasets/crm.yaml]\n",
            "systems.yaml": SYSTEMS.replace("[user.name,", "[user.nmae,")
            .replace("essential.service\n", "essential.servise\n")
            .replace("[customer]", "[kunde]"),
            "processors.yaml": PROCESSORS.replace("[user.contact.email]", "[user.contact.emial]"),
            "datasets/crm.yaml": DATASET.replace(
                "user.contact.address.street", "user.contact.adress.street"
            ),
        },
    )
    found = {p.path: p.message for p in problems(reg)}
    assert (
        "unknown data category 'user.nmae'" in found["systems[0].processing[0].data_categories[0]"]
    )
    assert "did you mean 'user.name'" in found["systems[0].processing[0].data_categories[0]"]
    assert "unknown data use 'essential.servise'" in found["systems[0].processing[0].data_use"]
    assert "unknown data subject 'kunde'" in found["systems[0].processing[0].data_subjects[0]"]
    assert "user.contact.emial" in found["sub_processors[0].data_categories[0]"]
    nested = "dataset[0].collections[0].fields[2].fields[0].data_categories[0]"
    assert "did you mean 'user.contact.address.street'" in found[nested]


def test_unknown_keys_inside_a_dataset_are_errors(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [crm.yaml]\n",
            "crm.yaml": DATASET.replace(
                "data_categories: [user.contact.email]", "data_categorys: [user.contact.email]"
            ),
        },
    )
    problem = one(reg)
    assert "unknown key 'data_categorys' in a dataset field" in problem.message
    assert "did you mean 'data_categories'" in problem.message
    assert at(problem) == ("crm.yaml", 11, 13)


def test_duplicate_keys_of_entries_are_errors(reg: Path) -> None:
    activity = SYSTEMS.split("    processing:\n")[1]
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml, processors.yaml, a.yaml, b.yaml]\n",
            "systems.yaml": SYSTEMS + SYSTEMS.split("systems:\n")[1].replace("name: K", "name: L"),
            "processors.yaml": PROCESSORS + PROCESSORS.split("sub_processors:\n")[1],
            "a.yaml": DATASET,
            "b.yaml": DATASET,
        },
    )
    assert activity
    found = [p.message for p in problems(reg)]
    assert any(m.startswith("duplicate system key 'crm'; first defined at") for m in found)
    assert any(m.startswith("duplicate processing activity key 'customer-service'") for m in found)
    assert any(m.startswith("duplicate sub-processor key 'mailer'") for m in found)
    assert any(m.startswith("duplicate dataset fides_key 'crm_db'") for m in found)


def test_duplicate_consent_purposes(reg: Path) -> None:
    purpose = "  - {key: news, name: Nyhetsbrev, text: Ja takk}\n"
    write(reg, {"register.yaml": ORG + "consent_purposes:\n" + purpose + purpose})
    problem = one(reg)
    assert problem.message.startswith("duplicate consent purpose key 'news'")
    assert at(problem)[1] == 13


def test_references_to_missing_processors_and_purposes_are_errors(reg: Path) -> None:
    write(
        reg,
        {
            "register.yaml": ORG + "include: [systems.yaml, processors.yaml]\n"
            "cookies:\n  - {name: _ga, provider: Google, purpose: Analyse, duration: P13M,\n"
            "     category: analytics, consent_purpose: analytics}\n",
            "systems.yaml": SYSTEMS.replace("[mailer]", "[mailer, maler]").replace(
                "consent_purpose: null", "consent_purpose: newsletter"
            ),
            "processors.yaml": PROCESSORS,
        },
    )
    found = {p.path: p.message for p in problems(reg)}
    assert found["systems[0].processing[0].recipients[1]"].startswith(
        "recipient 'maler' is not defined (did you mean 'mailer'?)"
    )
    assert (
        "consent purpose 'newsletter' is not defined"
        in found["systems[0].processing[0].consent_purpose"]
    )
    assert "consent purpose 'analytics' is not defined" in found["cookies[0].consent_purpose"]


def valid_fnr() -> str:
    """A checksum-valid number for 1 January 1990 (computed, not a real person's)."""
    for serial in range(100, 500):
        base = f"010190{serial}"
        first = fodselsnummer.calc_check_digit1(base)
        second = fodselsnummer.calc_check_digit2(base + first)
        number = base + first + second
        if fodselsnummer.is_valid(number):
            return number
    raise AssertionError("no valid number found")


def test_a_fodselsnummer_anywhere_in_the_files_is_refused(reg: Path) -> None:
    number = valid_fnr()
    spaced = number[:6] + " " + number[6:]
    write(
        reg,
        {
            "register.yaml": ORG
            + f"# test person {spaced}\ninclude: [systems.yaml, processors.yaml]\n",
            "processors.yaml": PROCESSORS,
            "systems.yaml": SYSTEMS.replace("name: Kunderegister", f"name: Kunde {number}"),
        },
    )
    found = problems(reg)
    assert [at(p)[:2] for p in found] == [("register.yaml", 11), ("systems.yaml", 3)]
    for problem in found:
        assert "personal data must not be in the register" in problem.message
        assert number not in str(problem) and spaced not in str(problem)


def test_an_invalid_fodselsnummer_where_one_is_declared_is_an_error(reg: Path) -> None:
    number = valid_fnr()
    bad = number[:-1] + str((int(number[-1]) + 1) % 10)
    dataset = DATASET.replace(
        "    name: CRM database\n",
        f"    name: CRM database\n    meta:\n      fodselsnummer: '{bad}'\n"
        f"      d-nummer: '71019012345'\n",
    )
    write(reg, {"register.yaml": ORG + "include: [crm.yaml]\n", "crm.yaml": dataset})
    found = problems(reg)
    messages = [p.message for p in found]
    assert messages == [
        "not a valid fødselsnummer or D-nummer: the check digits do not match (checksum)",
        "not a valid fødselsnummer or D-nummer: the check digits do not match (checksum)",
    ]
    assert [at(p)[1] for p in found] == [5, 6]


def test_hostile_input_never_escapes_as_anything_but_invalid_input(reg: Path) -> None:
    samples = [
        "organisation: !!binary aGVsbG8=",
        "organisation: {name: {a: {b: {c: 1}}}}",
        "organisation:\n  name: x\n  languages: [se]\n",
        "organisation: {name: x}\ndataset: [{fides_key: 'bad key!', collections: 5}]",
        "organisation: {name: x}\ndataset: [{fides_key: a, collections: [{name: c, fields: 7}]}]",
        "organisation: {name: x}\ndataset: [{fides_key: a, collections: [{name: c, fides_meta: 3,"
        " fields: [{name: f, fides_meta: {data_type: nope, return_all_elements: true}}]}]}]",
        "organisation: {name: x}\nsystems: [1, null, [], {processing: [1, {recipients: 3}]}]",
        "organisation: {name: x}\ncookies: [{duration: 5, category: [x]}]",
        "organisation: {name: x}\nsub_processors: [{transfer: {basis: {}}, dpa_signed: 1e400}]",
        "organisation: {name: x, org_nr: 0}\ndatavern: 2",
        "? - a\n: b",
        "organisation: {name: x}\ninclude: [[a]]",
        "organisation: .inf",
        '"\\ud800": 1',
    ]
    for text in samples:
        (reg / "register.yaml").write_text(text)
        found = problems(reg)
        assert found, text
        assert all(isinstance(p, Problem) and p.message for p in found)


def test_escaped_surrogates_are_refused(reg: Path) -> None:
    (reg / "register.yaml").write_text('organisation: {name: "a\\udc00b"}\n')
    message = one(reg).message
    assert "surrogate" in message or "invalid Unicode character escape" in message


# --------------------------------------------------------------------------- fuzzing

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["NO", "0150", "P5Y", "contract", "user.name", "essential.service", "<<"]),
)
_keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "organisation",
            "systems",
            "processing",
            "key",
            "name",
            "include",
            "dataset",
            "collections",
            "fields",
            "data_categories",
            "org_nr",
            "legal_basis",
            "cookies",
        ]
    ),
)
_trees = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _trees, max_size=6))
def test_any_yaml_structure_loads_or_raises_invalid_input(data: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "register.yaml").write_text(yaml.safe_dump(data, allow_unicode=False))
        try:
            load_register(Path(folder))
        except InvalidInput as exc:
            assert exc.problems and all(p.message for p in exc.problems)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: ORG + t))
def test_any_bytes_load_or_raise_invalid_input(content: bytes | str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "register.yaml"
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            load_register(Path(folder))
        except InvalidInput as exc:
            assert exc.problems and all(p.message for p in exc.problems)


def test_a_folder_with_register_yml_loads(reg: Path) -> None:
    write(reg, {"register.yml": ORG})
    assert load_register(reg).register.organisation.name == "Eksempel AS"


def test_an_included_file_over_the_limit_is_reported_at_the_include_line(reg: Path) -> None:
    write(reg, {"register.yaml": ORG + "include: [big.yaml]\n"})
    with open(reg / "big.yaml", "wb") as handle:
        handle.truncate(6 * 1024 * 1024)
    problem = one(reg)
    assert at(problem) == ("register.yaml", 11, 11)
    assert problem.message.endswith("big.yaml is 6.0 MB; a register file may be at most 5.0 MB")


def test_a_glob_cannot_walk_outside_the_folder_or_loop_through_links(reg: Path) -> None:
    (reg / "parts").mkdir()
    (reg / "parts" / "a.yaml").write_text("cookies: []\n")
    (reg / "parts" / ".hidden.yaml").write_text("cookies: [oops]\n")
    for name in ("loop1", "loop2"):  # two links back to the folder: 2^depth paths if followed
        os.symlink(reg / "parts", reg / "parts" / name)
    write(reg, {"register.yaml": ORG + "include: ['parts/**/*.yaml']\n"})
    loaded = load_register(reg)
    assert list(loaded.files) == ["register.yaml", "parts/a.yaml"]
    for pattern in ("../../**/*.yaml", "parts/*/../../../*.yaml"):
        write(reg, {"register.yaml": ORG + f"include: ['{pattern}']\n"})
        problem = one(reg)
        assert "outside the register folder" in problem.message or "'..' may not follow" in (
            problem.message
        )


def test_unusable_include_names_are_errors(reg: Path) -> None:
    for name in ('"a\\0b.yaml"', '"' + "x" * 2000 + '.yaml"', '"' + "y" * 300 + '.yaml"'):
        write(reg, {"register.yaml": ORG + f"include: [{name}]\n"})
        problem = one(reg)
        assert at(problem)[1] == 11
        assert "not a usable file name" in problem.message or "cannot be used" in problem.message
