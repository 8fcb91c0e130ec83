"""Grab every screen of the desktop program on a demo clinic and save PNGs in docs/screenshots.

Usage:  python3 tools/screenshots.py [--sample] [--out DIR] [--width 1366 --height 768]

Runs offscreen (``QT_QPA_PLATFORM=offscreen`` unless set otherwise) with a window of the given
size (default 1366x768, the smallest screen the clinic uses). The demo clinic is built with
``pumpmgr.services.demo`` for a fixed day (Monday 20 October 2025, Berlin: the clocks change six
days later, so the daylight-saving notice shows) and a clock standing at 09:00 that day, so the
pictures are the same on every run. ``--sample`` uses the small six-patient clinic of the
desktop tests instead (quicker). Look at every picture after a change to the screens.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.clock import FixedClock  # noqa: E402
from pumpmgr.db.engine import Database, open_database  # noqa: E402
from pumpmgr.services import ClinicService  # noqa: E402
from pumpmgr.units import Kind  # noqa: E402
from ui.app import setup_application  # noqa: E402
from ui.dialogs.sign_in import FirstAdministratorDialog, SignInDialog  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.models.due_list import DueFilter  # noqa: E402
from ui.widgets.quantity_edit import QuantityEdit  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2025, 10, 20)
NOW = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _clinic(database: Database) -> ClinicService:
    return ClinicService(database, clock=FixedClock(NOW), tz=BERLIN, workstation="screenshots",
                         hasher=FAST)


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
    from pumpmgr.services.demo import DEMO_USERS, build_demo_clinic

    database = open_database(path, daily_backup_keep=None)
    build_demo_clinic(database, today=TODAY, tz=BERLIN)
    nurse = next(u for u in DEMO_USERS if u.role == "nurse")
    listed = "; ".join(f"{u.username} / {u.password} ({u.role})" for u in DEMO_USERS)
    return (database, nurse.username, nurse.password,
            f"Demo clinic: the patients are made up. Demo users (user name / password): "
            f"{listed}.")


def save(widget: QWidget, out: Path, name: str) -> Path:
    QApplication.processEvents()
    path = out / f"{name}.png"
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", action="store_true", help="the small test clinic")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=768)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["pumpmgr-screenshots"])
    assert isinstance(app, QApplication)
    setup_application(app)
    # The window's content: the screen less a title bar and a task bar.
    size = QSize(args.width, args.height - 60)

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
            first = FirstAdministratorDialog(_clinic(empty))
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
            window.dashboard.search.clear()

            rows = window.dashboard.model.rows()
            replace_soon = sorted((r for r in rows if r.replace_by is not None),
                                  key=lambda r: r.replace_by or TODAY)
            picks = [
                ("06-patient-overview", replace_soon[0] if replace_soon else rows[0]),
                ("07-patient-constant-flow", next(
                    (r for r in rows if r.pump_type == "constant_flow"), rows[-1])),
                ("08-patient-admixture", next((r for r in rows if "+" in r.drug), rows[0])),
                ("09-patient-overdue", next(
                    (r for r in rows if r.state == "overdue" and r.pump_type != "constant_flow"),
                    rows[0])),
            ]
            for name, row in picks:
                window.open_patient(row.patient_id)
                save(window, out, name)
            window.open_patient(picks[0][1].patient_id)
            window.patient.tabs.setCurrentIndex(1)
            save(window, out, "10-patient-residuals")
            window.patient.tabs.setCurrentIndex(2)
            save(window, out, "11-patient-history")
            window.lock()
            save(window, out, "12-locked")
            form = quantity_form()
            form.show()
            save(form, out, "13-quantity-input")
            window.idle.stop()
            window.close()
        finally:
            database.dispose()
            empty.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
