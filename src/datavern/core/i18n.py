"""Languages of the notice and the privacy centre: bokmål first, English second."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from babel.dates import format_date

Lang = Literal["nb", "en"]
LANGUAGES: tuple[Lang, ...] = ("nb", "en")
DEFAULT_LANG: Lang = "nb"
_BABEL_LOCALE = {"nb": "nb_NO", "en": "en_GB"}


def parse_lang(value: str | None) -> Lang:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return DEFAULT_LANG


def long_date(value: date | datetime, lang: Lang) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="long", locale=_BABEL_LOCALE[lang])
