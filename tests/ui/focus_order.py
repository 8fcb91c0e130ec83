"""The order the eye reads a window in, from its layouts, and the order Tab goes through it.

The eye reads a window as its layouts lay it out: a box layout's items in order, a form's
rows (label, then field), a grid's cells row by row, a tab widget's or stack's current page,
a scroll area's contents. :func:`reading_order` lists the widgets Tab stops at in that order;
:func:`tab_order` follows ``QWidget.nextInFocusChain`` from the first of them, as Tab does.
"""

from __future__ import annotations

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

#: Widgets whose own children Tab never stops at (they are one stop).
_LEAVES = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QTabBar, QAbstractScrollArea)


def _stops(widget: QWidget, top: QWidget) -> bool:
    return (
        widget.isVisibleTo(top)
        and widget.isEnabled()
        and widget.focusProxy() is None
        and bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
    )


def reading_order(top: QWidget) -> list[QWidget]:
    found: list[QWidget] = []

    def visit(widget: QWidget) -> None:
        if not widget.isVisibleTo(top) and widget is not top:
            return
        if widget is not top and _stops(widget, top):
            found.append(widget)
        if isinstance(widget, QScrollArea):
            inner = widget.widget()
            if inner is not None:
                visit(inner)
            return
        if isinstance(widget, _LEAVES):
            return
        if isinstance(widget, QTabWidget):
            visit(widget.tabBar())
            if widget.currentWidget() is not None:
                visit(widget.currentWidget())
            return
        if isinstance(widget, QStackedWidget):
            if widget.currentWidget() is not None:
                visit(widget.currentWidget())
            return
        layout = widget.layout()
        if layout is not None:
            visit_layout(layout)

    def visit_item(item: QLayoutItem | None) -> None:
        if item is None:
            return
        if item.widget() is not None:
            visit(item.widget())
        elif item.layout() is not None:
            visit_layout(item.layout())

    def visit_layout(layout: QLayout) -> None:
        if isinstance(layout, QFormLayout):
            for row in range(layout.rowCount()):
                # a spanning row's item is also answered for the label role: visit it once
                items: list[QLayoutItem] = []
                for role in (
                    QFormLayout.ItemRole.LabelRole,
                    QFormLayout.ItemRole.FieldRole,
                    QFormLayout.ItemRole.SpanningRole,
                ):
                    item = layout.itemAt(row, role)
                    if item is not None and (
                        item.widget() is None
                        or all(item.widget() is not seen.widget() for seen in items)
                    ):
                        items.append(item)
                for item in items:
                    visit_item(item)
        elif isinstance(layout, QGridLayout):
            cells = []
            for index in range(layout.count()):
                row, column, _rows, _columns = layout.getItemPosition(index)
                cells.append((row, column, index))
            for _row, _column, index in sorted(cells):
                visit_item(layout.itemAt(index))
        else:
            for index in range(layout.count()):
                visit_item(layout.itemAt(index))

    visit(top)
    return found


def tab_order(top: QWidget, among: list[QWidget]) -> list[QWidget]:
    """The widgets of ``among`` in the order Tab reaches them from the first of them."""
    wanted = set(map(id, among))
    order: list[QWidget] = []
    widget = among[0]
    for _ in range(5000):
        if id(widget) in wanted and all(w is not widget for w in order):
            order.append(widget)
        widget = widget.nextInFocusChain()
        if widget is among[0]:
            break
    return order


def names(widgets: list[QWidget]) -> list[str]:
    """Something to tell widgets apart by in a failure: accessible name, text or class."""
    shown = []
    for widget in widgets:
        text = widget.accessibleName() or (
            widget.text() if isinstance(widget, QAbstractButton | QLineEdit) else ""
        )
        shown.append(f"{type(widget).__name__}:{text}")
    return shown


def assert_tab_follows_reading(top: QWidget) -> None:
    reading = reading_order(top)
    assert reading, type(top).__name__
    tabbed = names(tab_order(top, reading))
    assert tabbed == names(reading), (type(top).__name__, tabbed, names(reading))
