"""The prescription path's dose checks (domain-rules §6): a blocked dose is never saved, a
possible tenfold error only by a prescriber re-entering the dose blind with a listed reason,
starts and restarts from the record, the patient's opioid status."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from datetime import UTC, date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from clinic_world import (
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
    written_order,
)
from pypdf import PdfReader

from pumpmgr.db import schema as db
from pumpmgr.db.engine import open_database
from pumpmgr.errors import ImpossibleInput, InputError
from pumpmgr.orders import needs_prescriber
from pumpmgr.schedule import Schedule
from pumpmgr.services import ClinicService, PermissionDenied
from pumpmgr.services.clinic import Actor
from pumpmgr.services.inputs import (
    IngredientInput,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    TenfoldConfirmation,
    TenfoldReason,
)
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import Q_

TENFOLD = "dose.possible_tenfold_error"
FIXTURES = Path(__file__).parents[1] / "reliability" / "fixtures"


def prescriber(world: World) -> Actor:
    """The prescriber the sample orders name, signed in with their own account."""
    return world.prescriber


def filled_at(world: World, dose: str) -> int:
    """Example 1's pump on ``dose`` of baclofen 2000 mcg/mL, filled at START, two days on."""
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription(dose, **{"x": "x"}))
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    world.clock.advance(timedelta(days=2))
    return pump_id


def tenfold_up(
    reason: TenfoldReason = TenfoldReason.OTHER,
    text: str = "dystonic crisis",
    again: str = "1320 mcg/day",
) -> PrescriptionInput:
    data = baclofen_prescription(
        "1320 mcg/day",
        at=START + timedelta(days=2),
        **{
            "dose.above_typical": "ordered",
            "dose.above_soft_max": "ordered",
            "titration.above_percent": "ordered",
        },
    )
    return replace(data, tenfold=TenfoldConfirmation({"baclofen": Q_(again)}, reason, text))


def test_a_blocked_dose_is_never_saved_by_anyone(world: World) -> None:
    doctor = prescriber(world)
    _, pump_id = baclofen_patient(world)
    for actor in (world.nurse, doctor):
        with pytest.raises(ImpossibleInput, match="hard maximum of 2,000 mcg/day"):
            world.clinic.change_prescription(
                actor,
                world.check,
                pump_id,
                continuing(
                    baclofen_prescription(
                        "2001 mcg/day", **{"dose.above_typical": "x", "dose.above_soft_max": "x"}
                    )
                ),
            )
    assert count(world, db.Prescription) == 0


def test_the_issue_case_a_nurse_cannot_save_a_tenfold_increase(world: World) -> None:
    pump_id = filled_at(world, "132 mcg/day")
    check = world.clinic.check_prescription(pump_id, tenfold_up())
    assert check.verdict == "stop"
    with pytest.raises(PermissionDenied) as refused:
        world.clinic.change_prescription(world.nurse, world.check, pump_id, tenfold_up())
    assert refused.value.field == "dose"
    assert count(world, db.Prescription) == 1


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (replace(tenfold_up(), tenfold=None), "dose re-entry", "type the new daily dose again"),
        (tenfold_up(again="1300 mcg/day"), "dose re-entry", "does not match"),
        (tenfold_up(again="13.2 mg/day"), "dose re-entry", "does not match"),  # the slip again
        (tenfold_up(TenfoldReason.OVERDOSE_OR_ADVERSE_EFFECT), "reason", "for an increase"),
        (tenfold_up(TenfoldReason.OTHER, text=" "), "reason", "say why"),
    ],
)
def test_a_prescriber_must_re_enter_blind_and_give_a_listed_reason(
    world: World,
    data: PrescriptionInput,
    field: str,
    words: str,
) -> None:
    doctor = prescriber(world)
    pump_id = filled_at(world, "132 mcg/day")
    with pytest.raises(InputError) as refused:
        world.clinic.change_prescription(doctor, world.check, pump_id, data)
    assert refused.value.field == field
    assert words in refused.value.message
    assert count(world, db.Prescription) == 1


