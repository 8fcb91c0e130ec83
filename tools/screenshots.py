"""Grab every screen of the desktop program on a demo clinic and save PNGs in docs/screenshots.

Usage:  python3 tools/screenshots.py --sizes       (every picture, unattended; prints the time)
        python3 tools/screenshots.py [--sample] [--out DIR] [--width 1366 --height 768]
                                    [--scale 2] [--only NAME_PATTERN ...]

``--sizes`` makes every picture of the docs: the whole set at 1366x768 in docs/screenshots,
the main screens (:data:`MAIN_SCREENS`) at 1024x768 and 1920x1080 in the folders of those
names, a few on a 4K screen at 200 % in docs/screenshots/4k, the first-run pages
(tools/first_run_screenshots.py) and the printed sheets (tools/sheets.py). Without it, one
screen size: offscreen (``QT_QPA_PLATFORM=offscreen`` unless set otherwise) on a screen of the
given size in pixels (default 1366x768). ``--scale`` is the screen's device pixel ratio
(``QT_SCALE_FACTOR``): a 4K screen at 200 % is ``--width 3840 --height 2160 --scale 2``, and
the pictures then have twice the pixels of the window's layout, as on that screen. ``--only``
takes shell patterns of the names.

Every run is hermetic: the user's folders and QSettings point at a temporary home, so the
windows show the default settings (the due list's default columns, no remembered size), and
nothing of the real user's is read or written.

The demo clinic is built with
``pumpmgr.demo`` for a fixed day (Monday 20 October 2025, Berlin: the clocks change six
days later, so the daylight-saving notice shows) and a clock standing at 09:00 that day, so the
pictures are the same on every run. ``--sample`` uses the small six-patient clinic of the
desktop tests instead (quicker). Look at every picture after a change to the screens.

Over 600 lines: one list of pictures with the scene each needs, all staged on the one demo
clinic and window that the run builds once.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import os
import subprocess
import sys
import tempfile
import time as clock
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import screenshots_orders as scenes  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QSize, QTimer  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from pumpmgr import logfile  # noqa: E402
from pumpmgr.clock import FixedClock  # noqa: E402
from pumpmgr.db.engine import Database, open_database  # noqa: E402
from pumpmgr.refill import discrepancy_threshold  # noqa: E402
from pumpmgr.services import Actor, ClinicService  # noqa: E402
from pumpmgr.units import Q_, Kind  # noqa: E402
from pumpmgr.visit_record import PumpAlarm, SiteFinding  # noqa: E402
from ui.app import setup_application  # noqa: E402
from ui.dialogs.sign_in import SignInDialog  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.models.due_list import DueFilter  # noqa: E402
from ui.widgets.quantity_edit import QuantityEdit  # noqa: E402
from ui.wizards.first_run import FirstRunWizard  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2025, 10, 20)
NOW = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _clinic(database: Database) -> ClinicService:
    return ClinicService(
        database, clock=FixedClock(NOW), tz=BERLIN, workstation="screenshots", hasher=FAST
    )


def build(folder: Path, sample: bool) -> tuple[Database, str, str, str]:
    """The clinic database, a user name and password to sign in with, and the sign-in hint."""
    path = folder / "clinic.db"
    if sample:
        sys.path.insert(0, str(ROOT / "tests" / "ui"))
        from sample_clinic import (  # type: ignore[import-not-found]
            PASSWORD,
            create_sample_database,
        )

        create_sample_database(path)
        return open_database(path, daily_backup_keep=None), "nina", PASSWORD, ""
    from pumpmgr.demo import DEMO_USERS, build_demo_clinic

    database = open_database(path, daily_backup_keep=None)
    build_demo_clinic(database, today=TODAY, tz=BERLIN)
    nurse = next(u for u in DEMO_USERS if u.role == "nurse")
    listed = "; ".join(f"{u.username} / {u.password} ({u.role})" for u in DEMO_USERS)
    return (
        database,
        nurse.username,
        nurse.password,
        f"Demo clinic: the patients are made up. Demo users (user name / password): {listed}.",
    )


#: Name patterns of the pictures to write (``--only``); empty: every picture.
ONLY: list[str] = []


#: The pictures of a run, to find the ones a scene could not make (``--sample``: the small
#: clinic has no incident to review).
PICTURES = [
    "01-sign-in",
    "02-first-start",
    "03-due-list",
    "04-due-list-overdue",
    "05-due-list-search",
    "05-due-list-search-filtered",
    "06-patient-overview",
    "07-patient-constant-flow",
    "08-patient-admixture",
    "09-patient-overdue",
    "10-patient-residuals",
    "11-patient-history",
    "12-locked",
    "13-quantity-input",
    "20-refill-1-patient-and-pump",
    "20b-refill-before-the-refill",
    "21-refill-2-residual-investigate",
    "22-refill-3-solution",
    "23-refill-4-volume",
    "24-refill-5-program-bridge",
    "25-refill-5-program-warning",
    "26-refill-6-at-the-pump",
    "27-refill-7-programmer-differs",
    "28-refill-8-second-nurse-mismatch",
    "29-refill-9-review",
    "30-refill-10-saved",
    "31-prescription-warning",
    "32-prescription-flex",
    "33-print-preview",
    "34-due-list-print-buttons",
    "35-copy-note-refill",
    "36-patient-history-copy-note",
    "40-event-implant",
    "41-event-replace",
    "42-event-catheter-revision",
    "43-event-mri-synchromed",
    "44-event-mri-prometra",
    "45-event-alarm-eri-note",
    "45-event-pump-dates",
    "45-event-refill-correction",
    "46-calculator-forecast",
    "47-calculator-bridge",
    "48-calculator-priming",
    "49-calculator-compounding",
    "50-calculator-units",
    "51-records-audit-log",
    "52-records-backup-restore-export",
    "53-records-accounts",
    "54-records-settings",
    "55-records-drug-library",
    "56-records-pump-models",
    "57-records-export-for-the-hospital",
    "60-week-bookings",
    "61-due-list-booking-states",
    "62-orders-to-sign",
    "63-patient-alerts",
    "64-prescription-tenfold-reentry",
    "65-incident-review",
    "66-refill-computed-empty-1-patient",
    "66-refill-computed-empty-2-before-the-refill",
]
#: The names of the pictures taken in this run (written or left out by ``--only``).
TAKEN: set[str] = set()


def save(widget: QWidget, out: Path, name: str) -> Path:
    # a few rounds: the labels a page adds when it is filled are shown and laid out by
    # events posted in turn (one round grabbed a patient's panes empty)
    for _ in range(4):
        QCoreApplication.sendPostedEvents()
        QApplication.processEvents()
    TAKEN.add(name)
    path = out / f"{name}.png"
    if ONLY and not any(fnmatch.fnmatchcase(name, pattern) for pattern in ONLY):
        return path
    widget.grab().save(str(path))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def quantity_form() -> QWidget:
    """The quantity input as a nurse meets it: right, converted, and refused entries."""
    page = QWidget()
    page.setObjectName("page")
    layout = QVBoxLayout(page)
    title = QLabel("The quantity input: number and unit typed together")
    title.setProperty("role", "title")
    layout.addWidget(title)
    form = QFormLayout()
    entries = [
        (Kind.DOSE_RATE, "Dose", "400 mcg/day"),
        (Kind.DOSE_RATE, "Dose (in mg)", "0.4 mg/d"),
        (Kind.DOSE_RATE, "Dose (mass only)", "400 mg"),
        (Kind.VOLUME, "Volume added", "0,5 mL"),
        (Kind.CONCENTRATION, "Concentration", "2000 mcg/mL"),
        (Kind.FLOW, "Daily volume", ""),
    ]
    for kind, name, text in entries:
        edit = QuantityEdit(kind, name.lower())
        edit.set_text(text)
        edit.setMinimumWidth(560)
        form.addRow(name, edit)
    layout.addLayout(form)
    layout.addStretch(1)
    page.resize(780, 420)
    return page


def _user(role: str, rank: int, sample: bool) -> tuple[str, str]:
    """The user name and password of the ``rank``-th user of ``role`` (0: the first)."""
    if sample:
        from sample_clinic import PASSWORD

        names = {
            "administrator": ["admin"],
            "nurse": ["nina", "otto"],
            "prescriber": ["brandt", "roth"],
        }
        return names[role][rank], PASSWORD
    from pumpmgr.demo import DEMO_USERS

    user = [u for u in DEMO_USERS if u.role == role][rank]
    return user.username, user.password


def _prescriber_name(sample: bool) -> str:
    """The full name of the clinic's first prescriber, as an order names them."""
    if sample:
        return "Dr Brandt"
    from pumpmgr.demo import DEMO_USERS

    return next(u.full_name for u in DEMO_USERS if u.role == "prescriber")


