"""The schema as the migration builds it: constraints, UTC instants, versions, append-only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from db_helpers import NOW, add_patient, add_pump, add_user, raw_sql
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from pumpmgr.db.engine import Database
from pumpmgr.db.errors import ChangedMeanwhile, RecordConflict
from pumpmgr.db.gates import choose_journal_mode
from pumpmgr.db.migrate import head_revision
from pumpmgr.db.schema import (
    APPEND_ONLY_TABLES,
    Base,
    ClinicSettings,
    PageSize,
    Patient,
    Pump,
    PumpEvent,
    PumpEventKind,
    PumpStatus,
    Refill,
)
from pumpmgr.db.types import NaiveDatetimeError
from pumpmgr.errors import Code
from pumpmgr.units import Kind, from_canonical, parse, to_canonical


def test_migration_builds_exactly_the_models(database: Database) -> None:
    """The initial revision creates every table, index and constraint the models declare."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
        revision = context.get_current_revision()
        index_names = {ix["name"] for ix in inspect(connection).get_indexes("pumps")}
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert revision == head_revision()
    assert "ux_pumps_one_active_per_patient" in index_names


def test_first_migration_stores_default_settings(database: Database) -> None:
    with database.read() as session:
        settings = session.get(ClinicSettings, 1)
        assert settings is not None
        assert settings.refill_buffer_days == 7
        assert settings.open_weekdays_mask == 0b0011111
        assert settings.page_size is PageSize.A4
        assert settings.version == 1
        assert settings.updated_at.tzinfo is not None


def test_every_sqlite_connection_is_configured(sqlite_database: Database) -> None:
    """Every pooled connection has the journal mode, FULL sync and foreign keys (T1 config)."""
    expected_mode = choose_journal_mode(sqlite3.sqlite_version_info)
    connections = [sqlite_database.engine.connect() for _ in range(3)]
    try:
        for connection in connections:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
            assert pragma == {
                "journal_mode": expected_mode,
                "synchronous": 2,
                "foreign_keys": 1,
                "busy_timeout": 15000,
            }
            connection.rollback()
    finally:
        for connection in connections:
            connection.close()
    assert sqlite_database.journal_mode == expected_mode


def test_write_sessions_take_the_write_lock_at_begin(sqlite_database: Database) -> None:
    """A write unit of work holds the write lock from its first statement (BEGIN IMMEDIATE);
    a read unit of work does not."""
    assert sqlite_database.path is not None
    other = sqlite3.connect(sqlite_database.path, timeout=0.05, isolation_level=None)
    try:
        with sqlite_database.write() as session:
            session.execute(select(func.count()).select_from(Patient)).scalar_one()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with sqlite_database.read() as session:
            session.execute(select(func.count()).select_from(Patient)).scalar_one()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_one_active_pump_per_patient(database: Database) -> None:
    with database.write() as session:
        add_user(session, "ann")
        patient = add_patient(session)
        first = add_pump(session, patient, "SN-1")
        add_pump(session, patient, "SN-0", status=PumpStatus.EXPLANTED)
        add_pump(session, patient, "SN-2", status=PumpStatus.INACTIVE)
        patient_id, first_id = patient.id, first.id

    with pytest.raises(RecordConflict) as refused, database.write() as session:
        add_pump(session, session.get_one(Patient, patient_id), "SN-3")
    assert refused.value.code is Code.DB_CONFLICT
    assert "already has an active pump" in refused.value.message

    with database.write() as session:
        old = session.get_one(Pump, first_id)
        old.status = PumpStatus.EXPLANTED
        old.explant_date = date(2026, 3, 1)
        old.explant_reason = "end of battery life"
        session.flush()
        add_pump(session, session.get_one(Patient, patient_id), "SN-4")
    with database.read() as session:
        active = session.scalars(select(Pump.serial_number).where(Pump.status == "active")).all()
    assert active == ["SN-4"]


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(RecordConflict) as refused, database.write() as session:
        add_pump(session, Patient(id=9999))
    assert "does not exist" in refused.value.message
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Pump)) == 0


