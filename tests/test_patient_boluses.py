"""patient_boluses: the programmer's count of patient boluses since the last fill, counted in
the expected residual (domain-rules §4) and refused above what the pump allows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from pumpmgr.errors import ImpossibleInput
from pumpmgr.patient_boluses import (
    NOT_COUNTED,
    allowed_boluses,
    asked,
    boluses_taken,
    expected_with_boluses,
)
from pumpmgr.records import Ingredient, PatientChart
from pumpmgr.refill import ProgramPeriod, discrepancy
from pumpmgr.schedule import PatientBolus, Program, Schedule
from pumpmgr.units import Q_
from pumpmgr.visit import plan_for_refill, plan_visit
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
    interrogation_text,
)
from tests.test_visit import SETTINGS, SHIPPED, chart, ml, prescription, refill, synchromed

FILLED = datetime(2025, 3, 3, 9, 0)
AT = FILLED + timedelta(days=30)
MORPHINE = (Ingredient("morphine", Q_("10 mg/mL"), "mg"),)
#: 0.5 mg a bolus of 10 mg/mL: 0.05 mL each; 4 a day, 3 h apart
BOLUS = PatientBolus(Q_("0.5 mg"), 4, Q_("3 h"))


def program(bolus: PatientBolus | None = BOLUS) -> Program:
    return Program(Q_("10 mg/mL"), Schedule.simple(Q_("3 mg/day")), bolus)


def test_the_per_day_maximum_bounds_the_count_at_its_boundary() -> None:
    """4 a day for 30 days: 120 (the 3 h lockout would allow 241); 120 counts 6 mL, 121 is
    refused naming the field and the maximum."""
    periods = [ProgramPeriod(FILLED, program())]
    assert allowed_boluses(periods, FILLED, AT) == 120
    taken = boluses_taken(120, periods, FILLED, AT)
    assert ml(taken.volume_each) == pytest.approx(0.05)
    assert ml(taken.volume) == pytest.approx(6.0)
    assert taken.text() == "120 × 0.05 mL = 6 mL"
    with pytest.raises(ImpossibleInput, match="at most 120") as refused:
        boluses_taken(121, periods, FILLED, AT)
    assert refused.value.field == "patient boluses"


def test_the_lockout_bounds_the_count_when_it_is_longer() -> None:
    """An 8 h lockout over 30 days allows one at the fill and one after each lockout: 91."""
    periods = [ProgramPeriod(FILLED, program(PatientBolus(Q_("0.5 mg"), 4, Q_("8 h"))))]
    assert allowed_boluses(periods, FILLED, AT) == 91
    assert boluses_taken(91, periods, FILLED, AT).count == 91
    with pytest.raises(ImpossibleInput, match="at most 91"):
        boluses_taken(92, periods, FILLED, AT)


def test_a_program_without_a_patient_bolus_asks_for_none() -> None:
    periods = [ProgramPeriod(FILLED, program(None))]
    assert not asked(periods, FILLED, AT)
    assert boluses_taken(0, periods, FILLED, AT).count == 0
    with pytest.raises(ImpossibleInput, match="has no patient bolus"):
        boluses_taken(1, periods, FILLED, AT)
    with pytest.raises(ImpossibleInput, match="0 or more"):
        boluses_taken(-1, [ProgramPeriod(FILLED, program())], FILLED, AT)


def test_a_changed_program_counts_each_at_the_bolus_in_force() -> None:
    """Ten days without a bolus, then 20 days of 1 mg (0.1 mL): at most 80, each 0.1 mL."""
    periods = [
        ProgramPeriod(FILLED, program(None)),
        ProgramPeriod(FILLED + timedelta(days=10), program(PatientBolus(Q_("1 mg"), 4, Q_("3 h")))),
    ]
    assert asked(periods, FILLED, AT)
    taken = boluses_taken(80, periods, FILLED, AT)
    assert ml(taken.volume_each) == pytest.approx(0.1) and taken.allowed == 80


def test_a_tiny_bolus_is_shown_with_the_decimals_its_product_needs() -> None:
    """Ziconotide 1 mcg at 250 mcg/mL is 0.004 mL a bolus: 5 of them read "5 × 0.004 mL =
    0.02 mL", never "5 × 0 mL = 0.02 mL"."""
    tiny = Program(
        Q_("250 mcg/mL"), Schedule.simple(Q_("2.4 mcg/day")), PatientBolus(Q_("1 mcg"), 4)
    )
    taken = boluses_taken(5, [ProgramPeriod(FILLED, tiny)], FILLED, AT)
    assert taken.text() == "5 × 0.004 mL = 0.02 mL"


