"""Backup, restore and export of the clinic's records (administrator).

UI layer: imports PySide6, :mod:`pumpmgr.services` (``backup_to``, ``restore_from``,
``export_to``) and :mod:`pumpmgr.services.permissions`. Each runs off the GUI thread behind a
progress dialog (:func:`ui.background.run_in_background`). Backup and restore are for a
SQLite database; a PostgreSQL clinic uses the server's tools. Restore says plainly what it
replaces and asks first; afterwards the window locks, because the restored records have their
own accounts.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.formatting import format_number
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.restoring import BrokenChainOverride
from ui import messages, presentation
from ui.background import run_in_background

ADMIN_ONLY = "Only an administrator backs up, restores or exports the clinic's records."


def size_text(size_bytes: int) -> str:
    """A file size: ``840 kB``, ``12.4 MB``."""
    if size_bytes < 1_000_000:
        return f"{format_number(size_bytes / 1000, 1)} kB"
    return f"{format_number(size_bytes / 1_000_000, 1)} MB"


def restore_warning(path: Path, taken: str) -> str:
    return (
        f"Restore replaces EVERY record of this clinic with the backup\n\n{path}\n"
        f"(file saved {taken}).\n\n"
        "Everything recorded after that backup was taken will no longer be in the records: "
        "refills, prescriptions, events and accounts. The database as it is now is kept "
        "first as a safety copy in the backups folder.\n\n"
        "Close every other pumpmgr window that uses this database before you go on. After "
        "the restore pumpmgr locks: sign in with an account of the restored records."
    )


def broken_chain_question(path: Path, problem: str) -> str:
    """The question before an administrator restores a backup whose audit log is broken."""
    return (
        f"The audit log inside the backup {path} is broken: {problem}.\n\n"
        "Its records may have been changed outside pumpmgr, so it is normally not "
        "restored. As an administrator you can restore it anyway, for example when every "
        "newer backup is broken too. Your decision and your reason are written into the "
        "restored audit log; check the restored records against the paper chart."
    )


def no_manifest_warning(path: Path) -> str:
    """The question before restoring a backup that has no manifest."""
    return (
        f"The backup {path} has no manifest beside it, or one not signed with this "
        "computer's clinic key (a copy made by hand, by an older pumpmgr, or on another "
        "computer).\n\nIt can still be restored: every other check runs (it is a pumpmgr "
        "database, the file is whole, its audit log verifies on its own). But without the "
        "manifest nobody can tell whether a value inside a record (a dose, a date) was "
        "changed since the backup, or whether the audit log was cut short. After the "
        "restore, check the restored records against the paper chart."
    )


class DataTab(QWidget):
    """Back up, restore and export."""

    #: A restore finished; carries the safety copy of the replaced database (or None).
    restored = Signal(object)

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None

        def section(
            title: str, text: str, button: str
        ) -> tuple[QGroupBox, QLabel, QPushButton, QLabel]:
            box = QGroupBox(title, self)
            about = QLabel(text, box)
            about.setWordWrap(True)
            action = QPushButton(button, box)
            action.setAutoDefault(False)
            outcome = QLabel(" ", box)
            outcome.setWordWrap(True)
            outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            inner = QVBoxLayout(box)
            inner.addWidget(about)
            inner.addWidget(action, 0, Qt.AlignmentFlag.AlignLeft)
            inner.addWidget(outcome)
            return box, about, action, outcome

        backup_box, _, self.backup_button, self.backup_result = section(
            "Backup",
            "An online, consistent copy of the clinic's database, safe to take while others "
            "work, with a manifest beside it (its SHA-256 and the audit log's newest entry) "
            "so a restore can check it. pumpmgr also keeps a daily backup by itself.",
            "&Back up to a file…",
        )
        restore_box, restore_about, self.restore_button, self.restore_result = section(
            "Restore",
            "Replace every record with a backup. Everything recorded since the backup was "
            "taken leaves the records (the current database is kept as a safety copy). The "
            "backup is checked first: integrity, pumpmgr schema, manifest and audit chain.",
            "&Restore from a backup…",
        )
        restore_about.setProperty("role", "notice")
        export_box, _, self.export_button, self.export_result = section(
            "Export",
            "Every record, the audit log included, as one JSON document: to move the clinic "
            "to another database (pumpmgr import) or to archive it. It holds every patient's "
            "data: keep it as safe as the database itself.",
            "E&xport as JSON…",
        )
        self.note = QLabel(" ", self)
        self.note.setWordWrap(True)
        self.note.setProperty("role", "muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(backup_box)
        layout.addWidget(restore_box)
        layout.addWidget(export_box)
        layout.addStretch(1)
        self.backup_button.clicked.connect(self.back_up)
        self.restore_button.clicked.connect(self.restore)
        self.export_button.clicked.connect(self.export)

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        admin = actor is not None and actor.role == "administrator"
        sqlite = self.clinic.database.path is not None
        self.backup_button.setEnabled(admin and sqlite)
        self.restore_button.setEnabled(admin and sqlite)
        self.export_button.setEnabled(admin)
        notes = []
        if not admin:
            notes.append(ADMIN_ONLY)
        if not sqlite:
            notes.append(
                "This clinic's database is on a PostgreSQL server: back it up and "
                "restore it with the server's tools (pg_dump -Fc, pg_restore)."
            )
        self.note.setText(" ".join(notes) or " ")

    def _folder(self) -> Path:
        folder = self.clinic.database.backup_dir
        if folder is not None and folder.is_dir():
            return folder
        return Path.home()

    def clear(self) -> None:
        for label in (self.backup_result, self.restore_result, self.export_result):
            label.setText(" ")

    # ----------------------------------------------------------------- actions

    def back_up(self) -> Path | None:
        now = presentation.local_datetime(self.clinic.clock.now(), self.clinic.tz)
        path = messages.save_path(
            self,
            "Back up the clinic's database",
            self._folder() / f"pumpmgr-backup-{now:%Y-%m-%d-%H%M}.db",
            "pumpmgr backups (*.db)",
        )
        if path is None:
            return None
        try:
            manifest = run_in_background(
                self, f"Backing up to {path.name}…", lambda: self.clinic.backup_to(path)
            )
        except Exception as exc:  # every failure reaches the user as a dialog
            messages.show_error(self, exc, "the backup")
            return None
        chain = "audit log intact" if manifest.chain_ok else "audit log BROKEN"
        head = "" if manifest.chain_head_seq is None else f" up to entry #{manifest.chain_head_seq}"
        self.backup_result.setText(
            f"Backup written: {path} ({size_text(manifest.size_bytes)}; {chain}{head}). "
            f"SHA-256 {manifest.sha256[:16]}…, in the manifest {path.name}.json beside it."
        )
        return path

    def restore(self) -> bool:
        if self.actor is None:
            return False
        path = messages.open_path(
            self, "Restore from a backup", self._folder(), "pumpmgr backups (*.db);;All files (*)"
        )
        if path is None:
            return False
        try:
            saved = datetime.fromtimestamp(path.stat().st_mtime, self.clinic.tz)
            taken = presentation.datetime_text(saved, self.clinic.tz)
        except OSError:
            taken = "at an unknown time"
        if not messages.confirm(
            self,
            "Restore from a backup",
            restore_warning(path, taken),
            yes="Replace the records with this backup",
        ):
            return False
        require_manifest = True
        override: BrokenChainOverride | None = None
        while True:
            try:
                safety = run_in_background(
                    self,
                    f"Restoring {path.name}…",
                    functools.partial(
                        self.clinic.restore_from,
                        self.actor,
                        path,
                        require_manifest=require_manifest,
                        override=override,
                    ),
                )
                break
            except PumpMgrError as exc:
                if (
                    exc.code is Code.BACKUP_NO_MANIFEST
                    and require_manifest
                    and messages.confirm(
                        self,
                        "Restore without a manifest",
                        no_manifest_warning(path),
                        yes="Restore without the manifest",
                    )
                ):
                    require_manifest = False
                    continue
                if exc.code is Code.BACKUP_CHAIN_BROKEN and override is None:
                    override = self._override(path, exc.message)
                    if override is not None:
                        continue
                messages.error(self, "Restore", f"The backup was not restored:\n\n{exc.message}")
                self.restore_result.setText(f"Not restored: {exc.message}")
                return False
            except Exception as exc:  # a fault of ours
                messages.show_error(self, exc, "the restore")
                return False
        kept = "" if safety is None else f" The database it replaced is kept as {safety}."
        self.restore_result.setText(f"Restored {path}.{kept}")
        self.restored.emit(safety)
        return True

    def _override(self, path: Path, problem: str) -> BrokenChainOverride | None:
        """The signed-in administrator's decision, with a reason, to restore a backup whose
        audit log is broken; None when they decline (or are not an administrator)."""
        actor = self.actor
        if actor is None or actor.role != "administrator":
            return None
        if not messages.confirm(
            self,
            "Restore a backup with a broken audit log",
            broken_chain_question(path, problem),
            yes="Restore it anyway (administrator)",
        ):
            return None
        reason = messages.ask_text(
            self, "Why restore it anyway?", "Your reason (kept in the restored audit log):"
        )
        if reason is None or not reason.strip():
            return None
        return BrokenChainOverride(actor, reason)

    def export(self) -> Path | None:
        today = self.clinic.today()
        path = messages.save_path(
            self,
            "Export the clinic's records",
            self._folder() / f"pumpmgr-export-{today:%Y-%m-%d}.json",
            "JSON (*.json)",
        )
        actor = self.actor
        if path is None or actor is None:
            return None
        try:
            summary = run_in_background(
                self,
                f"Exporting to {path.name}…",
                lambda: self.clinic.records.export_to(actor, path),
            )
        except Exception as exc:  # every failure reaches the user as a dialog
            messages.show_error(self, exc, "the export")
            return None
        self.export_result.setText(
            f"Exported {summary.rows:,} rows ({summary.patients:,} patients, "
            f"{summary.audit_entries:,} audit entries) to {path}."
        )
        return path