def test_sqlite_refuses_text_in_a_magnitude_column(sqlite_database: Database) -> None:
    """SQLite would store '20 mL' in a REAL column; the CHECK refuses it."""
    with sqlite_database.write() as session:
        add_patient(session)
    with pytest.raises(IntegrityError, match="reservoir_capacity_ml_is_number"):
        raw_sql(
            sqlite_database.engine,
            "INSERT INTO pumps (patient_id, model_key, serial_number, implant_date, "
            "implant_site, reservoir_capacity_ml, low_reservoir_alarm_ml, status, created_at, "
            "version) VALUES (1, 'm', 's', '2024-01-01', 'abdomen', '20 mL', 2.0, 'active', "
            "'2024-01-01 00:00:00.000000', 1)",
        )


def test_instants_round_trip_as_utc(database: Database) -> None:
    cest = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=cest)
    with database.write() as session:
        patient = add_patient(session)
        patient.updated_at = local
        patient_id = patient.id
    with database.read() as session:
        stored = session.get_one(Patient, patient_id).updated_at
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert (stored.hour, stored.microsecond) == (1, 123456)
    if database.backend == "sqlite":
        with database.engine.connect() as connection:
            raw = connection.exec_driver_sql(
                "SELECT updated_at FROM patients WHERE id = ?", (patient_id,)
            ).scalar()
        assert raw == "2026-03-29 01:30:15.123456"


def test_sqlite_instant_text_of_any_iso_form_reads_as_utc(sqlite_database: Database) -> None:
    """SQLite's text is read as aware UTC whatever ISO form was written outside pumpmgr: with
    or without microseconds or the ``T``, and with an offset, which is honoured."""
    with sqlite_database.write() as session:
        patient_id = add_patient(session).id
    written = {
        "2026-03-29 01:30:15": datetime(2026, 3, 29, 1, 30, 15, tzinfo=UTC),
        "2026-03-29T01:30:15.5": datetime(2026, 3, 29, 1, 30, 15, 500000, tzinfo=UTC),
        "2026-03-29 03:30:15+02:00": datetime(2026, 3, 29, 1, 30, 15, tzinfo=UTC),
    }
    for text_form, instant in written.items():
        raw_sql(
            sqlite_database.engine,
            f"UPDATE patients SET updated_at = '{text_form}' WHERE id = {patient_id}",
        )
        with sqlite_database.read() as session:
            stored = session.scalar(select(Patient.updated_at).where(Patient.id == patient_id))
        assert stored == instant
        assert stored is not None and stored.tzinfo is UTC


def test_naive_instants_are_refused(database: Database) -> None:
    with pytest.raises(NaiveDatetimeError) as refused, database.write() as session:
        patient = add_patient(session)
        patient.updated_at = datetime(2026, 3, 2, 9, 30)
        session.flush()
    assert refused.value.code is Code.DB_NAIVE_DATETIME
    assert "no time zone" in refused.value.message
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_concurrent_edit_is_refused_not_overwritten(database: Database) -> None:
    """Nurse A and nurse B open the same patient; B saves first; A's save is refused."""
    with database.write() as session:
        patient_id = add_patient(session).id
    with database.read() as session:  # A opens the patient's dialog
        seen_by_a = session.get_one(Patient, patient_id)
    with database.read() as session:  # B opens it too
        seen_by_b = session.get_one(Patient, patient_id)
    seen_by_b.notes = "B: allergy to latex"
    with database.write() as session:  # B saves first
        session.add(seen_by_b)
    seen_by_a.notes = "A: moved house"
    with pytest.raises(ChangedMeanwhile) as refused, database.write() as session:
        session.add(seen_by_a)
    assert refused.value.code is Code.DB_CHANGED_MEANWHILE
    assert "changed by someone else" in refused.value.message
    with database.read() as session:
        current = session.get_one(Patient, patient_id)
        assert (current.notes, current.version) == ("B: allergy to latex", 2)


def test_settings_carry_a_version_too(database: Database) -> None:
    with database.read() as session:
        stale = session.get_one(ClinicSettings, 1)
    with database.write() as session:
        session.get_one(ClinicSettings, 1).clinic_name = "Neuro clinic"
    stale.auto_lock_minutes = 5
    with pytest.raises(ChangedMeanwhile), database.write() as session:
        session.add(stale)


