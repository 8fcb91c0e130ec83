"""Child processes for the storage harnesses, and the checks the parent runs after them.

The harnesses in this folder (crash, concurrency, backup, migrations) run the *real* services in
other processes, each with its own engine (no connection ever crosses a ``fork``: How To Corrupt
§2.7). This module is both:

- a script, ``python storage_workers.py TASK JSON``: runs one task and prints one line per
  committed record to stdout, unbuffered, *after* the commit returned (``refill 17``,
  ``rx 5``, ``pump 9 4``, ``event <token>``, ``fresh <where>``); ``python storage_workers.py
  serve`` is a *zygote*: it imports pumpmgr once, then for every JSON task read from stdin forks
  a child that runs the task with its stdout sent to the task's ``ack`` file, optionally
  SIGKILLs it after ``kill_after`` seconds (through a pidfd, so never another process), reaps it
  and answers ``exited <pid> <status> <seconds>``. Forking from a process that has imported
  pumpmgr but opened no database makes a trial cost milliseconds instead of the 1.3 s of a
  fresh interpreter, which is what lets 1,000 kills run in minutes on two cores.
- a library for the parent: :func:`build_clinic` (users, patients, pumps, prescriptions, first
  fills), the operations, :class:`Zygote`, :func:`spawn_task` and :func:`check_clinic`, the
  invariants every harness asserts (acknowledged records present, every record with its audit
  entry, one active pump per patient with its forecast, the chain verifies, and on SQLite
  ``integrity_check`` and ``foreign_key_check``).

Kill hooks (``hook``: ``{"point": P, "after": N}``): the child SIGKILLs itself at the N-th
occurrence of P, one of ``before_flush``, ``after_flush``, ``before_commit`` (ORM session
events), ``commit`` (the engine's event just before the driver's COMMIT), ``after_commit`` (the
transaction is durable, the acknowledgement not yet printed) and ``statement`` (just before the
N-th SQL statement, which lands inside DDL during a migration).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from pumpmgr.clock import SystemClock
from pumpmgr.db import schema as db
from pumpmgr.db.audit import ChainAnchor, chain_head, verify_chain
from pumpmgr.db.engine import Database, open_database
from pumpmgr.dose_checks import FindingCode
from pumpmgr.schedule import Schedule
from pumpmgr.services import Actor, ClinicService, sessions
from pumpmgr.services.inputs import (
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    Verification,
)
from pumpmgr.units import Q_

WORKER = Path(__file__).resolve()
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
#: A reason for every warning a dose check can give (the harness accepts them all).
ALL_REASONS: dict[str, str] = {str(code): "reliability harness: accepted" for code in FindingCode}
KILL_POINTS = (
    "before_flush",
    "after_flush",
    "before_commit",
    "commit",
    "after_commit",
    "statement",
)


# ---------------------------------------------------------------------------------------------
# The clinic the workers act on


@dataclass(frozen=True)
class Staff:
    admin: Actor
    nurse: Actor
    second: Actor

    @property
    def check(self) -> Verification:
        return Verification(self.second.username, PASSWORD)


def service(database: Database, workstation: str) -> ClinicService:
    """The real clinic service on the system clock (instants keep increasing across kills)."""
    return ClinicService(
        database, clock=SystemClock(), tz=UTC, workstation=workstation, hasher=FAST_HASHER
    )


def staff_of(database: Database) -> Staff:
    """The three accounts :func:`build_clinic` made, read back and marked signed in the way
    sign-in marks them (:mod:`pumpmgr.services.sessions`), without a password check in every
    one of the hundreds of forked workers."""
    with database.read() as session:
        users = {u.username: u for u in session.scalars(sql_select(db.User))}

    def actor(name: str) -> Actor:
        user = users[name]
        return sessions.signed_in(Actor(user.id, user.username, user.full_name, user.role.value))

    return Staff(actor("admin"), actor("nina"), actor("otto"))


def prescription(clinic: ClinicService, dose_mcg_per_day: int) -> PrescriptionInput:
    return PrescriptionInput(
        ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
        schedule=Schedule.simple(Q_(f"{dose_mcg_per_day} mcg/day")),
        effective_at=clinic.clock.now(),
        prescriber="Dr Brandt",
        reasons=ALL_REASONS,
        order=OrderGiven("written", clinic.clock.now()),
    )


def refill_input(clinic: ClinicService) -> RefillInput:
    return RefillInput(
        performed_at=clinic.clock.now(),
        aspirated=Q_("19.9 mL"),
        volume_added=Q_("20 mL"),
        lot_number="L-RH",
        expiry=date(2099, 12, 31),
        source="pharmacy",
        needle_position_confirmed=True,
        pump_running_confirmed=True,
        discrepancy_note="reliability harness",
    )


def build_clinic(database: Database, patients: int, *, prefix: str = "RH") -> list[int]:
    """Three users, then ``patients`` patients each with an active pump, a prescription and a
    first fill, all through the services. Returns the pump ids."""
    clinic = service(database, "setup")
    admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
    clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", PASSWORD)
    clinic.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
    clinic.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
    staff = staff_of(database)
    pumps = []
    for n in range(patients):
        patient = clinic.register_patient(
            nurse,
            PatientInput(
                f"{prefix}{n:05d}", "Meyer", f"Anna {n}", date(1970, 5, 1), "spasticity_spinal"
            ),
        )
        pump = clinic.implant_pump(
            nurse,
            patient.id,
            PumpInput(
                "synchromed2-20",
                f"SN-{prefix}-{n}",
                clinic.today() - timedelta(days=1),
                "right lower abdomen",
            ),
            None,
        )
        # patients on their dose from before this record: not a start (domain-rules §6)
        first = replace(prescription(clinic, 400), continues={"baclofen": Q_("400 mcg/day")})
        clinic.change_prescription(nurse, staff.check, pump.id, first)
        clinic.record_refill(nurse, staff.check, pump.id, refill_input(clinic))
        pumps.append(pump.id)
    return pumps


def add_patient_row(session: Session, mrn: str) -> db.Patient:
    """A patient row written directly (for harnesses about files, not about the services)."""
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    patient = db.Patient(
        mrn=mrn,
        family_name="Doe",
        given_name="Jane",
        date_of_birth=date(1970, 5, 17),
        indication=db.Indication.OTHER,
        created_at=at,
        updated_at=at,
    )
    session.add(patient)
    session.flush()
    return patient


# ---------------------------------------------------------------------------------------------
# Operations (each one service call: one transaction, its audit entries and its forecast)


def op_refill(clinic: ClinicService, staff: Staff, pump_id: int) -> int:
    return clinic.record_refill(staff.nurse, staff.check, pump_id, refill_input(clinic)).refill.id


def op_prescription(clinic: ClinicService, staff: Staff, pump_id: int, dose: int) -> int:
    outcome = clinic.change_prescription(
        staff.nurse, staff.check, pump_id, prescription(clinic, dose)
    )
    return outcome.prescription.id


def op_event(clinic: ClinicService, staff: Staff, pump_id: int, token: str) -> None:
    clinic.record_event(staff.nurse, pump_id, "note", clinic.clock.now(), token)


def op_replace(clinic: ClinicService, staff: Staff, pump_id: int, serial: str) -> int:
    record = clinic.replace_pump(
        staff.nurse,
        pump_id,
        PumpInput("synchromed2-20", serial, clinic.today(), "left lower abdomen"),
        "end of service",
    )
    return record.id


def active_pumps(database: Database) -> dict[int, int]:
    """Active pump id by patient id."""
    with database.read() as session:
        rows = session.execute(
            sql_select(db.Pump.patient_id, db.Pump.id).where(db.Pump.status == db.PumpStatus.ACTIVE)
        ).all()
    return {patient: pump for patient, pump in rows}


def pumps_without_prescription(database: Database) -> list[int]:
    with database.read() as session:
        has = sql_select(db.Prescription.pump_id)
        return list(
            session.scalars(
                sql_select(db.Pump.id).where(
                    db.Pump.status == db.PumpStatus.ACTIVE, db.Pump.id.not_in(has)
                )
            )
        )


# ---------------------------------------------------------------------------------------------
# Tasks run in a child


def ack(line: str) -> None:
    """Acknowledge a committed record: one line, written with one system call."""
    os.write(1, (line + "\n").encode())


def install_kill_hook(point: str, after: int) -> None:
    """SIGKILL this process at the ``after``-th occurrence of ``point`` (see the module doc)."""
    if point not in KILL_POINTS:
        raise ValueError(f"unknown kill point {point!r}")
    seen = [0]

    def hit(*_args: Any, **_kwargs: Any) -> None:
        seen[0] += 1
        if seen[0] >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    if point == "statement":
        event.listen(Engine, "before_cursor_execute", hit)
    elif point == "commit":
        event.listen(Engine, "commit", hit)
    else:
        event.listen(Session, point, hit)


def open_for_task(task: dict[str, Any]) -> Database:
    return open_database(
        task["url"], daily_backup_keep=None, busy_timeout_s=float(task.get("busy_timeout_s", 15.0))
    )


def task_crash_loop(task: dict[str, Any]) -> None:
    """Refills, prescription changes, events, pump replacements and fresh-file migrations in a
    random mix until killed (or ``max_ops`` reached)."""
    rng = random.Random(task["seed"])
    database = open_for_task(task)
    clinic = service(database, f"crash-{os.getpid()}")
    staff = staff_of(database)
    for pump_id in pumps_without_prescription(database):  # a replacement killed before its rx
        ack(f"rx {op_prescription(clinic, staff, pump_id, 400)}")
    pumps = active_pumps(database)
    ack("ready")
    for n in range(int(task.get("max_ops", 10**9))):
        patient = rng.choice(sorted(pumps))
        pump_id = pumps[patient]
        roll = rng.random()
        if roll < 0.45:
            ack(f"refill {op_refill(clinic, staff, pump_id)}")
        elif roll < 0.70:
            ack(f"rx {op_prescription(clinic, staff, pump_id, rng.choice((390, 400, 410)))}")
        elif roll < 0.85:
            token = f"note-{uuid.uuid4().hex}"
            op_event(clinic, staff, pump_id, token)
            ack(f"event {token}")
        elif roll < 0.95:
            new = op_replace(clinic, staff, pump_id, f"R-{uuid.uuid4().hex[:12]}")
            pumps[patient] = new
            ack(f"pump {new} {pump_id}")
            ack(f"rx {op_prescription(clinic, staff, new, 400)}")
        elif task.get("fresh"):
            ack(f"fresh {migrate_fresh(task['fresh'], n)}")
    database.dispose()


def migrate_fresh(fresh: dict[str, Any], n: int) -> str:
    """Create a new database and migrate it to the head revision (a SQLite file in
    ``fresh["dir"]``, or a new schema on the PostgreSQL server ``fresh["pg_base"]``)."""
    name = f"fresh_{os.getpid()}_{n}"
    if "dir" in fresh:
        where = str(Path(fresh["dir"]) / f"{name}.db")
        open_database(where, daily_backup_keep=None).dispose()
        return where
    import psycopg
    from database_targets import _libpq_url, postgres_schema_url

    with psycopg.connect(_libpq_url(fresh["pg_base"]), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{fresh["prefix"]}{name}"')
    open_database(postgres_schema_url(f"{fresh['prefix']}{name}"), daily_backup_keep=None).dispose()
    return f"{fresh['prefix']}{name}"


def task_open(task: dict[str, Any]) -> None:
    """Open (and so migrate) one database, then acknowledge it."""
    open_for_task(task).dispose()
    ack(f"fresh {task['url']}")


def task_concurrent(task: dict[str, Any]) -> None:
    """``count`` transactions over shared pumps, events and refills alternating with a
    prescription change every eighth: on every pump both workers record events and change the
    prescription; each pump's refills come from its owner worker only (two nurses cannot
    refill one pump at the same moment; the other records an event instead). Prints one JSON
    summary line."""
    worker = int(task["worker"])
    database = open_for_task(task)
    clinic = service(database, f"worker-{worker}")
    staff = staff_of(database)
    pumps: list[int] = task["pumps"]
    Path(task["ready"]).touch()
    while not Path(task["go"]).exists():  # start together, after both paid their imports
        time.sleep(0.005)
    done: dict[str, list[Any]] = {"refill": [], "rx": [], "event": []}
    errors: list[str] = []
    latencies: list[float] = []
    rng = random.Random(task["seed"])
    for n in range(int(task["count"])):
        pump_id = pumps[n % len(pumps)]
        kind = ("event", "refill", "event", "refill", "event", "refill", "event", "rx")[n % 8]
        if kind == "refill" and pumps.index(pump_id) % 2 != worker:
            kind = "event"
        started = time.perf_counter()
        try:
            if kind == "refill":
                done["refill"].append(op_refill(clinic, staff, pump_id))
            elif kind == "rx":
                done["rx"].append(
                    op_prescription(clinic, staff, pump_id, rng.choice((390, 400, 410)))
                )
            else:
                token = f"w{worker}-{n}"
                op_event(clinic, staff, pump_id, token)
                done["event"].append(token)
        except Exception as exc:  # an error that would reach the user: counted, not raised
            errors.append(f"{kind} on pump {pump_id}: {type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - started)
    database.dispose()
    print(
        json.dumps({"worker": worker, "done": done, "errors": errors, "latencies": latencies}),
        flush=True,
    )


def task_writer(task: dict[str, Any]) -> None:
    """Refills and events as fast as possible until the ``stop`` file appears (or ``seconds``
    pass): the background of a backup."""
    database = open_for_task(task)
    clinic = service(database, f"writer-{os.getpid()}")
    staff = staff_of(database)
    pumps = sorted(active_pumps(database).values())
    deadline = time.monotonic() + float(task.get("seconds", 600))
    stop = Path(task["stop"]) if "stop" in task else None
    ack("ready")
    n = 0
    mine = int(task.get("index", 0)), int(task.get("of", 1))  # refills on my pumps only
    while time.monotonic() < deadline and not (stop is not None and stop.exists()):
        pump_id = pumps[n % len(pumps)]
        if n % 2 and pumps.index(pump_id) % mine[1] == mine[0]:
            ack(f"refill {op_refill(clinic, staff, pump_id)}")
        else:
            token = f"note-{uuid.uuid4().hex}"
            op_event(clinic, staff, pump_id, token)
            ack(f"event {token}")
        n += 1
        time.sleep(float(task.get("pause", 0.0)))
    database.dispose()


TASKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "crash_loop": task_crash_loop,
    "open": task_open,
    "concurrent": task_concurrent,
    "writer": task_writer,
}


def run_task(task: dict[str, Any]) -> None:
    if "migrations_dir" in task:
        from pumpmgr.db import migrate

        migrate.MIGRATIONS_DIR = Path(task["migrations_dir"])
    if task.get("hook"):
        install_kill_hook(task["hook"]["point"], int(task["hook"]["after"]))
    TASKS[task["task"]](task)


# ---------------------------------------------------------------------------------------------
# The zygote (runs in the child interpreter) and its driver (runs in pytest)


def _child_main(task: dict[str, Any]) -> int:
    fd = os.open(task["ack"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives until _exit
    try:
        run_task(task)
    except BaseException:
        ack("error " + json.dumps(traceback.format_exc()))
        return 3
    return 0


def _wait(pid: int, kill_after: float | None, timeout: float) -> int:
    """Wait for the child; SIGKILL it after ``kill_after`` seconds. Returns the wait status."""
    pidfd = os.pidfd_open(pid)
    try:
        limit = timeout if kill_after is None else kill_after
        ready, _, _ = select.select([pidfd], [], [], limit)
        if not ready:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    finally:
        os.close(pidfd)
    return os.waitpid(pid, 0)[1]


def serve() -> None:
    """The zygote's loop: one JSON task per stdin line, one ``exited`` line per task."""
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(_child_main(task))
        status = _wait(pid, task.get("kill_after"), float(task.get("timeout", 120.0)))
        print(f"exited {pid} {status} {time.perf_counter() - started:.4f}", flush=True)


