"""A clinic for the clinical-side harnesses (4, 5, 6, 7 and 9): users, a clock, builders.

Not a conftest: the harnesses import it by name (pytest puts ``tests/reliability`` on the path),
so it cannot clash with a ``conftest.py`` another harness may keep here. Passwords are hashed
with a cheap argon2 setting so that the many second-user checks stay fast; harness 9 checks the
real defaults separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher

from pumpmgr.clock import FixedClock
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
from pumpmgr.units import Q_, Quantity

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
#: Monday 3 March 2025, 09:00 in Berlin.
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@dataclass
class Clinic:
    """A clinic with an administrator, two nurses and a prescriber, on a clock that stands
    still until moved."""

    service: ClinicService
    clock: FixedClock
    admin: Actor
    nurse: Actor
    second: Actor
    prescriber: Actor

    @property
    def check(self) -> Verification:
        """The second nurse's verification."""
        return Verification(self.second.username, PASSWORD)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def at(self, moment: datetime) -> None:
        """Move the clock to ``moment`` (never backwards)."""
        if moment > self.clock.moment:
            self.clock.moment = moment

    def twin(self, tz: tzinfo) -> ClinicService:
        """A second service over the same database and clock in another clinic zone."""
        return ClinicService(
            self.service.database,
            catalogs=self.service.catalogs,
            clock=self.clock,
            tz=tz,
            workstation="test-2",
            hasher=FAST_HASHER,
        )


def make_clinic(
    database: Database, *, start: datetime = START, tz: tzinfo = BERLIN, workstation: str = "test"
) -> Clinic:
    clock = FixedClock(start)
    service = ClinicService(
        database, clock=clock, tz=tz, workstation=workstation, hasher=FAST_HASHER
    )
    admin = service.create_first_administrator("admin", PASSWORD, "Ada Admin")
    service.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = service.sign_in("nina", PASSWORD)
    service.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
    second = service.sign_in("otto", PASSWORD)
    service.add_user(admin, "pia", PASSWORD, "Dr Pia Prescriber", "prescriber")
    prescriber = service.sign_in("pia", PASSWORD)
    return Clinic(service, clock, admin, nurse, second, prescriber)


def patient_input(
    mrn: str,
    indication: str = "spasticity_spinal",
    *,
    born: date = date(1970, 5, 1),
    family: str = "Meyer",
    given: str = "Anna",
) -> PatientInput:
    return PatientInput(mrn, family, given, born, indication)  # type: ignore[arg-type]


def pump_input(
    model: str = "synchromed2-20",
    serial: str = "SN1",
    *,
    implanted_on: date = date(2025, 3, 1),
    **extra: object,
) -> PumpInput:
    return PumpInput(model, serial, implanted_on, "right lower abdomen", **extra)  # type: ignore[arg-type]


def catheter_input() -> CatheterInput:
    return CatheterInput(
        "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
    )


def new_patient(
    clinic: Clinic,
    mrn: str,
    *,
    indication: str = "spasticity_spinal",
    model: str = "synchromed2-20",
    born: date = date(1970, 5, 1),
    service: ClinicService | None = None,
    **pump: object,
) -> tuple[int, int]:
    """A registered patient with an implanted pump (no prescription, no fill)."""
    service = service or clinic.service
    implanted = (clinic.now.astimezone(service.tz) - timedelta(days=2)).date()
    patient = service.register_patient(clinic.nurse, patient_input(mrn, indication, born=born))
    record = service.implant_pump(
        clinic.nurse,
        patient.id,
        pump_input(model, f"SN{mrn}", implanted_on=implanted, **pump),
        None,
    )
    return patient.id, record.id


def prescription(
    drug: str = "baclofen",
    dose: str | Quantity = "400 mcg/day",
    concentration: str | Quantity = "2000 mcg/mL",
    *,
    at: datetime,
    schedule: Schedule | None = None,
    reasons: Mapping[str, str] | None = None,
    extra: tuple[IngredientInput, ...] = (),
    **fields: object,
) -> PrescriptionInput:
    return PrescriptionInput(
        ingredients=(IngredientInput(drug, Q_(concentration)), *extra),
        schedule=schedule or Schedule.simple(Q_(dose)),
        effective_at=at,
        prescriber="Dr Pia Prescriber",
        reasons=dict(reasons or {}),
        **{"order": OrderGiven("written", at), **fields},
    )  # type: ignore[arg-type]


def refill(
    at: datetime,
    aspirated: str | Quantity = "0 mL",
    volume: str | Quantity = "20 mL",
    **extra: object,
) -> RefillInput:
    fields: dict[str, object] = {
        "needle_position_confirmed": True,
        "pump_running_confirmed": True,
        **extra,
    }
    local = at.date()
    return RefillInput(
        performed_at=at,
        aspirated=Q_(aspirated),
        volume_added=Q_(volume),
        lot_number="L123",
        expiry=local + timedelta(days=120),
        source="pharmacy",
        **fields,
    )  # type: ignore[arg-type]


def continuing(data: PrescriptionInput) -> PrescriptionInput:
    """``data`` as the first prescription here of a patient who already receives each of its
    drugs at the dose it gives, from before this record (domain-rules §6: otherwise a drug
    with no record is a first dose, a start)."""
    program = dose_orders.program_of(data)
    doses = admixture_doses(
        program.max_daily_volume(), [(i.drug, i.concentration) for i in data.ingredients]
    )
    return replace(data, continues=doses)


def with_reasons(
    service: ClinicService,
    pump_id: int,
    data: PrescriptionInput,
    reason: str = "reviewed with the prescriber",
) -> PrescriptionInput:
    """``data`` with a reason for each warning its check gives now."""
    check = service.check_prescription(pump_id, data)
    reasons = dict(data.reasons)
    for finding in check.findings:
        if finding.level == "warning":
            reasons.setdefault(str(finding.code), reason)
    return replace(data, reasons=reasons)
