"""Backups of the SQLite clinic database, and a restore that checks what it is given.

Persistence layer: may import the standard library, SQLAlchemy and the other ``pumpmgr.db``
modules (never ``pumpmgr.db.engine``, which imports this module).

- A backup is an online, consistent copy made with SQLite's backup API
  (``sqlite3.Connection.backup``), never a file copy (How To Corrupt §1.2). It is written to a
  ``.partial`` file, checked with ``PRAGMA integrity_check``, synced, and renamed into place; a
  JSON manifest beside it records its SHA-256, the SQLite version, the schema revision and the
  audit chain head (an anchor for :func:`pumpmgr.db.audit.verify_chain`).
- :func:`restore_database` refuses a file that is not a SQLite database, fails
  ``integrity_check``, is not a pumpmgr database, comes from a newer pumpmgr, has a broken audit
  chain or does not match its manifest, and (unless told otherwise) one without a manifest
  (``BACKUP_NO_MANIFEST``). Restore only with pumpmgr closed (refused while a
  pumpmgr holds the file's :class:`~pumpmgr.db.gates.InstanceLock`): it copies pages into the
  target with the backup API and never renames over a database in use (§2.5).
- :func:`daily_backup` makes at most one backup a day and keeps the ``keep`` newest.

PostgreSQL databases are backed up with the server's tools (``pg_dump -Fc``), not here.

Over 600 lines on purpose: the backup and the restore share the manifest, the checks of a
file (integrity, schema revision, audit chain) and the partial-file discipline; apart, each
would need all of them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pumpmgr.db.audit import ChainAnchor, ChainReport, verify_chain
from pumpmgr.db.checkpoint import check_since_checkpoint, read_checkpoint
from pumpmgr.db.clinic_key import ClinicKey, clinic_key
from pumpmgr.db.errors import BackupError, DatabaseRefused
from pumpmgr.db.gates import InstanceLock, refuse_stray_journal
from pumpmgr.db.migrate import REQUIRED_TABLES, known_revisions
from pumpmgr.db.session_options import READ_ONLY_OPTION
from pumpmgr.errors import Code
from pumpmgr.files import create_private_file, private_file, private_folder

log = logging.getLogger(__name__)

DAILY_PREFIX = "pumpmgr-daily-"
MANIFEST_SUFFIX = ".json"
DEFAULT_KEEP = 14


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds; written as JSON beside it (``<backup>.json``)."""

    file: str
    created_at: str
    sha256: str
    size_bytes: int
    sqlite_version: str
    schema_revision: str | None
    chain_head_seq: int | None
    chain_head_hash: str | None
    chain_ok: bool
    #: What is wrong with the audit chain when ``chain_ok`` is false (manifests written before
    #: this field have none).
    chain_problem: str | None = None
    #: The id of the clinic key that signed this manifest (:mod:`pumpmgr.db.clinic_key`).
    key_id: str | None = None
    #: HMAC-SHA256, under that key, of every other field (:func:`manifest_signature`); None
    #: in a manifest written before manifests were signed.
    hmac: str | None = None

    @property
    def anchor(self) -> ChainAnchor | None:
        if self.chain_head_seq is None or self.chain_head_hash is None:
            return None
        return ChainAnchor(seq=self.chain_head_seq, row_hash=self.chain_head_hash)


@dataclass(frozen=True)
class BackupCheck:
    """A backup file that passed every check of :func:`check_backup`."""

    path: Path
    schema_revision: str
    chain: ChainReport


def manifest_signature(manifest: BackupManifest, key: ClinicKey) -> str:
    """HMAC-SHA256 under ``key`` of the manifest's fields other than ``hmac``, as canonical
    JSON (sorted keys, no spaces)."""
    fields = {k: v for k, v in manifest.__dict__.items() if k != "hmac"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.secret, text.encode("ascii"), hashlib.sha256).hexdigest()


