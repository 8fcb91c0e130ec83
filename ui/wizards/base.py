"""A step-by-step dialog: the steps listed on the left, one step shown, Back / Next / Cancel.

UI layer: imports PySide6 only. Unlike QWizard, a disabled Next always says why beneath the
steps ("To go on: tick 'Patient and pump confirmed'"), so a nurse never hunts for what is
missing. Steps are :class:`WizardStep` widgets: :meth:`WizardStep.problems` lists what stops
Next, :meth:`WizardStep.enter` runs when the step is shown and :meth:`WizardStep.leave` when
Next is pressed (it may refuse, for example when the second nurse's entry does not match).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.tab_order import follow_layout


class WizardStep(QWidget):
    """One step: a title, a line saying what to do, and the step's own widgets in
    :attr:`body` (scrolled when the window is small)."""

    #: Something was typed or chosen: the wizard asks :meth:`problems` again.
    changed = Signal()

    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.heading = QLabel(title, self)
        self.heading.setProperty("role", "title")
        self.intro = QLabel(intro, self)
        self.intro.setWordWrap(True)
        self.intro.setProperty("role", "subtitle")
        self.intro.setVisible(bool(intro))
        content = QWidget(self)
        content.setObjectName("page")
        self.content = content  # the scrolled widget holding ``body``
        self.body = QVBoxLayout(content)
        self.body.setContentsMargins(0, 4, 8, 4)
        self.body.setSpacing(8)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidget(content)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.intro)
        layout.addWidget(self.scroll_area, 1)

    def problems(self) -> list[str]:
        """What stops Next, in words; empty when the step is complete."""
        return []

    def enter(self) -> None:
        """The step is shown (it may read what earlier steps gave)."""

    def leave(self) -> bool:
        """Next was pressed on a complete step; False keeps the step shown."""
        return True

    def first_input(self) -> QWidget | None:
        """The widget that gets the keyboard focus when the step is shown."""
        return None


class StepWizard(QDialog):
    """The frame of a step-by-step dialog; subclasses add steps and decide what Next does on
    the last one (:meth:`finish`)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.steps: list[WizardStep] = []
        self.header = QLabel(self)
        self.header.setProperty("role", "subtitle")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.step_list = QListWidget(self)
        self.step_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.step_list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.step_list.setFixedWidth(self.step_list.fontMetrics().height() * 15)
        self.step_list.setAccessibleName("Steps")
        self.stack = QStackedWidget(self)
        self.problem_label = QLabel(" ", self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setProperty("role", "error")
        self.problem_label.setAccessibleName("What is missing")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAutoDefault(False)
        self.back_button = QPushButton("< &Back", self)
        self.back_button.setAutoDefault(False)
        self.next_button = QPushButton("&Next >", self)
        self.next_button.setDefault(True)
        # A disabled Next must look disabled, also as the default button.
        self.setStyleSheet(
            "QPushButton:default:disabled { background: #d5dde0; "
            "color: #6b777c; border: 1px solid #c9d2d6; }"
        )
        self.cancel_button.clicked.connect(self.reject)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)

        side = QVBoxLayout()
        side.addWidget(self.step_list, 1)
        main = QHBoxLayout()
        main.addLayout(side)
        main.addSpacing(10)
        main.addWidget(self.stack, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem_label, 1)
        buttons.addSpacing(12)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(main, 1)
        layout.addLayout(buttons)
        # Ctrl+Enter: Next from anywhere, even from a multi-line note.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(self.next)

    # ----------------------------------------------------------------- steps

    def add_step(self, step: WizardStep) -> WizardStep:
        self.steps.append(step)
        self.stack.addWidget(step)
        self.step_list.addItem(QListWidgetItem(step.title))
        step.changed.connect(self.step_changed)
        self._fit_step_list()
        return step

    def _fit_step_list(self) -> None:
        """As wide as the longest step's line in bold (how the current step shows), in the
        font in use: no step is cut off with larger text."""
        font = QFont(self.step_list.font())
        font.setBold(True)
        metrics = QFontMetrics(font)
        widest = max(
            metrics.horizontalAdvance(f"▶  {number + 1}. {step.title}")
            for number, step in enumerate(self.steps)
        )
        spare = 2 * self.step_list.frameWidth() + 2 * metrics.height()  # item margins
        self.step_list.setFixedWidth(max(widest + spare, metrics.height() * 15))

    def step_changed(self) -> None:
        """Something was typed on a step: check again what stops Next."""
        self.update_buttons()

    @property
    def index(self) -> int:
        return self.stack.currentIndex()

    def current(self) -> WizardStep:
        return self.steps[self.index]

    def go_to(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        step = self.steps[index]
        step.enter()
        follow_layout(self)  # the step may have made rows on entering
        self._mark_steps()
        self.update_buttons()
        focus = step.first_input()
        if focus is not None:
            focus.setFocus()

    def _mark_steps(self) -> None:
        for number in range(self.step_list.count()):
            item = self.step_list.item(number)
            done, here = number < self.index, number == self.index
            mark = "✓" if done else ("▶" if here else " ")
            item.setText(f"{mark}  {number + 1}. {self.steps[number].title}")
            font = QFont(item.font())
            font.setBold(here)
            item.setFont(font)
            item.setForeground(Qt.GlobalColor.black if here or done else Qt.GlobalColor.gray)

    def update_buttons(self) -> None:
        if not self.steps:
            return
        problems = self.current().problems()
        self.problem_label.setText(
            "To go on: "
            + problems[0]
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            if problems
            else " "
        )
        self.next_button.setEnabled(not problems)
        self.back_button.setEnabled(self.can_go_back())
        self.next_button.setText(self.next_text())

    def can_go_back(self) -> bool:
        return self.index > 0

    def next_text(self) -> str:
        return "&Next >"

    def next(self) -> None:
        """Next: leave the step (it may refuse) and show the following one, or finish."""
        if not self.next_button.isEnabled() or self.current().problems():
            return
        if not self.current().leave():
            self.update_buttons()
            return
        if self.index + 1 < len(self.steps):
            self.go_to(self.index + 1)
        else:
            self.finish()

    def back(self) -> None:
        if self.can_go_back():
            self.go_to(self.index - 1)

    def finish(self) -> None:
        self.accept()

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.reject()
