"""REST API under /api/v1 (DESIGN: Interfaces). OpenAPI at /docs and /openapi.json.

Authentication, for now: the admin console's session cookie (a person logged in
at /admin), with the same role permissions as the pages. Token auth for systems
(hashed tokens with scopes) comes with the first API a system calls. The routes
here only read; any later route that changes state must carry the session's
CSRF token in the ``X-CSRF-Token`` header (enforced by the router dependency).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from datavern.accounts.rules import Permission
from datavern.web import published
from datavern.web.deps import Principal, csrf_protect, db, require

router = APIRouter(prefix="/api/v1", tags=["register"], dependencies=[Depends(csrf_protect)])


class VersionSummary(BaseModel):
    number: int
    content_hash: str
    applied_at: datetime
    applied_by: str
    message: str | None
    changes: int
    material_changes: int


class VersionDetail(VersionSummary):
    content: dict[str, Any]


@router.get(
    "/register/versions",
    response_model=list[VersionSummary],
    summary="Applied register versions, newest first",
    responses={401: {"description": "Not logged in."}, 403: {"description": "Role lacks access."}},
)
def list_versions(
    request: Request, principal: Principal = Depends(require(Permission.view_register))
) -> list[VersionSummary]:
    with db(request) as session:
        out = []
        for v in published.list_versions(session):
            changes = published.changes_of(v)
            out.append(
                VersionSummary(
                    number=v.number,
                    content_hash=v.content_hash,
                    applied_at=v.applied_at,
                    applied_by=v.applied_by,
                    message=v.message,
                    changes=len(changes),
                    material_changes=sum(1 for c in changes if c.material),
                )
            )
        return out


@router.get(
    "/register/versions/{number}",
    response_model=VersionDetail,
    summary="One applied register version with its content",
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "Role lacks access."},
        404: {"description": "No such version."},
    },
)
def get_version(
    number: int,
    request: Request,
    principal: Principal = Depends(require(Permission.view_register)),
) -> VersionDetail:
    with db(request) as session:
        v = published.get_version(session, number)
        if v is None:
            raise HTTPException(404, f"no register version {number}")
        changes = published.changes_of(v)
        return VersionDetail(
            number=v.number,
            content_hash=v.content_hash,
            applied_at=v.applied_at,
            applied_by=v.applied_by,
            message=v.message,
            changes=len(changes),
            material_changes=sum(1 for c in changes if c.material),
            content=v.content,
        )
