"""Harness 11 (issue 6; reliability.md T11): every released schema upgraded with its data, and
a kill during a migration.

``fixtures/schema_<revision>.db`` is a clinic written by the release that introduced that
revision (``fixtures/make_schema_fixture.py``), with ``schema_<revision>.json`` recording what
must survive: each table's rows (SHA-256 over the columns it had), the due list and the audit
chain's head. Each fixture is opened with this program, which upgrades it to the newest
revision, and also with a simulated next release whose revision rebuilds the ``patients``
table (SQLite's 12-step table rebuild, which other tables refer to), adds a column, backfills it
and adds a table. After each upgrade: ``integrity_check`` ok, ``foreign_key_check`` empty, the
rows, the due dates and the chain (against the recorded head) unchanged.

Then the simulated upgrade is killed with SIGKILL at random moments and before its N-th SQL
statement (N drawn over the statements a whole upgrade executes): the file afterwards holds
exactly the old schema or exactly the new one (compared object by object with clean copies),
never a mix, with every row intact; every finished backup beside it passes its checks; and the
next start completes the upgrade. 10 kills in the suite, 100 with ``--full``.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from migration_checks import due_list, table_digests
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool
from storage_workers import file_schema, print_failures, sqlite_file_problems, zygote

from pumpmgr.db import migrate
from pumpmgr.db.audit import ChainAnchor
from pumpmgr.db.backup import check_backup
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import DatabaseRefused
from pumpmgr.errors import Code

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: The simulated next release's revision (a table rebuild, as SQLite needs for most changes).
NEXT_REVISION = '''"""Simulated next release: rebuild patients with a new column, backfill it, and
add a table."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", recreate="always") as batch:
        batch.add_column(sa.Column("preferred_name", sa.String(200), nullable=True))
    op.execute("UPDATE patients SET preferred_name = given_name")
    op.create_table(
        "wards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_index("ix_patients_preferred_name", "patients", ["preferred_name"])


def downgrade() -> None:
    raise NotImplementedError
'''

BREAKING_REVISION = '''"""A broken revision: it deletes patients that pumps still refer to."""

from alembic import op

revision = "9002"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM patients WHERE id IN (SELECT patient_id FROM pumps)")


def downgrade() -> None:
    raise NotImplementedError
'''


def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("schema_*.db"))


def _facts(fixture: Path) -> dict[str, Any]:
    return json.loads(fixture.with_suffix(".json").read_text(encoding="utf-8"))


def _ship(tmp_path: Path, source: str, name: str) -> Path:
    """A copy of this program's migrations with one more revision, as a later release ships."""
    folder = tmp_path / f"migrations-{name}"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / f"{name}.py").write_text(
        source.format(down=migrate.head_revision()), encoding="utf-8"
    )
    return folder


def _copy(fixture: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "clinic.db"
    shutil.copyfile(fixture, target)
    return target


def _upgrade(path: Path, revision: str) -> None:
    """Run this program's migrations on the SQLite file ``path`` up to ``revision``, with a
    plain engine (no gates, no backup)."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            command.upgrade(migrate.alembic_config(connection), revision)
            connection.commit()
    finally:
        engine.dispose()


def _kept(path: Path, facts: dict[str, Any]) -> list[str]:
    """Rows, due list and chain of ``path`` against the fixture's facts (file closed)."""
    problems = sqlite_file_problems(path)
    columns = {table: info["columns"] for table, info in facts["tables"].items()}
    now = table_digests(path, columns)
    for table, info in facts["tables"].items():
        if (now[table]["rows"], now[table]["sha256"]) != (info["rows"], info["sha256"]):
            problems.append(f"table {table} changed ({info['rows']} -> {now[table]['rows']} rows)")
    anchor = ChainAnchor(**facts["chain_head"])
    with open_database(path, daily_backup_keep=None) as database:
        report = database.verify_audit_chain(anchor)
        if not report.ok or report.head != anchor:
            problems.append(f"the audit chain: {report.message} (head {report.head})")
        problems += _due_list_kept(
            facts["due_list"],
            due_list(database, date.fromisoformat(facts["today"]), ZoneInfo(facts["tz"])),
        )
    return problems


#: What revision 0007's revised refill-due rules may change in a pump's due-list row (the
#: forecasts stored before it are computed again when the clinic is next opened).
_REVISED_RULES = {"refill_due", "refill_due_reason", "state"}


def _due_list_kept(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Every pump still on the due list with the same facts; only its refill-due date may
    have moved, and only earlier (an upgrade never makes a refill later)."""
    old = {row["pump_id"]: row for row in before}
    new = {row["pump_id"]: row for row in after}
    if old.keys() != new.keys():
        return [f"the due list's pumps changed ({sorted(old)} -> {sorted(new)})"]
    problems = []
    for pump_id, row in old.items():
        # fields the due row gained since the fixture was made are new facts, not changes
        changed = {k for k in row if row[k] != new[pump_id].get(k)}
        if changed - _REVISED_RULES:
            problems.append(f"pump {pump_id}'s due-list row changed: {sorted(changed)}")
        elif new[pump_id]["refill_due"] > row["refill_due"]:
            problems.append(
                f"pump {pump_id}'s refill-due date moved later "
                f"({row['refill_due']} -> {new[pump_id]['refill_due']})"
            )
    return problems


@pytest.fixture
def next_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = _ship(tmp_path, NEXT_REVISION, "9001_next")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", folder)
    yield folder


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.stem)
def test_a_released_revision_still_builds_the_schema_it_shipped(
    fixture: Path, tmp_path: Path
) -> None:
    """This release's migrations, stopped at the fixture's revision, build exactly the schema
    the fixture (made by the release that introduced the revision) has. A released revision
    edited in place would leave every clinic's existing database different from a new one."""
    revision = _facts(fixture)["revision"]
    fresh = tmp_path / "fresh.db"
    _upgrade(fresh, revision)
    built, shipped = file_schema(fresh), file_schema(fixture)
    differences = sorted(
        {o[:2] for o in built["objects"]} ^ {o[:2] for o in shipped["objects"]}
        | {o[:2] for o in built["objects"] if o not in shipped["objects"]}
    )
    assert built == shipped, (
        f"revision {revision} now builds another schema than the release that shipped it "
        f"(differences in {differences}): released revisions must not be edited; put the "
        "change in a new revision (or, if that revision was never released, make its fixture "
        "again with fixtures/make_schema_fixture.py)"
    )


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.stem)
def test_a_released_schema_upgrades_to_this_release(fixture: Path, tmp_path: Path) -> None:
    facts = _facts(fixture)
    path = _copy(fixture, tmp_path)
    with open_database(path) as database:
        assert database.revision_at_open == facts["revision"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == (
            migrate.head_revision(),
        )
    assert _kept(path, facts) == []


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.stem)
def test_a_released_schema_upgrades_through_a_table_rebuild(
    fixture: Path,
    tmp_path: Path,
    next_release: Path,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    facts = _facts(fixture)
    path = _copy(fixture, tmp_path / "db")
    started = time.perf_counter()
    with open_database(path) as database:
        assert database.revision_at_open == facts["revision"]
        backup = database.pre_migration_backup
    problems = _kept(path, facts)
    with sqlite3.connect(path) as raw:
        revision = raw.execute("SELECT version_num FROM alembic_version").fetchone()
        backfilled = raw.execute(
            "SELECT count(*) FROM patients WHERE preferred_name IS given_name"
        ).fetchone()
    if revision != ("9001",) or backfilled != (facts["tables"]["patients"]["rows"],):
        problems.append(f"the upgrade did not complete: {revision}, {backfilled}")
    if backup is None or check_backup(backup).schema_revision != facts["revision"]:
        problems.append("no sound backup of the old revision was taken first")
    harness_report(
        f"migrate {fixture.stem} with data (sqlite)",
        1,
        len(problems),
        time.perf_counter() - started,
    )
    assert problems == []


def test_a_revision_that_breaks_foreign_keys_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = _fixtures()[0]  # the oldest: the kills land in every real revision since
    facts = _facts(fixture)
    path = _copy(fixture, tmp_path / "db")
    monkeypatch.setattr(
        migrate, "MIGRATIONS_DIR", _ship(tmp_path, BREAKING_REVISION, "9002_broken")
    )
    with pytest.raises(DatabaseRefused) as refused:
        open_database(path)
    assert refused.value.code is Code.DB_MIGRATION_FAILED
    assert "refer" in refused.value.message and "rolled back" in refused.value.message
    monkeypatch.undo()
    assert _kept(path, facts) == []


def _statements_of_an_upgrade(fixture: Path, folder: Path) -> int:
    """How many SQL statements opening (and so upgrading) a copy of ``fixture`` executes."""
    path = _copy(fixture, folder)
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        open_database(path, daily_backup_keep=None).dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return seen[0]


def _schemas_between_revisions(fixture: Path, start: str, folder: Path) -> list[dict[str, Any]]:
    """The schema of ``fixture`` upgraded to each revision after ``start`` but before the head."""
    script = migrate.script_directory()
    chain = [r.revision for r in script.iterate_revisions(migrate.head_revision(), start)]
    schemas = []
    for revision in chain[1:]:  # from the head down, ``start`` excluded
        path = _copy(fixture, folder / revision)
        _upgrade(path, revision)
        schemas.append(file_schema(path))
    return schemas


def test_a_kill_during_a_migration_leaves_a_whole_revision(
    tmp_path: Path,
    next_release: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    kills = 100 if full_size else 10
    fixture = _fixtures()[0]  # the oldest: the kills land in every real revision since
    facts = _facts(fixture)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    old_schema = file_schema(_copy(fixture, tmp_path / "old"))
    statements = _statements_of_an_upgrade(fixture, tmp_path / "new")
    new_schema = file_schema(tmp_path / "new" / "clinic.db")
    # Each revision commits on its own, so a kill between two of them leaves a whole one.
    between = _schemas_between_revisions(fixture, facts["revision"], tmp_path / "between")
    failures: list[str] = []
    outcomes = {"old": 0, "between": 0, "new": 0}
    started = time.perf_counter()
    with zygote(tmp_path / "zygote.log") as server:
        for trial in range(kills):
            folder = tmp_path / f"trial-{trial}"
            path = _copy(fixture, folder)
            task: dict[str, Any] = {
                "task": "open",
                "url": str(path),
                "migrations_dir": str(next_release),
            }
            if trial % 2:
                task["hook"] = {"point": "statement", "after": rng.randint(1, statements)}
                result = server.run(task, folder / "ack.txt")
            else:
                result = server.run(task, folder / "ack.txt", kill_after=rng.uniform(0, 0.6))
            problems = [f"child error: {e}" for e in result.errors]
            schema = file_schema(path)  # its first read rolls a hot journal back
            if schema == old_schema:
                outcomes["old"] += 1
                if not result.killed:
                    problems.append("the upgrade finished but the old schema remained")
            elif schema == new_schema:
                outcomes["new"] += 1
            elif schema in between:
                outcomes["between"] += 1
            else:
                problems.append("the schema is neither the old nor the new one")
            for backup in (folder / "backups").glob("*.db"):
                try:
                    check_backup(backup)
                except Exception as exc:
                    problems.append(f"backup {backup.name} refused: {exc}")
            problems += _kept(path, facts)  # this start completes the upgrade
            failures += [f"trial {trial} ({task.get('hook', 'random')}): {p}" for p in problems]
            shutil.rmtree(folder)
    elapsed = time.perf_counter() - started
    harness_report("kill during migration (sqlite)", kills, len(failures), elapsed)
    print(
        f"\nkill during migration: seed {seed}, {statements} statements per upgrade, "
        f"left the old schema {outcomes['old']} times, one between two revisions "
        f"{outcomes['between']}, the new {outcomes['new']}"
    )
    print_failures(failures)
    assert failures == []
