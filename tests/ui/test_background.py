"""The one background-work helper (ui.background): work runs off the GUI thread; what it
reports, returns or raises arrives on the GUI thread."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from pumpmgr.errors import Code, PumpMgrError
from ui.background import Background, Report, run_in_background, run_with_progress


def test_reports_and_the_result_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    seen: list[tuple[object, str]] = []

    def work(report: Report) -> str:
        for step in (1, 2, 3):
            report(step)
        return threading.current_thread().name

    task = Background(work, "test-work")
    task.reported.connect(lambda value: seen.append((value, threading.current_thread().name)))
    with qtbot.waitSignal(task.done, timeout=10_000) as done:
        task.start()
    assert done.args == ["test-work"]
    main = threading.main_thread().name
    assert seen == [(1, main), (2, main), (3, main)]
    assert task.finished and task.wait() == "test-work"


def test_the_work_s_error_is_raised_where_it_is_waited_for(qtbot: QtBot) -> None:
    def work() -> Any:
        raise PumpMgrError("the backup folder is full", code=Code.NO_VALUE, field="path")

    with pytest.raises(PumpMgrError, match="the backup folder is full"):
        run_in_background(None, "Backing up…", work)


def test_progress_is_reported_and_the_result_returned(qtbot: QtBot) -> None:
    names: list[str] = []

    def work(progress: Any) -> int:
        names.append(threading.current_thread().name)
        progress(0.5)
        progress(1.0)
        return 42

    assert run_with_progress(None, "Building the demo clinic…", work) == 42
    assert names and names[0] != threading.main_thread().name


def _freed_on(obj: QObject, threads: list[str]) -> None:
    """Record the thread that runs ``obj``'s C++ destructor (a direct connection runs there)."""
    obj.destroyed.connect(
        lambda *_: threads.append(threading.current_thread().name),
        Qt.ConnectionType.DirectConnection,
    )


def test_what_the_work_holds_is_freed_on_the_gui_thread_when_its_window_is_gone(
    qtbot: QtBot,
) -> None:
    """The window that started the work is closed while it runs (a test's end, a restore):
    what the work captured (the start-up captures its QObject) is freed on the GUI thread, not
    by the worker letting go of it."""
    freed: list[str] = []
    window = QWidget()
    captured = QObject()
    _freed_on(captured, freed)
    gate = threading.Event()

    def work(_report: Report, held: QObject = captured) -> None:
        gate.wait(10)

    task = Background(work, "test-work", window).start()
    done = task.finished  # (its end is never delivered: the task goes with the window)
    del captured, work, task
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    del window
    gate.set()
    qtbot.waitUntil(lambda: bool(freed), timeout=10_000)
    assert not done and freed == [threading.main_thread().name]


def test_garbage_collected_while_work_runs_is_collected_on_the_gui_thread(qtbot: QtBot) -> None:
    """A QObject caught in a reference cycle and let go of is freed by Python's cyclic
    collection; that collection runs on the GUI thread, not on the worker whose allocations
    called for it."""
    freed: list[str] = []

    def churn(_report: Report) -> None:
        for _ in range(20_000):  # cyclic garbage: past the collector's thresholds many times
            cycle: list[object] = []
            cycle.append(cycle)

    for _ in range(5):
        cycle: dict[str, object] = {"object": QObject()}
        cycle["self"] = cycle
        _freed_on(cast(QObject, cycle["object"]), freed)
        del cycle
        Background(churn, "test-work").start().wait()
    qtbot.waitUntil(lambda: len(freed) == 5, timeout=10_000)
    assert set(freed) == {threading.main_thread().name}
