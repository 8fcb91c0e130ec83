"""The audit chain over the records (issue 12, group 3; :mod:`pumpmgr.db.rowchain`): the row
images an entry carries, their canonical form on both backends, and :func:`verify_records`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pumpmgr.db.audit import ChainProblem, append_audit, entry_hash, verify_chain
from pumpmgr.db.engine import Database
from pumpmgr.db.rowchain import RecordsReport, covered_tables, verify_records
from pumpmgr.db.schema import AuditEntry, Patient, Pump, PumpStatus

#: The canonical hash of the patient :func:`_patient` writes: the same on SQLite and PostgreSQL
#: (floats, instants with microseconds, dates, booleans, NULL, non-ASCII text). The image holds
#: every column, so a column added to the table changes it: the patient's opioid_status
#: (revision 0006) and phone (0009), both NULL here, did; without them it hashes as before.
PATIENT_HASH = "b79dfb1b2a4a91c136fdd57e9e000c0d2bf132af204bb3b8f474403c4aaa555a"
PUMP_HASH = "c1cfda4a355ae94dde721eac624ae5e2dcbd669fd1d1a5214f00f8b1a1ca94f4"
T0 = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def _write(database: Database, action: str, work: Any) -> int:
    """``work(session)`` and one audit entry in one unit of work; the entry's seq."""
    with database.write() as session:
        work(session)
        return append_audit(
            session, username="ann", action=action, entity_type="test", workstation="ws", at=T0
        ).seq


def _patient(session: Session) -> None:
    session.add(
        Patient(
            id=7,
            mrn="Ｄ-µ 7",
            family_name="Müller",
            given_name="Zoë",
            date_of_birth=date(1960, 2, 29),
            indication="other",
            indication_other=None,
            renal_impairment=True,
            notes="½ dose",
            created_at=T0,
            updated_at=T0,
        )
    )


def _pump(session: Session) -> None:
    session.add(
        Pump(
            id=3,
            patient_id=7,
            model_key="synchromed2-20",
            serial_number="SN 1",
            implant_date=date(2026, 1, 5),
            implant_site="abdomen",
            reservoir_capacity_ml=20.0,
            low_reservoir_alarm_ml=2.0,
            accuracy_percent=14.5,
            nominal_flow_ml_per_day=None,
            pump_path_volume_ml=0.1 + 0.2,
            replace_by_date=None,
            status=PumpStatus.ACTIVE,
            created_at=T0,
        )
    )


def _verify(database: Database) -> RecordsReport:
    with database.read() as session:
        chain = verify_chain(session)
        assert chain.ok, chain.message
        return verify_records(session, chain.entries_checked)


def _images(database: Database, seq: int) -> dict[str, Any]:
    with database.read() as session:
        text_ = session.scalar(select(AuditEntry.written_rows).where(AuditEntry.seq == seq))
    assert text_ is not None
    images: dict[str, Any] = json.loads(text_)
    return images


def _raw(database: Database, *statements: str) -> None:
    """Raw SQL past the program, in its own transaction (the tables it touches have no
    append-only triggers)."""
    with database.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def test_an_entry_carries_the_canonical_images_of_the_rows_it_wrote(database: Database) -> None:
    first = _write(database, "patient.register", _patient)
    images = _images(database, first)
    # The first covered entry records the rows that were there before it (the settings row).
    assert [row[:2] for row in images["baseline"]] == [["clinic_settings", 1]]
    (write,) = images["writes"]
    assert (write["t"], write["id"], write["before"]) == ("patients", 7, None)
    assert set(write["after"]["columns"]) == {c.name for c in Patient.__table__.columns}
    # The same bytes on both backends: one literal for SQLite and PostgreSQL.
    assert write["after"]["hash"] == PATIENT_HASH
    second = _write(database, "pump.implant", _pump)
    assert "baseline" not in _images(database, second)
    assert _images(database, second)["writes"][0]["after"]["hash"] == PUMP_HASH
    assert _verify(database).ok and _verify(database).covered_from == first


def test_a_change_carries_before_and_after(database: Database) -> None:
    _write(database, "patient.register", _patient)
    inserted = _images(database, 1)["writes"][0]["after"]["hash"]

    def edit(session: Session) -> None:
        session.get_one(Patient, 7).notes = "full dose"

    seq = _write(database, "patient.edit", edit)
    (write,) = _images(database, seq)["writes"]
    assert write["before"] == inserted and write["after"]["hash"] != inserted
    assert _verify(database).ok


