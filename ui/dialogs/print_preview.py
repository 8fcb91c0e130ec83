"""Printing: the preview of a printed sheet with Print and Save as PDF, the choice of a period
or a day, and the background job that builds a long batch without freezing the window.

UI layer: imports PySide6 (QtGui, QtWidgets, QtPrintSupport), :mod:`pumpmgr.errors`,
:mod:`pumpmgr.services` and :mod:`ui.messages`. The sheets themselves are built by
:class:`pumpmgr.services.sheets.SheetService` (PDF bytes); this module only asks which, shows,
prints and saves them.

Pages are drawn with ``pypdfium2`` (PDFium, a dependency: Qt's own PDF module is not part of
PySide6-Essentials). Printing draws each page at the printer's resolution (up to 300 dpi). A PDF
that cannot be drawn leaves Save as PDF on and Print off, and says so.

The patient view, the dashboard and the refill wizard print through :func:`print_patient_sheet`,
:func:`print_due_list` and :func:`print_day` (the day's worksheets are built on a worker thread,
:mod:`ui.background`; the result comes back by signal). Tests replace :func:`preview`,
:func:`choose_printer`, :func:`ask_period` and :func:`ask_day` (called through the module) so
no modal window blocks them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import pypdfium2  # type: ignore[import-untyped]
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.booking import closed_day_text
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.files import write_private_bytes
from pumpmgr.formatting import format_date
from pumpmgr.services import ClinicService
from pumpmgr.services.audit_trail import PRINT_ACTION
from pumpmgr.services.bookings import calendar_of
from pumpmgr.services.sheets import SheetService
from ui import messages
from ui.background import Background, Report, run_in_background
from ui.widgets.date_edit import DateEdit

log = logging.getLogger(__name__)

#: Width of a page in the preview, in device-independent pixels.
PREVIEW_WIDTH = 760
#: Printing never draws pages finer than this (dots per inch).
MAX_PRINT_DPI = 300
#: Days shown by default when printing the due list.
DEFAULT_PERIOD_DAYS = 14


# ------------------------------------------------------------------ drawing pages


def render_pages(pdf: bytes, dpi: float) -> list[QImage]:
    """Every page of ``pdf`` drawn at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for number in range(len(document)):
            page = document[number]
            bitmap = page.render(scale=dpi / 72, rev_byteorder=True, prefer_bgrx=True)
            image = QImage(
                bytes(bitmap.buffer),
                bitmap.width,
                bitmap.height,
                bitmap.stride,
                QImage.Format.Format_RGBX8888,
            )
            pages.append(image.copy())  # own the pixels before pdfium frees its buffer
            bitmap.close()
            page.close()
    finally:
        document.close()
    return pages


def print_pdf(pdf: bytes, printer: QPrinter) -> int:
    """Draw every page of ``pdf`` on ``printer`` (fitted to its page, aspect kept); the number of
    pages printed."""
    dpi = min(float(printer.resolution()), MAX_PRINT_DPI)
    pages = render_pages(pdf, dpi)
    painter = QPainter()
    if not painter.begin(printer):
        raise PumpMgrError(
            "the printer could not be opened; check it is on and try again", code=Code.OUT_OF_RANGE
        )
    try:
        for number, image in enumerate(pages):
            if number:
                printer.newPage()
            area = painter.viewport()
            size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.setViewport(area.x(), area.y(), size.width(), size.height())
            painter.setWindow(image.rect())
            painter.drawImage(0, 0, image)
            painter.setViewport(area)
            painter.setWindow(area)
    finally:
        painter.end()
    return len(pages)


# ------------------------------------------------------------------ asking


def choose_printer(parent: QWidget | None) -> QPrinter | None:
    """The system print dialog; the printer chosen, or None when cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return printer


def _ask(
    parent: QWidget | None, title: str, rows: list[tuple[str, DateEdit]], note: str, ok_text: str
) -> QDialog:
    """A small dialog of date rows, a muted note and OK (named ``ok_text``) / Cancel."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    form = QFormLayout()
    for label, edit in rows:
        edit.setParent(dialog)
        form.addRow(label, edit)
    explanation = QLabel(note, dialog)
    explanation.setWordWrap(True)
    explanation.setProperty("role", "muted")
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addLayout(form)
    layout.addWidget(explanation)
    layout.addWidget(buttons)
    return dialog


