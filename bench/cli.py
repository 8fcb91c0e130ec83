"""``python -m bench``: build (once) the large clinic, then measure and print every figure.

Benchmark support. The clinic is built by :mod:`bench.plan` and :mod:`bench.writer` and kept in
the cache folder (``platformdirs.user_cache_dir("pumpmgr-bench")``, or ``--cache-dir``) under a
name made of the generator version, the schema revision, the size and the seed, so it is built
once per machine. Each run measures on a fresh copy of it (the figures record refills and edit
the drug library). ``--quick`` measures a 50-patient clinic in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FULL_PATIENTS = 5000
QUICK_PATIENTS = 50
YEARS = 20.0


@dataclass(frozen=True)
class Built:
    path: Path
    seconds: float  #: to build it (0 when it came from the cache)
    cached: bool
    summary: dict[str, Any]


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pumpmgr-bench", appauthor=False))


def cache_name(patients: int, years: float, seed: int) -> str:
    from bench.plan import GENERATOR_VERSION
    from pumpmgr.db.migrate import head_revision

    return f"clinic-g{GENERATOR_VERSION}-r{head_revision()}-{patients}p-{years:g}y-s{seed}.db"


def counts(path: Path) -> dict[str, Any]:
    connection = sqlite3.connect(path)
    try:

        def one(query: str) -> int:
            return int(connection.execute(query).fetchone()[0])

        return {
            "patients": one("SELECT count(*) FROM patients"),
            "pumps": one("SELECT count(*) FROM pumps"),
            "active_pumps": one("SELECT count(*) FROM pumps WHERE status = 'active'"),
            "refills": one("SELECT count(*) FROM refills"),
            "prescriptions": one("SELECT count(*) FROM prescriptions"),
            "events": one("SELECT count(*) FROM pump_events"),
            "audit_entries": one("SELECT count(*) FROM audit_log"),
        }
    finally:
        connection.close()


def build(patients: int, years: float, seed: int, folder: Path, jobs: int, log: TextIO) -> Built:
    """The cached clinic, built first if it is not there yet."""
    path = folder / cache_name(patients, years, seed)
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        return Built(path, 0.0, True, json.loads(info.read_text(encoding="utf-8")))
    from bench.plan import plan_clinic
    from bench.writer import write_clinic
    from pumpmgr.db.engine import open_database

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"building-{os.getpid()}" / path.name
    partial.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        print(
            f"building the clinic ({patients:,} patients, {years:g} years, seed {seed}) "
            f"into {path} ...",
            file=log,
            flush=True,
        )
        plan = plan_clinic(patients, years, seed, jobs=jobs)
        planned = time.perf_counter() - started
        print(f"  planned {len(plan.actions):,} actions in {planned:.1f} s", file=log, flush=True)
        database = open_database(partial, daily_backup_keep=None)
        try:
            write_clinic(database, plan)
        finally:
            database.dispose()
        seconds = time.perf_counter() - started
        summary = {
            **counts(partial),
            "build_seconds": round(seconds, 1),
            "plan_seconds": round(planned, 1),
            "actions": len(plan.actions),
        }
        os.replace(partial, path)
        info.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        print(
            f"  written in {seconds - planned:.1f} s (built in {seconds:.1f} s)",
            file=log,
            flush=True,
        )
    finally:
        shutil.rmtree(partial.parent, ignore_errors=True)
    return Built(path, seconds, False, summary)


def machine() -> str:
    import PySide6

    memory = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs{memory}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PySide6 {PySide6.__version__}"
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help=f"a {QUICK_PATIENTS}-patient clinic, fewer repeats"
    )
    parser.add_argument("--patients", type=int, help=f"default {FULL_PATIENTS:,}")
    parser.add_argument("--years", type=float, default=YEARS, help="history (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, help="runs per figure (default 7, quick 3)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes that plan the clinic",
    )
    parser.add_argument("--cache-dir", type=Path, help="where the built clinic is kept")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    log = sys.stderr
    patients = args.patients or (QUICK_PATIENTS if args.quick else FULL_PATIENTS)
    repeats = args.repeats or (3 if args.quick else 7)
    built = build(patients, args.years, args.seed, args.cache_dir or cache_dir(), args.jobs, log)
    with tempfile.TemporaryDirectory(prefix="pumpmgr-bench-") as scratch:
        work = Path(scratch) / "clinic.db"
        shutil.copyfile(built.path, work)
        report(out, built, work, patients, args, repeats)
    return 0


def report(
    out: TextIO, built: Built, work: Path, patients: int, args: argparse.Namespace, repeats: int
) -> None:
    from bench import figures

    summary = built.summary
    print(
        f"pumpmgr benchmark: {patients:,} patients, {args.years:g} years of history "
        f"(seed {args.seed}), {time.strftime('%Y-%m-%d')}",
        file=out,
    )
    print(f"machine: {machine()}", file=out)
    print(
        f"clinic: {summary['active_pumps']:,} active pumps ({summary['pumps']:,} in all), "
        f"{summary['refills']:,} refills, {summary['prescriptions']:,} prescription "
        f"versions, {summary['events']:,} pump events, {summary['audit_entries']:,} audit "
        "entries",
        file=out,
    )
    if built.cached:
        print(f"clinic built in {summary['build_seconds']:.1f} s (cached: {built.path})", file=out)
    else:
        print(f"clinic built in {built.seconds:.1f} s (now cached: {built.path})", file=out)
    print(f"database file size: {work.stat().st_size / 1e6:.1f} MB", file=out)
    print(figures.HEADER, file=out, flush=True)

    def emit(figure: figures.Figure) -> None:
        print(figure.line(), file=out, flush=True)

    patient = figures.longest_histories(work, 1)[0][0]
    bytecode = (args.cache_dir or cache_dir()) / "bytecode"
    for figure in figures.startup_figures(work, patient, max(2, repeats // 2 + 1), bytecode):
        emit(figure)
    for figure in figures.command_line_figures(repeats, bytecode):
        emit(figure)

    from bench import replay
    from pumpmgr.db.engine import open_database

    database = open_database(work, daily_backup_keep=None)
    try:
        clinic = replay.service(database)
        emit(figures.due_list_figure(clinic, work, repeats))
        from PySide6.QtCore import QEvent
        from PySide6.QtWidgets import QApplication

        import ui.app as program
        from ui.main_window import MainWindow

        qt = QApplication.instance() or QApplication(["pumpmgr-bench"])
        assert isinstance(qt, QApplication)
        program.setup_application(qt)
        nurse = next(u for u in figures.p.users.DEMO_USERS if u.role == "nurse")
        window = MainWindow(clinic, clinic.sign_in(nurse.username, nurse.password))
        window.show()
        try:
            emit(figures.patient_figure(window, work, repeats))
        finally:
            window.idle.stop()
            window.close()
            window.deleteLater()  # no window of the benchmark outlives it (its shortcuts
            qt.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # are application-wide)
        mrn = clinic.patient_chart(patient).patient.mrn
        first_check = figures.first_integrity_check(clinic)
        emit(figures.refill_figure(clinic, work.parent, repeats))
        for figure in figures.integrity_figures(clinic, first_check, repeats):
            emit(figure)
        emit(figures.recompute_figure(clinic, work, max(1, min(3, repeats))))
        for figure in figures.sheet_figures(clinic, mrn, repeats):
            emit(figure)
    finally:
        database.dispose()
