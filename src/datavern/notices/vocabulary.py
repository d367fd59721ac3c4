"""Words the notice uses for the register's codes, in bokmål and English.

Each language is written for its own readers: the bokmål follows the terms of
the Norwegian text of the GDPR (personvernforordningen) and Datatilsynet's
guidance; the English follows the English text of the GDPR. Neither is a
translation of the other.

Data categories and data subjects cover every key of fideslang's default
taxonomy. A key not listed here (a custom category) falls back to the
taxonomy's own name, then to the key itself.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

# fideslang data categories: (bokmål, English).
DATA_CATEGORIES: dict[str, tuple[str, str]] = {
    "system": ("Systemdata", "System data"),
    "system.authentication": ("Data om pålogging og tilgangskontroll", "Sign-in and access data"),
    "system.operations": ("Driftsdata fra systemene", "System operations data"),
    "user": ("Alle typer personopplysninger", "Personal data of any kind"),
    "user.account": ("Kontoopplysninger", "Account information"),
    "user.authorization": (
        "Opplysninger om tilganger og innlogging",
        "Sign-in and permission data",
    ),
    "user.behavior": (
        "Opplysninger om hvordan du bruker tjenestene",
        "Observed behaviour (how you use our services)",
    ),
    "user.biometric": ("Biometriske opplysninger", "Biometric data"),
    "user.childrens": ("Opplysninger om barn", "Children's data"),
    "user.contact": ("Kontaktopplysninger", "Contact details"),
    "user.content": ("Innhold du lager eller laster opp", "Content you create or upload"),
    "user.demographic": ("Demografiske opplysninger", "Demographic data"),
    "user.location": ("Posisjon", "Location"),
    "user.device": ("Opplysninger om enheten din", "Data about your device"),
    "user.payment": ("Betalingsopplysninger", "Payment data"),
    "user.social": ("Aktivitet i sosiale medier", "Social media activity"),
    "user.unique_id": (
        "Unik identifikator, for eksempel kundenummer",
        "Unique identifier, such as a customer number",
    ),
    "user.telemetry": ("Bruksmålinger (telemetri)", "Usage measurements (telemetry)"),
    "user.user_sensor": ("Sensordata fra enheten din", "Sensor data from your device"),
    "user.workplace": ("Arbeidssted", "Workplace"),
    "user.sensor": ("Sensordata", "Sensor data"),
    "user.financial": ("Økonomiske opplysninger", "Financial data"),
    "user.government_id": ("ID-numre fra offentlige myndigheter", "Government-issued identifiers"),
    "user.health_and_medical": ("Helseopplysninger", "Health data"),
    "user.name": ("Navn", "Name"),
    "user.criminal_history": (
        "Opplysninger om straffedommer og lovovertredelser",
        "Criminal convictions and offences",
    ),
    "user.privacy_preferences": (
        "Personvernvalg (samtykker og reservasjoner)",
        "Privacy choices (consents and opt-outs)",
    ),
    "user.job_title": ("Stillingstittel", "Job title"),
    "user.account.settings": ("Kontoinnstillinger", "Account settings"),
    "user.account.username": ("Brukernavn", "Username"),
    "user.authorization.credentials": ("Påloggingsinformasjon", "Sign-in credentials"),
    "user.authorization.biometric": (
        "Biometrisk pålogging, for eksempel fingeravtrykk",
        "Biometric sign-in, such as a fingerprint",
    ),
    "user.authorization.password": ("Passord", "Password"),
    "user.behavior.browsing_history": ("Nettleserhistorikk", "Browsing history"),
    "user.behavior.media_consumption": (
        "Hva du ser, leser eller lytter til",
        "What you watch, read or listen to",
    ),
    "user.behavior.purchase_history": ("Kjøps- og ordrehistorikk", "Purchase and order history"),
    "user.behavior.search_history": ("Søkehistorikk", "Search history"),
    "user.biometric.fingerprint": ("Fingeravtrykk", "Fingerprint"),
    "user.biometric.retinal": ("Skanning av netthinnen", "Retina scan"),
    "user.biometric.voice": ("Stemmeopptak", "Voice recording"),
    "user.biometric.health": ("Biometriske helseopplysninger", "Biometric health data"),
    "user.contact.address": ("Adresse", "Postal address"),
    "user.contact.email": ("E-postadresse", "E-mail address"),
    "user.contact.phone_number": ("Telefonnummer", "Phone number"),
    "user.contact.url": ("Nettsted", "Website"),
    "user.contact.fax_number": ("Faksnummer", "Fax number"),
    "user.contact.organization": ("Firma eller organisasjon", "Company or organisation"),
    "user.contact.address.city": ("Poststed", "Town or city"),
    "user.contact.address.country": ("Land", "Country"),
    "user.contact.address.postal_code": ("Postnummer", "Postcode"),
    "user.contact.address.state": ("Fylke eller delstat", "County, state or region"),
    "user.contact.address.street": ("Gateadresse", "Street address"),
    "user.content.private": (
        "Privat innhold, for eksempel meldinger og filer",
        "Private content, such as messages and files",
    ),
    "user.content.public": ("Innhold du har publisert", "Content you have published"),
    "user.content.self_image": ("Bilde av deg", "Pictures of you"),
    "user.demographic.age_range": ("Aldersgruppe", "Age range"),
    "user.demographic.date_of_birth": ("Fødselsdato", "Date of birth"),
    "user.demographic.gender": ("Kjønn", "Gender"),
    "user.demographic.language": ("Språk", "Language"),
    "user.demographic.marital_status": ("Sivilstand", "Marital status"),
    "user.demographic.political_opinion": ("Politisk oppfatning", "Political opinions"),
    "user.demographic.profile": ("Profilopplysninger", "Profile data"),
    "user.demographic.race_ethnicity": ("Etnisk opprinnelse", "Racial or ethnic origin"),
    "user.demographic.religious_belief": (
        "Religion eller livssyn",
        "Religious or philosophical beliefs",
    ),
    "user.demographic.sexual_orientation": ("Seksuell orientering", "Sexual orientation"),
    "user.device.cookie": ("Informasjonskapsler (cookies)", "Cookies"),
    "user.device.cookie_id": ("ID lagret i informasjonskapsler", "Identifiers stored in cookies"),
    "user.device.device_id": ("Enhets-ID", "Device identifier"),
    "user.device.ip_address": ("IP-adresse", "IP address"),
    "user.financial.bank_account": ("Kontonummer", "Bank account number"),
    "user.financial.credit_card": ("Betalingskortopplysninger", "Payment card details"),
    "user.government_id.birth_certificate": ("Fødselsattest", "Birth certificate"),
    "user.government_id.drivers_license_number": ("Førerkortnummer", "Driving licence number"),
    "user.government_id.immigration": (
        "Opplysninger fra oppholdsdokumenter",
        "Immigration document details",
    ),
    "user.government_id.national_identification_number": (
        "Fødselsnummer eller D-nummer",
        "National identity number (Norwegian fødselsnummer or D number)",
    ),
    "user.government_id.passport_number": ("Passnummer", "Passport number"),
    "user.government_id.vehicle_registration": (
        "Registreringsnummer på kjøretøy",
        "Vehicle registration number",
    ),
    "user.health_and_medical.genetic": ("Genetiske opplysninger", "Genetic data"),
    "user.health_and_medical.insurance_beneficiary_id": (
        "Nummer på helseforsikring",
        "Health insurance number",
    ),
    "user.health_and_medical.record_id": ("Journalnummer", "Medical record number"),
    "user.location.imprecise": ("Omtrentlig posisjon", "Approximate location"),
    "user.location.precise": ("Nøyaktig posisjon", "Precise location"),
    "user.name.first": ("Fornavn", "First name"),
    "user.name.last": ("Etternavn", "Last name"),
    "user.unique_id.pseudonymous": ("Pseudonymisert ID", "Pseudonymous identifier"),
}

DATA_SUBJECTS: dict[str, tuple[str, str]] = {
    "anonymous_user": ("Anonyme brukere", "Anonymous users"),
    "citizen_voter": ("Innbyggere og velgere", "Citizens and voters"),
    "commuter": ("Pendlere", "Commuters"),
    "consultant": ("Konsulenter", "Consultants"),
    "customer": ("Kunder", "Customers"),
    "employee": ("Ansatte", "Employees"),
    "job_applicant": ("Jobbsøkere", "Job applicants"),
    "next_of_kin": ("Pårørende", "Next of kin"),
    "passenger": ("Passasjerer", "Passengers"),
    "patient": ("Pasienter", "Patients"),
    "prospect": ("Mulige kunder", "Prospective customers"),
    "shareholder": ("Aksjonærer", "Shareholders"),
    "supplier_vendor": ("Leverandører", "Suppliers"),
    "trainee": ("Lærlinger og praktikanter", "Trainees"),
    "visitor": ("Besøkende", "Visitors"),
}

# GDPR art. 6(1): (letter, short name, plain explanation) per language.
LEGAL_BASES: dict[str, dict[str, tuple[str, str, str]]] = {
    "consent": {
        "nb": (
            "a",
            "Samtykke",
            "Du bestemmer selv om vi får behandle opplysningene, og du kan når som helst "
            "trekke samtykket tilbake.",
        ),
        "en": (
            "a",
            "Consent",
            "It is your choice whether we may process the data, and you can withdraw your "
            "consent at any time.",
        ),
    },
    "contract": {
        "nb": (
            "b",
            "Avtale",
            "Vi trenger opplysningene for å oppfylle avtalen vi har med deg, eller for å gjøre "
            "det du ber om før en avtale blir inngått.",
        ),
        "en": (
            "b",
            "Contract",
            "We need the data to perform our contract with you, or to do what you ask of us "
            "before a contract is made.",
        ),
    },
    "legal_obligation": {
        "nb": ("c", "Rettslig forpliktelse", "Vi er pålagt ved lov å behandle opplysningene."),
        "en": ("c", "Legal obligation", "The law requires us to process the data."),
    },
    "vital_interests": {
        "nb": (
            "d",
            "Vitale interesser",
            "Behandlingen er nødvendig for å verne livet eller helsen til deg eller andre.",
        ),
        "en": (
            "d",
            "Vital interests",
            "The processing is needed to protect your life or health, or someone else's.",
        ),
    },
    "public_task": {
        "nb": (
            "e",
            "Oppgave i allmennhetens interesse",
            "Vi utfører en oppgave i allmennhetens interesse eller utøver offentlig myndighet "
            "som vi har fått ved lov.",
        ),
        "en": (
            "e",
            "Public task",
            "We carry out a task in the public interest or exercise official authority given "
            "to us by law.",
        ),
    },
    "legitimate_interests": {
        "nb": (
            "f",
            "Berettiget interesse",
            "Vi har en berettiget interesse i behandlingen. Vi har vurdert den opp mot dine "
            "interesser og rettigheter og kommet til at vår interesse veier tyngst.",
        ),
        "en": (
            "f",
            "Legitimate interests",
            "We have a legitimate interest in the processing. We have weighed it against your "
            "interests and rights and found that ours prevails.",
        ),
    },
}

# GDPR art. 9(2): (letter, plain words) per language.
SPECIAL_CATEGORY_BASES: dict[str, dict[str, tuple[str, str]]] = {
    "explicit_consent": {
        "nb": ("a", "ditt uttrykkelige samtykke"),
        "en": ("a", "your explicit consent"),
    },
    "employment": {
        "nb": ("b", "plikter og rettigheter etter arbeidsretten, trygderetten og sosialretten"),
        "en": ("b", "obligations and rights under employment and social security law"),
    },
    "vital_interests": {
        "nb": ("c", "å verne vitale interesser når du ikke selv kan samtykke"),
        "en": ("c", "protecting vital interests when you cannot consent yourself"),
    },
    "not_for_profit": {
        "nb": ("d", "behandling i en ideell organisasjon av opplysninger om medlemmene"),
        "en": ("d", "processing by a not-for-profit body about its members"),
    },
    "made_public": {
        "nb": ("e", "opplysninger du selv tydelig har gjort offentlig kjent"),
        "en": ("e", "data you have manifestly made public yourself"),
    },
    "legal_claims": {
        "nb": ("f", "å fastsette, gjøre gjeldende eller forsvare rettskrav"),
        "en": ("f", "establishing, exercising or defending legal claims"),
    },
    "substantial_public_interest": {
        "nb": ("g", "viktige allmenne interesser som er fastsatt i lov"),
        "en": ("g", "substantial public interest laid down by law"),
    },
    "health_care": {
        "nb": ("h", "forebyggende medisin, arbeidsmedisin, helsehjelp eller sosialtjenester"),
        "en": ("h", "preventive or occupational medicine, health care or social care"),
    },
    "public_health": {
        "nb": ("i", "allmennhetens interesse på folkehelseområdet"),
        "en": ("i", "public interest in public health"),
    },
    "archiving_research": {
        "nb": ("j", "arkiv i allmennhetens interesse, forskning eller statistikk"),
        "en": ("j", "archiving in the public interest, research or statistics"),
    },
}

# Chapter V transfer bases in plain words.
TRANSFER_BASES: dict[str, dict[str, str]] = {
    "eea": {
        "nb": "Innenfor EØS. Opplysningene overføres ikke ut av EØS.",
        "en": "Within the EEA. The data is not transferred outside the EEA.",
    },
    "adequacy": {
        "nb": (
            "EU-kommisjonen har slått fast at landet gir et tilstrekkelig vern "
            "(beslutning om tilstrekkelig beskyttelsesnivå, artikkel 45)."
        ),
        "en": (
            "The European Commission has decided that the country offers adequate protection "
            "(adequacy decision, Article 45)."
        ),
    },
    "dpf": {
        "nb": (
            "EU–US Data Privacy Framework. Mottakeren er sertifisert under rammeverket, som "
            "EU-kommisjonen har godkjent (artikkel 45)."
        ),
        "en": (
            "EU-US Data Privacy Framework. The recipient is certified under the framework, "
            "which the European Commission has approved (Article 45)."
        ),
    },
    "dpf_uncertified": {
        "nb": (
            "EU–US Data Privacy Framework. Vi har ikke bekreftet at mottakeren er sertifisert; "
            "uten sertifisering gir rammeverket ikke grunnlag for overføringen."
        ),
        "en": (
            "EU-US Data Privacy Framework. We have not confirmed that the recipient is "
            "certified; without certification the framework does not cover the transfer."
        ),
    },
    "scc_2021": {
        "nb": (
            "EU-kommisjonens standardavtale om personvern (standard personvernbestemmelser, "
            "beslutning 2021/914, artikkel 46)."
        ),
        "en": (
            "The European Commission's standard contractual clauses (Decision 2021/914, "
            "Article 46)."
        ),
    },
    "scc_unversioned": {
        "nb": (
            "Standardavtaler fra EU-kommisjonen, uten at vi har oppgitt hvilke. Bare "
            "standardavtalene fra 2021 (beslutning 2021/914) gir grunnlag for overføring i dag."
        ),
        "en": (
            "Standard contractual clauses of the European Commission, without our stating "
            "which. Only the 2021 clauses (Decision 2021/914) cover a transfer today."
        ),
    },
    "unknown_country": {
        "nb": (
            "Ukjent. Vi har ikke oppgitt hvor mottakeren holder til, og kan derfor ikke si "
            "om opplysningene overføres ut av EØS."
        ),
        "en": (
            "Unknown. We have not stated where the recipient is based, so we cannot say "
            "whether the data is transferred outside the EEA."
        ),
    },
    "bcr": {
        "nb": ("Bindende virksomhetsregler som personvernmyndighetene har godkjent (artikkel 47)."),
        "en": "Binding corporate rules approved by the data protection authorities (Article 47).",
    },
    "art49": {
        "nb": (
            "Unntak for særlige situasjoner (artikkel 49), for eksempel at du uttrykkelig har "
            "samtykket eller at overføringen er nødvendig for å oppfylle en avtale med deg."
        ),
        "en": (
            "A derogation for specific situations (Article 49), such as your explicit consent "
            "or a transfer needed to perform a contract with you."
        ),
    },
    "privacy_shield": {
        "nb": (
            "EU–US Privacy Shield. Dette er ikke lenger et gyldig grunnlag: EU-domstolen "
            "kjente ordningen ugyldig i 2020."
        ),
        "en": (
            "EU-US Privacy Shield. This is no longer a valid basis: the EU Court of Justice "
            "declared it invalid in 2020."
        ),
    },
    "safe_harbor": {
        "nb": (
            "Safe Harbor. Dette er ikke lenger et gyldig grunnlag: EU-domstolen kjente "
            "ordningen ugyldig i 2015."
        ),
        "en": (
            "Safe Harbor. This is no longer a valid basis: the EU Court of Justice declared "
            "it invalid in 2015."
        ),
    },
    "scc_old": {
        "nb": (
            "Eldre standardavtaler fra EU-kommisjonen. De er opphevet og gir ikke lenger "
            "grunnlag for overføring."
        ),
        "en": (
            "Older standard contractual clauses. They have been repealed and no longer cover "
            "a transfer."
        ),
    },
    "none": {
        "nb": "Vi har ikke oppgitt noe overføringsgrunnlag.",
        "en": "We have not stated a basis for the transfer.",
    },
}

REQUIREMENTS: dict[str, dict[str, str]] = {
    "statutory": {
        "nb": "Lovpålagt: loven krever at du gir oss opplysningene.",
        "en": "Required by law.",
    },
    "contractual": {
        "nb": "Avtalefestet: avtalen vår forutsetter at du gir oss opplysningene.",
        "en": "Required by our contract with you.",
    },
    "contract_precondition": {
        "nb": "Nødvendig for å inngå avtale med oss.",
        "en": "Needed to enter into a contract with us.",
    },
    "voluntary": {
        "nb": "Frivillig.",
        "en": "Voluntary.",
    },
}

RETENTION_ACTIONS: dict[str, dict[str, str]] = {
    "delete": {"nb": "Opplysningene slettes.", "en": "The data is deleted."},
    "anonymise": {
        "nb": "Opplysningene anonymiseres, slik at de ikke lenger kan knyttes til deg.",
        "en": "The data is anonymised so that it can no longer be linked to you.",
    },
    "aggregate": {
        "nb": "Opplysningene slås sammen til statistikk som ikke kan knyttes til deg.",
        "en": "The data is combined into statistics that cannot be linked to you.",
    },
}

# What starts a retention period. A trigger not listed is shown as written.
TRIGGERS: dict[str, tuple[str, str]] = {
    "collection": ("etter at opplysningene ble samlet inn", "after the data was collected"),
    "collected": ("etter at opplysningene ble samlet inn", "after the data was collected"),
    "created": ("etter at opplysningene ble registrert", "after the data was recorded"),
    "contract_end": ("etter at avtalen med deg er avsluttet", "after our contract with you ends"),
    "customer_relationship_end": (
        "etter at kundeforholdet er avsluttet",
        "after the customer relationship ends",
    ),
    "account_closed": ("etter at kontoen er avsluttet", "after the account is closed"),
    "account_deleted": ("etter at kontoen er slettet", "after the account is deleted"),
    "last_activity": ("etter siste aktivitet", "after your last activity"),
    "last_login": ("etter siste innlogging", "after your last sign-in"),
    "financial_year_end": (
        "etter utgangen av regnskapsåret",
        "after the end of the financial year",
    ),
    "end_of_financial_year": (
        "etter utgangen av regnskapsåret",
        "after the end of the financial year",
    ),
    "consent_withdrawn": (
        "etter at du har trukket tilbake samtykket",
        "after you withdraw your consent",
    ),
    "unsubscribed": ("etter at du har meldt deg av", "after you unsubscribe"),
    "request_closed": ("etter at saken er avsluttet", "after the request is closed"),
    "case_closed": ("etter at saken er avsluttet", "after the case is closed"),
    "recruitment_end": (
        "etter at ansettelsesprosessen er avsluttet",
        "after the recruitment process ends",
    ),
    "employment_end": (
        "etter at arbeidsforholdet er avsluttet",
        "after the employment ends",
    ),
    "visit": ("etter besøket", "after the visit"),
    "event": ("etter hendelsen", "after the event"),
}

COOKIE_CATEGORIES: dict[str, tuple[str, str]] = {
    "necessary": ("Nødvendig", "Strictly necessary"),
    "preferences": ("Innstillinger", "Preferences"),
    "analytics": ("Statistikk", "Analytics"),
    "marketing": ("Markedsføring", "Marketing"),
}

RECIPIENT_ROLES: dict[str, tuple[str, str]] = {
    "processor": ("Databehandler for oss", "Processor acting for us"),
    "controller": ("Selvstendig behandlingsansvarlig", "Independent controller"),
    "joint_controller": ("Felles behandlingsansvarlig med oss", "Joint controller with us"),
}

_LANG_INDEX = {"nb": 0, "en": 1}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[_LANG_INDEX.get(lang, 1)]


@lru_cache(maxsize=1)
def _taxonomy_names() -> dict[str, str]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    names: dict[str, str] = {}
    for item in [*DEFAULT_TAXONOMY.data_category, *DEFAULT_TAXONOMY.data_subject]:
        if item.name:
            names[item.fides_key] = item.name
    return names


def category_name(key: str, lang: str) -> str:
    if key in DATA_CATEGORIES:
        return _pick(DATA_CATEGORIES[key], lang)
    return _taxonomy_names().get(key, key)


def subject_name(key: str, lang: str) -> str:
    if key in DATA_SUBJECTS:
        return _pick(DATA_SUBJECTS[key], lang)
    return _taxonomy_names().get(key, key)


def cookie_category_name(key: str, lang: str) -> str:
    return _pick(COOKIE_CATEGORIES[key], lang) if key in COOKIE_CATEGORIES else key


def recipient_role_name(key: str, lang: str) -> str:
    return _pick(RECIPIENT_ROLES[key], lang) if key in RECIPIENT_ROLES else key


def transfer_basis_text(basis: str, lang: str, dpf_certified: bool | None = None) -> str:
    if basis == "dpf" and dpf_certified is not True:
        basis = "dpf_uncertified"
    if basis in ("scc_2001", "scc_2004", "scc_2010"):
        basis = "scc_old"
    return TRANSFER_BASES.get(basis, TRANSFER_BASES["none"])[lang]


def trigger_text(trigger: str, lang: str) -> str:
    if trigger in TRIGGERS:
        return _pick(TRIGGERS[trigger], lang)
    words = trigger.replace("_", " ")
    return f"regnet fra «{words}»" if lang == "nb" else f"counted from “{words}”"


def country_name(code: str, lang: str) -> str:
    if code == "unknown":  # schema.UNKNOWN_COUNTRY: the register does not know
        return "ukjent land" if lang == "nb" else "unknown country"
    locale = Locale.parse("nb_NO" if lang == "nb" else "en_GB")
    return str(locale.territories.get(code.upper(), code))


def period_text(parts: tuple[int, int, int, int], lang: str) -> str:
    """'3 år og 6 måneder' / '3 years and 6 months'."""
    years, months, weeks, days = parts
    units = (
        (years, ("år", "år"), ("year", "years")),
        (months, ("måned", "måneder"), ("month", "months")),
        (weeks, ("uke", "uker"), ("week", "weeks")),
        (days, ("dag", "dager"), ("day", "days")),
    )
    words = []
    for count, nb, en in units:
        if count:
            singular, plural = nb if lang == "nb" else en
            words.append(f"{count} {singular if count == 1 else plural}")
    if not words:
        return "0 dager" if lang == "nb" else "0 days"
    joiner = " og " if lang == "nb" else " and "
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + joiner + words[-1]
