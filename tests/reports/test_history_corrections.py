"""The history sheet shows corrections of catheter records and pump events: which record
corrects which, why and who recorded it, and which was corrected by which; the catheter section
shows the newest version's values and a superseded version is never printed as current.

The chart is built through the services (a fresh SQLite clinic, :class:`ClinicService`
``correct_record``) and printed through :class:`SheetService`, as the program prints it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sheet_samples import GENERATED, pdf_text

from pumpmgr.catalogs import default_catalogs
from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import open_database
from pumpmgr.formatting import format_datetime, format_quantity
from pumpmgr.records import PatientChart
from pumpmgr.reports import build_history
from pumpmgr.schedule import Schedule
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import Q_, Kind

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
PASSWORD = "correct horse battery"
MRN = "100001"
MRI_REASON = "field strength misread from the radiology form"
TIP_REASON = "tip level misread from the operation note"
LENGTH_REASON = "implanted length typed as 80 cm, the note says 76 cm"


def _catheter(length: str, tip: str) -> CatheterInput:
    return CatheterInput(
        "prometra-11823", (SegmentInput(Q_(length), Q_("30 cm"), Q_("0.0026 mL/cm")),), tip
    )


@dataclass
class Corrected:
    sheets: SheetService
    chart: PatientChart  #: in the clinic's wall-clock time, as the sheet prints it
    pdf: bytes
    text: str


@pytest.fixture(scope="module")
def corrected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corrected]:
    """One patient, SynchroMed II with a catheter recorded at T10, 80 cm; an MRI recorded as
    '1.5 T lumbar spine' with the check not done; a low-reservoir alarm. Then, by the second
    nurse: the MRI corrected (3 T brain, check done); the catheter corrected to T9, and that
    correction corrected in turn to 76 cm (a chain); the alarm left alone."""
    path: Path = tmp_path_factory.mktemp("history-corrections") / "clinic.db"
    database = open_database(path, daily_backup_keep=None)
    try:
        clock = FixedClock(START)
        clinic = ClinicService(
            database,
            clock=clock,
            tz=BERLIN,
            workstation="test",
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )
        admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
        clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
        nurse = clinic.sign_in("nina", PASSWORD)
        clinic.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
        second = clinic.sign_in("otto", PASSWORD)
        clinic.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
        check = Verification(second.username, PASSWORD)
        patient = clinic.register_patient(
            nurse, PatientInput(MRN, "Meyer", "Anna", date(1970, 5, 1), "spasticity_spinal")
        )
        pump = clinic.implant_pump(
            nurse,
            patient.id,
            PumpInput("synchromed2-20", "SN100001", date(2025, 3, 1), "right lower abdomen"),
            _catheter("80 cm", "T10"),
        )
        clinic.change_prescription(
            nurse,
            check,
            pump.id,
            PrescriptionInput(
                ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
                schedule=Schedule.simple(Q_("400 mcg/day")),
                effective_at=START,
                prescriber="Dr Brandt",
                order=OrderGiven("written", START),
                continues={"baclofen": Q_("400 mcg/day")},  # not a start (domain-rules §6)
            ),
        )
        clinic.record_refill(
            nurse,
            check,
            pump.id,
            RefillInput(
                performed_at=START,
                aspirated=Q_("0 mL"),
                volume_added=Q_("20 mL"),
                lot_number="L123",
                expiry=date(2026, 1, 31),
                source="pharmacy",
                needle_position_confirmed=True,
                pump_running_confirmed=True,
            ),
        )
        clock.advance(timedelta(hours=6))
        clinic.record_mri(nurse, pump.id, START + timedelta(hours=3), False, "1.5 T lumbar spine")
        clinic.record_event(
            nurse, pump.id, "alarm", START + timedelta(hours=5), "low reservoir alarm heard"
        )
        clock.advance(timedelta(days=1))
        chart = clinic.patient_chart(patient.id)
        mri = next(e for e in chart.events if e.kind == "mri")
        assert chart.catheter is not None
        clinic.correct_record(
            second, EventCorrection(mri.id, note="3 T brain", post_mri_check_done=True), MRI_REASON
        )
        tip = clinic.correct_record(
            second,
            CatheterCorrection(chart.catheter.id, catheter=_catheter("80 cm", "T9")),
            TIP_REASON,
        )
        clinic.correct_record(
            second, CatheterCorrection(tip.id, catheter=_catheter("76 cm", "T9")), LENGTH_REASON
        )
        sheets = SheetService(clinic)
        pdf = sheets.history(MRN)
        yield Corrected(sheets, sheets.chart(MRN), pdf, pdf_text(pdf))
    finally:
        database.dispose()


def _catheter_section(text: str) -> str:
    start = text.index("Catheter Model")
    return text[start : text.index("Prescriptions over time", start)]


def test_the_catheter_section_shows_the_newest_version(corrected: Corrected) -> None:
    chart = corrected.chart
    first, tip, length = sorted(chart.catheters, key=lambda c: c.id)
    assert (tip.corrects_id, length.corrects_id) == (first.id, tip.id)
    assert chart.catheter == length
    section = _catheter_section(corrected.text)
    current = section[: section.index("Catheter record versions, each")]
    # the fields are the newest version's, and say which version they are and why
    assert "Tip level T9" in current and "Tip level T10" not in current
    assert "Segments 76 cm implanted, 30 cm trimmed" in current
    assert "80 cm implanted" not in current
    assert f"Catheter volume {format_quantity(Q_('0.1976 mL'), Kind.VOLUME)}" in current
    assert (
        f"Record #{length.id} (corrects #{tip.id}): the current version Correction "
        f"Corrected because: {LENGTH_REASON}; recorded by Otto Second"
    ) in current


def test_superseded_catheter_versions_are_marked_under_their_corrections(
    corrected: Corrected,
) -> None:
    first, tip, length = sorted(corrected.chart.catheters, key=lambda c: c.id)
    section = _catheter_section(corrected.text)
    versions = section[section.index("Catheter record versions, each") :]
    # each version in order, the corrected ones saying by what and that they are superseded
    rows = [
        f"#{first.id} (CORRECTED by #{tip.id}): superseded, do not use SN100001 "
        "prometra-11823 80 cm implanted",
        f"#{tip.id} (corrects #{first.id}; CORRECTED by #{length.id}): superseded, do "
        "not use SN100001 prometra-11823 80 cm implanted",
        f"#{length.id} (corrects #{tip.id}): current, as above SN100001 prometra-11823 "
        "76 cm implanted",
    ]
    at = [versions.index(row) for row in rows]
    assert at == sorted(at), at
    first_row = versions[at[0] : at[1]]
    assert "T10" in first_row and "Nina Nurse" in first_row
    assert "Otto Second" in versions[at[1] : at[2]] and TIP_REASON in versions[at[1] : at[2]]
    assert LENGTH_REASON in versions[at[2] :]
    # nowhere on the sheet is the superseded tip level printed as the current one
    assert "T10" not in corrected.text.replace(first_row, "")


def test_a_corrected_event_is_marked_and_its_correction_sits_beneath(corrected: Corrected) -> None:
    events = {e.id: e for e in corrected.chart.events}
    mri, fixed = sorted((e for e in events.values() if e.kind == "mri"), key=lambda e: e.id)
    alarm = next(e for e in events.values() if e.kind == "alarm")
    assert fixed.corrects_id == mri.id
    text = corrected.text[corrected.text.index("Events Date Event Pump Summary By Record") :]
    old_row = (
        f"{format_datetime(mri.occurred_at)} mri SN100001 1.5 T lumbar spine; "
        f"post-MRI check: NOT done Nina Nurse #{mri.id} (CORRECTED by #{fixed.id}): "
        "superseded, do not use"
    )
    new_row = (
        f"{format_datetime(fixed.occurred_at)} mri SN100001 3 T brain; post-MRI check: "
        f"done. Corrected because: {MRI_REASON} Otto Second #{fixed.id} (corrects "
        f"#{mri.id})"
    )
    assert old_row in text and new_row in text
    assert text.index(old_row) < text.index(new_row) < text.index("low reservoir alarm")
    # an uncorrected event keeps its plain record number
    assert re.search(rf"low reservoir alarm heard Nina Nurse #{alarm.id}(?! \()", text)
    implant = next(e for e in events.values() if e.kind == "implant")
    assert implant.summary in text


def test_the_sheet_prints_the_newest_catheter_even_from_an_older_one(corrected: Corrected) -> None:
    """A chart handed over with a superseded catheter as its catheter (the services never
    do) still prints the newest version of that record as the current one."""
    first = min(corrected.chart.catheters, key=lambda c: c.id)
    chart = replace(corrected.chart, catheter=first)
    section = _catheter_section(
        pdf_text(
            build_history(
                chart, corrected.sheets.clinic.settings(), generated_at=GENERATED, catalog=SHIPPED
            )
        )
    )
    current = section[: section.index("Catheter record versions, each")]
    assert "Tip level T9" in current and "76 cm implanted" in current
    assert "T10" not in current
