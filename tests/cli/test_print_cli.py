"""``pumpmgr print``: every sheet to a new PDF file; bad input writes no file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cli_runner import demo_copy, run
from pypdf import PdfReader


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = demo_copy(tmp_path_factory, patients=3, seed=2).path
    mrn = run("--db", str(path), "due", "--json").json()[0]["mrn"]
    return path, mrn


def pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("sheet", ["worksheet", "history", "card", "compounding", "handoff"])
def test_patient_sheets(clinic: tuple[Path, str], tmp_path: Path, sheet: str) -> None:
    db, mrn = clinic
    out = tmp_path / f"{sheet}.pdf"
    result = run("--db", str(db), "print", sheet, mrn, "--out", str(out))
    assert result.code == 0, result.err
    assert mrn in pdf_text(out)


def test_completed_worksheet_and_due_list(clinic: tuple[Path, str], tmp_path: Path) -> None:
    db, mrn = clinic
    refill_id = run("--db", str(db), "patient", mrn, "--json").json()["refills"][-1]["id"]
    out = tmp_path / "done.pdf"
    assert (
        run(
            "--db",
            str(db),
            "print",
            "worksheet",
            mrn,
            "--completed",
            str(refill_id),
            "--out",
            str(out),
        ).code
        == 0
    )
    assert "COMPLETED" in pdf_text(out)
    due = tmp_path / "due.pdf"
    assert (
        run(
            "--db",
            str(db),
            "print",
            "due",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--out",
            str(due),
        ).code
        == 0
    )
    assert mrn in pdf_text(due)


def test_day_batch_prints_the_booked_visits_then_the_pumps_not_booked(
    clinic: tuple[Path, str], tmp_path: Path
) -> None:
    db, _ = clinic
    rows = run("--db", str(db), "due", "--json").json()
    booked = next(r for r in rows if r["booked_on"])
    waiting = [
        r["mrn"] for r in rows if r["booked_on"] is None and r["refill_due"] <= booked["booked_on"]
    ]
    assert waiting  # the demo has a pump due and not booked, and one that missed its visit
    out = tmp_path / "day.pdf"
    result = run("--db", str(db), "print", "day", "--date", booked["booked_on"], "--out", str(out))
    assert result.code == 0, result.err
    assert "worksheets 1/1" in result.err
    text = pdf_text(out)
    last = PdfReader(io.BytesIO(out.read_bytes())).pages[-1].extract_text()
    assert "Visit planned for" in text and f"MRN {booked['mrn']}" in text
    assert "Due and not booked" in last and all(mrn in last for mrn in waiting)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["print", "card", "NOPE"], "MRN"),
        (["print", "handoff", "NOPE"], "MRN"),
        (["print", "worksheet", "{mrn}", "--completed", "999999"], "--completed"),
        (["print", "due", "--from", "2026-13-01", "--to", "2026-12-31"], "--from"),
        (["print", "due", "--from", "2026-12-31", "--to", "2026-01-01"], "--to"),
        (["print", "day", "--date", "1990-01-01"], "--date"),
    ],
)
def test_bad_input_writes_no_file(
    clinic: tuple[Path, str], tmp_path: Path, argv: list[str], option: str
) -> None:
    db, mrn = clinic
    out = tmp_path / "never.pdf"
    argv = [a.replace("{mrn}", mrn) for a in argv]
    result = run("--db", str(db), *argv, "--out", str(out))
    assert option in result.one_line_error
    assert not out.exists()


def test_an_existing_file_is_not_overwritten(clinic: tuple[Path, str], tmp_path: Path) -> None:
    db, mrn = clinic
    out = tmp_path / "kept.pdf"
    out.write_bytes(b"mine")
    assert "--out" in run("--db", str(db), "print", "card", mrn, "--out", str(out)).one_line_error
    assert out.read_bytes() == b"mine"


def test_the_reminder_letter_of_a_booked_visit(clinic: tuple[Path, str], tmp_path: Path) -> None:
    db, _ = clinic
    rows = run("--db", str(db), "due", "--json").json()
    booked = next(r for r in rows if r["booked_on"])
    out = tmp_path / "letter.pdf"
    result = run("--db", str(db), "print", "reminder", booked["mrn"], "--out", str(out))
    assert result.code == 0, result.err
    text = " ".join(pdf_text(out).split())
    assert "Your pump refill visit" in text and booked["mrn"] in text
    assert "Phone 555-0100" in text and "Warning signs of withdrawal" in text
    unbooked = next(r for r in rows if not r["booked_on"])
    refused = run(
        "--db", str(db), "print", "reminder", unbooked["mrn"], "--out", str(tmp_path / "never.pdf")
    )
    assert refused.code == 2 and "has no refill visit booked" in refused.one_line_error
    assert not (tmp_path / "never.pdf").exists()
