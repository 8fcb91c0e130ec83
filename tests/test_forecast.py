"""forecast: alarm dates and refill-due dates (domain-rules section 3, domain.md section 6)."""

from datetime import date, datetime

import pytest

from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.forecast import forecast, last_open_day, parse_open_days, refill_due_date
from pumpmgr.refill import plan_refill
from pumpmgr.schedule import PatientBolus, Program, Schedule, constant_flow_program
from pumpmgr.units import Q_

FILLED = datetime(2025, 3, 3)


def _program(dose: str, concentration: str, bolus: PatientBolus | None = None) -> Program:
    return Program(Q_(concentration), Schedule.simple(Q_(dose)), bolus)


@pytest.mark.parametrize(
    ("name", "fill", "dose", "concentration", "stability", "days", "alarm", "due", "reason"),
    [
        # Example 1: 18 mL / 0.2 mL/day = 90 days, alarm Sun 1 Jun; due 1 Jun − 7 = Sun 25 May,
        # moved back to Friday 23 May.
        (
            "1",
            "20 mL",
            "400 mcg/day",
            "2000 mcg/mL",
            None,
            90,
            date(2025, 6, 1),
            date(2025, 5, 23),
            "alarm",
        ),
        # Example 3: 38 / 0.2 = 190 days (9 Sep); morphine stable 90 days: 1 Jun (a Sunday),
        # moved back to Friday 30 May.
        (
            "3",
            "40 mL",
            "5 mg/day",
            "25 mg/mL",
            90,
            190,
            date(2025, 9, 9),
            date(2025, 5, 30),
            "stability",
        ),
        # Example 11: 150 mcg/day at 500 mcg/mL: 60 days, alarm Fri 2 May, due Fri 25 Apr.
        (
            "11",
            "20 mL",
            "150 mcg/day",
            "500 mcg/mL",
            None,
            60,
            date(2025, 5, 2),
            date(2025, 4, 25),
            "alarm",
        ),
    ],
)
def test_worked_examples(
    name: str,
    fill: str,
    dose: str,
    concentration: str,
    stability: float | None,
    days: float,
    alarm: date,
    due: date,
    reason: str,
) -> None:
    result = forecast(
        fill_volume=Q_(fill),
        filled_at=FILLED,
        program=_program(dose, concentration),
        stability_days=stability,
    )
    assert result.days_to_alarm == pytest.approx(days)
    assert result.alarm_at.date() == alarm
    assert result.refill_due == due
    assert result.refill_due_reason == reason


def test_example_1_days_to_empty() -> None:
    result = forecast(
        fill_volume=Q_("20 mL"), filled_at=FILLED, program=_program("400 mcg/day", "2000 mcg/mL")
    )
    assert result.days_to_empty == pytest.approx(100)
    assert result.empty_at.date() == date(2025, 6, 11)


def test_example_4_flex_alarm_date() -> None:
    """545 mcg/day at 2000 mcg/mL: 18 / 0.2725 = 66.06 days, alarm on 2025-05-08."""
    from pumpmgr.schedule import schedule_from_text

    program = Program(
        Q_("2000 mcg/mL"),
        schedule_from_text(
            ["00:00 30 mcg/h", "06:00 100 mcg/h", "07:00 15 mcg/h", "22:00 20 mcg/h"]
        ),
    )
    result = forecast(fill_volume=Q_("20 mL"), filled_at=FILLED, program=program)
    assert result.days_to_alarm == pytest.approx(66.055, abs=0.001)
    assert result.alarm_at.date() == date(2025, 5, 8)


def test_example_5_boluses_and_worst_case() -> None:
    """Morphine 10 mg/mL, 3 mg/day + 4 × 0.1 mg: 60 days basal, 52.9 with boluses."""
    program = _program("3 mg/day", "10 mg/mL", PatientBolus(Q_(0.1, "mg"), 4))
    result = forecast(
        fill_volume=Q_("20 mL"), filled_at=FILLED, program=program, accuracy_percent=14.5
    )
    assert result.days_to_alarm == pytest.approx(60)
    assert result.days_to_alarm_with_boluses == pytest.approx(52.94, abs=0.01)
    assert result.days_to_alarm_worst_case == pytest.approx(18 / (0.34 * 1.145))
    assert result.alarm_at_with_boluses.date() == date(2025, 4, 24)
    # due: 24 Apr − 7 = Thu 17 Apr (open)
    assert result.refill_due == date(2025, 4, 17)


