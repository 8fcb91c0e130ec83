"""Starting the program: bad databases reach the user as a dialog, a missing demo generator is
named, a cancelled sign-in quits cleanly, and ui keeps away from pumpmgr.db."""

from __future__ import annotations

import ast
import io
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QTimer
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

import pumpmgr
from pumpmgr import __version__
from pumpmgr.services import ClinicService
from ui import app
from ui.dialogs.sign_in import SignInDialog
from ui.main_window import MainWindow

UI = Path(app.__file__).resolve().parent


def test_a_database_that_cannot_be_opened_is_a_dialog(
    qtbot: QtBot, dialogs: Dialogs, tmp_path: Path
) -> None:
    assert app.main(["--db", str(tmp_path / "no such folder" / "clinic.db")]) == 1
    (text,) = dialogs.texts("error")
    assert text.startswith("pumpmgr cannot open the clinic database:")
    assert "does not exist" in text


def test_demo_without_the_generator_says_so(
    qtbot: QtBot, dialogs: Dialogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The import fails even when another test imported the generator already: both the module
    # cache and the package attribute must go, or the real demo would be built here.
    monkeypatch.setitem(sys.modules, "pumpmgr.demo", None)
    monkeypatch.delattr(pumpmgr, "demo", raising=False)
    assert app.main(["--demo"]) == 1
    assert "no demo clinic generator" in dialogs.texts("error")[0]


def test_demo_is_built_once_a_day(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qtbot: QtBot
) -> None:
    built: list[object] = []

    def build(database: object, progress: object) -> None:
        built.append(database)

    monkeypatch.setattr(app, "_demo_builder", lambda: (build, "hint", "nurse1"))
    stale = tmp_path / "demo" / "demo-clinic-2025-10-19.db"
    stale.parent.mkdir()
    stale.write_bytes(b"")
    source = app.demo_clinic(tmp_path, date(2025, 10, 20))
    assert (source.hint, source.username, source.daily_backup) == ("hint", "nurse1", False)
    assert len(built) == 1 and not stale.exists()
    app.demo_clinic(tmp_path, date(2025, 10, 20))
    assert len(built) == 1  # today's demo is reused


def _in_the_event_loop(*steps: tuple[Callable[[], object], Callable[[], object]]) -> QTimer:
    """Each (condition, action) in turn, once its condition holds, from inside
    ``QApplication.exec``; the loop is ended with 99 after 20 s whatever happens."""
    pending = list(steps)
    started = time.monotonic()
    timer = QTimer()

    def tick() -> None:
        if time.monotonic() - started > 20:
            timer.stop()
            QApplication.exit(99)
        elif pending and pending[0][0]():
            pending.pop(0)[1]()
        if not pending:
            timer.stop()

    timer.timeout.connect(tick)
    timer.start(10)
    return timer


def _shown(kind: type[QWidget]) -> Any:
    return next(
        (w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None
    )


def test_cancelled_sign_in_quits(qtbot: QtBot, sample_path: Path) -> None:
    steps = _in_the_event_loop(
        (lambda: _shown(SignInDialog), lambda: _shown(SignInDialog).reject())
    )
    assert app.main(["--db", str(sample_path)]) == 0
    assert not steps.isActive()


def test_signed_in_shows_the_window(
    qtbot: QtBot, sample_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in window first; signed in, the main window with the due list read behind
    it; closing it ends the program with 0."""
    shown: list[MainWindow] = []

    def sign_in() -> None:
        form = _shown(SignInDialog).form
        form.username.setText("nina")
        form.password.setText(PASSWORD)
        form.submit.click()

    def close() -> None:
        shown.append(_shown(MainWindow))
        shown[0].close()

    monkeypatch.setattr(app, "make_clinic", _fast_clinic)
    _in_the_event_loop((lambda: _shown(SignInDialog), sign_in), (lambda: _shown(MainWindow), close))
    assert app.main(["--db", str(sample_path)]) == 0
    assert shown and shown[0].dashboard.model.rowCount() == 6
    assert _shown(SignInDialog) is None


def test_quitting_while_the_clinic_loads_lets_the_loading_finish(
    qtbot: QtBot, sample_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quit at the sign-in while the database is still opening (a migration, maybe): the
    program ends with 0 once the opening has finished, and lets the database go."""
    opening, release = threading.Event(), threading.Event()
    opened: list[Any] = []
    really_open = app.Source.open

    def slow_open(source: app.Source) -> Any:
        opening.set()
        assert release.wait(20)
        opened.append(really_open(source))
        return opened[-1]

    def quit_() -> None:
        QTimer.singleShot(100, release.set)
        _shown(SignInDialog).reject()

    monkeypatch.setattr(app.Source, "open", slow_open)
    _in_the_event_loop((opening.is_set, quit_))
    disposed: list[object] = []
    monkeypatch.setattr("pumpmgr.db.engine.Database.dispose", lambda self: disposed.append(self))
    assert app.main(["--db", str(sample_path)]) == 0
    assert len(opened) == 1 and disposed == opened


def _fast_clinic(database: object) -> ClinicService:
    from sample_clinic import clinic_on

    return clinic_on(database)  # type: ignore[arg-type]


def test_help_exits_cleanly() -> None:
    assert app.main(["--help"]) == 0


def test_ui_imports_pumpmgr_db_only_in_the_composition_root() -> None:
    offenders = []
    for path in UI.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "pumpmgr.db" or n.startswith("pumpmgr.db.") for n in names) and (
                path.name != "app.py"
            ):
                offenders.append(str(path.relative_to(UI)))
    assert offenders == []


def test_the_due_list_is_shown_without_printing_or_migration_code(sample_path: Path) -> None:
    """Start-up imports only what the first screen needs: reportlab and the print preview are
    imported on the first print, the refill wizard when it opens (each takes a noticeable part of
    a second to import), and the other screens and the prescription dialog when first used."""
    import subprocess

    tests = Path(__file__).resolve().parent
    script = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {str(tests)!r})
from PySide6.QtCore import QTimer
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QWidget
from ui import app
from ui.main_window import MainWindow
from pumpmgr.db.engine import open_database
from sample_clinic import PASSWORD, clinic_on
qt = QApplication(["pumpmgr"])
app.setup_application(qt)
database = open_database({str(sample_path)!r}, daily_backup_keep=None)
clinic = clinic_on(database)
window = MainWindow(clinic, clinic.sign_in("nina", PASSWORD))
window.show()
qt.processEvents()
print(window.dashboard.model.rowCount())
print(" ".join(sorted({{name.split(".")[0] for name in sys.modules if name.split(".")[0] in
                       ("reportlab", "pypdfium2")}} | {{name for name in sys.modules
                       if name in ("ui.dialogs.print_preview", "ui.wizards.refill",
                                   "pumpmgr.services.sheets", "ui.screens.patient_view",
                                   "ui.screens.calculators", "ui.screens.records_audit",
                                   "ui.dialogs.prescription")}})))
window.idle.stop()
database.dispose()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=UI.parent
    )
    assert done.stdout.splitlines() == ["6", ""]


