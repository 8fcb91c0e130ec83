"""Helpers shared by the persistence tests (builders of valid rows, raw SQL as a tamperer)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from pumpmgr.auth import create_user
from pumpmgr.db.schema import Indication, Patient, Pump, PumpStatus, Role, User

#: Cheap argon2 parameters for fixtures; tests of the real parameters use the default hasher.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def add_user(session: Session, username: str, role: Role = Role.NURSE) -> User:
    return create_user(
        session,
        username=username,
        password=f"{username}-long-password",
        full_name=username.title(),
        role=role,
        now=NOW,
        hasher=FAST_HASHER,
    )


def add_patient(session: Session, mrn: str = "MRN-1") -> Patient:
    patient = Patient(
        mrn=mrn,
        family_name="Doe",
        given_name="Jane",
        date_of_birth=date(1970, 5, 17),
        indication=Indication.SPASTICITY_SPINAL,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(patient)
    session.flush()
    return patient


def add_pump(
    session: Session,
    patient: Patient,
    serial: str = "SN-1",
    status: PumpStatus = PumpStatus.ACTIVE,
) -> Pump:
    pump = Pump(
        patient_id=patient.id,
        model_key="synchromed_ii_20",
        serial_number=serial,
        implant_date=date(2024, 1, 10),
        implant_site="right lower quadrant",
        reservoir_capacity_ml=20.0,
        low_reservoir_alarm_ml=2.0,
        replace_by_date=date(2031, 1, 10),
        status=status,
        explant_date=date(2025, 1, 1) if status is PumpStatus.EXPLANTED else None,
        created_at=NOW,
    )
    session.add(pump)
    session.flush()
    return pump


def raw_sql(engine: Engine, *statements: str) -> None:
    """Run SQL outside the ORM, as a tamperer with database access would, and commit it."""
    with engine.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
        connection.commit()


def drop_audit_triggers(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_delete")
    else:
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_change ON audit_log")