@dataclass
class ChildResult:
    """What a child acknowledged, and how it ended."""

    lines: list[str]
    killed: bool  #: died of SIGKILL (by the parent's timer or its own hook)
    exit_code: int | None
    seconds: float
    errors: list[str] = field(default_factory=list)

    def acks(self, kind: str) -> list[list[str]]:
        return [line.split()[1:] for line in self.lines if line.split()[0] == kind]


def _read_acks(path: Path) -> tuple[list[str], list[str]]:
    data = path.read_bytes().decode(errors="replace") if path.exists() else ""
    complete = data[: data.rfind("\n") + 1]  # a line cut by the kill was never acknowledged
    lines, errors = [], []
    for line in complete.splitlines():
        if line.startswith("error "):
            errors.append(json.loads(line[6:]))
        elif line.strip():
            lines.append(line)
    return lines, errors


class Zygote:
    """Drives ``python storage_workers.py serve`` (Linux: fork and pidfd)."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=_env(),
        )

    def run(
        self,
        task: dict[str, Any],
        ack_file: Path,
        *,
        kill_after: float | None = None,
        timeout: float = 120.0,
    ) -> ChildResult:
        assert self.process.stdin is not None and self.process.stdout is not None
        ack_file.unlink(missing_ok=True)
        message = {**task, "ack": str(ack_file), "kill_after": kill_after, "timeout": timeout}
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()
        answer = self.process.stdout.readline().decode().split()
        if len(answer) != 4 or answer[0] != "exited":
            raise RuntimeError(f"the zygote answered {answer!r}; see {self._log.name}")
        status, seconds = int(answer[2]), float(answer[3])
        lines, errors = _read_acks(ack_file)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return ChildResult(lines, killed, code, seconds, errors)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            self._log.close()


@contextmanager
def zygote(log: Path) -> Iterator[Zygote]:
    server = Zygote(log)
    try:
        yield server
    finally:
        server.close()


def spawn_task(
    task: dict[str, Any], *, kill_after_ready: float | None = None, timeout: float = 300.0
) -> ChildResult:
    """Run a task in a fresh interpreter (``subprocess``), reading its acknowledgements from
    its stdout; with ``kill_after_ready``, SIGKILL it that long after it printed ``ready``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(WORKER), task["task"], json.dumps(task)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert process.stdout is not None
    data = b""
    deadline: float | None = None
    killed_by_us = False
    fd = process.stdout.fileno()
    while True:
        wait = 1.0 if deadline is None else max(0.0, deadline - time.perf_counter())
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
            if deadline is None and kill_after_ready is not None and b"ready\n" in data:
                deadline = time.perf_counter() + kill_after_ready
        if deadline is not None and time.perf_counter() >= deadline and not killed_by_us:
            process.kill()
            killed_by_us = True
        if time.perf_counter() - started > timeout:
            process.kill()
            raise TimeoutError(f"task {task['task']} ran longer than {timeout} s")
    process.wait()
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    text_out = data.decode(errors="replace")
    complete = text_out[: text_out.rfind("\n") + 1]
    lines = [line for line in complete.splitlines() if line.strip()]
    errors = [json.loads(line[6:]) for line in lines if line.startswith("error ")]
    lines = [line for line in lines if not line.startswith("error ")]
    if process.returncode not in (0, -signal.SIGKILL) and not errors:
        errors.append(stderr[-4000:])
    return ChildResult(
        lines,
        process.returncode == -signal.SIGKILL,
        process.returncode,
        time.perf_counter() - started,
        errors,
    )


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(WORKER.parent), str(WORKER.parent.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }


