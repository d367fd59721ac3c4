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

Modules: findings (Severity, Rule, Finding, paths), registry (RULES, CHECKS, ``lint``),
legal (the legal data), columns (column names that suggest personal data), and one
module per rule family: transfers (DV1xx), recipients (DV2xx), controller (DV3xx),
activities (DV4xx), categories (DV5xx), retention (DV6xx), languages (DV7xx), consent
(DV8xx), record (DV9xx), graph (DV95x, reported by the runner in lint.py).
"""

# isort: off
# In this order, the families fill RULES (DV000, DV1xx ... DV9xx, DV95x) and CHECKS.
from datavern.register.rules.findings import (
    Finding,
    Path,
    path_sort_key,
    path_str,
    Rule,
    Severity,
)
from datavern.register.rules.registry import (
    CHECKS,
    ERROR,
    INFO,
    REGISTER_INVALID,
    RULES,
    WARNING,
    Check,
    lint,
)
from datavern.register.rules.legal import (
    ADEQUACY_DECISIONS,
    AUTOMATED_DECISION_BASES,
    AUTOMATED_DECISION_SPECIAL_BASES,
    BUILTIN_RETENTION_RULES,
    COOKIE_CATEGORIES,
    CRIMINAL_CATEGORIES,
    EEA,
    EEA_DPA_DOMAINS,
    EMPLOYEE_SUBJECTS,
    EU,
    INVALID_TRANSFER_BASES,
    NATIONAL_ID_CATEGORIES,
    REQUIRED,
    ROOT_CATEGORY,
    SAFEGUARD_BASES,
    SPECIAL_CATEGORIES,
    SUBJECTS_NOT_SOURCE,
    category_matches,
    covered,
    is_eea_dpa_url,
    LegalRetentionRule,
    url_host,
)
from datavern.register.rules.columns import (
    personal_column_hint,
)
from datavern.register.rules.transfers import (
    ADEQUACY_NOT_AVAILABLE,
    DPF_NOT_CERTIFIED,
    DPF_OUTSIDE_US,
    RECIPIENT_COUNTRY_UNKNOWN,
    SCC_VERSION_UNKNOWN,
    TRANSFERS_UNSPECIFIED,
    TRANSFER_BASIS_INVALID,
    TRANSFER_BASIS_MISSING,
    TRANSFER_DEROGATION,
    TRANSFER_EEA_OUTSIDE_EEA,
    TRANSFER_SAFEGUARDS_COPY,
)
from datavern.register.rules.recipients import (
    DPA_DATE_FUTURE,
    DPA_MISSING,
    JOINT_CONTROLLER,
    PROCESSOR_CATEGORIES_MISSING,
    PROCESSOR_CATEGORIES_UNDECLARED,
    RECIPIENTS_UNNAMED,
    RECIPIENT_UNKNOWN,
    RECIPIENT_UNUSED,
)
from datavern.register.rules.controller import (
    AUTHORITY_MISSING,
    AUTHORITY_NOT_DPA,
    CONTROLLER_ADDRESS_MISSING,
    CONTROLLER_EMAIL_MISSING,
    CONTROLLER_ORG_NR_MISSING,
    DPO_CONTACT_MISSING,
    PROCESSOR_ROLE,
    REPRESENTATIVE_MISSING,
)
from datavern.register.rules.activities import (
    AUTOMATED_DECISION_BASIS,
    AUTOMATED_DECISION_SPECIAL,
    CONSENT_FOR_NECESSARY,
    CONSENT_ON_OTHER_BASIS,
    CONSENT_PURPOSE_MISSING,
    CONSENT_PURPOSE_UNKNOWN,
    CONSENT_WITHDRAWAL_MISSING,
    ELECTRONIC_MARKETING_CONSENT,
    EMPLOYEE_CONSENT,
    LEGAL_BASIS_MISSING,
    LEGITIMATE_INTEREST_NOT_STATED,
    LIA_MISSING,
    MARKETING_ON_CONTRACT,
    REQUIREMENT_CONSEQUENCE_MISSING,
    REQUIREMENT_MISSING,
    SOURCE_MISSING,
)
from datavern.register.rules.categories import (
    CRIMINAL_RECORDS,
    NATIONAL_ID_NEED_MISSING,
    SPECIAL_CATEGORY_BASIS_MISSING,
    SPECIAL_CATEGORY_BASIS_UNUSED,
)
from datavern.register.rules.retention import (
    RETENTION_INDEFINITE,
    RETENTION_MISSING,
    RETENTION_PERIOD_MISSING,
    RETENTION_RULE_AND_PERIOD,
    RETENTION_RULE_UNKNOWN,
    RETENTION_TRIGGER_MISSING,
)
from datavern.register.rules.languages import (
    TRANSLATION_MISSING,
    localized_texts,
)
from datavern.register.rules.consent import (
    CONSENT_PURPOSE_UNUSED,
    COOKIES_NOT_LISTED,
    COOKIE_CONSENT_MISSING,
    COOKIE_CONSENT_PURPOSE_UNKNOWN,
    EMAIL_DOUBLE_OPT_IN,
)
from datavern.register.rules.record import (
    DATASET_CATEGORY_UNDECLARED,
    DATA_CATEGORIES_UNITEMISED,
    DUPLICATE_KEY,
    TODO_PLACEHOLDER,
    TODO_RE,
    string_values,
)
from datavern.register.rules.graph import (
    DATASET_IDENTITY_INVALID,
    DATASET_ORDER_INVALID,
    DATASET_REFERENCE_INVALID,
    DATASET_UNREACHABLE,
    GRAPH_CODE_RULES,
    LIVE_COLLECTION_MISSING,
    LIVE_COLUMN_UNDECLARED,
    LIVE_DATABASE_UNREACHABLE,
    LIVE_FIELD_MISSING,
    LIVE_NOT_CHECKED,
    RUNNER_RULES,
)
# isort: on

__all__ = [
    "ADEQUACY_DECISIONS",
    "ADEQUACY_NOT_AVAILABLE",
    "AUTHORITY_MISSING",
    "AUTHORITY_NOT_DPA",
    "AUTOMATED_DECISION_BASES",
    "AUTOMATED_DECISION_BASIS",
    "AUTOMATED_DECISION_SPECIAL",
    "AUTOMATED_DECISION_SPECIAL_BASES",
    "BUILTIN_RETENTION_RULES",
    "CHECKS",
    "CONSENT_FOR_NECESSARY",
    "CONSENT_ON_OTHER_BASIS",
    "CONSENT_PURPOSE_MISSING",
    "CONSENT_PURPOSE_UNKNOWN",
    "CONSENT_PURPOSE_UNUSED",
    "CONSENT_WITHDRAWAL_MISSING",
    "CONTROLLER_ADDRESS_MISSING",
    "CONTROLLER_EMAIL_MISSING",
    "CONTROLLER_ORG_NR_MISSING",
    "COOKIES_NOT_LISTED",
    "COOKIE_CATEGORIES",
    "COOKIE_CONSENT_MISSING",
    "COOKIE_CONSENT_PURPOSE_UNKNOWN",
    "CRIMINAL_CATEGORIES",
    "CRIMINAL_RECORDS",
    "DATASET_CATEGORY_UNDECLARED",
    "DATASET_IDENTITY_INVALID",
    "DATASET_ORDER_INVALID",
    "DATASET_REFERENCE_INVALID",
    "DATASET_UNREACHABLE",
    "DATA_CATEGORIES_UNITEMISED",
    "DPA_DATE_FUTURE",
    "DPA_MISSING",
    "DPF_NOT_CERTIFIED",
    "DPF_OUTSIDE_US",
    "DPO_CONTACT_MISSING",
    "DUPLICATE_KEY",
    "EEA",
    "EEA_DPA_DOMAINS",
    "ELECTRONIC_MARKETING_CONSENT",
    "EMAIL_DOUBLE_OPT_IN",
    "EMPLOYEE_CONSENT",
    "EMPLOYEE_SUBJECTS",
    "ERROR",
    "EU",
    "GRAPH_CODE_RULES",
    "INFO",
    "INVALID_TRANSFER_BASES",
    "JOINT_CONTROLLER",
    "LEGAL_BASIS_MISSING",
    "LEGITIMATE_INTEREST_NOT_STATED",
    "LIA_MISSING",
    "LIVE_COLLECTION_MISSING",
    "LIVE_COLUMN_UNDECLARED",
    "LIVE_DATABASE_UNREACHABLE",
    "LIVE_FIELD_MISSING",
    "LIVE_NOT_CHECKED",
    "MARKETING_ON_CONTRACT",
    "NATIONAL_ID_CATEGORIES",
    "NATIONAL_ID_NEED_MISSING",
    "PROCESSOR_CATEGORIES_MISSING",
    "PROCESSOR_CATEGORIES_UNDECLARED",
    "PROCESSOR_ROLE",
    "RECIPIENTS_UNNAMED",
    "RECIPIENT_COUNTRY_UNKNOWN",
    "RECIPIENT_UNKNOWN",
    "RECIPIENT_UNUSED",
    "REGISTER_INVALID",
    "REPRESENTATIVE_MISSING",
    "REQUIRED",
    "REQUIREMENT_CONSEQUENCE_MISSING",
    "REQUIREMENT_MISSING",
    "RETENTION_INDEFINITE",
    "RETENTION_MISSING",
    "RETENTION_PERIOD_MISSING",
    "RETENTION_RULE_AND_PERIOD",
    "RETENTION_RULE_UNKNOWN",
    "RETENTION_TRIGGER_MISSING",
    "ROOT_CATEGORY",
    "RULES",
    "RUNNER_RULES",
    "SAFEGUARD_BASES",
    "SCC_VERSION_UNKNOWN",
    "SOURCE_MISSING",
    "SPECIAL_CATEGORIES",
    "SPECIAL_CATEGORY_BASIS_MISSING",
    "SPECIAL_CATEGORY_BASIS_UNUSED",
    "SUBJECTS_NOT_SOURCE",
    "TODO_PLACEHOLDER",
    "TODO_RE",
    "TRANSFERS_UNSPECIFIED",
    "TRANSFER_BASIS_INVALID",
    "TRANSFER_BASIS_MISSING",
    "TRANSFER_DEROGATION",
    "TRANSFER_EEA_OUTSIDE_EEA",
    "TRANSFER_SAFEGUARDS_COPY",
    "TRANSLATION_MISSING",
    "WARNING",
    "Check",
    "Finding",
    "LegalRetentionRule",
    "Path",
    "Rule",
    "Severity",
    "category_matches",
    "covered",
    "is_eea_dpa_url",
    "lint",
    "localized_texts",
    "path_sort_key",
    "path_str",
    "personal_column_hint",
    "string_values",
    "url_host",
]
