"""For the hospital: the FHIR export of the pump records for the hospital's EHR, the clinic's
MRN system, and the template of the visit notes (the last two an administrator's).

UI layer: imports PySide6, :mod:`pumpmgr.services.hospital` and :mod:`ui.messages`. Every
export is audited with the signed-in user's name, as the command line's export is with the
computer account's; the template and the MRN system are changed with a reason, audited.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.note_template import FIELDS, KINDS
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.hospital import HospitalService
from ui import messages
from ui.widgets.style_state import set_role


def names_help() -> str:
    """The names each section of the template may use, for the editor's tooltip."""
    return "\n\n".join(
        f"[{kind}]\n" + "\n".join(f"${name}: {text}" for name, text in FIELDS[kind].items())
        for kind in KINDS
    )


class HospitalTab(QWidget):
    """Export for the hospital; the MRN system and the note template."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.hospital = HospitalService(clinic)
        self.actor: Actor | None = None

        export = QGroupBox("Export for the hospital's record (FHIR R4)", self)
        self.one_patient = QRadioButton("One &patient, MRN", export)
        self.one_patient.setChecked(True)
        self.mrn = QLineEdit(export)
        self.mrn.setMaxLength(64)
        self.since_radio = QRadioButton("Every record written &since", export)
        self.since = QDateEdit(export)
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("ddd d MMM yyyy")
        self.export_button = QPushButton("E&xport…", export)
        self.export_button.setAutoDefault(False)
        self.export_button.clicked.connect(self.export)
        rows = QFormLayout(export)
        rows.addRow(self.one_patient, self.mrn)
        rows.addRow(self.since_radio, self.since)
        described = QLabel(
            "A FHIR Bundle (JSON) of the patient, pump and catheter, "
            "prescriptions, refills with their residuals, and procedures; the "
            "export is in the audit log.",
            export,
        )
        described.setWordWrap(True)
        rows.addRow(described)
        rows.addRow(self.export_button)

        settings = QGroupBox("The clinic's MRN system (administrator)", self)
        self.system = QLineEdit(settings)
        self.system.setMaxLength(200)
        self.system.setPlaceholderText(
            "the URI the hospital gives its medical record "
            "numbers, e.g. urn:oid:1.2.36.146.595.217.0.1"
        )
        self.system_reason = QLineEdit(settings)
        self.system_reason.setPlaceholderText("why (audited)")
        self.system_button = QPushButton("Save the MRN s&ystem", settings)
        self.system_button.setAutoDefault(False)
        self.system_button.clicked.connect(self.save_system)
        system_form = QFormLayout(settings)
        system_form.addRow("MRN system", self.system)
        system_form.addRow("Reason", self.system_reason)
        system_form.addRow(self.system_button)

        template = QGroupBox("Visit-note template (administrator)", self)
        self.template = QPlainTextEdit(template)
        self.template.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.template.setToolTip(names_help())
        self.template.setAccessibleName("Visit-note template")
        self.template_state = QLabel(" ", template)
        self.template_state.setProperty("role", "muted")
        self.template_reason = QLineEdit(template)
        self.template_reason.setPlaceholderText("why (audited)")
        self.template_button = QPushButton("Save the &template", template)
        self.template_button.setAutoDefault(False)
        self.template_button.clicked.connect(self.save_template)
        self.shipped_button = QPushButton("Back to the s&hipped template", template)
        self.shipped_button.setAutoDefault(False)
        self.shipped_button.clicked.connect(self.use_shipped)
        # the reason on a line of its own: beside the two buttons it had room for a word
        reason_row = QFormLayout()
        reason_row.addRow("Reason", self.template_reason)
        template_buttons = QHBoxLayout()
        template_buttons.addStretch(1)
        template_buttons.addWidget(self.template_button)
        template_buttons.addWidget(self.shipped_button)
        template_layout = QVBoxLayout(template)
        template_layout.addWidget(self.template_state)
        template_layout.addWidget(self.template, 1)
        template_layout.addLayout(reason_row)
        template_layout.addLayout(template_buttons)

        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(export)
        left.addWidget(settings)
        left.addWidget(self.message)
        left.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addWidget(template, 3)
        self.admin_widgets: list[QWidget] = [
            self.system,
            self.system_reason,
            self.system_button,
            self.template,
            self.template_reason,
            self.template_button,
            self.shipped_button,
        ]

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        admin = actor is not None and actor.role == "administrator"
        for widget in self.admin_widgets:
            widget.setEnabled(admin)
        self.template.setReadOnly(not admin)
        self.export_button.setEnabled(actor is not None)

    def load(self) -> None:
        self.system.setText(self.hospital.mrn_system() or "")
        text, own = self.hospital.note_template_text()
        self.template.setPlainText(text)
        self.template_state.setText(
            "The clinic's own template."
            if own
            else "The template pumpmgr ships. Hover for the names a section may use."
        )
        if not self.since.date().isValid() or self.since.date() == QDate(2000, 1, 1):
            today = self.clinic.today()
            self.since.setDate(QDate(today.year, today.month, today.day))

    def clear(self) -> None:
        for edit in (self.mrn, self.system, self.system_reason, self.template_reason):
            edit.clear()
        self.template.clear()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "muted")

    def export(self) -> Path | None:
        """Ask where, build the bundle, write it; the file, or None."""
        if self.actor is None:
            return None
        mrn = self.mrn.text().strip() if self.one_patient.isChecked() else None
        picked = self.since.date()
        since = None if mrn is not None else date(picked.year(), picked.month(), picked.day())
        if mrn == "":
            self._say("Not exported: type the patient's MRN.", True)
            return None
        stem = f"fhir-{mrn}" if mrn else f"fhir-since-{since:%Y-%m-%d}"
        path = messages.save_path(
            self,
            "Export for the hospital",
            Path.home() / f"{stem}-{self.clinic.today():%Y-%m-%d}.json",
            "FHIR JSON (*.json)",
        )
        if path is None:
            return None
        try:
            document = self.hospital.export_fhir(self.actor, mrn=mrn, since=since)
            path.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except PumpMgrError as exc:
            self._say(f"Not exported: {exc.message}", True)
            return None
        except OSError as exc:
            self._say(f"Not exported: {path} cannot be written ({exc.strerror}).", True)
            return None
        self._say(
            f"Exported {len(document['entry'])} resources to {path}; the export is in "
            "the audit log."
        )
        return path

    def save_system(self) -> bool:
        return self._change(
            lambda actor: self.hospital.set_mrn_system(
                actor, self.system.text(), self.system_reason.text()
            ),
            "MRN system saved.",
        )

    def save_template(self) -> bool:
        return self._change(
            lambda actor: self.hospital.set_note_template(
                actor, self.template.toPlainText(), self.template_reason.text()
            ),
            "Template saved: every note is written in it from now on.",
        )

    def use_shipped(self) -> bool:
        return self._change(
            lambda actor: self.hospital.set_note_template(actor, None, self.template_reason.text()),
            "Back to the shipped template.",
        )

    def _change(self, change: object, done: str) -> bool:
        if self.actor is None:
            return False
        try:
            change(self.actor)  # type: ignore[operator]
        except PumpMgrError as exc:
            self._say(f"Not saved: {exc.message}", True)
            return False
        self.load()
        self.system_reason.clear()
        self.template_reason.clear()
        self._say(done)
        return True
