"""The multi-line note asked for (an incident's review, an individual maximum's): typed text
wraps at the box's width instead of running out of sight, and Cancel gives None."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QPlainTextEdit
from pytestqt.qtbot import QtBot

# the function itself, taken before the suite's autouse fixture puts its stand-in in place
from ui.messages import ask_text

NOTE = (
    "Pump reprogrammed to the ordered dose; patient seen, no signs of withdrawal. Family "
    "told whom to call at night and at the weekend."
)


def _answer(qtbot: QtBot, text: str | None, seen: dict[str, int]) -> None:
    """Types ``text`` and presses OK in the dialog when it opens (Cancel for None); ``seen``
    gets how the text lies in the box (checked after the dialog closes, so that a failed
    check never leaves it open)."""

    def answer() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()),
            None,
        )
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        edit = dialog.findChild(QPlainTextEdit)
        if text is None or edit is None:
            seen["cancelled"] = 1
            dialog.reject()
            return
        qtbot.keyClicks(edit, text)
        qtbot.wait(20)
        seen.update(
            sideways=edit.horizontalScrollBar().maximum(),
            paragraphs=edit.blockCount(),
            lines=edit.document().lineCount(),
        )
        dialog.accept()

    QTimer.singleShot(0, answer)


def test_the_note_typed_wraps_and_is_returned(qtbot: QtBot) -> None:
    seen: dict[str, int] = {}
    _answer(qtbot, NOTE, seen)
    assert ask_text(None, "Review the incident", "What was done:") == NOTE
    # one paragraph on several lines, and no sideways scroll bar
    assert seen == {"sideways": 0, "paragraphs": 1, "lines": seen["lines"]}
    assert seen["lines"] > 1


def test_cancel_gives_none(qtbot: QtBot) -> None:
    seen: dict[str, int] = {}
    _answer(qtbot, None, seen)
    assert ask_text(None, "Review the incident", "What was done:") is None
    assert seen == {"cancelled": 1}
