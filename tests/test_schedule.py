"""schedule: flex steps, scheduled boluses, patient boluses (domain-rules section 2)."""

from datetime import time

import pytest

from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.schedule import (
    PatientBolus,
    Program,
    Schedule,
    Step,
    parse_step,
    schedule_from_text,
)
from pumpmgr.units import Q_

EXAMPLE_4 = ["00:00 30 mcg/h", "06:00 100 mcg/h", "07:00 15 mcg/h", "22:00 20 mcg/h"]


def test_example_4_flex_daily_dose() -> None:
    """domain.md example 4: 180 + 100 + 225 + 40 = 545 mcg/day."""
    schedule = schedule_from_text(EXAMPLE_4)
    assert float(schedule.daily_dose().to("mcg/day").m) == pytest.approx(545)


def test_steps_in_any_order_give_the_same_schedule() -> None:
    assert schedule_from_text(list(reversed(EXAMPLE_4))) == schedule_from_text(EXAMPLE_4)


def test_scheduled_boluses_add_their_amounts() -> None:
    schedule = schedule_from_text(["00:00 400 mcg/day"], ["07:00 50 mcg", "19:00 50 mcg"])
    assert float(schedule.daily_dose().m) == pytest.approx(500)


def test_simple_is_one_step_at_midnight() -> None:
    schedule = Schedule.simple(Q_(0.4, "mg/day"))
    assert schedule.steps == (Step(time(0, 0), Q_(0.4, "mg/day")),)
    assert float(schedule.daily_dose().m) == pytest.approx(400)


def test_delivered_mass_integrates_by_time_of_day() -> None:
    rates = Program(Q_("1 mg/mL"), schedule_from_text(EXAMPLE_4)).rates()
    assert rates.delivered_mass_mcg(23 * 60, 120) == pytest.approx(20 + 30)
    assert rates.delivered_mass_mcg(0, 2 * 1440 + 60) == pytest.approx(2 * 545 + 30)
    assert rates.delivered_mass_mcg(6 * 60, 60) == pytest.approx(100)


@pytest.mark.parametrize(
    "steps",
    [
        ["06:00 10 mcg/h", "06:00 20 mcg/h"],  # repeated start
        ["06:00-09:00 10 mcg/h", "08:00 20 mcg/h"],  # overlaps the next step
        ["06:00-07:00 10 mcg/h", "08:00 20 mcg/h"],  # leaves a gap
        [f"{h:02d}:00 1 mcg/h" for h in range(14)],  # 14 steps
        [],
        ["06:00 0 mcg/h"],
        ["06:00 -5 mcg/h"],
    ],
)
def test_impossible_schedules_are_refused(steps: list[str]) -> None:
    with pytest.raises((ImpossibleInput, InputError)) as caught:
        schedule_from_text(steps)
    assert caught.value.code in {Code.SCHEDULE, Code.NOT_POSITIVE}


def test_step_with_an_end_meeting_the_next_is_accepted() -> None:
    schedule = schedule_from_text(["06:00-07:00 100 mcg/h", "07:00-06:00 10 mcg/h"])
    assert float(schedule.daily_dose().m) == pytest.approx(100 + 23 * 10)


def test_bad_step_text_names_the_field() -> None:
    with pytest.raises(InputError, match="--step: '25:00'"):
        parse_step("25:00 10 mcg/h", "--step")
    with pytest.raises(InputError) as caught:
        parse_step("06:00 10 mg", "--step")
    assert caught.value.code is Code.WRONG_KIND


def test_example_5_patient_boluses_raise_the_maximum() -> None:
    """domain.md example 5: basal 3 mg/day, 4 × 0.1 mg boluses: D_max 3.4 mg/day."""
    program = Program(
        Q_(10, "mg/mL"), Schedule.simple(Q_(3, "mg/day")), PatientBolus(Q_(0.1, "mg"), 4)
    )
    assert float(program.max_daily_dose().to("mg/day").m) == pytest.approx(3.4)
    assert float(program.daily_volume().m) == pytest.approx(0.3)
    assert float(program.max_daily_volume().m) == pytest.approx(0.34)


def test_patient_bolus_refuses_nonsense() -> None:
    with pytest.raises(ImpossibleInput):
        PatientBolus(Q_(0.1, "mg"), -1)
    with pytest.raises(InputError):
        PatientBolus(Q_(0.1, "mg/day"), 4)
