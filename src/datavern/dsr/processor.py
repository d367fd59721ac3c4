"""When the organisation is only the processor: requests go to the controller.

Hosting, IT-operations and integration companies hold much personal data for
their customers, who decide about it (GDPR art. 28). The register names those
customers in ``dsr.processor_for`` (docs/register.md, "Data processed for
customers"): each with the datasets and systems holding its data and the
address its requests go to.

* A request the subject files about a customer's service is not carried out
  here: it is **forwarded** to that customer by e-mail (with what the customer
  needs to find the person: the kind of request, the identities given, the
  subject's own words), the subject is told who decides and how to reach them,
  and the case stays open (``forwarded``) until an agent records the customer's
  answer. Art. 28(3)(e): the processor assists the controller in answering;
  it does not answer in its place.
* Requests about the organisation's own data never touch a customer's dataset:
  the DSR engine walks ``own_datasets(register)`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fideslang.models import Dataset

from datavern.register.schema import ProcessorFor, Register


def customers(register: Register | None) -> list[ProcessorFor]:
    if register is None or register.dsr is None:
        return []
    return list(register.dsr.processor_for)


def listed_customers(register: Register | None) -> list[ProcessorFor]:
    """The customers the request form offers (``listed: true``)."""
    return [c for c in customers(register) if c.listed]


def customer(register: Register | None, key: str | None) -> ProcessorFor | None:
    if not key:
        return None
    return next((c for c in customers(register) if c.key == key), None)


def processor_datasets(register: Register) -> set[str]:
    return {name for c in customers(register) for name in c.datasets}


def processor_systems(register: Register) -> set[str]:
    return {name for c in customers(register) for name in c.systems}


def own_datasets(register: Register) -> list[Dataset]:
    """The datasets a request about the organisation's own data may walk."""
    excluded = processor_datasets(register)
    if not excluded:
        return list(register.dataset)
    return [d for d in register.dataset if d.fides_key not in excluded]


def problems(register: Register) -> list[str]:
    """``processor_for`` entries naming datasets or systems the register does not have,
    or two customers with one key."""
    datasets = {d.fides_key for d in register.dataset}
    systems = {s.key for s in register.systems}
    found: list[str] = []
    seen: set[str] = set()
    for entry in customers(register):
        if entry.key in seen:
            found.append(f"dsr.processor_for: the key {entry.key!r} is used twice")
        seen.add(entry.key)
        for name in entry.datasets:
            if name not in datasets:
                found.append(
                    f"dsr.processor_for {entry.key!r}: no dataset {name!r} in the register"
                )
        for name in entry.systems:
            if name not in systems:
                found.append(f"dsr.processor_for {entry.key!r}: no system {name!r} in the register")
    return found


def service_name(entry: ProcessorFor, lang: str, languages: Sequence[str]) -> str:
    """How the request form names the customer's service."""
    from datavern.register.schema import text_for

    if entry.service:
        text = text_for(entry.service, lang, list(languages))
        if text:
            return text
        return next(iter(entry.service.values()), entry.controller)
    return entry.controller


def forward_context(entry: ProcessorFor) -> dict[str, Any]:
    return {
        "controller": entry.controller,
        "controller_org_nr": entry.org_nr or "",
        "controller_email": entry.email,
    }
