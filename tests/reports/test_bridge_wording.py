"""One wording of the bridge bolus (issue 14): the refill screen, the bridge calculator, the
worksheet and ``pumpmgr calc bridge`` say the same sentence for the same concentration change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from pytestqt.qtbot import QtBot
from sheet_samples import CHARTS, SETTINGS, SHIPPED, VISIT, pdf_text

from pumpmgr.cli import main
from pumpmgr.records import ClinicSettings
from pumpmgr.visit import plan_visit
from pumpmgr.wording import bridge_text
from ui.screens.calculators import CalculatorsScreen
from ui.wizards.refill_steps.program import bridge_text as refill_screen_text


def test_screen_sheet_and_command_line_say_the_same_bridge(
    qtbot: QtBot, capsys: pytest.CaptureFixture[str], sheet: Callable[..., bytes]
) -> None:
    """Morphine 10 → 20 mg/mL at 3 mg/day with a 0.447 mL dead space (the admixture sample)."""
    plan = plan_visit(CHARTS["admixture"](), VISIT, settings=SETTINGS, drugs=SHIPPED.drugs)
    assert plan.bridge is not None
    sentence = bridge_text(plan.bridge, "mg")
    assert sentence.startswith("Bridge: run the old rate of 0.3 mL/day for 35.8 h")
    assert "the patient gets 1.5 mg/day for" in sentence
    typed = ("3 mg/day", "10 mg/mL", "20 mg/mL", "0.447 mL")

    calculators = CalculatorsScreen(SHIPPED, ClinicSettings(), date(2025, 3, 3))
    qtbot.addWidget(calculators)
    calculator = calculators.bridge
    for edit, text in zip(
        (calculator.dose, calculator.old, calculator.new, calculator.dead_space), typed, strict=True
    ):
        qtbot.keyClicks(edit.line_edit, text)

    code = main(
        [
            "calc",
            "bridge",
            "--dose",
            typed[0],
            "--old-concentration",
            typed[1],
            "--new-concentration",
            typed[2],
            "--dead-space",
            typed[3],
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    command_line = next(line for line in out.splitlines() if line.startswith("explanation:"))
    refill_screen = next(
        line
        for line in refill_screen_text(plan, SHIPPED.drugs).splitlines()
        if line.startswith("Bridge:")
    )

    shown = {
        "refill screen": refill_screen,
        "calculator": calculator.text("explanation"),
        "command line": command_line.removeprefix("explanation:").strip(),
    }
    assert shown == dict.fromkeys(shown, sentence)
    assert sentence in pdf_text(sheet("worksheet_admixture"))
