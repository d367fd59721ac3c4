"""DV6xx: retention (storage limitation)."""

from __future__ import annotations

from datavern.register.rules.legal import BUILTIN_RETENTION_RULES
from datavern.register.rules.registry import ERROR, WARNING, Context, check, rule

RETENTION_MISSING = rule(
    "DV601",
    "retention-missing",
    ERROR,
    "GDPR art. 5(1)(e), 13(2)(a) and 30(1)(f)",
    "An activity does not say how long data is kept.",
    "Add `retention:` with a named rule or a period and trigger.",
)
RETENTION_INDEFINITE = rule(
    "DV602",
    "retention-indefinite",
    ERROR,
    "GDPR art. 5(1)(e)",
    "Data is kept indefinitely.",
    "Decide when the data is no longer needed and set `period` and `trigger`; "
    "keep longer only what a law requires (a named rule).",
)
RETENTION_PERIOD_MISSING = rule(
    "DV603",
    "retention-period-missing",
    ERROR,
    "GDPR art. 13(2)(a) and 5(1)(e)",
    "A retention entry has neither a named rule nor a period.",
    "Set `rule` to a built-in legal rule, or `period` (ISO 8601, e.g. P3Y) with `trigger`.",
)
RETENTION_RULE_UNKNOWN = rule(
    "DV604",
    "retention-rule-unknown",
    ERROR,
    "GDPR art. 13(2)(a)",
    "A retention rule name Datavern does not know.",
    "Use a built-in rule (see docs/lint-rules.md#dv604) or give `period` and `trigger`.",
)
RETENTION_TRIGGER_MISSING = rule(
    "DV605",
    "retention-trigger-missing",
    WARNING,
    "GDPR art. 13(2)(a)",
    "A retention period without a trigger: it is unclear when the period starts.",
    "Set `trigger` to the event that starts the period, e.g. contract_end or last_login.",
)
RETENTION_RULE_AND_PERIOD = rule(
    "DV606",
    "retention-rule-and-period",
    WARNING,
    "GDPR art. 13(2)(a) and 5(1)(e)",
    "Both a named rule and a period are given; the notice cannot say which applies.",
    "Keep one: the named legal rule, or the period with its trigger.",
)


_BUILTIN_NAMES = ", ".join(sorted(BUILTIN_RETENTION_RULES))


@check
def _retention(ctx: Context) -> None:
    for here, system_key, activity in ctx.activities():
        name = f"activity {activity.key!r} (system {system_key!r})"
        retention = activity.retention
        at = (*here, "retention")
        if retention is None:
            ctx.add(RETENTION_MISSING, f"{name} has no `retention`", at)
            continue
        if retention.indefinite:
            ctx.add(RETENTION_INDEFINITE, f"{name} keeps data indefinitely", (*at, "indefinite"))
            continue
        if retention.rule is None and retention.period is None:
            ctx.add(RETENTION_PERIOD_MISSING, f"{name}: `retention` has no `rule` or `period`", at)
            continue
        if retention.rule is not None and retention.rule not in BUILTIN_RETENTION_RULES:
            ctx.add(
                RETENTION_RULE_UNKNOWN,
                f"{name}: retention rule {retention.rule!r} is not a built-in rule "
                f"(known: {_BUILTIN_NAMES})",
                (*at, "rule"),
            )
        if retention.rule is not None and retention.period is not None:
            ctx.add(
                RETENTION_RULE_AND_PERIOD,
                f"{name}: `retention` has both rule {retention.rule!r} and period "
                f"{retention.period!r}",
                (*at, "period"),
            )
        elif retention.period is not None and not retention.trigger:
            ctx.add(
                RETENTION_TRIGGER_MISSING,
                f"{name}: retention period {retention.period!r} has no `trigger`",
                (*at, "trigger"),
            )
