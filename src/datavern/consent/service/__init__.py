"""Consent use cases: texts, the ledger, state, "may I process?", the banner, double
opt-in, one-click unsubscribe, re-consent, proof and verification.

Every function takes a session and works in the caller's transaction. Subjects
are kept by reference (``account:ID``, ``visitor:ID``, ``emailhash:HEX``): an
e-mail address is turned into a keyed hash before anything is stored, and no
function here logs a subject or a value. See docs/consent.md.

Modules, one concern each: subjects (keys, ``Subject``, ``email_hash``), texts (the
register's purposes and current texts, ``Context``, the register head), checks (input
problems, purposes, collection points), state (``state``, ``may_process``, campaigns
cache, restriction), ledger (``prepare``, ``record``, ``append_many``), proof (``proof``,
``verify_ledger``), banner (config, nonces, posts), optin (double opt-in, one-click
unsubscribe), reconsent (campaigns), figures (admin page figures), purge (expired nonces
and opt-ins); statements holds the prepared reads. Callers use this package's names
(``service.X``): a test patches ``service.append_many`` here, where the group appender
looks it up.
"""

from datavern.consent.service.banner import (
    BANNER_NONCE_LIFETIME,
    BANNER_POST_METHODS,
    CATEGORY_ORDER,
    CATEGORY_TEXTS,
    BannerResult,
    ConsentRefused,
    banner_config,
    banner_post,
    banner_purposes,
    issue_nonce,
    spend_nonce,
)
from datavern.consent.service.checks import MAX_COLLECTION_POINT
from datavern.consent.service.figures import (
    PurposeFigures,
    ledger_size,
    purpose_figures,
    subjects_count,
)
from datavern.consent.service.ledger import (
    RecordInput,
    RecordView,
    append_many,
    prepare,
    record,
    withdraw,
)
from datavern.consent.service.optin import (
    OPT_IN_LIFETIME,
    PUBLIC_PATHS,
    OptInView,
    confirm,
    marketing_headers,
    optin_view,
    public_url,
    read_unsubscribe_token,
    subscribe,
    unsubscribe,
    unsubscribe_purpose_name,
    unsubscribe_token,
)
from datavern.consent.service.proof import LedgerCheck, ProofItem, history, proof, verify_ledger
from datavern.consent.service.purge import purge_expired
from datavern.consent.service.reconsent import (
    RECONSENT_LINK_GRACE,
    CampaignView,
    _cutoff_moment,
    campaign_affected,
    list_campaigns,
    start_reconsent,
)
from datavern.consent.service.state import (
    MayProcess,
    Prefetched,
    StateView,
    forget_caches,
    may_process,
    read_keys,
    restriction_column,
    single_restriction_hash,
    state,
)
from datavern.consent.service.subjects import Subject, _key, email_hash, subject_of
from datavern.consent.service.texts import (
    ConsentTextView,
    Context,
    Head,
    context,
    context_at,
    get_text,
    head_columns,
    head_of,
    list_texts,
    read_head,
    sync_texts,
)

__all__ = [
    "BANNER_NONCE_LIFETIME",
    "BANNER_POST_METHODS",
    "CATEGORY_ORDER",
    "CATEGORY_TEXTS",
    "MAX_COLLECTION_POINT",
    "OPT_IN_LIFETIME",
    "PUBLIC_PATHS",
    "RECONSENT_LINK_GRACE",
    "BannerResult",
    "CampaignView",
    "ConsentRefused",
    "ConsentTextView",
    "Context",
    "Head",
    "LedgerCheck",
    "MayProcess",
    "OptInView",
    "Prefetched",
    "ProofItem",
    "PurposeFigures",
    "RecordInput",
    "RecordView",
    "StateView",
    "Subject",
    "_cutoff_moment",
    "_key",
    "append_many",
    "banner_config",
    "banner_post",
    "banner_purposes",
    "campaign_affected",
    "confirm",
    "context",
    "context_at",
    "email_hash",
    "forget_caches",
    "get_text",
    "head_columns",
    "head_of",
    "history",
    "issue_nonce",
    "ledger_size",
    "list_campaigns",
    "list_texts",
    "marketing_headers",
    "may_process",
    "optin_view",
    "prepare",
    "proof",
    "public_url",
    "purge_expired",
    "purpose_figures",
    "read_head",
    "read_keys",
    "read_unsubscribe_token",
    "record",
    "restriction_column",
    "single_restriction_hash",
    "spend_nonce",
    "start_reconsent",
    "state",
    "subject_of",
    "subjects_count",
    "subscribe",
    "sync_texts",
    "unsubscribe",
    "unsubscribe_purpose_name",
    "unsubscribe_token",
    "verify_ledger",
    "withdraw",
]
