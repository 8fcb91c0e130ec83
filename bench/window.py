"""The window figures, each in a fresh process: ``python -m bench.window bare|app ...``.

Benchmark support. ``bare`` shows a PySide6 main window holding an empty table; ``app`` starts
the desktop program as :func:`ui.app.main` does (the same imports, application set-up and
:class:`ui.app.Startup`: the sign-in window at once, the clinic loaded behind it). Each prints
one JSON line: the seconds from ``--started`` (the parent's ``time.time()`` just before it
started this process) to the end of the first paint of the bare window's table or of the
sign-in window, and the process's peak resident memory. ``app`` then waits until the main
window is built behind the sign-in (as a nurse would still be typing), fills in the name and
password and presses Sign in: the seconds from that press to the end of the due list's first
paint. It then opens ``--patient`` (the patient view filled and painted), goes back to the due
list and measures the peak memory after that. The bare window also gives the seconds from its
``show()`` to the end of its first paint: the least a window shown after the sign-in takes.
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


class PaintWatch:
    """Watches ``widget`` for its first paint: :meth:`wait` runs the event loop until then and
    gives the seconds since ``since`` when the loop is back after that paint."""

    def __init__(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QObject, QTimer

        self.widget = widget
        self.at: float | None = None
        watch = self

        class Filter(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint and not hasattr(self, "seen"):
                    self.seen = True
                    QTimer.singleShot(0, lambda: setattr(watch, "at", time.time()))
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)

    def wait(self, since: float) -> float:
        until(lambda: self.at is not None, "the window was never painted")
        self.widget.removeEventFilter(self.filter)
        assert self.at is not None
        return self.at - since


def until(done: Any, failure: str) -> None:
    """Run the event loop until ``done()`` (two minutes at most)."""
    from PySide6.QtWidgets import QApplication

    deadline = time.time() + 120
    while not done():
        if time.time() > deadline:
            raise SystemExit(failure)
        QApplication.processEvents()
        time.sleep(0.0005)


def bare(started: float) -> dict[str, Any]:
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    app = QApplication(["bare"])
    window = QMainWindow()
    table = QTableView(window)
    table.setModel(QStandardItemModel(0, 10, table))
    window.setCentralWidget(table)
    window.resize(1360, 840)
    painted = PaintWatch(table.viewport())
    shown = time.time()
    window.show()
    seconds = painted.wait(started)
    del app
    return {
        "startup_s": seconds,
        "shown_to_paint_s": seconds - (shown - started),
        "peak_rss": peak_rss_bytes(),
    }


def app(started: float, args: argparse.Namespace) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    import ui.app as program  # what the program imports before its first paint

    def clinic_of(database: Any) -> Any:  # on the start-up's worker, as ui.app.make_clinic
        # The bench clinic's clock, zone and (cheap, demo) password hash: see bench.replay.
        from zoneinfo import ZoneInfo

        from argon2 import PasswordHasher

        from pumpmgr.clock import FixedClock
        from pumpmgr.services import ClinicService

        return ClinicService(
            database,
            clock=FixedClock(datetime.fromisoformat(args.now)),
            tz=ZoneInfo(args.tz),
            workstation="bench",
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )

    qt = QApplication(["pumpmgr"])
    program.setup_application(qt)
    startup = program.Startup(program.Source(args.db, daily_backup=False), clinic_of)
    sign_in = PaintWatch(startup.dialog)
    startup.begin()
    sign_in_s = sign_in.wait(started)
    # the nurse types her name and password while the clinic loads behind the window
    until(
        lambda: startup.window is not None or startup.status is not None,
        "the main window was never built",
    )
    window = startup.window
    if window is None:
        raise SystemExit(f"the start-up ended with status {startup.status}")
    ready_s = time.time() - started
    form = startup.dialog.form
    form.username.setText(args.user)
    form.password.setText(args.password)
    due_list = PaintWatch(window.dashboard.table.viewport())
    clicked = time.time()
    form.submit.click()  # the sign-in accepted: the password checked, the window shown
    signed_in_s = due_list.wait(clicked)
    rows = window.dashboard.model.rowCount()
    startup_rss = peak_rss_bytes()
    patient = PaintWatch(window.patient)
    window.open_patient(args.patient)
    patient.wait(time.time())
    window.show_dashboard()
    QApplication.processEvents()
    result = {
        "startup_s": sign_in_s,
        "ready_s": ready_s,
        "signed_in_s": signed_in_s,
        "rows": rows,
        "startup_rss": startup_rss,
        "peak_rss": peak_rss_bytes(),
        "today": str(window.clinic.today()),
    }
    window.idle.stop()
    window.close()
    if startup.database is not None:
        startup.database.dispose()
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
