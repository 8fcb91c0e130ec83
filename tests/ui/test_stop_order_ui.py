"""The Stop order in the window (domain-rules §6): Prescriber → Stop a drug… with the
prescriber's own password puts the Stop order and the withdrawal warning at the top of the
patient's page and makes the patient urgent on the due list; a nurse's "Stop carried out…"
takes it away."""

from __future__ import annotations

from dialog_recorder import Dialogs
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from ui.dialogs.stop_order import StopDrugDialog
from ui.main_window import MainWindow
from ui.models.due_list import Column


def signed_in(qtbot: QtBot, clinic: ClinicService, username: str) -> MainWindow:
    main = MainWindow(clinic, clinic.sign_in(username, PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    return main


def fill_when_shown(qtbot: QtBot) -> None:
    """Fill the Stop a drug dialog once it shows (it runs modally) and save it."""

    def look() -> None:
        dialog = next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, StopDrugDialog) and w.isVisible()
            ),
            None,
        )
        if dialog is None:
            QTimer.singleShot(20, look)
            return
        assert dialog.drug.currentText() == "Baclofen"
        qtbot.keyClicks(dialog.reason, "intolerable drowsiness")
        dialog.long_stop.setChecked(True)
        assert not dialog.ok_button.isEnabled()  # the password is still missing
        qtbot.keyClicks(dialog.password, PASSWORD)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()

    QTimer.singleShot(0, look)


def test_prescriber_stops_a_drug_and_the_banner_stays_until_the_stop_is_carried_out(
    qtbot: QtBot, clinic: ClinicService, dialogs: Dialogs
) -> None:
    patient = clinic.find_patient("100004")  # on baclofen
    window = signed_in(qtbot, clinic, "brandt")
    window.open_patient(patient.id)
    page = window.patient
    assert not page.stop_done_button.isVisible()
    (action,) = [
        a
        for a in page.prescriber_button.menu().actions()
        if a.text().replace("&", "") == "Stop a drug…"
    ]
    fill_when_shown(qtbot)
    action.trigger()
    texts = page.alert_texts()
    stop = next(t for t in texts if t.startswith("STOP ORDER: baclofen stopped from "))
    assert "by Dr Brandt (intolerable drowsiness)" in stop
    assert stop.endswith("Empty the pump and fill it with preservative-free saline (a long stop).")
    assert any(t.startswith("WITHDRAWAL: stopping baclofen") for t in texts)
    assert page.alerts_label.property("role") == "alert"
    window.dashboard.refresh()
    (row,) = [r for r in window.dashboard.model.rows() if r.mrn == patient.mrn]
    assert row.state == "urgent" and row.open_stop_order
    states = [
        window.dashboard.model.index(n, int(Column.STATE)).data()
        for n, r in enumerate(window.dashboard.model.rows())
        if r.mrn == patient.mrn
    ]
    assert states[0].startswith("Urgent · stop order")
    window.idle.stop()

    nurse_window = signed_in(qtbot, clinic, "nina")
    nurse_window.open_patient(patient.id)
    page = nurse_window.patient
    assert page.stop_done_button.isVisible() and not page.prescriber_button.isVisible()
    dialogs.choice = 0  # emptied and filled with saline
    dialogs.text_answer = "aspirated 11.5 mL, filled with 20 mL saline"
    page.stop_done_button.click()
    assert not [t for t in page.alert_texts() if t.startswith(("STOP ORDER", "WITHDRAWAL"))]
    assert not page.stop_done_button.isVisible()
    assert clinic.patient_chart(patient.id).stop_orders == ()
    nurse_window.idle.stop()