def test_a_confirmed_tenfold_change_is_saved_with_its_reason_and_audited(world: World) -> None:
    doctor = prescriber(world)
    pump_id = filled_at(world, "132 mcg/day")
    # the same dose typed again in mg: the service compares the two entries as shown
    outcome = world.clinic.change_prescription(
        doctor, world.check, pump_id, tenfold_up(again="1.32 mg/day")
    )
    assert outcome.check.verdict == "stop"
    (stop,) = [f for f in outcome.prescription.findings if f.code == TENFOLD]
    assert stop.reason == "other: dystonic crisis; dose re-entered blind by brandt"
    entry = last_audit(world)  # the change's one entry holds the confirmation
    assert entry.action == "prescription.change"
    (confirmed,) = json.loads(entry.payload)["tenfold_confirmed"]
    assert confirmed["reason"] == "other" and confirmed["doses"] == {"baclofen": "1,320 mcg/day"}


def test_a_return_to_a_dose_held_within_the_restart_window(world: World) -> None:
    doctor = prescriber(world)
    pump_id = filled_at(world, "1000 mcg/day")
    at = START + timedelta(days=2)
    down = replace(
        baclofen_prescription(
            "150 mcg/day", at=at, **{"withdrawal.cut_below_half": "before surgery"}
        ),
        tenfold=TenfoldConfirmation(
            {"baclofen": Q_("150 mcg/day")}, TenfoldReason.PROCEDURE_OR_MINIMUM_RATE
        ),
    )
    assert (
        world.clinic.change_prescription(doctor, world.check, pump_id, down).check.verdict == "stop"
    )
    world.clock.advance(timedelta(hours=12))
    later = at + timedelta(hours=12)

    def back(dose: str) -> PrescriptionInput:
        return replace(
            baclofen_prescription(
                dose,
                at=later,
                **{
                    "dose.above_soft_max": "x",
                    "dose.above_typical": "x",
                    "titration.above_percent": "x",
                    "titration.within_24h": "x",
                },
            ),
            tenfold=TenfoldConfirmation({"baclofen": Q_(dose)}, TenfoldReason.RETURN_TO_HELD_DOSE),
        )

    with pytest.raises(InputError, match=r"held at most 1,000 mcg/day"):
        world.clinic.change_prescription(doctor, world.check, pump_id, back("1100 mcg/day"))
    outcome = world.clinic.change_prescription(doctor, world.check, pump_id, back("1000 mcg/day"))
    # checked against the held dose: no titration finding against 150 mcg/day
    assert "titration.above_percent" not in {f.code for f in outcome.prescription.findings}
    (stop,) = [f for f in outcome.prescription.findings if f.code == TENFOLD]
    assert stop.reason.startswith("a return to a dose held within the restart window")


def test_a_restart_reason_is_checked_as_a_start(world: World) -> None:
    doctor = prescriber(world)
    pump_id = filled_at(world, "100 mcg/day")
    data = replace(
        baclofen_prescription(
            "600 mcg/day",
            at=START + timedelta(days=2),
            **{"start.screening_bolus_not_given": "restarted after the pump ran dry"},
        ),
        tenfold=TenfoldConfirmation({"baclofen": Q_("600 mcg/day")}, TenfoldReason.RESTART),
    )
    outcome = world.clinic.change_prescription(doctor, world.check, pump_id, data)
    codes = {f.code for f in outcome.prescription.findings}
    assert "start.screening_bolus_not_given" in codes
    assert "titration.above_percent" not in codes  # a start has no current dose
    (stop,) = [f for f in outcome.prescription.findings if f.code == TENFOLD]
    assert stop.reason.startswith("a restart;")


def pdf_text(data: bytes) -> str:
    """A sheet's words, each run of white space as one space."""
    pages = PdfReader(BytesIO(data)).pages
    return " ".join(" ".join((p.extract_text() or "").split()) for p in pages)


def morphine_patient(world: World, status: str | None, mrn: str = "300001") -> int:
    patient = world.clinic.register_patient(
        world.nurse,
        PatientInput(mrn, "Okafor", "Ben", date(1960, 1, 1), "cancer_pain", opioid_status=status),
    )  # type: ignore[arg-type]
    assert patient.opioid_status == status
    return world.clinic.implant_pump(
        world.nurse,
        patient.id,
        PumpInput("synchromed2-40", f"SN{mrn}", date(2025, 3, 1), "left abdomen"),
        None,
    ).id


