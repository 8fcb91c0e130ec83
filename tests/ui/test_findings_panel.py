"""The findings panel shows a possible tenfold error as the prescriber's, with no reason box."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from pumpmgr.catalogs import default_catalogs
from pumpmgr.dose_checks import check_dose
from pumpmgr.units import Q_
from ui.widgets.findings_panel import FindingsPanel


def test_a_stop_is_shown_as_prescriber_only_without_a_reason_box(qtbot: QtBot) -> None:
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    check = check_dose(default_catalogs().drug("baclofen"), Q_(1320, "mcg/day"),
                       previous_dose=Q_(132, "mcg/day"))
    panel.set_check(check)
    texts = [label.text() for label in panel.findChildren(QLabel)]
    assert any(t.startswith("Prescriber only: Possible tenfold error") for t in texts)
    assert "dose.possible_tenfold_error" not in panel.reason_edits
    assert "dose.above_soft_max" in panel.reason_edits  # warnings keep their reason box
