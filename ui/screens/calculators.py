"""Calculators: forecast, bridge, priming, compounding and unit conversion, for a quick check
without a patient. Nothing here is saved.

UI layer: imports PySide6, the pure pumpmgr calculators (:mod:`pumpmgr.forecast`,
:mod:`pumpmgr.deadspace`, :mod:`pumpmgr.compounding`, :mod:`pumpmgr.schedule`,
:mod:`pumpmgr.units`) and :mod:`pumpmgr.formatting`: the same work as ``pumpmgr calc``, with the
same functions. Every quantity is typed in a :class:`~ui.widgets.quantity_edit.QuantityEdit`;
the results follow as the nurse types. A calculator short of an input says which; a refused
input shows the domain's message in red beside the results, which are then blanked.

Over 600 lines: five small calculators on one base class, shown on one screen.
"""

from __future__ import annotations

from datetime import date, datetime, time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pumpmgr import compounding, deadspace, forecast
from pumpmgr.catalogs import Catalogs
from pumpmgr.errors import PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import (
    MassUnit,
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_quantity,
    typed_mass_unit,
)
from pumpmgr.records import ClinicSettings
from pumpmgr.schedule import PatientBolus, Program, Schedule, parse_step
from pumpmgr.units import DAY, Q_, Kind, Quantity, parse_unit
from pumpmgr.wording import bridge_text
from ui.dialogs.catheter import CatheterEditor
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_role

DAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: The units a quantity of each kind can be converted to, in the clinic's spelling.
CONVERSIONS: dict[Kind, tuple[str, ...]] = {
    Kind.DOSE_RATE: ("mcg/day", "mg/day", "mcg/h", "mg/h"),
    Kind.CONCENTRATION: ("mcg/mL", "mg/mL"),
    Kind.MASS: ("mcg", "mg"),
    Kind.VOLUME: ("mL", "microliter"),
    Kind.FLOW: ("mL/day", "mL/h", "microliter/h", "microliter/day"),
    Kind.LENGTH: ("cm", "mm"),
    Kind.VOLUME_PER_LENGTH: ("mL/cm", "microliter/cm"),
    Kind.DURATION: ("day", "h", "min"),
}
KIND_WORDS: dict[Kind, str] = {
    Kind.DOSE_RATE: "Dose rate",
    Kind.CONCENTRATION: "Concentration",
    Kind.MASS: "Amount of drug",
    Kind.VOLUME: "Volume",
    Kind.FLOW: "Volume rate",
    Kind.LENGTH: "Length",
    Kind.VOLUME_PER_LENGTH: "Volume per length",
    Kind.DURATION: "Duration",
}


class Missing(Exception):
    """An input the calculation needs is still empty."""


def mass_unit(*quantities: Quantity | None) -> MassUnit:
    """Answer in mg only when the nurse wrote every dose and concentration in mg (the rule
    of ``pumpmgr calc``: :func:`pumpmgr.formatting.typed_mass_unit`)."""
    return typed_mass_unit(*quantities)


def days_text(days: float) -> str:
    """A number of days as :func:`pumpmgr.formatting.format_duration` writes it."""
    return format_duration(Q_(days, DAY))


class Calculator(QWidget):
    """Inputs on the left, results on the right; :meth:`compute` returns the result lines."""

    title = ""
    explanation = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.results = FieldList("Result", self)
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        about = QLabel(self.explanation, self)
        about.setWordWrap(True)
        about.setProperty("role", "muted")
        inputs = QWidget(self)
        inputs.setObjectName("page")
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.setContentsMargins(0, 0, 8, 0)
        inputs_layout.addWidget(about)
        inputs_layout.addLayout(self.form)
        self.extra = QVBoxLayout()
        inputs_layout.addLayout(self.extra)
        inputs_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(inputs)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right = QVBoxLayout()
        right.addWidget(self.results)
        right.addWidget(self.message)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll, 5)
        layout.addLayout(right, 4)

    def quantity(
        self, kind: Kind, field: str, example: str, label: str, mass: MassUnit = "mcg"
    ) -> QuantityEdit:
        edit = QuantityEdit(kind, field, self, mass_unit=mass, example=example)
        edit.quantityChanged.connect(lambda _q: self.recalculate())
        edit.validityChanged.connect(lambda _v: self.recalculate())
        self.form.addRow(label, edit)
        return edit

    @staticmethod
    def need(edit: QuantityEdit) -> Quantity:
        quantity = edit.quantity()
        if quantity is None:
            if edit.error_text():
                raise _Refused(edit.error_text())
            raise Missing(edit.field)
        return quantity

    @staticmethod
    def optional(edit: QuantityEdit) -> Quantity | None:
        if edit.error_text():
            raise _Refused(edit.error_text())
        return edit.quantity()

    def compute(self) -> list[Field]:  # pragma: no cover - every calculator overrides it
        raise NotImplementedError

    def recalculate(self) -> None:
        try:
            fields = self.compute()
        except Missing as missing:
            self._show([], f"Enter the {missing.args[0]} to see the result.", "muted")
        except _Refused as refused:
            self._show([], f"Not calculated: {refused.args[0]}", "error")
        except PumpMgrError as exc:
            self._show([], f"Not calculated: {exc.message}", "error")
        else:
            self._show(fields, " ", "muted")

    def _show(self, fields: list[Field], message: str, role: str) -> None:
        self.results.set_fields(fields)
        self.message.setText(message)
        set_role(self.message, role)

    def text(self, key: str) -> str:
        """A result line as shown ('' when there is none)."""
        label = self.results.values.get(key)
        return "" if label is None else label.text()


