"""The register's YAML schema: fideslang resources plus Datavern's extensions.

A register is one or more YAML documents merged into one ``Register``. Every
mapping forbids unknown keys, so a typo is an error with its file and line, not
a silently ignored field. Texts a data subject reads are ``Localized``: a
mapping from language (``nb``, ``en``) to text; a plain string counts as the
organisation's first language.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from fideslang.models import Dataset
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from stdnum.no import orgnr as no_orgnr

from datavern.core.i18n import LANGUAGES

KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.<>-]*$")
# ISO 8601 durations limited to calendar units (years, months, weeks, days).
DURATION_RE = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


class Strict(BaseModel):
    # coerce_numbers_to_str: YAML reads `phone: 22334455` or `postal_code: 5003` as
    # numbers; where the schema wants text, the digits are the text.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )


def _localized(value: Any) -> Any:
    if isinstance(value, str):
        return {"_": value}
    return value


def _check_langs(value: dict[str, str]) -> dict[str, str]:
    for lang, text in value.items():
        if lang != "_" and lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text for {lang!r} is empty")
    return value


Localized = Annotated[dict[str, str], BeforeValidator(_localized), AfterValidator(_check_langs)]
"""Text per language. ``_`` holds a plain string, taken as the first notice language."""


def text_for(value: dict[str, str] | None, lang: str, languages: list[str]) -> str | None:
    """The text in ``lang``; a plain string counts for the first notice language only."""
    if not value:
        return None
    if lang in value:
        return value[lang]
    if "_" in value and languages and lang == languages[0]:
        return value["_"]
    return None


def _key(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError(
            "a key may hold letters, digits, '_', '-', '.' and must not start with '.' or '-'"
        )
    return value


Key = Annotated[str, AfterValidator(_key)]


def _org_nr(value: str | int) -> str:
    text = str(value).replace(" ", "")
    if not no_orgnr.is_valid(text):
        raise ValueError(f"{value!r} is not a valid Norwegian organisation number (checksum)")
    return no_orgnr.compact(text)


OrgNr = Annotated[
    str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v), AfterValidator(_org_nr)
]


def _country(value: str) -> str:
    value = value.upper()
    if not COUNTRY_RE.match(value):
        raise ValueError("a country is an ISO 3166-1 alpha-2 code such as NO, SE, DE, US")
    return value


Country = Annotated[str, AfterValidator(_country)]

UNKNOWN_COUNTRY = "unknown"
"""A recipient's country when the company's own notice does not say it (a lint error,
DV110): recorded honestly instead of guessed."""


def _recipient_country(value: str) -> str:
    if value.strip().lower() == UNKNOWN_COUNTRY:
        return UNKNOWN_COUNTRY
    try:
        return _country(value)
    except ValueError:
        raise ValueError(
            "a country is an ISO 3166-1 alpha-2 code such as NO, SE, DE, US, or `unknown` "
            "when it is not known"
        ) from None


RecipientCountry = Annotated[str, AfterValidator(_recipient_country)]


def _duration(value: str) -> str:
    if not DURATION_RE.match(value):
        raise ValueError(
            "a period is an ISO 8601 duration in years, months, weeks or days,"
            " e.g. P5Y, P3Y6M, P30D"
        )
    return value


Duration = Annotated[str, AfterValidator(_duration)]


def _financial_year_end(value: str) -> str:
    from datavern.retention.rules import parse_month_day

    month, day = parse_month_day(value)
    return f"{month:02d}-{day:02d}"


FinancialYearEnd = Annotated[str, AfterValidator(_financial_year_end)]
"""The last day of the financial year as MM-DD (regnskapsloven § 1-7: the calendar year
unless the company has another)."""


class LegalBasis(StrEnum):
    """GDPR art. 6(1) (a)-(f)."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"
    legitimate_interests = "legitimate_interests"


class SpecialCategoryBasis(StrEnum):
    """GDPR art. 9(2) (a)-(j)."""

    explicit_consent = "explicit_consent"
    employment = "employment"
    vital_interests = "vital_interests"
    not_for_profit = "not_for_profit"
    made_public = "made_public"
    legal_claims = "legal_claims"
    substantial_public_interest = "substantial_public_interest"
    health_care = "health_care"
    public_health = "public_health"
    archiving_research = "archiving_research"


