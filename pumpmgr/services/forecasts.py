"""The stored forecast of each pump (application layer), computed again inside the unit of
work of every change that moves it: the other areas are handed this service and call
:meth:`ForecastService.refresh_forecast` (one pump) or :meth:`~ForecastService.refresh_forecasts`
(many at once, the same rows)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, insert, select, type_coerce, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.db.audit import append_audit
from pumpmgr.errors import PumpMgrError
from pumpmgr.pump_forecast import pump_forecast
from pumpmgr.records import StoredForecast
from pumpmgr.services import forecasting, mapping
from pumpmgr.services.context import ClinicContext
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor
from pumpmgr.stability import first_fill_limited

#: The revision of the refill-due rules the forecasts are computed with: 1, the worst case and
#: the limits of revision 0007; 2, a drug's first-fill stability limit after the pump's first
#: fill of that drug (revision 0021; domain-rules §3). Kept in ``clinic_settings.forecast_rules``.
FORECAST_RULES = 2


class ForecastService:
    """The stored forecasts, pump by pump or all at once."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    def refresh_forecast(self, session: Session, pump: db.Pump) -> StoredForecast | None:
        row = self._computed(session, pump, self.ctx.now())
        existing = session.get(db.PumpForecast, pump.id)
        if existing is not None:
            for column in db.PumpForecast.__table__.columns:
                setattr(existing, column.key, getattr(row, column.key))
            row = existing
        else:
            session.add(row)
        session.flush()
        return mapping.stored_forecast(row)

    def _computed(self, session: Session, pump: db.Pump, now: datetime) -> db.PumpForecast:
        """The forecast row of ``pump`` from its records, computed at ``now`` (not added)."""
        fill = forecasting.current_fill(session, pump.id)
        row = forecasting.compute(
            pump=pump,
            fill=fill,
            prescriptions=self.ctx.prescriptions(session, pump.id),
            settings=self.ctx.settings(session),
            library=self.ctx.library(session),
            accuracy_percent=pump.accuracy_percent,
            tz=self.ctx.tz,
            now=now,
        )
        for key, value in forecasting.due_facts(session, [pump.id])[pump.id].items():
            setattr(row, key, value)
        return row

    def forecast_problems(self, session: Session) -> list[str]:
        """Every stored forecast that is not what the records give: each active pump's
        forecast computed again from its records, settings and drug library (at the moment
        the stored one says it was computed, which only a never-filled pump's due date
        depends on) and compared field by field. Guarantees: a stored date, volume or due-list
        fact that differs is named with the pump, the field, the stored and the recomputed
        value; so are a missing forecast, one for a pump that is not active, and one computed
        in the future (which would move a never-filled pump's due date)."""
        problems: list[str] = []
        stored = set(session.scalars(select(db.PumpForecast.pump_id)))
        now = self.ctx.now()
        active = session.scalars(
            select(db.Pump.id)
            .where(type_coerce(db.Pump.status, String) == db.PumpStatus.ACTIVE.value)
            .order_by(db.Pump.id)
        ).all()
        try:  # all at once, as the bulk refresh computes them
            pumps = session.scalars(select(db.Pump).where(db.Pump.id.in_(active))).all()
            bulk = self._bulk_values(session, pumps, now)
        except _UNREADABLE:  # some record cannot be read: pump by pump, to name it
            bulk = {}
        for pump_id in active:
            name = f"pump #{pump_id}"
            if pump_id not in stored:
                problems.append(f"{name}: its stored forecast is missing")
                continue
            stored.discard(pump_id)
            try:
                row = session.get_one(db.PumpForecast, pump_id)
                if row.computed_at > now + timedelta(minutes=5):
                    problems.append(
                        f"{name}: its stored forecast says it was computed at "
                        f"{row.computed_at:%Y-%m-%d %H:%M} UTC, in the future"
                    )
                    continue
                fresh = bulk.get(pump_id)
                if fresh is None or fresh["filled_at"] is None:
                    # a never-filled pump is due "now": now is when it was computed
                    one = self._computed(
                        session, session.get_one(db.Pump, pump_id), row.computed_at
                    )
                    fresh = {c.key: getattr(one, c.key) for c in db.PumpForecast.__table__.columns}
            except _UNREADABLE as exc:  # a record altered past what its type can read
                problems.append(
                    f"{name}: its forecast cannot be computed again, because its "
                    f"records cannot be read ({type(exc).__name__})"
                )
                continue
            for column in db.PumpForecast.__table__.columns:
                if column.key in ("pump_id", "computed_at"):
                    continue
                kept, computed = getattr(row, column.key), fresh[column.key]
                if not _same(kept, computed):
                    problems.append(
                        f"{name}: the stored forecast's {column.key} is {_shown(kept)}, but "
                        f"its records give {_shown(computed)}"
                    )
        for pump_id in sorted(stored):
            problems.append(
                f"pump #{pump_id}: a forecast is stored for it, but it is not an active pump"
            )
        return problems

    def refresh_forecasts(self, session: Session, pumps: Sequence[db.Pump]) -> None:
        """:meth:`refresh_forecast` for many pumps at once: their last fills and the programs
        that ran since in a few queries as canonical floats, each forecast by
        :func:`pumpmgr.pump_forecast.pump_forecast` (the one forecast), and one bulk UPDATE. The
        rows are the ones the pump-by-pump refresh writes (``tests/test_bench.py`` compares
        them)."""
        if not pumps:
            return
        stored = set(session.scalars(select(db.PumpForecast.pump_id)))
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for pump_id, values in self._bulk_values(session, pumps, self.ctx.now()).items():
            (updates if pump_id in stored else inserts).append(values)
        if updates:  # a Core executemany: the ORM's bulk UPDATE costs more than the rows
            table = db.Base.metadata.tables["pump_forecasts"]
            session.execute(
                update(table).where(table.c.pump_id == bindparam("forecast_of")),
                [{"forecast_of": values.pop("pump_id"), **values} for values in updates],
            )
        if inserts:
            session.execute(insert(db.PumpForecast), inserts)
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, db.PumpForecast):
                session.expire(loaded)

    def _bulk_values(
        self,
        session: Session,
        pumps: Sequence[db.Pump],
        now: datetime,
    ) -> dict[int, dict[str, Any]]:
        """Each pump's forecast row as column values, computed at ``now`` in a few queries
        (:meth:`refresh_forecasts`)."""
        settings, library = self.ctx.settings(session), self.ctx.library(session)
        ids = [pump.id for pump in pumps]
        fills = forecasting.last_fills(session, ids, first_fill_limited(library))
        programs = forecasting.running_programs(session, fills, ids)
        limits: dict[tuple[tuple[str, ...], frozenset[str], bool | None], float | None] = {}

        def stability(
            ingredients: tuple[tuple[str, float], ...],
            first_fill_of: frozenset[str],
            undiluted: bool | None,
        ) -> float | None:
            """:func:`forecasting.stability_days`, once per set of drugs."""
            undiluted = forecasting.stored_undiluted(ingredients, library, undiluted)
            drugs = tuple(drug for drug, _ in ingredients)
            key = (drugs, first_fill_of & frozenset(drugs), undiluted)
            if key not in limits:
                limits[key] = forecasting.stability_days(
                    drugs, library, first_fill_of=first_fill_of, undiluted=undiluted
                )
            return limits[key]

        facts = forecasting.due_facts(session, ids)
        interval = forecasting.interval_cache(library, settings)
        result: dict[int, dict[str, Any]] = {}
        for pump in pumps:
            fill = fills.get(pump.id)
            running = [] if fill is None else programs.get(pump.id)
            if running is None:  # rows the floats do not take: read with pint, which says why
                row = forecasting.compute(
                    pump=pump,
                    fill=fill,
                    prescriptions=self.ctx.prescriptions(session, pump.id),
                    settings=settings,
                    library=library,
                    accuracy_percent=pump.accuracy_percent,
                    tz=self.ctx.tz,
                    now=now,
                )
                values = {c.key: getattr(row, c.key) for c in db.PumpForecast.__table__.columns}
            else:
                values = forecasting.row_values(
                    pump.id,
                    pump_forecast(
                        fill=fill,
                        running=running,
                        alarm_ml=pump.low_reservoir_alarm_ml,
                        labelled_accuracy=pump.accuracy_percent,
                        constant_flow=pump.nominal_flow_ml_per_day is not None,
                        settings=settings,
                        stability=stability,
                        interval=interval,
                        tz=self.ctx.tz,
                        now=now,
                    ),
                    now,
                )
            values.update(facts[pump.id])
            result[pump.id] = values
        return result

    def recompute_all_forecasts(self, actor: Actor, reason: str) -> int:
        """Every active pump's forecast again (after a settings or drug-library change)."""
        self.ctx.permit(actor, Action.RECOMPUTE_FORECASTS)

        def work(session: Session) -> int:
            pumps = session.scalars(
                select(db.Pump).where(db.Pump.status == db.PumpStatus.ACTIVE)
            ).all()
            self.refresh_forecasts(session, pumps)
            self.ctx.audit(
                session, actor, "forecast.recompute", "clinic", "all", {"pumps": len(pumps)}, reason
            )
            return len(pumps)

        return self.ctx.write(work)

    def refresh_stale(self) -> int:
        """Compute again, at once, every active pump's stored forecast when the settings say
        they were written under older refill-due rules (``forecast_rules`` below
        :data:`FORECAST_RULES`), so that an upgraded clinic never shows a refill-due date later
        than the revised rules allow; then mark the settings so that later starts read one row
        instead. Audited as pumpmgr's own action; returns how many pumps (0, writing nothing,
        when the settings say the forecasts are current)."""
        current = select(db.ClinicSettings.forecast_rules).where(db.ClinicSettings.id == 1)
        with self.ctx.database.read() as session:
            if (session.scalar(current) or 0) >= FORECAST_RULES:
                return 0
        stale = select(db.Pump).where(db.Pump.status == db.PumpStatus.ACTIVE)

        def work(session: Session) -> int:
            settings = session.get_one(db.ClinicSettings, 1)
            if settings.forecast_rules >= FORECAST_RULES:  # another workstation did it
                return 0
            pumps = session.scalars(stale).all()
            self.refresh_forecasts(session, pumps)
            settings.forecast_rules = FORECAST_RULES
            append_audit(
                session,
                username="pumpmgr",
                action="forecast.recompute_after_upgrade",
                entity_type="clinic",
                entity_id="all",
                changes={"pumps": len(pumps)},
                reason="the refill-due date's rules were revised (domain-rules §3)",
                workstation=self.ctx.workstation,
                at=self.ctx.now(),
            )
            return len(pumps)

        return self.ctx.write(work)


#: What reading or computing from a record altered behind pumpmgr's back can raise.
_UNREADABLE = (SQLAlchemyError, PumpMgrError, ValueError, LookupError, TypeError, KeyError)


def _same(kept: Any, computed: Any) -> bool:
    """Equal, floats to 1e-9 (relative): the bulk refresh computes on plain floats."""
    if isinstance(kept, float) and isinstance(computed, float):
        return math.isclose(kept, computed, rel_tol=1e-9, abs_tol=1e-9)
    return bool(kept == computed)


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)