def _signing_key() -> ClinicKey:
    try:
        key = clinic_key(create=True)
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"the clinic key that signs backup manifests could not be read or "
            f"made ({exc}); no backup was written",
            code=Code.BACKUP_FAILED,
        ) from exc
    assert key is not None  # made when missing
    return key


def check_signature(path: Path, manifest: BackupManifest, *, require_signed: bool) -> None:
    """Refuse (:class:`BackupError`) the manifest of ``path`` when its signature does not match
    under this computer's clinic key (``db.corrupt``: it was changed after the backup); and,
    when ``require_signed``, when it is not signed (``backup.no_manifest``: an older pumpmgr
    wrote it, or the signature was removed) or signed with a key this computer does not have
    (``backup.key_unknown``)."""
    try:
        key = clinic_key(create=False)
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"the clinic key that signs backup manifests cannot be read ({exc})",
            code=Code.BACKUP_FAILED,
        ) from exc
    if manifest.hmac is None:
        if require_signed:
            raise BackupError(
                f"the manifest beside {path} is not signed with a clinic key (an older pumpmgr "
                "wrote it, or its signature was removed), so it does not prove the backup is "
                "unchanged: anyone who can write the backup folder can recompute it.",
                code=Code.BACKUP_NO_MANIFEST,
            )
        return
    if key is None or key.key_id != manifest.key_id:
        if require_signed:
            have = "no clinic key" if key is None else f"the key {key.key_id}"
            raise BackupError(
                f"the manifest beside {path} is signed with the clinic key {manifest.key_id}, "
                f"and this computer has {have} ({'' if key is None else key.where + ', '}see "
                "docs/reliability.md): copy that key here to check it.",
                code=Code.BACKUP_KEY_UNKNOWN,
            )
        return
    if not hmac.compare_digest(manifest_signature(manifest, key), manifest.hmac):
        raise BackupError(
            f"the manifest beside {path} does not match its signature: it was changed after "
            "the backup was taken (a rewritten audit log with a recomputed manifest looks like "
            "this), and the backup will not be restored",
            code=Code.DB_CORRUPT,
        )


def signed_here(backup: Path) -> bool:
    """Whether ``backup`` has a manifest signed with this computer's clinic key (what makes
    its SHA-256 and chain head proof; :func:`check_signature` checks that it matches)."""
    try:
        manifest = read_manifest(backup)
        key = clinic_key(create=False)
    except (BackupError, OSError, ValueError):
        return False
    return (
        manifest is not None
        and manifest.hmac is not None
        and key is not None
        and key.key_id == manifest.key_id
    )


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lenient_text(data: bytes) -> str:
    """Text from a file being checked: a damaged file may hold bytes that are not UTF-8."""
    return data.decode("utf-8", errors="replace")


def _integrity_problems(connection: sqlite3.Connection) -> list[str]:
    factory = connection.text_factory
    connection.text_factory = _lenient_text  # the report names damaged tables and indexes
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.text_factory = factory
    messages = [str(row[0]) for row in rows]
    return [] if messages == ["ok"] else messages


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def _revision(connection: sqlite3.Connection) -> str | None:
    if "alembic_version" not in _tables(connection):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def read_only_engine(path: Path) -> Engine:
    """An engine on the SQLite file at ``path`` that only reads, each connection new; text
    that is not UTF-8 is read (replaced), so a damaged value fails its check, not the read."""
    uri = f"file:{path.absolute()}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True)
        connection.text_factory = _lenient_text  # undecodable text fails the hash, not the read
        return connection

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _verify_file_chain(path: Path, anchor: ChainAnchor | None = None) -> ChainReport:
    engine = read_only_engine(path)
    try:
        with Session(engine) as session:
            return verify_chain(session, anchor)
    finally:
        engine.dispose()


def _copy_pages(source: sqlite3.Connection, destination: Path) -> None:
    """Copy a whole database with the backup API into a new, owner-only file at
    ``destination``."""
    create_private_file(destination)
    target = sqlite3.connect(destination, isolation_level=None)
    try:
        source.backup(target)
        problems = _integrity_problems(target)
        if problems:
            raise BackupError(
                f"the copy in {destination} failed its integrity check: {problems[0]}",
                code=Code.BACKUP_FAILED,
            )
    finally:
        target.close()


