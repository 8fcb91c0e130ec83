"""Harness 8 (issue 6; reliability.md T8, T12): tampering with the audit log behind pumpmgr's back.

A clinic's log written by the real services is tampered with in raw SQL, as someone with the
database file or the table owner's password would: with the append-only triggers dropped, one
of a byte changed in any field of any entry, an entry deleted, two entries swapped, an entry
forged (inserted with its own valid hash, or rewritten and rehashed in place), the tail cut, or
the whole chain rewritten consistently from an edited entry. :func:`verify_chain` must report
every one: the tail cut and the consistent rewrite are caught against the chain head recorded
outside the database (the manifest of a backup on SQLite; on PostgreSQL the head printed in a
real refill worksheet's footer, read back from the PDF: a 16-hex-digit prefix of the hash, as
a nurse types it), everything else by the chain alone. A tampering the schema itself refuses
(a hash that is no longer 64 characters) cannot be committed and is counted as refused. Each
tampering happens inside a transaction that is rolled back (the DDL too), so every trial starts
from the pristine log.

Also: direct UPDATE and DELETE of audit rows (every column, raw SQL and the ORM, and SQLite's
``INSERT OR REPLACE`` and PostgreSQL's ``TRUNCATE``, which delete without a DELETE statement)
are refused by the database; and verifying 100,000 entries is timed (printed, not asserted).

Suite: 250 tamperings (``--full``: 1,000) on each backend; 10,000 entries timed (100,000).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from printed_head import printed_head
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Enum,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from storage_workers import (
    FAST_HASHER,
    PASSWORD,
    build_clinic,
    prescription,
    print_failures,
    refill_input,
    service,
    staff_of,
)

from pumpmgr.db.audit import (
    GENESIS_HASH,
    ChainAnchor,
    canonical_json,
    chain_head,
    entry_hash,
    parse_anchor,
    verify_chain,
)
from pumpmgr.db.backup import backup_database
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import RecordConflict
from pumpmgr.db.rowchain import covered_tables, verify_records
from pumpmgr.db.schema import AuditEntry, PumpForecast, User
from pumpmgr.schedule import Schedule, ScheduledBolus, Step
from pumpmgr.services import ClinicService, sessions
from pumpmgr.services.context import ClinicContext, actor_of
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import CatheterInput, SegmentInput, Verification
from pumpmgr.services.records import RecordService
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import Q_

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

FIELDS = (
    "seq",
    "recorded_at",
    "username",
    "workstation",
    "action",
    "entity_type",
    "entity_id",
    "payload",
    "reason",
    "prev_hash",
    "row_hash",
    "written_rows",
)
KINDS = ("byte", "delete", "swap", "forge", "tail", "rewrite")
#: Kinds the chain itself must catch; the others need the anchor recorded outside.
CHAIN_CATCHES = {"byte", "delete", "swap", "forge"}
PREFIX = "RH"  #: of the clinic's medical record numbers (storage_workers.build_clinic)


def _drop_triggers(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_delete")
    else:
        connection.exec_driver_sql("DROP TRIGGER trg_audit_log_no_change ON audit_log")


def _rows(connection: Connection) -> list[dict[str, Any]]:
    result = connection.execute(text(f"SELECT {', '.join(FIELDS)} FROM audit_log ORDER BY seq"))
    return [dict(row._mapping) for row in result]


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hash(row: dict[str, Any]) -> str:
    fields = {k: row[k] for k in FIELDS if k != "row_hash"}
    fields["recorded_at"] = _instant(fields["recorded_at"])
    return entry_hash(**fields)


def _set(connection: Connection, seq: int, /, **values: Any) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in values)
    connection.execute(
        text(f"UPDATE audit_log SET {sets} WHERE seq = :where_seq"), {**values, "where_seq": seq}
    )


def _insert(connection: Connection, row: dict[str, Any]) -> None:
    connection.execute(
        text(
            f"INSERT INTO audit_log ({', '.join(FIELDS)}) VALUES "
            f"({', '.join(':' + f for f in FIELDS)})"
        ),
        row,
    )


def _other_char(rng: random.Random, old: str) -> str:
    pool = "0123456789abcdefXYZ _-:.{}\"'é"
    return rng.choice([c for c in pool if c != old])


def _change_a_byte(
    connection: Connection,
    rng: random.Random,
    rows: list[dict[str, Any]],
) -> str:
    row = rng.choice(rows)
    field = rng.choice(FIELDS)
    if field == "seq":
        taken = {r["seq"] for r in rows}
        new = rng.choice([s for s in range(1, len(rows) + 20) if s not in taken])
        _set(connection, row["seq"], seq=new)
        return f"seq {row['seq']} -> {new}"
    if field == "recorded_at":
        moved = _instant(row["recorded_at"]) + timedelta(microseconds=rng.choice((-1, 1)))
        if connection.dialect.name == "sqlite":  # stored as text: change any byte of it
            stored = str(row["recorded_at"])
            i = rng.randrange(len(stored))
            value: Any = stored[:i] + _other_char(rng, stored[i]) + stored[i + 1 :]
        else:  # a timestamptz: the smallest change it can hold
            value = moved
        _set(connection, row["seq"], recorded_at=value)
        return f"recorded_at of #{row['seq']}"
    old = row[field]
    if old is None or old == "":
        new_text = _other_char(rng, "")
    else:
        i = rng.randrange(len(old))
        new_text = old[:i] + _other_char(rng, old[i]) + old[i + 1 :]
    if connection.dialect.name == "sqlite" and rng.random() < 0.2:
        raw = bytearray(new_text.encode())
        raw[rng.randrange(len(raw))] = rng.choice((0xC9, 0xFF, 0x80))  # not UTF-8 any more
        if rng.random() < 0.5:
            _set(connection, row["seq"], **{field: bytes(raw)})  # as a BLOB
            return f"{field} of #{row['seq']} as a BLOB"
        connection.execute(
            text(f"UPDATE audit_log SET {field} = CAST(:v AS TEXT) WHERE seq = :s"),
            {"v": bytes(raw), "s": row["seq"]},
        )
        return f"{field} of #{row['seq']} as text that is not UTF-8"
    _set(connection, row["seq"], **{field: new_text})
    return f"{field} of #{row['seq']}"


def _tamper(
    kind: str, connection: Connection, rng: random.Random, rows: list[dict[str, Any]]
) -> str:
    last = rows[-1]["seq"]
    if kind == "byte":
        return _change_a_byte(connection, rng, rows)
    if kind == "delete":
        seq = rng.randrange(1, last)  # the last one is the "tail" kind
        connection.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
        return f"deleted #{seq}"
    if kind == "swap":
        a, b = sorted(rng.sample(range(1, last + 1), 2))
        parking = last + 1000
        _set(connection, a, seq=parking)
        _set(connection, b, seq=a)
        _set(connection, parking, seq=b)
        return f"swapped #{a} and #{b}"
    if kind == "forge":
        k = rng.randrange(1, last + 1)
        forged = {
            **rows[k - 1],
            "username": "mallory",
            "payload": canonical_json({"dose_mcg_per_day": {"before": 400, "after": 4000}}),
        }
        if rng.random() < 0.5:  # inserted at k, later entries renumbered, its hash valid
            for seq in range(last, k - 1, -1):
                _set(connection, seq, seq=seq + 1)
            forged["prev_hash"] = GENESIS_HASH if k == 1 else rows[k - 2]["row_hash"]
            forged["row_hash"] = _hash(forged)
            _insert(connection, forged)
            return f"forged an entry inserted at #{k}"
        forged["row_hash"] = _hash(forged)  # rewritten in place and rehashed
        _set(
            connection,
            k,
            username=forged["username"],
            payload=forged["payload"],
            row_hash=forged["row_hash"],
        )
        # the newest entry has no successor to break: only the recorded head shows it
        return f"forged #{k} in place" + (" (the head)" if k == last else "")
    if kind == "tail":
        cut = rng.randint(1, min(5, last))
        connection.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": last - cut})
        return f"cut the last {cut}"
    # rewrite: edit one entry, then rehash it and every later entry, consistently
    k = rng.randrange(1, last + 1)
    prev = GENESIS_HASH if k == 1 else rows[k - 2]["row_hash"]
    for n, row in enumerate(rows[k - 1 :]):
        changed = {**row, "prev_hash": prev}
        if n == 0:
            changed["reason"] = "nothing happened here"
        changed["row_hash"] = _hash(changed)
        _set(
            connection,
            row["seq"],
            prev_hash=changed["prev_hash"],
            reason=changed["reason"],
            row_hash=changed["row_hash"],
        )
        prev = changed["row_hash"]
    return f"rewrote the chain from #{k}"


def _a_clinic(database: Database, entries: int) -> None:
    """A log written by the services: set-up, then refills, events and prescription changes."""
    pumps = build_clinic(database, 4, prefix=PREFIX)
    clinic = service(database, "tamper")
    staff = staff_of(database)
    n = 0
    with database.read() as session:
        count = session.scalar(text("SELECT count(*) FROM audit_log")) or 0
    while count < entries:
        pump = pumps[n % len(pumps)]
        if n % 3 == 0:
            clinic.record_refill(staff.nurse, staff.check, pump, refill_input(clinic))
        else:
            clinic.record_event(
                staff.nurse, pump, "note", clinic.clock.now(), f"tamper target {n} – µg ½"
            )
        n += 1
        count += 1


def _anchor(database: Database, tmp_path: Path) -> tuple[ChainAnchor, str]:
    """The head recorded outside the database: a backup's manifest on SQLite; on PostgreSQL
    (no file to back up) the head a real refill worksheet prints, read back from the PDF's
    text as a nurse would type it from the paper (its first 16 hex digits)."""
    if database.backend == "sqlite":
        manifest = backup_database(database.engine, tmp_path / "anchor-backup.db")
        assert manifest.anchor is not None
        return manifest.anchor, "backup manifest"
    sheet = SheetService(service(database, "printer")).worksheet(f"{PREFIX}00000")
    printed = parse_anchor(printed_head(sheet))
    with database.read() as session:
        head = chain_head(session)
    assert head is not None and printed.is_prefix and printed.matches(head.row_hash)
    assert printed.seq == head.seq
    return printed, f"head printed on a sheet ({printed.printed()})"


def test_every_tampering_is_detected(
    database: Database,
    tmp_path: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    trials = 1000 if full_size else 250
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    _a_clinic(database, 120)
    anchor, where = _anchor(database, tmp_path)
    failures: list[str] = []
    caught: dict[str, int] = dict.fromkeys(KINDS, 0)
    refused = 0
    started = time.perf_counter()
    for trial in range(trials):
        kind = KINDS[trial % len(KINDS)]
        with database.engine.connect() as connection:
            connection.begin()
            _drop_triggers(connection)
            rows = _rows(connection)
            try:
                with connection.begin_nested():
                    what = _tamper(kind, connection, rng, rows)
            except (IntegrityError, DataError):  # the schema refused it: it cannot be committed
                refused += 1
                connection.rollback()
                continue
            with Session(bind=connection) as session:
                try:
                    plain = verify_chain(session)
                    anchored = verify_chain(session, anchor)
                except Exception as exc:  # verification must report, never crash
                    failures.append(f"trial {trial} ({what}): verify_chain raised {exc!r}")
                    connection.rollback()
                    continue
            connection.rollback()
        if anchored.ok or (kind in CHAIN_CATCHES and "(the head)" not in what and plain.ok):
            failures.append(f"trial {trial}: undetected: {what}")
        else:
            caught[kind] += 1
    elapsed = time.perf_counter() - started
    with database.read() as session:
        assert verify_chain(session, anchor).ok  # every tampering was rolled back
    name = f"audit tampering ({database.backend})"
    harness_report(name, trials, len(failures), elapsed)
    print(
        f"\n{name}: seed {seed}, anchor from the {where}, caught by kind {caught}, "
        f"refused by the schema {refused}"
    )
    print_failures(failures)
    assert failures == []


def test_direct_changes_to_audit_rows_are_refused(
    database: Database,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    _a_clinic(database, 30)
    attempts: list[tuple[str, str]] = []
    for field in FIELDS:
        value = (
            "0" * 64
            if field.endswith("hash")
            else ("2020-01-01 00:00:00" if field == "recorded_at" else "x")
        )
        if field == "seq":
            value = "999"
        attempts.append(
            (f"UPDATE {field}", f"UPDATE audit_log SET {field} = '{value}' WHERE seq = 3")
        )
    attempts += [
        ("DELETE one", "DELETE FROM audit_log WHERE seq = 3"),
        ("DELETE all", "DELETE FROM audit_log"),
    ]
    if database.backend == "sqlite":
        attempts += [
            (
                "INSERT OR REPLACE",
                "INSERT OR REPLACE INTO audit_log SELECT seq, recorded_at, "
                "'mallory', workstation, action, entity_type, entity_id, payload, reason, "
                "prev_hash, row_hash, written_rows FROM audit_log WHERE seq = 3",
            ),
            ("REPLACE", "REPLACE INTO audit_log SELECT * FROM audit_log WHERE seq = 4"),
            ("UPDATE OR REPLACE", "UPDATE OR REPLACE audit_log SET seq = 5 WHERE seq = 4"),
        ]
    else:
        attempts += [
            ("TRUNCATE", "TRUNCATE audit_log"),
            (
                "INSERT ON CONFLICT",
                "INSERT INTO audit_log SELECT * FROM audit_log "
                "WHERE seq = 3 ON CONFLICT (seq) DO UPDATE SET username = 'mallory'",
            ),
        ]
    failures = []
    started = time.perf_counter()
    for name, statement in attempts:
        with database.engine.connect() as connection:
            try:
                connection.exec_driver_sql(statement)
                connection.commit()
                failures.append(f"{name} was accepted")
            except DBAPIError as exc:
                connection.rollback()
                if "append-only" not in str(exc.orig):
                    failures.append(f"{name} refused for another reason: {exc.orig}")
    for change in ("update", "delete"):  # through the program's own write path
        try:
            with database.write() as session:
                entry = session.get_one(AuditEntry, 2)
                if change == "update":
                    entry.payload = "{}"
                else:
                    session.delete(entry)
            failures.append(f"ORM {change} was accepted")
        except RecordConflict as exc:
            if "never changed or deleted" not in exc.message:
                failures.append(f"ORM {change}: unclear message {exc.message!r}")
    with database.read() as session:
        report = verify_chain(session)
    if not report.ok:
        failures.append(f"the log changed: {report.message}")
    harness_report(
        f"audit rows refuse UPDATE/DELETE ({database.backend})",
        len(attempts) + 2,
        len(failures),
        time.perf_counter() - started,
    )
    print_failures(failures)
    assert failures == []


def test_verifying_a_long_chain(
    database: Database,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    """Times :func:`verify_chain` over 100,000 entries (``--full``; 10,000 in the suite)."""
    if database.backend == "postgresql" and not full_size:
        pytest.skip("the PostgreSQL timing runs with --full")
    count = 100_000 if full_size else 10_000
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    batch: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        fields = {
            "seq": seq,
            "recorded_at": t0 + timedelta(seconds=seq),
            "username": "nina",
            "workstation": "ward-2",
            "action": "refill.record",
            "entity_type": "refill",
            "entity_id": str(seq),
            "payload": canonical_json(
                {"pump_id": seq % 400, "volume_added_ml": 18.5, "verdict": "ok"}
            ),
            "reason": None,
            "prev_hash": prev,
        }
        prev = entry_hash(**fields)  # type: ignore[arg-type]
        batch.append({**fields, "row_hash": prev})
    with database.write() as session:
        for start in range(0, count, 10_000):
            session.execute(insert(AuditEntry), batch[start : start + 10_000])
    started = time.perf_counter()
    with database.read() as session:
        report = verify_chain(session)
    elapsed = time.perf_counter() - started
    name = f"verify {count:,} audit entries ({database.backend})"
    harness_report(name, count, 0 if report.ok else 1, elapsed)
    print(f"\n{name}: {elapsed:.2f} s ({count / elapsed:,.0f} entries/s)")
    assert report.ok and report.entries_checked == count


# ---------------------------------------------------------------------------------------------
# Harness 8b (issue 12): tampering with the records themselves, behind pumpmgr's back.

RECORD_KINDS = ("edit", "insert", "delete", "forecast")
#: Stored-forecast fields a tamperer moves to hide a pump from the due list.
FORECAST_FIELDS = ("refill_due", "alarm_at", "empty_at", "fill_volume_ml", "open_discrepancy")


def _a_clinic_of_records(database: Database) -> None:
    """A clinic whose every covered table has rows the services wrote: users, patients,
    pumps, prescriptions and their parts, refills, events, a catheter, the settings, a drug
    library edit, a patient status change, a booking."""
    _a_clinic(database, 60)
    clinic = service(database, "tamper")
    staff = staff_of(database)
    with database.read() as session:
        patient_id = session.scalar(text("SELECT min(id) FROM patients"))
        pump_id = session.scalar(text("SELECT min(id) FROM pumps"))
    clinic.update_settings(
        staff.admin, replace(clinic.settings(), clinic_name="Tamper Clinic", buffer_days=9)
    )
    clinic.edit_drug_library(
        staff.admin, "baclofen", {"soft_max": Q_("900 mcg/day")}, "tamper harness"
    )
    clinic.set_patient_status(staff.nurse, patient_id, "inactive", "tamper harness")
    flex = Schedule.flex(
        [Step(time_of_day(0), Q_("950 mcg/day")), Step(time_of_day(8), Q_("400 mcg/day"))],
        [ScheduledBolus(time_of_day(12), Q_("20 mcg"))],
    )
    data = replace(prescription(clinic, 400), schedule=flex)
    found = clinic.check_prescription(pump_id, data)
    assert found.findings  # 950 mcg/day is above the edited soft maximum: a reason is kept
    clinic.change_prescription(
        staff.nurse,
        staff.check,
        pump_id,
        replace(data, reasons={str(f.code): "tamper harness" for f in found.findings}),
    )
    clinic.revise_catheter(
        staff.nurse,
        pump_id,
        CatheterInput(
            "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0022 mL/cm")),), "T10"
        ),
        clinic.today(),
        "tamper harness",
    )
    day = clinic.bookings.propose(pump_id)
    assert day is not None
    clinic.bookings.book(staff.nurse, pump_id, day, note="tamper harness")
    # orders, incidents, an individual maximum, a pump catalog edit, a Stop order carried
    # out (domain-rules §4a, §6, §7)
    brandt = clinic.sign_in("brandt", PASSWORD)
    (order, *_) = clinic.orders.awaiting_signature()
    clinic.orders.sign_order(brandt, order.prescription_id, PASSWORD)
    clinic.change_prescription(
        staff.nurse,
        staff.check,
        pump_id,
        replace(prescription(clinic, 2500), already_programmed=True),
    )
    (incident,) = clinic.orders.incidents(patient_id)
    clinic.orders.review_incident(brandt, incident.id, "tamper harness")
    clinic.add_user(staff.admin, "roth", PASSWORD, "Dr Roth", "prescriber")
    clinic.maxima.raise_maximum(
        brandt,
        Verification("roth", PASSWORD),
        patient_id,
        "baclofen",
        Q_("3000 mcg/day"),
        "tamper harness",
    )
    clinic.configuration.edit_pump_model(
        staff.admin, "synchromed2-20", {"min_flow": Q_("0.04 mL/day")}, "tamper harness"
    )
    stop = clinic.stop_orders.give(
        brandt, PASSWORD, pump_id, "baclofen", clinic.clock.now(), "tamper harness", long_stop=True
    )
    clinic.stop_orders.record_carried_out(staff.nurse, stop.id, "emptied_saline")


def _unlock_records(connection: Connection) -> None:
    """The records' append-only triggers off, as a tamperer would: dropped on SQLite, and
    PostgreSQL's ``ALTER TABLE ... DISABLE TRIGGER`` (the table owner may)."""
    if connection.dialect.name == "sqlite":
        names = (
            connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name <> 'audit_log'"
                )
            )
            .scalars()
            .all()
        )
        for name in names:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        return
    for table in covered_tables():
        connection.exec_driver_sql(f"ALTER TABLE {table.name} DISABLE TRIGGER USER")


