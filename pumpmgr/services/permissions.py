"""Who may do what: the role × action table of the clinic's write actions, deny by default.

Application layer: standard library, ``pumpmgr.errors`` and ``pumpmgr.db.schema`` only. Every
public write method of :class:`pumpmgr.services.ClinicService` names its :class:`Action` and
asks :func:`require_permission` before it changes anything; an action or a role missing from
:data:`PERMISSIONS` is refused. The signed-in user is also looked up again, so an account that
was deactivated, deleted or given another role since it signed in is refused too.

The table follows the clinic's division of work:

- the administrator runs the program (accounts, clinic settings, the drug library) and may
  register and edit patients' details, but records nothing clinical;
- nurses and prescribers record the clinical work: pumps, catheters, prescriptions (a nurse
  records the prescriber's order, verified by a second clinician), refills and events;
- the drug library's limits are clinical and administrative: prescribers and administrators;
- the second user of a refill or prescription (:data:`Action.VERIFY`) must be a clinician;
- only a prescriber signs or declines an order and reviews an incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.services.sessions import is_signed_in

ROLES: tuple[str, ...] = ("nurse", "prescriber", "administrator")


class PermissionDenied(PumpMgrError):
    """The signed-in user's role does not allow this action."""


class Action(StrEnum):
    """The clinic's write actions, named after the :class:`ClinicService` methods."""

    ADD_USER = "add_user"
    #: Set another user's password (they choose their own at their next sign-in).
    RESET_PASSWORD = "reset_password"
    DEACTIVATE_USER = "deactivate_user"
    UPDATE_SETTINGS = "update_settings"
    EDIT_DRUG_LIBRARY = "edit_drug_library"
    RECOMPUTE_FORECASTS = "recompute_all_forecasts"
    REGISTER_PATIENT = "register_patient"
    EDIT_PATIENT = "edit_patient"
    SET_PATIENT_STATUS = "set_patient_status"
    IMPLANT_PUMP = "implant_pump"
    REPLACE_PUMP = "replace_pump"
    EXPLANT_PUMP = "explant_pump"
    REVISE_CATHETER = "revise_catheter"
    RECORD_MRI = "record_mri"
    RECORD_EVENT = "record_event"
    CHANGE_PRESCRIPTION = "change_prescription"
    RECORD_REFILL = "record_refill"
    CORRECT_REFILL = "correct_refill"
    #: Correct a pump event or a catheter record (a new row pointing at the old one), or a
    #: pump's implant or explant date (with a correcting event).
    CORRECT_RECORD = "correct_record"
    #: Be the second user who verifies a refill, a prescription or a correction.
    VERIFY = "verify"
    #: Sign or decline an order that names one (domain-rules §7).
    SIGN_ORDER = "sign_order"
    #: Review an incident of what already happened in a pump (domain-rules §4a).
    REVIEW_INCIDENT = "review_incident"
    #: Raise, review or end a patient's individual maximum (domain-rules §6).
    INDIVIDUAL_MAXIMUM = "individual_maximum"
    #: Book, move or cancel a refill visit (issue 16): the clinic's scheduling, anyone's work.
    BOOK_VISIT = "book_visit"
    #: Record that a booked patient attended or did not attend: the clinicians who saw them.
    MARK_ATTENDANCE = "mark_attendance"


_CLINICIANS = frozenset({"nurse", "prescriber"})
_EVERYONE = frozenset(ROLES)
_ADMINISTRATOR = frozenset({"administrator"})
_PRESCRIBER = frozenset({"prescriber"})

#: Which roles may do each action; anything not listed is refused.
PERMISSIONS: Mapping[Action, frozenset[str]] = MappingProxyType(
    {
        Action.ADD_USER: _ADMINISTRATOR,
        Action.RESET_PASSWORD: _ADMINISTRATOR,
        Action.DEACTIVATE_USER: _ADMINISTRATOR,
        Action.UPDATE_SETTINGS: _ADMINISTRATOR,
        Action.EDIT_DRUG_LIBRARY: frozenset({"prescriber", "administrator"}),
        Action.RECOMPUTE_FORECASTS: frozenset({"prescriber", "administrator"}),
        Action.REGISTER_PATIENT: _EVERYONE,
        Action.EDIT_PATIENT: _EVERYONE,
        Action.SET_PATIENT_STATUS: _CLINICIANS,
        Action.IMPLANT_PUMP: _CLINICIANS,
        Action.REPLACE_PUMP: _CLINICIANS,
        Action.EXPLANT_PUMP: _CLINICIANS,
        Action.REVISE_CATHETER: _CLINICIANS,
        Action.RECORD_MRI: _CLINICIANS,
        Action.RECORD_EVENT: _CLINICIANS,
        Action.CHANGE_PRESCRIPTION: _CLINICIANS,
        Action.RECORD_REFILL: _CLINICIANS,
        Action.CORRECT_REFILL: _CLINICIANS,
        Action.CORRECT_RECORD: _CLINICIANS,
        Action.VERIFY: _CLINICIANS,
        Action.SIGN_ORDER: _PRESCRIBER,
        Action.REVIEW_INCIDENT: _PRESCRIBER,
        Action.INDIVIDUAL_MAXIMUM: _PRESCRIBER,
        Action.BOOK_VISIT: _EVERYONE,
        Action.MARK_ATTENDANCE: _CLINICIANS,
    }
)


class _Actor(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``; an unknown role or action may do nothing."""
    try:
        return role in PERMISSIONS.get(Action(action), frozenset())
    except ValueError:
        return False


def _denied(who: str, action: str, why: str) -> PermissionDenied:
    return PermissionDenied(
        f"{who} may not {action.replace('_', ' ')}: {why}",
        code=Code.AUTH_NOT_PERMITTED,
        field="user",
    )


def require_permission(session: Session, actor: _Actor, action: Action) -> db.User:
    """The stored account of ``actor`` when its role may do ``action``; otherwise
    :class:`PermissionDenied`. ``actor`` must come from sign-in (:mod:`pumpmgr.services.sessions`:
    one made by hand is refused). The account is read in ``session``: it must exist, be active
    and still have the role it signed in with."""
    who = f"{actor.username} ({actor.role})"
    if not is_signed_in(actor):
        raise _denied(who, action, "not signed in; sign in with your password first")
    if not allowed(actor.role, action):
        roles = sorted(PERMISSIONS.get(action, frozenset()))
        needs = " or ".join(roles) if roles else "a role that no account has"
        raise _denied(who, action, f"it needs {needs}")
    return require_account(session, actor, action)


def require_account(session: Session, actor: _Actor, action: str) -> db.User:
    """The stored account of ``actor``: it must exist, be active and still have the role it
    signed in with (:class:`PermissionDenied` naming ``action`` otherwise)."""
    who = f"{actor.username} ({actor.role})"
    user = session.get(db.User, actor.id)
    if user is None or user.username != actor.username:
        raise _denied(who, action, "the account is not known; sign in again")
    if not user.active:
        raise _denied(who, action, "the account is deactivated; ask an administrator")
    if user.role.value != actor.role:
        raise _denied(who, action, f"the account's role is now {user.role.value}; sign in again")
    return user