def _discard(path: Path) -> None:
    """Remove a partial file; its folder may be what failed (missing, or a file)."""
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _records_problem(engine: Engine) -> str | None:
    """What the check since the last integrity checkpoint finds (:mod:`pumpmgr.db.checkpoint`),
    in one line, or None; nothing to check before the first checkpoint (the backup's own
    chain is checked in full anyway)."""
    with Session(engine.execution_options(**{READ_ONLY_OPTION: True})) as session:
        if read_checkpoint(session) is None:
            return None
        report = check_since_checkpoint(session)
    found = report.findings()
    if not found:
        return None
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{found[0]}{more}"


def backup_database(
    engine: Engine, destination: Path, *, check_records: bool = True
) -> BackupManifest:
    """Take an online, consistent copy of the SQLite database behind ``engine``.

    Safe while other connections (and other programs) read and write: the backup API copies
    a consistent snapshot. Returns the manifest, also written beside the backup.

    With ``check_records`` the entries and rows written since the integrity checkpoint are
    checked first; a break found there, like a broken chain in the copy, does not stop the
    backup: its manifest says it is broken (``chain_ok`` false, ``chain_problem``), so
    restoring it needs an administrator's override.
    """
    if engine.dialect.name != "sqlite":
        raise BackupError(
            "pumpmgr backs up SQLite files only; back up a PostgreSQL database with the "
            "server's tools (pg_dump -Fc)",
            code=Code.BACKUP_FAILED,
        )
    destination = destination.absolute()
    # One partial file per process, so two programs backing up at once cannot mix pages.
    partial = destination.with_name(f"{destination.name}.{os.getpid()}.partial")
    cannot_write = (
        f"the backup could not be written to {destination.parent}: check that the backup "
        "folder, and the drive it is on, is connected and can be written, or choose another "
        "folder. The database itself is unchanged"
    )
    try:
        # Only the last folder is created: a missing drive or parent folder is reported, not
        # silently recreated on this computer's own disk.
        if not destination.parent.is_dir():
            destination.parent.mkdir(exist_ok=True)
            private_folder(destination.parent)
        partial.unlink(missing_ok=True)
        records_problem = _records_problem(engine) if check_records else None
        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            _copy_pages(source, partial)
        finally:
            raw.close()
        manifest = _finish_backup(partial, destination, records_problem)
    except OSError as exc:
        _discard(partial)
        raise BackupError(
            f"{cannot_write} ({exc.strerror or exc}).", code=Code.BACKUP_FAILED
        ) from exc
    except sqlite3.Error as exc:
        _discard(partial)
        raise BackupError(
            f"the backup to {destination} failed ({exc}): check that the backup folder can "
            "be written and try again. The database itself is unchanged.",
            code=Code.BACKUP_FAILED,
        ) from exc
    except BaseException:
        _discard(partial)
        raise
    if not manifest.chain_ok:
        log.warning("backup %s taken of a database whose audit chain is broken", destination)
    return manifest


def _finish_backup(
    partial: Path, destination: Path, records_problem: str | None = None
) -> BackupManifest:
    """Check and sync the copied ``partial`` file, rename it into place, write its manifest
    (signed with the clinic key)."""
    key = _signing_key()
    copy = sqlite3.connect(f"file:{partial}?mode=ro", uri=True)
    try:
        revision = _revision(copy)
    finally:
        copy.close()
    chain = _verify_file_chain(partial)
    _fsync_file(partial)
    manifest = BackupManifest(
        file=destination.name,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sha256=_sha256(partial),
        size_bytes=partial.stat().st_size,
        sqlite_version=sqlite3.sqlite_version,
        schema_revision=revision,
        chain_head_seq=None if chain.head is None else chain.head.seq,
        chain_head_hash=None if chain.head is None else chain.head.row_hash,
        chain_ok=chain.ok and records_problem is None,
        chain_problem=chain.message if not chain.ok else records_problem,
        key_id=key.key_id,
    )
    manifest = dataclasses.replace(manifest, hmac=manifest_signature(manifest, key))
    os.replace(partial, destination)
    _write_manifest(manifest, manifest_path(destination))
    _fsync_dir(destination.parent)
    return manifest


