"""The catheter part of the pump-event dialogs and of the priming calculator.

UI layer: imports PySide6, :mod:`pumpmgr.catalogs` (catheter models and their parts),
:mod:`pumpmgr.deadspace` (implanted length, catheter volume, priming volume),
:mod:`pumpmgr.services.inputs` and :mod:`pumpmgr.formatting`. Every length and volume is typed
in a :class:`~ui.widgets.quantity_edit.QuantityEdit`; the arithmetic is the domain's.

For each part of the catheter the nurse records the length trimmed and the implanted length;
when the catalog knows the supplied length (Prometra: 110 cm) the implanted length is filled in
as supplied minus trimmed, until the nurse types over it. The volume per cm comes from the
catalog only when it is sourced; otherwise it is typed from the catheter's IFU (never defaulted
for Medtronic catheters, domain.md §2). Beneath: the catheter volume and the priming volume,
with the warning that a priming bolus is given only under medical supervision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.catalogs import Catalogs, CatheterModel
from pumpmgr.deadspace import CatheterSegment, catheter_volume, implanted_length, priming_volume
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.records import CatheterRecord
from pumpmgr.services.inputs import CatheterInput, SegmentInput
from pumpmgr.units import Kind, Quantity
from ui.widgets.quantity_edit import QuantityEdit

PRIMING_WARNING = (
    "Priming bolus only under medical supervision: drug may reach the patient "
    "before the bolus ends, and outcomes range from withdrawal to overdose. "
    "For intrathecal baclofen, monitor for at least 8 h. Never push drug "
    "through the catheter access port."
)

#: At most this many parts can be added to a clinic-defined catheter.
MAX_PARTS = 4


@dataclass
class SegmentRow:
    """The inputs of one catheter part."""

    name: QLineEdit
    supplied: Quantity | None  #: from the catalog, when it gives the supplied length
    trimmed: QuantityEdit
    implanted: QuantityEdit
    per_length: QuantityEdit
    volume: QLabel
    auto_implanted: bool = True  #: the implanted length follows supplied − trimmed
    problem: str = ""  #: why supplied − trimmed gives no implanted length


class CatheterEditor(QWidget):
    """Model, tip level and parts of one catheter, with its volume and the priming volume."""

    #: Something changed (the volumes shown were updated).
    changed = Signal()

    def __init__(
        self,
        catalogs: Catalogs,
        parent: QWidget | None = None,
        *,
        show_tip: bool = True,
        pump_path_included: bool = True,
    ) -> None:
        super().__init__(parent)
        self.catalogs = catalogs
        self.rows: list[SegmentRow] = []
        #: The pump's fluid path, added to the priming volume for a new pump.
        self.pump_path: Quantity | None = None
        self.pump_path_included = pump_path_included
        self._model: CatheterModel | None = None

        self.model_combo = QComboBox(self)
        self.model_combo.setAccessibleName("Catheter model")
        for key, model in catalogs.catheters.items():
            self.model_combo.addItem(model.name, key)
        self.tip_level = QLineEdit(self)
        self.tip_level.setMaxLength(16)
        self.tip_level.setPlaceholderText("for example T10")
        self.tip_level.setAccessibleName("Catheter tip level")
        self.model_note = QLabel(self)
        self.model_note.setWordWrap(True)
        self.model_note.setProperty("role", "muted")

        form = QFormLayout()
        form.addRow("Catheter mo&del", self.model_combo)
        if show_tip:
            form.addRow("Tip &level", self.tip_level)
        else:
            self.tip_level.hide()
        form.addRow("", self.model_note)

        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(2)
        for column, text in enumerate(
            ("Part", "Trimmed", "Implanted length", "Volume per cm", "Part volume")
        ):
            header = QLabel(text, self)
            header.setProperty("role", "fieldname")
            self.grid.addWidget(header, 0, column)
        self.grid.setColumnStretch(1, 2)
        self.grid.setColumnStretch(2, 2)
        self.grid.setColumnStretch(3, 2)

        self.add_button = QPushButton("Add a &part", self)
        self.add_button.setAutoDefault(False)
        self.add_button.setToolTip("A catheter of two or more parts (spinal and pump segment)")
        self.add_button.clicked.connect(lambda: self._add_row("part", None, None))
        self.remove_button = QPushButton("Remove the last part", self)
        self.remove_button.setAutoDefault(False)
        self.remove_button.clicked.connect(self._remove_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)

        self.volume_label = QLabel(self)
        self.volume_label.setWordWrap(True)
        self.volume_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.priming_label = QLabel(self)
        self.priming_label.setWordWrap(True)
        self.priming_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel(PRIMING_WARNING, self)
        self.warning.setWordWrap(True)
        self.warning.setProperty("role", "notice")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(self.grid)
        layout.addLayout(buttons)
        layout.addWidget(self.volume_label)
        layout.addWidget(self.priming_label)
        layout.addWidget(self.warning)

        self.model_combo.currentIndexChanged.connect(lambda _: self._model_chosen())
        self._model_chosen()

    # ----------------------------------------------------------------- set-up

    def set_model(self, key: str) -> None:
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
            self._model_chosen()

    def model_key(self) -> str:
        return str(self.model_combo.currentData())

    def load(self, catheter: CatheterRecord) -> None:
        """Show a recorded catheter (the starting point of a revision)."""
        self.set_model(catheter.model_key)
        self.tip_level.setText(catheter.tip_level)
        while len(self.rows) < len(catheter.segments):
            self._add_row("part", None, None)
        for row, segment in zip(self.rows, catheter.segments, strict=False):
            row.trimmed.set_quantity(segment.trimmed)
            row.auto_implanted = False
            row.implanted.set_quantity(segment.length)
            row.per_length.set_quantity(segment.volume_per_length)
        self._update()

    def set_pump_path(self, volume: Quantity | None) -> None:
        """The new pump's fluid-path volume (None when not entered), for the priming volume."""
        self.pump_path = volume
        self._update()

    def _model_chosen(self) -> None:
        model = self.catalogs.catheter_model(self.model_key())
        self._model = model
        for row in list(self.rows):
            self._drop(row)
        self.rows = []
        parts = model.segments or ()
        if parts:
            for part in parts:
                self._add_row(
                    part.name,
                    part.supplied_length,
                    part.volume_per_length,
                    sourced=bool(part.sources.get("volume_per_length")),
                )
        else:
            self._add_row("catheter", None, None)
        self.model_note.setText(model.notes or "")
        self.model_note.setVisible(bool(model.notes))
        self._update()

    def _add_row(
        self,
        name: str,
        supplied: Quantity | None,
        per_length: Quantity | None,
        *,
        sourced: bool = False,
    ) -> None:
        if len(self.rows) >= MAX_PARTS:
            return
        position = len(self.rows) + 1
        name_edit = QLineEdit(name, self)
        name_edit.setAccessibleName(f"Name of catheter part {position}")
        name_edit.setReadOnly(bool(self._model and self._model.segments))
        trimmed = QuantityEdit(Kind.LENGTH, "trimmed length", self, example="30 cm")
        implanted = QuantityEdit(Kind.LENGTH, "implanted length", self, example="80 cm")
        per = QuantityEdit(Kind.VOLUME_PER_LENGTH, "volume per cm", self, example="0.0026 mL/cm")
        if supplied is not None:
            trimmed.line_edit.setToolTip(
                f"Length cut off at implant or revision; the catheter is supplied "
                f"{format_quantity(supplied, Kind.LENGTH)} long."
            )
        if per_length is not None and sourced:
            per.set_quantity(per_length)
            per.line_edit.setToolTip("From the catheter's IFU (catalog value, sourced)")
        else:
            per.line_edit.setToolTip(
                "Type it from the catheter's IFU: pumpmgr has no sourced value for this catheter."
            )
        volume = QLabel("—", self)
        volume.setAccessibleName(f"Volume of catheter part {position}")
        row = SegmentRow(name_edit, supplied, trimmed, implanted, per, volume)
        self.rows.append(row)
        grid_row = len(self.rows)
        for column, widget in enumerate((name_edit, trimmed, implanted, per, volume)):
            self.grid.addWidget(widget, grid_row, column, Qt.AlignmentFlag.AlignTop)
        trimmed.quantityChanged.connect(lambda _q, r=row: self._trimmed(r))
        implanted.line_edit.textEdited.connect(lambda _t, r=row: self._typed_implanted(r))
        implanted.quantityChanged.connect(lambda _q: self._update())
        per.quantityChanged.connect(lambda _q: self._update())
        self._update_buttons()

    def _drop(self, row: SegmentRow) -> None:
        for widget in (row.name, row.trimmed, row.implanted, row.per_length, row.volume):
            self.grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()

    def _remove_row(self) -> None:
        if len(self.rows) > 1:
            self._drop(self.rows.pop())
            self._update_buttons()
            self._update()

    def _update_buttons(self) -> None:
        custom = not (self._model and self._model.segments)
        self.add_button.setVisible(custom)
        self.remove_button.setVisible(custom)
        self.add_button.setEnabled(len(self.rows) < MAX_PARTS)
        self.remove_button.setEnabled(len(self.rows) > 1)

    # ----------------------------------------------------------------- reading

    def _typed_implanted(self, row: SegmentRow) -> None:
        row.auto_implanted = False

    def _trimmed(self, row: SegmentRow) -> None:
        trimmed = row.trimmed.quantity()
        row.problem = ""
        if row.auto_implanted and row.supplied is not None and trimmed is not None:
            try:
                row.implanted.set_quantity(implanted_length(row.supplied, trimmed))
            except PumpMgrError as exc:
                row.problem = exc.message
                row.implanted.clear()
        self._update()

    def segment_inputs(self) -> tuple[SegmentInput, ...]:
        """Each part as the service takes it; :class:`InputError` naming what is missing."""
        inputs = []
        for position, row in enumerate(self.rows, start=1):
            part = row.name.text().strip() or f"part {position}"
            if row.problem:
                raise InputError(
                    f"{part}: {row.problem}", code=Code.OUT_OF_RANGE, field="trimmed length"
                )
            values = {}
            for field, edit in (
                ("trimmed length", row.trimmed),
                ("implanted length", row.implanted),
                ("volume per cm", row.per_length),
            ):
                quantity = edit.quantity()
                if quantity is None:
                    message = (
                        f"{part}: {edit.error_text()}"
                        if edit.error_text()
                        else f"{part}, {field}: is required; type it with its unit"
                    )
                    raise InputError(message, code=Code.NO_VALUE, field=field)
                values[field] = quantity
            inputs.append(
                SegmentInput(
                    values["implanted length"], values["trimmed length"], values["volume per cm"]
                )
            )
        return tuple(inputs)

    def catheter_input(self) -> CatheterInput:
        """The catheter as the service takes it; :class:`InputError` naming what is missing."""
        segments = self.segment_inputs()
        tip = self.tip_level.text().strip()
        if not tip:
            raise InputError(
                "catheter tip level: enter the vertebral level of the tip, for example T10",
                code=Code.NO_VALUE,
                field="tip level",
            )
        return CatheterInput(self.model_key(), segments, tip)

    def volume(self) -> Quantity | None:
        """The catheter volume, when every part has a length and a volume per cm."""
        segments: list[CatheterSegment] = []
        try:
            for row in self.rows:
                length, per = row.implanted.quantity(), row.per_length.quantity()
                if length is None or per is None:
                    return None
                segments.append(CatheterSegment(length, per))
            return catheter_volume(segments)
        except PumpMgrError:
            return None

    def priming(self) -> Quantity | None:
        volume = self.volume()
        if volume is None:
            return None
        return priming_volume(volume, self.pump_path if self.pump_path_included else None)

    def _update(self) -> None:
        for row in self.rows:
            length, per = row.implanted.quantity(), row.per_length.quantity()
            text = row.problem or "—"
            if length is not None and per is not None:
                try:
                    text = format_quantity(CatheterSegment(length, per).volume, Kind.VOLUME)
                except PumpMgrError as exc:
                    text = exc.message
            row.volume.setText(text)
        volume = self.volume()
        if volume is None:
            self.volume_label.setText(
                "Catheter volume: enter each part's implanted length and volume per cm."
            )
            self.priming_label.setText("Priming volume: not known yet.")
        else:
            self.volume_label.setText(f"Catheter volume: {format_quantity(volume, Kind.VOLUME)}")
            priming = self.priming()
            assert priming is not None
            if self.pump_path_included and self.pump_path is not None:
                how = (
                    f"catheter plus the pump's fluid path "
                    f"{format_quantity(self.pump_path, Kind.VOLUME)}"
                )
            elif self.pump_path_included:
                how = (
                    "catheter only: the pump's fluid path is not entered (it is not "
                    "published for any model); add it when known"
                )
            else:
                how = "catheter only: the pump already holds drug"
            self.priming_label.setText(
                f"Priming volume: {format_quantity(priming, Kind.VOLUME)} ({how})"
            )
        self.changed.emit()

    def part_volumes(self) -> Sequence[str]:
        """Each part's volume as shown."""
        return [row.volume.text() for row in self.rows]