def _admin(clinic: ClinicService, sample: bool) -> Actor:
    """The clinic's administrator, signed in (for the records screens)."""
    return clinic.sign_in(*_user("administrator", 0, sample))


def events_calculators_records(
    window: MainWindow, clinic: ClinicService, out: Path, size: QSize, sample: bool
) -> None:
    """The pump-event dialogs, the calculators (with domain.md's worked examples) and the
    records screens (as the administrator): pictures 40 to 57."""
    from dataclasses import replace

    from ui.dialogs import events
    from ui.dialogs.refill_correction import RefillCorrectionDialog
    from ui.screens.records import RecordsTab

    rows = window.dashboard.model.rows()
    synchromed = next((r for r in rows if r.pump_model.startswith("SynchroMed")), rows[0])
    window.open_patient(synchromed.patient_id)
    chart = window.patient.chart
    assert chart is not None and chart.pump is not None and window.actor is not None
    nurse = window.actor

    def dialog_shot(dialog: events.EventDialog, name: str) -> None:
        dialog.show()
        save(dialog, out, name)
        dialog.reject()
        dialog.deleteLater()

    implant = events.ImplantDialog(clinic, nurse, replace(chart, pump=None, catheter=None), window)
    implant.pump_form.set_model("prometra2-20")
    implant.pump_form.serial.setText("PR2-104417")
    implant.catheter.set_model("prometra-11823")
    implant.catheter.tip_level.setText("T10")
    implant.catheter.rows[0].trimmed.set_text("30 cm")
    dialog_shot(implant, "40-event-implant")
    replace_dialog = events.ReplaceDialog(clinic, nurse, chart, window)
    replace_dialog.reason.setText("battery at ERI")
    dialog_shot(replace_dialog, "41-event-replace")
    revision = events.CatheterRevisionDialog(clinic, nurse, chart, window)
    dialog_shot(revision, "42-event-catheter-revision")
    mri = events.MriDialog(clinic, nurse, chart, window)
    mri.note.setPlainText("1.5 T lumbar spine")
    dialog_shot(mri, "43-event-mri-synchromed")
    prometra = next((r for r in rows if r.pump_model.startswith("Prometra")), None)
    if prometra is not None:
        window.open_patient(prometra.patient_id)
        assert window.patient.chart is not None
        dialog_shot(
            events.MriDialog(clinic, nurse, window.patient.chart, window), "44-event-mri-prometra"
        )
    else:
        pump = replace(chart.pump, model_key="prometra2-20", model_name="Prometra II 20 mL")
        dialog_shot(
            events.MriDialog(clinic, nurse, replace(chart, pump=pump), window),
            "44-event-mri-prometra",
        )
    window.open_patient(synchromed.patient_id)
    note = events.PumpNoteDialog(clinic, nurse, chart, window)
    note.kind_buttons["alarm"].setChecked(True)
    dialog_shot(note, "45-event-alarm-eri-note")
    dates = events.PumpDatesDialog(clinic, nurse, chart, window)
    dates.reason.setText("implant date copied from the wrong operation note")
    dialog_shot(dates, "45-event-pump-dates")
    corrected = {r.corrects_id for r in chart.refills}
    refill = max((r for r in chart.refills if r.id not in corrected), key=lambda r: r.id)
    correction = RefillCorrectionDialog(clinic, nurse, chart, refill.id, window)
    correction.aspirated.set_text("2.8 mL")
    correction.reason.setText("aspirate read from the syringe of the patient before")
    correction.second.username.setText(_user("nurse", 1, sample)[0])
    dialog_shot(correction, "45-event-refill-correction")

    window.show_calculators()
    calculators = window.calculators
    calc = calculators.forecast
    calc.set_filled_at(datetime(2025, 3, 3, 0, 0))
    calc.fill_volume.set_text("20 mL")
    calc.concentration.set_text("2000 mcg/mL")
    calc.dose.set_text("400 mcg/day")
    calc.accuracy.setValue(14.5)
    save(window, out, "46-calculator-forecast")
    calculators.tabs.setCurrentWidget(calculators.bridge)
    for edit, text in (
        (calculators.bridge.dose, "300 mcg/day"),
        (calculators.bridge.old, "1000 mcg/mL"),
        (calculators.bridge.new, "2000 mcg/mL"),
        (calculators.bridge.dead_space, "0.35 mL"),
    ):
        edit.set_text(text)
    save(window, out, "47-calculator-bridge")
    calculators.tabs.setCurrentWidget(calculators.priming)
    calculators.priming.catheter.set_model("prometra-11823")
    calculators.priming.catheter.rows[0].trimmed.set_text("30 cm")
    save(window, out, "48-calculator-priming")
    calculators.tabs.setCurrentWidget(calculators.compounding)
    for edit, text in (
        (calculators.compounding.flow, "1 mL/day"),
        (calculators.compounding.dose, "4 mg/day"),
        (calculators.compounding.stock, "25 mg/mL"),
        (calculators.compounding.fill, "20 mL"),
    ):
        edit.set_text(text)
    save(window, out, "49-calculator-compounding")
    calculators.tabs.setCurrentWidget(calculators.conversion)
    calculators.conversion.value.set_text("0.4 mg/day")
    save(window, out, "50-calculator-units")

    admin_window = MainWindow(clinic, _admin(clinic, sample))
    admin_window.resize(size)
    admin_window.show()
    try:
        admin_window.show_records(RecordsTab.AUDIT)
        audit = admin_window.records.audit
        audit.verify()
        audit.table.selectRow(0)
        save(admin_window, out, "51-records-audit-log")
        admin_window.show_records(RecordsTab.DATA)
        save(admin_window, out, "52-records-backup-restore-export")
        admin_window.show_records(RecordsTab.USERS)
        save(admin_window, out, "53-records-accounts")
        admin_window.show_records(RecordsTab.SETTINGS)
        save(admin_window, out, "54-records-settings")
        admin_window.show_records(RecordsTab.LIBRARY)
        admin_window.records.library.select("baclofen")
        save(admin_window, out, "55-records-drug-library")
        admin_window.show_records(RecordsTab.PUMPS)
        admin_window.records.pumps.table.selectRow(0)
        save(admin_window, out, "56-records-pump-models")
        admin_window.show_records(RecordsTab.HOSPITAL)
        save(admin_window, out, "57-records-export-for-the-hospital")
    finally:
        admin_window.idle.stop()
        admin_window.close()
        admin_window.deleteLater()
        # Delete the dialogs and the second window now, not at interpreter exit, where
        # PySide6 may free them in an order that crashes.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _within_typical_dose(clinic: ClinicService, patient_id: int) -> bool:
    """Whether the patient's daily dose is at most the drug library's soft maximum for
    baclofen: the refill pictured changes the concentration only, and its checks stay
    warnings."""
    prescription = clinic.patient_chart(patient_id).prescription
    soft_max = clinic.library().drug("baclofen").soft_max
    return (
        prescription is not None
        and soft_max is not None
        and prescription.schedule.daily_dose() <= soft_max.value
    )


