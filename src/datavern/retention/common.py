"""Retention: what the other modules share: limits, errors, rules resolved from the
register, the register versions, and the connectors a plan or run opens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from datavern.connectors.sql import SQLConnector
from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.db import session_scope
from datavern.core.errors import DatavernError
from datavern.register.rules import BUILTIN_RETENTION_RULES, LegalRetentionRule
from datavern.register.schema import (
    DsrSettings,
    Register,
    RetentionAggregate,
    RetentionRule,
    text_for,
)
from datavern.retention import rules
from datavern.retention.rules import (
    OSLO,
    RuleSpec,
)

AUDIT_RUN = "retention_run:{}"
AUDIT_HOLD = "retention_hold:{}"
LEASE = timedelta(minutes=5)
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 100_000
MAX_REASON = 2000
LOCK_RETRIES = 3
PARALLEL_SETTING = "DATAVERN_RETENTION_PARALLEL"
DEFAULT_PARALLEL = 2
MAX_PARALLEL = 8
NO_RULES = (
    "the register has no retention_rules; add rules for your collections "
    "(see docs/retention.md) and apply the register"
)


class RetentionError(DatavernError):
    """A sweep could not do its work; the message names the rule, table and field."""


class RunBusy(DatavernError):
    """Another process is running the sweep right now."""


class SimulatedCrash(BaseException):
    """Raised by a test's fault hook to stop a run as a killed process would."""


def report_key() -> bytes:
    """The key signing run reports: derived from Datavern's secret key (the data folder's
    ``secret.key`` or DATAVERN_SECRET_KEY)."""
    secret = get_settings().effective_secret_key().encode("utf-8")
    return hmac.new(secret, b"datavern retention report v1", hashlib.sha256).digest()


def today_oslo(now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(OSLO).date()


# --------------------------------------------------------------------------- #
# Rules from the register
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RuleEntry:
    """A register retention rule, resolved and ready to sweep."""

    spec: RuleSpec
    source: RetentionRule
    legal_basis: str | None
    aggregate: RetentionAggregate | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.spec.key,
            "collection": self.spec.collection_key,
            "trigger": self.spec.trigger_field,
            "counts_from": self.spec.counts_from,
            "period": str(self.spec.period),
            "rule": self.spec.builtin,
            "action": self.spec.action,
            "anonymise_fields": list(self.spec.anonymise_fields),
            "aggregate": self.aggregate.model_dump() if self.aggregate else None,
            "legal_basis": self.legal_basis,
            "describe": self.spec.describe(),
        }


def _first_text(value: Mapping[str, str] | None, languages: Sequence[str]) -> str | None:
    if not value:
        return None
    for lang in languages:
        text = text_for(dict(value), lang, list(languages))
        if text:
            return text
    return next(iter(value.values()), None)


def resolve_rules(register: Register) -> list[RuleEntry]:
    """The register's retention rules with built-in legal rules' periods filled in."""
    year_end = rules.parse_month_day(register.organisation.financial_year_end)
    languages = list(register.organisation.languages)
    entries: list[RuleEntry] = []
    for rule in register.retention_rules:
        dataset, _, collection = rule.collection.partition(".")
        builtin: LegalRetentionRule | None = None
        if rule.rule is not None:
            builtin = BUILTIN_RETENTION_RULES[rule.rule]
            period = rules.parse_period(builtin.period)
        else:
            assert rule.period is not None  # the schema requires one of the two
            period = rules.parse_period(rule.period)
        counts_from: rules.CountsFrom = (
            "end_of_financial_year" if rule.trigger.financial_year_end_of else "date"
        )
        legal = _first_text(rule.legal_basis, languages) or (
            builtin.legal_source if builtin else None
        )
        spec = RuleSpec(
            key=rule.key,
            dataset=dataset,
            collection=collection,
            trigger_field=rule.trigger.date_field,
            counts_from=counts_from,
            period=period,
            action=rule.action.value,
            financial_year_end=year_end,
            anonymise_fields=tuple(rule.anonymise_fields),
            legal_source=builtin.legal_source if builtin else None,
            builtin=rule.rule,
        )
        entries.append(RuleEntry(spec, rule, legal, rule.aggregate))
    return entries


def builtin_rules() -> list[dict[str, Any]]:
    """The legal rules Datavern knows, usable as ``rule:`` in a retention rule."""
    return [
        {
            "rule": r.name,
            "period": r.period,
            "counts_from": r.trigger,
            "legal_source": r.legal_source,
            "description": r.description,
        }
        for r in BUILTIN_RETENTION_RULES.values()
    ]


def applied_register(session: Session) -> tuple[int, Register]:
    from datavern.dsr.service import applied_register as newest

    return newest(session)


def _register_version(session: Session, number: int) -> Register:
    from datavern.dsr.execute import register_for

    return register_for(session, number)


def _connection_and_table(register: Register, dataset: str, collection: str) -> tuple[str, str]:
    from datavern.dsr.execute import connection_name, table_name

    settings = register.dsr or DsrSettings()
    return connection_name(settings, dataset), table_name(register, dataset, collection)


class _Connectors:
    """Connectors opened once per plan or run, from the stored connections."""

    def __init__(self) -> None:
        self._open: dict[str, SQLConnector] = {}

    def __call__(self, name: str) -> SQLConnector:
        connector = self._open.get(name)
        if connector is None:
            from datavern.connectors.service import open_connector

            with session_scope() as session:
                connector = open_connector(session, name)
            self._open[name] = connector
        return connector
