"""Material or editorial: the structural diff of two applied registers.

``diff_registers(before, after)`` compares two ``Register.model_dump(mode="json")``
dumps and returns one ``Change`` per difference. Items of keyed lists (systems,
activities, sub-processors, consent purposes, cookies, datasets) are matched by
their key, so reordering the YAML is no change at all.

A change is *material* when the people the notice speaks to would judge the
processing differently and must be told before it takes effect (art. 13(3),
art. 12(1); the EDPB transparency guidelines WP260 rev.01 § 29-32 name a new
purpose, a new recipient, a new transfer, more data and longer storage). Where
consent is the basis, a material change needs fresh consent (art. 7, 4(11)).

Decisions where the rule is not obvious (documented here, tested in
tests/unit/test_notice_rules.py):

- Removing something (a purpose, a recipient, a category) is editorial: less
  processing needs no warning.
- Any change of an activity's legal basis is material (the rights that apply
  change with it, art. 17(1)(b)-(c), 20, 21), and so is switching to consent.
  Stating a basis where none was stated is editorial unless it is consent.
- Retention is compared by length: ISO 8601 periods in days (a year is 365.2425
  days, a month 30.436875), named legal rules by their period, ``indefinite`` as
  infinite. Longer is material; so is a length that can no longer be compared
  (an unknown rule, retention no longer stated) and a new trigger event, since
  counting from another event may keep data longer. Stating a period where none
  was stated is editorial.
- New data subjects are editorial: the people already told are not affected,
  and the new group gets the notice when its data is collected (art. 13(1)).
- Rewording a Localized text is editorial, except a consent text: consent given
  to the old text does not cover a new one (DESIGN: re-consent when a text changes).
  A consent text whose words stay the same (only punctuation, spacing or capitals
  changed, in every language) is editorial. It is still a new text version, which
  the banner shows and asks about again.
- Datasets are the internal technical description of where data lives; their
  changes are editorial. New categories reach the notice through activities
  and sub-processors, which are compared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from datavern.register.rules import BUILTIN_RETENTION_RULES, EEA

Kind = Literal["added", "removed", "changed"]

# Strength of a chapter V transfer basis: lower is stronger. Art. 45 adequacy (the
# EU-US Data Privacy Framework is one, for certified recipients) beats art. 46
# safeguards (SCC 2021/914, BCR), which beat the art. 49 derogations; bases that
# are no longer valid (Schrems I/II, the repealed SCC decisions) rank last.
TRANSFER_RANK: dict[str, int] = {
    "eea": 0,
    "adequacy": 1,
    "dpf": 1,
    "scc_2021": 2,
    "bcr": 2,
    "art49": 3,
    "privacy_shield": 4,
    "safe_harbor": 4,
    "scc_2001": 4,
    "scc_2004": 4,
    "scc_2010": 4,
    "none": 4,
}

_DURATION = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


# The register's EEA list, under the name the notice and web code use.
EEA_COUNTRIES = EEA

# English citations of the built-in Norwegian rules (the register holds the Norwegian one).
_ENGLISH_CITATIONS = {
    "bokforingsloven-13-1-1-4": "Norwegian Bookkeeping Act § 13 (1) no. 1-4",
    "bokforingsloven-13-1-5-8": "Norwegian Bookkeeping Act § 13 (1) no. 5-8",
}


@dataclass(frozen=True)
class LegalRetentionRule:
    """A retention period set by law, as the notice presents it (nb/en)."""

    key: str
    period: str
    trigger: str
    citation: dict[str, str]
    explanation: dict[str, str]


# The built-in rules of `register.rules`, with citations and explanations per language.
LEGAL_RETENTION_RULES: dict[str, LegalRetentionRule] = {
    key: LegalRetentionRule(
        key=key,
        period=rule.period,
        trigger=rule.trigger,
        citation={"nb": rule.legal_source, "en": _ENGLISH_CITATIONS.get(key, rule.legal_source)},
        explanation=dict(rule.description),
    )
    for key, rule in BUILTIN_RETENTION_RULES.items()
}


@dataclass(frozen=True)
class Change:
    """One difference between two registers, classified for the notice."""

    path: str
    kind: Kind
    before: Any
    after: Any
    material: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "material": self.material,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            path=str(data["path"]),
            kind=data["kind"],
            before=data.get("before"),
            after=data.get("after"),
            material=bool(data["material"]),
            reason=str(data.get("reason", "")),
        )


# --- durations -------------------------------------------------------------------


def duration_days(value: str) -> float | None:
    """Approximate length of an ISO 8601 calendar duration in days; None if not one."""
    if value == "session":
        return 0.0
    match = _DURATION.match(value)
    if not match:
        return None
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    return years * DAYS_PER_YEAR + months * DAYS_PER_MONTH + weeks * 7 + days


def duration_parts(value: str) -> tuple[int, int, int, int] | None:
    """(years, months, weeks, days) of an ISO 8601 calendar duration."""
    match = _DURATION.match(value)
    if not match:
        return None
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    return years, months, weeks, days


def retention_days(retention: Mapping[str, Any] | None) -> float | None:
    """How long a retention keeps data, in days; inf when indefinite; None when unknown."""
    if not retention:
        return None
    if retention.get("indefinite"):
        return math.inf
    period = retention.get("period")
    if isinstance(period, str):
        return duration_days(period)
    rule = retention.get("rule")
    if isinstance(rule, str) and rule in LEGAL_RETENTION_RULES:
        return duration_days(LEGAL_RETENTION_RULES[rule].period)
    return None


def retention_trigger(retention: Mapping[str, Any] | None) -> str | None:
    if not retention:
        return None
    trigger = retention.get("trigger")
    if isinstance(trigger, str):
        return trigger
    rule = retention.get("rule")
    if isinstance(rule, str) and rule in LEGAL_RETENTION_RULES:
        return LEGAL_RETENTION_RULES[rule].trigger
    return None


def is_eea(country: str | None) -> bool:
    return country is not None and country.upper() in EEA


# --- the walk --------------------------------------------------------------------

# Lists whose items are matched by a key field, by the name of the list.
_KEY_FIELDS: dict[str, str] = {
    "systems": "key",
    "processing": "key",
    "sub_processors": "key",
    "consent_purposes": "key",
    "cookies": "name",
    "dataset": "fides_key",
    "collections": "name",
    "fields": "name",
}

# Objects compared as a whole: one change instead of one per field.
_ATOMIC = frozenset(
    {
        "systems[].processing[].retention",
        "systems[].processing[].automated_decisions",
        "sub_processors[].transfer",
    }
)


@dataclass
class _Context:
    """The nearest enclosing keyed items (before, after), for classification."""

    items: dict[str, tuple[Any, Any]]


def _is_localized(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(k in ("_", "nb", "en") and isinstance(v, str) for k, v in value.items())
    )


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _keyed(items: list[Any], field: str) -> dict[str, Any] | None:
    """Items by key, or None when the list cannot be matched by that key."""
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(field), str):
            return None
        if item[field] in out:
            return None
        out[item[field]] = item
    return out


class _Differ:
    def __init__(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        self.root_before = before
        self.root_after = after
        self.changes: list[Change] = []

    def emit(
        self,
        path: str,
        abstract: str,
        kind: Kind,
        before: Any,
        after: Any,
        ctx: _Context,
    ) -> None:
        material, reason = _classify(abstract, kind, before, after, ctx)
        self.changes.append(Change(path, kind, before, after, material, reason))

    def walk(self, before: Any, after: Any, path: str, abstract: str, ctx: _Context) -> None:
        if before == after:
            return
        if _empty(before) and not _empty(after):
            if isinstance(after, list):
                self._walk_list([], after, path, abstract, ctx)
            else:
                self.emit(path, abstract, "added", None, after, ctx)
            return
        if _empty(after) and not _empty(before):
            if isinstance(before, list):
                self._walk_list(before, [], path, abstract, ctx)
            else:
                self.emit(path, abstract, "removed", before, None, ctx)
            return
        if (
            isinstance(before, dict)
            and isinstance(after, dict)
            and abstract not in _ATOMIC
            and not _is_localized(before)
            and not _is_localized(after)
        ):
            for key in list(before) + [k for k in after if k not in before]:
                self.walk(
                    before.get(key),
                    after.get(key),
                    f"{path}.{key}" if path else key,
                    f"{abstract}.{key}" if abstract else key,
                    ctx,
                )
            return
        if isinstance(before, list) and isinstance(after, list):
            self._walk_list(before, after, path, abstract, ctx)
            return
        self.emit(path, abstract, "changed", before, after, ctx)

    def _walk_list(
        self, before: list[Any], after: list[Any], path: str, abstract: str, ctx: _Context
    ) -> None:
        name = abstract.rsplit(".", 1)[-1]
        field = _KEY_FIELDS.get(name)
        items = before + after
        if all(not isinstance(i, dict | list) for i in items):
            # A set of scalars (categories, subjects, recipients, locations, languages).
            for value in before:
                if value not in after:
                    self.emit(path, abstract, "removed", value, None, ctx)
            for value in after:
                if value not in before:
                    self.emit(path, abstract, "added", None, value, ctx)
            return
        old = _keyed(before, field) if field else None
        new = _keyed(after, field) if field else None
        if old is None or new is None:
            self.emit(path, abstract, "changed", before, after, ctx)
            return
        for key, item in old.items():
            item_path = f"{path}[{key}]"
            sub = _Context({**ctx.items, name: (item, new.get(key))})
            if key not in new:
                self.emit(item_path, f"{abstract}[]", "removed", item, None, sub)
            else:
                self.walk(item, new[key], item_path, f"{abstract}[]", sub)
        for key, item in new.items():
            if key not in old:
                sub = _Context({**ctx.items, name: (None, item)})
                self.emit(f"{path}[{key}]", f"{abstract}[]", "added", None, item, sub)


def diff_registers(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Every difference from ``before`` to ``after``, each marked material or editorial."""
    differ = _Differ(before, after)
    differ.walk(dict(before), dict(after), "", "", _Context({}))
    return differ.changes