class _Refused(Exception):
    """An input was typed but refused by the domain's parser (its message is the argument)."""


# ------------------------------------------------------------------ forecast


class ForecastCalculator(Calculator):
    title = "F&orecast"
    explanation = (
        "Days to the low-reservoir alarm and the refill-due date for one fill, as "
        "'pumpmgr calc forecast'. Dates are the pump's local time."
    )

    def __init__(
        self, settings: ClinicSettings, today: date, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.fill_volume = self.quantity(Kind.VOLUME, "fill volume", "20 mL", "Fi&ll volume")
        self.filled_at = DateEdit(
            "filled at", self, with_time=True, value=datetime.combine(today, time())
        )
        self.filled_at.valueChanged.connect(lambda _d: self.recalculate())
        self.form.addRow("Filled &at", self.filled_at)
        self.concentration = self.quantity(
            Kind.CONCENTRATION, "concentration", "2000 mcg/mL", "&Concentration"
        )
        self.simple = QRadioButton("&Simple continuous", self)
        self.flex = QRadioButton("Fle&x steps", self)
        self.simple.setChecked(True)
        kinds = QHBoxLayout()
        kinds.addWidget(self.simple)
        kinds.addWidget(self.flex)
        kinds.addStretch(1)
        self.form.addRow("Schedule", kinds)
        self.dose = self.quantity(Kind.DOSE_RATE, "daily dose", "400 mcg/day", "Daily &dose")
        self.steps = QPlainTextEdit(self)
        self.steps.setPlaceholderText(
            "one step a line, start time and rate:\n00:00 30 mcg/h\n06:00 15 mcg/h"
        )
        self.steps.setTabChangesFocus(True)
        self.steps.setMaximumHeight(110)
        self.steps.setAccessibleName("Flex steps")
        self.steps.textChanged.connect(self.recalculate)
        self.form.addRow("S&teps", self.steps)
        self.simple.toggled.connect(lambda _on: self._schedule_kind())
        self.bolus = self.quantity(
            Kind.MASS, "patient bolus", "50 mcg", "Patie&nt bolus (optional)"
        )
        self.per_day = QSpinBox(self)
        self.per_day.setRange(0, 96)
        self.per_day.setPrefix("at most ")
        self.per_day.setSuffix(" a day")
        self.per_day.setSpecialValueText("no patient boluses")
        self.per_day.valueChanged.connect(lambda _v: self.recalculate())
        self.form.addRow("Bolus&es a day", self.per_day)
        self.alarm_volume = self.quantity(Kind.VOLUME, "alarm volume", "2 mL", "Alarm &volume")
        self.alarm_volume.set_text("2 mL")
        self.accuracy = QDoubleSpinBox(self)
        self.accuracy.setRange(0, 50)
        self.accuracy.setDecimals(1)
        self.accuracy.setSuffix(" %")
        self.accuracy.setToolTip(
            "The pump's labelled accuracy (SynchroMed II: 14.5 %), for the worst case"
        )
        self.accuracy.valueChanged.connect(lambda _v: self.recalculate())
        self.form.addRow("Labelled acc&uracy ±", self.accuracy)
        self.buffer = QSpinBox(self)
        self.buffer.setRange(0, 60)
        self.buffer.setSuffix(" days")
        self.buffer.setValue(settings.buffer_days)
        self.buffer.valueChanged.connect(lambda _v: self.recalculate())
        self.form.addRow("Clinic buffe&r", self.buffer)
        self.stability = QSpinBox(self)
        self.stability.setRange(0, 3650)
        self.stability.setSuffix(" days")
        self.stability.setSpecialValueText("none")
        self.stability.valueChanged.connect(lambda _v: self.recalculate())
        self.form.addRow("Stabilit&y limit", self.stability)
        days = QHBoxLayout()
        self.open_days: list[QCheckBox] = []
        for number, word in enumerate(DAY_WORDS):
            check = QCheckBox(word, self)
            check.setChecked(number in settings.open_days)
            check.toggled.connect(lambda _on: self.recalculate())
            days.addWidget(check)
            self.open_days.append(check)
        days.addStretch(1)
        self.form.addRow("Clinic open", days)
        self._schedule_kind()

    def _schedule_kind(self) -> None:
        simple = self.simple.isChecked()
        self.form.setRowVisible(self.dose, simple)
        self.form.setRowVisible(self.steps, not simple)
        self.recalculate()

    def set_filled_at(self, moment: datetime) -> None:
        self.filled_at.set_value(moment.replace(second=0, microsecond=0))

    def _filled_at(self) -> datetime:
        moment = self.filled_at.moment()
        if moment is None:
            if self.filled_at.error_text():
                raise _Refused(self.filled_at.error_text())
            raise Missing("fill time")
        return moment

    def _schedule(self) -> Schedule:
        if self.simple.isChecked():
            return Schedule.simple(self.need(self.dose))
        lines = [line for line in self.steps.toPlainText().splitlines() if line.strip()]
        if not lines:
            raise Missing("flex steps")
        return Schedule.flex([parse_step(line, "step") for line in lines])

    def compute(self) -> list[Field]:
        fill = self.need(self.fill_volume)
        concentration = self.need(self.concentration)
        schedule = self._schedule()
        bolus_dose = self.optional(self.bolus)
        bolus = None
        if bolus_dose is not None and self.per_day.value() > 0:
            bolus = PatientBolus(bolus_dose, self.per_day.value())
        program = Program(concentration, schedule, bolus)
        open_days = frozenset(i for i, check in enumerate(self.open_days) if check.isChecked())
        result = forecast.forecast(
            fill_volume=fill,
            filled_at=self._filled_at(),
            program=program,
            alarm_volume=self.need(self.alarm_volume),
            accuracy_percent=self.accuracy.value(),
            buffer_days=self.buffer.value(),
            stability_days=float(self.stability.value()) or None,
            open_days=open_days,
        )
        unit = mass_unit(concentration, self.dose.quantity(), bolus_dose)
        fields: list[Field] = [
            (
                "daily dose",
                "Daily dose",
                format_quantity(result.daily_dose, Kind.DOSE_RATE, unit),
                "",
            ),
            ("daily volume", "Daily volume", format_quantity(result.daily_volume, Kind.FLOW), ""),
        ]
        if bolus is not None:
            fields.append(
                (
                    "max daily dose",
                    "Every bolus taken",
                    f"{format_quantity(result.max_daily_dose, Kind.DOSE_RATE, unit)}, "
                    f"{format_quantity(result.max_daily_volume, Kind.FLOW)}",
                    "",
                )
            )
        fields += [
            ("days to alarm", "Days to the alarm", days_text(result.days_to_alarm), ""),
            ("alarm", "Alarm", format_datetime(result.alarm_at), ""),
        ]
        if bolus is not None:
            fields.append(
                (
                    "alarm with boluses",
                    "Alarm, every bolus taken",
                    f"{format_datetime(result.alarm_at_with_boluses)} "
                    f"({days_text(result.days_to_alarm_with_boluses)})",
                    "",
                )
            )
        if result.accuracy_percent:
            fields.append(
                (
                    "alarm worst case",
                    "Alarm at the accuracy limit",
                    f"{format_datetime(result.alarm_at_worst_case)} "
                    f"({days_text(result.days_to_alarm_worst_case)})",
                    "",
                )
            )
        fields += [
            (
                "empty",
                "Empty (information only)",
                f"{format_datetime(result.empty_at)} ({days_text(result.days_to_empty)})",
                "",
            ),
            ("refill due", "Refill due", format_date(result.refill_due), ""),
            (
                "due because",
                "Due because",
                (due_reason_words(result.refill_due_reason, buffer_days=result.buffer_days))
                + ", on a clinic day",
                "",
            ),
        ]
        return fields


# ------------------------------------------------------------------ bridge


class BridgeCalculator(Calculator):
    title = "&Bridge"
    explanation = (
        "The bridge bolus when the concentration changes at a refill: the dead "
        "space still holds the old concentration (domain-rules §5)."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dose = self.quantity(Kind.DOSE_RATE, "daily dose", "300 mcg/day", "Daily &dose")
        self.old = self.quantity(
            Kind.CONCENTRATION, "old concentration", "1000 mcg/mL", "&Old concentration"
        )
        self.new = self.quantity(
            Kind.CONCENTRATION, "new concentration", "2000 mcg/mL", "&New concentration"
        )
        self.dead_space = self.quantity(
            Kind.VOLUME, "dead space", "0.35 mL", "Dead &space (pump path + catheter)"
        )

    def compute(self) -> list[Field]:
        dose = self.need(self.dose)
        old, new = self.need(self.old), self.need(self.new)
        result = deadspace.bridge(
            dose=dose,
            old_concentration=old,
            new_concentration=new,
            dead_space=self.need(self.dead_space),
        )
        unit = mass_unit(dose, old, new)
        return [
            (
                "bridge volume",
                "Bridge volume",
                format_quantity(result.bridge_volume, Kind.VOLUME),
                "",
            ),
            ("bridge rate", "Bridge: run at", format_quantity(result.bridge_rate, Kind.FLOW), ""),
            ("bridge duration", "for", format_quantity(result.bridge_duration, Kind.DURATION), ""),
            ("new rate", "then at", format_quantity(result.new_rate, Kind.FLOW), ""),
            (
                "unbridged dose",
                "Without a bridge the patient gets",
                format_quantity(result.unbridged_dose, Kind.DOSE_RATE, unit),
                "error",
            ),
            (
                "unbridged duration",
                "for",
                format_quantity(result.unbridged_duration, Kind.DURATION),
                "",
            ),
            ("explanation", "In words", bridge_text(result, unit), ""),
        ]


# ------------------------------------------------------------------ priming


class PrimingCalculator(Calculator):
    title = "&Priming"
    explanation = (
        "Catheter volume and priming bolus: the catheter's implanted parts, plus "
        "the pump's fluid path for a new pump (domain-rules §5)."
    )

    def __init__(self, catalogs: Catalogs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pump_path = self.quantity(
            Kind.VOLUME, "pump fluid path", "0.22 mL", "Pump fluid pat&h (new pump, optional)"
        )
        self.catheter = CatheterEditor(catalogs, self, show_tip=False)
        self.catheter.volume_label.hide()  # the results say it
        self.catheter.priming_label.hide()
        self.catheter.changed.connect(self.recalculate)
        self.pump_path.quantityChanged.connect(self.catheter.set_pump_path)
        self.extra.addWidget(self.catheter)

    def compute(self) -> list[Field]:
        path = self.optional(self.pump_path)
        segments = []
        for row in self.catheter.rows:
            if row.problem:
                raise _Refused(row.problem)
            segments.append(
                deadspace.CatheterSegment(self.need(row.implanted), self.need(row.per_length))
            )
        volume = deadspace.catheter_volume(segments)
        fields: list[Field] = [
            (
                f"part {n}",
                f"Part {n} ({row.name.text()})",
                f"{format_quantity(segment.length, Kind.LENGTH)} × "
                f"{format_quantity(segment.volume_per_length, Kind.VOLUME_PER_LENGTH)} = "
                f"{format_quantity(segment.volume, Kind.VOLUME)}",
                "",
            )
            for n, (row, segment) in enumerate(
                zip(self.catheter.rows, segments, strict=True), start=1
            )
        ]
        fields += [
            ("catheter volume", "Catheter volume", format_quantity(volume, Kind.VOLUME), ""),
            (
                "priming volume",
                "Priming volume",
                format_quantity(deadspace.priming_volume(volume, path), Kind.VOLUME),
                "",
            ),
            ("supervision", "Give it", "only under medical supervision", "error"),
        ]
        return fields


# ------------------------------------------------------------------ compounding


class CompoundingCalculator(Calculator):
    title = "Co&mpounding"
    explanation = (
        "A constant-flow pump's solution: the concentration the dose needs at the "
        "pump's fixed flow, and how much stock and diluent make the fill "
        "(domain-rules §5)."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = self.quantity(Kind.FLOW, "nominal flow", "1 mL/day", "Nominal flo&w")
        self.dose = self.quantity(Kind.DOSE_RATE, "daily dose", "4 mg/day", "Daily &dose")
        self.stock = self.quantity(
            Kind.CONCENTRATION, "stock concentration", "25 mg/mL", "&Stock concentration"
        )
        self.fill = self.quantity(Kind.VOLUME, "fill volume", "20 mL", "F&ill volume")
        self.extra_volume = self.quantity(
            Kind.VOLUME, "extra volume", "2 mL", "E&xtra volume (optional)"
        )

    def compute(self) -> list[Field]:
        dose, stock = self.need(self.dose), self.need(self.stock)
        unit = mass_unit(dose, stock)
        result = compounding.compound(
            flow=self.need(self.flow),
            dose=dose,
            stock=stock,
            fill_volume=self.need(self.fill),
            extra_volume=self.optional(self.extra_volume),
            mass_unit=unit,
        )
        return [
            (
                "concentration",
                "Concentration needed",
                format_quantity(result.concentration, Kind.CONCENTRATION, unit),
                "",
            ),
            ("stock volume", "Stock", format_quantity(result.stock_volume, Kind.VOLUME), ""),
            ("diluent volume", "Diluent", format_quantity(result.diluent_volume, Kind.VOLUME), ""),
            ("total volume", "Total", format_quantity(result.total_volume, Kind.VOLUME), ""),
            ("diluent", "Diluent is", result.diluent, ""),
        ]


# ------------------------------------------------------------------ conversion


def converted_text(quantity: Quantity, unit_text: str, kind: Kind) -> str:
    """``quantity`` in ``unit_text`` (one of :data:`CONVERSIONS`): at most 6 decimals below 1,
    at most 4 from 1 on, rounded half up by :func:`pumpmgr.formatting.format_number`."""
    value = float(quantity.to(parse_unit(unit_text, kind, "unit")).m)
    decimals = 6 if abs(value) < 1 else 4
    return f"{format_number(value, decimals, grouped=True)} {unit_text}"


class ConversionCalculator(Calculator):
    title = "&Units"
    explanation = (
        "A quantity in another unit of the same kind: mg and mcg, per day and per "
        "hour, mL and microliters."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox(self)
        for kind, word in KIND_WORDS.items():
            self.kind_combo.addItem(word, kind)
        self.form.addRow("&Kind", self.kind_combo)
        self.value = QuantityEdit(Kind.DOSE_RATE, "quantity", self)
        self.value.quantityChanged.connect(lambda _q: self.recalculate())
        self.form.addRow("&Quantity", self.value)
        self.target = QComboBox(self)
        self.target.setAccessibleName("Convert to")
        self.form.addRow("Convert &to", self.target)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.target.currentIndexChanged.connect(lambda _i: self.recalculate())
        self._kind_changed()

    def kind(self) -> Kind:
        kind: Kind = self.kind_combo.currentData()
        return kind

    def set_kind(self, kind: Kind) -> None:
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))

    def _kind_changed(self) -> None:
        kind = self.kind()
        text = self.value.text()
        replacement = QuantityEdit(kind, "quantity", self)
        self.form.replaceWidget(self.value, replacement)
        self.value.hide()
        self.value.deleteLater()
        self.value = replacement
        self.value.quantityChanged.connect(lambda _q: self.recalculate())
        self.value.set_text(text)
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(CONVERSIONS[kind])
        self.target.blockSignals(False)
        self.recalculate()

    def compute(self) -> list[Field]:
        quantity = self.need(self.value)
        kind = self.kind()
        unit = self.target.currentText()
        return [
            ("value", "Converted", converted_text(quantity, unit, kind), ""),
            (
                "as pumpmgr writes it",
                "pumpmgr writes it",
                format_quantity(quantity, kind, mass_unit(quantity)),
                "",
            ),
        ]


# ------------------------------------------------------------------ the screen


class CalculatorsScreen(QWidget):
    """The five calculators in tabs."""

    def __init__(
        self,
        catalogs: Catalogs,
        settings: ClinicSettings,
        today: date,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        title = QLabel("Calculators", self)
        title.setProperty("role", "title")
        subtitle = QLabel(
            "A quick check without a patient: nothing is saved. The same "
            "calculations as 'pumpmgr calc'; the pump's own programmer stays the "
            "device of record.",
            self,
        )
        subtitle.setProperty("role", "subtitle")
        subtitle.setWordWrap(True)
        self.forecast = ForecastCalculator(settings, today, self)
        self.bridge = BridgeCalculator(self)
        self.priming = PrimingCalculator(catalogs, self)
        self.compounding = CompoundingCalculator(self)
        self.conversion = ConversionCalculator(self)
        self.tabs = QTabWidget(self)
        for calculator in (
            self.forecast,
            self.bridge,
            self.priming,
            self.compounding,
            self.conversion,
        ):
            self.tabs.addTab(calculator, calculator.title)
            calculator.recalculate()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.tabs, 1)