def _write_manifest(manifest: BackupManifest, path: Path) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    create_private_file(partial)
    partial.write_text(json.dumps(manifest.__dict__, indent=2, sort_keys=True), encoding="utf-8")
    _fsync_file(partial)
    os.replace(partial, path)


def read_manifest(backup: Path) -> BackupManifest | None:
    """The manifest written beside ``backup``, or None when there is none."""
    path = manifest_path(backup)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return BackupManifest(**data)
    except (ValueError, TypeError) as exc:
        raise BackupError(
            f"the manifest {path} is damaged ({exc}); the backup cannot be checked against it",
            code=Code.BACKUP_FAILED,
        ) from exc


def _manifest_says_sound(backup: Path) -> bool:
    try:
        manifest = read_manifest(backup)
    except BackupError:
        return False
    return manifest is not None and manifest.chain_ok


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup_before_migration(engine: Engine, backup_dir: Path, revision: str | None) -> Path:
    """The automatic backup taken before an existing file is migrated; returns its path."""
    destination = backup_dir / f"pumpmgr-before-upgrade-from-{revision or 'none'}-{_stamp()}.db"
    backup_database(engine, destination, check_records=False)  # an older schema
    log.info("backed up the database to %s before migrating it", destination)
    return destination


def daily_backups(backup_dir: Path) -> list[Path]:
    """The daily backups in ``backup_dir``, newest first."""
    if not backup_dir.is_dir():
        return []
    found = [p for p in backup_dir.glob(f"{DAILY_PREFIX}*.db") if p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def daily_backup(
    engine: Engine, backup_dir: Path, *, keep: int = DEFAULT_KEEP, today: date | None = None
) -> Path | None:
    """Take today's backup unless it exists, then keep only the ``keep`` newest daily backups
    and, beyond them, the newest one whose manifest says its audit chain was intact (so that a
    chain broken for longer than ``keep`` days still leaves one backup that restores without an
    administrator's override).

    Returns the new backup, or None when today's was already there.
    """
    if keep < 1:
        raise BackupError("at least one daily backup must be kept", code=Code.BACKUP_FAILED)
    day = today or datetime.now(UTC).date()
    destination = backup_dir / f"{DAILY_PREFIX}{day.isoformat()}.db"
    made: Path | None = None
    if not destination.exists():
        backup_database(engine, destination)
        made = destination
    found = daily_backups(backup_dir)
    sound = next((b for b in found if _manifest_says_sound(b)), None)
    for old in found[keep:]:
        if old == sound:
            log.info("kept %s, the newest daily backup with an intact audit chain", old)
            continue
        old.unlink()
        manifest_path(old).unlink(missing_ok=True)
        log.info("removed old daily backup %s", old)
    return made


@contextmanager
def _private_copy(path: Path) -> Iterator[Path]:
    """A copy of ``path`` in a temporary folder of its own, removed afterwards. Backups are
    checked on such a copy opened read-write: a read-only connection skips part of the schema
    check (a CHECK constraint naming a column that does not exist passes), and restore copies
    from the very bytes that were checked, whatever happens to the file meanwhile."""
    with tempfile.TemporaryDirectory(prefix="pumpmgr-check-") as scratch:
        copy = Path(scratch) / "backup.db"
        shutil.copyfile(path, copy)
        yield copy


def check_backup(
    path: Path, *, accept_broken_chain: bool = False, require_signed: bool = True
) -> BackupCheck:
    """Check that ``path`` is a sound pumpmgr database this program can open, or raise
    :class:`BackupError` saying why not. A backup whose audit chain is broken is refused
    (``BACKUP_CHAIN_BROKEN``) unless ``accept_broken_chain``: then it passes, its
    :attr:`BackupCheck.chain` saying what is broken. A manifest's signature is checked
    (:func:`check_signature`; an unsigned one or one of an unknown key passes only without
    ``require_signed``)."""
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}", code=Code.BACKUP_FAILED)
    try:
        with _private_copy(path) as copy:
            return _check_copy(path, copy, accept_broken_chain, require_signed)
    except OSError as exc:
        raise BackupError(
            f"{path} cannot be read: {exc.strerror or exc}", code=Code.BACKUP_FAILED
        ) from exc