def summarize(changes: list[Change]) -> tuple[int, int]:
    """(material, editorial) counts."""
    material = sum(1 for c in changes if c.material)
    return material, len(changes) - material


# --- classification --------------------------------------------------------------


def _text(value: Any) -> str:
    """A short label from a Localized text or a plain value, for reasons."""
    if isinstance(value, dict):
        for lang in ("en", "_", "nb"):
            if isinstance(value.get(lang), str):
                return str(value[lang])
    return str(value)


def _activity_label(ctx: _Context) -> str:
    before, after = ctx.items.get("processing", (None, None))
    item = after or before
    if isinstance(item, dict):
        return f"'{_text(item.get('purpose', item.get('key')))}'"
    return "an activity"


def _processor(ctx: _Context) -> tuple[Any, Any]:
    return ctx.items.get("sub_processors", (None, None))


def _processor_label(ctx: _Context) -> str:
    before, after = _processor(ctx)
    item = after or before
    return f"'{item.get('name')}'" if isinstance(item, dict) else "a recipient"


def _processor_countries(item: Any) -> set[str]:
    if not isinstance(item, dict):
        return set()
    countries = {str(c) for c in item.get("locations") or []}
    if isinstance(item.get("country"), str):
        countries.add(item["country"])
    return countries


def _outside_eea(countries: set[str]) -> list[str]:
    return sorted(c for c in countries if not is_eea(c))


