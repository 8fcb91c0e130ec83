"""The audit log viewer: a page at a time, newest first, filtered by patient, user, action and
clinic days, with the chain check.

UI layer: imports PySide6, :mod:`pumpmgr.services` (``records.audit_log``, ``audit_actions``,
``verify_audit``) and the records models. The service decides which entries the signed-in user
may read (the administrator all, anyone else their own and their own patients':
:mod:`pumpmgr.services.audit_trail`). "Verify chain" checks every entry's hash and its link to
the one before (off the GUI thread); it says the log is intact, or names the first bad entry,
opens its page (the filter cleared) and marks it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.errors import PumpMgrError
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.audit_trail import AuditFilter
from ui import messages, presentation
from ui.background import run_in_background
from ui.screens.records_models import (
    AuditLogModel,
    ObjectRole,
    payload_pretty,
    payload_summary,
)
from ui.widgets.date_edit import DateEdit
from ui.widgets.record_table import record_table
from ui.widgets.style_state import set_role

#: Entries on one page.
PAGE_SIZE = 200


def entries_text(n: int) -> str:
    return "1 entry" if n == 1 else f"{n:,} entries"


def _actions(names: list[str]) -> list[str]:
    """Each family (``refill``) before its actions (``refill.record``), for the filter."""
    families = sorted({name.split(".", 1)[0] for name in names if "." in name})
    return sorted([*families, *names], key=lambda n: (n.split(".", 1)[0], "." in n, n))


class AuditTab(QWidget):
    """The audit log, paged, with "Verify chain"."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.clinic = clinic
        self.actor: Actor | None = None
        #: Offset of the page shown (entries newer than its first row).
        self.offset = 0
        self.total = 0
        #: The filter of the entries shown (applied with "Filter").
        self.wanted = AuditFilter()
        self.model = AuditLogModel(clinic.tz, self)
        filters = self._make_filters()

        about = QLabel(
            "Every change to the records, and who signed in, viewed, printed or "
            "exported them, in order. Each entry's hash covers the one before it, so "
            "an entry altered, inserted or removed outside pumpmgr breaks the chain.",
            self,
        )
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
        layout.addLayout(filters)
        layout.addLayout(check_row)
        layout.addLayout(pager)
        layout.addWidget(splitter, 1)

    def _make_filters(self) -> QGridLayout:
        self.patient_filter = QLineEdit(self)
        self.patient_filter.setMaxLength(64)
        self.patient_filter.setPlaceholderText("MRN, every patient when empty")
        self.patient_filter.setAccessibleName("Patient (MRN)")
        self.patient_filter.returnPressed.connect(self.apply_filter)
        self.user_filter = QComboBox(self)
        self.user_filter.setAccessibleName("User")
        self.action_filter = QComboBox(self)
        self.action_filter.setAccessibleName("Action")
        self.since_filter = DateEdit("from", self, missing="the first entry")
        self.until_filter = DateEdit("to", self, missing="today")
        self.filter_button = QPushButton("&Filter", self)
        self.filter_button.setAutoDefault(False)
        self.filter_button.clicked.connect(self.apply_filter)
        self.clear_button = QPushButton("Show &all", self)
        self.clear_button.setAutoDefault(False)
        self.clear_button.clicked.connect(self.clear_filter)
        self.filter_message = QLabel(" ", self)
        self.filter_message.setProperty("role", "error")
        self.filter_message.setWordWrap(True)
        self.filter_message.hide()
        grid = QGridLayout()
        for column, (text, widget) in enumerate(
            (
                ("&Patient (MRN)", self.patient_filter),
                ("U&ser", self.user_filter),
                ("A&ction", self.action_filter),
                ("Fro&m", self.since_filter),
                ("&To", self.until_filter),
            )
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            grid.addWidget(label, 0, column)
            grid.addWidget(widget, 1, column, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.filter_button, 1, 5, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.clear_button, 1, 6, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.filter_message, 2, 0, 1, 7)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        return grid

    def set_actor(self, actor: Actor | None) -> None:
        self.actor = actor
        self.wanted = AuditFilter()

    def _fill_choices(self) -> None:
        """The users and actions to choose from, the current choice kept."""
        users = [u.username for u in self.clinic.list_users()]
        actions = _actions(self.clinic.records.audit_actions())
        for box, everyone, names in (
            (self.user_filter, "Every user", users),
            (self.action_filter, "Every action", actions),
        ):
            chosen = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(everyone, None)
            for name in names:
                box.addItem(
                    name + (" (all)" if box is self.action_filter and "." not in name else ""), name
                )
            box.setCurrentIndex(max(0, box.findData(chosen)))
            box.blockSignals(False)

    def apply_filter(self) -> bool:
        """Show the entries the filter's fields choose, from the newest; a field that cannot
        be read is named and nothing changes."""
        problems = [
            edit.error_text()
            for edit in (self.since_filter, self.until_filter)
            if edit.error_text()
        ]
        mrn = self.patient_filter.text().strip()
        patient_id = None
        if not problems and mrn:
            try:
                patient_id = self.clinic.find_patient(mrn).id
            except PumpMgrError as exc:
                problems.append(f"Patient (MRN): {exc.message}")
        if problems:
            self._say_filter(" ".join(problems))
            return False
        since, until = self.since_filter.day(), self.until_filter.day()
        if since and until and until < since:
            self._say_filter("To: the last day is before the first (From).")
            return False
        self._say_filter(" ")
        self.wanted = AuditFilter(
            patient_id=patient_id,
            username=self.user_filter.currentData(),
            action=self.action_filter.currentData(),
            since=since,
            until=until,
        )
        self.load(0)
        return True

    def clear_filter(self) -> None:
        self.patient_filter.clear()
        self.user_filter.setCurrentIndex(0)
        self.action_filter.setCurrentIndex(0)
        self.since_filter.set_value(None)
        self.until_filter.set_value(None)
        self.apply_filter()

    def _say_filter(self, text: str) -> None:
        self.filter_message.setText(text)
        self.filter_message.setVisible(bool(text.strip()))

    @property
    def filtered(self) -> bool:
        return self.wanted != AuditFilter()

    # ----------------------------------------------------------------- paging

    def load(self, offset: int = 0, flagged: int | None = None) -> None:
        """Show the page starting ``offset`` entries from the newest the filter matches."""
        if self.actor is None:
            return
        self._fill_choices()
        first = self.clinic.records.audit_log(
            self.actor, self.wanted, offset=max(0, offset), limit=PAGE_SIZE
        )
        self.total = first.total
        last_page = max(0, (self.total - 1) // PAGE_SIZE * PAGE_SIZE)
        self.offset = min(max(0, offset), last_page)
        rows = (
            list(first.entries)
            if self.offset == max(0, offset)
            else list(
                self.clinic.records.audit_log(
                    self.actor, self.wanted, offset=self.offset, limit=PAGE_SIZE
                ).entries
            )
        )
        keep = flagged if flagged is not None else self.model.flagged
        self.model.set_rows(rows, keep)
        if rows:
            matching = " matching the filter" if self.filtered else ""
            self.page_label.setText(
                f"Entries #{rows[0].seq} to #{rows[-1].seq} "
                f"(newest first) of {entries_text(self.total)}{matching}"
            )
            self.go_to_entry.setRange(1, max(1, self.clinic.audit_count()))
        else:
            self.page_label.setText(
                "No entries match the filter." if self.filtered else "No entries yet."
            )
        self.newer_button.setEnabled(self.offset > 0)
        self.older_button.setEnabled(self.offset + PAGE_SIZE < self.total)
        self.detail.clear()

    def go_to(self, seq: int) -> None:
        """Open the page holding entry ``seq`` (within the filter) and select it."""
        if self.actor is None:
            return
        newer = self.clinic.records.audit_log(
            self.actor, replace(self.wanted, newer_than=seq), limit=0
        ).total
        self.load(newer // PAGE_SIZE * PAGE_SIZE)
        row = self.model.row_of(seq)
        if row is None:
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
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
        if entry.patient is not None:
            lines.append(f"Patient: {entry.patient.name_and_mrn}")
        if entry.reason:
            lines.append(f"Reason: {entry.reason}")
        lines += [
            f"What changed: {payload_summary(entry.action, entry.payload, 10_000)}",
            "",
            "As stored (magnitudes in the unit their key names: _ml is mL, _mcg_per_day mcg/day):",
            payload_pretty(entry.payload),
            "",
            f"Hash {entry.row_hash}",
            f"Previous entry's hash {entry.prev_hash}",
        ]
        self.detail.setPlainText("\n".join(lines))

    # ----------------------------------------------------------------- checking

    def verify(self) -> None:
        """Check the whole chain and show the verdict; on a break, open the bad entry."""
        try:
            report = run_in_background(
                self, "Checking the audit log's hash chain…", self.clinic.verify_audit
            )
        except Exception as exc:  # every failure reaches the user as a dialog
            messages.show_error(self, exc, "checking the audit log")
            return
        set_role(self.result, "muted" if report.ok else "error")
        if report.ok:
            head = "no entries yet" if report.head is None else f"newest entry #{report.head.seq}"
            self.result.setText(
                f"Audit log intact: {entries_text(report.entries_checked)} checked, {head}."
            )
            self.model.flagged = None
            self.load(self.offset)
            return
        bad = report.first_bad_seq
        self.result.setText(
            f"Audit log BROKEN at entry #{bad}: {report.message} The entries before it are "
            f"sound ({report.entries_checked:,} checked). Keep this database and its backups "
            "unchanged and tell the clinic's pumpmgr administrator."
        )
        if bad is not None:
            self.model.flagged = bad
            if self.filtered:
                self.clear_filter()  # the bad entry may lie outside the filter
            self.go_to(bad)
        messages.warn(
            self,
            "Audit log broken",
            f"The audit log is broken at entry #{bad}:\n\n{report.message}\n\nKeep "
            "this database and its backups unchanged and tell the clinic's pumpmgr "
            "administrator.",
        )
