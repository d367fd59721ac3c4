"""The compliance lint: pure rules over a ``schema.Register`` (no I/O).

Each rule has a stable id (``DV101``), a slug, a severity, the legal source it
rests on and a fix hint. ``lint(register, today=...)`` returns every finding,
sorted deterministically; each finding carries a path into the register (e.g.
``("sub_processors", 2, "transfer", "basis")``) that the runner turns into
file:line:column with ``LoadedRegister.where``. Messages quote the register's
own keys and the names of organisations, never the texts or personal data.

Severities: ``error`` is a breach of the law or a notice item the law requires
that the register cannot supply; ``warning`` is a likely problem a privacy owner
must look at; ``info`` is a reminder. Every rule is documented in
docs/lint-rules.md (a test keeps the two in step).

Decisions where the law leaves room:
- "Not collected from the data subject" (art. 14) is said by ``activity.source``.
  The lint also demands a source where the register itself shows the data cannot
  come from the subject: the data subjects include ``next_of_kin`` (their details
  come from the employee or customer), or ``source_publicly_available`` is set.
  Activities with a source are art. 14 activities, so art. 13(2)(e) (whether
  providing the data is required) is not asked of them.
- Chapter V applies to every recipient, not only processors: a controller or
  joint controller outside the EEA also needs a transfer basis.
- A category is "covered" by an activity when the activity lists the same
  fideslang category or a broader one (a parent): ``user.contact`` covers
  ``user.contact.email``, not the other way round.
- What a notice mentions without naming is recorded, not guessed, and reported:
  ``country: unknown`` (DV110) is neither inside nor outside the EEA for the
  transfer rules; ``scc_unversioned`` (DV109); ``organisation.unnamed_recipients``
  (DV208) and ``unspecified_transfers`` (DV111); the root category ``user`` (DV903).
- ``TODO`` counts as a placeholder only as an upper-case word (``datavern init``
  writes ``TODO: ...``); the runner also finds ``# TODO`` comments in the files.
- A complaint route is an EEA data protection authority when its url is on one of
  ``EEA_DPA_DOMAINS`` (DV308); a private "seal" or dispute service is not one.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from datavern.register import schema
from datavern.register.schema import (
    Activity,
    LegalBasis,
    Register,
    Requirement,
    SpecialCategoryBasis,
    TransferBasis,
)

Path = tuple[str | int, ...]


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe; used to sort and to compare with ``--fail-on``."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Rule:
    id: str
    slug: str
    severity: Severity
    legal_source: str
    title: str
    fix: str


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str
    path: Path
    fix: str

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def slug(self) -> str:
        return self.rule.slug

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def legal_source(self) -> str:
        return self.rule.legal_source

    def sort_key(self) -> tuple[int, str, tuple[tuple[int, int, str], ...], str]:
        return (self.severity.rank, self.rule.id, path_sort_key(self.path), self.message)


def path_sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    """Integers and strings in one path sort without comparing int to str."""
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def path_str(path: Path) -> str:
    """``("systems", 0, "processing", 1)`` -> ``systems[0].processing[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# --------------------------------------------------------------------------- rules

RULES: dict[str, Rule] = {}


def _rule(
    rule_id: str, slug: str, severity: Severity, legal_source: str, title: str, fix: str
) -> Rule:
    if rule_id in RULES or any(r.slug == slug for r in RULES.values()):
        raise ValueError(f"duplicate lint rule {rule_id} {slug}")
    rule = Rule(rule_id, slug, severity, legal_source, title, fix)
    RULES[rule_id] = rule
    return rule


ERROR, WARNING, INFO = Severity.error, Severity.warning, Severity.info

# DV000 is not produced by `lint`: the loader reports it. It is listed here so the
# output formats (SARIF rules, JSON) and the documentation treat it like any rule.
REGISTER_INVALID = _rule(
    "DV000",
    "register-invalid",
    ERROR,
    "GDPR art. 5(2) and 30(1)",
    "The register cannot be read: YAML or schema error.",
    "Correct the file at the position given; every problem is listed at once.",
)

# DV1xx: transfers outside the EEA (GDPR chapter V).
TRANSFER_BASIS_INVALID = _rule(
    "DV101",
    "transfer-basis-invalid",
    ERROR,
    "GDPR art. 44 and 46(2)(c); CJEU C-362/14 Schrems I; CJEU C-311/18 Schrems II; "
    "Commission Implementing Decision (EU) 2021/914 art. 4",
    "A transfer rests on a mechanism that is no longer valid.",
    "Use the 2021 standard contractual clauses (basis: scc_2021), or for a US recipient "
    "the EU-US Data Privacy Framework (basis: dpf, dpf_certified: true) if it is certified.",
)
TRANSFER_BASIS_MISSING = _rule(
    "DV102",
    "transfer-basis-missing",
    ERROR,
    "GDPR art. 44, 46(1) and 13(1)(f)",
    "A recipient outside the EEA has no transfer basis.",
    "Add `transfer:` with a valid basis (adequacy, dpf, scc_2021, bcr or art49), or keep "
    "the data inside the EEA and correct `country`/`locations`.",
)
TRANSFER_EEA_OUTSIDE_EEA = _rule(
    "DV103",
    "transfer-eea-basis-outside-eea",
    ERROR,
    "GDPR art. 44",
    "Basis `eea` is given for a recipient that is or processes outside the EEA.",
    "State the real transfer basis for the countries outside the EEA.",
)
ADEQUACY_NOT_AVAILABLE = _rule(
    "DV104",
    "adequacy-not-available",
    ERROR,
    "GDPR art. 45(1) and 45(3)",
    "Basis `adequacy` for a country without an adequacy decision.",
    "Use scc_2021 or bcr; for the United States use dpf with a certified recipient.",
)
DPF_NOT_CERTIFIED = _rule(
    "DV105",
    "dpf-not-certified",
    ERROR,
    "GDPR art. 45(1); Commission Implementing Decision (EU) 2023/1795 "
    "(EU-US Data Privacy Framework)",
    "A transfer under the Data Privacy Framework to a recipient not marked certified.",
    "Check the recipient on dataprivacyframework.gov and set `dpf_certified: true`, "
    "or use scc_2021.",
)
DPF_OUTSIDE_US = _rule(
    "DV106",
    "dpf-outside-us",
    ERROR,
    "GDPR art. 45(1); Commission Implementing Decision (EU) 2023/1795",
    "The Data Privacy Framework is used for a country other than the United States.",
    "Use adequacy (if the country has a decision), scc_2021 or bcr for the other countries.",
)
TRANSFER_DEROGATION = _rule(
    "DV107",
    "transfer-derogation",
    WARNING,
    "GDPR art. 49; EDPB Guidelines 2/2018",
    "A transfer rests on an art. 49 derogation.",
    "Derogations fit occasional, non-repetitive transfers only; use scc_2021, bcr or dpf "
    "for a processor that receives data routinely.",
)
TRANSFER_SAFEGUARDS_COPY = _rule(
    "DV108",
    "transfer-safeguards-copy-missing",
    WARNING,
    "GDPR art. 13(1)(f) and 14(1)(f)",
    "The notice cannot say where a copy of the safeguards can be had.",
    "Set `transfer.safeguards_url` to where the clauses or rules are published, "
    "or to the page that explains how to ask for a copy.",
)
SCC_VERSION_UNKNOWN = _rule(
    "DV109",
    "scc-version-unknown",
    ERROR,
    "GDPR art. 46(2)(c) and 13(1)(f); Commission Implementing Decision (EU) 2021/914 art. 4",
    "Standard contractual clauses are claimed without saying which.",
    "Check which clauses were signed. Only the 2021 clauses (Decision (EU) 2021/914) are "
    "valid since 27 December 2022: record `basis: scc_2021` with `safeguards_url`, or sign them.",
)
RECIPIENT_COUNTRY_UNKNOWN = _rule(
    "DV110",
    "recipient-country-unknown",
    ERROR,
    "GDPR art. 13(1)(f), 14(1)(f) and 30(1)(e)",
    "A recipient's country is unknown, so nobody can tell whether data leaves the EEA.",
    "Find out where the recipient is established and where it stores or accesses the data; "
    "set `country` and `locations`, and a `transfer` basis for any country outside the EEA.",
)
TRANSFERS_UNSPECIFIED = _rule(
    "DV111",
    "transfers-unspecified",
    ERROR,
    "GDPR art. 13(1)(f), 14(1)(f), 30(1)(e) and 44",
    "Data may be transferred outside the EEA, but recipient, country and basis are not stated.",
    "Name each recipient outside the EEA under `sub_processors` with its countries and "
    "transfer basis, then remove `organisation.unspecified_transfers`.",
)

# DV2xx: recipients and processors.
DPA_MISSING = _rule(
    "DV201",
    "dpa-missing",
    ERROR,
    "GDPR art. 28(3)",
    "A processor without a signed data processing agreement.",
    "Sign a data processing agreement (databehandleravtale) and record the date in `dpa_signed`.",
)
DPA_DATE_FUTURE = _rule(
    "DV202",
    "dpa-date-future",
    ERROR,
    "GDPR art. 28(3) and 28(9)",
    "The data processing agreement is dated in the future.",
    "Record the date the agreement was actually signed; a processor may not start before it.",
)
RECIPIENT_UNKNOWN = _rule(
    "DV203",
    "recipient-unknown",
    ERROR,
    "GDPR art. 13(1)(e) and 30(1)(d)",
    "An activity names a recipient that is not in `sub_processors`.",
    "Add the recipient to `sub_processors` or correct the key.",
)
PROCESSOR_CATEGORIES_MISSING = _rule(
    "DV204",
    "processor-data-categories-missing",
    WARNING,
    "GDPR art. 28(3) and 30(1)(d)",
    "A processor that receives data has no `data_categories`.",
    "List the fideslang data categories the processor receives.",
)
PROCESSOR_CATEGORIES_UNDECLARED = _rule(
    "DV205",
    "processor-categories-undeclared",
    WARNING,
    "GDPR art. 28(3)(a) and 30(1)(c)",
    "A processor receives a data category that no activity naming it processes.",
    "Add the category to the activity that sends it, name the processor in that activity's "
    "`recipients`, or remove the category from the processor.",
)
RECIPIENT_UNUSED = _rule(
    "DV206",
    "recipient-unused",
    INFO,
    "GDPR art. 13(1)(e) and 30(1)(d)",
    "A recipient is not named by any activity.",
    "Name it in the `recipients` of the activities that send it data, or remove it.",
)
JOINT_CONTROLLER = _rule(
    "DV207",
    "joint-controller-arrangement",
    INFO,
    "GDPR art. 26(1)-(2)",
    "A joint controller: the essence of the arrangement must be available to data subjects.",
    "Make sure the art. 26 arrangement exists and its essence is described in the notice.",
)
RECIPIENTS_UNNAMED = _rule(
    "DV208",
    "recipients-unnamed",
    ERROR,
    "GDPR art. 13(1)(e), 14(1)(e), 15(1)(c), 28(3) and 30(1)(d); CJEU C-154/21 "
    "Österreichische Post",
    "Data goes to recipients the register does not name.",
    "Add every recipient under `sub_processors` (name, country, service, data, agreement), "
    "then remove `organisation.unnamed_recipients`.",
)

# DV3xx: the controller and what the notice must say about it.
CONTROLLER_EMAIL_MISSING = _rule(
    "DV301",
    "controller-email-missing",
    ERROR,
    "GDPR art. 13(1)(a), 14(1)(a) and 12(2)",
    "The controller has no contact e-mail.",
    "Set `organisation.email` to an address that is read, e.g. personvern@example.no.",
)
CONTROLLER_ADDRESS_MISSING = _rule(
    "DV302",
    "controller-address-missing",
    ERROR,
    "GDPR art. 13(1)(a) and 14(1)(a)",
    "The controller has no postal address.",
    "Set `organisation.address` (street, postal_code, city, country).",
)
CONTROLLER_ORG_NR_MISSING = _rule(
    "DV303",
    "controller-org-nr-missing",
    WARNING,
    "GDPR art. 13(1)(a); ehandelsloven § 8",
    "The controller has no organisation number.",
    "Set `organisation.org_nr` as in Enhetsregisteret.",
)
DPO_CONTACT_MISSING = _rule(
    "DV304",
    "dpo-contact-missing",
    ERROR,
    "GDPR art. 13(1)(b), 14(1)(b) and 37(7)",
    "A data protection officer is set without contact details.",
    "Give `organisation.dpo` an e-mail address (and phone or address if you like).",
)
AUTHORITY_MISSING = _rule(
    "DV305",
    "supervisory-authority-missing",
    ERROR,
    "GDPR art. 13(2)(d), 14(2)(e) and 77",
    "The supervisory authority the data subject can complain to is not identified.",
    "Remove the `supervisory_authority` override to use Datatilsynet, or give its name and url.",
)
REPRESENTATIVE_MISSING = _rule(
    "DV306",
    "representative-missing",
    WARNING,
    "GDPR art. 27 and 13(1)(a)",
    "A controller established outside the EEA has no representative in the EEA.",
    "Designate a representative in the EEA and set `organisation.representative`.",
)
PROCESSOR_ROLE = _rule(
    "DV307",
    "processor-role-reminder",
    INFO,
    "GDPR art. 28 and 30(2)",
    "The organisation is (also) a processor for its customers.",
    "Keep a record of processing per customer (art. 30(2)) and follow each customer's "
    "documented instructions; the notice covers only what you control.",
)
AUTHORITY_NOT_DPA = _rule(
    "DV308",
    "supervisory-authority-not-eea-dpa",
    ERROR,
    "GDPR art. 13(2)(d), 14(2)(e), 51 and 77",
    "The complaint route named is not a data protection authority in the EEA.",
    "Remove the `supervisory_authority` override to use Datatilsynet, or name the EEA "
    "authority that is competent (its own website as `url`).",
)

# DV4xx: each activity's purpose, legal basis and the art. 13/14 items it must supply.
LEGAL_BASIS_MISSING = _rule(
    "DV401",
    "legal-basis-missing",
    ERROR,
    "GDPR art. 6(1) and 13(1)(c)",
    "An activity has no legal basis.",
    "Set `legal_basis` to one of consent, contract, legal_obligation, vital_interests, "
    "public_task, legitimate_interests.",
)
LEGITIMATE_INTEREST_NOT_STATED = _rule(
    "DV402",
    "legitimate-interest-not-stated",
    ERROR,
    "GDPR art. 13(1)(d) and 14(2)(b)",
    "Legitimate interests is the basis, but the interest pursued is not stated.",
    "Describe the interest in `legitimate_interest`, in each notice language.",
)
LIA_MISSING = _rule(
    "DV403",
    "legitimate-interest-assessment-missing",
    ERROR,
    "GDPR art. 6(1)(f) and 5(2)",
    "Legitimate interests is the basis, but no balancing test (LIA) is referenced.",
    "Carry out the balancing test and set `legitimate_interest_assessment` to where it is kept.",
)
CONSENT_PURPOSE_MISSING = _rule(
    "DV404",
    "consent-purpose-missing",
    ERROR,
    "GDPR art. 6(1)(a), 7(1) and 13(2)(c)",
    "Consent is the basis, but no consent purpose says what is consented to.",
    "Add a consent purpose under `consent_purposes` and set the activity's `consent_purpose`.",
)
CONSENT_PURPOSE_UNKNOWN = _rule(
    "DV405",
    "consent-purpose-unknown",
    ERROR,
    "GDPR art. 7(1)",
    "A consent purpose key that is not in `consent_purposes`.",
    "Add the consent purpose or correct the key.",
)
CONSENT_WITHDRAWAL_MISSING = _rule(
    "DV406",
    "consent-withdrawal-missing",
    ERROR,
    "GDPR art. 7(3) and 13(2)(c)",
    "A consent purpose does not say how consent is withdrawn.",
    "Set `withdraw` on the consent purpose: how to withdraw, as easily as consent was given.",
)
CONSENT_ON_OTHER_BASIS = _rule(
    "DV407",
    "consent-purpose-on-other-basis",
    WARNING,
    "GDPR art. 6(1); EDPB Guidelines 05/2020 on consent",
    "An activity asks for consent but rests on another legal basis.",
    "Either make consent the basis, or drop the consent purpose: asking for consent you do "
    "not rely on misleads the data subject.",
)
REQUIREMENT_MISSING = _rule(
    "DV408",
    "requirement-missing",
    ERROR,
    "GDPR art. 13(2)(e)",
    "The register does not say whether providing the data is required.",
    "Set `requirement` to statutory, contractual, contract_precondition or voluntary.",
)
REQUIREMENT_CONSEQUENCE_MISSING = _rule(
    "DV409",
    "requirement-consequence-missing",
    ERROR,
    "GDPR art. 13(2)(e)",
    "Providing the data is required, but the consequence of not providing it is not stated.",
    "Describe in `requirement_consequence` what happens if the data is not provided.",
)
SOURCE_MISSING = _rule(
    "DV410",
    "source-missing",
    ERROR,
    "GDPR art. 14(2)(f)",
    "Data not collected from the data subject, without its source.",
    "Describe in `source` where the data comes from (and set `source_publicly_available` "
    "if it is from public sources).",
)
AUTOMATED_DECISION_BASIS = _rule(
    "DV411",
    "automated-decision-basis-invalid",
    ERROR,
    "GDPR art. 22(1)-(2)",
    "An automated decision rests on a basis art. 22(2) does not allow.",
    "Automated decisions with legal or similar effects need a contract, a law, or explicit "
    "consent; change the basis or put a person in the loop.",
)
AUTOMATED_DECISION_SPECIAL = _rule(
    "DV412",
    "automated-decision-special-categories",
    ERROR,
    "GDPR art. 22(4)",
    "An automated decision uses special categories without explicit consent or a law.",
    "Use `special_category_basis: explicit_consent` or substantial_public_interest, or "
    "keep special categories out of the decision.",
)
MARKETING_ON_CONTRACT = _rule(
    "DV413",
    "marketing-on-contract",
    WARNING,
    "GDPR art. 6(1)(b); EDPB Guidelines 2/2019",
    "Marketing rests on the contract basis.",
    "Marketing is rarely necessary to perform a contract; use consent or legitimate interests "
    "(with an assessment).",
)
ELECTRONIC_MARKETING_CONSENT = _rule(
    "DV414",
    "electronic-marketing-without-consent",
    WARNING,
    "markedsføringsloven § 15",
    "Marketing by e-mail or SMS without consent.",
    "Electronic marketing to individuals needs prior consent, except to existing customers "
    "for your own similar products with an easy opt-out in every message; use consent unless "
    "that exception truly applies.",
)

EMPLOYEE_CONSENT = _rule(
    "DV415",
    "employee-consent",
    WARNING,
    "GDPR art. 4(11) and 7(4); EDPB Guidelines 05/2020 on consent",
    "Consent from employees, who are seldom free to refuse their employer.",
    "Rely on the employment contract, a legal obligation or legitimate interests (with an "
    "assessment); keep consent only where saying no truly has no consequence.",
)
CONSENT_FOR_NECESSARY = _rule(
    "DV416",
    "consent-for-necessary-processing",
    WARNING,
    "GDPR art. 6(1) and 7(4); EDPB Guidelines 05/2020 on consent",
    "Processing needed to deliver the service (an essential data use) rests on consent.",
    "Use contract (or legal_obligation) for what the service needs; consent that the service "
    "depends on is not freely given, and withdrawing it would stop the service.",
)

# DV5xx: special categories and identifiers.
SPECIAL_CATEGORY_BASIS_MISSING = _rule(
    "DV501",
    "special-category-basis-missing",
    ERROR,
    "GDPR art. 9(1)-(2)",
    "Special categories of data without an art. 9(2) condition.",
    "Set `special_category_basis` (e.g. explicit_consent, employment, legal_claims), or stop "
    "processing the category.",
)
CRIMINAL_RECORDS = _rule(
    "DV502",
    "criminal-records",
    WARNING,
    "GDPR art. 10; personopplysningsloven § 11",
    "Data on criminal convictions and offences.",
    "Such data may only be processed under official authority or where the law allows it "
    "(personopplysningsloven § 11); document which provision you rely on.",
)
NATIONAL_ID_NEED_MISSING = _rule(
    "DV503",
    "national-id-need-missing",
    ERROR,
    "personopplysningsloven § 12",
    "Fødselsnummer is processed without a stated need.",
    "State in `national_id_need` why secure identification is necessary, or stop collecting it.",
)
SPECIAL_CATEGORY_BASIS_UNUSED = _rule(
    "DV504",
    "special-category-basis-unused",
    INFO,
    "GDPR art. 9(2) and 5(1)(c)",
    "An art. 9 condition is set, but the activity lists no special categories.",
    "Add the special category the activity processes, or remove `special_category_basis`.",
)

# DV6xx: retention (storage limitation).
RETENTION_MISSING = _rule(
    "DV601",
    "retention-missing",
    ERROR,
    "GDPR art. 5(1)(e), 13(2)(a) and 30(1)(f)",
    "An activity does not say how long data is kept.",
    "Add `retention:` with a named rule or a period and trigger.",
)
RETENTION_INDEFINITE = _rule(
    "DV602",
    "retention-indefinite",
    ERROR,
    "GDPR art. 5(1)(e)",
    "Data is kept indefinitely.",
    "Decide when the data is no longer needed and set `period` and `trigger`; "
    "keep longer only what a law requires (a named rule).",
)
RETENTION_PERIOD_MISSING = _rule(
    "DV603",
    "retention-period-missing",
    ERROR,
    "GDPR art. 13(2)(a) and 5(1)(e)",
    "A retention entry has neither a named rule nor a period.",
    "Set `rule` to a built-in legal rule, or `period` (ISO 8601, e.g. P3Y) with `trigger`.",
)
RETENTION_RULE_UNKNOWN = _rule(
    "DV604",
    "retention-rule-unknown",
    ERROR,
    "GDPR art. 13(2)(a)",
    "A retention rule name Datavern does not know.",
    "Use a built-in rule (see docs/lint-rules.md#dv604) or give `period` and `trigger`.",
)
RETENTION_TRIGGER_MISSING = _rule(
    "DV605",
    "retention-trigger-missing",
    WARNING,
    "GDPR art. 13(2)(a)",
    "A retention period without a trigger: it is unclear when the period starts.",
    "Set `trigger` to the event that starts the period, e.g. contract_end or last_login.",
)
RETENTION_RULE_AND_PERIOD = _rule(
    "DV606",
    "retention-rule-and-period",
    WARNING,
    "GDPR art. 13(2)(a) and 5(1)(e)",
    "Both a named rule and a period are given; the notice cannot say which applies.",
    "Keep one: the named legal rule, or the period with its trigger.",
)

# DV7xx: notice languages.
TRANSLATION_MISSING = _rule(
    "DV701",
    "translation-missing",
    ERROR,
    "GDPR art. 12(1)",
    "A text the notice shows lacks a notice language.",
    "Give the field a mapping with a text per language in `organisation.languages`, "
    "e.g. {nb: ..., en: ...}; a plain string counts for the first language only.",
)

# DV8xx: cookies and consent purposes.
COOKIE_CONSENT_MISSING = _rule(
    "DV801",
    "cookie-consent-missing",
    ERROR,
    "ekomloven § 3-15; GDPR art. 4(11) and 7",
    "A cookie that is not strictly necessary has no consent purpose.",
    "Set `consent_purpose` on the cookie and only set it after the visitor consents, or "
    "mark it `necessary` if it truly is.",
)
COOKIE_CONSENT_PURPOSE_UNKNOWN = _rule(
    "DV802",
    "cookie-consent-purpose-unknown",
    ERROR,
    "ekomloven § 3-15",
    "A cookie names a consent purpose that is not in `consent_purposes`.",
    "Add the consent purpose or correct the key.",
)
CONSENT_PURPOSE_UNUSED = _rule(
    "DV803",
    "consent-purpose-unused",
    INFO,
    "GDPR art. 7(1) and 5(1)(b)",
    "A consent purpose no activity or cookie uses.",
    "Name it from the activity or cookie that relies on it, or remove it.",
)

EMAIL_DOUBLE_OPT_IN = _rule(
    "DV804",
    "email-consent-without-double-opt-in",
    INFO,
    "GDPR art. 7(1); markedsføringsloven § 15",
    "Consent to e-mail marketing without double opt-in.",
    "Set `double_opt_in: true`: a confirmation e-mail proves that the owner of the address "
    "consented, which you must be able to show.",
)
COOKIES_NOT_LISTED = _rule(
    "DV805",
    "cookies-not-listed",
    ERROR,
    "ekomloven § 3-15; GDPR art. 13(1)(c) and (e)",
    "An activity uses cookies, but the register lists none.",
    "List every cookie under `cookies` (name, provider, purpose, duration, category) with the "
    "consent purpose it needs, so the notice and the banner can show them.",
)

# DV9xx: the register as a record of processing.
DUPLICATE_KEY = _rule(
    "DV901",
    "duplicate-key",
    ERROR,
    "GDPR art. 30(1)",
    "Two entries share one key; references to it are ambiguous.",
    "Give each system, activity, sub-processor, consent purpose, cookie and dataset its own key.",
)
DATASET_CATEGORY_UNDECLARED = _rule(
    "DV902",
    "dataset-category-undeclared",
    WARNING,
    "GDPR art. 30(1)(c), 13(1)(c) and 14(1)(d)",
    "A dataset stores a personal data category that no activity declares.",
    "Add the category (or a broader one) to the activity that processes it, or correct the "
    "dataset annotation.",
)
DATA_CATEGORIES_UNITEMISED = _rule(
    "DV903",
    "data-categories-unitemised",
    WARNING,
    "GDPR art. 14(1)(d), 15(1)(b) and 30(1)(c)",
    "Data is recorded only as `user`, the root of every personal data category.",
    "List the kinds of personal data, e.g. user.name, user.contact.email, "
    "user.financial.bank_account; see docs/register.md, 'Taxonomy'.",
)
TODO_PLACEHOLDER = _rule(
    "DV904",
    "todo-placeholder",
    WARNING,
    "GDPR art. 5(1)(a), 5(2) and 12(1)",
    "The register still holds TODO placeholders: it is not ready to publish.",
    "Replace each value marked TODO with the real fact and delete the marker; "
    "`datavern init` writes them for what only you know.",
)

# DV95x: the datasets as a graph a data-subject request can walk (docs/dsr-plan.md), and,
# with `datavern check --live`, the datasets against the live databases. These are
# reported by the runner (lint.py), which reads the datasets with the DSR engine and the
# databases through the connectors; `lint` itself stays pure and never reports them.
DATASET_UNREACHABLE = _rule(
    "DV951",
    "dataset-personal-data-unreachable",
    ERROR,
    "GDPR art. 12(2), 15(1) and 17(1)",
    "A collection holds personal data that no identity reaches: a request can never find it.",
    "Mark the field that identifies the person with `fides_meta.identity` (e.g. email), or "
    "reference the collection from one an identity reaches (`fides_meta.references`).",
)
DATASET_REFERENCE_INVALID = _rule(
    "DV952",
    "dataset-reference-invalid",
    ERROR,
    "GDPR art. 12(2), 15(1) and 17(1)",
    "A dataset reference names a dataset, collection or field that does not exist, or "
    "cannot be followed.",
    "Write `field: <collection>.<field>` of an existing field and the `dataset` it is in; "
    "give the two sides of a reference one direction.",
)
DATASET_IDENTITY_INVALID = _rule(
    "DV953",
    "dataset-identity-invalid",
    ERROR,
    "GDPR art. 12(2) and 12(6)",
    "An identity field has no usable name, so no request can start from it.",
    "Name the identity type, e.g. `identity: email`, with letters, digits, '_', '.' or '-'.",
)
DATASET_ORDER_INVALID = _rule(
    "DV954",
    "dataset-order-invalid",
    ERROR,
    "GDPR art. 12(3) and 17(1)",
    "`after` or `erase_after` names something that does not exist or cannot be satisfied.",
    "Name existing collections as `<dataset>.<collection>` (or datasets) and remove the "
    "constraint that closes the cycle.",
)
LIVE_COLLECTION_MISSING = _rule(
    "DV955",
    "live-collection-missing",
    ERROR,
    "GDPR art. 5(2), 15(1) and 17(1)",
    "A declared collection has no table in the live database.",
    "Correct the collection's `name` (and `fides_meta.namespace.schema`), or the connection "
    "in `dsr.connections`; remove the collection if the table is gone.",
)
LIVE_FIELD_MISSING = _rule(
    "DV956",
    "live-field-missing",
    ERROR,
    "GDPR art. 5(2), 15(1) and 17(1)",
    "A declared field has no column in the live table.",
    "Correct the field's `name`, or remove the field if the column is gone.",
)
LIVE_COLUMN_UNDECLARED = _rule(
    "DV957",
    "live-column-undeclared",
    INFO,
    "GDPR art. 30(1)(c), 15(1) and 17(1)",
    "A live column whose name suggests personal data is not declared in the datasets.",
    "Declare the column (with its data categories) so requests find and erase it, or confirm "
    "it holds no personal data.",
)
LIVE_DATABASE_UNREACHABLE = _rule(
    "DV958",
    "live-database-unreachable",
    ERROR,
    "GDPR art. 5(2)",
    "`--live`: a dataset's database could not be read, so it was not compared.",
    "Check the connection (`datavern connection test NAME`), DATAVERN_CONNECTION_KEY and the "
    "name in `dsr.connections`.",
)
LIVE_NOT_CHECKED = _rule(
    "DV959",
    "live-check-skipped",
    INFO,
    "GDPR art. 5(2)",
    "`--live`: a dataset has no stored connection, so it was not compared.",
    "Name its connection in `dsr.connections` (or add a connection named like the dataset "
    "with `datavern connection add`).",
)

RUNNER_RULES = frozenset(
    {
        DATASET_UNREACHABLE.id,
        DATASET_REFERENCE_INVALID.id,
        DATASET_IDENTITY_INVALID.id,
        DATASET_ORDER_INVALID.id,
        LIVE_COLLECTION_MISSING.id,
        LIVE_FIELD_MISSING.id,
        LIVE_COLUMN_UNDECLARED.id,
        LIVE_DATABASE_UNREACHABLE.id,
        LIVE_NOT_CHECKED.id,
    }
)
"""Rules the runner (lint.py) reports from the datasets and live databases, not ``lint``."""

# Each graph code of the DSR engine (dsr/graph.py GRAPH_PROBLEM_CODES) and the rule that
# reports it. `dsr-dataset-duplicate` is DV901 (duplicate-key), which `lint` reports.
GRAPH_CODE_RULES: dict[str, Rule] = {
    "dsr-unreachable-personal-data": DATASET_UNREACHABLE,
    "dsr-reference-unknown-dataset": DATASET_REFERENCE_INVALID,
    "dsr-reference-unknown-collection": DATASET_REFERENCE_INVALID,
    "dsr-reference-unknown-field": DATASET_REFERENCE_INVALID,
    "dsr-reference-malformed": DATASET_REFERENCE_INVALID,
    "dsr-reference-self": DATASET_REFERENCE_INVALID,
    "dsr-reference-conflict": DATASET_REFERENCE_INVALID,
    "dsr-identity-unnamed": DATASET_IDENTITY_INVALID,
    "dsr-identity-name": DATASET_IDENTITY_INVALID,
    "dsr-after-unknown": DATASET_ORDER_INVALID,
    "dsr-erase-after-unknown": DATASET_ORDER_INVALID,
    "dsr-after-cycle": DATASET_ORDER_INVALID,
    "dsr-erase-after-cycle": DATASET_ORDER_INVALID,
    "dsr-after-unsatisfiable": DATASET_ORDER_INVALID,
    "dsr-dataset-duplicate": DUPLICATE_KEY,
}


# ---------------------------------------------------------------------- legal data

# EEA: the EU 27 and Norway, Iceland, Liechtenstein (EEA Agreement, Annex XI).
# fmt: off
EU = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
# fmt: on
EEA = EU | {"NO", "IS", "LI"}

# Adequacy decisions under art. 45 (and Directive 95/46 art. 25(6), kept in force by
# art. 45(9)), incorporated into the EEA Agreement. The US decision covers only
# organisations certified under the Data Privacy Framework, so `adequacy` is not
# accepted for US; `dpf` is.
ADEQUACY_DECISIONS: dict[str, str] = {
    "AD": "Commission Decision 2010/625/EU (Andorra)",
    "AR": "Commission Decision 2003/490/EC (Argentina)",
    "CA": "Commission Decision 2002/2/EC (Canada, organisations subject to PIPEDA)",
    "CH": "Commission Decision 2000/518/EC (Switzerland)",
    "FO": "Commission Decision 2010/146/EU (Faroe Islands)",
    "GB": "Commission Implementing Decision (EU) 2021/1772 (United Kingdom)",
    "GG": "Commission Decision 2003/821/EC (Guernsey)",
    "IL": "Commission Decision 2011/61/EU (Israel)",
    "IM": "Commission Decision 2004/411/EC (Isle of Man)",
    "JE": "Commission Decision 2008/393/EC (Jersey)",
    "JP": "Commission Implementing Decision (EU) 2019/419 (Japan)",
    "KR": "Commission Implementing Decision (EU) 2022/254 (Republic of Korea)",
    "NZ": "Commission Decision 2013/65/EU (New Zealand)",
    "US": "Commission Implementing Decision (EU) 2023/1795 (United States, DPF-certified only)",
    "UY": "Commission Decision 2012/484/EU (Uruguay)",
}

# Bases that are not valid today, and why.
INVALID_TRANSFER_BASES: dict[TransferBasis, str] = {
    TransferBasis.privacy_shield: "the EU-US Privacy Shield was invalidated by the CJEU in "
    "C-311/18 (Schrems II) on 16 July 2020",
    TransferBasis.safe_harbor: "Safe Harbor was invalidated by the CJEU in C-362/14 "
    "(Schrems I) on 6 October 2015",
    TransferBasis.scc_2001: "the 2001 standard contractual clauses (Decision 2001/497/EC) were "
    "repealed by Decision (EU) 2021/914; contracts under them lapsed on 27 December 2022",
    TransferBasis.scc_2004: "the 2004 standard contractual clauses (Decision 2004/915/EC) were "
    "repealed by Decision (EU) 2021/914; contracts under them lapsed on 27 December 2022",
    TransferBasis.scc_2010: "the 2010 standard contractual clauses (Decision 2010/87/EU) were "
    "repealed by Decision (EU) 2021/914; contracts under them lapsed on 27 December 2022",
}


@dataclass(frozen=True)
class LegalRetentionRule:
    """A retention period laid down by law, usable as ``retention.rule``."""

    name: str
    period: str  # ISO 8601 duration
    trigger: str
    legal_source: str
    description: dict[str, str] = field(default_factory=dict)  # nb/en text for the notice


BUILTIN_RETENTION_RULES: dict[str, LegalRetentionRule] = {
    r.name: r
    for r in (
        LegalRetentionRule(
            name="bokforingsloven-13-1-1-4",
            period="P5Y",
            trigger="end_of_financial_year",
            legal_source="bokføringsloven § 13 første ledd nr. 1-4 og andre ledd",
            description={
                "nb": "Regnskapsmateriale som årsregnskap, spesifikasjoner og "
                "bilag oppbevarer vi i fem år etter utgangen av regnskapsåret, "
                "slik bokføringsloven § 13 krever.",
                "en": "Accounting records such as annual accounts, specifications and "
                "vouchers are kept for five years after the end of the financial year, "
                "as the Norwegian Bookkeeping Act § 13 requires.",
            },
        ),
        LegalRetentionRule(
            name="bokforingsloven-13-1-5-8",
            period="P3Y6M",
            trigger="end_of_financial_year",
            legal_source="bokføringsloven § 13 første ledd nr. 5-8 og andre ledd",
            description={
                "nb": "Avtaler, korrespondanse som hører til regnskapet, pakksedler og "
                "prisoversikter oppbevarer vi i tre år og seks måneder etter utgangen av "
                "regnskapsåret, slik bokføringsloven § 13 krever.",
                "en": "Agreements, correspondence that belongs to the accounts, packing "
                "slips and price lists are kept for three years and six months after the "
                "end of the financial year, as the Norwegian Bookkeeping Act § 13 requires.",
            },
        ),
    )
}

# Art. 9(1) special categories as fideslang names them (a category matches itself
# and everything below it). Fideslang has no category for trade-union membership.
SPECIAL_CATEGORIES: dict[str, str] = {
    "user.biometric": "biometric data",
    "user.authorization.biometric": "biometric data",
    "user.health_and_medical": "health or genetic data",
    "user.demographic.political_opinion": "political opinions",
    "user.demographic.race_ethnicity": "racial or ethnic origin",
    "user.demographic.religious_belief": "religious or philosophical beliefs",
    "user.demographic.sexual_orientation": "sex life or sexual orientation",
}
CRIMINAL_CATEGORIES = ("user.criminal_history",)
NATIONAL_ID_CATEGORIES = ("user.government_id.national_identification_number",)
# Data subjects who depend on the controller and so can seldom consent freely
# (EDPB Guidelines 05/2020, para. 21-22).
EMPLOYEE_SUBJECTS = frozenset({"employee", "trainee"})
# Data subjects who, in the ordinary case, are not the source of their own data.
SUBJECTS_NOT_SOURCE = frozenset({"next_of_kin"})
# Art. 22(2): a contract, a law, or (explicit) consent.
AUTOMATED_DECISION_BASES = frozenset(
    {LegalBasis.contract, LegalBasis.consent, LegalBasis.legal_obligation, LegalBasis.public_task}
)
# Art. 22(4): only 9(2)(a) or (g).
AUTOMATED_DECISION_SPECIAL_BASES = frozenset(
    {SpecialCategoryBasis.explicit_consent, SpecialCategoryBasis.substantial_public_interest}
)
REQUIRED = frozenset(
    {Requirement.statutory, Requirement.contractual, Requirement.contract_precondition}
)
SAFEGUARD_BASES = frozenset({TransferBasis.scc_2021, TransferBasis.bcr})

# Data categories that are cookies (fideslang has no data use specific to cookies).
COOKIE_CATEGORIES = ("user.device.cookie_id", "user.device.cookie")
# The root of every personal data category: "some personal data", nothing itemised.
ROOT_CATEGORY = "user"

# The websites of the EEA's data protection authorities (art. 51): the national
# authority of each EU state, Norway, Iceland and Liechtenstein, and Germany's Länder
# authorities, which supervise private companies there. A supervisory authority's `url`
# (and `complaint_url`) must be on one of these domains or a subdomain (DV308). The list
# is as known when written (EDPB member list); an EEA authority missing from it is a bug.
# fmt: off
EEA_DPA_DOMAINS: dict[str, str] = {
    "datatilsynet.no": "NO", "personuvernd.is": "IS", "datenschutzstelle.li": "LI",
    "dsb.gv.at": "AT", "autoriteprotectiondonnees.be": "BE",
    "gegevensbeschermingsautoriteit.be": "BE", "dataprotectionauthority.be": "BE",
    "cpdp.bg": "BG", "azop.hr": "HR", "dataprotection.gov.cy": "CY", "uoou.gov.cz": "CZ",
    "uoou.cz": "CZ", "datatilsynet.dk": "DK", "aki.ee": "EE", "tietosuoja.fi": "FI",
    "cnil.fr": "FR", "bfdi.bund.de": "DE", "dpa.gr": "GR", "naih.hu": "HU",
    "dataprotection.ie": "IE", "garanteprivacy.it": "IT", "dvi.gov.lv": "LV",
    "vdai.lrv.lt": "LT", "cnpd.public.lu": "LU", "idpc.org.mt": "MT",
    "autoriteitpersoonsgegevens.nl": "NL", "uodo.gov.pl": "PL", "cnpd.pt": "PT",
    "dataprotection.ro": "RO", "dataprotection.gov.sk": "SK", "ip-rs.si": "SI",
    "aepd.es": "ES", "imy.se": "SE",
    # Germany: the Länder authorities.
    "baden-wuerttemberg.datenschutz.de": "DE", "lda.bayern.de": "DE",
    "datenschutz-berlin.de": "DE", "lda.brandenburg.de": "DE", "datenschutz.bremen.de": "DE",
    "datenschutz-hamburg.de": "DE", "datenschutz.hessen.de": "DE", "datenschutz-mv.de": "DE",
    "lfd.niedersachsen.de": "DE", "ldi.nrw.de": "DE", "datenschutz.rlp.de": "DE",
    "datenschutz.saarland.de": "DE", "datenschutz.sachsen.de": "DE",
    "datenschutz.sachsen-anhalt.de": "DE", "datenschutzzentrum.de": "DE", "tlfdi.de": "DE",
}
# fmt: on

# Column names that suggest personal data (`datavern check --live`, DV957): whole names,
# and words inside a name (split at `_`, `-`, digits and camelCase). A hint, not a
# classification: discovery (DESIGN capability 7) reads the values.
_PERSONAL_COLUMN_NAMES: dict[str, str] = {
    "name": "a name", "full_name": "a name", "first_name": "a name", "last_name": "a name",
    "firstname": "a name", "lastname": "a name", "surname": "a name", "given_name": "a name",
    "family_name": "a name", "display_name": "a name", "navn": "a name", "fornavn": "a name",
    "etternavn": "a name", "mellomnavn": "a name", "username": "a user name",
    "user_name": "a user name", "brukernavn": "a user name",
    "ip": "an IP address", "dob": "a date of birth", "zip": "a postal code",
    "postnr": "a postal code", "fnr": "a fødselsnummer", "ssn": "a national identity number",
    "pan": "a card number",
}  # fmt: skip
_PERSONAL_COLUMN_WORDS: dict[str, str] = {
    "email": "an e-mail address", "epost": "an e-mail address", "mail": "an e-mail address",
    "phone": "a phone number", "telephone": "a phone number", "mobile": "a phone number",
    "mobil": "a phone number", "telefon": "a phone number", "tlf": "a phone number",
    "msisdn": "a phone number", "address": "an address", "adresse": "an address",
    "street": "an address", "gateadresse": "an address", "postcode": "a postal code",
    "postnummer": "a postal code", "birth": "a date of birth", "birthday": "a date of birth",
    "birthdate": "a date of birth", "fodselsdato": "a date of birth",
    "fødselsdato": "a date of birth", "fodselsnummer": "a fødselsnummer",
    "fødselsnummer": "a fødselsnummer", "personnummer": "a fødselsnummer",
    "iban": "a bank account number", "kontonummer": "a bank account number",
    "password": "a password", "passwd": "a password", "passord": "a password",
    "latitude": "a location", "longitude": "a location",
}  # fmt: skip
_PERSONAL_COLUMN_PHRASES: dict[tuple[str, str], str] = {
    ("ip", "address"): "an IP address", ("ip", "addr"): "an IP address",
    ("user", "agent"): "a device description", ("card", "number"): "a card number",
    ("account", "number"): "a bank account number", ("bank", "account"): "a bank account number",
    ("national", "id"): "a national identity number", ("postal", "code"): "a postal code",
}  # fmt: skip


def personal_column_hint(column: str) -> str | None:
    """What a column's name suggests it holds ("an e-mail address"), or None."""
    name = column.strip()
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    if snake in _PERSONAL_COLUMN_NAMES:
        return _PERSONAL_COLUMN_NAMES[snake]
    words = [w for w in re.split(r"[^a-zæøå]+", snake) if w]
    for pair, hint in _PERSONAL_COLUMN_PHRASES.items():
        if any(words[n : n + 2] == list(pair) for n in range(len(words) - 1)):
            return hint
    for word in words:
        if word in _PERSONAL_COLUMN_WORDS:
            return _PERSONAL_COLUMN_WORDS[word]
    return None


# A value that still holds the `datavern init` placeholder marker.
TODO_RE = re.compile(r"\bTODO\b")


def url_host(url: str) -> str:
    """The lower-case host of a URL (``https://www.Imy.se/x`` -> ``www.imy.se``)."""
    text = url.strip()
    if "//" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return ""
    return (host or "").lower().rstrip(".")


def is_eea_dpa_url(url: str) -> bool:
    """True when ``url`` is on the website of an EEA data protection authority."""
    host = url_host(url)
    return any(host == d or host.endswith("." + d) for d in EEA_DPA_DOMAINS)


def category_matches(category: str, prefix: str) -> bool:
    """``user.contact.email`` matches ``user.contact`` and itself, not ``user.contacts``."""
    return category == prefix or category.startswith(prefix + ".")


def covered(category: str, declared: Iterable[str]) -> bool:
    """True when a declared category is the same as ``category`` or broader."""
    return any(category_matches(category, d) for d in declared)


# ------------------------------------------------------------------------ the lint


@dataclass
class _Context:
    register: Register
    today: date
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: Rule, message: str, path: Path, fix: str | None = None) -> None:
        self.findings.append(Finding(rule, message, path, fix or rule.fix))

    def activities(self) -> Iterator[tuple[Path, str, Activity]]:
        for i, system in enumerate(self.register.systems):
            for j, activity in enumerate(system.processing):
                yield ("systems", i, "processing", j), system.key, activity


