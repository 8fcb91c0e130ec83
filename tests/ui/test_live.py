"""Two workstations on one clinic, in real windows (issue 13): the due list and an open chart
follow the other workstation's changes within seconds, keeping the selection, tab and scroll
and never resetting an open dialog; a refill begun in the wizard before the other workstation
refilled the pump is refused at Save with who did what and when, and nothing is saved twice.
SQLite file and, when ``PUMPMGR_TEST_POSTGRES_URL`` is set, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from database_targets import DbTarget
from dialog_recorder import Dialogs
from pytestqt.qtbot import QtBot
from sample_clinic import (
    BERLIN,
    FAST_HASHER,
    NOW,
    PASSWORD,
    build_sample_clinic,
    clinic_on,
)
from test_refill_wizard import (
    at_the_pump,
    choose_solution,
    open_wizard,
    programmer_as_pumpmgr,
    refill_count,
    save,
    second_nurse,
    through_patient_and_residual,
    through_volume_and_program,
)

from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import open_database
from pumpmgr.records import DueRow
from pumpmgr.schedule import Schedule
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.inputs import (
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    Verification,
)
from pumpmgr.units import Q_
from ui.main_window import MainWindow

#: The live refresh polls every 1.5 s; a change must show well within this.
WITHIN_MS = 10_000


@dataclass
class Ward:
    """The other workstation: its own engine and service on the same clinic."""

    clinic: ClinicService
    otto: Actor

    def refill(self, patient_mrn: str, aspirated: str) -> None:
        pump = self.clinic.patient_chart(self.clinic.find_patient(patient_mrn).id).pump
        assert pump is not None
        self.clinic.record_refill(
            self.otto,
            Verification("nina", PASSWORD),
            pump.id,
            RefillInput(
                performed_at=NOW - timedelta(minutes=30),
                aspirated=Q_(aspirated),
                volume_added=Q_("20 mL"),
                lot_number="W-1",
                expiry=date(2026, 6, 30),
                source="pharmacy",
                needle_position_confirmed=True,
                pump_running_confirmed=True,
            ),
        )

    def reprogram(self, patient_mrn: str, dose: str) -> None:
        pump = self.clinic.patient_chart(self.clinic.find_patient(patient_mrn).id).pump
        assert pump is not None
        self.clinic.change_prescription(
            self.otto,
            Verification("nina", PASSWORD),
            pump.id,
            PrescriptionInput(
                ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
                schedule=Schedule.simple(Q_(dose)),
                effective_at=NOW - timedelta(minutes=60),
                prescriber="Dr Brandt",
                order=OrderGiven("written", NOW - timedelta(minutes=60)),
            ),
        )


@pytest.fixture
def ward(db_target: DbTarget, sample_path: object) -> Iterator[tuple[ClinicService, Ward]]:
    """This workstation's clinic and the other workstation, on one SQLite file (the sample
    clinic's) or one PostgreSQL schema (the sample clinic built there)."""
    url = str(sample_path) if db_target.backend == "sqlite" else db_target.url
    here = open_database(url, daily_backup_keep=None)
    there = open_database(url, daily_backup_keep=None)
    try:
        clinic = clinic_on(here)
        if db_target.backend == "postgresql":
            build_sample_clinic(clinic)
        other = ClinicService(
            there, clock=FixedClock(NOW), tz=BERLIN, workstation="ward-2", hasher=FAST_HASHER
        )
        yield clinic, Ward(other, other.sign_in("otto", PASSWORD))
    finally:
        there.dispose()
        here.dispose()


