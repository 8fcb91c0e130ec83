"""``pumpmgr demo | due | patient | user add | audit verify | backup | restore | export | import``:
exit status and output shape; bad input is exit 2 with one line and nothing written."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import demo_copy, run
from database_targets import DbTarget

from pumpmgr.cli import main

DUE_KEYS = {
    "mrn",
    "patient",
    "pump_model",
    "drug",
    "alarm_at",
    "refill_due",
    "refill_due_reason",
    "days_left",
    "replace_by",
    "state",
}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-patient demo clinic written through the command line (read-only for the tests):
    one due this week, one constant-flow pump overdue, one admixture."""
    demo = demo_copy(tmp_path_factory, patients=3, seed=2)
    assert "demo-admin-pass" in demo.out and "audit chain intact" in demo.out
    return demo.path


@pytest.fixture
def clinic_file(demo_file: Path, tmp_path: Path) -> Path:
    """A copy of the demo clinic this test may change."""
    path = tmp_path / "clinic.db"
    shutil.copy2(demo_file, path)
    return path


def audit_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def new_entries(path: Path, after: int) -> list[tuple[str, str]]:
    """(username, action) of the audit entries after the first ``after``, oldest first."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return [
            (user, action)
            for user, action in connection.execute(
                "SELECT username, action FROM audit_log WHERE seq > ? ORDER BY seq", (after,)
            )
        ]


# ---------------------------------------------------------------------------- demo


def test_demo_refuses_a_database_holding_records(clinic_file: Path) -> None:
    before = audit_count(clinic_file)
    error = run("--db", str(clinic_file), "demo", "--patients", "2").one_line_error
    assert "--db" in error and "already holds records" in error
    assert audit_count(clinic_file) == before


@pytest.mark.parametrize(
    "argv, option",
    [
        (["demo", "--patients", "0"], "--patients"),
        (["demo", "--patients", "lots"], "--patients"),
        (["demo", "--seed", "-1"], "--seed"),
        (["due", "--within", "soon"], "--within"),
        (["due", "--within", "-3"], "--within"),
        (["patient"], "MRN"),
        (
            ["user", "add", "--username", "x y", "--full-name", "X", "--password-stdin"],
            "--username",
        ),
        (["user", "add", "--username", "nina", "--full-name", "N", "--role", "wizard"], "--role"),
        (["audit", "verify", "--anchor", "12:abc"], "--anchor"),
        (["export", "--user", "admin", "--out", "/no/such/folder/x.json"], "--out"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(
    tmp_path: Path, argv: list[str], option: str
) -> None:
    path = tmp_path / "never.db"
    error = run("--db", str(path), *argv).one_line_error
    assert option in error
    assert not path.exists()  # nothing written, not even an empty database


def test_read_commands_refuse_a_missing_database(tmp_path: Path) -> None:
    for argv in (
        ["due"],
        ["patient", "D000001"],
        ["audit", "verify"],
        ["export", "--user", "admin"],
        ["backup", str(tmp_path / "b.db")],
    ):
        error = run("--db", str(tmp_path / "none.db"), *argv).one_line_error
        assert "--db: there is no database" in error
    assert list(tmp_path.iterdir()) == []
    error = run("--db", str(tmp_path / "no" / "folder.db"), "demo").one_line_error
    assert error.startswith("pumpmgr demo: --db: the folder")


def test_the_command_line_names_the_option_the_database_gate_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database on a network share: the gate's words name no option (the window shows them
    too); the command line leads them with ``--db`` (issue 14)."""
    from pumpmgr.db import gates

    share = str(tmp_path).replace(" ", "\\040")
    monkeypatch.setattr(
        gates, "read_proc_mounts", lambda: f"server:/export {share} nfs4 rw,relatime 0 0\n"
    )
    error = run("--db", str(tmp_path / "clinic.db"), "demo").one_line_error
    assert error.startswith("pumpmgr demo: --db: the database ")
    assert error.count("--") == 1 and "PostgreSQL database" in error


# ---------------------------------------------------------------------------- due


