"""The strings of the retention pages, in bokmål and English.

Kept beside the feature (the console's own catalog is web/messages.py); the pages'
``t()`` looks here first, then in the console catalog. A test checks that both
languages hold the same keys and that every key a template uses exists.
"""

from __future__ import annotations

from typing import Any

NB: dict[str, str] = {
    "retention_heading": "Sletting og sletteforbud",
    "retention_lead": "Når opplysninger slettes fordi de ikke lenger trengs, og hva som må "
    "bevares uansett. Slettereglene står i behandlingsprotokollen; datavern retention run "
    "(eller den daglige planleggeren) gjennomfører dem i små omganger.",
    "retention_no_register": "Ingen behandlingsprotokoll er tatt i bruk ennå.",
    "retention_rules_heading": "Sletteregler",
    "retention_rules_none": "Behandlingsprotokollen har ingen sletteregler (retention_rules).",
    "col_rule": "Regel",
    "col_collection": "Samling",
    "col_kept": "Oppbevares",
    "col_then": "Deretter",
    "col_legal_basis": "Begrunnelse",
    "retention_then_delete": "slettes",
    "retention_then_anonymise": "anonymiseres ({fields})",
    "retention_then_aggregate": "telles opp og slettes",
    "retention_after_date": "{period} etter {field}",
    "retention_after_year": "{period} etter utgangen av regnskapsåret for {field}",
    "period_years": "{n} år",
    "period_year": "1 år",
    "period_months": "{n} måneder",
    "period_month": "1 måned",
    "period_weeks": "{n} uker",
    "period_week": "1 uke",
    "period_days": "{n} dager",
    "period_day": "1 dag",
    "holds_heading": "Sletteforbud",
    "holds_lead": "Et sletteforbud holder opplysninger tilbake fra både slettereglene og krav "
    "om sletting, så lenge det varer: ved tvist, etter pålegg fra Skatteetaten eller en annen "
    "myndighet, eller under en undersøkelse.",
    "holds_none": "Ingen sletteforbud gjelder nå.",
    "col_hold": "Nr.",
    "col_scope": "Omfang",
    "col_kind": "Type",
    "col_covers": "Gjelder",
    "col_reason": "Begrunnelse",
    "col_authority": "Pålagt av",
    "col_from": "Fra",
    "col_until": "Til og med",
    "until_ended": "til det avsluttes",
    "hold_scope_subject": "én person",
    "hold_scope_records": "utvalgte rader",
    "hold_scope_collection": "hele samlingen",
    "hold_kind_litigation": "tvist eller rettskrav",
    "hold_kind_authority_order": "pålegg fra myndighet",
    "hold_kind_tax_authority_order": "pålegg fra skattemyndighetene",
    "hold_kind_investigation": "undersøkelse",
    "hold_kind_other": "annet",
    "hold_covers_subject": "Alt om personen ({identity})",
    "hold_covers_subject_in": "Personen ({identity}) i {collection}",
    "hold_covers_records": "{collection} der {conditions}",
    "end_hold": "Avslutt",
    "end_hold_reason": "Hvorfor avsluttes det? (valgfritt)",
    "end_hold_label": "Avslutt sletteforbud {id}",
    "add_hold_heading": "Nytt sletteforbud",
    "hold_scope_label": "Omfang",
    "hold_kind_label": "Type",
    "hold_collection_label": "Samling",
    "hold_collection_hint": "Påkrevd for utvalgte rader og hele samlinger. For én person: "
    "la stå tomt for alle samlinger.",
    "hold_collection_any": "Alle samlinger",
    "hold_where_label": "Vilkår for utvalget",
    "hold_where_hint": "Ett vilkår per linje, alle må gjelde: status=tvist, "
    "invoice_date<2020-01-01, customer_id in (7, 9), closed_at is null.",
    "hold_identity_label": "Personen",
    "hold_identity_hint": "For én person: navn=verdi, f.eks. email=ola@eksempel.no. Lagres "
    "kryptert og slettes når sletteforbudet avsluttes.",
    "hold_reason_label": "Begrunnelse (påkrevd)",
    "hold_reason_hint": "Hvorfor må opplysningene bevares? Skriv saksnummer eller henvisning "
    "i feltet under.",
    "hold_authority_label": "Pålagt av (valgfritt)",
    "hold_reference_label": "Saksnummer eller henvisning (valgfritt)",
    "hold_until_label": "Siste dag (valgfritt)",
    "hold_until_hint": "Uten dato varer sletteforbudet til det avsluttes her eller med "
    "datavern retention holds end.",
    "add_hold_button": "Legg inn sletteforbud",
    "hold_added": "Sletteforbud {id} er lagt inn.",
    "hold_ended": "Sletteforbud {id} er avsluttet. Det det holdt tilbake, slettes ved neste "
    "kjøring om slettefristen er passert.",
    "runs_heading": "Kjøringer",
    "runs_none": "Ingen kjøringer ennå. Kjør datavern retention run, eller start datavern "
    "scheduler.",
    "col_run": "Kjøring",
    "col_state": "Status",
    "col_started": "Startet",
    "col_deleted": "Slettet",
    "col_anonymised": "Anonymisert",
    "col_aggregated": "Opptalt",
    "col_held": "Holdt tilbake",
    "col_signature": "Signatur",
    "col_cutoff": "Skjæringsdato",
    "col_due": "Til sletting",
    "col_batches": "Omganger",
    "col_max_lock": "Lengste lås",
    "run_state_running": "pågår",
    "run_state_done": "fullført",
    "run_state_failed": "feilet",
    "run_state_abandoned": "forlatt",
    "signature_valid": "gyldig",
    "signature_invalid": "stemmer ikke",
    "signature_missing": "ingen rapport",
    "run_heading": "Kjøring {id}",
    "run_facts": "Dato {today}, behandlingsprotokoll versjon {version}, {seconds} sekunder, "
    "{batch} rader per omgang.",
    "run_resumed": "Kjøringen ble avbrutt og fortsatt {n} gang(er).",
    "run_signature_valid": "Signaturen er gyldig: rapporten er slik den ble signert.",
    "run_signature_invalid": "Signaturen stemmer ikke: rapporten er endret etter at den ble "
    "signert, eller signert med en annen nøkkel.",
    "run_no_report": "Kjøringen har ingen rapport ennå.",
    "run_signature_label": "Signatur (HMAC-SHA256)",
    "back_to_retention": "Tilbake til sletting",
    "seconds": "{n} s",
}

