"""Grab each page of the first run of a new clinic (and File → Clinic database…) at 1024x768,
into docs/screenshots/first_run.

Usage:  python3 tools/first_run_screenshots.py [--out DIR]

Offscreen like tools/screenshots.py (whose clock, clinic, ``save`` and temporary home it
reuses), on a new empty clinic file in a temporary folder: the pages are filled as an
administrator would.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import ROOT, _clinic, _offscreen_screen, hermetic_home, save

from pumpmgr.db.engine import open_database
from ui.app import setup_application
from ui.dialogs.clinic_database import ClinicDatabaseDialog
from ui.wizards.first_run import FirstRunWizard

WIDTH, HEIGHT = 1024, 768
PASSWORD = "a long first-run password"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "first_run")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, hermetic_home(Path(tmp)):
        folder = Path(tmp)
        _offscreen_screen(WIDTH, HEIGHT, 1.0, folder)
        from PySide6.QtWidgets import QApplication

        app = QApplication(["pumpmgr"])
        setup_application(app)
        database = open_database(folder / "pumpmgr.db", daily_backup_keep=None)
        try:
            clinic = _clinic(database)
            wizard = FirstRunWizard(clinic)
            wizard.resize(WIDTH, HEIGHT)
            wizard.show()
            choice = wizard.place.choice
            choice.server.setChecked(True)
            choice.address.setText("postgresql+psycopg://pumpmgr_app@127.0.0.1:1/pumpmgr")
            choice.test_connection()
            for _ in range(3):  # the busy dialog's loop left the page's layout to settle
                app.processEvents()
            save(wizard, out, "1b-server-connection-failed")
            choice.address.clear()
            choice.local.setChecked(True)
            save(wizard, out, "1-where-the-records-live")
            wizard.next()
            step = wizard.about_clinic
            save(wizard, out, "2a-the-clinic-empty")
            step.name.setText("Pain Clinic, St Mary's Hospital")
            step.phone.setText("+44 20 7946 0100")
            step.time_zone.setCurrentText("Europe/London")
            step.buffer.setValue(7)
            save(wizard, out, "2-the-clinic")
            wizard.next()
            days = wizard.days
            for day in (date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)):
                days.closed_day.set_value(day)
                days.add_closed_day()
            save(wizard, out, "3-open-and-closed-days")
            wizard.next()
            admin = wizard.administrator
            admin.full_name.setText("Sam Admin")
            admin.username.setText("s.admin")
            admin.password.setText(PASSWORD)
            admin.repeat.setText(PASSWORD + "!")
            save(wizard, out, "4-the-administrator")
            admin.repeat.setText(PASSWORD)
            wizard.next()
            for value in wizard.library.values[:3]:
                value.confirm.setChecked(True)
            save(wizard, out, "5-drug-library-values")
            wizard.next()
            actor = wizard.actor
            assert actor is not None, "the first run did not create the clinic"
            dialog = ClinicDatabaseDialog(clinic, actor)
            dialog.show()
            save(dialog, out, "6-file-clinic-database")
            dialog.close()
        finally:
            clinic.database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