Check = Callable[[_Context], None]
CHECKS: list[Check] = []


def _check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def lint(register: Register, *, today: date) -> list[Finding]:
    """Every finding for ``register``, sorted by severity, rule id and path.

    ``today`` is passed in (the runner takes it from the one clock) so the rules
    stay pure: it dates the check of a DPA signed in the future.
    """
    ctx = _Context(register, today)
    for check in CHECKS:
        check(ctx)
    return sorted(ctx.findings, key=Finding.sort_key)


def _join(items: Sequence[str]) -> str:
    return ", ".join(items)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _outside_eea(processor: schema.SubProcessor) -> list[str]:
    """Countries outside the EEA; an unknown country is not counted (DV110 reports it)."""
    return _unique(
        c
        for c in [processor.country, *processor.locations]
        if c not in EEA and c != schema.UNKNOWN_COUNTRY
    )


# --- DV1xx transfers


@_check
def _transfers(ctx: _Context) -> None:
    if ctx.register.organisation.unspecified_transfers:
        ctx.add(
            TRANSFERS_UNSPECIFIED,
            f"organisation {ctx.register.organisation.name!r} records transfers outside the EEA "
            "without recipient, country or basis (`unspecified_transfers`)",
            ("organisation", "unspecified_transfers"),
        )
    for i, proc in enumerate(ctx.register.sub_processors):
        here: Path = ("sub_processors", i)
        outside = _outside_eea(proc)
        transfer = proc.transfer
        basis_path = (*here, "transfer", "basis")
        if proc.country == schema.UNKNOWN_COUNTRY:
            ctx.add(
                RECIPIENT_COUNTRY_UNKNOWN,
                f"sub-processor {proc.key!r} ({proc.name}) has country 'unknown'",
                (*here, "country"),
            )
        if transfer is None or transfer.basis is TransferBasis.none:
            if outside:
                ctx.add(
                    TRANSFER_BASIS_MISSING,
                    f"sub-processor {proc.key!r} ({proc.name}) is in or processes data in "
                    f"{_join(outside)}, outside the EEA, with no transfer basis",
                    basis_path if transfer else (*here, "transfer"),
                )
            continue
        basis = transfer.basis
        if basis is TransferBasis.scc_unversioned:
            ctx.add(
                SCC_VERSION_UNKNOWN,
                f"sub-processor {proc.key!r} ({proc.name}): standard contractual clauses "
                "without a version (`scc_unversioned`); only the 2021 clauses (Decision (EU) "
                "2021/914) are valid since 27 December 2022",
                basis_path,
            )
            continue
        if basis in INVALID_TRANSFER_BASES:
            ctx.add(
                TRANSFER_BASIS_INVALID,
                f"sub-processor {proc.key!r} ({proc.name}): transfer basis {basis.value!r} "
                f"is no longer valid: {INVALID_TRANSFER_BASES[basis]}",
                basis_path,
            )
            continue
        if basis is TransferBasis.eea and outside:
            ctx.add(
                TRANSFER_EEA_OUTSIDE_EEA,
                f"sub-processor {proc.key!r} ({proc.name}) has basis 'eea' but is in or "
                f"processes data in {_join(outside)}, outside the EEA",
                basis_path,
            )
        elif basis is TransferBasis.adequacy:
            for country in outside:
                if country == "US":
                    ctx.add(
                        ADEQUACY_NOT_AVAILABLE,
                        f"sub-processor {proc.key!r} ({proc.name}): the adequacy decision for "
                        "the United States covers only organisations certified under the "
                        "EU-US Data Privacy Framework",
                        basis_path,
                        fix="Use `basis: dpf` with `dpf_certified: true` if the recipient is "
                        "certified, otherwise scc_2021.",
                    )
                elif country not in ADEQUACY_DECISIONS:
                    ctx.add(
                        ADEQUACY_NOT_AVAILABLE,
                        f"sub-processor {proc.key!r} ({proc.name}): there is no adequacy "
                        f"decision for {country}",
                        basis_path,
                    )
        elif basis is TransferBasis.dpf:
            if transfer.dpf_certified is not True:
                ctx.add(
                    DPF_NOT_CERTIFIED,
                    f"sub-processor {proc.key!r} ({proc.name}) transfers under the Data "
                    "Privacy Framework but is not marked `dpf_certified: true`",
                    (*here, "transfer", "dpf_certified"),
                )
            others = [c for c in outside if c != "US"]
            if others:
                ctx.add(
                    DPF_OUTSIDE_US,
                    f"sub-processor {proc.key!r} ({proc.name}): the Data Privacy Framework "
                    f"covers the United States only, not {_join(others)}",
                    basis_path,
                )
        elif basis is TransferBasis.art49 and outside:
            ctx.add(
                TRANSFER_DEROGATION,
                f"sub-processor {proc.key!r} ({proc.name}) receives data in "
                f"{_join(outside)} under an art. 49 derogation",
                basis_path,
            )
        if basis in SAFEGUARD_BASES and outside and not transfer.safeguards_url:
            ctx.add(
                TRANSFER_SAFEGUARDS_COPY,
                f"sub-processor {proc.key!r} ({proc.name}): basis {basis.value!r} without "
                "`safeguards_url`",
                (*here, "transfer", "safeguards_url"),
            )


