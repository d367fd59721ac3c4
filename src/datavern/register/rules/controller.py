"""DV3xx: the controller and what the notice must say about it."""

from __future__ import annotations

from datavern.register.rules.findings import Path
from datavern.register.rules.legal import EEA, is_eea_dpa_url, url_host
from datavern.register.rules.registry import ERROR, INFO, WARNING, Context, check, rule

CONTROLLER_EMAIL_MISSING = rule(
    "DV301",
    "controller-email-missing",
    ERROR,
    "GDPR art. 13(1)(a), 14(1)(a) and 12(2)",
    "The controller has no contact e-mail.",
    "Set `organisation.email` to an address that is read, e.g. personvern@example.no.",
)
CONTROLLER_ADDRESS_MISSING = rule(
    "DV302",
    "controller-address-missing",
    ERROR,
    "GDPR art. 13(1)(a) and 14(1)(a)",
    "The controller has no postal address.",
    "Set `organisation.address` (street, postal_code, city, country).",
)
CONTROLLER_ORG_NR_MISSING = rule(
    "DV303",
    "controller-org-nr-missing",
    WARNING,
    "GDPR art. 13(1)(a); ehandelsloven § 8",
    "The controller has no organisation number.",
    "Set `organisation.org_nr` as in Enhetsregisteret.",
)
DPO_CONTACT_MISSING = rule(
    "DV304",
    "dpo-contact-missing",
    ERROR,
    "GDPR art. 13(1)(b), 14(1)(b) and 37(7)",
    "A data protection officer is set without contact details.",
    "Give `organisation.dpo` an e-mail address (and phone or address if you like).",
)
AUTHORITY_MISSING = rule(
    "DV305",
    "supervisory-authority-missing",
    ERROR,
    "GDPR art. 13(2)(d), 14(2)(e) and 77",
    "The supervisory authority the data subject can complain to is not identified.",
    "Remove the `supervisory_authority` override to use Datatilsynet, or give its name and url.",
)
REPRESENTATIVE_MISSING = rule(
    "DV306",
    "representative-missing",
    WARNING,
    "GDPR art. 27 and 13(1)(a)",
    "A controller established outside the EEA has no representative in the EEA.",
    "Designate a representative in the EEA and set `organisation.representative`.",
)
PROCESSOR_ROLE = rule(
    "DV307",
    "processor-role-reminder",
    INFO,
    "GDPR art. 28 and 30(2)",
    "The organisation is (also) a processor for its customers.",
    "Keep a record of processing per customer (art. 30(2)) and follow each customer's "
    "documented instructions; the notice covers only what you control.",
)
AUTHORITY_NOT_DPA = rule(
    "DV308",
    "supervisory-authority-not-eea-dpa",
    ERROR,
    "GDPR art. 13(2)(d), 14(2)(e), 51 and 77",
    "The complaint route named is not a data protection authority in the EEA.",
    "Remove the `supervisory_authority` override to use Datatilsynet, or name the EEA "
    "authority that is competent (its own website as `url`).",
)


@check
def _controller(ctx: Context) -> None:
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
