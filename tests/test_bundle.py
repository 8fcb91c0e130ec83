"""The release bundle: tools/bundle.py builds it with PyInstaller from packaging/pumpmgr.spec,
and the built program itself (not this checkout's code) is run as a clinic would run it.

Each program runs with a home, data, cache and log folder of its own under the test's
temporary folder, the offscreen Qt platform, and nothing of the repository on its path. The
build time, the folder's size and the start times are printed at the end of the run.
"""

from __future__ import annotations

import io
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from pumpmgr.formatting import program_version

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import bundle  # noqa: E402

TIMEOUT = 120  # seconds for one run of the built program


def _children_cpu() -> float:
    """CPU seconds (user and system) of the finished child processes so far: a start time
    that a busy machine does not inflate as it does the wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(
    program: Path, *args: str, env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(program), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{program.name} {args}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.slow
def test_the_built_bundle_runs_a_clinic(
    tmp_path: Path, harness_note: Callable[[str], None], qapp: object
) -> None:
    """(``qapp``: the icons are rendered in this process; see test_desktop_files.)"""
    started = time.monotonic()
    folder = bundle.build(tmp_path / "dist", tmp_path / "work")
    build_seconds = time.monotonic() - started
    size = bundle.folder_size(folder)

    # What the folder must hold: the programs, the data a plain build misses, the licences
    program, window = folder / "pumpmgr", folder / "pumpmgr-window"
    inside = folder / "_internal"
    for path in (
        program,
        window,
        inside / "pumpmgr/resources/catalogs/drugs.toml",
        inside / "pumpmgr/resources/styles/pumpmgr.qss",
        inside / "pumpmgr/resources/icons/pumpmgr.svg",
        inside / "pumpmgr/db/migrations/env.py",
        inside / "pumpmgr/db/migrations/versions/0001_initial_schema.py",
        folder / "LICENSE",
        folder / "THIRD_PARTY_NOTICES.md",
        folder / "docs/deployment.md",
        folder / "install-desktop-entry.sh",
        folder / "docs/manual/guide.html",
        folder / "docs/manual/quick-reference.pdf",
        folder / "docs/screenshots/03-due-list.png",
        folder / f"share/applications/{bundle.APP_ID}.desktop",
        folder / f"share/metainfo/{bundle.APP_ID}.metainfo.xml",
        folder / "share/pumpmgr.ico",
        folder / "share/pumpmgr.icns",
    ):
        assert path.is_file(), path
    # LGPL: Qt's libraries lie as separate, replaceable files, with PySide6's licence
    assert list((inside / "PySide6/Qt/lib").glob("libQt6Core.so.*"))
    for package in ("PySide6_Essentials", "shiboken6"):
        (texts,) = (folder / "licenses").glob(f"{package}-*")
        assert "GNU LESSER GENERAL PUBLIC LICENSE" in (texts / "LGPL-3.0.txt").read_text(
            encoding="utf-8"
        )
        assert (texts / "GPL-3.0.txt").is_file()
    assert all(any(p.iterdir()) for p in (folder / "licenses").iterdir())  # each has its own
    for size_px in bundle.PNG_SIZES:
        png = folder / f"share/icons/hicolor/{size_px}x{size_px}/apps/{bundle.APP_ID}.png"
        assert png.is_file(), png
    from PIL import Image

    with Image.open(folder / "share/pumpmgr.ico") as ico:
        assert {(s, s) for s in bundle.ICO_SIZES} <= set(ico.info["sizes"])
    with Image.open(folder / "share/pumpmgr.icns") as icns:
        assert icns.size == (1024, 1024)

    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
        and not k.startswith("XDG_")
    }
    env.update(
        HOME=str(home),
        QT_QPA_PLATFORM="offscreen",
        PUMPMGR_LOG_DIR=str(tmp_path / "log"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    env.pop("PUMPMGR_DB", None)
    work = tmp_path / "clinic"
    work.mkdir()

    starts, cpu = [], []
    for _ in range(5):
        begun, used = time.perf_counter(), _children_cpu()
        version = _run(program, "--version", env=env, cwd=work).stdout
        starts.append(time.perf_counter() - begun)
        cpu.append(_children_cpu() - used)
        assert version == program_version() + "\n"
    assert _run(window, "--version", env=env, cwd=work).stdout == program_version() + "\n"

    # A clinic is created (a demo one, through the services), a forecast, a printed worksheet
    _run(program, "--db", "clinic.db", "demo", "--patients", "3", env=env, cwd=work)
    assert (work / "clinic.db").is_file()
    forecast = _run(
        program,
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
        "--accuracy",
        "14.5",
        env=env,
        cwd=work,
    ).stdout
    assert "days to alarm:               90 days" in forecast
    patient = _run(program, "--db", "clinic.db", "patient", "D000001", env=env, cwd=work).stdout
    assert "D000001" in patient
    _run(
        program,
        "--db",
        "clinic.db",
        "print",
        "worksheet",
        "D000001",
        "--out",
        "ws.pdf",
        env=env,
        cwd=work,
    )
    sheet = PdfReader(io.BytesIO((work / "ws.pdf").read_bytes()))
    assert "Intrathecal pump refill worksheet" in sheet.pages[0].extract_text()
    for page in sheet.pages:
        assert f"by {program_version()}" in page.extract_text()

    # The window, signed in as the demo clinic's nurse, opened offscreen and closed
    begun = time.perf_counter()
    shown = _run(
        program,
        "--db",
        "clinic.db",
        "--self-test",
        env=env,
        cwd=work,
        stdin="nurse1\ndemo-nurse-pass\n",
    ).stdout
    window_seconds = time.perf_counter() - begun
    assert shown.startswith(f"{program_version()}: the main window opened (")
    assert shown.rstrip().endswith("and closed on offscreen")
    log = (tmp_path / "log" / "pumpmgr.log").read_text(encoding="utf-8")
    assert f"{program_version()} started" in log and "patient.register on patient" in log

    harness_note(
        f"bundle: {size / 1e6:.0f} MB in {sum(1 for _ in folder.rglob('*'))} files, "
        f"built in {build_seconds:.0f} s"
    )
    harness_note(
        f"bundle start: --version median {statistics.median(starts) * 1000:.0f} ms "
        f"wall, {statistics.median(cpu) * 1000:.0f} ms CPU (of 5); --self-test "
        f"(window shown, drawn, closed) {window_seconds:.1f} s wall"
    )
