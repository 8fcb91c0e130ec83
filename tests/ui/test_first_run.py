"""A real clinic set up through the first-run screens (issue 15), on SQLite; the connection
test against PostgreSQL when ``PUMPMGR_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from database_targets import create_schema, drop_schema, postgres_schema_url
from dialog_recorder import Dialogs
from mnemonics import clashes
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD, clinic_on

from pumpmgr import workstation
from pumpmgr.services import ClinicService
from pumpmgr.services.library_edits import unconfirmed
from pumpmgr.units import Q_
from ui import app
from ui.wizards.first_run import CONFIRM_REASON, FirstRunWizard


@pytest.fixture(autouse=True)
def choice_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / workstation.FILENAME
    monkeypatch.setattr(workstation, "choice_file", lambda: path)
    return path


def _wizard(qtbot: QtBot, clinic: ClinicService) -> FirstRunWizard:
    wizard = FirstRunWizard(clinic)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _next(qtbot: QtBot, wizard: FirstRunWizard) -> None:
    assert wizard.next_button.isEnabled(), wizard.problem_label.text()
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)


def _fill_clinic_and_days(qtbot: QtBot, wizard: FirstRunWizard) -> None:
    step = wizard.about_clinic
    assert wizard.current() is step
    assert not wizard.next_button.isEnabled()
    assert wizard.problem_label.text() == "To go on: type the clinic's name"
    qtbot.keyClicks(step.name, "Harbour Pump Clinic")
    step.phone.setText("+49 30 555 0100")
    step.time_zone.setCurrentText("Mars/Olympus")
    assert "time zone" in wizard.problem_label.text() and not wizard.next_button.isEnabled()
    step.time_zone.setCurrentText("Europe/Berlin")
    step.buffer.setValue(5)
    step.page_size.setCurrentText("Letter")
    _next(qtbot, wizard)
    days = wizard.days
    for check in days.days:
        check.setChecked(False)
    assert wizard.problem_label.text() == "To go on: tick a day the clinic is open"
    for number in (0, 1, 2, 3):
        days.days[number].setChecked(True)
    days.closed_day.line_edit.setText("not a day")
    assert not days.add_closed_day() and "closed day" in days.message.text()
    days.closed_day.set_value(date(2026, 12, 25))
    qtbot.mouseClick(days.add_button, Qt.MouseButton.LeftButton)
    assert days.closed.count() == 1 and days.dates == [date(2026, 12, 25)]
    _next(qtbot, wizard)


def test_a_new_clinic_through_the_screens(
    qtbot: QtBot, empty_clinic: ClinicService, choice_file: Path, dialogs: Dialogs
) -> None:
    wizard = _wizard(qtbot, empty_clinic)
    assert wizard.current() is wizard.place and wizard.place.choice.local.isChecked()
    assert wizard.place.choice.chosen() == str(empty_clinic.database.path)
    _next(qtbot, wizard)
    _fill_clinic_and_days(qtbot, wizard)

    admin = wizard.administrator
    admin.full_name.setText("Hana Admin")
    admin.username.setText("h.admin")
    admin.password.setText(PASSWORD)
    admin.repeat.setText(PASSWORD + "x")
    assert wizard.problem_label.text() == "To go on: type the same password twice"
    admin.password.setText("short")
    admin.repeat.setText("short")
    assert wizard.next_button.text() == "&Create the clinic >"
    _next(qtbot, wizard)
    assert wizard.current() is admin and admin.message.text().startswith("Not created:")
    assert "password" in admin.message.text() and not empty_clinic.has_users()
    admin.password.setText(PASSWORD)
    admin.repeat.setText(PASSWORD)
    _next(qtbot, wizard)
    assert wizard.actor is not None and wizard.actor.role == "administrator"
    assert not wizard.back_button.isEnabled()  # the clinic exists: no going back

    settings = empty_clinic.settings()
    assert (
        settings.clinic_name,
        settings.clinic_phone,
        settings.time_zone,
        settings.buffer_days,
        settings.page_size,
        settings.open_days,
        settings.closed_dates,
    ) == (
        "Harbour Pump Clinic",
        "+49 30 555 0100",
        "Europe/Berlin",
        5,
        "Letter",
        frozenset({0, 1, 2, 3}),
        frozenset({date(2026, 12, 25)}),
    )
    assert not choice_file.exists()  # the records stayed where this start opened them

    library = wizard.library
    assert wizard.current() is library and wizard.next_button.text() == "&Finish"
    listed = [(v.drug.key, v.field) for v in library.values]
    assert listed == [(d.key, f) for d, f in unconfirmed(empty_clinic.library())]
    by_key = {(v.drug.key, v.field): v for v in library.values}
    morphine = by_key[("morphine", "soft_max")]
    assert morphine.edit.text() == "15 mg/day"
    morphine.confirm.setChecked(True)
    hydromorphone = by_key[("hydromorphone", "typical_max")]
    hydromorphone.confirm.setChecked(True)
    hydromorphone.edit.set_text("eight")
    assert not wizard.next_button.isEnabled()
    hydromorphone.edit.set_text("8 mg/day")
    _next(qtbot, wizard)
    assert wizard.result() == FirstRunWizard.DialogCode.Accepted

    left = [(d.key, f) for d, f in unconfirmed(empty_clinic.library())]
    assert ("morphine", "soft_max") not in left and ("hydromorphone", "typical_max") not in left
    assert len(left) == len(listed) - 2
    assert empty_clinic.library().drug("hydromorphone").typical_max.value == Q_("8 mg/day")
    entries = sorted(empty_clinic.audit_entries(0, 20), key=lambda e: e.seq)
    assert [e.action for e in entries] == [
        "clinic.set_up",
        "drug_library.edit",
        "drug_library.edit",
    ]
    assert {e.reason for e in entries[1:]} == {CONFIRM_REASON}
    assert json.loads(entries[0].payload)["after"]["time_zone"] == "Europe/Berlin"
    assert empty_clinic.sign_in("h.admin", PASSWORD).id == wizard.actor.id


def test_each_alt_key_of_a_step_is_one_fields_or_buttons(
    qtbot: QtBot, empty_clinic: ClinicService
) -> None:
    """Tried by hand: on the clinic's step Alt+N went to the name, not Next, and Alt+B to
    the refill buffer, not Back (a letter claimed twice only moves the focus)."""
    wizard = _wizard(qtbot, empty_clinic)
    for number, step in enumerate(wizard.steps):
        wizard.go_to(number)
        assert clashes(wizard) == {}, step.title


def test_a_phone_that_is_not_a_number_stops_next(qtbot: QtBot, empty_clinic: ClinicService) -> None:
    wizard = _wizard(qtbot, empty_clinic)
    _next(qtbot, wizard)
    step = wizard.about_clinic
    qtbot.keyClicks(step.name, "Harbour Pump Clinic")
    qtbot.keyClicks(step.phone, "phone 123")
    assert not wizard.next_button.isEnabled()
    assert "clinic phone: 'phone 123' is not a telephone number" in wizard.problem_label.text()
    step.phone.setText("+49 30 555 0100")
    assert wizard.next_button.isEnabled()


def test_enter_in_the_closed_day_box_adds_the_day(
    qtbot: QtBot, empty_clinic: ClinicService
) -> None:
    """Tried by hand: a holiday typed and Enter went on to the administrator without the day
    (Enter pressed Next)."""
    wizard = _wizard(qtbot, empty_clinic)
    _next(qtbot, wizard)
    qtbot.keyClicks(wizard.about_clinic.name, "Harbour Pump Clinic")
    _next(qtbot, wizard)
    days = wizard.days
    box = days.closed_day.line_edit
    holiday = date.today() + timedelta(days=30)
    qtbot.keyClicks(box, holiday.isoformat())
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert wizard.current() is days
    assert days.dates == [holiday] and box.text() == ""
    qtbot.keyClicks(box, (holiday + timedelta(days=1)).isoformat())
    assert not wizard.next_button.isEnabled()  # a day typed, not added yet
    assert "closed day" in wizard.problem_label.text()
    qtbot.keyClick(box, Qt.Key.Key_Enter)
    assert days.dates == [holiday, holiday + timedelta(days=1)]
    qtbot.keyClick(box, Qt.Key.Key_Return)  # the box empty: Enter is Next again
    assert wizard.current() is wizard.administrator


def test_cancel_after_typing_asks_first(
    qtbot: QtBot, empty_clinic: ClinicService, dialogs: Dialogs
) -> None:
    """Tried by hand: Cancel on the third step quit at once, the clinic's name, phone and
    closed days typed lost without a word."""
    wizard = _wizard(qtbot, empty_clinic)
    _next(qtbot, wizard)
    qtbot.keyClicks(wizard.about_clinic.name, "Harbour Pump Clinic")
    dialogs.confirm_answer = False
    qtbot.mouseClick(wizard.cancel_button, Qt.MouseButton.LeftButton)
    assert dialogs.texts("confirm") == ["Stop setting up the clinic? Nothing typed here is kept."]
    assert wizard.isVisible() and wizard.current() is wizard.about_clinic
    dialogs.confirm_answer = True
    qtbot.mouseClick(wizard.cancel_button, Qt.MouseButton.LeftButton)
    assert wizard.result() == FirstRunWizard.DialogCode.Rejected and not wizard.isVisible()
    assert not empty_clinic.has_users()


def test_cancel_before_typing_asks_nothing(
    qtbot: QtBot, empty_clinic: ClinicService, dialogs: Dialogs
) -> None:
    wizard = _wizard(qtbot, empty_clinic)
    qtbot.mouseClick(wizard.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialogs.texts("confirm") and not wizard.isVisible()


def test_the_records_in_another_file_are_remembered(
    qtbot: QtBot, empty_clinic: ClinicService, tmp_path: Path, choice_file: Path
) -> None:
    wizard = _wizard(qtbot, empty_clinic)
    missing = tmp_path / "no-such-folder" / "clinic.db"
    wizard.place.choice.file.setText(str(missing))
    assert "does not exist" in wizard.problem_label.text()
    other = tmp_path / "records" / "clinic.db"
    other.parent.mkdir()
    wizard.place.choice.file.setText(str(other))
    _next(qtbot, wizard)
    assert empty_clinic.database.path == other
    _fill_clinic_and_days(qtbot, wizard)
    admin = wizard.administrator
    for edit, text in (
        (admin.full_name, "Hana Admin"),
        (admin.username, "h.admin"),
        (admin.password, PASSWORD),
        (admin.repeat, PASSWORD),
    ):
        edit.setText(text)
    _next(qtbot, wizard)
    assert wizard.actor is not None
    assert workstation.chosen_database() == str(other)


def test_a_workstation_joining_a_clinic_signs_in(
    qtbot: QtBot,
    tmp_path: Path,
    sample_path: Path,
    choice_file: Path,
    dialogs: Dialogs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first run finds the clinic's records in another file: the start-up then asks for
    a sign-in to that clinic, and its due list is read again after it (not the empty one
    read before the clinic was found)."""

    def first_run(cls: type[FirstRunWizard], clinic: ClinicService, parent: object = None) -> None:
        wizard = _wizard(qtbot, clinic)
        wizard.place.choice.file.setText(str(sample_path))
        _next(qtbot, wizard)
        assert wizard.result() == FirstRunWizard.DialogCode.Accepted and wizard.actor is None

    monkeypatch.setattr(FirstRunWizard, "ask", classmethod(first_run))
    startup = app.Startup(app.Source(tmp_path / "new.db", daily_backup=False), clinic_on)
    shown = None
    try:
        startup.begin()
        qtbot.waitUntil(
            lambda: (
                startup.dialog.isVisible()
                and startup.clinic is not None
                and startup.clinic.has_users()
            ),
            timeout=20_000,
        )
        form = startup.dialog.form
        form.username.setText("nina")
        form.password.setText(PASSWORD)
        with qtbot.waitSignal(startup.started, timeout=20_000) as started:
            form.submit.click()
        shown = started.args[0]
        assert shown.dashboard.model.rowCount() > 0  # the joined clinic's due list
        assert workstation.chosen_database() == str(sample_path)
        assert "already holds" in dialogs.texts("info")[0]
    finally:
        startup.finish(0)
        if startup.task is not None and not startup.task.finished:
            startup.task.wait()
        # Every main window closed and deleted now: one left alive claims Ctrl+Q a second time
        # for the tests that run after this one in the same process.
        for window in {w for w in (startup.window, shown) if w is not None}:
            window.idle.stop()
            window.close()
            window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        if startup.clinic is not None:
            startup.clinic.database.dispose()
        if startup.database is not None:
            startup.database.dispose()


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    if not os.environ.get("PUMPMGR_TEST_POSTGRES_URL"):
        pytest.skip("PUMPMGR_TEST_POSTGRES_URL is not set: no PostgreSQL connection test")
    schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
    create_schema(schema)
    yield schema
    drop_schema(schema)


