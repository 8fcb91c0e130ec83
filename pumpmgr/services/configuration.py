"""The clinic's settings and its edits of the drug library (application layer), audited; a
change of the refill buffer or the open days recomputes every active pump's forecast
(:mod:`.forecasts`), and later checks and forecasts read the edited library."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr import pump_edits, workstation
from pumpmgr.catalogs import PumpModel
from pumpmgr.db import schema as db
from pumpmgr.db.errors import ChangedMeanwhile
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.identity import clean_phone
from pumpmgr.pump_edits import Change
from pumpmgr.records import ClinicSettings
from pumpmgr.services import forecasting, library_edits
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.permissions import Action
from pumpmgr.services.users import created, first_administrator
from pumpmgr.services.values import Actor
from pumpmgr.units import Quantity


class ConfigurationService:
    """The clinic's settings and drug-library edits."""

    def __init__(self, ctx: ClinicContext, forecasts: ForecastService) -> None:
        self.ctx = ctx
        self.forecasts = forecasts

    def settings_for_edit(self) -> tuple[ClinicSettings, int]:
        """The clinic settings with the row's version, for :meth:`update_settings`."""
        with self.ctx.database.read() as session:
            return self.ctx.settings(session), session.get_one(db.ClinicSettings, 1).version

    def update_settings(
        self,
        actor: Actor,
        settings: ClinicSettings,
        version: int | None = None,
    ) -> ClinicSettings:
        self.ctx.permit(actor, Action.UPDATE_SETTINGS)
        check_settings(settings)
        return self.ctx.write(lambda session: self._write(session, actor, settings, version))

    def set_up_clinic(
        self, username: str, password: str, full_name: str, settings: ClinicSettings
    ) -> Actor:
        """A new clinic's first run: its administrator's account and its settings, in one
        unit of work with one audit entry, ``clinic.set_up`` (the settings before and after,
        and the account under ``users``); refused once the clinic has an account."""
        check_settings(settings)

        def work(session: Session) -> Actor:
            actor = first_administrator(self.ctx, session, username, password, full_name)
            self.ctx.carry(session, "users", {"user_id": actor.id, **created(actor)})
            self._write(session, actor, settings, None, "clinic.set_up")
            return actor

        return self.ctx.write(work)

    def point_workstation(self, actor: Actor, address: str) -> Path:
        """Point this workstation at the clinic database at ``address`` from its next start
        (File → Clinic database…): audited in the database it uses now, then remembered
        (:mod:`pumpmgr.workstation`); returns the file that remembers it."""
        self.ctx.permit(actor, Action.UPDATE_SETTINGS)
        address = workstation.check_address(address)
        database = self.ctx.database
        before = (
            str(database.path)
            if database.path is not None
            else database.url.render_as_string(hide_password=True)
        )

        def work(session: Session) -> None:
            self.ctx.audit(
                session,
                actor,
                "workstation.database",
                "workstation",
                self.ctx.workstation,
                {"before": before, "after": address},
            )

        self.ctx.write(work)
        return workstation.remember_database(address)

    def _write(
        self,
        session: Session,
        actor: Actor,
        settings: ClinicSettings,
        version: int | None,
        action: str = "settings.update",
    ) -> ClinicSettings:
        row = session.get_one(db.ClinicSettings, 1)
        if version is not None and row.version != version:
            raise ChangedMeanwhile(
                "settings: changed by someone else meanwhile; reload",
                code=Code.DB_CHANGED_MEANWHILE,
                field="settings",
            )
        before = self.ctx.settings(session)
        row.clinic_name = _text(settings.clinic_name, "clinic name")
        row.clinic_phone = clean_phone(settings.clinic_phone, "clinic phone")
        row.refill_buffer_days = settings.buffer_days
        row.open_weekdays_mask = sum(1 << d for d in settings.open_days)
        row.page_size = db.PageSize(settings.page_size)
        row.auto_lock_minutes = settings.auto_lock_minutes
        row.cosign_overdue_hours = settings.cosign_overdue_hours
        row.high_risk_overdue_hours = settings.high_risk_overdue_hours
        forecasting.write_settings_fields(row, settings)
        row.clinic_visits_per_day = settings.clinic_visits_per_day
        row.home_visits_per_day = settings.home_visits_per_day
        row.booking_horizon_days = settings.booking_horizon_days
        row.time_zone = settings.time_zone or None
        row.updated_at = self.ctx.now()
        session.flush()
        self.ctx.audit(
            session,
            actor,
            action,
            "clinic_settings",
            1,
            {"before": _settings_dict(before), "after": _settings_dict(settings)},
        )
        if not self.ctx.tz_given and before.time_zone != settings.time_zone:
            self.ctx.tz = self.ctx.clinic_zone(settings.time_zone)
        if forecasting.settings_move_forecasts(before, settings):
            self.forecasts.refresh_forecasts(
                session,
                session.scalars(
                    select(db.Pump).where(db.Pump.status == db.PumpStatus.ACTIVE)
                ).all(),
            )
        return self.ctx.settings(session)

    def edit_drug_library(
        self,
        actor: Actor,
        drug: str,
        changes: dict[str, Quantity | bool | None],
        reason: str,
    ) -> None:
        """A clinic edit of one drug's values (:data:`library_edits.EDITABLE`: the limits, the
        label caution, the start range, the restart window, withdrawal on a cut), audited,
        then every forecast and later check uses it."""
        self.ctx.permit(actor, Action.EDIT_DRUG_LIBRARY)
        reason = _text(reason, "reason", limit=2000)
        stored = library_edits.stored_changes(changes)

        def work(session: Session) -> None:
            current = self.ctx.library(session).drug(drug)
            key = current.key
            library_edits.check_limits(current, stored)
            row = db.DrugLibraryEdit(
                drug_key=key,
                changes=stored,
                reason=reason,
                edited_at=self.ctx.now(),
                edited_by_id=actor.id,
            )
            session.add(row)
            session.flush()
            self.ctx.audit(session, actor, "drug_library.edit", "drug", key, stored, reason)

        self.ctx.write(work)

    def pump_models(self) -> list[PumpModel]:
        """Every pump model as the clinic's catalog holds it (shipped, with its edits)."""
        with self.ctx.database.read() as session:
            return [self.ctx.pump_model(session, key) for key in self.ctx.catalogs.pumps]

    def edit_pump_model(
        self, actor: Actor, model: str, changes: Mapping[str, Change], reason: str
    ) -> PumpModel:
        """A clinic edit of one pump model's flow limits or labelling
        (:data:`pump_edits.EDITABLE`), audited; every later dose check uses it."""
        self.ctx.permit(actor, Action.EDIT_DRUG_LIBRARY)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> PumpModel:
            current = self.ctx.pump_model(session, model)
            stored = pump_edits.stored_changes(changes, self.ctx.library(session))
            pump_edits.check_flows(current, stored)
            session.add(
                db.PumpCatalogEdit(
                    model_key=current.key,
                    changes=stored,
                    reason=reason,
                    edited_at=self.ctx.now(),
                    edited_by_id=actor.id,
                )
            )
            session.flush()
            self.ctx.audit(
                session, actor, "pump_catalog.edit", "pump_model", current.key, stored, reason
            )
            forecasting.session_cache(session, "pump_models").clear()
            return self.ctx.pump_model(session, current.key)

        return self.ctx.write(work)


