"""Roles, permissions, usernames and the password policy of the admin console.

Pure rules: no I/O. The web console and the CLI both ask these functions, so a
role means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum


class Role(StrEnum):
    """The four roles of DESIGN.md (Security)."""

    admin = "admin"
    privacy_officer = "privacy_officer"
    agent = "agent"
    viewer = "viewer"


class Permission(StrEnum):
    view_register = "view_register"  # register, processing map, notice versions, dashboard
    view_audit = "view_audit"  # the audit log and its verification
    manage_register = "manage_register"  # apply a register, publish the notice (later in the web)
    view_requests = "view_requests"  # the request queue and pages (identities hidden)
    handle_requests = "handle_requests"  # act on data-subject requests, see identities
    manage_users = "manage_users"  # add users, change roles, disable users
    view_consent = "view_consent"  # consent figures, a subject's history and proof, outbox
    record_consent = "record_consent"  # record and withdraw consents through the API
    manage_consent = "manage_consent"  # re-consent campaigns
    manage_breaches = "manage_breaches"  # the breach register, drafts to Datatilsynet, notices
    manage_retention = "manage_retention"  # legal holds, retention sweeps and their reports


# Least privilege: a viewer only reads; an agent works requests; the privacy officer
# owns the register, the notice and the audit trail; only an admin manages accounts.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset({Permission.view_register, Permission.view_requests}),
    Role.agent: frozenset(
        {
            Permission.view_register,
            Permission.view_requests,
            Permission.handle_requests,
            Permission.view_consent,
            Permission.record_consent,
        }
    ),
    Role.privacy_officer: frozenset(
        {
            Permission.view_register,
            Permission.view_audit,
            Permission.manage_register,
            Permission.view_requests,
            Permission.handle_requests,
            Permission.view_consent,
            Permission.record_consent,
            Permission.manage_consent,
            Permission.manage_breaches,
            Permission.manage_retention,
        }
    ),
    Role.admin: frozenset(Permission),
}

ROLES: tuple[str, ...] = tuple(r.value for r in Role)

# An admin-console session lasts at most this long after login (absolute, not sliding),
# so a forgotten browser on a shared machine does not stay logged in for days.
SESSION_LIFETIME = timedelta(hours=8)

# Failed logins allowed per client address inside the window before it is refused.
LOGIN_MAX_FAILURES = 10
LOGIN_WINDOW = timedelta(minutes=5)


def parse_role(value: str) -> Role:
    """The role named ``value``; ValueError names the valid roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {value!r}; expected one of {', '.join(ROLES)}") from None


def has_permission(role: str, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``; an unknown role grants nothing."""
    try:
        parsed = Role(role)
    except ValueError:
        return False
    return permission in ROLE_PERMISSIONS[parsed]


def permissions_of(role: str) -> frozenset[Permission]:
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


def normalize_username(value: str) -> str:
    """Usernames are compared case-insensitively: stored and looked up in lower case."""
    return value.strip().lower()


def username_problem(value: str) -> str | None:
    """Why ``value`` (already normalized) cannot be a username, or None."""
    if not USERNAME_RE.match(value):
        return (
            "a username has 2-64 characters: lower-case letters, digits, '.', '_', '-', '@', "
            "starting with a letter or digit"
        )
    return None


class PasswordProblem(StrEnum):
    too_short = "too_short"
    too_long = "too_long"
    contains_username = "contains_username"
    too_simple = "too_simple"
    too_common = "too_common"


PASSWORD_MIN_LENGTH = 12
# Long enough for any passphrase, short enough that hashing cannot be used to tie up the server.
PASSWORD_MAX_LENGTH = 256
PASSWORD_MIN_DISTINCT = 5

PASSWORD_MESSAGES: dict[PasswordProblem, str] = {
    PasswordProblem.too_short: f"the password must have at least {PASSWORD_MIN_LENGTH} characters",
    PasswordProblem.too_long: f"the password must have at most {PASSWORD_MAX_LENGTH} characters",
    PasswordProblem.contains_username: "the password must not contain the username",
    PasswordProblem.too_simple: (
        f"the password must use at least {PASSWORD_MIN_DISTINCT} different characters"
    ),
    PasswordProblem.too_common: "the password is too common; choose another",
}

# A few passwords long enough to pass the length rule that every guessing list tries first.
_COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiopå",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "passwordpassword",
        "password1234",
        "password12345",
        "password123456",
        "passordpassord",
        "passord12345",
        "passord1234",
        "sommer2024sommer",
        "administrator",
        "administrator1",
        "datavern1234",
        "datavern12345",
        "letmeinletmein",
        "iloveyou1234",
        "welcome12345",
        "velkommen123",
        "velkommen1234",
    }
)


def password_problems(password: str, username: str = "") -> list[PasswordProblem]:
    """Every rule the password breaks (NIST SP 800-63B style: length over composition)."""
    problems: list[PasswordProblem] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(PasswordProblem.too_short)
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(PasswordProblem.too_long)
    name = normalize_username(username)
    if len(name) >= 3 and name in password.lower():
        problems.append(PasswordProblem.contains_username)
    if len(set(password)) < PASSWORD_MIN_DISTINCT:
        problems.append(PasswordProblem.too_simple)
    if password.lower() in _COMMON:
        problems.append(PasswordProblem.too_common)
    return problems
