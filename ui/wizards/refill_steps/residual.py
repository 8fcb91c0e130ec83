"""Step 3 of the refill wizard: the expected residual, the volume aspirated and the
discrepancy verdict at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QWidget

from pumpmgr.formatting import format_datetime, format_duration, format_percent, format_quantity
from pumpmgr.refill import Discrepancy
from pumpmgr.units import DAY, Q_, Kind, Quantity
from pumpmgr.wording import BRIDGE_OR_PRIMING_DRAWN, PATIENT_BOLUSES_DRAWN
from ui import presentation
from ui.widgets.field_list import FieldList
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_role
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import lines_high, wrapped_label

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


class ResidualStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Residual",
            "Aspirate the reservoir completely and enter the volume "
            "drawn back. pumpmgr compares it at once with the residual it "
            "expects.",
        )
        self.wizard = wizard
        self.expected_fields = FieldList("Expected residual now", self)
        self.aspirated = QuantityEdit(Kind.VOLUME, "aspirated volume", self, example="3.4 mL")
        self.verdict = wrapped_label(" ", self)
        self.verdict.setAccessibleName("Residual verdict")
        font = self.verdict.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.verdict.setFont(font)
        self.details = wrapped_label(" ", self)
        self.meaning = wrapped_label(" ", self, "muted")
        self.note_label = QLabel(
            "&What was found (pocket, pump interrogation, what was done)", self
        )
        self.note_label.setProperty("role", "fieldname")
        self.note = QPlainTextEdit(self)
        self.note.setTabChangesFocus(True)
        self.note.setAccessibleName("Discrepancy note")
        self.note.setPlaceholderText(
            "for example: pocket checked, no swelling; pump "
            "interrogated, no alarms; recheck at the next refill"
        )
        self.note.setFixedHeight(lines_high(self.note, 5))
        self.note_label.setBuddy(self.note)
        self.notes = wrapped_label(" ", self, "muted")
        entry = QFormLayout()
        entry_label = QLabel("&Aspirated volume", self)
        entry_label.setBuddy(self.aspirated.line_edit)
        entry.addRow(entry_label, self.aspirated)
        self.body.addWidget(self.expected_fields)
        self.body.addLayout(entry)
        self.body.addWidget(self.verdict)
        self.body.addWidget(self.details)
        self.body.addWidget(self.meaning)
        self.body.addWidget(self.note_label)
        self.body.addWidget(self.note)
        self.body.addWidget(self.notes)
        self.body.addStretch(1)
        self.aspirated.line_edit.textChanged.connect(self.changed)
        self.note.textChanged.connect(self.changed)

    def enter(self) -> None:
        plan = self.wizard.base_plan
        if plan is None:
            return
        threshold = format_quantity(plan.threshold, Kind.VOLUME)
        accuracy = (
            "not known"
            if plan.accuracy_percent is None
            else "±" + format_percent(plan.accuracy_percent / 100, signed=False)
        )
        if plan.residual is None or plan.last_refill is None:
            self.expected_fields.set_fields(
                [
                    (
                        "expected",
                        "Expected residual",
                        "none: first fill of this pump; enter the "
                        "volume aspirated (0 mL for a new, empty pump)",
                        "",
                    )
                ]
            )
        else:
            residual, last, taken = plan.residual, plan.last_refill, plan.patient_boluses
            assert plan.bridge_or_priming is not None  # planned with the last fill
            drawn = (
                []
                if taken is None
                else [("patient boluses", PATIENT_BOLUSES_DRAWN, taken.text(), "")]
            )
            self.expected_fields.set_fields(
                [
                    (
                        "last fill",
                        "Last fill",
                        f"{format_datetime(last.performed_at)}, "
                        f"{format_quantity(last.final_volume, Kind.VOLUME)}",
                        "",
                    ),
                    ("elapsed", "Since then", format_duration(_days(residual.elapsed_days)), ""),
                    (
                        "infused",
                        "Delivered by the program",
                        format_quantity(residual.infused, Kind.VOLUME),
                        "",
                    ),
                    (
                        "extra",
                        BRIDGE_OR_PRIMING_DRAWN,
                        format_quantity(plan.bridge_or_priming, Kind.VOLUME),
                        "",
                    ),
                    *drawn,
                    (
                        "expected",
                        "Expected residual",
                        format_quantity(residual.expected_residual, Kind.VOLUME),
                        "title",
                    ),
                    (
                        "threshold",
                        "Investigate when",
                        f"the difference is over {threshold} "
                        f"(reservoir {format_quantity(plan.pump.capacity, Kind.VOLUME)}) or the "
                        f"delivery error is over the labelled accuracy ({accuracy})",
                        "",
                    ),
                ]
            )
        self.notes.setText("\n".join(plan.notes))
        self.refresh()

    def refresh(self) -> None:
        wizard = self.wizard
        verdict, error = wizard.verdict, wizard.verdict_error
        plan = wizard.base_plan
        # found empty ranks above investigate; both need the nurse's note (domain-rules §4)
        investigate = verdict is not None and verdict.verdict in ("investigate", "found_empty")
        if error:
            self.verdict.setText(f"Cannot judge: {error}")
            set_role(self.verdict, "error")
            self.details.setText(" ")
            self.meaning.setText(" ")
        elif plan is not None and plan.residual is None and self.aspirated.quantity() is not None:
            self.verdict.setText("First fill: nothing to compare")
            set_role(self.verdict, "")
            self.details.setText(" ")
            self.meaning.setText(" ")
        elif verdict is None:
            self.verdict.setText(" ")
            self.details.setText(" ")
            self.meaning.setText(" ")
        else:
            self.verdict.setText(
                "FOUND EMPTY: the reservoir was empty"
                if verdict.verdict == "found_empty"
                else "INVESTIGATE: the residual is outside what is expected"
                if investigate
                else "Residual OK: within the threshold"
            )
            set_role(self.verdict, "error" if investigate else "")
            self.details.setText(discrepancy_details(verdict))
            self.meaning.setText(" ".join((*verdict.warnings, verdict.meaning)))
        self.note_label.setText(
            "&What was found (required: the patient's condition)"
            if verdict is not None and verdict.verdict == "found_empty"
            else "&What was found (required: the residual says investigate)"
            if investigate
            else "&What was found (optional)"
        )
        set_role(self.note_label, "error" if investigate and not self.note_text() else "fieldname")

    def note_text(self) -> str:
        return self.note.toPlainText().strip()

    def problems(self) -> list[str]:
        found = []
        if not self.aspirated.text().strip():
            found.append("enter the aspirated volume")
        elif self.aspirated.quantity() is None:
            found.append(self.aspirated.error_text())
        elif self.wizard.verdict_error:
            found.append(self.wizard.verdict_error)
        verdict = self.wizard.verdict
        if verdict is not None and verdict.verdict == "found_empty" and not self.note_text():
            found.append("write the patient's condition: the reservoir was found empty")
        elif verdict is not None and verdict.verdict == "investigate" and not self.note_text():
            found.append("write what was found: the residual says investigate")
        return found

    def first_input(self) -> QWidget | None:
        return self.aspirated


def _days(days: float) -> Quantity:
    return Q_(days, DAY)


def discrepancy_details(verdict: Discrepancy) -> str:
    parts = [
        f"Expected minus aspirated: {presentation.signed_volume_text(verdict.difference)} "
        f"(threshold {format_quantity(verdict.threshold, Kind.VOLUME)})"
    ]
    if verdict.delivery_error is not None:
        text = f"delivery error {format_percent(verdict.delivery_error)}"
        if verdict.accuracy_percent is not None:
            text += (
                " (labelled accuracy ±"
                f"{format_percent(verdict.accuracy_percent / 100, signed=False)})"
            )
        parts.append(text)
    return "; ".join(parts) + "."
