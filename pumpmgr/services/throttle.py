"""Throttling of failed sign-ins and second-user checks (application layer: stdlib only).

NIST SP 800-63B §5.2.2 asks verifiers to limit consecutive failed attempts on an account;
reliability.md §4.3 asks a clinic workstation for a growing delay after 5 failures. After
:data:`FREE_FAILURES` failures in a row for one user name, every further attempt is refused,
without checking the password, until a delay has passed: 30 s after the fifth failure, doubling
with each further failure, at most 15 minutes. A successful sign-in clears the count. Time comes
from the injected clock, so tests move it instead of waiting.

The count is kept per typed user name (trimmed, lower case) whether or not such an account
exists, so the refusal tells a guesser nothing about which names exist; it lives in the
program's memory, never in a log or in the database, because a typed user name is sometimes a
password typed into the wrong box.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pumpmgr.clock import Clock
from pumpmgr.errors import Code, PumpMgrError

#: Failed attempts in a row allowed before any delay.
FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
#: User names remembered at most (the oldest are forgotten first).
MAX_NAMES = 10_000


class SignInThrottled(PumpMgrError):
    """Too many failed attempts for this user name; try again after the delay."""


@dataclass
class _Failures:
    count: int = 0
    locked_until: datetime | None = None


class SignInThrottle:
    """Failed attempts per user name, on an injected clock."""

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
        self._names: OrderedDict[str, _Failures] = OrderedDict()

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().lower() if isinstance(username, str) else ""

    def failures(self, username: str) -> int:
        """Failed attempts in a row for ``username``."""
        record = self._names.get(self._key(username))
        return 0 if record is None else record.count

    def check(self, username: str, field: str = "password") -> None:
        """Refuse with :class:`SignInThrottled` while ``username`` must wait."""
        record = self._names.get(self._key(username))
        if record is None or record.locked_until is None:
            return
        wait = (record.locked_until - self.clock.now()).total_seconds()
        if wait > 0:
            raise SignInThrottled(
                f"too many failed attempts for this user name; wait {math.ceil(wait)} s "
                "before trying again, or ask an administrator",
                code=Code.AUTH_THROTTLED, field=field,
            )

    def failed(self, username: str) -> None:
        """Count a failed attempt; from the free ones on, the name must wait."""
        key = self._key(username)
        record = self._names.pop(key, None) or _Failures()
        record.count += 1
        if record.count >= self.free_failures:
            doublings = min(record.count - self.free_failures, 30)
            delay = min(self.max_delay, self.first_delay * (2 ** doublings))
            record.locked_until = self.clock.now() + delay
        self._names[key] = record
        while len(self._names) > MAX_NAMES:
            self._names.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """A right password: the count starts again."""
        self._names.pop(self._key(username), None)