def _transfer_rank(transfer: Any, processor: Any) -> int:
    if isinstance(transfer, dict) and isinstance(transfer.get("basis"), str):
        return TRANSFER_RANK.get(transfer["basis"], 4)
    # No transfer stated: nothing weaker than that unless all data stays in the EEA.
    return 0 if not _outside_eea(_processor_countries(processor)) else 4


_Result = tuple[bool, str]


def _classify(abstract: str, kind: Kind, before: Any, after: Any, ctx: _Context) -> _Result:
    top = abstract.split(".", 1)[0].split("[", 1)[0]
    if top == "systems":
        return _classify_system(abstract, kind, before, after, ctx)
    if top == "sub_processors":
        return _classify_processor(abstract, kind, before, after, ctx)
    if top == "consent_purposes":
        return _classify_consent(abstract, kind, before, after)
    if top == "cookies":
        return _classify_cookie(abstract, kind, before, after, ctx)
    if top == "organisation":
        if abstract == "organisation.org_nr" and kind == "changed":
            return True, "the controller is another legal entity (new organisation number)"
        return False, "controller details or contacts"
    if top == "dataset":
        return False, "internal dataset description (the notice shows activities and recipients)"
    return False, "detail without effect on the processing"


def _classify_system(abstract: str, kind: Kind, before: Any, after: Any, ctx: _Context) -> _Result:
    if abstract == "systems[]":
        if kind == "added":
            purposes = [_text(a.get("purpose")) for a in (after or {}).get("processing") or []]
            if purposes:
                return True, "new system with new purposes: " + "; ".join(purposes)
            return False, "new system without processing activities"
        return False, "system removed: less processing"
    if abstract == "systems[].processing[]":
        if kind == "added":
            return True, f"new purpose {_activity_label(ctx)}"
        return False, f"purpose {_activity_label(ctx)} no longer pursued: less processing"
    prefix = "systems[].processing[]."
    if not abstract.startswith(prefix):
        return False, "system description"
    field = abstract[len(prefix) :]
    label = _activity_label(ctx)
    if field == "data_categories":
        if kind == "added":
            return True, f"new data category {after} for {label}"
        return False, f"data category {before} no longer processed for {label}"
    if field == "data_subjects":
        if kind == "added":
            return False, (
                f"new group of data subjects {after} for {label}: they are told when their "
                "data is collected; people already informed are not affected"
            )
        return False, f"group {before} no longer concerned by {label}"
    if field == "recipients":
        if kind == "added":
            return True, f"new recipient {after} for {label}"
        return False, f"recipient {before} no longer gets data for {label}"
    if field == "data_use":
        return True, f"purpose of {label} changed ({before} -> {after})"
    if field == "purpose":
        return False, f"purpose of {label} reworded"
    if field == "legal_basis":
        if after == "consent":
            return True, f"{label} now rests on consent: fresh consent must be asked for"
        if before is None:
            return False, f"legal basis for {label} now stated ({after})"
        if after is None:
            return True, f"legal basis for {label} no longer stated"
        return True, (
            f"legal basis for {label} changed ({before} -> {after}); the rights that apply change"
        )
    if field == "consent_purpose":
        if kind == "removed":
            return False, f"{label} no longer linked to a consent purpose"
        return True, f"{label} now rests on another consent ({after}): fresh consent needed"
    if field == "special_category_basis":
        if kind == "removed":
            return False, f"art. 9 basis for {label} no longer stated"
        return True, f"special categories (art. 9) processed for {label} on basis {after}"
    if field == "automated_decisions":
        if kind == "added":
            return True, f"new automated decision-making (art. 22) in {label}"
        if kind == "removed":
            return False, f"automated decision-making in {label} stopped"
        return False, f"description of automated decisions in {label} reworded"
    if field == "source":
        if kind == "added":
            return True, f"data for {label} now also obtained from another source (art. 14)"
        return False, f"source of the data for {label} reworded or removed"
    if field == "retention":
        return _classify_retention(before, after, label)
    return False, f"{field.replace('_', ' ')} of {label} reworded or completed"


