"""The demo clinic: what the issue lists is there, written through the services, audited, and
the same for the same seed."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from database_targets import create_schema, drop_schema, postgres_schema_url, postgres_unavailable
from sqlalchemy import select

from pumpmgr.alerts import patient_alerts
from pumpmgr.catalogs import PumpType
from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database, open_database
from pumpmgr.demo import DEMO_HASHER, DEMO_USERS, DemoSummary, build_demo_clinic
from pumpmgr.services import ClinicService
from pumpmgr.services.exchange import ExchangeError, export_clinic

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 3, 4)

#: The audit entry each service call writes: one, named for the call (reliability.md T8); the
#: pump events, incidents, tenfold confirmations and closed bookings its steps record are in
#: that entry. A booking a refill closed is the refill's (its call writes none of its own).
ENTRIES_PER_CALL = {
    "create_first_administrator": {"user.create": 1},
    "add_user": {"user.create": 1},
    "update_settings": {"settings.update": 1},
    "register_patient": {"patient.register": 1},
    "implant_pump": {"pump.implant": 1},
    "replace_pump": {"pump.replace": 1},
    "explant_pump": {"pump.explant": 1},
    "revise_catheter": {"catheter.revise": 1},
    "record_mri": {"event.mri": 1},
    "record_event": {"event.eri": 1},
    "change_prescription": {"prescription.change": 1},
    "record_programmed_change": {"prescription.change": 1},
    "sign_order": {"order.sign": 1},
    "decline_order": {"order.decline": 1},
    "review_incident": {"incident.review": 1},
    "raise_individual_maximum": {"individual_maximum.set": 1},
    "sign_in": {"user.sign_in": 1},
    "confirm_tenfold_change": {"prescription.change": 1},
    "record_refill": {"refill.record": 1},
    "record_refill_with_incident": {"refill.record": 1},
    "correct_refill": {"refill.correct": 1},
    "set_patient_status": {"patient.status": 1},
    "book_visit": {"booking.book": 1},
    "attended_by_refill": {},
    "move_visit": {"booking.move": 1},
    "cancel_visit": {"booking.cancel": 1},
    "mark_did_not_attend": {"booking.did_not_attend": 1},
    "give_stop_order": {"stop_order.give": 1},
}


@dataclass
class Demo:
    database: Database
    summary: DemoSummary
    clinic: ClinicService

    def rows(self, model: Any) -> list[Any]:
        with self.database.read() as session:
            return list(session.scalars(select(model)))


def clinic_at_today(database: Database) -> ClinicService:
    return ClinicService(
        database,
        clock=FixedClock(datetime.combine(TODAY, time(0), BERLIN)),
        tz=BERLIN,
        workstation="test",
        hasher=DEMO_HASHER,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Demo]:
    schema = None
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("demo") / "clinic.db")
    else:
        if (reason := postgres_unavailable()) is not None:
            pytest.skip(reason)
        schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
        create_schema(schema)
        url = postgres_schema_url(schema)
    database = open_database(url, daily_backup_keep=None)
    try:
        summary = build_demo_clinic(database, patients=6, seed=1, today=TODAY, tz=BERLIN)
        yield Demo(database, summary, clinic_at_today(database))
    finally:
        database.dispose()
        if schema is not None:
            drop_schema(schema)


def test_mixed_pumps_including_constant_flow_and_legacy(demo: Demo) -> None:
    pumps = demo.rows(db.Pump)
    models = {p.model_key for p in pumps}
    assert {"synchromed2-20", "synchromed2-40", "isomed-35", "synchromed-el-18"} <= models
    assert any(m.startswith("prometra2") for m in models)
    catalogs = demo.clinic.catalogs
    assert any(catalogs.pump_model(m).legacy for m in models)
    constant = [p for p in pumps if catalogs.pump_model(p.model_key).type is PumpType.CONSTANT_FLOW]
    assert constant and all(p.nominal_flow_ml_per_day == 0.5 for p in constant)
    # the constant-flow pump's compounded morphine runs at exactly its nominal flow
    chart = demo.clinic.patient_chart(constant[0].patient_id)
    assert chart.prescription is not None and chart.prescription.primary.drug == "morphine"
    assert float(chart.prescription.program.daily_volume().to("mL/day").m) == pytest.approx(0.5)
    soon = [
        p
        for p in pumps
        if p.replace_by_date is not None and p.replace_by_date <= TODAY + timedelta(days=183)
    ]
    assert soon and demo.summary.replace_within_6_months


def test_mixed_drugs_admixtures_flex_and_patient_boluses(demo: Demo) -> None:
    ingredients = demo.rows(db.PrescriptionIngredient)
    strengths = {(i.drug_key, i.concentration_mcg_per_ml) for i in ingredients}
    assert {("baclofen", 500.0), ("baclofen", 1000.0), ("baclofen", 2000.0)} <= strengths
    assert {"morphine", "ziconotide", "hydromorphone"} & {d for d, _ in strengths} >= {
        "morphine",
        "ziconotide",
    }
    per_rx = Counter(i.prescription_id for i in ingredients)
    mixed = {i.drug_key for i in ingredients if per_rx[i.prescription_id] > 1}
    assert {"morphine", "clonidine"} <= mixed
    steps = Counter(s.prescription_id for s in demo.rows(db.ScheduleStep))
    assert any(n > 1 for n in steps.values())  # a flex schedule
    assert any(rx.ptm_bolus_dose_mcg for rx in demo.rows(db.Prescription))


def test_years_of_refills_near_expected_with_a_few_discrepancies(demo: Demo) -> None:
    refills = demo.rows(db.Refill)
    span = max(r.performed_at for r in refills) - min(r.performed_at for r in refills)
    assert span > timedelta(days=4 * 365)
    checked = [r for r in refills if r.discrepancy_verdict != "first_fill"]
    investigate = [r for r in checked if r.discrepancy_verdict == "investigate"]
    assert 2 <= len(investigate) <= len(checked) // 10
    assert all(r.discrepancy_note for r in investigate)
    ok = [r for r in checked if r.discrepancy_verdict == "ok"]
    assert all(abs(r.expected_residual_ml - r.aspirated_ml) <= 1.0 for r in ok)
    assert demo.summary.discrepancies == len(investigate)
    assert any(r.corrects_id is not None for r in refills)  # a corrected refill
    bridged = [r for r in refills if r.bridge_bolus_given]
    assert bridged and all(r.bolus_volume_ml for r in bridged)


def test_a_titration_with_its_warning_and_reason(demo: Demo) -> None:
    findings = [f for f in demo.rows(db.PrescriptionFinding) if f.code == "titration.above_percent"]
    assert findings and all(f.level == "warning" and f.override_reason for f in findings)


def test_events_replacement_mri_revision(demo: Demo) -> None:
    events = demo.rows(db.PumpEvent)
    kinds = Counter(e.kind.value for e in events)
    assert kinds["replacement"] == 1 and kinds["mri"] == 1 and kinds["catheter_revision"] == 1
    assert kinds["eri"] == 1
    assert all(e.post_mri_check_done for e in events if e.kind is db.PumpEventKind.MRI)
    assert len(demo.rows(db.Catheter)) > len(demo.rows(db.Pump))  # a revision is a new row


def test_some_overdue_and_some_due_this_week(demo: Demo) -> None:
    rows = demo.clinic.due_list(today=TODAY)
    states = Counter(r.state for r in rows)
    assert states["overdue"] >= 2 and states["due_this_week"] >= 1
    # a missed visit first (the call list), then the urgent rows (domain-rules §4a, §7), then
    # by refill-due date
    missed = [r for r in rows if r.booking == "did_not_attend"]
    urgent = [r for r in rows[len(missed) :] if r.state == "urgent"]
    assert rows[: len(missed) + len(urgent)] == missed + urgent
    rest = rows[len(missed) + len(urgent) :]
    assert [r.refill_due for r in rest] == sorted(r.refill_due for r in rest)
    assert {r.mrn for r in rows if r.state == "overdue"} == set(demo.summary.overdue)


def test_bookings_in_every_state(demo: Demo) -> None:
    """Today's diary has visits booked, moved, cancelled, missed and booked too late, and the
    last weeks' refills were booked visits closed as attended."""
    bookings = demo.rows(db.Booking)
    assert {b.state.value for b in bookings} == {
        "booked",
        "cancelled",
        "did_not_attend",
        "attended",
    }
    rows = demo.clinic.due_list(today=TODAY)
    assert rows[0].booking == "did_not_attend" and rows[0].emergency_contact
    states = Counter(r.booking for r in rows)
    assert states["booked_too_late"] == 1 and states["not_booked"] >= 1
    assert any(r.booked_on is not None and r.booking == "" for r in rows)
    assert demo.summary.calls["move_visit"] == 1 and demo.summary.calls["cancel_visit"] == 1


