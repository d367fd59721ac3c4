"""Users, argon2id passwords and server-side sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from datavern.accounts import service
from datavern.accounts.models import User, WebSession
from datavern.core import audit, clock
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput, NotFound

PASSWORD = "lang nok passordfrase"


def _add(username: str = "kari", role: str = "admin", password: str = PASSWORD) -> int:
    with session_scope() as session:
        return service.create_user(session, username, password, role, actor="test").id


def test_password_is_stored_as_argon2id_hash(database_url: str) -> None:
    _add()
    with session_scope() as session:
        user = session.execute(select(User)).scalar_one()
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_authenticate_right_and_wrong(database_url: str) -> None:
    _add("Kari")
    with session_scope() as session:
        assert service.authenticate(session, "kari", PASSWORD) is not None
        assert service.authenticate(session, "KARI", PASSWORD) is not None
        assert service.authenticate(session, "kari", PASSWORD + "x") is None
        assert service.authenticate(session, "nobody", PASSWORD) is None


def test_disabled_user_cannot_log_in_and_loses_sessions(database_url: str) -> None:
    _add("kari")
    _add("ola", role="viewer")
    with session_scope() as session:
        user = service.get_user(session, "ola")
        assert user is not None
        token = service.create_session(session, user).token
    with session_scope() as session:
        service.set_active(session, "ola", False, actor="test")
    with session_scope() as session:
        assert service.authenticate(session, "ola", PASSWORD) is None
        assert service.get_session(session, token) is None


def test_create_user_reports_every_problem(database_url: str) -> None:
    with session_scope() as session, pytest.raises(InvalidInput) as info:
        service.create_user(session, "X Y", "kort", "superuser", actor="test")
    paths = {p.path for p in info.value.problems}
    assert paths == {"username", "role", "password"}


def test_duplicate_username_is_refused(database_url: str) -> None:
    _add("kari")
    with session_scope() as session, pytest.raises(InvalidInput, match="exists"):
        service.create_user(session, "KARI", PASSWORD, "viewer", actor="test")


def test_session_cookie_is_stored_only_as_hash(database_url: str) -> None:
    _add()
    with session_scope() as session:
        user = service.get_user(session, "kari")
        assert user is not None
        new = service.create_session(session, user)
    with session_scope() as session:
        record = session.execute(select(WebSession)).scalar_one()
        assert record.id_hash != new.token and len(record.id_hash) == 64
        found = service.get_session(session, new.token)
        assert found is not None and found[1].username == "kari"
        assert service.get_session(session, new.token + "x") is None


def test_session_expires_after_eight_hours(database_url: str) -> None:
    _add()
    fixed = clock.FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    previous = clock.use_clock(fixed)
    try:
        with session_scope() as session:
            user = service.get_user(session, "kari")
            assert user is not None
            token = service.create_session(session, user).token
        fixed.set(datetime(2026, 3, 2, 15, 59, tzinfo=UTC))
        with session_scope() as session:
            assert service.get_session(session, token) is not None
        fixed.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(hours=8))
        with session_scope() as session:
            assert service.get_session(session, token) is None
        with session_scope() as session:
            assert session.execute(select(WebSession)).first() is None
    finally:
        clock.use_clock(previous)


def test_revoked_session_stops_working(database_url: str) -> None:
    _add()
    with session_scope() as session:
        user = service.get_user(session, "kari")
        assert user is not None
        token = service.create_session(session, user).token
    with session_scope() as session:
        assert service.revoke_session(session, token)
    with session_scope() as session:
        assert service.get_session(session, token) is None


def test_password_change_ends_sessions(database_url: str) -> None:
    _add()
    with session_scope() as session:
        user = service.get_user(session, "kari")
        assert user is not None
        token = service.create_session(session, user).token
    with session_scope() as session:
        service.set_password(session, "kari", "en helt ny passordfrase", actor="test")
    with session_scope() as session:
        assert service.get_session(session, token) is None
        assert service.authenticate(session, "kari", "en helt ny passordfrase") is not None


def test_last_admin_cannot_be_demoted_or_disabled(database_url: str) -> None:
    _add("kari")
    with session_scope() as session, pytest.raises(service.LastAdminError):
        service.set_role(session, "kari", "viewer", actor="test")
    with session_scope() as session, pytest.raises(service.LastAdminError):
        service.set_active(session, "kari", False, actor="test")
    _add("ola")
    with session_scope() as session:
        assert service.set_role(session, "kari", "viewer", actor="test").role == "viewer"


def test_unknown_user_is_not_found(database_url: str) -> None:
    with session_scope() as session, pytest.raises(NotFound):
        service.set_role(session, "nobody", "viewer", actor="test")


def test_account_changes_are_audited_without_names(database_url: str) -> None:
    user_id = _add("kari.nordmann")
    _add("ola")
    with session_scope() as session:
        service.set_role(session, "kari.nordmann", "viewer", actor="test")
        entries = session.execute(select(audit.AuditEntry).order_by(audit.AuditEntry.seq)).scalars()
        rows = [(e.action, e.target, e.details) for e in entries]
        assert audit.verify(session).ok
    assert ("user.create", f"user:{user_id}", {"role": "admin"}) in rows
    assert ("user.role", f"user:{user_id}", {"from": "admin", "to": "viewer"}) in rows
    assert "kari" not in repr(rows)
