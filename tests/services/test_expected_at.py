"""The expected residual at several moments in one read is the residual at each moment read
alone (the patient view asks for now and the due date at once); None before the first fill."""

from __future__ import annotations

from datetime import timedelta

from clinic_world import START, World, baclofen_patient, baclofen_prescription, continuing, fill


def test_each_moment_reads_as_it_reads_alone(world: World) -> None:
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    data = continuing(baclofen_prescription())  # on baclofen before this record
    clinic.change_prescription(world.nurse, world.check, pump_id, data)
    before = START - timedelta(days=1)
    assert clinic.expected_at(pump_id, [before]) == [None]
    clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    moments = [START + timedelta(days=d, hours=3) for d in (1, 10, 30)]
    together = clinic.expected_at(pump_id, moments)
    alone = [clinic.expected_now(pump_id, at) for at in moments]
    assert together == alone
    assert all(q is not None for q in together)
    assert together[0] > together[1] > together[2]
    assert clinic.expected_at(pump_id, []) == []
