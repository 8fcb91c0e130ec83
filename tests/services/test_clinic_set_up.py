"""A real clinic's first run through the services (issue 15): the administrator and the
settings in one audited unit of work, the clinic's time zone, the library values to confirm,
the workstation's remembered database and the PostgreSQL connection test."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from clinic_world import FAST_HASHER, PASSWORD
from database_targets import DbTarget

from pumpmgr import workstation
from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import Database, resolve_database_url
from pumpmgr.errors import InputError, PumpMgrError
from pumpmgr.records import ClinicSettings
from pumpmgr.services import ClinicService
from pumpmgr.services.connection import probe_database
from pumpmgr.services.library_edits import unconfirmed
from pumpmgr.units import Q_

#: 23:30 UTC on 5 March 2025: already the 6th in Auckland, still the 5th in London.
LATE = datetime(2025, 3, 5, 23, 30, tzinfo=UTC)
SETTINGS = ClinicSettings(
    clinic_name="Harbour Pump Clinic",
    clinic_phone="+64 9 555 0100",
    buffer_days=5,
    open_days=frozenset({0, 1, 2, 3}),
    page_size="Letter",
    closed_dates=frozenset({date(2025, 12, 25)}),
    time_zone="Pacific/Auckland",
)


@pytest.fixture
def fresh(database: Database) -> ClinicService:
    return ClinicService(database, clock=FixedClock(LATE), workstation="test", hasher=FAST_HASHER)


def test_set_up_clinic_creates_the_administrator_and_settings_audited(fresh: ClinicService) -> None:
    admin = fresh.configuration.set_up_clinic("h.admin", PASSWORD, "Hana Admin", SETTINGS)
    assert admin.role == "administrator"
    stored = fresh.settings()
    assert stored == SETTINGS
    assert fresh.today() == date(2025, 3, 6)  # the clinic's zone, not the workstation's
    entries = sorted(fresh.audit_entries(0, 10), key=lambda e: e.seq)
    assert [e.action for e in entries] == ["clinic.set_up"]  # one call, one entry (T8)
    payload = json.loads(entries[0].payload)
    after = payload["after"]
    assert after["time_zone"] == "Pacific/Auckland" and after["open_days"] == [0, 1, 2, 3]
    assert payload["users"] == [
        {"user_id": admin.id, "username": "h.admin", "role": "administrator"}
    ]
    assert fresh.sign_in("h.admin", PASSWORD).id == admin.id
    with pytest.raises(PumpMgrError, match="already has accounts"):
        fresh.configuration.set_up_clinic("other", PASSWORD, "Other", SETTINGS)


def test_a_new_service_follows_the_stored_time_zone(
    fresh: ClinicService, database: Database
) -> None:
    fresh.configuration.set_up_clinic(
        "h.admin", PASSWORD, "Hana Admin", SETTINGS.__class__(time_zone="Europe/London")
    )
    again = ClinicService(database, clock=FixedClock(LATE), hasher=FAST_HASHER)
    assert again.tz == ZoneInfo("Europe/London") and again.today() == date(2025, 3, 5)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (ClinicSettings(time_zone="Mars/Olympus"), "time zone"),
        (ClinicSettings(open_days=frozenset()), "settings"),
        (ClinicSettings(buffer_days=61), "settings"),
    ],
)
def test_set_up_clinic_refuses_bad_settings_and_writes_nothing(
    fresh: ClinicService, settings: ClinicSettings, field: str
) -> None:
    with pytest.raises(PumpMgrError) as refused:
        fresh.configuration.set_up_clinic("h.admin", PASSWORD, "Hana Admin", settings)
    assert refused.value.field == field
    assert not fresh.has_users() and fresh.audit_count() == 0


def test_set_up_clinic_refuses_a_short_password_and_writes_nothing(fresh: ClinicService) -> None:
    before = fresh.settings()
    with pytest.raises(PumpMgrError, match="password"):
        fresh.configuration.set_up_clinic("h.admin", "short", "Hana Admin", SETTINGS)
    assert not fresh.has_users() and fresh.settings() == before != SETTINGS


def test_confirming_an_unconfirmed_value_is_an_audited_edit(fresh: ClinicService) -> None:
    admin = fresh.configuration.set_up_clinic("h.admin", PASSWORD, "Hana Admin", SETTINGS)
    before = unconfirmed(fresh.library())
    assert ("morphine", "soft_max") in [(d.key, f) for d, f in before]
    assert all(d.key not in {"baclofen", "ziconotide"} for d, _ in before)
    morphine = fresh.library().drug("morphine")
    assert morphine.soft_max is not None
    fresh.edit_drug_library(
        admin, "morphine", {"soft_max": morphine.soft_max.value}, "confirmed at the first run"
    )
    after = unconfirmed(fresh.library())
    assert ("morphine", "soft_max") not in [(d.key, f) for d, f in after]
    assert len(after) == len(before) - 1
    assert fresh.library().drug("morphine").soft_max.value == Q_("15 mg/day")  # type: ignore[union-attr]
    last = max(fresh.audit_entries(0, 50), key=lambda e: e.seq)
    assert (last.action, last.reason) == ("drug_library.edit", "confirmed at the first run")


def test_the_workstation_remembers_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workstation, "choice_file", lambda: tmp_path / "cfg" / "choice.txt")
    assert workstation.chosen_database() is None
    clinic_file = tmp_path / "clinic.db"
    workstation.remember_database(f"  {clinic_file}  ")
    assert workstation.chosen_database() == str(clinic_file)
    assert resolve_database_url(None, {}).database == str(clinic_file)
    assert resolve_database_url(None, {"PUMPMGR_DB": "/x/y.db"}).database == "/x/y.db"
    with pytest.raises(InputError, match="pgpass"):
        workstation.remember_database("postgresql+psycopg://app:secret@server/pumpmgr")
    assert workstation.chosen_database() == str(clinic_file)  # the refusal kept the old one


def test_the_connection_test_names_what_failed() -> None:
    refused = probe_database("postgresql+psycopg://app@127.0.0.1:1/pumpmgr")
    assert not refused.reached
    assert refused.message.startswith("Not connected: nothing answers at 127.0.0.1 port 1")
    assert "not 'mysql'" in probe_database("mysql://app@server/pumpmgr").message
    assert "pgpass" in probe_database("postgresql+psycopg://a:b@server/pumpmgr").message


def test_the_connection_test_on_postgresql(
    db_target: DbTarget, database: Database, fresh: ClinicService
) -> None:
    if db_target.backend != "postgresql":
        pytest.skip("the connection test is for PostgreSQL")
    empty = probe_database(db_target.url)
    assert empty.reached and not empty.has_clinic and "empty" in empty.message
    fresh.configuration.set_up_clinic("h.admin", PASSWORD, "Hana Admin", SETTINGS)
    found = probe_database(db_target.url)
    assert found.reached and found.has_clinic and "1 accounts" in found.message
    base = os.environ["PUMPMGR_TEST_POSTGRES_URL"].rsplit("/", 1)[0]
    missing = probe_database(f"{base}/no_such_database_for_pumpmgr")
    assert missing.message.startswith(
        "Not connected: the server has no database no_such_database_for_pumpmgr"
    )


@pytest.mark.parametrize("phone", ["phone 123", "call Sam", "12", "+44 20 7946 0100 or 0101"])
def test_a_clinic_phone_that_is_not_a_number_is_refused(fresh: ClinicService, phone: str) -> None:
    """The clinic's phone is the number printed on every wallet card: a word typed there
    would leave a patient with no number to call."""
    with pytest.raises(InputError, match=r"clinic phone: .* is not a telephone number"):
        fresh.configuration.set_up_clinic(
            "h.admin", PASSWORD, "Hana Admin", SETTINGS.__class__(clinic_phone=phone)
        )
    assert not fresh.has_users()


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "+44 20 7946 0100",
        "(030) 555-0100",
        "555.0100 ext 42",
        "+1 555 0100 x12",
        "030/555 01 00",
    ],
)
def test_a_clinic_phone_as_clinics_write_it_is_kept(fresh: ClinicService, phone: str) -> None:
    fresh.configuration.set_up_clinic(
        "h.admin", PASSWORD, "Hana Admin", SETTINGS.__class__(clinic_phone=phone)
    )
    assert fresh.settings().clinic_phone == phone
