"""DV4xx: each activity's purpose, legal basis and the art. 13/14 items it must supply."""

from __future__ import annotations

from datavern.register.rules.legal import (
    AUTOMATED_DECISION_BASES,
    AUTOMATED_DECISION_SPECIAL_BASES,
    EMPLOYEE_SUBJECTS,
    REQUIRED,
    SUBJECTS_NOT_SOURCE,
    category_matches,
    specials_of,
)
from datavern.register.rules.registry import ERROR, WARNING, Context, check, join, rule
from datavern.register.schema import LegalBasis, SpecialCategoryBasis

LEGAL_BASIS_MISSING = rule(
    "DV401",
    "legal-basis-missing",
    ERROR,
    "GDPR art. 6(1) and 13(1)(c)",
    "An activity has no legal basis.",
    "Set `legal_basis` to one of consent, contract, legal_obligation, vital_interests, "
    "public_task, legitimate_interests.",
)
LEGITIMATE_INTEREST_NOT_STATED = rule(
    "DV402",
    "legitimate-interest-not-stated",
    ERROR,
    "GDPR art. 13(1)(d) and 14(2)(b)",
    "Legitimate interests is the basis, but the interest pursued is not stated.",
    "Describe the interest in `legitimate_interest`, in each notice language.",
)
LIA_MISSING = rule(
    "DV403",
    "legitimate-interest-assessment-missing",
    ERROR,
    "GDPR art. 6(1)(f) and 5(2)",
    "Legitimate interests is the basis, but no balancing test (LIA) is referenced.",
    "Carry out the balancing test and set `legitimate_interest_assessment` to where it is kept.",
)
CONSENT_PURPOSE_MISSING = rule(
    "DV404",
    "consent-purpose-missing",
    ERROR,
    "GDPR art. 6(1)(a), 7(1) and 13(2)(c)",
    "Consent is the basis, but no consent purpose says what is consented to.",
    "Add a consent purpose under `consent_purposes` and set the activity's `consent_purpose`.",
)
CONSENT_PURPOSE_UNKNOWN = rule(
    "DV405",
    "consent-purpose-unknown",
    ERROR,
    "GDPR art. 7(1)",
    "A consent purpose key that is not in `consent_purposes`.",
    "Add the consent purpose or correct the key.",
)
CONSENT_WITHDRAWAL_MISSING = rule(
    "DV406",
    "consent-withdrawal-missing",
    ERROR,
    "GDPR art. 7(3) and 13(2)(c)",
    "A consent purpose does not say how consent is withdrawn.",
    "Set `withdraw` on the consent purpose: how to withdraw, as easily as consent was given.",
)
CONSENT_ON_OTHER_BASIS = rule(
    "DV407",
    "consent-purpose-on-other-basis",
    WARNING,
    "GDPR art. 6(1); EDPB Guidelines 05/2020 on consent",
    "An activity asks for consent but rests on another legal basis.",
    "Either make consent the basis, or drop the consent purpose: asking for consent you do "
    "not rely on misleads the data subject.",
)
REQUIREMENT_MISSING = rule(
    "DV408",
    "requirement-missing",
    ERROR,
    "GDPR art. 13(2)(e)",
    "The register does not say whether providing the data is required.",
    "Set `requirement` to statutory, contractual, contract_precondition or voluntary.",
)
REQUIREMENT_CONSEQUENCE_MISSING = rule(
    "DV409",
    "requirement-consequence-missing",
    ERROR,
    "GDPR art. 13(2)(e)",
    "Providing the data is required, but the consequence of not providing it is not stated.",
    "Describe in `requirement_consequence` what happens if the data is not provided.",
)
SOURCE_MISSING = rule(
    "DV410",
    "source-missing",
    ERROR,
    "GDPR art. 14(2)(f)",
    "Data not collected from the data subject, without its source.",
    "Describe in `source` where the data comes from (and set `source_publicly_available` "
    "if it is from public sources).",
)
AUTOMATED_DECISION_BASIS = rule(
    "DV411",
    "automated-decision-basis-invalid",
    ERROR,
    "GDPR art. 22(1)-(2)",
    "An automated decision rests on a basis art. 22(2) does not allow.",
    "Automated decisions with legal or similar effects need a contract, a law, or explicit "
    "consent; change the basis or put a person in the loop.",
)
AUTOMATED_DECISION_SPECIAL = rule(
    "DV412",
    "automated-decision-special-categories",
    ERROR,
    "GDPR art. 22(4)",
    "An automated decision uses special categories without explicit consent or a law.",
    "Use `special_category_basis: explicit_consent` or substantial_public_interest, or "
    "keep special categories out of the decision.",
)
MARKETING_ON_CONTRACT = rule(
    "DV413",
    "marketing-on-contract",
    WARNING,
    "GDPR art. 6(1)(b); EDPB Guidelines 2/2019",
    "Marketing rests on the contract basis.",
    "Marketing is rarely necessary to perform a contract; use consent or legitimate interests "
    "(with an assessment).",
)
ELECTRONIC_MARKETING_CONSENT = rule(
    "DV414",
    "electronic-marketing-without-consent",
    WARNING,
    "markedsføringsloven § 15",
    "Marketing by e-mail or SMS without consent.",
    "Electronic marketing to individuals needs prior consent, except to existing customers "
    "for your own similar products with an easy opt-out in every message; use consent unless "
    "that exception truly applies.",
)

EMPLOYEE_CONSENT = rule(
    "DV415",
    "employee-consent",
    WARNING,
    "GDPR art. 4(11) and 7(4); EDPB Guidelines 05/2020 on consent",
    "Consent from employees, who are seldom free to refuse their employer.",
    "Rely on the employment contract, a legal obligation or legitimate interests (with an "
    "assessment); keep consent only where saying no truly has no consequence.",
)
CONSENT_FOR_NECESSARY = rule(
    "DV416",
    "consent-for-necessary-processing",
    WARNING,
    "GDPR art. 6(1) and 7(4); EDPB Guidelines 05/2020 on consent",
    "Processing needed to deliver the service (an essential data use) rests on consent.",
    "Use contract (or legal_obligation) for what the service needs; consent that the service "
    "depends on is not freely given, and withdrawing it would stop the service.",
)


@check
def _activities(ctx: Context) -> None:
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
                    f"its data subjects include {join(not_from_subject)}"
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
        specials = specials_of(activity)
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
                    f"{name} makes automated decisions using {join(specials)}",
                    (*here, "automated_decisions"),
                )
        use = activity.data_use
        if basis is LegalBasis.consent:
            staff = sorted(EMPLOYEE_SUBJECTS.intersection(activity.data_subjects))
            if staff:
                ctx.add(
                    EMPLOYEE_CONSENT,
                    f"{name} rests on consent from {join(staff)}",
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
