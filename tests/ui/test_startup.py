"""Start-up the way a nurse meets it (issue 14): the sign-in window before the database is open,
a wrong password refused while the loading goes on, the due list shown at once after the
sign-in without being read again, and a first start on a clinic without accounts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dialog_recorder import Dialogs
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD, clinic_on

from pumpmgr.services import Actor, ClinicService
from ui import app
from ui.dialogs.sign_in import OPENING

WAIT_MS = 20_000


@pytest.fixture
def startups() -> Iterator[list[app.Startup]]:
    """Startups made by a test, ended and their windows and databases let go after it."""
    made: list[app.Startup] = []
    yield made
    for startup in made:
        startup.finish(0)
        if startup.task is not None and not startup.task.finished:
            startup.task.wait()  # the worker's database must not outlive the test
        if startup.window is not None:
            startup.window.idle.stop()
            startup.window.hide()
            startup.window.deleteLater()
        if startup.database is not None:
            startup.database.dispose()
    app_ = QApplication.instance()
    assert isinstance(app_, QApplication)
    app_.setQuitOnLastWindowClosed(True)


def _start(
    startups: list[app.Startup], path: Path, clinic_of: Callable[[Any], ClinicService] = clinic_on
) -> app.Startup:
    startup = app.Startup(app.Source(path, daily_backup=False), clinic_of)
    startups.append(startup)
    startup.begin()
    return startup


def _type(startup: app.Startup, username: str, password: str) -> None:
    form = startup.dialog.form
    form.username.setText(username)
    form.password.setText(password)
    form.submit.click()


def test_the_sign_in_window_is_shown_before_the_database_is_open(
    qtbot: QtBot, sample_path: Path, startups: list[app.Startup], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow database open (held by an event): the sign-in window is up and takes the name
    and password meanwhile; the sign-in is checked when the database is open, and the window
    shows the due list once it is loaded."""
    opening, release = threading.Event(), threading.Event()
    really_open = app.Source.open

    def slow_open(source: app.Source) -> Any:
        opening.set()
        assert release.wait(WAIT_MS / 1000)
        return really_open(source)

    monkeypatch.setattr(app.Source, "open", slow_open)
    startup = _start(startups, sample_path)
    qtbot.waitUntil(opening.is_set, timeout=WAIT_MS)
    assert startup.dialog.isVisible() and startup.clinic is None
    assert startup.dialog.title.text() == "pumpmgr"  # the clinic's name is not known yet
    _type(startup, "nina", PASSWORD)
    assert startup.dialog.form.message.text() == OPENING and startup.actor is None
    assert startup.dialog.isVisible()
    with qtbot.waitSignal(startup.started, timeout=WAIT_MS) as started:
        release.set()
    window = started.args[0]
    assert window is startup.window and window.isVisible()
    assert window.actor is not None and window.actor.username == "nina"
    assert window.stack.currentWidget() is window.dashboard
    assert window.dashboard.model.rowCount() == 6
    assert not startup.dialog.isVisible()


def test_a_wrong_password_is_refused_while_the_loading_goes_on(
    qtbot: QtBot, sample_path: Path, startups: list[app.Startup], dialogs: Dialogs
) -> None:
    """The database is open, the due list still being read (held by an event): a wrong
    password is refused at once and the name kept; the right one then opens the window on the
    rows read behind the sign-in, without reading them again."""
    reading, release = threading.Event(), threading.Event()
    reads: list[str] = []

    def clinic_of(database: Any) -> ClinicService:
        clinic = clinic_on(database)
        due_list = clinic.due_list

        def slow_due_list(**kwargs: Any) -> Any:
            reads.append(threading.current_thread().name)
            reading.set()
            assert release.wait(WAIT_MS / 1000)
            return due_list(**kwargs)

        clinic.due_list = slow_due_list  # type: ignore[method-assign]
        return clinic

    startup = _start(startups, sample_path, clinic_of)
    # the worker reads on once the database is open; the GUI thread learns of it by a signal
    qtbot.waitUntil(
        lambda: (reading.is_set() and startup.clinic is not None) or startup.status is not None,
        timeout=WAIT_MS,
    )
    assert startup.status is None, dialogs.shown
    assert startup.clinic is not None
    assert startup.dialog.title.text() == (startup.clinic.settings().clinic_name or "pumpmgr")
    _type(startup, "nina", "wrong password")
    form = startup.dialog.form
    assert form.message.text() == "Not signed in: unknown user name or wrong password."
    assert form.username.text() == "nina" and form.password.text() == ""
    assert startup.actor is None and startup.dialog.isVisible()
    assert startup.task is not None and not startup.task.finished  # still loading
    _type(startup, "nina", PASSWORD)  # signed in: the window follows when it is ready
    assert startup.actor is not None and startup.window is None
    assert form.message.text().startswith("Signed in as ")
    with qtbot.waitSignal(startup.started, timeout=WAIT_MS):
        release.set()
    window = startup.window
    assert window is not None and window.isVisible()
    assert window.dashboard.model.rowCount() == 6
    assert reads == ["pumpmgr-start-up"]  # read once, on the worker


