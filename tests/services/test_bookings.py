"""Refill bookings checked against the stored forecast (issue 16), on both backends: each rule
at its boundary, the audit, the one open booking per pump, capacity and proposals, the week
view, a dose change that makes a booking too late, and the due list's booking states."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from types import SimpleNamespace

import pytest
from clinic_world import (
    FAST_HASHER,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
)

from pumpmgr.booking import BookingVerdict
from pumpmgr.db import schema as db
from pumpmgr.db.errors import RecordConflict
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.formatting import format_date
from pumpmgr.records import ClinicSettings
from pumpmgr.services import ClinicService
from pumpmgr.services.bookings import calendar_of
from pumpmgr.services.inputs import PatientInput

ALL_DAYS = frozenset(range(7))


def _settings(world: World, **changes: object) -> None:
    settings, version = world.clinic.settings_for_edit()
    world.clinic.update_settings(
        world.admin, replace(settings, clinic_name="Test clinic", **changes), version
    )  # type: ignore[arg-type]


def _filled(world: World, mrn: str = "100001", *, every_day: bool = True) -> tuple[int, int]:
    """Example 1's pump filled on START (20 mL of 2000 mcg/mL at 400 mcg/day); with
    ``every_day`` the clinic opens all week, so the day after the due date is open."""
    if every_day:
        _settings(world, open_days=ALL_DAYS)
    patient_id, pump_id = baclofen_patient(world, mrn)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def _due(world: World, pump_id: int) -> date:
    with world.clinic.database.read() as session:
        due = session.get_one(db.PumpForecast, pump_id).refill_due
    assert due is not None
    return due


def _worst(world: World, pump_id: int) -> date:
    """The stored worst-case low-reservoir date (every bolus, the pump running fast)."""
    with world.clinic.database.read() as session:
        worst = session.get_one(db.PumpForecast, pump_id).alarm_at_worst_case
    assert worst is not None
    return worst.astimezone(world.clinic.tz).date()


def _filled_with_room_to_be_late(world: World, mrn: str = "100001") -> tuple[int, int]:
    """:func:`_filled` with the clinic's buffer at 21 days, so that the buffer, not the worst
    case, sets the refill-due date (domain-rules §3): the days after it up to the worst-case low
    date are late, not refused. Asserted, so the tests below cannot pass on a gap of none."""
    _settings(world, buffer_days=21)
    patient_id, pump_id = _filled(world, mrn)
    assert _due(world, pump_id) + timedelta(days=1) < _worst(world, pump_id)
    return patient_id, pump_id


def _refused(error: pytest.ExceptionInfo[PumpMgrError], field: str, *words: str) -> None:
    assert error.value.field == field, error.value.message
    for word in words:
        assert word in error.value.message, error.value.message


def test_booked_exactly_on_the_due_date_is_in_time_and_audited(world: World) -> None:
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    outcome = world.clinic.bookings.book(
        world.nurse, pump_id, due, at=time(10, 30), nurse_id=world.second.id, note="ground floor"
    )
    assert outcome.check.verdict is BookingVerdict.IN_TIME
    booking = outcome.booking
    assert (booking.day, booking.at, booking.place, booking.state) == (
        due,
        time(10, 30),
        "clinic",
        "booked",
    )
    assert booking.nurse == "Otto Second" and booking.booked_by == "Nina Nurse"
    assert not booking.too_late and booking.refill_due == due
    entry = last_audit(world)
    assert (entry.action, entry.entity_type, entry.entity_id) == (
        "booking.book",
        "booking",
        str(booking.id),
    )
    assert due.isoformat() in entry.payload


def test_one_day_after_the_due_date_needs_a_reason_and_shows_too_late(world: World) -> None:
    _, pump_id = _filled_with_room_to_be_late(world)
    late = _due(world, pump_id) + timedelta(days=1)
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, pump_id, late)
    _refused(refused, "reason", "booked too late: 1 day after")
    assert count(world, db.Booking) == 0
    outcome = world.clinic.bookings.book(
        world.nurse, pump_id, late, reason="patient abroad until then"
    )
    assert outcome.check.verdict is BookingVerdict.TOO_LATE
    assert outcome.booking.too_late and outcome.booking.late_reason == "patient abroad until then"
    assert last_audit(world).reason == "patient abroad until then"


def test_when_the_worst_case_sets_the_due_date_one_day_after_is_refused(world: World) -> None:
    """With the clinic's usual 7-day buffer, Example 1's worst case comes first: it is the
    refill-due date, and no reason books a visit after it (domain-rules §3)."""
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    assert due == _worst(world, pump_id)
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(
            world.nurse, pump_id, due + timedelta(days=1), reason="patient abroad until then"
        )
    _refused(refused, "day", "may be low if the pump runs fast")
    assert count(world, db.Booking) == 0
    assert (
        world.clinic.bookings.book(world.nurse, pump_id, due).check.verdict
        is BookingVerdict.IN_TIME
    )


def test_a_closed_day_is_refused(world: World) -> None:
    _, pump_id = _filled(world, every_day=False)
    due = _due(world, pump_id)
    saturday = due - timedelta(days=(due.weekday() - 5) % 7 or 7)
    assert saturday.weekday() == 5 and saturday < due
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, pump_id, saturday)
    assert refused.value.code is Code.BOOKING_REFUSED
    _refused(refused, "day", "closed")


def test_after_the_worst_case_alarm_or_empty_date_is_refused_even_with_a_reason(
    world: World,
) -> None:
    _, pump_id = _filled_with_room_to_be_late(world)
    worst = _worst(world, pump_id)
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(
            world.nurse, pump_id, worst + timedelta(days=1), reason="any reason"
        )
    _refused(refused, "day", "after")
    # the worst-case day itself is late, not refused
    assert (
        world.clinic.bookings.book(world.nurse, pump_id, worst, reason="no sooner").check.verdict
        is BookingVerdict.TOO_LATE
    )


def test_a_past_day_and_a_pump_without_forecast_are_refused(world: World) -> None:
    _, pump_id = _filled(world)
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, pump_id, START.date() - timedelta(days=1))
    _refused(refused, "day", "has passed")
    _, bare = baclofen_patient(world, "100002")
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, bare, _due(world, pump_id))
    _refused(refused, "day", "no forecast")


def test_one_open_booking_per_pump_in_the_service_and_the_database(world: World) -> None:
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    first = world.clinic.bookings.book(world.nurse, pump_id, due).booking
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, pump_id, due - timedelta(days=1))
    _refused(refused, "day", "Nina Nurse has already booked this pump's visit on")
    with pytest.raises(RecordConflict), world.clinic.database.write() as session:
        session.add(
            db.Booking(
                pump_id=pump_id,
                day=due,
                place=db.BookingPlace.HOME,
                note="",
                state=db.BookingState.BOOKED,
                booked_at=START,
                booked_by_id=world.nurse.id,
                changed_at=START,
                changed_by_id=world.nurse.id,
            )
        )
    # once cancelled, a new booking is allowed (cancelled ones do not count)
    world.clinic.bookings.cancel(world.nurse, first.id, "patient phoned to rearrange")
    second = world.clinic.bookings.book(world.nurse, pump_id, due - timedelta(days=2)).booking
    assert second.state == "booked" and count(world, db.Booking) == 2


def test_two_nurses_booking_one_pump_at_once_are_told_who_booked_which_day(world: World) -> None:
    """Two workstations book one pump: the second nurse's dialog was opened before the first
    booking was saved. The writers are serialised, so the second reads the first's booking and
    is told who booked which day, never the database's unique-index error."""
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    other = ClinicService(
        world.clinic.database,
        clock=world.clock,
        tz=world.clinic.tz,
        workstation="other",
        hasher=FAST_HASHER,
    )
    assert world.clinic.bookings.propose(pump_id) == due  # what the first nurse's dialog shows
    other.bookings.book(world.second, pump_id, due, at=time(10, 30))
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.book(world.nurse, pump_id, due - timedelta(days=1))
    _refused(
        refused,
        "day",
        f"Otto Second has already booked this pump's visit on "
        f"{format_date(due)} at 10:30 (clinic room)",
        "move or cancel",
    )
    assert not isinstance(refused.value, RecordConflict)
    assert count(world, db.Booking) == 1
    (only,) = world.clinic.bookings.open_bookings()
    assert (only.day, only.booked_by) == (due, "Otto Second")


