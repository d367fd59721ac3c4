"""API tokens: hashed, named, scoped; `datavern token create/list/revoke`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from datavern.accounts import tokens
from datavern.accounts.cli import token_app
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput


def test_only_a_hash_is_kept_and_the_token_authenticates(database_url: str) -> None:
    with session_scope() as session:
        value = tokens.create_token(session, "Portal", ["requests:read"], actor="t")
    with session_scope() as session:
        row = session.execute(select(tokens.ApiToken)).scalar_one()
        assert row.name == "portal" and value not in row.token_hash
        assert row.token_hash == tokens.hash_token(value)
        found = tokens.authenticate(session, value)
        assert found is not None and found.can("requests:read")
        assert not found.can("requests:decide")
        assert tokens.authenticate(session, value + "x") is None


def test_bad_names_scopes_and_duplicates_are_refused(database_url: str) -> None:
    with session_scope() as session:
        tokens.create_token(session, "a", ["requests:read"], actor="t")
    for name, scopes in (("a", ["requests:read"]), ("Has Space", ["requests:read"]), ("b", [])):
        with pytest.raises(InvalidInput), session_scope() as session:
            tokens.create_token(session, name, scopes, actor="t")
    with pytest.raises(InvalidInput) as caught, session_scope() as session:
        tokens.create_token(session, "c", ["requests:everything"], actor="t")
    assert "requests:everything" in str(caught.value)


def test_the_token_commands(database_url: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        token_app, ["create", "kundeportal", "--scope", "requests:write", "--json"]
    )
    assert made.exit_code == 0, made.output
    value = json.loads(made.output)["token"]
    assert value.startswith("dv_")
    listed = runner.invoke(token_app, ["list", "--json"])
    assert json.loads(listed.output)[0]["scopes"] == ["requests:write"]
    assert value not in listed.output
    bad = runner.invoke(token_app, ["create", "x", "--scope", "nope"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert runner.invoke(token_app, ["revoke", "kundeportal"]).exit_code == 0
    assert runner.invoke(token_app, ["revoke", "kundeportal"]).exit_code == 2
    with session_scope() as session:
        assert tokens.authenticate(session, value) is None
