"""DV2xx: recipients and processors."""

from __future__ import annotations

from datavern.register.rules.legal import covered
from datavern.register.rules.registry import ERROR, INFO, WARNING, Context, check, join, rule
from datavern.register.schema import Activity

DPA_MISSING = rule(
    "DV201",
    "dpa-missing",
    ERROR,
    "GDPR art. 28(3)",
    "A processor without a signed data processing agreement.",
    "Sign a data processing agreement (databehandleravtale) and record the date in `dpa_signed`.",
)
DPA_DATE_FUTURE = rule(
    "DV202",
    "dpa-date-future",
    ERROR,
    "GDPR art. 28(3) and 28(9)",
    "The data processing agreement is dated in the future.",
    "Record the date the agreement was actually signed; a processor may not start before it.",
)
RECIPIENT_UNKNOWN = rule(
    "DV203",
    "recipient-unknown",
    ERROR,
    "GDPR art. 13(1)(e) and 30(1)(d)",
    "An activity names a recipient that is not in `sub_processors`.",
    "Add the recipient to `sub_processors` or correct the key.",
)
PROCESSOR_CATEGORIES_MISSING = rule(
    "DV204",
    "processor-data-categories-missing",
    WARNING,
    "GDPR art. 28(3) and 30(1)(d)",
    "A processor that receives data has no `data_categories`.",
    "List the fideslang data categories the processor receives.",
)
PROCESSOR_CATEGORIES_UNDECLARED = rule(
    "DV205",
    "processor-categories-undeclared",
    WARNING,
    "GDPR art. 28(3)(a) and 30(1)(c)",
    "A processor receives a data category that no activity naming it processes.",
    "Add the category to the activity that sends it, name the processor in that activity's "
    "`recipients`, or remove the category from the processor.",
)
RECIPIENT_UNUSED = rule(
    "DV206",
    "recipient-unused",
    INFO,
    "GDPR art. 13(1)(e) and 30(1)(d)",
    "A recipient is not named by any activity.",
    "Name it in the `recipients` of the activities that send it data, or remove it.",
)
JOINT_CONTROLLER = rule(
    "DV207",
    "joint-controller-arrangement",
    INFO,
    "GDPR art. 26(1)-(2)",
    "A joint controller: the essence of the arrangement must be available to data subjects.",
    "Make sure the art. 26 arrangement exists and its essence is described in the notice.",
)
RECIPIENTS_UNNAMED = rule(
    "DV208",
    "recipients-unnamed",
    ERROR,
    "GDPR art. 13(1)(e), 14(1)(e), 15(1)(c), 28(3) and 30(1)(d); CJEU C-154/21 "
    "Österreichische Post",
    "Data goes to recipients the register does not name.",
    "Add every recipient under `sub_processors` (name, country, service, data, agreement), "
    "then remove `organisation.unnamed_recipients`.",
)


def _named_by(ctx: Context) -> dict[str, list[Activity]]:
    named: dict[str, list[Activity]] = {}
    for _, _, activity in ctx.activities():
        for key in activity.recipients:
            named.setdefault(key, []).append(activity)
    return named


@check
def _recipients(ctx: Context) -> None:
    ctx.unnamed(RECIPIENTS_UNNAMED, "unnamed_recipients", "recipients it does not name")
    known = {p.key for p in ctx.register.sub_processors}
    for here, _, activity in ctx.activities():
        for k, key in enumerate(activity.recipients):
            if key not in known:
                ctx.add(
                    RECIPIENT_UNKNOWN,
                    f"activity {activity.key!r} names recipient {key!r}, which is not in "
                    "`sub_processors`",
                    (*here, "recipients", k),
                )
    named = _named_by(ctx)
    for i, proc in enumerate(ctx.register.sub_processors):
        here = ("sub_processors", i)
        if proc.role == "processor":
            if proc.dpa_signed is None:
                ctx.add(
                    DPA_MISSING,
                    f"processor {proc.key!r} ({proc.name}) has no `dpa_signed` date",
                    (*here, "dpa_signed"),
                )
            elif proc.dpa_signed > ctx.today:
                ctx.add(
                    DPA_DATE_FUTURE,
                    f"processor {proc.key!r} ({proc.name}): `dpa_signed` "
                    f"{proc.dpa_signed.isoformat()} is after today ({ctx.today.isoformat()})",
                    (*here, "dpa_signed"),
                )
        elif proc.role == "joint_controller":
            ctx.add(
                JOINT_CONTROLLER,
                f"{proc.key!r} ({proc.name}) is a joint controller",
                (*here, "role"),
            )
        activities = named.get(proc.key, [])
        if not activities:
            ctx.add(
                RECIPIENT_UNUSED,
                f"{proc.key!r} ({proc.name}) is not in the `recipients` of any activity",
                here,
            )
            continue
        if proc.role != "processor":
            continue
        if not proc.data_categories:
            ctx.add(
                PROCESSOR_CATEGORIES_MISSING,
                f"processor {proc.key!r} ({proc.name}) receives data from "
                f"{join([a.key for a in activities])} but lists no `data_categories`",
                (*here, "data_categories"),
            )
            continue
        declared = [c for a in activities for c in a.data_categories]
        for k, category in enumerate(proc.data_categories):
            if not covered(category, declared):
                ctx.add(
                    PROCESSOR_CATEGORIES_UNDECLARED,
                    f"processor {proc.key!r} ({proc.name}) receives {category!r}, which no "
                    f"activity naming it ({join([a.key for a in activities])}) declares",
                    (*here, "data_categories", k),
                )
