"""The pure rules of individual maxima (domain-rules §6): what can be raised, and the review."""

from __future__ import annotations

from datetime import date

import pytest

from pumpmgr.catalogs import load_catalogs
from pumpmgr.errors import ImpossibleInput, InputError
from pumpmgr.individual_maxima import check_raise, months_later, review_by, review_overdue
from pumpmgr.units import Q_


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 3), 6, date(2025, 9, 3)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # a leap year
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
    ],
)
def test_months_later_keeps_the_day_or_takes_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert months_later(day, months) == expected


def test_the_review_is_due_6_months_on_and_overdue_the_day_after() -> None:
    due = review_by(date(2025, 3, 3))
    assert due == date(2025, 9, 3)
    assert not review_overdue(due, date(2025, 9, 3))
    assert review_overdue(due, date(2025, 9, 4))


def test_only_a_policy_hard_maximum_is_raised_and_only_above_it() -> None:
    library = load_catalogs().drugs
    baclofen, ziconotide = library.drug("baclofen"), library.drug("ziconotide")
    assert check_raise(baclofen, Q_("2.5 mg/day")) == pytest.approx(2500.0)
    assert check_raise(baclofen, Q_("2000.5 mcg/day")) == pytest.approx(2000.5)
    with pytest.raises(ImpossibleInput, match="not above the hard maximum"):
        check_raise(baclofen, Q_("2000 mcg/day"))
    with pytest.raises(ImpossibleInput, match="label"):
        check_raise(ziconotide, Q_("25 mcg/day"))
    with pytest.raises(InputError, match="maximum"):
        check_raise(baclofen, Q_("0 mcg/day"))
