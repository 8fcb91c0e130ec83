"""The demo clinic's users: who signs in, with which demo password and role.

Demo passwords only (see :mod:`pumpmgr.demo`), hashed with a deliberately cheap argon2 setting
so that building the demo is quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from argon2 import PasswordHasher

if TYPE_CHECKING:
    pass


#: Cheap on purpose (demo only): see the module docstring.
DEMO_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WORKSTATION = "demo"
Role = Literal["nurse", "prescriber", "administrator"]


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    role: Role


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "demo-admin-pass", "Alex Morgan", "administrator"),
    DemoUser("nurse1", "demo-nurse-pass", "Nora Lindqvist", "nurse"),
    DemoUser("nurse2", "demo-nurse-pass", "Samuel Okoro", "nurse"),
    DemoUser("prescriber", "demo-prescriber-pass", "Dr Helen Brandt", "prescriber"),
    # the second signature of an individual maximum (domain-rules §6)
    DemoUser("prescriber2", "demo-prescriber-pass", "Dr Omar Haddad", "prescriber"),
)
