"""Correct a refill (History → Correct this refill…): the refill as recorded, the values that
can change, the reason and the second nurse's own account; one
:meth:`~pumpmgr.services.ClinicService.correct_refill` call (domain-rules §8: the correction is a
new record pointing at the refill, which stays in the history with the correction beneath it).

UI layer: imports PySide6, :mod:`pumpmgr.services`, :mod:`pumpmgr.stability` (whether the
solution's dilution is recorded), :mod:`pumpmgr.wording` and the ui widgets. Only the values
the nurse changed are sent. A refusal is shown on the field the service names and in the
dialog's problem line, and keeps everything typed (but the second nurse's password).
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import Code, InputError
from pumpmgr.records import PatientChart, RefillRecord
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.permissions import Action, allowed
from pumpmgr.stability import undiluted_problem
from pumpmgr.units import Kind, Quantity, to_canonical
from pumpmgr.visit_note import RecordRef
from pumpmgr.wording import dilution_text, refill_corrected_text, solution_text
from ui import presentation
from ui.dialogs.events import EventDialog, pump_text
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.second_user import SecondUserBox


def correctable(entry_key: tuple[str, int], chart: PatientChart | None, role: str) -> bool:
    """Whether the history entry ``entry_key`` is a refill ``role`` may correct now: one of
    the chart's refills that no later record corrects (the newest version)."""
    kind, record_id = entry_key
    if kind != "refill" or chart is None or not allowed(role, Action.CORRECT_REFILL):
        return False
    corrected = {r.corrects_id for r in chart.refills}
    return record_id not in corrected and any(r.id == record_id for r in chart.refills)


def _changed(typed: Quantity | None, recorded: Quantity | None) -> Quantity | None:
    """``typed`` when it differs from ``recorded`` (None: the same, or nothing typed)."""
    if typed is None or (
        recorded is not None
        and math.isclose(
            to_canonical(typed, Kind.VOLUME), to_canonical(recorded, Kind.VOLUME), abs_tol=1e-9
        )
    ):
        return None
    return typed


