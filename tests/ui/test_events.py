"""Pump and catheter events end to end: each dialog, driven like a nurse, calls its one service,
and the patient view, the history and the due list follow."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dialog_recorder import Dialogs
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.catalogs import default_catalogs
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput
from ui import presentation
from ui.dialogs import events
from ui.dialogs.events import (
    CatheterRevisionDialog,
    ExplantDialog,
    ImplantDialog,
    MriDialog,
    PumpDatesDialog,
    PumpNoteDialog,
    ReplaceDialog,
    mri_checklist,
)
from ui.main_window import MainWindow


def open_mrn(window: MainWindow, mrn: str) -> int:
    patient_id = window.clinic.find_patient(mrn).id
    window.open_patient(patient_id)
    assert window.stack.currentWidget() is window.patient
    return patient_id


def history(window: MainWindow) -> list[tuple[str, str]]:
    return [(e.what, e.details) for e in window.patient.history_model.entries()]


def test_implant_with_catheter_and_priming(window: MainWindow, qtbot: QtBot) -> None:
    nurse = window.clinic.sign_in("nina", PASSWORD)
    patient = window.clinic.register_patient(
        nurse, PatientInput("200001", "Neumann", "Ida", date(1980, 5, 5), "spasticity_spinal")
    )
    window.open_patient(patient.id)
    assert window.event_actions[events.IMPLANT].isEnabled()
    assert not window.event_actions[events.REPLACE].isEnabled()
    assert window.patient.events_button.isEnabled()
    dialog = window.open_event_dialog(events.IMPLANT)
    assert isinstance(dialog, ImplantDialog)
    form = dialog.pump_form

    # Unsourced values are not prefilled: IsoMed's capacity is an inference.
    form.set_model("isomed-20")
    assert form.capacity.text() == ""
    assert "inference" in form.catalog_note.text()
    assert form.form.isRowVisible(form.nominal_flow)
    assert form.alarm_label.text() == "Planning &volume"
    qtbot.keyClicks(form.serial, "ISO200001")
    dialog.save_button.click()
    assert dialog.isVisible()
    assert dialog.problem.text().startswith("Not saved: capacity")

    # SynchroMed II: capacity and alarm volume are sourced, so prefilled.
    form.set_model("synchromed2-20")
    assert (form.capacity.text(), form.alarm.text()) == ("20 mL", "2 mL")
    assert not form.form.isRowVisible(form.nominal_flow)
    assert form.replace_by.day() is None
    assert form.replace_by.line_edit.placeholderText() == "not known"
    form.replace_known.setChecked(True)
    assert form.replace_by.text() == "Mon 20 Oct 2025"
    catheter = dialog.catheter
    catheter.set_model("prometra-11823")
    qtbot.keyClicks(catheter.tip_level, "T10")
    qtbot.keyClicks(catheter.rows[0].trimmed.line_edit, "30 cm")
    assert catheter.rows[0].implanted.text() == "80 cm"
    assert catheter.volume_label.text() == "Catheter volume: 0.21 mL"
    assert catheter.priming_label.text().startswith("Priming volume: 0.21 mL (catheter only")
    qtbot.keyClicks(form.path_volume.line_edit, "0.22 mL")
    assert catheter.priming_label.text() == (
        "Priming volume: 0.43 mL (catheter plus the pump's fluid path 0.22 mL)"
    )
    assert "only under medical supervision" in catheter.warning.text()
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()

    chart = window.patient.chart
    assert chart is not None and chart.pump is not None and chart.catheter is not None
    assert chart.pump.serial_number == "ISO200001"
    assert str(chart.pump.capacity) == "20.0 milliliter"
    assert chart.pump.pump_path_volume is not None
    assert chart.pump.replace_by == window.clinic.today()
    assert chart.catheter.tip_level == "T10"
    assert window.patient.pump_fields.text("catheter").endswith("volume 0.21 mL")
    assert (
        "Pump implanted",
        "synchromed2-20 serial ISO200001 implanted (right lower abdomen)",
    ) in history(window)
    assert "implanted" in window.statusBar().currentMessage()
    assert not window.event_actions[events.IMPLANT].isEnabled()
    assert window.event_actions[events.MRI].isEnabled()


def test_pump_replacement(window: MainWindow, qtbot: QtBot) -> None:
    """The old pump is explanted, the new one active, the due list follows."""
    open_mrn(window, "100004")
    old = window.patient.pump()
    assert old is not None
    dialog = window.open_event_dialog(events.REPLACE)
    assert isinstance(dialog, ReplaceDialog)
    assert dialog.pump_form.model().key == old.model_key
    assert dialog.pump_form.site.currentText() == old.site
    assert not dialog.catheter_check.isChecked()
    assert not dialog.catheter_box.isVisibleTo(dialog)
    qtbot.keyClicks(dialog.pump_form.serial, "NGV900004")
    dialog.save_button.click()
    assert dialog.problem.text() == "Not saved: reason: say why the pump is replaced"
    qtbot.keyClicks(dialog.reason, "battery at ERI")
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()

    chart = window.patient.chart
    assert chart is not None and chart.pump is not None
    assert chart.pump.serial_number == "NGV900004" and chart.pump.status == "active"
    closed = next(p for p in chart.pumps if p.id == old.id)
    assert closed.status == "explanted"
    assert closed.explanted_on == window.clinic.today()
    assert closed.explant_reason == "replaced: battery at ERI"
    assert history(window)[:2] == [
        ("Pump replaced", "replaces synchromed2-20 NGV100004: battery at ERI"),
        ("Pump explanted", "explanted: replaced by synchromed2-20 NGV900004: battery at ERI"),
    ]
    assert window.patient.pump_fields.text("serial") == "NGV900004"

    window.show_dashboard()
    pumps = {row.pump_id: row for row in window.dashboard.model.rows()}
    assert old.id not in pumps
    assert chart.pump.id in pumps
    assert pumps[chart.pump.id].mrn == "100004"


def test_explant_leaves_the_due_list(window: MainWindow, dialogs: Dialogs) -> None:
    patient_id = open_mrn(window, "100003")
    dialog = window.open_event_dialog(events.EXPLANT)
    assert isinstance(dialog, ExplantDialog)
    dialog.reason.setText("pocket infection")
    dialogs.confirm_answer = False
    dialog.save_button.click()
    assert dialog.isVisible() and window.patient.pump() is not None  # nothing saved
    dialogs.confirm_answer = True
    dialog.save_button.click()
    assert not dialog.isVisible()
    assert window.patient.pump() is None
    assert window.patient.flag_texts() == ["No active pump"]
    assert window.event_actions[events.IMPLANT].isEnabled()
    window.show_dashboard()
    assert patient_id not in {row.patient_id for row in window.dashboard.model.rows()}


def test_catheter_revision_with_priming_volume(window: MainWindow) -> None:
    open_mrn(window, "100001")
    dialog = window.open_event_dialog(events.REVISION)
    assert isinstance(dialog, CatheterRevisionDialog)
    row = dialog.catheter.rows[0]
    assert (row.trimmed.text(), row.implanted.text(), row.per_length.text()) == (
        "30 cm",
        "80 cm",
        "0.0026 mL/cm",
    )
    assert dialog.catheter.tip_level.text() == "T10"
    row.trimmed.set_text("40 cm")
    row.implanted.set_text("70 cm")
    assert dialog.catheter.part_volumes() == ["0.18 mL"]
    assert dialog.catheter.priming_label.text() == (
        "Priming volume: 0.18 mL (catheter only: the pump already holds drug)"
    )
    dialog.note.setText("catheter kinked at the anchor; distal part replaced")
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()
    chart = window.patient.chart
    assert chart is not None and chart.catheter is not None
    assert window.patient.pump_fields.text("catheter").endswith("volume 0.18 mL")
    assert history(window)[0] == (
        "Catheter revised",
        "catheter kinked at the anchor; distal part replaced",
    )


def test_mri_recorded_with_the_checklist(window: MainWindow, dialogs: Dialogs) -> None:
    open_mrn(window, "100002")
    dialog = window.open_event_dialog(events.MRI)
    assert isinstance(dialog, MriDialog)
    assert "rotor stops" in dialog.catalog_text.text()
    assert [short for short, _ in dialog.items] == ["infusion stop explained"]
    assert "interrogated" in dialog.post_check.text()
    dialog.note.setPlainText("1.5 T brain")
    for _, check in dialog.items:
        check.setChecked(True)
    dialog.post_check.setChecked(True)
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()
    assert dialogs.texts("confirm") == []
    mri = [details for what, details in history(window) if what == "MRI"]
    assert mri == ["1.5 T brain\nChecklist: infusion stop explained: done (post-MRI check: done)"]
    assert window.statusBar().currentMessage() == "MRI recorded (post-MRI check done)."


def test_mri_check_not_done_is_asked_and_recorded(window: MainWindow, dialogs: Dialogs) -> None:
    open_mrn(window, "100002")
    dialog = window.open_event_dialog(events.MRI)
    assert isinstance(dialog, MriDialog)
    dialogs.confirm_answer = False
    dialog.save_button.click()
    assert dialog.isVisible()
    assert "the post-MRI check" in dialogs.texts("confirm")[0]
    dialogs.confirm_answer = True
    dialog.save_button.click()
    assert not dialog.isVisible()
    entry = window.patient.history_model.entries()[0]
    assert entry.what == "MRI" and "post-MRI check: NOT done" in entry.details
    assert "infusion stop explained: NOT done" in entry.details


def test_mri_checklists_follow_the_catalog() -> None:
    catalogs = default_catalogs()
    prometra = mri_checklist(catalogs.pump_model("prometra2-20"))
    assert any("EMPTIED" in text for _, text in prometra.before)
    assert [short for short, _ in prometra.after] == ["FAV reset", "pump refilled"]
    assert [s for s, _ in mri_checklist(catalogs.pump_model("prometra-20")).after] == [
        "pump refilled"
    ]
    legacy = mri_checklist(catalogs.pump_model("synchromed-el-10"))
    assert "2 to 24 h" in legacy.after[0][1]
    assert mri_checklist(catalogs.pump_model("isomed-20")).before == ()
    assert mri_checklist(None).before[0][0] == "labelling checked"


def test_alarm_eri_and_note(window: MainWindow) -> None:
    open_mrn(window, "100006")
    dialog = window.open_event_dialog(events.NOTE)
    assert isinstance(dialog, PumpNoteDialog)
    dialog.kind_buttons["eri"].setChecked(True)
    dialog.save_button.click()
    assert dialog.problem.text() == "Not saved: note: write what happened"
    dialog.note.setPlainText("ERI shown at interrogation; replacement booked")
    dialog.save_button.click()
    assert not dialog.isVisible()
    assert window.statusBar().currentMessage() == "ERI recorded."
    assert history(window)[0][1] == "ERI shown at interrogation; replacement booked"


def test_locking_hides_an_open_event_dialog(window: MainWindow) -> None:
    """Hidden while locked; another user's sign-in discards it (nothing saved)."""
    open_mrn(window, "100001")
    dialog = window.open_event_dialog(events.NOTE)
    assert dialog is not None and dialog.isVisible()
    window.lock()
    assert not dialog.isVisible()
    assert window.open_event_dialog(events.NOTE) is None
    window.unlock(window.clinic.sign_in("otto", PASSWORD))
    assert not dialog.isVisible()
    assert window.event_dialog is None


