"""A restart decided at the visit: the time without drug counted from the worst-case empty
time, and the over-infusion-risk flag at its boundary (domain-rules §3; issue 11)."""

from datetime import datetime, timedelta

from pumpmgr.restart import (
    before_refill_text,
    restart_at_visit,
    restart_text,
    time_without_drug,
    without_drug_text,
)
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
)

VISIT = datetime(2025, 5, 10, 9, 0)


def _found(
    *, stopped: bool = False, empty_alarm: bool = False, withdrawal: bool = False
) -> BedsideFindings:
    alarms = frozenset({PumpAlarm.EMPTY_RESERVOIR}) if empty_alarm else frozenset()
    status = PumpStatus.STOPPED if stopped else PumpStatus.RUNNING
    return BedsideFindings(
        Interrogation(status, alarms, Q_("3 mL")),
        SiteAssessment(frozenset()),
        SymptomCheck(withdrawal=withdrawal, overdose=False),
    )


def test_time_without_drug_runs_from_the_worst_case_empty_time() -> None:
    assert time_without_drug(None, VISIT) is None
    assert time_without_drug(VISIT + timedelta(minutes=1), VISIT) is None  # not yet empty
    assert time_without_drug(VISIT, VISIT) == timedelta(0)
    assert time_without_drug(VISIT - timedelta(hours=30), VISIT) == timedelta(hours=30)


def test_a_stop_of_exactly_48_hours_is_no_risk_and_one_minute_more_is() -> None:
    def risk(hours: float) -> bool:
        restart = restart_at_visit(
            "ok",
            _found(withdrawal=True),
            first_fill=False,
            empty_at_worst_case=VISIT - timedelta(hours=hours),
            at=VISIT,
        )
        assert restart is not None
        assert restart.without_drug_hours == hours
        return restart.over_infusion_risk

    assert not risk(48)
    assert risk(48 + 1 / 60)


def test_running_empty_is_a_risk_however_short() -> None:
    found_empty = restart_at_visit(
        "found_empty", None, first_fill=False, empty_at_worst_case=None, at=VISIT
    )
    alarm = restart_at_visit(
        "ok",
        _found(empty_alarm=True),
        first_fill=False,
        empty_at_worst_case=VISIT - timedelta(hours=1),
        at=VISIT,
    )
    stopped = restart_at_visit(
        "ok",
        _found(stopped=True),
        first_fill=False,
        empty_at_worst_case=VISIT - timedelta(hours=1),
        at=VISIT,
    )
    assert found_empty is not None and found_empty.over_infusion_risk
    assert found_empty.without_drug is None
    assert alarm is not None and alarm.over_infusion_risk
    # a stop is a risk only past 48 hours
    assert stopped is not None and not stopped.over_infusion_risk


def test_no_restart_no_time_without_drug() -> None:
    long_ago = VISIT - timedelta(days=5)
    assert (
        restart_at_visit("ok", _found(), first_fill=False, empty_at_worst_case=long_ago, at=VISIT)
        is None
    )
    assert (
        restart_at_visit(
            "investigate", None, first_fill=False, empty_at_worst_case=long_ago, at=VISIT
        )
        is None
    )
    # a first fill is a start already
    assert (
        restart_at_visit(
            None, _found(withdrawal=True), first_fill=True, empty_at_worst_case=long_ago, at=VISIT
        )
        is None
    )


def test_the_clinics_words() -> None:
    restart = restart_at_visit(
        "ok",
        _found(withdrawal=True),
        first_fill=False,
        empty_at_worst_case=VISIT - timedelta(hours=60),
        at=VISIT,
    )
    assert restart is not None
    assert without_drug_text(restart) == (
        "up to 2.5 days without drug (worst-case empty from Wed 7 May 2025 21:00)"
    )
    assert restart_text(restart) == (
        "yes: the patient shows withdrawal; up to 2.5 days without drug (worst-case empty from "
        "Wed 7 May 2025 21:00); over-infusion risk: the pump ran empty or was without drug "
        "over 48 h; the next dose is checked as a start"
    )
    short = restart_at_visit(
        "ok", _found(withdrawal=True), first_fill=False, empty_at_worst_case=None, at=VISIT
    )
    assert short is not None
    assert restart_text(short) == (
        "yes: the patient shows withdrawal; time without drug not known (the worst case is "
        "not yet empty); the next dose is checked as a start"
    )
    assert restart_text(None) == "no"


def test_before_the_refill_the_visit_says_the_time_without_drug_should_it_be_a_restart() -> None:
    assert before_refill_text(None, VISIT) == ""
    assert before_refill_text(VISIT + timedelta(hours=1), VISIT) == ""
    at_48 = before_refill_text(VISIT - timedelta(hours=48), VISIT)
    assert at_48 == (
        "If this refill is a restart (found empty, an empty-reservoir alarm or a "
        "stop, or withdrawal): up to 2 days without drug (worst-case empty from "
        "Thu 8 May 2025 09:00); the next dose is checked as a start."
    )
    assert "over 48 h: an over-infusion risk" in before_refill_text(
        VISIT - timedelta(hours=48, minutes=1), VISIT
    )
