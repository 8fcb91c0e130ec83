"""Copy note: a record's visit note put on the clipboard and shown, ready to paste into the
hospital's record.

UI layer: imports PySide6, :mod:`pumpmgr.services.hospital` (the note as the command line
writes it, in the clinic's template) and :mod:`ui.messages`. The patient view's history, its
bar after a saved event or prescription and the refill wizard's last step all copy through
:func:`copy_note`; tests replace :func:`show` (called through the module) so no modal window
blocks them.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.services import ClinicService
from pumpmgr.services.hospital import HospitalService
from pumpmgr.visit_note import RecordRef
from ui import icons, messages

_KIND_TEXT = {"refill": "refill", "prescription": "prescription change", "event": "pump event"}


class NoteDialog(QDialog):
    """The note, read-only, with Copy again and Close; it is on the clipboard already."""

    def __init__(self, ref: RecordRef, note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ref, self.note = ref, note
        self.setWindowTitle(f"Visit note of the {_KIND_TEXT[ref.kind]}")
        self.setWindowIcon(icons.app_icon())
        self.status = QLabel(
            "Copied to the clipboard: paste it into the hospital's record. "
            "The numbers are as on the printed sheets.",
            self,
        )
        self.status.setWordWrap(True)
        self.text = QPlainTextEdit(note, self)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName("Visit note")
        buttons = QDialogButtonBox(self)
        self.copy_button = QPushButton("&Copy again", self)
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.note)


def show(dialog: NoteDialog) -> None:
    """Show the note (window-modal; replaced in tests)."""
    dialog.open()


def copy_note(parent: QWidget | None, clinic: ClinicService, ref: RecordRef) -> NoteDialog | None:
    """Write the note of ``ref``, put it on the clipboard and show it; None (the nurse told
    why) when it cannot be written."""
    try:
        note = HospitalService(clinic).note(ref)
    except Exception as exc:  # the record stays as it is; the nurse is told why
        messages.show_error(parent, exc, "writing the visit note")
        return None
    QGuiApplication.clipboard().setText(note)
    dialog = NoteDialog(ref, note, parent)
    show(dialog)
    return dialog
