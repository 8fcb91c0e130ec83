"""formatting: ISMP's rules (mcg, mL, leading zero, no trailing zero) in one place."""

import math
import re
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpmgr.errors import InputError
from pumpmgr.formatting import (
    days_left_text,
    display_unit,
    editable_text,
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
    format_product,
    format_quantity,
    read_date,
    read_datetime,
)
from pumpmgr.units import Q_, Kind, Quantity


@pytest.mark.parametrize(
    ("quantity", "kind", "mass_unit", "text"),
    [
        (Q_(0.5, "mL"), Kind.VOLUME, "mcg", "0.5 mL"),  # leading zero
        (Q_(5.0, "mg/day"), Kind.DOSE_RATE, "mg", "5 mg/day"),  # no trailing zero
        (Q_(8.0, "mL"), Kind.VOLUME, "mcg", "8 mL"),
        (Q_(20, "cc"), Kind.VOLUME, "mcg", "20 mL"),  # never cc
        (Q_(400, "µg/day"), Kind.DOSE_RATE, "mcg", "400 mcg/day"),  # never µg
        (Q_(0.4, "mg/day"), Kind.DOSE_RATE, "mcg", "400 mcg/day"),
        (Q_(2, "mg/mL"), Kind.CONCENTRATION, "mcg", "2,000 mcg/mL"),
        (Q_(2000, "mcg/mL"), Kind.CONCENTRATION, "mg", "2 mg/mL"),
        (Q_(6.666666, "mL"), Kind.VOLUME, "mcg", "6.67 mL"),  # 0.01 mL
        (Q_(0.208, "mL"), Kind.VOLUME, "mcg", "0.21 mL"),  # volumes to 0.01 mL
        (Q_(-0.00984, "mL"), Kind.VOLUME, "mcg", "-0.01 mL"),
        # a volume drawn is never shown as none: a 1 mcg ziconotide bolus at 250 mcg/mL
        (Q_(0.004, "mL"), Kind.VOLUME, "mcg", "< 0.01 mL"),
        (Q_(-0.004, "mL"), Kind.VOLUME, "mcg", "0 mL"),  # a difference within the reading
        (Q_(0.005, "mL"), Kind.VOLUME, "mcg", "0.01 mL"),
        (Q_(0.048, "mL/day"), Kind.FLOW, "mcg", "0.048 mL/day"),
        (Q_(0.2725, "mL/day"), Kind.FLOW, "mcg", "0.273 mL/day"),
        (Q_(157.5, "mcg/day"), Kind.DOSE_RATE, "mcg", "157.5 mcg/day"),
        (Q_(1.2, "mcg/day"), Kind.DOSE_RATE, "mcg", "1.2 mcg/day"),
        (Q_(0.0026, "mL/cm"), Kind.VOLUME_PER_LENGTH, "mcg", "0.0026 mL/cm"),
        (Q_(16.7, "mcg/h"), Kind.DOSE_RATE, "mcg", "400.8 mcg/day"),
        (Q_(0, "mL"), Kind.VOLUME, "mcg", "0 mL"),
        (Q_(-1.4, "mL"), Kind.VOLUME, "mcg", "-1.4 mL"),
    ],
)
def test_ismp_display(quantity: object, kind: Kind, mass_unit: str, text: str) -> None:
    assert format_quantity(quantity, kind, mass_unit) == text  # type: ignore[arg-type]


def test_rounding_is_half_up_not_to_even() -> None:
    assert format_number(0.125, 2) == "0.13"
    assert format_number(2.5, 0) == "3"


def test_display_units_are_parseable_by_pint() -> None:
    for kind in Kind:
        for mass in ("mcg", "mg"):
            Q_(1, display_unit(kind, mass))  # type: ignore[arg-type]


def test_durations_in_hours_then_days() -> None:
    assert format_duration(Q_(1.1666667, "day")) == "28 h"
    assert format_duration(Q_(66.0550459, "day")) == "66.06 days"


def test_percent_and_dates() -> None:
    assert format_percent(0.11666) == "+11.7 %"
    assert format_percent(-0.0917) == "-9.2 %"
    assert format_date(date(2025, 6, 1)) == "Sun 1 Jun 2025"
    assert format_datetime(datetime(2025, 3, 3, 9, 30)) == "Mon 3 Mar 2025 09:30"


