"""The patient view shows every number exactly as pumpmgr.formatting writes it, the flags,
the history with corrections beside what they correct, and the charts' data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD
from test_refill_wizard import open_wizard

from pumpmgr.catalogs.model import Catalogs
from pumpmgr.dosing import dose_for_volume
from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.records import PatientChart
from pumpmgr.schedule import Schedule
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    SegmentInput,
    Verification,
)
from pumpmgr.units import Q_, Kind
from ui.main_window import MainWindow
from ui.models.history import HistoryModel, TimelineEntry, timeline
from ui.screens import patient_view


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
        dose_for_volume(volume, rx.ingredients[0].concentration), Kind.DOSE_RATE, "mg"
    )
    assert fields.text("dose clonidine") == format_quantity(
        dose_for_volume(volume, rx.ingredients[1].concentration), Kind.DOSE_RATE, "mcg"
    )
    assert fields.text("dose morphine") == "2.667 mg/day"
    assert fields.text("daily volume") == format_quantity(volume, Kind.FLOW) == "0.267 mL/day"
    # the schedule in the sheets' words (pumpmgr.wording): each step with what it delivers
    assert fields.text("schedule") == (
        "00:00-08:00  2 mg/day (0.6667 mg in 8 h)\n08:00-00:00  3 mg/day (2 mg in 16 h)"
    )
    assert fields.text("patient bolus") == "0.1 mg a bolus, at most 4 a day, lockout 3 h"

    forecast_fields = screen.forecast_fields
    assert forecast_fields.text("refill due") == format_date(forecast.refill_due)
    assert forecast_fields.text("due because") == "drug's in-pump stability limit"
    assert forecast_fields.text("daily volume") == format_quantity(forecast.daily_volume, Kind.FLOW)
    assert forecast_fields.text("alarm") == format_datetime(forecast.alarm_at.astimezone(tz))
    assert forecast_fields.text("filled") == (
        f"{format_datetime(forecast.filled_at.astimezone(tz))}, "
        f"{format_quantity(forecast.fill_volume, Kind.VOLUME)}"
    )

    pump_fields = screen.pump_fields
    assert pump_fields.text("replace by") == "Wed 28 Jan 2026 (within 6 months)"
    assert pump_fields.text("accuracy") == "±14.5 %"
    assert pump_fields.text("path volume") == "0.22 mL"
    assert pump_fields.text("catheter").endswith("tip at T10, volume 0.21 mL")


def test_every_shown_number_has_a_unit(window: MainWindow) -> None:
    """No value label is a bare number."""
    import re

    for mrn in ("100001", "100004", "100005", "100006"):
        open_mrn(window, mrn)
        screen = window.patient
        for card in (
            screen.pump_fields,
            screen.forecast_fields,
            screen.prescription_fields,
            screen.reservoir.fields,
        ):
            for key, label in card.values.items():
                assert not re.fullmatch(r"[\d.,\s+-]+", label.text()), (mrn, key, label.text())


def test_identity_and_flags(window: MainWindow) -> None:
    """The flags beside the name, among them a patient on an opioid's opioid status (an
    unknown one counts as naive, domain-rules §6)."""
    open_mrn(window, "100002")
    screen = window.patient
    assert screen.name_label.text() == "SCHULZ, Jonas"
    assert "MRN 100002" in screen.identity_label.text()
    assert "spasticity of spinal origin" in screen.identity_label.text()
    assert screen.flag_texts() == ["Renal impairment"]
    open_mrn(window, "100005")  # on morphine, the opioid status not recorded
    assert screen.flag_texts() == ["Opioid status not recorded", "Constant-flow pump"]
    opioid = screen.flag_labels[0]
    assert "count the patient as opioid-naive" in opioid.toolTip()
    assert screen.reservoir.fields.values["alarm volume"].accessibleName() == "Planning volume"
    assert screen.pump_fields.text("nominal flow") == "0.5 mL/day"
    assert screen.forecast_fields.text("daily volume") == "0.5 mL/day"
    clinic = window.clinic
    patient, version = clinic.patient_for_edit(clinic.find_patient("100005").id)
    clinic.edit_patient(
        clinic.sign_in("nina", PASSWORD),
        patient.id,
        PatientInput(
            "100005",
            "Fischer",
            "Greta",
            patient.date_of_birth,
            "cancer_pain",
            opioid_status="tolerant",
        ),
        version,
    )
    open_mrn(window, "100005")
    assert screen.flag_texts()[0] == "Opioid tolerant"
    open_mrn(window, "100002")  # baclofen: no opioid status beside the name
    assert not any(t.startswith("Opioid") for t in screen.flag_texts())


def test_hidden_tabs_show_the_patient_opened_when_they_are_shown(window: MainWindow) -> None:
    """The residuals and the history are filled when their tab is shown: opening another
    patient while the overview is shown, then showing them, shows that patient's."""
    screen = window.patient
    open_mrn(window, "100001")
    screen.tabs.setCurrentWidget(screen.history_tab)
    screen.tabs.setCurrentWidget(screen.residuals_tab)
    open_mrn(window, "100004")
    assert screen.tabs.currentIndex() == 0
    chart = screen.chart
    assert chart is not None
    screen.tabs.setCurrentWidget(screen.residuals_tab)
    table = screen._residual_table  # as the tab shows it, not through the filling property
    assert table.rowCount() == 2
    screen.tabs.setCurrentWidget(screen.history_tab)
    model = screen.history_view.model()
    assert isinstance(model, HistoryModel)
    assert model.entries() == timeline(chart, window.clinic.catalogs)


