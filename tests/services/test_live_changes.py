"""Two workstations on one clinic (issue 13): the change feed tells one what the other
committed, and a refill or prescription change begun from a view the other has since made
stale is refused with who changed what and when, saving nothing. Both backends."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from clinic_world import (
    BERLIN,
    FAST_HASHER,
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
)
from database_targets import DbTarget

from pumpmgr.db import schema as db
from pumpmgr.db.changes import Change, ChangeFeed, SqliteFeed
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import ChangedMeanwhile
from pumpmgr.errors import Code
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import PatientInput, PumpSeen, Verification

#: Long enough for any server to pass a notice on; the wait ends as soon as it comes.
ARRIVES_WITHIN_S = 10.0


@pytest.fixture
def other(world: World, db_target: DbTarget) -> Iterator[ClinicService]:
    """A second workstation: its own engine on the same clinic, the same clock."""
    database = open_database(db_target.url)
    try:
        yield ClinicService(
            database, clock=world.clock, tz=BERLIN, workstation="ward-2", hasher=FAST_HASHER
        )
    finally:
        database.dispose()


@pytest.fixture
def feed(world: World) -> Iterator[ChangeFeed]:
    made = world.clinic.context.change_feed()
    try:
        yield made
    finally:
        made.close()


def _next_change(feed: ChangeFeed) -> Change | None:
    deadline = time.monotonic() + ARRIVES_WITHIN_S
    while time.monotonic() < deadline:
        change = feed.poll()
        if change is not None:
            return change
        time.sleep(0.02)
    return None


def _register(clinic: ClinicService, world: World, mrn: str) -> int:
    return clinic.register_patient(
        world.nurse, PatientInput(mrn, "Berg", "Lena", date(1960, 1, 1), "spasticity_spinal")
    ).id


def test_a_write_on_another_workstation_reaches_the_feed(
    world: World, other: ClinicService, feed: ChangeFeed, db_target: DbTarget
) -> None:
    assert feed.poll() is None  # nothing since the feed was opened
    patient_id = _register(other, world, "200001")
    change = _next_change(feed)
    assert change is not None and change.touches_patient(patient_id)
    if db_target.backend == "postgresql":  # the notice says what: the table and the patient
        assert change.patient_ids == {patient_id}
        assert change.tables is not None and "patients" in change.tables
        assert not change.touches_patient(patient_id + 1)
    else:  # SQLite says only that the file changed
        assert change.patient_ids is None
    assert feed.poll() is None  # reported once


def test_own_writes_are_not_reported_as_another_workstations(
    world: World, feed: ChangeFeed, db_target: DbTarget
) -> None:
    patient_id = _register(world.clinic, world, "200002")
    if db_target.backend == "postgresql":
        time.sleep(0.3)  # give a (wrongly) echoed notice time to arrive
    assert feed.poll() is None
    # opening a chart writes an access-audit entry: not another workstation's either
    world.clinic.records.record_access(world.nurse, "patient.view", patient_id)
    assert feed.poll() is None


def test_every_feed_of_the_program_skips_its_own_commits(world: World, db_target: DbTarget) -> None:
    """A window that opens a second feed (the first one not yet closed): neither reports."""
    feeds = [world.clinic.context.change_feed() for _ in range(2)]
    try:
        _register(world.clinic, world, "200009")
        if db_target.backend == "postgresql":
            time.sleep(0.3)  # give a (wrongly) echoed notice time to arrive
        assert [feed.poll() for feed in feeds] == [None, None]
    finally:
        for feed in feeds:
            feed.close()


def test_another_workstations_write_beside_an_own_one_is_reported(
    world: World, other: ClinicService, feed: ChangeFeed
) -> None:
    """Before or after this program's own commit, between two polls: still reported."""
    _register(other, world, "200005")
    _register(world.clinic, world, "200006")
    assert _next_change(feed) is not None
    assert feed.poll() is None
    _register(world.clinic, world, "200007")
    _register(other, world, "200008")
    assert _next_change(feed) is not None
    assert feed.poll() is None


def test_a_refused_write_announces_nothing(
    world: World, other: ClinicService, feed: ChangeFeed
) -> None:
    with pytest.raises(Exception, match="already"):
        for _ in range(2):  # the second registration of the MRN is refused
            _register(other, world, "200003")
    change = _next_change(feed)  # the first registration
    assert change is not None
    time.sleep(0.3)
    assert feed.poll() is None  # the refusal rolled back with its notice


