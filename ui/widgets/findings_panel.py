"""The dose-check findings of a prescription being typed, each warning with its reason box.

UI layer: imports PySide6 and :mod:`pumpmgr.dose_checks` (the :class:`DoseCheck` a service
returned). Every finding is written with its level as a word ("Blocked", "Warning") as well as
a colour. A blocked finding means the form cannot be saved; a warning needs a reason typed
beside it. Reasons are kept by finding code while the nurse goes on typing the dose, so a
reason already written is not lost when the check runs again.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from pumpmgr.dose_checks import DoseCheck, Finding
from pumpmgr.sources import Source, sources_of
from ui import messages
from ui.widgets.style_state import set_role

#: Longest reason kept (the service accepts more, a form line needs no more).
REASON_LENGTH = 300


class FindingsPanel(QGroupBox):
    """What the drug library says about the dose typed; :meth:`set_check` shows a new check."""

    #: A reason was typed, or the findings changed.
    changed = Signal()

    def __init__(self, title: str = "Dose checks", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._check: DoseCheck | None = None
        self._error = ""
        self._reasons: dict[str, str] = {}
        self._shown_key: tuple[object, ...] | None = None
        #: The reason box of each warning, by finding code.
        self.reason_edits: dict[str, QLineEdit] = {}
        #: The "Source: …" line of each finding that rests on a source, in order.
        self.source_labels: list[QLabel] = []
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        #: Why a start waits for the prescriber's signature (domain-rules §7), finding or not.
        self.start_note = QLabel(self)
        self.start_note.setWordWrap(True)
        self.start_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_note.setAccessibleName("Prescriber's signature")
        self.start_note.hide()
        self._rows = QVBoxLayout()
        self._rows.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addWidget(self.summary)
        layout.addWidget(self.start_note)
        layout.addLayout(self._rows)
        self.set_pending("Enter the dose to check it against the drug library.")

    # ----------------------------------------------------------------- showing

    def set_pending(self, text: str) -> None:
        """Nothing to check yet (the dose or the solution is not complete)."""
        self._check, self._error = None, ""
        self._show_summary(text, "muted")
        self._show_start("")
        self._clear_rows()

    def set_error(self, text: str) -> None:
        """The check could not run (for example the dose does not fit a constant-flow pump):
        the form cannot be saved until the entry is corrected."""
        self._check, self._error = None, text
        self._show_summary(f"Cannot be saved: {text}", "error")
        self._show_start("")
        self._clear_rows()
        self.changed.emit()

    def set_check(self, check: DoseCheck, start_note: str = "") -> None:
        """Show ``check``; ``start_note`` (:func:`pumpmgr.wording.start_held_text` of its
        starts) says why a start waits for the prescriber."""
        self._check, self._error = check, ""
        self._show_start(start_note)
        shown = [f for f in check.findings if str(f.level) != "ok"]
        key = tuple((str(f.level), str(f.code), f.message) for f in shown)
        if not shown:
            self._show_summary("OK: within the drug library's limits and titration rules.", "muted")
        elif check.blocked:
            self._show_summary(
                "Blocked: this cannot be saved. Correct the entry (check mg "
                "against mcg and the concentration).",
                "error",
            )
        else:
            self._show_summary("Warning: each warning needs a reason before saving.", "error")
        if key != self._shown_key:
            self._clear_rows()
            self._show_rows(shown)
            self._shown_key = key
        self.changed.emit()

    def _show_summary(self, text: str, role: str) -> None:
        self.summary.setText(text)
        set_role(self.summary, role)

    def _show_start(self, text: str) -> None:
        self.start_note.setText(f"Prescriber's signature: {text}." if text else "")
        self.start_note.setVisible(bool(text))

    def _clear_rows(self) -> None:
        self._shown_key = None
        self.reason_edits = {}
        self.source_labels = []
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()

    def _show_rows(self, findings: list[Finding]) -> None:
        for finding in findings:
            blocked = str(finding.level) == "blocked"
            # a possible tenfold error: the prescriber's blind re-entry and listed reason
            # settle it, not a typed reason here
            stop = str(finding.level) == "stop"
            word = "Blocked" if blocked else "Prescriber only" if stop else "Warning"
            label = QLabel(f"{word}: {finding.message}", self)
            label.setWordWrap(True)
            label.setProperty("role", "error" if blocked or stop else "")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(f"Dose check {word.lower()}")
            self._rows.addWidget(label)
            sources = sources_of(finding.sources)
            if sources:
                self._rows.addWidget(self._source_links(sources))
            code = str(finding.code)
            if blocked or stop or code in self.reason_edits:
                continue
            edit = QLineEdit(self)
            edit.setMaxLength(REASON_LENGTH)
            edit.setPlaceholderText(
                "Reason for accepting this warning (required), for "
                "example 'agreed with Dr Brandt, slow titration'"
            )
            edit.setAccessibleName(f"Reason for {finding.message}")
            edit.setText(self._reasons.get(code, ""))
            edit.textChanged.connect(lambda text, c=code: self._reason_typed(c, text))
            self._rows.addWidget(edit)
            self.reason_edits[code] = edit

    def _source_links(self, sources: tuple[Source, ...]) -> QLabel:
        """ "Source: Infumorph label": each name opens what the source is (domain-rules §6);
        the message itself never carries a reference code."""
        links = ", ".join(f'<a href="{n}">{escape(s.name)}</a>' for n, s in enumerate(sources))
        label = QLabel(f"Source: {links}", self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        label.setProperty("role", "muted")
        label.setAccessibleName("Sources of the dose check")
        label.linkActivated.connect(lambda href: self._open_source(sources[int(href)]))
        self.source_labels.append(label)
        return label

    def _open_source(self, source: Source) -> None:
        messages.info(self, source.name, source.reference)

    def _reason_typed(self, code: str, text: str) -> None:
        self._reasons[code] = text
        self.changed.emit()

    # ----------------------------------------------------------------- reading

    def check(self) -> DoseCheck | None:
        return self._check

    def is_blocked(self) -> bool:
        """Saving is impossible: a blocked finding, or the check could not run."""
        return bool(self._error) or (self._check is not None and self._check.blocked)

    def warning_codes(self) -> list[str]:
        if self._check is None:
            return []
        return list(
            dict.fromkeys(str(f.code) for f in self._check.findings if str(f.level) == "warning")
        )

    def reasons(self) -> dict[str, str]:
        """The reason typed for each current warning, by finding code."""
        return {code: self._reasons.get(code, "").strip() for code in self.warning_codes()}

    def missing_reasons(self) -> list[str]:
        return [code for code, text in self.reasons().items() if not text]

    def problem(self) -> str:
        """What stops saving, in words ('' when the findings allow it)."""
        if self._error:
            return f"the dose check says: {self._error}"
        if self._check is None:
            return "the dose is not complete yet"
        if self._check.blocked:
            return "a dose check is blocked: correct the dose or the concentration"
        if self.missing_reasons():
            count = len(self.missing_reasons())
            return f"{count} dose-check warning{'s need' if count > 1 else ' needs'} a reason"
        return ""

    def texts(self) -> list[str]:
        """Every line shown, for tests and screen readers."""
        lines = [self.summary.text(), *([self.start_note.text()] if self.start_note.text() else [])]
        for index in range(self._rows.count()):
            item = self._rows.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                lines.append(widget.text())
        return lines
