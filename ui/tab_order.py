"""Tab in the order the eye reads a window: its layouts' order.

UI layer: imports PySide6 only. Qt's Tab follows the order widgets were made in, and a dialog
makes its buttons before the fields a subclass or a later change adds (the prescription's
warning reasons, the second nurse's concentration rows): Tab then jumps about.
:func:`follow_layout` chains every widget Tab can stop at in the order the layouts show them: a
box layout's items in order, a form's rows (label, field), a grid's cells row by row, every
page of a tab widget or stack, a scroll area's contents. Hidden widgets keep their place, so a
row shown later is reached where it appears.
"""

from __future__ import annotations

import itertools
from typing import cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QScrollArea,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QWidget,
)

#: Widgets that are one Tab stop (or none, as a table's viewport): their children are not.
_ONE_STOP = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QTabBar, QAbstractScrollArea)


def follow_layout(top: QWidget) -> None:
    """Make Tab go through ``top``'s widgets in its layouts' order."""
    stops = tab_stops(top)
    for before, after in itertools.pairwise(stops):
        QWidget.setTabOrder(before, after)


def tab_stops(top: QWidget) -> list[QWidget]:
    """The widgets of ``top`` Tab can stop at, in layout order (hidden ones included)."""
    found: list[QWidget] = []
    seen: set[int] = set()

    def visit(widget: QWidget | None) -> None:
        if widget is None or id(widget) in seen:
            return
        seen.add(id(widget))
        if (
            widget is not top
            and widget.focusProxy() is None
            and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        ):
            found.append(widget)
        if isinstance(widget, QScrollArea):
            visit(widget.widget())
        elif isinstance(widget, QTabWidget):
            visit(widget.tabBar())
            for page in range(widget.count()):
                visit(widget.widget(page))
        elif isinstance(widget, QStackedWidget):
            for page in range(widget.count()):
                visit(widget.widget(page))
        elif not isinstance(widget, _ONE_STOP):
            layout = widget.layout()
            if layout is not None:
                visit_layout(layout)

    def visit_item(item: QLayoutItem | None) -> None:
        if item is None:
            return
        widget, layout = item.widget(), item.layout()
        if widget is not None:
            visit(widget)
        elif layout is not None:
            visit_layout(layout)

    def visit_layout(layout: QLayout) -> None:
        if isinstance(layout, QFormLayout):
            roles = (
                QFormLayout.ItemRole.LabelRole,
                QFormLayout.ItemRole.FieldRole,
                QFormLayout.ItemRole.SpanningRole,
            )
            for row in range(layout.rowCount()):
                for role in roles:
                    visit_item(layout.itemAt(row, role))
        elif isinstance(layout, QGridLayout):
            cells = sorted((*_cell(layout, i), i) for i in range(layout.count()))
            for _row, _column, index in cells:
                visit_item(layout.itemAt(index))
        else:
            for index in range(layout.count()):
                visit_item(layout.itemAt(index))

    visit(top)
    return found


def _cell(grid: QGridLayout, index: int) -> tuple[int, int]:
    """The row and column of the grid's item ``index``."""
    # PySide6's stubs type getItemPosition as object; it returns (row, column, rows, columns)
    row, column, _rows, _columns = cast("tuple[int, int, int, int]", grid.getItemPosition(index))
    return row, column
