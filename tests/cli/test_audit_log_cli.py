"""``pumpmgr audit log`` with the filters of the window's audit screen, ``pumpmgr user password``
and ``user reset-password`` (issues 13 and 14); prints and exports on the record."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import demo_copy, run

ADMIN, NURSE = "demo-admin-pass", "demo-nurse-pass"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_copy(tmp_path_factory, patients=3, seed=2).path


@pytest.fixture
def clinic_file(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copy2(demo_file, path)
    return path


@pytest.fixture(autouse=True)
def _no_tty_prompts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(prompt: str = "") -> str:
        raise AssertionError(f"unexpected password prompt: {prompt}")

    monkeypatch.setattr("getpass.getpass", refuse)
    yield


def _newest(path: Path) -> tuple[str, str, str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        row = connection.execute(
            "SELECT username, action, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return row[0], row[1], row[2]


def _mrns(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return [r[0] for r in connection.execute("SELECT mrn FROM patients ORDER BY id")]


def test_the_log_filters_like_the_screen(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(clinic_file)
    mrn = _mrns(clinic_file)[0]
    every = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        "--limit",
        "5",
        stdin=f"{ADMIN}\n",
        monkeypatch=monkeypatch,
    ).json()
    assert len(every["entries"]) == 5 and every["total"] > 5
    one = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        "--patient",
        mrn,
        "--limit",
        "1000",
        stdin=f"{ADMIN}\n",
        monkeypatch=monkeypatch,
    ).json()
    assert one["total"] == len(one["entries"]) > 0
    assert {e["patient"]["mrn"] for e in one["entries"]} == {mrn}
    refills = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        "--action",
        "refill",
        "--by",
        "nurse1",
        stdin=f"{ADMIN}\n",
        monkeypatch=monkeypatch,
    ).json()
    assert refills["entries"] and all(
        e["action"].startswith("refill.") and e["username"] == "nurse1" for e in refills["entries"]
    )
    text = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        "--patient",
        mrn,
        "--limit",
        "2",
        stdin=f"{ADMIN}\n",
        monkeypatch=monkeypatch,
    )
    assert text.code == 0 and f"(MRN {mrn})" in text.out and "--offset 2" in text.out
    assert text.out.splitlines()[0].split() == [
        "Entry",
        "Time",
        "User",
        "Action",
        "Patient",
        "Record",
        "What",
        "changed",
    ]


def test_bad_filters_are_one_line_naming_the_option(
    clinic_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(clinic_file)
    assert (
        "--until"
        in run(
            "--db",
            db,
            "audit",
            "log",
            "--user",
            "admin",
            "--password-stdin",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-01",
            stdin=f"{ADMIN}\n",
            monkeypatch=monkeypatch,
        ).one_line_error
    )
    assert (
        "--since"
        in run(
            "--db", db, "audit", "log", "--user", "admin", "--since", "12/04/2027"
        ).one_line_error
    )
    assert (
        "--patient"
        in run(
            "--db",
            db,
            "audit",
            "log",
            "--user",
            "admin",
            "--password-stdin",
            "--patient",
            "NOPE",
            stdin=f"{ADMIN}\n",
            monkeypatch=monkeypatch,
        ).one_line_error
    )
    wrong = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        stdin="not the password\n",
        monkeypatch=monkeypatch,
    )
    assert "--user" in wrong.one_line_error
    assert _newest(clinic_file)[:2] == ("admin", "user.sign_in_failed")
    assert "not the password" not in _newest(clinic_file)[2]


def test_a_nurse_reads_only_her_own_patients_entries(
    clinic_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(clinic_file)
    hers = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "nurse2",
        "--password-stdin",
        "--json",
        "--limit",
        "10000",
        stdin=f"{NURSE}\n",
        monkeypatch=monkeypatch,
    ).json()
    every = run(
        "--db",
        db,
        "audit",
        "log",
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        "--limit",
        "10000",
        stdin=f"{ADMIN}\n",
        monkeypatch=monkeypatch,
    ).json()
    assert 0 < hers["total"] < every["total"]
    assert not any(e["action"] == "user.create" for e in hers["entries"])


def test_passwords_are_changed_and_reset_without_being_logged(
    clinic_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(clinic_file)
    changed = run(
        "--db",
        db,
        "user",
        "password",
        "--user",
        "nurse1",
        "--password-stdin",
        stdin=f"{NURSE}\nnurse1 new passphrase\n",
        monkeypatch=monkeypatch,
    )
    assert changed.code == 0, changed.err
    assert _newest(clinic_file)[:2] == ("nurse1", "user.password_change")
    short = run(
        "--db",
        db,
        "user",
        "password",
        "--user",
        "nurse1",
        "--password-stdin",
        stdin="nurse1 new passphrase\nshort\n",
        monkeypatch=monkeypatch,
    )
    assert "password" in short.one_line_error and "8" in short.err
    by_nurse = run(
        "--db",
        db,
        "user",
        "reset-password",
        "--user",
        "nurse1",
        "--username",
        "nurse2",
        "--password-stdin",
        stdin="nurse1 new passphrase\ntemporary 123\n",
        monkeypatch=monkeypatch,
    )
    assert by_nurse.code == 2 and "may not reset password" in by_nurse.err
    reset = run(
        "--db",
        db,
        "user",
        "reset-password",
        "--user",
        "admin",
        "--username",
        "nurse2",
        "--password-stdin",
        stdin=f"{ADMIN}\ntemporary 123\n",
        monkeypatch=monkeypatch,
    )
    assert reset.code == 0 and "must change it at the next sign-in" in reset.out
    assert _newest(clinic_file)[:2] == ("admin", "user.password_reset")
    with contextlib.closing(sqlite3.connect(clinic_file)) as connection:
        logged = " ".join(
            str(c) for row in connection.execute("SELECT * FROM audit_log") for c in row
        )
    for secret in ("nurse1 new passphrase", "temporary 123", NURSE, ADMIN):
        assert secret not in logged


def test_views_prints_and_exports_are_on_the_record(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --user a view or print is the computer's account's, not signed in; with it,
    the signed-in user's; the entry says which (issue 12)."""
    db = str(clinic_file)
    mrn = _mrns(clinic_file)[0]
    assert run("--db", db, "patient", mrn).code == 0
    user, action, payload = _newest(clinic_file)
    assert action == "patient.view" and user.endswith("(command line)")
    assert json.loads(payload) == {"signed_in": False}
    assert (
        run(
            "--db",
            db,
            "patient",
            mrn,
            "--user",
            "nurse1",
            "--password-stdin",
            stdin=f"{NURSE}\n",
            monkeypatch=monkeypatch,
        ).code
        == 0
    )
    user, action, payload = _newest(clinic_file)
    assert (user, action, json.loads(payload)) == ("nurse1", "patient.view", {"signed_in": True})
    printed = run("--db", db, "print", "card", mrn, "--out", str(tmp_path / "card.pdf"))
    assert printed.code == 0, printed.err
    user, action, payload = _newest(clinic_file)
    assert action == "sheet.print" and user.endswith("(command line)")
    assert json.loads(payload) == {"sheet": "card", "file": "card.pdf", "signed_in": False}
    monkeypatch.setenv("PUMPMGR_PASSWORD", NURSE)
    assert (
        run(
            "--db",
            db,
            "print",
            "card",
            mrn,
            "--user",
            "nurse1",
            "--out",
            str(tmp_path / "card2.pdf"),
        ).code
        == 0
    )
    user, action, payload = _newest(clinic_file)
    assert (user, action, json.loads(payload)) == (
        "nurse1",
        "sheet.print",
        {"sheet": "card", "file": "card2.pdf", "signed_in": True},
    )
    monkeypatch.setenv("PUMPMGR_PASSWORD", "not her password")
    wrong = run(
        "--db", db, "print", "card", mrn, "--user", "nurse1", "--out", str(tmp_path / "card3.pdf")
    )
    assert "--user: unknown user name or wrong password" in wrong.one_line_error
    assert not (tmp_path / "card3.pdf").exists()
    assert _newest(clinic_file)[:2] == ("nurse1", "user.sign_in_failed")


def test_the_whole_clinic_is_exported_by_a_signed_in_administrator(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It holds every account's password hash: refused without --user and to a nurse, with
    nothing written."""
    db, out = str(clinic_file), tmp_path / "all.json"
    monkeypatch.setenv("PUMPMGR_PASSWORD", NURSE)
    assert (
        "--user: the whole clinic's export holds"
        in run("--db", db, "export", "--out", str(out)).one_line_error
    )
    refused = run("--db", db, "export", "--user", "nurse1", "--out", str(out))
    assert "--user: nurse1 is a nurse; only an administrator may export" in (refused.one_line_error)
    assert not out.exists() and _newest(clinic_file)[:2] == ("nurse1", "user.sign_in")
    monkeypatch.setenv("PUMPMGR_PASSWORD", ADMIN)
    assert run("--db", db, "export", "--user", "admin", "--out", str(out)).code == 0
    user, action, payload = _newest(clinic_file)
    assert (user, action) == ("admin", "export.clinic") and json.loads(payload)["signed_in"]
    assert "password_hash" in out.read_text(encoding="utf-8")
    assert run("--db", db, "audit", "verify").code == 0
