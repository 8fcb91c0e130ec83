"""Long work off the GUI thread: a backup, a restore, an export, recomputing every forecast.

UI layer: imports PySide6 only. :func:`run_in_background` runs ``work()`` on a worker thread
while a window-modal progress dialog (with the seconds elapsed) keeps the window painting and
answering; the call returns ``work``'s result, or raises its error, on the GUI thread. The work
must not touch widgets (Picard's rule): it calls services, and only the caller shows the
outcome. Input to the window is blocked meanwhile, so nothing else reads the database while a
restore replaces it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

T = TypeVar("T")

#: How often the dialog looks at the worker (milliseconds).
POLL_MS = 40


def run_in_background(parent: QWidget | None, label: str, work: Callable[[], T]) -> T:
    """Run ``work`` on a worker thread behind a busy dialog saying ``label``; return its
    result or raise its exception here."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised on the GUI thread below
            outcome["error"] = exc

    dialog = QProgressDialog(label, "", 0, 0, parent)
    dialog.setWindowTitle("pumpmgr")
    dialog.setCancelButton(None)  # no cancel: the work is all or nothing
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(420)

    thread = threading.Thread(target=run, name="pumpmgr-background", daemon=True)
    loop = QEventLoop()
    started = time.monotonic()

    def poll() -> None:
        if not thread.is_alive():
            loop.quit()
            return
        seconds = int(time.monotonic() - started)
        if seconds >= 2:
            dialog.setLabelText(f"{label}\n{seconds} s so far; please wait.")

    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(poll)
    thread.start()
    dialog.show()
    timer.start()
    if thread.is_alive():
        loop.exec()
    timer.stop()
    thread.join()
    dialog.close()
    dialog.deleteLater()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
