"""The clinic edits a pump model's flow limits and labelling (domain-rules §6): audited, kept
as append-only rows, and used by every later dose check. Both backends."""

from __future__ import annotations

import json

import pytest
from clinic_world import World, baclofen_patient, baclofen_prescription, count, last_audit

from pumpmgr.db import schema as db
from pumpmgr.errors import PumpMgrError
from pumpmgr.services import PermissionDenied
from pumpmgr.units import Q_

BELOW_MIN = "pump.below_min_flow"
NOT_LABELLED = "pump.not_labelled"


def codes(world: World, pump_id: int, dose: str) -> set[str]:
    check = world.clinic.check_prescription(pump_id, baclofen_prescription(dose))
    return {str(f.code) for f in check.findings}


def test_a_lower_minimum_flow_is_used_by_the_next_check_and_audited(world: World) -> None:
    _, pump_id = baclofen_patient(world)  # SynchroMed II: 0.048 mL/day at the least
    assert BELOW_MIN in codes(world, pump_id, "80 mcg/day")  # 0.04 mL/day of 2,000 mcg/mL
    model = world.clinic.configuration.edit_pump_model(
        world.admin,
        "synchromed2-20",
        {"min_flow": Q_("0.03 mL/day")},
        "the manufacturer's 2026 labelling",
    )
    assert model.min_flow == Q_(0.03, "mL/day")
    assert BELOW_MIN not in codes(world, pump_id, "80 mcg/day")
    assert BELOW_MIN in codes(world, pump_id, "50 mcg/day")  # 0.025 mL/day
    entry = last_audit(world)
    assert (entry.action, entry.entity_id) == ("pump_catalog.edit", "synchromed2-20")
    assert json.loads(entry.payload) == {"min_flow": 0.03}
    assert entry.reason == "the manufacturer's 2026 labelling"
    world.clinic.configuration.edit_pump_model(
        world.admin, "synchromed2-20", {"min_flow": None}, "back to the catalog"
    )
    assert BELOW_MIN in codes(world, pump_id, "80 mcg/day")
    assert count(world, db.PumpCatalogEdit) == 2


def test_labelling_added_by_the_clinic_warns_of_a_drug_the_pump_is_not_labelled_for(
    world: World,
) -> None:
    _, pump_id = baclofen_patient(world)
    assert NOT_LABELLED not in codes(world, pump_id, "400 mcg/day")  # none held: none checked
    world.clinic.configuration.edit_pump_model(
        world.admin,
        "synchromed2-20",
        {"labelled_drugs": {"morphine": [Q_("10 mg/mL"), Q_("25 mg/mL")]}},
        "our formulary",
    )
    assert NOT_LABELLED in codes(world, pump_id, "400 mcg/day")
    world.clinic.configuration.edit_pump_model(
        world.admin,
        "synchromed2-20",
        {"labelled_drugs": {"morphine": [], "baclofen": [Q_("2000 mcg/mL")]}},
        "baclofen too",
    )
    assert NOT_LABELLED not in codes(world, pump_id, "400 mcg/day")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": Q_("40 mL")}, "capacity"),  # not editable here
        ({"min_flow": Q_("0.03 mL")}, "min flow"),  # not a flow
        ({"min_flow": Q_("0 mL/day")}, "min flow"),
        ({"min_flow": Q_("2 mL/day"), "max_flow": Q_("1 mL/day")}, "min flow"),  # low above high
        ({"labelled_drugs": {"aspirin": []}}, "drug"),  # not in the library
        ({"labelled_drugs": {"morphine": [Q_("10 mg")]}}, "labelled drugs (morphine)"),
    ],
)
def test_a_wrong_edit_is_refused_naming_the_field_and_nothing_is_written(
    world: World, changes: dict, field: str
) -> None:
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.configuration.edit_pump_model(world.admin, "synchromed2-20", changes, "x")
    assert refused.value.field in (field, field.replace(" ", "_")) or field in str(refused.value)
    assert count(world, db.PumpCatalogEdit) == 0


def test_a_nurse_does_not_edit_the_pump_catalog(world: World) -> None:
    """As the drug library: an administrator or a prescriber edits it, a nurse does not."""
    with pytest.raises(PermissionDenied):
        world.clinic.configuration.edit_pump_model(
            world.nurse, "synchromed2-20", {"min_flow": Q_("0.03 mL/day")}, "x"
        )
    assert count(world, db.PumpCatalogEdit) == 0
