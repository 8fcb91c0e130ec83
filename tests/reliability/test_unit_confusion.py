"""Harness 5: the unit-confusion corpus, through the services (issue 6; reliability.md T5).

``corpus/unit_confusion.toml`` holds the versioned cases: a slip, what was typed, and the stop
the services must produce. Each case is read as a form reads it (the typed text through
:func:`pumpmgr.units.parse` and the schedule parsers), then saved through
:class:`ClinicService` on a fresh patient whose history the case gives. A case passes when

- **blocked**: the dose check blocks it with the case's finding code, and neither
  ``change_prescription`` nor a refill with the new prescription saves it, even with a reason
  for every warning;
- **warning**: the check warns with the case's code and the save is refused until a reason is
  given (``reason`` names the code);
- **refused**: the parser or the service refuses with the case's catalogued code, naming the
  field;

and nothing was written (the prescription, refill and audit counts are unchanged). The desktop
forms run the same corpus once they exist (harness 5's second half).
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from clinical_world import (
    Clinic,
    make_clinic,
    new_patient,
    with_reasons,
)
from sqlalchemy import func, select

from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.dose_checks import FindingCode
from pumpmgr.errors import Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.schedule import PatientBolus, Schedule, parse_scheduled_bolus, parse_step
from pumpmgr.services import PermissionDenied
from pumpmgr.services.inputs import IngredientInput, OrderGiven, PrescriptionInput, RefillInput
from pumpmgr.units import Kind, parse

CORPUS = Path(__file__).parent / "corpus" / "unit_confusion.toml"
ALL_REASONS = dict.fromkeys((str(c) for c in FindingCode), "reviewed")


def load_corpus() -> list[dict[str, Any]]:
    document = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    return list(document["case"])


CASES = load_corpus()
#: How strong each stop is: a case passes when pumpmgr stops the slip at least as strongly as
#: the case says, with the case's finding (domain-rules §6 revised added the prescriber-only
#: "stop", so a slip once only warned may now need the prescriber).
SEVERITY = {"warning": 1, "stop": 2, "blocked": 3}
#: Cases whose history the services now refuse as an order (a daily volume below the pump's
#: lowest flow, domain-rules §6): kept unedited for the clinical owner's review, each replaced
#: by an added case with a deliverable history.
NEEDS_REVIEW = {
    "decimal-03": "0.6 mcg/day at 25 mcg/mL is 0.024 mL/day, below 0.048 (see decimal-09)",
    "decimal-06": "30 mcg/day at 1000 mcg/mL is 0.03 mL/day (see decimal-10)",
    "custom-concentration-04": "2.4 mcg/day at 100 mcg/mL is 0.024 mL/day (see "
    "custom-concentration-06)",
    "carried-volume-04": "the cut to a quarter is now refused first for its withdrawal "
    "warning (field reason), before the bridge (see carried-volume-06)",
}


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)

    def fail(self, case: dict[str, Any], problem: str) -> None:
        self.failures.append(f"{case['id']} ({case['what']}): {problem}")


def counts(clinic: Clinic) -> tuple[int, int, int]:
    with clinic.service.database.read() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (db.Prescription, db.Refill, db.AuditEntry)
        )


def typed_prescription(entry: dict[str, Any], drug: str, at: Any) -> PrescriptionInput:
    """The prescription as a form reads it from the typed text (raises on a parse refusal)."""
    concentration = parse(entry["concentration"], Kind.CONCENTRATION, "concentration")
    if "steps" in entry:
        schedule = Schedule.flex(
            [parse_step(s) for s in entry["steps"]],
            [parse_scheduled_bolus(b) for b in entry.get("boluses", [])],
        )
    else:
        schedule = Schedule.simple(parse(entry["dose"], Kind.DOSE_RATE, "dose"))
    bolus = None
    if "ptm_dose" in entry:
        bolus = PatientBolus(
            parse(entry["ptm_dose"], Kind.MASS, "bolus dose"), int(entry["ptm_per_day"])
        )
    ingredients = [IngredientInput(drug, concentration)]
    if "extra" in entry:
        other, strength = entry["extra"]
        ingredients.append(
            IngredientInput(other, parse(strength, Kind.CONCENTRATION, f"{other} concentration"))
        )
    return PrescriptionInput(
        tuple(ingredients),
        schedule,
        at,
        "Dr Pia Prescriber",
        patient_bolus=bolus,
        order=OrderGiven("written", at),
    )


def typed_refill(
    entry: dict[str, Any], at: Any, new: PrescriptionInput | None = None
) -> RefillInput:
    return RefillInput(
        performed_at=at,
        aspirated=parse(entry.get("aspirated", "0 mL"), Kind.VOLUME, "aspirated"),
        volume_added=parse(entry["volume"], Kind.VOLUME, "volume added"),
        lot_number="L1",
        expiry=at.date() + timedelta(days=120),
        source="pharmacy",
        needle_position_confirmed=True,
        pump_running_confirmed=True,
        discrepancy_note="checked",
        new_prescription=new,
    )


def prepare(clinic: Clinic, case: dict[str, Any], serial: int) -> tuple[int, Any]:
    """A fresh patient with the case's history; returns the pump and the entry's instant."""
    service = clinic.service
    born = date.fromisoformat(case.get("born", "1970-05-01"))
    before = case.get("before", [])
    first = max((b["hours"] for b in before), default=0)
    start = clinic.now + timedelta(days=1)
    clinic.at(start)
    _, pump_id = new_patient(
        clinic,
        f"7{serial:05d}",
        indication=case.get("indication", "spasticity_spinal"),
        model=case.get("model", "synchromed2-20"),
        born=born,
    )
    entry_at = start + timedelta(hours=first)
    for index, earlier in enumerate(before):
        at = entry_at - timedelta(hours=earlier["hours"])
        clinic.at(at)
        data = with_reasons(service, pump_id, typed_prescription(earlier, case["drug"], at))
        # the history as the prescriber ordered it (a nurse's high-risk entry would wait for
        # the signature and leave the pump without a program to fill)
        service.change_prescription(clinic.prescriber, clinic.check, pump_id, data)
        if index == 0:
            capacity = 40 if case.get("model") == "synchromed2-40" else 20
            service.record_refill(
                clinic.nurse,
                clinic.check,
                pump_id,
                typed_refill({"volume": f"{capacity} mL"}, at + timedelta(minutes=1)),
            )
    clinic.at(entry_at + timedelta(minutes=2))
    return pump_id, entry_at + timedelta(minutes=2)


def run_case(clinic: Clinic, case: dict[str, Any], serial: int, outcome: Outcome) -> None:
    service = clinic.service
    pump_id, at = prepare(clinic, case, serial)
    action = case.get("action", "prescribe")
    entry, stop, code = case["entry"], case["stop"], case["code"]
    before = counts(clinic)

    def save(data: PrescriptionInput | None) -> None:
        if action == "prescribe":
            assert data is not None
            service.change_prescription(clinic.nurse, clinic.check, pump_id, data)
        else:
            service.record_refill(
                clinic.nurse, clinic.check, pump_id, typed_refill(entry, at, data)
            )

    verdict = stop
    try:
        data = None if action == "refill" else typed_prescription(entry, case["drug"], at)
        if stop in SEVERITY:
            assert data is not None
            check = service.check_prescription(pump_id, data)
            verdict = str(check.verdict)
            codes = {str(f.code) for f in check.findings if f.level == stop}
            if SEVERITY.get(verdict, 0) < SEVERITY[stop] or code not in codes:
                outcome.fail(case, f"check gave {check.verdict} {sorted(codes)}, not {stop} {code}")
        save(data)
        if stop == "recorded":
            # a fact recorded as it is, with the verdict it earns (domain-rules §4, §4a)
            verdict = latest_verdict(clinic, pump_id)
            if verdict != code:
                outcome.fail(case, f"recorded with the verdict {verdict}, not {code}")
            return
    except PumpMgrError as exc:
        refused = stop == "refused" and (str(exc.code), exc.field) == (code, case.get("field"))
        blocked = (
            verdict == "blocked"
            and isinstance(exc, ImpossibleInput)
            and exc.field == "dose"
            and "cannot be saved" in exc.message
        )
        warned = (
            verdict == "warning"
            and isinstance(exc, InputError)
            and exc.field == "reason"
            and code in exc.message
        )
        stopped = verdict == "stop" and isinstance(exc, PermissionDenied) and exc.field == "dose"
        if not (refused or blocked or warned or stopped):
            outcome.fail(case, f"refused with {exc.code} ({exc.field}): {exc.message}")
    else:
        outcome.fail(case, "SAVED: nothing stopped it")
    if counts(clinic) != before:
        outcome.fail(case, f"wrote something: {before} -> {counts(clinic)}")
    if stop == "blocked" and data is not None:
        # a blocked dose stays blocked on every path, whatever reasons are given
        given = replace(data, reasons=ALL_REASONS)
        for path in ("prescribe", "refill-new"):
            try:
                if path == "prescribe":
                    service.change_prescription(clinic.nurse, clinic.check, pump_id, given)
                else:
                    service.record_refill(
                        clinic.nurse,
                        clinic.check,
                        pump_id,
                        typed_refill({"volume": "20 mL", "aspirated": "0 mL"}, at, given),
                    )
            except PumpMgrError:
                continue
            outcome.fail(case, f"a blocked dose was SAVED through {path}")
        if counts(clinic) != before:
            outcome.fail(case, "a blocked dose wrote something")


def latest_verdict(clinic: Clinic, pump_id: int) -> str | None:
    with clinic.service.database.read() as session:
        return session.scalar(
            select(db.Refill.discrepancy_verdict)
            .where(db.Refill.pump_id == pump_id)
            .order_by(db.Refill.id.desc())
            .limit(1)
        )


@pytest.fixture
def clinic(database: Database) -> Iterator[Clinic]:
    yield make_clinic(database)


def test_the_corpus_is_versioned_and_large_enough() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) >= 60
    slips = {c["slip"] for c in CASES}
    assert {
        "mg-for-mcg",
        "mcg-for-mg",
        "per-hour-for-per-day",
        "mg/mL-for-mcg/mL",
        "missing-leading-zero",
        "doubled-digit",
        "custom-below-stock",
        "over-capacity",
        "same-ml-per-day",
        "step-too-large",
    } <= slips
    catalogued = {str(c) for c in FindingCode} | {str(c) for c in Code}
    for case in CASES:
        assert case["stop"] in ("blocked", "stop", "warning", "refused", "recorded"), case["id"]
        assert case["code"] in catalogued | {"investigate", "found_empty"}, case["id"]
        assert case["stop"] != "refused" or case.get("field"), case["id"]


def test_every_slip_is_stopped_through_the_services(
    clinic: Clinic,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    started = time.perf_counter()
    outcome = Outcome()
    backend = clinic.service.database.backend
    # Every case on SQLite; in the suite every sixth on PostgreSQL (all with --full): the
    # stops are decided in Python, PostgreSQL adds that a stopped case writes nothing there.
    chosen = [
        c
        for c in (CASES if full_size or backend == "sqlite" else CASES[::6])
        if c["id"] not in NEEDS_REVIEW
    ]
    for serial, case in enumerate(chosen):
        run_case(clinic, case, serial, outcome)
    harness_report(
        f"5 unit confusion {backend}",
        len(chosen),
        len(outcome.failures),
        time.perf_counter() - started,
    )
    assert not outcome.failures, "\n".join(outcome.failures)
