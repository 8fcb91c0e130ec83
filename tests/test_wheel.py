"""The built wheel carries the catalogs, and an installed pumpmgr reads them from its own copy.

Builds the wheel, installs it with its dependencies into a fresh virtual environment (no system
site-packages) and loads the catalogs there, from a working directory outside the repository,
so nothing can be imported from the source tree by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from pumpmgr import __version__

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # seconds for one build or install step

# Runs inside the fresh environment: report where everything came from.
SNIPPET = """
import json, sysconfig
import pumpmgr
from pumpmgr import catalogs, resources_locator

loaded = catalogs.default_catalogs()
print(json.dumps({
    "package": pumpmgr.__file__,
    "resources": str(resources_locator.resources_dir()),
    "drugs_file": str(resources_locator.catalog_path("drugs.toml")),
    "purelib": sysconfig.get_paths()["purelib"],
    "pumps": sorted(loaded.pumps),
    "drugs": [d.key for d in loaded.drugs],
    "baclofen_soft_max": str(loaded.drug("baclofen").soft_max.value),
}))
"""


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_installed_wheel_reads_its_own_catalogs(tmp_path: Path) -> None:
    # No trace of the repository or of the test run's environment in the child processes
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, REPO, cwd=tmp_path, env=env)
    (wheel,) = dist.glob("pumpmgr-*.whl")
    assert wheel.name.startswith(f"pumpmgr-{__version__}-")  # hatch read pumpmgr/__init__.py
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in ("pumps.toml", "catheters.toml", "drugs.toml"):
        assert f"pumpmgr/resources/catalogs/{name}" in names

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True, system_site_packages=False)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # pip brings pint (and the other dependencies) from the package index or its cache;
    # --no-compile: the imports below compile what they use, not all of PySide6's Python
    _run(python, "-m", "pip", "install", "--quiet", "--no-compile", wheel, cwd=tmp_path, env=env)

    # -I: isolated mode, neither the current directory nor PYTHON* variables reach sys.path
    report = json.loads(_run(python, "-I", "-c", SNIPPET, cwd=tmp_path, env=env))

    purelib = Path(report["purelib"]).resolve()
    assert purelib.is_relative_to(environment.resolve())
    for key in ("package", "resources", "drugs_file"):
        path = Path(report[key]).resolve()
        assert path.is_relative_to(purelib), (key, path)
        assert not path.is_relative_to(REPO), (key, path)
    assert Path(report["resources"]).resolve() == purelib / "pumpmgr" / "resources"
    assert "synchromed2-20" in report["pumps"]
    assert report["drugs"][0] == "baclofen"
    assert report["baclofen_soft_max"] == "1000.0 microgram / day"

    # Both scripts; no PostgreSQL driver without the postgres extra, and a clear refusal
    scripts = environment / ("Scripts" if os.name == "nt" else "bin")
    assert (scripts / "pumpmgr").exists() and (scripts / "pumpmgr-window").exists()
    assert _run(scripts / "pumpmgr", "--version", cwd=tmp_path, env=env) == (
        f"pumpmgr {__version__}\n"
    )
    refused = subprocess.run(
        [str(scripts / "pumpmgr"), "--db", "postgresql://clinic@127.0.0.1:9/none", "due"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert refused.returncode == 2, refused
    assert "installed without PostgreSQL support" in refused.stderr
    assert 'pip install "pumpmgr[postgres]"' in refused.stderr
