"""Recompute a pump's stored forecast from its last fill and the programs since (application
layer: pure calculations over rows read in the caller's session).

The stored forecast is what makes the due list one indexed query. It is rewritten by every
service that changes one of its inputs: a refill, a prescription change, a pump change, a
correction, a clinic setting or a drug-library edit.

Over 600 lines: every read a stored forecast is made from (fills, programs, due facts, orders) sits
beside :func:`compute`, so that the two refresh paths (one pump, every pump) read the same way.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import fields
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import bindparam, event, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from pumpmgr.catalogs import DrugLibrary
from pumpmgr.clock import PumpClock as PumpClock  # the pump's clock (re-exported)
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.orders import OrderState, most_pressing
from pumpmgr.pump_forecast import FillPoint as FillPoint  # re-exported: the services' fill
from pumpmgr.pump_forecast import (
    ProgramFloats,
    PumpOutlook,
    Solution,
    program_floats,
    pump_forecast,
)
from pumpmgr.records import ClinicSettings, Ingredient, PrescriptionRecord
from pumpmgr.refill import (
    Discrepancy,
    worst_case_error_percent,
)
from pumpmgr.services import mapping
from pumpmgr.stability import first_fills, recorded_undiluted, solution_limit
from pumpmgr.units import MCG_PER_ML, Q_
from pumpmgr.visit import max_interval_days

#: The due list counts days left from the alarm with every allowed bolus taken (domain-rules
#: section 3: the refill-due date is built on it).
DAYS_LEFT_BASIS = "with_boluses"


#: An old solution is left in the reservoir when the final volume exceeds what was added by
#: more than this (mL): the fill was a top-up.
TOP_UP_ML = 0.01


def fill_point(refills: list[db.Refill], drugs: Sequence[frozenset[str]]) -> FillPoint | None:
    """The pump's :class:`FillPoint` from its current refills, oldest first, and the drugs each
    filled (:func:`refill_drugs`); None: no fill."""
    if not refills:
        return None
    last = refills[-1]
    error = None
    if len(refills) > 1 and last.discrepancy_verdict != "first_fill":
        error = worst_case_error_percent(
            refills[-2].final_reservoir_ml, unfloored_expected(last), last.aspirated_ml
        )
    origin = len(refills) - 1
    while (
        origin > 0
        and (refills[origin].final_reservoir_ml - refills[origin].volume_added_ml) > TOP_UP_ML
    ):
        origin -= 1
    solution = refills[origin:]
    return FillPoint(
        last.performed_at,
        last.final_reservoir_ml,
        last.bolus_volume_ml or 0.0,
        first_fills(drugs, origin),
        measured_error_percent=error,
        solution_filled_at=None if origin == len(refills) - 1 else refills[origin].performed_at,
        expires_on=min(r.expiry_date for r in solution),
        ran_empty=any(
            r.discrepancy_verdict == "found_empty" or r.over_infusion_risk for r in refills
        ),
        undiluted=solution_undiluted(solution),
    )


#: Where :func:`session_cache` keeps its reads, in ``Session.info``.
_CACHE_KEY = "pumpmgr.reads"
#: The cached reads that rows of each table feed: a flush writing such rows forgets them.
_FEEDS: dict[str, tuple[str, ...]] = {
    "refills": ("refills",),
    "prescriptions": ("prescriptions",),
    "prescription_ingredients": ("prescriptions",),
    "schedule_steps": ("prescriptions",),
    "scheduled_boluses": ("prescriptions",),
    "prescription_findings": ("prescriptions",),
    "order_actions": ("prescriptions",),
    "drug_library_edits": ("library", "prescriptions"),
    "users": ("users",),
}


def session_cache(session: Session, kind: str) -> dict[Any, Any]:
    """Reads of ``kind`` ("refills", "prescriptions", "library", "users") kept for the rest
    of one unit of work, so that an action reading a pump's refills or prescriptions several
    times (check, expected residual, forecast) loads and maps them once.

    The session's pending changes are flushed first, as a query would; a flush that writes
    rows of a table a kind is read from forgets that kind (:data:`_FEEDS`). Nothing outlives
    the session.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    caches: dict[str, dict[Any, Any]] | None = session.info.get(_CACHE_KEY)
    if caches is None:
        caches = session.info[_CACHE_KEY] = {}
        event.listen(session, "after_flush", _forget_written)
    return caches.setdefault(kind, {})


