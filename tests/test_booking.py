"""Bookings against the forecast (issue 16): each rule at its boundary, and the proposal's
promises as properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpmgr.booking import (
    BookingVerdict,
    ClinicCalendar,
    PumpDates,
    check_booking,
    must_be_booked_by,
    not_booked,
    propose_day,
)
from pumpmgr.errors import Code, ImpossibleInput

WEEKDAYS = ClinicCalendar(frozenset(range(5)))
TODAY = date(2027, 3, 1)  # a Monday
DATES = PumpDates(
    refill_due=date(2027, 3, 12),  # Friday
    worst_case_low=date(2027, 3, 16),
    empty_on=date(2027, 3, 30),
)


def refused(day: date, dates: PumpDates = DATES, calendar: ClinicCalendar = WEEKDAYS) -> str:
    with pytest.raises(ImpossibleInput) as caught:
        check_booking(day, dates, calendar, today=TODAY)
    assert caught.value.code is Code.BOOKING_REFUSED
    assert caught.value.field == "day"
    return caught.value.message


def test_booked_exactly_on_the_due_date_is_in_time() -> None:
    check = check_booking(DATES.refill_due, DATES, WEEKDAYS, today=TODAY)
    assert check.verdict is BookingVerdict.IN_TIME
    assert "Fri 12 Mar 2027" in check.words


def test_one_day_after_the_due_date_is_too_late_and_says_by_how_much() -> None:
    check = check_booking(date(2027, 3, 15), DATES, WEEKDAYS, today=TODAY)
    assert check.verdict is BookingVerdict.TOO_LATE
    assert check.words.startswith("booked too late: 3 days after the refill-due date")


def test_on_the_worst_case_low_day_is_too_late_and_the_day_after_is_refused() -> None:
    assert (
        check_booking(date(2027, 3, 16), DATES, WEEKDAYS, today=TODAY).verdict
        is BookingVerdict.TOO_LATE
    )
    message = refused(date(2027, 3, 17))
    assert "reservoir may be low if the pump runs fast" in message
    assert "Fri 12 Mar 2027" in message  # the due date it should be booked by


def test_after_the_computed_empty_date_is_refused_when_it_comes_first() -> None:
    dates = PumpDates(
        refill_due=date(2027, 3, 5), worst_case_low=date(2027, 3, 20), empty_on=date(2027, 3, 9)
    )
    assert (
        check_booking(date(2027, 3, 9), dates, WEEKDAYS, today=TODAY).verdict
        is BookingVerdict.TOO_LATE
    )
    assert "computed empty" in refused(date(2027, 3, 10), dates)


def test_a_closed_day_is_refused_even_before_the_due_date() -> None:
    assert "closed on Sat 6 Mar 2027" in refused(date(2027, 3, 6))
    holiday = ClinicCalendar(frozenset(range(5)), frozenset({date(2027, 3, 10)}))
    assert "closed on Wed 10 Mar 2027" in refused(date(2027, 3, 10), calendar=holiday)
    assert (
        check_booking(date(2027, 3, 11), DATES, holiday, today=TODAY).verdict
        is BookingVerdict.IN_TIME
    )


def test_a_day_in_the_past_is_refused() -> None:
    assert "has passed" in refused(TODAY - timedelta(days=1))
    assert check_booking(TODAY, DATES, WEEKDAYS, today=TODAY).verdict is BookingVerdict.IN_TIME


def test_a_calendar_without_an_open_day_is_refused_naming_the_field() -> None:
    with pytest.raises(ImpossibleInput) as caught:
        ClinicCalendar(frozenset())
    assert caught.value.field == "open days"


def test_the_proposal_is_the_latest_open_day_with_room() -> None:
    assert propose_day(DATES, WEEKDAYS, today=TODAY, capacity=2, booked={}) == date(2027, 3, 12)
    full_friday = {date(2027, 3, 12): 2}
    assert propose_day(DATES, WEEKDAYS, today=TODAY, capacity=2, booked=full_friday) == date(
        2027, 3, 11
    )
    on_saturday = PumpDates(date(2027, 3, 13), date(2027, 3, 16), date(2027, 3, 30))
    assert propose_day(on_saturday, WEEKDAYS, today=TODAY, capacity=1, booked={}) == date(
        2027, 3, 12
    )


def test_no_proposal_for_an_overdue_pump_or_a_full_diary() -> None:
    overdue = PumpDates(date(2027, 2, 26), date(2027, 3, 2), date(2027, 3, 9))
    assert propose_day(overdue, WEEKDAYS, today=TODAY, capacity=5, booked={}) is None
    every_day_full = {TODAY + timedelta(days=n): 1 for n in range(12)}
    assert propose_day(DATES, WEEKDAYS, today=TODAY, capacity=1, booked=every_day_full) is None


def test_not_booked_within_the_horizon_and_at_its_edge() -> None:
    assert not_booked(DATES, today=DATES.refill_due - timedelta(days=21))
    assert not not_booked(DATES, today=DATES.refill_due - timedelta(days=22))


def test_must_be_booked_by_groups_pumps_under_their_last_open_day() -> None:
    saturday_due = PumpDates(date(2027, 3, 13), date(2027, 3, 16), date(2027, 3, 30))
    grouped = must_be_booked_by([(1, DATES), (2, saturday_due)], WEEKDAYS)
    assert grouped == {date(2027, 3, 12): [1, 2]}


days = st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))


@given(
    due=days,
    extra_worst=st.integers(0, 30),
    extra_empty=st.integers(0, 60),
    today=days,
    open_days=st.frozensets(st.integers(0, 6), min_size=1),
    closed=st.frozensets(days, max_size=40),
    capacity=st.integers(0, 3),
    booked=st.dictionaries(days, st.integers(0, 4), max_size=60),
)
def test_the_proposed_day_is_never_late_closed_full_or_past(
    due: date,
    extra_worst: int,
    extra_empty: int,
    today: date,
    open_days: frozenset[int],
    closed: frozenset[date],
    capacity: int,
    booked: dict[date, int],
) -> None:
    calendar = ClinicCalendar(open_days, closed)
    dates = PumpDates(
        due, due + timedelta(days=extra_worst), due + timedelta(days=extra_worst + extra_empty)
    )
    day = propose_day(dates, calendar, today=today, capacity=capacity, booked=booked)
    if day is None:
        # nothing was missed: no open day with room between today and the due date
        span = (due - today).days + 1
        assert all(
            not calendar.is_open(d) or booked.get(d, 0) >= capacity
            for d in (today + timedelta(days=n) for n in range(max(span, 0)))
        )
        return
    assert today <= day <= due
    assert calendar.is_open(day)
    assert booked.get(day, 0) < capacity
    assert check_booking(day, dates, calendar, today=today).verdict is BookingVerdict.IN_TIME
