"""Admin-console accounts: users, passwords (argon2id) and server-side sessions.

Every change to an account is written to the audit log naming the user by id,
never by name or e-mail. A session cookie is a random token; the database keeps
only its SHA-256, so a leaked database copy cannot be replayed as a login.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from datavern.accounts import rules
from datavern.accounts.models import User, WebSession
from datavern.core import audit, clock
from datavern.core.errors import InvalidInput, NotFound, Problem

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" profile.
_hasher = PasswordHasher()
# Verified when the username is unknown, so that a wrong name costs as much time as a
# wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LastAdminError(InvalidInput):
    """The change would leave no active admin, so nobody could manage users any more."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str, username: str) -> None:
    problems = rules.password_problems(password, username)
    if problems:
        raise InvalidInput([Problem(rules.PASSWORD_MESSAGES[p], path="password") for p in problems])


def _role(value: str) -> rules.Role:
    try:
        return rules.parse_role(value)
    except ValueError as exc:
        raise InvalidInput(Problem(str(exc), path="role")) from None


def generate_password() -> str:
    """A random password that passes the policy (about 128 bits)."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if not rules.password_problems(candidate):
            return candidate


def get_user(session: Session, username: str) -> User | None:
    name = rules.normalize_username(username)
    return session.execute(select(User).where(User.username == name)).scalar_one_or_none()


def _require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise NotFound("no such user")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.username)).scalars())


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    actor: str,
    email: str | None = None,
) -> User:
    """Add a user; InvalidInput lists every problem (name, role, password) at once."""
    name = rules.normalize_username(username)
    problems: list[Problem] = []
    name_problem = rules.username_problem(name)
    if name_problem:
        problems.append(Problem(name_problem, path="username"))
    elif get_user(session, name) is not None:
        problems.append(Problem("a user with this username exists already", path="username"))
    try:
        parsed_role = rules.parse_role(role)
    except ValueError as exc:
        problems.append(Problem(str(exc), path="role"))
    problems.extend(
        Problem(rules.PASSWORD_MESSAGES[p], path="password")
        for p in rules.password_problems(password, name)
    )
    if problems:
        raise InvalidInput(problems)
    user = User(
        username=name,
        email=email,
        password_hash=hash_password(password),
        role=parsed_role.value,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(session, "user.create", f"user:{user.id}", {"role": user.role}, actor=actor)
    return user


def set_password(session: Session, username: str, password: str, *, actor: str) -> User:
    user = _require_user(session, username)
    _check_password(password, user.username)
    user.password_hash = hash_password(password)
    revoke_user_sessions(session, user.id)
    audit.record(
        session, "user.password", f"user:{user.id}", {"fields": ["password_hash"]}, actor=actor
    )
    return user


def set_role(session: Session, username: str, role: str, *, actor: str) -> User:
    user = _require_user(session, username)
    new_role = _role(role)
    _keep_an_admin(session, user, new_role=new_role, active=user.active)
    old = user.role
    user.role = new_role.value
    session.flush()
    audit.record(
        session, "user.role", f"user:{user.id}", {"from": old, "to": user.role}, actor=actor
    )
    return user


def set_active(session: Session, username: str, active: bool, *, actor: str) -> User:
    user = _require_user(session, username)
    _keep_an_admin(session, user, new_role=rules.Role(user.role), active=active)
    user.active = active
    if not active:
        revoke_user_sessions(session, user.id)
    session.flush()
    audit.record(
        session,
        "user.enable" if active else "user.disable",
        f"user:{user.id}",
        {"fields": ["active"]},
        actor=actor,
    )
    return user


def _keep_an_admin(session: Session, user: User, *, new_role: rules.Role, active: bool) -> None:
    """Refuse to demote or disable the last active admin: nobody could manage users after."""
    if user.role != rules.Role.admin or not user.active:
        return
    if new_role == rules.Role.admin and active:
        return
    others = session.execute(
        select(User.id).where(
            User.role == rules.Role.admin.value, User.active.is_(True), User.id != user.id
        )
    ).first()
    if others is None:
        raise LastAdminError(
            Problem("this is the last active admin; make another user admin first", path="role")
        )


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (never says which was wrong)."""
    if len(password) > rules.PASSWORD_MAX_LENGTH:
        return None
    user = get_user(session, username)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        # Parameters were raised since this hash was made; upgrade it while we know the password.
        user.password_hash = hash_password(password)
    return user


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie value; shown once, never stored
    record: WebSession


def create_session(
    session: Session, user: User, *, lifetime: timedelta = rules.SESSION_LIFETIME
) -> NewSession:
    """Log ``user`` in: a fresh random token (no session fixation) with its own CSRF token."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    record = WebSession(
        id_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    audit.record(session, "session.login", f"user:{user.id}", {}, actor=f"user:{user.id}")
    return NewSession(token, record)


def get_session(session: Session, token: str | None) -> tuple[WebSession, User] | None:
    """The live session for a cookie value and its user; expired or disabled means None."""
    if not token or len(token) > 200:
        return None
    record = session.get(WebSession, token_hash(token))
    if record is None:
        return None
    if record.expires_at <= clock.now():
        session.delete(record)
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.active:
        return None
    return record, user


def revoke_session(session: Session, token: str | None) -> bool:
    """Log out: the session stops working at once. True if there was one."""
    if not token:
        return False
    record = session.get(WebSession, token_hash(token))
    if record is None:
        return False
    audit.record(
        session, "session.logout", f"user:{record.user_id}", {}, actor=f"user:{record.user_id}"
    )
    session.delete(record)
    session.flush()
    return True


def revoke_user_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def purge_expired_sessions(session: Session) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)
