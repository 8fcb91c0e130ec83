"""Correct this refill… from the patient's history, driven like a nurse: the dialog shows the
refill as recorded, a refusal lands on the field it names and keeps what was typed, and after
the save the history shows the correction beneath the refill and the forecast follows."""

from __future__ import annotations

from pathlib import Path

from clipping import clipped
from focus_order import assert_tab_follows_reading
from mnemonics import clashes
from PySide6.QtWidgets import QLabel
from sample_clinic import PASSWORD, TODAY

from pumpmgr.services.inputs import PumpInput, Verification
from ui import presentation
from ui.dialogs.refill_correction import RefillCorrectionDialog
from ui.main_window import MainWindow
from ui.models.history import TimelineEntry

#: Screenshots of the dialog, looked at by eye (not compared).
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def open_history(window: MainWindow, mrn: str) -> list[TimelineEntry]:
    window.open_patient(window.clinic.find_patient(mrn).id)
    screen = window.patient
    screen.tabs.setCurrentWidget(screen.history_tab)
    return screen.history_model.entries()


def select(window: MainWindow, entry: TimelineEntry) -> None:
    entries = window.patient.history_model.entries()
    window.patient.history_view.selectRow(entries.index(entry))


def refills(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    return [e for e in entries if e.key[0] == "refill"]


def test_only_a_refill_not_yet_corrected_is_offered(window: MainWindow) -> None:
    entries = open_history(window, "100004")
    screen = window.patient
    corrected = next(e for e in refills(entries) if e.corrected)
    correction = next(e for e in refills(entries) if e.corrects == corrected.key)
    event = next(e for e in entries if e.key[0] == "event")
    for entry, offered in ((corrected, False), (correction, True), (event, False)):
        select(window, entry)
        assert screen.correct_button.isEnabled() is offered, entry.what
        assert screen.correct_action.isEnabled() is offered
    assert "c" not in clashes(window)  # the history's new button, Alt+C, among the view's keys
    select(window, corrected)
    screen.correct_button.click()  # disabled: nothing opens
    assert window.event_dialog is None


def test_the_aspirated_volume_is_corrected_from_the_history(window: MainWindow) -> None:
    """The last refill of 100004 was recorded with 1.2 mL aspirated (investigate, 1.6 mL less
    than expected); the nurse read the wrong syringe and corrects it to 2.8 mL, and the volume
    added to 18 mL."""
    entries = open_history(window, "100004")
    last = refills(entries)[0]
    assert last.attention == "investigate" and not last.corrected
    due_before = window.patient.forecast_fields.text("refill due")
    select(window, last)
    window.patient.correct_button.click()
    dialog = window.event_dialog
    assert isinstance(dialog, RefillCorrectionDialog)
    assert dialog.refill.id == last.key[1]
    assert dialog.recorded.text("aspirated") == "1.2 mL"
    assert dialog.recorded.text("verdict") == "investigate"
    assert dialog.aspirated.text() == "1.2 mL"  # the recorded values, to change
    assert dialog.undiluted.isHidden()  # baclofen: no dilution recorded
    assert clashes(dialog) == {}
    assert_tab_follows_reading(dialog)
    assert clipped(dialog) == []

    # Nothing changed: refused, nothing sent.
    dialog.reason.setText("aspirate read from the wrong syringe")
    dialog.save_button.click()
    assert dialog.isVisible()
    assert "every value is as recorded" in dialog.problem.text()

    # The service refuses a fill above the 20 mL reservoir: on the volume-added field.
    dialog.aspirated.set_text("2.8 mL")
    dialog.volume_added.set_text("30 mL")
    dialog.second.username.setText("otto")
    dialog.second.password.setText(PASSWORD)
    dialog.save_button.click()
    assert dialog.isVisible()
    message, box = dialog.fields["fill volume"]
    assert not message.isHidden() and message.text().startswith("Not saved: fill volume: 30 mL")
    assert dialog.problem.text().startswith("Not saved: fill volume:")
    assert box is dialog.volume_added
    assert dialog.aspirated.text() == "2.8 mL"  # nothing typed is lost
    assert dialog.reason.text() == "aspirate read from the wrong syringe"
    assert dialog.second.password.text() == PASSWORD

    # A wrong password: on the second nurse's account, the password emptied.
    dialog.volume_added.set_text("18 mL")
    dialog.second.password.setText("not the password")
    dialog.save_button.click()
    assert dialog.isVisible()
    message, _ = dialog.fields["verification"]
    assert not message.isHidden()
    assert message.text() == "Not verified: unknown user name or wrong password"
    assert dialog.fields["fill volume"][0].isHidden()  # the earlier refusal is gone
    assert dialog.second.password.text() == ""
    assert dialog.aspirated.text() == "2.8 mL"

    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "refill_correction.png"))
    dialog.second.password.setText(PASSWORD)
    dialog.save_button.click()
    assert not dialog.isVisible(), dialog.problem.text()

    status = window.statusBar().currentMessage()
    assert status.startswith("Refill of ") and "aspirated 1.2 mL → 2.8 mL" in status, status
    assert "volume added 20 mL → 18 mL" in status and "verdict investigate → ok" in status
    screen = window.patient
    assert screen.tabs.currentWidget() is screen.history_tab  # the nurse stays on the history
    entries = screen.history_model.entries()
    at = entries.index(next(e for e in entries if e.key == last.key))
    old, new = entries[at], entries[at + 1]
    assert old.status == "corrected (see below)"
    assert new.corrects == last.key and new.status == "correction of the entry above"
    assert new.details.startswith(
        "Changed: aspirated 1.2 mL → 2.8 mL; volume added 20 mL → 18 mL; verdict investigate → ok."
    )
    assert new.details.endswith("Corrected because: aspirate read from the wrong syringe")
    assert "checked by Otto Second" in new.by
    assert screen.saved_record is not None and screen.saved_record.id == new.key[1]
    # 2 mL less in the pump: the forecast was worked out again and the screen shows it
    assert screen.forecast_fields.text("filled").endswith(", 18 mL")
    assert screen.forecast_fields.text("refill due") != due_before
    window.show_dashboard()
    row = next(r for r in window.dashboard.model.rows() if r.mrn == "100004")
    assert presentation.date_text(row.refill_due) == screen.forecast_fields.text("refill due")