def test_the_connection_test_on_postgresql(
    qtbot: QtBot, empty_clinic: ClinicService, postgres_schema: str
) -> None:
    wizard = _wizard(qtbot, empty_clinic)
    choice = wizard.place.choice
    choice.server.setChecked(True)
    assert "type the server's address" in wizard.problem_label.text()
    base = os.environ["PUMPMGR_TEST_POSTGRES_URL"]
    choice.address.setText(base.replace(":5432/", ":1/"))
    assert wizard.problem_label.text() == "To go on: press Test the connection"
    qtbot.mouseClick(choice.test_button, Qt.MouseButton.LeftButton)
    assert choice.result.text().startswith("Not connected: nothing answers at")
    assert not wizard.next_button.isEnabled()
    choice.address.setText(postgres_schema_url(postgres_schema))
    qtbot.mouseClick(choice.test_button, Qt.MouseButton.LeftButton)
    assert choice.result.text().startswith("Connected:") and "empty" in choice.result.text()
    _next(qtbot, wizard)
    assert empty_clinic.database.backend == "postgresql"
    assert wizard.current() is wizard.about_clinic
    empty_clinic.database.dispose()


def test_file_clinic_database_points_the_workstation_audited(
    qtbot: QtBot, clinic: ClinicService, tmp_path: Path, choice_file: Path, dialogs: Dialogs
) -> None:
    from ui.dialogs.clinic_database import ClinicDatabaseDialog
    from ui.main_window import MainWindow

    nurse = clinic.sign_in("nina", PASSWORD)
    window = MainWindow(clinic, nurse)
    qtbot.addWidget(window)
    assert not window.clinic_database_action.isEnabled()  # administrators only
    admin = next(u for u in clinic.list_users() if u.role == "administrator")
    dialog = ClinicDatabaseDialog(clinic, clinic.sign_in(admin.username, PASSWORD))
    qtbot.addWidget(dialog)
    assert not dialog.save() and "already" in dialog.message.text()
    dialog.choice.server.setChecked(True)
    dialog.choice.address.setText("postgresql+psycopg://pumpmgr_app@127.0.0.1:1/pumpmgr")
    assert not dialog.save() and dialog.message.text() == (
        "Not changed: press Test the connection."
    )
    qtbot.mouseClick(dialog.choice.test_button, Qt.MouseButton.LeftButton)
    assert not dialog.save() and "connection test failed" in dialog.message.text()
    assert not choice_file.exists()
    dialog.choice.local.setChecked(True)
    moved = tmp_path / "moved.db"
    dialog.choice.file.setText(str(moved))
    assert dialog.save() and dialog.result() == ClinicDatabaseDialog.DialogCode.Accepted
    assert workstation.chosen_database() == str(moved)
    assert "From its next start this workstation opens" in dialogs.texts("info")[0]
    last = max(clinic.audit_entries(0, 500), key=lambda e: e.seq)
    assert (last.action, last.username) == ("workstation.database", admin.username)
    assert json.loads(last.payload) == {"before": str(clinic.database.path), "after": str(moved)}
    window.close()


def test_the_settings_screen_keeps_or_changes_the_time_zone(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    """A clinic set up before the time zone existed keeps none (each workstation's own) until
    the administrator chooses one; a name that is not a zone is refused, naming the field."""
    from ui.screens.records_settings import SettingsTab

    admin = next(u for u in clinic.list_users() if u.role == "administrator")
    tab = SettingsTab(clinic)
    qtbot.addWidget(tab)
    tab.set_actor(clinic.sign_in(admin.username, PASSWORD))
    tab.load()
    assert clinic.settings().time_zone == "" and tab.time_zone.currentText()
    tab.name.setText("Pump Clinic")
    tab.buffer.setValue(6)
    assert tab.save(), tab.message.text()
    assert clinic.settings().time_zone == ""
    tab.time_zone.setCurrentText("Atlantis/Capital")
    assert not tab.save() and "time zone: 'Atlantis/Capital'" in tab.message.text()
    tab.time_zone.setCurrentText("Europe/Lisbon")
    assert tab.save() and clinic.settings().time_zone == "Europe/Lisbon"
    tab.load()
    assert tab.time_zone.zone() == "Europe/Lisbon"
