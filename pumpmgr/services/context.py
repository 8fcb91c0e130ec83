"""What every area service of the clinic shares: one database, clock, time zone, catalogs,
workstation and password hasher, the unit of work (:meth:`ClinicContext.write`, run again after
a retryable failure), permissions, auditing, sign-in checks, and the reads several areas need
(drug library, settings, prescriptions, refills, catheters, user names).

One :class:`ClinicContext` is made per clinic database and handed to each area service
(:mod:`pumpmgr.services.clinic` builds them). The database may be replaced by a restore, so
areas read it from here at each use and never keep their own reference.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr import auth, pump_edits
from pumpmgr.catalogs import Catalogs, DrugLibrary, PumpModel
from pumpmgr.clock import Clock, SystemClock
from pumpmgr.db import changes, rowchain
from pumpmgr.db import schema as db
from pumpmgr.db.audit import append_audit
from pumpmgr.db.changes import Change as Change  # what a screen's change feed gives
from pumpmgr.db.changes import ChangeFeed as ChangeFeed
from pumpmgr.db.engine import Database
from pumpmgr.errors import Code, ImpossibleInput, PumpMgrError
from pumpmgr.identity import clean_text
from pumpmgr.records import ClinicSettings, PrescriptionRecord, RefillRecord
from pumpmgr.services import forecasting, library_edits, mapping, sessions
from pumpmgr.services.audit_trail import (
    SIGN_IN_FAILED_ACTION,
    UNKNOWN_USER,
    VERIFY_FAILED_ACTION,
)
from pumpmgr.services.inputs import Verification
from pumpmgr.services.permissions import Action, PermissionDenied, allowed, require_permission
from pumpmgr.services.throttle import SignInThrottle
from pumpmgr.services.values import Actor

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Where a unit of work collects the user names whose password check failed in it
#: (``Session.info``), to be counted once it has been rolled back (:meth:`ClinicContext.write`).
_FAILED_CHECKS = "pumpmgr.failed_password_checks"
#: Where a unit of work collects what its steps recorded besides the call's own act, for the
#: payload of the call's one audit entry (:meth:`ClinicContext.carry`; ``Session.info``).
_CARRIED = "pumpmgr.audit_carried"
#: The part of a call's audit entry that lists the password hashes its checks upgraded.
REHASH_PART = "password_rehash"


def _text(value: str, field: str, *, required: bool = True, limit: int = 200) -> str:
    # Fields longer than a line (notes, reasons: limits above 200) may hold line breaks.
    return clean_text(value, field, required=required, limit=limit, multiline=limit > 200)


def actor_of(user: db.User) -> Actor:
    """The :class:`Actor` of an account row, not signed in (a record of who, for an audit entry
    or a screen); :func:`session_of` after a password check."""
    return Actor(user.id, user.username, user.full_name, user.role.value)


def session_of(user: db.User) -> Actor:
    """The signed-in :class:`Actor` of an account whose password was just checked."""
    return sessions.signed_in(actor_of(user))


class ClinicContext:
    """The shared parts of the clinic's services over one database."""

    def __init__(
        self,
        database: Database,
        *,
        catalogs: Catalogs | None = None,
        clock: Clock | None = None,
        tz: tzinfo | None = None,
        workstation: str | None = None,
        hasher: PasswordHasher = auth.DEFAULT_HASHER,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.database = database
        self.catalogs = catalogs or mapping.default_catalogs()
        self.clock = clock or SystemClock()
        #: Given by the caller (tests, a fixed zone), else the clinic's setting is followed.
        self.tz_given = tz is not None
        self.tz = tz if tz is not None else self.clinic_zone()
        self.workstation = workstation or socket.gethostname()
        self.hasher = hasher
        #: Failed sign-ins and second-user checks per user name, kept in the database (so
        #: shared by every program on it), on this service's clock.
        self.throttle = throttle or SignInThrottle(self.clock)
        #: This program's mark on the changes it announces (:mod:`pumpmgr.db.changes`), so
        #: that its own change feed does not report them as another workstation's.
        self.origin = uuid.uuid4().hex

    def change_feed(self) -> ChangeFeed:
        """What other programs commit to this clinic's database (:mod:`pumpmgr.db.changes`)."""
        return changes.open_feed(self.database, self.origin)

    def clinic_zone(self, name: str | None = None) -> tzinfo:
        """The clinic's time zone: ``name``, else the stored setting's, else (none set) the
        workstation's own."""
        if name is None:
            with self.database.read() as session:
                name = session.get_one(db.ClinicSettings, 1).time_zone
        if name:
            return ZoneInfo(name)
        import tzlocal

        return tzlocal.get_localzone()

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    def audit(
        self,
        session: Session,
        actor: Actor,
        action: str,
        entity: str,
        entity_id: object,
        changes: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """The call's one audit entry (reliability.md T8: one per mutating call), written
        after every row the call writes, so that it carries them all
        (:mod:`pumpmgr.db.rowchain`); its payload is ``changes`` and, under their part names,
        what the call's steps :meth:`carry`."""
        carried: dict[str, list[dict[str, Any]]] = session.info.pop(_CARRIED, {})
        clash = set(carried) & set(changes or {})
        if clash:
            raise RuntimeError(f"{action}: the payload already has the parts {sorted(clash)}")
        append_audit(
            session,
            username=actor.username,
            action=action,
            entity_type=entity,
            entity_id=str(entity_id),
            changes={**(changes or {}), **carried},
            reason=reason,
            workstation=self.workstation,
            at=self.now(),
        )

    @staticmethod
    def carry(session: Session, part: str, record: dict[str, Any]) -> None:
        """Keep ``record`` (what a step of the call recorded besides the call's own act: the
        pump event of an implant, an incident, the booking a refill closed) for the call's
        one audit entry, whose payload lists it under ``part`` (:meth:`audit`). The unit of
        work must write that entry after its last :meth:`carry` (:meth:`write` refuses one
        that does not)."""
        session.info.setdefault(_CARRIED, {}).setdefault(part, []).append(record)

    @staticmethod
    def carries(session: Session) -> bool:
        """Whether the unit of work holds records for an audit entry not yet written."""
        return bool(session.info.get(_CARRIED))

    def instant(self, moment: datetime, field: str) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)  # typed in the clinic's local time
        if moment > self.now() + timedelta(minutes=5):
            raise ImpossibleInput(
                f"{field}: {moment.astimezone(self.tz):%Y-%m-%d %H:%M} is in the future",
                code=Code.TIME_ORDER,
                field=field,
            )
        return mapping.utc(moment)

    def permit(self, actor: Actor, action: Action) -> None:
        """Refuse with :class:`PermissionDenied` unless the role table allows ``action`` to
        ``actor``'s role and the stored account is still active with that role (deny by
        default: :mod:`pumpmgr.services.permissions`)."""
        with self.database.read() as session:
            require_permission(session, actor, action)

    def write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one write unit of work through :meth:`Database.run_write`: run
        again from the start after a PostgreSQL serialization failure or deadlock, so a nurse
        never sees a retryable error. ``work`` must change nothing outside the session, since
        an attempt may be thrown away.

        Password checks that failed in it are counted afterwards, in a unit of work of their
        own: the one that checked them was rolled back with the refusal."""
        failed: list[tuple[str, str]] = []  #: (user name typed, field) of each failure

        def attempt(session: Session) -> T:
            failed.clear()  # a retried attempt checks (and may fail) again
            session.info[_FAILED_CHECKS] = failed
            session.info.pop(_CARRIED, None)
            changes.watch(session)
            result = work(session)
            left = session.info.pop(_CARRIED, None)
            if left:  # a programming error: what a step recorded would be lost from the log
                raise RuntimeError(f"no audit entry carries the unit of work's {sorted(left)}")
            changes.announce(session, self.origin)  # in this transaction: sent if it commits
            return result

        try:
            return self.database.run_write(attempt)
        finally:
            if failed:
                self._count_failures(list(failed))

    def _count_failures(self, failures: list[tuple[str, str]]) -> None:
        def work(session: Session) -> None:
            self.throttle.failed(session, [name for name, _ in failures])
            for name, field in failures:
                self._audit_failure(session, name, field)

        try:
            self.database.run_write(work)
        except Exception:  # the refusal itself must still reach the user
            log.exception("a failed password check could not be counted")

    def _audit_failure(self, session: Session, username: str, field: str) -> None:
        """An audit entry for a failed password check: the account's name when the name is
        an account's, else :data:`~pumpmgr.services.audit_trail.UNKNOWN_USER` (what was typed
        may be a password typed into the wrong box); never the password."""
        user = auth.find_user(session, username)
        action = VERIFY_FAILED_ACTION if field == "verification" else SIGN_IN_FAILED_ACTION
        append_audit(
            session,
            username=UNKNOWN_USER if user is None else user.username,
            action=action,
            entity_type="user",
            entity_id=None if user is None else user.id,
            changes={
                "checked": field,
                "account": "no such user name"
                if user is None
                else "known"
                if user.active
                else "deactivated",
            },
            workstation=self.workstation,
            at=self.now(),
        )

    def authenticate(
        self, session: Session, username: str, password: str, field: str = "password"
    ) -> db.User:
        """:func:`pumpmgr.auth.authenticate`, throttled after repeated failures (the count is
        shared through the database: :mod:`pumpmgr.services.throttle`)."""
        failed: list[tuple[str, str]] | None = session.info.get(_FAILED_CHECKS)
        if failed is None:
            raise RuntimeError("a password is checked only in a unit of work of write()")
        self.throttle.check(session, username, field)
        try:
            user = auth.authenticate(session, username, password, self.hasher)
        except auth.AuthError as exc:
            if exc.code in (Code.AUTH_BAD_CREDENTIALS, Code.AUTH_INACTIVE):
                failed.append((username, field))  # a closed account's attempt on record too
            raise
        if rowchain.has_pending(session, "users", user.id):
            # auth upgraded an outdated password hash in place: in the call's audit entry
            self.carry(
                session,
                REHASH_PART,
                {
                    "user_id": user.id,
                    "username": user.username,
                    "password_hash": "upgraded to the current parameters at sign-in",
                },
            )
        self.throttle.succeeded(session, username)
        return user

    def verify_second(self, session: Session, actor: Actor, verification: Verification) -> db.User:
        verifier = self.authenticate(
            session, verification.username, verification.password, "verification"
        )
        if verifier.id == actor.id:
            raise auth.AuthError(
                "verification: the second check must be done by another user",
                code=Code.AUTH_BAD_CREDENTIALS,
                field="verification",
            )
        if not allowed(verifier.role.value, Action.VERIFY):
            raise PermissionDenied(
                f"verification: {verifier.username} ({verifier.role.value}) may not verify "
                "clinical records; the second check needs a nurse or a prescriber",
                code=Code.AUTH_NOT_PERMITTED,
                field="verification",
            )
        return verifier

    def library(self, session: Session | None = None) -> DrugLibrary:
        """The drug library: the shipped catalog with the clinic's audited edits applied."""
        if session is None:
            with self.database.read() as read:
                return self.library(read)
        cache = forecasting.session_cache(session, "library")
        key = id(self.catalogs)
        if key not in cache:
            cache[key] = self._read_library(session)
        library: DrugLibrary = cache[key]
        return library

    def _read_library(self, session: Session) -> DrugLibrary:
        edits = session.scalars(select(db.DrugLibraryEdit).order_by(db.DrugLibraryEdit.id))
        return library_edits.apply_edits(
            self.catalogs.drugs, ((e.id, e.drug_key, e.changes) for e in edits)
        )

    def pump_model(self, session: Session, key: str) -> PumpModel:
        """A pump model as the clinic's catalog holds it: the shipped one with the clinic's
        audited edits of its flow limits and labelling (:mod:`pumpmgr.pump_edits`)."""
        cache = forecasting.session_cache(session, "pump_models")
        models: dict[str, PumpModel] | None = cache.get("models")
        if models is None:
            edits = session.scalars(select(db.PumpCatalogEdit).order_by(db.PumpCatalogEdit.id))
            models = cache["models"] = pump_edits.apply_edits(
                self.catalogs.pumps, self.catalogs.pumps, ((e.model_key, e.changes) for e in edits)
            )
        self.catalogs.pump_model(key)  # an unknown key is refused with the catalog's words
        return models[key.strip().lower()]

    def settings(self, session: Session | None = None) -> ClinicSettings:
        if session is None:
            with self.database.read() as read:
                return self.settings(read)
        row = session.get_one(db.ClinicSettings, 1)
        return ClinicSettings(
            clinic_name=row.clinic_name,
            clinic_phone=row.clinic_phone,
            buffer_days=row.refill_buffer_days,
            open_days=frozenset(d for d in range(7) if row.open_weekdays_mask & (1 << d)),
            page_size=row.page_size.value,
            auto_lock_minutes=row.auto_lock_minutes,
            cosign_overdue_hours=row.cosign_overdue_hours,
            high_risk_overdue_hours=row.high_risk_overdue_hours,
            **forecasting.settings_fields(row),
            clinic_visits_per_day=row.clinic_visits_per_day,
            home_visits_per_day=row.home_visits_per_day,
            booking_horizon_days=row.booking_horizon_days,
            time_zone=row.time_zone or "",
        )

    def prescriptions(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        """The pump's current prescription versions (not corrected), oldest first: the ones the
        pump runs, so not an order that waits for the prescriber's signature before it is
        programmed (:func:`forecasting.runs_in_pump`)."""
        cache = forecasting.session_cache(session, "prescriptions")
        found: list[PrescriptionRecord] | None = cache.get(("current", pump_id))
        if found is None:
            found = cache[("current", pump_id)] = self._read_prescriptions(session, pump_id)
        return list(found)

    def _read_prescriptions(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        corrected = select(db.Prescription.corrects_id).where(
            db.Prescription.corrects_id.is_not(None)
        )
        rows = list(
            session.scalars(
                select(db.Prescription)
                .where(
                    db.Prescription.pump_id == pump_id,
                    db.Prescription.id.not_in(corrected),
                    forecasting.runs_in_pump(),
                )
                .order_by(db.Prescription.effective_at, db.Prescription.id)
            )
        )
        if not rows:
            return []
        ids = [r.id for r in rows]

        def children(model: Any) -> dict[int, list[Any]]:
            grouped: dict[int, list[Any]] = {i: [] for i in ids}
            for child in session.scalars(select(model).where(model.prescription_id.in_(ids))):
                grouped[child.prescription_id].append(child)
            return grouped

        ingredients = children(db.PrescriptionIngredient)
        steps = children(db.ScheduleStep)
        boluses = children(db.ScheduledBolus)
        findings = children(db.PrescriptionFinding)
        actions = children(db.OrderAction)
        library = self.library(session)
        return [
            mapping.prescription_record(
                r,
                ingredients[r.id],
                steps[r.id],
                boluses[r.id],
                findings[r.id],
                library,
                actions[r.id],
            )
            for r in rows
        ]

    def instant_any(self, moment: datetime) -> datetime:
        return mapping.utc(moment if moment.tzinfo else moment.replace(tzinfo=self.tz))

    def active_pump(self, session: Session, pump_id: int) -> db.Pump:
        pump = session.get_one(db.Pump, pump_id)
        if pump.status is not db.PumpStatus.ACTIVE:
            raise ImpossibleInput(
                "pump: is not the patient's active pump", code=Code.OUT_OF_RANGE, field="pump"
            )
        return pump

    def current_catheter(self, session: Session, pump_id: int) -> db.Catheter | None:
        return _current_catheter_of(
            session.scalars(select(db.Catheter).where(db.Catheter.pump_id == pump_id))
        )

    @staticmethod
    def user_names(session: Session) -> dict[int, str]:
        """Every account's full name by id (read once per unit of work)."""
        cache = forecasting.session_cache(session, "users")
        if "names" not in cache:
            cache["names"] = {u.id: u.full_name for u in session.scalars(select(db.User))}
        names: dict[int, str] = cache["names"]
        return names

    def refill_records(self, session: Session, pump_id: int) -> list[RefillRecord]:
        rows = list(
            session.scalars(
                select(db.Refill)
                .where(db.Refill.pump_id == pump_id)
                .order_by(*forecasting.clinical_order(db.Refill))
            )
        )
        users = self.user_names(session)
        prescriptions = {p.id: p for p in self.prescriptions_all(session, pump_id)}
        records = []
        previous_final: float | None = None
        current_ids = {r.id for r in forecasting.current_refills(session, pump_id)}
        for row in rows:
            rx = prescriptions.get(row.prescription_id or -1)
            records.append(
                mapping.refill_record(
                    row,
                    previous_final,
                    rx.ingredients if rx else (),
                    users.get(row.nurse_id, "?"),
                    users.get(row.verifying_nurse_id, "?"),
                )
            )
            if row.id in current_ids:
                previous_final = row.final_reservoir_ml
        return records

    def prescriptions_all(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        """Every version including corrected ones (refills point at the version they used)."""
        cache = forecasting.session_cache(session, "prescriptions")
        found: list[PrescriptionRecord] | None = cache.get(("all", pump_id))
        if found is None:
            found = cache[("all", pump_id)] = self._read_prescriptions_all(session, pump_id)
        return list(found)

    def _read_prescriptions_all(
        self,
        session: Session,
        pump_id: int,
    ) -> list[PrescriptionRecord]:
        current = {p.id: p for p in self.prescriptions(session, pump_id)}
        rows = session.scalars(
            select(db.Prescription).where(db.Prescription.pump_id == pump_id)
        ).all()
        missing = [r for r in rows if r.id not in current]
        library = self.library(session)
        for row in missing:
            current[row.id] = mapping.prescription_record(
                row,
                list(
                    session.scalars(
                        select(db.PrescriptionIngredient).where(
                            db.PrescriptionIngredient.prescription_id == row.id
                        )
                    )
                ),
                list(
                    session.scalars(
                        select(db.ScheduleStep).where(db.ScheduleStep.prescription_id == row.id)
                    )
                ),
                list(
                    session.scalars(
                        select(db.ScheduledBolus).where(db.ScheduledBolus.prescription_id == row.id)
                    )
                ),
                list(
                    session.scalars(
                        select(db.PrescriptionFinding).where(
                            db.PrescriptionFinding.prescription_id == row.id
                        )
                    )
                ),
                library,
                list(
                    session.scalars(
                        select(db.OrderAction).where(db.OrderAction.prescription_id == row.id)
                    )
                ),
            )
        return list(current.values())

    def model_name(self, key: str) -> str:
        try:
            return self.catalogs.pump_model(key).name
        except PumpMgrError:
            return key

    def model_type(self, key: str) -> str:
        try:
            return str(self.catalogs.pump_model(key).type)
        except PumpMgrError:
            return "unknown"


def _current_catheter_of(versions: Iterable[db.Catheter]) -> db.Catheter | None:
    """A pump's catheter as last recorded, of all its ``versions``: of those no row corrects,
    the one whose first version was recorded last. A correction takes the place of what it
    corrects, so correcting an earlier configuration never makes it the current one."""
    rows = {r.id: r for r in versions}
    corrected = {r.corrects_id for r in rows.values() if r.corrects_id is not None}

    def first_version(row: db.Catheter) -> int:
        while row.corrects_id is not None and row.corrects_id in rows:
            row = rows[row.corrects_id]
        return row.id

    return max((r for r in rows.values() if r.id not in corrected), key=first_version, default=None)
