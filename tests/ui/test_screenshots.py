"""The screenshot script runs end to end on the small clinic and writes every picture."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "screenshots.py"


def test_screenshots_of_every_screen(qtbot: QtBot, tmp_path: Path, settings_folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("pumpmgr_screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--sample", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {f"{n:02d}-" for n in range(1, 14)} <= {name[:3] for name in names}
    assert names[0] == "01-sign-in.png" and "13-quantity-input.png" in names
    # the pump events, the calculators and the records (40 to 57)
    assert {f"{n}-" for n in range(40, 58)} <= {name[:3] for name in names}
    # the bookings, the prescriber's screens and the visit of a pump computed empty (60 to 66;
    # the small clinic has no open incident to review, 65)
    assert {f"{n}-" for n in (60, 61, 62, 63, 64, 66)} <= {name[:3] for name in names}
    assert all(p.stat().st_size > 5_000 for p in tmp_path.glob("*.png"))
    # hermetic: the windows kept their looks in the run's own temporary home, never in the
    # settings folder it was started with (the real user's, outside the tests)
    assert not list(settings_folder.rglob("*.ini"))
