"""The due list screen: order, state words, counters, notices, filters, search, sorting,
opening a patient from the keyboard, and the models under Qt's model tester."""

from __future__ import annotations

from datetime import date

from dialog_recorder import Dialogs
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pumpmgr.services import ClinicService
from ui.main_window import MainWindow
from ui.models.due_list import Column, DueFilter, DueFilterProxyModel, DueListModel, SortRole

DUE_ORDER = [
    ("Overdue", "BECKER, Lena"),
    ("Due this week", "SCHULZ, Jonas"),
    ("Due in 14 days", "WAGNER, Mia"),
    ("Fine", "FISCHER, Greta"),
    ("Fine", "KELLER, Sofia"),
    ("Fine · review", "HOFFMANN, Paul"),
]


def shown(window: MainWindow, column: Column) -> list[str]:
    proxy = window.dashboard.proxy
    return [proxy.index(r, int(column)).data() for r in range(proxy.rowCount())]


def test_rows_in_due_order_with_state_words(window: MainWindow) -> None:
    """Most urgent first, each row naming its state in words (colour is never alone)."""
    assert list(zip(shown(window, Column.STATE), shown(window, Column.PATIENT),
                    strict=True)) == DUE_ORDER
    assert shown(window, Column.REFILL_DUE)[:3] == ["Wed 8 Oct 2025", "Thu 23 Oct 2025",
                                                   "Fri 31 Oct 2025"]
    assert shown(window, Column.DAYS_LEFT)[:2] == ["alarm passed", "10 days"]
    assert shown(window, Column.REASON)[3:5] == ["planning − 7 days", "stability limit"]
    assert shown(window, Column.REPLACE_BY)[3] == "no battery"
    assert shown(window, Column.DRUG)[4] == "morphine 10 mg/mL + clonidine 100 mcg/mL"
    background = window.dashboard.proxy.index(0, 0).data(Qt.ItemDataRole.BackgroundRole)
    assert background is not None


def test_counters_and_notices(window: MainWindow) -> None:
    dashboard = window.dashboard
    assert dashboard.counts == (1, 1, 1)
    assert dashboard.overdue_button.text() == "1  overdue"
    assert dashboard.review_button.text() == "1  discrepancy to review"
    dst, replace = dashboard.notice_texts()
    assert "Sun 26 Oct 2025" in dst and "KELLER, Sofia (100006)" in dst
    assert "KELLER, Sofia (Wed 28 Jan 2026)" in replace and "1 pump reaches its" in replace


def test_filters(window: MainWindow, qtbot: QtBot) -> None:
    dashboard = window.dashboard
    expected = {
        DueFilter.OVERDUE: ["BECKER, Lena"],
        DueFilter.THIS_WEEK: ["SCHULZ, Jonas"],
        DueFilter.CONSTANT_FLOW: ["FISCHER, Greta"],
        DueFilter.ERI_SOON: ["KELLER, Sofia"],
        DueFilter.REVIEW: ["HOFFMANN, Paul"],
    }
    for kind, names in expected.items():
        qtbot.mouseClick(dashboard.filter_buttons[kind], Qt.MouseButton.LeftButton)
        assert shown(window, Column.PATIENT) == names, kind
        assert dashboard.count_label.text() == "1 of 6 shown"
    qtbot.mouseClick(dashboard.overdue_button, Qt.MouseButton.LeftButton)
    assert dashboard.filter_buttons[DueFilter.OVERDUE].isChecked()
    qtbot.mouseClick(dashboard.filter_buttons[DueFilter.ALL], Qt.MouseButton.LeftButton)
    assert len(shown(window, Column.PATIENT)) == 6


def test_search_by_name_or_mrn(window: MainWindow, qtbot: QtBot) -> None:
    search = window.dashboard.search
    qtbot.keyClicks(search, "schulz")
    assert shown(window, Column.PATIENT) == ["SCHULZ, Jonas"]
    search.clear()
    qtbot.keyClicks(search, "100003")
    assert shown(window, Column.PATIENT) == ["WAGNER, Mia"]
    search.setText("sofia KELLER")
    assert shown(window, Column.PATIENT) == ["KELLER, Sofia"]
    search.setText("10000")
    assert len(shown(window, Column.PATIENT)) == 6
    search.setText("nobody")
    assert shown(window, Column.PATIENT) == []