def _settings_dict(settings: ClinicSettings) -> dict[str, Any]:
    return {
        "clinic_name": settings.clinic_name,
        "clinic_phone": settings.clinic_phone,
        "buffer_days": settings.buffer_days,
        "open_days": sorted(settings.open_days),
        "page_size": settings.page_size,
        "auto_lock_minutes": settings.auto_lock_minutes,
        "cosign_overdue_hours": settings.cosign_overdue_hours,
        "high_risk_overdue_hours": settings.high_risk_overdue_hours,
        **forecasting.settings_audit(settings),
        "clinic_visits_per_day": settings.clinic_visits_per_day,
        "home_visits_per_day": settings.home_visits_per_day,
        "booking_horizon_days": settings.booking_horizon_days,
        "time_zone": settings.time_zone,
    }


def check_settings(settings: ClinicSettings) -> None:
    """Refuse settings no clinic can run on, naming the field: no open day, a buffer outside
    0 to 60 days, a capacity or horizon out of range, a time zone this computer does not
    know."""
    if not settings.open_days or not 0 <= settings.buffer_days <= 60:
        raise ImpossibleInput(
            "settings: need an open day and a buffer of 0 to 60 days",
            code=Code.OUT_OF_RANGE,
            field="settings",
        )
    for name, hours in (
        ("co-signature overdue", settings.cosign_overdue_hours),
        ("high-risk order overdue", settings.high_risk_overdue_hours),
    ):
        if not 1 <= hours <= 720:
            raise ImpossibleInput(
                f"{name}: {hours} h; give 1 to 720 hours", code=Code.OUT_OF_RANGE, field=name
            )
    for field, value, low, high in (
        ("clinic visits a day", settings.clinic_visits_per_day, 0, 500),
        ("home visits a day", settings.home_visits_per_day, 0, 500),
        ("booking horizon", settings.booking_horizon_days, 1, 366),
    ):
        if not low <= value <= high:
            raise ImpossibleInput(
                f"{field}: give a whole number from {low} to {high}",
                code=Code.OUT_OF_RANGE,
                field=field,
            )
    if settings.time_zone and settings.time_zone not in available_zones():
        raise ImpossibleInput(
            f"time zone: '{settings.time_zone}' is not a time zone name; "
            "choose one from the list, for example Europe/London",
            code=Code.OUT_OF_RANGE,
            field="time zone",
        )


def available_zones() -> frozenset[str]:
    """The IANA time zone names this computer knows."""
    return frozenset(zoneinfo.available_timezones())
