"""Which clinic database this workstation opens when neither ``--db`` nor ``PUMPMGR_DB``
names one: the first run's choice, or File → Clinic database… later (infrastructure: the
standard library and platformdirs only).

Kept as one line, the database's address, in ``clinic-database.txt`` in the user's
configuration folder. A PostgreSQL address is kept without a password: a password written
there would sit in plain text on the workstation; it belongs in the user's pgpass file
(docs/deployment.md, "TLS").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from platformdirs import user_config_dir

from pumpmgr.errors import Code, InputError

FILENAME = "clinic-database.txt"
_PASSWORD_IN_URL = re.compile(r"^[a-z0-9+]+://[^/@:]*:[^/@]*@", re.IGNORECASE)


def choice_file() -> Path:
    return Path(user_config_dir("pumpmgr", appauthor=False)) / FILENAME


def chosen_database() -> str | None:
    """The database this workstation was pointed at, or None (never chosen, or unreadable)."""
    try:
        text = choice_file().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def check_address(address: str) -> str:
    """``address`` stripped; refused when empty or when it holds a password."""
    address = address.strip()
    if not address:
        raise InputError(
            "database: give a file or a postgresql+psycopg:// address",
            code=Code.NO_VALUE,
            field="database",
        )
    if _PASSWORD_IN_URL.match(address):
        raise InputError(
            "database: leave the password out of the address; put it in the "
            "pgpass file of this computer's user (docs/deployment.md)",
            code=Code.OUT_OF_RANGE,
            field="database",
        )
    return address


def remember_database(address: str) -> Path:
    """Point this workstation at ``address`` from its next start; returns the file written."""
    address = check_address(address)
    path = choice_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(address + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path