def _check_copy(
    path: Path, copy: Path, accept_broken_chain: bool, require_signed: bool
) -> BackupCheck:
    """:func:`check_backup` of ``path``, done on its private ``copy``."""
    try:
        connection = sqlite3.connect(copy)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}", code=Code.BACKUP_FAILED) from exc
    try:
        try:
            problems = _integrity_problems(connection)
            if not problems:
                problems = [
                    f"row {r[1]} of {r[0]} refers to a missing row in {r[2]}"
                    for r in connection.execute("PRAGMA foreign_key_check")
                ]
            tables = _tables(connection)
            revision = _revision(connection)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            # (SQLite's own error message about a damaged file can hold bytes that are not
            # UTF-8, and then fails to become a Python exception: UnicodeDecodeError.)
            if "not a database" in str(exc):
                raise BackupError(
                    f"{path} is not a SQLite database, so it is not a pumpmgr backup",
                    code=Code.DB_NOT_PUMPMGR,
                ) from exc
            raise BackupError(
                f"{path} is damaged and cannot be restored ({exc})", code=Code.DB_CORRUPT
            ) from exc
    finally:
        connection.close()
    if problems:
        raise BackupError(
            f"{path} failed SQLite's integrity or foreign key check ({problems[0]}) and cannot "
            "be restored",
            code=Code.DB_CORRUPT,
        )
    if not tables >= REQUIRED_TABLES or revision is None:
        raise BackupError(
            f"{path} is a SQLite database but not a pumpmgr database", code=Code.DB_NOT_PUMPMGR
        )
    if revision not in known_revisions():
        raise BackupError(
            f"{path} comes from a newer pumpmgr (schema revision '{revision}'); restore it with "
            "that version",
            code=Code.DB_SCHEMA_NEWER,
        )
    manifest = read_manifest(path)
    if manifest is not None:
        check_signature(path, manifest, require_signed=require_signed)
    if manifest is not None and manifest.sha256 != _sha256(copy):
        raise BackupError(
            f"{path} does not match the SHA-256 in its manifest: the file changed after the "
            "backup was taken",
            code=Code.DB_CORRUPT,
        )
    try:
        chain = _verify_file_chain(copy, None if manifest is None else manifest.anchor)
    except (sqlite3.Error, DBAPIError, UnicodeDecodeError) as exc:
        raise BackupError(
            f"{path} is damaged and cannot be restored ({exc})", code=Code.DB_CORRUPT
        ) from exc
    if chain.ok and manifest is not None and not manifest.chain_ok:
        # sound on its own, but the check before the backup found records changed outside
        chain = dataclasses.replace(
            chain, ok=False, message=manifest.chain_problem or "its manifest says it is broken"
        )
    if not chain.ok and not accept_broken_chain:
        raise BackupError(
            f"{path} has a broken audit log and will not be restored: {chain.message}. An "
            "administrator can still restore it, knowingly and with a reason that is kept in "
            "the audit log.",
            code=Code.BACKUP_CHAIN_BROKEN,
        )
    return BackupCheck(path=path, schema_revision=revision, chain=chain)


