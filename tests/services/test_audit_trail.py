"""The audit log a clinic can use (issue 13): entries naming their patient, filters and paging,
who may read which entries, and the entries that record access (sign-ins, failed sign-ins,
views, prints, exports) and password changes (issue 14); on both backends."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
from clinic_world import (
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    last_audit,
)

from pumpmgr.auth import AuthError
from pumpmgr.services.audit_trail import (
    PRINT_ACTION,
    SIGN_IN_FAILED_ACTION,
    UNKNOWN_USER,
    VIEW_ACTION,
    AuditFilter,
)
from pumpmgr.services.permissions import PermissionDenied
from pumpmgr.services.users import PASSWORD_CHANGE_ACTION, PASSWORD_RESET_ACTION
from pumpmgr.services.values import Actor


def _actions(page: object) -> list[str]:
    return [e.action for e in page.entries]  # type: ignore[attr-defined]


def test_entries_name_their_patient_and_filter_by_patient(world: World) -> None:
    clinic = world.clinic
    first, pump = baclofen_patient(world, "100001")
    other, _ = baclofen_patient(world, "100002")
    clinic.change_prescription(world.nurse, world.check, pump, continuing(baclofen_prescription()))
    page = clinic.records.audit_log(world.admin, AuditFilter(patient_id=first))
    assert sorted(_actions(page)) == [
        "patient.register",
        "prescription.change",
        "pump.implant",  # its implant event in the same entry
    ]
    assert page.total == 3
    assert {e.patient.name_and_mrn for e in page.entries if e.patient} == {
        "MEYER, Anna (MRN 100001)"
    }
    assert all(e.patient is not None and e.patient.id == first for e in page.entries)
    assert clinic.records.audit_log(world.admin, AuditFilter(patient_id=other)).total == 2
    # the whole log names the patient of each entry about one, and no patient for the rest
    everything = clinic.records.audit_log(world.admin)
    users = [e for e in everything.entries if e.entity_type == "user"]
    assert users and all(e.patient is None for e in users)


def test_the_prescription_change_says_drug_doses_and_prescriber(world: World) -> None:
    clinic = world.clinic
    _, pump = baclofen_patient(world)
    clinic.change_prescription(world.nurse, world.check, pump, continuing(baclofen_prescription()))
    first = json.loads(last_audit(world).payload)
    assert first["drug"] == "Baclofen" or first["drug"].lower() == "baclofen"
    assert first["daily_dose"] == {"before": None, "after": "400 mcg/day"}
    assert first["prescriber"] == "Dr Brandt"
    world.clock.advance(timedelta(days=1))
    clinic.change_prescription(
        world.nurse,
        world.check,
        pump,
        baclofen_prescription("450 mcg/day", at=START + timedelta(days=1)),
    )
    second = json.loads(last_audit(world).payload)
    assert second["daily_dose"] == {"before": "400 mcg/day", "after": "450 mcg/day"}


def test_filters_by_user_action_and_clinic_days_with_paging(world: World) -> None:
    clinic = world.clinic
    for n in range(5):
        baclofen_patient(world, f"20000{n}")
        world.clock.advance(timedelta(days=1))
    admin = world.admin
    by_nina = clinic.records.audit_log(admin, AuditFilter(username="NINA"))
    # her sign-in and two entries a patient (its registration, its implant)
    assert by_nina.total == 11 and {e.username for e in by_nina.entries} == {"nina"}
    family = clinic.records.audit_log(admin, AuditFilter(action="pump"))
    assert family.total == 5 and set(_actions(family)) == {"pump.implant"}
    exact = clinic.records.audit_log(admin, AuditFilter(action="patient.register"))
    assert exact.total == 5
    # START is 3 March 2025 09:00 in Berlin; one patient a day from then on
    days = clinic.records.audit_log(
        admin, AuditFilter(since=date(2025, 3, 4), until=date(2025, 3, 5))
    )
    assert days.total == 4  # a registration and an implant a day
    assert {e.recorded_at.astimezone(clinic.tz).date() for e in days.entries} == {
        date(2025, 3, 4),
        date(2025, 3, 5),
    }
    pages = [
        clinic.records.audit_log(admin, AuditFilter(username="nina"), offset=o, limit=4)
        for o in (0, 4, 8)
    ]
    seqs = [e.seq for p in pages for e in p.entries]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 11
    assert [len(p.entries) for p in pages] == [4, 4, 3] and pages[2].total == 11
    with pytest.raises(Exception, match="until"):
        clinic.records.audit_log(admin, AuditFilter(since=date(2025, 3, 5), until=date(2025, 3, 4)))
    assert {"patient.register", "pump.implant"} <= set(clinic.records.audit_actions())


def test_a_nurse_sees_her_own_patients_entries_the_administrator_all(world: World) -> None:
    clinic = world.clinic
    mine, _ = baclofen_patient(world, "300001")  # registered by nina
    theirs = clinic.register_patient(world.second, _input("300002"))
    viewed = clinic.register_patient(world.second, _input("300003"))
    clinic.records.record_access(world.nurse, VIEW_ACTION, viewed.id)
    seen = clinic.records.audit_log(world.nurse)
    patients = {e.patient.id for e in seen.entries if e.patient is not None}
    assert patients == {mine, viewed.id}
    # the other nurse's registration of the viewed patient is hers to see; user accounts not
    assert any(
        e.username == "otto" and e.patient and e.patient.id == viewed.id for e in seen.entries
    )
    assert all(e.username == "nina" or e.patient is not None for e in seen.entries)
    assert clinic.records.audit_log(world.nurse, AuditFilter(patient_id=theirs.id)).total == 0
    everything = clinic.records.audit_log(world.admin)
    assert everything.total > seen.total
    assert {e.patient.id for e in everything.entries if e.patient} == {mine, theirs.id, viewed.id}
    clinic.deactivate_user(world.admin, world.second.id, "left")
    with pytest.raises(PermissionDenied):
        clinic.records.audit_log(world.second)


def _input(mrn: str):  # type: ignore[no-untyped-def]
    from pumpmgr.services.inputs import PatientInput

    return PatientInput(mrn, "Weber", "Karl", date(1960, 1, 2), "spasticity_spinal")


def test_sign_ins_unlocks_and_failures_are_recorded_without_passwords(world: World) -> None:
    clinic = world.clinic
    clinic.sign_in("nina", PASSWORD)
    assert last_audit(world).action == "user.sign_in" and last_audit(world).username == "nina"
    clinic.users.sign_in("nina", PASSWORD, unlock=True)
    assert last_audit(world).action == "user.unlock"
    with pytest.raises(AuthError):
        clinic.sign_in("nina", "wrong password 1")
    failed = last_audit(world)
    assert (failed.action, failed.username, failed.entity_id) == (
        SIGN_IN_FAILED_ACTION,
        "nina",
        str(world.nurse.id),
    )
    typed_in_wrong_box = "my secret passphrase"
    with pytest.raises(AuthError):
        clinic.sign_in(typed_in_wrong_box, PASSWORD)
    unknown = last_audit(world)
    assert unknown.action == SIGN_IN_FAILED_ACTION and unknown.username == UNKNOWN_USER
    with world.clinic.database.read() as session:
        from sqlalchemy import select

        from pumpmgr.db import schema as db

        stored = "\n".join(
            f"{e.username} {e.entity_id} {e.payload} {e.reason}"
            for e in session.scalars(select(db.AuditEntry))
        )
    for secret in ("wrong password 1", typed_in_wrong_box, PASSWORD):
        assert secret not in stored
    clinic.deactivate_user(world.admin, world.second.id, "left the clinic")
    with pytest.raises(AuthError, match="deactivated"):
        clinic.sign_in("otto", PASSWORD)
    closed = last_audit(world)
    assert (closed.action, closed.username) == (SIGN_IN_FAILED_ACTION, "otto")
    assert json.loads(closed.payload) == {"checked": "password", "account": "deactivated"}
    assert clinic.verify_audit().ok


def test_views_prints_and_exports_are_chained_entries(world: World, tmp_path: object) -> None:
    clinic = world.clinic
    patient, _ = baclofen_patient(world)
    started = time.perf_counter()
    clinic.records.record_access(world.nurse, VIEW_ACTION, patient)
    took = time.perf_counter() - started
    print(f"\nrecording a chart view took {took * 1000:.1f} ms ({clinic.database.backend})")
    view = last_audit(world)
    assert (view.action, view.username, view.entity_type, view.entity_id) == (
        VIEW_ACTION,
        "nina",
        "patient",
        str(patient),
    )
    clinic.records.record_access(
        "someone (command line)", PRINT_ACTION, patient, {"sheet": "history"}
    )
    assert json.loads(last_audit(world).payload) == {"sheet": "history"}
    from pathlib import Path

    before = last_audit(world).seq
    for refused in (world.nurse, Actor(world.admin.id, "admin", "Admin", "administrator")):
        with pytest.raises(PermissionDenied):  # hashes inside: a signed-in administrator's
            clinic.records.export_to(refused, Path(str(tmp_path)) / "refused.json")
    assert last_audit(world).seq == before and not (Path(str(tmp_path)) / "refused.json").exists()
    summary = clinic.records.export_to(world.admin, Path(str(tmp_path)) / "clinic.json")
    export = last_audit(world)
    assert export.action == "export.clinic" and export.username == "admin"
    assert json.loads(export.payload) == {"file": "clinic.json", "patients": summary.patients}
    report = clinic.verify_integrity()
    assert report.ok and report.chain.head is not None and report.chain.head.seq == export.seq


def test_a_user_changes_her_password_with_the_old_one(world: World) -> None:
    clinic = world.clinic
    with pytest.raises(AuthError, match="old password"):
        clinic.users.change_password(world.nurse, "not my password", "a new passphrase")
    with pytest.raises(AuthError, match="new password"):
        clinic.users.change_password(world.nurse, PASSWORD, "short")
    with pytest.raises(AuthError, match="differ"):
        clinic.users.change_password(world.nurse, PASSWORD, PASSWORD)
    clinic.users.change_password(world.nurse, PASSWORD, "a new passphrase")
    entry = last_audit(world)
    assert entry.action == PASSWORD_CHANGE_ACTION and entry.username == "nina"
    assert "a new passphrase" not in entry.payload and PASSWORD not in entry.payload
    with pytest.raises(AuthError):
        clinic.sign_in("nina", PASSWORD)
    assert clinic.sign_in("nina", "a new passphrase").id == world.nurse.id
    assert not clinic.users.must_change_password(world.nurse)


def test_the_administrator_resets_a_password_to_be_changed(world: World) -> None:
    clinic = world.clinic
    with pytest.raises(PermissionDenied):
        clinic.users.reset_password(world.nurse, world.second.id, "temporary pass 1")
    with pytest.raises(Exception, match="your own password"):
        clinic.users.reset_password(world.admin, world.admin.id, "temporary pass 1")
    clinic.users.reset_password(world.admin, world.nurse.id, "temporary pass 1")
    entry = last_audit(world)
    assert (entry.action, entry.username, entry.entity_id) == (
        PASSWORD_RESET_ACTION,
        "admin",
        str(world.nurse.id),
    )
    assert "temporary pass 1" not in entry.payload
    nurse = clinic.sign_in("nina", "temporary pass 1")
    assert clinic.users.must_change_password(nurse)
    assert not clinic.users.must_change_password(world.second)
    clinic.users.change_password(nurse, "temporary pass 1", "her own passphrase")
    assert not clinic.users.must_change_password(nurse)
