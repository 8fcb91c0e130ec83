"""Individual maxima (domain-rules §6): a clinic-policy hard maximum raised for one patient.

Pure layer: the standard library, :mod:`pumpmgr.catalogs`, :mod:`pumpmgr.units` and
:mod:`pumpmgr.formatting`. A prescriber raises the maximum of one drug for one patient, with a
second prescriber's signature and a reason; it is reviewed at least every 6 months (clinic
policy). Label maxima (ziconotide's) and device limits cannot be raised, and a "raise" to or
below the hard maximum is no raise.
"""

from __future__ import annotations

import calendar
from datetime import date

from pumpmgr.catalogs import Drug
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_quantity
from pumpmgr.units import Kind, Quantity, exceeds, require_positive, to_canonical

#: An individual maximum is reviewed at least this often (clinic policy, domain-rules §6).
REVIEW_MONTHS = 6


def months_later(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, the month's last day where it has none
    (31 August + 6 months is 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_by(day: date) -> date:
    """The last day an individual maximum set or reviewed on ``day`` is still in review."""
    return months_later(day, REVIEW_MONTHS)


def review_overdue(due: date, today: date) -> bool:
    """Whether the review is overdue on ``today`` (the review day itself is still in time)."""
    return today > due


def check_raise(drug: Drug, maximum: Quantity, field: str = "maximum") -> float:
    """The raised maximum in mcg/day, when ``drug``'s hard maximum may be raised to it for one
    patient; refuses, naming ``field``, a label maximum, a drug without a hard maximum, and a
    value that is not above the hard maximum."""
    require_positive(maximum, Kind.DOSE_RATE, field)
    hard = drug.hard_max
    if hard is None:
        raise ImpossibleInput(
            f"{field}: {drug.name.lower()} has no hard maximum in the library to raise",
            code=Code.OUT_OF_RANGE,
            field=field,
        )
    limit = format_quantity(hard.value, Kind.DOSE_RATE, drug.display_unit)
    if not hard.policy:
        raise ImpossibleInput(
            f"{field}: {drug.name.lower()}'s hard maximum of {limit} is the label's, not the "
            "clinic's policy: it cannot be raised for one patient",
            code=Code.OUT_OF_RANGE,
            field=field,
        )
    value = to_canonical(maximum, Kind.DOSE_RATE)
    if not exceeds(value, to_canonical(hard.value, Kind.DOSE_RATE)):
        raise ImpossibleInput(
            f"{field}: {format_quantity(maximum, Kind.DOSE_RATE, drug.display_unit)} is not "
            f"above the hard maximum of {limit}; an individual maximum raises it",
            code=Code.OUT_OF_RANGE,
            field=field,
        )
    return value
