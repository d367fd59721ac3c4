"""The registry: every rule (``RULES``) and every check ``lint`` runs (``CHECKS``).

Each family module (transfers, recipients, ...) declares its rules with ``rule(...)``
and its checks with ``@check``; the package imports the families in order, so the
registry holds all of them before ``lint`` is first called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from datavern.register.rules.findings import Finding, Path, Rule, Severity
from datavern.register.schema import Activity, Register

RULES: dict[str, Rule] = {}


def rule(
    rule_id: str, slug: str, severity: Severity, legal_source: str, title: str, fix: str
) -> Rule:
    """Declare a rule; an id or slug given twice is a programming error."""
    if rule_id in RULES or any(r.slug == slug for r in RULES.values()):
        raise ValueError(f"duplicate lint rule {rule_id} {slug}")
    declared = Rule(rule_id, slug, severity, legal_source, title, fix)
    RULES[rule_id] = declared
    return declared


ERROR, WARNING, INFO = Severity.error, Severity.warning, Severity.info

# DV000 is not produced by `lint`: the loader reports it. It is listed here so the
# output formats (SARIF rules, JSON) and the documentation treat it like any rule.
REGISTER_INVALID = rule(
    "DV000",
    "register-invalid",
    ERROR,
    "GDPR art. 5(2) and 30(1)",
    "The register cannot be read: YAML or schema error.",
    "Correct the file at the position given; every problem is listed at once.",
)


@dataclass
class Context:
    register: Register
    today: date
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: Rule, message: str, path: Path, fix: str | None = None) -> None:
        self.findings.append(Finding(rule, message, path, fix or rule.fix))

    def activities(self) -> Iterator[tuple[Path, str, Activity]]:
        for i, system in enumerate(self.register.systems):
            for j, activity in enumerate(system.processing):
                yield ("systems", i, "processing", j), system.key, activity

    def unnamed(self, rule: Rule, flag: str, what: str) -> None:
        """Report an ``organisation`` flag that records ``what`` without naming it."""
        organisation = self.register.organisation
        if getattr(organisation, flag):
            self.add(
                rule,
                f"organisation {organisation.name!r} records {what} (`{flag}`)",
                ("organisation", flag),
            )


Check = Callable[[Context], None]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def lint(register: Register, *, today: date) -> list[Finding]:
    """Every finding for ``register``, sorted by severity, rule id and path.

    ``today`` is passed in (the runner takes it from the one clock) so the rules
    stay pure: it dates the check of a DPA signed in the future.
    """
    ctx = Context(register, today)
    for check in CHECKS:
        check(ctx)
    return sorted(ctx.findings, key=Finding.sort_key)


def join(items: Sequence[str]) -> str:
    return ", ".join(items)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
