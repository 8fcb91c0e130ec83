"""Copy note: from the history, after a saved event, at the end of the refill wizard; the
clipboard holds the note the command line prints."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot
from test_refill_wizard import (
    at_the_pump,
    choose_solution,
    click,
    open_wizard,
    programmer_as_pumpmgr,
    save,
    second_nurse,
    through_patient_and_residual,
    through_volume_and_program,
)

from pumpmgr.services.hospital import HospitalService
from pumpmgr.services.inputs import CatheterCorrection, CatheterInput, SegmentInput
from pumpmgr.units import Q_
from pumpmgr.visit_note import RecordRef
from ui.dialogs import events, visit_note
from ui.main_window import MainWindow


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[visit_note.NoteDialog]:
    found: list[visit_note.NoteDialog] = []
    monkeypatch.setattr(visit_note, "show", found.append)
    return found


def open_mrn(window: MainWindow, mrn: str) -> None:
    window.open_patient(window.clinic.find_patient(mrn).id)


def select_first(window: MainWindow, kind: str) -> RecordRef:
    view, entries = window.patient.history_view, window.patient.history_model.entries()
    row = next(i for i, e in enumerate(entries) if e.key[0] == kind)
    view.selectRow(row)
    key = entries[row].key
    return RecordRef(key[0], key[1])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["refill", "prescription", "event"])
def test_the_selected_history_entry_is_copied_as_its_note(
    window: MainWindow, shown: list[visit_note.NoteDialog], kind: str
) -> None:
    open_mrn(window, "100004")
    screen = window.patient
    screen.history_view.clearSelection()
    assert not screen.copy_note_button.isEnabled()
    ref = select_first(window, kind)
    assert screen.copy_note_button.isEnabled()
    screen.copy_note_button.click()
    expected = HospitalService(window.clinic).note(ref)
    assert QGuiApplication.clipboard().text() == expected
    assert [d.note for d in shown] == [expected]
    assert shown[0].text.toPlainText() == expected
    assert f"Record {ref}, pumpmgr" in expected


def test_a_catheter_entry_has_no_note(window: MainWindow) -> None:
    """A corrected catheter shows as its own entries; the revision event carries the note."""
    open_mrn(window, "100004")
    chart = window.patient.chart
    assert chart is not None and chart.catheter is not None and window.actor is not None
    window.clinic.correct_record(
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
    select_first(window, "catheter")
    assert not window.patient.copy_note_button.isEnabled()
    assert window.patient.copy_selected_note() is None


def test_after_an_event_is_saved_its_note_is_one_click_away(
    window: MainWindow, shown: list[visit_note.NoteDialog]
) -> None:
    open_mrn(window, "100002")
    assert not window.patient.saved_note_button.isVisibleTo(window.patient)
    dialog = window.open_event_dialog(events.MRI)
    assert isinstance(dialog, events.MriDialog)
    dialog.note.setPlainText("1.5 T brain")
    for _, check in dialog.items:
        check.setChecked(True)
    dialog.post_check.setChecked(True)
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()
    assert dialog.saved_record is not None and dialog.saved_record.kind == "event"
    screen = window.patient
    assert screen.saved_note_button.isVisibleTo(screen)
    assert screen.saved_label.text() == "MRI recorded (post-MRI check done)."
    screen.saved_note_button.click()
    note = QGuiApplication.clipboard().text()
    assert note.startswith("Intrathecal pump event: MRI, ")
    assert "What happened: 1.5 T brain" in note and "post-MRI check: done" in note
    open_mrn(window, "100004")  # another patient: the offer goes
    assert not screen.saved_note_button.isVisibleTo(screen)


def test_the_refill_wizard_ends_with_copy_note(
    qtbot: QtBot, window: MainWindow, shown: list[visit_note.NoteDialog]
) -> None:
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1.2 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2 mg/mL"])
    save(qtbot, wizard)
    assert wizard.current() is wizard.done_step and wizard.outcome is not None
    click(qtbot, wizard.done_step.note_button)
    note = QGuiApplication.clipboard().text()
    assert note.startswith("Intrathecal pump refill, ")
    assert "Refill by Nina Nurse; second check by Otto Second" in note
    assert "aspirated 1.2 mL" in note and "Programmer: " in note
    # what was found before the refill, in the wizard's and the sheet's words
    assert (
        "Programmer before the refill: running, no alarm, reservoir 2 mL\n"
        "Found before the refill: site and pocket normal; no signs of withdrawal or "
        "overdose\n"
    ) in note
    assert note.endswith(f"Record refill:{wizard.outcome.refill.id}, pumpmgr\n")
    click(qtbot, wizard.next_button)  # Close
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    assert window.patient.saved_record == RecordRef("refill", wizard.outcome.refill.id)