class TransferBasis(StrEnum):
    """How a transfer outside the EEA is lawful (GDPR chapter V), and bases that no longer are."""

    eea = "eea"
    adequacy = "adequacy"
    dpf = "dpf"
    scc_2021 = "scc_2021"
    # "Standard contractual clauses" claimed without saying which: a lint error (DV109),
    # since only the 2021 clauses are valid; recorded honestly instead of guessed.
    scc_unversioned = "scc_unversioned"
    bcr = "bcr"
    art49 = "art49"
    # Invalid today; accepted by the schema so that `check` can flag them as errors.
    privacy_shield = "privacy_shield"
    safe_harbor = "safe_harbor"
    scc_2001 = "scc_2001"
    scc_2004 = "scc_2004"
    scc_2010 = "scc_2010"
    none = "none"


class RetentionAction(StrEnum):
    delete = "delete"
    anonymise = "anonymise"
    aggregate = "aggregate"


class Requirement(StrEnum):
    """Art. 13(2)(e): whether providing the data is required, and by what."""

    statutory = "statutory"
    contractual = "contractual"
    contract_precondition = "contract_precondition"
    voluntary = "voluntary"


class CookieCategory(StrEnum):
    necessary = "necessary"
    preferences = "preferences"
    analytics = "analytics"
    marketing = "marketing"


def _email(value: str) -> str:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None
    return value


Email = Annotated[str, AfterValidator(_email)]


class Address(Strict):
    street: str
    postal_code: str
    city: str
    country: Country = "NO"


class Contact(Strict):
    name: str | None = None
    email: Email | None = None
    phone: str | None = None
    address: Address | None = None
    url: str | None = None


class SupervisoryAuthority(Strict):
    name: str = "Datatilsynet"
    url: str = "https://www.datatilsynet.no"
    address: str | None = "Postboks 458 Sentrum, 0105 Oslo"
    complaint_url: str | None = (
        "https://www.datatilsynet.no/om-datatilsynet/kontakt-oss/klage-til-datatilsynet/"
    )


class Organisation(Strict):
    name: str = Field(description="Legal name as in Enhetsregisteret.")
    org_nr: OrgNr | None = Field(default=None, description="Norwegian organisation number.")
    address: Address | None = None
    email: Email | None = None
    phone: str | None = None
    website: str | None = None
    dpo: Contact | None = Field(default=None, description="Data protection officer (art. 37-39).")
    representative: Contact | None = Field(default=None, description="Art. 27 representative.")
    supervisory_authority: SupervisoryAuthority = SupervisoryAuthority()
    languages: list[Literal["nb", "en"]] = Field(
        default_factory=lambda: ["nb", "en"],  # type: ignore[arg-type]
        min_length=1,
    )
    privacy_centre_url: str | None = None
    role: Literal["controller", "processor", "both"] = "controller"
    unnamed_recipients: Localized | None = Field(
        default=None,
        description="Recipients the notice mentions without naming them (a lint error, DV208).",
    )
    unspecified_transfers: Localized | None = Field(
        default=None,
        description="Transfers outside the EEA the notice mentions without recipient, country "
        "or basis (a lint error, DV111).",
    )
    financial_year_end: FinancialYearEnd = Field(
        default="12-31",
        description="Last day of the financial year (MM-DD); retention rules counting from the "
        "end of the financial year use it.",
    )


class Retention(Strict):
    """How long data is kept: a named legal rule, or period + trigger + action."""

    rule: Key | None = Field(
        default=None, description="A built-in legal rule, e.g. bokforingsloven-13-1-1-4."
    )
    period: Duration | None = None
    trigger: str | None = Field(
        default=None,
        description="What starts the period: an event or a date field, e.g. 'contract_end'.",
    )
    action: RetentionAction = RetentionAction.delete
    indefinite: bool = Field(
        default=False, description="Kept without an end (a lint error; record it honestly)."
    )
    description: Localized | None = None


class AutomatedDecision(Strict):
    """Art. 22 automated decisions, including profiling (art. 13(2)(f))."""

    logic: Localized
    significance: Localized


class Activity(Strict):
    """A processing activity: one purpose with its legal basis (art. 30(1))."""

    key: Key
    purpose: Localized
    data_use: str = Field(description="A fideslang data use, e.g. essential.service.")
    data_categories: list[str] = Field(min_length=1)
    data_subjects: list[str] = Field(min_length=1)
    legal_basis: LegalBasis | None = None
    legitimate_interest: Localized | None = Field(
        default=None, description="The legitimate interest pursued (art. 13(1)(d))."
    )
    legitimate_interest_assessment: str | None = Field(
        default=None, description="Reference to the balancing test (LIA) document."
    )
    consent_purpose: Key | None = None
    special_category_basis: SpecialCategoryBasis | None = None
    national_id_need: Localized | None = Field(
        default=None,
        description="Why fødselsnummer is needed (personopplysningsloven § 12).",
    )
    source: Localized | None = Field(
        default=None,
        description="Where the data comes from when not from the subject (art. 14(2)(f)).",
    )
    source_publicly_available: bool = False
    requirement: Requirement | None = None
    requirement_consequence: Localized | None = Field(
        default=None, description="What happens if the data is not provided (art. 13(2)(e))."
    )
    automated_decisions: AutomatedDecision | None = None
    retention: Retention | None = None
    recipients: list[Key] = Field(
        default_factory=list,
        description="Keys of sub-processors or third parties that receive the data.",
    )