# the due list's "Drug left": whole days, whole hours below two days, never rounded up


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (93.91, "93 days"),
        (10.4567, "10 days"),
        (2.0, "2 days"),
        (math.nextafter(2.0, 0), "47 h"),
        (1.5, "36 h"),
        (0.9, "21 h"),
        (1 / 24, "1 h"),
        (0.04, "under 1 h"),
        (1e-9, "under 1 h"),
        (0.0, "alarm passed"),
        (-3.2, "alarm passed"),
    ],
)
def test_drug_left(days: float, text: str) -> None:
    assert days_left_text(days) == text


@given(st.floats(min_value=1e-9, max_value=1e6))
def test_drug_left_never_says_more_than_there_is(days: float) -> None:
    words = days_left_text(days).split()
    if words[0] == "under":
        assert days * 24 < 1
    elif words[1] == "h":
        assert int(words[0]) <= days * 24 < int(words[0]) + 1 and days < 2
    else:
        assert int(words[0]) <= days < int(words[0]) + 1 and days >= 2


@pytest.mark.parametrize("days", [math.nan, math.inf, -math.inf])
def test_drug_left_refuses_what_is_not_a_number_of_days(days: float) -> None:
    with pytest.raises(ValueError, match="days left"):
        days_left_text(days)


# ---------------------------------------------------------------------------------------------
# Thousands separators on display, none in text a user edits (domain-rules §1)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (999.9, "999.9 mcg/day"),
        (1000, "1,000 mcg/day"),
        (1320, "1,320 mcg/day"),
        (1234567.5, "1,234,568 mcg/day"),
        (0.5, "0.5 mcg/day"),
    ],
)
def test_thousands_separator_from_1000(value: float, shown: str) -> None:
    assert format_quantity(Q_(value, "mcg/day"), Kind.DOSE_RATE) == shown


def test_editable_text_has_no_separator_and_parses_back() -> None:
    from pumpmgr.units import parse

    text = editable_text(Q_(1320, "mcg/day"), Kind.DOSE_RATE)
    assert text == "1320 mcg/day"
    assert parse(text, Kind.DOSE_RATE, "dose") == Q_(1320, "mcg/day")
    assert editable_text(Q_(2.5, "mg/mL"), Kind.CONCENTRATION, "mg") == "2.5 mg/mL"
    with pytest.raises(InputError):
        parse(format_quantity(Q_(1320, "mcg/day"), Kind.DOSE_RATE), Kind.DOSE_RATE, "dose")


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        (Q_(3, "hour"), "3 h"),
        (Q_(0.5, "hour"), "0.5 h"),
        (Q_(20, "min"), "0.33 h"),
        (Q_(36, "hour"), "36 h"),
        (Q_(7, "day"), "7 day"),
        (Q_(180, "day"), "180 day"),
    ],
)
def test_an_editable_duration_parses_back_to_what_it_was(duration: Quantity, shown: str) -> None:
    """A 3 h bolus lockout was "0.13 day", which reads back as 3.12 h: opening a
    prescription and saving it changed the lockout."""
    from pumpmgr.units import parse

    text = editable_text(duration, Kind.DURATION)
    assert text == shown
    back = parse(text, Kind.DURATION, "lockout").to("hour").m
    assert back == pytest.approx(duration.to("hour").m, abs=0.005 if "0.33" in shown else 1e-9)


def test_a_dose_is_shown_in_the_drugs_unit_whatever_was_typed() -> None:
    assert format_quantity(Q_(0.4, "mg/day"), Kind.DOSE_RATE, "mcg") == "400 mcg/day"
    assert format_quantity(Q_(30000, "mcg/mL"), Kind.CONCENTRATION, "mg") == "30 mg/mL"