def _classify_retention(before: Any, after: Any, label: str) -> _Result:
    old, new = retention_days(before), retention_days(after)
    if new is None:
        if after is None:
            return True, f"retention for {label} no longer stated"
        return True, f"retention for {label} cannot be compared (unknown rule)"
    if old is None:
        return False, f"retention for {label} now stated"
    if new > old:
        return True, f"data for {label} kept longer"
    old_trigger, new_trigger = retention_trigger(before), retention_trigger(after)
    if old_trigger is not None and new_trigger != old_trigger:
        # Counting from another event may keep data longer even with a shorter period.
        return True, (
            f"retention for {label} now counted from {new_trigger or 'an unstated event'} "
            f"instead of {old_trigger or 'an unstated event'}: may keep data longer"
        )
    if new < old:
        return False, f"data for {label} kept for a shorter time"
    return False, f"retention for {label} reworded (same length)"


def _classify_processor(
    abstract: str, kind: Kind, before: Any, after: Any, ctx: _Context
) -> _Result:
    label = _processor_label(ctx)
    old_item, new_item = _processor(ctx)
    if abstract == "sub_processors[]":
        if kind == "added":
            outside = _outside_eea(_processor_countries(after))
            where = f", data outside the EEA ({', '.join(outside)})" if outside else ""
            return True, f"new recipient {label}{where}"
        return False, f"recipient {label} removed: less sharing"
    field = abstract[len("sub_processors[].") :]
    if field == "data_categories":
        if kind == "added":
            return True, f"recipient {label} now gets {after}"
        return False, f"recipient {label} no longer gets {before}"
    if field in ("country", "locations"):
        if kind == "removed":
            return False, f"processing location of {label} removed"
        new_places = _outside_eea(_processor_countries(new_item) - _processor_countries(old_item))
        if new_places:
            return True, f"{label} now processes data outside the EEA ({', '.join(new_places)})"
        return False, f"processing location of {label} changed within the EEA or known places"
    if field == "transfer":
        old_rank = _transfer_rank(before, old_item)
        new_rank = _transfer_rank(after, new_item)
        old_basis = before.get("basis") if isinstance(before, dict) else None
        new_basis = after.get("basis") if isinstance(after, dict) else None
        if new_rank > old_rank:
            if old_basis is None:
                return True, f"new transfer outside the EEA to {label} ({new_basis or 'no basis'})"
            return True, (
                f"transfer to {label} on a weaker basis ({old_basis} -> {new_basis or 'none'})"
            )
        if (
            new_basis == "dpf"
            and isinstance(before, dict)
            and isinstance(after, dict)
            and before.get("dpf_certified") is True
            and after.get("dpf_certified") is not True
        ):
            return True, f"{label} is no longer marked certified under the Data Privacy Framework"
        if new_rank < old_rank:
            return False, f"transfer to {label} on a stronger basis ({old_basis} -> {new_basis})"
        return False, f"transfer details for {label} (same strength)"
    if field == "role":
        return True, f"{label} changes role ({before} -> {after}): it decides about the data itself"
    return False, f"{field.replace('_', ' ')} of {label}"