@pytest.mark.parametrize(("status", "warned"), [(None, True), ("naive", True), ("tolerant", False)])
def test_a_declared_start_uses_the_patients_opioid_status(
    world: World, status: str | None, warned: bool
) -> None:
    pump_id = morphine_patient(world, status)
    data = PrescriptionInput(
        (IngredientInput("morphine", Q_("25 mg/mL")),),
        Schedule.simple(Q_("5 mg/day")),
        START,
        "Dr Brandt",
        starts=frozenset({"morphine"}),
    )
    check = world.clinic.check_prescription(pump_id, data)
    assert ("start.above_range" in {str(f.code) for f in check.findings}) is warned


def first_morphine(dose: str, **given: object) -> PrescriptionInput:
    """A nurse's entry of a written order for morphine 25 mg/mL at ``dose``, at START."""
    data = PrescriptionInput(
        (IngredientInput("morphine", Q_("25 mg/mL")),),
        Schedule.simple(Q_(dose)),
        START,
        "Dr Brandt",
        order=written_order(START),
    )
    return replace(data, **given)  # type: ignore[arg-type]


def test_a_first_dose_of_a_drug_is_a_start_without_being_declared(world: World) -> None:
    """domain-rules §6: a start is a patient's first dose of a drug. Morphine 10 mg/day for
    an opioid-naive patient with no morphine on record is above the naive start range (0.2 to
    1 mg/day): a warning the prescriber signs before the pump is programmed (§7). The old
    check, which took a start only when declared, found nothing: 10 mg/day is within the
    typical range and there was no current dose."""
    pump_id = morphine_patient(world, "naive")
    data = first_morphine("10 mg/day")
    check = world.clinic.check_prescription(pump_id, data)
    (start,) = [f for f in check.findings if f.code == "start.above_range"]
    assert "opioid-naive" in start.message and "1 mg/day" in start.message
    assert needs_prescriber(str(check.verdict), (str(f.code) for f in check.findings), starts=())
    assert check.starts == {"morphine"}
    assert world.clinic.prescriptions.first_prescriptions(pump_id, data) == ("morphine",)
    with pytest.raises(InputError, match=r"start\.above_range"):
        world.clinic.change_prescription(world.nurse, world.check, pump_id, data)
    reasons = {"start.above_range": "as ordered"}
    outcome = world.clinic.change_prescription(
        world.nurse, world.check, pump_id, replace(data, reasons=reasons)
    )
    assert outcome.prescription.order_state == "awaiting_signature"
    assert not outcome.prescription.continued_doses
    # unsigned, it is not programmed: still the first dose; once signed, the drug's next
    # prescription is a change
    later = first_morphine("1 mg/day", effective_at=START + timedelta(days=1))
    assert world.clinic.prescriptions.first_prescriptions(pump_id, later) == ("morphine",)
    world.clinic.orders.sign_order(world.prescriber, outcome.prescription.id, PASSWORD)
    assert world.clinic.prescriptions.first_prescriptions(pump_id, later) == ()


def test_a_start_within_its_range_waits_for_the_prescriber_before_it_is_programmed(
    world: World,
) -> None:
    """domain-rules §7: a start is signed by the prescriber before it is programmed, with or
    without a finding. Morphine 0.5 mg/day for an opioid-naive patient is within the naive
    start range (0.2 to 1 mg/day) and finds nothing; a nurse's entry of it is held and no pump
    settings are printed until it is signed, while the prescriber's own entry is signed at
    once. The old rule took a start without a finding as an ordinary change, awaiting
    co-signature and programmed at once."""
    pump_id = morphine_patient(world, "naive")
    data = first_morphine("0.5 mg/day", ingredients=(IngredientInput("morphine", Q_("10 mg/mL")),))
    check = world.clinic.check_prescription(pump_id, data)
    assert (check.verdict, check.findings, check.starts) == ("ok", (), {"morphine"})
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, data)
    assert outcome.prescription.order_state == "awaiting_signature"
    sheets = SheetService(world.clinic)
    history = pdf_text(sheets.history("300001"))
    assert "awaiting the prescriber's signature: no pump settings" in history
    assert "0.05 mL/day" not in history  # 0.5 mg/day of 10 mg/mL: no settings printed
    with pytest.raises(ImpossibleInput, match="no prescription in force"):
        sheets.worksheet("300001")  # nothing is programmed yet
    world.clinic.orders.sign_order(world.prescriber, outcome.prescription.id, PASSWORD)
    assert "0.05 mL/day" in pdf_text(sheets.worksheet("300001"))
    own = morphine_patient(world, "naive", mrn="300002")
    signed = world.clinic.change_prescription(world.prescriber, world.check, own, data)
    assert signed.prescription.order_state == "signed"