class System(Strict):
    key: Key
    name: str
    description: Localized | None = None
    processing: list[Activity] = Field(default_factory=list)


class Transfer(Strict):
    basis: TransferBasis
    dpf_certified: bool | None = Field(
        default=None, description="The US recipient is on the Data Privacy Framework list."
    )
    safeguards_url: str | None = Field(
        default=None, description="Where a copy of the safeguards can be had (art. 13(1)(f))."
    )
    note: str | None = None


class SubProcessor(Strict):
    key: Key
    name: str
    org_nr: OrgNr | None = None
    country: RecipientCountry = Field(
        default=UNKNOWN_COUNTRY,
        description="Where it is established; `unknown` (the default) is a lint error (DV110).",
    )
    role: Literal["processor", "controller", "joint_controller"] = "processor"
    service: Localized
    data_categories: list[str] = Field(default_factory=list)
    locations: list[Country] = Field(default_factory=list)
    transfer: Transfer | None = None
    dpa_signed: date | None = Field(
        default=None, description="Date the art. 28 agreement was signed."
    )


class ConsentPurpose(Strict):
    key: Key
    name: Localized
    text: Localized = Field(description="The exact consent text shown to the subject.")
    withdraw: Localized | None = Field(default=None, description="How to withdraw (art. 7(3)).")
    data_use: str | None = None
    double_opt_in: bool = False


class Cookie(Strict):
    name: str
    provider: str
    purpose: Localized
    duration: str = Field(description="ISO 8601 duration (P13M) or 'session'.")
    category: CookieCategory
    consent_purpose: Key | None = None
    third_party: bool = False

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value != "session":
            _duration(value)
        return value


# --- data-subject requests (issue 3): how the DSR engine reaches and erases data ---------

MaskStrategyName = Literal["null", "fixed", "random", "hmac"]
"""How one field is erased: NULL (or the type's neutral value where NULL is refused),
a fixed value, a random string, or an HMAC-SHA256 pseudonym. See docs/dsr.md."""

_FIELD_ADDRESS_RE = re.compile(r"^[^.\s]+\.[^.\s]+\.[^\s]+$")
_COLLECTION_ADDRESS_RE = re.compile(r"^[^.\s]+\.[^.\s]+$")
_MONTH_DAY_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def _field_address(value: str) -> str:
    if not _FIELD_ADDRESS_RE.match(value):
        raise ValueError(f"{value!r} is not a field address; write <dataset>.<collection>.<field>")
    return value


def _collection_address(value: str) -> str:
    if not _COLLECTION_ADDRESS_RE.match(value):
        raise ValueError(f"{value!r} is not a collection address; write <dataset>.<collection>")
    return value


FieldAddress = Annotated[str, AfterValidator(_field_address)]
CollectionAddress = Annotated[str, AfterValidator(_collection_address)]


def _mask_shorthand(value: Any) -> Any:
    return {"strategy": value} if isinstance(value, str) else value


class FieldMasking(Strict):
    """One field's masking: ``hmac`` or ``{strategy: fixed, value: "slettet"}``."""

    strategy: MaskStrategyName
    value: str | None = Field(
        default=None, description="The value written by `fixed` (default: masking.fixed_value)."
    )


class DsrMasking(Strict):
    """How an erasure request erases: a default for every personal field, overrides per field
    and per collection."""

    default: MaskStrategyName | Literal["delete_row"] = Field(
        default="null",
        description="Strategy for every personal field without an override; delete_row "
        "deletes every row of the subject instead.",
    )
    fixed_value: str = Field(default="***", description="The value `fixed` writes by default.")
    fields: dict[FieldAddress, Annotated[FieldMasking, BeforeValidator(_mask_shorthand)]] = Field(
        default_factory=dict, description="Per field: `dataset.collection.field: strategy`."
    )
    collections: dict[CollectionAddress, Literal["delete_row", "mask"]] = Field(
        default_factory=dict,
        description="Per collection: delete the subject's rows (delete_row) or mask them (mask).",
    )


