"""``pumpmgr note RECORD_ID`` and ``pumpmgr export --fhir``: the note as the services write it,
the bundle to a new file and audited; bad input exits 2 with one line and writes nothing."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from cli_runner import run

SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "clinic.db"
    result = run("--db", str(path), "demo", "--patients", "2", "--seed", "2")
    assert result.code == 0, result.err
    return path


@pytest.fixture
def clinic_file(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copy2(demo_file, path)
    return path


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return list(connection.execute(sql).fetchall())


def test_note_prints_the_refill_note(demo_file: Path) -> None:
    ((refill_id, lot),) = query(
        demo_file, "SELECT id, lot_number FROM refills ORDER BY id DESC LIMIT 1"
    )
    result = run("--db", str(demo_file), "note", f"refill:{refill_id}")
    assert result.code == 0, result.err
    assert result.out.startswith("Intrathecal pump refill, ")
    assert f"lot {lot}, " in result.out and result.out.endswith(
        f"Record refill:{refill_id}, pumpmgr\n"
    )


def test_note_of_an_event_and_of_a_prescription(demo_file: Path) -> None:
    ((event_id,),) = query(demo_file, "SELECT min(id) FROM pump_events")
    ((rx_id,),) = query(demo_file, "SELECT min(id) FROM prescriptions")
    assert run("--db", str(demo_file), "note", f"event:{event_id}").out.startswith(
        "Intrathecal pump event: "
    )
    assert run("--db", str(demo_file), "note", f"prescription:{rx_id}").out.startswith(
        "Intrathecal pump prescription change, effective "
    )


@pytest.mark.parametrize(
    "record, words",
    [
        ("refill:999999", "RECORD_ID: there is no refill with id 999999"),
        ("refill", "RECORD_ID: 'refill' is not a record id"),
        ("12", "RECORD_ID: '12' is not a record id"),
    ],
)
def test_an_unknown_record_is_one_line_and_exit_2(demo_file: Path, record: str, words: str) -> None:
    error = run("--db", str(demo_file), "note", record).one_line_error
    assert words in error and error.startswith("pumpmgr note: ")


def test_export_fhir_writes_a_bundle_and_audits_it(clinic_file: Path, tmp_path: Path) -> None:
    ((mrn,),) = query(clinic_file, "SELECT mrn FROM patients ORDER BY id LIMIT 1")
    out = tmp_path / "bundle.json"
    result = run(
        "--db",
        str(clinic_file),
        "export",
        "--fhir",
        "--patient",
        str(mrn),
        "--mrn-system",
        SYSTEM,
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["resourceType"] == "Bundle" and document["type"] == "collection"
    assert "FHIR R4 bundle of" in result.out and "audit log" in result.out
    ((action, username, payload),) = query(
        clinic_file, "SELECT action, username, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    assert action == "export.fhir" and "(command line)" in str(username)
    assert str(mrn) in str(payload) and json.loads(str(payload))["signed_in"] is False
    since = tmp_path / "since.json"
    assert (
        run(
            "--db",
            str(clinic_file),
            "export",
            "--fhir",
            "--since",
            "2000-01-01",
            "--mrn-system",
            SYSTEM,
            "--out",
            str(since),
        ).code
        == 0
    )
    assert len(json.loads(since.read_text())["entry"]) > len(document["entry"])


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--patient", "X", "--since", "2026-01-01"], "--fhir: give --patient MRN or --since DATE"),
        ([], "--fhir: give --patient MRN or --since DATE"),
        (["--since", "yesterday"], "--since: 'yesterday' is not a date"),
        (["--patient", "NOPE"], "--patient: no patient with medical record number 'NOPE'"),
        (
            ["--since", "2026-01-01", "--mrn-system", "hospital mrn"],
            "--mrn-system: 'hospital mrn' is not a URI",
        ),
    ],
)
def test_bad_fhir_options_are_one_line_and_write_nothing(
    clinic_file: Path, tmp_path: Path, extra: list[str], words: str
) -> None:
    out = tmp_path / "bundle.json"
    before = query(clinic_file, "SELECT count(*) FROM audit_log")
    argv = ["--db", str(clinic_file), "export", "--fhir", "--out", str(out), *extra]
    if "--mrn-system" not in extra:
        argv += ["--mrn-system", SYSTEM]
    error = run(*argv).one_line_error
    assert words in error, error
    assert not out.exists()
    assert query(clinic_file, "SELECT count(*) FROM audit_log") == before


def test_without_the_clinics_mrn_system_the_export_says_which_option(
    clinic_file: Path, tmp_path: Path
) -> None:
    error = run(
        "--db",
        str(clinic_file),
        "export",
        "--fhir",
        "--since",
        "2000-01-01",
        "--out",
        str(tmp_path / "b.json"),
    ).one_line_error
    assert "--mrn-system: the clinic's MRN system is not set" in error


def test_fhir_options_without_fhir_are_refused(clinic_file: Path, tmp_path: Path) -> None:
    error = run(
        "--db",
        str(clinic_file),
        "export",
        "--since",
        "2026-01-01",
        "--out",
        str(tmp_path / "x.json"),
    ).one_line_error
    assert "--fhir:" in error


def test_export_fhir_by_a_signed_in_user(
    clinic_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --user the export is on the record under the signed-in user (issue 12); a wrong
    password writes no file."""
    ((mrn,),) = query(clinic_file, "SELECT mrn FROM patients ORDER BY id LIMIT 1")
    argv = [
        "--db",
        str(clinic_file),
        "export",
        "--fhir",
        "--patient",
        str(mrn),
        "--mrn-system",
        SYSTEM,
        "--user",
        "nurse1",
    ]
    monkeypatch.setenv("PUMPMGR_PASSWORD", "not her password")
    refused = run(*argv, "--out", str(tmp_path / "refused.json"))
    assert "--user: unknown user name or wrong password" in refused.one_line_error
    assert not (tmp_path / "refused.json").exists()
    monkeypatch.setenv("PUMPMGR_PASSWORD", "demo-nurse-pass")
    assert run(*argv, "--out", str(tmp_path / "bundle.json")).code == 0
    ((username, payload),) = query(
        clinic_file, "SELECT username, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    assert username == "nurse1" and json.loads(str(payload))["signed_in"] is True
