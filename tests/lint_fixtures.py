"""A small register that is clean under every lint rule, to mutate in tests."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from datavern.register.rules import Finding, lint, path_str
from datavern.register.schema import Register

TODAY = date(2025, 3, 1)


def both(nb: str, en: str) -> dict[str, str]:
    return {"nb": nb, "en": en}


CLEAN: dict[str, Any] = {
    "organisation": {
        "name": "Eksempel AS",
        "org_nr": "923609016",
        "address": {"street": "Storgata 1", "postal_code": "0155", "city": "Oslo"},
        "email": "personvern@eksempel.no",
        "languages": ["nb", "en"],
    },
    "systems": [
        {
            "key": "crm",
            "name": "Kunderegister",
            "processing": [
                {
                    "key": "customer-service",
                    "purpose": both("Levere tjenesten du har bestilt.", "Deliver the service."),
                    "data_use": "essential.service",
                    "data_categories": ["user.contact.email", "user.name"],
                    "data_subjects": ["customer"],
                    "legal_basis": "contract",
                    "requirement": "contractual",
                    "requirement_consequence": both(
                        "Uten e-postadresse kan vi ikke levere tjenesten.",
                        "Without an e-mail address we cannot deliver the service.",
                    ),
                    "retention": {"period": "P3Y", "trigger": "contract_end"},
                    "recipients": ["hosting"],
                },
                {
                    "key": "newsletter",
                    "purpose": both("Sende nyhetsbrev.", "Send newsletters."),
                    "data_use": "marketing.communications.email",
                    "data_categories": ["user.contact.email"],
                    "data_subjects": ["customer"],
                    "legal_basis": "consent",
                    "consent_purpose": "newsletter",
                    "requirement": "voluntary",
                    "retention": {"period": "P30D", "trigger": "consent_withdrawn"},
                },
            ],
        }
    ],
    "sub_processors": [
        {
            "key": "hosting",
            "name": "Driftsleverandør AS",
            "country": "NO",
            "service": both("Drift av servere.", "Server operations."),
            "data_categories": ["user.contact.email"],
            "locations": ["NO", "SE"],
            "dpa_signed": "2024-01-15",
        }
    ],
    "consent_purposes": [
        {
            "key": "newsletter",
            "name": both("Nyhetsbrev", "Newsletter"),
            "text": both("Ja, send meg nyhetsbrev.", "Yes, send me newsletters."),
            "withdraw": both(
                "Klikk «Meld av» nederst i hvert nyhetsbrev.",
                "Click 'Unsubscribe' at the foot of every newsletter.",
            ),
            "double_opt_in": True,
        },
        {
            "key": "statistics",
            "name": both("Statistikk", "Statistics"),
            "text": both("Ja til statistikk-informasjonskapsler.", "Yes to statistics cookies."),
            "withdraw": both(
                "Endre valget i informasjonskapsel-banneret.", "Change it in the banner."
            ),
        },
    ],
    "cookies": [
        {
            "name": "session",
            "provider": "eksempel.no",
            "purpose": both("Holder deg innlogget.", "Keeps you logged in."),
            "duration": "session",
            "category": "necessary",
        },
        {
            "name": "_stats",
            "provider": "eksempel.no",
            "purpose": both("Teller besøk.", "Counts visits."),
            "duration": "P13M",
            "category": "analytics",
            "consent_purpose": "statistics",
        },
    ],
    "dataset": [
        {
            "fides_key": "crm_db",
            "collections": [
                {
                    "name": "customers",
                    "fields": [
                        {
                            "name": "email",
                            "data_categories": ["user.contact.email"],
                            "fides_meta": {"identity": "email"},
                        },
                        {"name": "id", "data_categories": ["system.operations"]},
                    ],
                }
            ],
        }
    ],
}


def clean() -> dict[str, Any]:
    return copy.deepcopy(CLEAN)


def activity(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = data["systems"][0]["processing"][index]
    return result


def processor(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = data["sub_processors"][index]
    return result


def run(data: dict[str, Any], today: date = TODAY) -> list[Finding]:
    return lint(Register.model_validate(data), today=today)


def found(data: dict[str, Any], today: date = TODAY) -> set[tuple[str, str]]:
    return {(f.id, path_str(f.path)) for f in run(data, today)}
