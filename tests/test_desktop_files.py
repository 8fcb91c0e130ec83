"""The Linux desktop entry and AppStream metainfo: valid by Debian's own validators, and naming
the same program, icon and version as the rest of pumpmgr."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pumpmgr import __version__

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import bundle  # noqa: E402

LINUX = REPO / "packaging" / "linux"
DESKTOP = LINUX / f"{bundle.APP_ID}.desktop"
METAINFO = LINUX / f"{bundle.APP_ID}.metainfo.xml"


def _validator(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(
            f"{name} is not installed (Debian: apt-get install "
            f"{'appstream' if name == 'appstreamcli' else 'desktop-file-utils'})"
        )
    return found


def test_the_desktop_entry_is_valid_and_starts_the_window() -> None:
    result = subprocess.run(
        [_validator("desktop-file-validate"), str(DESKTOP)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Exec"] == "pumpmgr-window"  # the GUI script (pyproject) and bundle program
    assert section["Icon"] == bundle.APP_ID and section["Terminal"] == "false"


def test_the_metainfo_is_valid_and_names_this_release() -> None:
    result = subprocess.run(
        [_validator("appstreamcli"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "E:" not in result.stdout and "W:" not in result.stdout, result.stdout
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == bundle.APP_ID
    assert root.findtext("project_license") == "Apache-2.0"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name
    assert next(r.get("version") for r in root.iter("release")) == __version__


def test_the_icons_are_rendered_from_the_svg(tmp_path: Path, qapp: object) -> None:
    """(``qapp``: the tests' QApplication exists first, so the renderer does not make a
    QGuiApplication that would leave no room for it.)"""
    from PIL import Image

    made = bundle.render_icons(REPO / "resources" / "icons" / "pumpmgr.svg", tmp_path)
    for size in bundle.PNG_SIZES:
        with Image.open(made[f"{size}.png"]) as png:
            assert png.size == (size, size) and png.mode == "RGBA"
            assert png.getpixel((0, 0))[3] == 0  # the rounded corner is transparent
            assert png.getpixel((size // 2, size // 2))[3] == 255
    with Image.open(made["ico"]) as ico:
        assert {(s, s) for s in bundle.ICO_SIZES} <= set(ico.info["sizes"])
    with Image.open(made["icns"]) as icns:
        assert icns.size == (1024, 1024)
