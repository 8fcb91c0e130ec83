"""The due list screen: order, state words, counters, notices, filters, search, sorting,
opening a patient from the keyboard, and the models under Qt's model tester."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QByteArray, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QFontMetrics
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.formatting import format_quantity
from pumpmgr.records import DueRow, DueState
from pumpmgr.services import ClinicService
from pumpmgr.units import Q_, Kind
from pumpmgr.urgency import refill_state, urgency_key
from ui import presentation
from ui.main_window import MainWindow
from ui.models.due_list import (
    DECIDING,
    HEADERS,
    Column,
    DueFilter,
    DueFilterProxyModel,
    DueListModel,
    SortRole,
)
from ui.presentation import STATES

#: By urgency: the alarm passed first, then the soonest alarm or empty date.
URGENCY_ORDER = [
    ("May be empty", "BECKER, Lena"),
    ("Due this week", "SCHULZ, Jonas"),
    ("Due in 14 days", "WAGNER, Mia"),
    ("Fine", "FISCHER, Greta"),
    ("Fine · review", "HOFFMANN, Paul"),
    ("Fine", "KELLER, Sofia"),
]
#: By refill-due date (Keller's stability limit comes before Hoffmann's alarm).
DUE_ORDER = [URGENCY_ORDER[i] for i in (0, 1, 2, 3, 5, 4)]


def shown(window: MainWindow, column: Column) -> list[str]:
    proxy = window.dashboard.proxy
    return [proxy.index(r, int(column)).data() for r in range(proxy.rowCount())]


def test_rows_by_urgency_with_state_words(window: MainWindow) -> None:
    """Most urgent first, each row naming its state in words (colour is never alone)."""
    assert (
        list(zip(shown(window, Column.STATE), shown(window, Column.PATIENT), strict=True))
        == URGENCY_ORDER
    )
    header = window.dashboard.table.horizontalHeader()
    assert header.sortIndicatorSection() == int(Column.STATE)
    assert shown(window, Column.REFILL_DUE)[:3] == [
        "Fri 3 Oct 2025",
        "Thu 23 Oct 2025",
        "Fri 31 Oct 2025",
    ]
    assert shown(window, Column.DAYS_LEFT)[:2] == ["alarm passed", "15 days"]
    assert shown(window, Column.REASON)[3:6:2] == [
        "planning volume date minus the 7-day buffer",
        "drug's in-pump stability limit",
    ]
    assert shown(window, Column.REPLACE_BY)[3] == "no battery"
    assert shown(window, Column.DRUG)[5] == "morphine 10 mg/mL + clonidine 100 mcg/mL"
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
    assert shown(window, Column.DAYS_LEFT) == [
        "alarm passed",
        "15 days",
        "23 days",
        "26 days",
        "80 days",
        "93 days",
    ]
    table.sortByColumn(int(Column.REPLACE_BY), Qt.SortOrder.AscendingOrder)
    assert shown(window, Column.REPLACE_BY)[0] == "Wed 28 Jan 2026"
    assert shown(window, Column.REPLACE_BY)[-1] == "no battery"
    table.sortByColumn(int(Column.STATE), Qt.SortOrder.DescendingOrder)
    assert shown(window, Column.STATE)[-1] == "May be empty"
    table.sortByColumn(int(Column.REFILL_DUE), Qt.SortOrder.AscendingOrder)
    assert [s for s, _ in DUE_ORDER] == shown(window, Column.STATE)
    proxy = window.dashboard.proxy
    assert isinstance(proxy.index(0, int(Column.REFILL_DUE)).data(SortRole), float)
    table.sortByColumn(int(Column.STATE), Qt.SortOrder.AscendingOrder)
    assert [s for s, _ in URGENCY_ORDER] == shown(window, Column.STATE)
    assert isinstance(proxy, QSortFilterProxyModel) and proxy.sortRole() == SortRole


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
    window: MainWindow, clinic: ClinicService, qtbot: QtBot, dialogs: Dialogs
) -> None:
    """A patient without a pump is not on the due list; Enter in the search still finds them."""
    from pumpmgr.services.inputs import PatientInput

    admin = clinic.sign_in("admin", "correct horse battery")
    clinic.register_patient(
        admin, PatientInput("200001", "Neumann", "Ida", date(1990, 1, 1), "other")
    )
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


NOW = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)


def _many_rows(count: int, seed: int = 3) -> list[DueRow]:
    """Made-up due-list rows with many equal dates, states and models (ties for sorting), long
    names and admixtures (elided columns), and a name outside the BMP."""
    generator = random.Random(seed)
    families = [
        "MÜLLER",
        "LI",
        "SCHNEIDER-WESTPHALEN",
        "ÖZTÜRK",
        "NG",
        "𝐀BEL",
        "VON DER HEYDEN-RINGSTORFF",
        "KIM",
    ]
    drugs = [
        "baclofen 2000 mcg/mL",
        "morphine 10 mg/mL + clonidine 100 mcg/mL",
        "hydromorphone 2 mg/mL + bupivacaine 15 mg/mL + clonidine 150 mcg/mL",
        "ziconotide 25 mcg/mL",
        "no prescription",
    ]
    states: list[DueState] = ["overdue", "due_this_week", "due_in_14_days", "fine"]
    start = NOW
    rows = []
    for number in range(count):
        due = date(2025, 10, 1) + timedelta(days=number * 60 // count)
        given = generator.choice(["Ana", "Bartholomew"]) + "e" * (number * 12 // count)
        rows.append(
            DueRow(
                patient_id=number + 1,
                mrn=f"{10 ** (4 + number * 6 // count) + number}",
                patient=f"{generator.choice(families)}, {given}",
                pump_id=1000 + number,
                pump_model=generator.choice(["SynchroMed II 40 mL", "Prometra II", "IsoMed 35 mL"]),
                pump_type=generator.choice(["programmable_peristaltic", "constant_flow"]),
                drug=(drug := generator.choice(drugs)),
                days_left=(days := generator.uniform(-5, 200)),
                alarm_at=start + timedelta(days=days),
                refill_due=due,
                refill_due_reason=generator.choice(["alarm", "stability"]),
                replace_by=generator.choice([None, date(2027, 3, 1), date(2026, 1, 28)]),
                state=generator.choice(states),
                open_discrepancy=generator.random() < 0.1,
                flex_schedule=False,
                empty_at=start + timedelta(days=days + generator.uniform(-8, 30)),
                volume_left_ml=generator.uniform(0, 40),
                drug_keys=tuple(part.split()[0] for part in drug.split(" + ")),
            )
        )
    for row in rows:  # the state before a refill, as the due list reads it with each row
        row.refill_state = refill_state(row, NOW)[1]
    return rows


def test_the_default_order_is_urgency_keys_order(qtbot: QtBot) -> None:
    """The state column sorts by :func:`pumpmgr.urgency.urgency_key` (ranked once), through
    the proxy's sort role; the other columns by their values."""
    rows = _many_rows(400)
    model = DueListModel(UTC, 7)
    model.set_rows(rows)
    proxy = DueFilterProxyModel(date(2025, 10, 20))
    proxy.setSourceModel(model)
    proxy.sort(int(Column.STATE), Qt.SortOrder.AscendingOrder)
    expected = sorted(rows, key=lambda r: urgency_key(r, UTC))
    assert proxy.visible_rows() == expected
    proxy.sort(int(Column.EMPTY_ON), Qt.SortOrder.AscendingOrder)
    empties = [r.empty_at for r in proxy.visible_rows()]
    assert empties == sorted(empties)  # type: ignore[type-var]
    proxy.sort(int(Column.VOLUME_LEFT), Qt.SortOrder.DescendingOrder)
    lefts = [r.volume_left_ml for r in proxy.visible_rows()]
    assert lefts == sorted(lefts, reverse=True)  # type: ignore[type-var]


