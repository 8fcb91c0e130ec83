"""ClinicService.correct_record with a PumpCorrection: a pump's implant or explant date is
corrected on the pump row, with a correcting event for its implant or explant event (so the
timeline agrees) and one ``pump.correct`` audit entry.

Every test runs on SQLite and on PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from clinic_world import (
    BERLIN,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
)

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services.inputs import EventCorrection, PumpCorrection


def midnight(day: date) -> datetime:
    """The instant the service records a pump's implant or explant event on ``day``."""
    return datetime.combine(day, time(0, 0), BERLIN)


def test_an_implant_date_is_corrected_on_the_pump_and_on_its_timeline(world: World) -> None:
    """The pump was implanted on 27 Feb, not 1 Mar: the pump row takes the new date, a
    correcting implant event (same note, same time of day) sits under the original, which
    stays; one audit entry has the date before and after, the events and the reason."""
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    chart = clinic.patient_chart(patient_id)
    implant = next(e for e in chart.events if e.kind == "implant")
    assert implant.occurred_at == midnight(date(2025, 3, 1))
    events, audits = count(world, db.PumpEvent), count(world, db.AuditEntry)
    world.clock.advance(timedelta(hours=1))

    fixed = clinic.correct_record(
        world.second,
        PumpCorrection(pump_id, implanted_on=date(2025, 2, 27)),
        "date read from the wrong letter",
    )

    assert fixed.id == pump_id and fixed.implanted_on == date(2025, 2, 27)
    assert fixed.explanted_on is None and fixed.status == "active"
    assert count(world, db.PumpEvent) == events + 1
    assert count(world, db.AuditEntry) == audits + 1
    after = clinic.patient_chart(patient_id)
    assert after.pump is not None and after.pump.implanted_on == date(2025, 2, 27)
    implants = [e for e in after.events if e.kind == "implant"]
    assert [(e.id, e.corrects_id) for e in implants] == [
        (implants[0].id, implant.id),
        (implant.id, None),
    ]  # oldest first: the new date
    correcting = implants[0]
    assert correcting.occurred_at == midnight(date(2025, 2, 27))
    assert correcting.summary == implant.summary  # the note carried over
    assert correcting.correction_reason == "date read from the wrong letter"
    assert correcting.user == "Otto Second"
    with clinic.database.read() as session:
        original = session.get_one(db.PumpEvent, implant.id)
        assert original.occurred_at == midnight(date(2025, 3, 1))
    entry = last_audit(world)
    assert (entry.action, entry.entity_type, entry.entity_id, entry.username) == (
        "pump.correct",
        "pump",
        str(pump_id),
        "otto",
    )
    assert entry.reason == "date read from the wrong letter"
    assert json.loads(entry.payload) == {
        "implanted_on": {"before": "2025-03-01", "after": "2025-02-27"},
        "corrects_events": [implant.id],
        "correcting_events": [correcting.id],
    }
    assert after.forecast == chart.forecast  # the forecast reads no implant date
    assert clinic.verify_audit().ok


def test_an_explant_date_and_both_dates_at_once(world: World) -> None:
    """An explanted pump's explant date is corrected with its explant event; then both dates
    at once: two correcting events, still one audit entry."""
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    world.clock.advance(timedelta(days=10))
    clinic.explant_pump(world.nurse, pump_id, date(2025, 3, 12), "infection")
    explant = next(e for e in clinic.patient_chart(patient_id).events if e.kind == "explant")
    audits = count(world, db.AuditEntry)

    fixed = clinic.correct_record(
        world.nurse,
        PumpCorrection(pump_id, explanted_on=date(2025, 3, 11)),
        "explanted the day before",
    )
    assert (fixed.explanted_on, fixed.status, fixed.explant_reason) == (
        date(2025, 3, 11),
        "explanted",
        "infection",
    )
    events = clinic.patient_chart(patient_id).events
    moved = next(e for e in events if e.kind == "explant" and e.corrects_id == explant.id)
    assert moved.occurred_at == midnight(date(2025, 3, 11)) and moved.summary == "infection"
    payload = json.loads(last_audit(world).payload)
    assert payload == {
        "explanted_on": {"before": "2025-03-12", "after": "2025-03-11"},
        "corrects_events": [explant.id],
        "correcting_events": [moved.id],
    }

    both = clinic.correct_record(
        world.nurse,
        PumpCorrection(pump_id, implanted_on=date(2025, 2, 28), explanted_on=date(2025, 3, 10)),
        "both wrong",
    )
    assert (both.implanted_on, both.explanted_on) == (date(2025, 2, 28), date(2025, 3, 10))
    assert count(world, db.AuditEntry) == audits + 2
    payload = json.loads(last_audit(world).payload)
    assert set(payload) == {"implanted_on", "explanted_on", "corrects_events", "correcting_events"}
    assert payload["corrects_events"][1] == moved.id  # the newest explant version
    events = clinic.patient_chart(patient_id).events
    assert [e.occurred_at for e in events if e.id in payload["correcting_events"]] == [
        midnight(date(2025, 2, 28)),
        midnight(date(2025, 3, 10)),
    ]
    assert clinic.verify_audit().ok


