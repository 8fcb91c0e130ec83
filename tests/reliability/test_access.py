"""Harness 9: access (issue 6; reliability.md T9).

- The role × action matrix: every write action of :class:`ClinicService` for every role, deny
  by default. The expected table is written out here a second time, so a change to
  ``pumpmgr/services/permissions.py`` must be made (and reviewed) twice. Every allowed pair
  succeeds; every other pair is refused with ``auth.not_permitted`` and writes nothing. A public
  method that writes must name its action (checked from the source), and a stale, forged or
  deactivated account is refused like an unknown role.
- Passwords: argon2id with argon2-cffi's defaults, checked on the stored strings of real users
  (``$argon2id$v=19$m=65536,t=3,p=4``, above OWASP's m=19456 KiB, t=2), and a cheap hash
  upgraded at the next sign-in.
- Throttling after failed sign-ins and second-user checks, on an injected clock, counted in
  the database so every program on it (each CLI call, each workstation) shares the count.
- Auto-lock: the services keep the clinic's idle minutes (the lock itself is the desktop
  program's, ``ui/idle.py`` on a Qt timer, tested with the UI).
- No patient data and no password in any log: every logger captured at DEBUG during a full
  service run with seeded marker strings, then searched, with the audit payloads and the error
  messages, for the passwords (and the logs for the patient markers).
"""

from __future__ import annotations

import inspect
import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from clinical_world import (
    BERLIN,
    FAST_HASHER,
    PASSWORD,
    START,
    Clinic,
    catheter_input,
    continuing,
    make_clinic,
    new_patient,
    patient_input,
    prescription,
    pump_input,
    refill,
)
from database_targets import DbTarget
from sqlalchemy import func, select

from pumpmgr import auth
from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database, open_database
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services import Actor, ClinicService, PermissionDenied
from pumpmgr.services.inputs import (
    EventCorrection,
    PatientInput,
    PumpCorrection,
    Verification,
)
from pumpmgr.services.permissions import PERMISSIONS, ROLES, Action, allowed
from pumpmgr.services.throttle import name_key
from pumpmgr.units import Q_

N, P, A = "nurse", "prescriber", "administrator"
#: The matrix as the clinic agreed it (see permissions.py): everything else is refused.
EXPECTED: dict[str, set[str]] = {
    "add_user": {A},
    "reset_password": {A},
    "deactivate_user": {A},
    "update_settings": {A},
    "edit_drug_library": {P, A},
    "recompute_all_forecasts": {P, A},
    "register_patient": {N, P, A},
    "edit_patient": {N, P, A},
    "set_patient_status": {N, P},
    "implant_pump": {N, P},
    "replace_pump": {N, P},
    "explant_pump": {N, P},
    "revise_catheter": {N, P},
    "record_mri": {N, P},
    "record_event": {N, P},
    "change_prescription": {N, P},
    "record_refill": {N, P},
    "correct_refill": {N, P},
    "correct_record": {N, P},
    "verify": {N, P},
    "sign_order": {P},
    "review_incident": {P},
    "individual_maximum": {P},
    "book_visit": {N, P, A},
    "mark_attendance": {N, P},
}
#: Public methods that open a write unit of work without asking the table for the actor's
#: action, and why that is right.
WRITES_WITHOUT_ACTOR = {
    "create_first_administrator": "refused once any account exists",
    "sign_in": "only upgrades an outdated password hash",
    "verify_second_user": "a check only (and a hash upgrade); the verifier's role is checked "
    "against Action.VERIFY",
}


def audit_count(clinic: Clinic) -> int:
    with clinic.service.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(db.AuditEntry)) or 0)


