"""The pump models' device limits and labelling as the dose checks use them (domain-rules §6).

UI layer over :meth:`pumpmgr.services.configuration.ConfigurationService.pump_models` and
``edit_pump_model``: each model's lowest and highest programmable flow and the drugs it is
labelled for. A prescriber or an administrator changes them with a reason (audited by the
service); others see them read-only. Labelling is typed one drug a line: the drug, then its
labelled concentrations, or nothing for any ("morphine 10 mg/mL, 25 mg/mL"), read by
:func:`pumpmgr.pump_edits.read_labelling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.catalogs import DrugLibrary, PumpModel
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.pump_edits import Change, labelling_text, read_labelling
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.permissions import Action, allowed
from pumpmgr.units import Kind, Quantity
from ui.screens.records_models import _ReadOnlyTable
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.record_table import record_table
from ui.widgets.style_state import set_role

_Index = QModelIndex | QPersistentModelIndex


def flow_text(flow: Quantity | None) -> str:
    return "not in the catalog" if flow is None else format_quantity(flow, Kind.FLOW)


class PumpModelsModel(_ReadOnlyTable):
    headers = ("Pump model", "Lowest flow", "Highest flow", "Labelled for")
    library: DrugLibrary | None = None

    def set_rows(self, rows: Sequence[PumpModel], library: DrugLibrary | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.library = library
        self.endResetModel()

    def rows(self) -> list[PumpModel]:
        return list(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index) or role != Qt.ItemDataRole.DisplayRole:
            return None
        model: PumpModel = self._rows[index.row()]
        labelled = "" if self.library is None else labelling_text(model, self.library)
        return (
            model.name,
            flow_text(model.min_flow),
            flow_text(model.max_flow),
            labelled.replace("\n", "; ") or "not held: not checked",
        )[index.column()]


class PumpModelsTab(QWidget):
    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        self.model = PumpModelsModel(self)
        self.table = record_table(self.model, "Pump models", self)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())
        about = QLabel(
            "The device limits and labelling every dose check uses: a flow below "
            "the lowest or above the highest is blocked, a drug the model is not "
            "labelled for warns. The catalog holds what the manufacturers publish; "
            "a clinic edit is audited.",
            self,
        )
        about.setWordWrap(True)
        about.setProperty("role", "muted")
        self.box = QGroupBox("Change a pump model's limits", self)
        form = QFormLayout(self.box)
        self.model_label = QLabel("Select a pump model in the list.", self.box)
        self.model_label.setProperty("role", "subtitle")
        form.addRow(self.model_label)
        self.min_flow = QuantityEdit(Kind.FLOW, "min flow", self.box)
        self.max_flow = QuantityEdit(Kind.FLOW, "max flow", self.box)
        for edit in (self.min_flow, self.max_flow):
            edit.line_edit.setPlaceholderText("empty: the catalog's value")
        self.labelling = QPlainTextEdit(self.box)
        self.labelling.setTabChangesFocus(True)
        self.labelling.setAccessibleName("Labelled for")
        self.labelling.setPlaceholderText(
            "one drug a line, for example:\nmorphine 10 mg/mL, "
            "25 mg/mL\nbaclofen (any concentration)"
        )
        self.reason = QLineEdit(self.box)
        self.reason.setMaxLength(2000)
        self.reason.setAccessibleName("Reason (audited)")
        self.save_button = QPushButton("&Save the change", self.box)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.message = QLabel(" ", self.box)
        self.message.setWordWrap(True)
        for label, widget in (
            ("&Lowest flow", self.min_flow),
            ("&Highest flow", self.max_flow),
            ("Labelled &for", self.labelling),
            ("&Reason (audited)", self.reason),
        ):
            form.addRow(label, widget)
        form.addRow("", self.save_button)
        form.addRow(self.message)
        side = QVBoxLayout()
        side.addWidget(self.box)
        side.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(about)
        left.addWidget(self.table, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 5)
        layout.addLayout(side, 3)
        self._loaded: tuple[str, str, str] = ("", "", "")
        self._enable()

    def selected(self) -> PumpModel | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows()[rows[0].row()] if rows else None

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        self._enable()

    def _enable(self) -> None:
        editing = (
            self.actor is not None
            and allowed(self.actor.role, Action.EDIT_DRUG_LIBRARY)
            and self.selected() is not None
        )
        for widget in (self.min_flow, self.max_flow, self.labelling, self.reason, self.save_button):
            widget.setEnabled(editing)

    def refresh(self, select: str | None = None) -> None:
        current = self.selected()
        key = select or (current.key if current is not None else None)
        models = self.clinic.configuration.pump_models()
        self.model.set_rows(models, self.clinic.library())
        row = next((i for i, m in enumerate(models) if m.key == key), 0 if models else None)
        if row is not None:
            self.table.selectRow(row)
        self._selected()

    def clear(self) -> None:
        self.model.set_rows([])
        self._selected()

    def _selected(self) -> None:
        model = self.selected()
        self.model_label.setText(
            "Select a pump model in the list." if model is None else model.name
        )
        self.min_flow.set_quantity(None if model is None else model.min_flow)
        self.max_flow.set_quantity(None if model is None else model.max_flow)
        self.labelling.setPlainText(
            ""
            if model is None or self.model.library is None
            else labelling_text(model, self.model.library)
        )
        self._loaded = (self.min_flow.text(), self.max_flow.text(), self.labelling.toPlainText())
        self._say(" ", False)
        self._enable()

    def _say(self, text: str, error: bool) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "muted")

    def changes(self) -> dict[str, Change]:
        """What the form changed; an emptied flow takes the catalog's value back."""
        changed: dict[str, Change] = {}
        for field, edit, loaded in (
            ("min_flow", self.min_flow, self._loaded[0]),
            ("max_flow", self.max_flow, self._loaded[1]),
        ):
            if edit.text() != loaded:
                if edit.error_text():
                    raise InputError(edit.error_text(), code=Code.WRONG_KIND, field=edit.field)
                changed[field] = edit.quantity()
        text = self.labelling.toPlainText()
        if text != self._loaded[2]:
            changed["labelled_drugs"] = read_labelling(text, self.clinic.library())
        return changed

    def save(self) -> bool:
        model = self.selected()
        if self.actor is None or model is None:
            return False
        try:
            changes = self.changes()
            if not changes:
                self._say("Nothing changed.", True)
                return False
            self.clinic.configuration.edit_pump_model(
                self.actor, model.key, changes, self.reason.text()
            )
        except PumpMgrError as exc:
            self._say(f"Not saved: {exc.message}", True)
            return False
        self.reason.clear()
        self.refresh(model.key)
        self._say(f"{model.name}: saved and audited.", False)
        return True