def test_refused_pump_corrections_name_the_field_and_write_nothing(world: World) -> None:
    clinic = world.clinic
    _, active = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse,
        world.check,
        active,
        continuing(baclofen_prescription(at=START - timedelta(hours=20))),
    )  # 2 Mar
    clinic.record_refill(world.nurse, world.check, active, fill(START))
    _, explanted = baclofen_patient(world, "100002")
    world.clock.advance(timedelta(days=10))
    clinic.explant_pump(world.nurse, explanted, date(2025, 3, 10), "infection")
    today = date(2025, 3, 13)
    cases: list[tuple[PumpCorrection, str, Code, str, str]] = [
        (
            PumpCorrection(99999, implanted_on=date(2025, 3, 1)),
            "typo",
            Code.NO_VALUE,
            "pump",
            "no pump #99999",
        ),
        (
            PumpCorrection(active, explanted_on=date(2025, 3, 5)),
            "typo",
            Code.OUT_OF_RANGE,
            "explant date",
            "not explanted",
        ),
        (
            PumpCorrection(active, implanted_on=today + timedelta(days=1)),
            "typo",
            Code.TIME_ORDER,
            "implant date",
            "in the future",
        ),
        (
            PumpCorrection(explanted, explanted_on=today + timedelta(days=1)),
            "typo",
            Code.TIME_ORDER,
            "explant date",
            "in the future",
        ),
        (
            PumpCorrection(explanted, explanted_on=date(2025, 2, 28)),
            "typo",
            Code.TIME_ORDER,
            "explant date",
            "before the implant",
        ),
        (
            PumpCorrection(explanted, implanted_on=date(2025, 3, 11)),
            "typo",
            Code.TIME_ORDER,
            "implant date",
            "before the implant",
        ),
        (
            PumpCorrection(active, implanted_on=date(2025, 3, 3)),
            "typo",
            Code.TIME_ORDER,
            "implant date",
            "first prescription (2025-03-02)",
        ),
        (
            PumpCorrection(active, implanted_on=date(2025, 3, 1)),
            "typo",
            Code.NO_VALUE,
            "correction",
            "changes nothing",
        ),
        (PumpCorrection(active), "typo", Code.NO_VALUE, "correction", "changes nothing"),
        (
            PumpCorrection(active, implanted_on=date(2025, 2, 27)),
            "  ",
            Code.NO_VALUE,
            "reason",
            "reason",
        ),
    ]
    tables = (db.PumpEvent, db.AuditEntry)
    before = [count(world, t) for t in tables]
    for correction, reason, code, field, words in cases:
        with pytest.raises(PumpMgrError) as refused:
            clinic.correct_record(world.nurse, correction, reason)
        assert (refused.value.code, refused.value.field) == (code, field), refused.value.message
        assert words in refused.value.message, refused.value.message
    with pytest.raises(PumpMgrError) as denied:
        clinic.correct_record(
            world.admin, PumpCorrection(active, implanted_on=date(2025, 2, 27)), "typo"
        )
    assert denied.value.code is Code.AUTH_NOT_PERMITTED
    assert [count(world, t) for t in tables] == before
    with clinic.database.read() as session:
        assert session.get_one(db.Pump, active).implant_date == date(2025, 3, 1)
        assert session.get_one(db.Pump, explanted).explant_date == date(2025, 3, 10)


def test_an_implant_after_the_first_refill_is_refused(world: World) -> None:
    """A refill recorded before the first prescription's day bounds the implant date too."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    world.clock.advance(timedelta(days=3))
    clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(baclofen_prescription(at=START + timedelta(days=2))),
    )
    clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    with pytest.raises(PumpMgrError) as refused:
        clinic.correct_record(
            world.nurse, PumpCorrection(pump_id, implanted_on=date(2025, 3, 4)), "typo"
        )
    assert (refused.value.field, refused.value.code) == ("implant date", Code.TIME_ORDER)
    assert "first refill (2025-03-03)" in refused.value.message, refused.value.message


def test_a_direct_event_correction_still_cannot_move_the_implant(world: World) -> None:
    """Only a PumpCorrection moves the implant event: the event path keeps its refusal."""
    clinic = world.clinic
    patient_id, _ = baclofen_patient(world)
    implant = next(e for e in clinic.patient_chart(patient_id).events if e.kind == "implant")
    with pytest.raises(PumpMgrError) as refused:
        clinic.correct_record(
            world.nurse,
            EventCorrection(implant.id, occurred_at=midnight(date(2025, 2, 27))),
            "typo",
        )
    assert (refused.value.field, refused.value.code) == ("time", Code.OUT_OF_RANGE)
