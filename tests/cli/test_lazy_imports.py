"""``pumpmgr --version`` and ``pumpmgr calc`` load neither the database (SQLAlchemy), the sheets
(reportlab), the password hasher (argon2) nor Qt: each command imports what it uses (issue 14).

Each runs in a fresh process through the console script's entry point, with ``-X importtime``,
which lists every module the process imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pumpmgr import __version__

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"sqlalchemy", "reportlab", "argon2", "PySide6"}
CALC = [
    "calc",
    "forecast",
    "--fill-volume",
    "20 mL",
    "--filled-at",
    "2025-03-03",
    "--concentration",
    "2000 mcg/mL",
    "--dose",
    "400 mcg/day",
]


def run(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The console script run with ``args``, and the top-level packages it imported."""
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "from ui.launcher import console; console()",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    packages = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return done, packages


def test_version_loads_no_command() -> None:
    """Not even the calculator's units: the version is printed before the commands load."""
    done, packages = run("--version")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == f"pumpmgr {__version__}\n"
    assert "pumpmgr" in packages  # what was imported was seen
    assert not packages & (HEAVY | {"pint"}), sorted(packages & (HEAVY | {"pint"}))


def test_version_after_an_option_still_answers() -> None:
    done, _ = run("--db", "unused.db", "--version")
    assert done.returncode == 0 and done.stdout == f"pumpmgr {__version__}\n"


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (CALC, "refill due:"),
        (["calc", "--help"], "usage: pumpmgr calc"),
    ],
)
def test_calc_imports_no_database_sheets_hasher_or_qt(args: list[str], shown: str) -> None:
    done, packages = run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shown in done.stdout
    assert "pint" in packages  # the calculator's own units were imported (and seen)
    assert not packages & HEAVY, sorted(packages & HEAVY)


def test_a_records_command_still_loads_the_database(tmp_path: Path) -> None:
    """The check sees a heavy import when there is one: ``due`` opens the database."""
    done, packages = run("due", "--db", str(tmp_path / "none.db"))
    assert done.returncode == 2 and "--db: there is no database" in done.stderr
    assert "sqlalchemy" in packages
