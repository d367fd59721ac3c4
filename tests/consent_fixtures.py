"""A small register for the consent tests, applied to the test's own database.

Purposes:

* ``nyhetsbrev``: e-mail newsletter on consent, double opt-in, marketing;
* ``statistikk``: analytics cookie on consent;
* ``kampanje``: marketing cookie on consent;
* ``kundeklubb``: a consent purpose only a contract activity names, so it needs no
  consent (recording one is refused).

Activities: ``kundeforhold`` (contract), ``oppfolging`` (legitimate interests,
marketing: objection applies), and one activity per consent purpose.

Import in a test module: ``from consent_fixtures import apply_register_text``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from datavern.core.db import session_scope
from datavern.register.loader import load_register
from datavern.register.service import apply_register

NEWSLETTER_NB = "Ja takk, send meg nyhetsbrevet på e-post omtrent én gang i måneden."
NEWSLETTER_EN = "Yes please, send me the newsletter by e-mail about once a month."

REGISTER = """\
datavern: 1
organisation:
  name: Samtykketest AS
  org_nr: "312345609"
  email: personvern@samtykketest.example
  address: {{street: Testveien 2, postal_code: "0150", city: Oslo}}
  languages: [nb, en]
systems:
  - key: web
    name: Nettstedet
    processing:
      - key: kundeforhold
        purpose: {{nb: Levere tjenesten du har bestilt, en: To deliver the service you ordered}}
        data_use: essential.service
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis: contract
        consent_purpose: kundeklubb
        retention: {{period: P3Y, trigger: contract_end}}
      - key: oppfolging
        purpose: {{nb: Tilbud til eksisterende kunder, en: Offers to existing customers}}
        data_use: marketing.communications.email
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis: legitimate_interests
        legitimate_interest: {{nb: Markedsføre egne tjenester, en: Marketing our own services}}
        legitimate_interest_assessment: LIA-1
        retention: {{period: P1Y, trigger: contract_end}}
      - key: nyhetsbrev-utsending
        purpose: {{nb: Sende nyhetsbrev, en: To send newsletters}}
        data_use: marketing.communications.email
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis: consent
        consent_purpose: nyhetsbrev
        retention: {{period: P30D, trigger: unsubscribed}}
      - key: besoksstatistikk
        purpose: {{nb: Telle besøk, en: To count visits}}
        data_use: analytics.reporting
        data_categories: [user.device.cookie_id]
        data_subjects: [customer]
        legal_basis: consent
        consent_purpose: statistikk
        retention: {{period: P13M, trigger: visit}}
      - key: kampanjemaling
        purpose: {{nb: Måle kampanjer, en: To measure campaigns}}
        data_use: marketing.advertising
        data_categories: [user.device.cookie_id]
        data_subjects: [customer]
        legal_basis: consent
        consent_purpose: kampanje
        retention: {{period: P90D, trigger: visit}}
consent_purposes:
  - key: nyhetsbrev
    name: {{nb: Nyhetsbrev, en: Newsletter}}
    text:
      nb: "{newsletter_nb}"
      en: "{newsletter_en}"
    withdraw:
      nb: Meld deg av med lenken i hvert nyhetsbrev.
      en: Unsubscribe with the link in every newsletter.
    data_use: marketing.communications.email
    double_opt_in: true
  - key: statistikk
    name: {{nb: Besøksstatistikk, en: Website statistics}}
    text: {{nb: "Ja, dere kan telle besøket mitt.", en: "Yes, you may count my visit."}}
    withdraw: {{nb: Trekk samtykket under Innstillinger., en: Withdraw under Settings.}}
    data_use: analytics.reporting
  - key: kampanje
    name: {{nb: Kampanjemåling, en: Campaign measurement}}
    text:
      nb: "Ja, dere kan måle om besøket kom fra en annonse."
      en: "Yes, you may measure whether my visit came from an advert."
    withdraw: {{nb: Trekk samtykket under Innstillinger., en: Withdraw under Settings.}}
    data_use: marketing.advertising
  - key: kundeklubb
    name: {{nb: Kundeklubb, en: Customer club}}
    text: {{nb: Medlemskap i kundeklubben., en: Membership of the customer club.}}
    withdraw: {{nb: Si opp medlemskapet., en: End the membership.}}
cookies:
  - name: okt
    provider: Samtykketest AS
    purpose: {{nb: Holder deg innlogget., en: Keeps you signed in.}}
    duration: session
    category: necessary
  - name: _pk_id
    provider: Samtykketest AS (Matomo)
    purpose: {{nb: Skiller besøk fra hverandre., en: Tells visits apart.}}
    duration: P13M
    category: analytics
    consent_purpose: statistikk
  - name: kampanje_id
    provider: Annonsepartner AS
    purpose: {{nb: Husker kampanjen., en: Remembers the campaign.}}
    duration: P30D
    category: marketing
    consent_purpose: kampanje
    third_party: true
"""


def register_text(newsletter_nb: str = NEWSLETTER_NB, newsletter_en: str = NEWSLETTER_EN) -> str:
    return textwrap.dedent(REGISTER).format(
        newsletter_nb=newsletter_nb, newsletter_en=newsletter_en
    )


def apply_register_text(folder: Path, text: str | None = None, url: str | None = None) -> int:
    """Write the register to ``folder`` and apply it; returns the version number."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "register.yaml").write_text(text or register_text(), encoding="utf-8")
    loaded = load_register(folder)
    with session_scope(url) as session:
        return apply_register(session, loaded, "test", "consent test").version.number