# --- DV2xx recipients and processors


def _named_by(ctx: _Context) -> dict[str, list[Activity]]:
    named: dict[str, list[Activity]] = {}
    for _, _, activity in ctx.activities():
        for key in activity.recipients:
            named.setdefault(key, []).append(activity)
    return named


@_check
def _recipients(ctx: _Context) -> None:
    if ctx.register.organisation.unnamed_recipients:
        ctx.add(
            RECIPIENTS_UNNAMED,
            f"organisation {ctx.register.organisation.name!r} records recipients it does not "
            "name (`unnamed_recipients`)",
            ("organisation", "unnamed_recipients"),
        )
    known = {p.key for p in ctx.register.sub_processors}
    for here, _, activity in ctx.activities():
        for k, key in enumerate(activity.recipients):
            if key not in known:
                ctx.add(
                    RECIPIENT_UNKNOWN,
                    f"activity {activity.key!r} names recipient {key!r}, which is not in "
                    "`sub_processors`",
                    (*here, "recipients", k),
                )
    named = _named_by(ctx)
    for i, proc in enumerate(ctx.register.sub_processors):
        here = ("sub_processors", i)
        if proc.role == "processor":
            if proc.dpa_signed is None:
                ctx.add(
                    DPA_MISSING,
                    f"processor {proc.key!r} ({proc.name}) has no `dpa_signed` date",
                    (*here, "dpa_signed"),
                )
            elif proc.dpa_signed > ctx.today:
                ctx.add(
                    DPA_DATE_FUTURE,
                    f"processor {proc.key!r} ({proc.name}): `dpa_signed` "
                    f"{proc.dpa_signed.isoformat()} is after today ({ctx.today.isoformat()})",
                    (*here, "dpa_signed"),
                )
        elif proc.role == "joint_controller":
            ctx.add(
                JOINT_CONTROLLER,
                f"{proc.key!r} ({proc.name}) is a joint controller",
                (*here, "role"),
            )
        activities = named.get(proc.key, [])
        if not activities:
            ctx.add(
                RECIPIENT_UNUSED,
                f"{proc.key!r} ({proc.name}) is not in the `recipients` of any activity",
                here,
            )
            continue
        if proc.role != "processor":
            continue
        if not proc.data_categories:
            ctx.add(
                PROCESSOR_CATEGORIES_MISSING,
                f"processor {proc.key!r} ({proc.name}) receives data from "
                f"{_join([a.key for a in activities])} but lists no `data_categories`",
                (*here, "data_categories"),
            )
            continue
        declared = [c for a in activities for c in a.data_categories]
        for k, category in enumerate(proc.data_categories):
            if not covered(category, declared):
                ctx.add(
                    PROCESSOR_CATEGORIES_UNDECLARED,
                    f"processor {proc.key!r} ({proc.name}) receives {category!r}, which no "
                    f"activity naming it ({_join([a.key for a in activities])}) declares",
                    (*here, "data_categories", k),
                )


