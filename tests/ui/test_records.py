"""Records screens end to end: the audit log viewer finds a tampered row, settings are saved
(or refused when changed meanwhile), accounts are added and deactivated by an administrator only,
the drug library edit is audited, and a backup restores round trip."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from mnemonics import clashes
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.errors import PumpMgrError
from pumpmgr.services import ClinicService
from pumpmgr.units import Q_
from ui.main_window import MainWindow
from ui.screens.records import RecordsTab
from ui.screens.records_audit import PAGE_SIZE
from ui.screens.records_models import (
    AuditLogModel,
    DrugLibraryModel,
    ObjectRole,
    UsersModel,
    payload_summary,
)
from ui.screens.records_settings import CHANGED_MEANWHILE

#: The sample clinic's accounts, by user name (its orders name the two prescribers).
SAMPLE_USERS = ["admin", "brandt", "nina", "otto", "roth"]


@pytest.fixture
def admin_window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    main = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    yield main
    main.idle.stop()


def test_audit_log_pages_and_detects_a_tampered_row(
    admin_window: MainWindow,
    sample_path: Path,
    dialogs: Dialogs,
    qtmodeltester: object,
) -> None:
    """The administrator reads the whole log (a nurse her own patients': see below)."""
    window = admin_window
    window.records_actions[RecordsTab.AUDIT].trigger()
    assert window.stack.currentWidget() is window.records
    audit = window.records.audit
    rows = audit.model.rows()
    total = window.clinic.audit_count()
    assert [r.seq for r in rows] == list(range(total, max(0, total - PAGE_SIZE), -1))
    assert audit.page_label.text().startswith(f"Entries #{total} to #")
    qtmodeltester.check(audit.model)  # type: ignore[attr-defined]
    qtmodeltester.check(AuditLogModel(window.clinic.tz))  # type: ignore[attr-defined]

    audit.verify()
    assert (
        audit.result.text() == f"Audit log intact: {total} entries checked, newest entry #{total}."
    )

    # Someone with the file drops the append-only trigger and edits entry #5.
    raw = sqlite3.connect(sample_path)
    triggers = [
        name
        for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        )
    ]
    assert triggers
    for name in triggers:
        raw.execute(f'DROP TRIGGER "{name}"')
    raw.execute("UPDATE audit_log SET username = 'mallory' WHERE seq = 5")
    raw.commit()
    raw.close()

    audit.verify()
    assert audit.result.text().startswith(
        "Audit log BROKEN at entry #5: audit entry #5 was altered: its contents no longer "
        "match its hash."
    )
    assert audit.result.property("role") == "error"
    assert "broken at entry #5" in dialogs.texts("warn")[0]
    assert audit.model.flagged == 5
    current = audit.table.selectionModel().currentIndex()
    assert current.data() == "#5  BROKEN"
    assert audit.model.index(current.row(), 2).data() == "mallory"
    assert "Entry #5" in audit.detail.toPlainText()


def test_audit_go_to_entry_and_summaries(admin_window: MainWindow) -> None:
    window = admin_window
    window.show_records(RecordsTab.AUDIT)
    audit = window.records.audit
    audit.go_to(3)
    entry = audit.table.selectionModel().currentIndex().data(ObjectRole)
    assert entry.seq == 3
    assert payload_summary(
        "refill.record", json.dumps({"aspirated_ml": 1.2, "verdict": "investigate", "pump_id": 4})
    ) == ("aspirated: 1.2 mL; verdict: investigate; pump: #4")
    assert payload_summary("drug_library.edit", json.dumps({"soft_max": 900.0})) == (
        "soft max: 900 mcg/day"
    )
    assert payload_summary("refill.record", json.dumps({"warnings": {}, "lot": ""})) == (
        "warnings: none; lot: (empty)"
    )
    assert payload_summary(
        "settings.update",
        json.dumps(
            {
                "before": {"buffer_days": 7, "open_days": [0, 1, 2, 3, 4], "clinic_name": "A"},
                "after": {"buffer_days": 5, "open_days": [0, 1, 2, 3, 4], "clinic_name": "A"},
            }
        ),
    ) == ("buffer: 7 days → 5 days")
    # a clinic's set-up: the settings that changed, then the account made in the same entry
    assert payload_summary(
        "clinic.set_up",
        json.dumps(
            {
                "before": {"buffer_days": 7, "clinic_name": ""},
                "after": {"buffer_days": 7, "clinic_name": "A"},
                "users": [{"user_id": 1, "username": "h.admin", "role": "administrator"}],
            }
        ),
    ) == ("clinic name: (empty) → A; users: user #1, username h.admin, role administrator")
    # what an implant's steps recorded, in its entry
    assert payload_summary(
        "pump.implant",
        json.dumps({"events": [{"pump_event_id": 7, "kind": "implant", "note": "SN1 implanted"}]}),
    ) == ("events: pump event #7, kind implant, note SN1 implanted")