@pytest.fixture
def live_window(qtbot: QtBot, ward: tuple[ClinicService, Ward]) -> Iterator[MainWindow]:
    clinic, _ = ward
    main = MainWindow(clinic, clinic.sign_in("nina", PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.idle.stop()
    main.live.stop()


def _due_state(window: MainWindow, mrn: str) -> str:
    model = window.dashboard.model
    return next(
        model.row_at(i).state for i in range(model.rowCount()) if model.row_at(i).mrn == mrn
    )


def test_the_due_list_follows_the_other_workstation_keeping_the_selection(
    qtbot: QtBot, live_window: MainWindow, ward: tuple[ClinicService, Ward], dialogs: Dialogs
) -> None:
    window, (_, other) = live_window, ward
    dashboard = window.dashboard
    assert _due_state(window, "100001") == "overdue"
    # this workstation's own write (SQLite reports it too) changes nothing shown: no message,
    # though the clock has moved on since the list was read (the time left differs)
    assert isinstance(window.clinic.clock, FixedClock)
    window.clinic.clock.advance(timedelta(minutes=7))
    window.clinic.register_patient(
        window.clinic.sign_in("nina", PASSWORD),
        PatientInput("100077", "Neu", "Ida", date(1980, 1, 1), "spasticity_spinal"),
    )
    window.live.check()
    assert window.live.pending is None
    assert not window.statusBar().currentMessage().startswith("Read again")
    dashboard._select(next(r.pump_id for r in window.clinic.due_list() if r.mrn == "100004"))
    window.resize(1000, 620)  # the smallest window, the list shorter than its rows (as a
    dashboard.table.setMaximumHeight(110)  # long list is): scrolled down and sideways
    bars = (dashboard.table.verticalScrollBar(), dashboard.table.horizontalScrollBar())
    qtbot.waitUntil(lambda: all(bar.maximum() > 0 for bar in bars))
    for bar in bars:
        bar.setValue(bar.maximum())
    scrolled = [bar.value() for bar in bars]
    other.refill("100001", "1.2 mL")
    qtbot.waitUntil(lambda: _due_state(window, "100001") == "fine", timeout=WITHIN_MS)
    row = dashboard.current_row()
    assert row is not None and row.mrn == "100004"  # the nurse's selection stays
    assert [bar.value() for bar in bars] == scrolled  # and where she had scrolled to
    assert window.statusBar().currentMessage().startswith("Read again at 09:07")
    assert not dialogs.texts("error")


def _listed(window: MainWindow) -> dict[str, DueRow]:
    return {row.mrn: row for row in window.dashboard.model.rows()}


def test_a_read_after_days_says_nothing_when_only_the_clock_moved(
    qtbot: QtBot, live_window: MainWindow, ward: tuple[ClinicService, Ward], dialogs: Dialogs
) -> None:
    """Forty days on, a pump's refill comes within the booking horizon ("not booked"), a pump
    never filled is listed with the time of the read as its alarm, and the list's states and
    order move with the clock; the other workstation's save changes nothing listed, so the
    read it causes says nothing changed."""
    window, (_, other) = live_window, ward
    patient = other.clinic.register_patient(
        other.otto, PatientInput("100077", "Neu", "Ida", date(1980, 1, 1), "spasticity_spinal")
    )
    other.clinic.implant_pump(
        other.otto,
        patient.id,
        PumpInput("synchromed2-20", "NGV100077", NOW.date(), "left lower abdomen"),
        None,
    )
    qtbot.waitUntil(lambda: "100077" in _listed(window), timeout=WITHIN_MS)  # a pump more
    window.statusBar().clearMessage()
    before = _listed(window)
    assert isinstance(window.clinic.clock, FixedClock)
    window.idle.stop()  # forty days idle would lock the window
    window.clinic.clock.advance(timedelta(days=40))
    other.clinic.register_patient(
        other.otto, PatientInput("100078", "Neu", "Jan", date(1980, 1, 1), "spasticity_spinal")
    )
    qtbot.waitUntil(
        lambda: (row := _listed(window).get("100006")) is not None and row.booking == "not_booked",
        timeout=WITHIN_MS,
    )
    after = _listed(window)
    assert before["100006"].booking == ""  # the clock's doing
    assert after["100077"].alarm_at - before["100077"].alarm_at == timedelta(days=40)
    assert not window.statusBar().currentMessage().startswith("Read again")
    assert not dialogs.texts("error")


def _history_keys(window: MainWindow) -> list[tuple[str, int]]:
    return [entry.key for entry in window.patient.history_model.entries()]


def test_an_open_chart_follows_and_an_open_dialog_is_not_reset(
    qtbot: QtBot, live_window: MainWindow, ward: tuple[ClinicService, Ward]
) -> None:
    window, (_, other) = live_window, ward
    window.open_patient(window.clinic.find_patient("100004").id)
    window.patient.tabs.setCurrentWidget(window.patient.history_tab)
    window.patient.history_view.selectRow(2)
    chosen = _history_keys(window)[2]
    before = len(_history_keys(window))

    other.reprogram("100004", "380 mcg/day")
    qtbot.waitUntil(lambda: len(_history_keys(window)) == before + 1, timeout=WITHIN_MS)
    assert window.patient.tabs.currentWidget() is window.patient.history_tab
    assert window.patient.selected_record() is not None
    rows = window.patient.history_view.selectionModel().selectedRows()
    assert [_history_keys(window)[r.row()] for r in rows] == [chosen]
    prescription = window.patient.prescription_fields.text("dose baclofen")
    assert prescription == "380 mcg/day"

    # A dialog open: the change waits, and what the nurse typed stays.
    dialog = window.change_prescription()
    assert dialog is not None
    qtbot.keyClicks(dialog.note, "half typed")
    other.refill("100004", "16.4 mL")
    qtbot.waitUntil(lambda: window.live.pending is not None, timeout=WITHIN_MS)
    assert dialog.isVisible() and dialog.note.text() == "half typed"
    assert len(_history_keys(window)) == before + 1  # not read under the dialog
    dialog.reject()  # "close without saving?" answered yes by the recorder
    qtbot.waitUntil(lambda: len(_history_keys(window)) == before + 2, timeout=WITHIN_MS)
    assert window.live.pending is None


def test_a_refill_begun_before_the_other_workstations_refill_is_refused_at_save(
    qtbot: QtBot, live_window: MainWindow, ward: tuple[ClinicService, Ward], dialogs: Dialogs
) -> None:
    window, (clinic, other) = live_window, ward
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1.2 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2 mg/mL"])
    other.refill("100001", "1.2 mL")  # meanwhile, on the ward
    refills = refill_count(clinic)

    save(qtbot, wizard)
    assert wizard.outcome is None and wizard.current() is wizard.review  # all kept
    [shown] = dialogs.texts("error")
    assert (
        "refill: not saved. After this pump's record was read, Otto Second recorded a "
        "refill on Mon 20 Oct 2025 09:00 at workstation ward-2"
    ) in shown
    save(qtbot, wizard)  # pressed again: refused again, never saved twice
    assert refill_count(clinic) == refills
    assert window.clinical_dialog is wizard
