"""The benchmark (``python -m bench``) on a tiny clinic, so that it cannot rot, and the shortcuts
it relies on or measured into the program, each against the slow way it replaces.

No timing is asserted anywhere: the figures are the benchmark's business, not the tests'.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench import cli
from bench import plan as bench_plan
from bench.replay import replay, service
from bench.writer import write_clinic
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database, open_database
from pumpmgr.schedule import Schedule, ScheduledBolus, Step
from pumpmgr.services import ClinicService, forecasting
from pumpmgr.services.exchange import export_clinic
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.units import Q_

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

#: Every figure line the benchmark prints, by the start of its name.
FIGURES = (
    "start-up to the painted sign-in window",
    "sign-in accepted to the painted due list",
    "peak memory, large clinic open",
    "pumpmgr --version",
    "pumpmgr calc forecast",
    "due list query",
    "open one patient",
    "record one refill",
    "integrity check since the checkpoint",
    "integrity check, nothing new",
    "recompute every forecast",
    "one refill worksheet PDF",
    "the day's worksheets as one file",
)
#: The lines that only inform (no target).
INFO_FIGURES = ("integrity check, first (no checkpoint)", "full audit chain check")


@pytest.fixture(scope="module")
def tiny_plan() -> bench_plan.ClinicPlan:
    """Seven patients over three years: every scenario of the large clinic (a replacement,
    a constant-flow pump, an admixture with patient boluses, ziconotide, a titration beyond
    the rule, an explant, corrections, a catheter revision, concentration changes)."""
    return bench_plan.plan_clinic(7, 3.0, seed=3)


def _open(path: Path) -> Database:
    return open_database(path, daily_backup_keep=None)


def test_the_bulk_written_clinic_is_the_one_the_services_build(
    tmp_path: Path, tiny_plan: bench_plan.ClinicPlan
) -> None:
    kinds = set(bench_plan.counts(tiny_plan.actions))
    assert {
        "Register",
        "Implant",
        "Prescribe",
        "Refill",
        "Correct",
        "Event",
        "Revise",
        "Replace",
        "Explant",
        "Status",
    } <= kinds
    bulk, built = _open(tmp_path / "bulk.db"), _open(tmp_path / "services.db")
    try:
        write_clinic(bulk, tiny_plan)
        through_services = replay(built, tiny_plan)
        written = service(bulk)
        # Row for row, the audit entries included; the password salts differ, and the
        # entries written in bulk carry no row images (bench.writer), so neither do the
        # hashes of the entries and the chain head.
        left, right = export_clinic(bulk), export_clinic(built)
        for document in (left, right):
            for user in document["tables"]["users"]:
                user.pop("password_hash")
            for entry in document["tables"]["audit_log"]:
                for key in ("written_rows", "row_hash", "prev_hash"):
                    entry.pop(key)
            document.pop("audit_chain_head")
        for table, rows in right["tables"].items():
            assert left["tables"][table] == rows, f"{table} differs"
        assert left == right
        # What the services read back is the same.
        assert written.due_list() == through_services.due_list()
        assert written.due_list(within_days=14) == through_services.due_list(within_days=14)
        with built.read() as session:
            patients = list(session.scalars(select(db.Patient.id)))
        for patient in patients:
            assert written.patient_chart(patient) == through_services.patient_chart(patient)
        report, theirs = written.verify_audit(), through_services.verify_audit()
        assert report.ok and theirs.ok and report.entries_checked == theirs.entries_checked
        assert report.entries_checked == len(right["tables"]["audit_log"]) > 100
        assert through_services.verify_integrity().ok  # the services cover every row
    finally:
        bulk.dispose()
        built.dispose()


def _reference_forecasts(clinic: ClinicService) -> dict[int, dict[str, Any]]:
    """Each active pump's forecast computed pump by pump, as
    ``ForecastService.refresh_forecast`` does."""
    result = {}
    with clinic.database.read() as session:
        settings, library = clinic.settings(session), clinic.library(session)
        for pump in session.scalars(select(db.Pump).where(db.Pump.status == db.PumpStatus.ACTIVE)):
            fill = forecasting.current_fill(session, pump.id)
            row = forecasting.compute(
                pump=pump,
                fill=fill,
                prescriptions=clinic.context.prescriptions(session, pump.id),
                settings=settings,
                library=library,
                accuracy_percent=pump.accuracy_percent,
                tz=clinic.tz,
                now=clinic.clock.now(),
            )
            result[pump.id] = {
                c.key: getattr(row, c.key) for c in db.PumpForecast.__table__.columns
            }
            result[pump.id].update(forecasting.due_facts(session, [pump.id])[pump.id])
    return result


def test_recomputing_every_forecast_at_once_writes_what_pump_by_pump_would(
    tmp_path: Path, tiny_plan: bench_plan.ClinicPlan
) -> None:
    database = _open(tmp_path / "clinic.db")
    try:
        write_clinic(database, tiny_plan)
        clinic = service(database)
        admin = clinic.sign_in("admin", "demo-admin-pass")
        nurse = clinic.sign_in("nurse1", "demo-nurse-pass")
        check = Verification("nurse2", "demo-nurse-pass")
        # Two more pumps: one never filled, one at its first fill (ziconotide's first-fill
        # stability limit) with a flex schedule and a scheduled bolus.
        patients = [r.patient_id for r in clinic.due_list()]
        with database.read() as session:
            spare = [p for p in session.scalars(select(db.Patient.id)) if p not in patients][:1]
        catheter = CatheterInput(
            "custom", (SegmentInput(Q_("50 cm"), Q_("10 cm"), Q_("0.0022 mL/cm")),), "T10"
        )
        day = bench_plan.TODAY - timedelta(days=3)
        if spare:
            clinic.set_patient_status(nurse, spare[0], "active", "back in the clinic")
            clinic.implant_pump(
                nurse,
                spare[0],
                PumpInput("synchromed2-20", "NGV999990", day, "left abdomen"),
                catheter,
            )
        patient = clinic.find_patient("D000002")
        chart = clinic.patient_chart(patient.id)
        assert chart.pump is not None
        clinic.explant_pump(nurse, chart.pump.id, day, "benchmark test: replaced below")
        pump = clinic.implant_pump(
            nurse,
            patient.id,
            PumpInput("synchromed2-40", "NGV999991", day, "right abdomen"),
            catheter,
        )
        moment = datetime.combine(day, datetime.min.time(), bench_plan.TZ) + timedelta(hours=10)
        prescriber = clinic.sign_in("prescriber", "demo-prescriber-pass")
        flex = Schedule.flex(
            [Step(time(0, 0), Q_("1.2 mcg/day")), Step(time(8, 0), Q_("0.1 mcg/h"))],
            [ScheduledBolus(time(12, 0), Q_("0.5 mcg"))],
        )
        data = PrescriptionInput(
            (IngredientInput("ziconotide", Q_("25 mcg/mL")),), flex, moment, prescriber.full_name
        )
        found = clinic.check_prescription(pump.id, data)
        data = replace(data, reasons={str(f.code): "benchmark test" for f in found.findings})
        clinic.change_prescription(prescriber, check, pump.id, data)
        clinic.record_refill(
            nurse,
            check,
            pump.id,
            RefillInput(
                moment + timedelta(minutes=20),
                Q_("0 mL"),
                Q_("20 mL"),
                "ZIC-1",
                bench_plan.TODAY + timedelta(days=300),
                "manufacturer",
                True,
                True,
            ),
        )
        expected = _reference_forecasts(clinic)
        assert clinic.recompute_all_forecasts(admin, "test") == len(expected)
        with database.read() as session:
            stored = {
                row.pump_id: {c.key: getattr(row, c.key) for c in db.PumpForecast.__table__.columns}
                for row in session.scalars(select(db.PumpForecast))
            }
        assert stored == expected
        assert {v["refill_due_reason"] for v in stored.values()} >= {"alarm"}
    finally:
        database.dispose()


def test_the_benchmark_prints_every_figure(tmp_path: Path) -> None:
    out = io.StringIO()
    assert (
        cli.main(
            [
                "--patients",
                "4",
                "--years",
                "2",
                "--repeats",
                "1",
                "--jobs",
                "1",
                "--cache-dir",
                str(tmp_path),
            ],
            out=out,
        )
        == 0
    )
    text = out.getvalue()
    assert re.search(r"^database file size: [\d.]+ MB$", text, re.MULTILINE), text
    assert "clinic built in" in text
    for name in FIGURES:
        line = next((line for line in text.splitlines() if line.startswith(name)), None)
        assert line is not None, f"no line for {name}:\n{text}"
        cells = [cell.strip() for cell in line.split("|")]
        assert re.fullmatch(r"[\d.]+ (ms|s|MB)", cells[1]), line
        assert cells[5] in {"met", "missed"}, line
    for name in INFO_FIGURES:
        line = next((line for line in text.splitlines() if line.startswith(name)), None)
        assert line is not None and line.split("|")[5].strip() == "info", f"{name}:\n{text}"
    # built once, then taken from the cache (the figures need not be measured again)
    again = cli.build(4, 2.0, 1, tmp_path, 1, io.StringIO())
    assert again.cached and again.path.parent == tmp_path
    assert len(list(tmp_path.glob("clinic-*.db"))) == 1


def test_the_plan_is_the_same_for_the_same_size_and_seed() -> None:
    first = bench_plan.plan_clinic(3, 2.0, seed=5)
    second = bench_plan.plan_clinic(3, 2.0, seed=5)
    assert first.actions == second.actions
    assert first.actions != bench_plan.plan_clinic(3, 2.0, seed=6).actions
    assert all(a.clock <= b.clock for a, b in zip(first.actions, first.actions[1:], strict=False))
    assert first.first_day < bench_plan.TODAY