def test_the_sign_in_window_needs_neither_the_database_nor_the_units() -> None:
    """What the program imports before its sign-in window is painted: Qt and the sign-in's
    own modules; SQLAlchemy, pint, argon2 and reportlab are imported behind it."""
    import subprocess

    script = (
        "import sys, ui.app; print(' '.join(sorted({n.split('.')[0] for n in "
        "sys.modules} & {'sqlalchemy', 'pint', 'argon2', 'reportlab', 'alembic'})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=UI.parent
    )
    assert done.stdout.strip() == ""


def test_the_about_box_names_the_version(window: MainWindow, dialogs: Dialogs) -> None:
    window.about_action.trigger()
    (text,) = dialogs.texts("info")
    assert text.startswith(f"pumpmgr {__version__}: ")


def test_an_unhandled_error_is_logged_and_shown_without_a_traceback(
    window: MainWindow, dialogs: Dialogs, log_folder: Path
) -> None:
    """What Qt's event loop hands to sys.excepthook: a short message with the log's reference
    (never the stack), and the stack in the log file (never the message)."""
    surname = "Quintavalle"
    try:
        raise ValueError(surname)
    except ValueError as exc:
        app._excepthook(type(exc), exc, exc.__traceback__)
    (text,) = dialogs.texts("error")
    reference = text.split("the reference ")[1].split(":")[0]
    assert "Help → Open log folder" in text and "Traceback" not in text
    log = (log_folder / "pumpmgr.log").read_text(encoding="utf-8")
    assert f"{reference}: unexpected error while the last action" in log
    assert "builtins.ValueError (message not logged)" in log and surname not in log


def test_help_opens_the_log_folder(
    window: MainWindow, dialogs: Dialogs, log_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    answers = [True, False]
    monkeypatch.setattr(
        QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or answers.pop(0)
    )
    assert window.log_folder_action in window.help_menu.actions()
    window.log_folder_action.trigger()
    assert opened == [str(log_folder)] and dialogs.shown == []
    window.log_folder_action.trigger()  # no file manager: the folder is named instead
    assert dialogs.texts("info") == [f"pumpmgr's log files are in {log_folder}"]


@pytest.mark.parametrize(
    ("stdin", "shown"),
    [(f"nina\n{PASSWORD}\n", "main window"), ("", "sign-in"), ("nina\nwrong password\n", None)],
)
def test_self_test_opens_and_closes(
    qtbot: QtBot,
    sample_path: Path,
    stdin: str,
    shown: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What the release bundle's smoke test and IT run on a workstation: ``--self-test``."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = app.main(["--db", str(sample_path), "--self-test"])
    out, err = capsys.readouterr()
    if shown is None:
        assert status == 1 and "pumpmgr --self-test: " in err and out == ""
        return
    assert status == 0 and err == ""
    assert out.startswith(f"pumpmgr {__version__}: the {shown} opened (")
    assert out.rstrip().endswith("and closed on offscreen")
    assert not any(w.isVisible() for w in QApplication.topLevelWidgets())
