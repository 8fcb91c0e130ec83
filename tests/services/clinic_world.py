"""A clinic on a fresh database (each backend), three users, a clock that stands still.

Imported by name (``from clinic_world import ...``): a module called ``conftest`` is ambiguous
when several test folders are collected together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.dosing import admixture_doses
from pumpmgr.schedule import Schedule
from pumpmgr.services import Actor, ClinicService, dose_orders
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.units import Q_

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
#: Monday 3 March 2025, 09:00 in Berlin (08:00 UTC): the fill of domain.md example 1.
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
PASSWORD = "correct horse battery"


@dataclass
class World:
    clinic: ClinicService
    clock: FixedClock
    admin: Actor
    nurse: Actor
    second: Actor
    prescriber: Actor  #: "Dr Brandt", whom the sample orders name

    @property
    def check(self) -> Verification:
        return Verification(self.second.username, PASSWORD)


@pytest.fixture
def world(database: Database, request: pytest.FixtureRequest) -> Iterator[World]:
    """A clinic with four users. After the test, every record and stored forecast it wrote
    through the services must match the audit chain: no service action writes a row its
    audit entry does not carry, or leaves a forecast its records do not give. A test marked
    ``writes_outside_pumpmgr`` (it builds rows as an older revision left them) is exempt."""
    clock = FixedClock(START)
    clinic = ClinicService(database, clock=clock, tz=BERLIN, workstation="test", hasher=FAST_HASHER)
    admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
    clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
    second = clinic.sign_in("otto", PASSWORD)
    clinic.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
    prescriber = clinic.sign_in("brandt", PASSWORD)
    yield World(clinic, clock, admin, nurse, second, prescriber)
    if request.node.get_closest_marker("writes_outside_pumpmgr") is not None:
        return
    report = clinic.verify_integrity()
    assert report.ok, [report.chain.message, *report.problems()]


def baclofen_patient(
    world: World,
    mrn: str = "100001",
    *,
    path_volume: str | None = None,
) -> tuple[int, int]:
    """Example 1's patient: SynchroMed II 20 mL with a Prometra-style catheter; no fill yet."""
    clinic, nurse = world.clinic, world.nurse
    patient = clinic.register_patient(
        nurse, PatientInput(mrn, "Meyer", "Anna", date(1970, 5, 1), "spasticity_spinal")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "synchromed2-20",
            f"SN{mrn}",
            date(2025, 3, 1),
            "right lower abdomen",
            pump_path_volume=None if path_volume is None else Q_(path_volume),
        ),
        CatheterInput(
            "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
        ),
    )
    return patient.id, pump.id


def baclofen_prescription(
    dose: str = "400 mcg/day",
    concentration: str = "2000 mcg/mL",
    at: datetime = START,
    **reasons: str,
) -> PrescriptionInput:
    return PrescriptionInput(
        ingredients=(IngredientInput("baclofen", Q_(concentration)),),
        schedule=Schedule.simple(Q_(dose)),
        effective_at=at,
        prescriber="Dr Brandt",
        reasons=reasons,
        order=written_order(at),
    )


def continuing(data: PrescriptionInput) -> PrescriptionInput:
    """``data`` as the first prescription here of a patient who already receives each of its
    drugs at the dose it gives, from before this record: the answer a drug with no record
    needs unless it is a first dose, a start (domain-rules §6)."""
    program = dose_orders.program_of(data)
    doses = admixture_doses(
        program.max_daily_volume(), [(i.drug, i.concentration) for i in data.ingredients]
    )
    return replace(data, continues=doses)


def written_order(at: datetime) -> OrderGiven:
    """A written order given at ``at``, as a nurse enters it."""
    return OrderGiven("written", at)


def fill(
    at: datetime,
    aspirated: str = "0 mL",
    volume: str = "20 mL",
    **extra: object,
) -> RefillInput:
    fields: dict[str, object] = {
        "needle_position_confirmed": True,
        "pump_running_confirmed": True,
        **extra,
    }
    return RefillInput(
        performed_at=at,
        aspirated=Q_(aspirated),
        volume_added=Q_(volume),
        lot_number="L123",
        expiry=date(2026, 1, 31),
        source="pharmacy",
        **fields,
    )  # type: ignore[arg-type]


def count(world: World, model: type) -> int:
    """How many rows ``model``'s table holds."""
    with world.clinic.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def last_audit(world: World) -> db.AuditEntry:
    """The newest audit entry."""
    with world.clinic.database.read() as session:
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
    assert entry is not None
    return entry