def _forget_written(session: Session, _context: object) -> None:
    caches: dict[str, dict[Any, Any]] | None = session.info.get(_CACHE_KEY)
    if not caches:
        return
    for written in itertools.chain(session.new, session.dirty, session.deleted):
        table = getattr(type(written), "__tablename__", None)
        for kind in _FEEDS.get(table, ()) if isinstance(table, str) else ():
            caches.pop(kind, None)


def clinical_order(refill: Any, *, newest_first: bool = False) -> tuple[Any, Any]:
    """The order of a pump's refills (``refill``: :class:`db.Refill` or an alias of it) that
    every reading of them uses: time filled, then id for fills recorded at the same instant;
    never the id alone, which a correction or an import makes run against time."""
    if newest_first:
        return refill.performed_at.desc(), refill.id.desc()
    return refill.performed_at, refill.id


def current_refills(session: Session, pump_id: int) -> list[db.Refill]:
    """The pump's refills that no later row corrects, oldest first."""
    cache = session_cache(session, "refills")
    found: list[db.Refill] | None = cache.get(pump_id)
    if found is None:
        corrected = _corrected_ids()
        found = cache[pump_id] = list(
            session.scalars(
                select(db.Refill)
                .where(db.Refill.pump_id == pump_id, db.Refill.id.not_in(corrected))
                .order_by(*clinical_order(db.Refill))
            )
        )
    return list(found)


def refill_drugs(session: Session, refills: Sequence[db.Refill]) -> list[frozenset[str]]:
    """The drugs (library keys) each refill filled, from the prescription it names (none for
    a refill that names none), in one query."""
    ids = {r.prescription_id for r in refills if r.prescription_id is not None}
    held: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(ids)):
        for rx_id, drug in session.execute(
            select(
                db.PrescriptionIngredient.prescription_id, db.PrescriptionIngredient.drug_key
            ).where(db.PrescriptionIngredient.prescription_id.in_(chunk))
        ):
            held.setdefault(rx_id, set()).add(drug)
    return [
        frozenset(() if r.prescription_id is None else held.get(r.prescription_id, ()))
        for r in refills
    ]


def current_fill(session: Session, pump_id: int) -> FillPoint | None:
    """:func:`fill_point` of the pump's :func:`current_refills`."""
    refills = current_refills(session, pump_id)
    return fill_point(refills, refill_drugs(session, refills))


def stability_days(
    ingredients: Iterable[str],
    library: DrugLibrary,
    *,
    first_fill_of: frozenset[str],
    undiluted: bool | None,
) -> float | None:
    """:func:`pumpmgr.stability.solution_limit` of a solution's drugs (library keys), in days
    (None: none set); a drug the library does not hold sets none."""
    best, _unknown = solution_limit(
        ingredients, library, first_fill_of=first_fill_of, undiluted=undiluted
    )
    return None if best is None else best.days


def solution_undiluted(solution: list[db.Refill]) -> bool | None:
    """Whether the solution in the pump is undiluted, from the refills that put it there
    (a top-up mixes): every one recorded undiluted, or one recorded diluted, else not
    recorded."""
    recorded = [r.undiluted for r in solution]
    if all(value is True for value in recorded):
        return True
    return False if False in recorded else None


def ingredients_of(solution: Solution) -> list[Ingredient]:
    """A stored solution (drug key, mcg/mL) as the pure core's ingredients."""
    return [Ingredient(drug, Q_(strength, MCG_PER_ML)) for drug, strength in solution]


def stored_undiluted(
    solution: Solution, library: DrugLibrary, undiluted: bool | None
) -> bool | None:
    """:func:`pumpmgr.stability.recorded_undiluted` of a stored solution (its ingredients are
    built only where there is a record to read)."""
    if undiluted is None:
        return None
    return recorded_undiluted(ingredients_of(solution), library, undiluted)