EN: dict[str, str] = {
    "retention_heading": "Retention and legal holds",
    "retention_lead": "When data is deleted because it is no longer needed, and what must be "
    "kept regardless. The rules are in the register; datavern retention run (or the daily "
    "scheduler) carries them out in small batches.",
    "retention_no_register": "No register has been applied yet.",
    "retention_rules_heading": "Retention rules",
    "retention_rules_none": "The register has no retention rules (retention_rules).",
    "col_rule": "Rule",
    "col_collection": "Collection",
    "col_kept": "Kept",
    "col_then": "Then",
    "col_legal_basis": "Why",
    "retention_then_delete": "deleted",
    "retention_then_anonymise": "anonymised ({fields})",
    "retention_then_aggregate": "counted and deleted",
    "retention_after_date": "{period} after {field}",
    "retention_after_year": "{period} after the end of the financial year of {field}",
    "period_years": "{n} years",
    "period_year": "1 year",
    "period_months": "{n} months",
    "period_month": "1 month",
    "period_weeks": "{n} weeks",
    "period_week": "1 week",
    "period_days": "{n} days",
    "period_day": "1 day",
    "holds_heading": "Legal holds",
    "holds_lead": "A legal hold keeps data from both the retention rules and erasure "
    "requests while it lasts: in a dispute, on an order from the tax authorities or another "
    "authority, or during an investigation.",
    "holds_none": "No legal hold is active.",
    "col_hold": "No.",
    "col_scope": "Scope",
    "col_kind": "Kind",
    "col_covers": "Covers",
    "col_reason": "Reason",
    "col_authority": "Ordered by",
    "col_from": "From",
    "col_until": "Until (incl.)",
    "until_ended": "until ended",
    "hold_scope_subject": "one person",
    "hold_scope_records": "selected rows",
    "hold_scope_collection": "whole collection",
    "hold_kind_litigation": "dispute or legal claim",
    "hold_kind_authority_order": "order from an authority",
    "hold_kind_tax_authority_order": "order from the tax authorities",
    "hold_kind_investigation": "investigation",
    "hold_kind_other": "other",
    "hold_covers_subject": "Everything about the person ({identity})",
    "hold_covers_subject_in": "The person ({identity}) in {collection}",
    "hold_covers_records": "{collection} where {conditions}",
    "end_hold": "End",
    "end_hold_reason": "Why does it end? (optional)",
    "end_hold_label": "End legal hold {id}",
    "add_hold_heading": "New legal hold",
    "hold_scope_label": "Scope",
    "hold_kind_label": "Kind",
    "hold_collection_label": "Collection",
    "hold_collection_hint": "Required for selected rows and whole collections. For one "
    "person: leave empty for every collection.",
    "hold_collection_any": "Every collection",
    "hold_where_label": "Conditions of the selection",
    "hold_where_hint": "One condition per line, all must hold: status=disputed, "
    "invoice_date<2020-01-01, customer_id in (7, 9), closed_at is null.",
    "hold_identity_label": "The person",
    "hold_identity_hint": "For one person: name=value, e.g. email=ola@example.no. Stored "
    "encrypted and deleted when the hold ends.",
    "hold_reason_label": "Reason (required)",
    "hold_reason_hint": "Why must the data be kept? Put a case number or reference in the "
    "field below.",
    "hold_authority_label": "Ordered by (optional)",
    "hold_reference_label": "Case number or reference (optional)",
    "hold_until_label": "Last day (optional)",
    "hold_until_hint": "Without a date the hold lasts until it is ended here or with "
    "datavern retention holds end.",
    "add_hold_button": "Add legal hold",
    "hold_added": "Legal hold {id} has been added.",
    "hold_ended": "Legal hold {id} has ended. What it kept is deleted at the next run if its "
    "retention period has passed.",
    "runs_heading": "Runs",
    "runs_none": "No runs yet. Run datavern retention run, or start datavern scheduler.",
    "col_run": "Run",
    "col_state": "State",
    "col_started": "Started",
    "col_deleted": "Deleted",
    "col_anonymised": "Anonymised",
    "col_aggregated": "Counted",
    "col_held": "Held",
    "col_signature": "Signature",
    "col_cutoff": "Cutoff",
    "col_due": "Due",
    "col_batches": "Batches",
    "col_max_lock": "Longest lock",
    "run_state_running": "running",
    "run_state_done": "done",
    "run_state_failed": "failed",
    "run_state_abandoned": "abandoned",
    "signature_valid": "valid",
    "signature_invalid": "does not match",
    "signature_missing": "no report",
    "run_heading": "Run {id}",
    "run_facts": "Day {today}, register version {version}, {seconds} seconds, {batch} rows "
    "per batch.",
    "run_resumed": "The run was interrupted and continued {n} time(s).",
    "run_signature_valid": "The signature is valid: the report is as it was signed.",
    "run_signature_invalid": "The signature does not match: the report was changed after it "
    "was signed, or signed with another key.",
    "run_no_report": "The run has no report yet.",
    "run_signature_label": "Signature (HMAC-SHA256)",
    "back_to_retention": "Back to retention",
    "seconds": "{n} s",
}

MESSAGES: dict[str, dict[str, str]] = {"nb": NB, "en": EN}


def translate(lang: str, key: str, /, **values: Any) -> str:
    """A retention string, else the console's own catalog (KeyError if in neither)."""
    catalog = MESSAGES.get(lang, NB)
    if key in catalog:
        text = catalog[key]
        return text.format(**values) if values else text
    from datavern.web.messages import translate as console

    return console(lang, key, **values)
