"""The audit log viewer: a page at a time, newest first, with the chain check.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``audit_entries``, ``audit_count``,
``verify_audit``) and the records models. "Verify chain" checks every entry's hash and its link
to the one before (off the GUI thread); it says the log is intact, or names the first bad entry,
opens its page and marks it.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.services import ClinicService
from ui import messages, presentation
from ui.background import run_in_background
from ui.screens.records_models import (
    AuditLogModel,
    ObjectRole,
    payload_pretty,
    payload_summary,
)
from ui.widgets.record_table import record_table

#: Entries on one page.
PAGE_SIZE = 200


def entries_text(n: int) -> str:
    return "1 entry" if n == 1 else f"{n:,} entries"


class AuditTab(QWidget):
    """The audit log, paged, with "Verify chain"."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        #: Offset of the page shown (entries newer than its first row).
        self.offset = 0
        self.total = 0
        self.model = AuditLogModel(clinic.tz, self)

        about = QLabel("Every change to the records, in order. Each entry's hash covers the one "
                       "before it, so an entry altered, inserted or removed outside pumpmgr "
                       "breaks the chain.", self)
        about.setWordWrap(True)
        about.setProperty("role", "muted")
        self.verify_button = QPushButton("&Verify chain", self)
        self.verify_button.setAutoDefault(False)
        self.verify_button.setToolTip("Check every entry's hash and its link to the one before")
        self.verify_button.clicked.connect(self.verify)
        self.result = QLabel(" ", self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.newer_button = QPushButton("◀ &Newer", self)
        self.newer_button.setAutoDefault(False)
        self.newer_button.clicked.connect(lambda: self.load(self.offset - PAGE_SIZE))
        self.older_button = QPushButton("&Older ▶", self)
        self.older_button.setAutoDefault(False)
        self.older_button.clicked.connect(lambda: self.load(self.offset + PAGE_SIZE))
        self.page_label = QLabel(self)
        self.go_to_entry = QSpinBox(self)
        self.go_to_entry.setRange(1, 1)
        self.go_to_entry.setPrefix("#")
        self.go_to_entry.setAccessibleName("Entry number")
        self.go_button = QPushButton("&Go to entry", self)
        self.go_button.setAutoDefault(False)
        self.go_button.clicked.connect(lambda: self.go_to(self.go_to_entry.value()))

        self.table = record_table(self.model, "Audit log", self)
        self.table.setAlternatingRowColors(True)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_entry())
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("Audit entry")
        self.detail.setPlaceholderText("Select an entry to see everything it recorded.")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        check_row = QHBoxLayout()
        check_row.addWidget(self.verify_button, 0, Qt.AlignmentFlag.AlignTop)
        check_row.addWidget(self.result, 1)
        pager = QHBoxLayout()
        pager.addWidget(self.newer_button)
        pager.addWidget(self.older_button)
        pager.addWidget(self.page_label, 1)
        pager.addWidget(self.go_to_entry)
        pager.addWidget(self.go_button)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(check_row)
        layout.addLayout(pager)
        layout.addWidget(splitter, 1)

    # ----------------------------------------------------------------- paging

    def load(self, offset: int = 0, flagged: int | None = None) -> None:
        """Show the page starting ``offset`` entries from the newest."""
        self.total = self.clinic.audit_count()
        last_page = max(0, (self.total - 1) // PAGE_SIZE * PAGE_SIZE)
        self.offset = min(max(0, offset), last_page)
        rows = self.clinic.audit_entries(self.offset, PAGE_SIZE)
        keep = flagged if flagged is not None else self.model.flagged
        self.model.set_rows(rows, keep)
        if rows:
            self.page_label.setText(f"Entries #{rows[0].seq} to #{rows[-1].seq} "
                                    f"(newest first) of {entries_text(self.total)}")
            newest = rows[0].seq if self.offset == 0 else self.clinic.audit_entries(0, 1)[0].seq
            self.go_to_entry.setRange(1, max(1, newest))
        else:
            self.page_label.setText("No entries yet.")
        self.newer_button.setEnabled(self.offset > 0)
        self.older_button.setEnabled(self.offset + PAGE_SIZE < self.total)
        self.detail.clear()

    def go_to(self, seq: int) -> None:
        """Open the page holding entry ``seq`` and select it."""
        newer = self.clinic.audit_count(newer_than=seq)
        self.load(newer // PAGE_SIZE * PAGE_SIZE)
        row = self.model.row_of(seq)
        if row is None:
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def clear(self) -> None:
        self.model.set_rows([])
        self.detail.clear()
        self.result.setText(" ")
        self.page_label.clear()

    def _show_entry(self) -> None:
        index = self.table.selectionModel().currentIndex()
        entry = index.data(ObjectRole) if index.isValid() else None
        if entry is None:
            self.detail.clear()
            return
        lines = [
            f"Entry #{entry.seq}, {presentation.datetime_text(entry.recorded_at, self.clinic.tz)}"
            f", by {entry.username} at the workstation {entry.workstation}",
            f"Action: {entry.action} on {entry.entity_type}"
            + ("" if entry.entity_id is None else f" #{entry.entity_id}"),
        ]
        if entry.reason:
            lines.append(f"Reason: {entry.reason}")
        lines += [f"What changed: {payload_summary(entry.action, entry.payload, 10_000)}", "",
                  "As stored (magnitudes in the unit their key names: _ml is mL, _mcg_per_day "
                  "mcg/day):", payload_pretty(entry.payload), "",
                  f"Hash {entry.row_hash}", f"Previous entry's hash {entry.prev_hash}"]
        self.detail.setPlainText("\n".join(lines))

    # ----------------------------------------------------------------- checking

    def verify(self) -> None:
        """Check the whole chain and show the verdict; on a break, open the bad entry."""
        try:
            report = run_in_background(self, "Checking the audit log's hash chain…",
                                       self.clinic.verify_audit)
        except Exception as exc:  # every failure reaches the user as a dialog
            messages.show_error(self, exc, "checking the audit log")
            return
        self._set_role("muted" if report.ok else "error")
        if report.ok:
            head = "no entries yet" if report.head is None else f"newest entry #{report.head.seq}"
            self.result.setText(f"Audit log intact: {entries_text(report.entries_checked)} "
                                f"checked, {head}.")
            self.model.flagged = None
            self.load(self.offset)
            return
        bad = report.first_bad_seq
        self.result.setText(
            f"Audit log BROKEN at entry #{bad}: {report.message} The entries before it are "
            f"sound ({report.entries_checked:,} checked). Keep this database and its backups "
            "unchanged and tell the clinic's pumpmgr administrator.")
        if bad is not None:
            self.model.flagged = bad
            self.go_to(bad)
        messages.warn(self, "Audit log broken",
                      f"The audit log is broken at entry #{bad}:\n\n{report.message}\n\nKeep "
                      "this database and its backups unchanged and tell the clinic's pumpmgr "
                      "administrator.")

    def _set_role(self, role: str) -> None:
        self.result.setProperty("role", role)
        self.result.style().unpolish(self.result)
        self.result.style().polish(self.result)
