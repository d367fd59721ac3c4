"""The message to the people affected by a breach (art. 34), in plain bokmål or English.

Art. 34(2) asks for "clear and plain language" describing the nature of the
breach and at least: a contact point, the likely consequences, and the measures
taken or proposed, including those that mitigate possible harm. The message
adds what the person can do themselves (the breach's ``advice``, else general
advice against phishing that follows every leak of contact data) and the right
to complain to Datatilsynet.

The same message goes to everyone selected: it is not personalised, so the
text holds no one's personal data, and one stored version of it (its hash)
documents what every recipient was told. The texts of the breach record are
used as written; a company writing its record in Norwegian and telling
English-speaking customers gives its own message (``--message-file``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from datavern.breaches.draft import moment_text
from datavern.core.i18n import Lang
from datavern.notices.vocabulary import category_name

# An SMS is short: longer texts are cut at a word boundary with an ellipsis.
SMS_LIMIT = 480


@dataclass(frozen=True)
class Message:
    subject: str | None  # None for SMS
    body: str


@dataclass(frozen=True)
class Sender:
    name: str
    contact: str | None  # "e-post personvern@..., telefon ..." or the DPO
    website: str | None


def _categories(keys: object, lang: Lang) -> list[str]:
    if not isinstance(keys, list):
        return []
    names: list[str] = []
    for key in keys:
        name = category_name(str(key), lang)
        if name not in names:
            names.append(name)
    return names


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


DEFAULT_ADVICE = {
    "nb": (
        "Vær ekstra på vakt mot e-post, SMS og telefoner som ber deg oppgi passord, "
        "kortnummer, BankID eller andre opplysninger, også når de ser ut til å komme fra oss. "
        "Vi spør aldri etter passordet ditt. Har du brukt det samme passordet andre steder, "
        "bør du bytte det der."
    ),
    "en": (
        "Be extra careful with e-mails, text messages and calls that ask for your password, "
        "card number or other details, even when they seem to come from us. We never ask for "
        "your password. If you use the same password elsewhere, change it there."
    ),
}


def email_message(facts: dict[str, object], sender: Sender, lang: Lang) -> Message:
    nb = lang == "nb"
    org = sender.name
    parts: list[str] = []
    if nb:
        subject = f"Viktig melding fra {org}: brudd på sikkerheten for opplysninger om deg"
        parts.append("Hei,")
        parts.append(
            f"Vi i {org} har hatt et brudd på personopplysningssikkerheten, og det gjelder "
            "opplysninger om deg. Vi forteller deg om det fordi det kan få følger for deg, "
            "og fordi du selv kan gjøre noe for å beskytte deg."
        )
    else:
        subject = f"Important message from {org}: a security breach affecting your data"
        parts.append("Hello,")
        parts.append(
            f"We at {org} have had a personal data breach, and it concerns data about you. "
            "We are telling you because it may affect you, and because there are things "
            "you can do to protect yourself."
        )

    def section(title: str, body: str | None) -> None:
        if body:
            parts.append(f"{title}\n{body}")

    what = _text(facts.get("description"))
    started = facts.get("started_at")
    ended = facts.get("ended_at")
    if started:
        start = moment_text(datetime.fromisoformat(str(started)), lang)
        if ended:
            end = moment_text(datetime.fromisoformat(str(ended)), lang)
            when = (
                f"Det skjedde fra {start} til {end}."
                if nb
                else f"It happened from {start} to {end}."
            )
        else:
            when = f"Det startet {start}." if nb else f"It began {start}."
        what = f"{what}\n{when}" if what else when
    section("Hva har skjedd" if nb else "What happened", what)
    categories = _categories(facts.get("data_categories"), lang)
    if categories:
        section(
            "Hvilke opplysninger det gjelder" if nb else "Which data it concerns",
            "\n".join(f"- {name}" for name in categories),
        )
    section(
        "Hva det kan bety for deg" if nb else "What it may mean for you",
        _text(facts.get("consequences")),
    )
    measures = "\n".join(
        t for t in (_text(facts.get("measures_taken")), _text(facts.get("measures_planned"))) if t
    )
    section("Hva vi har gjort" if nb else "What we have done", measures or None)
    section(
        "Hva du kan gjøre" if nb else "What you can do",
        _text(facts.get("advice")) or DEFAULT_ADVICE[lang],
    )
    contact = _text(facts.get("contact")) or sender.contact
    if contact:
        section(
            "Spørsmål" if nb else "Questions",
            (
                f"Har du spørsmål, kan du kontakte oss: {contact}"
                if nb
                else f"If you have questions, contact us: {contact}"
            ),
        )
    parts.append(
        "Du kan klage til Datatilsynet hvis du mener at vi behandler personopplysninger om deg "
        "i strid med regelverket: www.datatilsynet.no."
        if nb
        else "You may complain to Datatilsynet, the Norwegian Data Protection Authority, if you "
        "believe we process your personal data unlawfully: www.datatilsynet.no."
    )
    parts.append(f"Vennlig hilsen\n{org}" if nb else f"Kind regards\n{org}")
    return Message(subject, "\n\n".join(parts) + "\n")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"


def sms_message(facts: dict[str, object], sender: Sender, lang: Lang) -> Message:
    nb = lang == "nb"
    categories = _categories(facts.get("data_categories"), lang)
    which = f" ({', '.join(c.lower() for c in categories[:3])})" if categories else ""
    more = sender.website or _text(facts.get("contact")) or sender.contact
    if nb:
        text = (
            f"Viktig melding fra {sender.name}: Vi har hatt et brudd på sikkerheten som gjelder "
            f"opplysninger om deg{which}. Vi spør aldri etter passord eller kortnummer på SMS "
            "eller e-post."
        )
        if more:
            text += f" Mer informasjon og råd: {more}"
    else:
        text = (
            f"Important message from {sender.name}: we have had a security breach concerning "
            f"data about you{which}. We never ask for passwords or card numbers by text or "
            "e-mail."
        )
        if more:
            text += f" More information and advice: {more}"
    return Message(None, _cut(text, SMS_LIMIT))


def custom_message(text: str, channel: str) -> Message:
    """A message written by hand: for e-mail, an optional first line ``Subject: ...``."""
    text = text.replace("\r\n", "\n").strip("\n")
    if channel == "email":
        first, _, rest = text.partition("\n")
        if first.lower().startswith("subject:"):
            return Message(first.split(":", 1)[1].strip() or None, rest.strip("\n") + "\n")
        return Message(None, text + "\n")
    return Message(None, text)
