"""A small clinic for the desktop tests and screenshots, written through ClinicService only.

Today is Monday 20 October 2025, 09:00 in Berlin; the clocks go back on Sunday 26 October, so
the flex-schedule patient gets the daylight-saving notice. Six patients cover every state word
of the due list, a constant-flow pump, a pump near its replace-by date, an admixture, a
residual discrepancy to investigate, a corrected refill and an MRI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher

from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import Database, open_database
from pumpmgr.dosing import admixture_doses
from pumpmgr.schedule import PatientBolus, Schedule, Step
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
BERLIN = ZoneInfo("Europe/Berlin")
#: Monday 20 October 2025, 09:00 in Berlin (07:00 UTC).
NOW = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)
TODAY = date(2025, 10, 20)
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class SampleUsers:
    admin: Actor
    nurse: Actor
    second: Actor


def clinic_on(database: Database, clock: FixedClock | None = None) -> ClinicService:
    """The clinic service the tests use on ``database``: Berlin, a clock standing at NOW."""
    return ClinicService(
        database, clock=clock or FixedClock(NOW), tz=BERLIN, workstation="test", hasher=FAST_HASHER
    )


def _at(days_ago: float, hour: int = 9) -> datetime:
    day = TODAY - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, 0), BERLIN)


def _fill(
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
        lot_number="L2025-117",
        expiry=date(2026, 6, 30),
        source="pharmacy",
        **fields,
    )  # type: ignore[arg-type]


def _catheter() -> CatheterInput:
    return CatheterInput(
        "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
    )


def _baclofen(dose: str, at: datetime, concentration: str = "2000 mcg/mL") -> PrescriptionInput:
    return PrescriptionInput(
        ingredients=(IngredientInput("baclofen", Q_(concentration)),),
        schedule=Schedule.simple(Q_(dose)),
        effective_at=at,
        prescriber="Dr Brandt",
        order=OrderGiven("written", at),
    )


def _continuing(data: PrescriptionInput) -> PrescriptionInput:
    """``data`` as the first prescription here of a patient already on its doses: the answer
    a drug with no record needs unless it is a first dose (domain-rules §6)."""
    program = dose_orders.program_of(data)
    flow = program.max_daily_volume()
    return replace(
        data, continues=admixture_doses(flow, [(i.drug, i.concentration) for i in data.ingredients])
    )


def build_sample_clinic(clinic: ClinicService) -> SampleUsers:
    """Users admin, nina and otto, prescribers brandt and roth (password :data:`PASSWORD`)
    and six patients."""
    admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
    clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
    second = clinic.sign_in("otto", PASSWORD)
    # the prescribers whom the orders name (accounts, never free text: domain-rules §7)
    clinic.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
    clinic.add_user(admin, "roth", PASSWORD, "Dr Roth", "prescriber")
    check = Verification("otto", PASSWORD)

    def baclofen_patient(
        mrn: str, family: str, given: str, filled_days_ago: int, *, renal: bool = False
    ) -> tuple[int, int]:
        patient = clinic.register_patient(
            nurse,
            PatientInput(
                mrn,
                family,
                given,
                date(1968, 4, 12),
                "spasticity_spinal",
                renal_impairment=renal,
                emergency_contact_name="Kim Example",
                emergency_contact_phone="+49 30 1234567",
            ),
        )
        implanted = TODAY - timedelta(days=filled_days_ago + 1)
        pump = clinic.implant_pump(
            nurse,
            patient.id,
            PumpInput(
                "synchromed2-20",
                f"NGV{mrn}",
                implanted,
                "right lower abdomen",
                pump_path_volume=Q_("0.22 mL"),
                replace_by=date(2031, 5, 1),
            ),
            _catheter(),
        )
        clinic.change_prescription(
            nurse, check, pump.id, _continuing(_baclofen("400 mcg/day", _at(filled_days_ago, 8)))
        )
        clinic.record_refill(nurse, check, pump.id, _fill(_at(filled_days_ago)))
        return patient.id, pump.id

    # Overdue (due about two weeks ago), due this week, due within 14 days: due when the pump
    # running 14.5 % fast may reach the alarm volume, 78.6 days after the fill (issue 11).
    baclofen_patient("100001", "Becker", "Lena", 95)
    baclofen_patient("100002", "Schulz", "Jonas", 75, renal=True)
    baclofen_patient("100003", "Wagner", "Mia", 67)

    # Fine, with a history: first fill 200 days ago, a refill 110 days ago whose lot number
    # was corrected, a dose change, an MRI, and a refill 20 days ago with a 1.6 mL
    # discrepancy (investigate: a discrepancy to review).
    patient = clinic.register_patient(
        nurse, PatientInput("100004", "Hoffmann", "Paul", date(1959, 11, 2), "spasticity_cerebral")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "synchromed2-20",
            "NGV100004",
            TODAY - timedelta(days=400),
            "left lower abdomen",
            pump_path_volume=Q_("0.22 mL"),
            replace_by=date(2030, 9, 1),
        ),
        _catheter(),
    )
    clinic.change_prescription(
        nurse, check, pump.id, _continuing(_baclofen("400 mcg/day", _at(200, 8)))
    )
    clinic.record_refill(nurse, check, pump.id, _fill(_at(200)))
    outcome = clinic.record_refill(nurse, check, pump.id, _fill(_at(110), "2 mL", "20 mL"))
    clinic.correct_refill(
        nurse, check, outcome.refill.id, "lot number misread", lot_number="L2025-118"
    )
    clinic.change_prescription(nurse, check, pump.id, _baclofen("360 mcg/day", _at(60, 10)))
    clinic.record_mri(
        nurse,
        pump.id,
        _at(40, 14),
        True,
        "1.5 T lumbar spine; pump interrogated after the scan, running",
    )
    clinic.record_refill(
        nurse,
        check,
        pump.id,
        _fill(
            _at(20),
            "1.2 mL",
            "20 mL",
            discrepancy_note="pocket checked, no swelling; pump "
            "interrogated, no alarms; recheck at the next refill",
        ),
    )

    # Constant flow: IsoMed 20 mL at 0.5 mL/day of morphine 2 mg/mL (1 mg/day).
    patient = clinic.register_patient(
        nurse, PatientInput("100005", "Fischer", "Greta", date(1951, 1, 30), "cancer_pain")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "isomed-20",
            "ISO100005",
            TODAY - timedelta(days=60),
            "right lower abdomen",
            nominal_flow=Q_("0.5 mL/day"),
            alarm_volume=Q_("2 mL"),
            capacity=Q_("20 mL"),
        ),
        _catheter(),
    )
    clinic.change_prescription(  # on morphine before: a first dose would wait for Dr Roth
        nurse,
        check,
        pump.id,
        _continuing(
            PrescriptionInput(
                ingredients=(IngredientInput("morphine", Q_("2 mg/mL")),),
                schedule=Schedule.simple(Q_("1 mg/day")),
                effective_at=_at(10, 8),
                prescriber="Dr Roth",
                order=OrderGiven("written", _at(10, 8)),
            )
        ),
    )
    clinic.record_refill(nurse, check, pump.id, _fill(_at(10)))

    # Flex schedule, admixture and patient boluses, replace-by in about 100 days.
    patient = clinic.register_patient(
        nurse, PatientInput("100006", "Keller", "Sofia", date(1975, 7, 19), "non_cancer_pain")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "synchromed2-40",
            "NGV100006",
            date(2019, 2, 1),
            "left lower abdomen",
            pump_path_volume=Q_("0.22 mL"),
            replace_by=TODAY + timedelta(days=100),
        ),
        _catheter(),
    )
    clinic.change_prescription(
        nurse,
        check,
        pump.id,
        _continuing(
            PrescriptionInput(
                ingredients=(
                    IngredientInput("morphine", Q_("10 mg/mL")),
                    IngredientInput("clonidine", Q_("100 mcg/mL")),
                ),
                schedule=Schedule.flex(
                    [Step(time(0, 0), Q_("2 mg/day")), Step(time(8, 0), Q_("3 mg/day"))]
                ),
                patient_bolus=PatientBolus(Q_("0.1 mg"), 4, Q_("3 h")),
                effective_at=_at(30, 8),
                prescriber="Dr Roth",
                order=OrderGiven("written", _at(30, 8)),
            )
        ),
    )
    clinic.record_refill(nurse, check, pump.id, _fill(_at(30), volume="40 mL"))
    return SampleUsers(admin, nurse, second)


def create_sample_database(path: Path) -> None:
    """Write the sample clinic into a new SQLite file at ``path``."""
    database = open_database(path, daily_backup_keep=None)
    try:
        build_sample_clinic(clinic_on(database))
    finally:
        database.dispose()
