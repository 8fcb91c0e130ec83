"""Dates typed on the command line (presentation layer: standard library only).

One reader for every command's date options, so that each says the same when a date is
malformed or out of range; argparse leads the message with the option.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date


def iso_day(option: str, within: tuple[date, date] | None = None) -> Callable[[str], date]:
    """An argparse ``type`` reading ``option``'s ISO 8601 date, refused outside ``within``."""

    def read(text: str) -> date:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a date; write ISO 8601, for example 2026-03-01"
            ) from None
        if within is not None and not within[0] <= day <= within[1]:
            raise argparse.ArgumentTypeError(
                f"give a date from {within[0].isoformat()} to {within[1].isoformat()}, "
                f"not {day.isoformat()}"
            )
        return day

    read.__name__ = option
    return read