def test_sorting_uses_values_not_text(window: MainWindow) -> None:
    """'93.91 days' sorts after '10 days' and 'alarm passed' first: numbers, not text."""
    table = window.dashboard.table
    table.sortByColumn(int(Column.DAYS_LEFT), Qt.SortOrder.AscendingOrder)
    assert shown(window, Column.DAYS_LEFT) == ["alarm passed", "10 days", "18 days", "26 days",
                                               "80 days", "93.91 days"]
    table.sortByColumn(int(Column.REPLACE_BY), Qt.SortOrder.AscendingOrder)
    assert shown(window, Column.REPLACE_BY)[0] == "Wed 28 Jan 2026"
    assert shown(window, Column.REPLACE_BY)[-1] == "no battery"
    table.sortByColumn(int(Column.STATE), Qt.SortOrder.DescendingOrder)
    assert shown(window, Column.STATE)[-1] == "Overdue"
    table.sortByColumn(int(Column.REFILL_DUE), Qt.SortOrder.AscendingOrder)
    assert [s for s, _ in DUE_ORDER] == shown(window, Column.STATE)
    proxy = window.dashboard.proxy
    assert isinstance(proxy.index(0, int(Column.REFILL_DUE)).data(SortRole), int)


def test_enter_opens_the_patient(window: MainWindow, qtbot: QtBot) -> None:
    table = window.dashboard.table
    table.setFocus()
    table.selectRow(2)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.patient
    assert window.patient.name_label.text() == "WAGNER, Mia"
    qtbot.keyClick(window.patient.tabs, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.dashboard


def test_double_click_opens_the_patient(window: MainWindow, qtbot: QtBot) -> None:
    table = window.dashboard.table
    rect = table.visualRect(window.dashboard.proxy.index(1, int(Column.PATIENT)))
    # Qt opens on a double-click only after the press on the same item, as a real click gives.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.patient.name_label.text() == "SCHULZ, Jonas"


def test_search_enter_finds_a_patient_off_the_due_list(
        window: MainWindow, clinic: ClinicService, qtbot: QtBot, dialogs: Dialogs) -> None:
    """A patient without a pump is not on the due list; Enter in the search still finds them."""
    from pumpmgr.services.inputs import PatientInput

    admin = clinic.sign_in("admin", "correct horse battery")
    clinic.register_patient(admin, PatientInput("200001", "Neumann", "Ida", date(1990, 1, 1),
                                                "other"))
    window.dashboard.search.setText("neumann")
    qtbot.keyClick(window.dashboard.search, Qt.Key.Key_Return)
    assert window.patient.name_label.text() == "NEUMANN, Ida"
    assert "No active pump" in window.patient.flag_texts()
    window.show_dashboard()
    window.dashboard.search.setText("zzz")
    qtbot.keyClick(window.dashboard.search, Qt.Key.Key_Return)
    assert dialogs.texts("info") == ["No patient's name or MRN contains 'zzz'."]


def test_models_pass_the_model_tester(window: MainWindow, qtmodeltester: object) -> None:
    dashboard = window.dashboard
    qtmodeltester.check(dashboard.model)  # type: ignore[attr-defined]
    qtmodeltester.check(dashboard.proxy)  # type: ignore[attr-defined]
    empty = DueListModel(window.clinic.tz, 7)
    qtmodeltester.check(empty)  # type: ignore[attr-defined]
    proxy = DueFilterProxyModel(date(2025, 10, 20))
    proxy.setSourceModel(dashboard.model)
    proxy.set_kind(DueFilter.ERI_SOON)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]


def test_keyboard_only(window: MainWindow, qtbot: QtBot) -> None:
    """Ctrl+F to the search, type, Enter opens the only match, Ctrl+1 back to the list."""
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.dashboard.search.hasFocus()
    qtbot.keyClicks(window.dashboard.search, "100005")
    qtbot.keyClick(window.dashboard.search, Qt.Key.Key_Return)
    assert window.patient.name_label.text() == "FISCHER, Greta"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.dashboard
    assert window.dashboard.table.hasFocus()
    qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Down)
    qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Enter)
    assert window.stack.currentWidget() is window.patient
