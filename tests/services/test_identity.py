"""Identity (issue 12, group 3): medical record numbers normalised and unique after
normalisation, names and free text without control or hidden characters (both backends)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from clinic_world import World, count

from pumpmgr.db import schema as db
from pumpmgr.db.audit import append_audit
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services.inputs import PatientInput

ANNA = PatientInput("D000001", "Meyer", "Anna", date(1970, 5, 1), "spasticity_spinal")


@pytest.mark.parametrize("typed", ["d000001", "\uff24000001", "Ｄ０００００１", " D000001 "])
def test_the_same_mrn_however_typed_is_one_patient(world: World, typed: str) -> None:
    world.clinic.register_patient(world.nurse, ANNA)
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.register_patient(world.nurse, replace(ANNA, mrn=typed, given_name="Bea"))
    assert refused.value.code is Code.DB_CONFLICT and "medical record number" in (
        refused.value.message
    )
    assert count(world, db.Patient) == 1
    assert world.clinic.find_patient(typed).given_name == "Anna"


def test_the_stored_form_is_the_clinics(world: World) -> None:
    patient = world.clinic.register_patient(world.nurse, replace(ANNA, mrn="ｄ０００００２"))
    assert patient.mrn == "D000002"


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("D00\u200b0001", "U+200B ZERO WIDTH SPACE at character 4"),
        ("D000001\u2060", "U+2060 WORD JOINER"),
        ("\ufeffD000001", "U+FEFF"),
        ("D00 0001", "a space at character 4"),
        ("D000\n001", "U+000A"),
        ("D000001\x00", "U+0000"),
        ("D\u202e100000", "RIGHT-TO-LEFT OVERRIDE"),
        ("D" + "0" * 64, "at most 64 characters"),
    ],
)
def test_invisible_and_control_characters_in_an_mrn_are_refused(
    world: World, typed: str, found: str
) -> None:
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.register_patient(world.nurse, replace(ANNA, mrn=typed))
    assert refused.value.field == "medical record number" and found in refused.value.message
    assert count(world, db.Patient) == 0


def test_an_mrn_stored_before_normalising_still_blocks_its_twin(world: World) -> None:
    """A clinic upgraded with ``d000001`` stored as typed: ``D000001`` is the same patient, and
    the number is still found as typed."""
    anna = world.clinic.register_patient(world.nurse, ANNA)
    # What a pumpmgr from before normalising wrote: the number as typed, in an audited unit of
    # work (a row changed outside pumpmgr would rightly be named by the check after the test).
    with world.clinic.database.write() as session:
        session.get_one(db.Patient, anna.id).mrn = "d000001"
        append_audit(
            session,
            username=world.nurse.username,
            action="patient.edit",
            entity_type="patient",
            entity_id=anna.id,
            changes={"mrn": {"before": "D000001", "after": "d000001"}},
        )
    with pytest.raises(PumpMgrError, match="medical record number"):
        world.clinic.register_patient(world.nurse, replace(ANNA, given_name="Bea"))
    assert world.clinic.find_patient("d000001").given_name == "Anna"


def test_editing_to_another_patients_mrn_is_refused(world: World) -> None:
    world.clinic.register_patient(world.nurse, ANNA)
    bea = world.clinic.register_patient(world.nurse, replace(ANNA, mrn="D000002", given_name="Bea"))
    _, version = world.clinic.patient_for_edit(bea.id)
    with pytest.raises(PumpMgrError, match="medical record number"):
        world.clinic.edit_patient(
            world.nurse, bea.id, replace(ANNA, mrn="d000001", given_name="Bea"), version
        )
    kept = world.clinic.edit_patient(
        world.nurse, bea.id, replace(ANNA, mrn="d000002", given_name="Bea"), version
    )  # its own number, however typed
    assert kept.mrn == "D000002"


@pytest.mark.parametrize(
    ("field", "value", "found"),
    [
        ("family_name", "Meyer\n2031-01-01  OVERDUE  Forged", "a line break at character 6"),
        ("given_name", "An\rna", "a line break"),
        ("given_name", "An\x1bna", "U+001B"),
        ("family_name", "Mey\u202eer", "RIGHT-TO-LEFT OVERRIDE"),
        ("emergency_contact_name", "Tom\u2028Two", "a line break"),
        ("notes", "first line\n\tsecond\x07", "U+0007"),
        ("family_name", "M" * 201, "at most 200 characters"),
    ],
)
def test_names_and_free_text_refuse_control_characters(
    world: World, field: str, value: str, found: str
) -> None:
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.register_patient(world.nurse, replace(ANNA, **{field: value}))
    named = {
        "family_name": "family name",
        "given_name": "given name",
        "emergency_contact_name": "emergency contact",
        "notes": "notes",
    }[field]
    assert refused.value.field == named and found in refused.value.message
    assert refused.value.message.startswith(f"{named}: ")
    assert count(world, db.Patient) == 0


def test_multi_line_notes_keep_their_lines(world: World) -> None:
    patient = world.clinic.register_patient(
        world.nurse, replace(ANNA, notes="first line\r\nsecond line\n\tindented")
    )
    assert patient.notes == "first line\nsecond line\n\tindented"


def test_a_full_name_with_a_newline_is_refused(world: World) -> None:
    with pytest.raises(PumpMgrError) as refused:
        world.clinic.add_user(world.admin, "nora", "correct horse battery", "Nora\nNurse", "nurse")
    assert refused.value.field == "full_name" and "line break" in refused.value.message