# --- DV3xx the controller


@_check
def _controller(ctx: _Context) -> None:
    org = ctx.register.organisation
    here: Path = ("organisation",)
    if not org.email:
        ctx.add(
            CONTROLLER_EMAIL_MISSING,
            f"organisation {org.name!r} has no `email`",
            (*here, "email"),
        )
    if org.address is None:
        ctx.add(
            CONTROLLER_ADDRESS_MISSING,
            f"organisation {org.name!r} has no `address`",
            (*here, "address"),
        )
    if not org.org_nr:
        ctx.add(
            CONTROLLER_ORG_NR_MISSING,
            f"organisation {org.name!r} has no `org_nr`",
            (*here, "org_nr"),
        )
    dpo = org.dpo
    if dpo is not None and not (dpo.email or dpo.phone or dpo.address or dpo.url):
        ctx.add(
            DPO_CONTACT_MISSING,
            "`organisation.dpo` is set without e-mail, phone, address or url",
            (*here, "dpo"),
        )
    authority = org.supervisory_authority
    if not authority.name.strip() or not (
        authority.url.strip() or authority.complaint_url or authority.address
    ):
        ctx.add(
            AUTHORITY_MISSING,
            "`organisation.supervisory_authority` lacks a name or any way to reach it",
            (*here, "supervisory_authority"),
        )
    if authority.name.strip():
        for name in ("url", "complaint_url"):
            url = getattr(authority, name)
            if url and url.strip() and not is_eea_dpa_url(url):
                ctx.add(
                    AUTHORITY_NOT_DPA,
                    f"`organisation.supervisory_authority` {authority.name!r}: {name} "
                    f"{url_host(url) or url!r} is not the website of a data protection "
                    "authority in the EEA",
                    (*here, "supervisory_authority", name),
                )
    if org.address is not None and org.address.country not in EEA and org.representative is None:
        ctx.add(
            REPRESENTATIVE_MISSING,
            f"organisation {org.name!r} is established in {org.address.country}, outside the "
            "EEA, and has no `representative`",
            (*here, "representative"),
        )
    if org.role in ("processor", "both"):
        ctx.add(
            PROCESSOR_ROLE,
            f"organisation {org.name!r} has role {org.role!r}",
            (*here, "role"),
        )