def interval_days(
    ingredients: tuple[tuple[str, float], ...], library: DrugLibrary, settings: ClinicSettings
) -> float:
    """:func:`pumpmgr.visit.max_interval_days` of a stored solution (drug key, mcg/mL)."""
    return max_interval_days(
        ingredients_of(ingredients),
        library,
        settings.max_refill_interval_days,
    )[0]


def compute(
    *,
    pump: db.Pump,
    fill: FillPoint | None,
    prescriptions: list[PrescriptionRecord],
    settings: ClinicSettings,
    library: DrugLibrary,
    accuracy_percent: float | None,
    tz: tzinfo,
    now: datetime,
) -> db.PumpForecast:
    """The forecast row for ``pump`` (not added to any session):
    :func:`pumpmgr.pump_forecast.pump_forecast` of its current prescription versions.

    ``accuracy_percent`` is the pump's labelled accuracy (``pump.accuracy_percent``); the worst
    case takes the larger of it (15 % assumed where unknown) and the over-delivery measured at
    the last refill (:func:`pumpmgr.forecast.worst_case_accuracy`).
    """
    running: list[PrescriptionRecord] = []
    if fill is not None:
        in_force = [p for p in prescriptions if p.effective_at <= fill.performed_at]
        running = (
            []
            if not in_force
            else [in_force[-1], *[p for p in prescriptions if p.effective_at > fill.performed_at]]
        )
    outlook = pump_forecast(
        fill=fill,
        running=[ProgramFloats.of(p) for p in running],
        alarm_ml=pump.low_reservoir_alarm_ml,
        labelled_accuracy=accuracy_percent,
        constant_flow=pump.nominal_flow_ml_per_day is not None,
        settings=settings,
        stability=lambda solution, first, undiluted: stability_days(
            (drug for drug, _ in solution),
            library,
            first_fill_of=first,
            undiluted=stored_undiluted(solution, library, undiluted),
        ),
        interval=lambda solution: interval_days(solution, library, settings),
        tz=tz,
        now=now,
    )
    return db.PumpForecast(**row_values(pump.id, outlook, now))


def row_values(pump_id: int, outlook: PumpOutlook, now: datetime) -> dict[str, Any]:
    """The ``pump_forecasts`` columns of a forecast computed at ``now``."""
    values = {field.name: getattr(outlook, field.name) for field in fields(PumpOutlook)}
    return {"pump_id": pump_id, "computed_at": now, "days_left_basis": DAYS_LEFT_BASIS, **values}


# ---------------------------------------------------------------------------------------------
# Many pumps at once (a clinic setting or a drug-library edit): the rows the forecast needs, read
# in a few queries as the canonical floats it computes on.

#: Ids per IN list (SQLite's oldest limit on bound parameters is 999).
_CHUNK = 900


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _corrected_ids() -> Any:
    """The ids of the refills a correction replaced (not current)."""
    return select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))


@functools.cache
def _last_fills_statement() -> Any:
    """:func:`last_fills`' statement, made once (its aliases and correlated subqueries cost
    more to build than a patient's query costs to run), for the pumps ``pumps``."""
    corrected = _corrected_ids()
    latest, second = aliased(db.Refill), aliased(db.Refill)
    emptied = aliased(db.Refill)

    def nth(alias: Any, offset: int) -> Any:
        return (
            select(alias.id)
            .where(alias.pump_id == db.Pump.id, alias.id.not_in(corrected))
            .order_by(*clinical_order(alias, newest_first=True))
            .limit(1)
            .offset(offset)
            .correlate(db.Pump)
            .scalar_subquery()
        )

    previous_final = (
        select(second.final_reservoir_ml)
        .where(second.id == nth(second, 1))
        .correlate(db.Pump)
        .scalar_subquery()
    )
    ran_empty = (
        select(emptied.id)
        .where(
            emptied.pump_id == db.Pump.id,
            emptied.id.not_in(corrected),
            db.ran_empty(emptied),  # as ix_refills_ran_empty's condition: it serves this
        )
        .correlate(db.Pump)
        .exists()
    )
    r = db.Refill
    return (
        select(
            db.Pump.id,
            r.performed_at,
            r.final_reservoir_ml,
            r.bolus_volume_ml,
            previous_final,
            r.expected_residual_ml,
            r.expected_residual_unfloored_ml,
            r.aspirated_ml,
            r.volume_added_ml,
            r.discrepancy_verdict,
            r.expiry_date,
            ran_empty,
            r.undiluted,
        )
        .join(r, r.id == nth(latest, 0))
        .where(db.Pump.id.in_(bindparam("pumps", expanding=True)))
    )


