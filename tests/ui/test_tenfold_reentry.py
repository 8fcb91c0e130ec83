"""A possible tenfold error in the window (domain-rules §6): the prescriber types the new dose
again blind and picks a listed reason before it is saved; a nurse is told it is the
prescriber's; a re-entry that differs saves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD
from test_prescription import click, open_dialog, settle, sign_second, type_into

from pumpmgr.services import ClinicService
from pumpmgr.units import Q_
from ui.dialogs.prescription import PrescriptionDialog
from ui.dialogs.tenfold import TenfoldDialog
from ui.main_window import MainWindow

TENFOLD = "dose.possible_tenfold_error"


@pytest.fixture
def prescriber_window(qtbot: QtBot, clinic: ClinicService) -> Iterator[MainWindow]:
    main = MainWindow(clinic, clinic.sign_in("brandt", PASSWORD))
    qtbot.addWidget(main)
    main.resize(1366, 740)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.idle.stop()


def tenfold_change(qtbot: QtBot, window: MainWindow) -> PrescriptionDialog:
    """Patient 100004's baclofen 360 mcg/day typed as 1,800 mcg/day (a slipped decimal)."""
    dialog = open_dialog(qtbot, window, "100004")
    if not dialog.prescriber.text():  # a prescriber's own name is filled in
        qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    type_into(qtbot, dialog.schedule.daily_dose, "1800 mcg/day")
    settle(qtbot, dialog)
    for code in dialog.findings.warning_codes():
        qtbot.keyClicks(dialog.findings.reason_edits[code], "intended")
    assert any(
        t.startswith("Prescriber only: Possible tenfold error") for t in dialog.findings.texts()
    )
    return dialog


def answer(
    qtbot: QtBot, dose: str, reason_index: int, seen: list[TenfoldDialog], other: str = ""
) -> None:
    """Fills the re-entry dialog when it opens (it runs modally inside Save)."""

    def fill() -> None:
        reentry = next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, TenfoldDialog) and w.isVisible()
            ),
            None,
        )
        if reentry is None:
            QTimer.singleShot(20, fill)
            return
        seen.append(reentry)
        (edit,) = reentry.doses.values()
        # blind: the first entry is not shown while the dose is typed again
        assert reentry.parentWidget() is not None
        assert all(not pane.isVisible() for pane in reentry.parentWidget()._entry_panes)  # type: ignore[union-attr]
        assert "1,800" not in " ".join(
            label.text() for label in reentry.findChildren(type(reentry.problem))
        )
        qtbot.keyClicks(edit.line_edit, dose)
        assert not reentry.confirm_button.isEnabled()  # no reason chosen yet
        reentry.reason.setCurrentIndex(reason_index)
        if other:
            qtbot.keyClicks(reentry.other, other)
        assert reentry.confirm_button.isEnabled(), reentry.problem.text()
        click(qtbot, reentry.confirm_button)

    QTimer.singleShot(0, fill)


def test_the_prescriber_types_the_dose_again_blind_and_it_is_saved(
    qtbot: QtBot, prescriber_window: MainWindow, dialogs: Dialogs
) -> None:
    dialog = tenfold_change(qtbot, prescriber_window)
    assert dialog.save_button.isEnabled(), dialog.problem_label.text()
    seen: list[TenfoldDialog] = []
    answer(qtbot, "1800 mcg/day", 3, seen, other="return after pump replacement")  # "other"
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: dialog.outcome is not None or bool(dialogs.shown))
    assert not dialogs.shown
    (reentry,) = seen
    assert reentry.question.increase
    assert [words for _, words in reentry.question.reasons][-1] == "other"
    outcome = dialog.outcome
    assert outcome is not None
    assert outcome.prescription.schedule.daily_dose() == Q_(1800, "mcg/day")
    (stop,) = [f for f in outcome.prescription.findings if f.code == TENFOLD]
    assert stop.reason.startswith("other: return after pump replacement")
    assert "re-entered blind by brandt" in stop.reason


def test_a_re_entry_that_differs_saves_nothing_and_says_so(
    qtbot: QtBot, prescriber_window: MainWindow, dialogs: Dialogs
) -> None:
    dialog = tenfold_change(qtbot, prescriber_window)
    before = prescriber_window.clinic.patient_chart(dialog.chart.patient.id).prescriptions
    answer(qtbot, "360 mcg/day", 3, [], other="typed the old dose")
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: bool(dialogs.shown))
    assert dialog.outcome is None and dialog.isVisible()
    assert "does not match the first entry" in dialogs.shown[-1][1]
    after = prescriber_window.clinic.patient_chart(dialog.chart.patient.id).prescriptions
    assert after == before
    assert all(pane.isVisible() for pane in dialog._entry_panes)  # the form is back


def test_a_nurse_is_told_the_change_is_the_prescribers(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    dialog = tenfold_change(qtbot, window)
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: bool(dialogs.shown))
    assert dialog.outcome is None
    assert "only by a prescriber" in dialogs.shown[-1][1]
