"""Export and import: the whole clinic as one JSON document and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clinic_world import (
    FAST_HASHER,
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
)
from database_targets import create_schema, drop_schema, postgres_schema_url, postgres_unavailable

from pumpmgr.clock import FixedClock
from pumpmgr.db.audit import verify_chain
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import RecordConflict
from pumpmgr.db.migrate import head_revision
from pumpmgr.demo import DEMO_HASHER, build_demo_clinic
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.records import ProgrammerFigures
from pumpmgr.schedule import Schedule, ScheduledBolus
from pumpmgr.services import ClinicService
from pumpmgr.services.exchange import (
    FORMAT,
    ExchangeError,
    column_units,
    export_clinic,
    export_text,
    import_clinic,
    is_empty,
    tables,
    write_export,
)
from pumpmgr.services.inputs import (
    CatheterCorrection,
    EventCorrection,
    IngredientInput,
    PatientInput,
    PrescriptionInput,
    PumpCorrection,
    Verification,
)
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SiteFinding,
    SymptomCheck,
)

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 3, 4)
#: The demo clinic's administrator signing in to import, and the clinic's zone.
ADMIN: dict[str, Any] = {
    "username": "admin",
    "password": "demo-admin-pass",
    "tz": BERLIN,
    "hasher": DEMO_HASHER,
}


def before_import(document: dict[str, Any]) -> dict[str, Any]:
    """An export of an imported clinic without the import's own audit entry (the last one,
    naming the administrator who imported it), as the imported document was."""
    *log, last = document["tables"]["audit_log"]
    assert (last["action"], last["username"]) == ("clinic.import", "admin")
    head = {"seq": log[-1]["seq"], "row_hash": log[-1]["row_hash"]} if log else None
    return {
        **document,
        "tables": {**document["tables"], "audit_log": log},
        "audit_chain_head": head,
    }


@dataclass
class Place:
    """Makes fresh databases on one backend for one test module."""

    backend: str
    folder: Path
    schemas: list[str]

    def new(self) -> Database:
        if self.backend == "sqlite":
            return open_database(self.folder / f"{uuid.uuid4().hex[:8]}.db", daily_backup_keep=None)
        schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
        create_schema(schema)
        self.schemas.append(schema)
        return open_database(postgres_schema_url(schema))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def place(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Place]:
    if request.param == "postgresql" and (reason := postgres_unavailable()) is not None:
        pytest.skip(reason)
    made = Place(request.param, tmp_path_factory.mktemp(request.param), [])
    yield made
    for schema in made.schemas:
        drop_schema(schema)


@pytest.fixture(scope="module")
def source(place: Place) -> Iterator[tuple[Database, dict[str, Any]]]:
    """A small demo clinic on the backend, a drug-library edit and a scheduled bolus (so every
    table has rows), and its export."""
    database = place.new()
    build_demo_clinic(database, patients=3, seed=3, today=TODAY, tz=BERLIN)
    service = clinic(database)
    admin = service.sign_in("admin", "demo-admin-pass")
    row = next(r for r in service.due_list(today=TODAY) if r.mrn == "D000001")  # baclofen
    # an individual maximum and a pump catalog edit (so their tables have rows), before the
    # library edit that the attack "cut audit log" cuts
    service.maxima.raise_maximum(
        service.sign_in("prescriber", "demo-prescriber-pass"),
        Verification("prescriber2", "demo-prescriber-pass"),
        row.patient_id,
        "baclofen",
        Q_("3000 mcg/day"),
        "dystonia",
    )
    service.configuration.edit_pump_model(
        admin, "synchromed2-20", {"min_flow": Q_("0.04 mL/day")}, "new labelling"
    )
    # a Stop order on another pump, carried out (so both of its tables have rows)
    other = next(r for r in service.due_list(today=TODAY) if r.pump_id != row.pump_id)
    stop = service.stop_orders.give(
        service.sign_in("prescriber", "demo-prescriber-pass"),
        "demo-prescriber-pass",
        other.pump_id,
        other.drug_keys[0],
        service.clock.now(),
        "intolerable side effects",
        long_stop=True,
    )
    service.stop_orders.record_carried_out(
        service.sign_in("nurse1", "demo-nurse-pass"), stop.id, "emptied_saline"
    )
    service.clock.advance(timedelta(minutes=30))  # the library edit comes later
    service.edit_drug_library(
        admin, "baclofen", {"soft_max": Q_("900 mcg/day")}, "clinic protocol 2026"
    )
    rx = service.patient_chart(row.patient_id).prescription
    assert rx is not None
    change = PrescriptionInput(
        tuple(IngredientInput(i.drug, i.concentration) for i in rx.ingredients),
        Schedule.flex(rx.schedule.steps, [ScheduledBolus(time(7, 30), Q_("200 mcg"))]),
        service.clock.now(),
        "Dr Helen Brandt",
        rx.patient_bolus,
    )
    warnings = service.check_prescription(row.pump_id, change).findings
    assert warnings  # +200 mcg/day is beyond the titration rule: a finding with its reason
    change = replace(change, reasons={str(f.code): "accepted" for f in warnings})
    prescriber = service.sign_in("prescriber", "demo-prescriber-pass")
    service.change_prescription(
        prescriber, Verification("nurse1", "demo-nurse-pass"), row.pump_id, change
    )
    try:
        yield database, export_clinic(database)
    finally:
        database.dispose()


def clinic(database: Database) -> ClinicService:
    return ClinicService(
        database,
        clock=FixedClock(datetime.combine(TODAY, time(9), BERLIN)),
        tz=BERLIN,
        workstation="test",
        hasher=DEMO_HASHER,
    )


def test_the_document_is_complete_and_plain_json(
    source: tuple[Database, dict[str, Any]],
) -> None:
    _, document = source
    assert document["format"] == FORMAT
    assert document["schema_revision"] == head_revision()
    assert set(document["tables"]) == {t.name for t in tables()}
    assert document["units"]["pumps"]["reservoir_capacity_ml"] == "mL"
    assert document["units"]["prescription_ingredients"]["concentration_mcg_per_ml"] == "mcg/mL"
    assert document["units"]["schedule_steps"]["rate_mcg_per_day"] == "mcg/day"
    assert document["units"] == column_units()
    audit = document["tables"]["audit_log"]
    assert audit and document["audit_chain_head"] == {
        "seq": audit[-1]["seq"],
        "row_hash": audit[-1]["row_hash"],
    }
    assert all(r["recorded_at"].endswith("+00:00") for r in audit)
    for name, rows in document["tables"].items():
        assert rows, f"{name} is empty in the export"
    assert json.loads(json.dumps(document)) == document  # plain JSON, nothing lost


def test_export_import_export_gives_the_same_document(
    place: Place,
    source: tuple[Database, dict[str, Any]],
) -> None:
    original, document = source
    target = place.new()
    try:
        summary = import_clinic(target, json.loads(json.dumps(document)), **ADMIN)
        assert summary.audit_entries == len(document["tables"]["audit_log"])
        assert before_import(export_clinic(target)) == document
        with target.read() as session:
            assert verify_chain(session).ok
        assert clinic(target).due_list(today=TODAY) == clinic(original).due_list(today=TODAY)
    finally:
        target.dispose()


def test_the_imported_clinic_keeps_working(
    place: Place, source: tuple[Database, dict[str, Any]]
) -> None:
    """New ids follow the imported ones (PostgreSQL sequences are moved past them) and new
    audit entries extend the imported chain."""
    _, document = source
    target = place.new()
    try:
        import_clinic(target, document, **ADMIN)
        service = clinic(target)
        admin = service.sign_in("admin", "demo-admin-pass")
        record = service.register_patient(
            admin, PatientInput("NEW-1", "New", "Patient", date(1990, 1, 1), "other")
        )
        assert record.id == max(p["id"] for p in document["tables"]["patients"]) + 1
        report = service.verify_audit()
        # the import's own entry, the sign-in (issue 13), then the new patient's
        assert report.ok and report.entries_checked == len(document["tables"]["audit_log"]) + 3
    finally:
        target.dispose()


def test_a_sqlite_export_imports_into_postgresql_unchanged(
    tmp_path: Path,
    source: tuple[Database, dict[str, Any]],
    place: Place,
) -> None:
    if place.backend != "sqlite":
        pytest.skip("one direction is enough: the SQLite module's export into PostgreSQL")
    if (reason := postgres_unavailable()) is not None:
        pytest.skip(reason)
    _, document = source
    other = Place("postgresql", tmp_path, [])
    target = other.new()
    try:
        import_clinic(target, document, **ADMIN)
        assert before_import(export_clinic(target)) == document
    finally:
        target.dispose()
        for schema in other.schemas:
            drop_schema(schema)


@pytest.fixture
def empty(place: Place) -> Iterator[Database]:
    target = place.new()
    try:
        yield target
    finally:
        target.dispose()


def refused(target: Database, document: Any, code: Code, words: str) -> None:
    with pytest.raises(ExchangeError) as caught:
        import_clinic(target, document, **ADMIN)
    assert caught.value.code is code, caught.value.message
    assert words in caught.value.message
    assert is_empty(target)  # nothing written


def test_a_database_holding_records_is_refused(source: tuple[Database, dict[str, Any]]) -> None:
    database, document = source
    before = export_clinic(database)
    with pytest.raises(ExchangeError) as caught:
        import_clinic(database, document, **ADMIN)
    assert caught.value.code is Code.DB_CONFLICT
    assert "already holds records" in caught.value.message
    assert export_clinic(database) == before


def test_an_export_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """The file holds the document's text once renamed into place; a write that fails (here
    the name is taken by a folder) leaves no partial file behind."""
    document = {"format": FORMAT, "tables": {"patients": [{"name": "Müller"}]}}
    out = tmp_path / "export.json"
    write_export(document, out)
    assert out.read_text(encoding="utf-8") == export_text(document)
    assert json.loads(export_text(document)) == document
    taken = tmp_path / "taken.json"
    taken.mkdir()
    with pytest.raises(OSError):
        write_export(document, taken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "taken.json"]


def test_unknown_formats_and_newer_revisions_are_refused(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
) -> None:
    _, document = source
    refused(empty, [], Code.DB_NOT_PUMPMGR, "not a JSON object")
    refused(empty, {**document, "format": "pumpmgr-clinic-export/2"}, Code.DB_NOT_PUMPMGR, "format")
    refused(
        empty,
        {**document, "schema_revision": "9999_from_the_future"},
        Code.DB_SCHEMA_NEWER,
        "newer pumpmgr",
    )
    tables_without_refills = {k: v for k, v in document["tables"].items() if k != "refills"}
    refused(
        empty,
        {**document, "tables": tables_without_refills},
        Code.DB_CORRUPT,
        "missing tables: refills",
    )
    other_units = copy.deepcopy(document)
    other_units["units"]["pumps"]["reservoir_capacity_ml"] = "L"
    refused(empty, other_units, Code.DB_CORRUPT, "units")


def test_a_malformed_row_or_an_edited_audit_entry_is_refused(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
) -> None:
    _, document = source
    naive = copy.deepcopy(document)
    naive["tables"]["refills"][0]["performed_at"] = "2025-03-03T09:00:00"
    refused(empty, naive, Code.DB_CORRUPT, "UTC offset")
    text = copy.deepcopy(document)
    text["tables"]["refills"][0]["aspirated_ml"] = "5 mL"
    refused(empty, text, Code.DB_CORRUPT, "a number")
    edited = copy.deepcopy(document)
    entry = edited["tables"]["audit_log"][2]
    entry["payload"] = entry["payload"].replace("}", ',"x":1}', 1)
    refused(empty, edited, Code.DB_CORRUPT, "audit entry #3 was altered")
    cut = copy.deepcopy(document)
    cut["tables"]["audit_log"].pop()
    refused(empty, cut, Code.DB_CORRUPT, "entries were removed from the end")


def test_corrections_and_the_programmers_figures_round_trip(place: Place) -> None:
    """A refill with the programmer's figures, a corrected MRI, a corrected catheter and a
    corrected implant date come back from export and import as they were: the figures and
    verdict, and each correction pointing at what it corrects."""
    source, target = place.new(), place.new()
    try:
        clock = FixedClock(START)
        service = ClinicService(
            source, clock=clock, tz=BERLIN, workstation="test", hasher=FAST_HASHER
        )
        admin = service.create_first_administrator("admin", PASSWORD, "Ada Admin")
        service.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
        service.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
        service.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
        world = World(
            service,
            clock,
            admin,
            service.sign_in("nina", PASSWORD),
            service.sign_in("otto", PASSWORD),
            service.sign_in("brandt", PASSWORD),
        )
        patient_id, pump_id = baclofen_patient(world)
        service.change_prescription(
            world.nurse, world.check, pump_id, continuing(baclofen_prescription())
        )
        figures = ProgrammerFigures(Q_("20 mL"), date(2025, 6, 3), Q_("0.2 mL/day"))
        found = BedsideFindings(
            Interrogation(PumpStatus.RUNNING, frozenset({PumpAlarm.ERI}), Q_("1.5 mL")),
            SiteAssessment(frozenset({SiteFinding.SWELLING}), "soft"),
            SymptomCheck(withdrawal=False, overdose=True, note="drowsy"),
        )
        service.record_refill(
            world.nurse, world.check, pump_id, fill(START, programmer=figures, bedside=found)
        )
        service.record_mri(world.nurse, pump_id, START, False, "1.5 T")
        chart = service.patient_chart(patient_id)
        mri = next(e for e in chart.events if e.kind == "mri")
        assert chart.catheter is not None
        service.correct_record(
            world.nurse, EventCorrection(mri.id, post_mri_check_done=True), "the check was done"
        )
        service.correct_record(
            world.nurse,
            CatheterCorrection(chart.catheter.id, revised_on=date(2025, 3, 2)),
            "revised the next day",
        )
        implant = next(e for e in chart.events if e.kind == "implant")
        service.correct_record(
            world.nurse,
            PumpCorrection(pump_id, implanted_on=date(2025, 2, 27)),
            "implanted two days earlier",
        )
        document = export_clinic(source)
        import_clinic(
            target,
            json.loads(json.dumps(document)),
            username="admin",
            password=PASSWORD,
            tz=BERLIN,
            hasher=FAST_HASHER,
        )
        assert before_import(export_clinic(target)) == document
        before, after = (
            ClinicService(d, clock=clock, tz=BERLIN, workstation="test").patient_chart(patient_id)
            for d in (source, target)
        )
        assert after == before
        assert after.refills[0].programmer == figures
        assert after.refills[0].bedside == found  # what the nurse found, revision 0016
        assert after.refills[0].programmer_differs is True  # 3 Jun against pumpmgr's 1 Jun
        assert [e.corrects_id for e in after.events if e.kind == "mri"] == [None, mri.id]
        assert [c.corrects_id for c in after.catheters] == [None, chart.catheter.id]
        assert after.catheter is not None and after.catheter.revised_on == date(2025, 3, 2)
        assert after.pump is not None and after.pump.implanted_on == date(2025, 2, 27)
        assert [e.corrects_id for e in after.events if e.kind == "implant"] == [implant.id, None]
        assert "sign_in_failures" not in document["tables"]  # not a record: stays behind
    finally:
        source.dispose()
        target.dispose()


@pytest.mark.parametrize(
    ("table", "column", "value", "words"),
    [
        ("patients", "mrn", "D" * 65, "text of at most 64 characters"),
        ("patients", "family_name", "Me\x00yer", "a NUL character"),
        ("patients", "given_name", "\udc80", "a lone surrogate"),
        ("patients", "id", 2**63, "outside the range a database stores"),
        ("refills", "aspirated_ml", float("nan"), "not finite"),
        ("refills", "volume_added_ml", float("inf"), "not finite"),
    ],
)
def test_values_no_database_can_store_are_refused_with_the_place_named(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
    table: str,
    column: str,
    value: object,
    words: str,
) -> None:
    """Refused before anything is written, on both backends alike: PostgreSQL would otherwise
    fail inside the insert (NUL, a varchar too long, NaN) and SQLite store it or crash."""
    _, document = source
    hostile = copy.deepcopy(document)
    hostile["tables"][table][0][column] = value
    refused(empty, hostile, Code.DB_CORRUPT, words)
    refused(empty, hostile, Code.DB_CORRUPT, f"{table} row 1.{column}")


def _attacked(document: dict[str, Any], attack: str) -> dict[str, Any]:
    """The document with one of issue 12's import attacks made on it."""
    hostile = copy.deepcopy(document)
    tables_in = hostile["tables"]
    refill = tables_in["refills"][0]
    if attack == "halved refill volume":
        refill["volume_added_ml"] /= 2
    elif attack == "deleted refill":
        referenced = {r["corrects_id"] for r in tables_in["refills"]}
        tables_in["refills"] = [
            r
            for r in tables_in["refills"]
            if r["id"] in referenced or r is not tables_in["refills"][-1]
        ]
    elif attack == "cut audit log":
        del tables_in["audit_log"][-3:]
        last = tables_in["audit_log"][-1]
        hostile["audit_chain_head"] = {"seq": last["seq"], "row_hash": last["row_hash"]}
    elif attack == "empty audit log":
        tables_in["audit_log"] = []
        hostile["audit_chain_head"] = None
    elif attack == "1e308":
        refill["volume_added_ml"] = 1e308
    elif attack == "9999-12-31 refill":
        tables_in["refills"][-1]["performed_at"] = "9999-12-31T09:00:00.000000+00:00"
    elif attack == "9999-12-31 expiry":
        refill["expiry_date"] = "9999-12-31"
    elif attack == "bad library edit":
        tables_in["drug_library_edits"][0]["changes"] = {"soft_max": "a lot"}
    elif attack == "forged administrator":
        admin = next(u for u in tables_in["users"] if u["role"] == "administrator")
        tables_in["users"].append(
            {
                **admin,
                "id": max(u["id"] for u in tables_in["users"]) + 1,
                "username": "mallory",
                "full_name": "Mallory",
            }
        )
    elif attack == "moved forecast":
        tables_in["pump_forecasts"][0]["refill_due"] = "2040-01-01"
    elif attack == "lower-case MRN":
        tables_in["patients"][0]["mrn"] = tables_in["patients"][0]["mrn"].lower()
    elif attack == "tenfold dose":  # a mg/mcg slip written into the last program (§8)
        tables_in["schedule_steps"][-1]["rate_mcg_per_day"] *= 10
    elif attack == "forged signature":  # a held high-risk order marked signed (§7, §8)
        held = next(p for p in tables_in["prescriptions"] if p["held_for_signature"])
        signer = next(u for u in tables_in["users"] if u["role"] == "prescriber")
        tables_in["order_actions"].append(
            {
                "id": max((a["id"] for a in tables_in["order_actions"]), default=0) + 1,
                "prescription_id": held["id"],
                "action": "signed",
                "at": held["recorded_at"],
                "by_id": signer["id"],
                "reason": None,
            }
        )
    elif attack == "refill checked by its own nurse":  # no second nurse (§8)
        refill["verifying_nurse_id"] = refill["nurse_id"]
    elif attack == "order made ordinary":  # a prescriber-only order no longer high-risk
        held = next(p for p in tables_in["prescriptions"] if p["high_risk"])
        held["high_risk"] = False
    else:
        raise AssertionError(attack)
    return hostile


