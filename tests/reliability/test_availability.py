"""Availability (issue 12, group 5): a failed start-up backup (a full disk, a missing drive)
warns and lets the clinic read its records (``due`` works); a database file moved or deleted
while pumpmgr has it open is said as such, never as "read-only"."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from storage_workers import build_clinic

from pumpmgr.cli import main
from pumpmgr.db import backup as backup_module
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import StorageFault
from pumpmgr.errors import Code
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def clinic_file(tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 2)
    return path


def test_due_works_when_the_backup_folder_cannot_be_made(clinic_file: Path) -> None:
    (clinic_file.parent / "backups").write_text("a file where the backups folder goes")
    code, out, err = _cli("--db", str(clinic_file), "due")
    assert code == 0, err
    assert "RH00000" in out and "RH00001" in out  # the due list, whole
    assert err.count("\n") == 1 and err.startswith(
        "pumpmgr: warning: today's automatic backup was not taken: "
    )


def test_due_works_when_the_disk_is_full(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(source: sqlite3.Connection, destination: Path) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backup_module, "_copy_pages", full)
    code, out, err = _cli("--db", str(clinic_file), "due")
    assert code == 0, err
    assert "RH00000" in out and "warning: today's automatic backup was not taken" in err
    assert "disk is full" in err
    assert not list((clinic_file.parent / "backups").glob("*.partial"))


@contextlib.contextmanager
def _small_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a real small disk needs root to mount a tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_the_daily_backup_on_a_really_full_disk(clinic_file: Path, tmp_path: Path) -> None:
    with _small_disk(tmp_path / "stick") as stick:
        with open_database(clinic_file, backup_dir=stick / "backups") as database:
            assert database.startup_backup_problem is not None
            assert str(stick) in database.startup_backup_problem
            clinic = ClinicService(database)
            assert len(clinic.due_list()) == 2  # reading goes on
        assert [p.name for p in (stick / "backups").iterdir()] == []


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_a_database_moved_or_deleted_while_open_is_said_so(clinic_file: Path, how: str) -> None:
    with open_database(clinic_file, daily_backup_keep=None) as database:
        clinic = ClinicService(database)
        nurse = clinic.sign_in("nina", "correct horse battery")
        if how == "moved":
            clinic_file.rename(clinic_file.with_name("elsewhere.db"))
        else:
            clinic_file.unlink()
        with pytest.raises(StorageFault) as fault:
            clinic.register_patient(
                nurse, PatientInput("M000001", "Moved", "Mo", date(1970, 1, 1), "other")
            )
    assert fault.value.code is Code.DB_MOVED
    assert "moved, renamed or deleted" in fault.value.message
    assert "read-only" not in fault.value.message