def test_opening_a_patient_makes_no_timeline_until_the_history_is_shown(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note button asks for the history's selection; an unfilled history has none, so
    asking fills nothing (a long history's timeline is most of opening a patient)."""
    made: list[int] = []

    def counted(chart: PatientChart, catalogs: Catalogs) -> list[TimelineEntry]:
        made.append(chart.patient.id)
        return timeline(chart, catalogs)

    monkeypatch.setattr(patient_view, "timeline", counted)
    screen = window.patient
    open_mrn(window, "100004")
    assert made == [] and screen.selected_record() is None
    assert not screen.copy_note_button.isEnabled()
    screen.tabs.setCurrentWidget(screen.history_tab)
    assert len(made) == 1
    screen.history_view.selectRow(0)
    assert screen.selected_record() is not None and screen.copy_note_button.isEnabled()


def test_history_places_corrections_under_what_they_correct(
    window: MainWindow, qtmodeltester: object
) -> None:
    open_mrn(window, "100004")
    model = window.patient.history_model
    entries = model.entries()
    whats = [e.what for e in entries]
    assert whats == [
        "Refill",
        "MRI",
        "Prescription",
        "Refill",
        "Refill",
        "First fill",
        "Prescription",
        "Pump implanted",
    ]
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
    assert timeline(chart, window.clinic.catalogs) == entries


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


def test_history_places_event_and_catheter_corrections_under_what_they_correct(
    window: MainWindow, qtmodeltester: object
) -> None:
    """A corrected MRI and a corrected catheter: each original stays, marked corrected, with
    its correction beneath saying what changed and why; the catheter versions sit with the
    implant event that recorded the catheter (an uncorrected catheter gets no entry of its
    own: its implant or revision event tells it)."""
    clinic = window.clinic
    assert window.actor is not None
    patient_id = clinic.find_patient("100004").id
    chart = clinic.patient_chart(patient_id)
    mri = next(e for e in chart.events if e.kind == "mri")
    assert chart.catheter is not None
    clinic.correct_record(
        window.actor, EventCorrection(mri.id, note="3 T brain"), "field strength misread"
    )
    clinic.correct_record(
        window.actor,
        CatheterCorrection(
            chart.catheter.id,
            catheter=(
                CatheterInput(
                    chart.catheter.model_key,
                    (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),),
                    "T9",
                )
            ),
        ),
        "tip level misread",
    )
    open_mrn(window, "100004")
    model = window.patient.history_model
    entries = model.entries()
    assert [e.what for e in entries] == [
        "Refill",
        "MRI",
        "MRI",
        "Prescription",
        "Refill",
        "Refill",
        "First fill",
        "Prescription",
        "Pump implanted",
        "Catheter record",
        "Catheter record",
    ]
    assert entries[1].status == "corrected (see below)"
    assert entries[2].corrects == entries[1].key and entries[2].status == (
        "correction of the entry above"
    )
    assert (
        entries[2].details == "3 T brain (post-MRI check: done). Corrected because: "
        "field strength misread"
    )
    assert model.index(2, 1).data() == "↳ MRI"
    catheter, correction = entries[9], entries[10]
    assert catheter.key == ("catheter", chart.catheter.id) and catheter.corrected
    assert catheter.when == entries[8].when  # beside the implant that recorded it
    assert catheter.details.startswith(
        "prometra-11823, tip T10, implanted length 80 cm (trimmed 30 cm), volume 0.21 mL"
    )
    assert correction.corrects == catheter.key
    assert correction.details.startswith("Changed: tip T10 → T9. prometra-11823, tip T9")
    assert correction.details.endswith("Corrected because: tip level misread")
    assert model.index(10, 1).data() == "↳ Catheter record"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_history_says_why_a_refill_and_a_prescription_were_corrected(window: MainWindow) -> None:
    """Corrected refills and prescriptions end with their reason, as events and catheters do;
    the version they correct does not."""
    open_mrn(window, "100004")
    chart = window.patient.chart
    assert chart is not None
    rx = chart.prescriptions[-1]
    rx_fixed = replace(
        rx,
        id=98,
        prescriber="Dr Q. Corrected",
        corrects_id=rx.id,
        correction_reason="prescriber name typed wrong",
    )
    entries = {
        e.key: e
        for e in timeline(
            replace(chart, prescriptions=(*chart.prescriptions, rx_fixed)), window.clinic.catalogs
        )
    }
    refill = next(r for r in chart.refills if r.corrects_id is not None)
    assert entries[("refill", refill.id)].details.endswith(
        ". Corrected because: lot number misread"
    )
    assert "Corrected because" not in entries[("refill", refill.corrects_id)].details
    assert entries[("prescription", 98)].details.endswith(
        ". Corrected because: prescriber name typed wrong"
    )
    assert "Corrected because" not in entries[("prescription", rx.id)].details


def test_the_history_table_is_sized_only_while_its_tab_is_shown(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Opening a patient does not have Qt measure every cell of the hidden History tab (a
    20-year history has hundreds of wrapped entries); showing the tab sizes its rows and
    columns to their contents, as they always were when shown."""
    from PySide6.QtWidgets import QHeaderView

    from ui.models.history import Column

    contents, interactive = (
        QHeaderView.ResizeMode.ResizeToContents,
        QHeaderView.ResizeMode.Interactive,
    )
    open_mrn(window, "100004")
    screen = window.patient
    view, model = screen.history_view, screen.history_model
    header, rows = view.horizontalHeader(), view.verticalHeader()
    sized = [c for c in Column if c != Column.DETAILS]
    assert model.rowCount() > 3
    assert {header.sectionResizeMode(int(c)) for c in sized} == {interactive}
    assert rows.sectionResizeMode(0) == interactive
    assert header.sectionResizeMode(int(Column.DETAILS)) == QHeaderView.ResizeMode.Stretch

    screen.tabs.setCurrentWidget(screen.history_tab)
    qtbot.waitExposed(view)
    qtbot.wait(50)  # the headers size their sections when the event loop is idle
    assert {header.sectionResizeMode(int(c)) for c in sized} == {contents}
    assert rows.sectionResizeMode(0) == contents
    heights = [rows.sectionSize(r) for r in range(model.rowCount())]
    for column in sized:
        assert header.sectionSize(int(column)) >= view.sizeHintForColumn(int(column))
    view.resizeRowsToContents()
    assert heights == [rows.sectionSize(r) for r in range(model.rowCount())]

    open_mrn(window, "100006")  # the next patient opens on the overview again
    assert screen.tabs.currentIndex() == 0
    assert {header.sectionResizeMode(int(c)) for c in sized} == {interactive}
    assert rows.sectionResizeMode(0) == interactive


def test_a_rebaseline_is_not_a_fill_and_the_line_runs_on(window: MainWindow) -> None:
    """After a prescription change the forecast starts from the expected volume then: the
    overview names it "Re-baselined", keeps the real last fill, and the chart's projection
    starts at that fill (the line does not break off)."""
    clinic = window.clinic
    open_mrn(window, "100001")
    chart = window.patient.chart
    assert chart is not None and chart.pump is not None and chart.prescription is not None
    last = chart.refills[-1]
    nurse = clinic.sign_in("nina", PASSWORD)
    now = clinic.clock.now()
    clinic.change_prescription(
        nurse,
        Verification("otto", PASSWORD),
        chart.pump.id,
        PrescriptionInput(
            (IngredientInput("baclofen", Q_("2000 mcg/mL")),),
            Schedule.simple(Q_("420 mcg/day")),
            now,
            "Dr Brandt",
            order=OrderGiven("written", now),
        ),
    )
    open_mrn(window, "100001")
    screen = window.patient
    tz = clinic.tz
    assert screen.forecast_fields.text("filled") == (
        f"{format_datetime(last.performed_at.astimezone(tz))}, 20 mL"
    )
    rebaselined = screen.forecast_fields.text("rebaselined")
    assert rebaselined.startswith(format_datetime(now.astimezone(tz)))
    assert rebaselined.endswith("expected (prescription changed; not a fill)")
    projection = screen.reservoir_chart._projection
    assert projection[0] == (last.performed_at, last.final_volume)
    assert projection[1][0] == screen.chart.forecast.filled_at  # type: ignore[union-attr]
    screen.grab()


def test_the_last_residual_to_investigate_is_said_on_the_overview_and_at_the_next_refill(
    window: MainWindow, qtbot: QtBot
) -> None:
    open_mrn(window, "100004")
    screen = window.patient
    assert "Last residual: investigate" in screen.flag_texts()
    flag = screen.flag_labels[screen.flag_texts().index("Last residual: investigate")]
    assert flag.toolTip().startswith("The last residual said investigate (")
    assert "+1.6 mL expected minus aspirated); note: pocket checked" in flag.toolTip()
    open_mrn(window, "100003")  # its last residual was a first fill: no flag
    assert "Last residual: investigate" not in window.patient.flag_texts()
    wizard = open_wizard(qtbot, window, "100004")
    said = wizard.patient.now_fields.text("last residual")
    assert said == flag.toolTip()
    wizard.discard()


def test_residuals_across_refills_table_and_point_tooltips(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Newest first: expected, aspirated, difference and delivery error from the core; the
    chart's points say the same when pointed at."""
    open_mrn(window, "100004")
    screen = window.patient
    screen.tabs.setCurrentIndex(1)
    table = screen.residual_table
    assert table.rowCount() == 2
    texts = [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]
    newest = texts[0]
    assert newest[3] == "+1.6 mL" and newest[5] == "investigate"
    assert newest[4].endswith(" %") and newest[4].startswith("+")
    assert texts[1][5] == "ok"
    chart = screen.residual_chart
    qtbot.waitUntil(lambda: bool(chart._spots))  # painted while the tab is shown
    spot, said = chart._spots[-1]
    assert chart.tooltip_at(spot) == said
    assert said.endswith(f"difference +1.6 mL, delivery error {newest[4]}; investigate")
    assert said.startswith(newest[0])
    assert chart.tooltip_at(spot + QPointF(40, 40)) == ""
    point = spot.toPoint()
    QApplication.sendEvent(chart, QHelpEvent(QEvent.Type.ToolTip, point, chart.mapToGlobal(point)))
    assert QToolTip.text() == said


def test_now_and_refill_due_never_overlap_and_stay_under_the_legend(window: MainWindow) -> None:
    """Due days before now, today, or days after; narrow or wide: the two labels are apart,
    inside the chart, and below the legend however many lines it wraps to."""
    open_mrn(window, "100001")
    screen = window.patient
    chart, pump = screen.reservoir_chart, screen.chart.pump  # type: ignore[union-attr]
    assert pump is not None
    refills = chart._refills
    now = window.clinic.clock.now()
    for width in (360, 560, 900):
        chart.resize(width, 200)
        for days in (-3, 0, 1, 4):
            chart.set_data(
                refills,
                capacity=pump.capacity,
                alarm=pump.alarm_volume,
                projection=chart._projection,
                due=(now + timedelta(days=days)).date(),
                now=now,
            )
            chart.grab()  # paints
            boxes = chart.label_boxes
            assert set(boxes) == {"now", "refill due"}
            assert not boxes["now"].intersects(boxes["refill due"]), (width, days)
            for box in boxes.values():
                assert QRectF(chart.rect()).contains(box), (width, days)
                assert box.top() >= chart.legend_bottom, (width, days)
        if width == 360:
            assert chart.legend_bottom > 2 * chart.fontMetrics().height()  # wrapped
