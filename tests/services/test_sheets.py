"""SheetService: every sheet prints from the clinic's records, in the clinic's local time."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from clinic_world import (
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
)
from pypdf import PdfReader

from pumpmgr.errors import PumpMgrError
from pumpmgr.reports import build_refill_worksheet
from pumpmgr.services.inputs import PumpInput
from pumpmgr.services.sheets import SheetService


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def sheets(world: World) -> SheetService:
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    world.clock.advance(timedelta(days=60))
    world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(START + timedelta(days=60), "6.6 mL", discrepancy_note="pocket checked"),
    )
    world.clock.advance(timedelta(days=70))
    return SheetService(world.clinic)


def test_worksheet_before_the_visit(sheets: SheetService) -> None:
    content = text(sheets.worksheet("100001"))
    assert "100001" in content and "MEYER, Anna" in content
    assert "2,000 mcg/mL" in content and "400 mcg/day" in content
    assert "Expected 6 mL" in content  # 20 mL − 70 days × 0.2 mL/day


def test_completed_worksheet_shows_the_verdict(sheets: SheetService) -> None:
    chart = sheets.chart("100001")
    second = chart.refills[-1]
    content = text(sheets.worksheet("100001", completed_refill_id=second.id))
    assert "INVESTIGATE" in content
    assert "6.6 mL" in content and "+1.4 mL" in content
    assert "Otto Second" in content
    with pytest.raises(PumpMgrError, match=r"^completed refill: ") as refused:
        sheets.worksheet("100001", completed_refill_id=9999)
    assert refused.value.field == "completed refill"


def test_history_card_and_due_list(sheets: SheetService) -> None:
    assert "investigate" in text(sheets.history("100001")).lower()
    card = text(sheets.card("100001"))
    assert "Baclofen" in card and "400 mcg/day" in card
    due = text(sheets.due(date(2025, 7, 1), date(2025, 8, 31)))
    assert "100001" in due


def test_the_day_batch_reports_progress(sheets: SheetService) -> None:
    calls: list[tuple[int, int]] = []
    clinic = sheets.clinic
    (row,) = clinic.due_list()
    day = clinic.bookings.propose(row.pump_id)
    assert day is not None
    clinic.bookings.book(clinic.sign_in("nina", PASSWORD), row.pump_id, day)
    pdf = sheets.day(day, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (1, 1)  # the one booked visit's worksheet
    assert "100001" in text(pdf)
    with pytest.raises(PumpMgrError, match="no visit is booked") as refused:
        sheets.day(date(2025, 1, 1))
    # the service names what the nurse chose, never a command-line option
    assert refused.value.message.startswith("day: ") and "--" not in refused.value.message


def test_unknown_record_number_is_a_domain_error(sheets: SheetService) -> None:
    with pytest.raises(PumpMgrError, match="no patient"):
        sheets.card("999999")


def test_a_visit_reads_the_current_pump_and_prints_what_the_whole_chart_gives(
    world: World, sheets: SheetService
) -> None:
    clinic = world.clinic
    old = clinic.patient_chart(clinic.find_patient("100001").id)
    assert old.pump is not None
    new = clinic.replace_pump(
        world.nurse,
        old.pump.id,
        PumpInput("synchromed2-20", "SN-NEW", world.clock.now().date(), "left abdomen"),
        "battery ERI",
    )
    clinic.change_prescription(
        world.nurse, world.check, new.id, baclofen_prescription(at=world.clock.now())
    )
    clinic.record_refill(world.nurse, world.check, new.id, fill(world.clock.now()))
    world.clock.advance(timedelta(days=30))
    whole = sheets.chart("100001")
    visit = sheets.visit_chart(old.patient.id)
    assert len(whole.refills) == 3 and [r.pump_id for r in visit.refills] == [new.id]
    assert visit.events and {e.pump_id for e in visit.events} == {new.id}
    assert visit.pumps == whole.pumps and visit.stop_orders == whole.stop_orders
    at = sheets._now()
    plan = sheets.plan(whole, at)
    assert sheets.plan(visit, at) == plan
    printed = build_refill_worksheet(
        whole,
        plan,
        clinic.settings(),
        generated_at=sheets._now(),
        catalog=sheets._catalog(),
        audit_head=sheets.audit_head(),
    )
    assert sheets.worksheet("100001", at=at) == printed