def _month_day(value: str) -> str:
    if not _MONTH_DAY_RE.match(value):
        raise ValueError("write the last day of the financial year as MM-DD, e.g. 12-31")
    return value


class DsrHold(Strict):
    """A legal hold: erasure keeps these fields of these rows until the hold ends, then erases
    them without anyone acting (e.g. bokføringsloven § 13 for invoices)."""

    key: Key
    collection: CollectionAddress
    fields: list[str] = Field(min_length=1, description="The fields the law requires kept.")
    rule: Key | None = Field(
        default=None, description="A built-in legal rule, e.g. bokforingsloven-13-1-1-4."
    )
    period: Duration | None = Field(default=None, description="Or a period, e.g. P5Y.")
    date_field: str = Field(description="The row's date the period counts from, e.g. invoice_date.")
    counts_from: Literal["end_of_financial_year", "date"] = Field(
        default="end_of_financial_year",
        description="Count from the end of the financial year of date_field (bokføringsloven "
        "§ 13), or from the date itself. A rule sets its own.",
    )
    financial_year_end: Annotated[str, AfterValidator(_month_day)] = Field(
        default="12-31", description="Last day of the financial year (MM-DD)."
    )
    reason: Localized | None = None

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from datavern.register.rules import BUILTIN_RETENTION_RULES

        if value not in BUILTIN_RETENTION_RULES:
            known = ", ".join(sorted(BUILTIN_RETENTION_RULES))
            raise ValueError(f"unknown legal rule {value!r}; built-in rules: {known}")
        return value

    @model_validator(mode="after")
    def _rule_or_period(self) -> DsrHold:
        if (self.rule is None) == (self.period is None):
            raise ValueError("a hold needs exactly one of `rule` and `period`")
        return self


class ProcessorFor(Strict):
    """Data the organisation processes on behalf of a customer, who is its controller
    (GDPR art. 28). A request about it is forwarded to that customer by e-mail and
    tracked, never carried out by the processor (docs/privacy-centre.md)."""

    key: Key
    controller: str = Field(description="The customer's legal name: the controller of the data.")
    org_nr: OrgNr | None = None
    email: Email = Field(
        description="Where requests are forwarded: the customer's privacy contact."
    )
    service: Localized | None = Field(
        default=None,
        description="What the subject knows the service as, e.g. 'the web shop at example.no'.",
    )
    datasets: list[str] = Field(
        default_factory=list,
        description="Datasets (fides_key) holding the customer's data: requests of the "
        "organisation's own never touch them.",
    )
    systems: list[Key] = Field(
        default_factory=list, description="Systems (key) that hold the customer's data."
    )
    listed: bool = Field(
        default=True,
        description="Offer this customer's service in the privacy centre's request form.",
    )


class DsrSettings(Strict):
    """What the DSR engine needs beyond the datasets (docs/dsr.md)."""

    connections: dict[str, str] = Field(
        default_factory=dict,
        description="Dataset fides_key -> name of the stored connection it lives in "
        "(default: the connection named like the dataset).",
    )
    masking: DsrMasking = Field(default_factory=DsrMasking)
    holds: list[DsrHold] = Field(default_factory=list)
    restriction_flags: dict[CollectionAddress, str] = Field(
        default_factory=dict,
        description="Per collection, a column set while the subject's processing is "
        "restricted (art. 18).",
    )
    portable: list[str] | None = Field(
        default=None,
        description="What the subject provided (art. 20): field addresses or data categories. "
        "Unset: every personal field except credentials (user.authorization).",
    )
    processor_for: list[ProcessorFor] = Field(
        default_factory=list,
        description="Customers whose data the organisation processes as their processor "
        "(art. 28): requests about it are forwarded to them.",
    )


# --- retention rules (issue 6): what sweeps delete, anonymise or aggregate, and when ------


def _retention_period(value: str) -> str:
    from datavern.retention.rules import period_problem

    problem = period_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


RetentionPeriod = Annotated[str, AfterValidator(_retention_period)]


class RetentionTrigger(Strict):
    """What starts a retention period: a date field of each row, or the end of the financial
    year that date falls in. Give exactly one."""

    field: str | None = Field(
        default=None, description="The row's date field the period counts from: created_at."
    )
    financial_year_end_of: str | None = Field(
        default=None,
        description="Count from the end of the financial year of this date field "
        "(bokføringsloven § 13): invoice_date.",
    )

    @model_validator(mode="after")
    def _one(self) -> RetentionTrigger:
        if (self.field is None) == (self.financial_year_end_of is None):
            raise ValueError(
                "a trigger is either `field: <date field>` or `financial_year_end_of: <date field>`"
            )
        return self

    @property
    def date_field(self) -> str:
        return self.field or self.financial_year_end_of or ""


