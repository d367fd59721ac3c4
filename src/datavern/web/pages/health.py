"""GET /healthz: the process answers and its database does."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from datavern.core.db import get_engine

router = APIRouter(tags=["health"])
log = logging.getLogger("datavern.web")


@router.get(
    "/healthz",
    summary="Liveness and database check",
    responses={503: {"description": "The database cannot be reached."}},
)
def healthz(request: Request) -> JSONResponse:
    """`{"status": "ok", "database": "ok"}` after a real query; 503 if the database fails."""
    try:
        with get_engine(request.app.state.database_url).connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except Exception as exc:
        # The exception text may hold the connection URL: log only its kind.
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
