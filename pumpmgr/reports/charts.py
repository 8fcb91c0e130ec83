"""Small charts for the sheets: the reservoir sawtooth and expected against aspirated residuals.

Reports layer: imports reportlab.graphics and the pure pumpmgr modules (records, formatting).
The charts are drawn with plain shapes on a tiny axis helper rather than reportlab's chart
widgets, so that tick labels are placed (and thinned) where no two can overlap. Volumes on
the axes are written through :func:`pumpmgr.formatting.format_number`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

from pumpmgr.formatting import format_number
from pumpmgr.records import RefillRecord
from pumpmgr.units import ML, Quantity

from .styles import BOLD, FONT, INK, MUTED, WARN

LABEL_SIZE = 7.5
_GRID = colors.Color(0.85, 0.85, 0.85)
_MEASURED = INK
_EXPECTED = colors.Color(0.15, 0.35, 0.7)


def _ml(quantity: Quantity) -> float:
    return float(quantity.to(ML).m)


def _instant(value: date | datetime) -> datetime:
    """Dates are placed at the start of their day; datetimes keep their time (naive)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time())


def _month_label(moment: datetime) -> str:
    # An axis label, not a clinical value: the month alone is enough to place the fills.
    return f"{moment:%b %Y}"


def _week_label(moment: datetime) -> str:
    return f"{moment.day} {moment:%b}"