class RetentionAggregate(Strict):
    """``aggregate``: before rows are deleted, their count per group is added to a summary
    collection in the same database."""

    into: CollectionAddress = Field(description="The summary collection: dataset.collection.")
    group_by: list[str] = Field(
        default_factory=list,
        description="Fields copied from the rows; the summary collection has fields of the "
        "same names.",
    )
    count_field: str = Field(
        default="row_count", description="The summary field that receives the number of rows."
    )


class RetentionRule(Strict):
    """A retention rule for one collection: swept by `datavern retention run`."""

    key: Key
    collection: CollectionAddress = Field(description="dataset.collection")
    trigger: RetentionTrigger
    period: RetentionPeriod | None = Field(default=None, description="ISO 8601: P5Y, P3Y6M.")
    rule: Key | None = Field(default=None, description="A built-in legal rule instead of a period.")
    action: RetentionAction = RetentionAction.delete
    anonymise_fields: list[str] = Field(
        default_factory=list, description="With action anonymise: the fields erased."
    )
    aggregate: RetentionAggregate | None = None
    legal_basis: Localized | None = Field(
        default=None, description="Why this period: the law, contract or purpose behind it."
    )
    description: Localized | None = None

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from datavern.register.rules import BUILTIN_RETENTION_RULES

        if value not in BUILTIN_RETENTION_RULES:
            known = ", ".join(sorted(BUILTIN_RETENTION_RULES))
            raise ValueError(f"unknown legal rule {value!r}; built-in rules: {known}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RetentionRule:
        if (self.rule is None) == (self.period is None):
            raise ValueError("a retention rule needs exactly one of `period` and `rule`")
        if self.rule is not None:
            from datavern.register.rules import BUILTIN_RETENTION_RULES

            builtin = BUILTIN_RETENTION_RULES[self.rule]
            if builtin.trigger == "end_of_financial_year" and self.trigger.field is not None:
                raise ValueError(
                    f"rule {self.rule} counts from the end of the financial year; write "
                    f"`trigger: {{financial_year_end_of: {self.trigger.field}}}`"
                )
        if self.action == RetentionAction.anonymise and not self.anonymise_fields:
            raise ValueError("action anonymise needs `anonymise_fields`: the fields to erase")
        if self.action != RetentionAction.anonymise and self.anonymise_fields:
            raise ValueError("`anonymise_fields` is only used with action anonymise")
        if self.action == RetentionAction.aggregate and self.aggregate is None:
            raise ValueError("action aggregate needs `aggregate`: where the counts go")
        if self.action != RetentionAction.aggregate and self.aggregate is not None:
            raise ValueError("`aggregate` is only used with action aggregate")
        return self


class Register(Strict):
    """The whole register after includes are merged."""

    datavern: Literal[1] = Field(default=1, description="Register format version.")
    organisation: Organisation
    systems: list[System] = Field(default_factory=list)
    sub_processors: list[SubProcessor] = Field(default_factory=list)
    consent_purposes: list[ConsentPurpose] = Field(default_factory=list)
    cookies: list[Cookie] = Field(default_factory=list)
    dataset: list[Dataset] = Field(
        default_factory=list, description="Datasets in the fideslang format (Fides dataset YAML)."
    )
    dsr: DsrSettings | None = Field(
        default=None, description="Data-subject request engine: connections, masking, holds."
    )
    retention_rules: list[RetentionRule] = Field(
        default_factory=list,
        description="Retention rules per dataset collection, swept by `datavern retention run`.",
    )

    def activities(self) -> list[tuple[System, Activity]]:
        return [(s, a) for s in self.systems for a in s.processing]

    def sub_processor(self, key: str) -> SubProcessor | None:
        return next((p for p in self.sub_processors if p.key == key), None)

    def consent_purpose(self, key: str) -> ConsentPurpose | None:
        return next((c for c in self.consent_purposes if c.key == key), None)


# Keys a register document may hold at its top level (besides `include`).
DOCUMENT_KEYS = frozenset(Register.model_fields) | {"include"}
LIST_KEYS = frozenset(
    name
    for name, f in Register.model_fields.items()
    if name not in ("organisation", "datavern", "dsr")
)
