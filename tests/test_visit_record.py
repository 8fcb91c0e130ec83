"""What the nurse found before refilling: the typed values and their one wording."""

from __future__ import annotations

import pytest

from pumpmgr.errors import ImpossibleInput, PumpMgrError
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SiteFinding,
    SymptomCheck,
    alarms_from,
    codes,
    findings_from,
    interrogation_text,
    programmer_check_text,
    site_text,
    symptoms_text,
)

NORMAL_SITE = SiteAssessment(frozenset())
NO_SYMPTOMS = SymptomCheck(withdrawal=False, overdose=False)


def test_the_interrogation_reads_as_one_line() -> None:
    reading = Interrogation(
        PumpStatus.RUNNING, frozenset({PumpAlarm.ERI, PumpAlarm.LOW_RESERVOIR}), Q_("2.5 mL")
    )
    # alarms in the programmer's order whatever order they were ticked in
    assert interrogation_text(reading) == (
        "running, low reservoir, elective replacement (ERI), reservoir 2.5 mL"
    )
    assert interrogation_text(Interrogation(PumpStatus.STOPPED, frozenset(), Q_("0 mL"))) == (
        "stopped, no alarm, reservoir 0 mL"
    )
    assert interrogation_text(None) == "no programmer (constant-flow pump)"


def test_a_reservoir_volume_must_be_a_volume() -> None:
    with pytest.raises(PumpMgrError) as wrong:
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("2 mg"))
    assert wrong.value.field == "interrogated reservoir volume"
    with pytest.raises(PumpMgrError):
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("-1 mL"))


def test_site_and_symptoms_wording() -> None:
    assert site_text(NORMAL_SITE) == "site and pocket normal"
    assert (
        site_text(SiteAssessment(frozenset({SiteFinding.FLUID, SiteFinding.REDNESS}), " warm "))
        == "redness, fluid in the pocket: warm"
    )
    assert symptoms_text(NO_SYMPTOMS) == "no signs of withdrawal or overdose"
    assert symptoms_text(SymptomCheck(True, False, "itching")) == ("signs of withdrawal: itching")
    assert symptoms_text(SymptomCheck(True, True)) == "signs of withdrawal and signs of overdose"


def test_the_programmer_check_wording() -> None:
    assert programmer_check_text(None) == "not made (no programmer figures)"
    assert programmer_check_text(False) == "the programmer's figures agree with pumpmgr's forecast"
    assert programmer_check_text(True, ("alarm date",)) == (
        "the programmer and pumpmgr DIFFER (alarm date)"
    )


def test_needs_attention() -> None:
    quiet = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("3 mL")), NORMAL_SITE, NO_SYMPTOMS
    )
    assert not quiet.needs_attention
    assert BedsideFindings(None, NORMAL_SITE, SymptomCheck(False, True)).needs_attention
    assert BedsideFindings(
        Interrogation(PumpStatus.STOPPED, frozenset(), Q_("3 mL")), NORMAL_SITE, NO_SYMPTOMS
    ).needs_attention


def test_stored_codes_round_trip_and_refuse_unknown_ones() -> None:
    alarms = frozenset({PumpAlarm.MOTOR_STALL, PumpAlarm.LOW_RESERVOIR})
    assert codes(alarms) == "low_reservoir,motor_stall"
    assert alarms_from(codes(alarms)) == alarms
    assert codes(frozenset()) == "" and findings_from("") == frozenset()
    with pytest.raises(ImpossibleInput) as unknown:
        findings_from("redness,itch")
    assert unknown.value.field == "site findings" and "'itch'" in unknown.value.message