@dataclass
class _Axes:
    """Maps days and mL onto a plot area inside a drawing, and draws the frame and ticks."""

    drawing: Drawing
    left: float
    bottom: float
    width: float
    height: float
    start: datetime
    end: datetime
    top_value: float

    def x(self, moment: date | datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        return self.left + self.width * (_instant(moment) - self.start).total_seconds() / span

    def y(self, value: float) -> float:
        return self.bottom + self.height * max(0.0, value) / self.top_value

    def frame(self, unit: str) -> None:
        d = self.drawing
        step = _nice_step(self.top_value)
        value = 0.0
        while value <= self.top_value + 1e-9:
            y = self.y(value)
            d.add(Line(self.left, y, self.left + self.width, y, strokeColor=_GRID, strokeWidth=0.5))
            d.add(
                String(
                    self.left - 2,
                    y - LABEL_SIZE / 3,
                    format_number(value, 1),
                    fontName=FONT,
                    fontSize=LABEL_SIZE,
                    textAnchor="end",
                    fillColor=MUTED,
                )
            )
            value += step
        d.add(
            String(
                self.left - 2,
                self.bottom + self.height + 4,
                unit,
                fontName=FONT,
                fontSize=LABEL_SIZE,
                textAnchor="end",
                fillColor=MUTED,
            )
        )
        d.add(
            Line(
                self.left,
                self.bottom,
                self.left + self.width,
                self.bottom,
                strokeColor=INK,
                strokeWidth=0.8,
            )
        )
        d.add(
            Line(
                self.left,
                self.bottom,
                self.left,
                self.bottom + self.height,
                strokeColor=INK,
                strokeWidth=0.8,
            )
        )
        self._date_ticks()

    def _date_ticks(self) -> None:
        """Mondays on a span of up to four months, first days of months on a longer one."""
        ticks = []
        if (self.end - self.start).days <= 120:
            cursor = datetime.combine(self.start.date(), time())
            cursor += timedelta(days=(7 - cursor.weekday()) % 7)
            while cursor <= self.end:
                ticks.append(cursor)
                cursor += timedelta(days=7)
            label_of, step_days = _week_label, 7.0
        else:
            cursor = datetime(self.start.year, self.start.month, 1)
            while cursor <= self.end:
                if cursor >= self.start:
                    ticks.append(cursor)
                cursor = datetime(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            label_of, step_days = _month_label, 30.44
        if not ticks:
            return
        # label every n-th tick, n the smallest stride at which no two labels touch
        widest = max(stringWidth(label_of(t), FONT, LABEL_SIZE) for t in ticks)
        tick_width = self.width * step_days / max(1.0, (self.end - self.start).days)
        stride = max(1, math.ceil((widest + 6) / tick_width))
        for index, tick in enumerate(ticks):
            x = self.x(tick)
            labelled = index % stride == 0
            self.drawing.add(
                Line(
                    x,
                    self.bottom,
                    x,
                    self.bottom - (3 if labelled else 1.5),
                    strokeColor=INK,
                    strokeWidth=0.6,
                )
            )
            label = label_of(tick)
            half = stringWidth(label, FONT, LABEL_SIZE) / 2
            if labelled and x - half >= 0 and x + half <= self.drawing.width:
                self.drawing.add(
                    String(
                        x,
                        self.bottom - 3 - LABEL_SIZE,
                        label,
                        fontName=FONT,
                        fontSize=LABEL_SIZE,
                        textAnchor="middle",
                        fillColor=MUTED,
                    )
                )


def _nice_step(top: float) -> float:
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _legend(
    drawing: Drawing, items: Sequence[tuple[str, str, colors.Color]], y: float, left: float
) -> None:
    """A row of legend entries: kind is "line", "dash", "dot" (hollow) or "cross"."""
    x = left
    for label, kind, colour in items:
        if kind in ("line", "dash"):
            drawing.add(
                Line(
                    x,
                    y + 2.5,
                    x + 14,
                    y + 2.5,
                    strokeColor=colour,
                    strokeWidth=1.4,
                    strokeDashArray=[3, 2] if kind == "dash" else None,
                )
            )
            x += 17
        elif kind == "dot":
            drawing.add(
                Circle(
                    x + 3, y + 2.5, 2.4, strokeColor=colour, fillColor=colors.white, strokeWidth=1
                )
            )
            x += 9
        else:
            _cross(drawing, x + 3, y + 2.5, colour)
            x += 9
        drawing.add(String(x, y, label, fontName=FONT, fontSize=LABEL_SIZE, fillColor=INK))
        x += stringWidth(label, FONT, LABEL_SIZE) + 10


def _cross(drawing: Drawing, x: float, y: float, colour: colors.Color, r: float = 2.6) -> None:
    drawing.add(Line(x - r, y - r, x + r, y + r, strokeColor=colour, strokeWidth=1.3))
    drawing.add(Line(x - r, y + r, x + r, y - r, strokeColor=colour, strokeWidth=1.3))


def _square(drawing: Drawing, x: float, y: float, colour: colors.Color, r: float = 2.2) -> None:
    drawing.add(Rect(x - r, y - r, 2 * r, 2 * r, fillColor=colour, strokeColor=colour))


def reservoir_chart(
    refills: Sequence[RefillRecord],
    *,
    capacity: Quantity,
    alarm_volume: Quantity,
    projection: Sequence[tuple[datetime, Quantity]] = (),
    due: date | None = None,
    width: float,
    height: float = 52 * mm,
    last: int = 6,
    alarm_label: str = "low-reservoir alarm volume",
) -> Drawing:
    """The reservoir volume over the last ``last`` fills of one pump: a sawtooth of each fill
    (aspirated, then the final volume), the expected residual at each refill, the alarm line,
    and the ``projection`` (a dashed line through the given points) with the refill-due date."""
    shown = list(refills)[-last:]
    drawing = Drawing(width, height)
    moments = [_instant(r.performed_at) for r in shown] + [_instant(t) for t, _ in projection]
    if due is not None:
        moments.append(_instant(due))
    if not moments:
        return drawing
    start, end = min(moments), max(moments)
    if end - start < timedelta(days=14):
        end = start + timedelta(days=14)
    start -= (end - start) * 0.02
    end += (end - start) * 0.02
    top = max([_ml(capacity)] + [_ml(r.final_volume) for r in shown]) * 1.05
    axes = _Axes(drawing, 12 * mm, 7 * mm, width - 14 * mm, height - 16 * mm, start, end, top)
    axes.frame("mL")

    alarm = _ml(alarm_volume)
    drawing.add(
        Line(
            axes.left,
            axes.y(alarm),
            axes.left + axes.width,
            axes.y(alarm),
            strokeColor=WARN,
            strokeWidth=1.2,
            strokeDashArray=[1, 2],
        )
    )

    points: list[float] = []
    for index, record in enumerate(shown):
        if index > 0:
            back = record.aspirated if record.aspirated is not None else record.expected_residual
            if back is not None:
                points += [axes.x(record.performed_at), axes.y(_ml(back))]
        points += [axes.x(record.performed_at), axes.y(_ml(record.final_volume))]
        if index > 0 and record.expected_residual is not None:
            drawing.add(
                Circle(
                    axes.x(record.performed_at),
                    axes.y(_ml(record.expected_residual)),
                    2.4,
                    strokeColor=_EXPECTED,
                    fillColor=colors.white,
                    strokeWidth=1,
                )
            )
    if len(points) >= 4:
        drawing.add(PolyLine(points, strokeColor=_MEASURED, strokeWidth=1.4))
    if len(projection) >= 2:
        projected = [c for t, q in projection for c in (axes.x(t), axes.y(_ml(q)))]
        drawing.add(
            PolyLine(projected, strokeColor=_EXPECTED, strokeWidth=1.4, strokeDashArray=[4, 2])
        )
    if due is not None:
        x = axes.x(due)
        drawing.add(
            Line(
                x,
                axes.bottom,
                x,
                axes.bottom + axes.height,
                strokeColor=INK,
                strokeWidth=1,
                strokeDashArray=[2, 2],
            )
        )
        label = "refill due"
        anchor = "end" if x + stringWidth(label, BOLD, LABEL_SIZE) > width else "start"
        drawing.add(
            String(
                x + (-2 if anchor == "end" else 2),
                axes.bottom + axes.height - 8,
                label,
                fontName=BOLD,
                fontSize=LABEL_SIZE,
                textAnchor=anchor,
            )
        )
    _legend(
        drawing,
        [
            ("reservoir (filled, then aspirated)", "line", _MEASURED),
            ("projection", "dash", _EXPECTED),
            ("expected residual", "dot", _EXPECTED),
            (alarm_label, "dash", WARN),
        ],
        height - LABEL_SIZE - 1,
        axes.left,
    )
    return drawing


def residual_chart(
    refills: Sequence[RefillRecord],
    *,
    width: float,
    height: float = 55 * mm,
) -> Drawing | None:
    """Expected against aspirated residual at each refill that has both; investigate verdicts
    crossed in red. None when no refill has both values yet."""
    pairs = [r for r in refills if r.expected_residual is not None and r.aspirated is not None]
    if not pairs:
        return None
    drawing = Drawing(width, height)
    start, end = _instant(pairs[0].performed_at), _instant(pairs[-1].performed_at)
    if end - start < timedelta(days=30):
        end = start + timedelta(days=30)
    margin = (end - start) * 0.04
    top = max(max(_ml(r.expected_residual), _ml(r.aspirated)) for r in pairs) * 1.15 or 1.0
    axes = _Axes(
        drawing,
        12 * mm,
        7 * mm,
        width - 14 * mm,
        height - 16 * mm,
        start - margin,
        end + margin,
        top,
    )
    axes.frame("mL")
    for record in pairs:
        assert record.expected_residual is not None and record.aspirated is not None
        x = axes.x(record.performed_at)
        expected, actual = axes.y(_ml(record.expected_residual)), axes.y(_ml(record.aspirated))
        investigate = record.discrepancy_verdict == "investigate"
        colour = WARN if investigate else MUTED
        drawing.add(
            Line(
                x, expected, x, actual, strokeColor=colour, strokeWidth=1.6 if investigate else 0.8
            )
        )
        drawing.add(
            Circle(x, expected, 2.6, strokeColor=_EXPECTED, fillColor=colors.white, strokeWidth=1.1)
        )
        if investigate:
            _cross(drawing, x, actual, WARN, r=3.2)
        else:
            _square(drawing, x, actual, INK)
    legend_y = height - LABEL_SIZE - 1
    _legend(drawing, [("expected residual", "dot", _EXPECTED)], legend_y, axes.left)
    offset = axes.left + 9 + stringWidth("expected residual", FONT, LABEL_SIZE) + 10
    _square(drawing, offset + 3, legend_y + 2.5, INK)
    drawing.add(String(offset + 9, legend_y, "aspirated", fontName=FONT, fontSize=LABEL_SIZE))
    offset += 9 + stringWidth("aspirated", FONT, LABEL_SIZE) + 10
    _legend(drawing, [("aspirated, verdict investigate", "cross", WARN)], legend_y, offset)
    return drawing
