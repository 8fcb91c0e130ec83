"""Desktop tests: a sample clinic copied per test, a main window on it, no blocking dialogs.

The sample clinic (``sample_clinic.py``) is built once per session and its SQLite file copied
for each test, so a test may write freely and the suite stays fast. Every message box and file
chooser goes through :mod:`ui.messages`; the ``dialogs`` fixture (autouse) replaces them with
recorders so no modal box ever blocks a test.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from database_targets import copy_sqlite_template
from dialog_recorder import Dialogs
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD, clinic_on, create_sample_database

from pumpmgr.db.engine import open_database
from pumpmgr.services import ClinicService
from ui import messages
from ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    recorded = Dialogs()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # ui.app.main replaces it
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # and this one

    def record(kind: str) -> Any:
        def show(parent: object, title: str, text: str, *args: object, **kw: object) -> None:
            recorded.shown.append((kind, text))

        return show

    def confirm(parent: object, title: str, text: str, **kw: object) -> bool:
        recorded.shown.append(("confirm", text))
        if recorded.confirm_answers:
            return recorded.confirm_answers.pop(0)
        return recorded.confirm_answer

    def save_path(
        parent: object,
        title: str,
        suggested: Path,
        file_filter: str,
    ) -> Path | None:
        recorded.shown.append(("save_path", str(suggested)))
        return recorded.save_to

    def open_path(
        parent: object,
        title: str,
        folder: Path,
        file_filter: str,
    ) -> Path | None:
        recorded.shown.append(("open_path", str(folder)))
        return recorded.open_from

    def choose(parent: object, title: str, label: str, items: list[str]) -> int | None:
        recorded.shown.append(("choose", "\n".join(items)))
        return recorded.choice

    def ask_text(parent: object, title: str, label: str) -> str | None:
        recorded.shown.append(("ask_text", label))
        return recorded.text_answer

    monkeypatch.setattr(messages, "ask_text", ask_text)
    for kind in ("info", "warn", "error"):
        monkeypatch.setattr(messages, kind, record(kind))
    monkeypatch.setattr(messages, "confirm", confirm)
    monkeypatch.setattr(messages, "save_path", save_path)
    monkeypatch.setattr(messages, "open_path", open_path)
    monkeypatch.setattr(messages, "choose", choose)
    return recorded


@pytest.fixture(autouse=True)
def settings_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """QSettings (the window's size and the due list's columns, per user) write to a
    temporary folder, never to the real home; each test starts with none."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "clinic.db"
    create_sample_database(path)
    return path


@pytest.fixture
def sample_path(tmp_path: Path, sample_template: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copyfile(sample_template, path)
    return path


@pytest.fixture
def clinic(sample_path: Path) -> Iterator[ClinicService]:
    database = open_database(sample_path, daily_backup_keep=None)
    try:
        yield clinic_on(database)
    finally:
        database.dispose()


@pytest.fixture
def empty_clinic(tmp_path: Path, sqlite_template: Path) -> Iterator[ClinicService]:
    """A clinic with no users yet (a copy of the session's migrated template)."""
    copy_sqlite_template(sqlite_template, tmp_path / "new.db")
    database = open_database(tmp_path / "new.db", daily_backup_keep=None)
    try:
        yield clinic_on(database)
    finally:
        database.dispose()


@pytest.fixture
def window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    actor = clinic.sign_in("nina", PASSWORD)
    main = MainWindow(clinic, actor)
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.idle.stop()