def test_move_checks_again_and_audits_before_and_after(world: World) -> None:
    _, pump_id = _filled_with_room_to_be_late(world)
    due = _due(world, pump_id)
    booking = world.clinic.bookings.book(world.nurse, pump_id, due - timedelta(days=3)).booking
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.move(world.nurse, booking.id, due + timedelta(days=1))
    _refused(refused, "reason")
    moved = world.clinic.bookings.move(world.nurse, booking.id, due, place="home").booking
    assert (moved.day, moved.place, moved.version) == (due, "home", booking.version + 1)
    entry = last_audit(world)
    assert entry.action == "booking.move" and "before" in entry.payload
    with pytest.raises(PumpMgrError) as stale:
        world.clinic.bookings.move(world.nurse, booking.id, due, version=booking.version)
    assert stale.value.code is Code.DB_CHANGED_MEANWHILE


def test_cancel_needs_a_reason_and_a_closed_booking_cannot_change(world: World) -> None:
    _, pump_id = _filled(world)
    booking = world.clinic.bookings.book(world.nurse, pump_id, _due(world, pump_id)).booking
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.bookings.cancel(world.nurse, booking.id, "  ")
    _refused(refused, "reason")
    cancelled = world.clinic.bookings.cancel(world.nurse, booking.id, "admitted to hospital")
    assert cancelled.state == "cancelled"
    assert last_audit(world).action == "booking.cancel"
    with pytest.raises(PumpMgrError) as closed:
        world.clinic.bookings.move(world.nurse, booking.id, _due(world, pump_id))
    _refused(closed, "booking", "already cancelled")