def test_a_bulk_statement_makes_the_change_unknown(
    world: World, other: ClinicService, feed: ChangeFeed
) -> None:
    """An explant deletes the pump's stored forecast with one DELETE the ORM does not see row
    by row: the notice then names no tables or patients, so every screen reads again."""
    _, pump_id = baclofen_patient(world)
    feed.poll()  # the set-up's own changes, merged (SQLite reports them)
    other.explant_pump(world.nurse, pump_id, date(2025, 3, 2), "infection")
    assert _next_change(feed) == Change()


def _filled_pump(world: World) -> tuple[int, int]:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def test_a_refill_begun_before_another_workstations_refill_is_refused(
    world: World, other: ClinicService
) -> None:
    patient_id, pump_id = _filled_pump(world)
    seen = PumpSeen.of(world.clinic.patient_chart(patient_id))  # the wizard opens on A
    assert seen is not None and seen.refill_id is not None
    world.clock.advance(timedelta(days=20))
    other.record_refill(
        world.second,
        Verification(world.nurse.username, PASSWORD),
        pump_id,
        fill(world.clock.now() - timedelta(minutes=30), "16 mL", "20 mL"),
    )
    refills = count(world, db.Refill)
    with pytest.raises(ChangedMeanwhile) as refused:
        world.clinic.record_refill(
            world.nurse,
            world.check,
            pump_id,
            replace(fill(world.clock.now() - timedelta(minutes=5), "20 mL", "20 mL"), seen=seen),
        )
    message = str(refused.value)
    assert refused.value.code is Code.DB_CHANGED_MEANWHILE
    assert message.startswith("refill: not saved.")
    # who, what, when and where: the clinic's local time of the other refill's recording
    assert "Otto Second recorded a refill on Sun 23 Mar 2025 09:00 at workstation ward-2" in message
    assert count(world, db.Refill) == refills  # nothing saved
    # read again, the same refill saves once, and the view it came from cannot save it twice
    again = PumpSeen.of(world.clinic.patient_chart(patient_id))
    later = replace(fill(world.clock.now() - timedelta(minutes=5), "20 mL", "20 mL"), seen=again)
    world.clinic.record_refill(world.nurse, world.check, pump_id, later)
    with pytest.raises(ChangedMeanwhile, match="Nina Nurse recorded a refill"):
        world.clinic.record_refill(world.nurse, world.check, pump_id, later)
    assert count(world, db.Refill) == refills + 1


def test_a_prescription_change_over_another_workstations_reprogramming_is_refused(
    world: World, other: ClinicService
) -> None:
    patient_id, pump_id = _filled_pump(world)
    seen = PumpSeen.of(world.clinic.patient_chart(patient_id))
    world.clock.advance(timedelta(days=2))
    other.change_prescription(
        world.second,
        Verification(world.nurse.username, PASSWORD),
        pump_id,
        baclofen_prescription("420 mcg/day", at=world.clock.now()),
    )
    with pytest.raises(ChangedMeanwhile) as refused:
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            replace(baclofen_prescription("440 mcg/day", at=world.clock.now()), seen=seen),
        )
    assert (
        "prescription: not saved. After this pump's record was read, Otto Second changed "
        "the prescription (revision 2) on Wed 5 Mar 2025 09:00 at workstation ward-2"
        in str(refused.value)
    )
    assert count(world, db.Prescription) == 2  # nothing saved
    chart = world.clinic.patient_chart(patient_id)
    # a view read again saves (a day later: titration steps are at least 24 h apart)
    world.clock.advance(timedelta(days=1))
    world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        replace(
            baclofen_prescription("440 mcg/day", at=world.clock.now()), seen=PumpSeen.of(chart)
        ),
    )
    assert count(world, db.Prescription) == 3


def test_the_sqlite_feed_opens_a_file_whose_path_needs_escaping(tmp_path: Path) -> None:
    folder = tmp_path / "clinic files #2 ?"
    folder.mkdir()
    path = folder / "clinic.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x)")
    feed = SqliteFeed(str(path))
    try:
        assert feed.poll() is None
        writer.execute("INSERT INTO t VALUES (1)")
        assert feed.poll() == Change()  # a change, of patients not known
        assert feed.poll() is None
    finally:
        feed.close()
        writer.close()


def test_changes_merge_to_unknown_when_either_is_unknown() -> None:
    known = Change(frozenset({"refills"}), frozenset({1}))
    assert known.merged(Change(frozenset({"pumps"}), frozenset({2}))) == Change(
        frozenset({"refills", "pumps"}), frozenset({1, 2})
    )
    assert known.merged(Change()) == Change()
    assert Change().touches_patient(7) and not known.touches_patient(7)
