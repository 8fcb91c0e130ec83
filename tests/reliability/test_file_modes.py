"""Files that hold patient records are owner-only on POSIX (issue 12, group 6): the database,
its backups and manifests, the safety copy a restore keeps, exports and printed sheets are
0600, the folders pumpmgr makes for them 0700, whatever the umask."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_workers import PASSWORD, build_clinic

from pumpmgr.cli import main
from pumpmgr.db.backup import backup_database, manifest_path, restore_database
from pumpmgr.db.engine import open_database
from pumpmgr.files import write_private_bytes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def lax_umask() -> Iterator[None]:
    """The common default, under which a file is made readable by every user."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _cli(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def test_database_backups_safety_copies_exports_and_sheets_are_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 1)
        backup = tmp_path / "made" / "backup.db"
        backup_database(database.engine, backup)
    assert _mode(path) == 0o600
    assert _mode(backup) == _mode(manifest_path(backup)) == 0o600
    assert _mode(backup.parent) == 0o700
    safety = restore_database(backup, path, safety_dir=tmp_path / "safety")
    assert safety is not None and _mode(safety) == 0o600 and _mode(safety.parent) == 0o700
    export = tmp_path / "clinic.json"
    monkeypatch.setenv("PUMPMGR_PASSWORD", PASSWORD)
    assert _cli("--db", str(path), "export", "--user", "admin", "--out", str(export)) == 0
    sheet = tmp_path / "due.pdf"
    assert (
        _cli(
            "--db",
            str(path),
            "print",
            "due",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--out",
            str(sheet),
        )
        == 0
    )
    assert _mode(export) == _mode(sheet) == 0o600
    daily = tmp_path / "backups"
    assert _cli("--db", str(path), "due") == 0  # takes today's backup
    assert _mode(daily) == 0o700
    assert {_mode(p) for p in daily.iterdir()} == {0o600}


def test_a_sheet_saved_over_an_older_file_becomes_owner_only(tmp_path: Path) -> None:
    older = tmp_path / "sheet.pdf"
    older.write_bytes(b"old")
    older.chmod(0o644)
    write_private_bytes(older, b"%PDF-")
    assert older.read_bytes() == b"%PDF-" and _mode(older) == 0o600
    with pytest.raises(FileExistsError):
        write_private_bytes(older, b"again", exclusive=True)