def ask_period(parent: QWidget | None, today: date) -> tuple[date, date] | None:
    """The period of the due list to print (first and last day), or None when cancelled."""
    start = DateEdit("first day", value=today)
    end = DateEdit("last day", value=today + timedelta(days=DEFAULT_PERIOD_DAYS))
    dialog = _ask(
        parent,
        "Print the due list",
        [("&From", start), ("&To (included)", end)],
        "Every active pump whose refill falls due in the period, with the overdue ones first.",
        "Preview",
    )
    while dialog.exec() == QDialog.DialogCode.Accepted:
        try:
            first, last = start.required_day(), end.required_day()
        except InputError as exc:
            messages.warn(dialog, "Print the due list", str(exc))
            continue
        if last >= first:
            return first, last
        messages.warn(
            dialog,
            "Print the due list",
            "The period ends before it starts: choose a last day on or after the first.",
        )
    return None


def ask_day(
    parent: QWidget | None, default: date, is_open: Callable[[date], bool] | None = None
) -> date | None:
    """The clinic day whose worksheets to print (``default`` shown first; a day ``is_open``
    refuses is asked again), or None when cancelled."""
    day = DateEdit("clinic day", value=default)
    dialog = _ask(
        parent,
        "Print a day's worksheets",
        [("Clinic &day", day)],
        "One refill worksheet for every visit booked on this day, in booked time "
        "order, then the patients due by then and not booked.",
        "Build worksheets",
    )
    while dialog.exec() == QDialog.DialogCode.Accepted:
        try:
            chosen = day.required_day()
        except InputError as exc:
            messages.warn(dialog, "Print a day's worksheets", str(exc))
            continue
        if is_open is None or is_open(chosen):
            return chosen
        messages.warn(dialog, "Print a day's worksheets", f"clinic day: {closed_day_text(chosen)}")
    return None


# ------------------------------------------------------------------ the preview


def save_pdf(parent: QWidget | None, pdf: bytes, filename: str) -> Path | None:
    """Ask where, write the PDF there, say so; None when cancelled or not written."""
    path = messages.save_path(parent, "Save as PDF", Path.home() / filename, "PDF files (*.pdf)")
    if path is None:
        return None
    if path.suffix.lower() != ".pdf":
        path = path.with_suffix(".pdf")
    try:
        write_private_bytes(path, pdf)  # owner-only: the sheet names patients
    except OSError as exc:
        messages.error(
            parent,
            "Save as PDF",
            f"Could not write {path}: {exc.strerror or exc}. "
            "Choose a folder you may write to and try again.",
        )
        return None
    messages.info(
        parent,
        "Save as PDF",
        f"Saved to {path}.\n\nThe file holds patient data: keep it on the clinic's own systems.",
    )
    return path


class PrintPreviewDialog(QDialog):
    """One printed sheet: its pages, and Print / Save as PDF / Close."""

    def __init__(
        self, title: str, pdf: bytes, filename: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title}: preview")
        self.pdf, self.filename = pdf, filename
        heading = QLabel(title, self)
        heading.setProperty("role", "title")
        self.info = QLabel(self)
        self.info.setProperty("role", "muted")
        self.info.setWordWrap(True)
        self.pages = QWidget(self)
        self.pages.setObjectName("previewPages")
        self.pages.setStyleSheet("QWidget#previewPages { background: #8a979d; }")
        self.page_layout = QVBoxLayout(self.pages)
        self.page_layout.setSpacing(14)
        self.page_layout.setContentsMargins(14, 14, 14, 14)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidget(self.pages)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.scroll_area.setAccessibleName("Pages")

        self.print_button = QPushButton("&Print…", self)
        self.print_button.setDefault(True)
        self.save_button = QPushButton("&Save as PDF…", self)
        self.save_button.setAutoDefault(False)
        self.close_button = QPushButton("Close", self)
        self.close_button.setAutoDefault(False)
        self.print_button.clicked.connect(self.print_sheet)
        self.save_button.clicked.connect(self.save)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.info, 1)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.scroll_area, 1)
        layout.addLayout(buttons)
        self.page_count = self._show_pages()
        self.resize(PREVIEW_WIDTH + 90, 700)

    def _show_pages(self) -> int:
        ratio = max(1.0, self.devicePixelRatioF())
        try:
            images = render_pages(self.pdf, 72 * PREVIEW_WIDTH / 595 * ratio)
        except Exception as exc:  # a sheet that cannot be drawn: say so, keep Save
            log.warning("preview: cannot draw the pages: %s", exc)
            self.print_button.setEnabled(False)
            note = QLabel(
                "The pages cannot be shown or printed from here. Save the PDF and "
                "open it in a PDF viewer to see and print it.",
                self.pages,
            )
            note.setWordWrap(True)
            self.page_layout.addWidget(note)
            self.info.setText("Preview not available.")
            return 0
        for number, image in enumerate(images, start=1):
            image.setDevicePixelRatio(ratio)
            label = QLabel(self.pages)
            label.setPixmap(QPixmap.fromImage(image))
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setAccessibleName(f"Page {number} of {len(images)}")
            self.page_layout.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        self.info.setText(
            f"{len(images)} page{'s' if len(images) != 1 else ''}. Print sends "
            "them to a printer you choose; Save as PDF keeps the file."
        )
        self.page_layout.addStretch(1)
        return len(images)

    def print_sheet(self) -> bool:
        printer = choose_printer(self)
        if printer is None:
            return False
        try:
            print_pdf(self.pdf, printer)
        except PumpMgrError as exc:
            messages.error(self, "Print", f"Could not print: {exc.message}")
            return False
        return True

    def save(self) -> Path | None:
        return save_pdf(self, self.pdf, self.filename)