def test_settings_refuse_a_phone_and_give_each_alt_key_once(admin_window: MainWindow) -> None:
    """Tried by hand: Alt+P went to the phone or the paper size (or the Pump models tab), Alt+L
    to the lock or Reload, Alt+S to the Clinic settings tab or Save."""
    admin_window.records_actions[RecordsTab.SETTINGS].trigger()
    assert clashes(admin_window) == {}
    tab = admin_window.records.settings
    tab.name.setText("Pump Clinic")
    tab.phone.setText("ask the ward")
    assert not tab.save()
    assert "clinic phone: 'ask the ward' is not a telephone number" in tab.message.text()


def test_settings_save_and_changed_meanwhile(admin_window: MainWindow, dialogs: Dialogs) -> None:
    admin_window.records_actions[RecordsTab.SETTINGS].trigger()
    tab = admin_window.records.settings
    assert tab.save_button.isEnabled()
    assert tab.buffer.value() == 7
    assert tab.name.text() == ""  # a new clinic has no name yet
    tab.buffer.setValue(5)
    tab.auto_lock.setValue(15)
    assert not tab.save()
    assert tab.message.text() == "Not saved: clinic name: is required"
    tab.name.setText("Pump Clinic")
    assert tab.save()
    clinic = admin_window.clinic
    assert clinic.settings().buffer_days == 5
    assert admin_window.idle.timeout_ms() == 15 * 60_000
    assert tab.message.text().startswith("Saved.")
    newest = clinic.audit_entries(0, 1)[0]
    assert newest.action == "settings.update"
    assert payload_summary(newest.action, newest.payload) == (
        "auto lock: 10 min → 15 min; buffer: 7 days → 5 days; clinic name: (empty) → Pump Clinic"
    )

    # Someone else saves from another workstation while the form is open.
    admin = clinic.sign_in("admin", PASSWORD)
    theirs, version = clinic.settings_for_edit()
    clinic.update_settings(admin, replace(theirs, clinic_phone="+49 30 999"), version)
    tab.name.setText("Pump Clinic North")
    assert not tab.save()
    assert tab.message.text() == CHANGED_MEANWHILE
    assert dialogs.texts("warn") == [CHANGED_MEANWHILE]
    assert tab.name.text() == "Pump Clinic North"  # nothing typed is lost
    assert clinic.settings().clinic_name != "Pump Clinic North"
    tab.reload_button.click()
    assert tab.phone.text() == "+49 30 999"
    tab.name.setText("Pump Clinic North")
    assert tab.save()
    assert clinic.settings().clinic_name == "Pump Clinic North"


def test_settings_are_read_only_for_a_nurse(window: MainWindow) -> None:
    window.show_records(RecordsTab.SETTINGS)
    tab = window.records.settings
    assert not tab.save_button.isEnabled() and not tab.name.isEnabled()
    assert tab.note.text() == "Only an administrator changes the clinic's settings."
    assert tab.name.text() == window.clinic.settings().clinic_name


