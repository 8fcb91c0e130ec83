"""Every mutating service call writes exactly one audit entry, named for the call
(reliability.md T8): the inventory of the clinic's write calls, each called once on both
backends, with the case that makes it record most (an implant with its catheter, a refill
with its incident and the booking it closes, a replacement with both pump events).

What a call's steps record besides its own act (the pump event, the incident, the closed
booking, the tenfold confirmation, an upgraded password hash) is in that one entry's payload,
under the part names :meth:`pumpmgr.services.context.ClinicContext.carry` gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from clinic_world import (
    BERLIN,
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
)
from sqlalchemy import select

from pumpmgr import workstation
from pumpmgr.db import schema as db
from pumpmgr.services import ClinicService
from pumpmgr.services.hospital import HospitalService
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    PatientInput,
    PumpCorrection,
    PumpInput,
    SegmentInput,
    TenfoldConfirmation,
    TenfoldReason,
    Verification,
)
from pumpmgr.units import Q_

#: A call, made ready on the world (its records made first): returns what to call once.
Ready = Callable[[World], Callable[[], object]]


@dataclass(frozen=True)
class Call:
    action: str  #: the one entry's action
    ready: Ready
    #: parts of the payload that carry what the call's steps recorded (ClinicContext.carry)
    carried: tuple[str, ...] = ()


def catheter() -> CatheterInput:
    return CatheterInput(
        "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
    )


def pump(serial: str = "SN2", on: date = date(2025, 3, 3)) -> PumpInput:
    return PumpInput("synchromed2-40", serial, on, "left lower abdomen")


def prescribed(world: World, dose: str = "400 mcg/day") -> int:
    _, pump_id = baclofen_patient(world)
    data = continuing(baclofen_prescription(dose, x="x"))
    world.clinic.change_prescription(world.nurse, world.check, pump_id, data)
    return pump_id


def filled(world: World, dose: str = "400 mcg/day") -> tuple[int, int]:
    """Example 1's pump on ``dose``, filled at START; the clock two days on."""
    pump_id = prescribed(world, dose)
    outcome = world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    world.clock.advance(timedelta(days=2))
    return pump_id, outcome.refill.id


def slower_hasher(world: World) -> ClinicService:
    """The clinic as a program whose password hashing is dearer: a password it checks is
    upgraded in place (a write, on the record)."""
    return ClinicService(
        world.clinic.database,
        clock=world.clock,
        tz=BERLIN,
        workstation="test",
        hasher=PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1),
    )


def _register(w: World) -> Callable[[], object]:
    data = PatientInput("100009", "Roth", "Eva", date(1961, 2, 3), "spasticity_spinal")
    return lambda: w.clinic.register_patient(w.nurse, data)


def _edit_patient(w: World) -> Callable[[], object]:
    patient_id, _ = baclofen_patient(w)
    record, version = w.clinic.patient_for_edit(patient_id)
    data = PatientInput(record.mrn, "Meier", "Anna", record.date_of_birth, record.indication)
    return lambda: w.clinic.edit_patient(w.nurse, patient_id, data, version)


def _patient_status(w: World) -> Callable[[], object]:
    patient_id, _ = baclofen_patient(w)
    return lambda: w.clinic.set_patient_status(w.nurse, patient_id, "inactive", "moved away")


def _opioid_status(w: World) -> Callable[[], object]:
    patient_id, _ = baclofen_patient(w)
    return lambda: w.clinic.set_opioid_status(w.nurse, patient_id, "tolerant", "on morphine")


def _implant(w: World) -> Callable[[], object]:
    data = PatientInput("100009", "Roth", "Eva", date(1961, 2, 3), "spasticity_spinal")
    patient = w.clinic.register_patient(w.nurse, data)
    return lambda: w.clinic.implant_pump(w.nurse, patient.id, pump(on=date(2025, 3, 1)), catheter())


