"""Throttling of failed sign-ins and second-user checks, kept in the database (application
layer: stdlib, SQLAlchemy sessions and the ``sign_in_failures`` table).

NIST SP 800-63B §5.2.2 asks verifiers to limit consecutive failed attempts on an account;
reliability.md §4.3 asks a clinic workstation for a growing delay after 5 failures. After
:data:`FREE_FAILURES` failures in a row for one user name, every further attempt is refused,
without checking the password, until a delay has passed: 30 s after the fifth failure, doubling
with each further failure, at most 15 minutes. A successful sign-in clears the count. Time comes
from the injected clock, so tests move it instead of waiting.

The count lives in the clinic database (``sign_in_failures``), so every program on it shares
it: the desktop program on each workstation and each ``pumpmgr`` command, which starts afresh
on every call and so, with a count in memory, let a script try passwords without limit.

It is kept per typed user name (trimmed, lower case) whether or not such an account exists,
so the refusal tells a guesser nothing about which names exist. A typed user name is sometimes
a password typed into the wrong box, so the name is never stored, logged or kept: the row's key
is the first 16 bits of a SHA-256 digest of the name (:func:`name_key`). Sixteen bits say
almost nothing about what was typed, and bound the table at 65,536 rows whatever a script
types; two names that share a key share their count, which can only make a wait come sooner.

The service calls :meth:`SignInThrottle.check` and :meth:`SignInThrottle.succeeded` inside the
unit of work that checks the password; :meth:`SignInThrottle.failed` runs in a unit of work of
its own after that one was rolled back with the refusal (see ``ClinicContext.write``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import UTC, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from pumpmgr.clock import Clock
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, PumpMgrError

#: Failed attempts in a row allowed before any delay.
FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
#: Bits of the name's digest kept as its key (see the module docstring).
NAME_KEY_BITS = 16
_DOMAIN = b"pumpmgr sign-in throttle\x00"


class SignInThrottled(PumpMgrError):
    """Too many failed attempts for this user name; try again after the delay."""


def name_key(username: str) -> str:
    """The stored key of a typed user name: hex of the first :data:`NAME_KEY_BITS` bits of
    SHA-256 over the trimmed, lower-case name."""
    typed = username.strip().lower() if isinstance(username, str) else ""
    digest = hashlib.sha256(_DOMAIN + typed.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[: NAME_KEY_BITS // 4]


class SignInThrottle:
    """Failed attempts per user name, in the database, on an injected clock."""

    def __init__(
        self,
        clock: Clock,
        *,
        free_failures: int = FREE_FAILURES,
        first_delay: timedelta = FIRST_DELAY,
        max_delay: timedelta = MAX_DELAY,
    ) -> None:
        self.clock = clock
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay

    def failures(self, session: Session, username: str) -> int:
        """Failed attempts in a row for ``username`` (and any name sharing its key)."""
        row = session.get(db.SignInFailure, name_key(username))
        return 0 if row is None else row.failures

    def check(self, session: Session, username: str, field: str = "password") -> None:
        """Refuse with :class:`SignInThrottled` while ``username`` must wait."""
        row = session.get(db.SignInFailure, name_key(username))
        if row is None or row.locked_until is None:
            return
        wait = (row.locked_until - self.clock.now()).total_seconds()
        if wait > 0:
            raise SignInThrottled(
                f"too many failed attempts for this user name; wait {math.ceil(wait)} s "
                "before trying again, or ask an administrator",
                code=Code.AUTH_THROTTLED,
                field=field,
            )

    def failed(self, session: Session, usernames: Iterable[str]) -> None:
        """Count one failed attempt for each name; from the free ones on, the name must
        wait. Run in a write unit of work of its own (writers run one at a time, so two
        programs failing at once both count)."""
        now = self.clock.now().astimezone(UTC)
        for username in usernames:
            key = name_key(username)
            row = session.get(db.SignInFailure, key)
            if row is None:
                row = db.SignInFailure(name_key=key, failures=0, last_failed_at=now)
                session.add(row)
            row.failures += 1
            row.last_failed_at = now
            if row.failures >= self.free_failures:
                doublings = min(row.failures - self.free_failures, 30)
                delay = min(self.max_delay, self.first_delay * (2**doublings))
                row.locked_until = now + delay
            session.flush()

    def succeeded(self, session: Session, username: str) -> None:
        """A right password: the count starts again (with the unit of work that checked it)."""
        session.execute(
            delete(db.SignInFailure).where(db.SignInFailure.name_key == name_key(username))
        )