class RefillCorrectionDialog(EventDialog):
    """One refill of the patient's chart, corrected."""

    save_text = "&Save the correction"
    doing = "correcting the refill"

    title = "Correct this refill"

    def __init__(
        self,
        clinic: ClinicService,
        actor: Actor,
        chart: PatientChart,
        refill_id: int,
        parent: QWidget | None = None,
    ) -> None:
        #: The refill corrected, as recorded (read before the base class builds the body).
        self.refill = next(r for r in chart.refills if r.id == refill_id)
        #: The correction saved (None before a save).
        self.corrected: RefillRecord | None = None
        super().__init__(clinic, actor, chart, parent)

    def build(self) -> None:
        refill = self.refill
        when = presentation.datetime_text(refill.performed_at, self.clinic.tz)
        pump = next((p for p in self.chart.pumps if p.id == refill.pump_id), None)
        of_pump = (
            f" of {pump_text(pump)}"
            if pump is not None and (self.chart.pump is None or self.chart.pump.id != pump.id)
            else ""
        )  # the heading names the active pump; a refill of an earlier one names its own
        self.explain(
            f"The refill{of_pump} of {when} stays in the history as recorded, with this "
            "correction beneath it. Change only what was recorded wrong: the verdict and the "
            "forecast are worked out again."
        )
        volumes, solution = self._recorded_fields()
        #: The refill as recorded: its volumes and verdict, then its solution and note.
        self.recorded = FieldList("As recorded: volumes", self.body)
        self.recorded.set_fields(volumes)
        self.recorded_solution = FieldList("As recorded: solution and note", self.body)
        self.recorded_solution.set_fields(solution)
        recorded = QHBoxLayout()
        recorded.addWidget(self.recorded, 2)
        recorded.addWidget(self.recorded_solution, 3)
        self.body_layout.addLayout(recorded)

        self.aspirated = QuantityEdit(Kind.VOLUME, "aspirated", self.body, example="1.5 mL")
        self.aspirated.set_quantity(refill.aspirated)
        self.volume_added = QuantityEdit(Kind.VOLUME, "volume added", self.body, example="20 mL")
        self.volume_added.set_quantity(refill.volume_added)
        self.lot = QLineEdit(refill.lot_number, self.body)
        self.lot.setMaxLength(64)
        self.lot.setAccessibleName("Lot number")
        self.expiry = DateEdit("expiry", self.body, value=refill.expiry, month_is_last_day=True)
        self.note = QPlainTextEdit(refill.discrepancy_note, self.body)
        self.note.setPlaceholderText("what was found, for a discrepancy")
        self.note.setAccessibleName("Discrepancy note")
        self.note.setTabChangesFocus(True)
        self.note.setMaximumHeight(54)
        self.undiluted = QCheckBox("&Undiluted (as supplied)", self.body)
        self.undiluted.setChecked(bool(refill.undiluted))
        self.undiluted.setToolTip(
            "Ticked: the solution went in as the manufacturer supplied it (84 days in the "
            "pump). Diluted, even to a stock strength: 40 days."
        )
        self.reason = self.text_line(
            "for example: aspirated volume read from the wrong syringe", "Reason for the correction"
        )
        #: Each field's message line and the box to focus, by the service's name of the field.
        self.fields: dict[str, tuple[QLabel, QWidget]] = {}
        box = QGroupBox("The correction: the refill as it should have been recorded", self.body)
        form = QFormLayout(box)
        self._row(form, "&Aspirated", self.aspirated, ("aspirated",))
        self._row(form, "&Volume added", self.volume_added, ("fill volume", "volume added"))
        self._row(form, "&Lot number", self.lot, ("lot number",))
        self._row(form, "E&xpiry", self.expiry, ("expiry",))
        self._row(form, "Discrepancy &note", self.note, ("note",))
        #: Whether the solution's dilution is recorded (ziconotide): the box is offered.
        self.dilution_recorded = self._dilution_recorded()
        if self.dilution_recorded:
            self._row(form, "", self.undiluted, ("undiluted",))
        else:
            self.undiluted.hide()
        self._row(form, "&Reason", self.reason, ("reason",))
        self.body_layout.addWidget(box)
        self.second = SecondUserBox(self.body, user_label="Us&er name", password_label="Pass&word")
        second_message = self._message(self.second)
        self.second.form.addRow(second_message)
        for field in ("verification", "password"):
            self.fields[field] = (second_message, self.second.password)
        self.body_layout.addWidget(self.second)
        self.body_layout.addStretch(1)
        self.fit_height()

    def _recorded_fields(self) -> tuple[list[Field], list[Field]]:
        refill, volume = self.refill, presentation.volume_text
        volumes: list[Field] = [
            ("expected", "Expected residual", volume(refill.expected_residual), ""),
            ("aspirated", "Aspirated", volume(refill.aspirated), ""),
            ("verdict", "Verdict", refill.discrepancy_verdict or "none", ""),
            ("added", "Volume added", volume(refill.volume_added), ""),
            ("final", "Reservoir after", volume(refill.final_volume), ""),
        ]
        solution: list[Field] = [
            ("solution", "Solution", solution_text(refill.ingredients, self.clinic.catalogs), ""),
            ("lot", "Lot number", refill.lot_number, ""),
            ("expiry", "Expiry", presentation.date_text(refill.expiry), ""),
            ("note", "Discrepancy note", refill.discrepancy_note or "none", ""),
            ("by", "By", f"{refill.nurse}, checked by {refill.verifier}", ""),
        ]
        if refill.undiluted is not None:
            solution.insert(1, ("dilution", "Dilution", dilution_text(refill.undiluted), ""))
        return volumes, solution

    def _dilution_recorded(self) -> bool:
        """The solution holds ziconotide, whose stability depends on its being undiluted
        (recording it diluted is refused for any other solution)."""
        library = self.clinic.library()
        return undiluted_problem(self.refill.ingredients, library, False) is None

    def _message(self, parent: QWidget) -> QLabel:
        label = QLabel(" ", parent)
        label.setWordWrap(True)
        label.setProperty("role", "error")
        label.hide()
        return label

    def _row(self, form: QFormLayout, text: str, widget: QWidget, fields: tuple[str, ...]) -> None:
        """``widget`` under its label, with a message line beneath for the service's fields."""
        cell = QWidget(self.body)
        layout = QVBoxLayout(cell)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        widget.setParent(cell)
        layout.addWidget(widget)
        message = self._message(cell)
        layout.addWidget(message)
        for field in fields:
            self.fields[field] = (message, widget)
        if text:
            label = QLabel(text, self.body)
            label.setBuddy(widget)
            form.addRow(label, cell)
        else:
            form.addRow(cell)

    # ----------------------------------------------------------------- saving

    def changes(self) -> dict[str, object]:
        """The values the nurse changed, as :meth:`correct_refill` takes them; refused when
        a box cannot be read or nothing changed."""
        refill = self.refill
        changed: dict[str, object] = {}
        for name, edit, recorded in (
            ("aspirated", self.aspirated, refill.aspirated),
            ("volume_added", self.volume_added, refill.volume_added),
        ):
            if edit.error_text():
                raise InputError(edit.error_text(), code=Code.BAD_NUMBER, field=edit.field)
            if edit.quantity() is None and recorded is not None:
                raise InputError(
                    f"{edit.field}: enter the volume with its unit, for example '1.5 mL'",
                    code=Code.NO_VALUE,
                    field=edit.field,
                )
            value = _changed(edit.quantity(), recorded)
            if value is not None:
                changed[name] = value
        lot = self.lot.text().strip()
        if lot != refill.lot_number:
            changed["lot_number"] = lot
        expiry = self.expiry.required_day()
        if expiry != refill.expiry:
            changed["expiry"] = expiry
        note = self.note.toPlainText().strip()
        if note != refill.discrepancy_note:
            changed["discrepancy_note"] = note
        if self.dilution_recorded and self.undiluted.isChecked() != bool(refill.undiluted):
            changed["undiluted"] = self.undiluted.isChecked()
        if not changed:
            raise InputError(
                "correction: every value is as recorded; change the one recorded wrong",
                code=Code.NO_VALUE,
            )
        return changed

    def submit(self) -> str:
        changes = self.changes()
        reason = self.given_reason("the refill is corrected")
        if missing := self.second.missing():
            raise InputError(f"verification: {missing}", code=Code.NO_VALUE, field="verification")
        self.corrected = self.clinic.correct_refill(
            self.actor,
            self.second.verification(),
            self.refill.id,
            reason,
            **changes,  # type: ignore[arg-type]
        )
        return refill_corrected_text(self.refill, self.corrected, self.clinic.tz)

    def save(self) -> bool:
        """As :meth:`EventDialog.save`, and a refusal shown on the field it names too."""
        for message, _ in self.fields.values():
            message.hide()
        saved = super().save()
        error = self.last_error
        if not saved and error is not None and error.field in self.fields:
            message, box = self.fields[error.field]
            message.show()
            if box is self.second.password:
                message.setText(f"Not verified: {error.message}")
                self.second.refused()
            else:
                message.setText(f"Not saved: {error.message}")
                box.setFocus()
        return saved

    def _new_event(self) -> RecordRef | None:
        """The correction just saved, for its visit note."""
        return None if self.corrected is None else RecordRef("refill", self.corrected.id)
