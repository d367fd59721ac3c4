"""REST API of the consent ledger under /api/v1/consent (docs/consent.md).

Two kinds of caller:

* the cookie banner and the company's web forms, without a login: ``GET
  /banner/config`` hands out the texts and a signed, single-use nonce, ``POST
  /banner`` records the banner's choice with it, ``POST /subscribe`` starts a
  double opt-in. These answer any origin (CORS, no credentials; narrow it with
  ``DATAVERN_CONSENT_ORIGINS``): the nonce, not the origin, is what makes a post
  acceptable once.
* systems with an API token (``Authorization: Bearer dv_...``, accounts/tokens.py):
  ``consent:read`` for state, may-process, proof and texts, ``consent:write`` for
  record, withdraw and unsubscribe headers; or people with the admin console's
  session (its role's permission; CSRF token in ``X-CSRF-Token`` on every POST).
  Re-consent campaigns and ledger verification take a session only.

Errors are JSON: ``422`` with ``{"detail": [{"loc": [where, field], "msg": ...}]}``
for bad input (the same shape as FastAPI's own validation errors), ``404`` for
nothing applied, ``400``/``403``/``409`` for an expired, forged or replayed nonce.
Nothing is appended when an answer is an error.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import and_, bindparam, or_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from datavern.accounts import service as accounts
from datavern.accounts import tokens
from datavern.accounts.rules import Permission
from datavern.consent import appender, rules, service
from datavern.consent.service.statements import LATEST_COLUMNS
from datavern.core import clock
from datavern.core.db import session_factory, sessions_for
from datavern.core.errors import InvalidInput, NotFound, Problem
from datavern.web import security
from datavern.web.deps import (
    Principal,
    csrf_protect,
    db,
    get_principal,
    require,
)

T = TypeVar("T")


def _no_tokens(request: Request) -> None:
    """Dependency of the calls for people only (re-consent, verification): an API token
    is answered 403, saying so, rather than 401 as if nothing had been sent."""
    if tokens.bearer(request.headers.get("authorization")) is not None:
        raise HTTPException(403, "API tokens cannot call this; log in as a user whose role may")


router = APIRouter(prefix="/api/v1/consent", tags=["consent"])
public = APIRouter(tags=["consent (public)"])
private = APIRouter(tags=["consent"], dependencies=[Depends(_no_tokens), Depends(csrf_protect)])
systems = APIRouter(tags=["consent"])

MAX_BODY = 64 * 1024


def _problems_response(exc: InvalidInput, where: str) -> JSONResponse:
    return JSONResponse(
        {
            "detail": [
                {"loc": [where, p.path or "body"], "msg": p.message, "type": "value_error"}
                for p in exc.problems
            ]
        },
        status_code=422,
    )


_ANSWERED = (InvalidInput, NotFound, service.ConsentRefused)


def _answer(work: Callable[[], T], where: str, headers: dict[str, str] | None = None) -> Any:
    try:
        return work()
    except _ANSWERED as exc:
        response = _error_response(exc, where)
    if headers:
        response.headers.update(headers)
    return response


def _error_response(exc: Exception, where: str) -> JSONResponse:
    """The JSON answer to bad input (422), nothing applied (404) or a refused banner
    post (its status)."""
    if isinstance(exc, InvalidInput):
        return _problems_response(exc, where)
    if isinstance(exc, service.ConsentRefused):
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=exc.status)
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


# --------------------------------------------------------------------------- #
# Who calls: an API token with a scope, or a session with the role's permission
# --------------------------------------------------------------------------- #

READ, WRITE = "consent:read", "consent:write"
_PERMISSION = {READ: Permission.view_consent, WRITE: Permission.record_consent}
NO_CREDENTIALS = "send an API token (Authorization: Bearer dv_...) or log in"
BAD_TOKEN = "the API token is unknown or revoked"


def _needs(scope: str) -> str:
    return f"this call needs the scope {scope} (a token) or the permission {_PERMISSION[scope]}"


def _caller(scope: str) -> Callable[..., Any]:
    """Dependency: the caller's actor name, if a token with ``scope`` or a session whose
    role has the matching permission (and, on a POST, the session's CSRF token)."""

    def dependency(request: Request) -> str:
        token = tokens.bearer(request.headers.get("authorization"))
        if token is not None:
            with db(request) as session:
                found = tokens.authenticate(session, token)
            if found is None:
                raise HTTPException(401, BAD_TOKEN)
            if not found.can(scope):
                raise HTTPException(403, _needs(scope))
            return found.actor
        return _session_actor(request, scope)

    return dependency


def _session_actor(request: Request, scope: str) -> str:
    """The actor name of a logged-in user whose role allows ``scope`` (and, on a POST,
    who sent the session's CSRF token); HTTPException 401/403 otherwise."""
    principal = get_principal(request)
    if principal is None:
        raise HTTPException(401, NO_CREDENTIALS)
    if request.method not in ("GET", "HEAD") and not security.session_csrf_valid(
        principal.csrf_token, request.headers.get("x-csrf-token")
    ):
        raise HTTPException(403, "CSRF token missing or wrong (X-CSRF-Token)")
    if not principal.can(_PERMISSION[scope]):
        raise HTTPException(403, _needs(scope))
    return _actor(principal)


# --------------------------------------------------------------------------- #
# CORS for the banner and the subscription form
# --------------------------------------------------------------------------- #


def _allowed_origin(request: Request) -> str | None:
    origin = request.headers.get("origin")
    configured = os.environ.get("DATAVERN_CONSENT_ORIGINS", "*").strip()
    if configured == "*":
        return "*"
    allowed = {o.strip().rstrip("/") for o in configured.split(",") if o.strip()}
    return origin if origin and origin.rstrip("/") in allowed else None


def _cors(request: Request) -> dict[str, str]:
    origin = _allowed_origin(request)
    if origin is None:
        return {}
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return headers


@public.options("/banner/config", include_in_schema=False)
@public.options("/banner", include_in_schema=False)
@public.options("/subscribe", include_in_schema=False)
def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=_cors(request))


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput("the body is larger than 64 kB")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