# --- DV4xx activities


def _specials(activity: Activity) -> list[str]:
    return [
        c
        for c in activity.data_categories
        if any(category_matches(c, p) for p in SPECIAL_CATEGORIES)
    ]


@_check
def _activities(ctx: _Context) -> None:
    purposes = {c.key for c in ctx.register.consent_purposes}
    for here, system_key, activity in ctx.activities():
        name = f"activity {activity.key!r} (system {system_key!r})"
        basis = activity.legal_basis
        if basis is None:
            ctx.add(LEGAL_BASIS_MISSING, f"{name} has no `legal_basis`", (*here, "legal_basis"))
        if basis is LegalBasis.legitimate_interests:
            if not activity.legitimate_interest:
                ctx.add(
                    LEGITIMATE_INTEREST_NOT_STATED,
                    f"{name} rests on legitimate interests but has no `legitimate_interest`",
                    (*here, "legitimate_interest"),
                )
            if not activity.legitimate_interest_assessment:
                ctx.add(
                    LIA_MISSING,
                    f"{name} rests on legitimate interests but has no "
                    "`legitimate_interest_assessment`",
                    (*here, "legitimate_interest_assessment"),
                )
        if basis is LegalBasis.consent and not activity.consent_purpose:
            ctx.add(
                CONSENT_PURPOSE_MISSING,
                f"{name} rests on consent but has no `consent_purpose`",
                (*here, "consent_purpose"),
            )
        if activity.consent_purpose:
            if activity.consent_purpose not in purposes:
                ctx.add(
                    CONSENT_PURPOSE_UNKNOWN,
                    f"{name} names consent purpose {activity.consent_purpose!r}, which is not "
                    "in `consent_purposes`",
                    (*here, "consent_purpose"),
                )
            if (
                basis is not None
                and basis is not LegalBasis.consent
                and activity.special_category_basis is not SpecialCategoryBasis.explicit_consent
            ):
                ctx.add(
                    CONSENT_ON_OTHER_BASIS,
                    f"{name} has consent purpose {activity.consent_purpose!r} but rests on "
                    f"{basis.value!r}",
                    (*here, "consent_purpose"),
                )
        not_from_subject = sorted(SUBJECTS_NOT_SOURCE.intersection(activity.data_subjects))
        if activity.source is None:
            if activity.requirement is None:
                ctx.add(
                    REQUIREMENT_MISSING,
                    f"{name} is collected from the data subject but has no `requirement`",
                    (*here, "requirement"),
                )
            if not_from_subject or activity.source_publicly_available:
                why = (
                    f"its data subjects include {_join(not_from_subject)}"
                    if not_from_subject
                    else "it is marked `source_publicly_available`"
                )
                ctx.add(
                    SOURCE_MISSING,
                    f"{name} has no `source`, but {why}",
                    (*here, "source"),
                )
        if activity.requirement in REQUIRED and not activity.requirement_consequence:
            ctx.add(
                REQUIREMENT_CONSEQUENCE_MISSING,
                f"{name} has requirement {activity.requirement.value!r} but no "
                "`requirement_consequence`",
                (*here, "requirement_consequence"),
            )
        specials = _specials(activity)
        if activity.automated_decisions is not None:
            if basis is not None and basis not in AUTOMATED_DECISION_BASES:
                ctx.add(
                    AUTOMATED_DECISION_BASIS,
                    f"{name} makes automated decisions on basis {basis.value!r}",
                    (*here, "legal_basis"),
                )
            if specials and activity.special_category_basis not in AUTOMATED_DECISION_SPECIAL_BASES:
                ctx.add(
                    AUTOMATED_DECISION_SPECIAL,
                    f"{name} makes automated decisions using {_join(specials)}",
                    (*here, "automated_decisions"),
                )
        use = activity.data_use
        if basis is LegalBasis.consent:
            staff = sorted(EMPLOYEE_SUBJECTS.intersection(activity.data_subjects))
            if staff:
                ctx.add(
                    EMPLOYEE_CONSENT,
                    f"{name} rests on consent from {_join(staff)}",
                    (*here, "legal_basis"),
                )
            if category_matches(use, "essential"):
                ctx.add(
                    CONSENT_FOR_NECESSARY,
                    f"{name} has data use {use!r} but rests on consent",
                    (*here, "legal_basis"),
                )
        if category_matches(use, "marketing") and basis is LegalBasis.contract:
            ctx.add(
                MARKETING_ON_CONTRACT,
                f"{name} has data use {use!r} on the contract basis",
                (*here, "legal_basis"),
            )
        if (
            category_matches(use, "marketing.communications")
            and basis is not None
            and basis is not LegalBasis.consent
        ):
            ctx.add(
                ELECTRONIC_MARKETING_CONSENT,
                f"{name} has data use {use!r} on basis {basis.value!r}",
                (*here, "legal_basis"),
            )


