"""Run ``pumpmgr`` in-process and capture its exit status and output (shared by the CLI tests)."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any

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