# --------------------------------------------------------------------------- #
# Public: banner and subscription
# --------------------------------------------------------------------------- #


@public.get(
    "/banner/config",
    summary="The cookie banner's categories, services, texts and a single-use nonce",
    responses={404: {"description": "No register applied."}, 422: {"description": "Bad lang."}},
)
def banner_config(request: Request, lang: str = Query("nb", max_length=5)) -> Any:
    gpc = request.headers.get("sec-gpc", "").strip() == "1"
    base = str(request.base_url)

    def work() -> Any:
        with db(request) as session:
            config = service.banner_config(session, lang, gpc=gpc, base_url=base)
        return JSONResponse(config, headers=_cors(request))

    return _answer(work, "query", _cors(request))


@public.post(
    "/banner",
    summary="Record the banner's choice (one ledger record per purpose) with a fresh nonce",
    responses={
        400: {"description": "The nonce has expired."},
        403: {"description": "The nonce is missing or was not issued by this server."},
        409: {"description": "The nonce has been used before (a replay)."},
        422: {"description": "A purpose, text version or choice is wrong."},
    },
)
async def banner_post(request: Request) -> Any:
    headers = _cors(request)
    try:
        body = await _json_body(request)
    except InvalidInput as exc:
        response = _problems_response(exc, "body")
        response.headers.update(headers)
        return response
    gpc = request.headers.get("sec-gpc", "").strip() == "1"
    ip = _client_ip(request)
    agent = request.headers.get("user-agent")

    def work() -> Any:
        with db(request) as session:
            result = service.banner_post(session, body, ip=ip, user_agent=agent, gpc_header=gpc)
            out = result.as_json()
        return JSONResponse(out, status_code=201, headers=headers)

    return _answer(work, "body", headers)


class SubscribeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error

    email: str = Field(max_length=320, description="The address to confirm.")
    purpose: str = Field(max_length=200, description="A consent purpose with double opt-in.")
    lang: Literal["nb", "en"] | None = None
    text_version: str | None = Field(default=None, max_length=250)
    collection_point: str | None = Field(default=None, max_length=500)


@public.post(
    "/subscribe",
    status_code=202,
    summary="Start a double opt-in: a confirmation e-mail with a link; nothing recorded yet",
    responses={
        422: {"description": "Bad address, unknown purpose or no double opt-in."},
        429: {
            "description": "Too many subscriptions from this client (past the limit for one "
            "address the answer is the same 202, and nothing is sent)."
        },
    },
)
def subscribe(body: SubscribeBody, request: Request) -> Any:
    headers = _cors(request)
    ip = _client_ip(request)
    agent = request.headers.get("user-agent")
    by_ip, by_address = _subscribe_limits(request)
    ip_key = ip or "unknown"
    wait = by_ip.retry_after(ip_key)
    if wait:
        # Nothing is stored and no mail is sent: nobody can flood inboxes through us.
        return JSONResponse(
            {"detail": "too many subscriptions; try again later", "code": "rate_limited"},
            status_code=429,
            headers={**headers, "Retry-After": str(wait)},
        )
    address_key = service.email_hash(body.email) if "@" in body.email else "invalid"
    # Over the limit for this address: checked like any other, then nothing stored and
    # no mail, with the same answer as a sent one (a 429 would tell whoever asks that
    # the address was used here lately).
    quiet = by_address.retry_after(address_key) > 0

    def work() -> Any:
        try:
            with db(request) as session:
                service.subscribe(
                    session,
                    email=body.email,
                    purpose=body.purpose,
                    lang=body.lang,
                    text_version=body.text_version,
                    collection_point=body.collection_point,
                    ip=ip,
                    user_agent=agent,
                )
                if quiet:
                    raise _Discard
        except _Discard:
            pass
        # Counted only when the input was good: a typo does not use up the allowance.
        by_ip.hit(ip_key)
        if not quiet:
            by_address.hit(address_key)
            _deliver()
        # The same answer whether or not the address was subscribed already.
        return JSONResponse(
            {"detail": "if the address can receive mail, a confirmation link is on its way"},
            status_code=202,
            headers=headers,
        )

    return _answer(work, "body", headers)


class _Discard(Exception):
    """Roll back a subscription that was only checked (the address is over its limit)."""


class SubscribeLimits(BaseSettings):
    """``DATAVERN_CONSENT_SUBSCRIBE_PER_IP`` (10) and ``..._PER_ADDRESS`` (3) an hour."""

    model_config = SettingsConfigDict(env_prefix="DATAVERN_CONSENT_SUBSCRIBE_", extra="ignore")

    per_ip: int = 10
    per_address: int = 3
    window_minutes: int = 60


def _subscribe_limits(request: Request) -> tuple[Any, Any]:
    """The app's sliding windows (per client address, per keyed hash of the e-mail
    address), in memory per app like the privacy centre's limits (dsr/ratelimit.py)."""
    from datetime import timedelta

    from datavern.dsr.ratelimit import SlidingWindow

    windows = getattr(request.app.state, "consent_subscribe_limits", None)
    if windows is None:
        limits = SubscribeLimits()
        window = timedelta(minutes=limits.window_minutes)
        windows = (SlidingWindow(limits.per_ip, window), SlidingWindow(limits.per_address, window))
        request.app.state.consent_subscribe_limits = windows
    return windows


def _deliver() -> None:
    from datavern.notify import email

    # SMTP failures are kept on the message and retried by the notify.deliver task.
    email.deliver()


# --------------------------------------------------------------------------- #
# With a session: record, withdraw, state, may-process, proof
# --------------------------------------------------------------------------- #


class RecordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error

    subject: str = Field(
        max_length=320,
        description="account:ID, email:ADDRESS (stored as a keyed hash), emailhash:HEX or "
        "visitor:ID.",
    )
    purpose: str = Field(max_length=200, description="A consent purpose from the register.")
    decision: str = Field(description="grant, deny, withdraw or object (art. 21).")
    method: str = Field(
        default="api",
        description="banner_accept_all, banner_reject_all, banner_custom, form_checkbox, "
        "double_opt_in, gpc, api or unsubscribe.",
    )
    text_version: str | None = Field(
        default=None,
        max_length=250,
        description="The text version shown (default: the current one in `language`).",
    )
    language: str | None = Field(default=None, max_length=5)
    collection_point: str | None = Field(
        default=None, description="Where it was collected: a URL or a system name."
    )
    ip: str | None = Field(
        default=None, max_length=64, description="The subject's IP (stored truncated)."
    )
    user_agent: str | None = Field(default=None, max_length=2000)
    expires_at: datetime | None = None


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error

    subject: str = Field(max_length=320)
    purpose: str = Field(max_length=200)
    method: str = "api"
    text_version: str | None = Field(default=None, max_length=250)
    language: str | None = Field(default=None, max_length=5)
    collection_point: str | None = None
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=2000)


@systems.post(
    "/records",
    status_code=201,
    summary="Append one decision to the ledger",
    responses={
        401: {"description": "No valid API token and not logged in."},
        403: {"description": "The token lacks consent:write, or the role lacks record_consent."},
        422: {"description": "Unknown purpose or text version, needs no consent, ..."},
    },
)
async def record(body: RecordBody, request: Request) -> Response:
    return await _append(request, body.model_dump())


@systems.post(
    "/withdraw",
    status_code=201,
    summary="Withdraw consent (as easy as granting it, art. 7(3))",
    responses={
        401: {"description": "No valid API token and not logged in."},
        403: {"description": "The token lacks consent:write, or the role lacks record_consent."},
        422: {"description": "Unknown purpose, subject or text version."},
    },
)
async def withdraw(body: WithdrawBody, request: Request) -> Response:
    return await _append(request, {**body.model_dump(), "decision": "withdraw"})


async def _append(request: Request, values: dict[str, Any]) -> Response:
    """Hand one decision to this process's group appender (consent/appender.py) and
    answer when its batch has committed: 201 with the record, or the error of this
    request alone. An API token is checked in the batch's own transaction; a
    logged-in user (session cookie and CSRF header) before queueing."""
    token = tokens.bearer(request.headers.get("authorization"))
    digest = actor = None
    if token is not None:
        digest = tokens.digest_of(token)
        if digest is None:
            return JSONResponse({"detail": BAD_TOKEN}, status_code=401)
    else:
        actor = await run_in_threadpool(_session_actor, request, WRITE)
    queued = appender.for_database(request.app.state.database_url).submit(
        values, token_hash=digest, actor=actor
    )
    try:
        view = await asyncio.wrap_future(queued)
    except appender.Refused as exc:
        detail = BAD_TOKEN if exc.status == 401 else _needs(WRITE)
        return JSONResponse({"detail": detail}, status_code=exc.status)
    except _ANSWERED as exc:
        return _error_response(exc, "body")
    return JSONResponse(view.as_json(), status_code=201)


# The two reads systems call on every use of a subject's data (state, may-process)
# run on one pooled session with a reused session factory, and find the caller's
# login with one joined query (the same rules as accounts.service.get_session:
# unknown, expired or disabled means not logged in). bench/consent measures them.


def _sessions(url: str) -> sessionmaker[Session]:
    """Sessions for the fast reads: on PostgreSQL an engine of their own, in autocommit
    (each SELECT on its own, no BEGIN and ROLLBACK round trips) and without the ping
    before every checkout; a connection the server dropped is retried once instead
    (``_fast_read``)."""
    if url.startswith("postgresql"):
        return sessions_for(
            url, "consent-reads", isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=8
        )
    # SQLite's driver begins no transaction for a SELECT anyway; switching its isolation
    # level on every checkout would cost a PRAGMA each time.
    return session_factory(url)


