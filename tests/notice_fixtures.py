"""A small register for the notice rendering tests (unit and PDF), built in memory."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from datavern.notices.render import NoticeMeta
from datavern.register.schema import Register

META = NoticeMeta(4, datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "f" * 64)

DATA: dict[str, Any] = {
    "organisation": {
        "name": "Bølgeblikk Drift AS",
        "org_nr": "923456783",
        "address": {"street": "Kaigata 1", "postal_code": "5003", "city": "Bergen"},
        "email": "personvern@bolge.example",
        "dpo": {"name": "Åse Ødegård", "email": "ombud@bolge.example"},
    },
    "systems": [
        {
            "key": "portal",
            "name": "Portal",
            "processing": [
                {
                    "key": "customers",
                    "purpose": {"nb": "Kundeforhold", "en": "Customer relationship"},
                    "data_use": "essential.service",
                    "data_categories": ["user.contact.email", "user.device.ip_address"],
                    "data_subjects": ["customer"],
                    "legal_basis": "contract",
                    "requirement": "contractual",
                    "requirement_consequence": {
                        "nb": "Uten e-post kan vi ikke levere.",
                        "en": "Without e-mail we cannot deliver.",
                    },
                    "retention": {"period": "P3Y6M", "trigger": "contract_end"},
                    "recipients": ["mail"],
                },
                {
                    "key": "accounting",
                    "purpose": {"nb": "Regnskap", "en": "Accounting"},
                    "data_use": "essential.service.payment_processing",
                    "data_categories": ["user.name"],
                    "data_subjects": ["customer"],
                    "legal_basis": "legal_obligation",
                    "retention": {"rule": "bokforingsloven-13-1-1-4"},
                },
                {
                    "key": "newsletter",
                    "purpose": {"nb": "Nyhetsbrev", "en": "Newsletter"},
                    "data_use": "marketing.communications.email",
                    "data_categories": ["user.contact.email"],
                    "data_subjects": ["customer"],
                    "legal_basis": "consent",
                    "consent_purpose": "newsletter",
                    "retention": {"period": "P1M", "trigger": "consent_withdrawn"},
                },
                {
                    "key": "support",
                    "purpose": {"nb": "Kundestøtte", "en": "Support"},
                    "data_use": "essential.service.operations.support",
                    "data_categories": ["user.name"],
                    "data_subjects": ["customer"],
                    "legal_basis": "legitimate_interests",
                    "legitimate_interest": {
                        "nb": "Å hjelpe kundene raskt.",
                        "en": "Helping customers quickly.",
                    },
                    "retention": {"period": "P1Y", "trigger": "case_closed"},
                },
            ],
        }
    ],
    "sub_processors": [
        {
            "key": "mail",
            "name": "Brevdue Inc.",
            "country": "US",
            "service": {"nb": "Utsending av e-post", "en": "Sending e-mail"},
            "data_categories": ["user.contact.email"],
            "transfer": {"basis": "dpf", "dpf_certified": True},
            "dpa_signed": "2024-01-01",
        }
    ],
    "consent_purposes": [
        {
            "key": "newsletter",
            "name": {"nb": "Nyhetsbrev på e-post", "en": "E-mail newsletter"},
            "text": {"nb": "Ja, send meg nyhetsbrev.", "en": "Yes, send me newsletters."},
            "withdraw": {
                "nb": "Klikk «Meld av» i nyhetsbrevet.",
                "en": "Click “Unsubscribe” in the newsletter.",
            },
        }
    ],
}


def register(mutate: Any = None) -> Register:
    data = copy.deepcopy(DATA)
    if mutate:
        mutate(data)
    return Register.model_validate(data)