@pytest.mark.parametrize(
    ("attack", "code", "words"),
    [
        (
            "halved refill volume",
            Code.DB_CORRUPT,
            "not what its audit log says pumpmgr wrote: refills #{refill}: volume_added_ml changed "
            "outside pumpmgr",
        ),
        ("deleted refill", Code.DB_CORRUPT, "deleted outside pumpmgr"),
        # the entries cut wrote the library edit: a record newer than the log's last entry
        ("cut audit log", Code.TIME_ORDER, "after the last audit entry"),
        ("empty audit log", Code.DB_CORRUPT, "holds records, but no audit entry that wrote them"),
        (
            "1e308",
            Code.OUT_OF_RANGE,
            "has 1e+308 in refills #{refill}, volume_added_ml: "
            "no clinic records a value that large",
        ),
        ("9999-12-31 refill", Code.TIME_ORDER, "9999-12-31T09:00:00+00:00 in refills #"),
        (
            "9999-12-31 expiry",
            Code.OUT_OF_RANGE,
            "9999-12-31 in refills #{refill}, expiry_date: more than 50 years after",
        ),
        ("bad library edit", Code.DB_CORRUPT, "drug_library_edits #1: changes changed outside"),
        ("forged administrator", Code.DB_CORRUPT, "inserted outside pumpmgr"),
        ("moved forecast", Code.DB_CORRUPT, "holds a stored forecast its records do not give"),
        ("lower-case MRN", Code.DB_CORRUPT, "not as pumpmgr stores it"),
        ("tenfold dose", Code.DB_CORRUPT, "rate_mcg_per_day changed outside pumpmgr"),
        ("forged signature", Code.DB_CORRUPT, "inserted outside pumpmgr"),
        ("order made ordinary", Code.DB_CORRUPT, "high_risk changed outside pumpmgr"),
    ],
)
def test_each_import_attack_of_issue_12_is_refused_with_the_first_problem_named(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
    attack: str,
    code: Code,
    words: str,
) -> None:
    _, document = source
    refill = document["tables"]["refills"][0]["id"]
    refused(empty, _attacked(document, attack), code, words.format(refill=refill))