# --- DV5xx special categories and identifiers


@_check
def _categories(ctx: _Context) -> None:
    for here, system_key, activity in ctx.activities():
        name = f"activity {activity.key!r} (system {system_key!r})"
        specials = _specials(activity)
        if specials and activity.special_category_basis is None:
            kinds = _unique(
                SPECIAL_CATEGORIES[p]
                for c in specials
                for p in SPECIAL_CATEGORIES
                if category_matches(c, p)
            )
            ctx.add(
                SPECIAL_CATEGORY_BASIS_MISSING,
                f"{name} processes {_join(specials)} ({_join(kinds)}) without "
                "`special_category_basis`",
                (*here, "special_category_basis"),
            )
        if not specials and activity.special_category_basis is not None:
            ctx.add(
                SPECIAL_CATEGORY_BASIS_UNUSED,
                f"{name} has `special_category_basis` but no special category in `data_categories`",
                (*here, "special_category_basis"),
            )
        for k, category in enumerate(activity.data_categories):
            if any(category_matches(category, p) for p in CRIMINAL_CATEGORIES):
                ctx.add(
                    CRIMINAL_RECORDS,
                    f"{name} processes {category!r}",
                    (*here, "data_categories", k),
                )
        national = [
            c
            for c in activity.data_categories
            if any(category_matches(c, p) for p in NATIONAL_ID_CATEGORIES)
        ]
        if national and not activity.national_id_need:
            ctx.add(
                NATIONAL_ID_NEED_MISSING,
                f"{name} processes {_join(national)} (fødselsnummer) without `national_id_need`",
                (*here, "national_id_need"),
            )


