"""Two small charts of one pump, painted with QPainter: the reservoir volume over time and the
expected against aspirated residual at each refill.

UI layer: imports PySide6, :mod:`pumpmgr.formatting` and :mod:`pumpmgr.records`. The charts
draw what the records and the service already computed (fills, aspirated and expected
residuals, the service's expected volume now and at the refill-due date); they compute no dose
or volume of their own. Axis labels carry their unit (``mL``) and go through
:func:`pumpmgr.formatting.format_number`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from pumpmgr.formatting import format_datetime, format_number
from pumpmgr.records import RefillRecord
from pumpmgr.residuals import ResidualRow, residual_rows, tooltip_text
from pumpmgr.units import ML, Quantity

INK = QColor("#1d2a31")
MUTED = QColor("#6b7b82")
GRID = QColor("#e3e8eb")
MEASURED = QColor("#1f5f7a")
EXPECTED = QColor("#2f6fb0")
PROJECTION = QColor("#2f8f6f")
ALARM = QColor("#b3261e")
LABEL_GROUND = QColor(255, 255, 255, 215)


def ml(quantity: Quantity) -> float:
    """mL of a volume, for drawing only."""
    return float(quantity.to(ML).m)


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


@dataclass
class _Frame:
    """Maps instants and mL onto the plot rectangle."""

    rect: QRectF
    start: datetime
    end: datetime
    top: float

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        return self.rect.left() + (moment - self.start).total_seconds() / span * self.rect.width()

    def y(self, value: float) -> float:
        return self.rect.bottom() - value / self.top * self.rect.height()


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz)


def _month_starts(start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    local = start.astimezone(tz)
    year, month = local.year, local.month
    result: list[datetime] = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        moment = datetime(year, month, 1, tzinfo=tz)
        if moment > end:
            return result
        result.append(moment)


class _ChartBase(QWidget):
    """Axes, grid and legend shared by both charts."""

    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tz = tz
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(360, 170))
        self.legend_bottom = 0.0  #: where the last paint's legend ended (y)

    def sizeHint(self) -> QSize:
        return QSize(640, 200)

    def _frame(
        self, painter: QPainter, start: datetime, end: datetime, top: float, legend_bottom: float
    ) -> _Frame:
        """The plot under the legend (which may wrap on a narrow window: the plot and its
        labels start below however many lines it took)."""
        metrics = painter.fontMetrics()
        line = metrics.height()
        left = metrics.horizontalAdvance("88.8 mL") + 12
        top_y = legend_bottom + line * 0.6
        rect = QRectF(left, top_y, self.width() - left - 12, self.height() - top_y - line * 1.8)
        step = _nice_step(top)
        top = math.ceil(top / step) * step
        frame = _Frame(rect, start, end, top)
        painter.setPen(QPen(GRID, 1))
        value = 0.0
        while value <= top + 1e-9:
            y = frame.y(value)
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(MUTED)
            label = f"{format_number(value, 2)} mL"
            painter.drawText(
                QRectF(0, y - line / 2, left - 6, line),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            value += step
        months = _month_starts(start, end, self.tz)
        room = metrics.horizontalAdvance("Sep 2025") + 16
        last_x = -1e9
        for moment in months:
            x = frame.x(moment)
            if x - last_x >= room and x + room / 2 <= self.width():
                painter.setPen(QPen(GRID, 1))  # a grid line only where a month is named
                painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
                painter.setPen(MUTED)
                painter.drawText(
                    QRectF(x - room / 2, rect.bottom() + 4, room, line),
                    int(Qt.AlignmentFlag.AlignCenter),
                    f"{moment:%b %Y}",
                )
                last_x = x
        painter.setPen(QPen(_AXIS, 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.drawLine(rect.bottomLeft(), rect.topLeft())
        return frame

    def _legend(self, painter: QPainter, items: Sequence[tuple[str, str, QColor]]) -> float:
        """Draw the legend, wrapped to the width; return where it ends (y)."""
        metrics = painter.fontMetrics()
        line = metrics.height()
        x, y = 8.0, line * 0.3
        for text, mark, colour in items:
            width = 22 + metrics.horizontalAdvance(text) + 18
            if x + width > self.width() and x > 8:
                x, y = 8.0, y + line * 1.1
            centre = QPointF(x + 9, y + line / 2)
            _mark(painter, mark, centre, colour)
            painter.setPen(INK)
            painter.drawText(
                QRectF(x + 22, y, width, line),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                text,
            )
            x += width
        self.legend_bottom = y + line
        return self.legend_bottom

    def _empty(self, painter: QPainter, text: str) -> None:
        painter.setPen(MUTED)
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), text)


_AXIS = QColor("#8a999f")


def _mark(painter: QPainter, mark: str, centre: QPointF, colour: QColor) -> None:
    painter.save()
    if mark in {"line", "dash", "dot-line"}:
        style = Qt.PenStyle.DashLine if mark == "dash" else Qt.PenStyle.SolidLine
        painter.setPen(QPen(colour, 2, style))
        painter.drawLine(QPointF(centre.x() - 9, centre.y()), QPointF(centre.x() + 9, centre.y()))
    elif mark == "circle":
        painter.setPen(QPen(colour, 1.6))
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(centre, 4, 4)
    elif mark == "square":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRect(QRectF(centre.x() - 3.5, centre.y() - 3.5, 7, 7))
    elif mark == "cross":
        painter.setPen(QPen(colour, 2.2))
        painter.drawLine(
            QPointF(centre.x() - 4.5, centre.y() - 4.5), QPointF(centre.x() + 4.5, centre.y() + 4.5)
        )
        painter.drawLine(
            QPointF(centre.x() - 4.5, centre.y() + 4.5), QPointF(centre.x() + 4.5, centre.y() - 4.5)
        )
    painter.restore()


class ReservoirChart(_ChartBase):
    """The reservoir over the last fills: each fill's final volume, the volume aspirated at the
    next refill (a sawtooth), the expected residual at each refill, the alarm line, and the
    service's projection from the last fill to the refill-due date."""

    #: How many fills are drawn; older ones are in the history.
    LAST_FILLS = 8

    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(tz, parent)
        self._refills: list[RefillRecord] = []
        self._capacity: Quantity | None = None
        self._alarm: Quantity | None = None
        self._projection: list[tuple[datetime, Quantity]] = []
        self._due: date | None = None
        self._now: datetime | None = None
        self._alarm_name = "alarm volume"
        #: Where the last paint put the "now" and "refill due" labels.
        self.label_boxes: dict[str, QRectF] = {}
        self.setAccessibleName("Reservoir volume over time")

    def set_data(
        self,
        refills: Sequence[RefillRecord],
        *,
        capacity: Quantity,
        alarm: Quantity,
        projection: Sequence[tuple[datetime, Quantity]] = (),
        due: date | None = None,
        now: datetime | None = None,
        alarm_name: str = "alarm volume",
    ) -> None:
        self._refills = list(refills)[-self.LAST_FILLS :]
        self._alarm_name = alarm_name
        self._capacity, self._alarm = capacity, alarm
        self._projection = list(projection)
        self._due, self._now = due, now
        self.update()

    def clear(self) -> None:
        self._refills, self._capacity, self._alarm = [], None, None
        self._projection, self._due, self._now = [], None, None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._refills or self._capacity is None or self._alarm is None:
            self._empty(painter, "No fill recorded for this pump yet")
            painter.end()
            return
        moments = [r.performed_at for r in self._refills] + [t for t, _ in self._projection]
        if self._due is not None:
            moments.append(_midnight(self._due, self.tz))
        if self._now is not None:
            moments.append(self._now)
        start, end = min(moments), max(moments)
        if end - start < timedelta(days=14):
            end = start + timedelta(days=14)
        pad = (end - start) * 0.03
        start, end = start - pad, end + pad
        top = max([ml(self._capacity)] + [ml(r.final_volume) for r in self._refills]) * 1.02
        legend_bottom = self._legend(
            painter,
            [
                ("reservoir (fill, then aspirated)", "line", MEASURED),
                ("expected residual", "circle", EXPECTED),
                ("projection to refill due", "dash", PROJECTION),
                (self._alarm_name, "dash", ALARM),
            ],
        )
        frame = self._frame(painter, start, end, top, legend_bottom)

        painter.setPen(QPen(ALARM, 1.6, Qt.PenStyle.DashLine))
        alarm_y = frame.y(ml(self._alarm))
        painter.drawLine(QPointF(frame.rect.left(), alarm_y), QPointF(frame.rect.right(), alarm_y))

        path = QPolygonF()
        for index, record in enumerate(self._refills):
            x = frame.x(record.performed_at)
            if index > 0 and record.aspirated is not None:
                path.append(QPointF(x, frame.y(ml(record.aspirated))))
            path.append(QPointF(x, frame.y(ml(record.final_volume))))
        painter.setPen(QPen(MEASURED, 2))
        painter.drawPolyline(path)
        painter.setBrush(MEASURED)
        for record in self._refills:
            painter.drawEllipse(
                QPointF(frame.x(record.performed_at), frame.y(ml(record.final_volume))), 2.5, 2.5
            )

        if len(self._projection) >= 2:
            projected = QPainterPath()
            first = self._projection[0]
            projected.moveTo(frame.x(first[0]), frame.y(ml(first[1])))
            for moment, volume in self._projection[1:]:
                projected.lineTo(frame.x(moment), frame.y(ml(volume)))
            painter.setPen(QPen(PROJECTION, 2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(projected)

        for index, record in enumerate(self._refills):
            if index > 0 and record.expected_residual is not None:
                _mark(
                    painter,
                    "circle",
                    QPointF(frame.x(record.performed_at), frame.y(ml(record.expected_residual))),
                    EXPECTED,
                )

        metrics = painter.fontMetrics()

        def marker(
            moment: datetime, label: str, line: int, pen: QPen, colour: QColor, right: bool
        ) -> None:
            """A vertical line with its label on its own line of text, on the side
            ``right`` asks for unless the plot ends there, over a light ground so no line
            crosses the words."""
            x = frame.x(moment)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, frame.rect.top()), QPointF(x, frame.rect.bottom()))
            width = metrics.horizontalAdvance(label)
            if right and x + width + 6 > frame.rect.right():
                right = False
            elif not right and x - width - 6 < frame.rect.left():
                right = True
            tx = x + 4 if right else x - width - 4
            box = QRectF(
                tx - 2, frame.rect.top() + metrics.height() * line + 1, width + 4, metrics.height()
            )
            self.label_boxes[label] = box
            painter.fillRect(box, LABEL_GROUND)
            painter.setPen(colour)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), label)

        # "now" and "refill due" each on their own line of text, on the sides facing away
        # from each other, so they never overlap however close the two dates are
        self.label_boxes = {}
        due_at = None if self._due is None else _midnight(self._due, self.tz)
        now_first = due_at is None or self._now is None or self._now <= due_at
        if self._now is not None:
            marker(
                self._now, "now", 0, QPen(MUTED, 1, Qt.PenStyle.DotLine), MUTED, right=not now_first
            )
        if due_at is not None:
            marker(
                due_at, "refill due", 1, QPen(INK, 1.2, Qt.PenStyle.DashLine), INK, right=now_first
            )
        painter.end()


