"""The due list screen: order, state words, counters, notices, filters, search, sorting,
opening a patient from the keyboard, and the models under Qt's model tester."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QEvent, QObject, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from pumpmgr.records import DueRow, DueState
from pumpmgr.services import ClinicService
from ui import notices
from ui.main_window import MainWindow
from ui.models.due_list import (
    Column,
    DueFilter,
    DueFilterProxyModel,
    DueListModel,
    ObjectRole,
    SortRole,
)

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
    assert shown(window, Column.REFILL_DUE)[:3] == ["Fri 3 Oct 2025", "Thu 23 Oct 2025",
                                                   "Fri 31 Oct 2025"]
    assert shown(window, Column.DAYS_LEFT)[:2] == ["alarm passed", "15 days"]
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
    """'93.91 days' sorts after '15 days' and 'alarm passed' first: numbers, not text."""
    table = window.dashboard.table
    table.sortByColumn(int(Column.DAYS_LEFT), Qt.SortOrder.AscendingOrder)
    assert shown(window, Column.DAYS_LEFT) == ["alarm passed", "15 days", "23 days", "26 days",
                                               "80 days", "93 days"]
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


# ------------------------------------------------------------------ a large due list


def _many_rows(count: int, seed: int = 3) -> list[DueRow]:
    """Made-up due-list rows with many equal dates, states and models (ties for sorting), long
    names and admixtures (capped and wrapped columns), and a name outside the BMP. Sorted by
    due date they come in the order made, with longer MRNs and patient names further down, so
    that which rows a column is sized from shows in its width."""
    generator = random.Random(seed)
    families = ["MÜLLER", "LI", "SCHNEIDER-WESTPHALEN", "ÖZTÜRK", "NG", "𝐀BEL", "VON DER "
                "HEYDEN-RINGSTORFF", "KIM"]
    drugs = ["baclofen 2000 mcg/mL", "morphine 10 mg/mL + clonidine 100 mcg/mL",
             "hydromorphone 2 mg/mL + bupivacaine 15 mg/mL + clonidine 150 mcg/mL",
             "ziconotide 25 mcg/mL", "no prescription"]
    states: list[DueState] = ["overdue", "due_this_week", "due_in_14_days", "fine"]
    start = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)
    rows = []
    for number in range(count):
        due = date(2025, 10, 1) + timedelta(days=number * 60 // count)
        given = generator.choice(["Ana", "Bartholomew"]) + "e" * (number * 12 // count)
        rows.append(DueRow(
            patient_id=number + 1, mrn=f"{10 ** (4 + number * 6 // count) + number}",
            patient=f"{generator.choice(families)}, {given}",
            pump_id=1000 + number, pump_model=generator.choice(["SynchroMed II 40 mL",
                                                               "Prometra II", "IsoMed 35 mL"]),
            pump_type=generator.choice(["programmable_peristaltic", "constant_flow"]),
            drug=generator.choice(drugs), days_left=generator.uniform(-5, 200),
            alarm_at=start + timedelta(days=generator.uniform(-5, 200)), refill_due=due,
            refill_due_reason=generator.choice(["alarm", "stability"]),
            replace_by=generator.choice([None, date(2027, 3, 1), date(2026, 1, 28)]),
            state=generator.choice(states), open_discrepancy=generator.random() < 0.1,
            flex_schedule=False))
    return rows


def _order(view_model: Any) -> list[int]:
    return [view_model.index(r, 0).data(ObjectRole).pump_id for r in range(view_model.rowCount())]


def test_the_model_sorts_as_the_proxy_would(qtbot: QtBot) -> None:
    """The due list sorts in the model (one Python sort, not a call into Python for every
    comparison): the order is Qt's own QSortFilterProxyModel order, ties kept stable from the
    previous order, across successive sorts, new rows and the filters; the selected row stays
    selected."""
    rows = _many_rows(400)
    ours, reference = DueListModel(UTC, 7), DueListModel(UTC, 7)
    ours.set_rows(rows)
    reference.set_rows(rows)
    proxy = DueFilterProxyModel(date(2025, 10, 20))
    proxy.setSourceModel(ours)
    qt_proxy = QSortFilterProxyModel()
    qt_proxy.setSortRole(SortRole)
    qt_proxy.setDynamicSortFilter(True)
    qt_proxy.setSourceModel(reference)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.selectRow(17)
    chosen = view.currentIndex().data(ObjectRole)
    steps = [(Column.REFILL_DUE, Qt.SortOrder.AscendingOrder),
             (Column.STATE, Qt.SortOrder.DescendingOrder),
             (Column.PATIENT, Qt.SortOrder.AscendingOrder),
             (Column.DAYS_LEFT, Qt.SortOrder.DescendingOrder),
             (Column.REASON, Qt.SortOrder.AscendingOrder),
             (Column.REPLACE_BY, Qt.SortOrder.DescendingOrder),
             (Column.PUMP, Qt.SortOrder.DescendingOrder)]
    for column, order in steps:
        proxy.sort(int(column), order)
        qt_proxy.sort(int(column), order)
        assert _order(proxy) == _order(qt_proxy), (column, order)
        assert view.currentIndex().data(ObjectRole) == chosen
    again = _many_rows(300, seed=4)
    ours.set_rows(again)
    reference.set_rows(again)
    assert _order(proxy) == _order(qt_proxy)
    proxy.set_kind(DueFilter.THIS_WEEK)
    assert _order(proxy) == [r for r in _order(qt_proxy)
                             if next(x for x in again if x.pump_id == r).state == "due_this_week"]
    proxy.set_kind(DueFilter.ALL)
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        proxy.sort(-1, order)
        qt_proxy.sort(-1, order)
        assert _order(proxy) == _order(qt_proxy)


def test_the_source_rows_are_the_proxys_own_mapping() -> None:
    """``source_rows`` (each row's source row, read without asking Qt when nothing is filtered
    out) is ``mapToSource`` of every row, sorted, filtered, searched or not."""
    model = DueListModel(UTC, 7)
    model.set_rows(_many_rows(200))
    proxy = DueFilterProxyModel(date(2025, 10, 20))
    proxy.setSourceModel(model)
    steps = [lambda: proxy.sort(int(Column.PATIENT), Qt.SortOrder.DescendingOrder),
             lambda: proxy.set_kind(DueFilter.OVERDUE), lambda: proxy.set_search("li"),
             lambda: proxy.set_kind(DueFilter.ALL), lambda: proxy.set_search(""),
             lambda: model.set_rows(_many_rows(150, seed=5))]
    for step in steps:
        step()
        mapped = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]
        assert proxy.source_rows() == mapped
    assert mapped == list(range(150))


def test_each_rows_texts_are_made_in_one_pass_as_each_column_writes_them() -> None:
    model = DueListModel(UTC, 7)
    rows = _many_rows(300)
    model.set_rows(rows)
    for number, row in enumerate(rows):
        assert model.texts(number) == tuple(model._text(row, c) for c in Column)


def test_a_large_due_list_is_sized_as_qt_sizes_it(window: MainWindow, qtbot: QtBot) -> None:
    """The dashboard sizes the columns and rows of a list of thousands of rows without asking
    for every cell; the sizes are the ones Qt's own resizeColumnsToContents and
    resizeRowsToContents give, at any scroll position, header precision and window width."""
    dashboard, table = window.dashboard, window.dashboard.table
    dashboard.model.set_rows(_many_rows(320), 7)
    header, rows = table.horizontalHeader(), table.verticalHeader()
    header.setResizeContentsPrecision(120)  # fewer than the rows, as 1000 of a large clinic

    def check(label: str) -> list[int]:
        ours = [table.sizeHintForColumn(c) for c in range(len(Column))]
        assert ours == [QTableView.sizeHintForColumn(table, c) for c in range(len(Column))], label
        table.resizeColumnsToContents()
        dashboard._fit_columns()
        dashboard._fit_rows()
        fitted = [rows.sectionSize(r) for r in range(dashboard.proxy.rowCount())]
        # every tall row, and every fifth row, measured by Qt (each row is sized on its own)
        for row in sorted({r for r, h in enumerate(fitted) if h != min(fitted)}
                          | set(range(0, len(fitted), 5))):
            table.resizeRowToContents(row)
            assert rows.sectionSize(row) == fitted[row], (label, row)
        return fitted

    qtbot.wait(1)  # the view lays the rows out
    assert len(set(check("top"))) > 1  # some rows wrap, others do not
    table.verticalScrollBar().setValue(table.verticalScrollBar().maximum() // 2)
    qtbot.wait(1)
    assert table.verticalHeader().visualIndexAt(0) > 100
    check("scrolled")
    for precision in (-1, 0):
        header.setResizeContentsPrecision(precision)
        check(f"precision {precision}")
    header.setResizeContentsPrecision(120)
    window.resize(900, 700)
    qtbot.wait(10)
    check("narrow")
    dashboard.set_filter(DueFilter.REVIEW)
    check("filtered")
    window.hide()
    dashboard.set_filter(DueFilter.ALL)
    check("hidden")


def test_rows_out_of_sight_are_fitted_right_after_the_first_paint(
        window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh fits the rows shown before the table is painted, at the top or around the
    current row far down, and every other row right after that paint: the heights then are
    Qt's own, and the rows shown do not move."""
    dashboard, table = window.dashboard, window.dashboard.table
    header = table.verticalHeader()
    rows = _many_rows(400)
    monkeypatch.setattr(dashboard.clinic, "due_list", lambda: rows)
    monkeypatch.setattr(notices, "notices", lambda *args: [])  # they would fill the screen

    def heights() -> list[int]:
        return [header.sectionSize(r) for r in range(dashboard.proxy.rowCount())]

    dashboard.refresh()
    qtbot.waitUntil(lambda: not dashboard.rows_pending)
    fitted = heights()
    assert len(fitted) == 400 and len(set(fitted)) > 1  # some rows wrap, others do not
    for row in range(len(fitted)):
        table.resizeRowToContents(row)
    assert heights() == fitted

    class Watch(QObject):
        """The rows shown and every row's height at the table's first paint."""

        painted: list[tuple[range, list[int]]]

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.painted:
                last = table.rowAt(table.viewport().height() - 1)
                shown = range(table.rowAt(0), last + 1 if last >= 0 else len(fitted))
                self.painted.append((shown, heights()))
            return False

    watch = Watch()
    for current in (0, 300):
        table.selectRow(current)
        qtbot.wait(1)
        for row in range(len(fitted)):
            header.resizeSection(row, 500)  # taller than any row is fitted
        watch.painted = []
        table.viewport().installEventFilter(watch)
        dashboard.refresh()
        assert dashboard.rows_pending and 500 in heights()  # not every row fitted yet
        qtbot.waitUntil(lambda: bool(watch.painted))
        table.viewport().removeEventFilter(watch)
        shown, at_paint = watch.painted[0]
        assert len(shown) > 3 and current in shown
        assert [at_paint[r] for r in shown] == [fitted[r] for r in shown]
        qtbot.waitUntil(lambda: not dashboard.rows_pending)
        assert heights() == fitted
        assert table.rowAt(0) == shown.start


