"""Run ``pumpmgr`` in-process and capture its exit status and output (shared by the CLI tests)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import portalocker
import pytest

from pumpmgr.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def one_line_error(self) -> str:
        assert self.code == 2, (self.code, self.out, self.err)
        assert self.err.count("\n") == 1 and "Traceback" not in self.err, self.err
        return self.err


def run(
    *argv: str,
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> Result:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as stop:  # argparse refusing a usage error
            code = int(stop.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class DemoFile:
    path: Path  #: a copy of its own for the caller
    out: str  #: what ``pumpmgr demo`` printed when it built the clinic


def demo_copy(tmp_path_factory: pytest.TempPathFactory, patients: int, seed: int) -> DemoFile:
    """A copy of the demo clinic ``pumpmgr demo --patients P --seed S`` writes, built once per
    test run whichever files and pytest-xdist workers ask for it (some 7 s of CPU for three
    patients): a test module's own file, as when it ran the command itself."""
    run_root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_root = run_root.parent  # the workers' folders share the run's
    built = run_root / f"cli-demo-{patients}-{seed}"
    built.mkdir(exist_ok=True)
    with portalocker.Lock(built / "lock", timeout=600):
        if not (built / "out.txt").exists():
            command = ["demo", "--patients", str(patients), "--seed", str(seed)]
            result = run("--db", str(built / "clinic.db"), *command)
            assert result.code == 0, result.err
            (built / "out.txt").write_text(result.out, encoding="utf-8")
    path = tmp_path_factory.mktemp("demo") / "clinic.db"
    shutil.copy2(built / "clinic.db", path)  # owner-only, as pumpmgr made it
    return DemoFile(path, (built / "out.txt").read_text(encoding="utf-8"))
