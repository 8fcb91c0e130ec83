"""A widget's state as the stylesheet reads it (``role``, ``invalid``), applied at once.

Qt applies a stylesheet's property selectors when a widget is polished; a property changed
afterwards shows only once the widget is polished again, so every change goes through here.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def set_style_property(widget: QWidget, name: str, value: str | bool) -> None:
    """Give ``widget`` the stylesheet property ``name`` and restyle it now (nothing when it
    already has that value)."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def set_role(widget: QWidget, role: str) -> None:
    """The stylesheet's ``role`` (``error``, ``muted``, ``alert``, ``notice``, or none)."""
    set_style_property(widget, "role", role)
