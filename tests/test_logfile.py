"""The log file: in the user's log folder (a temporary one in the tests), rotating, with record
ids and error stacks but no patient data and no error message."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from platformdirs import user_log_dir

from pumpmgr import logfile
from pumpmgr.cli import main as command_line
from pumpmgr.db.engine import open_database

sys.path.insert(0, str(Path(__file__).parent / "services"))
from clinic_world import FAST_HASHER, START

from pumpmgr.clock import FixedClock
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput


def _handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "pumpmgr_log", False)]


@pytest.fixture
def own_log(tmp_path: Path) -> Iterator[Path]:
    """The log started in this test's folder; the run's own folder again afterwards."""
    path = logfile.start_log(tmp_path / "log")
    yield path
    logfile.start_log()


def test_the_tests_never_log_into_the_real_home(log_folder: Path) -> None:
    assert logfile.log_folder() == log_folder
    assert logfile.log_folder({}) == Path(user_log_dir("pumpmgr", appauthor=False))
    assert logfile.log_folder({logfile.ENV_VAR: "/srv/pumpmgr-logs"}) == Path("/srv/pumpmgr-logs")


def test_one_rotating_handler_that_moves_with_the_folder(own_log: Path, tmp_path: Path) -> None:
    assert own_log == (tmp_path / "log" / "pumpmgr.log").absolute()
    assert logfile.start_log(tmp_path / "log") == own_log  # again: nothing changes
    (handler,) = _handlers()
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (1_000_000, 5)
    logging.getLogger("pumpmgr.test").info("written here")
    moved = logfile.start_log(tmp_path / "elsewhere")
    logging.getLogger("pumpmgr.test").info("written there")
    assert len(_handlers()) == 1
    assert "written here" in own_log.read_text(encoding="utf-8")
    assert "written there" in moved.read_text(encoding="utf-8")
    assert "written there" not in own_log.read_text(encoding="utf-8")


def test_records_by_id_and_errors_by_stack_never_patient_data(
    own_log: Path, tmp_path: Path
) -> None:
    """A patient registered and an unexpected error whose message quotes the patient: the log
    names the record's id and the error's type and code lines, never the name, MRN or birth
    date."""
    database = open_database(tmp_path / "clinic.db")
    try:
        clinic = ClinicService(database, clock=FixedClock(START), hasher=FAST_HASHER)
        admin = clinic.create_first_administrator("admin", "correct horse battery", "Ada Admin")
        patient = clinic.register_patient(
            admin,
            PatientInput(
                "MRN-4711-XQ",
                "Quintavalle",
                "Zerlina",
                datetime(1961, 7, 29).date(),
                "spasticity_spinal",
            ),
        )
    finally:
        database.dispose()
    quoted = "Quintavalle, Zerlina (MRN-4711-XQ, born 1961-07-29)"
    try:
        raise KeyError(quoted)
    except KeyError as exc:
        reference = logfile.log_unexpected(type(exc), exc, exc.__traceback__, "opening the patient")
    text = own_log.read_text(encoding="utf-8")
    assert f"patient.register on patient {patient.id}" in text
    assert f"{reference}: unexpected error while opening the patient" in text
    assert "builtins.KeyError (message not logged)" in text
    assert "test_records_by_id_and_errors_by_stack_never_patient_data" in text  # the stack
    for secret in ("Quintavalle", "Zerlina", "MRN-4711-XQ", "4711", "1961-07-29", "1961"):
        assert secret not in text, secret
    assert reference.startswith(f"E-{datetime.now(UTC):%Y%m%d}-")


def test_a_chained_error_logs_each_stack(own_log: Path) -> None:
    patient_name = ("Zerlina", "Quintavalle")
    try:
        try:
            {}[patient_name[0]]
        except KeyError as inner:
            raise RuntimeError(patient_name[1]) from inner
    except RuntimeError as exc:
        logfile.log_unexpected(type(exc), exc, exc.__traceback__, "saving")
    text = own_log.read_text(encoding="utf-8")
    assert (
        text.index("builtins.KeyError")
        < text.index("which led to:")
        < text.index("builtins.RuntimeError")
    )
    assert "Zerlina" not in text and "Quintavalle" not in text


def test_a_fault_of_the_command_line_is_logged_with_its_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(logfile.ENV_VAR, str(tmp_path / "log"))  # where the command logs
    own_log = tmp_path / "log" / "pumpmgr.log"
    from pumpmgr.cli import calc

    first_name = "Zerlina"

    def broken(args: object) -> str:
        raise ZeroDivisionError(first_name)

    monkeypatch.setattr(calc, "run", broken)
    assert command_line(["calc", "convert", "1 mg", "--to", "mcg"]) == 70
    err = capsys.readouterr().err
    reference = err.split("with the reference ")[1].split()[0]
    assert "Traceback" not in err and str(own_log) in err
    text = own_log.read_text(encoding="utf-8")
    assert reference in text and "builtins.ZeroDivisionError (message not logged)" in text
    assert "Zerlina" not in text
    monkeypatch.undo()
    logfile.start_log()  # back to the run's folder