def test_due_json_lists_active_pumps_earliest_first(demo_file: Path) -> None:
    """Earliest refill-due date first, after the missed visits of pumps still due (issue 16:
    the call list heads the due list)."""
    result = run("--db", str(demo_file), "due", "--json")
    assert result.code == 0, result.err
    rows = result.json()
    assert len(rows) == 3 and all(set(row) >= DUE_KEYS for row in rows)
    missed = [r for r in rows if r["booking"] == "did_not_attend"]
    urgent = [r for r in rows[len(missed) :] if r["state"] == "urgent"]  # (domain-rules §4a, §7)
    rest = rows[len(missed) + len(urgent) :]
    assert rows[: len(missed) + len(urgent)] == missed + urgent
    assert [r["refill_due"] for r in rest] == sorted(r["refill_due"] for r in rest)
    states = {r["state"] for r in rows}
    assert {"overdue", "due_this_week"} <= states
    first = rows[0]
    assert first["alarm_at"].endswith("+00:00") and isinstance(first["days_left"], float | int)
    assert any(" + " in r["drug"] for r in rows)  # the admixture
    assert any(r["pump_type"] == "constant_flow" for r in rows)
    soon = run("--db", str(demo_file), "due", "--within", "7", "--json").json()
    assert [r["mrn"] for r in soon] == [
        r["mrn"] for r in rows if r["state"] in ("overdue", "due_this_week")
    ]