def restore_database(
    backup: Path,
    target: Path,
    *,
    safety_dir: Path | None = None,
    require_manifest: bool = True,
    accept_broken_chain: bool = False,
) -> Path | None:
    """Replace the database at ``target`` with the checked contents of ``backup``.

    Run with pumpmgr closed. The current ``target`` (if it is readable) is first backed up into
    ``safety_dir`` (default ``backups/`` beside it); that copy's path is returned. The next
    :func:`pumpmgr.db.engine.open_database` migrates a restored older schema as usual.

    The backup's manifest is required unless ``require_manifest`` is False: without its
    SHA-256 a changed byte inside a record (a dose, a date) passes SQLite's integrity check
    and, outside the audit log, the chain too, and would be restored unnoticed; and without its
    chain head a log cut short or rewritten whole verifies on its own. With
    ``require_manifest=False`` a file that has no manifest (a copy made by hand, or by an older
    pumpmgr) is restored after every other check; a manifest that is there is still checked
    (a damaged or mismatching one refuses the restore).

    A backup whose audit chain is broken is refused (``BACKUP_CHAIN_BROKEN``) unless
    ``accept_broken_chain``; that override is an administrator's, and is audited, in
    :func:`pumpmgr.services.restoring.restore_clinic` (the only caller that passes it).
    """
    if not backup.is_file():
        raise BackupError(f"there is no backup file at {backup}", code=Code.BACKUP_FAILED)
    try:
        with _private_copy(backup) as checked:
            return _restore_checked(
                backup, checked, target, safety_dir, require_manifest, accept_broken_chain
            )
    except OSError as exc:
        raise BackupError(
            f"the restore of {backup} into {target} failed ({exc.strerror or exc}): check that "
            "both folders can be read and written",
            code=Code.BACKUP_FAILED,
        ) from exc


def _restore_checked(
    backup: Path,
    checked: Path,
    target: Path,
    safety_dir: Path | None,
    require_manifest: bool,
    accept_broken_chain: bool,
) -> Path | None:
    _check_copy(backup, checked, accept_broken_chain, require_manifest)
    if read_manifest(backup) is None:
        if require_manifest:
            raise BackupError(
                f"there is no manifest beside {backup} ({manifest_path(backup).name}), so "
                "pumpmgr cannot check that the file is unchanged since the backup was taken: a "
                "changed byte inside a record would go unnoticed. Copy the manifest together "
                "with the backup, then restore.",
                code=Code.BACKUP_NO_MANIFEST,
            )
        log.warning(
            "restoring %s without a manifest: its SHA-256 and the audit chain head "
            "recorded at backup time cannot be checked",
            backup,
        )
    target = target.absolute()
    if target.is_dir():
        raise BackupError(
            f"{target} is a folder, not a database file; name the database file to restore into",
            code=Code.BACKUP_FAILED,
            field="database",
        )
    if target.is_symlink():
        raise BackupError(
            f"{target} is a symbolic link; restore into the real file", code=Code.DB_LINKED_PATH
        )
    lock = InstanceLock(target)
    if not lock.exclusive():
        lock.release()
        raise BackupError(
            f"pumpmgr is running with {target} open (in another window or program); close "
            "every pumpmgr that uses it, then restore. Nothing was changed.",
            code=Code.DB_BUSY,
        )
    try:
        return _restore_into(checked, target, safety_dir)
    finally:
        lock.release()


def _restore_into(backup: Path, target: Path, safety_dir: Path | None) -> Path | None:
    safety_copy = _safety_copy(target, safety_dir)
    problems = _copy_into(backup, target)
    if problems:
        put_back = safety_copy is not None and not _copy_into(safety_copy, target)
        raise BackupError(
            f"the restored database at {target} failed its integrity check ({problems[0]}); "
            + (
                "the database it replaced was put back"
                if put_back
                else f"restore another backup{'' if safety_copy is None else f' or {safety_copy}'}"
            ),
            code=Code.DB_CORRUPT,
        )
    return safety_copy


def _side_files(path: Path) -> list[Path]:
    """The rollback journal and write-ahead log beside ``path`` that hold anything."""
    sides = [path.with_name(path.name + suffix) for suffix in ("-journal", "-wal")]
    return [side for side in sides if side.is_file() and side.stat().st_size > 0]


