"""Phone numbers and settings of the pluggable SMS sender (notify/sms.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from datavern.notify.sms import (
    OutboxSmsSender,
    SmsMessage,
    SmsSender,
    SmsSettings,
    WebhookSmsSender,
    normalise_phone,
    sms_sender,
)


@pytest.mark.parametrize(
    ("given", "e164"),
    [
        ("912 34 567", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 91234567", "+4791234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("12", None),
        ("ola@example.no", None),
        ("", None),
        ("9" * 50, None),
    ],
)
def test_numbers_are_normalised_to_e164(given: str, e164: str | None) -> None:
    assert normalise_phone(given) == e164


def test_messages_keep_number_and_text_out_of_their_repr() -> None:
    message = SmsMessage("+4791234567", "Hemmelig tekst", "breach", "nb")
    assert "9123" not in repr(message) and "Hemmelig" not in repr(message)


def test_the_outbox_is_the_default_and_the_webhook_is_chosen_by_its_url() -> None:
    assert isinstance(sms_sender(SmsSettings()), OutboxSmsSender)
    webhook = sms_sender(SmsSettings(webhook_url="https://sms.example.no/send"))
    assert isinstance(webhook, WebhookSmsSender)
    assert isinstance(webhook, SmsSender)


def test_sender_names_are_what_phones_show() -> None:
    with pytest.raises(ValidationError):
        SmsSettings(sender="Nettbutikken AS")
    assert SmsSettings(sender="Nettbutikk").sender == "Nettbutikk"