def refill_prescription_printing(
    window: MainWindow, clinic: ClinicService, out: Path, size: QSize, sample: bool
) -> None:
    """Every step of the refill wizard (a baclofen pump going from one concentration to
    another) with its visit note and the history's Copy note, the prescription dialog (a warning
    waiting for its reason; a flex schedule with patient boluses) and the print preview: pictures
    20 to 36."""
    import time as clock_time

    from PySide6.QtCore import QEvent

    from pumpmgr.formatting import format_quantity as shown
    from pumpmgr.services.sheets import SheetService
    from ui.dialogs.prescription import PrescriptionDialog
    from ui.dialogs.print_preview import PrintPreviewDialog
    from ui.wizards.refill import RefillWizard

    dialog_size = QSize(min(1120, size.width() - 40), size.height() - 8)
    username, password = _user("nurse", 1, sample)
    prescriber = _prescriber_name(sample)

    def settle(seconds: float = 0.4) -> None:
        end = clock_time.monotonic() + seconds
        while clock_time.monotonic() < end:
            QApplication.processEvents()
            clock_time.sleep(0.02)

    rows = window.dashboard.model.rows()
    baclofen = next(
        r
        for r in rows
        if r.drug.startswith("baclofen")
        and not r.flex_schedule
        and r.pump_model.startswith("SynchroMed")
        and r.state != "fine"
        and _within_typical_dose(clinic, r.patient_id)
    )
    window.open_patient(baclofen.patient_id)
    wizard = RefillWizard(
        clinic, window.actor or _admin(clinic, sample), baclofen.patient_id, window
    )
    wizard.resize(dialog_size)
    wizard.show()
    save(wizard, out, "20-refill-1-patient-and-pump")
    wizard.patient.confirmed.setChecked(True)
    wizard.next()
    bedside = wizard.bedside
    bedside.running.setChecked(True)
    bedside.alarms[PumpAlarm.LOW_RESERVOIR].setChecked(True)
    bedside.reservoir.set_text("2.1 mL")
    bedside.site_assessed.setChecked(True)
    bedside.findings[SiteFinding.REDNESS].setChecked(True)
    bedside.site_note.setText("slight redness over the pump, no warmth")
    bedside.symptoms_asked.setChecked(True)
    save(wizard, out, "20b-refill-before-the-refill")
    wizard.next()
    base = wizard.base_plan
    assert base is not None and base.expected_residual is not None
    expected = float(base.expected_residual.to("mL").m)
    # 0.6 mL past the discrepancy threshold: investigate, never found empty (a restart would
    # need the prescriber)
    off = float(discrepancy_threshold(wizard.pump.capacity).to("mL").m) + 0.6
    aspirated = expected - off if expected >= off + 0.6 else expected + off
    wizard.residual.aspirated.set_text(f"{aspirated:.1f} mL")
    save(wizard, out, "21-refill-2-residual-investigate")
    wizard.residual.note.setPlainText(
        "Pocket checked, no swelling; pump interrogated, no alarms. Recheck at the next refill."
    )
    wizard.next()
    current = base.current_solution[0].concentration
    new = "1000 mcg/mL" if float(current.to("mcg/mL").m) != 1000 else "2000 mcg/mL"
    wizard.solution.new_concentration.setChecked(True)
    wizard.solution.editor.rows[0].concentration.set_text(new)
    wizard.solution.lot.setText("BAC-25-0612")
    wizard.solution.expiry.set_value(date(2026, 4, 30))
    save(wizard, out, "22-refill-3-solution")
    wizard.next()
    save(wizard, out, "23-refill-4-volume")
    wizard.next()
    wizard.program.prescriber.setText(prescriber)
    wizard.program.order_edit.set_given_as("written")
    settle()
    save(wizard, out, "24-refill-5-program-bridge")
    wizard.program.bridge_acknowledged.setChecked(True)
    wizard.program.changed_radio.setChecked(True)
    dose = wizard.program.schedule.daily_dose.quantity()
    assert dose is not None
    wizard.program.schedule.daily_dose.set_quantity(dose * 1.5)
    settle()
    save(wizard, out, "25-refill-5-program-warning")
    wizard.program.schedule.daily_dose.set_quantity(dose)
    wizard.program.unchanged.setChecked(True)
    settle()
    for reason in wizard.program.findings.reason_edits.values():
        reason.setText("dose unchanged; agreed with Dr Brandt")
    wizard.next()
    wizard.checks.needle.setChecked(True)
    save(wizard, out, "26-refill-6-at-the-pump")
    wizard.checks.running.setChecked(True)
    wizard.next()
    plan = wizard.plan
    assert plan is not None
    wizard.programmer.reservoir.set_quantity(plan.refill.final_volume)
    alarm = plan.forecast.alarm_at
    wizard.programmer.alarm.set_value(alarm + timedelta(days=3))
    wizard.programmer.daily_volume.set_text(shown(plan.program.daily_volume(), Kind.FLOW))
    save(wizard, out, "27-refill-7-programmer-differs")
    wizard.programmer.alarm.set_value(alarm)
    wizard.next()
    step = wizard.verify_step
    step.username.setText(username)
    step.password.setText(password)
    step.concentrations[0].set_text(new)
    step.volume.set_quantity(plan.refill.final_volume - Q_(1, "mL"))
    step.lot.setText("BAC-25-0612")
    wizard.next()
    save(wizard, out, "28-refill-8-second-nurse-mismatch")
    step.volume.set_quantity(plan.refill.final_volume)
    step.password.setText(password)
    wizard.next()
    save(wizard, out, "29-refill-9-review")
    wizard.next()
    save(wizard, out, "30-refill-10-saved")
    note = wizard.copy_note()  # the saved refill's visit note, on the clipboard and shown
    assert note is not None
    note.resize(QSize(min(760, size.width() - 40), min(640, size.height() - 8)))
    save(note, out, "35-copy-note-refill")
    note.done(0)
    note.deleteLater()
    wizard.done(0)
    wizard.deleteLater()
    # the history's Copy note: the refill just saved, selected
    window.open_patient(baclofen.patient_id)
    window.patient.tabs.setCurrentIndex(2)
    window.patient.history_view.selectRow(0)
    save(window, out, "36-patient-history-copy-note")
    window.patient.tabs.setCurrentIndex(0)

    actor = window.actor or _admin(clinic, sample)
    window.open_patient(baclofen.patient_id)
    dialog = PrescriptionDialog(clinic, actor, baclofen.patient_id, window)
    dialog.resize(dialog_size)
    dialog.show()
    dialog.schedule.daily_dose.set_quantity(dose * 1.5)
    dialog.prescriber.setText(prescriber)
    dialog.order_edit.set_given_as("written")
    settle()
    save(dialog, out, "31-prescription-warning")
    dialog.done(0)
    dialog.deleteLater()
    flex = next((r for r in rows if r.flex_schedule), None)
    if flex is not None:
        dialog = PrescriptionDialog(clinic, actor, flex.patient_id, window)
        dialog.resize(dialog_size)
        dialog.show()
        settle()
        save(dialog, out, "32-prescription-flex")
        dialog.done(0)
        dialog.deleteLater()

    pdf = SheetService(clinic).worksheet(clinic.patient_chart(baclofen.patient_id).patient.mrn)
    preview = PrintPreviewDialog(
        "Refill worksheet (before the visit)", pdf, "worksheet.pdf", window
    )
    preview.resize(QSize(min(900, size.width() - 40), size.height() - 8))
    preview.show()
    save(preview, out, "33-print-preview")
    preview.done(0)
    preview.deleteLater()
    window.show_dashboard()
    save(window, out, "34-due-list-print-buttons")
    # Delete the dialogs now, while Qt runs (not during the interpreter's shutdown).
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()


