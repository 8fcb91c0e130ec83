"""The application layer: the only place that opens database sessions (see context.py; the
areas' façade is clinic.py)."""

from pumpmgr.services.clinic import (
    Actor,
    ClinicService,
    PrescriptionOutcome,
    RefillOutcome,
    due_state,
)
from pumpmgr.services.permissions import PermissionDenied

__all__ = [
    "Actor",
    "ClinicService",
    "PermissionDenied",
    "PrescriptionOutcome",
    "RefillOutcome",
    "due_state",
]
