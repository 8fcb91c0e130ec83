"""The PostgreSQL role the program connects as (persistence layer: stdlib, SQLAlchemy, pumpmgr.db).

The tables are created and migrated by their owner (the role that runs ``pumpmgr`` once on an
empty schema, or a database administrator). Day to day the program connects as a role that owns
nothing and holds only the privileges :func:`program_role_grants` gives it, so that its password
alone can neither change a trigger (``ALTER TABLE ... DISABLE TRIGGER``, ``DROP TRIGGER`` need
ownership) nor update, delete or truncate an audit entry or an append-only record:

- the audit log and the append-only records: ``SELECT, INSERT``;
- users, patients, pumps and the settings (edited in place, versioned): ``SELECT, INSERT,
  UPDATE``;
- the stored forecasts, the sign-in failure counters and the integrity checkpoint (derived,
  replaced): all four;
- ``alembic_version``: ``SELECT`` (so the program sees the schema is current and never
  migrates);
- the id sequences: ``USAGE, SELECT``.

Migrations, ``import`` (it sets the sequences) and a restore run as the owner. The owner, and
the PostgreSQL superuser, can still do anything: the audit chain over the records is what shows
it (docs/reliability.md, threat model).
"""

from __future__ import annotations

from pumpmgr.db.schema import APPEND_ONLY_TABLES, Base

#: Tables the program rewrites or deletes rows of (derived data, not records).
REPLACED_TABLES = ("pump_forecasts", "sign_in_failures", "integrity_checkpoints")


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"'{name}': a role or schema name of letters, digits and _ only")
    return f'"{name}"'


def program_role_grants(role: str, schema: str = "public") -> list[str]:
    """The statements, run by the tables' owner, that give ``role`` exactly what the program
    needs on the clinic's tables in ``schema`` (module docstring). ValueError for a name that is
    not letters, digits and underscores."""
    who, where = _quoted(role), _quoted(schema)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}",
        f"GRANT USAGE ON SCHEMA {where} TO {who}",
        f"GRANT SELECT ON {where}.alembic_version TO {who}",
    ]
    for table in Base.metadata.sorted_tables:
        if table.name in APPEND_ONLY_TABLES:
            rights = "SELECT, INSERT"
        elif table.name in REPLACED_TABLES:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        else:
            rights = "SELECT, INSERT, UPDATE"
        statements.append(f"GRANT {rights} ON {where}.{table.name} TO {who}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}")
    return statements