def test_a_refill_corrected_meanwhile_is_refused_on_the_record(window: MainWindow) -> None:
    """Another workstation corrected the refill while the dialog was open: the save names the
    newer version and the dialog keeps what was typed."""
    entries = open_history(window, "100004")
    last = refills(entries)[0]
    select(window, last)
    window.patient.correct_button.click()
    dialog = window.event_dialog
    assert isinstance(dialog, RefillCorrectionDialog)
    nurse = window.clinic.sign_in("otto", PASSWORD)
    window.clinic.correct_refill(
        nurse, Verification("nina", PASSWORD), last.key[1], "lot misread", lot_number="L9"
    )
    dialog.lot.setText("L2025-200")
    dialog.reason.setText("lot misread")
    dialog.second.username.setText("otto")
    dialog.second.password.setText(PASSWORD)
    dialog.save_button.click()
    assert dialog.isVisible()
    assert "was already corrected by" in dialog.problem.text()
    assert dialog.lot.text() == "L2025-200"


def test_a_refill_of_the_replaced_pump_names_its_pump(window: MainWindow) -> None:
    """After a replacement the history still offers the old pump's refills; the dialog names
    that pump, as the heading names the new one."""
    clinic = window.clinic
    patient = clinic.find_patient("100004")
    old = clinic.patient_chart(patient.id).pump
    assert old is not None
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.replace_pump(
        nurse,
        old.id,
        PumpInput("synchromed2-20", "NGV900004", TODAY, old.site),
        "battery at ERI",
        None,
    )
    last = refills(open_history(window, "100004"))[0]
    select(window, last)
    window.patient.correct_button.click()
    dialog = window.event_dialog
    assert isinstance(dialog, RefillCorrectionDialog)
    explained = dialog.body.findChildren(QLabel)[0].text()
    assert explained.startswith("The refill of SynchroMed II 20 mL, serial NGV100004,"), explained
    assert "NGV900004" not in explained