def test_attendance_is_marked_on_or_after_the_day_by_a_clinician(world: World) -> None:
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    booking = world.clinic.bookings.book(world.admin, pump_id, due).booking
    with pytest.raises(PumpMgrError) as early:
        world.clinic.bookings.mark_did_not_attend(world.nurse, booking.id)
    _refused(early, "day", "still to come")
    world.clock.advance(timedelta(days=(due - START.date()).days, hours=10))
    with pytest.raises(PumpMgrError) as admin:
        world.clinic.bookings.mark_attended(world.admin, booking.id)
    assert admin.value.code is Code.AUTH_NOT_PERMITTED
    missed = world.clinic.bookings.mark_did_not_attend(world.nurse, booking.id, "no answer")
    assert missed.state == "did_not_attend"
    assert last_audit(world).action == "booking.did_not_attend"


def test_a_dose_change_that_moves_the_due_date_before_the_booking_says_so(world: World) -> None:
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    booking = world.clinic.bookings.book(world.nurse, pump_id, due).booking
    world.clock.advance(timedelta(days=2))
    same = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        baclofen_prescription("400 mcg/day", at=world.clock.now()),
    )
    assert same.booking_notice is None
    world.clock.advance(timedelta(days=2))
    increase = baclofen_prescription("500 mcg/day", at=world.clock.now())
    check = world.clinic.check_prescription(pump_id, increase)
    outcome = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        replace(
            increase,
            reasons={
                str(f.code): "titration agreed" for f in check.findings if f.level == "warning"
            },
        ),
    )
    assert outcome.forecast is not None and outcome.forecast.refill_due < due
    assert outcome.booking_notice is not None
    assert "booked too late" in outcome.booking_notice
    assert world.clinic.bookings.notice(pump_id) == outcome.booking_notice
    assert world.clinic.bookings.booking(booking.id).too_late
    row = next(r for r in world.clinic.due_list() if r.pump_id == pump_id)
    assert (row.booked_on, row.booking) == (due, "booked_too_late")


def test_a_refill_closes_the_open_booking_as_attended(world: World) -> None:
    _, pump_id = _filled(world)
    due = _due(world, pump_id)
    booking = world.clinic.bookings.book(world.nurse, pump_id, due).booking
    days = (due - START.date()).days
    world.clock.advance(timedelta(days=days))
    # aspirated as expected (0.2 mL a day), so the refill needs no discrepancy note
    world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(world.clock.now(), f"{20 - 0.2 * days:.1f} mL", f"{0.2 * days:.1f} mL"),
    )
    assert world.clinic.bookings.booking(booking.id).state == "attended"
    assert world.clinic.bookings.open_booking(pump_id) is None


def test_capacity_is_used_by_the_proposal_and_over_it_needs_a_reason(world: World) -> None:
    _settings(world, open_days=ALL_DAYS, clinic_visits_per_day=1)
    _, first = _filled(world, "100001", every_day=False)
    _, second = _filled(world, "100002", every_day=False)
    due = _due(world, first)
    assert world.clinic.bookings.propose(first) == due
    world.clinic.bookings.book(world.nurse, first, due)
    assert world.clinic.bookings.propose(second) == due - timedelta(days=1)
    assert world.clinic.bookings.propose(second, "home") == due
    with pytest.raises(PumpMgrError) as full:
        world.clinic.bookings.book(world.nurse, second, due)
    _refused(full, "reason", "full (1 of 1)")
    assert (
        world.clinic.bookings.book(world.nurse, second, due, reason="second room today").booking.day
        == due
    )


def test_the_week_view_shows_bookings_free_room_and_pumps_to_book(world: World) -> None:
    _, booked = _filled(world, "100001", every_day=False)
    _, unbooked = _filled(world, "100002", every_day=False)
    due = _due(world, booked)
    world.clinic.bookings.book(world.nurse, booked, due, place="home")
    start = due - timedelta(days=due.weekday())  # the due date's Monday
    week = world.clinic.bookings.week(start)
    assert [d.day for d in week.days] == [start + timedelta(days=i) for i in range(7)]
    day = week.days[due.weekday()]
    assert [b.pump_id for b in day.bookings] == [booked]
    assert day.free == {"clinic": 8, "home": 1}
    assert [p.pump_id for p in day.must_book] == [unbooked]
    saturday = week.days[5]
    assert not saturday.open and saturday.free == {"clinic": 0, "home": 0}


