"""Print every sheet of the demo clinic and save its pages as PNGs in docs/sheets.

Usage:  python3 tools/sheets.py [--out DIR] [--paper A4 Letter]

The clinic, day and clock are tools/screenshots.py's (Monday 20 October 2025, 09:00 in Berlin),
so the pages are the same on every run. The sheets are the PDFs ``pumpmgr print ...`` makes
(:class:`pumpmgr.services.sheets.SheetService`), on each paper the clinic may choose; each page
becomes ``NAME-PAPER-PAGE.png`` through poppler's ``pdftoppm -png -r 60``. Two refills are
recorded first, as a nurse would at the visit: one whose residual says investigate and a
restart (the reservoir found empty), for their completed worksheets. Look at every page after
a change to the sheets.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import BERLIN, NOW, ROOT, TODAY, _clinic, _user, hermetic_home

from pumpmgr.db.engine import open_database
from pumpmgr.records import DueRow
from pumpmgr.refill import DEFAULT_EMPTY_THRESHOLD_ML, LARGE_RESERVOIR_THRESHOLD_ML
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import RefillInput, Verification
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
)

RESOLUTION = 60  #: pixels per inch of the pictures: a page fits a screen whole


def _refill(
    clinic: ClinicService,
    row: DueRow,
    aspirated: str,
    note: str,
    bedside: BedsideFindings | None = None,
) -> int:
    """Record a refill of ``row``'s pump now, as the demo's nurses would; its id."""
    chart = clinic.patient_chart(row.patient_id)
    assert chart.pump is not None
    nurse = clinic.sign_in(*_user("nurse", 0, False))
    second = Verification(*_user("nurse", 1, False))
    capacity = chart.pump.capacity
    outcome = clinic.record_refill(
        nurse,
        second,
        chart.pump.id,
        RefillInput(
            performed_at=clinic.clock.now(),
            aspirated=Q_(aspirated),
            volume_added=capacity,
            lot_number="BAC-25-0612",
            expiry=date(2026, 4, 30),
            source="pharmacy",
            needle_position_confirmed=True,
            pump_running_confirmed=True,
            discrepancy_note=note,
            bedside=bedside,
        ),
    )
    return outcome.refill.id


def record_visits(clinic: ClinicService) -> tuple[DueRow, int, DueRow, int]:
    """An investigate and a restart refill, recorded now: their rows and refill ids."""
    rows = clinic.due_list()
    programmable = [
        r
        for r in rows
        if r.pump_type != "constant_flow" and r.drug.startswith("baclofen") and not r.flex_schedule
    ]
    investigate = programmable[-1]
    expected = investigate.volume_left_ml or 0.0  # the residual expected now
    # half a millilitre past the larger discrepancy threshold: investigate whatever the
    # reservoir, above the empty threshold (never found empty)
    aspirated = max(expected - LARGE_RESERVOIR_THRESHOLD_ML - 0.5, DEFAULT_EMPTY_THRESHOLD_ML + 0.3)
    investigate_id = _refill(
        clinic,
        investigate,
        f"{aspirated:.1f} mL",
        "Pocket checked, no swelling; pump interrogated, no alarms. Recheck at the next refill.",
    )
    empty = next(
        r
        for r in rows
        if r.refill_state is not None and r is not investigate and r.pump_type != "constant_flow"
    )
    reading = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("0 mL")),
        SiteAssessment(frozenset()),
        SymptomCheck(withdrawal=True, overdose=False, note="itching and spasms since yesterday"),
    )
    restart_id = _refill(
        clinic,
        empty,
        "0.2 mL",
        "Reservoir found empty; itching and spasms since yesterday, no fever. Prescriber called.",
        reading,
    )
    return investigate, investigate_id, empty, restart_id


def _busy_day(clinic: ClinicService) -> date:
    """The first clinic day from today with a visit booked (the day's batch then starts with
    a worksheet), else the next open day."""
    for ahead in range(14):
        day = TODAY + timedelta(days=ahead)
        if any(b.state == "booked" for b in clinic.bookings.bookings_between(day, day)):
            return day
    return SheetService(clinic).next_open_day()


def sheets_of(clinic: ClinicService) -> list[tuple[str, Callable[[SheetService], bytes]]]:
    """Each sheet's name and how to print it."""
    rows = clinic.due_list()
    baclofen = next(
        r
        for r in rows
        if r.drug.startswith("baclofen")
        and not r.flex_schedule
        and r.pump_model.startswith("SynchroMed")
        and r.state != "fine"
    )
    constant = next(r for r in rows if r.pump_type == "constant_flow")
    booked = next(r for r in rows if r.booked_on is not None)
    investigate, investigate_id, restart, restart_id = record_visits(clinic)
    day = _busy_day(clinic)
    return [
        ("worksheet_baclofen", lambda s: s.worksheet(baclofen.mrn)),
        (
            "completed_investigate",
            lambda s: s.worksheet(investigate.mrn, completed_refill_id=investigate_id),
        ),
        ("completed_restart", lambda s: s.worksheet(restart.mrn, completed_refill_id=restart_id)),
        ("day_batch", lambda s: s.day(day)),
        ("due_list", lambda s: s.due(TODAY, TODAY + timedelta(days=27))),
        ("reminder_letter", lambda s: s.reminder(booked.mrn)),
        ("handoff_baclofen", lambda s: s.handoff(baclofen.mrn)),
        ("history", lambda s: s.history(baclofen.mrn)),
        ("card_baclofen", lambda s: s.card(baclofen.mrn)),
        ("compounding_constant_flow", lambda s: s.compounding(constant.mrn)),
    ]


def pages(pdf: bytes, out: Path, name: str, *, first_and_last: bool = False) -> list[Path]:
    """The PDF's pages as ``NAME-N.png`` in ``out`` (only the first and last page of a long
    batch with ``first_and_last``)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(RESOLUTION), str(source), str(Path(tmp) / "page")],
            check=True,
        )
        made = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
        if first_and_last and len(made) > 2:
            made = [made[0], made[-1]]
        for stale in out.glob(f"{name}-*.png"):  # a longer version's last pages
            stale.unlink()
        saved = []
        for number, page in enumerate(made, start=1):
            target = out / f"{name}-{number}.png"
            shutil.move(str(page), target)
            saved.append(target)
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "sheets")
    parser.add_argument("--paper", nargs="+", default=["A4", "Letter"], choices=["A4", "Letter"])
    args = parser.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("pdftoppm (poppler-utils) is needed to turn the PDFs into pictures", file=sys.stderr)
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = clock.monotonic()
    with tempfile.TemporaryDirectory(prefix="pumpmgr-sheets-") as home, hermetic_home(Path(home)):
        from pumpmgr.demo import build_demo_clinic

        database = open_database(Path(home) / "clinic.db", daily_backup_keep=None)
        try:
            print("building the clinic…")
            build_demo_clinic(database, today=TODAY, tz=BERLIN)
            clinic = _clinic(database)
            admin = clinic.sign_in(*_user("administrator", 0, False))
            printed = sheets_of(clinic)
            for paper in args.paper:
                settings, version = clinic.settings_for_edit()
                clinic.update_settings(admin, replace(settings, page_size=paper), version)
                service = SheetService(clinic)
                for name, make in printed:
                    for path in pages(
                        make(service), out, f"{name}-{paper}", first_and_last=name == "day_batch"
                    ):
                        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        finally:
            database.dispose()
    print(f"made in {clock.monotonic() - started:.0f} s (clock {NOW:%Y-%m-%d %H:%M} UTC)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
