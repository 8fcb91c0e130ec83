"""Keyed backup manifests (issue 12, group 7): a manifest is signed (HMAC-SHA256) with a clinic
key kept outside the database file, so a backup whose records were rewritten and whose manifest
was recomputed to match is refused; the key lives in the OS keyring when one is present, else
in an owner-only key file."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import sqlite3
import stat
from pathlib import Path

import keyring
import pytest
from jaraco.classes import properties
from keyring.backend import KeyringBackend
from storage_workers import PASSWORD, build_clinic

from pumpmgr.cli import main
from pumpmgr.db import clinic_key as clinic_key_module
from pumpmgr.db.backup import (
    BackupManifest,
    backup_database,
    manifest_path,
    manifest_signature,
    read_manifest,
    restore_database,
)
from pumpmgr.db.clinic_key import ENV_VAR, clinic_key
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import BackupError
from pumpmgr.errors import Code


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    with open_database(tmp_path / "clinic.db", daily_backup_keep=None) as database:
        build_clinic(database, 2)
        backup_database(database.engine, tmp_path / "backup.db")
    return tmp_path / "backup.db"


def _halve_a_refill_and_recompute(backup: Path, *, keep_signature: bool) -> None:
    """What an attacker with the backup folder does: change a record outside pumpmgr (its
    append-only trigger dropped), then rewrite the manifest's SHA-256 to match (and remove or
    keep the signature they cannot recompute)."""
    with contextlib.closing(sqlite3.connect(backup)) as connection:
        connection.execute("DROP TRIGGER trg_refills_no_update")
        connection.execute("UPDATE refills SET volume_added_ml = volume_added_ml / 2")
        connection.commit()
    data = json.loads(manifest_path(backup).read_text(encoding="utf-8"))
    data["sha256"] = hashlib.sha256(backup.read_bytes()).hexdigest()
    data["size_bytes"] = backup.stat().st_size
    if not keep_signature:
        data["hmac"] = data["key_id"] = None
    manifest_path(backup).write_text(json.dumps(data), encoding="utf-8")


def test_the_manifest_is_signed_with_the_clinic_key(backup: Path) -> None:
    manifest = read_manifest(backup)
    key = clinic_key(create=False)
    assert manifest is not None and key is not None
    assert manifest.key_id == key.key_id and manifest.hmac == manifest_signature(manifest, key)
    key_file = Path(os.environ[ENV_VAR])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key.secret.hex() not in manifest_path(backup).read_text(encoding="utf-8")


def test_a_recomputed_manifest_is_refused(tmp_path: Path, backup: Path) -> None:
    _halve_a_refill_and_recompute(backup, keep_signature=True)
    with pytest.raises(BackupError) as refused:
        restore_database(backup, tmp_path / "restored.db")
    assert refused.value.code is Code.DB_CORRUPT
    assert "does not match its signature" in refused.value.message
    assert not (tmp_path / "restored.db").exists()
    with pytest.raises(BackupError):  # a manifest that is there is checked even then
        restore_database(backup, tmp_path / "restored.db", require_manifest=False)


def test_a_manifest_with_its_signature_removed_proves_nothing(tmp_path: Path, backup: Path) -> None:
    _halve_a_refill_and_recompute(backup, keep_signature=False)
    with pytest.raises(BackupError) as refused:
        restore_database(backup, tmp_path / "restored.db")
    assert refused.value.code is Code.BACKUP_NO_MANIFEST and "not signed" in refused.value.message
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        os.environ["PUMPMGR_PASSWORD"] = PASSWORD
        try:
            assert (
                main(
                    [
                        "--db",
                        str(tmp_path / "restored.db"),
                        "restore",
                        "--without-manifest",
                        "--user",
                        "admin",
                        str(backup),
                    ]
                )
                == 0
            )  # only when asked, and said so
        finally:
            del os.environ["PUMPMGR_PASSWORD"]
    assert "RESTORED WITHOUT A SIGNED MANIFEST" in out.getvalue()


def test_another_computers_key(
    tmp_path: Path, backup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = read_manifest(backup)
    assert manifest is not None
    own_key = Path(os.environ[ENV_VAR])
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "other-computer.key"))
    clinic_key(create=True)
    with pytest.raises(BackupError) as refused:
        restore_database(backup, tmp_path / "restored.db")
    assert refused.value.code is Code.BACKUP_KEY_UNKNOWN
    assert manifest.key_id is not None and manifest.key_id in refused.value.message
    monkeypatch.setenv(ENV_VAR, str(own_key))  # the clinic's key copied over
    assert restore_database(backup, tmp_path / "restored.db") is None


def test_a_changed_key_id_is_not_mistaken_for_a_match(tmp_path: Path, backup: Path) -> None:
    manifest = read_manifest(backup)
    assert manifest is not None
    forged = dataclasses.replace(manifest, key_id="0" * 16)
    manifest_path(backup).write_text(json.dumps(forged.__dict__), encoding="utf-8")
    with pytest.raises(BackupError) as refused:
        restore_database(backup, tmp_path / "restored.db")
    assert refused.value.code is Code.BACKUP_KEY_UNKNOWN


class MemoryKeyring(KeyringBackend):
    """A keyring in memory, set by hand: never chosen by keyring itself (a backend whose
    priority raises is not viable; every subclass is registered as a candidate)."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only for this test")

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.stored.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.stored[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.stored.pop((service, username), None)


def test_the_os_keyring_is_used_where_one_is_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setattr(clinic_key_module, "user_config_dir", lambda *a, **k: str(tmp_path))
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        key = clinic_key(create=True)
        assert key is not None and key.where == "the operating system's keyring"
        assert list(memory.stored) == [("pumpmgr", "clinic-backup-key")]
        assert not (tmp_path / "clinic-backup.key").exists()
        assert clinic_key(create=False) == key
    finally:
        keyring.set_keyring(previous)
    # Without a usable keyring (this machine has none): the owner-only key file.
    fallback = clinic_key(create=True)
    assert fallback is not None and fallback.where.startswith("the key file")
    assert stat.S_IMODE((tmp_path / "clinic-backup.key").stat().st_mode) == 0o600


def test_an_older_unsigned_manifest_needs_asking(tmp_path: Path, backup: Path) -> None:
    """A manifest written before manifests were signed reads as one, and restores only with
    --without-manifest (require_manifest=False), like a backup without one."""
    manifest = read_manifest(backup)
    assert manifest is not None
    fields = {
        k: v for k, v in manifest.__dict__.items() if k not in ("key_id", "hmac", "chain_problem")
    }
    manifest_path(backup).write_text(json.dumps(fields), encoding="utf-8")
    assert read_manifest(backup) == BackupManifest(**fields)
    with pytest.raises(BackupError) as refused:
        restore_database(backup, tmp_path / "restored.db")
    assert refused.value.code is Code.BACKUP_NO_MANIFEST
    assert restore_database(backup, tmp_path / "restored.db", require_manifest=False) is None
