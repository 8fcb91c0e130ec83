"""``pumpmgr correct-refill``: a refill corrected from the command line with a second nurse's
password, as the window corrects it; a value without its unit, a refill corrected already and
the other refusals exit 2 with one line naming the option, and write nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_runner import Result, run

from pumpmgr.db.engine import open_database
from pumpmgr.records import RefillRecord
from pumpmgr.services import ClinicService

#: The demo's nurses (pumpmgr.demo.users): the user's password, then the second nurse's.
NURSES = ("--user", "nurse1", "--second-nurse", "nurse2", "--password-stdin")
PASSWORDS = "demo-nurse-pass\ndemo-nurse-pass\n"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "clinic.db"
    result = run("--db", str(path), "demo", "--patients", "6", "--seed", "5")
    assert result.code == 0, result.err
    return path


@pytest.fixture
def clinic_file(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copy2(demo_file, path)
    return path


def _last_refill(path: Path) -> tuple[str, RefillRecord]:
    """A patient's MRN and the newest version of their last refill."""
    database = open_database(str(path), daily_backup_keep=None)
    try:
        clinic = ClinicService(database)
        row = clinic.due_list()[0]
        chart = clinic.patient_chart(row.patient_id)
        corrected = {r.corrects_id for r in chart.refills}
        refill = max(
            (r for r in chart.refills if r.pump_id == row.pump_id and r.id not in corrected),
            key=lambda r: r.performed_at,
        )
        return row.mrn, refill
    finally:
        database.dispose()


def _correct(path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    return run(
        "--db",
        str(path),
        "correct-refill",
        *args,
        *NURSES,
        stdin=PASSWORDS,
        monkeypatch=monkeypatch,
    )


def test_the_aspirated_volume_is_corrected(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mrn, refill = _last_refill(clinic_file)
    result = _correct(
        clinic_file,
        monkeypatch,
        f"refill:{refill.id}",
        "--aspirated",
        "12.5mL",
        "--lot",
        "L-CLI-1",
        "--reason",
        "aspirate read from the wrong syringe",
    )
    assert result.code == 0, result.err
    first, second, third = result.out.splitlines()
    assert first.startswith("Refill of ") and " corrected: aspirated " in first
    assert "→ 12.5 mL" in first and "lot " in first and "→ L-CLI-1" in first
    assert second.startswith("Saved as refill:") and not second.startswith(
        f"Saved as refill:{refill.id},"
    )  # a new record
    assert second.endswith(f", correcting refill:{refill.id}; checked by Samuel Okoro.")
    assert third.startswith("Forecast worked out again: refill due ")

    shown = run("--db", str(clinic_file), "patient", mrn)
    assert shown.code == 0, shown.err
    line = next(x for x in shown.out.splitlines() if f"corrects refill:{refill.id}" in x)
    assert "12.5 mL" in line and "L-CLI-1" in line
    assert f"refill:{refill.id} " in shown.out  # the refill as recorded stays, with its id

    # corrected already: the newest version is named, nothing is written
    _, newest = _last_refill(clinic_file)
    again = _correct(
        clinic_file, monkeypatch, str(refill.id), "--lot", "L-CLI-2", "--reason", "again"
    )
    assert again.one_line_error == (
        f"pumpmgr correct-refill: REFILL_ID: #{refill.id} was already corrected by "
        f"#{newest.id}; correct the newest version instead\n"
    )
    assert _last_refill(clinic_file)[1] == newest  # nothing written


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("--aspirated", "12.5", "--reason", "typo"),
            "--aspirated: '12.5' has no unit; it wants a volume",
        ),
        (("--added", "400 mcg", "--reason", "typo"), "--added: "),
        (
            ("--added", "90 mL", "--reason", "typo"),
            "--added: 90 mL is more than the reservoir holds",
        ),
        (("--reason", "typo"), "nothing to correct: give the value recorded wrong with"),
        (("--lot", "L1", "--reason", " "), "--reason: say why the refill is corrected"),
        (("--expiry", "30/06/2026", "--reason", "typo"), "--expiry: "),
    ],
)
def test_refusals_name_the_option_and_write_nothing(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], said: str
) -> None:
    _, refill = _last_refill(clinic_file)
    result = _correct(clinic_file, monkeypatch, str(refill.id), *args)
    assert said in result.one_line_error, result.err
    assert result.err.startswith("pumpmgr correct-refill: ")
    assert _last_refill(clinic_file)[1] == refill  # nothing corrected


def test_an_unknown_refill_and_a_wrong_second_password(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, refill = _last_refill(clinic_file)
    unknown = _correct(clinic_file, monkeypatch, "999999", "--lot", "L1", "--reason", "typo")
    assert "REFILL_ID: there is no refill" in unknown.one_line_error
    wrong = run(
        "--db",
        str(clinic_file),
        "correct-refill",
        str(refill.id),
        "--lot",
        "L1",
        "--reason",
        "typo",
        *NURSES,
        stdin="demo-nurse-pass\nnot the password\n",
        monkeypatch=monkeypatch,
    )
    assert wrong.one_line_error.startswith("pumpmgr correct-refill: --second-nurse: ")
    same = run(
        "--db",
        str(clinic_file),
        "correct-refill",
        str(refill.id),
        "--lot",
        "L1",
        "--reason",
        "typo",
        "--user",
        "nurse1",
        "--second-nurse",
        "nurse1",
        "--password-stdin",
        stdin=PASSWORDS,
        monkeypatch=monkeypatch,
    )
    assert "--second-nurse: the second check must be done by another user" in (same.one_line_error)
    bad_id = _correct(clinic_file, monkeypatch, "refill:x", "--lot", "L1", "--reason", "typo")
    assert "is not a refill's id" in bad_id.one_line_error
    assert _last_refill(clinic_file)[1] == refill  # nothing corrected
