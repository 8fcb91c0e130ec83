"""The first run of a real clinic (issue 15): where its records live, the clinic's name and
phone, time zone, refill buffer and paper size, its open and closed days, its administrator's
account, then the drug library's unconfirmed values for the administrator to confirm or change
(domain-rules §6).

UI layer: imports PySide6, :mod:`pumpmgr.services` (``configuration.set_up_clinic``,
``records.switch_database``, ``edit_drug_library``), :mod:`pumpmgr.services.library_edits`
(which values are unconfirmed) and :mod:`pumpmgr.workstation`. Everything is written by the
services, audited; nothing is written before the administrator's step. A database that already
holds a clinic (a further workstation pointed at the clinic's server) ends the first run: the
workstation remembers it and its users sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QWidget,
)

from pumpmgr import workstation
from pumpmgr.catalogs import Drug
from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import date_example, format_date
from pumpmgr.identity import clean_phone
from pumpmgr.records import ClinicSettings
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.library_edits import unconfirmed
from pumpmgr.units import Kind, Quantity
from ui import icons, messages
from ui.screens.records_library import FIELDS
from ui.screens.records_settings import DAY_WORDS
from ui.widgets.database_choice import DatabaseChoice
from ui.widgets.date_edit import DateEdit
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.style_state import set_role
from ui.widgets.time_zone import TimeZoneBox
from ui.wizards.base import StepWizard, WizardStep

#: The library values' labels, as the drug library editor shows them.
LABELS = {field: label for field, label, _, _ in FIELDS}
CONFIRM_REASON = "Confirmed by the administrator at the clinic's first run"


def _say(label: QLabel, text: str, error: bool) -> None:
    label.setText(text)
    set_role(label, "error" if error else "muted")


class PlaceStep(WizardStep):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(
            "Where the records live",
            "One workstation keeps the clinic's records in a file on this computer (on a "
            "local disk that is backed up, never a network share). Several workstations share "
            "them on the clinic's PostgreSQL server, which IT sets up first "
            "(docs/deployment.md).",
            wizard,
        )
        self.wizard = wizard
        database = wizard.clinic.database
        self.opened = _address(wizard.clinic)
        self.choice = DatabaseChoice(
            database.path or Path(), "" if database.path else self.opened, self
        )
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        self.body.addWidget(self.choice)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        self.choice.changed.connect(self.changed)

    def problems(self) -> list[str]:
        return self.choice.problems()

    def first_input(self) -> QWidget:
        return self.choice.file if not self.choice.on_server() else self.choice.address

    def leave(self) -> bool:
        chosen = self.choice.chosen()
        clinic = self.wizard.clinic
        if chosen != _address(clinic):
            try:
                clinic.records.switch_database(chosen)
            except PumpMgrError as exc:
                _say(self.message, f"Not opened: {exc.message}.", True)
                return False
        _say(self.message, " ", False)
        if clinic.has_users():  # a clinic already: this workstation joins it
            self.wizard.remember()
            messages.info(
                self,
                "pumpmgr: the clinic's records",
                f"{chosen} already holds {clinic.settings().clinic_name}'s records. "
                "This workstation now uses them: sign in with your own account.",
            )
            self.wizard.accept()
            return False
        return True


class ClinicStep(WizardStep):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(
            "The clinic",
            "Printed on every sheet and the wallet card; an "
            "administrator changes them later in Records → Settings.",
            wizard,
        )
        defaults = ClinicSettings()
        self.name = QLineEdit(self)
        self.name.setMaxLength(200)
        self.name.setPlaceholderText("for example 'Pain Clinic, St Mary's Hospital'")
        self.phone = QLineEdit(self)
        self.phone.setMaxLength(64)
        self.phone.setPlaceholderText("printed on the wallet card and the worksheets")
        self.time_zone = TimeZoneBox(self)
        self.buffer = QSpinBox(self)
        self.buffer.setRange(0, 60)
        self.buffer.setSuffix(" days")
        self.buffer.setValue(defaults.buffer_days)
        self.buffer.setToolTip("The refill is due this many days before the alarm date")
        self.page_size = QComboBox(self)
        self.page_size.addItems(["A4", "Letter"])
        form = QFormLayout()
        # each Alt key once: N is Next, B is Back
        form.addRow("Clinic na&me", self.name)
        form.addRow("Clinic &phone", self.phone)
        form.addRow("&Time zone", self.time_zone)
        form.addRow("Refill b&uffer before the alarm", self.buffer)
        form.addRow("Paper si&ze", self.page_size)
        self.body.addLayout(form)
        self.body.addStretch(1)
        self.name.textChanged.connect(self.changed)
        self.phone.textChanged.connect(self.changed)
        self.time_zone.currentTextChanged.connect(self.changed)

    def problems(self) -> list[str]:
        problems = []
        if not self.name.text().strip():
            problems.append("type the clinic's name")
        try:
            clean_phone(self.phone.text(), "clinic phone")
        except PumpMgrError as exc:
            problems.append(exc.message)
        if not self.time_zone.zone():
            problems.append(
                "choose the clinic's time zone from the list, for example Europe/London"
            )
        return problems

    def first_input(self) -> QWidget:
        return self.name


class _EnterAdds(QObject):
    """Enter in the closed-day box adds the day typed there: it must not press Next and leave
    the step with the day not added (Enter in an empty box is Next)."""

    def __init__(self, step: DaysStep) -> None:
        super().__init__(step)
        self.step = step

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.step.closed_day.text().strip()
        ):
            self.step.add_closed_day()
            return True
        return super().eventFilter(watched, event)


class DaysStep(WizardStep):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(
            "Open and closed days",
            "A refill is only due on a day the clinic is "
            "open: the refill-due date moves back to the last open day before it.",
            wizard,
        )
        days = QHBoxLayout()
        self.days: list[QCheckBox] = []
        for number, word in enumerate(DAY_WORDS):
            check = QCheckBox(word, self)
            check.setChecked(number in ClinicSettings().open_days)
            check.toggled.connect(self.changed)
            days.addWidget(check)
            self.days.append(check)
        days.addStretch(1)
        self.closed_day = DateEdit("closed day", self, earliest=date.today())
        self.add_button = QPushButton("&Add the closed day", self)
        self.add_button.setAutoDefault(False)
        self.closed = QListWidget(self)
        self.closed.setAccessibleName("Closed days")
        self.closed.setMaximumHeight(self.closed.fontMetrics().height() * 8)
        self.remove_button = QPushButton("&Remove", self)
        self.remove_button.setAutoDefault(False)
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")
        adding = QHBoxLayout()
        adding.addWidget(self.closed_day, 1)
        adding.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        listing = QHBoxLayout()
        listing.addWidget(self.closed, 1)
        listing.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        form = QFormLayout()
        form.addRow("Clinic open on", days)
        form.addRow("Closed day (a holiday)", adding)
        form.addRow("Closed days", listing)
        self.body.addLayout(form)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        self.dates: list[date] = []
        self.add_button.clicked.connect(self.add_closed_day)
        self.remove_button.clicked.connect(self.remove_closed_day)
        self.closed_day.line_edit.textChanged.connect(self.changed)
        self._enter_adds = _EnterAdds(self)
        self.closed_day.line_edit.installEventFilter(self._enter_adds)

    def open_days(self) -> frozenset[int]:
        return frozenset(i for i, check in enumerate(self.days) if check.isChecked())

    def add_closed_day(self) -> bool:
        day = self.closed_day.day()
        if day is None:
            _say(
                self.message,
                self.closed_day.error_text()
                or f"closed day: type a date, for example {date_example()}",
                True,
            )
            return False
        if day not in self.dates:
            self.dates = sorted({*self.dates, day})
            self.closed.clear()
            self.closed.addItems([format_date(d) for d in self.dates])
        self.closed_day.set_value(None)
        _say(self.message, " ", False)
        return True

    def remove_closed_day(self) -> None:
        row = self.closed.currentRow()
        if 0 <= row < len(self.dates):
            del self.dates[row]
            self.closed.takeItem(row)

    def problems(self) -> list[str]:
        problems = [] if self.open_days() else ["tick a day the clinic is open"]
        if self.closed_day.text().strip():
            problems.append("closed day: add the day typed (Enter or Alt+A), or empty its box")
        return problems

    def first_input(self) -> QWidget:
        return self.days[0]


class AdministratorStep(WizardStep):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(
            "The administrator",
            "The administrator adds the nurses' and "
            "prescribers' accounts afterwards. Next creates the clinic: its "
            "settings and this account, audited.",
            wizard,
        )
        self.wizard = wizard
        self.full_name = QLineEdit(self)
        self.full_name.setMaxLength(200)
        self.username = QLineEdit(self)
        self.username.setMaxLength(64)
        self.username.setPlaceholderText("for example a.admin")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("at least 8 characters")
        self.repeat = QLineEdit(self)
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Full name", self.full_name)
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)
        form.addRow("&Repeat password", self.repeat)
        self.body.addLayout(form)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        for edit in (self.full_name, self.username, self.password, self.repeat):
            edit.textChanged.connect(self.changed)

    def problems(self) -> list[str]:
        problems = [
            f"type the administrator's {what}"
            for what, edit in (
                ("full name", self.full_name),
                ("user name", self.username),
                ("password", self.password),
            )
            if not edit.text().strip()
        ]
        if self.password.text() and self.repeat.text() != self.password.text():
            problems.append("type the same password twice")
        return problems

    def first_input(self) -> QWidget:
        return self.full_name

    def leave(self) -> bool:
        try:
            actor = self.wizard.clinic.configuration.set_up_clinic(
                self.username.text(),
                self.password.text(),
                self.full_name.text(),
                self.wizard.settings(),
            )
        except PumpMgrError as exc:
            _say(self.message, f"Not created: {exc.message}.", True)
            return False
        self.password.clear()
        self.repeat.clear()
        self.wizard.actor = actor
        self.wizard.remember()
        return True


@dataclass
class _Value:
    drug: Drug
    field: str
    edit: QuantityEdit
    confirm: QCheckBox


class LibraryStep(WizardStep):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(
            "Drug library values",
            "These values are marked unconfirmed: they are in force, and every finding that "
            "uses them says 'unconfirmed' until you confirm or change them. Tick each value "
            "your clinic confirms, after changing it where yours differs. Values left "
            "unticked stay unconfirmed; Records → Drug library changes them later.",
            wizard,
        )
        self.wizard = wizard
        self.values: list[_Value] = []
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(12)
        for column, title in enumerate(("Drug", "Limit", "Value (change it if yours differs)", "")):
            heading = QLabel(title, self)
            heading.setProperty("role", "subtitle")
            self.grid.addWidget(heading, 0, column)
        self.grid.setColumnStretch(2, 1)
        self.reason = QLineEdit(CONFIRM_REASON, self)
        self.reason.setMaxLength(2000)
        self.message = QLabel(" ", self)
        self.message.setWordWrap(True)
        reason = QFormLayout()
        reason.addRow("&Reason (audited)", self.reason)
        self.body.addLayout(self.grid)
        self.body.addLayout(reason)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        self.reason.textChanged.connect(self.changed)

    def enter(self) -> None:
        if self.values:
            return
        for row, (drug, field) in enumerate(unconfirmed(self.wizard.clinic.library()), 1):
            kind = Kind.CONCENTRATION if field == "max_concentration" else Kind.DOSE_RATE
            edit = QuantityEdit(
                kind, f"{drug.name} {LABELS[field].lower()}", self, mass_unit=drug.display_unit
            )
            edit.set_quantity(getattr(drug, field).value)
            edit.message.hide()  # one line a value: a typing mistake shows under "To go on"
            confirm = QCheckBox("Confirmed", self)
            confirm.setAccessibleName(f"{drug.name} {LABELS[field]} confirmed")
            self.grid.addWidget(QLabel(drug.name, self), row, 0)
            self.grid.addWidget(QLabel(LABELS[field], self), row, 1)
            self.grid.addWidget(edit, row, 2)
            self.grid.addWidget(confirm, row, 3)
            edit.line_edit.textChanged.connect(self.changed)
            confirm.toggled.connect(self.changed)
            self.values.append(_Value(drug, field, edit, confirm))
        if not self.values:
            _say(self.message, "The drug library has no unconfirmed value.", False)
        # rows made on entering: scrolled, not squeezed
        self.content.setMinimumHeight(self.content.minimumSizeHint().height())

    def problems(self) -> list[str]:
        ticked = [v for v in self.values if v.confirm.isChecked()]
        problems = [
            v.edit.error_text() or f"{v.edit.field}: type the value with its unit"
            for v in ticked
            if v.edit.quantity() is None
        ]
        if ticked and not self.reason.text().strip():
            problems.append("give the reason the audit log keeps")
        return problems

    def changes(self) -> dict[str, dict[str, Quantity | bool | None]]:
        """The ticked values by drug key."""
        by_drug: dict[str, dict[str, Quantity | bool | None]] = {}
        for value in self.values:
            if value.confirm.isChecked() and value.confirm.isEnabled():
                by_drug.setdefault(value.drug.key, {})[value.field] = value.edit.quantity()
        return by_drug

    def leave(self) -> bool:
        actor = self.wizard.actor
        assert actor is not None  # the administrator's step came first
        reason = self.reason.text().strip()
        for key, changes in self.changes().items():
            try:
                self.wizard.clinic.edit_drug_library(actor, key, changes, reason)
            except PumpMgrError as exc:
                _say(self.message, f"Not saved: {exc.message}.", True)
                return False
            for value in self.values:  # saved: not sent again if a later drug is refused
                if value.drug.key == key:
                    value.confirm.setEnabled(False)
                    value.edit.setEnabled(False)
        return True


class FirstRunWizard(StepWizard):
    """Set up a new clinic; :attr:`actor` is its administrator, signed in, once created."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__("pumpmgr: a new clinic", parent)
        self.setWindowIcon(icons.app_icon())
        self.clinic = clinic
        self.actor: Actor | None = None
        self.header.setText(
            "This clinic has no records yet. Set it up in five steps; each "
            "setting can be changed later by an administrator."
        )
        self.place = PlaceStep(self)
        self.about_clinic = ClinicStep(self)
        self.days = DaysStep(self)
        self.administrator = AdministratorStep(self)
        self.library = LibraryStep(self)
        for step in (self.place, self.about_clinic, self.days, self.administrator, self.library):
            self.add_step(step)
        self.resize(980, 640)
        self.go_to(0)

    def settings(self) -> ClinicSettings:
        """The clinic's settings as typed."""
        return ClinicSettings(
            clinic_name=self.about_clinic.name.text(),
            clinic_phone=self.about_clinic.phone.text(),
            time_zone=self.about_clinic.time_zone.zone(),
            buffer_days=self.about_clinic.buffer.value(),
            page_size="Letter" if self.about_clinic.page_size.currentText() == "Letter" else "A4",
            open_days=self.days.open_days(),
            closed_dates=frozenset(self.days.dates),
        )

    def remember(self) -> None:
        """Keep the place chosen for this workstation's next starts, when it is not the one
        this start opened (``--db``, ``PUMPMGR_DB``, the remembered one or the default)."""
        if self.place.choice.chosen() != self.place.opened:
            workstation.remember_database(self.place.choice.chosen())

    def can_go_back(self) -> bool:
        return super().can_go_back() and self.actor is None  # the clinic exists now

    def typed_anything(self) -> bool:
        """Something was typed on the steps before the clinic is created."""
        about, admin = self.about_clinic, self.administrator
        return bool(
            self.days.dates
            or any(
                edit.text().strip()
                for edit in (
                    about.name,
                    about.phone,
                    admin.full_name,
                    admin.username,
                    admin.password,
                )
            )
        )

    def reject(self) -> None:
        """Cancel, Escape or the window's close: before the clinic exists, and with something
        typed, ask first (nothing typed is kept)."""
        if (
            self.actor is None
            and self.typed_anything()
            and not messages.confirm(
                self,
                "pumpmgr: a new clinic",
                "Stop setting up the clinic? Nothing typed here is kept.",
                yes="Stop",
                no="Go on",
            )
        ):
            return
        super().reject()

    def next_text(self) -> str:
        if self.current() is self.administrator:
            return "&Create the clinic >"
        return "&Finish" if self.current() is self.library else super().next_text()

    @classmethod
    def ask(cls, clinic: ClinicService, parent: QWidget | None = None) -> Actor | None:
        """The new clinic's administrator, signed in; None when the first run was cancelled
        or found a clinic already (``clinic.has_users()`` then says which)."""
        wizard = cls(clinic, parent)
        wizard.exec()
        return wizard.actor


def _address(clinic: ClinicService) -> str:
    database = clinic.database
    if database.path is not None:
        return str(database.path)
    return database.url.render_as_string(hide_password=False)