def test_users_are_the_documented_ones(demo: Demo) -> None:
    users = {u.username: u for u in demo.rows(db.User)}
    assert set(users) == {u.username for u in DEMO_USERS}
    assert {u.role.value for u in users.values()} == {"administrator", "nurse", "prescriber"}
    for spec in DEMO_USERS:
        assert demo.clinic.sign_in(spec.username, spec.password).role == spec.role
    nurses = {r.nurse_id for r in demo.rows(db.Refill)} | {
        r.verifying_nurse_id for r in demo.rows(db.Refill)
    }
    assert {users["nurse1"].id, users["nurse2"].id} == nurses


def test_the_clinic_keeps_the_zone_it_was_built_in(demo: Demo) -> None:
    """The settings page shows the demo's zone, not the workstation's (a demo clinic built
    for Berlin showed Etc/UTC on a server in UTC, and its days shifted there)."""
    assert demo.clinic.settings().time_zone == "Europe/Berlin"


def test_every_service_action_is_audited_and_the_chain_verifies(demo: Demo) -> None:
    """As many audit entries as the service calls the demo ran (one each)."""
    summary = demo.summary
    expected: Counter[str] = Counter()
    for call, times in summary.calls.items():
        for action, n in ENTRIES_PER_CALL[call].items():
            expected[action] += n * times
    # the demo's own entries; after them only the sign-ins of the tests on this shared demo
    # (a sign-in is an audit entry, issue 13)
    entries = demo.rows(db.AuditEntry)
    found = Counter(e.action for e in entries if e.seq <= summary.audit_entries)
    assert found == expected
    assert {e.action for e in entries if e.seq > summary.audit_entries} <= {"user.sign_in"}
    assert summary.audit_entries == sum(expected.values())
    assert summary.calls["record_refill"] + summary.calls.get(
        "record_refill_with_incident", 0
    ) == summary.refills - summary.calls.get("correct_refill", 0)
    report = demo.clinic.verify_audit()
    assert report.ok and report.entries_checked == len(entries)
    # the clock ended at today: nothing is dated later
    last = max(e.recorded_at for e in demo.rows(db.AuditEntry))
    assert last <= datetime.combine(TODAY, time(0), BERLIN)