@dataclass(frozen=True)
class _Read:
    """One fast read: the subject as given and parsed, the identity hash its restriction
    is read under (may-process), and the answer to give once the caller is known."""

    subject: str
    purpose: str
    who: service.Subject | None
    rhash: str | None
    may_process: bool

    def answer(self, session: Session, head: service.Head | None, row: Any, pre: Any) -> Any:
        if not self.may_process:
            return service.state(session, self.subject, self.purpose, head=head, prefetched=pre)
        since = (self.rhash, row.restricted_since) if self.rhash is not None else None
        return service.may_process(
            session,
            self.subject,
            self.purpose,
            head=head,
            who=self.who,
            restricted_since=since,
            prefetched=pre,
        )


def _read_of(subject: str, purpose: str, may_process: bool) -> _Read:
    try:
        who: service.Subject | None = service.subject_of(subject)
    except InvalidInput:
        who = None  # the answer reports it
    rhash = service.single_restriction_hash(who) if who is not None and may_process else None
    return _Read(subject, purpose, who, rhash, may_process)


# The register head the last fast read of a database found: the next read expects it,
# and reads the subject's state rows for the purpose in the same query as the caller.
_last_head: dict[Any, service.Head] = {}  # by engine


def _caller_in(
    session: Session, request: Request, scope: str, read: _Read | None = None
) -> tuple[str, service.Head | None, Any, service.Prefetched | None]:
    """The caller (a token with ``scope``, or a session whose role allows it), the
    register head, the row they were read in and, for a ``read``, the subject's state
    rows it needs (when the register's purposes are cached), in one query; the row
    also has the subject's restriction (``restricted_since``) for a may-process read.
    HTTPException 401/403 otherwise."""
    conn = session.connection()
    rhash = read.rhash if read is not None else None
    params: dict[str, Any] = {} if rhash is None else {"hash": rhash}
    engine = session.get_bind().engine
    expected = _last_head.get(engine)
    keys: tuple[str, ...] = ()
    if read is not None and read.who is not None and expected is not None:
        keys = service.read_keys(session, expected, read.purpose, may_process=read.may_process)
        if keys:
            params["subject"] = read.who.ref
            params.update({f"k{i}": k for i, k in enumerate(keys)})
    token = tokens.bearer(request.headers.get("authorization"))
    if token is not None:
        digest = tokens.digest_of(token)
        if digest is None:
            raise HTTPException(401, BAD_TOKEN)
        rows = conn.execute(
            _who_query(False, rhash is not None, len(keys)), {**params, "h": digest}
        )
        found_rows = rows.all()
        row = found_rows[0] if found_rows else None
        verdict = tokens.admit(conn, row, digest, scope)
        if verdict.principal is None:
            raise HTTPException(
                verdict.status, BAD_TOKEN if verdict.status == 401 else _needs(scope)
            )
        if verdict.wrote:
            session.info["wrote"] = True
        actor = verdict.principal.actor
    else:
        cookie = request.cookies.get(security.SESSION_COOKIE)
        if not cookie or len(cookie) > 200:
            raise HTTPException(401, NO_CREDENTIALS)
        query = _who_query(True, rhash is not None, len(keys))
        found_rows = conn.execute(query, {**params, "h": accounts.token_hash(cookie)}).all()
        row = found_rows[0] if found_rows else None
        if row is None or row.expires_at <= clock.now() or not row.active:
            raise HTTPException(401, NO_CREDENTIALS)
        principal = Principal(row.id, row.username, row.role, row.csrf_token)
        if not principal.can(_PERMISSION[scope]):
            raise HTTPException(403, _needs(scope))
        actor = _actor(principal)
    head = service.head_of(row)
    if head is not None:
        _last_head[engine] = head
    pre = None
    if keys and expected is not None and read is not None and read.who is not None:
        latest = {
            r.state_purpose: rules.Latest(*r[-6:])
            for r in found_rows
            if r.state_purpose is not None
        }
        pre = service.Prefetched(expected, read.who.ref, frozenset(keys), latest)
    return actor, head, row, pre


