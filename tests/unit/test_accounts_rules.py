"""Roles, permissions, usernames and the password policy (accounts/rules.py)."""

from __future__ import annotations

import pytest

from datavern.accounts import rules
from datavern.accounts.rules import PasswordProblem, Permission, Role


def test_viewer_only_reads() -> None:
    # The request queue is readable (identities hidden); acting on it is not.
    assert rules.permissions_of("viewer") == {Permission.view_register, Permission.view_requests}


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("admin", Permission.manage_users, True),
        ("privacy_officer", Permission.manage_users, False),
        ("agent", Permission.manage_users, False),
        ("viewer", Permission.manage_users, False),
        ("privacy_officer", Permission.manage_register, True),
        ("agent", Permission.manage_register, False),
        ("agent", Permission.handle_requests, True),
        ("viewer", Permission.handle_requests, False),
        ("privacy_officer", Permission.view_audit, True),
        ("viewer", Permission.view_audit, False),
    ],
)
def test_role_permissions(role: str, permission: Permission, allowed: bool) -> None:
    assert rules.has_permission(role, permission) is allowed


def test_admin_has_every_permission() -> None:
    assert all(rules.has_permission("admin", p) for p in Permission)


def test_every_role_can_read_the_register() -> None:
    assert all(rules.has_permission(r, Permission.view_register) for r in rules.ROLES)


def test_unknown_role_grants_nothing() -> None:
    assert not rules.has_permission("root", Permission.view_register)
    assert rules.permissions_of("root") == frozenset()


def test_parse_role_names_the_valid_roles() -> None:
    assert rules.parse_role(" Privacy_Officer ") is Role.privacy_officer
    with pytest.raises(ValueError, match="admin, privacy_officer, agent, viewer"):
        rules.parse_role("superuser")


@pytest.mark.parametrize("name", ["admin", "kari.nordmann", "ola_n-2", "dpo@firma.no"])
def test_valid_usernames(name: str) -> None:
    assert rules.username_problem(name) is None


@pytest.mark.parametrize("name", ["a", "", "Kari", "-kari", "kari nordmann", "x" * 65, "kåre"])
def test_invalid_usernames(name: str) -> None:
    assert rules.username_problem(name) is not None


def test_usernames_are_case_insensitive() -> None:
    assert rules.normalize_username("  Kari.Nordmann ") == "kari.nordmann"


def test_a_long_random_password_passes() -> None:
    assert rules.password_problems("korrekt hest batteri stift", "kari") == []


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("kort", "", PasswordProblem.too_short),
        ("x" * 257, "", PasswordProblem.too_long),
        ("mittnavnerkaripassord", "kari", PasswordProblem.contains_username),
        ("ababababababab", "", PasswordProblem.too_simple),
        ("Passordpassord", "", PasswordProblem.too_common),
    ],
)
def test_password_rules(password: str, username: str, problem: PasswordProblem) -> None:
    assert problem in rules.password_problems(password, username)


def test_every_problem_is_reported_at_once() -> None:
    problems = rules.password_problems("aaaa", "")
    assert PasswordProblem.too_short in problems and PasswordProblem.too_simple in problems


def test_every_password_problem_has_a_message() -> None:
    assert set(rules.PASSWORD_MESSAGES) == set(PasswordProblem)
