"""The reference for the consent read benchmark: a bare Starlette endpoint that answers
the same question with one plain SQL SELECT of the current state, no login, no
register, no checks, served the way Datavern serves its fast reads (async endpoint,
the short query inline). Datavern's numbers are printed as a ratio to this one.

``POST /append`` is the reference for the appends over HTTP: the JSON body inserted as
one row of a table of its own (no chain, no register, no login) and committed, one
transaction per request, each durable before the answer (as Datavern's appends).

    uvicorn --app-dir bench/consent reference_app:app   (DATAVERN_DATABASE_URL set)
"""

from __future__ import annotations

import json
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


# Its table, bench_reference_appends, is made by run.py before the server starts.
INSERT = text(
    "INSERT INTO bench_reference_appends (subject, purpose, decision, body) "
    "VALUES (:subject, :purpose, :decision, :body)"
)


async def append(request: Request) -> JSONResponse:
    raw = await request.body()
    body = json.loads(raw)
    with engine.begin() as conn:
        conn.execute(
            INSERT,
            {
                "subject": body["subject"],
                "purpose": body["purpose"],
                "decision": body["decision"],
                "body": raw.decode(),
            },
        )
    return JSONResponse({"recorded": True}, status_code=201)


app = Starlette(routes=[Route("/state", state), Route("/append", append, methods=["POST"])])
