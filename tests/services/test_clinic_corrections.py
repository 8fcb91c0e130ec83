"""ClinicService.correct_record: pump events and catheters are corrected by new rows that point
at what they correct, with a reason, the user and an audit entry; nothing is updated in place.

Every test runs on SQLite and on PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
)
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    SegmentInput,
)
from pumpmgr.units import Q_


def filled(world: World) -> tuple[int, int]:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def catheter(length: str, tip: str, trimmed: str = "10 cm") -> CatheterInput:
    return CatheterInput(
        "prometra-11823", (SegmentInput(Q_(length), Q_(trimmed), Q_("0.0026 mL/cm")),), tip
    )


def test_an_event_correction_is_a_new_row_and_the_original_stays(world: World) -> None:
    """An MRI recorded with the check not done, at the wrong time: the correction carries the
    right values, the reason and who corrected it; the original row is unchanged; one audit
    entry says what changed; the stored forecast (which reads no events) is the same."""
    clinic = world.clinic
    patient_id, pump_id = filled(world)
    clinic.record_mri(world.nurse, pump_id, START, False, "1.5 T lumbar spine")
    chart = clinic.patient_chart(patient_id)
    mri = next(e for e in chart.events if e.kind == "mri")
    events, audits = count(world, db.PumpEvent), count(world, db.AuditEntry)
    world.clock.advance(timedelta(hours=2))

    fixed = clinic.correct_record(
        world.second,
        EventCorrection(mri.id, occurred_at=START - timedelta(hours=1), post_mri_check_done=True),
        "the check was done; time read from the wrong form",
    )

    assert fixed.corrects_id == mri.id and fixed.kind == "mri"
    assert fixed.occurred_at == START - timedelta(hours=1)
    assert fixed.details == {"post-MRI check": "done"}
    assert fixed.summary == "1.5 T lumbar spine"  # what was not corrected is carried over
    assert fixed.user == "Otto Second"
    assert fixed.correction_reason == "the check was done; time read from the wrong form"
    assert count(world, db.PumpEvent) == events + 1
    assert count(world, db.AuditEntry) == audits + 1
    with clinic.database.read() as session:
        original = session.get_one(db.PumpEvent, mri.id)
        assert original.post_mri_check_done is False and original.occurred_at == START
        row = session.get_one(db.PumpEvent, fixed.id)
        assert row.recorded_by_id == world.second.id and row.recorded_at == world.clock.now()
    entry = last_audit(world)
    assert (entry.action, entry.entity_type, entry.entity_id) == (
        "event.correct",
        "pump_event",
        str(fixed.id),
    )
    assert entry.username == "otto"
    assert entry.reason == "the check was done; time read from the wrong form"
    payload = json.loads(entry.payload)
    assert payload["corrects"] == mri.id
    assert payload["post_mri_check_done"] == {"before": False, "after": True}
    assert set(payload) == {"corrects", "pump_id", "post_mri_check_done", "occurred_at"}
    after = clinic.patient_chart(patient_id)
    assert [e.id for e in after.events if e.kind == "mri"] == [fixed.id, mri.id]  # by time
    assert after.forecast == chart.forecast
    assert clinic.verify_audit().ok


def test_a_correction_may_be_corrected_but_only_the_newest_version(world: World) -> None:
    """An alarm that was a phone call is corrected to a note; a typo in that correction is
    corrected in turn (a chain). The superseded versions are refused, naming the newer one."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.record_event(world.nurse, pump_id, "alarm", START, "low reservoir alarm heard")
    with clinic.database.read() as session:
        alarm = session.scalars(
            select(db.PumpEvent).where(db.PumpEvent.kind == db.PumpEventKind.ALARM)
        ).one()
    first = clinic.correct_record(
        world.nurse,
        EventCorrection(alarm.id, kind="note", note="patient phoned: no alarm herd"),
        "it was a phone call",
    )
    assert (first.kind, first.corrects_id) == ("note", alarm.id)
    second = clinic.correct_record(
        world.nurse, EventCorrection(first.id, note="patient phoned: no alarm heard"), "typo"
    )
    assert (second.kind, second.corrects_id, second.summary) == (
        "note",
        first.id,
        "patient phoned: no alarm heard",
    )
    for superseded, newer in ((alarm.id, first.id), (first.id, second.id)):
        with pytest.raises(PumpMgrError) as refused:
            clinic.correct_record(world.nurse, EventCorrection(superseded, note="again"), "again")
        assert refused.value.code is Code.OUT_OF_RANGE
        assert refused.value.field == "pump event"
        assert f"#{superseded} was already corrected by #{newer}" in refused.value.message