def last_fills(
    session: Session, pump_ids: list[int], first_fill_drugs: Collection[str]
) -> dict[int, FillPoint]:
    """Each pump's latest current fill (:func:`fill_point` of :func:`current_refills`), in a
    few queries. Its ``first_fill_of`` names only ``first_fill_drugs``, the drugs whose first
    fill has a limit of its own (:func:`pumpmgr.stability.first_fill_limited`), the only ones
    the stability limit reads it of (none: a caller that reads no stability limit)."""
    statement = _last_fills_statement()
    fills: dict[int, FillPoint] = {}
    for chunk in _chunks(pump_ids):
        first_of = (
            _first_fills_of_latest(session, chunk, _corrected_ids(), first_fill_drugs)
            if first_fill_drugs
            else {}
        )
        rows = session.execute(statement, {"pumps": chunk})
        for (
            pump_id,
            performed_at,
            final_ml,
            bolus_ml,
            before_ml,
            expected_ml,
            unfloored_ml,
            aspirated_ml,
            added_ml,
            verdict,
            expiry,
            empty,
            undiluted,
        ) in rows:
            if final_ml - added_ml > TOP_UP_ML:  # a top-up: the older solutions count too
                found = current_fill(session, pump_id)
                if found is not None:
                    fills[pump_id] = found
                continue
            error = (
                None
                if before_ml is None or verdict == "first_fill"
                else (
                    worst_case_error_percent(
                        before_ml,
                        expected_ml if unfloored_ml is None else unfloored_ml,
                        aspirated_ml,
                    )
                )
            )
            fills[pump_id] = FillPoint(
                performed_at,
                final_ml,
                bolus_ml or 0.0,
                first_of.get(pump_id, frozenset()),
                measured_error_percent=error,
                expires_on=expiry,
                ran_empty=bool(empty),
                undiluted=undiluted,
            )
    return fills


def _first_fills_of_latest(
    session: Session, pump_ids: list[int], corrected: Any, drugs: Collection[str]
) -> dict[int, frozenset[str]]:
    """Each pump's :func:`pumpmgr.stability.first_fills` of its latest current refill taken as
    the solution's own fill (:func:`last_fills` reads a top-up through :func:`fill_point`): the
    latest refill's drugs that no other current refill held; of ``drugs`` only. The latest is
    the last in the clinical order (time filled, then id), as :func:`current_refills` orders
    them, so every other current refill comes before it and the count needs no order: the
    same set :func:`fill_point` gives. Two queries, whatever the refill count."""
    r, latest = db.Refill, aliased(db.Refill)
    ingredient = db.PrescriptionIngredient
    newest = (
        select(latest.id)
        .where(latest.pump_id == db.Pump.id, latest.id.not_in(corrected))
        .order_by(*clinical_order(latest, newest_first=True))
        .limit(1)
        .correlate(db.Pump)
        .scalar_subquery()
    )
    last: dict[int, set[str]] = {}
    for pump_id, drug in session.execute(
        select(db.Pump.id, ingredient.drug_key)
        .select_from(db.Pump)
        .join(r, r.id == newest)
        .join(ingredient, ingredient.prescription_id == r.prescription_id)
        .where(db.Pump.id.in_(pump_ids), ingredient.drug_key.in_(list(drugs)))
    ):
        last.setdefault(pump_id, set()).add(drug)
    held: dict[int, set[str]] = {}
    for pump_id, drug in session.execute(
        select(r.pump_id, ingredient.drug_key)
        .select_from(r)
        .join(ingredient, ingredient.prescription_id == r.prescription_id)
        .where(
            r.pump_id.in_(list(last)),
            r.id.not_in(corrected),
            ingredient.drug_key.in_(list(drugs)),
        )
        .group_by(r.pump_id, ingredient.drug_key)
        .having(func.count(r.id) > 1)  # one ingredient row a drug (unique): refills
    ):
        held.setdefault(pump_id, set()).add(drug)
    return {
        pump_id: first_fills([held.get(pump_id, set()), drugs], 1)
        for pump_id, drugs in last.items()
    }


