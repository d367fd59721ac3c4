"""My consents: a data subject sees and changes their own consents (art. 7(3)).

``/personvern/samtykker`` (bokmål) and ``/privacy/consents`` (English), next to
the privacy centre's other pages.

**Who is asking.** The person proves their e-mail address the way a double opt-in
does: they give the address, Datavern mails a sign-in link (valid 30 minutes), and
the link opens their consents in that browser for an hour. Consents recorded for
the address (``email:``/``emailhash:`` subjects: newsletters, review invitations,
other e-mail purposes) are the ones shown. The link and the cookie carry only the
address's keyed hash, signed with a key derived from Datavern's secret key; nothing
is stored for a sign-in. The page answers the same whether or not the address is
known, so it tells nobody who is a subscriber.

Cookie choices are not here: they belong to a browser's visitor id, not to an
address, and are changed where they were made, with the banner's "cookie settings"
link on the website (which withdraws and deletes the category's cookies).

**Changing a consent.** Every purpose that rests on consent has one button:
withdraw when it is given, give when it is not; withdrawing takes exactly as much
as giving (art. 7(3)). The decision is appended to the ledger with the text
version shown (method ``form_checkbox``, collection point this page). When a
re-consent campaign has cut off the text someone agreed to, the page says so with
the cut-off day and offers the current text with a button to agree to it; after
the cut-off the purpose shows as not given. Forms work
without JavaScript and carry a CSRF token: before sign-in a double-submit pair
(a random cookie and its HMAC), after sign-in an HMAC of the session cookie.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datavern.consent import service
from datavern.consent.messages import translate
from datavern.consent.pages import client_ip, templates
from datavern.core import clock
from datavern.core.config import get_settings
from datavern.core.errors import InvalidInput, NotFound
from datavern.core.i18n import Lang, long_date
from datavern.web import deps

router = APIRouter(include_in_schema=False)

PATHS: Final[dict[str, dict[str, str]]] = {
    "nb": {"page": "/personvern/samtykker", "signin": "/personvern/samtykker/logg-inn"},
    "en": {"page": "/privacy/consents", "signin": "/privacy/consents/sign-in"},
}
LINK_LIFETIME: Final = timedelta(minutes=30)
SESSION_LIFETIME: Final = timedelta(hours=1)
SESSION_COOKIE: Final = "datavern_consents"
CSRF_COOKIE: Final = "datavern_consents_csrf"
MAILS_PER_ADDRESS: Final = 3
MAILS_PER_CLIENT: Final = 10
NO_STORE: Final = {"Cache-Control": "no-store"}


# --------------------------------------------------------------------------- #
# Signed values: the link's token and the session cookie
# --------------------------------------------------------------------------- #


def _mac(label: str, message: str) -> str:
    key = service._key(f"datavern my consents {label} v1")
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign(kind: str, subject_ref: str, lifetime: timedelta) -> str:
    expires = int(time.time() + lifetime.total_seconds())
    body = f"{subject_ref}|{expires}"
    raw = f"{body}|{_mac(kind, body)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unsign(kind: str, value: str | None) -> str | None:
    """The subject reference in a signed value of ``kind``, if genuine and not expired."""
    if not value or len(value) > 400:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        ref, expires, mac = raw.split("|")
        alive = int(expires) > time.time()
    except ValueError:
        return None
    if not alive or not hmac.compare_digest(mac, _mac(kind, f"{ref}|{expires}")):
        return None
    return ref


def _session_csrf(cookie: str) -> str:
    return _mac("csrf", f"session:{cookie}")


def _signin_csrf(cookie: str) -> str:
    return _mac("csrf", f"signin:{cookie}")


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #


def _cookie_options() -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": get_settings().https_only, "path": "/"}


def _render(
    request: Request, name: str, context: dict[str, Any], lang: Lang, status_code: int = 200
) -> HTMLResponse:
    other: Lang = "en" if lang == "nb" else "nb"
    page = {"paths": PATHS[lang], "other_lang": other, "other_url": PATHS[other]["page"]}
    return deps.render(
        request,
        name,
        {**page, **context},
        lang=lang,
        status_code=status_code,
        headers=NO_STORE,
        templates=templates,
        strings=translate,
    )


def _signin_form(
    request: Request, lang: Lang, *, notice: str | None = None, status_code: int = 200
) -> Response:
    cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = _render(
        request,
        "consent/mine_signin.html",
        {"csrf_token": _signin_csrf(cookie), "notice": notice},
        lang,
        status_code,
    )
    response.set_cookie(CSRF_COOKIE, cookie, max_age=3600, **_cookie_options())
    return response


def _rows(session: Any, ref: str, lang: Lang) -> list[dict[str, Any]]:
    ctx = service.context(session)
    rows = []
    for key, info in sorted(ctx.index.purposes.items()):
        if not info.needs_consent or info.categories:
            continue  # no choice to make, or a cookie purpose (the banner's)
        state = service.state(session, ref, key, lang)
        agreed = service.get_text(session, state.text_version) if state.text_version else None
        current = ctx.current_for(key, lang)
        granted = state.status == "granted"
        shown = agreed if granted and agreed else current
        content = shown.content if shown else {}
        # A re-consent campaign cut off the text they agreed to: their yes counts until
        # the cut-off day (Oslo time), and the current text waits for a new yes.
        pending = (
            granted
            and state.reconsent_cutoff is not None
            and current is not None
            and state.current_text_version == current.id
            and current.id != state.text_version
        )
        new_text = current.content if pending and current else None
        rows.append(
            {
                "key": key,
                "name": content.get("name") or key,
                "text": content.get("text") or "",
                "granted": granted,
                "status": state.status,
                "version": shown.id if shown else None,
                # The version a "give" button agrees to: the text shown beside it.
                "grant_version": current.id if current else None,
                "reconsent_cutoff": long_date(state.reconsent_cutoff, lang)
                if pending and state.reconsent_cutoff
                else None,
                "new_text": (new_text or {}).get("text") or "",
                "superseded": state.status == "superseded",
                "at": state.at.astimezone(clock.OSLO).strftime("%Y-%m-%d %H:%M")
                if state.at
                else None,
            }
        )
    return rows


def _page(request: Request, lang: Lang, ref: str, cookie: str, done: str | None) -> Response:
    from datavern.web.deps import db

    with db(request) as session:
        try:
            rows = _rows(session, ref, lang)
        except NotFound:
            rows = []
    return _render(
        request,
        "consent/mine.html",
        {"rows": rows, "csrf_token": _session_csrf(cookie), "done": done},
        lang,
    )


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


def _show(request: Request, lang: Lang) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    ref = unsign("session", cookie)
    if ref is None or cookie is None:
        return _signin_form(request, lang)
    done = request.query_params.get("done")
    return _page(request, lang, ref, cookie, done if done in ("granted", "withdrawn") else None)


def _limited(request: Request, address_key: str) -> bool:
    from datavern.dsr.ratelimit import SlidingWindow

    windows = getattr(request.app.state, "my_consents_limits", None)
    if windows is None:
        hour = timedelta(hours=1)
        windows = (SlidingWindow(MAILS_PER_CLIENT, hour), SlidingWindow(MAILS_PER_ADDRESS, hour))
        request.app.state.my_consents_limits = windows
    by_client, by_address = windows
    client = request.client.host if request.client else "unknown"
    if by_client.retry_after(client) or by_address.retry_after(address_key):
        return True
    by_client.hit(client)
    by_address.hit(address_key)
    return False


async def _post(request: Request, lang: Lang) -> Response:
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    action = data.get("action", "")
    if action == "signin":
        return _send_link(request, lang, data)
    cookie = request.cookies.get(SESSION_COOKIE)
    ref = unsign("session", cookie)
    if ref is None or cookie is None:
        return _signin_form(request, lang, notice="mine_expired", status_code=401)
    if not hmac.compare_digest(data.get("csrf_token", ""), _session_csrf(cookie)):
        return _message(request, lang, "mine_csrf_title", "mine_csrf", 403)
    if action == "signout":
        response = RedirectResponse(PATHS[lang]["page"], status_code=303)
        response.delete_cookie(SESSION_COOKIE, **_cookie_options())
        return response
    if action not in ("grant", "withdraw"):
        return _message(request, lang, "mine_bad_title", "mine_bad", 400)
    version = (data.get("text_version") or None) if action == "grant" else None
    return _change(request, lang, ref, action, data.get("purpose", ""), version)


def _change(
    request: Request,
    lang: Lang,
    ref: str,
    action: str,
    purpose: str,
    text_version: str | None = None,
) -> Response:
    from datavern.web.deps import db

    with db(request) as session:
        ctx = service.context(session)
        info = ctx.index.purposes.get(purpose)
        if info is None or not info.needs_consent or info.categories:
            return _message(request, lang, "mine_bad_title", "mine_bad", 400)
        try:
            service.record(
                session,
                subject=ref,
                purpose=purpose,
                decision=action,
                method="form_checkbox",
                # A grant names the text the page showed (refused if it is no longer
                # current); the record's language is then that text's.
                text_version=text_version,
                language=None if text_version else lang,
                collection_point=str(request.url.replace(query="")),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                recorded_by="subject",
            )
        except InvalidInput:
            return _message(request, lang, "mine_bad_title", "mine_bad", 400)
    done = "granted" if action == "grant" else "withdrawn"
    return RedirectResponse(f"{PATHS[lang]['page']}?done={done}", status_code=303)


def _send_link(request: Request, lang: Lang, data: dict[str, str]) -> Response:
    from datavern.notify import email as mail
    from datavern.web.deps import db

    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not hmac.compare_digest(data.get("csrf_token", ""), _signin_csrf(cookie)):
        return _message(request, lang, "mine_csrf_title", "mine_csrf", 403)
    address = data.get("email", "").strip()
    try:
        who = service.subject_of(address, "email")
        if "@" not in address or who.parsed.kind.value != "email":
            raise InvalidInput("give an e-mail address")
    except InvalidInput:
        return _signin_form(request, lang, notice="mine_bad_address", status_code=422)
    if not _limited(request, who.ref):
        token = sign("link", who.ref, LINK_LIFETIME)
        base = get_settings().base_url.rstrip("/")
        with db(request) as session:
            organisation = ""
            with contextlib.suppress(NotFound):
                organisation = service.context(session).register.organisation.name
            mail.queue(
                session,
                to=who.parsed.value,
                template="consent_signin",
                lang=lang,
                context={
                    "organisation": organisation,
                    "signin_url": f"{base}{PATHS[lang]['signin']}?token={quote(token)}",
                    "minutes": int(LINK_LIFETIME.total_seconds() // 60),
                },
                category="consent.signin",
            )
        mail.deliver()
    # The same answer for every address, known or not, and when the limit is reached.
    return _message(request, lang, "mine_sent_title", "mine_sent", 200)


def _message(request: Request, lang: Lang, title_key: str, key: str, status: int) -> Response:
    return _render(
        request,
        "consent/mine_message.html",
        {"title_key": title_key, "message_key": key},
        lang,
        status,
    )


def _signin_get(request: Request, lang: Lang) -> Response:
    token = request.query_params.get("token", "")
    if unsign("link", token) is None:
        return _message(request, lang, "mine_link_title", "mine_link_invalid", 404)
    # A page with a button: mail scanners open links, and a GET changes nothing.
    return _render(request, "consent/mine_link.html", {"token": token}, lang)


async def _signin_post(request: Request, lang: Lang) -> Response:
    form = await request.form()
    token = form.get("token")
    ref = unsign("link", token if isinstance(token, str) else None)
    if ref is None:
        return _message(request, lang, "mine_link_title", "mine_link_invalid", 404)
    response = RedirectResponse(PATHS[lang]["page"], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign("session", ref, SESSION_LIFETIME),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        **_cookie_options(),
    )
    return response


def _register(lang: Lang) -> None:
    paths = PATHS[lang]

    @router.get(paths["page"], response_class=HTMLResponse, name=f"my_consents_{lang}")
    def show(request: Request) -> Response:
        return _show(request, lang)

    @router.post(paths["page"], response_class=HTMLResponse)
    async def post(request: Request) -> Response:
        return await _post(request, lang)

    @router.get(paths["signin"], response_class=HTMLResponse)
    def signin(request: Request) -> Response:
        return _signin_get(request, lang)

    @router.post(paths["signin"], response_class=HTMLResponse)
    async def signin_post(request: Request) -> Response:
        return await _signin_post(request, lang)


_register("nb")
_register("en")