class Calls:
    """One call of each write action, each on fresh records made by a nurse."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.serial = 0

    def mrn(self) -> str:
        self.serial += 1
        return f"9{self.serial:05d}"

    @property
    def last_mrn(self) -> str:
        """The medical record number :meth:`mrn` gave last."""
        return f"9{self.serial:05d}"

    def pump(self) -> tuple[int, int]:
        return new_patient(self.clinic, self.mrn())

    def prescribed(self) -> int:
        _, pump_id = self.pump()
        c = self.clinic
        c.service.change_prescription(c.nurse, c.check, pump_id, continuing(prescription(at=c.now)))
        return pump_id

    def filled(self) -> tuple[int, int]:
        pump_id = self.prescribed()
        c = self.clinic
        outcome = c.service.record_refill(c.nurse, c.check, pump_id, refill(c.now))
        return pump_id, outcome.refill.id

    def call(self, action: str, actor: Actor) -> None:
        c, s = self.clinic, self.clinic.service
        today = c.now.astimezone(s.tz).date()
        if action == "add_user":
            s.add_user(actor, f"user{self.mrn()}", PASSWORD, "New User", "nurse")
        elif action == "reset_password":
            user = s.add_user(c.admin, f"user{self.mrn()}", PASSWORD, "Forgetful User", "nurse")
            s.users.reset_password(actor, user.id, "temporary passphrase")
        elif action == "deactivate_user":
            user = s.add_user(c.admin, f"user{self.mrn()}", PASSWORD, "Leaving User", "nurse")
            s.deactivate_user(actor, user.id, "left the clinic")
        elif action == "update_settings":
            s.update_settings(actor, replace(s.settings(), clinic_name=f"Clinic {self.mrn()}"))
        elif action == "edit_drug_library":
            s.edit_drug_library(actor, "baclofen", {"soft_max": Q_("1000 mcg/day")}, "review")
        elif action == "recompute_all_forecasts":
            s.recompute_all_forecasts(actor, "after review")
        elif action == "register_patient":
            s.register_patient(actor, patient_input(self.mrn()))
        elif action == "edit_patient":
            patient_id, _ = self.pump()
            record, version = s.patient_for_edit(patient_id)
            s.edit_patient(
                actor,
                patient_id,
                PatientInput(
                    record.mrn, "Changed", "Name", record.date_of_birth, record.indication
                ),
                version,
            )
        elif action == "set_patient_status":
            patient_id, _ = self.pump()
            s.set_patient_status(actor, patient_id, "inactive", "moved away")
        elif action == "implant_pump":
            patient = s.register_patient(c.nurse, patient_input(self.mrn()))
            s.implant_pump(
                actor, patient.id, pump_input(serial=self.mrn(), implanted_on=today), None
            )
        elif action == "replace_pump":
            _, pump_id = self.pump()
            s.replace_pump(
                actor, pump_id, pump_input(serial=self.mrn(), implanted_on=today), "battery ERI"
            )
        elif action == "explant_pump":
            _, pump_id = self.pump()
            s.explant_pump(actor, pump_id, today, "infection")
        elif action == "revise_catheter":
            _, pump_id = self.pump()
            s.revise_catheter(actor, pump_id, catheter_input(), today, "kinked")
        elif action == "record_mri":
            _, pump_id = self.pump()
            s.record_mri(actor, pump_id, c.now, True, "lumbar spine")
        elif action == "record_event":
            _, pump_id = self.pump()
            s.record_event(actor, pump_id, "note", c.now, "telephone follow-up")
        elif action == "change_prescription":
            _, pump_id = self.pump()
            s.change_prescription(actor, c.check, pump_id, continuing(prescription(at=c.now)))
        elif action == "record_refill":
            pump_id = self.prescribed()
            s.record_refill(actor, c.check, pump_id, refill(c.now))
        elif action == "correct_refill":
            _, refill_id = self.filled()
            s.correct_refill(actor, c.check, refill_id, "lot misread", lot_number="L999")
        elif action == "correct_record":
            patient_id, pump_id = self.pump()
            s.record_event(c.nurse, pump_id, "note", c.now, "telephone follow-up")
            event = next(e for e in s.patient_chart(patient_id).events if e.kind == "note")
            s.correct_record(
                actor, EventCorrection(event.id, note="video follow-up"), "wrong kind of call noted"
            )
        elif action == "sign_order":  # the order a nurse entered for this prescriber
            pump_id = self.prescribed()
            order = next(
                p
                for p in s.patient_chart(s.find_patient(self.last_mrn).id).prescriptions
                if p.pump_id == pump_id
            )
            s.orders.sign_order(actor, order.id, PASSWORD)
        elif action == "review_incident":  # a fill with an expired solution
            pump_id = self.prescribed()
            s.record_refill(
                c.nurse,
                c.check,
                pump_id,
                replace(refill(c.now), expiry=today - timedelta(days=1), already_filled=True),
            )
            (incident,) = s.orders.incidents(s.find_patient(self.last_mrn).id)
            s.orders.review_incident(actor, incident.id, "solution discarded; pump refilled")
        elif action == "individual_maximum":  # raised with a second prescriber's signature
            patient_id, _ = self.pump()
            second = s.add_user(c.admin, f"second{self.mrn()}", PASSWORD, "Dr Second", "prescriber")
            s.maxima.raise_maximum(
                actor,
                Verification(second.username, PASSWORD),
                patient_id,
                "baclofen",
                Q_("3000 mcg/day"),
                "severe dystonia",
            )
        elif action == "book_visit":
            pump_id, _ = self.filled()
            day = s.bookings.propose(pump_id)
            assert day is not None
            s.bookings.book(actor, pump_id, day)
        elif action == "mark_attendance":
            pump_id, _ = self.filled()
            booking = s.bookings.book(c.nurse, pump_id, today, reason="seen today").booking
            s.bookings.mark_attended(actor, booking.id)
        else:
            raise AssertionError(f"no call for the action '{action}': add one to Calls")


@pytest.fixture
def clinic(database: Database) -> Clinic:
    return make_clinic(database)


def actor_of(clinic: Clinic, role: str) -> Actor:
    return {N: clinic.nurse, P: clinic.prescriber, A: clinic.admin}[role]


def test_the_table_is_the_agreed_matrix() -> None:
    assert {str(a) for a in Action} == set(EXPECTED)
    for action, roles in EXPECTED.items():
        assert set(PERMISSIONS[Action(action)]) == roles, action
        for role in ROLES:
            assert allowed(role, action) == (role in roles)
    # deny by default: unknown roles and actions may do nothing
    for role in ("", "Administrator", "admin", "root", "nurse "):
        assert not any(allowed(role, action) for action in EXPECTED)
    assert not any(allowed(role, "delete_patient") for role in ROLES)


def test_every_write_method_names_its_action() -> None:
    """A public method that opens a write unit of work either asks the table for its action
    first, or is one of the documented exceptions."""
    for name, method in inspect.getmembers(ClinicService, inspect.isfunction):
        if name.startswith("_"):
            continue
        source = inspect.getsource(method)
        if "database.write()" not in source and "self._write(" not in source:
            continue
        if name in WRITES_WITHOUT_ACTOR:
            continue
        parameters = list(inspect.signature(method).parameters)
        assert parameters[:2] == ["self", "actor"], f"{name} writes without an actor"
        assert name in EXPECTED, f"{name} writes but is not in the permission table"
        assert re.search(r"self\._permit\(actor, Action\.\w+\)", source), name
        action = re.search(r"self\._permit\(actor, Action\.(\w+)\)", source)
        assert action is not None and Action[action.group(1)] == name, name


def test_role_by_action_matrix(
    clinic: Clinic,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    """Every role × every write action: allowed pairs succeed, the others are refused with
    a catalogued code and leave no trace."""
    started = time.perf_counter()
    calls = Calls(clinic)
    failures: list[str] = []
    pairs = 0
    for action, roles in EXPECTED.items():
        if action == "verify":
            continue
        for role in ROLES:
            pairs += 1
            clinic.at(clinic.now + timedelta(minutes=1))
            actor = actor_of(clinic, role)
            before = audit_count(clinic)
            try:
                calls.call(action, actor)
            except PermissionDenied as refused:
                if role in roles:
                    failures.append(f"{role} × {action}: refused ({refused.message})")
                elif refused.code is not Code.AUTH_NOT_PERMITTED or refused.field != "user":
                    failures.append(f"{role} × {action}: refused with {refused.code}")
                continue
            if role not in roles:
                failures.append(f"{role} × {action}: ALLOWED, the table denies it")
            del before
    # a refused action writes nothing: checked once more on a clean call
    before = audit_count(clinic)
    with pytest.raises(PermissionDenied):
        clinic.service.add_user(clinic.nurse, "mallory", PASSWORD, "M", "administrator")
    assert audit_count(clinic) == before
    harness_report(
        f"9 access matrix {clinic.service.database.backend}",
        pairs,
        len(failures),
        time.perf_counter() - started,
    )
    assert not failures, "\n".join(failures)


def test_a_pump_date_correction_follows_the_correct_record_row(clinic: Clinic) -> None:
    """A pump's implant date is corrected through correct_record, so its row of the table
    decides: clinicians may, an administrator (who records nothing clinical) may not, and
    the refusal writes nothing."""
    calls = Calls(clinic)
    for role in ROLES:
        patient_id, pump_id = calls.pump()
        implanted = clinic.service.patient_chart(patient_id).pumps[0].implanted_on
        before = audit_count(clinic)
        correction = PumpCorrection(pump_id, implanted_on=implanted - timedelta(days=1))
        if role in EXPECTED["correct_record"]:
            fixed = clinic.service.correct_record(
                actor_of(clinic, role), correction, "implanted the day before"
            )
            assert fixed.implanted_on == implanted - timedelta(days=1), role
            assert audit_count(clinic) == before + 1, role
            continue
        with pytest.raises(PermissionDenied) as refused:
            clinic.service.correct_record(actor_of(clinic, role), correction, "typo")
        assert refused.value.code is Code.AUTH_NOT_PERMITTED, role
        assert audit_count(clinic) == before, role
        assert clinic.service.patient_chart(patient_id).pumps[0].implanted_on == implanted


def test_refused_actions_write_nothing(clinic: Clinic) -> None:
    calls = Calls(clinic)
    _, pump_id = calls.pump()
    before = audit_count(clinic)
    with clinic.service.database.read() as session:
        prescriptions = session.scalar(select(func.count()).select_from(db.Prescription))
    with pytest.raises(PermissionDenied):
        clinic.service.change_prescription(
            clinic.admin, clinic.check, pump_id, continuing(prescription(at=clinic.now))
        )
    with pytest.raises(PermissionDenied):
        clinic.service.update_settings(
            clinic.nurse, replace(clinic.service.settings(), clinic_name="Hijacked")
        )
    assert audit_count(clinic) == before
    with clinic.service.database.read() as session:
        assert session.scalar(select(func.count()).select_from(db.Prescription)) == prescriptions
    assert clinic.service.settings().clinic_name != "Hijacked"


def test_the_second_user_must_be_a_clinician(clinic: Clinic) -> None:
    calls = Calls(clinic)
    _, pump_id = calls.pump()
    before = audit_count(clinic)
    with pytest.raises(PermissionDenied) as refused:
        clinic.service.change_prescription(
            clinic.nurse,
            Verification("admin", PASSWORD),
            pump_id,
            continuing(prescription(at=clinic.now)),
        )
    assert refused.value.code is Code.AUTH_NOT_PERMITTED
    assert refused.value.field == "verification"
    assert audit_count(clinic) == before
    outcome = clinic.service.change_prescription(
        clinic.nurse,
        Verification("pia", PASSWORD),
        pump_id,
        continuing(prescription(at=clinic.now)),
    )
    assert outcome.prescription.id


def test_stale_forged_and_deactivated_accounts_are_refused(clinic: Clinic) -> None:
    calls = Calls(clinic)
    forged = replace(clinic.nurse, role="administrator")  # a nurse claiming to be an admin
    unknown = Actor(9999, "ghost", "Ghost", "nurse")
    renamed = replace(clinic.nurse, username="otto")
    for actor in (forged, unknown, renamed):
        with pytest.raises(PermissionDenied):
            if actor.role == "administrator":
                clinic.service.add_user(actor, "eve", PASSWORD, "Eve", "administrator")
            else:
                calls.call("record_event", actor)
    # an exact copy of the administrator's Actor, made by hand: no sign-in, no proof
    hand_made = Actor(
        clinic.admin.id, clinic.admin.username, clinic.admin.full_name, "administrator"
    )
    assert hand_made == clinic.admin
    with pytest.raises(PermissionDenied, match="not signed in; sign in with your password"):
        clinic.service.add_user(hand_made, "eve", PASSWORD, "Eve", "administrator")
    added = clinic.service.add_user(clinic.admin, "eve", PASSWORD, "Eve", "administrator")
    with pytest.raises(PermissionDenied, match="not signed in"):  # adding is not signing in
        clinic.service.add_user(added, "eve2", PASSWORD, "Eve Two", "nurse")
    with clinic.service.database.write() as session:
        session.get_one(db.User, clinic.nurse.id).active = False
    with pytest.raises(PermissionDenied, match="deactivated"):
        calls.call("record_event", clinic.nurse)


def test_passwords_are_argon2id_with_the_library_defaults(database: Database) -> None:
    """Real users (default hasher): the stored PHC string, its parameters, and the upgrade of
    a cheap hash at the next sign-in."""
    service = ClinicService(database, clock=FixedClock(START), tz=START.tzinfo, workstation="test")
    defaults = PasswordHasher()
    admin = service.create_first_administrator("admin", PASSWORD, "Ada Admin")
    service.add_user(admin, "nina", "another good passphrase", "Nina Nurse", "nurse")
    with database.read() as session:
        hashes = {u.username: u.password_hash for u in session.scalars(select(db.User))}
    for username, stored in hashes.items():
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), username
        parameters = extract_parameters(stored)
        assert parameters == defaults._parameters, username
        assert parameters.memory_cost >= 19456 and parameters.time_cost >= 2
        assert parameters.salt_len >= 16 and parameters.hash_len >= 32
        assert PASSWORD not in stored
    assert hashes["admin"] != hashes["nina"]
    # a cheap hash (as the demo clinic writes) is replaced by the defaults at sign-in
    with database.write() as session:
        user = session.scalars(select(db.User).where(db.User.username == "nina")).one()
        user.password_hash = FAST_HASHER.hash("another good passphrase")
    service.sign_in("nina", "another good passphrase")
    with database.read() as session:
        upgraded = session.scalars(select(db.User).where(db.User.username == "nina")).one()
        assert upgraded.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    with pytest.raises(auth.AuthError):
        service.sign_in("nina", "wrong passphrase!")


def test_sign_in_is_throttled_after_failures(clinic: Clinic) -> None:
    service, clock = clinic.service, clinic.clock
    for _ in range(4):
        with pytest.raises(auth.AuthError) as wrong:
            service.sign_in("nina", "not the password")
        assert wrong.value.code is Code.AUTH_BAD_CREDENTIALS
    assert service.sign_in("nina", PASSWORD).username == "nina"  # 4 failures: no delay; reset
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            service.sign_in("nina", "not the password")
    # the fifth failure starts a 30 s wait: even the right password is refused
    with pytest.raises(PumpMgrError) as throttled:
        service.sign_in("nina", PASSWORD)
    assert throttled.value.code is Code.AUTH_THROTTLED
    assert throttled.value.field == "password"
    assert "wait 30 s" in throttled.value.message
    clock.advance(timedelta(seconds=29))
    with pytest.raises(PumpMgrError, match="wait 1 s"):
        service.sign_in("NINA ", PASSWORD)  # the same name however typed
    clock.advance(timedelta(seconds=1))
    # the sixth failure doubles the wait, and so on up to 15 minutes
    waits = []
    for _ in range(8):
        with pytest.raises(auth.AuthError):
            service.sign_in("nina", "not the password")
        with pytest.raises(PumpMgrError) as again:
            service.sign_in("nina", PASSWORD)
        waits.append(int(re.search(r"wait (\d+) s", again.value.message)[1]))  # type: ignore[index]
        clock.advance(timedelta(seconds=waits[-1]))
    assert waits == [60, 120, 240, 480, 900, 900, 900, 900]
    assert service.sign_in("nina", PASSWORD).username == "nina"
    with service.database.read() as session:
        assert service.throttle.failures(session, "nina") == 0
    # an unknown name is throttled the same way, so a refusal says nothing about who exists
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            service.sign_in("nobody", PASSWORD)
    with pytest.raises(PumpMgrError) as unknown:
        service.sign_in("nobody", PASSWORD)
    assert unknown.value.code is Code.AUTH_THROTTLED
    assert service.sign_in("otto", PASSWORD).username == "otto"  # others are not affected


def test_second_user_checks_are_throttled_too(clinic: Clinic) -> None:
    calls = Calls(clinic)
    _, pump_id = calls.pump()
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            clinic.service.change_prescription(
                clinic.nurse,
                Verification("otto", "guess!!!"),
                pump_id,
                continuing(prescription(at=clinic.now)),
            )
    with pytest.raises(PumpMgrError) as throttled:
        clinic.service.change_prescription(
            clinic.nurse, clinic.check, pump_id, continuing(prescription(at=clinic.now))
        )
    assert throttled.value.code is Code.AUTH_THROTTLED
    assert throttled.value.field == "verification"
    clinic.clock.advance(timedelta(seconds=30))
    clinic.service.change_prescription(
        clinic.nurse, clinic.check, pump_id, continuing(prescription(at=clinic.now))
    )


def test_failed_checks_are_counted_for_every_program_on_the_database(
    clinic: Clinic,
    db_target: DbTarget,
) -> None:
    """Each ``pumpmgr`` command and each workstation is a program of its own, with its own
    service (and, in another process, its own connections): the failures are counted in the
    database, so five spread over three programs throttle all three, and a success in any of
    them clears the count for all. The typed name is not stored, only a 16-bit key."""
    with open_database(db_target.url, daily_backup_keep=None) as elsewhere:
        programs = [
            clinic.service,
            clinic.twin(BERLIN),
            ClinicService(
                elsewhere, clock=clinic.clock, tz=BERLIN, workstation="test-3", hasher=FAST_HASHER
            ),
        ]
        for attempt in range(5):
            with pytest.raises(auth.AuthError):
                programs[attempt % 3].sign_in("nina", f"guess number {attempt}")
        for program in programs:
            with pytest.raises(PumpMgrError) as throttled:
                program.sign_in("Nina", PASSWORD)
            assert throttled.value.code is Code.AUTH_THROTTLED
        with elsewhere.read() as session:
            rows = session.scalars(select(db.SignInFailure)).all()
        assert [(r.name_key, r.failures) for r in rows] == [(name_key("nina"), 5)]
        assert len(rows[0].name_key) == 4 and "nina" not in rows[0].name_key
        clinic.clock.advance(timedelta(seconds=30))
        assert programs[2].sign_in("nina", PASSWORD).username == "nina"
        for program in programs:
            with program.database.read() as session:
                assert program.throttle.failures(session, "nina") == 0


def test_the_services_keep_the_auto_lock_minutes(clinic: Clinic) -> None:
    """The idle lock itself is the desktop program's (ui/idle.py, a Qt timer); the services
    keep the clinic's minutes, changed by an administrator only, never 0."""
    service = clinic.service
    assert service.settings().auto_lock_minutes == 10
    service.update_settings(
        clinic.admin, replace(service.settings(), clinic_name="Clinic", auto_lock_minutes=3)
    )
    assert service.settings().auto_lock_minutes == 3
    with pytest.raises(PermissionDenied):
        service.update_settings(clinic.nurse, replace(service.settings(), auto_lock_minutes=600))
    with pytest.raises(PumpMgrError):
        service.update_settings(clinic.admin, replace(service.settings(), auto_lock_minutes=0))
    assert service.settings().auto_lock_minutes == 3


