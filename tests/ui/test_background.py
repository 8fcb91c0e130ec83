"""The one background-work helper (ui.background): work runs off the GUI thread; what it
reports, returns or raises arrives on the GUI thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
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
