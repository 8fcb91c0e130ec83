"""The dependency floors in pyproject.toml are true: the lowest versions they allow install
together and pass a smoke subset of the tests.

uv (a dev dependency) installs the runtime dependencies and the postgres extra with
``--resolution lowest-direct`` (each direct dependency at its floor, what they pull in at the
newest) into a fresh virtual environment, then the test tools without moving any of them, and
runs the subset from this checkout. PostgreSQL tests run there too when
PUMPMGR_TEST_POSTGRES_URL is set (as .ci/run sets it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds for one step

#: What the floors must carry: the core, the database and its migrations, the passwords, the
#: sheets, the command line, the window and the instance lock.
SMOKE = [
    "tests/test_units.py",
    "tests/test_forecast.py",
    "tests/test_version.py",
    "tests/db/test_db_engine.py",
    "tests/db/test_db_auth.py",
    "tests/reliability/test_gates.py",
    "tests/services/test_clinic.py",
    "tests/reports/test_worksheet.py",
    "tests/cli/test_print_cli.py",
    "tests/ui/test_app.py",
]
TEST_TOOLS = ["pytest", "hypothesis", "pypdf", "pdfplumber", "pytest-qt", "packaging"]


def floors() -> dict[str, str]:
    """Each direct dependency's ``>=`` floor, by normalised name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = {}
    for text in [*project["dependencies"], *project["optional-dependencies"]["postgres"]]:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (floor,) = [s.version for s in requirement.specifier if s.operator == ">="]
        found[re.sub(r"[-_.]+", "-", requirement.name).lower()] = floor
    return found


def _run(*cmd: str | Path, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-6000:]}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_the_lowest_allowed_versions_pass_the_smoke_subset(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    uv = [sys.executable, "-m", "uv"]
    environment = tmp_path / "lowest"
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run(*uv, "venv", "--quiet", "--python", sys.executable, environment, env=env, cwd=tmp_path)
    _run(
        *uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "--resolution",
        "lowest-direct",
        "-r",
        REPO / "pyproject.toml",
        "--extra",
        "postgres",
        env=env,
        cwd=tmp_path,
    )
    frozen = _run(*uv, "pip", "freeze", "--python", python, env=env, cwd=tmp_path)
    pins = tmp_path / "runtime-pins.txt"
    pins.write_text(frozen, encoding="utf-8")
    installed = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in re.findall(r"^([^=\s]+)==(\S+)$", frozen, re.MULTILINE)
    }
    for name, floor in floors().items():
        assert name in installed and Version(installed[name]) == Version(floor), (
            name,
            installed.get(name),
            floor,
        )
    # The test tools at their newest, constrained so that no runtime package moves
    _run(
        *uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "--constraint",
        pins,
        *TEST_TOOLS,
        env=env,
        cwd=tmp_path,
    )
    env["PYTHONPATH"] = str(REPO)  # this checkout's pumpmgr, on the lowest dependencies
    _run(
        python,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow",
        "--basetemp",
        tmp_path / "pytest",
        *SMOKE,
        env=env,
        cwd=REPO,
    )
