"""DV5xx: special categories and identifiers."""

from __future__ import annotations

from datavern.register.rules.legal import (
    CRIMINAL_CATEGORIES,
    NATIONAL_ID_CATEGORIES,
    SPECIAL_CATEGORIES,
    category_matches,
    specials_of,
)
from datavern.register.rules.registry import (
    ERROR,
    INFO,
    WARNING,
    Context,
    check,
    join,
    rule,
    unique,
)

SPECIAL_CATEGORY_BASIS_MISSING = rule(
    "DV501",
    "special-category-basis-missing",
    ERROR,
    "GDPR art. 9(1)-(2)",
    "Special categories of data without an art. 9(2) condition.",
    "Set `special_category_basis` (e.g. explicit_consent, employment, legal_claims), or stop "
    "processing the category.",
)
CRIMINAL_RECORDS = rule(
    "DV502",
    "criminal-records",
    WARNING,
    "GDPR art. 10; personopplysningsloven § 11",
    "Data on criminal convictions and offences.",
    "Such data may only be processed under official authority or where the law allows it "
    "(personopplysningsloven § 11); document which provision you rely on.",
)
NATIONAL_ID_NEED_MISSING = rule(
    "DV503",
    "national-id-need-missing",
    ERROR,
    "personopplysningsloven § 12",
    "Fødselsnummer is processed without a stated need.",
    "State in `national_id_need` why secure identification is necessary, or stop collecting it.",
)
SPECIAL_CATEGORY_BASIS_UNUSED = rule(
    "DV504",
    "special-category-basis-unused",
    INFO,
    "GDPR art. 9(2) and 5(1)(c)",
    "An art. 9 condition is set, but the activity lists no special categories.",
    "Add the special category the activity processes, or remove `special_category_basis`.",
)


@check
def _categories(ctx: Context) -> None:
    for here, system_key, activity in ctx.activities():
        name = f"activity {activity.key!r} (system {system_key!r})"
        specials = specials_of(activity)
        if specials and activity.special_category_basis is None:
            kinds = unique(
                SPECIAL_CATEGORIES[p]
                for c in specials
                for p in SPECIAL_CATEGORIES
                if category_matches(c, p)
            )
            ctx.add(
                SPECIAL_CATEGORY_BASIS_MISSING,
                f"{name} processes {join(specials)} ({join(kinds)}) without "
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
                f"{name} processes {join(national)} (fødselsnummer) without `national_id_need`",
                (*here, "national_id_need"),
            )
