"""The application layer: the only place that opens database sessions (see clinic.py)."""

from pumpmgr.services.clinic import (
    Actor,
    ClinicService,
    PermissionDenied,
    PrescriptionOutcome,
    RefillOutcome,
    due_state,
)

__all__ = [
    "Actor",
    "ClinicService",
    "PermissionDenied",
    "PrescriptionOutcome",
    "RefillOutcome",
    "due_state",
]