def test_the_demo_fills_only_an_empty_database(demo: Demo) -> None:
    with pytest.raises(ExchangeError, match="already holds records"):
        build_demo_clinic(demo.database, patients=1, today=TODAY, tz=BERLIN)


def _without_hashes(document: dict[str, Any]) -> dict[str, Any]:
    """The document without what the password salts change: the password hashes, and (since
    the chain covers the users' rows) the image of each user row's whole hash and password
    column, the baseline's hash of the settings row (written with the time the database was
    made), and so every entry's own hash and the chain head."""
    for user in document["tables"]["users"]:
        user["password_hash"] = "(salted)"
    made = ""
    for entry in document["tables"]["audit_log"]:
        entry["row_hash"] = entry["prev_hash"] = "(salted)"
        images = json.loads(entry["written_rows"])
        for row in images.get("baseline", ()):
            made, row[2] = row[2], "(made when the database was)"
        for write in images["writes"]:
            if write["before"] == made:  # the settings row as the database was made
                write["before"] = "(made when the database was)"
            if write["t"] == "users" and write["after"] is not None:
                write["after"]["hash"] = write["before"] = "(salted)"
                write["after"]["columns"]["password_hash"] = "(salted)"
        entry["written_rows"] = images
    document["audit_chain_head"] = "(salted)"
    return document


def test_the_same_seed_gives_the_same_clinic(tmp_path: Path) -> None:
    exports = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):  # one patient: 6 years of refills
        with open_database(tmp_path / f"{name}.db", daily_backup_keep=None) as database:
            build_demo_clinic(database, patients=1, seed=seed, today=TODAY, tz=BERLIN)
            exports.append(_without_hashes(export_clinic(database)))
    assert exports[0] == exports[1]  # audit hashes included
    assert exports[0]["tables"]["refills"] != exports[2]["tables"]["refills"]


def test_a_clinic_of_ten_pumps_shows_every_order_and_incident_state(tmp_path: Path) -> None:
    """Issue 11: the demo shows each state of domain-rules §4a and §7 at least once (the
    urgent ones only in a clinic of ten active pumps or more, as the small demos above keep
    their lists; 11 patients leave 10 active pumps with this seed)."""
    with open_database(tmp_path / "ten.db", daily_backup_keep=None) as database:
        summary = build_demo_clinic(database, patients=11, seed=1, today=TODAY, tz=BERLIN)
        assert summary.calls["record_refill_with_incident"] == 2
        clinic = clinic_at_today(database)
        alerts = {r.order_alert for r in clinic.due_list()}
        assert {
            "declined",
            "unsigned_high_risk",
            "awaiting_signature",
            "awaiting_cosignature",
        } <= alerts
        with database.read() as session:
            kinds = Counter(
                i.kind.value if hasattr(i.kind, "value") else i.kind
                for i in session.scalars(select(db.Incident))
            )
            verdicts = set(session.scalars(select(db.Refill.discrepancy_verdict)))
            at_risk = list(
                session.scalars(
                    select(db.PumpForecast.pump_id).where(db.PumpForecast.over_infusion_risk)
                )
            )
            signed = list(
                session.scalars(select(db.OrderAction).where(db.OrderAction.action == "signed"))
            )
        assert set(kinds) == {
            "programmed_outside_limits",
            "resumed_without_restart_order",
            "filled_expired_solution",
        }
        assert "found_empty" in {str(getattr(v, "value", v)) for v in verdicts}
        assert at_risk and signed
        # a Stop order not yet carried out: on the page with baclofen's withdrawal warning
        assert summary.calls["give_stop_order"] == 1
        (stopped,) = [
            r for r in clinic.due_list() if clinic.patient_chart(r.patient_id).stop_orders
        ]
        assert stopped.state == "urgent" and "baclofen" in stopped.drug_keys
        (text,) = [
            a.text
            for a in patient_alerts(clinic.patient_chart(stopped.patient_id), BERLIN)
            if a.text.startswith("STOP ORDER")
        ]
        assert "preservative-free saline" in text
