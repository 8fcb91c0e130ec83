"""The findings panel shows a possible tenfold error as the prescriber's, with no reason box,
and the source each finding rests on."""

from __future__ import annotations

import re

from dialog_recorder import Dialogs
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from pumpmgr.catalogs import default_catalogs
from pumpmgr.dose_checks import check_dose
from pumpmgr.sources import SOURCES
from pumpmgr.units import Q_
from ui.widgets.findings_panel import FindingsPanel


def test_a_stop_is_shown_as_prescriber_only_without_a_reason_box(qtbot: QtBot) -> None:
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    check = check_dose(
        default_catalogs().drug("baclofen"), Q_(1320, "mcg/day"), previous_dose=Q_(132, "mcg/day")
    )
    panel.set_check(check)
    texts = [label.text() for label in panel.findChildren(QLabel)]
    assert any(t.startswith("Prescriber only: Possible tenfold error") for t in texts)
    assert "dose.possible_tenfold_error" not in panel.reason_edits
    assert "dose.above_soft_max" in panel.reason_edits  # warnings keep their reason box


def test_a_finding_names_its_source_and_opens_it(qtbot: QtBot, dialogs: Dialogs) -> None:
    """Domain-rules §6: the nurse can open the source a finding rests on; the message carries
    no reference code."""
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.set_check(check_dose(default_catalogs().drug("morphine"), Q_(21, "mg/day")))
    texts = [label.text() for label in panel.source_labels]
    assert any(">Infumorph label</a>" in t for t in texts), texts
    assert all("[S" not in label.text() for label in panel.findChildren(QLabel))
    caution = next(label for label in panel.source_labels if "Infumorph label" in label.text())
    (href,) = re.findall(r'<a href="(\d+)">Infumorph label</a>', caution.text())
    caution.linkActivated.emit(href)
    assert dialogs.texts("info") == [SOURCES["S41"].reference]
    # a finding on no source has no line: a zero dose rests on none
    panel.set_check(check_dose(default_catalogs().drug("morphine"), Q_(0, "mg/day")))
    assert panel.source_labels == []
