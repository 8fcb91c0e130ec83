"""What the program tried to show through :mod:`ui.messages`, and the answers a test gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Dialogs:
    """What the program tried to show, and the answers the test gives."""

    shown: list[tuple[str, str]] = field(default_factory=list)
    confirm_answer: bool = True
    #: Answers to the next questions, in order (then ``confirm_answer``).
    confirm_answers: list[bool] = field(default_factory=list)
    save_to: Path | None = None
    open_from: Path | None = None
    choice: int | None = 0
    #: What the user types when asked for text (None: cancels).
    text_answer: str | None = None

    def texts(self, kind: str) -> list[str]:
        return [text for k, text in self.shown if k == kind]