def _words(text: Any) -> Any:
    """A text (or each language of a Localized text) as its words only: lower case,
    without punctuation and spacing. Equal words mean the same consent."""
    if isinstance(text, Mapping):
        return {lang: _words(value) for lang, value in text.items()}
    return re.findall(r"\w+", str(text or "").casefold())


def _classify_consent(abstract: str, kind: Kind, before: Any, after: Any) -> _Result:
    if abstract == "consent_purposes[]":
        if kind == "added":
            return False, "new consent purpose: asked for separately, nothing happens without it"
        return False, "consent purpose removed"
    field = abstract[len("consent_purposes[].") :]
    if field == "text":
        if _words(before) == _words(after):
            return False, "consent text: punctuation, spacing or capitals only, same words"
        return True, "consent text changed: consents given to the old text do not cover it"
    if field == "data_use":
        return True, f"consent used for another purpose ({before} -> {after})"
    return False, f"consent purpose {field.replace('_', ' ')}"


def _classify_cookie(abstract: str, kind: Kind, before: Any, after: Any, ctx: _Context) -> _Result:
    old_item, new_item = ctx.items.get("cookies", (None, None))
    item = new_item or old_item
    name = f"'{item.get('name')}'" if isinstance(item, dict) else "a cookie"
    if abstract == "cookies[]":
        if kind == "removed":
            return False, f"cookie {name} removed"
        if after.get("category") != "necessary" or after.get("third_party"):
            return True, f"new {after.get('category')} cookie {name} from {after.get('provider')}"
        return False, f"new strictly necessary first-party cookie {name}"
    field = abstract[len("cookies[].") :]
    if field == "duration":
        old, new = duration_days(str(before)), duration_days(str(after))
        if old is not None and new is not None and new <= old:
            return False, f"cookie {name} kept for a shorter or equal time"
        return True, f"cookie {name} kept longer ({before} -> {after})"
    if field == "category":
        if after != "necessary":
            return True, f"cookie {name} now used for {after}"
        return False, f"cookie {name} now strictly necessary"
    if field == "third_party":
        if after:
            return True, f"cookie {name} now set by a third party"
        return False, f"cookie {name} now first-party"
    if field == "provider" and isinstance(new_item, dict) and new_item.get("third_party"):
        return True, f"cookie {name} now from another provider ({before} -> {after})"
    return False, f"cookie {name} {field.replace('_', ' ')}"
