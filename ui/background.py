"""Work off the GUI thread, one way for the whole window: the start-up's loading behind the
sign-in, the day's worksheets, a backup, a restore, an export, the demo clinic's build.

UI layer: imports PySide6 only. :class:`Background` runs ``work(report)`` on a worker thread and
delivers on the GUI thread what the work reported (:attr:`Background.reported`), its result
(:attr:`Background.done`) or its exception (:attr:`Background.failed`). The thread is a daemon:
quitting never waits for it. The work must not touch widgets (Qt's thread rule) nor hand a
database session across: it calls services and returns plain data, and widgets are built from
that data on the GUI thread. :func:`run_in_background` waits for work behind a window-modal
progress dialog, for an action the user must wait for (input to the window is blocked, so
nothing else reads the database while a restore replaces it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

T = TypeVar("T")
#: What the work is given: call it with anything the GUI thread should hear about.
Report = Callable[[Any], None]


class _Relay(QObject):
    """Made on the GUI thread and emitted from the worker: every delivery is queued to the GUI
    thread's event loop."""

    reported = Signal(object)
    ended = Signal(bool, object)  #: (failed, result or exception)


class Background(QObject):
    """``work(report)`` on a worker thread; :meth:`start` it, then connect to the signals or
    :meth:`wait`."""

    reported = Signal(object)
    done = Signal(object)
    failed = Signal(object)  #: the exception (a BaseException)

    def __init__(
        self,
        work: Callable[[Report], Any],
        name: str = "pumpmgr-work",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._work = work
        self._name = name
        self._relay = _Relay()
        self._relay.reported.connect(self._reported, Qt.ConnectionType.QueuedConnection)
        self._relay.ended.connect(self._ended, Qt.ConnectionType.QueuedConnection)
        self.finished = False
        self.outcome: tuple[bool, Any] | None = None

    def start(self) -> Background:
        relay = self._relay  # the thread keeps its own reference

        def run() -> None:
            try:
                result = self._work(relay.reported.emit)
            except BaseException as exc:  # delivered to the GUI thread, raised there by wait
                relay.ended.emit(True, exc)
                return
            relay.ended.emit(False, result)

        threading.Thread(target=run, name=self._name, daemon=True).start()
        return self

    def _reported(self, value: object) -> None:
        if not self.finished:  # a report queued behind the end is stale
            self.reported.emit(value)

    def _ended(self, failed: bool, value: object) -> None:
        self.finished = True
        self.outcome = (failed, value)
        (self.failed if failed else self.done).emit(value)

    def wait(self) -> Any:
        """Run the event loop until the work has ended; its result, or its exception raised
        here."""
        while not self.finished:  # (not a nested exec: an exit asked for would end it early)
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        assert self.outcome is not None
        failed, value = self.outcome
        if failed:
            raise value
        return value


def run_in_background(parent: QWidget | None, label: str, work: Callable[[], T]) -> T:
    """Run ``work`` behind a busy dialog saying ``label`` (and the seconds so far after two);
    return its result or raise its exception here."""
    return run_with_progress(parent, label, lambda _report: work(), measured=False)


def run_with_progress(
    parent: QWidget | None,
    label: str,
    work: Callable[[Callable[[float], None]], T],
    *,
    measured: bool = True,
) -> T:
    """Run ``work(progress)`` behind a progress dialog; ``progress`` takes the fraction done
    (0 to 1) from the worker. No cancel: the work is all or nothing."""
    dialog = QProgressDialog(label, "", 0, 100 if measured else 0, parent)
    dialog.setWindowTitle("pumpmgr")
    dialog.setCancelButton(None)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(420)
    task = Background(work, "pumpmgr-background")
    task.reported.connect(lambda fraction: dialog.setValue(min(99, int(fraction * 100))))
    started = time.monotonic()

    def tick() -> None:
        seconds = int(time.monotonic() - started)
        if seconds >= 2:
            dialog.setLabelText(f"{label}\n{seconds} s so far; please wait.")

    timer = QTimer()
    timer.setInterval(500)
    timer.timeout.connect(tick)
    task.start()
    dialog.show()
    timer.start()
    try:
        return cast(T, task.wait())
    finally:
        timer.stop()
        dialog.close()
        dialog.deleteLater()
