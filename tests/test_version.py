"""The version is written once (pumpmgr/__init__.py) and is what every place prints."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from pumpmgr import __version__
from pumpmgr.cli import main as command_line
from pumpmgr.formatting import program_version

REPO = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once() -> None:
    """pyproject.toml reads it from pumpmgr/__init__.py (hatch's dynamic version), and the
    changelog's newest release is it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "pumpmgr/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    written = re.findall(
        r"__version__ = \"([^\"]+)\"", (REPO / "pumpmgr/__init__.py").read_text(encoding="utf-8")
    )
    assert written == [__version__]
    releases = re.findall(
        r"^## \[?(\d+\.\d+\.\d+)\]?",
        (REPO / "CHANGELOG.md").read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert releases[0] == __version__


def test_command_line_version(capsys: pytest.CaptureFixture[str]) -> None:
    # answered before the commands load (tests/cli/test_lazy_imports.py), so it returns
    assert command_line(["--version"]) == 0
    assert capsys.readouterr().out == f"pumpmgr {__version__}\n" == program_version() + "\n"
    with pytest.raises(SystemExit) as ended:  # after another option: the parser's own action
        command_line(["--db", "unused.db", "--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == program_version() + "\n"


def test_window_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``pumpmgr-window --version`` (the window's own options) prints the same line."""
    pytest.importorskip("PySide6")
    from ui.app import build_parser

    with pytest.raises(SystemExit) as ended:
        build_parser().parse_args(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == program_version() + "\n"
