"""The visit note: a refill, prescription change or pump event as plain text for the hospital's
record, written in the clinic's template.

Pure layer: the standard library and pint, through the other pure pumpmgr modules. The window,
the printed sheets and the command line all take their note from :func:`visit_note`, so the
text a nurse pastes is the same wherever it was copied. Every number goes through
:mod:`pumpmgr.formatting`, each drug's mass in its own display unit, as on the sheets.

A template is plain text in three sections, ``[refill]``, ``[prescription]`` and ``[event]``;
``$name`` (or ``${name}``) is replaced by the record's value (:data:`FIELDS` lists them), ``$$``
writes a dollar sign and lines starting with ``#`` are comments. A line made only of names whose
values are empty (``$correction`` when the record corrects nothing) is left out. The shipped
template is ``resources/notes/visit_note.txt``; an administrator's edited one is kept with the
clinic's settings and checked by :func:`parse_template` before it is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from pumpmgr import catalogs
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_percent,
    format_quantity,
)
from pumpmgr.note_template import KINDS, NoteKind, NoteTemplate, fill_template
from pumpmgr.records import (
    ClinicSettings,
    EventRecord,
    Ingredient,
    PatientChart,
    PrescriptionRecord,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.refill import discrepancy
from pumpmgr.restart import restart_of, restart_text
from pumpmgr.schedule import Program
from pumpmgr.units import DAY, MCG_PER_DAY, PLAUSIBLE_MAGNITUDES, Q_, Kind, Quantity
from pumpmgr.visit import is_constant_flow, plan_for_refill, program_of, pump_prescriptions
from pumpmgr.visit_record import interrogation_text, site_text, symptoms_text
from pumpmgr.wording import bolus_text as bolus_text  # the one wording, used here and beyond
from pumpmgr.wording import drug_name, schedule_lines, solution_text

_EVENT_TEXT = {
    "implant": "pump implant",
    "replacement": "pump replacement",
    "explant": "pump explant",
    "catheter_revision": "catheter revision",
    "mri": "MRI",
    "alarm": "pump alarm",
    "eri": "elective replacement indicator (ERI)",
    "note": "note",
}


# --------------------------------------------------------------------------------------------
# Record ids


@dataclass(frozen=True)
class RecordRef:
    """One refill, prescription version or pump event, as ``refill:12``."""

    kind: NoteKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_record_ref(text: str, field: str = "record") -> RecordRef:
    """``refill:12``, ``prescription:5`` or ``event:7`` (also ``pumpmgr:refill:12``, as the
    worksheet's code holds it); a clear refusal naming ``field`` otherwise."""
    cleaned = text.strip().lower().removeprefix("pumpmgr:")
    kind, _, number = cleaned.partition(":")
    if kind not in KINDS or not number.isdigit() or int(number) < 1:
        raise InputError(
            f"{field}: '{text.strip()}' is not a record id; write refill:ID, prescription:ID or "
            "event:ID, for example refill:12",
            code=Code.BAD_NUMBER,
            field=field,
        )
    return RecordRef(kind, int(number))


# --------------------------------------------------------------------------------------------
# Values


def _settled(quantity: Quantity, kind: Kind) -> Quantity:
    """Zero for a value too small to be clinical (a residual a moment after a fill)."""
    if abs(float(quantity.to(kind.spec.canonical_unit).m)) < PLAUSIBLE_MAGNITUDES[0]:
        return quantity * 0
    return quantity


def volume(quantity: Quantity | None, missing: str = "not recorded") -> str:
    return (
        missing
        if quantity is None
        else format_quantity(_settled(quantity, Kind.VOLUME), Kind.VOLUME)
    )


def signed_volume(quantity: Quantity) -> str:
    shown = volume(quantity)
    return "+" + shown if float(quantity.m) > 0 and shown != "0 mL" else shown


def dose_text(
    program: Program, ingredients: Sequence[Ingredient], catalog: catalogs.Catalogs
) -> str:
    """Each drug's daily dose, ``Baclofen 400 mcg/day`` (daily volume × concentration)."""
    daily_volume = program.daily_volume()
    return " + ".join(
        f"{drug_name(i.drug, catalog)} "
        f"{format_quantity((daily_volume * i.concentration).to(MCG_PER_DAY), Kind.DOSE_RATE, i.display_unit)}"  # noqa: E501
        for i in ingredients
    )


def program_text(rx: PrescriptionRecord, pump: PumpRecord) -> str:
    """The program on one line: the schedule (:func:`schedule_lines`, or the constant flow),
    then the daily volume."""
    program = program_of(rx, pump)
    if is_constant_flow(pump):
        kind = "Constant flow"
    else:
        kind = "; ".join(
            line.replace("  ", " ") for line in schedule_lines(rx.schedule, rx.primary.display_unit)
        )
    return f"{kind}; daily volume {format_quantity(program.daily_volume(), Kind.FLOW)}"


def due_reason_text(
    reason: str,
    *,
    buffer_days: int,
    constant_flow: bool,
    stability_days: float | None = None,
    detail: str = "",
) -> str:
    """Why the refill is due on its date, as notes and sheets write it: the one wording of
    :func:`pumpmgr.forecast.due_reason_words`, the stability limit's length where known, the
    caller's ``detail`` after it."""
    words = due_reason_words(reason, buffer_days=buffer_days, constant_flow=constant_flow)
    if reason == "stability" and stability_days is not None:
        words += f" of {format_duration(Q_(stability_days, DAY))}"
    return f"{words}{detail}, on an open clinic day"


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def _pump_of(chart: PatientChart, pump_id: int | None) -> PumpRecord | None:
    return next((p for p in (*chart.pumps, chart.pump) if p is not None and p.id == pump_id), None)


def _pump_text(pump: PumpRecord | None) -> str:
    if pump is None:
        return "none"
    return f"{pump.model_name}, serial {pump.serial_number}"


def _current_due(
    chart: PatientChart,
    pump: PumpRecord | None,
    forecast: StoredForecast | None,
    settings: ClinicSettings,
) -> tuple[str, str]:
    """The pump's stored (current) refill-due date and why, for notes of records after which
    the forecast was recomputed; ``not forecast`` when the pump has none."""
    if forecast is None or pump is None or chart.pump is None or pump.id != chart.pump.id:
        return "none forecast", "no active pump with a fill on record"
    reason = due_reason_text(
        forecast.refill_due_reason,
        buffer_days=settings.buffer_days,
        constant_flow=is_constant_flow(pump),
    )
    return format_date(forecast.refill_due), reason + "; as forecast now"


def _common(
    chart: PatientChart,
    ref: RecordRef,
    when: datetime,
    pump: PumpRecord | None,
    settings: ClinicSettings,
    corrects: str,
) -> dict[str, str]:
    patient = chart.patient
    return {
        "patient": patient.display_name,
        "mrn": patient.mrn,
        "born": format_date(patient.date_of_birth),
        "pump": _pump_text(pump),
        "when": format_datetime(when),
        "record": str(ref),
        "correction": corrects,
        "clinic": settings.clinic_name,
        "clinic_phone": settings.clinic_phone or "not recorded",
    }


def _correction(kind: NoteKind, corrects_id: int | None, reason: str) -> str:
    if corrects_id is None:
        return ""
    return f"This record corrects {kind}:{corrects_id}" + (f": {reason}" if reason else "")


def refill_values(
    chart: PatientChart,
    refill: RefillRecord,
    *,
    settings: ClinicSettings,
    catalog: catalogs.Catalogs,
    tz: tzinfo | None = None,
) -> dict[str, str]:
    """The ``[refill]`` names for one refill of a chart in the clinic's wall-clock time."""
    pump = _pump_of(chart, refill.pump_id)
    if pump is None:
        raise InputError(
            f"record: the pump of refill:{refill.id} is not in the chart",
            code=Code.OUT_OF_RANGE,
            field="record",
        )
    plan = plan_for_refill(chart, refill, settings=settings, drugs=catalog.drugs, tz=tz)
    ref = RecordRef("refill", refill.id)
    values = _common(
        chart,
        ref,
        refill.performed_at,
        pump,
        settings,
        _correction("refill", refill.corrects_id, refill.correction_reason),
    )
    verdict = "none (first fill of the pump)"
    if refill.discrepancy_verdict is not None:
        found = None
        if (
            refill.previous_fill_volume is not None
            and refill.expected_residual is not None
            and refill.aspirated is not None
        ):
            try:
                found = discrepancy(
                    fill_volume=refill.previous_fill_volume,
                    expected=refill.expected_residual,
                    actual=refill.aspirated,
                    reservoir_capacity=pump.capacity,
                    accuracy_percent=pump.accuracy_percent,
                )
            except PumpMgrError:
                found = None
        detail = f"threshold {volume(plan.threshold)}"
        if found is not None and found.delivery_error is not None:
            detail += f", delivery error {format_percent(found.delivery_error)}"
        if refill.discrepancy_verdict == "found_empty":
            verdict = f"FOUND EMPTY ({detail}): the next dose is a restart"
        elif refill.discrepancy_verdict == "investigate":
            meaning = "" if found is None else " " + found.meaning
            verdict = f"INVESTIGATE ({detail}).{meaning}"
        else:
            verdict = f"OK ({detail})"
    rx = next((p for p in chart.prescriptions if p.id == refill.prescription_id), None)
    bolus = "none given"
    if refill.bridge_bolus is not None and float(refill.bridge_bolus.m) > 0:
        kinds = [
            k
            for k, given in (
                ("bridge", refill.bridge_bolus_given),
                ("priming", refill.priming_bolus_given),
            )
            if given
        ]
        bolus = f"{' and '.join(kinds) or 'a'} bolus of {volume(refill.bridge_bolus)} given"
    elif plan.bridge_status == "computed" and plan.bridge is not None:
        bolus = (
            f"none given (a bridge bolus of {volume(plan.bridge.bridge_volume)} was "
            "computed for the concentration change)"
        )
    elif plan.bridge_status == "dead_space_unknown":
        missing = " and ".join(f"the {m}" for m in plan.dead_space_missing) or "the dead space"
        bolus = (
            "none given; the concentration changed, but no bridge bolus could be "
            f"computed without {missing}"
        )
    elif plan.bridge_status == "not_possible":
        flush = (
            "" if plan.flush_duration is None else (f" for {format_duration(plan.flush_duration)}")
        )
        bolus = (
            "none given; the concentration changed and no bridge is possible: the old "
            f"solution flushes at the new rate{flush}"
        )
    programmer = "not entered"
    if is_constant_flow(pump):
        programmer = "none (a constant-flow pump has no programmer)"
    elif refill.programmer is not None:
        figures = refill.programmer
        match = {
            True: "DIFFERS from pumpmgr's figures",
            False: "matches pumpmgr's figures",
            None: "not compared",
        }[refill.programmer_differs]
        programmer = (
            f"reservoir {volume(figures.reservoir)}, alarm "
            f"{format_date(figures.alarm_date)}, daily volume "
            f"{format_quantity(figures.daily_volume, Kind.FLOW)}; {match}"
        )
    outlook = plan.forecast
    values.update(
        {
            "nurse": refill.nurse,
            "verifier": refill.verifier,
            "expected": volume(refill.expected_residual, "none (first fill)"),
            "aspirated": volume(refill.aspirated),
            "difference": "none (first fill)"
            if refill.discrepancy_difference is None
            else signed_volume(refill.discrepancy_difference),
            "verdict": verdict,
            "restart": restart_text(restart_of(refill)),
            "discrepancy_note": refill.discrepancy_note.strip() or "none",
            "previous_fill": volume(refill.previous_fill_volume, "none (first fill)"),
            "volume_added": volume(refill.volume_added),
            "final_volume": volume(refill.final_volume),
            "solution": solution_text(refill.ingredients, catalog),
            "lot": refill.lot_number,
            "expiry": format_date(refill.expiry),
            "source": refill.source,
            "needle_confirmed": _yes(refill.needle_position_confirmed),
            "running_confirmed": _yes(refill.pump_running_confirmed),
            "dose_before": "none (first fill)"
            if plan.last_refill is None
            else dose_text(plan.current_program, plan.current_solution, catalog),
            "dose_now": dose_text(plan.program, plan.ingredients, catalog),
            "program": "not recorded" if rx is None else program_text(rx, pump),
            "bolus": bolus,
            "programmer": programmer,
            **_bedside_values(refill),
            "refill_due": format_date(outlook.refill_due),
            "due_reason": due_reason_text(
                outlook.refill_due_reason,
                buffer_days=outlook.buffer_days,
                constant_flow=is_constant_flow(pump),
                stability_days=outlook.stability_days,
            )
            + "; as planned at this refill",
            "alarm": format_datetime(outlook.alarm_at_with_boluses),
        }
    )
    return values


def _bedside_values(refill: RefillRecord) -> dict[str, str]:
    """What the nurse found before the refill, in :mod:`pumpmgr.visit_record`'s words."""
    found = refill.bedside
    if found is None:
        return dict.fromkeys(("interrogation", "site", "symptoms"), "not recorded")
    return {
        "interrogation": interrogation_text(found.interrogation),
        "site": site_text(found.site),
        "symptoms": symptoms_text(found.symptoms),
    }


def prescription_values(
    chart: PatientChart,
    rx: PrescriptionRecord,
    *,
    settings: ClinicSettings,
    catalog: catalogs.Catalogs,
) -> dict[str, str]:
    """The ``[prescription]`` names for one prescription version of a chart."""
    pump = _pump_of(chart, rx.pump_id)
    if pump is None:
        raise InputError(
            f"record: the pump of prescription:{rx.id} is not in the chart",
            code=Code.OUT_OF_RANGE,
            field="record",
        )
    ref = RecordRef("prescription", rx.id)
    values = _common(
        chart,
        ref,
        rx.effective_at,
        pump,
        settings,
        _correction("prescription", rx.corrects_id, rx.correction_reason),
    )
    in_force = [
        p
        for p in pump_prescriptions(chart, pump.id)
        if (p.effective_at, p.id) < (rx.effective_at, rx.id)
        and p.id != rx.id
        and p.id != rx.corrects_id
    ]
    previous = in_force[-1] if in_force else None
    program = program_of(rx, pump)
    change = "first prescription of the pump"
    if previous is not None:
        old = program_of(previous, pump).daily_volume() * previous.primary.concentration
        new = program.daily_volume() * rx.primary.concentration
        old_mcg = float(old.to(MCG_PER_DAY).m)
        if old_mcg > 0 and previous.primary.drug == rx.primary.drug:
            change = (
                f"{format_percent(float(new.to(MCG_PER_DAY).m) / old_mcg - 1)} "
                f"{drug_name(rx.primary.drug, catalog)}"
            )
        else:
            change = "a different dosed drug"
    warnings = [
        f"{f.message} Reason: {f.reason}" if f.reason else f.message
        for f in rx.findings
        if f.level == "warning"
    ]
    due, reason = _current_due(chart, pump, chart.forecast, settings)
    values.update(
        {
            "prescriber": rx.prescriber,
            "solution": solution_text(rx.ingredients, catalog),
            "dose_before": "none (first prescription)"
            if previous is None
            else dose_text(program_of(previous, pump), previous.ingredients, catalog),
            "dose_now": dose_text(program, rx.ingredients, catalog),
            "change": change,
            "program": program_text(rx, pump),
            "patient_bolus": bolus_text(rx.patient_bolus, rx.primary.display_unit),
            "warnings": "; ".join(warnings) or "none",
            "refill_due": due,
            "due_reason": reason,
        }
    )
    return values


def event_values(
    chart: PatientChart, event: EventRecord, *, settings: ClinicSettings, catalog: catalogs.Catalogs
) -> dict[str, str]:
    """The ``[event]`` names for one pump event of a chart."""
    pump = _pump_of(chart, event.pump_id)
    ref = RecordRef("event", event.id)
    values = _common(
        chart,
        ref,
        event.occurred_at,
        pump,
        settings,
        _correction("event", event.corrects_id, event.correction_reason),
    )
    details = [f"{k}: {v}" for k, v in event.details.items()]
    if event.kind in {"implant", "replacement"} and pump is not None:
        details.append(
            f"implanted {format_date(pump.implanted_on)} ({pump.site}), reservoir "
            f"{volume(pump.capacity)}, alarm at {volume(pump.alarm_volume)}"
        )
    if event.kind == "explant" and pump is not None and pump.explanted_on is not None:
        details.append(
            f"explanted {format_date(pump.explanted_on)}"
            + (f": {pump.explant_reason}" if pump.explant_reason else "")
        )
    if event.kind in {"implant", "replacement", "catheter_revision"} and pump is not None:
        catheter = _catheter_at(chart, pump.id, event.occurred_at.date())
        if catheter:
            details.append(catheter)
    due, reason = _current_due(chart, pump, chart.forecast, settings)
    values.update(
        {
            "event": _EVENT_TEXT.get(event.kind, event.kind),
            "recorded_by": event.user,
            "summary": event.summary.strip() or "no note",
            "details": "; ".join(details) or "none",
            "refill_due": due,
            "due_reason": reason,
        }
    )
    return values


def _catheter_at(chart: PatientChart, pump_id: int, day: date) -> str:
    """The pump's catheter as recorded by ``day`` (corrections replace what they correct)."""
    versions = [c for c in chart.catheters if c.pump_id == pump_id]
    corrected = {c.corrects_id for c in versions if c.corrects_id is not None}
    current = [
        c for c in versions if c.id not in corrected and (c.revised_on or c.implanted_on) <= day
    ]
    if not current:
        return ""
    catheter = current[-1]
    lengths = " + ".join(format_quantity(s.length, Kind.LENGTH) for s in catheter.segments)
    text = f"catheter {catheter.model_key}, tip at {catheter.tip_level}, implanted length {lengths}"
    if catheter.volume is not None:
        text += f", volume {volume(catheter.volume)}"
    return text


def visit_note(
    chart: PatientChart,
    ref: RecordRef,
    *,
    template: NoteTemplate,
    settings: ClinicSettings,
    catalog: catalogs.Catalogs,
    tz: tzinfo | None = None,
) -> str:
    """The note of the record ``ref`` of ``chart`` (a chart in the clinic's wall-clock time, as
    :func:`pumpmgr.visit.local_chart` makes it), written in ``template``. Refused, naming the
    record, when the chart holds no such record."""
    values: dict[str, str]
    if ref.kind == "refill":
        refill = next((r for r in chart.refills if r.id == ref.id), None)
        if refill is None:
            raise _not_in(chart, ref)
        values = refill_values(chart, refill, settings=settings, catalog=catalog, tz=tz)
    elif ref.kind == "prescription":
        rx = next((p for p in chart.prescriptions if p.id == ref.id), None)
        if rx is None:
            raise _not_in(chart, ref)
        values = prescription_values(chart, rx, settings=settings, catalog=catalog)
    else:
        event = next((e for e in chart.events if e.id == ref.id), None)
        if event is None:
            raise _not_in(chart, ref)
        values = event_values(chart, event, settings=settings, catalog=catalog)
    return fill_template(template.sections[ref.kind], values)


def _not_in(chart: PatientChart, ref: RecordRef) -> InputError:
    return InputError(
        f"record: {ref} is not one of {chart.patient.mrn}'s records",
        code=Code.NO_VALUE,
        field="record",
    )


def current_records(chart: PatientChart) -> list[RecordRef]:
    """Every record of the chart a note can be written for, oldest first (corrected versions
    included: a note of what was recorded then may still be asked for)."""
    dated: list[tuple[datetime, int, RecordRef]] = []
    dated += [(r.performed_at, 0, RecordRef("refill", r.id)) for r in chart.refills]
    dated += [(p.effective_at, 1, RecordRef("prescription", p.id)) for p in chart.prescriptions]
    dated += [(e.occurred_at, 2, RecordRef("event", e.id)) for e in chart.events]
    return [ref for *_, ref in sorted(dated, key=lambda d: (d[0], d[1], d[2].id))]
