"""The full verification the window runs once a day per workstation (issue 12): it finds what
the start-up check cannot, an old refill edited in place, audits it like the start-up check's
break, and records when and where it ran; a sound one moves the start-up checkpoint up."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from clinic_world import START, World, baclofen_patient, baclofen_prescription, continuing, fill
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.db.checkpoint import read_checkpoint
from pumpmgr.db.engine import Database
from pumpmgr.db.snapshot import snapshot
from pumpmgr.services.records import BREAK_ACTION, FULL_CHECK_ACTION, PROGRAM_USER


def _entries(database: Database, action: str) -> list[db.AuditEntry]:
    with database.read() as session:
        return list(
            session.scalars(
                select(db.AuditEntry)
                .where(db.AuditEntry.action == action)
                .order_by(db.AuditEntry.seq)
            )
        )


def _halve_in_place(database: Database, refill_id: int) -> None:
    """The refill's volume halved straight in the database, its append-only trigger put out
    of the way as a tamperer would (dropped and put back on SQLite, disabled on PostgreSQL)."""
    with database.engine.begin() as connection:
        if database.backend == "sqlite":
            (sql,) = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'trg_refills_no_update'"
            ).one()
            connection.exec_driver_sql("DROP TRIGGER trg_refills_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE refills DISABLE TRIGGER USER")
        connection.exec_driver_sql(
            f"UPDATE refills SET volume_added_ml = volume_added_ml / 2 WHERE id = {refill_id}"
        )
        if database.backend == "sqlite":
            connection.exec_driver_sql(sql)
        else:
            connection.exec_driver_sql("ALTER TABLE refills ENABLE TRIGGER USER")


@pytest.mark.writes_outside_pumpmgr
def test_an_old_refill_edited_in_place_is_found_by_the_full_check_only(
    world: World, database: Database
) -> None:
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.prescriber, world.check, pump_id, continuing(baclofen_prescription())
    )
    old = clinic.record_refill(world.nurse, world.check, pump_id, fill(START)).refill.id
    assert clinic.records.full_check_due() and clinic.records.last_full_check() is None
    sound = clinic.records.run_full_check()
    assert sound.ok and not clinic.records.full_check_due()  # once a day on this workstation
    with database.read() as session:
        at = read_checkpoint(session)
    assert at is not None and sound.chain.head is not None
    assert at.head.seq == sound.chain.head.seq  # the start-up check starts after it
    last = clinic.records.last_full_check()
    assert last is not None and (last.ok, last.workstation, last.head_seq) == (
        True,
        "test",
        sound.chain.head.seq,
    )
    assert "every record matched the audit log" in last.summary(clinic.tz)

    world.clock.advance(timedelta(days=30))
    expected = clinic.expected_now(pump_id, world.clock.now())
    assert expected is not None
    clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(world.clock.now(), f"{round(float(expected.to('mL').m), 1)} mL"),
    )
    assert clinic.records.check_since_checkpoint().ok
    _halve_in_place(database, old)
    assert clinic.records.check_since_checkpoint().ok  # not written since: not seen
    assert clinic.records.full_check_due()  # a new clinic day
    with database.read() as session:
        before = read_checkpoint(session)
    broken = clinic.records.run_full_check()
    assert not broken.ok and not clinic.records.full_check_due()
    finding = next(p for p in broken.problems() if p.startswith(f"refills #{old}:"))
    assert "volume_added_ml" in finding
    (entry,) = _entries(database, BREAK_ACTION)
    assert entry.username == PROGRAM_USER and finding in json.loads(entry.payload)["findings"]
    runs = _entries(database, FULL_CHECK_ACTION)
    assert [json.loads(r.payload)["ok"] for r in runs] == [True, False]
    assert {(r.username, r.workstation) for r in runs} == {(PROGRAM_USER, "test")}
    last = clinic.records.last_full_check()
    assert last is not None and not last.ok and last.findings == len(broken.problems())
    clinic.records.run_full_check()
    assert len(_entries(database, BREAK_ACTION)) == 1  # the same break audited once
    with database.read() as session:
        assert read_checkpoint(session) == before  # a break never moves the checkpoint


def test_the_full_check_reads_one_state_and_holds_up_no_writer(
    world: World, database: Database
) -> None:
    """A nurse saves while the check reads: the save is not kept waiting (SQLite's rollback
    journal would make it wait for the reader), and the check does not see it half-way."""

    def entries(session: object) -> int:
        return len(session.scalars(select(db.AuditEntry.seq)).all())  # type: ignore[attr-defined]

    with snapshot(database) as session:
        before = entries(session)
        baclofen_patient(world, "100009")  # a patient, a pump and a catheter: committed
        assert entries(session) == before
    with database.read() as session:
        assert entries(session) > before