def _ids(connection: Connection, table: Table) -> list[int]:
    return list(connection.execute(select(table.c.id).order_by(table.c.id)).scalars())


def _changed_value(
    connection: Connection, column: Column[Any], old: Any, rng: random.Random
) -> Any:
    """Another value of ``column``'s type (the smallest change some of the time)."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table
        others = [i for i in _ids(connection, target) if i != old]
        return rng.choice(others) if others else None
    kind = column.type
    if isinstance(kind, Enum):
        return rng.choice([v for v in kind.enums if v != getattr(old, "value", old)])
    python = kind.python_type if not isinstance(kind, JSON) else dict
    if old is None:
        return {
            bool: True,
            int: 1,
            float: 1.0,
            str: "x",
            date: date(2026, 1, 2),
            time_of_day: time_of_day(1, 2),
            dict: {"soft_max": 1.0},
        }.get(python, datetime(2026, 1, 2, tzinfo=UTC))
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return old + rng.choice((1, -1, 7))
    if isinstance(old, float):
        return math.nextafter(old, math.inf) if rng.random() < 0.3 else old * 1.5 + 0.25
    if isinstance(old, str):
        if not old:
            return "x"
        i = rng.randrange(len(old))
        return old[:i] + _other_char(rng, old[i]) + old[i + 1 :]
    if isinstance(old, datetime):
        return old + timedelta(microseconds=rng.choice((1, 1_000_000, 86_400_000_000)))
    if isinstance(old, date):
        return old + timedelta(days=rng.choice((1, -1, 30)))
    if isinstance(old, time_of_day):
        return (datetime.combine(date(2026, 1, 1), old) + timedelta(minutes=7)).time()
    if isinstance(old, list):  # a JSON list (the clinic's closed dates)
        return [*old, "2026-01-02"]
    return {**old, "soft_max": 123456.0}


def _tamper_record(
    kind: str,
    connection: Connection,
    rng: random.Random,
) -> tuple[str, set[tuple[str, int, str]]]:
    """One tampering; what was done and the findings expected: (table, id, kind) with kind
    "changed:COLUMN", "inserted" or "deleted"; for a forecast ("forecast", pump, field)."""
    if kind == "forecast":
        rows = (
            connection.execute(
                text(
                    "SELECT pump_id FROM pump_forecasts WHERE refill_due "
                    "IS NOT NULL ORDER BY pump_id"
                )
            )
            .scalars()
            .all()
        )
        pump_id = rng.choice(rows)
        field = rng.choice(FORECAST_FIELDS)
        table = PumpForecast.__table__
        old = connection.execute(select(table.c[field]).where(table.c.pump_id == pump_id)).scalar()
        # a forecast's floats are compared to 1e-9 (the bulk refresh computes on floats)
        new = (
            old * 1.5 + 0.25
            if isinstance(old, float)
            else _changed_value(connection, table.c[field], old, rng)
        )
        connection.execute(update(table).where(table.c.pump_id == pump_id).values({field: new}))
        return f"moved forecast {field} of pump #{pump_id}", {("forecast", pump_id, field)}
    table = rng.choice([t for t in covered_tables() if _ids(connection, t)])
    row_id = rng.choice(_ids(connection, table))
    row = dict(connection.execute(select(table).where(table.c.id == row_id)).one()._mapping)
    if kind == "delete":
        connection.execute(delete(table).where(table.c.id == row_id))
        return f"deleted {table.name} #{row_id}", {(table.name, row_id, "deleted")}
    if kind == "insert":
        new_id = max(_ids(connection, table)) + rng.randint(1, 5)
        forged = {**row, "id": new_id}
        for constraint in table.constraints:  # keep it apart from the row it copies
            if isinstance(constraint, UniqueConstraint):
                last = list(constraint.columns)[-1]
                forged[last.name] = _changed_value(connection, last, row[last.name], rng)
        if table.name == "pumps":
            forged["status"] = "inactive"
        connection.execute(insert(table).values(forged))
        return f"inserted {table.name} #{new_id}", {(table.name, new_id, "inserted")}
    column = rng.choice([c for c in table.columns if c.name != "id"])
    new = _changed_value(connection, column, row[column.name], rng)
    connection.execute(update(table).where(table.c.id == row_id).values({column.name: new}))
    return (
        f"edited {table.name} #{row_id}.{column.name}: {row[column.name]!r} -> {new!r}",
        {(table.name, row_id, f"changed:{column.name}")},
    )


def _found(records: Any, forecasts: list[str]) -> set[tuple[str, int, str]]:
    found: set[tuple[str, int, str]] = set()
    for problem in records.problems:
        if problem.kind == "changed":
            found |= {(problem.table, problem.record_id, f"changed:{c}") for c in problem.columns}
        else:
            found.add((problem.table, problem.record_id, problem.kind))
    for line in forecasts:
        pump, _, rest = line.partition(":")
        for field in FORECAST_FIELDS:
            if f" {field} " in rest:
                found.add(("forecast", int(pump.removeprefix("pump #")), field))
    return found


def test_every_record_tampering_is_found_and_named(
    database: Database,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    """Random edits, inserts and deletes over every covered table and moved stored forecasts,
    in raw SQL with the append-only triggers dropped (SQLite) or disabled (PostgreSQL): each
    one is found and named (table, id, column; the pump and field of a forecast), and nothing
    else is reported. ``--full`` runs 1,000 trials; PUMPMGR_TAMPER_TRIALS sets another count."""
    trials = int(os.environ.get("PUMPMGR_TAMPER_TRIALS", 1000 if full_size else 80))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    _a_clinic_of_records(database)
    clinic = service(database, "verifier")
    with database.read() as session:
        clean = verify_records(session, verify_chain(session).entries_checked)
        assert clean.ok and clean.covered_from == 1, clean.problems
        assert ForecastService(clinic.context).forecast_problems(session) == []
        tables_written = {
            t.name for t in covered_tables() if session.execute(select(t.c.id).limit(1)).first()
        }
    assert tables_written == {t.name for t in covered_tables()}
    failures: list[str] = []
    caught: dict[str, int] = dict.fromkeys(RECORD_KINDS, 0)
    refused = 0
    started = time.perf_counter()
    for trial in range(trials):
        kind = RECORD_KINDS[trial % len(RECORD_KINDS)]
        with database.engine.connect() as connection:
            connection.begin()
            _unlock_records(connection)
            try:
                with connection.begin_nested():
                    what, expected = _tamper_record(kind, connection, rng)
            except (IntegrityError, DataError):  # the schema refused it: never committed
                refused += 1
                connection.rollback()
                continue
            with Session(bind=connection) as session:
                try:
                    chain = verify_chain(session)
                    records = verify_records(session, chain.entries_checked)
                    forecasts = ForecastService(clinic.context).forecast_problems(session)
                except Exception as exc:  # verification must report, never crash
                    failures.append(f"trial {trial} ({what}): verification raised {exc!r}")
                    connection.rollback()
                    continue
            connection.rollback()
        found = _found(records, forecasts)
        if not chain.ok:
            failures.append(f"trial {trial} ({what}): the audit chain itself broke")
        elif not expected <= found:
            failures.append(f"trial {trial}: not named: {what}; found {sorted(found)}")
        elif {f for f in found if f[0] != "forecast"} - expected:
            failures.append(f"trial {trial} ({what}): also reported {sorted(found - expected)}")
        else:
            caught[kind] += 1
    elapsed = time.perf_counter() - started
    name = f"record tampering ({database.backend})"
    harness_report(name, trials, len(failures), elapsed)
    print(
        f"\n{name}: seed {seed}, found and named by kind {caught}, refused by the schema {refused}"
    )
    print_failures(failures)
    assert failures == []
    assert refused < trials // 2  # most tamperings were committed and had to be found


def test_a_clinic_from_before_the_records_were_covered(tmp_path: Path) -> None:
    """A released clinic (revision 0004) upgraded: its entries verify as before, the report
    says no entry covers the rows yet; the first write after the upgrade (pumpmgr's own
    recompute of the forecasts stored under the old refill-due rules, when the service
    opens the clinic) records every row that was there, so from then on a change to an old
    row is found (by its hash: the baseline holds no column digests) and a change to a row
    written since is named."""
    path = tmp_path / "clinic.db"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "schema_0004.db", path)
    with open_database(path, daily_backup_keep=None) as database:
        upgraded = RecordService(ClinicContext(database, tz=ZoneInfo("Europe/Berlin")))
        before = upgraded.verify_integrity()  # migrated, not yet opened by the service
        assert before.chain.ok and before.chain.entries_checked == 299
        assert before.records.ok and before.records.covered_from is None
        assert "covered from the next change on" in before.coverage()
        # the forecasts stored under the old rules, which opening the clinic computes again
        assert before.forecasts and all(
            "worst_case" in line or "refill_due" in line for line in before.forecasts
        )
        clinic = ClinicService(database, tz=ZoneInfo("Europe/Berlin"), hasher=FAST_HASHER)
        opened = clinic.verify_integrity()
        assert opened.ok and opened.chain.entries_checked == 300
        assert opened.records.covered_from == 300
        assert "records covered from audit entry #300" in opened.coverage()
        with database.read() as session:
            refresh = session.get_one(AuditEntry, 300)
            assert (refresh.username, refresh.action) == (
                "pumpmgr",
                "forecast.recompute_after_upgrade",
            )
            # signed in as sign-in marks an account (the fixture's nurse), without a password
            # check that would upgrade her demo hash and add an entry
            nurse = sessions.signed_in(actor_of(session.get_one(User, 2)))
        clinic.set_patient_status(nurse, 3, "inactive", "moved away")
        after = clinic.verify_integrity()
        assert after.ok and after.records.covered_from == 300
        assert "records covered from audit entry #300" in after.coverage()
        with database.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE patients SET notes = 'x' WHERE id IN (1, 3)")
            connection.exec_driver_sql("DROP TRIGGER trg_refills_no_delete")
            connection.exec_driver_sql(
                "DELETE FROM refills WHERE id = (SELECT max(id) "
                "FROM refills WHERE id NOT IN (SELECT corrects_id FROM "
                "refills WHERE corrects_id IS NOT NULL))"
            )
        found = clinic.verify_integrity()
    messages = found.problems()
    assert any(
        m.startswith(
            "patients #1: changed outside pumpmgr since coverage began at audit entry #300"
        )
        for m in messages
    ), messages
    assert any(m.startswith("patients #3: notes changed outside pumpmgr") for m in messages)
    assert any(" deleted outside pumpmgr" in m and m.startswith("refills #") for m in messages)
