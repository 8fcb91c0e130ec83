"""A record changed outside pumpmgr since the last check: the window says so at start-up, above
every screen of an administrator and above everyone's due list; the work goes on (issue 12)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from ui.main_window import MainWindow


def _opened(qtbot: QtBot, clinic: ClinicService, username: str) -> MainWindow:
    main = MainWindow(clinic, clinic.sign_in(username, PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    return main


def _forge_refill(path: Path) -> int:
    """A copy of a refill under a new id, written straight into the file."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.isolation_level = None
        refill = connection.execute("SELECT max(id) FROM refills").fetchone()[0]
        others = ", ".join(row[1] for row in connection.execute("PRAGMA table_info(refills)")
                           if row[1] != "id")
        connection.execute(f"INSERT INTO refills (id, {others}) SELECT id + 1000, {others} "
                           f"FROM refills WHERE id = {refill}")
    return int(refill) + 1000


def test_a_break_shows_on_every_screen_of_an_administrator_and_on_everyones_due_list(
        qtbot: QtBot, clinic: ClinicService, sample_path: Path, tmp_path: Path) -> None:
    first = _opened(qtbot, clinic, "admin")  # the first start sets the checkpoint
    assert not first.integrity_banner.isVisible() and first.integrity_notice is None
    first.idle.stop()
    first.close()
    forged = _forge_refill(sample_path)

    nurse = _opened(qtbot, clinic, "nina")
    notice = nurse.integrity_notice
    assert notice is not None
    assert notice.startswith(f"Integrity break: refills #{forged}: inserted outside pumpmgr")
    assert nurse.integrity_banner.isVisible() and nurse.integrity_banner.text() == notice
    nurse.grab().save(str(tmp_path / "nurse-due-list.png"))
    assert nurse.dashboard.table.model().rowCount() > 0  # the due list is still there
    nurse.show_calculators()
    assert not nurse.integrity_banner.isVisible()  # a nurse's other screens: no banner
    nurse.show_dashboard()
    assert nurse.integrity_banner.isVisible()
    nurse.idle.stop()
    nurse.close()

    admin = _opened(qtbot, clinic, "admin")
    assert admin.integrity_notice == notice
    for show in (admin.show_calculators, admin.show_records, admin.show_dashboard):
        show()
        assert admin.integrity_banner.isVisible(), show
    admin.lock()
    assert not admin.integrity_banner.isVisible()  # nothing shown to whoever walks by
    admin.idle.stop()
    # audited once, although three windows found it
    with contextlib.closing(sqlite3.connect(sample_path)) as connection:
        (breaks,) = connection.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'integrity.break'").fetchone()
    assert breaks == 1