def _replace(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.replace_pump(w.nurse, pump_id, pump(), "battery ERI", catheter())


def _explant(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.explant_pump(w.nurse, pump_id, date(2025, 3, 3), "infection")


def _revise(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.revise_catheter(w.nurse, pump_id, catheter(), date(2025, 3, 2), "kink")


def _mri(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.record_mri(w.nurse, pump_id, START, True, "1.5 T lumbar spine")


def _event(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.record_event(w.nurse, pump_id, "alarm", START, "alarm heard")


def _correct_event(w: World) -> Callable[[], object]:
    patient_id, pump_id = baclofen_patient(w)
    w.clinic.record_event(w.nurse, pump_id, "note", START, "telephone follow-up")
    event = next(e for e in w.clinic.patient_chart(patient_id).events if e.kind == "note")
    return lambda: w.clinic.correct_record(
        w.nurse, EventCorrection(event.id, note="video follow-up"), "wrong kind of call noted"
    )


def _correct_catheter(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    with w.clinic.database.read() as session:
        catheter_id = session.scalars(select(db.Catheter.id)).one()
    del pump_id
    return lambda: w.clinic.correct_record(
        w.nurse, CatheterCorrection(catheter_id, implanted_on=date(2025, 2, 28)), "misread"
    )


def _correct_pump(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    return lambda: w.clinic.correct_record(
        w.nurse, PumpCorrection(pump_id, implanted_on=date(2025, 2, 28)), "date misread"
    )


def _prescribe(w: World) -> Callable[[], object]:
    _, pump_id = baclofen_patient(w)
    data = continuing(baclofen_prescription())
    return lambda: w.clinic.change_prescription(w.nurse, w.check, pump_id, data)


def _tenfold(w: World) -> Callable[[], object]:
    """A possible tenfold increase, saved by the prescriber who re-entered it blind."""
    pump_id, _ = filled(w, "132 mcg/day")
    data = baclofen_prescription(
        "1320 mcg/day",
        at=START + timedelta(days=2),
        **{
            "dose.above_typical": "ordered",
            "dose.above_soft_max": "ordered",
            "titration.above_percent": "ordered",
        },
    )
    data = replace(
        data,
        tenfold=TenfoldConfirmation(
            {"baclofen": Q_("1320 mcg/day")}, TenfoldReason.OTHER, "dystonic crisis"
        ),
    )
    return lambda: w.clinic.change_prescription(w.prescriber, w.check, pump_id, data)


def _programmed_outside_limits(w: World) -> Callable[[], object]:
    """A change already programmed that a finding would have stopped: with its incident."""
    pump_id, _ = filled(w)
    data = replace(
        baclofen_prescription("12 mg/day", at=START + timedelta(days=2)), already_programmed=True
    )
    return lambda: w.clinic.change_prescription(w.nurse, w.check, pump_id, data)


def _refill(w: World) -> Callable[[], object]:
    pump_id = prescribed(w)
    return lambda: w.clinic.record_refill(w.nurse, w.check, pump_id, fill(START))


def _refill_with_incident_and_booking(w: World) -> Callable[[], object]:
    """A fill with an expired solution, already made (its incident), at a booked visit."""
    pump_id, _ = filled(w)
    w.clock.advance(timedelta(days=28))
    now = w.clinic.clock.now()
    today = now.astimezone(BERLIN).date()
    w.clinic.bookings.book(w.nurse, pump_id, today, reason="seen today")
    data = replace(fill(now, "14 mL", volume="6 mL"), expiry=date(2025, 3, 31), already_filled=True)
    return lambda: w.clinic.record_refill(w.nurse, w.check, pump_id, data)


def _refill_resumed_after_empty(w: World) -> Callable[[], object]:
    """Found empty and resumed on the program in force: the incident for the prescriber."""
    pump_id = prescribed(w)
    w.clinic.record_refill(w.nurse, w.check, pump_id, fill(START))
    later = START + timedelta(days=110)
    w.clock.moment = later
    data = fill(later, "0.2 mL", discrepancy_note="rebound spasticity since yesterday")
    return lambda: w.clinic.record_refill(w.nurse, w.check, pump_id, data)


def _correct_refill(w: World) -> Callable[[], object]:
    _, refill_id = filled(w)
    return lambda: w.clinic.correct_refill(
        w.nurse, w.check, refill_id, "lot misread", lot_number="L999"
    )


def _held_order(w: World) -> int:
    """A high-risk change a nurse entered, held for the prescriber's signature."""
    pump_id, _ = filled(w)
    data = baclofen_prescription(
        "600 mcg/day",
        at=START + timedelta(days=2),
        **{"titration.above_percent": "prescriber's order"},
    )
    held = w.clinic.change_prescription(w.nurse, w.check, pump_id, data)
    return held.prescription.id


def _sign_order(w: World) -> Callable[[], object]:
    order = _held_order(w)
    return lambda: w.clinic.orders.sign_order(w.prescriber, order, PASSWORD)


def _decline_order(w: World) -> Callable[[], object]:
    order = _held_order(w)
    return lambda: w.clinic.orders.decline_order(w.prescriber, order, PASSWORD, "too fast")


def _record_programmed(w: World) -> Callable[[], object]:
    order = _held_order(w)
    return lambda: w.clinic.orders.record_programmed(w.nurse, order)


def _review_incident(w: World) -> Callable[[], object]:
    _refill_with_incident_and_booking(w)()
    with w.clinic.database.read() as session:
        incident_id = session.scalars(select(db.Incident.id)).one()
    return lambda: w.clinic.orders.review_incident(w.prescriber, incident_id, "seen")


def _raise_maximum(w: World) -> Callable[[], object]:
    patient_id, _ = baclofen_patient(w)
    second = w.clinic.add_user(w.admin, "second", PASSWORD, "Dr Second", "prescriber")
    return lambda: w.clinic.maxima.raise_maximum(
        w.prescriber,
        Verification(second.username, PASSWORD),
        patient_id,
        "baclofen",
        Q_("3000 mcg/day"),
        "severe dystonia",
    )


def _review_maximum(w: World) -> Callable[[], object]:
    _raise_maximum(w)()
    patient_id = w.clinic.find_patient("100001").id
    return lambda: w.clinic.maxima.review_maximum(
        w.prescriber, patient_id, "baclofen", "still needed"
    )


def _end_maximum(w: World) -> Callable[[], object]:
    _raise_maximum(w)()
    patient_id = w.clinic.find_patient("100001").id
    return lambda: w.clinic.maxima.end_maximum(w.prescriber, patient_id, "baclofen", "settled")


def _give_stop(w: World) -> Callable[[], object]:
    pump_id, _ = filled(w)
    return lambda: w.clinic.stop_orders.give(
        w.prescriber,
        PASSWORD,
        pump_id,
        "baclofen",
        w.clinic.clock.now(),
        "suspected overdose",
        long_stop=False,
    )


def _stop_carried_out(w: World) -> Callable[[], object]:
    stop = _give_stop(w)()
    return lambda: w.clinic.stop_orders.record_carried_out(
        w.nurse,
        stop.id,  # type: ignore[attr-defined]
        "emptied_saline",
    )


def _booked(w: World) -> int:
    pump_id, _ = filled(w)
    day = w.clinic.bookings.propose(pump_id)
    assert day is not None
    return w.clinic.bookings.book(w.nurse, pump_id, day).booking.id


def _book(w: World) -> Callable[[], object]:
    pump_id, _ = filled(w)
    day = w.clinic.bookings.propose(pump_id)
    assert day is not None
    return lambda: w.clinic.bookings.book(w.nurse, pump_id, day)


def _move(w: World) -> Callable[[], object]:
    booking = _booked(w)
    day = w.clinic.bookings.booking(booking).day
    return lambda: w.clinic.bookings.move(w.nurse, booking, day, place="home")


def _cancel(w: World) -> Callable[[], object]:
    booking = _booked(w)
    return lambda: w.clinic.bookings.cancel(w.nurse, booking, "patient phoned")


def _attended(w: World) -> Callable[[], object]:
    pump_id, _ = filled(w)
    today = w.clinic.clock.now().astimezone(BERLIN).date()
    booking = w.clinic.bookings.book(w.nurse, pump_id, today, reason="seen today").booking.id
    return lambda: w.clinic.bookings.mark_attended(w.nurse, booking)


def _did_not_attend(w: World) -> Callable[[], object]:
    pump_id, _ = filled(w)
    today = w.clinic.clock.now().astimezone(BERLIN).date()
    booking = w.clinic.bookings.book(w.nurse, pump_id, today, reason="seen today").booking.id
    return lambda: w.clinic.bookings.mark_did_not_attend(w.nurse, booking, "no answer")


def _settings(w: World) -> Callable[[], object]:
    settings = replace(w.clinic.settings(), clinic_name="Pump Clinic North")
    return lambda: w.clinic.update_settings(w.admin, settings)


def _settings_moving_forecasts(w: World) -> Callable[[], object]:
    filled(w)
    before = w.clinic.settings()
    settings = replace(before, clinic_name="Pump Clinic", buffer_days=before.buffer_days + 2)
    return lambda: w.clinic.update_settings(w.admin, settings)


def _drug_library(w: World) -> Callable[[], object]:
    filled(w)
    changes: dict[str, Any] = {"soft_max": Q_("1000 mcg/day")}
    return lambda: w.clinic.edit_drug_library(w.admin, "baclofen", changes, "review")


def _pump_model(w: World) -> Callable[[], object]:
    filled(w)
    return lambda: w.clinic.configuration.edit_pump_model(
        w.admin, "synchromed2-20", {"min_flow": Q_("0.03 mL/day")}, "review"
    )


def _recompute(w: World) -> Callable[[], object]:
    filled(w)
    return lambda: w.clinic.recompute_all_forecasts(w.admin, "after review")


def _add_user(w: World) -> Callable[[], object]:
    return lambda: w.clinic.add_user(w.admin, "newbie", PASSWORD, "New Nurse", "nurse")


def _deactivate(w: World) -> Callable[[], object]:
    return lambda: w.clinic.deactivate_user(w.admin, w.second.id, "left")


def _sign_in(w: World) -> Callable[[], object]:
    return lambda: w.clinic.sign_in("nina", PASSWORD)


def _sign_in_upgrading(w: World) -> Callable[[], object]:
    clinic = slower_hasher(w)
    return lambda: clinic.sign_in("nina", PASSWORD)


def _verify_upgrading(w: World) -> Callable[[], object]:
    clinic = slower_hasher(w)
    return lambda: clinic.verify_second_user(w.nurse, w.check)


def _prescribe_upgrading(w: World) -> Callable[[], object]:
    """A prescription whose second user's password hash is upgraded by the check."""
    _, pump_id = baclofen_patient(w)
    clinic = slower_hasher(w)
    data = continuing(baclofen_prescription())
    return lambda: clinic.change_prescription(w.nurse, w.check, pump_id, data)


def _change_password(w: World) -> Callable[[], object]:
    return lambda: w.clinic.users.change_password(w.nurse, PASSWORD, "a new passphrase here")


def _reset_password(w: World) -> Callable[[], object]:
    return lambda: w.clinic.users.reset_password(w.admin, w.second.id, "temporary pass 1")


def _note_template(w: World) -> Callable[[], object]:
    hospital = HospitalService(w.clinic)
    text = hospital.note_template_text()[0] + "\nReviewed."
    return lambda: hospital.set_note_template(w.admin, text, "our wording")


def _mrn_system(w: World) -> Callable[[], object]:
    hospital = HospitalService(w.clinic)
    return lambda: hospital.set_mrn_system(w.admin, "urn:oid:1.2.3.4", "hospital's system")


def _point_workstation(w: World, folder: Path) -> Callable[[], object]:
    return lambda: w.clinic.configuration.point_workstation(w.admin, str(folder / "other.db"))


CALLS: dict[str, Call] = {
    "register_patient": Call("patient.register", _register),
    "edit_patient": Call("patient.edit", _edit_patient),
    "set_patient_status": Call("patient.status", _patient_status),
    "set_opioid_status": Call("patient.edit", _opioid_status),
    "implant_pump": Call("pump.implant", _implant, ("catheters", "events")),
    "replace_pump": Call("pump.replace", _replace, ("catheters", "events")),
    "explant_pump": Call("pump.explant", _explant, ("events",)),
    "revise_catheter": Call("catheter.revise", _revise, ("events",)),
    "record_mri": Call("event.mri", _mri),
    "record_event": Call("event.alarm", _event),
    "correct_event": Call("event.correct", _correct_event),
    "correct_catheter": Call("catheter.correct", _correct_catheter),
    "correct_pump_dates": Call("pump.correct", _correct_pump),
    "change_prescription": Call("prescription.change", _prescribe),
    "change_prescription_tenfold": Call("prescription.change", _tenfold, ("tenfold_confirmed",)),
    "change_programmed_outside_limits": Call(
        "prescription.change", _programmed_outside_limits, ("incidents",)
    ),
    "record_refill": Call("refill.record", _refill),
    "record_refill_with_incident_at_booking": Call(
        "refill.record", _refill_with_incident_and_booking, ("bookings", "incidents")
    ),
    "record_refill_resumed_after_empty": Call(
        "refill.record", _refill_resumed_after_empty, ("incidents",)
    ),
    "correct_refill": Call("refill.correct", _correct_refill),
    "sign_order": Call("order.sign", _sign_order),
    "decline_order": Call("order.decline", _decline_order),
    "record_programmed": Call("order.programmed", _record_programmed),
    "review_incident": Call("incident.review", _review_incident),
    "raise_maximum": Call("individual_maximum.set", _raise_maximum),
    "review_maximum": Call("individual_maximum.review", _review_maximum),
    "end_maximum": Call("individual_maximum.end", _end_maximum),
    "give_stop_order": Call("stop_order.give", _give_stop),
    "stop_order_carried_out": Call("stop_order.carried_out", _stop_carried_out),
    "book": Call("booking.book", _book),
    "move": Call("booking.move", _move),
    "cancel": Call("booking.cancel", _cancel),
    "mark_attended": Call("booking.attended", _attended),
    "mark_did_not_attend": Call("booking.did_not_attend", _did_not_attend),
    "update_settings": Call("settings.update", _settings),
    "update_settings_moving_forecasts": Call("settings.update", _settings_moving_forecasts),
    "edit_drug_library": Call("drug_library.edit", _drug_library),
    "edit_pump_model": Call("pump_catalog.edit", _pump_model),
    "recompute_all_forecasts": Call("forecast.recompute", _recompute),
    "add_user": Call("user.create", _add_user),
    "deactivate_user": Call("user.deactivate", _deactivate),
    "sign_in": Call("user.sign_in", _sign_in),
    "sign_in_upgrading_the_hash": Call("user.sign_in", _sign_in_upgrading, ("password_rehash",)),
    "verify_second_user_upgrading_the_hash": Call(
        "user.password_rehash", _verify_upgrading, ("password_rehash",)
    ),
    "change_prescription_upgrading_the_hash": Call(
        "prescription.change", _prescribe_upgrading, ("password_rehash",)
    ),
    "change_password": Call("user.password_change", _change_password),
    "reset_password": Call("user.password_reset", _reset_password),
    "set_note_template": Call("settings.note_template", _note_template),
    "set_mrn_system": Call("settings.mrn_system", _mrn_system),
}


def entries(world: World, after: int) -> list[db.AuditEntry]:
    with world.clinic.database.read() as session:
        return list(
            session.scalars(
                select(db.AuditEntry).where(db.AuditEntry.seq > after).order_by(db.AuditEntry.seq)
            )
        )


def head(world: World) -> int:
    with world.clinic.database.read() as session:
        return int(session.scalar(select(db.AuditEntry.seq).order_by(db.AuditEntry.seq.desc())))


@pytest.mark.parametrize("name", list(CALLS))
def test_each_mutating_call_writes_one_entry_named_for_it(world: World, name: str) -> None:
    call = CALLS[name]
    run = call.ready(world)
    before = head(world)
    run()
    written = entries(world, before)
    assert [e.action for e in written] == [call.action]
    payload = json.loads(written[0].payload)
    for part in call.carried:
        assert isinstance(payload.get(part), list) and payload[part], (part, payload)


def test_pointing_the_workstation_elsewhere_is_one_entry(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the choice is remembered in this test's folder, not the worker's home: a later test on
    # the same worker reads the default database from there
    monkeypatch.setattr(workstation, "choice_file", lambda: tmp_path / "cfg" / "choice.txt")
    before = head(world)
    _point_workstation(world, tmp_path)()
    assert [e.action for e in entries(world, before)] == ["workstation.database"]
