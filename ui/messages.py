"""Every message box and file chooser the program shows: the single patch point for tests.

UI layer: imports PySide6, :mod:`pumpmgr.errors` and :mod:`pumpmgr.logfile` only. Screens call
these functions through the module (``messages.error(...)``), never ``QMessageBox`` directly, so
a test replaces one function and no modal box ever blocks it. Errors are worded to say what
happened and what to do; nothing the user typed is lost when one appears, because the caller's
form stays open.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.logfile import log_folder, log_unexpected


def confirm(
    parent: QWidget | None, title: str, text: str, *, yes: str = "Yes", no: str = "Cancel"
) -> bool:
    """Ask a yes/no question; ``no`` is the default button (nothing happens on Enter)."""
    box = QMessageBox(
        QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent
    )
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


def info(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def warn(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def error(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    """A blocking error box; ``details`` (a technical trace) is folded away."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()


def show_error(parent: QWidget | None, exc: BaseException, doing: str) -> None:
    """Report ``exc`` raised while ``doing`` (for example "opening the patient").

    pumpmgr's own errors carry a message fit for a nurse; anything else is a fault of ours:
    logged (its type and stack, not its message) and reported with the reference the log
    gives it, never with a traceback.
    """
    if isinstance(exc, PumpMgrError):
        error(parent, "pumpmgr", f"Could not finish {doing}:\n\n{exc.message}")
    else:
        reference = log_unexpected(type(exc), exc, exc.__traceback__, doing)
        error(
            parent,
            "pumpmgr",
            f"Something went wrong while {doing}. Nothing was saved by this step.\n\n"
            f"Please tell the clinic's pumpmgr administrator the reference {reference}: "
            "the log file (Help → Open log folder) holds the details.",
            f"{reference}: {type(exc).__name__}: {exc}",
        )


def open_log_folder(parent: QWidget | None) -> None:
    """Show the folder of the log files in the file manager (made first if need be); where
    none opens, say where it is."""
    folder = log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        info(parent, "Log folder", f"pumpmgr's log files are in {folder}")


def save_path(
    parent: QWidget | None,
    title: str,
    suggested: Path,
    file_filter: str,
) -> Path | None:
    """Where to save a file, or None when the user cancels."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    return Path(chosen) if chosen else None


def choose(parent: QWidget | None, title: str, label: str, items: Sequence[str]) -> int | None:
    """The index of the item the user picks, or None when they cancel."""
    if not items:
        return None
    chosen, ok = QInputDialog.getItem(parent, title, label, list(items), 0, False)
    if not ok:
        return None
    return list(items).index(chosen)


def ask_text(parent: QWidget | None, title: str, label: str) -> str | None:
    """Text the user types (several lines allowed, wrapped at the box's width: Qt's own
    multi-line input runs each line on out of sight), or None when they cancel."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    edit = QPlainTextEdit(dialog)  # wraps at the widget's width by default
    caption = QLabel(label, dialog)
    caption.setWordWrap(True)
    caption.setBuddy(edit)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for widget in (caption, edit, buttons):
        layout.addWidget(widget)
    dialog.resize(480, dialog.sizeHint().height())
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    text = edit.toPlainText()
    dialog.deleteLater()
    return text if accepted else None


def open_path(
    parent: QWidget | None,
    title: str,
    folder: Path,
    file_filter: str,
) -> Path | None:
    """An existing file to read, or None when the user cancels."""
    chosen, _ = QFileDialog.getOpenFileName(parent, title, str(folder), file_filter)
    return Path(chosen) if chosen else None