class ResidualChart(_ChartBase):
    """Expected against aspirated residual at each refill that has both; a verdict of
    investigate is a red cross, so the shape and not only the colour tells."""

    #: How near (pixels) the pointer must be to a point for its tooltip.
    TOOLTIP_REACH = 10.0

    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(tz, parent)
        self._refills: list[RefillRecord] = []
        self._rows: dict[int, ResidualRow] = {}
        #: Where the last paint put each refill's points, with what its tooltip says.
        self._spots: list[tuple[QPointF, str]] = []
        self.setAccessibleName("Expected against aspirated residual at each refill")

    def set_refills(
        self, refills: Sequence[RefillRecord], rows: Sequence[ResidualRow] | None = None
    ) -> None:
        """Show ``refills``; ``rows``: their :func:`pumpmgr.residuals.residual_rows`, when the
        caller has them already (the patient's table shows the same)."""
        self._refills = [
            r for r in refills if r.expected_residual is not None and r.aspirated is not None
        ]
        found = residual_rows(self._refills) if rows is None else rows
        self._rows = {row.refill_id: row for row in found}
        self._spots = []
        self.update()

    def tooltip_at(self, position: QPointF) -> str:
        """The tooltip of the point nearest ``position`` within reach ('' when none)."""
        near = [
            (math.dist((spot.x(), spot.y()), (position.x(), position.y())), text)
            for spot, text in self._spots
        ]
        near = [n for n in near if n[0] <= self.TOOLTIP_REACH]
        return min(near)[1] if near else ""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def points(self) -> list[RefillRecord]:
        return list(self._refills)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._refills:
            self._empty(painter, "No refill with an expected and an aspirated residual yet")
            painter.end()
            return
        start = self._refills[0].performed_at
        end = self._refills[-1].performed_at
        if end - start < timedelta(days=60):
            end = start + timedelta(days=60)
        pad = (end - start) * 0.06
        top = max(max(ml(r.expected_residual), ml(r.aspirated)) for r in self._refills) * 1.2 or 1.0
        legend_bottom = self._legend(
            painter,
            [
                ("expected residual", "circle", EXPECTED),
                ("aspirated", "square", INK),
                ("aspirated, verdict investigate", "cross", ALARM),
            ],
        )
        frame = self._frame(painter, start - pad, end + pad, top, legend_bottom)
        self._spots = []
        for record in self._refills:
            assert record.expected_residual is not None and record.aspirated is not None
            x = frame.x(record.performed_at)
            expected_y = frame.y(ml(record.expected_residual))
            actual_y = frame.y(ml(record.aspirated))
            row = self._rows.get(record.id)
            if row is not None:
                said = tooltip_text(row, format_datetime(record.performed_at.astimezone(self.tz)))
                self._spots += [(QPointF(x, expected_y), said), (QPointF(x, actual_y), said)]
            investigate = record.discrepancy_verdict == "investigate"
            painter.setPen(QPen(ALARM if investigate else MUTED, 2 if investigate else 1))
            painter.drawLine(QPointF(x, expected_y), QPointF(x, actual_y))
            _mark(painter, "circle", QPointF(x, expected_y), EXPECTED)
            _mark(
                painter,
                "cross" if investigate else "square",
                QPointF(x, actual_y),
                ALARM if investigate else INK,
            )
        painter.end()
