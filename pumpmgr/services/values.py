"""The frozen values the clinic's services take and return: the acting user, the outcome of a
refill or prescription change, and the users and audit screens' records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from pumpmgr.booking import BookingCheck
from pumpmgr.deadspace import Bridge
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.records import (
    BookingRecord,
    PatientRecord,
    PrescriptionRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.refill import Discrepancy


@dataclass(frozen=True)
class Actor:
    """The signed-in user on whose behalf a service acts. Only sign-in gives it the ``proof``
    the services require (:mod:`pumpmgr.services.sessions`): one made by hand is refused."""

    id: int
    username: str
    full_name: str
    role: Literal["nurse", "prescriber", "administrator"]
    proof: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True)
class RefillOutcome:
    refill: RefillRecord
    discrepancy: Discrepancy | None
    bridge: Bridge | None
    forecast: StoredForecast | None
    prescription: PrescriptionRecord | None  #: the version saved with the refill, if any


@dataclass(frozen=True)
class PrescriptionOutcome:
    prescription: PrescriptionRecord
    check: DoseCheck
    forecast: StoredForecast | None
    #: Set when the change moved the refill-due date before the pump's open booking: the
    #: words telling the nurse the booking is now too late (issue 16).
    booking_notice: str | None = None


@dataclass(frozen=True)
class BookingOutcome:
    booking: BookingRecord
    check: BookingCheck  #: how the booked day stands against the forecast


@dataclass(frozen=True)
class UserRecord:
    """One account as the users screen lists it (never its password hash)."""

    id: int
    username: str
    full_name: str
    role: Literal["nurse", "prescriber", "administrator"]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as stored: ``payload`` is the canonical JSON text that was hashed."""

    seq: int
    recorded_at: datetime
    username: str
    workstation: str
    action: str
    entity_type: str
    entity_id: str | None
    payload: str
    reason: str | None
    prev_hash: str
    row_hash: str
    #: The patient the entry's record belongs to, as the chart shows them today (None: the
    #: entry is not about a patient's record; :mod:`pumpmgr.services.audit_trail`).
    patient: PatientRecord | None = None


@dataclass(frozen=True)
class ExportSummary:
    """What :meth:`RecordService.export_to` wrote (:mod:`pumpmgr.services.records`)."""

    path: Path
    rows: int
    patients: int
    audit_entries: int
