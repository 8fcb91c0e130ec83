"""A break of the records found by a check is itself put on the record, once, and clinical
work goes on (issue 12, group 3)."""

from __future__ import annotations

import json
from datetime import date

from argon2 import PasswordHasher
from clinic_world import BERLIN, FAST_HASHER, PASSWORD, START
from sqlalchemy import select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput
from pumpmgr.services.records import BREAK_ACTION


def _breaks(database: Database) -> list[dict[str, object]]:
    with database.read() as session:
        rows = session.scalars(
            select(db.AuditEntry)
            .where(db.AuditEntry.action == BREAK_ACTION)
            .order_by(db.AuditEntry.seq)
        ).all()
    assert all(row.username == "pumpmgr" for row in rows)
    return [json.loads(row.payload) for row in rows]


def test_a_break_is_audited_once_and_work_goes_on(database: Database) -> None:
    clinic = ClinicService(
        database, clock=FixedClock(START), tz=BERLIN, workstation="test", hasher=FAST_HASHER
    )
    admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
    clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", PASSWORD)
    patient = clinic.register_patient(
        nurse, PatientInput("100001", "Meyer", "Anna", date(1970, 5, 1), "other")
    )
    assert clinic.record_integrity_break().ok and _breaks(database) == []
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE patients SET notes = 'x' WHERE id = {patient.id}")
    report = clinic.record_integrity_break()
    assert not report.ok
    (entry,) = _breaks(database)
    assert entry["count"] == 1
    # entry #3 is nina's sign-in, #4 the registration
    assert entry["findings"] == [
        f"patients #{patient.id}: notes changed outside pumpmgr "
        "(last written by pumpmgr at audit entry #4)"
    ]
    assert not clinic.record_integrity_break().ok
    assert len(_breaks(database)) == 1  # the same break is not recorded again
    clinic.register_patient(
        nurse, PatientInput("100002", "Meyer", "Ben", date(1971, 5, 1), "other")
    )  # clinical work goes on
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE users SET role = 'administrator' WHERE id = {nurse.id}")
    clinic.record_integrity_break()
    assert [b["count"] for b in _breaks(database)] == [1, 2]
    assert clinic.verify_integrity().chain.ok  # the entries that record it keep the chain


def test_a_password_hash_upgraded_at_sign_in_is_on_the_record(database: Database) -> None:
    """auth upgrades an outdated hash in place when its user signs in: that write is in the
    sign-in's one audit entry and carried like any other, so the check finds nothing."""
    old = ClinicService(database, clock=FixedClock(START), tz=BERLIN, hasher=FAST_HASHER)
    old.create_first_administrator("admin", PASSWORD, "Ada Admin")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    new = ClinicService(database, clock=FixedClock(START), tz=BERLIN, hasher=stronger)
    new.sign_in("admin", PASSWORD)
    with database.read() as session:
        entries = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq)).all()
    assert [e.action for e in entries[-2:]] == ["user.create", "user.sign_in"]
    (upgraded,) = json.loads(entries[-1].payload)["password_rehash"]
    assert upgraded["username"] == "admin"
    assert new.verify_integrity().ok