def due_facts(session: Session, pump_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the due list shows beside each pump's forecast (the ``pump_forecasts`` columns
    ``prescription_id``, ``flex_schedule``, ``open_discrepancy``): the pump's newest
    prescription version, whether its program has more than one step, and whether the pump's
    latest current refill (one no later row corrects) asks for a review. A few queries."""
    corrected = _corrected_ids()
    latest = (
        select(db.Refill.discrepancy_verdict)
        .where(db.Refill.pump_id == db.Pump.id, db.Refill.id.not_in(corrected))
        .order_by(*clinical_order(db.Refill, newest_first=True))
        .limit(1)
        .correlate(db.Pump)
        .scalar_subquery()
    )
    facts: dict[int, dict[str, Any]] = {
        pump_id: {
            "prescription_id": None,
            "flex_schedule": False,
            "open_discrepancy": False,
            "order_alert": None,
            "open_incident": False,
            "open_stop_order": False,
            "solution": None,
        }
        for pump_id in pump_ids
    }
    for chunk in _chunks(pump_ids):
        for pump_id, verdict in session.execute(
            select(db.Pump.id, latest).where(db.Pump.id.in_(chunk))
        ):
            facts[pump_id]["open_discrepancy"] = verdict == "investigate"
        newest = dict(
            session.execute(
                select(db.Prescription.pump_id, func.max(db.Prescription.id))
                .where(db.Prescription.pump_id.in_(chunk), runs_in_pump())
                .group_by(db.Prescription.pump_id)
            ).all()
        )
        steps = dict(
            session.execute(
                select(db.ScheduleStep.prescription_id, func.count())
                .where(db.ScheduleStep.prescription_id.in_(list(newest.values())))
                .group_by(db.ScheduleStep.prescription_id)
            ).all()
        )
        solutions = solution_texts(session, list(newest.values()))
        for pump_id, rx_id in newest.items():
            facts[pump_id]["prescription_id"] = rx_id
            facts[pump_id]["flex_schedule"] = steps.get(rx_id, 0) > 1
            facts[pump_id]["solution"] = solutions.get(rx_id)
        for pump_id, alert in order_alerts(session, chunk).items():
            facts[pump_id]["order_alert"] = alert
        reviewed = select(db.IncidentReview.incident_id)
        for pump_id in session.scalars(
            select(db.Incident.pump_id)
            .where(db.Incident.pump_id.in_(chunk), db.Incident.id.not_in(reviewed))
            .distinct()
        ):
            facts[pump_id]["open_incident"] = True
        carried_out = select(db.StopOrderCarriedOut.stop_order_id)
        for pump_id in session.scalars(
            select(db.StopOrder.pump_id)
            .where(db.StopOrder.pump_id.in_(chunk), db.StopOrder.id.not_in(carried_out))
            .distinct()
        ):
            facts[pump_id]["open_stop_order"] = True
    return facts


#: A stored solution's text (``pump_forecasts.solution``): its ingredients in order, apart,
#: each as drug key and mcg/mL, apart, by characters no drug key holds.
_INGREDIENT, _FIELD = "\x1e", "\x1f"


def solution_texts(session: Session, prescription_ids: list[int]) -> dict[int, str]:
    """Each prescription's solution as the due list keeps it with the stored forecast (none
    for a prescription without ingredients): :func:`solution_parts` reads it back."""
    i = db.PrescriptionIngredient
    parts: dict[int, list[str]] = {}
    for chunk in _chunks(prescription_ids):
        for rx_id, key, concentration in session.execute(
            select(i.prescription_id, i.drug_key, i.concentration_mcg_per_ml)
            .where(i.prescription_id.in_(chunk))
            .order_by(i.prescription_id, i.position)
        ):
            parts.setdefault(rx_id, []).append(f"{key}{_FIELD}{float(concentration)!r}")
    return {rx_id: _INGREDIENT.join(texts) for rx_id, texts in parts.items()}


def solution_parts(solution: str) -> list[tuple[str, float]]:
    """The (drug key, mcg/mL) of each ingredient of a :func:`solution_texts` text, in order."""
    return [
        (key, float(concentration))
        for key, concentration in (part.split(_FIELD) for part in solution.split(_INGREDIENT))
    ]


def pump_orders(
    session: Session,
    pump_ids: list[int],
) -> dict[int, list[tuple[db.Prescription, OrderState, bool]]]:
    """Each pump's orders that name a prescriber's account (not corrected), in the order
    they were entered, with their state and whether the pump runs them."""
    rows = list(session.scalars(_orders_of(select(db.Prescription), pump_ids)))
    return _order_states(session, rows)


def order_alerts(session: Session, pump_ids: list[int]) -> dict[int, str | None]:
    """Each pump's most pressing order state (:func:`pumpmgr.orders.most_pressing`). The
    orders are read as the columns their state needs, not as mapped rows: a recompute reads
    every pump's."""
    columns = select(
        db.Prescription.id,
        db.Prescription.pump_id,
        db.Prescription.high_risk,
        db.Prescription.recorded_by_id,
        db.Prescription.prescriber_id,
        db.Prescription.held_for_signature,
    )
    rows = session.execute(_orders_of(columns, pump_ids)).all()
    alerts: dict[int, str | None] = {}
    for pump_id, orders in _order_states(session, rows).items():
        state = most_pressing([(s, runs) for _row, s, runs in orders])
        alerts[pump_id] = None if state is None else str(state)
    return alerts


