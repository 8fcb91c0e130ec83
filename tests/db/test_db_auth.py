"""Accounts: argon2id hashes, authentication, inactive accounts, password rules."""

from __future__ import annotations

import logging
import re

import pytest
from db_helpers import FAST_HASHER, NOW

from pumpmgr.auth import (
    DEFAULT_HASHER,
    AuthError,
    authenticate,
    create_user,
    hash_password,
    needs_rehash,
    verify_password,
)
from pumpmgr.db.engine import Database
from pumpmgr.db.schema import Role, User
from pumpmgr.errors import Code

PASSWORD = "correct horse battery staple"


def _nurse(db: Database, *, active: bool = True, fast: bool = False) -> int:
    with db.write() as session:
        user = create_user(
            session,
            username="  Ann.Smith ",
            password=PASSWORD,
            full_name="Ann Smith",
            role=Role.NURSE,
            active=active,
            now=NOW,
            hasher=FAST_HASHER if fast else DEFAULT_HASHER,
        )
        return user.id


def test_stored_hash_is_argon2id_above_the_owasp_minimum(database: Database) -> None:
    user_id = _nurse(database)
    with database.read() as session:
        user = session.get_one(User, user_id)
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", user.password_hash)
    assert match is not None
    memory_kib, time_cost, _ = (int(g) for g in match.groups())
    assert memory_kib >= 19456 and time_cost >= 2
    assert PASSWORD not in user.password_hash
    assert user.username == "ann.smith"
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)


def test_authenticate_returns_the_active_user(database: Database) -> None:
    user_id = _nurse(database)
    with database.write() as session:
        user = authenticate(session, "ANN.SMITH", PASSWORD)
    assert user.id == user_id and user.role is Role.NURSE


def test_a_wrong_password_and_an_unknown_user_look_the_same(database: Database) -> None:
    _nurse(database)
    with pytest.raises(AuthError) as wrong, database.write() as session:
        authenticate(session, "ann.smith", "tr0ub4dor&3")
    with pytest.raises(AuthError) as unknown, database.write() as session:
        authenticate(session, "mallory", PASSWORD)
    assert wrong.value.code is unknown.value.code is Code.AUTH_BAD_CREDENTIALS
    assert wrong.value.message == unknown.value.message == "unknown user name or wrong password"


def test_an_inactive_account_is_refused_after_its_password(database: Database) -> None:
    _nurse(database, active=False)
    with pytest.raises(AuthError) as refused, database.write() as session:
        authenticate(session, "ann.smith", PASSWORD)
    assert refused.value.code is Code.AUTH_INACTIVE
    assert "deactivated" in refused.value.message
    with pytest.raises(AuthError) as guessed, database.write() as session:
        authenticate(session, "ann.smith", "a wrong guess")
    assert guessed.value.code is Code.AUTH_BAD_CREDENTIALS


def test_an_outdated_hash_is_upgraded_at_login(database: Database) -> None:
    user_id = _nurse(database, fast=True)
    with database.read() as session:
        old_hash = session.get_one(User, user_id).password_hash
    assert needs_rehash(old_hash)
    with database.write() as session:
        authenticate(session, "ann.smith", PASSWORD)
    with database.read() as session:
        new_hash = session.get_one(User, user_id).password_hash
    assert new_hash != old_hash and not needs_rehash(new_hash)
    assert verify_password(new_hash, PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("ann", "short", Code.AUTH_WEAK_PASSWORD),
        ("ann", "x" * 1025, Code.AUTH_WEAK_PASSWORD),
        ("annabelle", "AnnaBelle", Code.AUTH_WEAK_PASSWORD),
        ("a", PASSWORD, Code.AUTH_BAD_USERNAME),
        ("ann smith", PASSWORD, Code.AUTH_BAD_USERNAME),
    ],
)
def test_account_rules(database: Database, username: str, password: str, code: Code) -> None:
    with pytest.raises(AuthError) as refused, database.write() as session:
        create_user(
            session,
            username=username,
            password=password,
            full_name="Ann",
            role=Role.NURSE,
            hasher=FAST_HASHER,
        )
    assert refused.value.code is code
    assert password not in refused.value.message


def test_a_user_name_is_taken_once(database: Database) -> None:
    _nurse(database, fast=True)
    with pytest.raises(AuthError) as refused, database.write() as session:
        create_user(
            session,
            username="ann.smith",
            password="another good password",
            full_name="Ann Other",
            role=Role.PRESCRIBER,
            hasher=FAST_HASHER,
        )
    assert refused.value.code is Code.AUTH_DUPLICATE_USER


def test_no_password_reaches_the_logs_or_the_file(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL and its parameters
    _nurse(sqlite_database, fast=True)
    with sqlite_database.write() as session:
        authenticate(session, "ann.smith", PASSWORD, hasher=FAST_HASHER)
    with pytest.raises(AuthError), sqlite_database.write() as session:
        authenticate(session, "ann.smith", "wrong " + PASSWORD, hasher=FAST_HASHER)
    sqlite_database.dispose()  # never read the file while connections are open
    assert sqlite_database.path is not None
    assert "INSERT INTO users" in caplog.text  # the SQL log was captured
    assert PASSWORD not in caplog.text
    assert PASSWORD.encode() not in sqlite_database.path.read_bytes()


def test_hashes_are_salted() -> None:
    first, second = hash_password(PASSWORD, FAST_HASHER), hash_password(PASSWORD, FAST_HASHER)
    assert first != second
    assert verify_password(first, PASSWORD, FAST_HASHER)
    assert verify_password(second, PASSWORD, FAST_HASHER)