# ------------------------------------------------------------------ dates as typed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Mon 12 Apr 2027", date(2027, 4, 12)),
        ("12 Apr 2027", date(2027, 4, 12)),
        ("  monday,  12 april 2027 ", date(2027, 4, 12)),
        ("2027-04-12", date(2027, 4, 12)),
        ("Sun 29 Feb 2032", date(2032, 2, 29)),
    ],
)
def test_a_date_is_read_in_the_clinics_format_or_iso(typed: str, expected: date) -> None:
    assert read_date(typed, "expiry") == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "12/04/2027",
            "expiry: '12/04/2027' is not a date; type it as Mon 12 Apr 2027 or 2027-04-12",
        ),
        ("12 Apr 27", "is not a date"),  # no two-digit years
        ("Apr 12 2027", "is not a date"),  # not the clinic's order
        ("2027-4-12", "is not a date"),
        ("Tue 12 Apr 2027", "expiry: 12 Apr 2027 is a Monday, not a Tuesday: check the date"),
        ("31 Apr 2027", "expiry: '31 Apr 2027' is not a day of the calendar"),
        ("2027-13-01", "is not a day of the calendar"),
        ("12 Foo 2027", "is not a date"),
        ("", "expiry: no date typed"),
    ],
)
def test_any_other_date_is_refused_naming_the_field(typed: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as refused:
        read_date(typed, "expiry")
    assert refused.value.field == "expiry"


def test_a_date_and_time_is_read_with_a_24_hour_time() -> None:
    assert read_datetime("Mon 12 Apr 2027 14:30", "refill time") == datetime(2027, 4, 12, 14, 30)
    assert read_datetime("2027-04-12T07:05", "refill time") == datetime(2027, 4, 12, 7, 5)
    assert read_datetime(format_datetime(datetime(2027, 1, 3, 9, 0)), "x") == datetime(
        2027, 1, 3, 9, 0
    )
    for typed, message in (
        ("Mon 12 Apr 2027", "refill time: 'Mon 12 Apr 2027' is not a date and a 24-hour time"),
        ("Mon 12 Apr 2027 25:10", "refill time: '25:10' is not a time"),
        ("12/04/2027 14:30", "refill time: '12/04/2027' is not a date"),
    ):
        with pytest.raises(InputError, match=re.escape(message)):
            read_datetime(typed, "refill time")


def test_an_expirys_month_and_year_is_the_last_day_of_the_month() -> None:
    """USP <7>: an expiry given as month and year means the month's last day; elsewhere a
    month alone is not a date."""
    for typed, expected in (
        ("Apr 2027", date(2027, 4, 30)),
        ("february 2028", date(2028, 2, 29)),
        ("2027-12", date(2027, 12, 31)),
        ("12 Apr 2027", date(2027, 4, 12)),
    ):
        assert read_date(typed, "expiry", month_is_last_day=True) == expected
    with pytest.raises(InputError, match="is not a date"):
        read_date("Apr 2027", "implant date")
    with pytest.raises(InputError, match="is not a date"):
        read_date("2027-13", "expiry", month_is_last_day=True)


@pytest.mark.parametrize(
    ("count", "each_ml", "text"),
    [
        (5, 0.004, "5 × 0.004 mL = 0.02 mL"),  # never "5 × 0 mL = 0.02 mL"
        (1, 0.004, "1 × 0.004 mL = 0.004 mL"),  # never "= 0 mL"
        (120, 0.05, "120 × 0.05 mL = 6 mL"),
        (7, 1 / 3, "7 × 0.333 mL = 2.33 mL"),
        (100, 1 / 3, "100 × 0.3333 mL = 33.33 mL"),  # 100 × 0.333 would be 33.3
        (0, 0.025, "0 × 0.025 mL = 0 mL"),
    ],
)
def test_a_product_of_volumes_adds_up(count: int, each_ml: float, text: str) -> None:
    assert format_product(count, Q_(each_ml, "mL")) == text


@given(st.integers(0, 9600), st.floats(1e-4, 5))
def test_the_numbers_of_a_product_shown_always_add_up(count: int, each_ml: float) -> None:
    """Up to 96 boluses a day for 100 days: the shown count times the shown volume rounds to
    the shown total."""
    shown = format_product(count, Q_(each_ml, "mL"))
    match = re.fullmatch(r"(\d+) × ([\d.]+) mL = ([\d.]+) mL", shown)
    assert match is not None, shown
    each, total = match.group(2), match.group(3)
    decimals = max(2, len(total.partition(".")[2]))
    assert format_number(count * float(each), decimals) == total