def _orders_of(query: Any, pump_ids: list[int]) -> Any:
    """``query`` limited to the pumps' orders that name a prescriber's account and that no
    later version corrects, in the order they were entered."""
    corrected = select(db.Prescription.corrects_id).where(db.Prescription.corrects_id.is_not(None))
    return query.where(
        db.Prescription.pump_id.in_(pump_ids),
        db.Prescription.prescriber_id.is_not(None),
        db.Prescription.id.not_in(corrected),
    ).order_by(db.Prescription.id)


def _order_states(
    session: Session, rows: Sequence[Any]
) -> dict[int, list[tuple[Any, OrderState, bool]]]:
    """Each pump's orders (``rows``: prescriptions, or rows of their columns) with their
    state after their actions and whether the pump runs them."""
    actions: dict[int, list[Any]] = {r.id: [] for r in rows}
    if actions:
        for action in session.execute(
            select(db.OrderAction.prescription_id, db.OrderAction.action).where(
                db.OrderAction.prescription_id.in_(list(actions))
            )
        ):
            actions[action.prescription_id].append(action)
    found: dict[int, list[tuple[Any, OrderState, bool]]] = {}
    for row in rows:
        done = {a.action for a in actions[row.id]}
        programmed = not row.held_for_signature or "programmed" in done or "signed" in done
        found.setdefault(row.pump_id, []).append(
            (row, mapping.order_state_of(row, actions[row.id]), programmed)
        )
    return found


def runs_in_pump() -> Any:
    """The condition a prescription version meets when the pump runs it: every version but a
    high-risk order a nurse entered that waits for the prescriber's signature, neither signed
    nor recorded as programmed since (domain-rules §7; :func:`pumpmgr.orders.counts_for_forecast`).
    Such an order is rare, so the condition is cheap where there is none."""
    done = select(db.OrderAction.prescription_id).where(
        db.OrderAction.action.in_(("signed", "programmed"))
    )
    return or_(db.Prescription.held_for_signature == false(), db.Prescription.id.in_(done))


