"""Start the desktop program: the composition root, the only place where things are wired.

UI layer. ``main(argv)`` creates the QApplication and shows the sign-in window at once, with
only Qt and the sign-in's own modules imported. While the user types, :class:`Startup` has a
worker (:mod:`ui.background`) open the clinic database (``--db PATH_OR_URL``, else
``PUMPMGR_DB``, else the user's data folder; ``--demo`` for a demo clinic, built first when
today's does not exist yet), build the :class:`~pumpmgr.services.ClinicService`, import the main
window's modules and read the due list. The sign-in is checked as soon as the database is open;
the main window is built from the rows read, on the GUI thread and hidden, and shown when the
user has signed in: the due list is painted without being read again. A clinic without
accounts yet is decided in one place, :meth:`Startup._opened`, which hands it to
:func:`first_run` (:mod:`ui.wizards.first_run`). This is the one ui module that imports
:mod:`pumpmgr.db` (to open the database it hands to the service).

``main`` returns the process exit status: 0 after a normal quit or a cancelled sign-in, 1 when
the database cannot be opened, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from platformdirs import user_data_dir
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from pumpmgr import __version__
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.logfile import log_unexpected, start_log
from ui import icons, messages
from ui.background import Background, Report, run_with_progress
from ui.dialogs.sign_in import SignInDialog

if TYPE_CHECKING:  # imported behind the sign-in, by the worker
    from pumpmgr.db.engine import Database
    from pumpmgr.records import DueRow
    from pumpmgr.services import Actor, ClinicService
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)

DEMO_HINT = "Demo clinic: the patients are made up. The demo users are listed in the README."
#: A due list read longer ago than this before the sign-in is read again when the window
#: opens (another workstation may have recorded a refill meanwhile; the day may have changed).
READ_AGAIN_AFTER_S = 120.0


class DemoUnavailable(PumpMgrError):
    """This pumpmgr has no demo-clinic generator."""


class _Version(argparse.Action):
    """``--version``, worded by :func:`pumpmgr.formatting.program_version`, whose module (and
    pint behind it) is imported only when asked: the sign-in window does not wait for it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, help="show program's version number and exit"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from pumpmgr.formatting import program_version

        print(program_version())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pumpmgr", description="pumpmgr: the intrathecal pump clinic's desktop program."
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="the clinic database (default: PUMPMGR_DB, else pumpmgr.db in your data folder)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open a demo clinic with made-up patients (rebuilt each day)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window and close it at once, to check that this "
        "computer can show pumpmgr (a user name and a password on two "
        "lines of standard input sign in first, else the sign-in shows)",
    )
    return parser


def setup_application(app: QApplication) -> None:
    """Name, icon, style and stylesheet of the program."""
    app.setApplicationName("pumpmgr")
    app.setApplicationDisplayName("pumpmgr")
    app.setOrganizationName("pumpmgr")
    app.setWindowIcon(icons.app_icon())
    app.setStyle("Fusion")
    app.setStyleSheet(icons.stylesheet())


@dataclass(frozen=True)
class Source:
    """Where the clinic database is, and what the sign-in window shows for it."""

    location: str | Path | None  #: ``--db``; None: ``PUMPMGR_DB``, else the data folder
    hint: str = ""
    username: str = ""
    daily_backup: bool = True  #: the once-a-day automatic backup (not for a demo clinic)

    def open(self) -> Database:
        from pumpmgr.db.engine import open_database

        if self.daily_backup:
            return open_database(self.location)
        return open_database(self.location, daily_backup_keep=None)


def make_clinic(database: Database) -> ClinicService:
    """The clinic's services over ``database`` (tests and the benchmark give their own)."""
    from pumpmgr.services import ClinicService

    return ClinicService(database)


def demo_database_path(today: date, root: Path | None = None) -> Path:
    """Today's demo clinic file; a new day gets a new demo, dated relative to it."""
    folder = (root or Path(user_data_dir("pumpmgr", appauthor=False))) / "demo"
    return folder / f"demo-clinic-{today:%Y-%m-%d}.db"


def _demo_builder() -> tuple[Callable[..., Any], str, str]:
    """The demo generator, the sign-in hint naming its demo users, and the user to prefill."""
    try:
        from pumpmgr import demo  # imported late: optional, and slow to import
    except ImportError as exc:
        raise DemoUnavailable(
            "this version of pumpmgr has no demo clinic generator (pumpmgr.demo); "
            "start without --demo, or give a database with --db PATH",
            code=Code.NO_VALUE,
            field="demo",
        ) from exc
    users = list(getattr(demo, "DEMO_USERS", ()))
    if not users:
        return demo.build_demo_clinic, DEMO_HINT, ""
    listed = "; ".join(f"{u.username} / {u.password} ({u.role})" for u in users)
    nurse = next((u.username for u in users if u.role == "nurse"), users[0].username)
    return (
        demo.build_demo_clinic,
        f"Demo clinic: the patients are made up. Demo users (user name / password): {listed}.",
        nurse,
    )


