"""Records → Export for the hospital: the administrator sets the MRN system and the note
template (audited); a nurse exports a patient's FHIR bundle (audited with their name)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.note_template import default_template_text
from pumpmgr.services import ClinicService
from pumpmgr.services.hospital import HospitalService
from ui.main_window import MainWindow
from ui.screens.records import RecordsTab

SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


@pytest.fixture
def admin_window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    main = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    yield main
    main.idle.stop()


def test_the_administrator_sets_the_mrn_system_and_the_template(admin_window: MainWindow) -> None:
    admin_window.records_actions[RecordsTab.HOSPITAL].trigger()
    tab = admin_window.records.hospital
    assert tab.template.toPlainText() == default_template_text()
    assert tab.template_state.text().startswith("The template pumpmgr ships.")
    tab.system.setText("hospital numbers")
    tab.system_reason.setText("go live")
    assert not tab.save_system()
    assert tab.message.text().startswith("Not saved: MRN system: 'hospital numbers' is not a URI")
    tab.system.setText(SYSTEM)
    assert tab.save_system()
    hospital = HospitalService(admin_window.clinic)
    assert hospital.mrn_system() == SYSTEM
    assert admin_window.clinic.audit_entries(0, 1)[0].action == "settings.mrn_system"
    tab.template.setPlainText(
        default_template_text().replace("Intrathecal pump refill", "ITDD refill")
    )
    tab.template_reason.setText("ward wording")
    assert tab.save_template()
    assert hospital.note_template_text()[1] is True
    assert tab.template_state.text() == "The clinic's own template."
    tab.template.setPlainText("[refill]\n$nope")
    tab.template_reason.setText("typo")
    assert not tab.save_template()
    assert "Not saved: note template: missing the section" in tab.message.text()


def test_a_nurse_exports_a_patient_for_the_hospital(
    window: MainWindow, dialogs: Dialogs, tmp_path: Path
) -> None:
    clinic = window.clinic
    admin = clinic.sign_in("admin", PASSWORD)
    HospitalService(clinic).set_mrn_system(admin, SYSTEM, "go live")
    window.show_records(RecordsTab.HOSPITAL)
    tab = window.records.hospital
    assert not tab.template_button.isEnabled() and tab.template.isReadOnly()
    assert tab.export_button.isEnabled()
    tab.mrn.setText("100004")
    dialogs.save_to = tmp_path / "bundle.json"
    assert tab.export() == tmp_path / "bundle.json"
    document = json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    assert document["resourceType"] == "Bundle"
    patients = [
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [p["identifier"][0]["value"] for p in patients] == ["100004"]
    entry = clinic.audit_entries(0, 1)[0]
    assert entry.action == "export.fhir" and entry.username == "nina"
    tab.mrn.setText("NOPE")
    dialogs.save_to = tmp_path / "none.json"
    assert tab.export() is None
    assert not (tmp_path / "none.json").exists()
    assert "no patient with medical record number 'NOPE'" in tab.message.text()


def test_the_export_page_cuts_no_text_at_1366_px(admin_window: MainWindow, qtbot: QtBot) -> None:
    """The export's description wraps (it ran out of its box), and the template's reason
    has room for what is typed (it was squeezed beside two buttons)."""
    from clipping import clipped

    admin_window.show_records(RecordsTab.HOSPITAL)
    qtbot.wait(20)
    hospital = admin_window.records.hospital
    assert clipped(hospital) == []
    reason = hospital.template_reason
    assert reason.width() >= reason.fontMetrics().horizontalAdvance(
        "changed the refill section's wording after the audit"
    )
