"""Start the desktop program: the composition root, the only place where things are wired.

UI layer. ``main(argv)`` creates the QApplication, opens the clinic database (``--db
PATH_OR_URL``, else ``PUMPMGR_DB``, else the user's data folder; ``--demo`` for a demo clinic),
builds the :class:`~pumpmgr.services.ClinicService`, asks for a sign-in (or, on a clinic's first
start, sets the clinic up: :mod:`ui.wizards.first_run`) and shows the
:class:`~ui.main_window.MainWindow`. This is the one ui module that imports :mod:`pumpmgr.db`
(to open the database it hands to the service).

``main`` returns the process exit status: 0 after a normal quit or a cancelled sign-in, 1 when
the database cannot be opened, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, TypeVar

from platformdirs import user_data_dir
from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from pumpmgr.db.engine import Database, open_database
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.formatting import program_version
from pumpmgr.logfile import log_unexpected, start_log
from pumpmgr.services import Actor, ClinicService
from ui import icons, messages
from ui.dialogs.sign_in import SignInDialog
from ui.main_window import MainWindow
from ui.wizards.first_run import FirstRunWizard

log = logging.getLogger(__name__)
T = TypeVar("T")

DEMO_HINT = "Demo clinic: the patients are made up. The demo users are listed in the README."


class DemoUnavailable(PumpMgrError):
    """This pumpmgr has no demo-clinic generator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pumpmgr", description="pumpmgr: the intrathecal pump clinic's desktop program.")
    parser.add_argument("--version", action="version", version=program_version())
    parser.add_argument("--db", metavar="PATH_OR_URL",
                        help="the clinic database (default: PUMPMGR_DB, else pumpmgr.db in "
                             "your data folder)")
    parser.add_argument("--demo", action="store_true",
                        help="open a demo clinic with made-up patients (rebuilt each day)")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window and close it at once, to check that this "
                             "computer can show pumpmgr (a user name and a password on two "
                             "lines of standard input sign in first, else the sign-in shows)")
    return parser


def collector_after_imports() -> None:
    """The launcher holds the cyclic garbage collector off for the window's imports: their
    passes free nothing (held off as late as the first paint of the due list, a collection then
    found 348 unreachable objects among 116,597) and cost a tenth of the start. What the
    imports made (modules, classes, mappers, the unit registry) lives as long as the program:
    it is frozen, so that no later pass walks it again, and the collector is on again for the
    rest (the demo clinic's build, with the collector off, peaked at 165 MB instead of 76 MB)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def setup_application(app: QApplication) -> None:
    """Name, icon, style and stylesheet of the program."""
    app.setApplicationName("pumpmgr")
    app.setApplicationDisplayName("pumpmgr")
    app.setOrganizationName("pumpmgr")
    app.setWindowIcon(icons.app_icon())
    app.setStyle("Fusion")
    app.setStyleSheet(icons.stylesheet())


def demo_database_path(today: date, root: Path | None = None) -> Path:
    """Today's demo clinic file; a new day gets a new demo, dated relative to it."""
    folder = (root or Path(user_data_dir("pumpmgr", appauthor=False))) / "demo"
    return folder / f"demo-clinic-{today:%Y-%m-%d}.db"


def _demo_builder() -> tuple[Callable[..., Any], str, str]:
    """The demo generator, the sign-in hint naming its demo users, and the user to prefill."""
    try:
        from pumpmgr.services import demo  # imported late: optional, and slow to import
    except ImportError as exc:
        raise DemoUnavailable(
            "this version of pumpmgr has no demo clinic generator (pumpmgr.services.demo); "
            "start without --demo, or give a database with --db PATH",
            code=Code.NO_VALUE, field="demo") from exc
    users = list(getattr(demo, "DEMO_USERS", ()))
    if not users:
        return demo.build_demo_clinic, DEMO_HINT, ""
    listed = "; ".join(f"{u.username} / {u.password} ({u.role})" for u in users)
    nurse = next((u.username for u in users if u.role == "nurse"), users[0].username)
    return (demo.build_demo_clinic,
            f"Demo clinic: the patients are made up. Demo users (user name / password): "
            f"{listed}.", nurse)


def _in_background(work: Callable[[Callable[[float], None]], T], label: str) -> T:
    """Run ``work(progress)`` on a worker thread while a progress dialog keeps the window
    responsive; ``progress`` takes the fraction done (0 to 1) from the worker."""
    outcome: dict[str, Any] = {}
    done = [0.0]

    def run() -> None:
        try:
            outcome["value"] = work(lambda fraction: done.__setitem__(0, fraction))
        except BaseException as exc:  # re-raised on the GUI thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="pumpmgr-work", daemon=True)
    dialog = QProgressDialog(label, "", 0, 100)
    dialog.setCancelButton(None)
    dialog.setWindowTitle("pumpmgr")
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(300)
    thread.start()
    while thread.is_alive():
        dialog.setValue(min(99, int(done[0] * 100)))
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        thread.join(0.03)
    dialog.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Opened:
    """A database opened for the program, with what the sign-in dialog should show."""

    database: Database
    hint: str = ""
    username: str = ""