def running_programs(
    session: Session, fills: dict[int, FillPoint], pump_ids: list[int]
) -> dict[int, list[ProgramFloats] | None]:
    """For each filled pump, the programs its forecast runs on (the one in force at the fill
    and every later one, as :func:`compute` picks them); None when the rows are not a program
    (or no prescription was in force at the fill: an empty list)."""
    corrected = select(db.Prescription.corrects_id).where(db.Prescription.corrects_id.is_not(None))
    wanted: dict[int, list[int]] = {}
    for chunk in _chunks([p for p in pump_ids if p in fills]):
        versions: dict[int, list[tuple[int, datetime]]] = {}
        for rx_id, pump_id, effective_at in session.execute(
            select(db.Prescription.id, db.Prescription.pump_id, db.Prescription.effective_at)
            .where(
                db.Prescription.pump_id.in_(chunk),
                db.Prescription.id.not_in(corrected),
                runs_in_pump(),
            )
            .order_by(db.Prescription.pump_id, db.Prescription.effective_at, db.Prescription.id)
        ):
            versions.setdefault(pump_id, []).append((rx_id, effective_at))
        for pump_id in chunk:
            performed = fills[pump_id].performed_at
            found = versions.get(pump_id, [])
            in_force = [v for v in found if v[1] <= performed]
            wanted[pump_id] = (
                []
                if not in_force
                else [in_force[-1][0], *[v[0] for v in found if v[1] > performed]]
            )
    ids = [rx_id for chosen in wanted.values() for rx_id in chosen]
    rows: dict[int, Any] = {}
    parts: dict[str, dict[int, list[Any]]] = {"i": {}, "s": {}, "b": {}}
    for chunk in _chunks(ids):
        for row in session.execute(
            select(
                db.Prescription.id,
                db.Prescription.effective_at,
                db.Prescription.ptm_bolus_dose_mcg,
                db.Prescription.ptm_max_per_day,
                db.Prescription.ptm_lockout_days,
            ).where(db.Prescription.id.in_(chunk))
        ):
            rows[row[0]] = row
        for rx_id, *values in session.execute(
            select(
                db.PrescriptionIngredient.prescription_id,
                db.PrescriptionIngredient.position,
                db.PrescriptionIngredient.drug_key,
                db.PrescriptionIngredient.concentration_mcg_per_ml,
            ).where(db.PrescriptionIngredient.prescription_id.in_(chunk))
        ):
            parts["i"].setdefault(rx_id, []).append(tuple(values))
        for rx_id, *values in session.execute(
            select(
                db.ScheduleStep.prescription_id,
                db.ScheduleStep.start_time,
                db.ScheduleStep.rate_mcg_per_day,
            )
            .where(db.ScheduleStep.prescription_id.in_(chunk))
            .order_by(db.ScheduleStep.id)
        ):
            parts["s"].setdefault(rx_id, []).append(tuple(values))
        for rx_id, *values in session.execute(
            select(
                db.ScheduledBolus.prescription_id,
                db.ScheduledBolus.at_time,
                db.ScheduledBolus.amount_mcg,
            )
            .where(db.ScheduledBolus.prescription_id.in_(chunk))
            .order_by(db.ScheduledBolus.id)
        ):
            parts["b"].setdefault(rx_id, []).append(tuple(values))
    programs: dict[int, list[ProgramFloats] | None] = {}
    for pump_id, chosen in wanted.items():
        made = [
            program_floats(
                rows[i][1],
                parts["i"].get(i, []),
                parts["s"].get(i, []),
                parts["b"].get(i, []),
                (rows[i][2], rows[i][3], rows[i][4]),
            )
            for i in chosen
        ]
        programs[pump_id] = (
            None if any(m is None for m in made) else [m for m in made if m is not None]
        )
    return programs


# ---------------------------------------------------------------------------------------------
# The clinic settings the refill-due date uses (revision 0007)

