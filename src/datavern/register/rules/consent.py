"""DV8xx: cookies and consent purposes."""

from __future__ import annotations

from datavern.register import schema
from datavern.register.rules.activities import CONSENT_WITHDRAWAL_MISSING
from datavern.register.rules.findings import Path
from datavern.register.rules.legal import COOKIE_CATEGORIES, category_matches
from datavern.register.rules.registry import ERROR, INFO, Context, check, join, rule
from datavern.register.schema import LegalBasis

COOKIE_CONSENT_MISSING = rule(
    "DV801",
    "cookie-consent-missing",
    ERROR,
    "ekomloven § 3-15; GDPR art. 4(11) and 7",
    "A cookie that is not strictly necessary has no consent purpose.",
    "Set `consent_purpose` on the cookie and only set it after the visitor consents, or "
    "mark it `necessary` if it truly is.",
)
COOKIE_CONSENT_PURPOSE_UNKNOWN = rule(
    "DV802",
    "cookie-consent-purpose-unknown",
    ERROR,
    "ekomloven § 3-15",
    "A cookie names a consent purpose that is not in `consent_purposes`.",
    "Add the consent purpose or correct the key.",
)
CONSENT_PURPOSE_UNUSED = rule(
    "DV803",
    "consent-purpose-unused",
    INFO,
    "GDPR art. 7(1) and 5(1)(b)",
    "A consent purpose no activity or cookie uses.",
    "Name it from the activity or cookie that relies on it, or remove it.",
)

EMAIL_DOUBLE_OPT_IN = rule(
    "DV804",
    "email-consent-without-double-opt-in",
    INFO,
    "GDPR art. 7(1); markedsføringsloven § 15",
    "Consent to e-mail marketing without double opt-in.",
    "Set `double_opt_in: true`: a confirmation e-mail proves that the owner of the address "
    "consented, which you must be able to show.",
)
COOKIES_NOT_LISTED = rule(
    "DV805",
    "cookies-not-listed",
    ERROR,
    "ekomloven § 3-15; GDPR art. 13(1)(c) and (e)",
    "An activity uses cookies, but the register lists none.",
    "List every cookie under `cookies` (name, provider, purpose, duration, category) with the "
    "consent purpose it needs, so the notice and the banner can show them.",
)


@check
def _consent(ctx: Context) -> None:
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
                f"({join(sorted(email_purposes[purpose.key]))}) without `double_opt_in`",
                (*here, "double_opt_in"),
            )
        if purpose.key not in used:
            ctx.add(
                CONSENT_PURPOSE_UNUSED,
                f"consent purpose {purpose.key!r} is not used by any activity or cookie",
                here,
            )


@check
def _cookies_listed(ctx: Context) -> None:
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