def _event(pump_id: int, user_id: int, **fields: object) -> PumpEvent:
    values: dict[str, object] = {
        "pump_id": pump_id,
        "kind": PumpEventKind.NOTE,
        "occurred_at": NOW,
        "note": "spoke to the patient",
        "recorded_at": NOW,
        "recorded_by_id": user_id,
    }
    values.update(fields)
    return PumpEvent(**values)


def test_clinical_records_are_append_only(database: Database) -> None:
    with database.write() as session:
        user = add_user(session, "ann")
        pump = add_pump(session, add_patient(session))
        event = _event(pump.id, user.id)
        session.add(event)
        session.flush()
        ids = (pump.id, user.id, event.id)

    with pytest.raises(RecordConflict) as refused, database.write() as session:
        session.get_one(PumpEvent, ids[2]).note = "rewritten"
    assert "record a correction" in refused.value.message
    with pytest.raises(RecordConflict), database.write() as session:
        session.execute(text("DELETE FROM pump_events"))

    with pytest.raises(RecordConflict), database.write() as session:
        session.add(_event(ids[0], ids[1], corrects_id=ids[2]))  # a correction needs a reason
    with database.write() as session:
        session.add(_event(ids[0], ids[1], corrects_id=ids[2], correction_reason="wrong pump"))
    with database.read() as session:
        notes = session.scalars(select(PumpEvent.note).order_by(PumpEvent.id)).all()
    assert notes == ["spoke to the patient", "spoke to the patient"]


def test_every_append_only_table_has_its_triggers(database: Database) -> None:
    with database.engine.connect() as connection:
        if database.backend == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        else:
            rows = connection.exec_driver_sql(
                "SELECT event_object_table FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema()"
            ).all()
    assert {row[0] for row in rows} == set(APPEND_ONLY_TABLES)


def test_an_mri_event_records_the_post_mri_check(database: Database) -> None:
    with database.write() as session:
        user = add_user(session, "ann")
        pump = add_pump(session, add_patient(session))
        ids = (pump.id, user.id)
    with pytest.raises(RecordConflict), database.write() as session:
        session.add(_event(*ids, kind=PumpEventKind.MRI))
    with database.write() as session:
        session.add(_event(*ids, kind=PumpEventKind.MRI, post_mri_check_done=True))


#: Canonical units (pumpmgr.units.Kind) as column-name suffixes, longest first.
_UNIT_SUFFIXES = (
    "_mcg_per_day",
    "_mcg_per_ml",
    "_ml_per_day",
    "_ml_per_cm",
    "_mcg",
    "_ml",
    "_cm",
    "_days",
    "_percent",
)


def test_every_magnitude_column_names_its_canonical_unit() -> None:
    """Style §3.6: a float column holds a canonical magnitude and says which unit in its name."""
    float_columns = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.type.python_type is float
    ]
    # 0003: the programmer's reservoir and daily volumes; 0005: the empty threshold and the
    # unfloored expected residual; 0016: the reservoir volume the programmer reports; 0011:
    # the individual maximum; 0023: the dose a first prescription continues from before the record
    assert len(float_columns) == 27
    assert [c for c in float_columns if not c.endswith(_UNIT_SUFFIXES)] == []


def test_quantities_round_trip_through_canonical_columns(database: Database) -> None:
    """What a nurse types in µL or mL comes back, via the canonical column, as the same
    quantity (the repositories will do exactly this conversion)."""
    capacity = parse("20000 uL", Kind.VOLUME, "capacity")
    alarm = parse("2 ml", Kind.VOLUME, "alarm")
    with database.write() as session:
        pump = add_pump(session, add_patient(session))
        pump.reservoir_capacity_ml = to_canonical(capacity, Kind.VOLUME)
        pump.low_reservoir_alarm_ml = to_canonical(alarm, Kind.VOLUME)
        pump_id = pump.id
    with database.read() as session:
        stored = session.get_one(Pump, pump_id)
    assert stored.reservoir_capacity_ml == pytest.approx(20.0, rel=1e-12)
    assert from_canonical(stored.reservoir_capacity_ml, Kind.VOLUME) == capacity
    assert from_canonical(stored.low_reservoir_alarm_ml, Kind.VOLUME).to("mL").magnitude == 2.0