def _offscreen_screen(width: int, height: int, scale: float, folder: Path) -> None:
    """Before the application starts: an offscreen screen of ``width`` x ``height`` pixels
    at device pixel ratio ``scale`` (a 4K screen at 200 %: 3840 x 2160 at 2)."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return  # a real display, or a configured one: use it as it is
    config = folder / "screen.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": f"{width}x{height}",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    if scale != 1:
        os.environ["QT_SCALE_FACTOR"] = f"{scale:g}"


#: The main screens, pictured again on the smallest screen and on a common large one
#: (``--sizes``): the due list, a patient, the lock, every refill step, the prescription, the
#: pump events, the calculators, the records, the bookings and the prescriber's screens.
MAIN_SCREENS = [
    "03-*",
    "04-*",
    "05-*",
    "06-*",
    "10-*",
    "11-*",
    "12-*",
    "2*-refill-*",
    "30-*",
    "31-*",
    "32-*",
    "40-*",
    "41-*",
    "45-*",
    "4[6-9]-*",
    "50-*",
    "51-*",
    "54-*",
    "55-*",
    "56-*",
    "60-*",
    "62-*",
    "63-*",
    "64-*",
    "66-*",
]
#: The pictures of a 4K screen at 200 %.
FOUR_K_SCREENS = [
    "01-sign-in",
    "03-due-list",
    "06-patient-overview",
    "12-locked",
    "21-refill-*",
    "24-refill-*",
    "29-refill-*",
    "31-prescription-warning",
]
#: ``--sizes``: (width, height, scale, folder under docs/screenshots, pictures; empty: all).
SIZES = [
    (1366, 768, 1.0, "", []),
    (1024, 768, 1.0, "1024x768", MAIN_SCREENS),
    (1920, 1080, 1.0, "1920x1080", MAIN_SCREENS),
    (3840, 2160, 2.0, "4k", FOUR_K_SCREENS),
]


@contextmanager
def hermetic_home(folder: Path) -> Iterator[None]:
    """The user's configuration, data and log folders (and QSettings: each user's window
    size and due-list columns) in ``folder`` while the pictures are made: they show the
    default settings, and nothing is read from or written to the real user's home."""
    names = (
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        logfile.ENV_VAR,
    )
    before = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ[name] = str(folder / name.lower())
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "qsettings")
    )
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def every_size(out: Path, sample: bool) -> int:
    """Every picture: each screen size of :data:`SIZES` (a process each: the offscreen
    screen's size is fixed when Qt starts), the first-run pages and the printed sheets."""
    tools = Path(__file__).resolve().parent
    runs: list[tuple[str, list[str]]] = []
    for width, height, scale, folder, only in SIZES:
        args = [
            str(tools / "screenshots.py"),
            "--width",
            str(width),
            "--height",
            str(height),
            "--scale",
            f"{scale:g}",
            "--out",
            str(out / folder),
        ]
        runs.append(
            (
                f"{width}x{height}" + (f" at {scale:g}x" if scale != 1 else ""),
                args + (["--sample"] if sample else []) + (["--only", *only] if only else []),
            )
        )
    runs.append(
        ("first run", [str(tools / "first_run_screenshots.py"), "--out", str(out / "first_run")])
    )
    runs.append(("sheets", [str(tools / "sheets.py"), "--out", str(out.parent / "sheets")]))
    started = clock.monotonic()
    for title, args in runs:
        print(f"== {title}", flush=True)
        began = clock.monotonic()
        done = subprocess.run([sys.executable, *args], check=False)
        if done.returncode != 0:
            print(f"{title}: failed (exit code {done.returncode})", file=sys.stderr)
            return done.returncode
        print(f"== {title}: {clock.monotonic() - began:.0f} s", flush=True)
    print(f"every picture made in {clock.monotonic() - started:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", action="store_true", help="the small test clinic")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1366, help="the screen's width in pixels")
    parser.add_argument("--height", type=int, default=768, help="the screen's height in pixels")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="the screen's device pixel ratio (2 for a 4K screen at 200 %%)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="NAME_PATTERN",
        help="write only the pictures whose names match (shell patterns)",
    )
    parser.add_argument(
        "--sizes",
        action="store_true",
        help="every picture: the whole set at 1366x768, the main screens at "
        "1024x768, 1920x1080 and 4K, the first run and the sheets",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.sizes:
        return every_size(out, args.sample)
    started = clock.monotonic()
    UNEXPECTED.clear()
    TAKEN.clear()
    with (
        tempfile.TemporaryDirectory(prefix="pumpmgr-screenshots-") as home,
        hermetic_home(Path(home)),
    ):
        pictures(args, out)
    print(f"made in {clock.monotonic() - started:.0f} s")
    missing = [
        n for n in PICTURES if n not in TAKEN and not (args.sample and n == "65-incident-review")
    ]
    if missing:
        print(f"not made: {', '.join(missing)}", file=sys.stderr)
    if UNEXPECTED:
        print(
            f"{len(UNEXPECTED)} unexpected message(s): some pictures are not as planned",
            file=sys.stderr,
        )
    return 1 if missing or UNEXPECTED else 0


#: The messages a step met that the pictures do not expect (each closed by the watchdog).
UNEXPECTED: list[str] = []


def close_messages() -> None:
    """Close a message box left open over a picture (a modal one would stop the run for
    good, offscreen, with nobody to press OK) and keep what it said."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            said = f"{widget.windowTitle()}: {widget.text()}"
            UNEXPECTED.append(said)
            print(f"unexpected message, closed: {said}", file=sys.stderr)
            widget.reject()


def pictures(args: argparse.Namespace, out: Path) -> None:
    """Every picture of one screen size into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ONLY[:] = args.only
    scale = args.scale if args.scale > 0 else 1.0
    screen_folder = tempfile.TemporaryDirectory()
    app = QApplication.instance()
    if app is None:
        _offscreen_screen(args.width, args.height, scale, Path(screen_folder.name))
        app = QApplication(["pumpmgr-screenshots"])
    assert isinstance(app, QApplication)
    setup_application(app)
    # The window's content: the screen (in layout pixels) less a title bar and a task bar.
    size = QSize(round(args.width / scale), round(args.height / scale) - 60)

    def shoot(widget: QWidget, name: str) -> None:
        save(widget, out, name)

    watchdog = QTimer()
    watchdog.timeout.connect(close_messages)
    watchdog.start(300)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("building the clinic…")
        database, username, password, hint = build(folder, args.sample)
        empty = open_database(folder / "empty.db", daily_backup_keep=None)
        try:
            clinic = _clinic(database)
            print("grabbing:")
            dialog = SignInDialog(clinic, hint=hint, username=username)
            dialog.show()
            save(dialog, out, "01-sign-in")
            dialog.close()
            first = FirstRunWizard(_clinic(empty))  # its pages: tools/first_run_screenshots.py
            first.show()
            save(first, out, "02-first-start")
            first.close()

            window = MainWindow(clinic, clinic.sign_in(username, password))
            window.resize(size)
            window.show()
            save(window, out, "03-due-list")
            window.dashboard.set_filter(DueFilter.OVERDUE)
            save(window, out, "04-due-list-overdue")
            window.dashboard.set_filter(DueFilter.ALL)
            window.dashboard.search.setText(window.dashboard.model.rows()[1].patient.split(",")[0])
            save(window, out, "05-due-list-search")
            # a search the overdue filter hides: said, with the filter to clear
            window.dashboard.set_filter(DueFilter.OVERDUE)
            window.dashboard.search.setText(
                next(
                    r.patient for r in window.dashboard.model.rows() if r.state != "overdue"
                ).split(",")[0]
            )
            save(window, out, "05-due-list-search-filtered")
            window.dashboard.set_filter(DueFilter.ALL)
            window.dashboard.search.clear()
            scenes.bookings(window, shoot)

            rows = window.dashboard.model.rows()
            replace_soon = sorted(
                (r for r in rows if r.replace_by is not None), key=lambda r: r.replace_by or TODAY
            )
            picks = [
                ("06-patient-overview", replace_soon[0] if replace_soon else rows[0]),
                (
                    "07-patient-constant-flow",
                    next((r for r in rows if r.pump_type == "constant_flow"), rows[-1]),
                ),
                ("08-patient-admixture", next((r for r in rows if "+" in r.drug), rows[0])),
                (
                    "09-patient-overdue",
                    next(
                        (
                            r
                            for r in rows
                            if r.state == "overdue" and r.pump_type != "constant_flow"
                        ),
                        rows[0],
                    ),
                ),
            ]
            for name, row in picks:
                window.open_patient(row.patient_id)
                save(window, out, name)
            window.open_patient(picks[0][1].patient_id)
            window.patient.tabs.setCurrentIndex(1)
            save(window, out, "10-patient-residuals")
            window.patient.tabs.setCurrentIndex(2)
            save(window, out, "11-patient-history")
            events_calculators_records(window, clinic, out, size, args.sample)
            refill_prescription_printing(window, clinic, out, size, args.sample)
            # Locked with a refill half done: hidden, kept for the nurse (the notice says so).
            window.open_patient(picks[0][1].patient_id)
            wizard = window.start_refill()
            if wizard is not None:
                wizard.patient.confirmed.setChecked(True)
                wizard.next()
            window.lock()
            save(window, out, "12-locked")
            if wizard is not None:
                window.hidden_windows.clear()
                wizard.discard()
            form = quantity_form()
            form.show()
            save(form, out, "13-quantity-input")
            window.idle.stop()
            window.close()
            scenes.prescriber_screens(
                clinic, lambda role, rank: _user(role, rank, args.sample), size, shoot
            )
            # last: the clinic's clock moved on until a pump is computed empty (its sign-in
            # is dated then)
            for days in (7, 14, 21, 28):
                later = ClinicService(
                    database,
                    clock=FixedClock(NOW + timedelta(days=days)),
                    tz=BERLIN,
                    workstation="screenshots",
                    hasher=FAST,
                )
                if scenes.computed_empty_visit(
                    later, later.sign_in(username, password), size, shoot
                ):
                    break
            # Delete every window now, while Qt runs: PySide6 can abort the interpreter's
            # shutdown when widgets are still alive then.
            window.deleteLater()
            form.deleteLater()
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
            gc.collect()
        finally:
            database.dispose()
            empty.dispose()
            screen_folder.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