def spawn_together(
    tasks: list[dict[str, Any]], folder: Path, timeout: float = 900.0
) -> list[dict[str, Any]]:
    """Run ``concurrent`` tasks in fresh interpreters at the same moment; their JSON results."""
    go = folder / "go"
    go.unlink(missing_ok=True)
    processes = []
    for n, task in enumerate(tasks):
        ready = folder / f"ready-{n}"
        ready.unlink(missing_ok=True)
        message = {**task, "ready": str(ready), "go": str(go)}
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), message["task"], json.dumps(message)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_env(),
            )
        )
    deadline = time.monotonic() + 120
    while not all((folder / f"ready-{n}").exists() for n in range(len(tasks))):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            break
        time.sleep(0.01)
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        lines = out.decode(errors="replace").splitlines()
        summary = next((json.loads(line) for line in lines if line.startswith("{")), None)
        if process.returncode != 0 or summary is None:
            raise RuntimeError(
                f"worker failed ({process.returncode}): "
                f"{out.decode(errors='replace')[-3000:]}"
                f"{err.decode(errors='replace')[-3000:]}"
            )
        results.append(summary)
    return results


# ---------------------------------------------------------------------------------------------
# The invariants


@dataclass
class Acknowledged:
    """Everything children acknowledged so far, accumulated over trials."""

    refills: set[int] = field(default_factory=set)
    prescriptions: set[int] = field(default_factory=set)
    pumps: set[int] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    fresh: set[str] = field(default_factory=set)

    def add(self, result: ChildResult) -> None:
        for line in result.lines:
            kind, *values = line.split()
            if kind == "refill":
                self.refills.add(int(values[0]))
            elif kind == "rx":
                self.prescriptions.add(int(values[0]))
            elif kind == "pump":
                self.pumps.add(int(values[0]))
            elif kind == "event":
                self.events.add(values[0])
            elif kind == "fresh":
                self.fresh.add(values[0])