def test_refused_corrections_say_why_and_write_nothing(world: World) -> None:
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.record_event(world.nurse, pump_id, "note", START, "telephone follow-up")
    chart = clinic.patient_chart(patient_id)
    note = next(e for e in chart.events if e.kind == "note")
    implant = next(e for e in chart.events if e.kind == "implant")
    assert chart.catheter is not None
    cases: list[tuple[EventCorrection | CatheterCorrection, str, Code, str, str]] = [
        (
            EventCorrection(99999, note="x"),
            "typo",
            Code.NO_VALUE,
            "pump event",
            "no pump event #99999",
        ),
        (
            CatheterCorrection(99999, revised_on=date(2025, 3, 2)),
            "typo",
            Code.NO_VALUE,
            "catheter",
            "no catheter #99999",
        ),
        (
            EventCorrection(note.id, note="video follow-up"),
            "   ",
            Code.NO_VALUE,
            "reason",
            "required",
        ),
        (
            EventCorrection(note.id, note="telephone follow-up"),
            "typo",
            Code.NO_VALUE,
            "correction",
            "changes nothing",
        ),
        (
            CatheterCorrection(chart.catheter.id, catheter=catheter("80 cm", "T10", "30 cm")),
            "typo",
            Code.NO_VALUE,
            "correction",
            "changes nothing",
        ),
        (
            EventCorrection(implant.id, occurred_at=START),
            "typo",
            Code.OUT_OF_RANGE,
            "time",
            "pump's or the catheter's own record",
        ),
        (EventCorrection(implant.id, kind="note"), "typo", Code.OUT_OF_RANGE, "kind", "stays one"),
        (
            EventCorrection(note.id, post_mri_check_done=True),
            "typo",
            Code.OUT_OF_RANGE,
            "post-MRI check",
            "MRI events only",
        ),
        (
            EventCorrection(note.id, occurred_at=START + timedelta(days=1)),
            "typo",
            Code.TIME_ORDER,
            "time",
            "in the future",
        ),
        (
            CatheterCorrection(chart.catheter.id, revised_on=date(2025, 2, 1)),
            "typo",
            Code.TIME_ORDER,
            "revision date",
            "before the implant date",
        ),
    ]
    tables = (db.PumpEvent, db.Catheter, db.CatheterSegment, db.AuditEntry)
    before = [count(world, t) for t in tables]
    for correction, reason, code, field, words in cases:
        with pytest.raises(PumpMgrError) as refused:
            clinic.correct_record(world.nurse, correction, reason)
        assert (refused.value.code, refused.value.field) == (code, field), refused.value.message
        assert words in refused.value.message, refused.value.message
    assert [count(world, t) for t in tables] == before
    with pytest.raises(PumpMgrError) as denied:
        clinic.correct_record(world.admin, EventCorrection(note.id, note="x"), "typo")
    assert denied.value.code is Code.AUTH_NOT_PERMITTED


def test_a_catheter_correction_takes_the_place_of_what_it_corrects(world: World) -> None:
    """A pump's implanted catheter, then a revision. Correcting the implanted one (tip level
    misread) leaves the revision current; correcting the revision's length makes the
    correction current, with its volume (the dead space of the next bridge)."""
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.revise_catheter(
        world.nurse, pump_id, catheter("70 cm", "T11"), date(2025, 3, 2), "kinked at the anchor"
    )
    chart = clinic.patient_chart(patient_id)
    implanted, revised = chart.catheters
    assert chart.catheter is not None and chart.catheter.id == revised.id
    forecast = chart.forecast

    old_fixed = clinic.correct_record(
        world.nurse,
        CatheterCorrection(implanted.id, catheter=catheter("80 cm", "T9", "30 cm")),
        "tip level misread",
    )
    assert (old_fixed.corrects_id, old_fixed.tip_level) == (implanted.id, "T9")
    assert clinic.patient_chart(patient_id).catheter.id == revised.id  # type: ignore[union-attr]

    fixed = clinic.correct_record(
        world.second,
        CatheterCorrection(revised.id, catheter=catheter("60 cm", "T11", "20 cm")),
        "length misread",
    )
    assert fixed.corrects_id == revised.id and fixed.user == "Otto Second"
    assert (fixed.implanted_on, fixed.revised_on) == (revised.implanted_on, revised.revised_on)
    assert fixed.volume is not None and float(fixed.volume.to("mL").m) == pytest.approx(0.156)
    after = clinic.patient_chart(patient_id)
    assert after.catheter == fixed
    assert [(c.id, c.corrects_id) for c in after.catheters] == [
        (implanted.id, None),
        (revised.id, None),
        (old_fixed.id, implanted.id),
        (fixed.id, revised.id),
    ]
    assert after.forecast == forecast
    with clinic.database.read() as session:  # the revision as first recorded is untouched
        lengths = session.scalars(
            select(db.CatheterSegment.implanted_length_cm).where(
                db.CatheterSegment.catheter_id == revised.id
            )
        ).all()
    assert lengths == [70.0]
    entry = last_audit(world)
    assert (entry.action, entry.entity_id, entry.reason) == (
        "catheter.correct",
        str(fixed.id),
        "length misread",
    )
    payload = json.loads(entry.payload)
    assert payload["corrects"] == revised.id
    assert payload["segments_cm_cm_ml_per_cm"] == {
        "before": [[70.0, 10.0, 0.0026]],
        "after": [[60.0, 20.0, 0.0026]],
    }
    assert "tip_level" not in payload
    # dates only: the segments are carried over
    dated = clinic.correct_record(
        world.nurse,
        CatheterCorrection(fixed.id, revised_on=date(2025, 3, 3)),
        "revised the day after",
    )
    assert dated.segments == fixed.segments and dated.revised_on == date(2025, 3, 3)
    assert clinic.verify_audit().ok
