"""The PostgreSQL role the program connects as (:mod:`pumpmgr.db.pg_role`): it does the
clinic's work through the services, and its password alone cannot switch off a trigger or
change the audit log or an append-only record (reliability.md T12; issue 12)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from database_targets import DbTarget, postgres_admin
from db_helpers import FAST_HASHER
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.pg_role import program_role_grants
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput


@pytest.fixture
def program_role(db_target: DbTarget, database: Database) -> Iterator[Database]:
    """The migrated clinic opened again as a fresh role given only the program's grants."""
    if db_target.backend != "postgresql" or db_target.schema is None:
        pytest.skip("a database role is a PostgreSQL matter")
    role = f"pumpmgr_app_{uuid.uuid4().hex[:12]}"
    postgres_admin(f'CREATE ROLE "{role}" LOGIN')
    try:
        for statement in program_role_grants(role, db_target.schema):
            postgres_admin(statement)
        url = make_url(db_target.url).set(username=role, password=None)
        as_program = open_database(url.render_as_string(hide_password=False))
        try:
            yield as_program
        finally:
            as_program.dispose()
    finally:
        postgres_admin(f'DROP OWNED BY "{role}"')
        postgres_admin(f'DROP ROLE "{role}"')


def test_the_program_role_does_the_work_and_the_chain_verifies(program_role: Database) -> None:
    clinic = ClinicService(program_role, hasher=FAST_HASHER)
    admin = clinic.create_first_administrator("admin", "a-long-password", "Ada Admin")
    clinic.add_user(admin, "nina", "a-long-password", "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", "a-long-password")
    clinic.register_patient(
        nurse, PatientInput("R1", "Doe", "Jane", date(1970, 1, 2), "spasticity_spinal")
    )
    assert clinic.verify_integrity().ok


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE refills DISABLE TRIGGER USER",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER trg_audit_log_no_change ON audit_log",
        "UPDATE audit_log SET username = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE refills SET volume_added_ml = 1",
        "DELETE FROM pump_events",
        "ALTER TABLE audit_log DROP COLUMN written_rows",
        "CREATE TABLE sneaky (id integer)",
    ],
)
def test_the_program_role_cannot_touch_triggers_or_the_audit_log(
    program_role: Database,
    statement: str,
) -> None:
    with program_role.engine.connect() as connection:
        with pytest.raises(ProgrammingError) as refused:
            connection.execute(text(statement))
        connection.rollback()
    assert "permission denied" in str(refused.value.orig) or "must be owner" in str(
        refused.value.orig
    )
