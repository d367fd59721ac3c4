"""The notification to Datatilsynet as a draft: the fields of its breach form, as text and PDF.

Datatilsynet receives breach notifications through a form in Altinn ("Melde
avvik"). Its guidance lists what the form asks for: a description of the breach
(main cause, period, when it was discovered, the number of people affected,
what happened and how, the types of personal data, the relationship to those
affected, where the data is now), the likely consequences, the measures taken
and planned, whether and how those affected were told, and the contact person
or data protection officer. These are also the items of GDPR art. 33(3). The
draft holds them in that order, so the privacy owner can copy each into the form.

A field not known yet is marked as such: art. 33(4) allows the information to
be given in phases, and a staged update (a later version) fills it in. No field
holds a person's name or address; a breach is described by categories and counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from datavern.breaches.rules import (
    ClockStatus,
    Count,
    format_countdown,
)
from datavern.core.clock import OSLO
from datavern.core.i18n import Lang, long_date
from datavern.notices.blocks import Block, Definitions, Heading, Inline, Paragraph, Span
from datavern.notices.vocabulary import category_name, subject_name

RISK_NAMES: dict[str, tuple[str, str]] = {
    "none": (
        "Ingen risiko: lite sannsynlig at bruddet fører til risiko for de berørte",
        "No risk: the breach is unlikely to result in a risk to the people affected",
    ),
    "risk": ("Risiko for de berørte", "A risk to the people affected"),
    "high_risk": ("Høy risiko for de berørte", "A high risk to the people affected"),
}

EXCEPTION_NAMES: dict[str, tuple[str, str]] = {
    "a": (
        "artikkel 34 nr. 3 bokstav a: opplysningene var uleselige for uvedkommende, "
        "for eksempel kryptert",
        "art. 34(3)(a): the data was unintelligible to anyone not authorised, such as by "
        "encryption",
    ),
    "b": (
        "artikkel 34 nr. 3 bokstav b: tiltak i etterkant gjør at den høye risikoen ikke "
        "lenger er sannsynlig",
        "art. 34(3)(b): later measures mean the high risk is no longer likely to materialise",
    ),
    "c": (
        "artikkel 34 nr. 3 bokstav c: å varsle hver enkelt ville kreve uforholdsmessig "
        "stor innsats; offentlig kunngjøring i stedet",
        "art. 34(3)(c): telling each person would involve disproportionate effort; a public "
        "communication instead",
    ),
}

BREACH_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "confidentiality": (
        "konfidensialitet (uvedkommende fikk eller kan ha fått tilgang)",
        "confidentiality (unauthorised disclosure or access)",
    ),
    "integrity": (
        "integritet (opplysninger ble endret uten at det var tillatt)",
        "integrity (unauthorised alteration)",
    ),
    "availability": (
        "tilgjengelighet (opplysninger gikk tapt eller var utilgjengelige)",
        "availability (loss of access or destruction)",
    ),
}

CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "email": ("e-post", "e-mail"),
    "sms": ("SMS", "SMS"),
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "nb" else pair[1]


def moment_text(moment: datetime, lang: Lang) -> str:
    """``20. november 2026 kl. 14:30`` / ``20 November 2026, 14:30 (Norwegian time)``."""
    local = moment.astimezone(OSLO)
    day = long_date(local, lang)
    if lang == "nb":
        return f"{day} kl. {local:%H:%M}"
    return f"{day}, {local:%H:%M} (Norwegian time)"


def count_text(count: Count | None, lang: Lang) -> str | None:
    if count is None:
        return None
    low = f"{count.min:,}".replace(",", "\u00a0" if lang == "nb" else ",")
    if count.max is None or count.max == count.min:
        return f"omtrent {low}" if lang == "nb" else f"about {low}"
    high = f"{count.max:,}".replace(",", "\u00a0" if lang == "nb" else ",")
    return f"mellom {low} og {high}" if lang == "nb" else f"between {low} and {high}"


@dataclass(frozen=True)
class NoticeTotals:
    """People told about the breach, per channel: (count, first sent, last sent)."""

    channel: str
    count: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class Organisation:
    name: str
    org_nr: str | None = None
    contact: str | None = None  # DPO or contact point, one line per item


@dataclass(frozen=True)
class DraftInput:
    breach_id: int
    version: int
    versions: int
    stage_number: int  # 0: the first notification; n: the n-th staged update
    facts: dict[str, object]
    risk: dict[str, object] | None
    exception: dict[str, object] | None
    notices: list[NoticeTotals]
    organisation: Organisation | None
    clock: ClockStatus
    generated_at: datetime
    late_if_sent_now: bool


@dataclass(frozen=True)
class DraftField:
    key: str
    label: str
    value: str | None  # None: not known yet


@dataclass(frozen=True)
class DraftSection:
    key: str
    title: str
    fields: list[DraftField] = field(default_factory=list)


@dataclass(frozen=True)
class Draft:
    title: str
    subtitle: str
    lang: Lang
    header: list[DraftField]
    sections: list[DraftSection]
    missing_note: str
    author: str

    def missing(self) -> list[str]:
        """Labels of the fields still unknown."""
        return [f.label for s in self.sections for f in s.fields if f.value is None]


def _s(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _moment(value: object, lang: Lang) -> str | None:
    if not value:
        return None
    return moment_text(datetime.fromisoformat(str(value)), lang)


def _count(value: object, lang: Lang) -> str | None:
    if not isinstance(value, dict):
        return None
    return count_text(Count.model_validate(value), lang)


def _list(values: object, name: Callable[[str, str], str], lang: Lang) -> str | None:
    if not isinstance(values, list) or not values:
        return None
    return "\n".join(f"{name(str(v), lang)} ({v})" for v in values)


def _plain_list(values: object) -> str | None:
    if not isinstance(values, list) or not values:
        return None
    return ", ".join(str(v) for v in values)


def _period(facts: dict[str, object], lang: Lang) -> str | None:
    start, end = _moment(facts.get("started_at"), lang), _moment(facts.get("ended_at"), lang)
    if start is None and end is None:
        return None
    if lang == "nb":
        first = f"Fra {start}" if start else "Starttidspunktet er ikke kjent ennå"
        last = f"til {end}" if end else "og er ikke avsluttet (eller sluttidspunktet er ukjent)"
    else:
        first = f"From {start}" if start else "The start is not known yet"
        last = f"to {end}" if end else "and has not ended (or the end is unknown)"
    return f"{first} {last}."


def _discovery(facts: dict[str, object], lang: Lang) -> str:
    aware = _moment(facts.get("aware_at"), lang)
    discovered = _moment(facts.get("discovered_at"), lang) or aware
    who = _s(facts.get("discovered_by"))
    how = _s(facts.get("how_discovered"))
    if lang == "nb":
        lines = [f"Oppdaget {discovered} av {who}."]
        if facts.get("discovered_at") and facts.get("discovered_at") != facts.get("aware_at"):
            lines.append(
                f"Vi ble klar over at det var et brudd på personopplysningssikkerheten {aware}."
            )
        else:
            lines.append("Vi ble klar over bruddet samtidig.")
        if how:
            lines.append(f"Slik ble det oppdaget: {how}")
    else:
        lines = [f"Discovered {discovered} by {who}."]
        if facts.get("discovered_at") and facts.get("discovered_at") != facts.get("aware_at"):
            lines.append(f"We became aware that personal data had been breached {aware}.")
        else:
            lines.append("We became aware of the breach at the same moment.")
        if how:
            lines.append(f"How it was discovered: {how}")
    return "\n".join(lines)


def _people(facts: dict[str, object], lang: Lang) -> str | None:
    people = _count(facts.get("people_affected"), lang)
    records = _count(facts.get("records_affected"), lang)
    if people is None and records is None:
        return None
    parts = []
    if lang == "nb":
        parts.append(f"{people} personer" if people else "Antall personer er ikke kjent ennå")
        if records:
            parts.append(f"{records} registreringer (poster) med personopplysninger")
    else:
        parts.append(f"{people} people" if people else "The number of people is not known yet")
        if records:
            parts.append(f"{records} records holding personal data")
    return ".\n".join(parts) + "."


def _risk(risk: dict[str, object] | None, lang: Lang) -> str | None:
    if not risk:
        return None
    level = str(risk.get("level"))
    name = _pick(RISK_NAMES.get(level, (level, level)), lang)
    reasoning = _s(risk.get("reasoning")) or ""
    word = "Begrunnelse" if lang == "nb" else "Reasoning"
    return f"{name}.\n{word}: {reasoning}"


def _told(data: DraftInput, lang: Lang) -> str:
    nb = lang == "nb"
    lines = []
    for totals in data.notices:
        if not totals.count:
            continue
        channel = _pick(CHANNEL_NAMES.get(totals.channel, (totals.channel,) * 2), lang)
        when = ""
        if totals.first and totals.last:
            first, last = (
                long_date(totals.first.astimezone(OSLO), lang),
                long_date(totals.last.astimezone(OSLO), lang),
            )
            span = first if first == last else f"{first} – {last}"
            when = f" ({span})"
        people = f"{totals.count:,}".replace(",", "\u00a0" if nb else ",")
        lines.append(
            f"Ja: {people} personer er varslet på {channel}{when}."
            if nb
            else f"Yes: {people} people were told by {channel}{when}."
        )
    if data.exception:
        letter = str(data.exception.get("letter"))
        name = _pick(EXCEPTION_NAMES.get(letter, (letter, letter)), lang)
        reasoning = _s(data.exception.get("reasoning")) or ""
        lines.append(
            f"De berørte varsles ikke enkeltvis. Unntak etter {name}.\nBegrunnelse: {reasoning}"
            if nb
            else f"Those affected are not told one by one. Exception of {name}.\n"
            f"Reasoning: {reasoning}"
        )
        public = _s(data.exception.get("public_communication"))
        if public:
            lines.append(
                f"Offentlig kunngjøring: {public}" if nb else f"Public communication: {public}"
            )
    if lines:
        return "\n".join(lines)
    level = str(data.risk.get("level")) if data.risk else None
    if level == "high_risk":
        return (
            "Ikke ennå. Risikoen er vurdert som høy, og de berørte skal varsles uten ugrunnet "
            "opphold (artikkel 34)."
            if nb
            else "Not yet. The risk is assessed as high, and those affected are to be told "
            "without undue delay (art. 34)."
        )
    if level in ("none", "risk"):
        return (
            "Nei. Risikoen er ikke vurdert som høy, så de berørte skal ikke varsles etter "
            "artikkel 34."
            if nb
            else "No. The risk is not assessed as high, so art. 34 does not require telling "
            "those affected."
        )
    return (
        "Ikke ennå: risikoen er ikke vurdert." if nb else "Not yet: the risk has not been assessed."
    )


def build_draft(data: DraftInput, lang: Lang) -> Draft:
    """The draft of one version in one language."""
    nb = lang == "nb"
    f = data.facts
    org = data.organisation
    stage = (
        ("Første melding" if nb else "First notification")
        if data.stage_number == 0
        else (
            f"Oppdatering nr. {data.stage_number} (artikkel 33 nr. 4)"
            if nb
            else f"Update no. {data.stage_number} (art. 33(4))"
        )
    )
    header = [
        DraftField(
            "organisation", "Virksomhet" if nb else "Organisation", org.name if org else None
        ),
        DraftField(
            "org_nr",
            "Organisasjonsnummer" if nb else "Organisation number",
            org.org_nr if org else None,
        ),
        DraftField(
            "reference",
            "Vår referanse" if nb else "Our reference",
            f"avvik {data.breach_id}, versjon {data.version}"
            if nb
            else f"breach {data.breach_id}, version {data.version}",
        ),
        DraftField("stage", "Melding" if nb else "Notification", stage),
        DraftField("title", "Kort beskrivelse" if nb else "Short title", _s(f.get("title"))),
        DraftField(
            "deadline",
            "Frist for melding (72 timer)" if nb else "Deadline (72 hours)",
            f"{moment_text(data.clock.deadline, lang)} – {format_countdown(data.clock, lang)}",
        ),
        DraftField(
            "generated",
            "Utkast laget" if nb else "Draft made",
            moment_text(data.generated_at, lang),
        ),
    ]
    types = f.get("breach_types")
    type_text = (
        "\n".join(_pick(BREACH_TYPE_NAMES[t], lang) for t in types if t in BREACH_TYPE_NAMES)
        if isinstance(types, list) and types
        else None
    )
    description = DraftSection(
        "description",
        "Beskrivelse av avviket" if nb else "Description of the breach",
        [
            DraftField("cause", "Hovedårsak" if nb else "Main cause", _s(f.get("cause"))),
            DraftField("period", "Tidsrom" if nb else "Period", _period(f, lang)),
            DraftField(
                "discovery", "Når ble avviket oppdaget" if nb else "Discovery", _discovery(f, lang)
            ),
            DraftField(
                "people",
                "Antall berørte personer" if nb else "Number of people affected",
                _people(f, lang),
            ),
            DraftField(
                "what",
                "Hva har skjedd, og hvordan oppstod avviket" if nb else "What happened, and how",
                _s(f.get("description")),
            ),
            DraftField("breach_types", "Type brudd" if nb else "Kind of breach", type_text),
            DraftField(
                "data_categories",
                "Typer personopplysninger" if nb else "Types of personal data",
                _list(f.get("data_categories"), category_name, lang),
            ),
            DraftField(
                "data_subjects",
                "Relasjon til de berørte" if nb else "Relationship to those affected",
                _list(f.get("data_subjects"), subject_name, lang),
            ),
            DraftField(
                "systems",
                "Systemer som er berørt" if nb else "Systems involved",
                _plain_list(f.get("systems")),
            ),
            DraftField(
                "data_location",
                "Hvor opplysningene befinner seg nå" if nb else "Where the data is now",
                _s(f.get("data_location")),
            ),
        ],
    )
    consequences = DraftSection(
        "consequences",
        "Konsekvenser" if nb else "Consequences",
        [
            DraftField(
                "consequences",
                "Mulige konsekvenser for de berørte"
                if nb
                else "Likely consequences for those affected",
                _s(f.get("consequences")),
            ),
            DraftField(
                "risk",
                "Vår risikovurdering" if nb else "Our risk assessment",
                _risk(data.risk, lang),
            ),
        ],
    )
    measures = DraftSection(
        "measures",
        "Tiltak" if nb else "Measures",
        [
            DraftField(
                "measures_taken",
                "Tiltak som er gjort" if nb else "Measures taken",
                _s(f.get("measures_taken")),
            ),
            DraftField(
                "measures_planned",
                "Tiltak som er planlagt, også for å hindre gjentakelse"
                if nb
                else "Measures planned, including to prevent it happening again",
                _s(f.get("measures_planned")),
            ),
        ],
    )
    informed = DraftSection(
        "informed",
        "Informasjon til de berørte" if nb else "Informing those affected",
        [
            DraftField(
                "told",
                "Er de berørte informert, og hvordan"
                if nb
                else "Whether and how those affected were told",
                _told(data, lang),
            ),
        ],
    )
    contact_text = _s(f.get("contact")) or (org.contact if org else None)
    contact = DraftSection(
        "contact",
        "Kontaktinformasjon" if nb else "Contact",
        [
            DraftField(
                "contact",
                "Personvernombud eller annen kontaktperson"
                if nb
                else "Data protection officer or other contact point",
                contact_text,
            ),
        ],
    )
    sections = [description, consequences, measures, informed, contact]
    reasons = _s(f.get("delay_reasons"))
    if data.late_if_sent_now or reasons:
        sections.append(
            DraftSection(
                "delay",
                "Begrunnelse for forsinket melding" if nb else "Reasons for the delay",
                [
                    DraftField(
                        "delay_reasons",
                        "Hvorfor meldingen kommer etter 72 timer (artikkel 33 nr. 1)"
                        if nb
                        else "Why the notification comes after 72 hours (art. 33(1))",
                        reasons,
                    ),
                ],
            )
        )
    return Draft(
        title=(
            "Melding om brudd på personopplysningssikkerheten – utkast"
            if nb
            else "Notification of a personal data breach – draft"
        ),
        subtitle=(
            "Til Datatilsynet. Feltene følger meldeskjemaet «Melde avvik» i Altinn."
            if nb
            else "To Datatilsynet. The fields follow its breach form («Melde avvik») in Altinn."
        ),
        lang=lang,
        header=header,
        sections=sections,
        missing_note=(
            "Ikke kjent ennå – ettersendes (artikkel 33 nr. 4)"
            if nb
            else "Not known yet – to be provided later (art. 33(4))"
        ),
        author=org.name if org else "Datavern",
    )


def draft_text(draft: Draft) -> str:
    """Plain text, one field per block, ready to copy into the form."""
    lines = [draft.title.upper(), draft.subtitle, ""]
    for item in draft.header:
        lines.append(f"{item.label}: {item.value or draft.missing_note}")
    for section in draft.sections:
        lines += ["", section.title.upper(), "=" * len(section.title)]
        for item in section.fields:
            lines.append(f"{item.label}:")
            value = item.value or f"[{draft.missing_note}]"
            lines += [f"  {line}" if line else "" for line in value.splitlines()]
            lines.append("")
        if lines[-1] == "":
            lines.pop()
    return "\n".join(lines).rstrip() + "\n"


def _span(text: str) -> Span:
    span: Span = []
    for number, line in enumerate(text.splitlines()):
        if number:
            span.append(Inline("\n"))
        span.append(Inline(line))
    return span


def draft_blocks(draft: Draft) -> list[Block]:
    blocks: list[Block] = [
        Heading(1, draft.title),
        Paragraph([Inline(draft.subtitle)]),
        Definitions(
            [([Inline(i.label)], _span(i.value or draft.missing_note)) for i in draft.header]
        ),
    ]
    for section in draft.sections:
        blocks.append(Heading(2, section.title))
        for item in section.fields:
            blocks.append(Heading(3, item.label))
            if item.value is None:
                blocks.append(Paragraph([Inline(draft.missing_note)], emphasis=True))
            else:
                blocks.append(Paragraph(_span(item.value)))
    return blocks


def draft_pdf(draft: Draft, created: datetime | None = None) -> bytes:
    from datavern.notices.pdf import blocks_to_pdf

    return blocks_to_pdf(
        draft_blocks(draft),
        title=draft.title,
        author=draft.author,
        lang=draft.lang,
        created=created,
    )
