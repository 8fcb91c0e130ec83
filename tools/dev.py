"""Set up the project's virtual environment and run the program or the whole test suite.

Usage:  python3 tools/dev.py run [ARGS...]   # the desktop program on the demo clinic
        python3 tools/dev.py test [PYTEST ARGS...]   # ruff, mypy, import rules, pytest
                                                     # (on every core; -n 0: one process)
        python3 tools/dev.py bundle [--dist DIR]   # the one-folder release bundle (dist/pumpmgr)

Needs only Python 3.11+ and the package registry: the first call creates .venv and installs
the project with its development extras; later calls reinstall only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".pumpmgr-installed"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def test(args: list[str]) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "mypy")
    _run(BIN / "lint-imports")
    _run(BIN / "python", "-m", "pytest", *_parallel(args), *args)


def _parallel(args: list[str]) -> list[str]:
    """pytest-xdist on every core, one test file per worker at a time (a file's module-scoped
    fixtures are built once), unless the arguments choose otherwise (``-n 0`` runs serially).
    Each worker has a PostgreSQL database of its own (tests/database_targets.py)."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) for a in args):
        return []
    return ["-n", "auto", "--dist", "loadfile"]


def run(args: list[str]) -> None:
    _run(BIN / "pumpmgr", *(args or ["--demo"]))


def bundle(args: list[str]) -> None:
    _run(BIN / "python", ROOT / "tools" / "bundle.py", *args)


def main() -> None:
    commands = {"run": run, "test": test, "bundle": bundle}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    ensure_venv()
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