def _refill(pump_id: int, nurse_id: int, verifier_id: int, **programmer: object) -> Refill:
    return Refill(
        pump_id=pump_id,
        performed_at=NOW,
        expected_residual_ml=0.0,
        aspirated_ml=0.0,
        discrepancy_verdict="first_fill",
        volume_added_ml=20.0,
        final_reservoir_ml=20.0,
        lot_number="L1",
        expiry_date=date(2027, 1, 31),
        solution_source="pharmacy",
        bridge_bolus_given=False,
        priming_bolus_given=False,
        pump_confirmed_running=True,
        needle_position_confirmed=True,
        nurse_id=nurse_id,
        verifying_nurse_id=verifier_id,
        recorded_at=NOW,
        recorded_by_id=nurse_id,
        **programmer,
    )


def test_the_programmers_figures_are_all_there_or_none(database: Database) -> None:
    """Revision 0003: the programmer's three figures and the verdict with them, or none of
    them (a constant-flow pump); volumes not negative. Added without rebuilding ``refills``,
    so it stays append-only (checked by test_every_append_only_table_has_its_triggers)."""
    with database.write() as session:
        ann, bob = add_user(session, "ann"), add_user(session, "bob")
        pump = add_pump(session, add_patient(session))
        ids = (pump.id, ann.id, bob.id)
    complete = {
        "programmer_reservoir_ml": 20.0,
        "programmer_alarm_date": date(2026, 6, 1),
        "programmer_daily_volume_ml_per_day": 0.2,
        "programmer_differs": False,
    }
    with database.write() as session:
        session.add(_refill(*ids))
        session.add(_refill(*ids, **complete))
    for partial in (
        {"programmer_reservoir_ml": 20.0},
        {**complete, "programmer_differs": None},
        {**complete, "programmer_alarm_date": None},
        {**complete, "programmer_reservoir_ml": -1.0},
        {**complete, "programmer_daily_volume_ml_per_day": -0.2},
    ):
        with pytest.raises(RecordConflict) as refused, database.write() as session:
            session.add(_refill(*ids, **partial))
        assert "programmer_figures_complete" in refused.value.message, partial
    with database.read() as session:
        stored = session.scalars(select(Refill.programmer_differs).order_by(Refill.id)).all()
    assert stored == [None, False]


def test_sqlite_refuses_text_in_the_programmers_volumes(sqlite_database: Database) -> None:
    with sqlite_database.write() as session:
        ann, bob = add_user(session, "ann"), add_user(session, "bob")
        add_pump(session, add_patient(session))
    assert (ann.id, bob.id) == (1, 2)
    with pytest.raises(IntegrityError, match="programmer_reservoir_ml_is_number"):
        raw_sql(
            sqlite_database.engine,
            "INSERT INTO refills (pump_id, performed_at, expected_residual_ml, aspirated_ml, "
            "discrepancy_verdict, volume_added_ml, final_reservoir_ml, lot_number, expiry_date, "
            "solution_source, bridge_bolus_given, priming_bolus_given, "
            "pump_confirmed_running, needle_position_confirmed, nurse_id, verifying_nurse_id, "
            "recorded_at, recorded_by_id, programmer_reservoir_ml, programmer_alarm_date, "
            "programmer_daily_volume_ml_per_day, programmer_differs) VALUES (1, "
            "'2026-03-02 09:30:00.000000', 0, 0, 'first_fill', 20, 20, 'L1', '2027-01-31', "
            "'pharmacy', 0, 0, 1, 1, 1, 2, '2026-03-02 09:30:00.000000', 1, '20 mL', "
            "'2026-06-01', 0.2, 0)",
        )


def test_a_forecasts_ran_empty_is_read_from_its_partial_index(sqlite_database: Database) -> None:
    """Whether a pump ever ran empty is looked up among the few refills that found one empty
    (revision 0022), not by reading every refill of the pump."""
    from sqlalchemy.dialects import sqlite

    from pumpmgr.services.forecasting import _last_fills_statement

    # as it runs: its parameters bound, not written into the text
    expanded = (
        _last_fills_statement()
        .compile(dialect=sqlite.dialect())
        .construct_expanded_state({"pumps": [1, 2]})
    )
    sql, values = expanded.statement, tuple(expanded.positional_parameters)
    with sqlite_database.engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values)]
    assert any("ix_refills_ran_empty" in step for step in plan), plan