def test_constant_flow_uses_the_nominal_flow() -> None:
    """IsoMed-style 1 mL/day, 20 mL, clinic alarm volume 2 mL: 18 days."""
    program = constant_flow_program(Q_("1 mL/day"), Q_("4 mg/mL"))
    result = forecast(fill_volume=Q_("20 mL"), filled_at=FILLED, program=program)
    assert result.days_to_alarm == pytest.approx(18)
    assert float(result.daily_dose.to("mg/day").m) == pytest.approx(4)


def test_alarm_volume_is_a_setting_and_echoed() -> None:
    result = forecast(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        program=_program("400 mcg/day", "2000 mcg/mL"),
        alarm_volume=Q_("4 mL"),
    )
    assert result.days_to_alarm == pytest.approx(80)
    assert result.alarm_volume == Q_("4 mL")
    assert result.buffer_days == 7


def test_open_days_and_buffer() -> None:
    assert parse_open_days("mon-fri") == frozenset(range(5))
    assert parse_open_days("mon,wed,fri") == frozenset({0, 2, 4})
    assert parse_open_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert last_open_day(date(2025, 6, 1), {0, 2}) == date(2025, 5, 28)
    due, reason = refill_due_date(
        filled_at=FILLED,
        alarm_at_with_boluses=datetime(2025, 6, 1),
        buffer_days=0,
        open_days=range(7),
    )
    assert (due, reason) == (date(2025, 6, 1), "alarm")


def test_a_time_of_day_changes_the_calendar_date_only_when_it_should() -> None:
    """An alarm late in the day stays on that calendar day (dates round down)."""
    result = forecast(
        fill_volume=Q_("20 mL"),
        filled_at=datetime(2025, 3, 3, 17, 0),
        program=_program("400 mcg/day", "2000 mcg/mL"),
    )
    assert result.alarm_at == datetime(2025, 6, 1, 17, 0)
    assert result.alarm_at.date() == date(2025, 6, 1)


def test_a_full_reservoir_through_a_unit_round_trip_is_not_an_overfill() -> None:
    """A full 20 mL reservoir that comes out a hair over 20 mL after a conversion (here
    20.0000000000001 mL) is refused by neither the forecast nor the refill plan: both compare
    within the same rounding tolerance."""
    fill = Q_(0.0200000000000001, "L")
    assert float(fill.to("mL").m) > 20
    result = forecast(
        fill_volume=fill,
        filled_at=FILLED,
        reservoir_capacity=Q_("20 mL"),
        program=_program("400 mcg/day", "2000 mcg/mL"),
    )
    assert result.alarm_at.date() == date(2025, 6, 1)
    plan_refill(
        reservoir_capacity=Q_("20 mL"),
        aspirated=Q_("2 mL"),
        alarm_volume=Q_("2 mL"),
        fill_volume=fill,
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"fill_volume": Q_("2 mL")}, Code.FILL_NOT_ABOVE_ALARM),
        ({"fill_volume": Q_("1 mL")}, Code.FILL_NOT_ABOVE_ALARM),
        ({"fill_volume": Q_("25 mL"), "reservoir_capacity": Q_("20 mL")}, Code.OVER_CAPACITY),
        ({"fill_volume": Q_("0 mL")}, Code.NOT_POSITIVE),
        ({"fill_volume": Q_("20 mcg")}, Code.WRONG_KIND),
        ({"accuracy_percent": -1.0}, Code.OUT_OF_RANGE),
        ({"buffer_days": -1}, Code.OUT_OF_RANGE),
        ({"stability_days": 0.0}, Code.OUT_OF_RANGE),
        ({"open_days": frozenset()}, Code.OUT_OF_RANGE),
    ],
)
def test_impossible_input_is_refused(kwargs: dict[str, object], code: Code) -> None:
    arguments: dict[str, object] = {
        "fill_volume": Q_("20 mL"),
        "filled_at": FILLED,
        "program": _program("400 mcg/day", "2000 mcg/mL"),
    }
    arguments.update(kwargs)
    with pytest.raises((ImpossibleInput, InputError)) as caught:
        forecast(**arguments)  # type: ignore[arg-type]
    assert caught.value.code is code


def test_an_absurdly_small_dose_is_refused_not_overflowed() -> None:
    with pytest.raises((ImpossibleInput, InputError)) as caught:
        forecast(
            fill_volume=Q_("20 mL"),
            filled_at=FILLED,
            program=_program("1e-12 mcg/day", "2000 mcg/mL"),
        )
    assert caught.value.code is Code.OUT_OF_RANGE