def test_a_first_prescription_may_continue_a_dose_from_before_the_record(world: World) -> None:
    """A patient transferred in on morphine 9 mg/day: the entry says so, with the dose, and the
    new dose is checked against it (no start range, the titration and tenfold checks); the
    answer is kept with the prescription and in its audit entry."""
    pump_id = morphine_patient(world, "naive")
    same = first_morphine("10 mg/day", continues={"morphine": Q_("9 mg/day")})
    check = world.clinic.check_prescription(pump_id, same)
    assert check.verdict == "ok", check.findings
    tenfold = first_morphine("10 mg/day", continues={"Morphine": Q_("1 mg/day")})
    codes = {str(f.code) for f in world.clinic.check_prescription(pump_id, tenfold).findings}
    assert TENFOLD in codes and "start.above_range" not in codes
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, same)
    assert outcome.prescription.order_state == "awaiting_cosignature"
    assert outcome.prescription.continued_doses == {"morphine": Q_("9 mg/day")}
    entry = last_audit(world)
    assert entry.action == "prescription.change"
    assert json.loads(entry.payload)["continues"] == {"morphine": "9 mg/day"}
    # the answer is for a drug with no record only, a positive daily dose of one of its drugs
    again = first_morphine(
        "10 mg/day",
        effective_at=START + timedelta(days=1),
        continues={"morphine": Q_("10 mg/day")},
        reasons={"titration.within_24h": "x"},
    )
    with pytest.raises(InputError, match="on this patient's record already") as refused:
        world.clinic.check_prescription(pump_id, again)
    assert refused.value.field == "continues"
    other = morphine_patient(world, "naive", mrn="300009")
    for given, words in (
        ({"continues": {"baclofen": Q_("9 mg/day")}}, "not a drug of this prescription"),
        ({"continues": {"morphine": Q_("9 mg")}}, "continues"),
        (
            {"continues": {"morphine": Q_("9 mg/day")}, "starts": frozenset({"morphine"})},
            "choose one",
        ),
    ):
        with pytest.raises(InputError, match=words):
            world.clinic.check_prescription(other, first_morphine("10 mg/day", **given))


def test_a_restart_is_found_from_the_record_across_pumps(world: World) -> None:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription("400 mcg/day"))
    )
    world.clock.advance(timedelta(days=10))
    world.clinic.explant_pump(world.nurse, pump_id, date(2025, 3, 10), "pocket infection")
    new = world.clinic.implant_pump(
        world.nurse,
        patient_id,
        PumpInput("synchromed2-20", "SN-NEW", date(2025, 3, 13), "left lower abdomen"),
        None,
    )
    late = START + timedelta(days=10)
    check = world.clinic.check_prescription(new.id, baclofen_prescription("400 mcg/day", at=late))
    assert "start.screening_bolus_not_given" in {str(f.code) for f in check.findings}
    with_bolus = replace(
        baclofen_prescription("400 mcg/day", at=late),
        screening_bolus=Q_("75 mcg"),
        screening_effect_hours=6,
    )
    check = world.clinic.check_prescription(new.id, with_bolus)
    assert "start.above_range" in {str(f.code) for f in check.findings}  # above 150 mcg/day


def test_a_new_pump_within_the_window_continues_the_dose(world: World) -> None:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription("400 mcg/day"))
    )
    world.clock.advance(timedelta(days=1))
    world.clinic.explant_pump(world.nurse, pump_id, date(2025, 3, 4), "end of service")
    new = world.clinic.implant_pump(
        world.nurse,
        patient_id,
        PumpInput("synchromed2-20", "SN-NEXT", date(2025, 3, 4), "left lower abdomen"),
        None,
    )
    check = world.clinic.check_prescription(
        new.id, baclofen_prescription("4000 mcg/day", at=START + timedelta(hours=20))
    )
    codes = {str(f.code) for f in check.findings}
    assert TENFOLD in codes and not any(c.startswith("start.") for c in codes)


