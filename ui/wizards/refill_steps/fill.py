"""Steps 4 and 5 of the refill wizard, what goes into the pump: the solution (the same, a
new concentration, or a new drug or admixture; lot, expiry and source) and the volume to add,
with the capacity check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import CatalogError, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import format_date, format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.refill import RefillPlan, plan_refill
from pumpmgr.stability import depends_on_dilution, undiluted_problem
from pumpmgr.units import Kind
from pumpmgr.wording import solution_text
from ui import presentation
from ui.widgets.date_edit import DateEdit
from ui.widgets.field_list import Field, FieldList
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_role
from ui.wizards.base import WizardStep
from ui.wizards.refill_steps.shared import ShownFields, date_problem, wrapped_label
from ui.wizards.solution import SolutionEdit

if TYPE_CHECKING:
    from ui.wizards.refill import RefillWizard


#: Where the solution came from (the nurse may type another).
SOURCES = ("pharmacy", "manufacturer (prefilled)", "compounding service")

SolutionChoice = Literal["same", "concentration", "drug"]


class SolutionStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Solution",
            "Which solution goes into the pump, from the syringe "
            "label: drug, concentration, lot, expiry.",
        )
        self.wizard = wizard
        self.same = QRadioButton(self)
        self.new_concentration = QRadioButton("New &concentration of the same drug(s)", self)
        self.new_drug = QRadioButton("New &drug or admixture", self)
        self.choice = QButtonGroup(self)
        for button in (self.same, self.new_concentration, self.new_drug):
            self.choice.addButton(button)
        self.same.setChecked(True)
        self.editor = SolutionEdit(wizard.library, self)
        self.constant_note = wrapped_label(
            "Constant-flow pump: the dose changes only with the concentration (the flow is "
            "fixed). The new dose is shown on the Program step.",
            self,
            "muted",
        )
        self.lot = QLineEdit(self)
        self.lot.setMaxLength(64)
        self.lot.setAccessibleName("Lot number")
        self.lot.setPlaceholderText("as printed on the syringe or vial label")
        self.expiry = DateEdit("expiry", self, missing="not entered", month_is_last_day=True)
        self.expiry.line_edit.setToolTip(
            "The expiry or beyond-use date from the label; a "
            "month and year (Apr 2027) is its last day"
        )
        self.source = QComboBox(self)
        self.source.setEditable(True)
        self.source.addItems(SOURCES)
        self.source.setAccessibleName("Source")
        # ziconotide's stability depends on it: recorded, never inferred (domain-rules §3)
        self.undiluted = QCheckBox("&Undiluted (as supplied)", self)
        self.undiluted.setToolTip(
            "Ticked: the solution goes in as the manufacturer supplied "
            "it (84 days in the pump). Diluted, even to a stock "
            "strength: 40 days."
        )
        self.naive_warning = wrapped_label(" ", self, "alert")
        self.naive_warning.setAccessibleName("First fill of the drug")
        choices = QVBoxLayout()
        for button in (self.same, self.new_concentration, self.new_drug):
            choices.addWidget(button)
        label_form = QFormLayout()
        for text, widget in (
            ("&Lot number", self.lot),
            ("E&xpiry", self.expiry),
            ("S&ource", self.source),
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            label_form.addRow(label, widget)
        label_form.addRow(self.undiluted)
        label_form.addRow(self.naive_warning)
        label_box = QGroupBox("Label of the solution", self)
        label_box.setLayout(label_form)
        self.body.addLayout(choices)
        self.body.addWidget(self.editor)
        self.body.addWidget(self.constant_note)
        self.body.addWidget(label_box)
        self.body.addStretch(1)
        self.choice.buttonToggled.connect(self._choice_changed)
        self.editor.changed.connect(self.changed)
        self.lot.textChanged.connect(self.changed)
        self.expiry.valueChanged.connect(self.changed)
        self.source.currentTextChanged.connect(self.changed)
        self.undiluted.toggled.connect(self.changed)
        self.changed.connect(self.refresh)  # while loading too, when the wizard makes no plan

    def load(self) -> None:
        plan = self.wizard.base_plan
        if plan is not None:
            self.same.setText(
                "&Same solution as in the pump: "
                + solution_text(plan.current_solution, self.wizard.library)
            )
        self.expiry.set_range(self.wizard.at().date(), None)
        self.expiry.set_value(None)
        self.constant_note.setVisible(self.wizard.pump.pump_type == "constant_flow")
        self._choice_changed()

    def enter(self) -> None:
        # a solution must not expire before the refill day (it may change on step 1)
        self.expiry.set_range(self.wizard.at().date(), None)

    def choice_made(self) -> SolutionChoice:
        if self.new_concentration.isChecked():
            return "concentration"
        if self.new_drug.isChecked():
            return "drug"
        return "same"

    def _choice_changed(self) -> None:
        choice = self.choice_made()
        plan = self.wizard.base_plan
        self.editor.setVisible(choice != "same")
        if plan is not None and choice != "same":
            self.editor.set_ingredients(
                plan.current_solution,
                drugs_locked=choice == "concentration",
                keep_concentrations=False,
            )
        self.changed.emit()

    def solution(self) -> tuple[Ingredient, ...]:
        """The solution going in: the one typed, or the prescription's (empty: not typed
        yet)."""
        if self.choice_made() != "same":
            return self.editor.ingredients() or ()
        plan = self.wizard.base_plan
        return () if plan is None else plan.ingredients

    def dilution_matters(self) -> bool:
        """The solution holds ziconotide, whose stability depends on its being undiluted."""
        for ingredient in self.solution():
            try:
                if depends_on_dilution(self.wizard.library.drug(ingredient.drug)):
                    return True
            except CatalogError:
                continue
        return False

    def undiluted_record(self) -> bool | None:
        """Whether the solution is undiluted, as ticked (None: not asked, no ziconotide)."""
        return self.undiluted.isChecked() if self.dilution_matters() else None

    def undiluted_problem(self) -> str:
        """Why the solution cannot be ticked undiluted (empty: it can): the rule of
        :func:`pumpmgr.stability.undiluted_problem`, named as the box."""
        problem = undiluted_problem(self.solution(), self.wizard.library, self.undiluted_record())
        return "" if problem is None else f"Undiluted (as supplied): {problem}"

    def refresh(self) -> None:
        """The Undiluted box and the naive pump's warning, from the wizard's plan; the wizard
        calls it again once it has made the plan anew after a change (this step's own slot of
        ``changed`` runs before that and would leave the warning of the plan before)."""
        self.undiluted.setVisible(self.dilution_matters())
        plan = self.wizard.plan
        warning = "" if plan is None else "\n".join(plan.naive_pump)
        self.naive_warning.setText(warning[:1].upper() + warning[1:])
        self.naive_warning.setVisible(bool(warning))

    def new_ingredients(self) -> tuple[Ingredient, ...] | None:
        """The new solution typed (None: the same solution, or not complete yet)."""
        if self.choice_made() == "same":
            return None
        return self.editor.ingredients()

    def problems(self) -> list[str]:
        found = []
        if self.choice_made() != "same" and self.editor.problem():
            found.append(self.editor.problem())
        if not self.lot.text().strip():
            found.append("enter the lot number from the label")
        problem = date_problem(self.expiry, "enter the expiry date from the label")
        if problem:
            found.append(problem)
        if not self.source.currentText().strip():
            found.append("say where the solution came from")
        if self.undiluted_problem():
            found.append(self.undiluted_problem())
        return found

    def first_input(self) -> QWidget | None:
        return self.same if self.same.isChecked() else self.editor


class VolumeStep(WizardStep):
    def __init__(self, wizard: RefillWizard) -> None:
        super().__init__(
            "Volume to add",
            "The volume injected into the emptied reservoir. "
            "pumpmgr checks it against the reservoir's capacity and alarm "
            "volume.",
        )
        self.wizard = wizard
        self.reservoir_fields = FieldList("Reservoir", self)
        self.volume = QuantityEdit(Kind.VOLUME, "volume to add", self)
        self.result = wrapped_label(" ", self)
        self.result.setAccessibleName("Capacity check")
        self.forecast_fields = ShownFields("If all goes to plan", self)
        form = QFormLayout()
        label = QLabel("&Volume to add", self)
        label.setBuddy(self.volume.line_edit)
        form.addRow(label, self.volume)
        self.body.addWidget(self.reservoir_fields)
        self.body.addLayout(form)
        self.body.addWidget(self.result)
        self.body.addWidget(self.forecast_fields)
        self.body.addWidget(
            wrapped_label(
                "With the program as it stands; the Program step may change it.", self, "muted"
            )
        )
        self.body.addStretch(1)
        self.volume.line_edit.textChanged.connect(self.changed)
        self._filled = False

    def enter(self) -> None:
        pump = self.wizard.pump
        if not self._filled:
            self.volume.set_quantity(pump.capacity)
            self._filled = True
        aspirated = self.wizard.residual.aspirated.quantity()
        self.reservoir_fields.set_fields(
            [
                ("capacity", "Capacity", format_quantity(pump.capacity, Kind.VOLUME), ""),
                (
                    "alarm",
                    "Low-reservoir alarm volume"
                    if pump.pump_type != "constant_flow"
                    else "Planning volume",
                    format_quantity(pump.alarm_volume, Kind.VOLUME),
                    "",
                ),
                ("aspirated", "Aspirated (discard)", presentation.volume_text(aspirated), ""),
            ]
        )
        self.refresh()

    def capacity_check(self) -> tuple[RefillPlan | None, str]:
        volume = self.volume.quantity()
        aspirated = self.wizard.residual.aspirated.quantity()
        if volume is None or aspirated is None:
            return None, ""
        pump = self.wizard.pump
        try:
            return plan_refill(
                reservoir_capacity=pump.capacity,
                aspirated=aspirated,
                alarm_volume=pump.alarm_volume,
                fill_volume=volume,
            ), ""
        except PumpMgrError as exc:
            return None, exc.message

    def refresh(self) -> None:
        planned, error = self.capacity_check()
        if error:
            self.result.setText(f"Not possible: {error}")
            set_role(self.result, "error")
        elif planned is not None:
            self.result.setText(
                f"After the refill the reservoir holds "
                f"{format_quantity(planned.final_volume, Kind.VOLUME)} (capacity "
                f"{format_quantity(self.wizard.pump.capacity, Kind.VOLUME)}). Waste: "
                f"{format_quantity(planned.waste, Kind.VOLUME)} aspirated."
            )
            set_role(self.result, "")
        else:
            self.result.setText(" ")
        self.forecast_fields.show_fields(forecast_fields(self.wizard))

    def problems(self) -> list[str]:
        if not self.volume.text().strip():
            return ["enter the volume to add"]
        if self.volume.quantity() is None:
            return [self.volume.error_text()]
        error = self.capacity_check()[1]
        return [error] if error else []

    def first_input(self) -> QWidget | None:
        return self.volume


def forecast_fields(wizard: RefillWizard) -> list[Field]:
    """The forecast of the full plan (new solution, volume and program), or why there is none
    yet."""
    plan = wizard.plan
    if plan is None:
        return [
            (
                "none",
                "Forecast",
                f"not yet: {wizard.plan_error}" if wizard.plan_error else "not yet",
                "muted",
            )
        ]
    outlook = plan.forecast
    constant = plan.constant_flow
    reason = due_reason_words(
        outlook.refill_due_reason, buffer_days=outlook.buffer_days, constant_flow=constant
    )
    fields: list[Field] = [
        ("daily volume", "Daily volume", format_quantity(outlook.daily_volume, Kind.FLOW), ""),
        (
            "alarm",
            "Planning volume reached" if constant else "Low-reservoir alarm",
            f"{format_date(outlook.alarm_at)} {outlook.alarm_at:%H:%M}",
            "",
        ),
    ]
    if outlook.alarm_at_with_boluses != outlook.alarm_at:
        fields.append(
            (
                "alarm with boluses",
                "Alarm, every bolus taken",
                f"{format_date(outlook.alarm_at_with_boluses)} "
                f"{outlook.alarm_at_with_boluses:%H:%M}",
                "",
            )
        )
    fields.append(("refill due", "Refill due", f"{format_date(outlook.refill_due)} ({reason})", ""))
    return fields