#: The longest refill interval and the empty threshold a clinic may set.
MAX_INTERVAL_SETTING_DAYS = 365
MAX_EMPTY_THRESHOLD_ML = 5.0


def settings_fields(row: db.ClinicSettings) -> dict[str, Any]:
    """The forecast's clinic settings of the stored row, as :class:`ClinicSettings` fields."""
    return {
        "max_refill_interval_days": row.max_refill_interval_days,
        "closed_dates": frozenset(date.fromisoformat(d) for d in row.closed_dates),
        "empty_threshold_ml": row.empty_threshold_ml,
    }


def write_settings_fields(row: db.ClinicSettings, settings: ClinicSettings) -> None:
    """Check the forecast's clinic settings and put them in the stored row; refused with the
    field named: an interval that is not 1 to 365 whole days, an empty threshold outside
    0 to 5 mL."""
    interval = settings.max_refill_interval_days
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int)
        or not (1 <= interval <= MAX_INTERVAL_SETTING_DAYS)
    ):
        raise ImpossibleInput(
            "longest refill interval: give a whole number of days from 1 to "
            f"{MAX_INTERVAL_SETTING_DAYS}, for example 90",
            code=Code.OUT_OF_RANGE,
            field="longest refill interval",
        )
    threshold = settings.empty_threshold_ml
    if not math.isfinite(threshold) or not 0 <= threshold <= MAX_EMPTY_THRESHOLD_ML:
        raise ImpossibleInput(
            f"empty threshold: give a volume in mL from 0 to {MAX_EMPTY_THRESHOLD_ML:g}, for "
            "example 0.5",
            code=Code.OUT_OF_RANGE,
            field="empty threshold",
        )
    row.max_refill_interval_days = interval
    row.closed_dates = sorted(d.isoformat() for d in settings.closed_dates)
    row.empty_threshold_ml = float(threshold)


def settings_audit(settings: ClinicSettings) -> dict[str, Any]:
    """The forecast's clinic settings as an audit entry records them."""
    return {
        "max_refill_interval_days": settings.max_refill_interval_days,
        "closed_dates": sorted(d.isoformat() for d in settings.closed_dates),
        "empty_threshold_ml": settings.empty_threshold_ml,
    }


def settings_move_forecasts(before: ClinicSettings, after: ClinicSettings) -> bool:
    """Whether a settings change moves refill-due dates (every forecast is then rewritten)."""

    def inputs(s: ClinicSettings) -> tuple[Any, ...]:
        return (s.buffer_days, s.open_days, s.max_refill_interval_days, s.closed_dates)

    return inputs(before) != inputs(after)


def interval_cache(
    library: DrugLibrary,
    settings: ClinicSettings,
) -> Callable[[tuple[tuple[str, float], ...]], float]:
    """:func:`interval_days` for many pumps at once, each solution worked out once."""
    known: dict[tuple[str, ...], float] = {}

    def interval(ingredients: tuple[tuple[str, float], ...]) -> float:
        drugs = tuple(drug for drug, _ in ingredients)
        if drugs not in known:
            known[drugs] = interval_days(ingredients, library, settings)
        return known[drugs]

    return interval


def unfloored_expected(row: db.Refill) -> float:
    """A refill's expected residual not floored at 0 (the floored one for refills recorded
    before revision 0007)."""
    return (
        row.expected_residual_ml
        if row.expected_residual_unfloored_ml is None
        else row.expected_residual_unfloored_ml
    )


def require_verdict_note(found: Discrepancy, note: str) -> None:
    """A found-empty or investigate verdict is saved only with the nurse's note: the patient's
    condition, or what was found (domain-rules section 4)."""
    if found.verdict == "ok" or note.strip():
        return
    if found.verdict == "found_empty":
        raise InputError(
            f"discrepancy note: the reservoir was found empty ({found.meaning}); write the "
            "patient's condition before saving",
            code=Code.NO_VALUE,
            field="discrepancy note",
        )
    raise InputError(
        f"discrepancy note: the residual says investigate ({found.meaning}); write what was "
        "found before saving",
        code=Code.NO_VALUE,
        field="discrepancy note",
    )
