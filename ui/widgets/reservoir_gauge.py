"""The reservoir card: a drawn tank (estimated volume now, alarm line) beside the three numbers
a nurse reads, each with its unit: estimated volume now, alarm volume, capacity.

UI layer: imports PySide6 and :mod:`pumpmgr.formatting`. The tank is only a picture of the
quantities it is given (it reads their mL for the geometry); the numbers are labels written by
:mod:`pumpmgr.formatting`, selectable and read by tests.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from pumpmgr.formatting import format_quantity
from pumpmgr.units import Kind, Quantity
from ui.widgets.charts import ml
from ui.widgets.field_list import FieldList

_FRAME = QColor("#5b6d75")
_FLUID = QColor("#6fa8c4")
_LOW = QColor("#c0392b")
_ALARM = QColor("#b3261e")


class ReservoirGauge(QWidget):
    """The tank: filled to the estimated volume, with the alarm volume as a red dashed line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._capacity: Quantity | None = None
        self._alarm: Quantity | None = None
        self._now: Quantity | None = None
        self.setFixedWidth(64)
        self.setMinimumHeight(100)

    def set_values(
        self, capacity: Quantity | None, alarm: Quantity | None, now: Quantity | None
    ) -> None:
        self._capacity, self._alarm, self._now = capacity, alarm, now
        self.update()

    def below_alarm(self) -> bool:
        return (
            self._now is not None and self._alarm is not None and ml(self._now) <= ml(self._alarm)
        )

    def sizeHint(self) -> QSize:
        return QSize(64, 110)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tank = QRectF(10, 4, 44, self.height() - 8)
        painter.setPen(QPen(_FRAME, 1.5))
        painter.setBrush(QColor("#f3f6f7"))
        painter.drawRoundedRect(tank, 6, 6)
        if self._capacity is not None and self._alarm is not None:
            capacity = max(ml(self._capacity), 1e-9)

            def y_of(volume: float) -> float:
                return tank.bottom() - min(max(volume / capacity, 0.0), 1.0) * tank.height()

            if self._now is not None:
                top = y_of(ml(self._now))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(_LOW if self.below_alarm() else _FLUID)
                painter.drawRoundedRect(
                    QRectF(tank.left() + 2, top, tank.width() - 4, max(tank.bottom() - 2 - top, 0)),
                    4,
                    4,
                )
            alarm_y = y_of(ml(self._alarm))
            painter.setPen(QPen(_ALARM, 2, Qt.PenStyle.DashLine))
            painter.drawLine(
                int(tank.left() - 6), int(alarm_y), int(tank.right() + 6), int(alarm_y)
            )
        painter.end()


class ReservoirCard(QGroupBox):
    """The tank and its numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reservoir", parent)
        self.gauge = ReservoirGauge(self)
        self.fields = FieldList("", self)
        self.fields.setFlat(True)
        self.fields.setStyleSheet("QGroupBox { border: none; margin-top: 0; padding: 0; }")
        self.note = QLabel(
            "Estimated from the last fill and the programs since; the volume "
            "aspirated at the refill is what counts.",
            self,
        )
        self.note.setProperty("role", "muted")
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.gauge)
        row.addWidget(self.fields, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.setAccessibleName("Reservoir")

    def set_values(
        self,
        capacity: Quantity,
        alarm: Quantity,
        now: Quantity | None,
        *,
        alarm_name: str = "Alarm volume",
    ) -> None:
        self.gauge.set_values(capacity, alarm, now)
        now_text = "no fill recorded" if now is None else format_quantity(now, Kind.VOLUME)
        emphasis = ""
        if self.gauge.below_alarm():
            now_text += f" (at or below the {alarm_name.lower()})"
            emphasis = "error"
        self.fields.set_fields(
            [
                ("expected now", "Estimated now", now_text, emphasis),
                ("alarm volume", alarm_name, format_quantity(alarm, Kind.VOLUME), ""),
                ("capacity", "Capacity", format_quantity(capacity, Kind.VOLUME), ""),
            ]
        )
        self.note.setVisible(True)

    def clear(self, text: str = "") -> None:
        self.gauge.set_values(None, None, None)
        self.fields.set_fields([("none", "Pump", text, "muted")] if text else [])
        self.note.setVisible(False)

    def text(self, key: str) -> str:
        return self.fields.text(key)
