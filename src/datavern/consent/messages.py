"""The strings of the consent and outbox pages, in bokmål and English.

Kept beside the feature (the console's own catalog is web/messages.py); the pages'
``t()`` looks here first, then in the console catalog. A test checks that both
languages hold the same keys and that every key a template uses exists.
"""

from __future__ import annotations

from typing import Any

NB: dict[str, str] = {
    # public: my consents
    "mine_title": "Mine samtykker",
    "mine_signin_lead": "Skriv e-postadressen din, så sender vi deg en lenke til samtykkene "
    "som er knyttet til den. Der kan du trekke tilbake et samtykke eller gi det igjen.",
    "mine_email_label": "E-postadresse",
    "mine_signin_button": "Send meg lenken",
    "mine_bad_address": "Skriv en gyldig e-postadresse.",
    "mine_expired": "Økten er utløpt. Be om en ny lenke.",
    "mine_sent_title": "Sjekk e-posten din",
    "mine_sent": "Hvis adressen kan motta e-post, er en lenke på vei. Den virker i 30 minutter.",
    "mine_link_lead": "Trykk på knappen for å se samtykkene dine i denne nettleseren.",
    "mine_link_button": "Vis mine samtykker",
    "mine_link_title": "Lenken virker ikke",
    "mine_link_invalid": "Lenken er for gammel eller ikke hel. Be om en ny lenke.",
    "mine_lead": "Dette har du sagt ja og nei til, med teksten du sa ja til. Du kan trekke "
    "tilbake et samtykke like enkelt som du ga det.",
    "mine_status_granted": "Du har sagt ja",
    "mine_status_not_granted": "Du har ikke sagt ja",
    "mine_version": "Tekstversjon: {version}",
    "mine_withdraw_button": "Trekk tilbake samtykket til «{name}»",
    "mine_grant_button": "Gi samtykke til «{name}»",
    "mine_done_granted": "Takk. Vi har registrert samtykket ditt.",
    "mine_done_withdrawn": "Samtykket er trukket tilbake. Vi har registrert det.",
    "mine_none": "Det finnes ingen samtykker du kan gi eller trekke tilbake med e-postadressen.",
    "mine_cookies_note": "Valg om informasjonskapsler endrer du på nettstedet, med lenken "
    "«Innstillinger for informasjonskapsler».",
    "mine_signout_button": "Logg ut",
    "mine_csrf_title": "Skjemaet er utløpt",
    "mine_csrf": "Gå tilbake, last siden på nytt og prøv igjen.",
    "mine_bad_title": "Det gikk ikke",
    "mine_bad": "Dette formålet finnes ikke, eller det krever ikke samtykke.",
    "mine_back": "Tilbake til mine samtykker",
    "mine_reconsent_notice": "Teksten er endret siden du sa ja. Samtykket ditt til den gamle "
    "teksten slutter å gjelde {cutoff}. Les den nye teksten og si ja til den hvis du vil "
    "fortsette.",
    "mine_reconsent_button": "Si ja til den nye teksten for «{name}»",
    "mine_new_text_label": "Den nye teksten:",
    "mine_superseded": "Teksten er endret, og samtykket ditt til den gamle teksten gjelder "
    "ikke lenger.",
    # admin: the audit page's check of the ledger
    "ledger_ok": "Samtykkeloggen er intakt: {n} beslutninger kontrollert.",
    "ledger_tampered": "Samtykkeloggen er endret ved beslutning {seq}{named}. {n} beslutninger "
    "før den er i orden.",
    # admin: overview
    "consent_heading": "Samtykker",
    "consent_lead": "Hvem som har sagt ja og nei til hva, med teksten de fikk se. Hver beslutning "
    "ligger i en kjede som viser om noe er endret i ettertid.",
    "consent_ledger_size": "{n} beslutninger i samtykkeloggen, {subjects} personer eller "
    "besøkende.",
    "consent_no_register": "Ingen behandlingsprotokoll er tatt i bruk ennå, så det finnes ingen "
    "samtykkeformål.",
    "consent_no_purposes": "Behandlingsprotokollen har ingen samtykkeformål.",
    "col_purpose": "Formål",
    "col_needs_consent": "Krever samtykke",
    "col_granted": "Gitt nå",
    "col_refused": "Nei / trukket",
    "col_trend": "Siste 90 dager",
    "col_text_versions": "Gjeldende tekst",
    "col_when": "Tidspunkt",
    "col_decision": "Beslutning",
    "col_method": "Hvordan",
    "col_where": "Hvor",
    "col_network": "Nettverk",
    "col_text": "Tekst som ble vist",
    "col_version": "Versjon",
    "col_language": "Språk",
    "col_valid_from": "Gjelder fra",
    "col_hash": "SHA-256",
    "col_cutoff": "Skjæringsdato",
    "col_affected": "Berørte",
    "col_mailed": "Fikk e-post",
    "consent_details": "Detaljer",
    "chart_title": "Samtykker for {purpose}, siste {days} dager",
    "chart_desc": "Gitt: {granted_first} til {granted_last}. Nei eller trukket: {refused_first} "
    "til {refused_last}.",
    "chart_granted": "Gitt",
    "chart_refused": "Nei eller trukket",
    "chart_data": "Tallene bak grafen",
    "col_day": "Dag",
    "subject_lookup_heading": "Finn en person eller besøkende",
    "subject_lookup_label": "Referanse",
    "subject_lookup_hint": "account:ID, e-postadresse, emailhash:… eller visitor:…",
    "subject_lookup_button": "Vis historikk",
    # admin: purpose
    "purpose_heading": "Samtykkeformål: {name}",
    "purpose_reason": "Hvorfor samtykke: {reason}",
    "purpose_no_consent": "Dette formålet krever ikke samtykke: {reason}",
    "purpose_versions_heading": "Tekstversjoner",
    "purpose_campaigns_heading": "Nytt samtykke etter endret tekst",
    "purpose_campaigns_none": "Ingen har blitt spurt på nytt for dette formålet.",
    "reconsent_heading": "Spør på nytt",
    "reconsent_help": "Bruk dette når teksten er endret vesentlig. De som sa ja til en eldre "
    "tekst, blir spurt på nytt (banneret spør av seg selv, og de vi har e-postadressen til, "
    "får en e-post). Fra skjæringsdatoen teller ikke det gamle samtykket lenger.",
    "reconsent_cutoff_label": "Skjæringsdato",
    "reconsent_mail_label": "Send e-post til dem vi har adressen til",
    "reconsent_button": "Spør på nytt",
    "reconsent_started": "{affected} hadde sagt ja til en eldre tekst. {mailed} får e-post. "
    "Det gamle samtykket slutter å gjelde {cutoff}.",
    "unknown_purpose": "Det finnes ikke noe samtykkeformål med den nøkkelen.",
    "reason_activity_consent": "en behandlingsaktivitet som viser til formålet, har samtykke "
    "som grunnlag",
    "reason_cookies": "informasjonskapsler utenfor kategorien «nødvendige» viser til formålet",
    "reason_declared": "det er oppgitt som et samtykkeformål",
    "reason_other_basis": "behandlingsaktivitetene bygger på {bases}, ikke på samtykke",
    "reason_needs_consent": "behandlingsprotokollen sier at formålet bygger på samtykke",
    "reason_no_consent": "behandlingsprotokollen sier at formålet ikke bygger på samtykke",
    "reconsent_error": "Kunne ikke spørre på nytt. Se over skjemaet og prøv igjen.",
    "reconsent_error_cutoff_format": "Skriv skjæringsdatoen som ÅÅÅÅ-MM-DD.",
    "reconsent_error_cutoff_past": "Skjæringsdatoen {cutoff} har vært.",
    "reconsent_error_only_current": "Formålet har bare den gjeldende teksten, så det er ingen "
    "å spørre på nytt. Endre teksten i behandlingsprotokollen og ta den i bruk først.",
    "reconsent_error_no_consent": "Dette formålet krever ikke samtykke, så ingen kan spørres "
    "på nytt.",
    # admin: subject
    "subject_heading": "Samtykkehistorikk",
    "subject_ref": "Referanse: {ref}",
    "subject_none": "Ingen beslutninger er registrert for denne referansen.",
    "subject_audited": "Oppslaget er ført i revisjonsloggen.",
    "subject_link_label": "Lenke til historikken (uten e-postadresse):",
    "subject_error": "Referansen kan ikke brukes.",
    "subject_error_empty": "Skriv en referanse.",
    "subject_error_too_long": "Referansen er lengre enn {n} tegn.",
    "subject_error_form": "Skriv referansen som account:ID, en e-postadresse, emailhash:HEX "
    "eller visitor:ID.",
    "subject_error_email": "E-postadressen er ikke gyldig.",
    "subject_error_emailhash": "En emailhash-referanse er 64 heksadesimale tegn.",
    "subject_error_visitor": "En besøks-ID er 16–64 tegn: bokstaver, sifre, «-» og «_».",
    "subject_error_account": "En konto-ID er 1–150 tegn uten mellomrom eller kontrolltegn.",
    "subject_error_address_in_url": "En e-postadresse slås ikke opp fra en lenke (adressen "
    "havner da i nettleserhistorikk og logger). Skriv den i skjemaet.",
    "method_banner_accept_all": "banner, godta alle",
    "method_banner_reject_all": "banner, avvis alle",
    "method_banner_custom": "banner, tilpasset",
    "method_form_checkbox": "avkrysning i skjema",
    "method_double_opt_in": "bekreftet på e-post",
    "method_gpc": "Global Privacy Control",
    "method_api": "API",
    "method_unsubscribe": "avmelding",
    "text_intact": "Teksten stemmer med hashen.",
    "text_broken": "Teksten stemmer IKKE med hashen i beslutningen.",
    "proof_warning_label": "Advarsel:",
    "proof_text_missing": "Tekstversjon {version} MANGLER. Teksten som ble vist, kan ikke "
    "legges fram som bevis. Trykk «Kontroller loggen» på siden Revisjonslogg.",
    "proof_text_mismatch": "Tekstversjon {version} stemmer IKKE med hashen i beslutningen. "
    "Teksten under er kanskje ikke den som ble vist. Trykk «Kontroller loggen» på siden "
    "Revisjonslogg.",
    "decision_grant": "ja",
    "decision_deny": "nei",
    "decision_withdraw": "trukket",
    "decision_object": "protest",
    "status_granted": "gitt",
    "status_denied": "nei",
    "status_withdrawn": "trukket",
    "status_objected": "protest",
    "status_expired": "utløpt",
    "status_superseded": "gammel tekst",
    "status_none": "ikke spurt",
    # admin: outbox
    "outbox_heading": "Utgående e-post",
    "outbox_lead": "E-post og SMS Datavern sender. Uten SMTP-tjener (DATAVERN_SMTP_HOST) blir "
    "meldingene liggende her, slik at du kan se og sende dem selv.",
    "outbox_counts": "Beholdt: {kept}. Venter: {pending}. Sendt: {sent}. Feilet: {failed}.",
    "outbox_empty": "Ingen meldinger.",
    "outbox_all": "Alle",
    "outbox_filter_label": "Vis",
    "outbox_show": "Vis",
    "col_created": "Laget",
    "col_to": "Til",
    "col_subject": "Emne",
    "col_channel": "Kanal",
    "col_status": "Status",
    "col_category": "Type",
    "outbox_status_kept": "beholdt",
    "outbox_status_pending": "venter",
    "outbox_status_sent": "sendt",
    "outbox_status_failed": "feilet",
    "outbox_message_heading": "Melding",
    "outbox_headers": "Topplinjer",
    "outbox_text": "Tekst",
    "outbox_error": "Feil: {error}",
    "outbox_back": "Tilbake til utgående e-post",
    "channel_email": "e-post",
    "channel_sms": "SMS",
    # public: confirm
    "confirm_title": "Bekreft påmeldingen",
    "confirm_intro": "Du er i ferd med å si ja til «{name}».",
    "confirm_text_label": "Dette sier du ja til:",
    "confirm_button": "Ja, bekreft",
    "confirm_done_title": "Takk, nå er du påmeldt",
    "confirm_done": "Vi har lagret at du sa ja til «{name}». Du kan trekke samtykket når som "
    "helst, like enkelt som du ga det.",
    "confirm_already": "Denne påmeldingen er allerede bekreftet. Du trenger ikke gjøre noe mer.",
    "confirm_expired": "Lenken er for gammel. Meld deg på igjen, så får du en ny lenke.",
    "confirm_unknown_title": "Lenken virker ikke",
    "confirm_unknown": "Vi finner ikke denne lenken. Kanskje den er kopiert ufullstendig, eller "
    "kanskje den er for gammel.",
    # public: unsubscribe
    "unsubscribe_title": "Meld deg av",
    "unsubscribe_intro": "Vil du melde deg av «{name}»?",
    "unsubscribe_button": "Ja, meld meg av",
    "unsubscribe_done_title": "Du er meldt av",
    "unsubscribe_done": "Vi har lagret at du har trukket samtykket til «{name}». Du får ikke "
    "flere slike e-poster fra oss.",
    "unsubscribe_invalid": "Lenken er ikke gyldig. Kopier hele lenken fra e-posten, eller ta "
    "kontakt med oss.",
}