def preview(parent: QWidget | None, title: str, pdf: bytes, filename: str) -> None:
    """Show the preview of ``pdf`` (modal) until the user closes it."""
    PrintPreviewDialog(title, pdf, filename, parent).exec()


# ------------------------------------------------------------------ long jobs


class Cancelled(Exception):
    """The user cancelled a sheet job."""


class SheetJob(QObject):
    """Build a sheet on a worker thread with a progress dialog; the window stays responsive.

    ``work(progress)`` runs on a worker thread (:class:`ui.background.Background`) and calls
    ``progress(done, total)``; :attr:`done` delivers the PDF bytes, :attr:`failed` the error
    (:class:`Cancelled` when the user pressed Cancel), both on the window's thread. Widgets are
    never touched off it.
    """

    progress = Signal(int, int)
    done = Signal(bytes)
    failed = Signal(object)

    def __init__(
        self,
        work: Callable[[Callable[[int, int], None]], bytes],
        label: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.work = work
        self.cancelled = False
        #: Every (done, total) reported, in order.
        self.reported: list[tuple[int, int]] = []
        self.task = Background(
            lambda report: self.work(lambda done, total: self._report(report, done, total)),
            "pumpmgr-sheets",
            self,
        )
        self.task.reported.connect(lambda pair: self._progress(*pair))
        self.task.done.connect(self._done)
        self.task.failed.connect(self._failed)
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("pumpmgr")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)

    def start(self) -> None:
        self.dialog.show()
        self.task.start()

    def _report(self, report: Report, done: int, total: int) -> None:
        """Called by the work on the worker thread."""
        if self.cancelled:
            raise Cancelled()
        report((done, total))

    def cancel(self) -> None:
        self.cancelled = True
        self.dialog.setLabelText("Cancelling…")

    def _progress(self, done: int, total: int) -> None:
        self.reported.append((done, total))
        self.progress.emit(done, total)
        if self.dialog.isVisible():
            self.dialog.setMaximum(total)
            self.dialog.setLabelText(f"Sheet {done} of {total}…")
            self.dialog.setValue(done)  # a modal progress dialog processes events here

    def _close_dialog(self) -> bool:
        """Close the progress dialog (closing it must not count as Cancel); whether the user
        had cancelled."""
        cancelled = self.cancelled
        self.dialog.canceled.disconnect(self.cancel)
        self.dialog.close()
        return cancelled

    def _done(self, result: bytes) -> None:
        if self._close_dialog():
            self.failed.emit(Cancelled())
            return
        self.done.emit(result)

    def _failed(self, exc: object) -> None:
        self._close_dialog()
        self.failed.emit(exc)


def day_label(day: date) -> str:
    return f"Building the worksheets for {format_date(day)}…"


# ------------------------------------------------------------------ each sheet where it belongs


PatientSheet = Literal["worksheet", "card", "history", "handoff", "reminder"]

