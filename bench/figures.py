"""The benchmark's figures: each measured against its lower bound in the same run.

Benchmark support. A figure is a median of several runs (garbage collected before each), set
beside a baseline measured the same way just before or between them, so that the ratio means
something on a machine that is busy with other work:

- start-up to the painted sign-in window against a bare PySide6 window with an empty table,
  both in fresh processes of the same Python (:mod:`bench.window`), alternating; then, in the
  same processes, the sign-in accepted to the painted due list against the bare window's show
  to its paint;
- the due list against the same rows read with :mod:`sqlite3` and a hand-written query;
- opening the patient with the longest history against reading that patient's rows with
  :mod:`sqlite3`;
- recording one refill against one durable SQLite write transaction on the same disk;
- recomputing every stored forecast against reading their inputs and writing the forecasts with
  :mod:`sqlite3`;
- one refill worksheet, and the day's worksheets as one file, against as many bare reportlab
  pages;
- the program's peak memory against the bare window's;
- ``pumpmgr --version`` and ``pumpmgr calc`` against ``python -c pass``, each in fresh
  processes (their target: they import neither SQLAlchemy, reportlab, argon2 nor Qt).

Over 600 lines: one short function a figure and its baseline, sharing the medians and the
bench clinic, so that every figure is measured the same way.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from bench import plan as p
from pumpmgr.services.clinic import ClinicService
from pumpmgr.services.inputs import RefillInput, Verification
from pumpmgr.units import MCG_PER_DAY, ML, Q_


@dataclass(frozen=True)
class Figure:
    """One line of the report."""

    name: str
    value: float
    unit: str  #: "s" (shown as ms below 1 s) or "B" (shown as MB)
    baseline_name: str
    baseline: float | None
    target: str
    met: bool | None  #: None: no target (information only)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    def line(self) -> str:
        baseline = (
            "-"
            if self.baseline is None
            else (f"{self.baseline_name} {show(self.baseline, self.unit)}")
        )
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}x"
        result = "info" if self.met is None else ("met" if self.met else "missed")
        return (
            f"{self.name:<42} | {show(self.value, self.unit):>9} | {baseline:<34} | "
            f"{ratio:>7} | {self.target:<17} | {result:<6} | {self.note}"
        )


HEADER = (
    f"{'figure':<42} | {'value':>9} | {'baseline':<34} | {'ratio':>7} | "
    f"{'target':<17} | {'result':<6} | about"
)


def show(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1e6:.1f} MB"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def timed(work: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def medians(
    pairs: Sequence[tuple[Callable[[], object], Callable[[], object]]],
    repeats: int,
) -> tuple[float, float]:
    """The median time of each of two pieces of work, run alternately ``repeats`` times."""
    first: list[float] = []
    second: list[float] = []
    for _ in range(repeats):
        for work_a, work_b in pairs:
            first.append(timed(work_a))
            second.append(timed(work_b))
    return statistics.median(first), statistics.median(second)


# ------------------------------------------------------------------------------ the window


def window_runs(
    database: Path,
    patient: int,
    repeats: int,
    bytecode: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Start the bare window and the program ``repeats`` times each, alternating, after one
    start of each that is not counted. Both keep their compiled bytecode in ``bytecode``, as
    an installed program has it (whatever PYTHONDONTWRITEBYTECODE says here)."""
    nurse = next(u for u in p.users.DEMO_USERS if u.role == "nurse")
    bare: list[dict[str, Any]] = []
    app: list[dict[str, Any]] = []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": str(bytecode)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for run in range(repeats + 1):
        for kind in ("bare", "app"):
            command = [sys.executable, "-m", "bench.window", kind]
            if kind == "app":
                command += [
                    "--db",
                    str(database),
                    "--patient",
                    str(patient),
                    "--now",
                    p.ANCHOR.isoformat(),
                    "--tz",
                    str(p.TZ),
                    "--user",
                    nurse.username,
                    "--password",
                    nurse.password,
                ]
            started = time.time()
            done = subprocess.run(
                [*command, "--started", repr(started)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
                cwd=Path(__file__).resolve().parent.parent,
            )
            if done.returncode != 0:
                raise RuntimeError(f"bench.window {kind} failed:\n{done.stderr}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if run:
                (bare if kind == "bare" else app).append(result)
    return bare, app


def startup_figures(
    database: Path,
    patient: int,
    repeats: int,
    bytecode: Path,
) -> list[Figure]:
    bare, app = window_runs(database, patient, repeats, bytecode)
    sign_in = statistics.median(r["startup_s"] for r in app)
    bare_startup = statistics.median(r["startup_s"] for r in bare)
    signed_in = statistics.median(r["signed_in_s"] for r in app)
    bare_shown = statistics.median(r["shown_to_paint_s"] for r in bare)
    ready = statistics.median(r["ready_s"] for r in app)
    rows = app[0]["rows"]
    memory = statistics.median(r["peak_rss"] for r in app)
    bare_memory = statistics.median(r["peak_rss"] for r in bare)
    return [
        Figure(
            "start-up to the painted sign-in window",
            sign_in,
            "s",
            "bare window",
            bare_startup,
            "<= 2.5x bare",
            sign_in <= 2.5 * bare_startup,
        ),
        Figure(
            "sign-in accepted to the painted due list",
            signed_in,
            "s",
            "bare window shown",
            bare_shown,
            "<= 150 ms",
            signed_in <= 0.150,
            f"{rows:,} rows, password check included",
        ),
        Figure(
            "start-up to the due list ready behind",
            ready,
            "s",
            "bare window",
            bare_startup,
            "-",
            None,
            "database, imports, due list read, window built",
        ),
        Figure(
            "peak memory, large clinic open",
            memory,
            "B",
            "bare window",
            bare_memory,
            "< 250 MB",
            memory < 250e6,
            "due list and one patient",
        ),
    ]


# ------------------------------------------------------------------------------ the command line

#: What the quick commands must not import (issue 14): the database, the sheets, the hasher, Qt.
HEAVY_PACKAGES = frozenset({"sqlalchemy", "reportlab", "argon2", "PySide6"})
#: How the ``pumpmgr`` console script starts (``ui.launcher:console``).
CONSOLE = "from ui.launcher import console; console()"
QUICK_COMMANDS = {
    "pumpmgr --version": ["--version"],
    "pumpmgr calc forecast": [
        "calc",
        "forecast",
        "--fill-volume",
        "20 mL",
        "--filled-at",
        "2025-03-03",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "400 mcg/day",
    ],
}


def command_line_figures(repeats: int, bytecode: Path) -> list[Figure]:
    """Each quick command against a bare interpreter, in fresh processes, alternating, after
    one uncounted start of each (bytecode kept in ``bytecode``, as for the window); then each
    once more under ``-X importtime`` for the packages it imported."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(bytecode)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(__file__).resolve().parent.parent
    commands = {
        "bare": ["-c", "pass"],
        **{name: ["-c", CONSOLE, *args] for name, args in QUICK_COMMANDS.items()},
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(repeats + 1):
        for name, args in commands.items():
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, *args], env=env, capture_output=True, check=True, cwd=root
            )
            if run:
                times[name].append(time.perf_counter() - started)
    bare = statistics.median(times["bare"])
    result = []
    for name, args in QUICK_COMMANDS.items():
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", CONSOLE, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
        )
        loaded = {
            line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }
        heavy = sorted(loaded & HEAVY_PACKAGES)
        result.append(
            Figure(
                name,
                statistics.median(times[name]),
                "s",
                "python -c pass",
                bare,
                "no heavy import",
                not heavy,
                "imports " + ", ".join(heavy)
                if heavy
                else "no SQLAlchemy, reportlab, argon2, Qt"
                + ("" if "pint" in loaded else ", pint"),
            )
        )
    return result


# ------------------------------------------------------------------------------ the due list

#: The due list's rows as a hand-written query would read them (the lower bound).
#: What ``QueryService.due_list`` reads, by hand: every column of its rows (the states before a
#: refill, the orders, incidents and Stop orders, the call list's phones and the solution kept
#: with the forecast; the 14 columns of 26 November became 26) and the open bookings.
DUE_LIST_SQL = """
SELECT f.refill_due, f.refill_due_reason, coalesce(f.alarm_at_with_boluses, f.alarm_at),
       p.id, p.model_key, p.replace_by_date, pt.id, pt.mrn, pt.family_name, pt.given_name,
       f.solution, f.flex_schedule, f.open_discrepancy, f.order_alert, f.open_incident,
       f.open_stop_order, f.alarm_at, f.empty_at, f.filled_at, f.fill_volume_ml,
       f.daily_volume_ml_per_day, f.alarm_at_worst_case, f.empty_at_worst_case,
       pt.phone, pt.emergency_contact_name, pt.emergency_contact_phone
FROM pump_forecasts f
JOIN pumps p ON p.id = f.pump_id
JOIN patients pt ON pt.id = p.patient_id
WHERE p.status = 'active' AND pt.status = 'active'
ORDER BY f.refill_due, pt.family_name, pt.id
"""
OPEN_BOOKINGS_SQL = "SELECT pump_id, day FROM bookings WHERE state = 'booked'"


def _plain_due_list(connection: sqlite3.Connection) -> list[Any]:
    rows = connection.execute(DUE_LIST_SQL).fetchall()
    connection.execute(OPEN_BOOKINGS_SQL).fetchall()
    return rows


def due_list_figure(clinic: ClinicService, database: Path, repeats: int) -> Figure:
    connection = sqlite3.connect(database)
    try:
        rows = len(clinic.due_list())
        if len(_plain_due_list(connection)) != rows:
            raise AssertionError("the hand-written due list query reads other rows")
        service, plain = medians([(clinic.due_list, lambda: _plain_due_list(connection))], repeats)
    finally:
        connection.close()
    return Figure(
        "due list query",
        service,
        "s",
        "plain sqlite3",
        plain,
        "<= 2x, < 50 ms",
        service <= 2 * plain and service < 0.050,
        f"{rows:,} rows",
    )


# ------------------------------------------------------------------------------ one patient

PATIENT_SQL = (
    "SELECT * FROM patients WHERE id = :patient",
    "SELECT * FROM pumps WHERE patient_id = :patient",
    "SELECT r.* FROM refills r JOIN pumps p ON p.id = r.pump_id WHERE p.patient_id = :patient "
    "ORDER BY r.performed_at",
    "SELECT x.* FROM prescriptions x JOIN pumps p ON p.id = x.pump_id "
    "WHERE p.patient_id = :patient",
    "SELECT i.* FROM prescription_ingredients i JOIN prescriptions x ON x.id = i.prescription_id "
    "JOIN pumps p ON p.id = x.pump_id WHERE p.patient_id = :patient",
    "SELECT s.* FROM schedule_steps s JOIN prescriptions x ON x.id = s.prescription_id "
    "JOIN pumps p ON p.id = x.pump_id WHERE p.patient_id = :patient",
    "SELECT e.* FROM pump_events e JOIN pumps p ON p.id = e.pump_id WHERE p.patient_id = :patient",
    "SELECT c.* FROM catheters c WHERE c.patient_id = :patient",
    "SELECT f.* FROM pump_forecasts f JOIN pumps p ON p.id = f.pump_id "
    "WHERE p.patient_id = :patient",
)


def longest_histories(database: Path, count: int) -> list[tuple[int, int, float]]:
    """The active patients with the most refills: id, refills, years since the first."""
    from datetime import datetime

    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT p.patient_id, count(*), min(r.performed_at) FROM refills r "
            "JOIN pumps p ON p.id = r.pump_id JOIN patients pt ON pt.id = p.patient_id "
            "WHERE pt.status = 'active' GROUP BY p.patient_id ORDER BY count(*) DESC, "
            "p.patient_id LIMIT ?",
            (count,),
        ).fetchall()
    finally:
        connection.close()
    anchor = p.ANCHOR.astimezone(UTC).replace(tzinfo=None)
    return [
        (int(patient), int(refills), (anchor - datetime.fromisoformat(first)).days / 365.25)
        for patient, refills, first in rows
    ]


def patient_figure(window: Any, database: Path, repeats: int) -> Figure:
    """Open a patient in the main window from the due list (view filled and painted): each
    run another of the patients with the longest histories, so nothing is measured warm."""
    from bench.window import PaintWatch

    chosen = longest_histories(database, repeats + 1)
    connection = sqlite3.connect(database)
    durations: list[float] = []
    plains: list[float] = []

    def open_and_paint(patient: int) -> float:
        window.show_dashboard()
        PaintWatch(window.dashboard).wait(time.time())
        gc.collect()
        started = time.perf_counter()
        window.open_patient(patient)
        PaintWatch(window.patient).wait(time.time())
        return time.perf_counter() - started

    try:
        open_and_paint(chosen[-1][0])  # warm up (the view, the statements)
        for patient, _, _ in chosen[:-1] or chosen:
            plains.append(
                timed(
                    lambda patient=patient: [
                        connection.execute(query, {"patient": patient}).fetchall()
                        for query in PATIENT_SQL
                    ]
                )
            )
            durations.append(open_and_paint(patient))
    finally:
        connection.close()
    value = statistics.median(durations)
    years = min(y for _, _, y in chosen)
    refills = sorted(r for _, r, _ in chosen)
    return Figure(
        "open one patient (view filled and painted)",
        value,
        "s",
        "plain sqlite3",
        statistics.median(plains),
        "< 150 ms",
        value < 0.150,
        f"{len(durations)} patients of {years:.0f}+ years, {refills[0]} to {refills[-1]} refills",
    )


# ------------------------------------------------------------------------------ one refill


def refill_figure(clinic: ClinicService, folder: Path, repeats: int) -> Figure:
    """Record a refill on several pumps due soon (each once), on a clock standing after every
    refill on record."""
    from pumpmgr.clock import FixedClock

    assert isinstance(clinic.clock, FixedClock)
    nurse = next(u for u in p.users.DEMO_USERS if u.username == "nurse1")
    second = next(u for u in p.users.DEMO_USERS if u.username == "nurse2")
    actor = clinic.sign_in(nurse.username, nurse.password)
    check = Verification(second.username, second.password)
    # due this week, but not today (the day's worksheets are measured afterwards)
    rows = [
        r
        for r in clinic.due_list()
        if r.state == "due_this_week" and r.refill_due > p.TODAY and r.pump_type != "constant_flow"
    ][: repeats + 1]
    durations = []
    for index, row in enumerate(rows):
        clinic.clock.moment = p.ANCHOR + timedelta(minutes=5 * (index + 1))
        moment = clinic.clock.moment - timedelta(minutes=2)
        expected = clinic.expected_now(row.pump_id, moment)
        pump = clinic.patient_chart(row.patient_id).pump
        assert pump is not None
        data = RefillInput(
            performed_at=moment,
            aspirated=Q_(round(0.0 if expected is None else float(expected.to(ML).m), 1), ML),
            volume_added=pump.capacity,
            lot_number="BENCH-1",
            expiry=p.TODAY + timedelta(days=200),
            source="pharmacy",
            needle_position_confirmed=True,
            pump_running_confirmed=True,
            discrepancy_note="benchmark refill",
        )
        durations.append(
            timed(lambda row=row, data=data: clinic.record_refill(actor, check, row.pump_id, data))
        )
    clinic.clock.moment = p.ANCHOR + timedelta(hours=1)
    value = statistics.median(durations[1:] or durations)
    return Figure(
        "record one refill",
        value,
        "s",
        "sqlite3 durable write",
        _durable_write(folder, repeats),
        "< 50 ms",
        value < 0.050,
        "checks, transaction, audit, forecast",
    )


def first_integrity_check(clinic: ClinicService) -> float:
    """The start-up check of a clinic with no checkpoint yet (the first start after the upgrade
    that added it): the whole chain, rows trusted. The checkpoint is derived data outside the
    chain, so it is cleared here and the check sets it again, as that start does."""
    from sqlalchemy import delete

    from pumpmgr.db.schema import IntegrityCheckpoint

    with clinic.database.engine.begin() as connection:
        connection.execute(delete(IntegrityCheckpoint))
    return timed(clinic.records.check_since_checkpoint)


def integrity_figures(clinic: ClinicService, first: float, repeats: int) -> list[Figure]:
    """The start-up and before-backup check (:mod:`pumpmgr.db.checkpoint`): the first one
    (``first``, :func:`first_integrity_check`), the one over what was written since (the
    refills just recorded), one with nothing new; and the full chain check it replaces at
    start-up (the records' full check, the window's daily one, is about a hundred times
    that again)."""
    gc.collect()
    started = time.perf_counter()
    since = clinic.records.check_since_checkpoint()  # moves the checkpoint
    written = time.perf_counter() - started
    idle = statistics.median(
        timed(clinic.records.check_since_checkpoint) for _ in range(max(1, repeats))
    )
    full = timed(clinic.verify_audit)
    head = since.chain.head.seq if since.chain.head is not None else 0
    rows = 0 if since.records is None else since.records.rows_checked
    new = head - (since.since.head.seq if since.since is not None else 0)
    return [
        Figure(
            "integrity check, first (no checkpoint)",
            first,
            "s",
            "full chain check",
            full,
            "-",
            None,
            f"{head:,} entries: the whole chain, rows trusted",
        ),
        Figure(
            "integrity check since the checkpoint",
            written,
            "s",
            "full chain check",
            full,
            "< 0.5 s",
            written < 0.5,
            f"{new:,} entries and {rows:,} rows written since (the refills)",
        ),
        Figure(
            "integrity check, nothing new",
            idle,
            "s",
            "full chain check",
            full,
            "< 0.5 s",
            idle < 0.5,
            "every start-up of a quiet clinic",
        ),
        Figure(
            "full audit chain check",
            full,
            "s",
            "-",
            None,
            "-",
            None,
            f"{head:,} entries, {head / full:,.0f} entries/s" if full > 0 else "",
        ),
    ]


def _durable_write(folder: Path, repeats: int) -> float:
    """One INSERT committed in its own transaction, WAL and synchronous=FULL as the program's
    connections: the floor of any save on this disk."""
    path = folder / "durable-write.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = wal")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")

        def write() -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t (v) VALUES ('refill')")
            connection.execute("COMMIT")

        return statistics.median(timed(write) for _ in range(max(3, repeats)))
    finally:
        connection.close()


# ------------------------------------------------------------------------------ forecasts

FORECAST_INPUTS_SQL = """
SELECT p.id, p.low_reservoir_alarm_ml, p.accuracy_percent, r.performed_at,
       r.final_reservoir_ml, r.bolus_volume_ml, r.discrepancy_verdict
FROM pumps p
JOIN refills r ON r.id = (SELECT id FROM refills WHERE pump_id = p.id
                          AND id NOT IN (SELECT corrects_id FROM refills
                                         WHERE corrects_id IS NOT NULL)
                          ORDER BY performed_at DESC, id DESC LIMIT 1)
WHERE p.status = 'active'
"""
PRESCRIPTIONS_SQL = """
SELECT x.id, x.pump_id, x.effective_at, x.ptm_bolus_dose_mcg, x.ptm_max_per_day,
       x.ptm_lockout_days, i.drug_key, i.concentration_mcg_per_ml, s.start_time,
       s.rate_mcg_per_day
FROM prescriptions x JOIN pumps p ON p.id = x.pump_id
JOIN prescription_ingredients i ON i.prescription_id = x.id
JOIN schedule_steps s ON s.prescription_id = x.id
WHERE p.status = 'active'
"""


def recompute_figure(clinic: ClinicService, database: Path, repeats: int) -> Figure:
    """Edit the drug library (baclofen's soft maximum), then recompute every forecast."""
    admin_spec = p.users.DEMO_USERS[0]
    admin = clinic.sign_in(admin_spec.username, admin_spec.password)
    drug = clinic.library().drug("baclofen")
    soft = drug.soft_max.value if drug.soft_max is not None else Q_(1000, MCG_PER_DAY)
    clinic.edit_drug_library(
        admin,
        "baclofen",
        {"soft_max": soft * 1.05},
        "benchmark: the clinic's soft maximum for baclofen",
    )
    pumps = 0

    def service() -> None:
        nonlocal pumps
        pumps = clinic.recompute_all_forecasts(admin, "benchmark: drug library changed")

    connection = sqlite3.connect(database, isolation_level=None)

    def plain() -> None:
        inputs = connection.execute(FORECAST_INPUTS_SQL).fetchall()
        connection.execute(PRESCRIPTIONS_SQL).fetchall()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "UPDATE pump_forecasts SET refill_due = refill_due WHERE pump_id = ?",
            [(row[0],) for row in inputs],
        )
        connection.execute("COMMIT")

    try:
        value, baseline = medians([(service, plain)], repeats)
    finally:
        connection.close()
    return Figure(
        "recompute every forecast (library edit)",
        value,
        "s",
        "sqlite3 read inputs + write",
        baseline,
        "< 2 s",
        value < 2.0,
        f"{pumps:,} pumps",
    )


# ------------------------------------------------------------------------------ sheets


def _bare_pages(count: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for page in range(count):
        canvas.setFont("Helvetica", 10)
        for line in range(40):
            canvas.drawString(60, 780 - 18 * line, f"page {page + 1} line {line + 1}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


#: Visits booked on the bench's day for its file of worksheets (issue 7's target is for 60).
DAY_VISITS = 60


def _book_the_day(clinic: ClinicService, visits: int) -> int:
    """Book up to ``visits`` pumps on the bench's day, ten minutes apart from 08:00, earliest
    due first; a pump the booking rules refuse that day (its low-reservoir date already passed)
    is left for the list of those due without a booking. The number booked."""
    from datetime import datetime, time

    from pumpmgr.errors import PumpMgrError

    nurse = next(u for u in p.users.DEMO_USERS if u.username == "nurse1")
    actor = clinic.sign_in(nurse.username, nurse.password)
    start = datetime.combine(p.TODAY, time(8, 0))
    booked = 0
    for row in clinic.due_list(today=p.TODAY):
        if booked == visits:
            break
        if row.booked_on is not None:
            continue
        at = (start + timedelta(minutes=10 * booked)).time()
        try:
            clinic.bookings.book(actor, row.pump_id, p.TODAY, at=at, reason="benchmark day")
        except PumpMgrError:
            continue
        booked += 1
    return booked


def sheet_figures(clinic: ClinicService, mrn: str, repeats: int) -> list[Figure]:
    from pumpmgr.services.sheets import SheetService

    sheets = SheetService(clinic)
    sheets.worksheet(mrn)  # warm up (fonts, styles)
    one, one_bare = medians([(lambda: sheets.worksheet(mrn), lambda: _bare_pages(1))], repeats)
    booked = _book_the_day(clinic, DAY_VISITS)
    not_booked = sum(
        1 for r in clinic.due_list(today=p.TODAY) if r.refill_due <= p.TODAY and r.booked_on is None
    )
    count = booked + (not_booked > 0)
    day, day_bare = medians(
        [(lambda: sheets.day(p.TODAY), lambda: _bare_pages(count))], max(1, min(repeats, 3))
    )
    return [
        Figure(
            "one refill worksheet PDF",
            one,
            "s",
            "bare reportlab page",
            one_bare,
            "< 150 ms",
            one < 0.150,
            "longest history",
        ),
        Figure(
            "the day's worksheets as one file",
            day,
            "s",
            "bare reportlab pages",
            day_bare,
            "< 4 s",
            day < 4.0,
            f"{booked} worksheets and the list of {not_booked} due without a booking",
        ),
    ]
