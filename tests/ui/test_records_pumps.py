"""Records → Pump models: the flow limits and labelling the dose checks use, edited with a
reason by a prescriber or an administrator (domain-rules §6), read-only for a nurse."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.services import ClinicService
from pumpmgr.units import Q_
from ui.main_window import MainWindow
from ui.screens.records import RecordsTab


def test_an_administrator_lowers_a_models_minimum_flow_with_a_reason(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    window = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(window)
    window.show()
    window.show_records(RecordsTab.PUMPS)
    tab = window.records.pumps
    row = next(i for i, m in enumerate(tab.model.rows()) if m.key == "synchromed2-20")
    tab.table.selectRow(row)
    assert tab.min_flow.text() == "0.048 mL/day"
    assert tab.model.index(row, 3).data() == "not held: not checked"
    tab.min_flow.line_edit.clear()
    qtbot.keyClicks(tab.min_flow.line_edit, "0.03 mL/day")
    qtbot.keyClicks(tab.labelling, "morphine 10 mg/mL, 25 mg/mL")
    qtbot.keyClicks(tab.reason, "our formulary, committee of 1 Dec 2026")
    assert tab.save()
    edited = next(m for m in clinic.configuration.pump_models() if m.key == "synchromed2-20")
    assert edited.min_flow == Q_(0.03, "mL/day")
    assert edited.labelled_drugs["morphine"] == (Q_(10000, "mcg/mL"), Q_(25000, "mcg/mL"))
    assert "saved and audited" in tab.message.text()
    assert tab.model.index(row, 3).data() == "morphine 10 mg/mL, 25 mg/mL"
    (entry,) = clinic.audit_entries(0, 1)  # newest first
    assert entry.action == "pump_catalog.edit"
    window.idle.stop()


def test_a_typed_flow_that_is_not_a_flow_is_refused_and_nothing_is_saved(
    qtbot: QtBot, clinic: ClinicService
) -> None:
    window = MainWindow(clinic, clinic.sign_in("admin", PASSWORD))
    qtbot.addWidget(window)
    window.show()
    window.show_records(RecordsTab.PUMPS)
    tab = window.records.pumps
    tab.table.selectRow(
        next(i for i, m in enumerate(tab.model.rows()) if m.key == "synchromed2-20")
    )
    tab.min_flow.line_edit.clear()
    qtbot.keyClicks(tab.min_flow.line_edit, "0.03 mL")
    qtbot.keyClicks(tab.reason, "x")
    assert not tab.save()
    assert tab.message.text().startswith("Not saved: ")
    kept = next(m for m in clinic.configuration.pump_models() if m.key == "synchromed2-20")
    assert kept.min_flow == Q_(0.048, "mL/day")
    window.idle.stop()


def test_a_nurse_sees_the_limits_read_only(qtbot: QtBot, window: MainWindow) -> None:
    window.show_records(RecordsTab.PUMPS)
    tab = window.records.pumps
    assert tab.model.rowCount() > 0
    assert not tab.save_button.isEnabled() and not tab.min_flow.isEnabled()
