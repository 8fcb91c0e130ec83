"""Backups of a clinic whose audit chain is broken (issue 12, group 2): still taken and kept,
their manifest says so, and restoring one needs an administrator's explicit, audited override
(the command line and the window go through the same service)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from storage_workers import PASSWORD, build_clinic

from pumpmgr.cli import main
from pumpmgr.db import schema as db
from pumpmgr.db.backup import (
    backup_database,
    daily_backup,
    daily_backups,
    manifest_path,
    read_manifest,
    restore_database,
)
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import BackupError
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services import ClinicService
from pumpmgr.services.restoring import RESTORE_ACTION, BrokenChainOverride, restore_clinic


def _break_chain(database: Database) -> None:
    """An audit entry edited outside pumpmgr, its triggers dropped first."""
    with database.engine.connect() as connection:
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
        connection.exec_driver_sql("UPDATE audit_log SET reason = 'edited by hand' WHERE seq = 3")
        connection.commit()


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, Path]:
    """A clinic whose chain is broken, and a backup taken of it after the break."""
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 2)
        _break_chain(database)
        backup_database(database.engine, tmp_path / "broken.db")
    return path, tmp_path / "broken.db"


def _audit(path: Path) -> list[db.AuditEntry]:
    with open_database(path, daily_backup_keep=None) as database, database.read() as session:
        return list(session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq)))


def test_the_backup_is_taken_and_its_manifest_says_the_chain_is_broken(
    broken: tuple[Path, Path],
) -> None:
    _, backup = broken
    manifest = read_manifest(backup)
    assert manifest is not None and backup.is_file()
    assert manifest.chain_ok is False
    assert manifest.chain_problem is not None and "#3" in manifest.chain_problem
    on_disk = json.loads(manifest_path(backup).read_text(encoding="utf-8"))
    assert on_disk["chain_ok"] is False and on_disk["chain_problem"] == manifest.chain_problem


def test_daily_rotation_keeps_the_newest_backup_with_an_intact_chain(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    folder = tmp_path / "daily"
    first = date(2026, 3, 1)
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 1)
        daily_backup(database.engine, folder, keep=3, today=first)  # intact
        _break_chain(database)
        for offset in range(1, 6):
            daily_backup(database.engine, folder, keep=3, today=first + timedelta(days=offset))
    kept = [p.name for p in daily_backups(folder)]
    assert kept == [
        "pumpmgr-daily-2026-03-06.db",
        "pumpmgr-daily-2026-03-05.db",
        "pumpmgr-daily-2026-03-04.db",
        "pumpmgr-daily-2026-03-01.db",
    ]
    sound = read_manifest(folder / "pumpmgr-daily-2026-03-01.db")
    assert sound is not None and sound.chain_ok


def test_restore_refuses_a_broken_chain_without_an_override(
    tmp_path: Path,
    broken: tuple[Path, Path],
) -> None:
    _, backup = broken
    target = tmp_path / "elsewhere.db"
    with pytest.raises(BackupError) as refused:
        restore_database(backup, target)
    assert refused.value.code is Code.BACKUP_CHAIN_BROKEN
    assert "administrator" in refused.value.message and not target.exists()


def test_an_administrators_override_restores_it_and_is_audited(
    tmp_path: Path,
    broken: tuple[Path, Path],
) -> None:
    path, backup = broken
    with open_database(path, daily_backup_keep=None) as database:
        clinic = ClinicService(database)
        admin = clinic.sign_in("admin", PASSWORD)
        nurse = clinic.sign_in("nina", PASSWORD)
    target = tmp_path / "restored.db"
    with pytest.raises(PumpMgrError) as not_admin:
        restore_clinic(
            backup, target, administrator=nurse, override=BrokenChainOverride(nurse, "why not")
        )
    assert not_admin.value.code is Code.AUTH_NOT_PERMITTED and not target.exists()
    with pytest.raises(PumpMgrError) as no_reason:
        restore_clinic(
            backup, target, administrator=admin, override=BrokenChainOverride(admin, "  ")
        )
    assert no_reason.value.field == "reason" and not target.exists()
    restored = restore_clinic(
        backup,
        target,
        administrator=admin,
        override=BrokenChainOverride(admin, "every newer backup is broken as well"),
        workstation="ws-1",
    )
    assert not restored.chain.ok and restored.chain.first_bad_seq == 3
    entries = _audit(target)
    done = entries[-1]  # the restore's one entry (T8), the override in it, under admin
    assert (done.seq, done.action, done.username) == (
        restored.restore_seq,
        "backup.restore",
        "admin",
    )
    assert done.seq == restored.override_seq
    assert done.reason == "every newer backup is broken as well" and done.workstation == "ws-1"
    broken = json.loads(done.payload)["broken_chain"]
    assert broken["first_bad_seq"] == 3 and broken["accepted_by"] == "admin"


def _cli(*argv: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_command_line_override(
    tmp_path: Path, broken: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, backup = broken
    code, _, error = _cli(
        "--db",
        str(path),
        "restore",
        str(backup),
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert code == 2 and "--override-broken-chain" in error and error.count("\n") == 1
    code, _, error = _cli(
        "--db",
        str(path),
        "restore",
        str(backup),
        "--override-broken-chain",
        "--user",
        "nina",
        "--reason",
        "test",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert code == 2 and error.startswith("pumpmgr restore: --user: nina is a nurse"), error
    code, _, error = _cli(
        "--db",
        str(path),
        "restore",
        str(backup),
        "--override-broken-chain",
        "--user",
        "admin",
        "--reason",
        "test",
        "--password-stdin",
        stdin="wrong password\n",
        monkeypatch=monkeypatch,
    )
    assert code == 2 and "--user" in error
    assert not list(tmp_path.glob("backups/pumpmgr-before-restore-*"))  # nothing restored
    code, out, error = _cli(
        "--db",
        str(path),
        "restore",
        str(backup),
        "--override-broken-chain",
        "--user",
        "admin",
        "--reason",
        "the only backup left",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0, error
    assert "RESTORED WITH A BROKEN AUDIT LOG" in out and "kept as" in out
    last = _audit(path)[-1]
    assert (last.action, last.username, last.reason) == (
        RESTORE_ACTION,
        "admin",
        "the only backup left",
    )
    assert json.loads(last.payload)["broken_chain"]["accepted_by"] == "admin"


def test_command_line_override_on_a_new_computer(
    tmp_path: Path, broken: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No database there yet: the administrator signs in against the backup's own accounts."""
    _, backup = broken
    fresh = tmp_path / "new-computer" / "pumpmgr.db"
    fresh.parent.mkdir()
    code, out, error = _cli(
        "--db",
        str(fresh),
        "restore",
        str(backup),
        "--override-broken-chain",
        "--user",
        "admin",
        "--reason",
        "moving the clinic",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0, error
    assert "RESTORED WITH A BROKEN AUDIT LOG" in out
    assert _audit(fresh)[-1].reason == "moving the clinic"  # the restore's one entry
