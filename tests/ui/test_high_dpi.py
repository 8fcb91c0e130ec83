"""Readable on a 4K screen: at a device pixel ratio of 2 (a 3840 x 2160 screen at 200 %), with
Qt's default text size and with a desktop's larger text, no label, button, tab, column title or
input of the main screens is cut off (``tests/ui/clipping.py`` opens them and measures every
text). The screens run in a fresh process: the device pixel ratio is fixed when Qt starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clipping import clipped
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

HERE = Path(__file__).resolve().parent


def run_screens(
    tmp_path: Path, *, width: int, height: int, scale: float, font_pt: float = 0
) -> list[str]:
    """What ``clipping.py`` finds on a screen of ``width`` x ``height`` pixels at ``scale``."""
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "test",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "QT_SCALE_FACTOR": f"{scale:g}",
        "XDG_CONFIG_HOME": str(tmp_path),
    }  # no columns a run before kept for the user
    env.pop("QT_SCREEN_SCALE_FACTORS", None)
    args = [
        sys.executable,
        str(HERE / "clipping.py"),
        "--width",
        str(round(width / scale)),
        "--height",
        str(round(height / scale) - 60),
        "--font-pt",
        str(font_pt),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_the_check_finds_cut_off_text(qtbot: QtBot) -> None:
    page = QWidget()
    qtbot.addWidget(page)
    layout = QVBoxLayout(page)
    label = QLabel("Low-reservoir alarm, every bolus taken", page)
    label.setFixedWidth(40)
    button = QPushButton("Print the day's worksheets…", page)
    button.setFixedWidth(30)
    steps = QListWidget(page)
    steps.addItem("7. Programmer's figures")
    steps.setFixedWidth(40)
    fits = QLabel("fits", page)
    for widget in (label, button, steps, fits):
        layout.addWidget(widget)
    page.show()
    qtbot.waitExposed(page)
    found = "\n".join(clipped(page))
    assert "'Low-reservoir alarm" in found
    assert "'Print the day's worksheets…'" in found
    assert "QListWidget" in found
    assert "'fits'" not in found


@pytest.mark.parametrize("font_pt", [0, 13], ids=["default-text", "larger-text"])
def test_no_text_is_cut_off_on_a_4k_screen(tmp_path: Path, font_pt: float) -> None:
    assert run_screens(tmp_path, width=3840, height=2160, scale=2, font_pt=font_pt) == []


def test_no_text_is_cut_off_at_1366_by_768(tmp_path: Path) -> None:
    assert run_screens(tmp_path, width=1366, height=768, scale=1) == []
