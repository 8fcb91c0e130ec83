"""A record changed outside pumpmgr since the last check: the window says so at start-up, above
every screen of an administrator and above everyone's due list; the work goes on (issue 12)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
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
        others = ", ".join(
            row[1] for row in connection.execute("PRAGMA table_info(refills)") if row[1] != "id"
        )
        connection.execute(
            f"INSERT INTO refills (id, {others}) SELECT id + 1000, {others} "
            f"FROM refills WHERE id = {refill}"
        )
    return int(refill) + 1000


def test_a_break_shows_on_every_screen_of_an_administrator_and_on_everyones_due_list(
    qtbot: QtBot, clinic: ClinicService, sample_path: Path, tmp_path: Path
) -> None:
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
            "SELECT count(*) FROM audit_log WHERE action = 'integrity.break'"
        ).fetchone()
    assert breaks == 1


def test_the_programs_window_checks_in_the_background_and_shows_the_break_when_found(
    qtbot: QtBot, clinic: ClinicService, sample_path: Path
) -> None:
    """The program's window does not hold the sign-in for the check (on a clinic with no
    checkpoint yet it reads the whole chain): the due list is there at once, the banner
    comes when the check has found the break."""
    assert clinic.records.check_since_checkpoint().ok
    forged = _forge_refill(sample_path)
    main = MainWindow(clinic, clinic.sign_in("nina", PASSWORD), integrity_check_in_background=True)
    qtbot.addWidget(main)
    main.show()
    assert main.integrity_check is not None and not main.integrity_check.finished
    assert main.integrity_notice is None and main.dashboard.table.model().rowCount() > 0
    qtbot.waitUntil(
        lambda: main.integrity_check is not None and main.integrity_check.finished, timeout=60_000
    )
    notice = main.integrity_notice
    assert notice is not None and notice.startswith(f"Integrity break: refills #{forged}")
    assert main.integrity_banner.isVisible()
    main.idle.stop()


def _halve_oldest_refill(path: Path) -> int:
    """The oldest refill's volume halved in place, its trigger dropped and put back."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.isolation_level = None
        (trigger,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'trg_refills_no_update'"
        ).fetchone()
        connection.execute("DROP TRIGGER trg_refills_no_update")
        refill = connection.execute("SELECT min(id) FROM refills").fetchone()[0]
        connection.execute(
            f"UPDATE refills SET volume_added_ml = volume_added_ml / 2 WHERE id = {refill}"
        )
        connection.execute(trigger)
    return int(refill)


def test_the_daily_full_check_finds_an_old_refill_edited_in_place(
    qtbot: QtBot, clinic: ClinicService, sample_path: Path
) -> None:
    """The start-up check cannot see it (no entry since wrote it); the window's full check,
    run in the background after the sign-in, does: shown as a break and audited; a second
    window on this workstation the same day does not run it again."""
    assert clinic.records.check_since_checkpoint().ok  # the start-up check's checkpoint
    refill = _halve_oldest_refill(sample_path)
    main = MainWindow(clinic, clinic.sign_in("admin", PASSWORD), full_check_after_ms=0)
    qtbot.addWidget(main)
    main.show()
    assert main.integrity_notice is None  # the start-up check saw nothing
    qtbot.waitUntil(
        lambda: main.full_check is not None and main.full_check.finished, timeout=60_000
    )
    notice = main.integrity_notice
    assert notice is not None and notice.startswith(
        f"Integrity break: refills #{refill}: volume_added_ml changed outside pumpmgr"
    )
    assert main.integrity_banner.isVisible() and main.integrity_banner.text() == notice
    main.idle.stop()
    main.close()
    again = MainWindow(clinic, clinic.sign_in("nina", PASSWORD), full_check_after_ms=0)
    qtbot.addWidget(again)
    qtbot.waitUntil(
        lambda: again.full_check is not None and again.full_check.finished, timeout=60_000
    )
    assert again.full_check is not None and again.full_check.outcome == (False, None)
    again.idle.stop()
    with contextlib.closing(sqlite3.connect(sample_path)) as connection:
        actions = [
            row[0]
            for row in connection.execute(
                "SELECT action FROM audit_log WHERE action LIKE 'integrity.%' ORDER BY seq"
            )
        ]
    assert actions == ["integrity.break", "integrity.full_check"]


def test_a_full_check_that_cannot_run_says_so_and_nothing_else(
    qtbot: QtBot, clinic: ClinicService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space() -> None:  # the SQLite copy in a full temporary folder
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(clinic.records, "run_full_check", no_space)
    main = MainWindow(clinic, clinic.sign_in("nina", PASSWORD), full_check_after_ms=0)
    qtbot.addWidget(main)
    qtbot.waitUntil(lambda: main.full_check is not None and main.full_check.finished)
    assert (
        main.statusBar()
        .currentMessage()
        .startswith("The full integrity check could not run: OSError")
    )
    assert main.integrity_notice is None and not main.integrity_banner.isVisible()
    main.idle.stop()