def test_after_the_sign_in_the_due_list_is_shown_at_once(
    qtbot: QtBot, sample_path: Path, startups: list[app.Startup]
) -> None:
    """Loaded before the user signs in: the main window is built (hidden) and shown by the
    sign-in itself, the due list current."""
    startup = _start(startups, sample_path)
    with qtbot.waitSignal(startup.ready, timeout=WAIT_MS):
        pass
    window = startup.window
    assert window is not None and not window.isVisible() and window.actor is None
    assert window.dashboard.model.rowCount() == 6
    _type(startup, "nina", PASSWORD)
    assert window.isVisible() and window.actor is not None
    assert window.stack.currentWidget() is window.dashboard
    assert not startup.dialog.isVisible() and startup.status is None


def test_a_clinic_without_accounts_starts_with_its_first_run(
    qtbot: QtBot, tmp_path: Path, startups: list[app.Startup], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No account yet: the first start's screens (ui.app.first_run) instead of the sign-in;
    the administrator they create is signed in."""
    asked: list[ClinicService] = []

    def first_run(clinic: ClinicService) -> Actor:
        asked.append(clinic)
        return clinic.create_first_administrator("ada", PASSWORD, "Ada Admin")

    monkeypatch.setattr(app, "first_run", first_run)
    startup = _start(startups, tmp_path / "new.db")
    with qtbot.waitSignal(startup.started, timeout=WAIT_MS) as started:
        pass
    assert asked == [startup.clinic]
    window = started.args[0]
    assert window.actor.username == "ada" and window.dashboard.model.rowCount() == 0
    assert not startup.dialog.isVisible()


def test_quitting_the_first_run_ends_the_program(
    qtbot: QtBot, tmp_path: Path, startups: list[app.Startup], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "first_run", lambda clinic: None)
    startup = _start(startups, tmp_path / "new.db")
    qtbot.waitUntil(lambda: startup.status is not None, timeout=WAIT_MS)
    assert startup.status == 0 and startup.actor is None


def test_rows_read_long_before_the_sign_in_are_read_again(
    qtbot: QtBot, sample_path: Path, startups: list[app.Startup], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in long after the loading (the window left at its sign-in): the due list is
    read again when the window opens, not shown as it was then."""
    reads: list[str] = []

    def clinic_of(database: Any) -> ClinicService:
        clinic = clinic_on(database)
        due_list = clinic.due_list

        def counted(**kwargs: Any) -> Any:
            reads.append(threading.current_thread().name)
            return due_list(**kwargs)

        clinic.due_list = counted  # type: ignore[method-assign]
        return clinic

    monkeypatch.setattr(app, "READ_AGAIN_AFTER_S", -1.0)
    startup = _start(startups, sample_path, clinic_of)
    with qtbot.waitSignal(startup.ready, timeout=WAIT_MS):
        pass
    _type(startup, "nina", PASSWORD)
    assert reads == ["pumpmgr-start-up", threading.main_thread().name]
    assert startup.window is not None and startup.window.dashboard.model.rowCount() == 6