def test_rows_are_fitted_again_after_a_filter_or_a_search(
        window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filtering gives the view other rows at Qt's default height: they are fitted again (the
    wrapped admixtures of a narrow window stay readable)."""
    dashboard, table = window.dashboard, window.dashboard.table
    header = table.verticalHeader()
    rows = _many_rows(200)
    monkeypatch.setattr(dashboard.clinic, "due_list", lambda: rows)
    monkeypatch.setattr(notices, "notices", lambda *args: [])

    def heights() -> list[int]:
        return [header.sectionSize(r) for r in range(dashboard.proxy.rowCount())]

    def qt_heights() -> list[int]:
        for row in range(dashboard.proxy.rowCount()):
            table.resizeRowToContents(row)
        return heights()

    dashboard.refresh()
    qtbot.waitUntil(lambda: not dashboard.rows_pending)
    assert len(set(heights())) > 1  # some rows wrap, others do not
    for change in (lambda: dashboard.set_filter(DueFilter.REVIEW),
                   lambda: dashboard.set_filter(DueFilter.ALL),
                   lambda: dashboard.search.setText(rows[7].patient.split(",")[0][:2]),
                   lambda: dashboard.search.setText("")):
        change()
        qtbot.waitUntil(lambda: not dashboard.rows_pending)
        fitted = heights()
        assert fitted == qt_heights()
