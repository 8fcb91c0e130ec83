"""User accounts and passwords.

Application-support layer: may import the standard library, argon2-cffi, SQLAlchemy,
``pumpmgr.errors`` and ``pumpmgr.db.schema``; never ``ui`` or Qt. Functions take the caller's
``Session`` and never commit (the service that calls them owns the unit of work).

Passwords are hashed with argon2id through argon2-cffi's ``PasswordHasher`` defaults (RFC 9106
low-memory profile: t=3, m=64 MiB, p=4; above OWASP's minimum of m=19 MiB, t=2). A hash made
with older parameters is upgraded at the next successful login. Passwords follow NIST SP
800-63B: at least 8 characters, no composition rules. A password is never stored, logged or put
in an error message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.db.schema import Role, User
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.identity import clean_text

MIN_PASSWORD_LENGTH = 8
#: Bounds the work one login attempt can cause; far above any real passphrase.
MAX_PASSWORD_LENGTH = 1024
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

DEFAULT_HASHER = PasswordHasher()


class AuthError(PumpMgrError):
    """A login was refused, or an account or password does not meet the rules."""


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """The argon2id PHC string for ``password`` (salted; differs on every call)."""
    return hasher.hash(password)


def verify_password(
    stored_hash: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """Whether ``password`` matches ``stored_hash``; False also for a damaged hash."""
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """Whether ``stored_hash`` was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("pumpmgr: no such user")


def normalize_username(username: str) -> str:
    """The stored form of a user name (trimmed, lower case), or :class:`AuthError`."""
    name = username.strip().lower()
    if not _USERNAME_RE.match(name):
        raise AuthError(
            "a user name has 2 to 64 characters: letters, digits, '.', '_' or '-', starting "
            "with a letter or digit",
            code=Code.AUTH_BAD_USERNAME,
            field="username",
        )
    return name


def check_password_rules(password: str, username: str) -> None:
    """Refuse a password that is too short, too long, or the user name itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            code=Code.AUTH_WEAK_PASSWORD,
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
            code=Code.AUTH_WEAK_PASSWORD,
            field="password",
        )
    if password.strip().lower() == username.strip().lower():
        raise AuthError(
            "the password must not be the user name",
            code=Code.AUTH_WEAK_PASSWORD,
            field="password",
        )


def find_user(session: Session, username: str) -> User | None:
    name = username.strip().lower()
    return session.scalars(select(User).where(User.username == name)).one_or_none()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str,
    role: Role,
    active: bool = True,
    now: datetime | None = None,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User:
    """Add an account (flushed, not committed) and return it."""
    name = normalize_username(username)
    check_password_rules(password, name)
    if not full_name.strip():
        raise AuthError("the full name is empty", code=Code.NO_VALUE, field="full_name")
    full_name = clean_text(full_name, "full_name")  # one line: it is printed on the sheets
    if find_user(session, name) is not None:
        raise AuthError(
            f"the user name '{name}' is already taken",
            code=Code.AUTH_DUPLICATE_USER,
            field="username",
        )
    user = User(
        username=name,
        full_name=full_name,
        role=role,
        password_hash=hash_password(password, hasher),
        active=active,
        created_at=now or datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, user: User, new_password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> None:
    """Replace ``user``'s password (flushed, not committed)."""
    check_password_rules(new_password, user.username)
    user.password_hash = hash_password(new_password, hasher)
    session.flush()


def authenticate(
    session: Session, username: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> User:
    """The active user with this name and password, or :class:`AuthError`.

    An unknown name and a wrong password get the same message and take the same time (a
    dummy hash is checked), so a guesser cannot tell which names exist. A deactivated account
    is reported only after its password was right. An outdated hash is upgraded in place (the
    caller's commit saves it). Recording failed attempts is the caller's job, in its own unit of
    work, because this one raises.
    """
    user = find_user(session, username)
    if user is None:
        verify_password(_dummy_hash(hasher), password, hasher)
        raise _bad_credentials()
    if not verify_password(user.password_hash, password, hasher):
        raise _bad_credentials()
    if not user.active:
        raise AuthError(
            f"the account '{user.username}' is deactivated; ask an administrator",
            code=Code.AUTH_INACTIVE,
            field="username",
        )
    if needs_rehash(user.password_hash, hasher):
        user.password_hash = hash_password(password, hasher)
        session.flush()
    return user


def _bad_credentials() -> AuthError:
    return AuthError(
        "unknown user name or wrong password", code=Code.AUTH_BAD_CREDENTIALS, field="password"
    )
