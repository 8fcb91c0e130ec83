"""Fixtures for the printed-sheet tests: the sample charts and every sample sheet, built once.

The records themselves are built in :mod:`sheet_samples` (a plain module, so that tests can
import its constants without importing a ``conftest``, whose name other test folders share).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sheet_samples import (
    CHARTS,
    SETTINGS,
    build_sample,
    due_rows,
    layout_problems,
    pdf_text,
)

from pumpmgr.records import ClinicSettings, DueRow, PatientChart

_BUILT: dict[tuple[str, str], bytes] = {}


@pytest.fixture
def sample_chart() -> Callable[[str], PatientChart]:
    """``sample_chart("baclofen" | "admixture" | "constant_flow")``."""
    return lambda kind="baclofen": CHARTS[kind]()


@pytest.fixture
def settings() -> ClinicSettings:
    return SETTINGS


@pytest.fixture
def sample_due_rows() -> list[DueRow]:
    return due_rows()


@pytest.fixture
def read_pdf() -> Callable[[bytes], str]:
    return pdf_text


@pytest.fixture
def check_layout() -> Callable[[bytes], list[str]]:
    return layout_problems


@pytest.fixture(scope="session")
def sheet() -> Callable[..., bytes]:
    """``sheet(name, page_size="A4")``: the sample sheet's bytes, built once per session."""

    def get(name: str, page_size: str = "A4") -> bytes:
        key = (name, page_size)
        if key not in _BUILT:
            settings = ClinicSettings(
                clinic_name=SETTINGS.clinic_name,
                clinic_phone=SETTINGS.clinic_phone,
                page_size=page_size,
            )  # type: ignore[arg-type]
            _BUILT[key] = build_sample(name, settings)
        return _BUILT[key]

    return get