@pytest.fixture
def admin_window(qtbot: QtBot, clinic: ClinicService) -> MainWindow:
    main = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(main)
    main.show()
    return main


def test_the_administrator_records_no_clinical_events(admin_window: MainWindow) -> None:
    open_mrn(admin_window, "100001")
    assert not any(action.isEnabled() for action in admin_window.event_actions.values())
    assert not admin_window.patient.events_button.isEnabled()
    assert admin_window.open_event_dialog(events.MRI) is None
    admin_window.idle.stop()


def test_the_implant_date_is_corrected_through_its_dialog(window: MainWindow) -> None:
    """The nurse corrects the implant date: a refusal names the field and keeps the dialog;
    the saved date shows on the patient view, and the history keeps the implant as first
    recorded with its correction beneath it."""
    open_mrn(window, "100001")
    chart = window.patient.chart
    assert chart is not None and chart.pump is not None
    recorded = chart.pump.implanted_on
    assert window.event_actions[events.PUMP_DATES].isEnabled()
    dialog = window.open_event_dialog(events.PUMP_DATES)
    assert isinstance(dialog, PumpDatesDialog)
    assert dialog.explanted_on is None  # an active pump has no explant date
    assert picked(dialog) == recorded

    dialog.reason.setText("date read from the wrong letter")
    dialog.implanted_on.set_value(dialog.implanted_on.latest)  # today: after the fills
    dialog.save_button.click()
    assert dialog.isVisible()
    assert dialog.problem.text().startswith(
        "Not saved: implant date: is after the pump's first prescription"
    )

    corrected = recorded - timedelta(days=2)
    dialog.implanted_on.set_value(corrected)
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()
    assert window.patient.pump_fields.text("implanted").startswith(
        presentation.date_text(corrected) + ","
    )
    assert window.statusBar().currentMessage().endswith("dates corrected.")
    implants = [e for e in window.patient.history_model.entries() if e.what == "Pump implanted"]
    tz = window.clinic.tz
    assert [(presentation.date_text(e.when, tz), e.status) for e in implants] == [
        (presentation.date_text(recorded), "corrected (see below)"),
        (presentation.date_text(corrected), "correction of the entry above"),
    ]
    assert "Corrected because: date read from the wrong letter" in implants[1].details


def picked(dialog: PumpDatesDialog) -> date:
    shown = dialog.implanted_on.day()
    assert shown is not None
    return shown
