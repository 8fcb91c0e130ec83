"""What a migration must keep: every table's rows, the due list and the audit chain (harness 11).

:func:`describe` summarises a clinic database (used by ``fixtures/make_schema_fixture.py`` when a
fixture is made, and by ``test_migrations.py`` after each upgrade); :func:`table_digests` reads
the file with the plain ``sqlite3`` module, independently of the ORM, so that a later schema's
mapping cannot hide a change in the stored values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from pumpmgr.clock import FixedClock
from pumpmgr.db.audit import verify_chain
from pumpmgr.db.engine import Database
from pumpmgr.services import ClinicService


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def table_digests(
    path: Path,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Row count and SHA-256 of each table's rows in primary-key order (only ``columns`` of
    each table when given: the columns an older revision had)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name != 'alembic_version' ORDER BY name"
            )
        ]
        result: dict[str, dict[str, Any]] = {}
        for table in tables if columns is None else list(columns):
            names = (
                list(columns[table])
                if columns is not None
                else [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')]
            )
            keys = [
                r[1]
                for r in sorted(
                    connection.execute(f'PRAGMA table_info("{table}")'), key=lambda r: r[5]
                )
                if r[5]
            ] or ["rowid"]
            quoted = ", ".join(f'"{n}"' for n in names)
            order = ", ".join(f'"{k}"' if k != "rowid" else k for k in keys)
            rows = connection.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {order}')
            digest = hashlib.sha256()
            count = 0
            for row in rows:
                digest.update(json.dumps([_plain(v) for v in row]).encode())
                count += 1
            result[table] = {"columns": names, "rows": count, "sha256": digest.hexdigest()}
        return result
    finally:
        connection.close()


def due_list(database: Database, today: date, tz: tzinfo) -> list[dict[str, Any]]:
    """The due list as the program shows it at the start of ``today``."""
    clinic = ClinicService(
        database,
        clock=FixedClock(datetime.combine(today, time(8), tz)),
        tz=tz,
        workstation="migration-check",
    )
    # Thousands separators are display only (domain-rules §1, added after the 0001 and 0004
    # fixtures were made): they are taken out, so the rows compare as the data they show.
    # The booking columns (issue 16) came after the fixtures too: an upgraded clinic has no
    # bookings, and its rows are compared on what the fixtures recorded.
    return [
        json.loads(
            re.sub(
                r"(?<=\d),(?=\d{3})",
                "",
                json.dumps(
                    {k: v for k, v in dataclasses.asdict(row).items() if k not in _BOOKING_FIELDS},
                    default=str,
                ),
            )
        )
        for row in clinic.due_list(today=today)
    ]


_BOOKING_FIELDS = frozenset({"booked_on", "booking", "phone", "emergency_contact"})


def describe(database: Database, path: Path, today: date, tz: tzinfo) -> dict[str, Any]:
    with database.read() as session:
        report = verify_chain(session)
    assert report.ok and report.head is not None, report.message
    return {
        "tables": table_digests(path),
        "due_list": due_list(database, today, tz),
        "chain_head": {"seq": report.head.seq, "row_hash": report.head.row_hash},
    }
