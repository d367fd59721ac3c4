"""The reference for the consent read benchmark: a bare Starlette endpoint that answers
the same question with one plain SQL SELECT of the current state, no login, no
register, no checks, served the way Datavern serves its fast reads (async endpoint,
the short query inline). Datavern's numbers are printed as a ratio to this one.

    uvicorn --app-dir bench/consent reference_app:app   (DATAVERN_DATABASE_URL set)
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

engine = create_engine(os.environ["DATAVERN_DATABASE_URL"])
QUERY = text(
    "SELECT decision, text_version_id, expires_at FROM consent_state "
    "WHERE subject = :subject AND purpose = :purpose"
)


async def state(request: Request) -> JSONResponse:
    # async with the (sub-millisecond) query inline, as Datavern's fast reads do: no hop
    # to a thread pool, which would cost the reference more than the query.
    with engine.connect() as conn:
        row = conn.execute(
            QUERY,
            {
                "subject": request.query_params["subject"],
                "purpose": request.query_params["purpose"],
            },
        ).first()
    if row is None:
        return JSONResponse({"decision": None})
    return JSONResponse(
        {
            "decision": row.decision,
            "text_version": row.text_version_id,
            "expires_at": str(row.expires_at) if row.expires_at else None,
        }
    )


app = Starlette(routes=[Route("/state", state)])