# --- DV6xx retention

_BUILTIN_NAMES = ", ".join(sorted(BUILTIN_RETENTION_RULES))


@_check
def _retention(ctx: _Context) -> None:
    for here, system_key, activity in ctx.activities():
        name = f"activity {activity.key!r} (system {system_key!r})"
        retention = activity.retention
        at = (*here, "retention")
        if retention is None:
            ctx.add(RETENTION_MISSING, f"{name} has no `retention`", at)
            continue
        if retention.indefinite:
            ctx.add(RETENTION_INDEFINITE, f"{name} keeps data indefinitely", (*at, "indefinite"))
            continue
        if retention.rule is None and retention.period is None:
            ctx.add(RETENTION_PERIOD_MISSING, f"{name}: `retention` has no `rule` or `period`", at)
            continue
        if retention.rule is not None and retention.rule not in BUILTIN_RETENTION_RULES:
            ctx.add(
                RETENTION_RULE_UNKNOWN,
                f"{name}: retention rule {retention.rule!r} is not a built-in rule "
                f"(known: {_BUILTIN_NAMES})",
                (*at, "rule"),
            )
        if retention.rule is not None and retention.period is not None:
            ctx.add(
                RETENTION_RULE_AND_PERIOD,
                f"{name}: `retention` has both rule {retention.rule!r} and period "
                f"{retention.period!r}",
                (*at, "period"),
            )
        elif retention.period is not None and not retention.trigger:
            ctx.add(
                RETENTION_TRIGGER_MISSING,
                f"{name}: retention period {retention.period!r} has no `trigger`",
                (*at, "trigger"),
            )


