"""Stop orders (domain-rules §6) through the services, on each backend: a prescriber stops a drug
with their own password, the patient's page, the worksheet and the due list show it until a
nurse records that it was carried out, every step audited. The ``world`` fixture checks that
the row chain covers what was written."""

from __future__ import annotations

import json
from datetime import timedelta
from io import BytesIO

import pytest
from clinic_world import (
    BERLIN,
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
)
from pypdf import PdfReader

from pumpmgr.alerts import patient_alerts
from pumpmgr.auth import AuthError
from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput, InputError
from pumpmgr.services import PermissionDenied
from pumpmgr.services.sheets import SheetService
from pumpmgr.stop_orders import CarriedOut

STOP = (
    "STOP ORDER: baclofen stopped from Tue 4 Mar 2025 by Dr Brandt (intolerable "
    "drowsiness). Empty the pump and fill it with preservative-free saline (a long stop)."
)


def filled(world: World) -> tuple[int, int]:
    """A patient on baclofen 400 mcg/day, filled at START."""
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.prescriber, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def stop(world: World, pump_id: int, drug: str = "baclofen") -> int:
    return world.clinic.stop_orders.give(
        world.prescriber,
        PASSWORD,
        pump_id,
        drug,
        START + timedelta(days=1),
        "intolerable drowsiness",
        long_stop=True,
    ).id


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(BytesIO(data)).pages
    )


def test_a_stop_order_stands_on_the_page_worksheet_and_due_list_until_carried_out(
    world: World,
) -> None:
    patient_id, pump_id = filled(world)
    assert world.clinic.due_list()[0].state != "urgent"
    stop_id = stop(world, pump_id)
    entry = last_audit(world)
    assert (entry.action, entry.reason) == ("stop_order.give", "intolerable drowsiness")
    assert json.loads(entry.payload)["long_stop"] is True
    chart = world.clinic.patient_chart(patient_id)
    texts = [a.text for a in patient_alerts(chart, BERLIN)]
    assert texts[0] == STOP
    assert texts[1].startswith("WITHDRAWAL: stopping baclofen can cause withdrawal; watch for")
    sheets = SheetService(world.clinic)
    worksheet = pdf_text(sheets.worksheet("100001"))
    today = world.clinic.clock.now().date()
    assert "STOP ORDER to carry out" in pdf_text(sheets.due(today, today + timedelta(days=7)))
    assert "STOP ORDER: baclofen stopped from Tue 4 Mar 2025 by Dr Brandt" in worksheet
    assert "preservative-free saline (a long stop)" in worksheet
    assert "WITHDRAWAL: stopping baclofen" in worksheet
    row = world.clinic.due_list(within_days=0)[0]
    assert (row.state, row.open_stop_order) == ("urgent", True)

    with pytest.raises(PermissionDenied):
        world.clinic.stop_orders.record_carried_out(world.admin, stop_id, CarriedOut.EMPTIED_SALINE)
    done = world.clinic.stop_orders.record_carried_out(
        world.nurse, stop_id, CarriedOut.EMPTIED_SALINE, "aspirated 12 mL"
    )
    assert (done.carried_out, done.carried_out_by) == ("emptied_saline", "Nina Nurse")
    entry = last_audit(world)
    assert (entry.action, entry.username) == ("stop_order.carried_out", "nina")
    assert world.clinic.patient_chart(patient_id).stop_orders == ()
    row = world.clinic.due_list()[0]
    assert (row.state, row.open_stop_order) == ("fine", False)
    assert world.clinic.due_list(within_days=0) == []
    with pytest.raises(ImpossibleInput, match="already recorded"):
        world.clinic.stop_orders.record_carried_out(world.nurse, stop_id, CarriedOut.PUMP_STOPPED)


def test_only_the_signed_in_prescriber_with_their_password_gives_a_stop_order(world: World) -> None:
    _, pump_id = filled(world)
    orders = world.clinic.stop_orders
    after = START + timedelta(days=1)
    with pytest.raises(PermissionDenied):
        orders.give(world.nurse, PASSWORD, pump_id, "baclofen", after, "x", long_stop=False)
    with pytest.raises(AuthError):
        orders.give(
            world.prescriber, "not the password", pump_id, "baclofen", after, "x", long_stop=False
        )
    with pytest.raises(InputError, match="morphine is not in the pump") as refused:
        orders.give(world.prescriber, PASSWORD, pump_id, "morphine", after, "x", long_stop=False)
    assert refused.value.field == "drug" and "baclofen" in refused.value.message
    with pytest.raises(InputError) as no_reason:
        orders.give(world.prescriber, PASSWORD, pump_id, "baclofen", after, " ", long_stop=False)
    assert no_reason.value.field == "reason"
    assert count(world, db.StopOrder) == 0
    # the drug by its name, any case
    assert (
        orders.give(
            world.prescriber, PASSWORD, pump_id, "Baclofen", after, "trial off", long_stop=False
        ).drug_key
        == "baclofen"
    )
