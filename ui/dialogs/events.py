"""Pump and catheter events: implant, replace, explant, catheter revision, MRI, and an alarm,
ERI or note, and the correction of the pump's implant or explant date, each a dialog that
calls one :class:`~pumpmgr.services.ClinicService` method.

UI layer: imports PySide6, :mod:`pumpmgr.services` (the event methods and their inputs),
:mod:`pumpmgr.catalogs` (pump models with their MRI notes), :mod:`pumpmgr.formatting` and the ui
widgets. Every quantity is typed in a :class:`~ui.widgets.quantity_edit.QuantityEdit`; the
catheter and priming volumes come from :mod:`pumpmgr.deadspace` (through
:class:`~ui.dialogs.catheter.CatheterEditor`). A refused save shows the service's message in
the dialog and keeps everything typed; nothing is saved until the one service call succeeds.

Capacity and alarm volume are filled in from the catalog only when the catalog's value is
sourced; an inferred or missing value is left for the nurse to take from the pump's label.

Over 600 lines: seven short dialogs and the pump form two of them share, over one base
(:class:`EventDialog`) and one registry (``DIALOGS``), which the menus and the tests reach as one
module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.catalogs import Catalogs, PumpModel, PumpType
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.formatting import format_number, format_quantity
from pumpmgr.records import PatientChart, PumpRecord
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.inputs import CatheterInput, PumpCorrection, PumpInput
from pumpmgr.services.permissions import Action, allowed
from pumpmgr.units import Kind, Quantity
from pumpmgr.visit_note import RecordRef
from ui import icons, messages, presentation
from ui.dialogs.catheter import CatheterEditor
from ui.tab_order import follow_layout
from ui.widgets.date_edit import DateEdit
from ui.widgets.quantity_edit import QuantityEdit

#: The events in menu order: key, menu text, the service action it needs.
IMPLANT, REPLACE, EXPLANT, REVISION, MRI, NOTE, PUMP_DATES = (
    "implant",
    "replace",
    "explant",
    "catheter_revision",
    "mri",
    "note",
    "pump_dates",
)
EVENTS: tuple[tuple[str, str, Action], ...] = (
    (IMPLANT, "&Implant a pump…", Action.IMPLANT_PUMP),
    (REPLACE, "&Replace the pump…", Action.REPLACE_PUMP),
    (EXPLANT, "E&xplant the pump…", Action.EXPLANT_PUMP),
    (REVISION, "&Catheter revision…", Action.REVISE_CATHETER),
    (MRI, "&MRI…", Action.RECORD_MRI),
    (NOTE, "&Alarm, ERI or note…", Action.RECORD_EVENT),
    (PUMP_DATES, "Correct the pump's &dates…", Action.CORRECT_RECORD),
)
#: The menus put a separator after these kinds (recording, then correcting).
SEPARATED_AFTER = (EXPLANT, NOTE)
SITES = ("right lower abdomen", "left lower abdomen", "right flank", "left flank")


def event_possible(kind: str, chart: PatientChart | None, role: str) -> bool:
    """Whether ``kind`` can be recorded now: the role may, and the patient has (or, for an
    implant, has not) an active pump."""
    action = next((a for k, _, a in EVENTS if k == kind), None)
    if chart is None or action is None or not allowed(role, action):
        return False
    if kind == IMPLANT:
        return chart.pump is None and chart.patient.status == "active"
    if kind == PUMP_DATES:  # an explanted pump's dates too: the newest pump's
        return bool(chart.pumps)
    return chart.pump is not None


# ------------------------------------------------------------------ small pieces


def date_edit(parent: QWidget, field: str, day: date | None, latest: date) -> DateEdit:
    return DateEdit(field, parent, value=day, latest=latest)


def datetime_edit(parent: QWidget, field: str, moment: datetime) -> DateEdit:
    """A local date and 24-hour time, on no day after ``moment``'s (the clinic's now)."""
    return DateEdit(
        field,
        parent,
        with_time=True,
        value=moment.replace(tzinfo=None, second=0, microsecond=0),
        latest=moment.date(),
    )


class _TickingLabel(QLabel):
    """A label that ticks its check box when clicked."""

    def __init__(self, text: str, check: QCheckBox, parent: QWidget) -> None:
        super().__init__(text, parent)
        self.check = check
        self.setWordWrap(True)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.check.toggle()
        self.check.setFocus()
        event.accept()


class CheckItem(QWidget):
    """A check box whose long text wraps (a QCheckBox's text never does). ``isChecked`` and
    ``setChecked`` are named as QCheckBox's, so the two are interchangeable."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(self)
        self.check.setAccessibleName(text)
        self.label = _TickingLabel(text, self.check, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        self.setFocusProxy(self.check)

    def text(self) -> str:
        return self.label.text()

    def isChecked(self) -> bool:
        return self.check.isChecked()

    def setChecked(self, checked: bool) -> None:
        self.check.setChecked(checked)


def picked_date(edit: DateEdit) -> date:
    """The date entered; :class:`InputError` naming the field when it is empty or wrong."""
    return edit.required_day()


def picked_datetime(edit: DateEdit, clinic: ClinicService) -> datetime:
    """The local date and time entered, in the clinic's time zone."""
    return edit.required_moment().replace(tzinfo=clinic.tz)


def _required(edit: QuantityEdit, message: str) -> Quantity:
    quantity = edit.quantity()
    if quantity is None:
        raise InputError(edit.error_text() or message, code=Code.NO_VALUE, field=edit.field)
    return quantity


def _optional(edit: QuantityEdit) -> Quantity | None:
    if edit.error_text():
        raise InputError(edit.error_text(), code=Code.BAD_NUMBER, field=edit.field)
    return edit.quantity()


def pump_text(pump: PumpRecord) -> str:
    return (
        f"{pump.model_name}, serial {pump.serial_number}, implanted "
        f"{presentation.date_text(pump.implanted_on)} ({pump.site})"
    )


# ------------------------------------------------------------------ the pump form


class PumpForm(QWidget):
    """A pump being implanted: model, serial, date, site and its volumes."""

    def __init__(
        self,
        catalogs: Catalogs,
        today: date,
        parent: QWidget | None = None,
        *,
        date_label: str = "&Implanted on",
    ) -> None:
        super().__init__(parent)
        self.catalogs = catalogs
        self.model_combo = QComboBox(self)
        self.model_combo.setAccessibleName("Pump model")
        models = [m for m in catalogs.pumps.values() if not m.custom]
        for model in sorted(models, key=lambda m: (m.legacy, m.name)):
            self.model_combo.addItem(model.name, model.key)
        self.serial = QLineEdit(self)
        self.serial.setMaxLength(64)
        self.serial.setAccessibleName("Serial number")
        self.serial.setPlaceholderText("from the pump's label or the programmer")
        self.implanted_on = date_edit(self, "implant date", today, today)
        self.site = QComboBox(self)
        self.site.setEditable(True)
        self.site.addItems(SITES)
        self.site.setAccessibleName("Implant site")
        self.capacity = QuantityEdit(Kind.VOLUME, "capacity", self, example="20 mL")
        self.alarm = QuantityEdit(Kind.VOLUME, "alarm volume", self, example="2 mL")
        self.nominal_flow = QuantityEdit(Kind.FLOW, "nominal flow", self, example="1 mL/day")
        self.path_volume = QuantityEdit(Kind.VOLUME, "pump fluid path", self, example="0.22 mL")
        self.path_volume.line_edit.setToolTip(
            "The volume from the reservoir to the catheter port. It is not published for any "
            "model: enter it from the manufacturer's calculations guide when known. It counts "
            "in the priming and bridge volumes."
        )
        self.replace_known = QCheckBox("&Known:", self)
        self.replace_by = DateEdit(
            "replace-by date",
            self,
            earliest=today,
            latest=date(today.year + 15, 12, 31),
            missing="not known",
        )
        self.replace_by.setEnabled(False)
        self.replace_by.setToolTip("From the programmer's battery estimate (ERI)")
        self._today = today
        self.replace_known.toggled.connect(self._replace_known)
        replace_row = QWidget(self)
        replace_layout = QHBoxLayout(replace_row)
        replace_layout.setContentsMargins(0, 0, 0, 0)
        replace_layout.addWidget(self.replace_known)
        replace_layout.addWidget(self.replace_by, 1)
        self.replace_row = replace_row
        self.catalog_note = QLabel(self)
        self.catalog_note.setWordWrap(True)
        self.catalog_note.setProperty("role", "muted")

        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("Pump &model", self.model_combo)
        self.form.addRow("", self.catalog_note)
        self.form.addRow("Serial n&umber", self.serial)
        self.form.addRow(date_label, self.implanted_on)
        self.form.addRow("Implant si&te", self.site)
        self.form.addRow("Reservoir &capacity", self.capacity)
        self.alarm_label = QLabel("&Alarm volume", self)
        self.alarm_label.setBuddy(self.alarm)
        self.form.addRow(self.alarm_label, self.alarm)
        self.form.addRow("&Nominal flow", self.nominal_flow)
        self.form.addRow("Pump &fluid path (optional)", self.path_volume)
        self.form.addRow("Replace &by (battery)", replace_row)
        self.model_combo.currentIndexChanged.connect(lambda _: self._model_chosen())
        self._model_chosen()

    def _replace_known(self, known: bool) -> None:
        self.replace_by.setEnabled(known)
        if known and not self.replace_by.text().strip():
            self.replace_by.set_value(self._today)
        elif not known:
            self.replace_by.set_value(None)

    def model(self) -> PumpModel:
        return self.catalogs.pump_model(str(self.model_combo.currentData()))

    def set_model(self, key: str) -> None:
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def _model_chosen(self) -> None:
        model = self.model()
        confirm = model.to_confirm
        notes = []
        for edit, field, value in (
            (self.capacity, "capacity", model.capacity),
            (self.alarm, "alarm_volume", model.alarm_volume),
        ):
            name = "capacity" if field == "capacity" else "alarm volume"
            if value is not None and field not in confirm:
                edit.set_quantity(value)
            else:
                edit.clear()
                if value is not None:
                    notes.append(
                        f"The catalog's {name} ({format_quantity(value, Kind.VOLUME)})"
                        " is an inference, not a sourced value: confirm it from the "
                        "pump's label."
                    )
                else:
                    notes.append(
                        f"The catalog has no {name} for this model: enter it from the pump's label."
                    )
        constant = model.type is PumpType.CONSTANT_FLOW
        self.alarm_label.setText("Planning &volume" if constant else "&Alarm volume")
        self.alarm.line_edit.setToolTip(
            "No device alarm: the volume at which the refill is planned (clinic default 2 mL)"
            if constant
            else "The pump's low-reservoir alarm volume for this patient"
        )
        self.form.setRowVisible(self.nominal_flow, constant)
        self.form.setRowVisible(self.replace_row, not constant)
        if constant:
            self.replace_known.setChecked(False)
            notes.append(
                "Constant flow: the nominal flow is on the pump's label (it differs "
                "from pump to pump)."
            )
        elif model.battery_life_max_years is not None:
            notes.append(
                f"Battery: at most {format_number(model.battery_life_max_years, 1)} "
                "years; take the replace-by date from the programmer's estimate."
            )
        self.catalog_note.setText(" ".join(notes))
        self.catalog_note.setVisible(bool(notes))

    def pump_input(self) -> PumpInput:
        """The pump as the service takes it; :class:`InputError` for a missing value."""
        model = self.model()
        constant = model.type is PumpType.CONSTANT_FLOW
        serial = self.serial.text().strip()
        if not serial:
            raise InputError(
                "serial number: enter the pump's serial number",
                code=Code.NO_VALUE,
                field="serial number",
            )
        capacity = _required(
            self.capacity,
            "capacity: enter the reservoir capacity from the pump's label, for example '20 mL'",
        )
        alarm = _required(
            self.alarm,
            ("planning volume" if constant else "alarm volume") + ": enter it, for example '2 mL'",
        )
        nominal = None
        if constant:
            nominal = _required(
                self.nominal_flow,
                "nominal flow: a constant-flow pump needs its nominal flow, for example '1 mL/day'",
            )
        return PumpInput(
            model_key=model.key,
            serial_number=serial,
            implanted_on=picked_date(self.implanted_on),
            site=self.site.currentText().strip(),
            capacity=capacity,
            alarm_volume=alarm,
            nominal_flow=nominal,
            pump_path_volume=_optional(self.path_volume),
            replace_by=picked_date(self.replace_by)
            if self.replace_known.isChecked() and not constant
            else None,
        )


# ------------------------------------------------------------------ the dialogs


class EventDialog(QDialog):
    """Header, a scrolling body, the problem line and Save/Cancel; :meth:`submit` calls the
    one service method and returns what the status bar should say."""

    title = ""  #: the window's and the heading's title
    #: The reason field, in the dialogs that ask why (:meth:`given_reason`).
    reason: QLineEdit
    save_text = "&Save"
    doing = "saving the event"

    def showEvent(self, event: QShowEvent) -> None:
        follow_layout(self)  # the subclass's fields were made after the buttons
        super().showEvent(event)

    def __init__(
        self,
        clinic: ClinicService,
        actor: Actor,
        chart: PatientChart,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        title = self.title
        self.clinic, self.actor, self.chart = clinic, actor, chart
        self.setWindowTitle(f"{title}: {chart.patient.display_name}")
        self.setWindowIcon(icons.app_icon())
        #: What the status bar says after a save.
        self.saved_text = ""
        #: The event saved, for its visit note (None before a save).
        self.saved_record: RecordRef | None = None
        #: Why the last save was refused (None: it was not).
        self.last_error: PumpMgrError | None = None
        heading = QLabel(title, self)
        heading.setProperty("role", "title")
        who = QLabel(
            f"{chart.patient.display_name}  ·  MRN {chart.patient.mrn}"
            + (
                f"  ·  {pump_text(chart.pump)}" if chart.pump is not None else "  ·  no active pump"
            ),
            self,
        )
        who.setProperty("role", "subtitle")
        who.setWordWrap(True)
        self.body = QWidget(self)
        self.body.setObjectName("page")
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 8, 0)
        scroll = QScrollArea(self)
        scroll.setWidget(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problem = QLabel(" ", self)
        self.problem.setProperty("role", "error")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton(self.save_text, self)
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(who)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(760, 560)
        self.build()

    def build(self) -> None:  # pragma: no cover - every dialog overrides it
        """The dialog's own fields, in :attr:`body_layout`."""
        raise NotImplementedError

    def explain(self, text: str) -> QLabel:
        """A wrapped paragraph at the end of the body."""
        label = QLabel(text, self.body)
        label.setWordWrap(True)
        self.body_layout.addWidget(label)
        return label

    def text_line(self, placeholder: str, name: str = "") -> QLineEdit:
        """A one-line text field of the body (a reason, a note)."""
        line = QLineEdit(self.body)
        line.setMaxLength(2000)
        line.setPlaceholderText(placeholder)
        if name:
            line.setAccessibleName(name)
        return line

    def given_reason(self, why: str) -> str:
        """The reason typed in :attr:`reason`; refused when empty ("say why ``why``")."""
        reason = self.reason.text().strip()
        if not reason:
            raise InputError(f"reason: say why {why}", code=Code.NO_VALUE, field="reason")
        return reason

    @property
    def pump(self) -> PumpRecord:
        assert self.chart.pump is not None
        return self.chart.pump

    def submit(self) -> str:  # pragma: no cover - every dialog overrides it
        raise NotImplementedError

    def save(self) -> bool:
        """Call the service; on a refusal show why and keep the dialog open."""
        self.problem.setText(" ")
        self.last_error = None
        try:
            self.saved_text = self.submit()
        except PumpMgrError as exc:
            self.last_error = exc
            self.problem.setText(f"Not saved: {exc.message}")
            return False
        except Exception as exc:  # a fault of ours: reported, the dialog stays
            messages.show_error(self, exc, self.doing)
            return False
        if self.saved_text:
            self.saved_record = self._new_event()
            self.accept()
        return bool(self.saved_text)

    def _new_event(self) -> RecordRef | None:
        """The event just saved: the newest of the patient's events by this user that the
        chart the dialog opened with did not hold (the services return none)."""
        known = {e.id for e in self.chart.events}
        try:
            events = self.clinic.patient_chart(self.chart.patient.id).events
        except PumpMgrError:
            return None
        mine = [e.id for e in events if e.id not in known and e.user == self.actor.full_name]
        return RecordRef("event", max(mine)) if mine else None

    def fit_height(self) -> None:
        """As tall as the content wants, within the screen."""
        screen = self.screen()
        wanted = self.sizeHint().height() + self.body.sizeHint().height()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().height() - 60)
        self.resize(self.width(), max(self.height(), wanted))


class _PumpDialogBase(EventDialog):
    """Implant and replace: the pump form and a catheter group."""

    def _build(
        self, today: date, date_label: str, catheter_title: str, catheter_checked: bool
    ) -> None:
        self.pump_form = PumpForm(self.clinic.catalogs, today, self.body, date_label=date_label)
        pump_box = QGroupBox("Pump", self.body)
        QVBoxLayout(pump_box).addWidget(self.pump_form)
        self.catheter_check = QCheckBox(catheter_title, self.body)
        self.catheter_check.setChecked(catheter_checked)
        self.catheter_box = QGroupBox("Catheter", self.body)
        self.catheter = CatheterEditor(self.clinic.catalogs, self.catheter_box)
        QVBoxLayout(self.catheter_box).addWidget(self.catheter)
        self.catheter_check.toggled.connect(self.catheter_box.setVisible)
        self.catheter_box.setVisible(catheter_checked)
        self.pump_form.path_volume.quantityChanged.connect(self.catheter.set_pump_path)
        self.body_layout.addWidget(pump_box)
        self.body_layout.addWidget(self.catheter_check)
        self.body_layout.addWidget(self.catheter_box)

    def catheter_input(self) -> CatheterInput | None:
        return self.catheter.catheter_input() if self.catheter_check.isChecked() else None


class ImplantDialog(_PumpDialogBase):
    save_text = "&Save the implant"
    doing = "recording the implant"

    title = "Implant a pump"

    def build(self) -> None:
        self._build(
            self.clinic.today(), "&Implanted on", "Record the cat&heter with the pump", True
        )
        self.body_layout.addStretch(1)
        self.fit_height()

    def submit(self) -> str:
        data = self.pump_form.pump_input()
        pump = self.clinic.implant_pump(
            self.actor, self.chart.patient.id, data, self.catheter_input()
        )
        return (
            f"{pump.model_name} {pump.serial_number} implanted. Next: record its "
            "prescription and first fill."
        )


class ReplaceDialog(_PumpDialogBase):
    save_text = "&Replace the pump"
    doing = "replacing the pump"

    title = "Replace the pump"

    def build(self) -> None:
        old = self.pump
        self.explain(
            f"The pump now in place ({pump_text(old)}) is closed as explanted on the "
            "replacement date; its history stays. The new pump starts without a fill: "
            "record its prescription and first fill next."
        )
        self._build(self.clinic.today(), "Replaced &on", "The cat&heter was changed too", False)
        self.pump_form.set_model(old.model_key)
        self.pump_form.site.setCurrentText(old.site)
        if self.chart.catheter is not None:
            self.catheter.load(self.chart.catheter)
        self.reason = self.text_line("for example: battery at ERI", "Reason for the replacement")
        reason_form = QFormLayout()
        reason_form.addRow("R&eason", self.reason)
        self.body_layout.insertLayout(1, reason_form)
        self.body_layout.addStretch(1)
        self.fit_height()

    def submit(self) -> str:
        reason = self.given_reason("the pump is replaced")
        data = self.pump_form.pump_input()
        new = self.clinic.replace_pump(
            self.actor, self.pump.id, data, reason, self.catheter_input()
        )
        return (
            f"Pump replaced by {new.model_name} {new.serial_number}. Next: record its "
            "prescription and first fill."
        )


class ExplantDialog(EventDialog):
    save_text = "&Explant the pump"
    doing = "recording the explant"

    title = "Explant the pump"

    def build(self) -> None:
        self.explain(
            "The pump is closed as explanted; its history stays. The patient "
            "then has no active pump and leaves the due list. To put in a new "
            "pump at the same operation, use Replace instead."
        )
        self.explanted_on = date_edit(
            self.body, "explant date", self.clinic.today(), self.clinic.today()
        )
        self.reason = self.text_line("for example: pocket infection; therapy ended")
        form = QFormLayout()
        form.addRow("E&xplanted on", self.explanted_on)
        form.addRow("Re&ason", self.reason)
        self.body_layout.addLayout(form)
        self.body_layout.addStretch(1)
        self.resize(640, 320)

    def submit(self) -> str:
        reason = self.given_reason("the pump is explanted")
        if not messages.confirm(
            self,
            "Explant the pump",
            f"Record that {pump_text(self.pump)} was explanted? The "
            "patient will have no active pump.",
            yes="Explant",
        ):
            return ""
        pump = self.clinic.explant_pump(
            self.actor, self.pump.id, picked_date(self.explanted_on), reason
        )
        return f"{pump.model_name} {pump.serial_number} recorded as explanted."


class PumpDatesDialog(EventDialog):
    """Correct the implant date (and, once explanted, the explant date) of the patient's newest
    pump: the service changes the pump and moves its implant or explant event with a
    correcting event, so the history shows the date as first recorded and the correction."""

    save_text = "&Save the correction"
    doing = "correcting the pump's dates"

    title = "Correct the pump's dates"

    def build(self) -> None:
        #: The newest pump: the active one, or the last explanted when none is active.
        self.corrected = self.chart.pumps[-1]
        today = self.clinic.today()
        # the heading names the active pump; an explanted one is named here
        named = self.chart.pump is not None and self.chart.pump.id == self.corrected.id
        self.explain(
            ("" if named else f"{pump_text(self.corrected)}. ")
            + "Give the date as it should have been recorded; the history keeps the date "
            "first recorded, with this correction beneath it."
        )
        self.implanted_on = date_edit(self.body, "implant date", self.corrected.implanted_on, today)
        self.explanted_on: DateEdit | None = None
        form = QFormLayout()
        form.addRow("&Implanted on", self.implanted_on)
        if self.corrected.explanted_on is not None:
            self.explanted_on = date_edit(
                self.body, "explant date", self.corrected.explanted_on, today
            )
            form.addRow("E&xplanted on", self.explanted_on)
        self.reason = self.text_line(
            "for example: date read from the wrong letter", "Reason for the correction"
        )
        form.addRow("Re&ason", self.reason)
        self.body_layout.addLayout(form)
        self.body_layout.addStretch(1)
        self.resize(640, 340)

    def submit(self) -> str:
        reason = self.given_reason("the date is corrected")
        explanted = None if self.explanted_on is None else picked_date(self.explanted_on)
        pump = self.clinic.correct_record(
            self.actor,
            PumpCorrection(
                self.corrected.id,
                implanted_on=picked_date(self.implanted_on),
                explanted_on=explanted,
            ),
            reason,
        )
        return f"{pump.model_name} {pump.serial_number}: dates corrected."


class CatheterRevisionDialog(EventDialog):
    save_text = "&Save the revision"
    doing = "recording the catheter revision"

    title = "Catheter revision"

    def build(self) -> None:
        self.explain(
            "Record the catheter as it is after the revision: each part's "
            "trimmed and implanted length. The earlier catheter record stays "
            "in the history."
        )
        self.revised_on = date_edit(
            self.body, "revision date", self.clinic.today(), self.clinic.today()
        )
        self.note = self.text_line("for example: catheter kinked at the anchor, replaced")
        form = QFormLayout()
        form.addRow("Re&vised on", self.revised_on)
        form.addRow("&Note", self.note)
        box = QGroupBox("Catheter after the revision", self.body)
        self.catheter = CatheterEditor(self.clinic.catalogs, box, pump_path_included=False)
        QVBoxLayout(box).addWidget(self.catheter)
        if self.chart.catheter is not None:
            self.catheter.load(self.chart.catheter)
        self.body_layout.addLayout(form)
        self.body_layout.addWidget(box)
        self.body_layout.addStretch(1)
        self.fit_height()

    def submit(self) -> str:
        catheter = self.catheter.catheter_input()
        self.clinic.revise_catheter(
            self.actor, self.pump.id, catheter, picked_date(self.revised_on), self.note.text()
        )
        volume = self.catheter.volume()
        if volume is None:
            return "Catheter revision recorded."
        shown = format_quantity(volume, Kind.VOLUME)
        return f"Catheter revision recorded; catheter volume {shown}."


# ------------------------------------------------------------------ MRI


@dataclass(frozen=True)
class MriChecklist:
    """What to check for one pump model; each item is (short name for the record, text)."""

    before: tuple[tuple[str, str], ...]
    after: tuple[tuple[str, str], ...]
    post_check: str  #: the post-MRI check the record's "done" box stands for


def mri_checklist(model: PumpModel | None) -> MriChecklist:
    """The checklist for ``model``, from the catalog's MRI notes (domain.md §1.1, §5)."""
    if model is not None and model.key.startswith("synchromed"):
        after: tuple[tuple[str, str], ...] = ()
        if model.legacy:
            after = (
                (
                    "delayed recovery explained",
                    "The motor may take 2 to 24 h to recover: the patient knows the signs "
                    "of withdrawal and whom to call",
                ),
            )
        return MriChecklist(
            before=(
                (
                    "infusion stop explained",
                    "The patient and the MRI team know that infusion stops for the length of "
                    "the scan (the motor's rotor stops)",
                ),
            ),
            after=after,
            post_check="Pump interrogated with the clinician programmer (or myPTM) after the "
            "scan, and running: in telemetry mode it does not resume until it is "
            "interrogated",
        )
    if model is not None and model.type is PumpType.VALVE_GATED:
        after = (("pump refilled", "Pump refilled after the scan"),)
        if model.key.startswith("prometra2"):
            after = (
                (
                    "FAV reset",
                    "Flow-activated valve (FAV) reset after the scan: it stays "
                    "closed until it is reset",
                ),
                *after,
            )
        return MriChecklist(
            before=(
                (
                    "emptied before MRI",
                    "Pump EMPTIED before the MRI: a strong field can open both valves and "
                    "dump the reservoir and catheter contents into the patient",
                ),
                ("1.5 T only", "Scanner is 1.5 T, spatial gradient at most 2,000 G/cm"),
            ),
            after=after,
            post_check="Pump checked after the scan and running",
        )
    if model is not None and model.type is PumpType.CONSTANT_FLOW:
        return MriChecklist(
            before=(), after=(), post_check="Pump site and reservoir checked after the scan"
        )
    return MriChecklist(
        before=(
            (
                "labelling checked",
                "MR conditions checked against the pump's own labelling (pumpmgr has no MRI "
                "information for this model)",
            ),
        ),
        after=(),
        post_check="Pump checked after the scan and running",
    )


class MriDialog(EventDialog):
    save_text = "&Save the MRI"
    doing = "recording the MRI"

    title = "MRI"

    def build(self) -> None:
        try:
            model: PumpModel | None = self.clinic.catalogs.pump_model(self.pump.model_key)
        except PumpMgrError:
            model = None
        self.checklist = mri_checklist(model)
        catalog = QLabel(self.body)
        catalog.setWordWrap(True)
        catalog.setProperty("role", "notice")
        note = model.mri if model is not None and model.mri else self.pump.mri_note
        catalog.setText(
            f"{self.pump.model_name}: {note}"
            if note
            else f"{self.pump.model_name}: no MRI information in the catalog; follow "
            "the manufacturer's labelling."
        )
        self.catalog_text = catalog
        self.when = datetime_edit(
            self.body, "time of the scan", self.clinic.clock.now().astimezone(self.clinic.tz)
        )
        form = QFormLayout()
        form.addRow("Scan &time", self.when)
        self.items: list[tuple[str, CheckItem]] = []
        lists = QVBoxLayout()
        for title, items in (
            ("Before the scan", self.checklist.before),
            ("After the scan", self.checklist.after),
        ):
            if not items:
                continue
            box = QGroupBox(title, self.body)
            box_layout = QVBoxLayout(box)
            for short, text in items:
                check = CheckItem(text, box)
                box_layout.addWidget(check)
                self.items.append((short, check))
            lists.addWidget(box)
        self.post_check = CheckItem(f"Post-MRI check done: {self.checklist.post_check}", self.body)
        post_box = QGroupBox("Post-MRI check (required on the record)", self.body)
        QVBoxLayout(post_box).addWidget(self.post_check)
        self.note = QPlainTextEdit(self.body)
        self.note.setPlaceholderText(
            "for example: 1.5 T lumbar spine; pump interrogated after the scan, running"
        )
        self.note.setMaximumHeight(80)
        self.note.setTabChangesFocus(True)
        note_form = QFormLayout()
        note_form.addRow("&Note", self.note)
        self.body_layout.addWidget(catalog)
        self.body_layout.addLayout(form)
        self.body_layout.addLayout(lists)
        self.body_layout.addWidget(post_box)
        self.body_layout.addLayout(note_form)
        self.body_layout.addStretch(1)
        self.fit_height()

    def record_note(self) -> str:
        """The note as recorded: the nurse's text and each checklist item, done or not."""
        text = self.note.toPlainText().strip()
        if self.items:
            checks = "; ".join(
                f"{short}: {'done' if check.isChecked() else 'NOT done'}"
                for short, check in self.items
            )
            text = f"{text}\nChecklist: {checks}" if text else f"Checklist: {checks}"
        return text

    def submit(self) -> str:
        missing = [check.text() for _, check in self.items if not check.isChecked()]
        if not self.post_check.isChecked():
            missing.append("the post-MRI check (" + self.checklist.post_check + ")")
        if missing and not messages.confirm(
            self,
            "MRI checklist",
            "Not confirmed:\n\n• " + "\n• ".join(missing) + "\n\nSave the MRI with these "
            "recorded as NOT done? Check the pump as soon as possible.",
            yes="Save as not done",
        ):
            return ""
        self.clinic.record_mri(
            self.actor,
            self.pump.id,
            picked_datetime(self.when, self.clinic),
            self.post_check.isChecked(),
            self.record_note(),
        )
        done = "done" if self.post_check.isChecked() else "NOT done"
        return f"MRI recorded (post-MRI check {done})."


class PumpNoteDialog(EventDialog):
    """An alarm, the ERI or a note on the pump."""

    save_text = "&Save"
    doing = "recording the event"
    KINDS = (
        ("alarm", "&Alarm", "which alarm sounded, and what was done"),
        (
            "eri",
            "&ERI (elective replacement indicator)",
            "ERI shown at interrogation; replacement booked for …",
        ),
        ("note", "N&ote", "for example: telephone follow-up, no complaints"),
    )

    title = "Alarm, ERI or note"

    def build(self) -> None:
        self.kind_group = QButtonGroup(self)
        kinds = QHBoxLayout()
        self.kind_buttons: dict[str, QRadioButton] = {}
        for index, (kind, text, _) in enumerate(self.KINDS):
            button = QRadioButton(text, self.body)
            self.kind_group.addButton(button, index)
            self.kind_buttons[kind] = button
            kinds.addWidget(button)
        kinds.addStretch(1)
        self.kind_buttons["note"].setChecked(True)
        self.when = datetime_edit(
            self.body, "time of the event", self.clinic.clock.now().astimezone(self.clinic.tz)
        )
        self.note = QPlainTextEdit(self.body)
        self.note.setTabChangesFocus(True)
        self.note.setMaximumHeight(100)
        self.kind_group.idToggled.connect(lambda _i, _on: self._kind_changed())
        form = QFormLayout()
        form.addRow("What", kinds)
        form.addRow("&When", self.when)
        form.addRow("&Note", self.note)
        self.body_layout.addLayout(form)
        self.body_layout.addStretch(1)
        self._kind_changed()
        self.resize(640, 340)

    def kind(self) -> str:
        return self.KINDS[max(0, self.kind_group.checkedId())][0]

    def _kind_changed(self) -> None:
        hint = next(h for k, _, h in self.KINDS if k == self.kind())
        self.note.setPlaceholderText(hint)

    def submit(self) -> str:
        kind = self.kind()
        note = self.note.toPlainText().strip()
        if not note:
            raise InputError("note: write what happened", code=Code.NO_VALUE, field="note")
        self.clinic.record_event(
            self.actor,
            self.pump.id,
            kind,  # type: ignore[arg-type]
            picked_datetime(self.when, self.clinic),
            note,
        )
        return {"alarm": "Alarm recorded.", "eri": "ERI recorded."}.get(kind, "Note recorded.")


DIALOGS: dict[str, Callable[[ClinicService, Actor, PatientChart, QWidget | None], EventDialog]] = {
    IMPLANT: ImplantDialog,
    REPLACE: ReplaceDialog,
    EXPLANT: ExplantDialog,
    REVISION: CatheterRevisionDialog,
    MRI: MriDialog,
    NOTE: PumpNoteDialog,
    PUMP_DATES: PumpDatesDialog,
}


def make_dialog(
    kind: str,
    clinic: ClinicService,
    actor: Actor,
    chart: PatientChart,
    parent: QWidget | None = None,
) -> EventDialog:
    """The dialog recording ``kind`` for the patient of ``chart``."""
    return DIALOGS[kind](clinic, actor, chart, parent)