def test_empty_on_and_the_volume_left_beside_the_time_left(window: MainWindow) -> None:
    dashboard = window.dashboard
    row = dashboard.proxy.row_at(0)
    assert row.volume_left_ml is not None and row.empty_at is not None
    assert shown(window, Column.VOLUME_LEFT)[0] == format_quantity(
        Q_(row.volume_left_ml, "mL"), Kind.VOLUME
    )
    assert shown(window, Column.VOLUME_LEFT)[0].endswith(" mL")
    assert shown(window, Column.EMPTY_ON)[0] == presentation.date_text(
        row.empty_at, window.clinic.tz
    )
    assert HEADERS[Column.DAYS_LEFT] == "Time left" and HEADERS[Column.VOLUME_LEFT] == "Left"
    assert Column.VOLUME_LEFT == Column.DAYS_LEFT + 1  # beside it


def test_rows_are_one_line_and_long_text_is_elided_with_the_whole_text_on_hover(
    window: MainWindow, qtbot: QtBot
) -> None:
    dashboard, table = window.dashboard, window.dashboard.table
    dashboard.model.set_rows(_many_rows(300), 7)
    assert not table.wordWrap()
    assert table.textElideMode() == Qt.TextElideMode.ElideRight
    heights = {table.rowHeight(r) for r in range(dashboard.proxy.rowCount())}
    assert len(heights) == 1 and heights.pop() >= table.fontMetrics().height()
    drug = next(
        r
        for r in range(dashboard.proxy.rowCount())
        if dashboard.proxy.row_at(r).drug.startswith("hydromorphone")
    )
    index = dashboard.proxy.index(drug, int(Column.DRUG))
    window.resize(1024, 768)
    qtbot.wait(10)
    assert table.fontMetrics().horizontalAdvance(index.data()) > table.columnWidth(
        int(Column.DRUG)
    )  # elided
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith(index.data())


