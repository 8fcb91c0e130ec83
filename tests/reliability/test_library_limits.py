"""Harness 6: the drug library's limits, through the services (issue 6; reliability.md T6).

Every drug × every limit of domain-rules §6 (typical range, soft and hard maximum, the tenfold
mg/mcg marks, the maximum concentration, the titration rule of each patient group, the step
and steps-a-week rule, the 24 hours between increases) at just below, at and just above the
limit (relative 1e-6, far beyond the 1e-9 equality tolerance), saved through
``ClinicService.change_prescription`` on a fresh pump:

- the verdict and the set of finding codes are exactly the specified ones (the table below is
  written from domain-rules and the library file, not from pumpmgr's code);
- a blocked dose is written by no path (``change_prescription`` and a refill with the new
  prescription), whatever reasons are given;
- a warning is saved only with a reason for each finding; the saved findings carry the reasons,
  and the audit entry names the second user and holds every reason;
- an ok dose saves without a reason and without findings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
from clinical_world import Clinic, continuing, make_clinic, new_patient, refill, with_reasons
from sqlalchemy import func, select

from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.dose_checks import FindingCode
from pumpmgr.errors import ImpossibleInput, InputError, PumpMgrError
from pumpmgr.schedule import Schedule
from pumpmgr.services.inputs import IngredientInput, OrderGiven, PrescriptionInput
from pumpmgr.units import Q_

EPS = 1e-6
ALL_REASONS = dict.fromkeys((str(c) for c in FindingCode), "reviewed")


@dataclass(frozen=True)
class Row:
    """One drug as domain-rules §6 and the shipped library give it (the drug's own unit)."""

    unit: str
    low: float
    high: float
    soft: float | None
    hard: float | None
    max_concentration: float
    concentration_verified: bool
    concentration: float  #: a strength below the maximum, used for the dose cases
    base: float  #: a dose well inside the typical range, the start of titration cases
    titration: dict[str, tuple[str, float]]  #: group -> (indication or "child", percent)


OPIOID = {"non-cancer": ("non_cancer_pain", 30.0), "cancer": ("cancer_pain", 50.0)}
TABLE: dict[str, Row] = {
    "baclofen": Row(
        "mcg",
        20,
        1200,
        1000,
        2000,
        2000,
        True,
        2000,
        400,
        {
            "spinal": ("spasticity_spinal", 30.0),
            "cerebral": ("spasticity_cerebral", 15.0),
            "child": ("child", 15.0),
        },
    ),
    "ziconotide": Row("mcg", 0.5, 19.2, None, 19.2, 100, True, 100, 5, {}),
    "morphine": Row("mg", 0.1, 20, 15, 30, 25, True, 25, 5, OPIOID),
    "hydromorphone": Row("mg", 0.01, 10, 10, 20, 15, False, 10, 2, OPIOID),
    "fentanyl": Row("mcg", 25, 1000, 1000, 2000, 10000, False, 1000, 300, OPIOID),
    "sufentanil": Row("mcg", 10, 500, 500, 1000, 5000, False, 500, 100, OPIOID),
    "bupivacaine": Row(
        "mg", 0.01, 20, 20, 40, 30, False, 10, 5, {"all": ("non_cancer_pain", 30.0)}
    ),
    "clonidine": Row(
        "mcg", 20, 600, 600, 1200, 1000, False, 500, 200, {"all": ("non_cancer_pain", 30.0)}
    ),
}
INDICATION = {"baclofen": "spasticity_spinal", "ziconotide": "non_cancer_pain"}


#: Above it the label advises caution (morphine 20 mg/day [S41]): a warning of its own.
CAUTION = {"morphine": 20.0}


def dose_findings(row: Row, value: float, drug: str) -> set[str]:
    """domain-rules §6 for a daily dose."""
    codes = set()
    caution = CAUTION.get(drug)
    if caution is not None and value > caution:
        codes.add("dose.above_label_caution")
    if value >= 10 * row.high:
        codes.add("dose.ten_times_typical")
    elif value > row.high:
        codes.add("dose.above_typical")
    if row.soft is not None and value > row.soft:
        codes.add("dose.above_soft_max")
    if row.hard is not None and value > row.hard:
        codes.add("dose.above_hard_max")
    if value <= row.low / 10:
        codes.add("dose.tenth_of_typical")
    elif value < row.low:
        codes.add("dose.below_typical")
    return codes


BLOCKING = {
    "dose.ten_times_typical",
    "dose.above_hard_max",
    "concentration.above_max",
    "pump.below_min_flow",
}
#: The SynchroMed II 40 mL's lowest programmable flow [S33]: a daily volume below it is blocked.
MIN_FLOW_ML_PER_DAY = 0.048


def flow_findings(dose: float, concentration: float) -> set[str]:
    """domain-rules §6: a daily volume the pump cannot deliver."""
    return (
        {"pump.below_min_flow"}
        if dose / concentration < MIN_FLOW_ML_PER_DAY * (1 - 1e-9)
        else set()
    )


def verdict_of(codes: set[str]) -> str:
    return "blocked" if codes & BLOCKING else "warning" if codes else "ok"


@dataclass(frozen=True)
class Case:
    name: str
    drug: str
    dose: float
    concentration: float
    codes: frozenset[str]
    indication: str = "non_cancer_pain"
    born: date = date(1970, 5, 1)
    #: (dose, hours before the entry) of earlier prescriptions
    history: tuple[tuple[float, float], ...] = ()


def cases() -> list[Case]:
    result = []
    where = (("below", 1 - EPS), ("at", 1.0), ("above", 1 + EPS))
    for drug, row in TABLE.items():
        indication = INDICATION.get(drug, "non_cancer_pain")
        limits = {
            "typical_min": row.low,
            "typical_max": row.high,
            "ten_times_typical_max": 10 * row.high,
            "tenth_of_typical_min": row.low / 10,
        }
        if row.soft is not None:
            limits["soft_max"] = row.soft
        if row.hard is not None:
            limits["hard_max"] = row.hard
        for label, limit in limits.items():
            for position, factor in where:
                value = limit * factor
                result.append(
                    Case(
                        f"{drug} {label} {position}",
                        drug,
                        value,
                        row.concentration,
                        frozenset(dose_findings(row, value, drug)),
                        indication,
                    )
                )
        for position, factor in where:
            value = row.max_concentration * factor
            codes = set()
            if value > row.max_concentration:
                codes.add(
                    "concentration.above_max"
                    if row.concentration_verified
                    else "concentration.above_unverified_max"
                )
            result.append(
                Case(
                    f"{drug} max_concentration {position}",
                    drug,
                    row.base,
                    value,
                    frozenset(codes),
                    indication,
                )
            )
        for group, (who, percent) in row.titration.items():
            for position, factor in where:
                value = row.base * (1 + percent / 100 * factor)
                codes = {"titration.above_percent"} if factor > 1 else set()
                child = who == "child"
                result.append(
                    Case(
                        f"{drug} titration {group} +{percent:g} % {position}",
                        drug,
                        value,
                        row.concentration,
                        frozenset(codes),
                        "spasticity_spinal" if child else who,
                        date(2015, 1, 1) if child else date(1970, 5, 1),
                        ((row.base, 48.0),),
                    )
                )
        for position, factor in where:  # any increase sooner than 24 h
            codes = {"titration.within_24h"} if factor < 1 else set()
            result.append(
                Case(
                    f"{drug} 24 h between increases {position}",
                    drug,
                    row.base * 1.1,
                    row.concentration,
                    frozenset(codes),
                    indication,
                    history=((row.base, 24 * factor),),
                )
            )
    zico = TABLE["ziconotide"]
    for position, factor in where:  # at most +2.4 mcg/day a step
        codes = {"titration.above_step"} if factor > 1 else set()
        result.append(
            Case(
                f"ziconotide step +2.4 mcg/day {position}",
                "ziconotide",
                zico.base + 2.4 * factor,
                zico.concentration,
                frozenset(codes),
                history=((zico.base, 48.0),),
            )
        )
    for position, before in (("below", 1), ("at", 2), ("above", 3)):  # 3 steps a week
        # from 5 mcg/day: 100 mcg/mL below it is under the pump's lowest flow, 0.048 mL/day
        history = tuple((5.0 + step, 25.0 * (before + 1 - step)) for step in range(before + 1))
        codes = {"titration.too_many_steps"} if before >= 3 else set()
        result.append(
            Case(
                f"ziconotide 3 steps a week {position}",
                "ziconotide",
                6.0 + before + 1,
                zico.concentration,
                frozenset(codes),
                history=history,
            )
        )
    return [
        replace(c, codes=c.codes | flow_findings(c.dose, c.concentration) | naive_pump_findings(c))
        for c in result
    ]


def naive_pump_findings(case: Case) -> set[str]:
    """domain-rules §6: a ziconotide-naive pump (its first ziconotide) is filled with undiluted
    25 mcg/mL only [S33]; the cases with a history filled the pump already."""
    first = case.drug == "ziconotide" and not case.history
    return {"pump.naive_pump_solution"} if first and case.concentration != 25 else set()


CASES = cases()


def counts(clinic: Clinic) -> tuple[int, int]:
    with clinic.service.database.read() as session:
        return (
            int(session.scalar(select(func.count()).select_from(db.Prescription)) or 0),
            int(session.scalar(select(func.count()).select_from(db.AuditEntry)) or 0),
        )


def data_for(
    case: Case,
    dose: float,
    at: datetime,
    concentration: float | None = None,
) -> PrescriptionInput:
    unit = TABLE[case.drug].unit
    return PrescriptionInput(
        (IngredientInput(case.drug, Q_(concentration or case.concentration, f"{unit}/mL")),),
        Schedule.simple(Q_(dose, f"{unit}/day")),
        at,
        "Dr Pia Prescriber",
        order=OrderGiven("written", at),
    )


def run(clinic: Clinic, case: Case, serial: int) -> list[str]:
    service, problems = clinic.service, []
    start = clinic.now + timedelta(days=1)
    clinic.at(start)
    _, pump_id = new_patient(
        clinic, f"6{serial:05d}", indication=case.indication, born=case.born, model="synchromed2-40"
    )
    entry_at = start + timedelta(hours=max((h for _, h in case.history), default=0))
    # the patient's first prescription here continues their dose from before this record: the
    # table's verdicts are for a change, or a dose with no current one (never a start)
    for index, (dose, hours) in enumerate(case.history):
        at = entry_at - timedelta(hours=hours)
        clinic.at(at)
        given = data_for(case, dose, at)
        service.change_prescription(
            clinic.nurse,
            clinic.check,
            pump_id,
            with_reasons(service, pump_id, continuing(given) if index == 0 else given),
        )
    clinic.at(entry_at)
    data = data_for(case, case.dose, entry_at)
    if not case.history:
        data = continuing(data)
    check = service.check_prescription(pump_id, data)
    codes = {str(f.code) for f in check.findings}
    expected = verdict_of(set(case.codes))
    if check.verdict != expected or codes != case.codes:
        problems.append(
            f"check gave {check.verdict} {sorted(codes)}, domain-rules say "
            f"{expected} {sorted(case.codes)}"
        )
    before = counts(clinic)
    if expected == "blocked":
        for path in ("change_prescription", "record_refill"):
            try:
                given = replace(data, reasons=ALL_REASONS)
                if path == "change_prescription":
                    service.change_prescription(clinic.nurse, clinic.check, pump_id, given)
                else:
                    service.record_refill(
                        clinic.nurse,
                        clinic.check,
                        pump_id,
                        refill(entry_at, volume="40 mL", new_prescription=given),
                    )
            except ImpossibleInput as exc:
                if exc.field != "dose" or "cannot be saved" not in exc.message:
                    problems.append(f"{path} refused for another reason: {exc.message}")
            except PumpMgrError as exc:
                problems.append(f"{path} refused for another reason: {exc.message}")
            else:
                problems.append(f"a blocked dose was SAVED through {path}")
        if counts(clinic) != before:
            problems.append("a blocked dose wrote something")
        return problems
    if expected == "warning":
        try:
            service.change_prescription(clinic.nurse, clinic.check, pump_id, data)
        except InputError as exc:
            if exc.field != "reason" or not all(code in exc.message for code in case.codes):
                problems.append(f"refused without reasons, but: {exc.message}")
        else:
            problems.append("a warning was SAVED without a reason")
        if counts(clinic) != before:
            problems.append("a refused warning wrote something")
        reasons = {code: f"reason for {code} #{serial}" for code in case.codes}
        data = replace(data, reasons=reasons)
    outcome = service.change_prescription(clinic.nurse, clinic.check, pump_id, data)
    saved = {str(f.code): f.reason for f in outcome.prescription.findings}
    if set(saved) != set(case.codes):
        problems.append(f"saved findings {sorted(saved)}")
    for code in case.codes:
        if saved.get(code) != f"reason for {code} #{serial}":
            problems.append(f"the saved finding {code} lost its reason")
    with service.database.read() as session:
        entry = session.scalars(
            select(db.AuditEntry).order_by(db.AuditEntry.seq.desc()).limit(1)
        ).one()
    payload = json.loads(entry.payload)
    if entry.action != "prescription.change" or entry.username != clinic.nurse.username:
        problems.append(f"audit entry {entry.action} by {entry.username}")
    if payload.get("verified_by") != clinic.second.username:
        problems.append("the audit entry does not name the second user")
    if payload.get("warnings") != {c: f"reason for {c} #{serial}" for c in case.codes}:
        problems.append(f"the audit entry's warnings are {payload.get('warnings')}")
    if payload.get("verdict") != expected:
        problems.append(f"the audit entry's verdict is {payload.get('verdict')}")
    return problems


def test_the_table_matches_the_shipped_library(database: Database) -> None:
    """The expected table is the library file's values (a library edit must update both)."""
    clinic = make_clinic(database)
    library = clinic.service.library()
    for name, row in TABLE.items():
        drug = library.drug(name)
        unit = row.unit

        def value(limit: object, kind: str, unit: str = unit) -> float | None:
            return None if limit is None else float(limit.value.to(f"{unit}/{kind}").m)  # type: ignore[attr-defined]

        assert drug.display_unit == unit
        assert value(drug.typical_min, "day") == row.low
        assert value(drug.typical_max, "day") == row.high
        assert value(drug.soft_max, "day") == row.soft
        assert value(drug.hard_max, "day") == row.hard
        assert value(drug.max_concentration, "mL") == row.max_concentration
        assert drug.max_concentration_blocks == row.concentration_verified


def test_every_drug_and_limit_gives_exactly_the_specified_verdict(
    database: Database,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    started = time.perf_counter()
    clinic = make_clinic(database)
    failures = []
    # The limits are evaluated in Python, the same on both backends: in the suite PostgreSQL
    # runs every tenth case (the saving and audit paths), --full runs all of them there too.
    chosen = CASES if full_size or database.backend == "sqlite" else CASES[::10]
    for serial, case in enumerate(chosen):
        for problem in run(clinic, case, serial):
            failures.append(f"{case.name} ({case.dose:g}): {problem}")
    harness_report(
        f"6 drug library limits {database.backend}",
        len(chosen),
        len(failures),
        time.perf_counter() - started,
    )
    assert len(CASES) >= 150
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("db_target", "drug"),
    [
        *(("sqlite", drug) for drug in sorted(TABLE)),
        ("postgresql", "baclofen"),  # the edit and the check are the same Python on both backends
    ],
    indirect=["db_target"],
)
def test_a_clinic_edit_moves_the_limit(database: Database, drug: str) -> None:
    """An administrator's audited edit of the soft maximum is what the next check uses."""
    clinic = make_clinic(database)
    row = TABLE[drug]
    _, pump_id = new_patient(clinic, "500001", indication=INDICATION.get(drug, "cancer_pain"))
    clinic.service.edit_drug_library(
        clinic.admin, drug, {"soft_max": Q_(row.base * 1.5, f"{row.unit}/day")}, "clinic protocol"
    )
    case = Case("edit", drug, row.base * 1.5 * (1 + EPS), row.concentration, frozenset())
    check = clinic.service.check_prescription(pump_id, data_for(case, case.dose, clinic.now))
    assert "dose.above_soft_max" in {str(f.code) for f in check.findings}
