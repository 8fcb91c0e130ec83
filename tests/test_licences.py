"""The licence and the third-party notices: every package pumpmgr runs on is named with its
licence, and the LGPL packages with how the bundle meets the LGPL."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure() -> set[str]:
    """Every installed distribution the runtime dependencies (and the postgres extra) pull in
    on this computer, by normalised name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    found: set[str] = set()
    pending = [(Requirement(text), "") for text in wanted]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # not for this platform (pywin32 off Windows)
        name = _normal(distribution.metadata["Name"])
        for needed in distribution.requires or []:
            for wanted_extra in ("", *requirement.extras):
                pending.append((Requirement(needed), wanted_extra))
        found.add(name)
    return found


def test_the_licence_is_apache_2() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"


def test_every_runtime_package_is_in_the_notices() -> None:
    notices = (REPO / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    listed = {
        _normal(row.split("|")[1].strip())
        for row in notices.splitlines()
        if row.startswith("| ") and "---" not in row
    }
    closure = runtime_closure()
    assert {"pyside6-essentials", "sqlalchemy", "pint", "reportlab", "psycopg"} <= closure
    assert closure - listed == set(), "add these to THIRD_PARTY_NOTICES.md with their licence"


def test_the_lgpl_is_met_and_said_how() -> None:
    notices = (REPO / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    section = notices.split("## How the bundle meets the LGPL")[1]
    for fact in (
        "Dynamic linking",
        "separate files the user can replace",
        "Where the source is",
        "download.qt.io",
    ):
        assert fact in section
    for package in ("PySide6-Essentials", "shiboken6", "psycopg"):
        row = next(r for r in notices.splitlines() if r.startswith(f"| {package} |"))
        assert "LGPL-3.0" in row