def test_accounts_are_the_administrators(
    window: MainWindow, admin_window: MainWindow, qtmodeltester: object, dialogs: Dialogs
) -> None:
    window.show_records(RecordsTab.USERS)  # a nurse may not: the audit log opens instead
    assert not window.records.allowed_tab(RecordsTab.USERS)
    assert window.records.tabs.currentIndex() == int(RecordsTab.AUDIT)
    assert not window.records_actions[RecordsTab.USERS].isVisible()
    assert admin_window.records_actions[RecordsTab.USERS].isVisible()

    admin_window.show_records(RecordsTab.USERS)
    tab = admin_window.records.users
    assert [u.username for u in tab.model.rows()] == SAMPLE_USERS
    qtmodeltester.check(tab.model)  # type: ignore[attr-defined]
    qtmodeltester.check(UsersModel(admin_window.clinic.tz))  # type: ignore[attr-defined]
    tab.username.setText("petra")
    tab.full_name.setText("Petra Prescriber")
    tab.role.setCurrentIndex(tab.role.findData("prescriber"))
    tab.password.setText(PASSWORD)
    tab.repeat.setText(PASSWORD + "x")
    assert tab.add_user() is None
    assert tab.add_message.text().startswith("Not added: the two passwords differ")
    tab.repeat.setText(PASSWORD)
    tab.password.setText(PASSWORD)
    added = tab.add_user()
    assert added is not None and added.role == "prescriber"
    assert tab.add_message.text() == "Added Petra Prescriber (petra, prescriber)."
    assert admin_window.clinic.sign_in("petra", PASSWORD).role == "prescriber"

    row = next(i for i, u in enumerate(tab.model.rows()) if u.username == "otto")
    tab.table.selectRow(row)
    assert not tab.deactivate()
    assert tab.close_message.text() == "Not deactivated: write the reason."
    tab.reason.setText("left the clinic")
    assert tab.deactivate()
    otto = next(u for u in tab.model.rows() if u.username == "otto")
    assert not otto.active
    assert tab.model.index(tab.model.rows().index(otto), 3).data() == "deactivated"
    with pytest.raises(PumpMgrError, match="deactivated"):
        admin_window.clinic.sign_in("otto", PASSWORD)
    refused, entry = admin_window.clinic.audit_entries(0, 2)  # the attempt is on record too
    assert (refused.action, refused.username) == ("user.sign_in_failed", "otto")
    assert (entry.action, entry.reason) == ("user.deactivate", "left the clinic")

    row = next(i for i, u in enumerate(tab.model.rows()) if u.username == "admin")
    tab.table.selectRow(row)
    tab.reason.setText("testing")
    assert not tab.deactivate()
    assert "your own account" in tab.close_message.text()


def test_drug_library_edit_is_audited(
    admin_window: MainWindow, dialogs: Dialogs, qtmodeltester: object
) -> None:
    admin_window.show_records(RecordsTab.LIBRARY)
    tab = admin_window.records.library
    qtmodeltester.check(tab.model)  # type: ignore[attr-defined]
    qtmodeltester.check(DrugLibraryModel())  # type: ignore[attr-defined]
    tab.select("baclofen")
    assert tab.drug is not None and tab.drug.key == "baclofen"
    assert tab.edits["soft_max"].text() == "1000 mcg/day"
    tab.edits["soft_max"].set_text("900 mcg/day")
    assert not tab.save()
    assert tab.message.text() == "Not saved: reason: is required"
    tab.reason.setText("P&T committee, 14 Oct 2025")
    assert tab.save()
    assert dialogs.texts("confirm")[0].startswith("Baclofen's limits changed. Recompute")
    assert tab.message.text() == (
        "Baclofen: saved and audited; 6 active pumps' forecasts recomputed."
    )
    clinic = admin_window.clinic
    baclofen = clinic.library().drug("baclofen")
    assert baclofen.soft_max is not None and baclofen.soft_max.value == Q_(900, "mcg/day")
    actions = [(e.action, e.reason) for e in clinic.audit_entries(0, 2)]
    assert actions == [
        ("forecast.recompute", "drug library: Baclofen: P&T committee, 14 Oct 2025"),
        ("drug_library.edit", "P&T committee, 14 Oct 2025"),
    ]
    row = next(i for i, d in enumerate(tab.model.rows()) if d.key == "baclofen")
    assert tab.model.index(row, 2).data() == "900 mcg/day (clinic edit #1)"

    tab.select("ziconotide")
    tab.edits["soft_max"].set_text("25 mcg/day")
    tab.reason.setText("typo test")
    assert not tab.save()
    assert tab.message.text().startswith("Not saved: soft max: is above the hard maximum")
    tab.edits["soft_max"].clear()
    tab.edits["typical_max"].clear()
    assert not tab.save()
    assert "cannot be removed" in tab.message.text()


def test_the_library_is_read_only_for_a_nurse(window: MainWindow) -> None:
    window.show_records(RecordsTab.LIBRARY)
    tab = window.records.library
    tab.select("morphine")
    assert tab.edits["hard_max"].text() == "30 mg/day"  # the policy maximum, twice the soft
    assert not tab.save_button.isEnabled()
    assert "prescriber or an administrator" in tab.note.text()