def test_the_pumps_lowest_flow_blocks_in_the_service(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    with pytest.raises(ImpossibleInput, match=r"lowest programmable flow of 0\.048 mL/day"):
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            continuing(baclofen_prescription("90 mcg/day", **{"x": "x"})),
        )
    assert count(world, db.Prescription) == 0


def test_the_opioid_status_is_edited_and_audited(world: World) -> None:
    patient = world.clinic.register_patient(
        world.nurse, PatientInput("300002", "Okafor", "Ben", date(1960, 1, 1), "cancer_pain")
    )
    assert patient.opioid_status is None
    _, version = world.clinic.patient_for_edit(patient.id)
    edited = world.clinic.edit_patient(
        world.nurse,
        patient.id,
        PatientInput(
            "300002", "Okafor", "Ben", date(1960, 1, 1), "cancer_pain", opioid_status="tolerant"
        ),
        version,
    )
    assert edited.opioid_status == "tolerant"
    payload = json.loads(last_audit(world).payload)
    assert "tolerant" in json.dumps(payload) and "opioid_status" in json.dumps(payload)
    with pytest.raises(InputError, match="opioid status"):
        world.clinic.register_patient(
            world.nurse,
            PatientInput(
                "300003", "Okafor", "Ben", date(1960, 1, 1), "cancer_pain", opioid_status="unknown"
            ),
        )  # type: ignore[arg-type]


# ------------------------------------------------------------ the library's new fields, edited


def test_the_new_library_fields_are_editable_audited_and_used(world: World) -> None:
    clinic = world.clinic
    before = clinic.library().drug("morphine")
    assert before.status("hard_max") == "clinic policy" and before.restart_window_hours == 48
    clinic.edit_drug_library(
        world.admin,
        "morphine",
        {
            "hard_max": Q_("40 mg/day"),
            "caution_above": Q_("25 mg/day"),
            "start_naive_max": Q_("0.5 mg/day"),
            "restart_window_hours": Q_("72 hour"),
            "withdrawal_on_cut": True,
            "soft_max": Q_("15 mg/day"),
        },
        "pharmacy committee 2026",
    )
    entry = last_audit(world)
    assert entry.action == "drug_library.edit" and entry.reason == "pharmacy committee 2026"
    payload = json.dumps(json.loads(entry.payload))
    assert "caution_above" in payload and "restart_window_hours" in payload
    after = clinic.library().drug("morphine")
    assert after.hard_max is not None and float(after.hard_max.value.to("mg/day").m) == 40
    assert after.hard_max.sources == ("clinic edit #1",)
    assert after.status("hard_max") == "sourced"  # the clinic's own value now
    assert after.status("soft_max") == "sourced"  # confirmed: no longer unconfirmed
    assert after.restart_window_hours == 72
    assert after.start is not None and after.start.max_naive is not None
    assert float(after.start.max_naive.value.to("mg/day").m) == 0.5
    assert after.start.max_tolerant is not None  # the shipped tolerant range stays
    pump_id = morphine_patient(world, None)
    data = PrescriptionInput(
        (IngredientInput("morphine", Q_("25 mg/mL")),),
        Schedule.simple(Q_("2 mg/day")),
        START,
        "Dr Brandt",
        starts=frozenset({"morphine"}),
    )
    (start,) = [
        f
        for f in clinic.check_prescription(pump_id, data).findings
        if f.code == "start.above_range"
    ]
    assert "0.5 mg/day" in start.message and start.sources == ("clinic edit #1",)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": Q_("1 mg/day")}, "colour"),
        ({"restart_window_hours": None}, "restart window hours"),
        ({"withdrawal_on_cut": Q_("1 mg/day")}, "withdrawal on cut"),
        ({"caution_above": Q_("20 mg")}, "caution above"),
        ({"start_max": True}, "start max"),
        ({"hard_max": None}, "hard max"),
    ],
)
def test_bad_library_edits_are_refused(
    world: World, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError) as refused:
        world.clinic.edit_drug_library(world.admin, "morphine", changes, "x")  # type: ignore[arg-type]
    assert refused.value.field == field
    assert count(world, db.DrugLibraryEdit) == 0


