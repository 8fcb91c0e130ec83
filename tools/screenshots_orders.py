"""The screenshots of the bookings, the prescriber's work and the visit of a pump computed empty
(pictures 60 to 66), for tools/screenshots.py.

Each function takes the running window and ``shoot(widget, name)``, which saves one picture;
nothing here changes a record except where said (the prescriber's dialogs are cancelled).
"""

from __future__ import annotations

import sys
import time as clock_time
from collections.abc import Callable

from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QWidget

from pumpmgr.services import Actor, ClinicService
from ui.main_window import MainWindow

Shoot = Callable[[QWidget, str], None]
#: A user of a role, by their rank among the role's users: (user name, password).
User = Callable[[str, int], tuple[str, str]]


def settle(seconds: float = 0.4) -> None:
    """Let the background checks finish and the layouts settle."""
    end = clock_time.monotonic() + seconds
    while clock_time.monotonic() < end:
        QApplication.processEvents()
        clock_time.sleep(0.02)


def bookings(window: MainWindow, shoot: Shoot) -> None:
    """The week's bookings (60) and the due list with a booking state selected (61)."""
    window.show_week_view()
    shoot(window, "60-week-bookings")
    window.show_dashboard()
    dashboard = window.dashboard
    rows = dashboard.model.rows()
    late = next((n for n, r in enumerate(rows) if r.booking == "booked_too_late"), None)
    table = dashboard.table
    if late is not None:
        table.selectRow(dashboard.proxy.mapFromSource(dashboard.model.index(late, 0)).row())
    shoot(window, "61-due-list-booking-states")
    table.clearSelection()


def prescriber_screens(clinic: ClinicService, user: User, size: QSize, shoot: Shoot) -> None:
    """As the prescriber: the orders to sign (62), a patient's alerts (63), the blind re-entry
    of a possible tenfold error (64) and the review of an incident (65)."""
    username, password = user("prescriber", 0)
    window = MainWindow(clinic, clinic.sign_in(username, password))
    window.resize(size)
    window.show()
    try:
        window.show_orders()
        shoot(window, "62-orders-to-sign")
        patient_id = _patient_with_incident(clinic)
        window.open_patient(patient_id)
        shoot(window, "63-patient-alerts")
        _tenfold(window, clinic, user, size, shoot)
        window.open_patient(patient_id)
        _incident_review(window, shoot)
    finally:
        window.idle.stop()
        window.close()
        window.deleteLater()


def _patient_with_incident(clinic: ClinicService) -> int:
    """The first patient of the due list with an open incident (else the first patient)."""
    rows = clinic.due_list()
    for row in rows:
        if clinic.orders.incidents(row.patient_id):
            return row.patient_id
    return rows[0].patient_id


def _tenfold(
    window: MainWindow, clinic: ClinicService, user: User, size: QSize, shoot: Shoot
) -> None:
    """A baclofen dose cut to a fifth, else five times over (whichever the library lets be
    saved: the hard maximum or the pump's lowest flow blocks the other): Save asks the
    prescriber to type it again blind. The re-entry is pictured filled in, then cancelled
    (nothing saved)."""
    from ui.dialogs.prescription import PrescriptionDialog
    from ui.dialogs.tenfold import TenfoldDialog

    assert window.actor is not None
    row = next(
        r
        for r in clinic.due_list()
        if r.drug.startswith("baclofen")
        and not r.flex_schedule
        and not r.open_stop_order
        and not clinic.orders.incidents(r.patient_id)
    )
    window.open_patient(row.patient_id)
    dialog = PrescriptionDialog(clinic, window.actor, row.patient_id, window)
    dialog.resize(QSize(min(1120, size.width() - 40), size.height() - 8))
    dialog.show()
    settle()
    now = dialog.schedule.daily_dose.quantity()
    assert now is not None
    dialog.order_edit.set_given_as("written")
    second, password = user("nurse", 1)
    dialog.username.setText(second)
    dialog.password.setText(password)
    for dose in (now / 5, now * 5):
        dialog.schedule.daily_dose.set_quantity(dose)
        settle()
        for reason in dialog.findings.reason_edits.values():
            reason.setText("intended: agreed with the patient after review")
        settle(0.2)
        if dialog.save_button.isEnabled():
            break
    tries = [0]

    def answer() -> None:
        reentry = next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, TenfoldDialog) and w.isVisible()
            ),
            None,
        )
        if reentry is None:
            tries[0] += 1
            if tries[0] < 200:
                QTimer.singleShot(20, answer)
            return
        for edit in reentry.doses.values():
            edit.set_quantity(dose)  # typed again as first typed
        reentry.reason.setCurrentIndex(1)
        shoot(reentry, "64-prescription-tenfold-reentry")
        reentry.reject()

    QTimer.singleShot(0, answer)
    if not dialog.save_button.isEnabled():
        print(f"64: the change cannot be saved: {dialog.problem_label.text()}", file=sys.stderr)
    dialog.save()
    tries[0] = 200  # asked or not, stop looking
    dialog.done(0)
    dialog.deleteLater()


def _incident_review(window: MainWindow, shoot: Shoot) -> None:
    """The prescriber's review of an incident: the note asked for, pictured, then cancelled."""
    page = window.patient
    actions = [
        a
        for a in page.prescriber_button.menu().actions()
        if a.text().startswith("Review the incident")
    ]
    if not actions:
        return

    def answer() -> None:
        asked = next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QInputDialog) and w.isVisible()
            ),
            None,
        )
        if asked is None:
            QTimer.singleShot(20, answer)
            return
        asked.setTextValue(
            "Pump reprogrammed to the ordered dose; patient seen, no signs of "
            "withdrawal. Family told whom to call."
        )
        asked.resize(620, 320)
        shoot(asked, "65-incident-review")
        asked.reject()

    QTimer.singleShot(0, answer)
    actions[0].trigger()


def computed_empty_visit(clinic: ClinicService, nurse: Actor, size: QSize, shoot: Shoot) -> bool:
    """The visit of a pump computed empty (66), its first page and the "Before the refill"
    step; ``clinic``'s clock stands where a pump is. False when none is (nothing pictured)."""
    from ui.wizards.refill import RefillWizard

    empty = next(
        (
            r
            for r in clinic.due_list()
            if r.refill_state is not None and r.refill_state.words == "computed empty"
        ),
        None,
    )
    if empty is None:
        return False
    wizard = RefillWizard(clinic, nurse, empty.patient_id)
    wizard.resize(QSize(min(1120, size.width() - 40), size.height() - 8))
    wizard.show()
    shoot(wizard, "66-refill-computed-empty-1-patient")
    wizard.patient.confirmed.setChecked(True)
    wizard.next()
    shoot(wizard, "66-refill-computed-empty-2-before-the-refill")
    wizard.discard()
    wizard.deleteLater()
    return True
