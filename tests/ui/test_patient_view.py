"""The patient view shows every number exactly as pumpmgr.formatting writes it, the flags,
the history with corrections beside what they correct, and the charts' data."""

from __future__ import annotations

from pumpmgr.dosing import dose_for_volume
from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.units import Kind
from ui.main_window import MainWindow
from ui.models.history import HistoryModel, timeline


def open_mrn(window: MainWindow, mrn: str) -> None:
    window.open_patient(window.clinic.find_patient(mrn).id)
    assert window.stack.currentWidget() is window.patient


def test_numbers_are_formatted_by_pumpmgr_formatting(window: MainWindow) -> None:
    open_mrn(window, "100006")
    screen = window.patient
    chart = screen.chart
    assert chart is not None and chart.pump is not None and chart.prescription is not None
    assert chart.forecast is not None
    rx, pump, forecast, tz = chart.prescription, chart.pump, chart.forecast, window.clinic.tz
    expected_now = window.clinic.expected_now(pump.id)
    assert expected_now is not None

    reservoir = screen.reservoir
    assert reservoir.text("expected now") == format_quantity(expected_now, Kind.VOLUME)
    assert reservoir.text("capacity") == format_quantity(pump.capacity, Kind.VOLUME) == "40 mL"
    assert reservoir.text("alarm volume") == "2 mL"

    fields = screen.prescription_fields
    volume = rx.program.daily_volume()
    assert fields.text("concentration morphine") == "10 mg/mL"
    assert fields.text("concentration clonidine") == "100 mcg/mL"
    assert fields.text("dose morphine") == format_quantity(
        dose_for_volume(volume, rx.ingredients[0].concentration), Kind.DOSE_RATE, "mg")
    assert fields.text("dose clonidine") == format_quantity(
        dose_for_volume(volume, rx.ingredients[1].concentration), Kind.DOSE_RATE, "mcg")
    assert fields.text("dose morphine") == "2.667 mg/day"
    assert fields.text("daily volume") == format_quantity(volume, Kind.FLOW) == "0.267 mL/day"
    assert fields.text("schedule") == "00:00-08:00  2 mg/day\n08:00-00:00  3 mg/day"
    assert fields.text("patient bolus") == "0.1 mg a bolus, at most 4 a day, lockout 3 h"

    forecast_fields = screen.forecast_fields
    assert forecast_fields.text("refill due") == format_date(forecast.refill_due)
    assert forecast_fields.text("due because") == "drug stability limit in the pump"
    assert forecast_fields.text("daily volume") == format_quantity(forecast.daily_volume,
                                                                   Kind.FLOW)
    assert forecast_fields.text("alarm") == format_datetime(forecast.alarm_at.astimezone(tz))
    assert forecast_fields.text("filled") == (
        f"{format_datetime(forecast.filled_at.astimezone(tz))}, "
        f"{format_quantity(forecast.fill_volume, Kind.VOLUME)}")

    pump_fields = screen.pump_fields
    assert pump_fields.text("replace by") == "Wed 28 Jan 2026 (within 6 months)"
    assert pump_fields.text("accuracy") == "±14.5 %"
    assert pump_fields.text("path volume") == "0.22 mL"
    assert pump_fields.text("catheter").endswith("tip at T10, volume 0.208 mL")


def test_every_shown_number_has_a_unit(window: MainWindow) -> None:
    """No value label is a bare number."""
    import re

    for mrn in ("100001", "100004", "100005", "100006"):
        open_mrn(window, mrn)
        screen = window.patient
        for card in (screen.pump_fields, screen.forecast_fields, screen.prescription_fields,
                     screen.reservoir.fields):
            for key, label in card.values.items():
                assert not re.fullmatch(r"[\d.,\s+-]+", label.text()), (mrn, key, label.text())


def test_identity_and_flags(window: MainWindow) -> None:
    open_mrn(window, "100002")
    screen = window.patient
    assert screen.name_label.text() == "SCHULZ, Jonas"
    assert "MRN 100002" in screen.identity_label.text()
    assert "spasticity of spinal origin" in screen.identity_label.text()
    assert screen.flag_texts() == ["Renal impairment"]
    open_mrn(window, "100005")
    assert screen.flag_texts() == ["Constant-flow pump"]
    assert screen.reservoir.fields.values["alarm volume"].accessibleName() == "Planning volume"
    assert screen.pump_fields.text("nominal flow") == "0.5 mL/day"
    assert screen.forecast_fields.text("daily volume") == "0.5 mL/day"


def test_history_places_corrections_under_what_they_correct(window: MainWindow,
                                                            qtmodeltester: object) -> None:
    open_mrn(window, "100004")
    model = window.patient.history_model
    entries = model.entries()
    whats = [e.what for e in entries]
    assert whats == ["Refill", "MRI", "Prescription", "Refill", "Refill", "First fill",
                     "Prescription", "Pump implanted"]
    corrected, correction = entries[3], entries[4]
    assert corrected.status == "corrected (see below)"
    assert correction.corrects == corrected.key
    assert correction.details.startswith("Changed: lot L2025-117 → L2025-118.")
    assert entries[0].status == "investigate"
    assert "difference +1.6 mL: investigate" in entries[0].details
    assert "(post-MRI check: done)" in entries[1].details
    assert model.index(4, 1).data() == "↳ Refill"
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    qtmodeltester.check(HistoryModel(window.clinic.tz))  # type: ignore[attr-defined]
    chart = window.patient.chart
    assert chart is not None
    assert timeline(chart) == entries


def test_charts_get_the_live_refills_and_the_projection(window: MainWindow) -> None:
    open_mrn(window, "100004")
    screen = window.patient
    residuals = screen.residual_chart.points()
    assert [r.discrepancy_verdict for r in residuals] == ["ok", "investigate"]
    assert residuals[0].lot_number == "L2025-118"  # the correction, not the corrected refill
    projection = screen.reservoir_chart._projection
    assert len(projection) == 3
    assert projection[1][1] == screen.expected_now
    screen.grab()  # paints without error


def test_back_and_refresh_keep_the_patient(window: MainWindow) -> None:
    open_mrn(window, "100003")
    window.refresh()
    assert window.patient.name_label.text() == "WAGNER, Mia"
    window.patient.back_requested.emit()
    assert window.stack.currentWidget() is window.dashboard