def _chart() -> PatientChart:
    rx = prescription(1, "3 mg/day", FILLED - timedelta(days=1), MORPHINE, BOLUS)
    return chart(synchromed(), [rx], [refill(1, FILLED, ingredients=MORPHINE)])


def test_the_visit_subtracts_the_boluses_from_the_expected_residual() -> None:
    """20 mL at 0.3 mL/day for 30 days leaves 11 mL; 120 boluses of 0.05 mL leave 5 mL."""
    without = plan_visit(_chart(), AT, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert without.asks_patient_boluses and without.patient_boluses is None
    assert ml(without.expected_residual) == pytest.approx(11.0)
    assert NOT_COUNTED in without.notes
    counted = plan_visit(_chart(), AT, settings=SETTINGS, drugs=SHIPPED.drugs, patient_boluses=120)
    assert counted.residual is not None and counted.patient_boluses is not None
    assert ml(counted.expected_residual) == pytest.approx(5.0)
    assert ml(counted.residual.unfloored_residual) == pytest.approx(5.0)
    assert NOT_COUNTED not in counted.notes
    with pytest.raises(ImpossibleInput, match="at most 120"):
        plan_visit(_chart(), AT, settings=SETTINGS, drugs=SHIPPED.drugs, patient_boluses=121)


def test_the_bridge_and_the_patient_boluses_are_drawn_apart() -> None:
    """A 1 mL bridge at the last fill and 120 boluses of 0.05 mL: 7 mL drawn besides the
    program, kept as its two parts (the screen and the sheet show each)."""
    rx = prescription(1, "3 mg/day", FILLED - timedelta(days=1), MORPHINE, BOLUS)
    bridged = refill(1, FILLED, ingredients=MORPHINE, bridge_bolus=Q_("1 mL"))
    plan = plan_visit(
        chart(synchromed(), [rx], [bridged]),
        AT,
        settings=SETTINGS,
        drugs=SHIPPED.drugs,
        patient_boluses=120,
    )
    assert plan.residual is not None and plan.patient_boluses is not None
    assert ml(plan.residual.extra_volume) == pytest.approx(7.0)
    assert plan.bridge_or_priming is not None and ml(plan.bridge_or_priming) == pytest.approx(1.0)
    assert ml(plan.patient_boluses.volume) == pytest.approx(6.0)
    assert ml(plan.expected_residual) == pytest.approx(4.0)
    alone = expected_with_boluses(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=AT,
        periods=[ProgramPeriod(FILLED, program())],
        bridge_or_priming=Q_("1 mL"),
        count=120,
    )
    assert alone.residual == plan.residual and alone.taken == plan.patient_boluses


def test_the_unfloored_residual_goes_below_zero_with_the_boluses() -> None:
    """A 5 mL fill: 9 mL by the program and 6 mL of boluses leave −10 mL, shown as 0."""
    rx = prescription(1, "3 mg/day", FILLED - timedelta(days=1), MORPHINE, BOLUS)
    small = chart(synchromed(), [rx], [refill(1, FILLED, "5 mL", ingredients=MORPHINE)])
    plan = plan_visit(small, AT, settings=SETTINGS, drugs=SHIPPED.drugs, patient_boluses=120)
    assert plan.residual is not None
    assert ml(plan.expected_residual) == 0
    assert ml(plan.residual.unfloored_residual) == pytest.approx(-10.0)


def test_a_discrepancy_that_the_boluses_explain() -> None:
    """5 mL aspirated: investigate (6 mL less came back) without the count, ok with it."""
    plans = [
        plan_visit(_chart(), AT, settings=SETTINGS, drugs=SHIPPED.drugs, patient_boluses=count)
        for count in (None, 120)
    ]
    verdicts = []
    for plan in plans:
        assert plan.residual is not None
        verdicts.append(
            discrepancy(
                fill_volume=Q_("20 mL"),
                expected=plan.residual.unfloored_residual,
                actual=Q_("5 mL"),
                reservoir_capacity=Q_("20 mL"),
                accuracy_percent=14.5,
            )
        )
    assert [v.verdict for v in verdicts] == ["investigate", "ok"]
    assert verdicts[0].direction == "less_returned"


def test_a_recorded_refill_plans_with_its_count() -> None:
    """The completed worksheet's "before" half counts the boluses the refill recorded."""
    found = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("5 mL"), 120),
        SiteAssessment(frozenset()),
        SymptomCheck(False, False),
    )
    done = refill(2, AT, ingredients=MORPHINE, bedside=found)
    base = _chart()
    recorded = replace(base, refills=(*base.refills, done))
    plan = plan_for_refill(recorded, done, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert ml(plan.expected_residual) == pytest.approx(5.0)
    assert interrogation_text(found.interrogation) == (
        "running, no alarm, reservoir 5 mL, 120 patient boluses since the last fill"
    )
