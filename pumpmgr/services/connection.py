"""The connection test of a PostgreSQL clinic database, before a workstation is pointed at it
(application layer, needing no clinic service): whether the server answers, lets this user in,
and holds a pumpmgr clinic already, an empty database, or someone else's tables. Writes
nothing.

Each failure is said in one sentence naming what failed (the server's address, the user, the
database), followed by the driver's own first line for IT.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from pumpmgr.db.engine import resolve_database_url
from pumpmgr.errors import PumpMgrError
from pumpmgr.workstation import check_address

CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Probe:
    """What the connection test found."""

    reached: bool
    message: str
    #: The database already holds a pumpmgr clinic with accounts (a further workstation).
    has_clinic: bool = False


def _where(url: URL) -> str:
    return f"{url.host or 'localhost'} port {url.port or 5432}"


def _failure(url: URL, detail: str) -> str:
    lowered = detail.lower()
    user, name = url.username or "(this computer's user)", url.database or "?"
    for marker, sentence in (
        (
            "password authentication failed",
            f"the server refused user {user}: wrong or missing password (pgpass file)",
        ),
        (
            "no password supplied",
            f"the server wants a password for user {user}; put it in this computer's pgpass file",
        ),
        (f'role "{user}" does not exist', f"the server has no user {user}"),
        (f'database "{name}" does not exist', f"the server has no database {name}"),
        (
            "no pg_hba.conf entry",
            "the server does not accept connections from this workstation (pg_hba.conf)",
        ),
        (
            "connection refused",
            f"nothing answers at {_where(url)}: is the server running, "
            "and are the address and port right?",
        ),
        ("could not translate host name", f"the server name {url.host} is not known"),
        ("name or service not known", f"the server name {url.host} is not known"),
        (
            "timeout expired",
            f"no answer from {_where(url)} within {CONNECT_TIMEOUT_S} s (a firewall?)",
        ),
        ("certificate", "the server's TLS certificate was not accepted"),
        ("ssl", "the TLS connection to the server failed"),
    ):
        if marker in lowered:
            return sentence
    return f"cannot connect to {_where(url)}"


def probe_database(address: str) -> Probe:
    """Connect to the PostgreSQL database at ``address`` and say what is there."""
    try:
        url = resolve_database_url(check_address(address))
    except PumpMgrError as exc:  # no address, a password in it, not a URL pumpmgr reads
        return Probe(False, f"Not connected: {exc.message}")
    if url.get_backend_name() != "postgresql":
        return Probe(
            False,
            "Not connected: the connection test is for a PostgreSQL server "
            "(postgresql+psycopg://USER@SERVER/DATABASE)",
        )
    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            accounts = (
                connection.scalar(text("SELECT count(*) FROM users"))
                if {"users", "alembic_version"} <= tables
                else None
            )
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return Probe(False, f"Not connected: {_failure(url, str(exc.orig or exc))} ({detail})")
    finally:
        engine.dispose()
    where = f"{url.database} on {_where(url)}"
    if accounts:
        return Probe(
            True,
            f"Connected: {where} holds this clinic's records ({accounts} "
            "accounts); this workstation will use them.",
            has_clinic=True,
        )
    if "alembic_version" in tables or not tables:
        return Probe(
            True, f"Connected: {where} is empty; the new clinic's records will be created there."
        )
    return Probe(
        False,
        f"Not connected: {where} holds tables that are not pumpmgr's; give "
        "an empty database made for pumpmgr (docs/deployment.md, Roles)",
    )
