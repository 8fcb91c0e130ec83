"""The Alt+letter keys a window offers: a letter claimed twice only moves the focus between
its claimants (Qt cycles through them), so a button or field behind it never answers Alt."""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtWidgets import QAbstractButton, QLabel, QMenuBar, QTabBar, QWidget


def mnemonic(text: str) -> str | None:
    """The letter after a single ``&`` in ``text`` (lower case), or None."""
    at = 0
    while (at := text.find("&", at)) != -1 and at + 1 < len(text):
        if text[at + 1] != "&":
            return text[at + 1].lower()
        at += 2
    return None


def clashes(top: QWidget) -> dict[str, list[str]]:
    """Each letter claimed by more than one widget shown in ``top`` (labels with a buddy,
    buttons, tabs and menus, also those disabled for now: Next is enabled once the page is
    filled), with the texts that claim it."""
    claimed: dict[str, list[str]] = defaultdict(list)
    for widget in top.findChildren(QWidget):
        if not widget.isVisibleTo(top):
            continue
        if isinstance(widget, QAbstractButton) or (
            isinstance(widget, QLabel) and widget.buddy() is not None
        ):
            texts = [widget.text()]
        elif isinstance(widget, QTabBar):
            texts = [widget.tabText(i) for i in range(widget.count()) if widget.isTabVisible(i)]
        elif isinstance(widget, QMenuBar):
            texts = [a.text() for a in widget.actions() if a.isVisible()]
        else:
            continue
        for text in texts:
            letter = mnemonic(text)
            if letter is not None:
                claimed[letter].append(text)
    return {letter: texts for letter, texts in claimed.items() if len(texts) > 1}
