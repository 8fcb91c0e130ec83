"""The audit log's head on every printed sheet (issue 6, harness 8): the footer prints the
database's chain head as ``SEQ:first 16 hex digits``, and ``pumpmgr audit verify --anchor``
takes exactly that text, says it checked a prefix, and catches a log rewritten consistently
after the sheet was printed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from printed_head import printed_head

from pumpmgr.cli import main
from pumpmgr.db.audit import chain_head, entry_hash
from pumpmgr.db.engine import Database, open_database
from pumpmgr.services.clinic import ClinicService
from pumpmgr.services.sheets import SheetService

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def clinic_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit-head") / "clinic.db"
    assert main(["--db", str(path), "demo", "--patients", "3", "--seed", "2"]) == 0
    return path


@pytest.fixture
def sheets(clinic_file: Path) -> Iterator[SheetService]:
    database = open_database(str(clinic_file), daily_backup_keep=None)
    try:
        yield SheetService(ClinicService(database))
    finally:
        database.dispose()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as stop:  # argparse refusing the value
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def database_head(database: Database) -> str:
    with database.read() as session:
        head = chain_head(session)
    assert head is not None
    return f"{head.seq}:{head.row_hash[:16]}"


def every_sheet(sheets: SheetService) -> dict[str, bytes]:
    clinic = sheets.clinic
    mrn = clinic.due_list()[0].mrn
    refill = sheets.chart(mrn).refills[-1].id
    far = date(2100, 1, 1)
    booked = next(r.mrn for r in clinic.due_list() if r.booked_on is not None)
    return {
        "worksheet": sheets.worksheet(mrn),
        "completed worksheet": sheets.worksheet(mrn, completed_refill_id=refill),
        "history": sheets.history(mrn),
        "card": sheets.card(mrn),
        "compounding": sheets.compounding(mrn),
        "due list": sheets.due(date(2000, 1, 1), far),
        "the day's worksheets": sheets.day(far),
        "reminder letter": sheets.reminder(booked),
    }


def test_every_sheet_prints_the_database_head_on_every_page(sheets: SheetService) -> None:
    expected = database_head(sheets.clinic.database)
    for name, pdf in every_sheet(sheets).items():
        assert printed_head(pdf) == expected, name  # every page, the same head


def test_the_head_printed_is_the_one_after_the_records_on_the_sheet(sheets: SheetService) -> None:
    clinic = sheets.clinic
    row = clinic.due_list()[0]
    before = printed_head(sheets.card(row.mrn))
    nurse = clinic.sign_in("nurse1", "demo-nurse-pass")
    clinic.record_event(nurse, row.pump_id, "note", clinic.clock.now(), "printed-head test")
    after = printed_head(sheets.card(row.mrn))
    assert after == database_head(clinic.database)
    assert int(after.split(":")[0]) > int(before.split(":")[0])


def test_an_empty_log_is_said_so(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "empty.db"), daily_backup_keep=None)
    try:
        assert SheetService(ClinicService(database)).audit_head() == "none (the log is empty)"
    finally:
        database.dispose()


def test_audit_verify_takes_the_head_as_printed_and_says_it_checked_a_prefix(
    sheets: SheetService, clinic_file: Path, run: Run
) -> None:
    printed = printed_head(sheets.card(sheets.clinic.due_list()[0].mrn))
    seq, digits = printed.split(":")
    for typed in (printed, f"#{printed}", f"{seq}:{digits.upper()}", f" {printed} "):
        code, out, _ = run("--db", str(clinic_file), "audit", "verify", "--anchor", typed)
        assert code == 0, (typed, out)
        assert "audit log intact" in out
        assert f"entry #{seq} matches the anchor {printed}: a PREFIX was checked" in out
        assert "the first 16 of the hash's 64 hex digits" in out


@pytest.mark.parametrize(
    "typed",
    [
        "812:3f2a9c01",
        "812:",
        "3f2a9c01d4e5b6a7",
        "0:3f2a9c01d4e5b6a7",
        "812:3f2a9c01d4e5b6g7",
        "812:" + "0" * 65,
    ],
)
def test_audit_verify_refuses_what_no_sheet_prints(clinic_file: Path, run: Run, typed: str) -> None:
    code, _, err = run("--db", str(clinic_file), "audit", "verify", "--anchor", typed)
    assert code == 2
    assert "--anchor" in err and "812:3f2a9c01d4e5b6a7" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def _rewrite_from(path: Path, first: int) -> None:
    """Change entry ``first`` and rehash it and every entry after it, consistently: the chain
    verifies on its own, as after a careful tamperer with the file."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("DROP TRIGGER trg_audit_log_no_update")
        columns = (
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
            "written_rows",
        )
        rows = connection.execute(
            f"SELECT {', '.join(columns)} FROM audit_log WHERE seq >= ? ORDER BY seq", (first,)
        ).fetchall()
        prev = None
        for row in rows:
            fields = dict(zip(columns, row, strict=True))
            if prev is None:
                fields["reason"] = "nothing happened here"
            else:
                fields["prev_hash"] = prev
            at = datetime.fromisoformat(fields["recorded_at"])
            fields["recorded_at"] = at if at.tzinfo else at.replace(tzinfo=UTC)
            prev = entry_hash(**fields)
            connection.execute(
                "UPDATE audit_log SET reason = ?, prev_hash = ?, row_hash = ? WHERE seq = ?",
                (fields["reason"], fields["prev_hash"], prev, fields["seq"]),
            )
        connection.commit()
    finally:
        connection.close()


def test_a_consistent_rewrite_after_printing_is_caught_by_the_printed_head(
    tmp_path: Path, run: Run
) -> None:
    path = tmp_path / "clinic.db"
    assert main(["--db", str(path), "demo", "--patients", "2", "--seed", "3"]) == 0
    database = open_database(str(path), daily_backup_keep=None)
    try:
        sheets = SheetService(ClinicService(database))
        printed = printed_head(sheets.worksheet(sheets.clinic.due_list()[0].mrn))
    finally:
        database.dispose()
    _rewrite_from(path, 5)
    code, out, _ = run("--db", str(path), "audit", "verify")
    assert code == 0, out  # the rewritten chain is whole on its own
    code, out, _ = run("--db", str(path), "audit", "verify", "--anchor", printed)
    seq, digits = printed.split(":")
    assert code == 1, out
    assert f"audit log BROKEN at entry #{seq} (rewritten)" in out
    assert f"its hash does not begin {digits}" in out
    assert "a prefix of the hash (the first 16 of 64 hex digits)" in out