EN: dict[str, str] = {
    # public: my consents
    "mine_title": "My consents",
    "mine_signin_lead": "Enter your e-mail address and we will send you a link to the consents "
    "linked to it. There you can withdraw a consent or give it again.",
    "mine_email_label": "E-mail address",
    "mine_signin_button": "Send me the link",
    "mine_bad_address": "Enter a valid e-mail address.",
    "mine_expired": "Your session has expired. Ask for a new link.",
    "mine_sent_title": "Check your e-mail",
    "mine_sent": "If the address can receive e-mail, a link is on its way. It works for 30 "
    "minutes.",
    "mine_link_lead": "Press the button to see your consents in this browser.",
    "mine_link_button": "Show my consents",
    "mine_link_title": "The link does not work",
    "mine_link_invalid": "The link is too old or incomplete. Ask for a new link.",
    "mine_lead": "What you said yes and no to, with the text you agreed to. You can withdraw "
    "a consent as easily as you gave it.",
    "mine_status_granted": "You said yes",
    "mine_status_not_granted": "You have not said yes",
    "mine_version": "Text version: {version}",
    "mine_withdraw_button": "Withdraw my consent to \u201c{name}\u201d",
    "mine_grant_button": "Give my consent to \u201c{name}\u201d",
    "mine_done_granted": "Thank you. We have recorded your consent.",
    "mine_done_withdrawn": "Your consent is withdrawn. We have recorded it.",
    "mine_none": "There are no consents you can give or withdraw with your e-mail address.",
    "mine_cookies_note": "Cookie choices are changed on the website, with the \u201cCookie "
    "settings\u201d link.",
    "mine_signout_button": "Sign out",
    "mine_csrf_title": "The form has expired",
    "mine_csrf": "Go back, reload the page and try again.",
    "mine_bad_title": "That did not work",
    "mine_bad": "This purpose does not exist, or it needs no consent.",
    "mine_back": "Back to my consents",
    "mine_reconsent_notice": "The text has changed since you said yes. Your consent to the "
    "old text stops counting on {cutoff}. Read the new text and agree to it if you want to "
    "continue.",
    "mine_reconsent_button": "Agree to the new text for “{name}”",
    "mine_new_text_label": "The new text:",
    "mine_superseded": "The text has changed, and your consent to the old text no longer counts.",
    "ledger_ok": "The consent ledger is intact: {n} records verified.",
    "ledger_tampered": "The consent ledger was altered at record {seq}{named}. The {n} records "
    "before it are sound.",
    "consent_heading": "Consents",
    "consent_lead": "Who said yes and no to what, with the text they were shown. Every decision "
    "is in a chain that shows whether anything was changed afterwards.",
    "consent_ledger_size": "{n} decisions in the consent ledger, {subjects} people or visitors.",
    "consent_no_register": "No register has been applied yet, so there are no consent purposes.",
    "consent_no_purposes": "The register has no consent purposes.",
    "col_purpose": "Purpose",
    "col_needs_consent": "Needs consent",
    "col_granted": "Granted now",
    "col_refused": "Refused / withdrawn",
    "col_trend": "Last 90 days",
    "col_text_versions": "Current text",
    "col_when": "Time",
    "col_decision": "Decision",
    "col_method": "How",
    "col_where": "Where",
    "col_network": "Network",
    "col_text": "Text shown",
    "col_version": "Version",
    "col_language": "Language",
    "col_valid_from": "Valid from",
    "col_hash": "SHA-256",
    "col_cutoff": "Cut-off date",
    "col_affected": "Affected",
    "col_mailed": "E-mailed",
    "consent_details": "Details",
    "chart_title": "Consents for {purpose}, last {days} days",
    "chart_desc": "Granted: {granted_first} to {granted_last}. Refused or withdrawn: "
    "{refused_first} to {refused_last}.",
    "chart_granted": "Granted",
    "chart_refused": "Refused or withdrawn",
    "chart_data": "The figures behind the chart",
    "col_day": "Day",
    "subject_lookup_heading": "Find a person or visitor",
    "subject_lookup_label": "Reference",
    "subject_lookup_hint": "account:ID, an e-mail address, emailhash:… or visitor:…",
    "subject_lookup_button": "Show history",
    "purpose_heading": "Consent purpose: {name}",
    "purpose_reason": "Why consent: {reason}",
    "purpose_no_consent": "This purpose needs no consent: {reason}",
    "purpose_versions_heading": "Text versions",
    "purpose_campaigns_heading": "Asked again after a text change",
    "purpose_campaigns_none": "Nobody has been asked again for this purpose.",
    "reconsent_heading": "Ask again",
    "reconsent_help": "Use this when the text has changed materially. Those who said yes to an "
    "older text are asked again (the banner asks by itself, and those whose e-mail address we "
    "have get an e-mail). From the cut-off date the old consent no longer counts.",
    "reconsent_cutoff_label": "Cut-off date",
    "reconsent_mail_label": "E-mail those whose address we have",
    "reconsent_button": "Ask again",
    "reconsent_started": "{affected} had said yes to an older text. {mailed} get an e-mail. The "
    "old consent stops counting on {cutoff}.",
    "unknown_purpose": "There is no consent purpose with that key.",
    "reason_activity_consent": "a processing activity that names it rests on consent",
    "reason_cookies": "cookies outside the “necessary” category name it",
    "reason_declared": "it is declared as a consent purpose",
    "reason_other_basis": "its processing activities rest on {bases}, not on consent",
    "reason_needs_consent": "the register says it rests on consent",
    "reason_no_consent": "the register says it does not rest on consent",
    "reconsent_error": "Could not ask again. Check the form and try again.",
    "reconsent_error_cutoff_format": "Write the cut-off date as YYYY-MM-DD.",
    "reconsent_error_cutoff_past": "The cut-off date {cutoff} has passed.",
    "reconsent_error_only_current": "The purpose has only its current text, so there is nobody "
    "to ask again. Change the text in the register and apply it first.",
    "reconsent_error_no_consent": "This purpose needs no consent, so nobody can be asked again.",
    "subject_heading": "Consent history",
    "subject_ref": "Reference: {ref}",
    "subject_none": "No decisions are recorded for this reference.",
    "subject_audited": "This look-up is in the audit log.",
    "subject_link_label": "Link to this history (without the e-mail address):",
    "subject_error": "The reference cannot be used.",
    "subject_error_empty": "Enter a reference.",
    "subject_error_too_long": "The reference is longer than {n} characters.",
    "subject_error_form": "Write the reference as account:ID, an e-mail address, emailhash:HEX "
    "or visitor:ID.",
    "subject_error_email": "The e-mail address is not valid.",
    "subject_error_emailhash": "An emailhash reference is 64 hexadecimal characters.",
    "subject_error_visitor": "A visitor id is 16–64 characters: letters, digits, “-” and “_”.",
    "subject_error_account": "An account id is 1–150 characters without spaces or control "
    "characters.",
    "subject_error_address_in_url": "An e-mail address is not looked up from a link (the "
    "address would end up in browser history and logs). Enter it in the form.",
    "method_banner_accept_all": "banner, accept all",
    "method_banner_reject_all": "banner, reject all",
    "method_banner_custom": "banner, customised",
    "method_form_checkbox": "form checkbox",
    "method_double_opt_in": "confirmed by e-mail",
    "method_gpc": "Global Privacy Control",
    "method_api": "API",
    "method_unsubscribe": "unsubscribe",
    "text_intact": "The text matches its hash.",
    "text_broken": "The text does NOT match the hash in the decision.",
    "proof_warning_label": "Warning:",
    "proof_text_missing": "Text version {version} is MISSING. The text that was shown cannot be "
    "produced as proof. Press \u201cVerify the log\u201d on the Audit log page.",
    "proof_text_mismatch": "Text version {version} does NOT match the hash in the record. The "
    "text below may not be the one that was shown. Press \u201cVerify the log\u201d on the "
    "Audit log page.",
    "decision_grant": "yes",
    "decision_deny": "no",
    "decision_withdraw": "withdrawn",
    "decision_object": "objection",
    "status_granted": "granted",
    "status_denied": "refused",
    "status_withdrawn": "withdrawn",
    "status_objected": "objected",
    "status_expired": "expired",
    "status_superseded": "old text",
    "status_none": "not asked",
    "outbox_heading": "Outbox",
    "outbox_lead": "E-mail and SMS that Datavern sends. Without an SMTP server "
    "(DATAVERN_SMTP_HOST) messages stay here, so that you can see and send them yourself.",
    "outbox_counts": "Kept: {kept}. Waiting: {pending}. Sent: {sent}. Failed: {failed}.",
    "outbox_empty": "No messages.",
    "outbox_all": "All",
    "outbox_filter_label": "Show",
    "outbox_show": "Show",
    "col_created": "Created",
    "col_to": "To",
    "col_subject": "Subject",
    "col_channel": "Channel",
    "col_status": "Status",
    "col_category": "Kind",
    "outbox_status_kept": "kept",
    "outbox_status_pending": "waiting",
    "outbox_status_sent": "sent",
    "outbox_status_failed": "failed",
    "outbox_message_heading": "Message",
    "outbox_headers": "Headers",
    "outbox_text": "Text",
    "outbox_error": "Error: {error}",
    "outbox_back": "Back to the outbox",
    "channel_email": "e-mail",
    "channel_sms": "SMS",
    "confirm_title": "Confirm your subscription",
    "confirm_intro": "You are about to say yes to \u201c{name}\u201d.",
    "confirm_text_label": "This is what you agree to:",
    "confirm_button": "Yes, confirm",
    "confirm_done_title": "Thank you, you are signed up",
    "confirm_done": "We have recorded that you said yes to \u201c{name}\u201d. You can withdraw "
    "your consent at any time, as easily as you gave it.",
    "confirm_already": "This subscription is already confirmed. You need do nothing more.",
    "confirm_expired": "The link is too old. Sign up again to get a new link.",
    "confirm_unknown_title": "The link does not work",
    "confirm_unknown": "We cannot find this link. Perhaps it was copied incompletely, or it is "
    "too old.",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_intro": "Do you want to unsubscribe from \u201c{name}\u201d?",
    "unsubscribe_button": "Yes, unsubscribe me",
    "unsubscribe_done_title": "You are unsubscribed",
    "unsubscribe_done": "We have recorded that you withdrew your consent to \u201c{name}\u201d. "
    "You will get no more such e-mails from us.",
    "unsubscribe_invalid": "The link is not valid. Copy the whole link from the e-mail, or "
    "contact us.",
}

MESSAGES: dict[str, dict[str, str]] = {"nb": NB, "en": EN}


def translate(lang: str, key: str, /, **values: Any) -> str:
    """A consent string, else the console's own catalog (KeyError if in neither)."""
    catalog = MESSAGES.get(lang, NB)
    if key in catalog:
        text = catalog[key]
        return text.format(**values) if values else text
    from datavern.web.messages import translate as console

    return console(lang, key, **values)