def print_failures(failures: list[str]) -> None:
    """Print every failure in full (the assertion shows only the first, shortened)."""
    for failure in failures:
        print(f"FAILURE: {failure}")


def sqlite_file_problems(path: Path) -> list[str]:
    """``integrity_check`` and ``foreign_key_check`` of a SQLite file (opening it rolls back a
    hot journal first, as any connection would)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        integrity = [r[0] for r in connection.execute("PRAGMA integrity_check")]
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"unreadable: {exc}"]
    finally:
        connection.close()
    problems = [] if integrity == ["ok"] else [f"integrity_check: {integrity[:3]}"]
    if foreign:
        problems.append(f"foreign_key_check: {foreign[:3]}")
    return problems


def clinic_problems(
    database: Database, acknowledged: Acknowledged | None = None, anchor: ChainAnchor | None = None
) -> tuple[list[str], ChainAnchor | None]:
    """Every invariant of a clinic the services wrote; returns the problems and the chain head.

    - acknowledged refills, prescriptions, pumps and events are present;
    - no half transaction: every refill, prescription, event and pump has its audit entry, and
      every audit entry about one of them has its row (the audit is written in the same
      transaction, so a refill without its entry is a half-applied transaction);
    - every patient has exactly one active pump, every active pump its stored forecast and no
      explanted pump keeps one; every explanted pump has its explant event;
    - the audit chain verifies (against ``anchor``, a head seen earlier, when given).
    """
    problems: list[str] = []
    with database.read() as session:
        refills = set(session.scalars(sql_select(db.Refill.id)))
        rxs = set(session.scalars(sql_select(db.Prescription.id)))
        pumps = {p.id: p for p in session.scalars(sql_select(db.Pump))}
        events = {e.id: e for e in session.scalars(sql_select(db.PumpEvent))}
        forecasts = set(session.scalars(sql_select(db.PumpForecast.pump_id)))
        patients = set(session.scalars(sql_select(db.Patient.id)))
        audit = session.execute(
            sql_select(db.AuditEntry.action, db.AuditEntry.entity_id, db.AuditEntry.payload)
        ).all()
        report = verify_chain(session, anchor)
        head = chain_head(session)
    by_action: dict[str, set[str]] = {}
    for action, entity_id, _payload in audit:
        by_action.setdefault(action, set()).add(str(entity_id))
    if acknowledged is not None:
        for name, wanted, found in (
            ("refill", acknowledged.refills, refills),
            ("prescription", acknowledged.prescriptions, rxs),
            ("pump", acknowledged.pumps, set(pumps)),
        ):
            lost = wanted - found
            if lost:
                problems.append(f"acknowledged {name}s lost: {sorted(lost)[:10]}")
        notes = {e.note for e in events.values()}
        lost_events = acknowledged.events - notes
        if lost_events:
            problems.append(f"acknowledged events lost: {sorted(lost_events)[:5]}")
    refill_audit = by_action.get("refill.record", set())
    if {str(i) for i in refills} != refill_audit:
        problems.append(
            f"refills and their audit entries differ: rows without entry "
            f"{sorted({str(i) for i in refills} - refill_audit)[:5]}, entries "
            f"without row {sorted(refill_audit - {str(i) for i in refills})[:5]}"
        )
    rx_audit = by_action.get("prescription.change", set())
    if {str(i) for i in rxs} != rx_audit:
        problems.append("prescriptions and their audit entries differ")
    event_audit = set().union(
        *(ids for action, ids in by_action.items() if action.startswith("event."))
    )
    for _action, _entity_id, payload in audit:  # an implant's or replacement's, in its entry
        carried = json.loads(payload).get("events", [])
        event_audit |= {str(e["pump_event_id"]) for e in carried}
    if {str(i) for i in events} != event_audit:
        problems.append("pump events and their audit entries differ")
    pump_audit = by_action.get("pump.implant", set()) | by_action.get("pump.replace", set())
    if {str(i) for i in pumps} != pump_audit:
        problems.append("pumps and their audit entries differ")
    active_by_patient: dict[int, int] = {}
    for pump in pumps.values():
        if pump.status is db.PumpStatus.ACTIVE:
            active_by_patient[pump.patient_id] = active_by_patient.get(pump.patient_id, 0) + 1
            if pump.id not in forecasts:
                problems.append(f"active pump {pump.id} has no stored forecast")
        else:
            if pump.id in forecasts:
                problems.append(f"explanted pump {pump.id} kept its forecast")
            if not any(
                e.pump_id == pump.id and e.kind is db.PumpEventKind.EXPLANT for e in events.values()
            ):
                problems.append(f"explanted pump {pump.id} has no explant event")
    for patient in patients:
        if active_by_patient.get(patient, 0) != 1:
            problems.append(
                f"patient {patient} has {active_by_patient.get(patient, 0)} active pumps"
            )
    if not report.ok:
        problems.append(f"audit chain: {report.message}")
    return problems, head


def _definition(sql: str | None) -> tuple[str, ...] | None:
    """A CREATE TABLE statement's columns in order, then its constraints sorted: the order of
    the constraints Alembic's batch mode writes out varies from run to run, the table not."""
    if sql is None:
        return None
    body = sql[sql.index("(") + 1 : sql.rindex(")")]
    items, depth, quote, current = [], 0, "", ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += char
    items.append(current.strip())
    keywords = ("CONSTRAINT", "PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY")
    columns = [i for i in items if not i.upper().startswith(keywords)]
    constraints = sorted(i for i in items if i.upper().startswith(keywords))
    return (sql[: sql.index("(")].strip(), *columns, *constraints)