@lru_cache(maxsize=32)
def _who_query(session_cookie: bool, restriction: bool, keys: int) -> Any:
    """The caller's query (token or session cookie), with the register head, with the
    subject's restriction (``:hash``) if asked, and outer-joined with the subject's
    state rows for ``keys`` purposes (``:subject``, ``:k0`` ...) if any."""
    from datavern.consent.models import ConsentState

    query = (_PRINCIPAL_R if restriction else _PRINCIPAL) if session_cookie else None
    if query is None:
        query = _TOKEN_R if restriction else _TOKEN
    if not keys:
        return query
    on = and_(
        ConsentState.subject == bindparam("subject"),
        or_(*(ConsentState.purpose == bindparam(f"k{i}") for i in range(keys))),
    )
    # The state's columns come last, in rules.Latest's order after the purpose.
    purpose, *latest = LATEST_COLUMNS
    return query.add_columns(purpose.label("state_purpose"), *latest).outerjoin(ConsentState, on)


def _fast_read(request: Request, read: _Read) -> Response:
    """Answer a fast read (the caller first, then the read)."""
    try:
        return _fast_read_once(request, read)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return _fast_read_once(request, read)  # the server had dropped the connection


def _fast_read_once(request: Request, read: _Read) -> Response:
    session = _sessions(request.app.state.database_url)()
    try:
        try:
            _actor_name, head, row, pre = _caller_in(session, request, READ, read)
        except HTTPException as exc:
            session.rollback()
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        response = _answer(
            lambda: JSONResponse(read.answer(session, head, row, pre).as_json()), "query"
        )
        if session.info.get("wrote"):
            session.commit()
        # Otherwise nothing was written: closing ends the read transaction.
        return response  # type: ignore[no-any-return]
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _principal_query() -> Any:
    from sqlalchemy import select

    from datavern.accounts.models import User, WebSession

    return (
        select(
            WebSession.expires_at,
            WebSession.csrf_token,
            User.id,
            User.username,
            User.role,
            User.active,
            *service.head_columns(),
        )
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id_hash == bindparam("h"))
    )


_PRINCIPAL = _principal_query()
_PRINCIPAL_R = _PRINCIPAL.add_columns(service.restriction_column())
_TOKEN = tokens.lookup_query(*service.head_columns())
_TOKEN_R = tokens.lookup_query(*service.head_columns(), service.restriction_column())


_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API token and not logged in."},
    403: {"description": "The token lacks consent:read, or the role lacks view_consent."},
    422: {"description": "Unknown purpose or malformed subject."},
}


@router.get(
    "/state",
    summary="The current consent of a subject for a purpose",
    responses=_AUTH_RESPONSES,
)
async def state(
    request: Request,
    subject: str = Query(max_length=320),
    purpose: str = Query(max_length=200),
) -> Response:
    return _fast_read(request, _read_of(subject, purpose, may_process=False))


@router.get(
    "/may-process",
    summary="May the subject's data be processed for this purpose now?",
    responses=_AUTH_RESPONSES,
)
async def may_process(
    request: Request,
    subject: str = Query(max_length=320),
    purpose: str = Query(max_length=200),
) -> Response:
    return _fast_read(request, _read_of(subject, purpose, may_process=True))


@router.get(
    "/proof",
    summary="Every record of a subject with the exact text shown (art. 7(1))",
    responses={422: {"description": "Malformed subject."}},
)
def proof(
    request: Request,
    subject: str = Query(max_length=320),
    actor: str = Depends(_caller(READ)),
) -> Any:
    def work() -> Any:
        with db(request) as session:
            items = service.proof(session, subject, actor=actor)
            return JSONResponse(
                {
                    "subject": service.subject_of(subject).ref,
                    "records": [i.as_json() for i in items],
                }
            )

    return _answer(work, "query")


@router.get("/texts", summary="Every version of every consent text")
def texts(
    request: Request,
    purpose: str | None = Query(default=None, max_length=200),
    _actor: str = Depends(_caller(READ)),
) -> Any:
    with db(request) as session:
        return [t.as_json() for t in service.list_texts(session, purpose)]


