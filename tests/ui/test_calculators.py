"""The calculators give domain.md's worked examples 1, 6, 7 and 8, written exactly as
pumpmgr.formatting writes them, and show refused or missing inputs inline."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pumpmgr.catalogs import default_catalogs
from pumpmgr.records import ClinicSettings
from pumpmgr.units import Kind
from ui.main_window import MainWindow
from ui.screens.calculators import CalculatorsScreen


@pytest.fixture
def screen(qtbot: QtBot) -> CalculatorsScreen:
    made = CalculatorsScreen(default_catalogs(), ClinicSettings(), date(2025, 3, 3))
    qtbot.addWidget(made)
    return made


def test_example_1_forecast(screen: CalculatorsScreen, qtbot: QtBot) -> None:
    """SynchroMed II 20 mL, baclofen 2000 mcg/mL at 400 mcg/day, filled 20 mL on 2025-03-03,
    alarm 2 mL: 0.2 mL/day, alarm on 1 June after 90 days, empty after 100 days."""
    calc = screen.forecast
    calc.set_filled_at(datetime(2025, 3, 3, 0, 0))
    qtbot.keyClicks(calc.fill_volume.line_edit, "20 mL")
    qtbot.keyClicks(calc.concentration.line_edit, "2000 mcg/mL")
    assert calc.message.text() == "Enter the daily dose to see the result."
    qtbot.keyClicks(calc.dose.line_edit, "400 mcg/day")
    assert calc.text("daily dose") == "400 mcg/day"
    assert calc.text("daily volume") == "0.2 mL/day"
    assert calc.text("days to alarm") == "90 days"
    assert calc.text("alarm") == "Sun 1 Jun 2025 00:00"
    assert calc.text("empty") == "Wed 11 Jun 2025 00:00 (100 days)"
    assert calc.text("refill due") == "Fri 23 May 2025"
    assert calc.text("due because").startswith(
        "alarm date with every bolus taken, minus the 7-day buffer"
    )


def test_forecast_in_mg_and_refusals_are_inline(screen: CalculatorsScreen, qtbot: QtBot) -> None:
    calc = screen.forecast
    calc.fill_volume.set_text("40 mL")
    calc.concentration.set_text("25 mg/mL")
    calc.dose.set_text("5 mg/day")
    calc.stability.setValue(90)
    assert calc.text("daily dose") == "5 mg/day"
    assert calc.text("due because").startswith("drug's in-pump stability limit")
    assert calc.text("refill due") == "Fri 30 May 2025"  # 1 June is a Sunday: last open day
    calc.fill_volume.set_text("1 mL")
    assert calc.results.values == {}
    assert calc.message.property("role") == "error"
    assert calc.message.text().startswith("Not calculated: fill volume: 1 mL is not above")
    calc.fill_volume.set_text("20 mcg")
    assert "is not a volume" in calc.message.text()


def test_forecast_flex_steps_example_4(screen: CalculatorsScreen) -> None:
    calc = screen.forecast
    calc.set_filled_at(datetime(2025, 3, 3, 0, 0))
    calc.fill_volume.set_text("20 mL")
    calc.concentration.set_text("2000 mcg/mL")
    calc.flex.setChecked(True)
    calc.steps.setPlainText("00:00 30 mcg/h\n06:00-07:00 100 mcg/h\n07:00 15 mcg/h\n22:00 20 mcg/h")
    assert calc.text("daily dose") == "545 mcg/day"
    assert calc.text("days to alarm") == "66.06 days"
    assert calc.text("alarm").startswith("Thu 8 May 2025")


def test_example_6_bridge(screen: CalculatorsScreen, qtbot: QtBot) -> None:
    """Baclofen 1000 → 2000 mcg/mL at 300 mcg/day, dead space 0.35 mL: run 0.3 mL/day for
    28 h, then 0.15 mL/day; without a bridge, 150 mcg/day (half) for 2.33 days."""
    calc = screen.bridge
    qtbot.keyClicks(calc.dose.line_edit, "300 mcg/day")
    qtbot.keyClicks(calc.old.line_edit, "1000 mcg/mL")
    qtbot.keyClicks(calc.new.line_edit, "2000 mcg/mL")
    qtbot.keyClicks(calc.dead_space.line_edit, "0.35 mL")
    assert calc.text("bridge volume") == "0.35 mL"
    assert calc.text("bridge rate") == "0.3 mL/day"
    assert calc.text("bridge duration") == "28 h"
    assert calc.text("new rate") == "0.15 mL/day"
    assert calc.text("unbridged dose") == "150 mcg/day"
    assert calc.text("unbridged duration") == "2.33 days"


def test_example_7_priming(screen: CalculatorsScreen, qtbot: QtBot) -> None:
    """Prometra catheter trimmed 30 cm from 110 cm: 80 cm × 0.0026 mL/cm = 0.208 mL."""
    calc = screen.priming
    calc.catheter.set_model("prometra-11823")
    row = calc.catheter.rows[0]
    assert row.per_length.text() == "0.0026 mL/cm"  # sourced: prefilled
    qtbot.keyClicks(row.trimmed.line_edit, "30 cm")
    assert row.implanted.text() == "80 cm"  # supplied 110 cm − trimmed
    assert calc.text("catheter volume") == "0.21 mL"
    assert calc.text("priming volume") == "0.21 mL"
    assert calc.text("part 1") == "80 cm × 0.0026 mL/cm = 0.21 mL"
    assert calc.text("supervision") == "only under medical supervision"
    calc.pump_path.set_text("0.22 mL")
    assert calc.text("priming volume") == "0.43 mL"
    row.trimmed.set_text("120 cm")
    assert calc.message.text() == (
        "Not calculated: trimmed length: nothing of the catheter would be left implanted"
    )


def test_priming_catheter_without_sourced_volume(screen: CalculatorsScreen) -> None:
    """Medtronic per-cm volumes are never defaulted: the nurse types them."""
    calc = screen.priming
    calc.catheter.set_model("ascenda-8780")
    assert [r.name.text() for r in calc.catheter.rows] == ["spinal segment", "pump segment"]
    assert all(r.per_length.text() == "" for r in calc.catheter.rows)
    for row, length in zip(calc.catheter.rows, ("40 cm", "20 cm"), strict=True):
        row.implanted.set_text(length)
        row.per_length.set_text("0.0022 mL/cm")
    assert calc.text("catheter volume") == "0.13 mL"


def test_example_8_compounding(screen: CalculatorsScreen, qtbot: QtBot) -> None:
    """IsoMed at 1.0 mL/day, morphine 4 mg/day from 25 mg/mL stock, 20 mL: 4 mg/mL, 3.2 mL
    stock and 16.8 mL diluent."""
    calc = screen.compounding
    qtbot.keyClicks(calc.flow.line_edit, "1 mL/day")
    qtbot.keyClicks(calc.dose.line_edit, "4 mg/day")
    qtbot.keyClicks(calc.stock.line_edit, "25 mg/mL")
    qtbot.keyClicks(calc.fill.line_edit, "20 mL")
    assert calc.text("concentration") == "4 mg/mL"
    assert calc.text("stock volume") == "3.2 mL"
    assert calc.text("diluent volume") == "16.8 mL"
    assert calc.text("total volume") == "20 mL"
    assert calc.text("diluent") == "preservative-free 0.9 % sodium chloride"
    calc.dose.set_text("30 mg/day")
    assert "stronger than the stock" in calc.message.text()


def test_unit_conversion(screen: CalculatorsScreen) -> None:
    calc = screen.conversion
    calc.value.set_text("0.4 mg/day")
    calc.target.setCurrentText("mcg/day")
    assert calc.text("value") == "400 mcg/day"
    calc.target.setCurrentText("mcg/h")
    assert calc.text("value") == "16.6667 mcg/h"
    calc.set_kind(Kind.CONCENTRATION)
    assert calc.value.kind is Kind.CONCENTRATION
    assert "is not a concentration" in calc.message.text()  # the text stays, now refused
    calc.value.set_text("2 mg/mL")
    calc.target.setCurrentText("mcg/mL")
    assert calc.text("value") == "2,000 mcg/mL"
    assert calc.text("as pumpmgr writes it") == "2 mg/mL"


def test_calculators_from_the_main_window(window: MainWindow, qtbot: QtBot) -> None:
    window.calculators_action.trigger()
    assert window.stack.currentWidget() is window.calculators
    qtbot.keyClick(window.calculators.tabs.tabBar(), Qt.Key.Key_Right)
    assert window.calculators.tabs.currentWidget() is window.calculators.bridge
    window.lock()
    assert not window.calculators_action.isEnabled()
