"""The drug library editor (administrator or prescriber): each drug's typical range, soft and
hard maximum daily dose and maximum concentration, with their sources.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``library``, ``edit_drug_library``,
``recompute_all_forecasts``), :mod:`pumpmgr.services.permissions` and the records models. A
change needs a reason and is audited by the service; it applies to every later dose check.
Afterwards the editor offers to recompute every active pump's forecast with the new library.
Others see the library read-only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.catalogs import Drug
from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.permissions import Action, allowed
from pumpmgr.units import Kind, Quantity
from ui import messages
from ui.background import run_in_background
from ui.screens.records_models import DrugLibraryModel, ObjectRole
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.record_table import record_table
from ui.widgets.style_state import set_role

#: The editable limits: field, label, kind; whether leaving it empty removes the limit.
FIELDS: tuple[tuple[str, str, Kind, bool], ...] = (
    ("typical_min", "Typical from", Kind.DOSE_RATE, False),
    ("typical_max", "Typical up to", Kind.DOSE_RATE, False),
    ("soft_max", "Soft max (warns)", Kind.DOSE_RATE, True),
    ("hard_max", "Hard max (blocks)", Kind.DOSE_RATE, False),  # raised, never removed
    ("max_concentration", "Max concentration", Kind.CONCENTRATION, True),
)


class DrugLibraryTab(QWidget):
    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        self.drug: Drug | None = None
        self._loaded: dict[str, str] = {}
        self.model = DrugLibraryModel(self)
        self.table = record_table(self.model, "Drug library", self)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())
        about = QLabel(
            "The limits every dose check uses. Tags in brackets name the source "
            "(domain.md §7); '(unverified)' values only warn; a clinic edit names "
            "its number in the audit log.",
            self,
        )
        about.setWordWrap(True)
        about.setProperty("role", "muted")

        self.box = QGroupBox("Change a drug's limits", self)
        self.edits: dict[str, QuantityEdit] = {}
        form = QFormLayout(self.box)
        self.drug_label = QLabel("Select a drug in the list.", self.box)
        self.drug_label.setProperty("role", "subtitle")
        form.addRow(self.drug_label)
        for field, label, kind, removable in FIELDS:
            edit = QuantityEdit(kind, field.replace("_", " "), self.box)
            if removable:
                edit.line_edit.setPlaceholderText("none: leave empty for no limit")
            self.edits[field] = edit
            form.addRow(label, edit)
        self.reason = QLineEdit(self.box)
        self.reason.setMaxLength(2000)
        self.reason.setPlaceholderText(
            "for example: pharmacy and therapeutics committee, minutes of 14 Oct 2025"
        )
        form.addRow("&Reason (audited)", self.reason)
        self.save_button = QPushButton("&Save the change", self.box)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        form.addRow("", self.save_button)
        self.message = QLabel(" ", self.box)
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.note = QLabel(" ", self)
        self.note.setWordWrap(True)
        self.note.setProperty("role", "muted")

        side = QVBoxLayout()
        side.addWidget(self.note)
        side.addWidget(self.box)
        side.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(about)
        left.addWidget(self.table, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 5)
        layout.addLayout(side, 3)
        self._enable()

    def can_edit(self) -> bool:
        return self.actor is not None and allowed(self.actor.role, Action.EDIT_DRUG_LIBRARY)

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        self.note.setText(
            " "
            if self.can_edit()
            else "Only a prescriber or an administrator changes the drug library."
        )
        self._enable()

    def _enable(self) -> None:
        editing = self.can_edit() and self.drug is not None
        for edit in self.edits.values():
            edit.setEnabled(editing)
        self.reason.setEnabled(editing)
        self.save_button.setEnabled(editing)

    def refresh(self, select: str | None = None) -> None:
        drugs = list(self.clinic.library())
        self.model.set_rows(drugs)
        key = select or (self.drug.key if self.drug is not None else None)
        row = next((i for i, d in enumerate(drugs) if d.key == key), None)
        if row is not None:
            self.table.selectRow(row)
        self._selected()

    def clear(self) -> None:
        self.model.set_rows([])
        self.drug = None
        self._selected()

    def select(self, key: str) -> None:
        row = next((i for i, d in enumerate(self.model.rows()) if d.key == key), None)
        if row is not None:
            self.table.selectRow(row)

    def _selected(self) -> None:
        index = self.table.selectionModel().currentIndex()
        drug = index.data(ObjectRole) if index.isValid() else None
        self.drug = drug if isinstance(drug, Drug) else None
        self._loaded = {}
        if self.drug is None:
            self.drug_label.setText("Select a drug in the list.")
            for edit in self.edits.values():
                edit.clear()
        else:
            self.drug_label.setText(f"{self.drug.name} (doses in {self.drug.display_unit})")
            for field, edit in self.edits.items():
                edit.mass_unit = self.drug.display_unit
                limit = getattr(self.drug, field)
                edit.set_quantity(None if limit is None else limit.value)
                self._loaded[field] = edit.text()
        self.message.setText(" ")
        self._enable()

    def _say(self, text: str, error: bool) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "muted")

    def changes(self) -> dict[str, Quantity | None]:
        """The limits changed in the form; an empty box removes a removable limit."""
        changed: dict[str, Quantity | None] = {}
        for field, label, _, removable in FIELDS:
            edit = self.edits[field]
            if edit.text() == self._loaded.get(field, ""):
                continue
            if edit.error_text():
                raise _FormProblem(edit.error_text())
            if edit.quantity() is None and not removable:
                raise _FormProblem(f"{label.lower()}: cannot be removed; type a daily dose")
            changed[field] = edit.quantity()
        return changed

    def save(self) -> bool:
        if self.actor is None or self.drug is None:
            return False
        try:
            changes = self.changes()
        except _FormProblem as problem:
            self._say(f"Not saved: {problem.args[0]}", True)
            return False
        if not changes:
            self._say("Nothing changed.", True)
            return False
        reason = self.reason.text().strip()
        drug = self.drug
        try:
            self.clinic.edit_drug_library(self.actor, drug.key, changes, reason)
        except PumpMgrError as exc:
            self._say(f"Not saved: {exc.message}", True)
            return False
        self.reason.clear()
        self.refresh(drug.key)
        self._say(f"{drug.name}: saved and audited.", False)
        if messages.confirm(
            self,
            "Drug library changed",
            f"{drug.name}'s limits changed. Recompute every active pump's "
            "forecast with the new library now? It takes a moment on a large "
            "clinic.",
            yes="Recompute now",
            no="Later",
        ):
            actor = self.actor
            try:
                count = run_in_background(
                    self,
                    "Recomputing every forecast…",
                    lambda: self.clinic.recompute_all_forecasts(
                        actor, f"drug library: {drug.name}: {reason}"
                    ),
                )
            except Exception as exc:  # every failure reaches the user as a dialog
                messages.show_error(self, exc, "recomputing the forecasts")
                return True
            self._say(
                f"{drug.name}: saved and audited; {count} active pumps' forecasts recomputed.",
                False,
            )
        return True


class _FormProblem(Exception):
    """A value typed in the form that cannot be saved (the message is the argument)."""