def demo_clinic(root: Path | None = None, today: date | None = None) -> Source:
    """Today's demo clinic, built with the demo generator (in the background, with progress)
    if it does not exist yet."""
    build, hint, username = _demo_builder()
    path = demo_database_path(today or date.today(), root)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = Source(path, hint, username, daily_backup=False)
    if not path.exists():
        for old in path.parent.glob("demo-clinic-*.db*"):
            old.unlink(missing_ok=True)

        def make(progress: Callable[[float], None]) -> None:
            database = source.open()  # this thread's own engine
            try:
                build(database, progress=progress)
            finally:
                database.dispose()

        try:
            run_with_progress(None, "Building the demo clinic…", make)
        except BaseException:
            for partial in path.parent.glob(path.name + "*"):
                partial.unlink(missing_ok=True)
            raise
    return source


def _cannot_open(exc: PumpMgrError) -> None:
    messages.error(None, "pumpmgr", f"pumpmgr cannot open the clinic database:\n\n{exc.message}")


def first_run(clinic: ClinicService) -> Actor | None:
    """A clinic without accounts yet: its first start's screens, which create the clinic and
    its administrator (then signed in). None when the user quits, or when the first run found
    the clinic's records elsewhere (a further workstation): ``clinic`` then has accounts and
    its users sign in."""
    from ui.wizards.first_run import FirstRunWizard

    return FirstRunWizard.ask(clinic)


# ------------------------------------------------------------------ behind the sign-in


@dataclass(frozen=True)
class Opened:
    """What the worker reports as soon as the database is open."""

    database: Database
    clinic: ClinicService
    clinic_name: str
    has_users: bool


@dataclass(frozen=True)
class Loaded:
    """The worker's result: the due list, read as plain records."""

    rows: list[DueRow]
    read_at: float  #: ``time.monotonic()`` when they were read


def load(source: Source, clinic_of: Callable[[Database], ClinicService], report: Report) -> Loaded:
    """On the worker: open the database, report :class:`Opened`, import the main window's
    modules (its widgets are built on the GUI thread), read the due list."""
    database = source.open()
    try:
        clinic = clinic_of(database)
        has_users = clinic.has_users()
        name = clinic.settings().clinic_name
    except BaseException:
        database.dispose()
        raise
    report(Opened(database, clinic, name, has_users))
    import ui.main_window  # noqa: F401  (the imports, here rather than after the sign-in)

    rows = clinic.due_list() if has_users else []
    return Loaded(rows, time.monotonic())


class Startup(QObject):
    """The sign-in window at once; the clinic loaded behind it; then the main window.

    :attr:`ready` says the main window is built (hidden); :attr:`started` gives it once shown
    after the sign-in; :attr:`ended` and :attr:`status` say that the program must end (0 or
    1)."""

    ready = Signal()
    started = Signal(object)  #: the :class:`~ui.main_window.MainWindow`
    ended = Signal(int)  #: the program must end with this status (main exits its loop)

    def __init__(
        self, source: Source, clinic_of: Callable[[Database], ClinicService] | None = None
    ) -> None:
        super().__init__()
        self.source = source
        self._clinic_of = clinic_of
        self.dialog = SignInDialog(None, hint=source.hint, username=source.username, stay_open=True)
        self.dialog.rejected.connect(lambda: self.finish(0))
        self.dialog.form.signed_in.connect(self._signed_in)
        self.task: Background | None = None
        self.database: Database | None = None
        self.clinic: ClinicService | None = None
        self.window: MainWindow | None = None
        self.actor: Actor | None = None
        self.status: int | None = None
        self._read_at = 0.0
        self._read_again = False

    def begin(self) -> None:
        """Show the sign-in window; the loading starts once it has been painted, so that it
        does not delay the first paint (and at the latest after half a second)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):  # no window is "the last one" while they swap
            app.setQuitOnLastWindowClosed(False)
        self.dialog.installEventFilter(self)
        self.dialog.show()
        QTimer.singleShot(500, self._load)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.dialog and event.type() == QEvent.Type.Paint:
            self.dialog.removeEventFilter(self)
            QTimer.singleShot(0, self._load)
        return False

    def _load(self) -> None:
        if self.task is not None or self.status is not None:
            return
        clinic_of = self._clinic_of or make_clinic  # looked up now: tests replace it
        self.task = Background(
            lambda report: load(self.source, clinic_of, report), "pumpmgr-start-up", self
        )
        self.task.reported.connect(self._opened)
        self.task.done.connect(self._loaded)
        self.task.failed.connect(self._failed)
        self.task.start()

    def _opened(self, opened: Opened) -> None:
        self.database, self.clinic = opened.database, opened.clinic
        if self.status is not None:
            return
        if not opened.has_users:  # no clinic yet: the first start's screens
            self.dialog.hide()
            self._read_again = True  # the rows were read before the clinic existed
            actor = first_run(opened.clinic)
            if actor is not None:
                self._signed_in(actor)
            elif opened.clinic.has_users():  # joined a clinic's records: its users sign in
                self.dialog.set_clinic(opened.clinic, opened.clinic.settings().clinic_name)
                self.dialog.show()
            else:
                self.finish(0)
            return
        self.dialog.set_clinic(opened.clinic, opened.clinic_name)

    def _loaded(self, loaded: Loaded) -> None:
        if self.status is not None or self.clinic is None:
            return
        from ui.main_window import FULL_CHECK_AFTER_MS, MainWindow

        self.window = MainWindow(
            self.clinic,
            None,
            due_rows=loaded.rows,
            full_check_after_ms=FULL_CHECK_AFTER_MS,
            integrity_check_in_background=True,
        )
        # laid out and drawn once, hidden, while the user types: shown after the sign-in it
        # paints from warm caches (about 110 of 150 ms on 5,000 pumps: docs/performance.md)
        self.window.grab()
        self._read_at = loaded.read_at
        self.ready.emit()
        if self.actor is not None:
            self._start()

    def _failed(self, exc: BaseException) -> None:
        if self.status is not None:
            return
        if self.clinic is None and isinstance(exc, PumpMgrError):
            _cannot_open(exc)
        else:
            messages.show_error(None, exc, "opening the clinic database")
        self.finish(1)

    def _signed_in(self, actor: Actor) -> None:
        self.actor = actor
        if self.window is not None:
            self._start()

    def _start(self) -> None:
        window, actor = self.window, self.actor
        assert window is not None and actor is not None
        window.start(actor)
        if self._read_again or time.monotonic() - self._read_at > READ_AGAIN_AFTER_S:
            window.show_dashboard()  # read again: see READ_AGAIN_AFTER_S
        window.show()
        self.dialog.accept()  # (closed, it would say "rejected": quit)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(True)
        self.started.emit(window)

    def finish(self, status: int) -> None:
        """End the program with ``status`` (:func:`main` lets a loading still running
        finish)."""
        if self.status is not None:
            return
        self.status = status
        self.dialog.close()
        self.ended.emit(status)


# ------------------------------------------------------------------ the process


def _excepthook(
    kind: type[BaseException], value: BaseException, trace: TracebackType | None
) -> None:
    """A fault of ours reaches the user as a short message, and its stack goes to the log
    (:func:`ui.messages.show_error`)."""
    if value.__traceback__ is None:
        value = value.with_traceback(trace)
    messages.show_error(QApplication.activeWindow(), value, "the last action")


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    """A worker thread's error that nobody collected is logged, never printed."""
    if args.exc_value is not None:
        log_unexpected(
            args.exc_type,
            args.exc_value,
            args.exc_traceback,
            f"working in the background ({args.thread.name if args.thread else '?'})",
        )