def schema_fingerprint(engine: Engine) -> dict[str, Any]:
    """Tables, columns, indexes and triggers of a database, to compare schemas exactly."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
            ).all()
            return {
                "objects": [
                    (kind, name, table, _definition(sql) if kind == "table" else sql)
                    for kind, name, table, sql in rows
                ]
            }
        columns = connection.execute(
            text(
                "SELECT table_name, column_name, data_type, is_nullable FROM "
                "information_schema.columns WHERE table_schema = current_schema() "
                "ORDER BY table_name, column_name"
            )
        ).all()
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        indexes = [
            (table, name, definition.replace(f"{schema}.", ""))
            for table, name, definition in connection.execute(
                text(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE "
                    "schemaname = current_schema() ORDER BY indexname"
                )
            ).all()
        ]
        triggers = connection.execute(
            text(
                "SELECT event_object_table, trigger_name, event_manipulation FROM "
                "information_schema.triggers WHERE trigger_schema = current_schema() "
                "ORDER BY 1, 2, 3"
            )
        ).all()
        return {
            "columns": [tuple(r) for r in columns],
            "indexes": indexes,
            "triggers": [tuple(r) for r in triggers],
        }


def file_schema(path: Path) -> dict[str, Any]:
    """The schema of a SQLite file (:func:`schema_fingerprint`), read with a plain engine: no
    gates, no migration; its first read rolls a hot journal back, as any connection's would."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        return schema_fingerprint(engine)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.path[:0] = [str(WORKER.parent), str(WORKER.parent.parent)]
    if sys.argv[1] == "serve":
        serve()
    else:
        try:
            run_task({**json.loads(sys.argv[2]), "task": sys.argv[1]})
        except BaseException:
            ack("error " + json.dumps(traceback.format_exc()))
            sys.exit(3)