def test_backup_then_restore_round_trip(
    admin_window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    clinic = admin_window.clinic
    admin_window.show_records(RecordsTab.DATA)
    data = admin_window.records.data
    assert data.backup_button.isEnabled() and data.restore_button.isEnabled()
    backup = tmp_path / "saved" / "before.db"
    backup.parent.mkdir()
    dialogs.save_to = backup
    assert data.back_up() == backup
    assert backup.is_file() and (tmp_path / "saved" / "before.db.json").is_file()
    assert data.backup_result.text().startswith(f"Backup written: {backup} (")
    assert "audit log intact up to entry #" in data.backup_result.text()
    assert data.back_up() is None  # never over an existing backup
    assert "already exists" in dialogs.texts("error")[-1]

    admin = clinic.sign_in("admin", PASSWORD)
    clinic.add_user(admin, "temp", PASSWORD, "Temporary User", "nurse")
    old_database = clinic.database

    dialogs.open_from = backup
    dialogs.confirm_answer = False
    assert not data.restore()
    assert "temp" in [u.username for u in clinic.list_users()]
    dialogs.confirm_answer = True
    try:
        assert data.restore()
        warning = dialogs.texts("confirm")[-1]
        assert "Restore replaces EVERY record" in warning and str(backup) in warning
        assert clinic.database is not old_database
        assert [u.username for u in clinic.list_users()] == SAMPLE_USERS
        assert clinic.verify_audit().ok
        assert "The database it replaced is kept as" in dialogs.texts("info")[-1]
        assert admin_window.is_locked()
        assert "restored from a backup" in admin_window.lock_screen.reason.text()
        assert dialogs.texts("info")[-1].startswith("The backup was restored.")
        assert admin_window.records.audit.model.rows() == []  # forgotten behind the lock
        form = admin_window.lock_screen.form
        form.username.setText("nina")
        form.password.setText(PASSWORD)
        form.submit.click()
        assert not admin_window.is_locked()
        assert admin_window.stack.currentWidget() is admin_window.dashboard
        assert len(admin_window.dashboard.model.rows()) == 6
    finally:
        if clinic.database is not old_database:
            clinic.database.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(
    admin_window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    admin_window.show_records(RecordsTab.DATA)
    bogus = tmp_path / "notes.db"
    bogus.write_text("not a database")
    dialogs.open_from = bogus
    database = admin_window.clinic.database
    assert not admin_window.records.data.restore()
    assert "is not a SQLite database" in dialogs.texts("error")[-1]
    assert admin_window.clinic.database is database  # nothing was closed
    assert not admin_window.is_locked()


@pytest.mark.parametrize("without_manifest", [False, True], ids=["refused", "restored"])
def test_a_backup_without_its_manifest_is_restored_only_when_asked(
    admin_window: MainWindow, tmp_path: Path, dialogs: Dialogs, without_manifest: bool
) -> None:
    admin_window.show_records(RecordsTab.DATA)
    data = admin_window.records.data
    backup = tmp_path / "by-hand.db"
    dialogs.save_to = backup
    assert data.back_up() == backup
    (tmp_path / "by-hand.db.json").unlink()
    dialogs.open_from = backup
    dialogs.confirm_answers = [True, without_manifest]
    clinic = admin_window.clinic
    old_database = clinic.database
    try:
        assert data.restore() is without_manifest
        question = dialogs.texts("confirm")[-1]
        assert "no manifest" in question and "paper chart" in question
        if without_manifest:
            assert admin_window.is_locked()
            assert dialogs.texts("info")[-1].startswith("The backup was restored.")
            assert [u.username for u in clinic.list_users()] == SAMPLE_USERS
        else:
            assert "no manifest" in dialogs.texts("error")[-1]
            assert not admin_window.is_locked()
        assert clinic.verify_audit().ok
    finally:
        if clinic.database is not old_database:
            clinic.database.dispose()


def test_export_as_json(admin_window: MainWindow, tmp_path: Path, dialogs: Dialogs) -> None:
    admin_window.show_records(RecordsTab.DATA)
    data = admin_window.records.data
    out = tmp_path / "clinic.json"
    dialogs.save_to = out
    assert data.export() == out
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "pumpmgr-clinic-export/1"
    assert len(document["tables"]["patients"]) == 6
    assert data.export_result.text().startswith("Exported ")
    assert "(6 patients, " in data.export_result.text()


def test_backup_restore_export_are_the_administrators(window: MainWindow) -> None:
    window.show_records(RecordsTab.DATA)
    data = window.records.data
    assert not any(
        b.isEnabled() for b in (data.backup_button, data.restore_button, data.export_button)
    )
    assert data.note.text().startswith("Only an administrator")


def test_an_administrator_restores_a_broken_chain_backup_with_a_reason(
    admin_window: MainWindow, tmp_path: Path, dialogs: Dialogs
) -> None:
    """The window's override goes through the same service as the command line's: refused
    until the administrator confirms and gives a reason, which the restored audit log keeps."""
    admin_window.show_records(RecordsTab.DATA)
    data = admin_window.records.data
    clinic = admin_window.clinic
    with clinic.database.engine.connect() as connection:
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
        connection.exec_driver_sql("UPDATE audit_log SET reason = 'forged' WHERE seq = 2")
        connection.commit()
    backup = tmp_path / "broken.db"
    dialogs.save_to = backup
    assert data.back_up() == backup
    assert "audit log BROKEN" in data.backup_result.text()
    dialogs.open_from = backup
    dialogs.confirm_answers = [True, False]  # restore? yes; restore it anyway? no
    old_database = clinic.database
    assert not data.restore()
    assert "broken" in dialogs.texts("confirm")[-1] and clinic.database is not None
    dialogs.confirm_answers = [True, True]
    dialogs.text_answer = "the newer backups are broken too"
    try:
        assert data.restore()
        assert "reason" in dialogs.texts("ask_text")[-1].lower()
        with clinic.database.read() as session:
            done = session.scalars(
                select(db.AuditEntry).order_by(db.AuditEntry.seq.desc()).limit(1)
            ).one()
        # one entry: who restored, and the broken chain they let through, with why
        assert (done.action, done.username) == ("backup.restore", "admin")
        assert done.reason == "the newer backups are broken too"
        assert json.loads(done.payload)["broken_chain"]["accepted_by"] == "admin"
    finally:
        if clinic.database is not old_database:
            clinic.database.dispose()


def test_the_settings_screen_keeps_the_settings_it_does_not_edit(admin_window: MainWindow) -> None:
    """The longest refill interval, the closed dates and the empty threshold (issue 11) are
    saved back as they were, never reset to their defaults by a save from this screen."""
    from datetime import date

    clinic = admin_window.clinic
    admin = clinic.sign_in("admin", PASSWORD)
    theirs, version = clinic.settings_for_edit()
    kept = replace(
        theirs,
        clinic_name="Pump Clinic",
        max_refill_interval_days=60,
        closed_dates=frozenset({date(2025, 12, 24)}),
        empty_threshold_ml=1.0,
    )
    clinic.update_settings(admin, kept, version)
    admin_window.records_actions[RecordsTab.SETTINGS].trigger()
    tab = admin_window.records.settings
    tab.load()
    tab.buffer.setValue(6)
    assert tab.save()
    saved = clinic.settings()
    assert saved.buffer_days == 6
    assert (saved.max_refill_interval_days, saved.closed_dates, saved.empty_threshold_ml) == (
        60,
        frozenset({date(2025, 12, 24)}),
        1.0,
    )


def test_settings_keep_the_booking_capacity_and_horizon(admin_window: MainWindow) -> None:
    admin_window.records_actions[RecordsTab.SETTINGS].trigger()
    tab = admin_window.records.settings
    assert (tab.clinic_visits.value(), tab.home_visits.value(), tab.horizon.value()) == (8, 2, 21)
    tab.name.setText("Pump Clinic")
    tab.clinic_visits.setValue(6)
    tab.home_visits.setValue(0)
    tab.horizon.setValue(28)
    assert tab.save(), tab.message.text()
    saved = admin_window.clinic.settings()
    assert (saved.clinic_visits_per_day, saved.home_visits_per_day, saved.booking_horizon_days) == (
        6,
        0,
        28,
    )
    newest = admin_window.clinic.audit_entries(0, 1)[0]
    summary = payload_summary(newest.action, newest.payload)
    assert "6" in summary and "28" in summary, summary