def self_test(app: QApplication, clinic: ClinicService, stdin: TextIO | None) -> int:
    """Show the main window (signed in with the user name and password on ``stdin``'s first
    two lines) or, without them, the sign-in; draw it, close it, and say so on stdout.
    Returns 0, or 1 with the problems on stderr: the sign-in refused, the program's icon or
    stylesheet missing, nothing drawn."""
    from pumpmgr.formatting import program_version
    from ui.main_window import MainWindow

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
        from ui.wizards.first_run import FirstRunWizard

        shown, what = FirstRunWizard(clinic), "first run"
    shown.show()
    for _ in range(50):
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if (
            shown.isVisible()
            and shown.windowHandle() is not None
            and shown.windowHandle().isExposed()
        ):
            break
    picture = shown.grab()
    shown.close()
    app.processEvents()
    if picture.isNull() or not shown.isHidden():
        problems.append(f"the {what} was not drawn and closed")
    print(
        f"{program_version()}: the {what} opened ({picture.width()}x{picture.height()}) and "
        f"closed on {app.platformName()}"
    )
    for problem in problems:
        print(f"pumpmgr --self-test: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _self_test(app: QApplication, source: Source) -> int:
    """``--self-test``: the database opened here, then :func:`self_test`."""
    try:
        database = source.open()
    except PumpMgrError as exc:
        _cannot_open(exc)
        return 1
    try:
        return self_test(app, make_clinic(database), sys.stdin)
    finally:
        database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop program; ``argv`` without the program name (default ``sys.argv``)."""
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
    log.info("pumpmgr %s started", __version__)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    try:
        source = demo_clinic() if args.demo else Source(args.db)
    except PumpMgrError as exc:
        _cannot_open(exc)
        return 1
    if args.self_test:
        return _self_test(app, source)
    startup = Startup(source)
    startup.ended.connect(app.exit)
    startup.begin()
    try:
        code = int(app.exec())
        return code if startup.status is None else startup.status
    finally:
        app.setQuitOnLastWindowClosed(True)
        if startup.task is not None and not startup.task.finished:
            try:  # quit while loading: the database (a migration, maybe) is let finish
                startup.task.wait()
            except Exception as exc:  # the user has quit: logged (its kind only), not shown
                log.warning(
                    "loading behind the sign-in failed after quitting: %s", type(exc).__name__
                )
        if startup.window is not None:  # built; closed already unless never shown
            startup.window.idle.stop()
            startup.window.deleteLater()
        if startup.database is not None:
            startup.database.dispose()
        if startup.clinic is not None and startup.clinic.database is not startup.database:
            startup.clinic.database.dispose()  # a first run went on with another database
