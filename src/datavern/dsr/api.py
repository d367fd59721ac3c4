"""REST API for data-subject requests: ``/api/v1/requests`` (docs/api.md).

The pages and the API call the same use cases (intake.py, cases.py, queue.py).

Authentication: ``Authorization: Bearer dv_...`` with an API token (accounts/
tokens.py) and its scopes, or the admin console's session cookie with the
role's permissions (``view_requests`` to read, ``handle_requests`` to file and
decide) and, for every call that changes something, the session's CSRF token
in ``X-CSRF-Token``.

| call | token scope | session permission |
| --- | --- | --- |
| ``POST /api/v1/requests`` | ``requests:write`` | ``handle_requests`` |
| ``GET /api/v1/requests``, ``GET /api/v1/requests/{id}`` | ``requests:read`` | ``view_requests`` |
| ``POST .../{id}/approve``, ``/deny``, ``/extend`` | ``requests:decide`` | ``handle_requests`` |

Identity values (e-mail, phone, fødselsnummer, the subject's words) are in a
response only for callers who may decide (scope ``requests:decide`` or
``handle_requests``); others see the identity types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from datavern.accounts import tokens
from datavern.accounts.rules import Permission
from datavern.core.errors import DatavernError, InvalidInput, NotFound
from datavern.dsr import cases, intake, queue
from datavern.dsr.case_models import CASE_KINDS, CASE_STATUSES
from datavern.web import security
from datavern.web.deps import Principal, db, get_principal

router = APIRouter(prefix="/api/v1/requests", tags=["data-subject requests"])

Kind = Literal[
    "access", "portable", "rectification", "erasure", "restriction", "objection", "withdraw_consent"
]
Status = Literal[
    "unverified", "locked", "verified", "in_progress", "forwarded", "done", "denied", "failed"
]
assert set(Kind.__args__) == set(CASE_KINDS)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(CASE_STATUSES)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- #
# Schemas: every field described (the OpenAPI document is the reference)
# --------------------------------------------------------------------------- #


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: Literal["name", "email", "phone", "address", "other"] = Field(
        description="Which data is wrong; `other` leaves it to the agent (FIELD=VALUE on approval)."
    )
    value: str = Field(max_length=1000, description="What is right, in the subject's words.")


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(
        description="What the subject asks for: access (art. 15), portable (art. 20), "
        "rectification (art. 16), erasure (art. 17), restriction (art. 18), objection "
        "(art. 21), withdraw_consent (art. 7(3))."
    )
    email: str = Field(
        max_length=320, description="The subject's e-mail address: contact and identity."
    )
    lang: Literal["nb", "en"] = Field(
        default="nb", description="Language of the e-mails to the subject."
    )
    phone: str | None = Field(
        default=None, max_length=40, description="Phone number, another identity (optional)."
    )
    fnr: str | None = Field(
        default=None,
        max_length=20,
        description="Fødselsnummer or D-nummer (11 digits, checksum checked), optional.",
    )
    customer_id: str | None = Field(
        default=None, max_length=256, description="Customer number, optional."
    )
    details: str | None = Field(
        default=None, max_length=5000, description="The subject's own description, optional."
    )
    correction: Correction | None = Field(
        default=None, description="Required for rectification: what is wrong and what is right."
    )
    purposes: list[str] = Field(
        default_factory=list,
        description="Objection: `direct_marketing` or activity keys; withdraw_consent: consent "
        "purpose keys (empty: every consent).",
    )
    controller: str | None = Field(
        default=None,
        description="Key of a customer in `dsr.processor_for` when the data is held for that "
        "customer: the request is then forwarded to it instead of carried out.",
    )
    identity_verified: bool = Field(
        default=False,
        description="True when the caller has already authenticated the subject (e.g. a "
        "logged-in customer portal); recorded as verified by the calling token or agent. "
        "False: a one-time code is e-mailed to the subject.",
    )


class TaskOut(BaseModel):
    id: int = Field(description="Task id.")
    system: str = Field(description="The system the task is about (a register system key).")
    title: str = Field(description="What to do.")
    state: Literal["open", "done"] = Field(description="Open or done.")
    note: str | None = Field(description="The agent's note when done.")
    done_by: str | None = Field(description="Who completed it.")
    done_at: datetime | None = Field(description="When it was completed.")


class CorrectionOut(BaseModel):
    field: str = Field(description="Which data the subject says is wrong.")
    value: str = Field(description="What the subject says is right.")


class RequestOut(BaseModel):
    id: str = Field(description="The request's id (32 hex digits).")
    reference: str = Field(description="Short reference shown to people (first 8 hex digits).")
    kind: Kind = Field(description="What the subject asks for.")
    status: Status = Field(
        description="unverified (waiting for the code), locked (five wrong codes), verified "
        "(waiting for a decision), in_progress, forwarded (sent to the controller), done, "
        "denied, failed (an agent can retry)."
    )
    lang: str = Field(description="Language of the e-mails to the subject.")
    channel: Literal["web", "api", "agent"] = Field(description="Where the request came from.")
    identity_types: list[str] = Field(description="Which identities the subject gave.")
    purposes: list[str] = Field(description="Objection or withdrawal: the purposes concerned.")
    controller: str | None = Field(description="Customer key when forwarded as processor.")
    received_at: datetime = Field(description="When the request arrived (UTC).")
    due_on: date = Field(
        description="Legal due date in Norway: one calendar month after receipt (art. 12(3)), "
        "moved past weekends and public holidays; after an extension the new one."
    )
    extended: bool = Field(description="Whether the deadline has been extended.")
    extension_reason: str | None = Field(description="Why it was extended (sent to the subject).")
    overdue: bool = Field(description="Open and past its due date.")
    verified: bool = Field(description="Whether the identity is confirmed.")
    verified_at: datetime | None = Field(description="When the identity was confirmed.")
    verification_method: str | None = Field(
        description="email_code, oidc:fnr, oidc:email, agent or token:NAME."
    )
    locked_reason: str | None = Field(description="Why the request is locked, if it is.")
    assignee: str | None = Field(description="The agent handling it.")
    decision_reason: str | None = Field(description="The reasons for a denial.")
    decided_by: str | None = Field(description="Who approved, denied or forwarded it.")
    decided_at: datetime | None = Field(description="When.")
    forwarded_at: datetime | None = Field(description="When it was forwarded to the controller.")
    closed_at: datetime | None = Field(description="When it was done or denied.")
    engine_request: str | None = Field(
        description="The DSR engine's request id (`datavern dsr status ID`)."
    )
    tasks: list[TaskOut] = Field(description="Manual tasks (systems without a connector).")
    email: str | None = Field(
        default=None, description="The subject's address (only for callers who may decide)."
    )
    identities: dict[str, list[str]] | None = Field(
        default=None, description="Identity values by type (only for callers who may decide)."
    )
    details: str | None = Field(
        default=None, description="The subject's description (only for callers who may decide)."
    )
    correction: CorrectionOut | None = Field(
        default=None, description="The correction asked for (only for callers who may decide)."
    )


class Counts(BaseModel):
    status: dict[str, int] = Field(description="Requests per status.")
    kind: dict[str, int] = Field(description="Open requests per kind.")
    open: int = Field(description="Open requests.")
    due_soon: int = Field(description="Open and due within seven days.")
    overdue: int = Field(description="Open and past the due date.")
    unassigned: int = Field(description="Open and without an assignee.")


class RequestList(BaseModel):
    total: int = Field(description="Requests matching the filters.")
    offset: int = Field(description="The offset asked for.")
    limit: int = Field(description="The page size asked for.")
    counts: Counts = Field(description="The whole queue's figures.")
    items: list[RequestOut] = Field(description="The requests, soonest due first.")


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rectify: list[str] | None = Field(
        default=None,
        description="Rectification only: FIELD=VALUE items for the engine (default: the "
        "subject's own correction).",
    )


class DenyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=10,
        max_length=5000,
        description="The reasons, sent to the subject with their right to complain to "
        "Datatilsynet and to go to court (art. 12(4)).",
    )


class ExtendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=10, max_length=5000, description="Why more time is needed (sent to the subject)."
    )
    months: Literal[1, 2] = Field(default=2, description="Further months (at most 3 in all).")


class Problem(BaseModel):
    field: str = Field(description="The field the problem is in ('' for the request).")
    message: str = Field(description="What is wrong.")


class ErrorBody(BaseModel):
    detail: str | list[Problem] = Field(description="What went wrong.")
    code: str | None = Field(default=None, description="A stable code for refusals.")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid token or session."},
    403: {"model": ErrorBody, "description": "The token's scopes or the role do not allow it."},
}


# --------------------------------------------------------------------------- #
# Authentication
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Caller:
    actor: str
    token: tokens.TokenPrincipal | None
    principal: Principal | None

    def may(self, scope: str) -> bool:
        if self.token is not None:
            return self.token.can(scope)
        assert self.principal is not None
        permission = (
            Permission.view_requests if scope == "requests:read" else Permission.handle_requests
        )
        return self.principal.can(permission)

    @property
    def reveal(self) -> bool:
        return self.may("requests:decide")


def _caller(scope: str) -> Any:
    async def dependency(
        request: Request, principal: Principal | None = Depends(get_principal)
    ) -> Caller:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            with db(request) as session:
                found = tokens.authenticate(session, header[7:].strip())
            if found is None:
                raise HTTPException(401, "the API token is unknown or revoked")
            caller = Caller(found.actor, found, None)
        elif principal is not None:
            if request.method not in ("GET", "HEAD") and not security.session_csrf_valid(
                principal.csrf_token, request.headers.get("x-csrf-token")
            ):
                raise HTTPException(403, "CSRF token missing or wrong (X-CSRF-Token)")
            caller = Caller(principal.username, None, principal)
        else:
            raise HTTPException(401, "send an API token (Authorization: Bearer dv_...) or log in")
        if not caller.may(scope):
            raise HTTPException(403, f"this call needs the scope {scope}")
        return caller

    return dependency


def _refused(exc: DatavernError) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        return JSONResponse(
            {"detail": [{"field": p.path, "message": p.message} for p in exc.problems]},
            status_code=422,
        )
    if isinstance(exc, NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    code = exc.key if isinstance(exc, cases.CaseRefused) else None
    return JSONResponse({"detail": str(exc), "code": code}, status_code=409)


def _out(session: Any, case: Any, caller: Caller) -> RequestOut:
    return RequestOut.model_validate(cases.as_json(session, case, reveal=caller.reveal))


def _get(session: Any, case_id: str) -> Any:
    case = intake.find_case(session, case_id)
    if case is None:
        raise HTTPException(404, f"no request {case_id!r}")
    return case


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.post(
    "",
    status_code=201,
    response_model=RequestOut,
    summary="File a data-subject request",
    responses={**ERRORS, 422: {"model": ErrorBody, "description": "Invalid fields."}},
)
def create(
    body: RequestCreate, request: Request, caller: Caller = Depends(_caller("requests:write"))
) -> Any:
    """Files a request as the privacy centre does. Unless ``identity_verified``, the subject
    gets a one-time code by e-mail and the request waits for it."""
    sub = intake.Submission(
        kind=body.kind,
        email=body.email,
        lang=body.lang,
        phone=body.phone or "",
        fnr=body.fnr or "",
        customer_id=body.customer_id or "",
        details=body.details or "",
        correction_field=body.correction.field if body.correction else "",
        correction_value=body.correction.value if body.correction else "",
        purposes=body.purposes,
        controller=body.controller or "",
    )
    verified_by = None
    if body.identity_verified:
        verified_by = f"token:{caller.token.name}" if caller.token else "agent"
    try:
        with db(request) as session:
            submitted = intake.submit(
                session,
                sub,
                channel="api" if caller.token else "agent",
                actor=caller.actor,
                verified_by=verified_by,
            )
            out = _out(session, _get(session, submitted.case_id), caller)
    except DatavernError as exc:
        return _refused(exc)
    cases.deliver(submitted.messages)
    return out


@router.get(
    "",
    response_model=RequestList,
    summary="List requests with filters and the queue's counts",
    responses={**ERRORS, 422: {"model": ErrorBody, "description": "Invalid filters."}},
)
def list_requests(
    request: Request,
    kind: Kind | None = Query(default=None, description="Only this kind."),
    status: str | None = Query(default=None, description="A status, or `open`."),
    assignee: str | None = Query(default=None, description="A username, or `-` for nobody."),
    due: Literal["soon", "overdue"] | None = Query(
        default=None, description="`soon`: due within 7 days; `overdue`: past the due date."
    ),
    offset: int = Query(default=0, ge=0, description="Skip this many."),
    limit: int = Query(default=50, ge=1, le=500, description="At most this many."),
    caller: Caller = Depends(_caller("requests:read")),
) -> Any:
    filters = queue.Filters(kind, status, assignee, due, offset, limit)
    try:
        with db(request) as session:
            page = queue.search(session, filters)
            items = [_out(session, c, caller) for c in page.cases]
    except DatavernError as exc:
        return _refused(exc)
    return RequestList(
        total=page.total,
        offset=offset,
        limit=limit,
        counts=Counts.model_validate(page.counts),
        items=items,
    )


@router.get(
    "/{request_id}",
    response_model=RequestOut,
    summary="One request",
    responses={**ERRORS, 404: {"model": ErrorBody, "description": "No such request."}},
)
def get_one(
    request_id: str, request: Request, caller: Caller = Depends(_caller("requests:read"))
) -> Any:
    with db(request) as session:
        case = _get(session, request_id)
        messages = cases.sync(session, case, actor=caller.actor)
        out = _out(session, case, caller)
    cases.deliver(messages)
    return out


def _decide(request: Request, request_id: str, caller: Caller, action: Any) -> Any:
    run = None
    messages: list[str] = []
    try:
        with db(request) as session:
            case = _get(session, request_id)
            result = action(session, case)
            messages, run = result.messages, result.run_engine
    except DatavernError as exc:
        return _refused(exc)
    cases.deliver(messages)
    if run:
        cases.execute(request_id, actor=caller.actor)
    with db(request) as session:
        return _out(session, _get(session, request_id), caller)


DECIDE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorBody, "description": "No such request."},
    409: {"model": ErrorBody, "description": "The request's state does not allow it."},
    422: {"model": ErrorBody, "description": "Invalid fields."},
}


@router.post(
    "/{request_id}/approve",
    response_model=RequestOut,
    summary="Approve: carry out (or forward to the controller)",
    responses=DECIDE_ERRORS,
)
def approve(
    request_id: str,
    request: Request,
    body: ApproveBody | None = None,
    caller: Caller = Depends(_caller("requests:decide")),
) -> Any:
    """Carries out a verified request; returns it afterwards (with ``DATAVERN_JOBS=inline``
    the engine has run by then)."""
    rectify = body.rectify if body else None
    return _decide(
        request,
        request_id,
        caller,
        lambda s, c: cases.approve(s, c, actor=caller.actor, rectify=rectify),
    )


@router.post(
    "/{request_id}/deny",
    response_model=RequestOut,
    summary="Deny with reasons (the subject is told, with the right to complain)",
    responses=DECIDE_ERRORS,
)
def deny(
    request_id: str,
    body: DenyBody,
    request: Request,
    caller: Caller = Depends(_caller("requests:decide")),
) -> Any:
    return _decide(
        request, request_id, caller, lambda s, c: cases.deny(s, c, body.reason, actor=caller.actor)
    )


@router.post(
    "/{request_id}/extend",
    response_model=RequestOut,
    summary="Extend the deadline by one or two months (only during the first month)",
    responses=DECIDE_ERRORS,
)
def extend(
    request_id: str,
    body: ExtendBody,
    request: Request,
    caller: Caller = Depends(_caller("requests:decide")),
) -> Any:
    return _decide(
        request,
        request_id,
        caller,
        lambda s, c: cases.extend(s, c, body.reason, months=body.months, actor=caller.actor),
    )