def test_due_text_is_an_aligned_table(demo_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUMPMGR_DB", str(demo_file))  # the environment variable selects it
    result = run("due")
    assert result.code == 0, result.err
    listed, last_check = result.out.split("\n\n")
    assert (
        last_check == "No full integrity check has run yet: the window runs one a day, or "
        "run 'pumpmgr audit verify'.\n"
    )
    lines = listed.splitlines()
    assert lines[0].startswith("Refill due") and len(lines) == 4
    column = lines[0].index("Patient")
    assert all(line[column - 2 : column] == "  " for line in lines[1:])
    # the constant-flow pump past its due date: "may be empty" once its worst case is 0 mL
    state = slice(lines[0].index("State"), lines[0].index("To alarm"))
    assert {"overdue", "may be empty"} & {line[state].strip() for line in lines[1:]}
    assert "mcg/mL" in result.out and "mg/mL" in result.out
    assert "µg" not in result.out and "cc" not in result.out.split()


def _forge_a_refill(path: Path) -> int:
    """A copy of the newest refill inserted into the file outside pumpmgr; its id."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.isolation_level = None
        refill = connection.execute("SELECT max(id) FROM refills").fetchone()[0]
        others = ", ".join(
            row[1] for row in connection.execute("PRAGMA table_info(refills)") if row[1] != "id"
        )
        connection.execute(
            f"INSERT INTO refills (id, {others}) SELECT id + 1000, {others} "
            f"FROM refills WHERE id = {refill}"
        )
    return int(refill) + 1000


def test_due_says_an_integrity_break_first_and_still_lists_the_pumps(clinic_file: Path) -> None:
    """The check since the last checkpoint runs with the due list: a refill forged into the
    file since is named on the first line, audited once, and the due list follows."""
    clean = run("--db", str(clinic_file), "due")  # the first check: the checkpoint
    assert clean.code == 0 and "Integrity break" not in clean.out + clean.err
    refill = _forge_a_refill(clinic_file)
    before = audit_count(clinic_file)
    result = run("--db", str(clinic_file), "due")
    assert result.code == 0, result.err
    first, *table = result.out.split("\n\n")[0].splitlines()
    assert first.startswith(
        f"pumpmgr: Integrity break: refills #{refill}: inserted "
        "outside pumpmgr. Clinical work can go on"
    )
    assert table[0].startswith("Refill due") and len(table) == 4
    assert new_entries(clinic_file, before) == [("pumpmgr", "integrity.break")]
    as_json = run("--db", str(clinic_file), "due", "--json")
    assert len(as_json.json()) == 3 and "Integrity break" in as_json.err
    assert audit_count(clinic_file) == before + 1  # audited once


def test_due_says_when_the_last_full_integrity_check_ran(clinic_file: Path) -> None:
    """The window runs it once a day per workstation, ``audit verify`` whenever asked: each
    is recorded, and the due list says when the last one ran and what it found."""
    assert run("--db", str(clinic_file), "audit", "verify").code == 0
    last = run("--db", str(clinic_file), "due").out.split("\n\n")[-1]
    assert last.startswith("Last full integrity check: ") and socket.gethostname() in last
    assert last.endswith(": every record matched the audit log.\n")
    assert last.strip() in run("--db", str(clinic_file), "due", "--json").err


# ---------------------------------------------------------------------------- patient


def test_patient_shows_state_and_history(clinic_file: Path) -> None:
    demo_file = clinic_file  # a view is an audit entry (issue 13): not on the shared file
    result = run("--db", str(demo_file), "patient", "D000001")
    assert result.code == 0, result.err
    for words in (
        "MRN D000001",
        "Pump: SynchroMed II 20 mL",
        "Prescription (since",
        "Forecast:",
        "Refills (",
        "Events (",
        "mri",
    ):
        assert words in result.out
    data = run("--db", str(demo_file), "patient", "D000001", "--json").json()
    assert data["patient"]["mrn"] == "D000001"
    assert data["pump"]["capacity"] == {"value": 20, "unit": "mL"}
    assert data["prescription"]["daily_dose"]["unit"] == "mcg/day"
    assert len(data["refills"]) > 20 and {e["kind"] for e in data["events"]} >= {"implant", "mri"}
    error = run("--db", str(demo_file), "patient", "NOPE").one_line_error
    assert "MRN" in error and "NOPE" in error


# ---------------------------------------------------------------------------- users


def test_the_first_user_is_the_administrator_then_admins_add_users(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(tmp_path / "new.db")
    wrong = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "ada",
        "--full-name",
        "Ada Admin",
        "--role",
        "nurse",
        "--password-stdin",
        stdin="ada-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert "--role" in wrong.one_line_error and not (tmp_path / "new.db").exists()
    first = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "ada",
        "--full-name",
        "Ada Admin",
        "--password-stdin",
        stdin="ada-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert first.code == 0 and "first administrator" in first.out
    path = tmp_path / "new.db"
    entries = audit_count(path)
    no_admin = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "nina",
        "--full-name",
        "Nina",
        "--role",
        "nurse",
        "--password-stdin",
        stdin="nina-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert "--user" in no_admin.one_line_error
    bad_admin = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "nina",
        "--full-name",
        "Nina",
        "--role",
        "nurse",
        "--user",
        "ada",
        "--password-stdin",
        stdin="nina-secret-1\nnot-her-password\n",
        monkeypatch=monkeypatch,
    )
    assert "--user: unknown user name or wrong password" in bad_admin.one_line_error
    weak = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "nina",
        "--full-name",
        "Nina",
        "--role",
        "nurse",
        "--user",
        "ada",
        "--password-stdin",
        stdin="short\nada-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert "password: the password must have at least 8" in weak.one_line_error
    # nothing written but the failed sign-in, on the record (issue 13)
    assert new_entries(path, entries) == [("ada", "user.sign_in_failed")]
    added = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "nina",
        "--full-name",
        "Nina Berg",
        "--role",
        "nurse",
        "--user",
        "ada",
        "--password-stdin",
        stdin="nina-secret-1\nada-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert added.code == 0 and "nina (Nina Berg, nurse) added by ada" in added.out
    taken = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "NINA",
        "--full-name",
        "Nina 2",
        "--role",
        "nurse",
        "--user",
        "ada",
        "--password-stdin",
        stdin="nina-secret-2\nada-secret-1\n",
        monkeypatch=monkeypatch,
    )
    assert "--username" in taken.one_line_error and "taken" in taken.err
    assert [a for _, a in new_entries(path, entries + 1)] == [
        "user.sign_in",
        "user.create",
        "user.sign_in",
    ]


def test_guessing_the_admin_password_is_throttled_across_calls(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every call is a new program, so the failed checks are counted in the database: after
    five wrong administrator passwords the sixth call is refused without the password being
    checked, even the right one, and the database keeps a 16-bit key, not the name."""
    db = str(tmp_path / "new.db")
    assert (
        run(
            "--db",
            db,
            "user",
            "add",
            "--username",
            "ada",
            "--full-name",
            "Ada Admin",
            "--password-stdin",
            stdin="ada-secret-1\n",
            monkeypatch=monkeypatch,
        ).code
        == 0
    )
    entries = audit_count(tmp_path / "new.db")

    def add_nina(admin_password: str) -> str:
        return run(
            "--db",
            db,
            "user",
            "add",
            "--username",
            "nina",
            "--full-name",
            "Nina",
            "--role",
            "nurse",
            "--user",
            "ada",
            "--password-stdin",
            stdin=f"nina-secret-1\n{admin_password}\n",
            monkeypatch=monkeypatch,
        ).one_line_error

    for guess in range(5):
        assert "--user: unknown user name or wrong password" in add_nina(f"guess-{guess}")
    refused = add_nina("ada-secret-1")
    assert "--user: too many failed attempts for this user name; wait " in refused
    # nothing written but the five failed sign-ins, on the record (issue 13)
    assert new_entries(tmp_path / "new.db", entries) == [("ada", "user.sign_in_failed")] * 5
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT * FROM sign_in_failures").fetchall()
    assert len(rows) == 1 and rows[0][1] == 5 and len(rows[0][0]) == 4
    assert "ada" not in repr(rows)


def test_passwords_are_asked_on_the_terminal(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["otto-secret-1", "otto-secret-1", "demo-admin-pass"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    result = run(
        "--db",
        str(clinic_file),
        "user",
        "add",
        "--username",
        "otto",
        "--full-name",
        "Otto Second",
        "--role",
        "prescriber",
        "--user",
        "admin",
    )
    assert result.code == 0, result.err
    assert len(prompts) == 3 and "admin" in prompts[2]
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    piped = run(
        "--db",
        str(clinic_file),
        "user",
        "add",
        "--username",
        "eve",
        "--full-name",
        "Eve",
        "--role",
        "nurse",
        "--user",
        "admin",
    )
    assert "--password-stdin" in piped.one_line_error


def test_only_an_administrator_adds_users(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = audit_count(clinic_file)
    result = run(
        "--db",
        str(clinic_file),
        "user",
        "add",
        "--username",
        "eve",
        "--full-name",
        "Eve",
        "--role",
        "administrator",
        "--user",
        "nurse1",
        "--password-stdin",
        stdin="eve-secret-1\ndemo-nurse-pass\n",
        monkeypatch=monkeypatch,
    )
    assert "--user: nurse1 (nurse) may not add user" in result.one_line_error
    # Nothing of the refused addition was written; nurse1's sign-in itself succeeded,
    # upgraded her demo-cheap password hash (in its entry) and is on the record (issue 13).
    assert new_entries(clinic_file, before) == [("nurse1", "user.sign_in")]
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        assert (
            connection.execute("SELECT count(*) FROM users WHERE username = 'eve'").fetchone()[0]
            == 0
        )


# ---------------------------------------------------------------------------- audit


def test_audit_verify_passes_then_reports_the_first_altered_entry(clinic_file: Path) -> None:
    ok = run("--db", str(clinic_file), "audit", "verify")
    assert ok.code == 0 and "audit log intact" in ok.out
    head = ok.out.split("head #")[1].split()
    anchor = f"{head[0]}:{head[1]}"
    assert run("--db", str(clinic_file), "audit", "verify", "--anchor", anchor).code == 0
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("UPDATE audit_log SET username = 'mallory' WHERE seq = 10")
        connection.execute("DROP TRIGGER trg_audit_log_no_update")
        connection.execute("UPDATE audit_log SET username = 'mallory' WHERE seq = 10")
        connection.commit()
    broken = run("--db", str(clinic_file), "audit", "verify")
    assert broken.code == 1
    assert "entry #10" in broken.out and "altered" in broken.out


def test_audit_verify_with_an_anchor_catches_a_cut_log(clinic_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        head = connection.execute(
            "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        written = json.loads(
            connection.execute(
                "SELECT written_rows FROM audit_log WHERE seq = ?", (int(head[0]),)
            ).fetchone()[0]
        )
        connection.execute("DROP TRIGGER trg_audit_log_no_delete")
        connection.execute("DELETE FROM audit_log WHERE seq = ?", (int(head[0]),))
        connection.commit()
    cut = run("--db", str(clinic_file), "audit", "verify", "--anchor", f"{head[0]}:{head[1]}")
    assert cut.code == 1 and "removed from the end" in cut.out
    alone = run("--db", str(clinic_file), "audit", "verify")
    # The chain alone looks whole (the checks since appended to it as to any log), but the
    # rows the cut entry wrote have no entry any more: each is named (inserted, or changed
    # since the entry before, outside pumpmgr).
    assert "audit log intact" in alone.out and alone.code == 1
    assert written["writes"]
    for write in written["writes"]:
        row = f"{write['t']} #{write['id']}: "
        assert any(
            line.strip().startswith(row) and "outside pumpmgr" in line
            for line in alone.out.splitlines()
        ), (row, alone.out)


def test_audit_verify_names_records_changed_behind_the_programs_back(clinic_file: Path) -> None:
    """Issue 12's attacks on the records: a refill's volume halved with its trigger dropped
    and put back, a forged refill, a deleted event, a user made administrator, the settings'
    buffer cut, and an overdue pump's stored due date moved out of sight."""
    assert run("--db", str(clinic_file), "audit", "verify").code == 0
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        connection.isolation_level = None
        triggers = dict(
            connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
                "('trg_refills_no_update', 'trg_refills_no_delete', 'trg_pump_events_no_delete')"
            )
        )
        for name in triggers:
            connection.execute(f"DROP TRIGGER {name}")
        refill = connection.execute("SELECT min(id) FROM refills").fetchone()[0]
        connection.execute(
            f"UPDATE refills SET volume_added_ml = volume_added_ml / 2 WHERE id = {refill}"
        )
        # a copy of the refill under another id, whatever columns the table has grown
        others = ", ".join(
            row[1] for row in connection.execute("PRAGMA table_info(refills)") if row[1] != "id"
        )
        connection.execute(
            f"INSERT INTO refills (id, {others}) SELECT id + 1000, {others} "
            f"FROM refills WHERE id = {refill}"
        )
        event = connection.execute(
            "SELECT max(id) FROM pump_events WHERE id NOT IN "
            "(SELECT corrects_id FROM pump_events WHERE corrects_id "
            "IS NOT NULL)"
        ).fetchone()[0]
        connection.execute(f"DELETE FROM pump_events WHERE id = {event}")
        for sql in triggers.values():
            connection.execute(sql)  # put back: the schema looks untouched
        connection.execute("UPDATE users SET role = 'administrator' WHERE username = 'nurse1'")
        user = connection.execute("SELECT id FROM users WHERE username = 'nurse1'").fetchone()[0]
        connection.execute("UPDATE clinic_settings SET refill_buffer_days = 0")
        overdue = connection.execute(
            "SELECT pump_id FROM pump_forecasts ORDER BY refill_due LIMIT 1"
        ).fetchone()[0]
        connection.execute(
            f"UPDATE pump_forecasts SET refill_due = '2099-01-01' WHERE pump_id = {overdue}"
        )
    result = run("--db", str(clinic_file), "audit", "verify")
    assert result.code == 1
    assert "audit log intact" in result.out  # the log itself was not touched
    for finding in (
        f"refills #{refill}: volume_added_ml changed outside pumpmgr",
        f"refills #{refill + 1000}: inserted outside pumpmgr",
        f"pump_events #{event}: deleted outside pumpmgr",
        f"users #{user}: role changed outside pumpmgr",
        "clinic_settings #1: refill_buffer_days changed outside pumpmgr",
        f"forecast of pump #{overdue}: the stored forecast's refill_due is 2099-01-01, but its "
        "records give",
    ):
        assert finding in result.out, finding
    assert "records covered from audit entry #1" in result.out


# ---------------------------------------------------------------------------- backup, restore


def test_a_backup_after_a_break_audits_it_as_the_window_does(
    clinic_file: Path, tmp_path: Path
) -> None:
    """``pumpmgr backup`` is the window's backup: the records since the checkpoint are
    checked first, the break audited once and named in the manifest."""
    assert run("--db", str(clinic_file), "due").code == 0  # the checkpoint
    refill = _forge_a_refill(clinic_file)
    before = audit_count(clinic_file)
    backup = tmp_path / "after-break.db"
    made = run("--db", str(clinic_file), "backup", str(backup))
    assert made.code == 0, made.err
    assert new_entries(clinic_file, before) == [("pumpmgr", "integrity.break")]
    manifest = json.loads(Path(f"{backup}.json").read_text(encoding="utf-8"))
    assert manifest["chain_ok"] is False
    assert manifest["chain_problem"].startswith(f"refills #{refill}: inserted outside pumpmgr")


@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_backup_of_postgresql_points_to_the_servers_tools(
    db_target: DbTarget, tmp_path: Path
) -> None:
    refused = run("--db", db_target.url, "backup", str(tmp_path / "b.db"))
    assert refused.one_line_error.strip() == (
        "pumpmgr backup: backup: pumpmgr backs up SQLite files only; for PostgreSQL use the "
        "server's tools (pg_dump -Fc, pg_restore)"
    )


def test_backup_and_restore_round_trip(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(clinic_file)
    backup = tmp_path / "saved" / "before.db"
    saved = audit_count(clinic_file)
    made = run("--db", db, "backup", str(backup))
    assert made.code == 0 and backup.exists() and Path(f"{backup}.json").exists()
    assert "PATH" in run("--db", db, "backup", str(backup)).one_line_error  # no overwrite
    due_before = run("--db", db, "due", "--json").json()
    added = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "temp",
        "--full-name",
        "Temp User",
        "--role",
        "nurse",
        "--user",
        "admin",
        "--password-stdin",
        stdin="temp-secret-1\ndemo-admin-pass\n",
        monkeypatch=monkeypatch,
    )
    assert added.code == 0
    # the admin's sign-in upgraded her demo-cheap password hash (in its entry), then the
    # user was added
    assert new_entries(clinic_file, saved) == [("admin", "user.sign_in"), ("admin", "user.create")]
    restored = run("--db", db, "restore", "--user", "admin", str(backup))
    assert restored.code == 0, restored.err
    assert "audit log intact" in restored.out and "kept as" in restored.out
    # the clinic as it was backed up, and who restored it
    assert new_entries(clinic_file, saved) == [("admin", "backup.restore")]
    assert run("--db", db, "due", "--json").json() == due_before
    not_a_backup = tmp_path / "junk.db"
    not_a_backup.write_bytes(b"this is not a database" * 100)
    error = run("--db", db, "restore", "--user", "admin", str(not_a_backup)).one_line_error
    assert "PATH" in error and "not a SQLite database" in error
    assert run("--db", db, "audit", "verify").code == 0  # the refused restore changed nothing


def test_restore_needs_a_signed_in_administrator(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(clinic_file)
    backup = tmp_path / "b.db"
    assert run("--db", db, "backup", str(backup)).code == 0
    before = clinic_file.read_bytes()
    no_user = run("--db", db, "restore", str(backup)).one_line_error
    assert no_user.startswith("pumpmgr restore: --user: restore a backup replaces the clinic's")
    monkeypatch.setenv("PUMPMGR_PASSWORD", "demo-nurse-pass")
    nurse = run("--db", db, "restore", "--user", "nurse1", str(backup)).one_line_error
    assert "--user: nurse1 is a nurse; only an administrator may restore a backup" in nurse
    monkeypatch.setenv("PUMPMGR_PASSWORD", "not the password")
    wrong = run("--db", db, "restore", "--user", "admin", str(backup)).one_line_error
    assert "--user: " in wrong
    assert clinic_file.read_bytes() == before  # nothing changed, not even a hash upgrade


def test_restore_without_a_manifest_only_when_asked(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup that has only its .db file (copied by hand, or made by an older pumpmgr) is
    refused unless --without-manifest is given; then it is restored after the checks that need
    no manifest, and the output says what could not be checked."""
    db = str(clinic_file)
    backup = tmp_path / "by-hand.db"
    assert run("--db", db, "backup", str(backup)).code == 0
    Path(f"{backup}.json").unlink()
    due_before = run("--db", db, "due", "--json").json()
    entries = audit_count(clinic_file)
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        head_seq, head_hash = connection.execute(
            "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    added = run(
        "--db",
        db,
        "user",
        "add",
        "--username",
        "temp",
        "--full-name",
        "Temp User",
        "--role",
        "nurse",
        "--user",
        "admin",
        "--password-stdin",
        stdin="temp-secret-1\ndemo-admin-pass\n",
        monkeypatch=monkeypatch,
    )
    assert added.code == 0  # a change after the backup, which the restore takes away
    error = run("--db", db, "restore", "--user", "admin", str(backup)).one_line_error
    assert "PATH" in error and "no manifest" in error and "--without-manifest" in error
    restored = run("--db", db, "restore", "--user", "admin", "--without-manifest", str(backup))
    assert restored.code == 0, restored.err
    assert "audit log intact" in restored.out and "RESTORED WITHOUT A MANIFEST" in restored.out
    assert "NOT checked" in restored.out and "unchanged since the backup" in restored.out
    # the newest entry now: the restore itself, right after the backup's head
    assert f"its newest entry is #{head_seq + 1} " in restored.out and "--anchor" in restored.out
    assert new_entries(clinic_file, entries) == [("admin", "backup.restore")]
    assert run("--db", db, "due", "--json").json() == due_before
    assert run("--db", db, "audit", "verify", "--anchor", f"{head_seq}:{head_hash}").code == 0


def _refused_even_without_manifest(db: str, bad: Path, *words: str) -> None:
    before = Path(db).read_bytes()
    error = run(
        "--db", db, "restore", "--user", "admin", "--without-manifest", str(bad)
    ).one_line_error
    assert "PATH" in error and all(w in error for w in words), error
    assert Path(db).read_bytes() == before


def test_without_manifest_still_refuses_everything_else(
    clinic_file: Path,
    tmp_path: Path,
) -> None:
    db = str(clinic_file)
    good = tmp_path / "good.db"
    assert run("--db", db, "backup", str(good)).code == 0
    data = good.read_bytes()
    # an audit entry changed by hand: the chain on its own catches it
    edited = tmp_path / "edited.db"
    with contextlib.closing(sqlite3.connect(good)) as connection:
        payload = connection.execute("SELECT payload FROM audit_log WHERE seq = 2").fetchone()[0]
    assert data.count(payload.encode()) == 1
    edited.write_bytes(data.replace(payload.encode(), payload.encode().swapcase()))
    _refused_even_without_manifest(db, edited, "broken audit log")
    # cut short: SQLite's checks catch it
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[: len(data) // 2])
    _refused_even_without_manifest(db, cut, "damaged")
    # not a pumpmgr database
    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.commit()
    _refused_even_without_manifest(db, other, "not a pumpmgr database")
    # a newer pumpmgr's schema
    newer = tmp_path / "newer.db"
    newer.write_bytes(data)
    with contextlib.closing(sqlite3.connect(newer)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_future'")
        connection.commit()
    _refused_even_without_manifest(db, newer, "newer pumpmgr")
    # a manifest that is there is still checked: the option does not skip it
    changed = tmp_path / "changed.db"
    changed.write_bytes(edited.read_bytes())
    Path(f"{changed}.json").write_text(
        Path(f"{good}.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    _refused_even_without_manifest(db, changed, "SHA-256")


def test_restore_refuses_postgresql() -> None:
    error = run("--db", "postgresql+psycopg://u@127.0.0.1:1/x", "restore", "x.db")
    assert "--db" in error.one_line_error and "pg_restore" in error.err


# ---------------------------------------------------------------------------- export, import


def test_export_import_export_through_the_command_line(
    demo_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo_copy = tmp_path / "demo.db"
    shutil.copy2(demo_file, demo_copy)
    printed = run("--db", str(demo_copy), "export", "--user", "admin")
    assert printed.code == 0 and printed.err == ""
    printed_document = printed.json()
    assert printed_document["format"] == "pumpmgr-clinic-export/1"
    out = tmp_path / "clinic.json"
    written = run("--db", str(demo_copy), "export", "--user", "admin", "--out", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))
    # the same records, and the first export and the second sign-in on the record (issue 13)
    assert written.code == 0
    log, printed_log = (
        document["tables"].pop("audit_log"),
        printed_document["tables"].pop("audit_log"),
    )
    head = document.pop("audit_chain_head")
    assert head["seq"] == printed_document.pop("audit_chain_head")["seq"] + 2
    assert document == printed_document and log[:-2] == printed_log
    exported, signed_in = log[-2:]
    assert (exported["action"], exported["username"], json.loads(exported["payload"])) == (
        "export.clinic",
        "admin",
        {
            "file": "standard output",
            "patients": len(document["tables"]["patients"]),
            "signed_in": True,
        },
    )
    assert (signed_in["action"], signed_in["username"]) == ("user.sign_in", "admin")
    document["tables"]["audit_log"], document["audit_chain_head"] = log, head
    assert (
        "--out"
        in run(
            "--db", str(demo_copy), "export", "--user", "admin", "--out", str(out)
        ).one_line_error
    )
    target = str(tmp_path / "imported.db")
    assert "--user" in run("--db", target, "import", str(out)).one_line_error
    imported = run("--db", target, "import", str(out), "--user", "admin")
    assert imported.code == 0 and "audit log verified" in imported.out
    assert "under admin" in imported.out
    again_exported = run("--db", target, "export", "--user", "admin").json()
    *log, last, signed_in = again_exported["tables"]["audit_log"]
    assert (last["action"], last["username"]) == ("clinic.import", "admin")
    assert (signed_in["action"], signed_in["username"]) == ("user.sign_in", "admin")
    assert log == document["tables"]["audit_log"]
    for name in document["tables"]:  # the records as they were (the admin's hash upgraded)
        if name not in ("audit_log", "users"):
            assert again_exported["tables"][name] == document["tables"][name], name
    again = run(
        "--db",
        target,
        "import",
        "-",
        "--user",
        "admin",
        stdin=out.read_text(encoding="utf-8"),
        monkeypatch=monkeypatch,
    )
    assert "--db" in again.one_line_error and "already holds records" in again.err


def test_a_refused_import_names_the_record_and_leaves_no_file_behind(
    demo_file: Path, tmp_path: Path
) -> None:
    document = run("--db", str(demo_file), "export", "--user", "admin").json()
    refill = document["tables"]["refills"][0]
    refill["volume_added_ml"] /= 2  # halved, the audit log left as it was
    source = tmp_path / "halved.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    target = tmp_path / "new" / "imported.db"
    target.parent.mkdir()
    error = run("--db", str(target), "import", str(source), "--user", "admin").one_line_error
    assert f"refills #{refill['id']}: volume_added_ml changed outside pumpmgr" in error
    assert error.startswith("pumpmgr import: FILE: ")
    assert list(target.parent.iterdir()) == []  # no database, journal, lock or backup


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "FILE: "),
        ('{"format": "something-else"}', "format"),
        ("[]", "not a JSON object"),
    ],
)
def test_import_refuses_what_is_not_an_export(tmp_path: Path, content: str, words: str) -> None:
    source = tmp_path / "in.json"
    source.write_text(content, encoding="utf-8")
    target = tmp_path / "target.db"
    error = run("--db", str(target), "import", str(source)).one_line_error
    assert words in error and "FILE" in error
    assert not target.exists()
    assert (
        "FILE" in run("--db", str(target), "import", str(tmp_path / "missing.json")).one_line_error
    )


def test_calc_still_works_without_a_database(tmp_path: Path) -> None:
    result = run("--db", str(tmp_path / "unused.db"), "calc", "convert", "1 mg", "--to", "mcg")
    assert result.code == 0 and "1000" in result.out
    assert not (tmp_path / "unused.db").exists()


def test_a_closed_pipe_is_not_an_error(demo_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Closed())
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--db", str(demo_file), "due"]) == 0
    assert err.getvalue() == ""


@pytest.fixture(autouse=True)
def _admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """--user's password for restore and import (the demo administrator's)."""
    monkeypatch.setenv("PUMPMGR_PASSWORD", "demo-admin-pass")


@pytest.fixture(autouse=True)
def _no_tty_prompts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that forgot --password-stdin must fail, not hang on a prompt."""

    def refuse(prompt: str = "") -> str:
        raise AssertionError(f"unexpected password prompt: {prompt}")

    monkeypatch.setattr("getpass.getpass", refuse)
    yield


def test_the_signed_in_user_is_always_given_with_user() -> None:
    """One option for the user who signs in, in every command: ``--user`` (issue 12)."""
    from pumpmgr.cli import _command_options, build_parser

    parser = build_parser()
    for words in (
        ["user", "add"],
        ["user", "reset-password"],
        ["user", "password"],
        ["restore"],
        ["import"],
        ["audit", "log"],
        ["book"],
    ):
        options = _command_options(parser, words)
        assert "--user" in options and "--admin" not in options, words