def test_edits_made_before_the_new_fields_still_apply(tmp_path: Path) -> None:
    """An existing clinic (a 0004 database) keeps its edited values through the upgrade; an
    old "hard_max": null (back to the shipped value, then none) now means the shipped policy
    maximum rather than none."""
    path = tmp_path / "clinic.db"
    shutil.copy(FIXTURES / "schema_0004.db", path)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO drug_library_edits (drug_key, changes, reason, edited_at, "
            "edited_by_id) VALUES ('baclofen', ?, '2024 protocol', "
            "'2024-01-01 00:00:00.000000', 1)",
            (json.dumps({"soft_max": 800.0, "hard_max": None, "typical_max": 1100.0}),),
        )
    with open_database(path, daily_backup_keep=None) as database:
        baclofen = ClinicService(database, tz=UTC).library().drug("baclofen")
    assert baclofen.soft_max is not None and float(baclofen.soft_max.value.m) == 800
    assert float(baclofen.typical_max.value.m) == 1100
    assert baclofen.hard_max is not None and float(baclofen.hard_max.value.m) == 2000
    assert baclofen.hard_max.policy


def test_a_refill_cannot_carry_a_tenfold_change_past_the_prescriber(world: World) -> None:
    pump_id = filled_at(world, "132 mcg/day")
    at = START + timedelta(days=2)
    with pytest.raises(PermissionDenied):
        world.clinic.record_refill(
            world.nurse, world.check, pump_id, fill(at, "19 mL", new_prescription=tenfold_up())
        )
    assert count(world, db.Refill) == 1 and count(world, db.Prescription) == 1


@pytest.mark.parametrize(
    ("new", "findings"),
    [
        ("200 mcg/mL", False),  # a tenth of the volume a day, the same dose: no dose finding
        ("20000 mcg/mL", True),  # the same dose, but ten times the maximum concentration
    ],
)
def test_a_concentration_change_alone_makes_no_dose_finding(
    world: World, new: str, findings: bool
) -> None:
    """Domain-rules §6: the dose compared is D in mass a day, never mL a day."""
    pump_id = filled_at(world, "400 mcg/day")
    change = replace(
        baclofen_prescription("400 mcg/day", "2000 mcg/mL", at=START + timedelta(days=2)),
        ingredients=(IngredientInput("baclofen", Q_(new)),),
    )
    check = world.clinic.check_prescription(pump_id, change)
    codes = {str(f.code) for f in check.findings}
    assert not {c for c in codes if c.startswith(("dose.", "titration.", "withdrawal."))}
    assert bool(codes) is findings


def test_the_opioid_status_recorded_alone_picks_the_start_range(world: World) -> None:
    """The window records the opioid status by itself (ClinicService.set_opioid_status):
    audited as an edit of the patient, and the next start check uses it."""
    pump_id = morphine_patient(world, None)
    patient_id = world.clinic.find_patient("300001").id
    start = PrescriptionInput(
        (IngredientInput("morphine", Q_("25 mg/mL")),),
        Schedule.simple(Q_("5 mg/day")),
        START,
        "Dr Brandt",
        starts=frozenset({"morphine"}),
    )

    def warned() -> bool:
        found = world.clinic.check_prescription(pump_id, start).findings
        return "start.above_range" in {str(f.code) for f in found}

    assert warned()  # not recorded: naive, 5 mg/day is above 1 mg/day
    record = world.clinic.set_opioid_status(
        world.nurse, patient_id, "tolerant", "oral morphine 90 mg/day for 3 weeks"
    )
    assert record.opioid_status == "tolerant" and not warned()
    entry = last_audit(world)
    assert (entry.action, entry.reason) == ("patient.edit", "oral morphine 90 mg/day for 3 weeks")
    assert json.loads(entry.payload)["opioid_status"] == {"before": None, "after": "tolerant"}
    world.clinic.set_opioid_status(world.nurse, patient_id, None)
    assert warned()
    with pytest.raises(InputError, match="opioid status"):
        world.clinic.set_opioid_status(world.nurse, patient_id, "sometimes")  # type: ignore[arg-type]
