"""Python's cyclic garbage collector held off while a call makes many long-lived objects
(application layer: the standard library only).

Such a call (a sheet: records, flowables, laid-out pages by the hundred thousand; the due list:
5,000 rows for the window to keep) makes objects that all outlive it, so the collector's passes
while it runs free almost nothing, yet they walk the young objects again and again, and a pass
of the oldest generation walks every object of the program: 11 to 18 % of the time of a day's
58 worksheets, about 5 ms of the due list's 45 ms. Reference counting still frees what is not
in a cycle; the cycles left are collected after the call.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def collector_paused(make: Callable[P, T]) -> Callable[P, T]:
    """``make`` with the cyclic garbage collector held off, then on again."""
    @functools.wraps(make)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        if not gc.isenabled():  # already held off (a caller's, or another thread's)
            return make(*args, **kwargs)
        gc.disable()
        try:
            return make(*args, **kwargs)
        finally:
            gc.enable()

    return paused
