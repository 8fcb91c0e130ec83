"""pump_forecast: the one stored forecast, on canonical floats (issue 14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpmgr.errors import InputError
from pumpmgr.pump_forecast import (
    FillPoint,
    ProgramFloats,
    PumpOutlook,
    program_floats,
    pump_forecast,
)
from pumpmgr.records import ClinicSettings, Ingredient, PrescriptionRecord
from pumpmgr.refill import ProgramPeriod, expected_residual, worst_case_residual
from pumpmgr.schedule import PatientBolus, Schedule, ScheduledBolus, Step
from pumpmgr.units import Q_

FILLED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


def record(effective_at: datetime = FILLED - timedelta(days=30)) -> PrescriptionRecord:
    schedule = Schedule.flex(
        [Step(time(0, 0), Q_(400, "mcg/day")), Step(time(8, 0), Q_(0.6, "mg/day"))],
        [ScheduledBolus(time(12, 0), Q_(50, "mcg"))],
    )
    return PrescriptionRecord(
        id=1,
        pump_id=1,
        ingredients=(Ingredient("baclofen", Q_(2, "mg/mL")),),
        schedule=schedule,
        patient_bolus=PatientBolus(Q_(25, "mcg"), 4),
        effective_at=effective_at,
        prescriber="Dr A",
    )


def test_a_saved_program_and_its_stored_rows_give_the_same_floats() -> None:
    """The pump-by-pump refresh (pint records) and the clinic-wide one (rows) compute on the
    same numbers, so they write the same forecasts."""
    of_record = ProgramFloats.of(record())
    of_rows = program_floats(
        record().effective_at,
        [(0, "baclofen", 2000.0)],
        [(time(8, 0), 600.0), (time(0, 0), 400.0)],
        [(time(12, 0), 50.0)],
        (25.0, 4, None),
    )
    assert of_rows == of_record
    # 8 h at 400 and 16 h at 600 mcg/day, plus the 50 mcg bolus
    assert of_record.rates.daily_dose == pytest.approx(400 / 3 + 400 + 50)
    assert of_record.rates.max_daily_ml == pytest.approx((of_record.rates.daily_dose + 100) / 2000)


def run(fill: FillPoint | None, running: list[ProgramFloats]) -> PumpOutlook:
    return pump_forecast(
        fill=fill,
        running=running,
        alarm_ml=2.0,
        labelled_accuracy=14.5,
        constant_flow=False,
        settings=ClinicSettings(),
        stability=lambda _s, _f, _u: None,
        interval=lambda _s: 180.0,
        tz=UTC,
        now=FILLED + timedelta(days=5),
    )


def test_the_refill_due_date_is_the_earliest_limit_on_an_open_day() -> None:
    fill = FillPoint(FILLED, 20.0, 0.0, frozenset())
    outlook = run(fill, [ProgramFloats.of(record())])
    daily = (400 / 3 + 400 + 50) / 2000
    assert outlook.fill_volume_ml == 20.0
    assert outlook.daily_volume_ml_per_day == pytest.approx(daily)
    assert outlook.alarm_at == FILLED + timedelta(days=18 / daily)
    # every bolus taken: 0.05 mL/day more; the alarm then, less the 7-day buffer, comes
    # before the worst case (14.5 % fast); Friday 25 April less 7 days is an open day
    with_boluses = outlook.alarm_at_with_boluses
    worst = outlook.alarm_at_worst_case
    assert with_boluses == FILLED + timedelta(days=18 / (daily + 0.05))
    assert worst is not None and worst == FILLED + timedelta(days=18 / ((daily + 0.05) * 1.145))
    assert with_boluses is not None and outlook.refill_due_reason == "alarm"
    assert outlook.refill_due == with_boluses.date() - timedelta(days=7) == date(2025, 4, 18)


def test_no_fill_no_program_and_a_refused_fill() -> None:
    first = run(None, [])
    assert (first.refill_due, first.refill_due_reason) == (
        date(2025, 3, 7),
        "first_fill",
    )  # now, a Saturday: the Friday before
    none = run(FillPoint(FILLED, 20.0, 0.0, frozenset()), [])
    assert (none.refill_due, none.refill_due_reason) == (date(2025, 3, 3), "no_prescription")
    with pytest.raises(InputError) as refused:
        run(FillPoint(FILLED, 0.0, 0.0, frozenset()), [ProgramFloats.of(record())])
    assert refused.value.field == "fill volume"


def test_the_visits_residuals_are_the_stored_forecasts() -> None:
    """One walk since the fill (issue 14): the refill module's pint residuals, which the visit
    shows, give the stored forecast's expected residual at the current program's start, and
    its worst case reaches the alarm volume at the stored worst-case alarm instant."""
    later = replace(record(FILLED + timedelta(days=50)), id=2)
    fill = FillPoint(FILLED, 20.0, 0.5, frozenset())
    outlook = run(fill, [ProgramFloats.of(record()), ProgramFloats.of(later)])
    periods = [
        ProgramPeriod(FILLED.replace(tzinfo=None), record().program),
        ProgramPeriod(later.effective_at.replace(tzinfo=None), later.program),
    ]

    def pump_time(instant: datetime | None) -> datetime:
        assert instant is not None
        return instant.astimezone(UTC).replace(tzinfo=None)

    given = {
        "fill_volume": Q_(20, "mL"),
        "filled_at": FILLED.replace(tzinfo=None),
        "programs": periods,
        "extra_volume": Q_(0.5, "mL"),
    }
    start = pump_time(outlook.filled_at)
    assert start == periods[1].starts_at
    expected = expected_residual(at=start, **given)
    assert float(expected.expected_residual.to("mL").m) == outlook.fill_volume_ml
    assert outlook.fill_volume_ml == pytest.approx(19.5 - 50 * (400 / 3 + 400 + 50) / 2000)
    # the worst case reached the alarm volume before the later program started (14.5 % fast)
    worst_alarm = pump_time(outlook.alarm_at_worst_case)
    assert worst_alarm < start

    def worst(at: datetime) -> float:
        return float(worst_case_residual(at=at, accuracy_percent=14.5, **given).to("mL").m)

    assert worst(worst_alarm) <= 2.0 < worst(worst_alarm - timedelta(milliseconds=2))


BERLIN = ZoneInfo("Europe/Berlin")


@settings(max_examples=150, deadline=None)
@given(
    fill_ml=st.floats(3, 40),
    first=st.floats(50, 3000),
    second=st.floats(50, 3000),
    change_days=st.floats(0.5, 60),
    error=st.one_of(st.none(), st.floats(-50, 80)),
    accuracy=st.one_of(st.none(), st.floats(0, 30)),
    interval=st.integers(1, 365),
    expiry_days=st.one_of(st.none(), st.integers(0, 400)),
    open_days=st.sets(st.integers(0, 6), min_size=1),
    closed=st.lists(st.integers(0, 400), max_size=20),
)
def test_the_stored_due_date_is_never_after_a_limit_through_a_program_change(
    fill_ml: float,
    first: float,
    second: float,
    change_days: float,
    error: float | None,
    accuracy: float | None,
    interval: int,
    expiry_days: int | None,
    open_days: set[int],
    closed: list[int],
) -> None:
    """Issue 11 (domain-rules §3): the stored refill-due date, with a program changed after
    the fill and the over-delivery measured at the last refill, is never after the worst-case
    low reservoir, the longest interval or the expiry, and falls on an open day."""
    day = FILLED.astimezone(BERLIN).date()
    expires = None if expiry_days is None else day + timedelta(days=expiry_days)
    fill = FillPoint(
        FILLED, fill_ml, 0.0, frozenset(), measured_error_percent=error, expires_on=expires
    )
    programs = [
        ProgramFloats.make(
            FILLED - timedelta(days=1), (("baclofen", 2000.0),), [(0, 1440, first)], [], 0.0
        ),
        ProgramFloats.make(
            FILLED + timedelta(days=change_days),
            (("baclofen", 2000.0),),
            [(0, 1440, second)],
            [],
            100.0,
        ),
    ]
    closed_dates = frozenset(day + timedelta(days=d) for d in closed)
    outlook = pump_forecast(
        fill=fill,
        running=programs,
        alarm_ml=2.0,
        labelled_accuracy=accuracy,
        constant_flow=False,
        settings=ClinicSettings(open_days=frozenset(open_days), closed_dates=closed_dates),
        stability=lambda _s, _f, _u: None,
        interval=lambda _s: float(interval),
        tz=BERLIN,
        now=FILLED,
    )
    assert outlook.alarm_at_worst_case is not None
    assert outlook.refill_due <= outlook.alarm_at_worst_case.astimezone(BERLIN).date()
    assert outlook.refill_due <= day + timedelta(days=interval)
    assert expires is None or outlook.refill_due <= expires
    assert outlook.refill_due.weekday() in open_days
    assert outlook.refill_due not in closed_dates
