"""The ``world`` fixture for the service tests (defined in clinic_world.py)."""

from clinic_world import world

__all__ = ["world"]
