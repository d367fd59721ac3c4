"""The legal data the rules rest on: the EEA, adequacy decisions, transfer bases,
retention periods laid down by law, special categories and the EEA's authorities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from datavern.register.schema import (
    Activity,
    LegalBasis,
    Requirement,
    SpecialCategoryBasis,
    TransferBasis,
)

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


def specials_of(activity: Activity) -> list[str]:
    return [
        c
        for c in activity.data_categories
        if any(category_matches(c, p) for p in SPECIAL_CATEGORIES)
    ]