def test_an_imported_refill_checked_by_its_own_nurse_is_refused(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
) -> None:
    """Domain-rules §8: no refill without the second nurse's verification, by import either
    (the schema's two-nurse rule refuses the row before any other check)."""
    _, document = source
    with pytest.raises(RecordConflict, match="two_different_nurses"):
        import_clinic(empty, _attacked(document, "refill checked by its own nurse"), **ADMIN)
    assert is_empty(empty)


def test_a_library_edit_is_checked_like_one_typed_in() -> None:
    """What an imported edit must pass even when its audit log was rewritten to match."""
    from pumpmgr.services.library_edits import checked_edit
    from pumpmgr.services.mapping import default_catalogs

    library = default_catalogs().drugs
    assert (
        checked_edit(library, "baclofen", {"soft_max": 900.0}, 1).drug("baclofen").soft_max
        is not None
    )
    for key, changes, words in (
        ("aspirin", {"soft_max": 900.0}, "'aspirin' is not a drug of the library"),
        ("baclofen", {"soft_max": "a lot"}, "soft_max must be a positive number"),
        ("baclofen", {"soft_max": float("inf")}, "soft_max must be a positive number"),
        ("baclofen", {"colour": 1.0}, "'colour' is not an editable value"),
        ("baclofen", {"typical_min": None}, "typical_min cannot be removed"),
        ("baclofen", {"soft_max": 1e6, "hard_max": 10.0}, "soft max: is above the hard"),
    ):
        with pytest.raises(PumpMgrError) as caught:
            checked_edit(library, key, changes, 7)
        assert caught.value.message.startswith("drug library edit #7: ")
        assert words in caught.value.message, caught.value.message


def test_only_one_of_the_documents_administrators_may_import(
    empty: Database,
    source: tuple[Database, dict[str, Any]],
) -> None:
    """The empty clinic has no accounts: the importer signs in with one of the document's,
    which must be an administrator's; the import is then audited under that name."""
    _, document = source
    for username, password, words in (
        ("admin", "not the password", "user: "),
        ("mallory", "demo-admin-pass", "user: "),
        (
            "nurse1",
            "demo-nurse-pass",
            "user: nurse1 is a nurse in the document; only an administrator may import a clinic",
        ),
    ):
        with pytest.raises(ExchangeError) as caught:
            import_clinic(
                empty, document, username=username, password=password, tz=BERLIN, hasher=DEMO_HASHER
            )
        assert caught.value.field == "user" and words in caught.value.message
        assert is_empty(empty)
    summary = import_clinic(empty, document, **ADMIN)
    last = export_clinic(empty)["tables"]["audit_log"][-1]
    assert summary.chain_head is not None and summary.chain_head.seq == last["seq"]
    assert (last["action"], last["username"]) == ("clinic.import", "admin")
    assert json.loads(last["payload"])["patients"] == len(document["tables"]["patients"])
