"""Work off the GUI thread, one way for the whole window: the start-up's loading behind the
sign-in, the day's worksheets, a backup, a restore, an export, the demo clinic's build.

UI layer: imports PySide6 only. :class:`Background` runs ``work(report)`` on a worker thread and
delivers on the GUI thread what the work reported (:attr:`Background.reported`), its result
(:attr:`Background.done`) or its exception (:attr:`Background.failed`). The thread is a daemon:
quitting never waits for it. The work must not touch widgets (Qt's thread rule) nor hand a
database session across: it calls services and returns plain data, and widgets are built from
that data on the GUI thread. No QObject is freed on a worker: the worker holds none but the
program's one relay, and each task is held until its end is delivered and its thread joined.
From the first work on, Python's cyclic garbage is collected by the GUI thread, from a timer,
between events (:class:`_Relay`): automatic collection would free a QObject caught in a
reference cycle on a worker, or in the middle of an event sent to it (Qt forbids both, and
PySide6 crashes, seldom). :func:`run_in_background` waits for work behind a window-modal
progress dialog, for an action the user must wait for (input to the window is blocked, so
nothing else reads the database while a restore replaces it).
"""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import shiboken6
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

T = TypeVar("T")
#: What the work is given: call it with anything the GUI thread should hear about.
Report = Callable[[Any], None]
#: How often the GUI thread collects Python's cyclic garbage (milliseconds).
COLLECT_EVERY_MS = 500


class _Relay(QObject):
    """The program's one relay: made on the GUI thread, owned by the application, emitted from
    the workers; its slots run queued on the GUI thread. A worker holds no other QObject, so
    none is ever freed on a worker thread (Qt forbids it: a crash, seldom)."""

    reported = Signal(int, object)  #: (the work's key, what it reported)
    ended = Signal(int, bool, object)  #: (the work's key, failed, result or exception)

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self.reported.connect(self._report, Qt.ConnectionType.QueuedConnection)
        self.ended.connect(self._end, Qt.ConnectionType.QueuedConnection)
        #: The work running, by key, with its thread: held here until its end is delivered.
        self.running: dict[int, tuple[Background, threading.Thread]] = {}
        self._keys = itertools.count()
        # Python's automatic collection runs wherever an allocation crosses its threshold: on
        # a worker, which then frees a QObject caught in a reference cycle (a window's; a task
        # whose exception's traceback refers back to it) on its own thread; or on the GUI
        # thread inside the delivery of an event, from Python code run for it (the idle
        # watcher's application event filter sees every event), which frees the event's
        # receiver under Qt's feet. From the first work on, the GUI thread collects instead,
        # from a timer: between events, never on a worker.
        self.collector = QTimer(self)
        self.collector.setInterval(COLLECT_EVERY_MS)
        self.collector.timeout.connect(_collect_garbage)
        gc.disable()
        self.collector.start()

    def start(self, task: Background, work: Callable[[Report], Any], name: str) -> None:
        key = next(self._keys)
        thread = threading.Thread(target=_run, args=(work, key, self), name=name, daemon=True)
        self.running[key] = (task, thread)
        thread.start()

    def _report(self, key: int, value: object) -> None:
        running = self.running.get(key)
        if running is not None and shiboken6.isValid(running[0]):
            running[0]._reported(value)

    def _end(self, key: int, failed: bool, value: object) -> None:
        task, thread = self.running.pop(key)
        # the worker has nothing left to do but return: once it has, it holds no reference,
        # so the task, its work and what it returned are freed here, on the GUI thread
        thread.join()
        if shiboken6.isValid(task):  # its parent may have been deleted meanwhile
            task._ended(failed, value)


def _collect_garbage() -> None:
    """What automatic collection would have done by now: the generations past their
    thresholds (:func:`gc.get_threshold`), on the GUI thread."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    generation = -1
    for level in range(3):
        if counts[level] <= thresholds[level]:
            break
        generation = level
    if generation >= 0:
        gc.collect(generation)


def _run(work: Callable[[Report], Any], key: int, relay: _Relay) -> None:
    """On the worker: ``work``, then its result or exception to the GUI thread (unless the
    program has quit meanwhile, and the relay has gone with the application: nobody to tell)."""
    try:
        result = work(lambda value: relay.reported.emit(key, value))
    except BaseException as exc:  # delivered to the GUI thread, raised there by wait
        if shiboken6.isValid(relay):
            relay.ended.emit(key, True, exc)
        return
    if shiboken6.isValid(relay):
        relay.ended.emit(key, False, result)


_relay: _Relay | None = None


def _the_relay() -> _Relay:
    """The relay, made at the first start (on the GUI thread) with the application as its
    parent."""
    global _relay
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay(QCoreApplication.instance())
    return _relay


class Background(QObject):
    """``work(report)`` on a worker thread; :meth:`start` it, then connect to the signals or
    :meth:`wait`. Held until its end is delivered, whatever its parent: started and delivered
    on the GUI thread."""

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
        self.finished = False
        self.outcome: tuple[bool, Any] | None = None

    def start(self) -> Background:
        _the_relay().start(self, self._work, self._name)
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