def _safety_copy(target: Path, safety_dir: Path | None) -> Path | None:
    """A verified copy of the database at ``target`` (None when there is none) in
    ``safety_dir`` (default ``backups/`` beside it), made before a restore replaces it.

    A rollback journal or write-ahead log beside it is first checked to be its own
    (:func:`pumpmgr.db.gates.refuse_stray_journal`), then recovered by opening the database
    read-write: SQLite rolls a hot journal back (Atomic Commit §4) and reads a log's committed
    transactions, so every committed record is in the copy. A file SQLite cannot copy (a
    damaged one) is copied byte for byte with its journal and log, each compared by SHA-256.
    Raises :class:`BackupError` (nothing changed) when no verified copy can be made."""
    if not target.exists():
        return None
    try:
        refuse_stray_journal(target)
    except DatabaseRefused as exc:
        raise BackupError(
            f"the restore was refused and nothing was changed: {exc.message}",
            code=exc.code,
            field="database",
        ) from exc
    folder = (safety_dir or target.parent / "backups").absolute()
    safety = folder / f"pumpmgr-before-restore-{_stamp()}.db"
    made: list[Path] = [safety]
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            private_folder(folder)
        try:
            _copy_current(target, safety)
        except (sqlite3.Error, BackupError, UnicodeDecodeError) as exc:
            log.warning(
                "the database being replaced could not be copied by SQLite (%s); "
                "keeping its bytes instead",
                exc,
            )
            safety.unlink(missing_ok=True)
            for source in [target, *_side_files(target)]:
                copy = safety.with_name(safety.name + source.name[len(target.name) :])
                made.append(copy)
                shutil.copyfile(source, copy)
                private_file(copy)
                _fsync_file(copy)
                if _sha256(copy) != _sha256(source):
                    raise BackupError(
                        f"the copy {copy} differs from {source}", code=Code.BACKUP_FAILED
                    ) from exc
        _fsync_dir(folder)
    except (OSError, BackupError) as exc:
        for path in made:
            with suppress(OSError):  # its folder may be what failed
                path.unlink(missing_ok=True)
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else exc.message
        raise BackupError(
            f"the restore was refused and nothing was changed: the current database {target} "
            f"could not first be copied to {folder} ({reason}), and a restore without that copy "
            "would lose every record saved since the backup. Free space there or make the folder "
            "writable, then restore again.",
            code=Code.BACKUP_FAILED,
            field="database",
        ) from exc
    log.info("the database being replaced was copied to %s", safety)
    return safety


def _row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {
        name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        for name in sorted(_tables(connection))
    }


def _copy_current(target: Path, safety: Path) -> None:
    """Copy the database at ``target`` (its journal recovered) to ``safety`` and check the copy:
    SQLite's integrity check and the same rows in every table."""
    # Read-write, so that SQLite can roll back a hot journal; a read-only connection cannot,
    # and then fails (How To Corrupt §1.3: never ignore or delete a hot journal).
    current = sqlite3.connect(f"file:{target.absolute()}?mode=rw", uri=True, isolation_level=None)
    try:
        current.execute("PRAGMA busy_timeout = 15000")
        _copy_pages(current, safety)
        copy = sqlite3.connect(f"file:{safety}?mode=ro", uri=True)
        try:
            expected, found = _row_counts(current), _row_counts(copy)
        finally:
            copy.close()
        if expected != found:
            raise BackupError(
                f"the copy {safety} does not hold the same rows", code=Code.BACKUP_FAILED
            )
        _fsync_file(safety)
    finally:
        current.close()


def _copy_into(source_path: Path, target: Path) -> list[str]:
    """Copy the pages of ``source_path`` into ``target`` (backup API); the target's problems
    afterwards, if any."""
    source = sqlite3.connect(f"file:{source_path.absolute()}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target, isolation_level=None)
        try:
            source.backup(destination)
            return _integrity_problems(destination)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            return [str(exc)]
        finally:
            destination.close()
    finally:
        source.close()
