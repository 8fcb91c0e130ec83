"""Sample charts for the printed-sheet tests, and helpers that read a PDF back.

Three patients, built as the services would build them (expected residuals and verdicts by
:mod:`pumpmgr.refill`, forecasts by :mod:`pumpmgr.forecast`):
- ``baclofen``: SynchroMed II 20 mL, baclofen 2000 mcg/mL on a flex schedule, five refills of
  which the third is 'investigate' (1.4 mL less came back than expected);
- ``admixture``: SynchroMed II 40 mL, morphine 10 mg/mL + clonidine 100 mcg/mL with myPTM
  boluses, and a new prescription at double strength waiting for the next refill;
- ``constant_flow``: IsoMed 20 mL at 1 mL/day, morphine 4 mg/mL.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pdfplumber
from pypdf import PdfReader

from pumpmgr.catalogs import default_catalogs
from pumpmgr.forecast import forecast
from pumpmgr.records import (
    CatheterRecord,
    CatheterSegmentRecord,
    ClinicSettings,
    DueRow,
    EventRecord,
    Ingredient,
    PatientChart,
    PatientRecord,
    PrescriptionRecord,
    ProgrammerFigures,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.refill import discrepancy, expected_residual
from pumpmgr.reports.styles import MARGIN
from pumpmgr.schedule import PatientBolus, Schedule, schedule_from_text
from pumpmgr.units import Q_
from pumpmgr.visit import program_of, program_periods
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SiteFinding,
    SymptomCheck,
)

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

SETTINGS = ClinicSettings(
    clinic_name="St Elsewhere Intrathecal Pump Clinic",
    clinic_phone="+44 20 7946 0321",
    page_size="A4",
)
GENERATED = datetime(2025, 3, 24, 16, 45)
VISIT = datetime(2025, 3, 25, 9, 0)


def _refills(
    pump: PumpRecord,
    prescriptions: Sequence[PrescriptionRecord],
    visits: Sequence[tuple[datetime, float | None, str]],
    ingredients: tuple[Ingredient, ...],
    start_id: int,
) -> tuple[RefillRecord, ...]:
    """Refills at ``visits`` (time, aspirated mL or None for the first, note), each filled to
    the capacity; expected residual and verdict worked out as the services do."""
    records: list[RefillRecord] = []
    for number, (at, aspirated_ml, note) in enumerate(visits):
        previous = records[-1] if records else None
        expected = verdict = difference = None
        aspirated = None if aspirated_ml is None else Q_(aspirated_ml, "mL")
        if previous is not None and aspirated is not None:
            periods = program_periods(prescriptions, pump, previous.performed_at, at)
            expected = expected_residual(
                fill_volume=previous.final_volume,
                filled_at=previous.performed_at,
                at=at,
                programs=periods,
            ).expected_residual
            found = discrepancy(
                fill_volume=previous.final_volume,
                expected=expected,
                actual=aspirated,
                reservoir_capacity=pump.capacity,
                accuracy_percent=pump.accuracy_percent,
            )
            verdict, difference = found.verdict, found.difference
        rx = [p for p in prescriptions if p.effective_at <= at][-1]
        records.append(
            RefillRecord(
                id=start_id + number,
                pump_id=pump.id,
                performed_at=at,
                previous_fill_volume=None if previous is None else previous.final_volume,
                expected_residual=expected,
                aspirated=aspirated,
                discrepancy_verdict=verdict,
                discrepancy_difference=difference,
                discrepancy_note=note,
                volume_added=pump.capacity,
                final_volume=pump.capacity,
                ingredients=ingredients,
                lot_number=f"LT{4410 + start_id + number}",
                expiry=date(2026, 2, 28),
                source="hospital pharmacy",
                bridge_bolus=None,
                needle_position_confirmed=True,
                pump_running_confirmed=True,
                nurse="R. Okafor RN",
                verifier="S. Lindqvist RN",
                prescription_id=rx.id,
            )
        )
    return tuple(records)


#: What the nurse found before the refill whose residual says investigate.
INVESTIGATE_FOUND = BedsideFindings(
    Interrogation(PumpStatus.RUNNING, frozenset({PumpAlarm.LOW_RESERVOIR}), Q_("1.9 mL")),
    SiteAssessment(frozenset({SiteFinding.TENDERNESS}), "tender over the pump"),
    SymptomCheck(withdrawal=True, overdose=False, note="more spasms for two days"),
)


def _stored(
    pump: PumpRecord, rx: PrescriptionRecord, last: RefillRecord, settings: ClinicSettings
) -> StoredForecast:
    outlook = forecast(
        fill_volume=last.final_volume,
        filled_at=last.performed_at,
        program=program_of(rx, pump),
        alarm_volume=pump.alarm_volume,
        accuracy_percent=pump.accuracy_percent or 0.0,
        buffer_days=settings.buffer_days,
        open_days=settings.open_days,
        stability_days=90 if rx.primary.drug == "morphine" else None,
    )
    return StoredForecast(
        pump.id,
        last.performed_at,
        last.final_volume,
        outlook.daily_volume,
        outlook.alarm_at,
        outlook.alarm_at_with_boluses,
        outlook.refill_due,
        outlook.refill_due_reason,
        outlook.empty_at,
    )


def baclofen_chart() -> PatientChart:
    patient = PatientRecord(
        1,
        "100234",
        "Martin",
        "Alice",
        date(1968, 4, 12),
        "spasticity_spinal",
        emergency_contact="Paul Martin +44 7700 900123",
    )
    old_pump = PumpRecord(
        id=1,
        patient_id=1,
        model_key="synchromed-el-18",
        model_name="SynchroMed EL 18 mL (legacy)",
        pump_type="programmable_peristaltic",
        serial_number="EL8627-5521",
        implanted_on=date(2016, 5, 9),
        site="left abdomen",
        capacity=Q_("18 mL"),
        alarm_volume=Q_("2 mL"),
        accuracy_percent=None,
        replace_by=date(2023, 3, 1),
        status="explanted",
        explanted_on=date(2023, 2, 6),
        explant_reason="elective replacement before ERI",
    )
    pump = PumpRecord(
        id=2,
        patient_id=1,
        model_key="synchromed2-20",
        model_name="SynchroMed II 20 mL",
        pump_type="programmable_peristaltic",
        serial_number="NGP204518H",
        implanted_on=date(2023, 2, 6),
        site="right abdomen",
        capacity=Q_("20 mL"),
        alarm_volume=Q_("2 mL"),
        accuracy_percent=14.5,
        replace_by=date(2029, 8, 1),
    )
    catheter = CatheterRecord(
        id=1,
        pump_id=2,
        model_key="ascenda-8780",
        segments=(
            CatheterSegmentRecord(Q_("66 cm"), Q_("14 cm"), Q_("0.0022 mL/cm")),
            CatheterSegmentRecord(Q_("24 cm"), Q_("0 cm"), Q_("0.0022 mL/cm")),
        ),
        tip_level="T10",
        implanted_on=date(2023, 2, 6),
        volume=Q_("0.198 mL"),
    )
    flex = schedule_from_text(
        ["00:00 30 mcg/h", "06:00 100 mcg/h", "07:00 15 mcg/h", "22:00 20 mcg/h"]
    )
    rxs = (
        PrescriptionRecord(
            1,
            2,
            (Ingredient("baclofen", Q_("2000 mcg/mL"), "mcg"),),
            Schedule.simple(Q_("450 mcg/day")),
            None,
            datetime(2023, 2, 6, 10),
            "Dr E. Castellanos",
        ),
        PrescriptionRecord(
            2,
            2,
            (Ingredient("baclofen", Q_("2000 mcg/mL"), "mcg"),),
            flex,
            None,
            datetime(2024, 9, 2, 11, 30),
            "Dr E. Castellanos",
        ),
    )
    baclofen = rxs[0].ingredients
    refills = _refills(
        pump,
        rxs,
        [
            (datetime(2024, 6, 3, 9, 0), None, ""),
            (datetime(2024, 8, 2, 9, 30), 6.4, ""),
            (
                datetime(2024, 10, 1, 10, 0),
                3.7,
                "Pocket checked, no swelling; pump log reviewed with Dr Castellanos",
            ),
            (datetime(2024, 11, 29, 9, 15), 4.0, ""),
            (datetime(2025, 1, 28, 9, 0), 3.5, ""),
        ],
        baclofen,
        start_id=11,
    )
    events = (
        EventRecord(
            1,
            1,
            1,
            "implant",
            datetime(2016, 5, 9, 8),
            "SynchroMed EL implanted",
            "Dr E. Castellanos",
        ),
        EventRecord(
            2,
            2,
            1,
            "replacement",
            datetime(2023, 2, 6, 8),
            "Replaced by SynchroMed II 20 mL before ERI",
            "Dr E. Castellanos",
        ),
        EventRecord(
            3,
            2,
            1,
            "mri",
            datetime(2024, 11, 15, 14),
            "Brain MRI 1.5 T; pump interrogated afterwards and running",
            "R. Okafor RN",
        ),
    )
    return PatientChart(
        patient=patient,
        pump=pump,
        catheter=catheter,
        prescription=rxs[-1],
        forecast=_stored(pump, rxs[-1], refills[-1], SETTINGS),
        pumps=(old_pump, pump),
        prescriptions=rxs,
        refills=refills,
        events=events,
    )


def admixture_chart() -> PatientChart:
    patient = PatientRecord(
        2, "100871", "Nguyen", "Thanh", date(1955, 11, 30), "cancer_pain", renal_impairment=True
    )
    pump = PumpRecord(
        id=3,
        patient_id=2,
        model_key="synchromed2-40",
        model_name="SynchroMed II 40 mL",
        pump_type="programmable_peristaltic",
        serial_number="NGP311702K",
        implanted_on=date(2024, 7, 15),
        site="left abdomen",
        capacity=Q_("40 mL"),
        alarm_volume=Q_("2 mL"),
        accuracy_percent=14.5,
        pump_path_volume=Q_("0.26 mL"),
        replace_by=date(2031, 1, 1),
    )
    catheter = CatheterRecord(
        id=2,
        pump_id=3,
        model_key="ascenda-8780",
        segments=(CatheterSegmentRecord(Q_("90 cm"), Q_("5 cm"), Q_("0.0022 mL/cm")),),
        tip_level="T8",
        implanted_on=date(2024, 7, 15),
        volume=Q_("0.187 mL"),
    )
    bolus = PatientBolus(Q_("0.1 mg"), 4, Q_("3 h"))
    mix = (
        Ingredient("morphine", Q_("10 mg/mL"), "mg"),
        Ingredient("clonidine", Q_("100 mcg/mL"), "mcg"),
    )
    strong = (
        Ingredient("morphine", Q_("20 mg/mL"), "mg"),
        Ingredient("clonidine", Q_("200 mcg/mL"), "mcg"),
    )
    rxs = (
        PrescriptionRecord(
            21,
            3,
            mix,
            Schedule.simple(Q_("3 mg/day")),
            bolus,
            datetime(2024, 7, 15, 12),
            "Dr A. Haddad",
        ),
        # written for the coming refill: it runs from the moment the pump is refilled
        PrescriptionRecord(
            22, 3, strong, Schedule.simple(Q_("3 mg/day")), bolus, VISIT, "Dr A. Haddad"
        ),
    )
    refills = _refills(
        pump,
        rxs[:1],
        [
            (datetime(2024, 11, 4, 10, 0), None, ""),
            (datetime(2025, 1, 13, 10, 30), 19.4, ""),
        ],
        mix,
        start_id=31,
    )
    return PatientChart(
        patient=patient,
        pump=pump,
        catheter=catheter,
        prescription=rxs[-1],
        forecast=_stored(pump, rxs[0], refills[-1], SETTINGS),
        pumps=(pump,),
        prescriptions=rxs,
        refills=refills,
    )


def constant_flow_chart() -> PatientChart:
    patient = PatientRecord(3, "100412", "Kowalski", "Marek", date(1949, 2, 17), "cancer_pain")
    pump = PumpRecord(
        id=4,
        patient_id=3,
        model_key="isomed-20",
        model_name="IsoMed 20 mL",
        pump_type="constant_flow",
        serial_number="IM8472-20-0931",
        implanted_on=date(2024, 10, 1),
        site="right abdomen",
        capacity=Q_("20 mL"),
        alarm_volume=Q_("2 mL"),
        accuracy_percent=None,
        nominal_flow=Q_("1 mL/day"),
    )
    four = (Ingredient("morphine", Q_("4 mg/mL"), "mg"),)
    rx = PrescriptionRecord(
        41, 4, four, Schedule.simple(Q_("4 mg/day")), None, datetime(2024, 10, 1, 9), "Dr A. Haddad"
    )
    refills = _refills(
        pump,
        (rx,),
        [
            (datetime(2025, 2, 17, 9, 0), None, ""),
            (datetime(2025, 3, 3, 9, 0), 6.2, ""),
            (datetime(2025, 3, 14, 9, 0), 8.9, ""),
        ],
        four,
        start_id=51,
    )
    return PatientChart(
        patient=patient,
        pump=pump,
        catheter=None,
        prescription=rx,
        forecast=_stored(pump, rx, refills[-1], SETTINGS),
        pumps=(pump,),
        prescriptions=(rx,),
        refills=refills,
    )


CHARTS: dict[str, Callable[[], PatientChart]] = {
    "baclofen": baclofen_chart,
    "admixture": admixture_chart,
    "constant_flow": constant_flow_chart,
}


def due_rows() -> list[DueRow]:
    """The due list the services would hand out, deliberately out of order."""
    rows = []
    for kind, days_left, state in (
        ("baclofen", 3.5, "due_this_week"),
        ("admixture", 12.25, "due_in_14_days"),
        ("constant_flow", -1.0, "overdue"),
    ):
        chart = CHARTS[kind]()
        assert chart.pump is not None and chart.forecast is not None
        assert chart.prescription is not None
        drug = " + ".join(
            f"{i.drug} {i.concentration.to(i.display_unit + '/mL').m:g} {i.display_unit}/mL"
            for i in chart.prescription.ingredients
        )
        rows.append(
            DueRow(
                patient_id=chart.patient.id,
                mrn=chart.patient.mrn,
                patient=chart.patient.display_name,
                pump_id=chart.pump.id,
                pump_model=chart.pump.model_name,
                pump_type=chart.pump.pump_type,
                drug=drug,
                days_left=days_left,
                alarm_at=chart.forecast.alarm_at_with_boluses,
                refill_due=chart.forecast.refill_due,
                refill_due_reason=chart.forecast.refill_due_reason,
                replace_by=chart.pump.replace_by,
                state=state,  # type: ignore[arg-type]
                open_discrepancy=kind == "baclofen",
                flex_schedule=kind == "baclofen",
            )
        )
    rows.append(
        DueRow(
            patient_id=9,
            mrn="100999",
            patient="OKONJO, Grace",
            pump_id=9,
            pump_model="SynchroMed II 20 mL",
            pump_type="programmable_peristaltic",
            drug="baclofen 500 mcg/mL",
            days_left=20.0,
            alarm_at=datetime(2025, 4, 25, 10),
            refill_due=date(2025, 4, 18),
            refill_due_reason="alarm",
            replace_by=date(2025, 4, 9),
            state="fine",
        )
    )
    return rows[::-1]


# --------------------------------------------------------------------------------------------
# Reading a PDF back


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, pages joined, with runs of white space made single spaces."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def pdf_pages(data: bytes) -> list[Any]:
    return list(PdfReader(io.BytesIO(data)).pages)


def layout_problems(data: bytes, *, margin: float = MARGIN, tolerance: float = 0.5) -> list[str]:
    """Characters outside the page margins, or whose boxes overlap another character's
    (pdfplumber's character boxes: one font size high, one advance wide)."""
    problems: list[str] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            chars = [c for c in page.chars if c["text"].strip()]
            for char in chars:
                if (
                    char["x0"] < margin - 1
                    or char["x1"] > page.width - margin + 1
                    or char["top"] < margin - 1
                    or char["bottom"] > page.height - margin + 1
                ):
                    problems.append(
                        f"page {number}: '{char['text']}' at ({char['x0']:.0f}, "
                        f"{char['top']:.0f}) is outside the margins"
                    )
            cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
            for char in chars:
                cells.setdefault((int(char["x0"] // 24), int(char["top"] // 24)), []).append(char)
            for (cx, cy), group in cells.items():
                near = [
                    c
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    for c in cells.get((cx + dx, cy + dy), [])
                ]
                for char in group:
                    for other in near:
                        if other is char or id(other) < id(char):
                            continue
                        dx = min(char["x1"], other["x1"]) - max(char["x0"], other["x0"])
                        dy = min(char["bottom"], other["bottom"]) - max(char["top"], other["top"])
                        if dx > tolerance and dy > tolerance:
                            problems.append(
                                f"page {number}: '{char['text']}' at ({char['x0']:.0f}, "
                                f"{char['top']:.0f}) overlaps '{other['text']}' at "
                                f"({other['x0']:.0f}, {other['top']:.0f})"
                            )
    return problems


# --------------------------------------------------------------------------------------------
# Every sample sheet, built once per page size


def build_sample(name: str, settings: ClinicSettings) -> bytes:
    """One of the sample sheets by name, on ``settings``' paper."""
    from pumpmgr.reports import (
        build_compounding_sheet,
        build_due_list,
        build_history,
        build_refill_worksheet,
        build_wallet_card,
        build_worksheet_batch,
    )
    from pumpmgr.visit import plan_for_refill, plan_visit

    def planned(kind: str) -> tuple[PatientChart, Any]:
        chart = CHARTS[kind]()
        return chart, plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs)

    if name.startswith("worksheet_"):
        chart, plan = planned(name.removeprefix("worksheet_"))
        return build_refill_worksheet(
            chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED
        )
    if name == "completed_investigate":
        chart = baclofen_chart()
        refill = replace(
            chart.refills[2],
            bedside=INVESTIGATE_FOUND,
            compounded=True,
            programmer=ProgrammerFigures(Q_("20 mL"), date(2024, 12, 6), Q_("0.273 mL/day")),
            programmer_differs=False,
        )
        return build_refill_worksheet(
            chart,
            plan_for_refill(chart, refill, settings=settings, drugs=SHIPPED.drugs),
            settings,
            completed=refill,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    if name == "completed_ok":
        chart = constant_flow_chart()
        refill = chart.refills[-1]
        return build_refill_worksheet(
            chart,
            plan_for_refill(chart, refill, settings=settings, drugs=SHIPPED.drugs),
            settings,
            completed=refill,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    if name == "history":
        return build_history(baclofen_chart(), settings, generated_at=GENERATED, catalog=SHIPPED)
    if name == "due_list":
        return build_due_list(
            due_rows(),
            settings,
            start=date(2025, 3, 24),
            end=date(2025, 4, 11),
            generated_at=GENERATED,
        )
    if name.startswith("card_"):
        return build_wallet_card(
            CHARTS[name.removeprefix("card_")](), settings, generated_at=GENERATED, catalog=SHIPPED
        )
    if name == "compounding_constant_flow":
        chart, plan = planned("constant_flow")
        return build_compounding_sheet(
            chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED
        )
    if name == "compounding_admixture":
        chart, plan = planned("admixture")
        return build_compounding_sheet(
            chart,
            plan,
            settings,
            stocks={"morphine": Q_("25 mg/mL"), "clonidine": Q_("1000 mcg/mL")},
            extra_volume=Q_("1 mL"),
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    if name == "batch":
        return build_worksheet_batch(
            [planned(kind) for kind in CHARTS], settings, generated_at=GENERATED, catalog=SHIPPED
        )
    raise KeyError(name)


SHEETS = (
    "worksheet_baclofen",
    "worksheet_admixture",
    "worksheet_constant_flow",
    "completed_investigate",
    "completed_ok",
    "history",
    "due_list",
    "card_baclofen",
    "card_admixture",
    "card_constant_flow",
    "compounding_constant_flow",
    "compounding_admixture",
    "batch",
)