@router.get(
    "/texts/{version_id:path}",
    summary="One text version, exactly as it was shown",
    responses={404: {"description": "No such version."}},
)
def text_version(
    version_id: str,
    request: Request,
    _actor: str = Depends(_caller(READ)),
) -> Any:
    with db(request) as session:
        found = service.get_text(session, version_id)
    if found is None:
        return JSONResponse({"detail": "no such text version"}, status_code=404)
    return found.as_json()


@router.get(
    "/unsubscribe-headers",
    summary="List-Unsubscribe and List-Unsubscribe-Post headers for one marketing mail",
)
def unsubscribe_headers(
    request: Request,
    subject: str = Query(max_length=320),
    purpose: str = Query(max_length=200),
    lang: Literal["nb", "en"] = "nb",
    _actor: str = Depends(_caller(WRITE)),
) -> Any:
    def work() -> Any:
        with db(request) as session:
            ctx = service.context(session)
            info = ctx.index.purposes.get(purpose)
            if info is None:
                problem = str(rules.UnknownPurpose(purpose, ctx.index.known()))
                raise InvalidInput(Problem(problem, path="purpose"))
            if info.categories:
                raise InvalidInput(
                    Problem(
                        f"{purpose} is a cookie purpose (the banner collects it); "
                        "unsubscribe links are for marketing mail",
                        path="purpose",
                    )
                )
            mailto = ctx.register.organisation.email
        return service.marketing_headers(subject, purpose, lang, mailto=mailto)

    return _answer(work, "query")


class ReconsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error

    purpose: str = Field(max_length=200)
    cutoff: date = Field(description="From this day (Norwegian time) old consents stop counting.")
    send_mail: bool = True


@private.post(
    "/reconsent",
    status_code=201,
    summary="Ask again after a text change; old consents stop counting at the cut-off",
)
def reconsent(
    body: ReconsentBody,
    request: Request,
    principal: Principal = Depends(require(Permission.manage_consent)),
) -> Any:
    def work() -> Any:
        with db(request) as session:
            view = service.start_reconsent(
                session, body.purpose, body.cutoff, actor=_actor(principal), mail=body.send_mail
            )
        _deliver()
        return JSONResponse(view.as_json(), status_code=201)

    return _answer(work, "body")


@router.get(
    "/verify",
    summary="Verify the ledger's hash chain",
    responses={403: {"description": "An API token, or a role without view_audit."}},
)
def verify(
    request: Request,
    _tokens: None = Depends(_no_tokens),
    _principal: Principal = Depends(require(Permission.view_audit)),
) -> Any:
    with db(request) as session:
        return service.verify_ledger(session).as_json()


_READS: dict[str, bool] = {  # path: whether it is may-process
    "/api/v1/consent/state": False,
    "/api/v1/consent/may-process": True,
}


class FastReads:
    """Pure ASGI: ``GET /api/v1/consent/state`` and ``/may-process`` with exactly one
    ``subject`` and one ``purpose`` go straight to ``_fast_read``, past the framework's
    route matching, dependency solving and parameter models (most of the time of such
    a request). Anything else (a missing, repeated or too long parameter, another
    method) goes on to the routes above, which answer it as before. Put it inside the
    security-header and request-log middleware: they apply to these answers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # What the request log reads from scope["route"]: the route's path template.
        self.routes = {path: SimpleNamespace(path=path) for path in _READS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        may_process = _READS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if may_process is not None and scope["method"] == "GET":
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            given = dict(pairs)
            if (
                len(pairs) == 2
                and len(given.get("subject", "x" * 321)) <= 320
                and len(given.get("purpose", "x" * 201)) <= 200
            ):
                scope["route"] = self.routes[scope["path"]]  # for the request log
                read = _read_of(given["subject"], given["purpose"], may_process)
                response = _fast_read(Request(scope, receive), read)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


router.include_router(public)
router.include_router(systems)
router.include_router(private)
