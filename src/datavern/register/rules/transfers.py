"""DV1xx: transfers outside the EEA (GDPR chapter V)."""

from __future__ import annotations

from datavern.register import schema
from datavern.register.rules.findings import Path
from datavern.register.rules.legal import (
    ADEQUACY_DECISIONS,
    EEA,
    INVALID_TRANSFER_BASES,
    SAFEGUARD_BASES,
)
from datavern.register.rules.registry import ERROR, WARNING, Context, check, join, rule, unique
from datavern.register.schema import TransferBasis

TRANSFER_BASIS_INVALID = rule(
    "DV101",
    "transfer-basis-invalid",
    ERROR,
    "GDPR art. 44 and 46(2)(c); CJEU C-362/14 Schrems I; CJEU C-311/18 Schrems II; "
    "Commission Implementing Decision (EU) 2021/914 art. 4",
    "A transfer rests on a mechanism that is no longer valid.",
    "Use the 2021 standard contractual clauses (basis: scc_2021), or for a US recipient "
    "the EU-US Data Privacy Framework (basis: dpf, dpf_certified: true) if it is certified.",
)
TRANSFER_BASIS_MISSING = rule(
    "DV102",
    "transfer-basis-missing",
    ERROR,
    "GDPR art. 44, 46(1) and 13(1)(f)",
    "A recipient outside the EEA has no transfer basis.",
    "Add `transfer:` with a valid basis (adequacy, dpf, scc_2021, bcr or art49), or keep "
    "the data inside the EEA and correct `country`/`locations`.",
)
TRANSFER_EEA_OUTSIDE_EEA = rule(
    "DV103",
    "transfer-eea-basis-outside-eea",
    ERROR,
    "GDPR art. 44",
    "Basis `eea` is given for a recipient that is or processes outside the EEA.",
    "State the real transfer basis for the countries outside the EEA.",
)
ADEQUACY_NOT_AVAILABLE = rule(
    "DV104",
    "adequacy-not-available",
    ERROR,
    "GDPR art. 45(1) and 45(3)",
    "Basis `adequacy` for a country without an adequacy decision.",
    "Use scc_2021 or bcr; for the United States use dpf with a certified recipient.",
)
DPF_NOT_CERTIFIED = rule(
    "DV105",
    "dpf-not-certified",
    ERROR,
    "GDPR art. 45(1); Commission Implementing Decision (EU) 2023/1795 "
    "(EU-US Data Privacy Framework)",
    "A transfer under the Data Privacy Framework to a recipient not marked certified.",
    "Check the recipient on dataprivacyframework.gov and set `dpf_certified: true`, "
    "or use scc_2021.",
)
DPF_OUTSIDE_US = rule(
    "DV106",
    "dpf-outside-us",
    ERROR,
    "GDPR art. 45(1); Commission Implementing Decision (EU) 2023/1795",
    "The Data Privacy Framework is used for a country other than the United States.",
    "Use adequacy (if the country has a decision), scc_2021 or bcr for the other countries.",
)
TRANSFER_DEROGATION = rule(
    "DV107",
    "transfer-derogation",
    WARNING,
    "GDPR art. 49; EDPB Guidelines 2/2018",
    "A transfer rests on an art. 49 derogation.",
    "Derogations fit occasional, non-repetitive transfers only; use scc_2021, bcr or dpf "
    "for a processor that receives data routinely.",
)
TRANSFER_SAFEGUARDS_COPY = rule(
    "DV108",
    "transfer-safeguards-copy-missing",
    WARNING,
    "GDPR art. 13(1)(f) and 14(1)(f)",
    "The notice cannot say where a copy of the safeguards can be had.",
    "Set `transfer.safeguards_url` to where the clauses or rules are published, "
    "or to the page that explains how to ask for a copy.",
)
SCC_VERSION_UNKNOWN = rule(
    "DV109",
    "scc-version-unknown",
    ERROR,
    "GDPR art. 46(2)(c) and 13(1)(f); Commission Implementing Decision (EU) 2021/914 art. 4",
    "Standard contractual clauses are claimed without saying which.",
    "Check which clauses were signed. Only the 2021 clauses (Decision (EU) 2021/914) are "
    "valid since 27 December 2022: record `basis: scc_2021` with `safeguards_url`, or sign them.",
)
RECIPIENT_COUNTRY_UNKNOWN = rule(
    "DV110",
    "recipient-country-unknown",
    ERROR,
    "GDPR art. 13(1)(f), 14(1)(f) and 30(1)(e)",
    "A recipient's country is unknown, so nobody can tell whether data leaves the EEA.",
    "Find out where the recipient is established and where it stores or accesses the data; "
    "set `country` and `locations`, and a `transfer` basis for any country outside the EEA.",
)
TRANSFERS_UNSPECIFIED = rule(
    "DV111",
    "transfers-unspecified",
    ERROR,
    "GDPR art. 13(1)(f), 14(1)(f), 30(1)(e) and 44",
    "Data may be transferred outside the EEA, but recipient, country and basis are not stated.",
    "Name each recipient outside the EEA under `sub_processors` with its countries and "
    "transfer basis, then remove `organisation.unspecified_transfers`.",
)


def _outside_eea(processor: schema.SubProcessor) -> list[str]:
    """Countries outside the EEA; an unknown country is not counted (DV110 reports it)."""
    return unique(
        c
        for c in [processor.country, *processor.locations]
        if c not in EEA and c != schema.UNKNOWN_COUNTRY
    )


@check
def _transfers(ctx: Context) -> None:
    ctx.unnamed(
        TRANSFERS_UNSPECIFIED,
        "unspecified_transfers",
        "transfers outside the EEA without recipient, country or basis",
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
                    f"{join(outside)}, outside the EEA, with no transfer basis",
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
                f"processes data in {join(outside)}, outside the EEA",
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
                    f"covers the United States only, not {join(others)}",
                    basis_path,
                )
        elif basis is TransferBasis.art49 and outside:
            ctx.add(
                TRANSFER_DEROGATION,
                f"sub-processor {proc.key!r} ({proc.name}) receives data in "
                f"{join(outside)} under an art. 49 derogation",
                basis_path,
            )
        if basis in SAFEGUARD_BASES and outside and not transfer.safeguards_url:
            ctx.add(
                TRANSFER_SAFEGUARDS_COPY,
                f"sub-processor {proc.key!r} ({proc.name}): basis {basis.value!r} without "
                "`safeguards_url`",
                (*here, "transfer", "safeguards_url"),
            )