# --- DV7xx languages


def _is_localized_annotation(annotation: Any) -> bool:
    """True for ``Localized`` and ``Localized | None`` (found by its validator)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return any(getattr(m, "func", None) is schema._check_langs for m in annotation.__metadata__)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_localized_annotation(a) for a in typing.get_args(annotation))
    return False


def _localized_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, info in model.model_fields.items()
        if any(getattr(m, "func", None) is schema._check_langs for m in info.metadata)
        or _is_localized_annotation(info.annotation)
    ]


def localized_texts(node: object, path: Path = ()) -> Iterator[tuple[Path, dict[str, str]]]:
    """Every Localized text in a register model, with its path (datasets are not walked)."""
    if isinstance(node, schema.Strict):
        localized = set(_localized_fields(type(node)))
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name in localized:
                if value:
                    yield (*path, name), value
            else:
                yield from localized_texts(value, (*path, name))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from localized_texts(item, (*path, i))


@_check
def _languages(ctx: _Context) -> None:
    languages: list[str] = list(ctx.register.organisation.languages)
    for path, texts in localized_texts(ctx.register):
        missing = [lang for lang in languages if schema.text_for(texts, lang, languages) is None]
        if missing:
            plain = " (a plain string counts for the first language only)" if "_" in texts else ""
            ctx.add(
                TRANSLATION_MISSING,
                f"`{path_str(path)}` has no text in {_join(missing)}{plain}",
                path,
            )


# --- DV8xx cookies and consent purposes


@_check
def _consent(ctx: _Context) -> None:
    purposes = {c.key for c in ctx.register.consent_purposes}
    used = {a.consent_purpose for _, _, a in ctx.activities() if a.consent_purpose}
    email_purposes: dict[str, set[str]] = {}
    for _, _, a in ctx.activities():
        if (
            a.consent_purpose
            and a.legal_basis is LegalBasis.consent
            and category_matches(a.data_use, "marketing.communications.email")
        ):
            email_purposes.setdefault(a.consent_purpose, set()).add(a.key)
    for i, cookie in enumerate(ctx.register.cookies):
        here: Path = ("cookies", i)
        if cookie.consent_purpose:
            used.add(cookie.consent_purpose)
            if cookie.consent_purpose not in purposes:
                ctx.add(
                    COOKIE_CONSENT_PURPOSE_UNKNOWN,
                    f"cookie {cookie.name!r} ({cookie.provider}) names consent purpose "
                    f"{cookie.consent_purpose!r}, which is not in `consent_purposes`",
                    (*here, "consent_purpose"),
                )
        elif cookie.category is not schema.CookieCategory.necessary:
            ctx.add(
                COOKIE_CONSENT_MISSING,
                f"cookie {cookie.name!r} ({cookie.provider}) of category "
                f"{cookie.category.value!r} has no `consent_purpose`",
                (*here, "consent_purpose"),
            )
    for i, purpose in enumerate(ctx.register.consent_purposes):
        here = ("consent_purposes", i)
        if not purpose.withdraw:
            ctx.add(
                CONSENT_WITHDRAWAL_MISSING,
                f"consent purpose {purpose.key!r} has no `withdraw` text",
                (*here, "withdraw"),
            )
        if purpose.key in email_purposes and not purpose.double_opt_in:
            ctx.add(
                EMAIL_DOUBLE_OPT_IN,
                f"consent purpose {purpose.key!r} covers e-mail marketing "
                f"({_join(sorted(email_purposes[purpose.key]))}) without `double_opt_in`",
                (*here, "double_opt_in"),
            )
        if purpose.key not in used:
            ctx.add(
                CONSENT_PURPOSE_UNUSED,
                f"consent purpose {purpose.key!r} is not used by any activity or cookie",
                here,
            )


@_check
def _cookies_listed(ctx: _Context) -> None:
    if ctx.register.cookies:
        return
    for here, system_key, activity in ctx.activities():
        for k, category in enumerate(activity.data_categories):
            if any(category_matches(category, c) for c in COOKIE_CATEGORIES):
                ctx.add(
                    COOKIES_NOT_LISTED,
                    f"activity {activity.key!r} (system {system_key!r}) processes {category!r}, "
                    "but the register lists no cookies",
                    (*here, "data_categories", k),
                )
                break


# --- DV9xx the register as a record


def _duplicates(ctx: _Context, keys: Iterable[tuple[Path, str]], what: str) -> None:
    seen: set[str] = set()
    for path, key in keys:
        if key in seen:
            ctx.add(DUPLICATE_KEY, f"{what} key {key!r} is used more than once", path)
        seen.add(key)


@_check
def _keys(ctx: _Context) -> None:
    reg = ctx.register
    _duplicates(ctx, ((("systems", i, "key"), s.key) for i, s in enumerate(reg.systems)), "system")
    _duplicates(ctx, (((*p, "key"), a.key) for p, _, a in ctx.activities()), "activity")
    _duplicates(
        ctx,
        ((("sub_processors", i, "key"), p.key) for i, p in enumerate(reg.sub_processors)),
        "sub-processor",
    )
    _duplicates(
        ctx,
        ((("consent_purposes", i, "key"), c.key) for i, c in enumerate(reg.consent_purposes)),
        "consent purpose",
    )
    _duplicates(
        ctx,
        ((("cookies", i, "name"), f"{c.provider}/{c.name}") for i, c in enumerate(reg.cookies)),
        "cookie (provider/name)",
    )
    _duplicates(
        ctx,
        ((("dataset", i, "fides_key"), d.fides_key) for i, d in enumerate(reg.dataset)),
        "dataset",
    )


def _dataset_categories(register: Register) -> Iterator[tuple[Path, str, str]]:
    """(path, dataset key, category) for every data category annotated in the datasets."""

    def fields(
        items: Sequence[Any] | None, path: Path, key: str
    ) -> Iterator[tuple[Path, str, str]]:
        for k, item in enumerate(items or []):
            for m, category in enumerate(item.data_categories or []):
                yield (*path, k, "data_categories", m), key, category
            yield from fields(item.fields, (*path, k, "fields"), key)

    for i, dataset in enumerate(register.dataset):
        here: Path = ("dataset", i)
        for m, category in enumerate(dataset.data_categories or []):
            yield (*here, "data_categories", m), dataset.fides_key, category
        for j, collection in enumerate(dataset.collections):
            col: Path = (*here, "collections", j)
            for m, category in enumerate(collection.data_categories or []):
                yield (*col, "data_categories", m), dataset.fides_key, category
            yield from fields(collection.fields, (*col, "fields"), dataset.fides_key)


@_check
def _datasets(ctx: _Context) -> None:
    declared = [c for _, _, a in ctx.activities() for c in a.data_categories]
    places: dict[tuple[str, str], list[Path]] = {}
    for path, key, category in _dataset_categories(ctx.register):
        if category_matches(category, "user") and not covered(category, declared):
            places.setdefault((key, category), []).append(path)
    for (key, category), paths in places.items():
        more = f" (and {len(paths) - 1} more place(s))" if len(paths) > 1 else ""
        ctx.add(
            DATASET_CATEGORY_UNDECLARED,
            f"dataset {key!r} stores {category!r}{more}, which no activity declares",
            paths[0],
        )


@_check
def _unitemised(ctx: _Context) -> None:
    for here, system_key, activity in ctx.activities():
        if ROOT_CATEGORY in activity.data_categories:
            ctx.add(
                DATA_CATEGORIES_UNITEMISED,
                f"activity {activity.key!r} (system {system_key!r}) records its data only as "
                f"{ROOT_CATEGORY!r}",
                (*here, "data_categories", activity.data_categories.index(ROOT_CATEGORY)),
            )
    for i, proc in enumerate(ctx.register.sub_processors):
        if ROOT_CATEGORY in proc.data_categories:
            ctx.add(
                DATA_CATEGORIES_UNITEMISED,
                f"sub-processor {proc.key!r} ({proc.name}) records the data it receives only "
                f"as {ROOT_CATEGORY!r}",
                ("sub_processors", i, "data_categories", proc.data_categories.index(ROOT_CATEGORY)),
            )


def string_values(node: object, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every text in a register model (datasets too), with its path; a Localized text's
    path ends with its language (``_`` for a plain string is left out)."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from string_values(getattr(node, name), (*path, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from string_values(value, path if key == "_" else (*path, str(key)))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from string_values(item, (*path, i))
    elif isinstance(node, str) and not isinstance(node, StrEnum):
        yield path, node


@_check
def _placeholders(ctx: _Context) -> None:
    for path, text in string_values(ctx.register):
        if TODO_RE.search(text):
            ctx.add(
                TODO_PLACEHOLDER,
                f"`{path_str(path)}` still holds a TODO placeholder",
                path,
            )