def test_the_deciding_columns_are_in_sight_at_1024_by_768(window: MainWindow, qtbot: QtBot) -> None:
    """No horizontal scrolling for who is called first: state to refill due fit the table."""
    window.setMinimumSize(0, 0)
    window.resize(1024, 768)
    window.dashboard.model.set_rows(_many_rows(50), 7)
    qtbot.wait(10)
    table = window.dashboard.table
    header = table.horizontalHeader()
    assert window.width() == 1024
    assert table.horizontalScrollBar().value() == 0
    for column in DECIDING:
        right = header.sectionViewportPosition(int(column)) + header.sectionSize(int(column))
        assert right <= table.viewport().width(), column


def test_a_search_hidden_by_a_filter_says_so_and_offers_to_clear_it(
    window: MainWindow, qtbot: QtBot
) -> None:
    dashboard = window.dashboard
    dashboard.set_filter(DueFilter.OVERDUE)
    qtbot.keyClicks(dashboard.search, "schulz")
    assert shown(window, Column.PATIENT) == []
    assert dashboard.count_label.text() == "0 of 6 shown"
    assert dashboard.hidden_label.isVisible()
    assert dashboard.hidden_label.text() == ("The filter “overdue” hides the row the search finds.")
    qtbot.mouseClick(dashboard.show_all_button, Qt.MouseButton.LeftButton)
    assert dashboard.filter_buttons[DueFilter.ALL].isChecked()
    assert shown(window, Column.PATIENT) == ["SCHULZ, Jonas"]
    assert not dashboard.hidden_label.isVisible() and not dashboard.show_all_button.isVisible()
    dashboard.set_filter(DueFilter.OVERDUE)
    dashboard.search.setText("nobody")
    assert not dashboard.hidden_label.isVisible()  # nobody is hidden: nobody is found


def test_escape_clears_the_search(window: MainWindow, qtbot: QtBot) -> None:
    search = window.dashboard.search
    search.setFocus()
    qtbot.keyClicks(search, "schulz")
    assert len(shown(window, Column.PATIENT)) == 1
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == "" and len(shown(window, Column.PATIENT)) == 6


