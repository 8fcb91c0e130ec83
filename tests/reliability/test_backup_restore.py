"""Harness 10 (issue 6; reliability.md T10): backups while writers run, restore, corrupt backups.

1. Two writer processes record refills and events through the services while the program takes
   backups (SQLite's backup API, :func:`pumpmgr.db.backup.backup_database`): every backup passes
   :func:`check_backup` (``integrity_check``, ``foreign_key_check``, schema, the manifest's
   SHA-256 and the audit chain against the manifest's head) and holds every record
   acknowledged before it began; every fourth one is also opened as a clinic whose invariants
   hold (every record with its audit entry, no half transaction).
   20 backups in the suite (writers pausing 20 ms between transactions), 100 with ``--full``
   (writers at full speed).
2. The last backup restored into a fresh install gives the same due list as the original and a
   chain that verifies against the manifest's head.
3. Corrupted copies of a backup (bytes flipped at random places, or the file cut short) are
   refused with :class:`BackupError` and a clear message, never restored and never a crash:
   100 cases (``--full``: 1,000), a quarter of them without the manifest (a copy made by
   hand), which restore refuses as well (``backup.no_manifest`` when nothing else is wrong).
   Those are also restored with ``require_manifest=False`` (``pumpmgr restore
   --without-manifest``): what SQLite's checks and the chain catch on their own is printed:
   every cut file (a cut file restored is a failure), but a flipped byte only when it breaks
   the file's structure or an audit entry (a changed byte inside a record is invisible to them,
   which is why restore requires the manifest unless told otherwise).
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from storage_workers import (
    WORKER,
    Acknowledged,
    ChildResult,
    _env,
    _read_acks,
    build_clinic,
    clinic_problems,
    print_failures,
)

from pumpmgr.clock import FixedClock
from pumpmgr.db.backup import (
    backup_database,
    check_backup,
    manifest_path,
    read_manifest,
    restore_database,
)
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import BackupError
from pumpmgr.errors import Code
from pumpmgr.services import ClinicService

WRITERS = 2


def _acknowledged(acks: list[Path]) -> Acknowledged:
    seen = Acknowledged()
    for path in acks:
        lines, errors = _read_acks(path)
        assert errors == [], errors
        seen.add(ChildResult(lines, False, None, 0.0))
    return seen


def _backup_problems(
    backup: Path,
    scratch: Path,
    before: Acknowledged,
    full: bool,
) -> list[str]:
    """What is wrong with a backup taken while the writers ran: :func:`check_backup`, every
    record acknowledged before the backup began, and (``full``) every clinic invariant."""
    try:
        checked = check_backup(backup)
    except BackupError as exc:
        return [f"check_backup refused it: {exc.message}"]
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as raw:
        refills = {r[0] for r in raw.execute("SELECT id FROM refills")}
        notes = {r[0] for r in raw.execute("SELECT note FROM pump_events")}
    raw.close()
    problems = []
    if not before.refills <= refills or not before.events <= notes:
        problems.append("records acknowledged before the backup began are missing")
    if full:
        copy = scratch / "opened.db"
        shutil.copyfile(backup, copy)
        manifest = read_manifest(backup)
        with open_database(copy, daily_backup_keep=None) as database:
            found, head = clinic_problems(
                database, before, None if manifest is None else manifest.anchor
            )
        problems += found
        if head is None or head.seq != checked.chain.entries_checked:
            problems.append("the chain head differs from the checked chain")
        for leftover in scratch.glob("opened.db*"):
            leftover.unlink()
    return problems


def test_backups_taken_while_writers_run(
    tmp_path: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    backups = 100 if full_size else 20
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 6)
    stop = tmp_path / "stop"
    acks = [tmp_path / f"writer-{n}.txt" for n in range(WRITERS)]
    writers = []
    for n, ack in enumerate(acks):
        task = {
            "task": "writer",
            "url": str(path),
            "stop": str(stop),
            "index": n,
            "of": WRITERS,
            "pause": 0.0 if full_size else 0.02,
        }
        with ack.open("wb") as out:
            writers.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), "writer", json.dumps(task)],
                    stdout=out,
                    env=_env(),
                )
            )
    rng = random.Random()
    failures: list[str] = []
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 60
        while not all(a.exists() and b"ready" in a.read_bytes() for a in acks):
            assert time.monotonic() < deadline, "the writers did not start"
            time.sleep(0.02)
        with open_database(path, daily_backup_keep=None) as database:
            for n in range(backups):
                time.sleep(rng.uniform(0.0, 0.1))
                before = _acknowledged(acks)
                backup = tmp_path / f"during-{n}.db"
                backup_database(database.engine, backup)
                failures += [
                    f"backup {n}: {p}"
                    for p in _backup_problems(backup, scratch, before, full=n % 4 == 0)
                ]
                if n % 5:
                    backup.unlink()
                    manifest_path(backup).unlink()
    finally:
        stop.touch()
        for writer in writers:
            writer.wait(timeout=60)
    elapsed = time.perf_counter() - started
    written = _acknowledged(acks)
    assert [w.returncode for w in writers] == [0] * WRITERS
    harness_report("backup while writers run (sqlite)", backups, len(failures), elapsed)
    print(
        f"\nbackups during writes: {backups} backups while {WRITERS} writers committed "
        f"{len(written.refills)} refills and {len(written.events)} events"
    )
    print_failures(failures)
    assert failures == []


def _due_list(database: Database) -> list[object]:
    clinic = ClinicService(
        database, clock=FixedClock(datetime(2030, 1, 1, tzinfo=UTC)), tz=UTC, workstation="restore"
    )
    return list(clinic.due_list(today=datetime(2030, 1, 1, tzinfo=UTC).date()))


def test_restore_into_a_fresh_install(
    tmp_path: Path, harness_report: Callable[[str, int, int, float], None]
) -> None:
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 8)
        manifest = backup_database(database.engine, tmp_path / "backup.db")
        due = _due_list(database)
    fresh = tmp_path / "new-computer" / "pumpmgr.db"
    fresh.parent.mkdir()
    started = time.perf_counter()
    assert restore_database(tmp_path / "backup.db", fresh) is None
    restored_in = time.perf_counter() - started
    with open_database(fresh) as database:
        assert _due_list(database) == due and len(due) == 8
        report = database.verify_audit_chain(manifest.anchor)
        problems, _ = clinic_problems(database)
    failures = problems + (
        [] if report.ok and report.entries_checked == manifest.chain_head_seq else [report.message]
    )
    harness_report("restore into a fresh install (sqlite)", 1, len(failures), restored_in)
    print(f"\nrestore into a fresh install: {restored_in * 1000:.0f} ms")
    print_failures(failures)
    assert failures == []


def _flip(data: bytearray, rng: random.Random) -> str:
    flips = rng.choice((1, 1, 1, 2, 8))
    where = [rng.randrange(len(data)) for _ in range(flips)]
    for i in where:
        data[i] ^= 1 << rng.randrange(8)
    return f"{flips} bit(s) flipped at {where[:3]}"


def test_corrupted_backups_are_refused(
    tmp_path: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    cases = 1000 if full_size else 100
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 12)
        good = tmp_path / "good.db"
        backup_database(database.engine, good)
    original = good.read_bytes()
    manifest = manifest_path(good).read_text(encoding="utf-8")
    target = tmp_path / "restored.db"
    unchecked_target = tmp_path / "restored-without-manifest.db"
    failures: list[str] = []
    unmanifested = {"flips": 0, "flips refused": 0, "cuts": 0, "cuts refused": 0}
    started = time.perf_counter()
    for case in range(cases):
        data = bytearray(original)
        if case % 3 == 2:
            cut = rng.randrange(0, len(data))
            data = data[:cut]
            what = f"cut to {cut} of {len(original)} bytes"
        else:
            what = _flip(data, rng)
            if bytes(data) == original:
                continue
        with_manifest = case % 4 != 3
        candidate = tmp_path / "candidate.db"
        candidate.write_bytes(bytes(data))
        if with_manifest:
            manifest_path(candidate).write_text(
                manifest.replace('"good.db"', '"candidate.db"'), encoding="utf-8"
            )
        else:
            manifest_path(candidate).unlink(missing_ok=True)
        try:
            restore_database(candidate, target)
            failures.append(f"case {case} ({what}): a corrupted backup was restored")
            target.unlink()
        except BackupError as exc:
            codes = {Code.DB_CORRUPT, Code.DB_NOT_PUMPMGR, Code.BACKUP_CHAIN_BROKEN}
            if not with_manifest:
                codes.add(Code.BACKUP_NO_MANIFEST)
            if exc.code not in codes or str(candidate) not in exc.message:
                failures.append(f"case {case} ({what}): unclear refusal {exc.message!r}")
            if target.exists():
                failures.append(f"case {case} ({what}): refused, but {target} was written")
        except Exception as exc:  # anything but a BackupError reaches the user as a crash
            failures.append(f"case {case} ({what}): {type(exc).__name__}: {exc}")
        if not with_manifest:  # what SQLite's checks and the chain catch on their own
            kind = "cuts" if "cut" in what else "flips"
            unmanifested[kind] += 1
            try:
                restore_database(candidate, unchecked_target, require_manifest=False)
            except BackupError:
                unmanifested[f"{kind} refused"] += 1
                if unchecked_target.exists():
                    failures.append(
                        f"case {case} ({what}): refused without a manifest, but "
                        f"{unchecked_target} was written"
                    )
            except Exception as exc:
                failures.append(f"case {case} ({what}): restore without a manifest: {exc!r}")
            else:
                unchecked_target.unlink()
                if kind == "cuts":
                    failures.append(
                        f"case {case} ({what}): a cut file was restored without a manifest"
                    )
    elapsed = time.perf_counter() - started
    harness_report("corrupted backups refused (sqlite)", cases, len(failures), elapsed)
    print(f"\ncorrupted backups: seed {seed}; without a manifest: {unmanifested}")
    print_failures(failures)
    assert failures == []