def test_edits_inserts_and_deletes_outside_the_program_are_named(database: Database) -> None:
    _write(database, "patient.register", _patient)
    _write(database, "pump.implant", _pump)
    _raw(
        database,
        "UPDATE pumps SET low_reservoir_alarm_ml = 1.0, implant_site = 'arm' WHERE id = 3",
        "INSERT INTO patients (id, mrn, family_name, given_name, date_of_birth, indication, "
        "renal_impairment, notes, status, created_at, updated_at, version) SELECT 8, 'X', "
        "family_name, given_name, date_of_birth, indication, renal_impairment, notes, status, "
        "created_at, updated_at, version FROM patients WHERE id = 7",
        "UPDATE clinic_settings SET refill_buffer_days = 0",
    )
    report = _verify(database)
    found = {(p.table, p.record_id, p.kind, p.columns) for p in report.problems}
    assert found == {
        ("pumps", 3, "changed", ("implant_site", "low_reservoir_alarm_ml")),
        ("patients", 8, "inserted", ()),
        # the settings row is known from the baseline only: its hash, not its columns
        ("clinic_settings", 1, "changed", ()),
    }
    messages = " | ".join(p.message for p in report.problems)
    assert "pumps #3: implant_site, low_reservoir_alarm_ml changed outside pumpmgr" in messages
    assert "patients #8: inserted outside pumpmgr" in messages
    _raw(database, "DELETE FROM patients WHERE id = 8", "DELETE FROM pumps WHERE id = 3")
    found = {(p.table, p.record_id, p.kind) for p in _verify(database).problems}
    assert ("pumps", 3, "deleted") in found and ("patients", 8, "inserted") not in found


def test_a_change_overwritten_by_a_later_write_is_still_found(database: Database) -> None:
    _write(database, "patient.register", _patient)
    _raw(database, "UPDATE patients SET renal_impairment = false WHERE id = 7")

    def edit(session: Session) -> None:
        session.get_one(Patient, 7).renal_impairment = True  # the program puts it back

    seq = _write(database, "patient.edit", edit)
    (problem,) = _verify(database).problems
    assert (problem.table, problem.record_id, problem.kind) == ("patients", 7, "changed between")
    assert f"before entry #{seq}" in problem.message


def test_unreadable_text_is_reported_not_raised(sqlite_database: Database) -> None:
    _write(sqlite_database, "patient.register", _patient)
    with sqlite_database.engine.begin() as connection:
        connection.execute(
            text("UPDATE patients SET notes = CAST(:v AS TEXT) WHERE id = 7"), {"v": b"\xff\xfe"}
        )
        connection.execute(text("UPDATE patients SET date_of_birth = 'soon' WHERE id = 7"))
    (problem,) = _verify(sqlite_database).problems
    assert problem.columns == ("date_of_birth", "notes")


def test_an_entry_without_row_images_after_one_with_them_is_altered(database: Database) -> None:
    _write(database, "patient.register", _patient)
    _write(database, "pump.implant", _pump)
    with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        # rehashed as an entry of before revision 0008, so that its own hash matches
        row = dict(
            connection.execute(
                text(
                    "SELECT seq, recorded_at, username, workstation, action, entity_type, "
                    "entity_id, "
                    "payload, reason, prev_hash FROM audit_log WHERE seq = 2"
                )
            )
            .one()
            ._mapping
        )
        if isinstance(row["recorded_at"], str):
            row["recorded_at"] = datetime.fromisoformat(row["recorded_at"]).replace(tzinfo=UTC)
        connection.execute(
            text("UPDATE audit_log SET written_rows = NULL, row_hash = :h WHERE seq = 2"),
            {"h": entry_hash(**row)},
        )
    with database.read() as session:
        report = verify_chain(session)
    assert (report.ok, report.problem, report.first_bad_seq) == (False, ChainProblem.ALTERED, 2)
    assert "images of the rows" in report.message


def test_derived_and_log_tables_are_not_covered() -> None:
    names = {t.name for t in covered_tables()}
    assert {"audit_log", "pump_forecasts", "sign_in_failures"}.isdisjoint(names)
    assert {
        "users",
        "patients",
        "pumps",
        "refills",
        "clinic_settings",
        "drug_library_edits",
    } <= names