_PATIENT_SHEETS: dict[str, tuple[str, str]] = {
    "worksheet": ("Refill worksheet (before the visit)", "refill-worksheet"),
    "card": ("Wallet card", "wallet-card"),
    "history": ("Patient history", "patient-history"),
    "handoff": ("Admission hand-off", "admission-handoff"),
    "reminder": ("Reminder letter", "reminder-letter"),
}


def _build(parent: QWidget | None, doing: str, build: Callable[[], bytes]) -> bytes | None:
    """The sheet built off the GUI thread (the window keeps painting), or None with the
    failure shown."""
    try:
        return run_in_background(parent, f"{doing[:1].upper()}{doing[1:]}…", build)
    except Exception as exc:  # every failure reaches the user; nothing else changes
        messages.show_error(parent, exc, doing)
        return None


def audited(
    parent: QWidget | None,
    clinic: ClinicService,
    pdf: bytes,
    sheet: str,
    mrn: str | None = None,
    **details: object,
) -> bytes:
    """``pdf``, once its making is on the audit log (who printed which patient's sheet);
    a sheet whose print cannot be recorded is not shown."""
    actor = getattr(parent.window(), "actor", None) if parent is not None else None
    if actor is not None:
        clinic.records.record_access(
            actor,
            PRINT_ACTION,
            None if mrn is None else clinic.find_patient(mrn).id,
            {"sheet": sheet, **details},
        )
    return pdf


def print_patient_sheet(
    parent: QWidget | None, clinic: ClinicService, kind: PatientSheet, mrn: str
) -> bytes | None:
    """Build one of the patient's sheets and show its preview; the PDF, or None on error."""
    title, stem = _PATIENT_SHEETS[kind]
    sheets = SheetService(clinic)
    builders: dict[str, Callable[[], bytes]] = {
        "worksheet": lambda: sheets.worksheet(mrn),
        "card": lambda: sheets.card(mrn),
        "history": lambda: sheets.history(mrn),
        "handoff": lambda: sheets.handoff(mrn),
        "reminder": lambda: sheets.reminder(mrn),
    }
    pdf = _build(
        parent,
        f"building the {title.lower()}",
        lambda: audited(parent, clinic, builders[kind](), kind, mrn),
    )
    if pdf is not None:
        preview(parent, title, pdf, f"{stem}-{mrn}-{clinic.today():%Y-%m-%d}.pdf")
    return pdf


def print_due_list(parent: QWidget | None, clinic: ClinicService) -> bytes | None:
    """Ask for the period, build the due list for it and show its preview."""
    period = ask_period(parent, clinic.today())
    if period is None:
        return None
    start, end = period
    pdf = _build(
        parent,
        "building the due list",
        lambda: audited(
            parent, clinic, SheetService(clinic).due(start, end), "due", start=start, end=end
        ),
    )
    if pdf is not None:
        preview(parent, "Refill due list", pdf, f"due-list-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.pdf")
    return pdf


def _locked(parent: QWidget | None) -> bool:
    """Whether the window ``parent`` belongs to is locked (its ``is_locked()``)."""
    is_locked = getattr(parent.window(), "is_locked", None) if parent is not None else None
    return bool(is_locked()) if callable(is_locked) else False


def print_day(parent: QWidget | None, clinic: ClinicService) -> SheetJob | None:
    """Ask for the clinic day, then build its worksheets in the background (progress shown,
    the window stays responsive) and show the preview when they are ready."""
    sheets = SheetService(clinic)
    day = ask_day(parent, sheets.next_open_day(), calendar_of(clinic.settings()).is_open)
    if day is None:
        return None
    job = SheetJob(lambda progress: sheets.day(day, progress), day_label(day), parent)

    def done(pdf: bytes) -> None:
        if _locked(parent):
            return  # the window locked meanwhile: no patient data over the lock screen
        try:
            audited(parent, clinic, pdf, "day", day=day)
        except Exception as exc:  # every failure reaches the user as a dialog
            messages.show_error(parent, exc, "recording the day's worksheets")
            return
        preview(parent, f"Worksheets for {format_date(day)}", pdf, f"worksheets-{day:%Y-%m-%d}.pdf")

    def failed(exc: object) -> None:
        if isinstance(exc, Cancelled):
            return
        if isinstance(exc, BaseException):
            messages.show_error(parent, exc, "building the day's worksheets")

    job.done.connect(done)
    job.failed.connect(failed)
    job.start()
    return job
