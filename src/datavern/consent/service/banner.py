"""Consent: the cookie banner: its categories and config, signed nonces (issued, then
spent once) and recording the choice a banner posts."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datavern.consent import rules
from datavern.consent.models import UsedNonce
from datavern.consent.rules import Decision, Method, RecordFields, SubjectError
from datavern.consent.service.checks import _collection_point, _Problems
from datavern.consent.service.ledger import RecordView, _append, _superseded_problem
from datavern.consent.service.state import _latest
from datavern.consent.service.subjects import _key
from datavern.consent.service.texts import ConsentTextView, Context, context, get_text
from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.errors import DatavernError, InvalidInput, Problem
from datavern.core.i18n import DEFAULT_LANG, LANGUAGES
from datavern.register.schema import CookieCategory, text_for

BANNER_NONCE_LIFETIME: Final = timedelta(hours=24)


class ConsentRefused(DatavernError):
    """A banner post that must not be recorded: forged, expired or replayed nonce.

    ``status`` is the HTTP status the API answers with; ``code`` names the case.
    """

    exit_code = 2

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


CATEGORY_ORDER: Final = [c.value for c in CookieCategory]


CATEGORY_TEXTS: Final = {
    "nb": {
        "necessary": (
            "Nødvendige",
            "Trengs for at nettstedet skal virke, for eksempel innlogging og sikkerhet. "
            "Disse kan ikke slås av.",
        ),
        "preferences": ("Innstillinger", "Husker valg du har gjort, som språk og visning."),
        "analytics": ("Statistikk", "Hjelper oss å forstå hvordan nettstedet brukes."),
        "marketing": ("Markedsføring", "Brukes til å måle og tilpasse annonser og kampanjer."),
    },
    "en": {
        "necessary": (
            "Necessary",
            "Needed for the website to work, such as sign-in and security. These cannot be "
            "switched off.",
        ),
        "preferences": ("Preferences", "Remember choices you have made, such as language."),
        "analytics": ("Statistics", "Help us understand how the website is used."),
        "marketing": ("Marketing", "Used to measure and tailor adverts and campaigns."),
    },
}


def _banner_key() -> bytes:
    return _key("datavern consent banner nonce v1")


def issue_nonce(lang: str, now: datetime | None = None) -> tuple[str, datetime]:
    now = now or clock.now()
    expires = now + BANNER_NONCE_LIFETIME
    token = rules.sign_token(
        _banner_key(),
        "banner",
        {"n": secrets.token_urlsafe(18), "exp": int(expires.timestamp()), "lang": lang},
    )
    return token, expires


def _purpose_category(categories: Sequence[str]) -> str | None:
    nonessential = [c for c in categories if c != CookieCategory.necessary.value]
    if not nonessential:
        return None
    return max(nonessential, key=CATEGORY_ORDER.index)


def banner_purposes(ctx: Context) -> dict[str, str]:
    """Consent purposes the banner asks about, with the category each belongs to."""
    out: dict[str, str] = {}
    for key, info in ctx.index.purposes.items():
        category = _purpose_category(info.categories)
        if category is not None and info.needs_consent:
            out[key] = category
    return out


def banner_config(
    session: Session, lang: str, *, gpc: bool = False, base_url: str | None = None
) -> dict[str, Any]:
    """What the banner shows: categories, services (the register's cookies), the texts
    with their current version ids, and a fresh signed nonce for the post."""
    if lang not in LANGUAGES:
        raise InvalidInput(Problem(f"unknown language {lang!r}; expected nb or en", path="lang"))
    ctx = context(session)
    register = ctx.register
    languages: list[str] = [str(lang) for lang in register.organisation.languages]
    by_purpose = banner_purposes(ctx)
    purposes: list[dict[str, Any]] = []
    for key, category in sorted(
        by_purpose.items(), key=lambda kv: (CATEGORY_ORDER.index(kv[1]), kv[0])
    ):
        version = ctx.current_for(key, lang)
        if version is None:
            continue
        services = [
            _cookie(c, lang, languages) for c in register.cookies if c.consent_purpose == key
        ]
        purposes.append(
            {
                "key": key,
                "category": category,
                "name": version.content.get("name"),
                "text": version.content.get("text"),
                "withdraw": version.content.get("withdraw"),
                "text_version": {"id": version.id, "hash": version.content_hash},
                "services": services,
            }
        )
    categories: list[dict[str, Any]] = []
    for category in CATEGORY_ORDER:
        cookies = [c for c in register.cookies if c.category.value == category]
        members = [p for p in purposes if p["category"] == category]
        if not cookies and not members:
            continue
        name, description = CATEGORY_TEXTS.get(lang, CATEGORY_TEXTS[DEFAULT_LANG])[category]
        if category == CookieCategory.necessary.value:
            # Nothing to choose: one entry per provider lists what is always set.
            providers = sorted({c.provider for c in cookies})
            services = [
                {
                    "key": f"necessary:{provider}",
                    "name": provider,
                    "provider": provider,
                    "description": "",
                    "cookies": [
                        _cookie(c, lang, languages) for c in cookies if c.provider == provider
                    ],
                }
                for provider in providers
            ]
        else:
            # One service per consent purpose: the unit the ledger records a choice for.
            services = [
                {
                    "key": p["key"],
                    "name": p["name"],
                    "description": p["text"],
                    "provider": ", ".join(sorted({s["provider"] for s in p["services"]})),
                    "text_version": p["text_version"]["id"],
                    "cookies": p["services"],
                }
                for p in members
            ]
        categories.append(
            {
                "key": category,
                "name": name,
                "description": description,
                "required": category == CookieCategory.necessary.value,
                "purposes": [p["key"] for p in members],
                "services": services,
                "cookies": [_cookie(c, lang, languages) for c in cookies],
            }
        )
    nonce, expires = issue_nonce(lang)
    base = (base_url or get_settings().base_url).rstrip("/")
    notice = {"nb": "/personvern", "en": "/privacy"}[lang]
    versions = {p["key"]: p["text_version"]["id"] for p in purposes}
    return {
        "lang": lang,
        "languages": languages,
        "organisation": register.organisation.name,
        "privacy_url": base + notice,
        "categories": categories,
        "purposes": purposes,
        # The text version shown per purpose: the banner asks again when one changes,
        # and posts these back as proof of what was shown.
        "text_versions": versions,
        "nonce": nonce,
        "nonce_expires_at": expires.isoformat(),
        "post_url": base + "/api/v1/consent/banner",
        "cookie_max_age_days": rules.BANNER_CONSENT_LIFETIME.days,
        "gpc": gpc,
    }


def _cookie(c: Any, lang: str, languages: list[str]) -> dict[str, Any]:
    return {
        "name": c.name,
        "provider": c.provider,
        "purpose": text_for(c.purpose, lang, languages)
        or text_for(c.purpose, languages[0], languages),
        "duration": c.duration,
        "third_party": c.third_party,
        "category": c.category.value,
    }


@dataclass(frozen=True)
class BannerResult:
    visitor_id: str
    records: list[RecordView]
    nonce: str
    nonce_expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "visitor_id": self.visitor_id,
            "records": [
                {
                    "id": r.id,
                    "purpose": r.purpose,
                    "decision": r.decision,
                    "text_version": r.text_version_id,
                }
                for r in self.records
            ],
            "expires_at": next(
                (r.expires_at.isoformat() for r in self.records if r.expires_at), None
            ),
            "nonce": self.nonce,
            "nonce_expires_at": self.nonce_expires_at.isoformat(),
        }


BANNER_POST_METHODS: Final = {
    "accept_all": Method.banner_accept_all,
    "reject_all": Method.banner_reject_all,
    "custom": Method.banner_custom,
    "gpc": Method.gpc,
    "banner_accept_all": Method.banner_accept_all,
    "banner_reject_all": Method.banner_reject_all,
    "banner_custom": Method.banner_custom,
}


def spend_nonce(session: Session, nonce: str) -> dict[str, Any]:
    """Verify a banner nonce and mark it used; ConsentRefused if forged, expired or replayed."""
    now = clock.now()
    try:
        payload = rules.verify_token(_banner_key(), "banner", nonce, now)
    except rules.TokenError as exc:
        if exc.kind == "expired":
            raise ConsentRefused(
                400, "nonce_expired", "the nonce has expired: fetch the banner config again"
            ) from None
        raise ConsentRefused(
            403, "nonce_invalid", "the nonce was not issued by this server"
        ) from None
    key = hashlib.sha256(str(payload.get("n", "")).encode()).hexdigest()
    if session.get(UsedNonce, key) is not None:
        raise ConsentRefused(
            409, "nonce_used", "the nonce has been used: each post needs a new one"
        )
    session.add(
        UsedNonce(
            nonce=key,
            used_at=now,
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ConsentRefused(
            409, "nonce_used", "the nonce has been used: each post needs a new one"
        ) from None
    return payload


def banner_post(
    session: Session,
    body: Mapping[str, Any],
    *,
    ip: str | None,
    user_agent: str | None,
    gpc_header: bool = False,
) -> BannerResult:
    """Record the banner's choice: one record per purpose, all or nothing.

    ``body`` (what banner.js posts): ``nonce``; ``method`` (accept_all,
    reject_all, custom, gpc); ``services`` {purpose: true/false} for every purpose
    the banner asks about (``choices`` is accepted too), and ``categories``
    {category: true/false}, which decides for a purpose the services leave out;
    ``text_versions`` {purpose: version id shown}; ``lang``; optional
    ``visitor_id`` and ``url`` (the page, the collection point).

    A false choice for a purpose the visitor had granted is recorded as a
    withdrawal, otherwise as a refusal. The Sec-GPC header (``gpc_header``) turns a
    post without explicit grants into method ``gpc``; an explicit grant the visitor
    clicked still counts (the choice is theirs; GPC is the default, not a lock).
    """
    problems = _Problems()
    nonce = body.get("nonce")
    if not isinstance(nonce, str):
        raise ConsentRefused(403, "nonce_missing", "the post carries no nonce")
    ctx = context(session)
    asked = banner_purposes(ctx)
    method_text = body.get("method")
    method = BANNER_POST_METHODS.get(method_text) if isinstance(method_text, str) else None
    if method is None:
        problems.add("method must be one of " + ", ".join(BANNER_POST_METHODS), "method")
    lang = body.get("lang", ctx.languages[0])
    if lang not in LANGUAGES:
        problems.add("lang must be nb or en", "lang")
        lang = ctx.languages[0]
    visitor = body.get("visitor_id")
    if visitor is None:
        visitor = secrets.token_urlsafe(16)
    elif not isinstance(visitor, str):
        problems.add("visitor_id must be text", "visitor_id")
    else:
        try:
            rules.parse_subject(f"visitor:{visitor}")
        except SubjectError as exc:
            problems.add(str(exc), "visitor_id")
    # The page: origin and path only, as the banner sends it (rules.clean_collection_point).
    collection_point = _collection_point(
        body.get("url", body.get("collection_point")), "url", problems
    )
    field_name = "services" if "services" in body else "choices"
    choices = body.get(field_name)
    versions = body.get("text_versions") or {}
    if not isinstance(choices, dict):
        problems.add(f"{field_name} must be an object {{purpose: true|false}}", field_name)
        choices = {}
    categories = body.get("categories") or {}
    if not isinstance(categories, dict):
        problems.add("categories must be an object {category: true|false}", "categories")
        categories = {}
    choices = dict(choices)
    for purpose, category in asked.items():
        if purpose not in choices and isinstance(categories.get(category), bool):
            choices[purpose] = categories[category]
    if not isinstance(versions, dict):
        problems.add("text_versions must be an object {purpose: version id}", "text_versions")
        versions = {}
    for purpose, value in choices.items():
        if purpose not in asked:
            if purpose in ctx.index.purposes:
                problems.add(
                    f"{purpose} is not a purpose the banner asks about", f"{field_name}.{purpose}"
                )
            else:
                problems.add(
                    str(rules.UnknownPurpose(purpose, sorted(asked))), f"{field_name}.{purpose}"
                )
        elif not isinstance(value, bool):
            problems.add("a choice is true or false", f"{field_name}.{purpose}")
    missing = sorted(set(asked) - set(choices))
    for purpose in missing:
        problems.add(
            "every purpose the banner asks about needs a choice; nothing is assumed",
            f"{field_name}.{purpose}",
        )
    resolved_versions: dict[str, ConsentTextView] = {}
    for purpose in choices:
        if purpose not in asked:
            continue
        vid = versions.get(purpose)
        if not isinstance(vid, str):
            problems.add("name the text version that was shown", f"text_versions.{purpose}")
            continue
        version = get_text(session, vid)
        if version is None:
            problems.add(f"unknown text version {vid!r}", f"text_versions.{purpose}")
        elif version.purpose != purpose:
            problems.add(
                f"text version {vid!r} belongs to {version.purpose}", f"text_versions.{purpose}"
            )
        else:
            resolved_versions[purpose] = version
            if choices[purpose] is True:
                stale = _superseded_problem(session, ctx, version)
                if stale is not None:
                    problems.add(stale, f"text_versions.{purpose}")
    grants = [p for p, v in choices.items() if v is True]
    if method is Method.banner_accept_all and len(grants) != len(choices):
        problems.add("accept all grants every purpose", "method")
    if method in (Method.banner_reject_all, Method.gpc) and grants:
        problems.add(f"{method.value} grants nothing", "method")
    if gpc_header and method is Method.banner_reject_all:
        method = Method.gpc
    # Nothing is recorded unless everything is valid and the nonce is fresh. The
    # nonce is checked before the other problems are reported, so that a forged
    # or replayed post is refused as such.
    spend_nonce(session, nonce)
    problems.raise_if_any()
    assert method is not None
    now = clock.now()
    subject_ref = f"visitor:{visitor}"
    current = _latest(session, subject_ref, list(choices))
    records: list[RecordView] = []
    for purpose in sorted(choices):
        version = resolved_versions[purpose]
        if choices[purpose]:
            decision = Decision.grant
        elif purpose in current and current[purpose].decision == Decision.grant.value:
            decision = Decision.withdraw
        else:
            decision = Decision.deny
        fields = RecordFields(
            id=uuid.uuid4().hex,
            subject=subject_ref,
            purpose=purpose,
            decision=decision.value,
            text_version_id=version.id,
            text_hash=version.content_hash,
            method=method.value,
            collection_point=collection_point,
            at=now,
            ip=rules.truncate_ip(ip),
            user_agent=rules.clip_user_agent(user_agent),
            expires_at=rules.default_expiry(method, now) if decision is Decision.grant else None,
            # The language of the text shown (the banner falls back to the register's
            # first language for a purpose without a text in the banner's language).
            language=version.language,
            recorded_by="banner",
        )
        records.append(_append(session, fields))
    next_nonce, next_exp = issue_nonce(str(lang), now)
    return BannerResult(str(visitor), records, next_nonce, next_exp)
