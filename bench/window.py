"""The window figures, each in a fresh process: ``python -m bench.window bare|app ...``.

Benchmark support. ``bare`` shows a PySide6 main window holding an empty table; ``app`` starts
the desktop program as :func:`ui.app.main` does (the same imports, application set-up, database
opening, service and main window), signs in without the dialog (which waits for a person) and
shows the due list. Each prints one JSON line: the seconds from ``--started`` (the parent's
``time.time()`` just before it started this process) to the end of the first paint of the
table, and the process's peak resident memory; ``app`` then opens ``--patient`` (the patient
view filled and painted), goes back to the due list and measures the peak memory after that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import datetime
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def peak_rss_bytes() -> int:
    """This process's peak resident memory. On Linux ``VmHWM``: ``ru_maxrss`` there carries
    over the parent's peak through fork and exec (a bench that has just built the clinic is
    700 MB, and every window process then reported that). Elsewhere ``ru_maxrss`` (KiB on
    Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _first_paint(widget: Any, started: float) -> float:
    """Run the event loop until ``widget`` has been painted once; the seconds since
    ``started`` when the loop is back after that paint."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    result: list[float] = []

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not hasattr(self, "seen"):
                self.seen = True
                QTimer.singleShot(0, lambda: result.append(time.time() - started))
            return False

    watch = Watch()
    widget.installEventFilter(watch)
    deadline = time.time() + 120
    while not result and time.time() < deadline:
        QApplication.processEvents()
        if not result:
            time.sleep(0.0005)
    widget.removeEventFilter(watch)
    if not result:
        raise SystemExit("the window was never painted")
    return result[0]


def bare(started: float) -> dict[str, Any]:
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    app = QApplication(["bare"])
    window = QMainWindow()
    table = QTableView(window)
    table.setModel(QStandardItemModel(0, 10, table))
    window.setCentralWidget(table)
    window.resize(1360, 840)
    window.show()
    seconds = _first_paint(table.viewport(), started)
    del app
    return {"startup_s": seconds, "peak_rss": peak_rss_bytes()}


def app(started: float, args: argparse.Namespace) -> dict[str, Any]:
    import gc

    gc.disable()  # as the launcher holds it off (ui.launcher.console)
    from zoneinfo import ZoneInfo

    from argon2 import PasswordHasher
    from PySide6.QtWidgets import QApplication

    import ui.app as program  # the program's own imports, as its launcher makes them
    from pumpmgr.clock import FixedClock
    from pumpmgr.db.engine import open_database
    from pumpmgr.services import ClinicService

    program.collector_after_imports()  # as ui.app.main does first
    qt = QApplication(["pumpmgr"])
    program.setup_application(qt)
    database = open_database(args.db, daily_backup_keep=None)
    # The bench clinic's clock, zone and (cheap, demo) password hash: see bench.replay.
    clinic = ClinicService(database, clock=FixedClock(datetime.fromisoformat(args.now)),
                           tz=ZoneInfo(args.tz), workstation="bench",
                           hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    actor = clinic.sign_in(args.user, args.password)
    window = program.MainWindow(clinic, actor)
    window.show()
    seconds = _first_paint(window.dashboard.table.viewport(), started)
    rows = window.dashboard.model.rowCount()
    startup_rss = peak_rss_bytes()
    window.open_patient(args.patient)
    _first_paint(window.patient, time.time())
    window.show_dashboard()
    QApplication.processEvents()
    result = {"startup_s": seconds, "rows": rows, "startup_rss": startup_rss,
              "peak_rss": peak_rss_bytes(), "today": str(clinic.today())}
    window.idle.stop()
    window.close()
    database.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.window")
    parser.add_argument("kind", choices=("bare", "app"))
    parser.add_argument("--started", type=float, required=True)
    parser.add_argument("--db")
    parser.add_argument("--patient", type=int, default=1)
    parser.add_argument("--now", help="the clinic's clock, ISO 8601 with its offset")
    parser.add_argument("--tz", help="the clinic's time zone")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    result = bare(args.started) if args.kind == "bare" else app(args.started, args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