def test_the_selected_row_keeps_its_state_colour(window: MainWindow, qtbot: QtBot) -> None:
    table, proxy = window.dashboard.table, window.dashboard.proxy
    assert proxy.row_at(0).state == "overdue"
    table.selectRow(0)
    qtbot.wait(10)
    rect = table.visualRect(proxy.index(0, int(Column.MRN)))
    image = table.viewport().grab().toImage()
    dpr = image.devicePixelRatio()
    pixel = image.pixelColor(int((rect.right() - 3) * dpr), int(rect.center().y() * dpr))
    assert pixel.name() == STATES["overdue"].background


def test_window_size_and_columns_are_remembered_per_user(
    clinic: ClinicService, qtbot: QtBot, settings_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The offscreen screen is 800 x 600: Qt fits a restored window into it, so the geometry
    given back is compared, not the size it got.)"""
    restored: list[bytes] = []
    qt_restore = MainWindow.restoreGeometry

    def restore(window: MainWindow, geometry: QByteArray) -> bool:
        restored.append(bytes(geometry.data()))
        return qt_restore(window, geometry)

    monkeypatch.setattr(MainWindow, "restoreGeometry", restore)

    def opened(username: str) -> MainWindow:
        main = MainWindow(clinic, clinic.sign_in(username, PASSWORD))
        qtbot.addWidget(main)
        main.show()
        qtbot.waitExposed(main)
        return main

    first = opened("nina")
    first.resize(1100, 700)
    first.dashboard.table.horizontalHeader().resizeSection(int(Column.PATIENT), 260)
    kept = bytes(first.saveGeometry().data())
    first.close()
    assert list(settings_folder.rglob("*.ini"))  # kept in the tests' folder
    assert restored == []  # nothing kept before
    again = opened("nina")
    assert restored == [kept]
    assert again.dashboard.table.columnWidth(int(Column.PATIENT)) == 260
    header = again.dashboard.table.horizontalHeader()
    assert header.sortIndicatorSection() == int(Column.STATE)  # by urgency again
    again.close()
    other = opened("otto")
    assert len(restored) == 1  # otto has nothing kept: the defaults
    assert other.dashboard.table.columnWidth(int(Column.PATIENT)) != 260
    other.close()


def test_remembered_columns_still_show_their_titles(window: MainWindow) -> None:
    """Widths kept with a smaller font never cut a title: each column keeps at least its
    title's width."""
    dashboard = window.dashboard
    header = dashboard.table.horizontalHeader()
    for column in Column:
        header.resizeSection(int(column), 20)
    kept = dashboard.header_state()
    dashboard.default_widths()
    assert dashboard.restore_header(kept)
    bold = header.font()
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    for column in Column:
        if header.isSectionHidden(int(column)):
            continue  # the pump model, hidden by default: no title to cut
        assert header.sectionSize(int(column)) >= metrics.horizontalAdvance(HEADERS[column])


def test_the_booking_states_read_whole_at_1366_px(window: MainWindow, qtbot: QtBot) -> None:
    """The booked column's words in bold ("DID NOT ATTEND", "booked too late") are never
    cut at the clinic's smallest screen, and every column shown stays in sight with a full
    list (its vertical scroll bar takes width too)."""
    window.resize(1366, 708)  # a 1366 x 768 screen less the title and task bars
    window.dashboard.model.set_rows(_many_rows(50), 7)
    window.dashboard.default_widths()
    qtbot.wait(10)
    assert window.dashboard.table.verticalScrollBar().isVisible()
    table = window.dashboard.table
    header = table.horizontalHeader()
    bold = QFont(table.font())
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    for words in ("DID NOT ATTEND", "booked too late"):  # and the ellipsis of the rest
        assert metrics.horizontalAdvance(words + "…") + 8 <= header.sectionSize(int(Column.BOOKED))
    assert header.length() <= table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0