# --------------------------------------------------------------------------------------------
# No patient data and no password in any log


PHI_MARKERS = (
    "ZZPHI-7F3A",
    "ZZGIVEN-91C2",
    "ZZMRN-4410",
    "ZZNOTE-55D1",
    "ZZKIN-0C3E",
    "555-0199-ZZ",
)
PASSWORD_MARKERS = (
    "ZZPW-admin-8E21",
    "ZZPW-nurse-3B77",
    "ZZPW-second-D4A0",
    "ZZPW-wrong-6F19",
    "ZZPW-new-A5C3",
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG while the test runs, SQLAlchemy's statement log
    switched on too (as a support engineer diagnosing a slow screen would)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root, engine_log = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    levels = root.level, engine_log.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    engine_log.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        engine_log.setLevel(levels[1])


def test_no_patient_data_and_no_password_in_any_log(
    database: Database,
    captured: io.StringIO,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    started = time.perf_counter()
    clock = FixedClock(START)
    service = ClinicService(
        database, clock=clock, tz=START.tzinfo, workstation="test", hasher=FAST_HASHER
    )
    admin_pw, nurse_pw, second_pw, wrong_pw, new_pw = PASSWORD_MARKERS
    messages: list[str] = []

    def refused(call: Callable[[], Any]) -> None:
        try:
            call()
        except PumpMgrError as exc:
            messages.append(exc.message)
        else:
            raise AssertionError("expected a refusal")

    admin = service.create_first_administrator("admin", admin_pw, "Ada Admin")
    service.add_user(admin, "nina", nurse_pw, "Nina Nurse", "nurse")
    nurse = service.sign_in("nina", nurse_pw)
    service.add_user(admin, "otto", second_pw, "Otto Second", "nurse")
    service.add_user(admin, "pia", second_pw, "Dr Pia Prescriber", "prescriber")
    check = Verification("otto", second_pw)
    refused(lambda: service.sign_in("nina", wrong_pw))
    refused(lambda: service.sign_in(wrong_pw, nurse_pw))  # a password typed as the user name
    refused(lambda: service.add_user(admin, "weak", "short", "Weak", "nurse"))
    refused(lambda: service.add_user(admin, "nina", new_pw, "Again", "nurse"))
    nurse = service.sign_in("nina", nurse_pw)
    patient = service.register_patient(
        nurse,
        PatientInput(
            PHI_MARKERS[2],
            PHI_MARKERS[0],
            PHI_MARKERS[1],
            START.date().replace(year=1970),
            "spasticity_spinal",
            emergency_contact_name=PHI_MARKERS[4],
            emergency_contact_phone=PHI_MARKERS[5],
            notes=PHI_MARKERS[3],
        ),
    )
    refused(
        lambda: service.register_patient(
            nurse,
            PatientInput(
                PHI_MARKERS[2],
                PHI_MARKERS[0],
                PHI_MARKERS[1],
                START.date().replace(year=1970),
                "spasticity_spinal",
            ),
        )
    )  # the same MRN again: a database conflict
    pump = service.implant_pump(nurse, patient.id, pump_input(serial="SNZZ1"), catheter_input())
    refused(
        lambda: service.change_prescription(
            nurse, Verification("otto", wrong_pw), pump.id, continuing(prescription(at=clock.now()))
        )
    )
    service.change_prescription(nurse, check, pump.id, continuing(prescription(at=clock.now())))
    outcome = service.record_refill(nurse, check, pump.id, refill(clock.now()))
    clock.advance(timedelta(days=30))
    service.record_refill(nurse, check, pump.id, refill(clock.now(), "14 mL"))
    service.correct_refill(nurse, check, outcome.refill.id, "lot misread", lot_number="L2")
    service.record_event(nurse, pump.id, "note", clock.now(), "phoned the patient")
    service.search_patients(PHI_MARKERS[0][:8])
    service.find_patient(PHI_MARKERS[2])
    service.patient_chart(patient.id)
    service.due_list()
    record, version = service.patient_for_edit(patient.id)
    service.edit_patient(
        nurse,
        patient.id,
        replace(
            PatientInput(
                record.mrn,
                record.family_name,
                record.given_name,
                record.date_of_birth,
                record.indication,
            ),
            notes=PHI_MARKERS[3] + " updated",
        ),
        version,
    )
    service.verify_audit()
    logs = captured.getvalue()
    assert "INSERT INTO patients" in logs  # the statement log was on
    with database.read() as session:
        audit = [
            f"{e.payload} {e.reason or ''} {e.username} {e.entity_id}"
            for e in session.scalars(select(db.AuditEntry))
        ]
        hashes = [u.password_hash for u in session.scalars(select(db.User))]
    problems = [f"log holds {m}" for m in (*PHI_MARKERS, *PASSWORD_MARKERS) if m in logs]
    problems += [f"audit holds {m}" for m in PASSWORD_MARKERS if any(m in a for a in audit)]
    problems += [
        f"an error message holds {m}"
        for m in PASSWORD_MARKERS
        if any(m in text for text in messages)
    ]
    problems += [
        f"a stored hash holds {m}" for m in PASSWORD_MARKERS if any(m in h for h in hashes)
    ]
    searched = len(logs) + sum(len(a) for a in audit) + sum(len(m) for m in messages)
    harness_report(
        f"9 no PHI/password in logs {database.backend}",
        len(PHI_MARKERS) + len(PASSWORD_MARKERS),
        len(problems),
        time.perf_counter() - started,
    )
    assert searched > 0 and audit
    assert not problems, "\n".join(problems)