def test_the_due_list_states_and_the_call_list_of_a_missed_visit(world: World) -> None:
    _, missed = _filled_with_room_to_be_late(world, "100001")
    _, pending = _filled(world, "100002")
    due = _due(world, missed)
    world.clock.advance(timedelta(days=(due - START.date()).days - 30))
    rows = {r.pump_id: r for r in world.clinic.due_list()}
    assert rows[missed].booking == "" and rows[missed].booked_on is None  # beyond 21 days
    world.clock.advance(timedelta(days=15))
    rows = {r.pump_id: r for r in world.clinic.due_list()}
    assert rows[missed].booking == "not_booked" and rows[pending].booking == "not_booked"
    booking = world.clinic.bookings.book(world.nurse, missed, due).booking
    rows = {r.pump_id: r for r in world.clinic.due_list()}
    assert (rows[missed].booking, rows[missed].booked_on) == ("", due)
    world.clock.advance(timedelta(days=15, hours=12))
    world.clinic.bookings.mark_did_not_attend(world.nurse, booking.id)
    listed = world.clinic.due_list()
    assert listed[0].pump_id == missed and listed[0].booking == "did_not_attend"
    # booked again: no longer on the call list
    world.clinic.bookings.book(world.nurse, missed, due + timedelta(days=1), reason="missed")
    rows = {r.pump_id: r for r in world.clinic.due_list()}
    assert rows[missed].booking == "booked_too_late"


def test_the_call_list_carries_the_patients_phone_and_emergency_contact(world: World) -> None:
    _settings(world, open_days=ALL_DAYS)
    patient = world.clinic.register_patient(
        world.nurse,
        PatientInput(
            "100009",
            "Zeller",
            "Paul",
            date(1960, 1, 1),
            "spasticity_spinal",
            emergency_contact_name="Eva Zeller",
            emergency_contact_phone="555-0199",
            phone="555-0123",
        ),
    )
    from pumpmgr.services.inputs import CatheterInput, PumpInput, SegmentInput
    from pumpmgr.units import Q_

    pump = world.clinic.implant_pump(
        world.nurse,
        patient.id,
        PumpInput("synchromed2-20", "SNZ", date(2025, 3, 1), "right lower abdomen"),
        CatheterInput(
            "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
        ),
    )
    world.clinic.change_prescription(
        world.nurse, world.check, pump.id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump.id, fill(START))
    booking = world.clinic.bookings.book(world.nurse, pump.id, START.date()).booking
    world.clock.advance(timedelta(hours=10))
    world.clinic.bookings.mark_did_not_attend(world.nurse, booking.id)
    row = world.clinic.due_list()[0]
    assert (row.pump_id, row.booking, row.phone, row.emergency_contact) == (
        pump.id,
        "did_not_attend",
        "555-0123",
        "Eva Zeller 555-0199",
    )


def test_capacity_and_horizon_settings_are_kept_and_checked(world: World) -> None:
    settings, version = world.clinic.settings_for_edit()
    assert (
        settings.clinic_visits_per_day,
        settings.home_visits_per_day,
        settings.booking_horizon_days,
    ) == (8, 2, 21)
    saved = world.clinic.update_settings(
        world.admin,
        replace(
            settings,
            clinic_name="Test clinic",
            clinic_visits_per_day=12,
            home_visits_per_day=0,
            booking_horizon_days=28,
        ),
        version,
    )
    assert (saved.clinic_visits_per_day, saved.home_visits_per_day, saved.booking_horizon_days) == (
        12,
        0,
        28,
    )
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.update_settings(world.admin, replace(saved, booking_horizon_days=0))
    _refused(refused, "booking horizon", "1 to 366")


def test_the_calendar_takes_closed_dates_from_the_settings_when_they_carry_them() -> None:
    """Until the settings hold closed dates (the forecast work), the calendar is the open
    weekdays; settings that carry ``closed_dates`` close those days too."""
    weekdays = frozenset(range(5))
    assert calendar_of(ClinicSettings(open_days=weekdays)).closed_dates == frozenset()
    holiday = date(2025, 3, 5)  # a Wednesday
    carried = SimpleNamespace(open_days=weekdays, closed_dates=frozenset({holiday}))
    calendar = calendar_of(carried)  # type: ignore[arg-type]
    assert not calendar.is_open(holiday) and calendar.is_open(holiday + timedelta(days=1))