def open_demo_database(root: Path | None = None, today: date | None = None) -> Opened:
    """Today's demo clinic, built with the demo generator (in the background, with progress)
    if it does not exist yet."""
    build, hint, username = _demo_builder()
    path = demo_database_path(today or date.today(), root)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        for old in path.parent.glob("demo-clinic-*.db*"):
            old.unlink(missing_ok=True)

        def make(progress: Callable[[float], None]) -> None:
            database = open_database(path, daily_backup_keep=None)  # this thread's own engine
            try:
                build(database, progress=progress)
            finally:
                database.dispose()

        try:
            _in_background(make, "Building the demo clinic…")
        except BaseException:
            for partial in path.parent.glob(path.name + "*"):
                partial.unlink(missing_ok=True)
            raise
    return Opened(open_database(path, daily_backup_keep=None), hint, username)


def sign_in(clinic: ClinicService, hint: str = "", username: str = "") -> Actor | None:
    """The signed-in user, or None when the user quits: on a clinic without accounts (no
    clinic yet), the administrator its first run creates; a first run may find the clinic's
    records elsewhere (a further workstation), whose users then sign in."""
    if not clinic.has_users():
        actor = FirstRunWizard.ask(clinic)
        if actor is not None or not clinic.has_users():
            return actor
    return SignInDialog.ask(clinic, hint=hint, username=username)


def _excepthook(kind: type[BaseException], value: BaseException,
                trace: TracebackType | None) -> None:
    """A fault of ours reaches the user as a short message, and its stack goes to the log
    (:func:`ui.messages.show_error`)."""
    if value.__traceback__ is None:
        value = value.with_traceback(trace)
    messages.show_error(QApplication.activeWindow(), value, "the last action")


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    """A worker thread's error that nobody collected is logged, never printed."""
    if args.exc_value is not None:
        log_unexpected(args.exc_type, args.exc_value, args.exc_traceback,
                       f"working in the background ({args.thread.name if args.thread else '?'})")


def self_test(app: QApplication, clinic: ClinicService, stdin: TextIO | None) -> int:
    """Show the main window (signed in with the user name and password on ``stdin``'s first
    two lines) or, without them, the sign-in; draw it, close it, and say so on stdout.
    Returns 0, or 1 with the problems on stderr: the sign-in refused, the program's icon or
    stylesheet missing, nothing drawn."""
    problems = []
    if app.windowIcon().isNull():
        problems.append("the program's icon is missing")
    if not app.styleSheet():
        problems.append("the program's stylesheet is missing")
    lines = stdin.read().splitlines() if stdin is not None and not stdin.isatty() else []
    shown: QWidget
    if len(lines) >= 2:
        try:
            shown = MainWindow(clinic, clinic.sign_in(lines[0].strip(), lines[1]))
        except PumpMgrError as exc:
            print(f"pumpmgr --self-test: {exc.message}", file=sys.stderr)
            return 1
        what = "main window"
    elif clinic.has_users():
        shown, what = SignInDialog(clinic), "sign-in"
    else:
        shown, what = FirstRunWizard(clinic), "first run"
    shown.show()
    for _ in range(50):
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if shown.isVisible() and shown.windowHandle() is not None and shown.windowHandle(
                ).isExposed():
            break
    picture = shown.grab()
    shown.close()
    app.processEvents()
    if picture.isNull() or not shown.isHidden():
        problems.append(f"the {what} was not drawn and closed")
    print(f"{program_version()}: the {what} opened ({picture.width()}x{picture.height()}) and "
          f"closed on {app.platformName()}")
    for problem in problems:
        print(f"pumpmgr --self-test: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop program; ``argv`` without the program name (default ``sys.argv``)."""
    collector_after_imports()
    start_log()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args, qt_args = build_parser().parse_known_args(arguments)
    except SystemExit as exc:  # argparse: --help, or a usage error already printed
        return int(exc.code or 0)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(["pumpmgr", *qt_args])
    setup_application(app)
    log.info("%s started", program_version())
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    try:
        opened = open_demo_database() if args.demo else Opened(open_database(args.db))
    except PumpMgrError as exc:
        messages.error(None, "pumpmgr", f"pumpmgr cannot open the clinic database:\n\n"
                                        f"{exc.message}")
        return 1
    database = opened.database
    clinic: ClinicService | None = None
    try:
        clinic = ClinicService(database)
        if args.self_test:
            return self_test(app, clinic, sys.stdin)
        actor = sign_in(clinic, opened.hint, opened.username)
        if actor is None:
            return 0
        window = MainWindow(clinic, actor)
        window.show()
        return int(app.exec())
    finally:
        database.dispose()
        if clinic is not None:
            clinic.database.dispose()  # a first run may have gone on with another database
