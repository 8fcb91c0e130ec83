"""QuantityEdit: a number and its unit typed together, read by the domain's own parser.

UI layer: imports PySide6, :mod:`pumpmgr.units`, :mod:`pumpmgr.formatting` and
:mod:`pumpmgr.errors`. What is typed (``400 mcg/day``, ``0.4 mg/d``, ``20 ml``) is checked on
every keystroke with :func:`pumpmgr.units.parse` for the widget's :class:`~pumpmgr.units.Kind`.
A wrong entry turns the box red and shows the parser's message beneath it (so colour is never
the only signal); a good one shows how pumpmgr reads it (``reads as 1000 mcg/day``), which
catches a mg/mcg slip before it is saved. The widget hands out pint quantities only, never a
bare number.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import MassUnit, editable_text, format_quantity
from pumpmgr.units import Kind, Quantity, parse
from ui.widgets.style_state import set_role, set_style_property

#: Longer text is cut when typed or pasted: no clinical value needs more.
MAX_LENGTH = 64


class QuantityEdit(QWidget):
    """A line edit for one quantity of ``kind``, with its message line underneath."""

    #: A valid quantity was typed (a pint Quantity), or None when the text stopped being one.
    quantityChanged = Signal(object)
    #: Whether the text reads as a quantity of the right kind (empty counts as not valid).
    validityChanged = Signal(bool)

    def __init__(
        self,
        kind: Kind,
        field: str,
        parent: QWidget | None = None,
        *,
        mass_unit: MassUnit = "mcg",
        example: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        #: The field's name as the messages use it, for example "dose".
        self.field = field
        self.mass_unit: MassUnit = mass_unit
        self._quantity: Quantity | None = None
        self._error = ""
        self._valid = False
        if example is None:
            example = kind.spec.example
            if mass_unit == "mg" and "mcg" in example:  # in the drug's own unit: morphine, mg
                example = editable_text(parse(example, kind, field), kind, mass_unit)

        self.line_edit = QLineEdit(self)
        self.line_edit.setMaxLength(MAX_LENGTH)
        self.line_edit.setPlaceholderText(f"for example {example}")
        self.line_edit.setToolTip(
            f"Type the number and its unit together, for example '{example}'. "
            "Decimals with a point."
        )
        self.line_edit.setAccessibleName(field)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")
        self.message.setText(" ")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.line_edit)
        layout.addWidget(self.message)
        self.setFocusProxy(self.line_edit)
        # a label's Alt key focuses its buddy only when the buddy takes focus itself
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.line_edit.textChanged.connect(self._validate)

    # ----------------------------------------------------------------- public

    def quantity(self) -> Quantity | None:
        """The quantity typed, or None when the box is empty or wrong."""
        return self._quantity

    def is_valid(self) -> bool:
        return self._valid

    def error_text(self) -> str:
        """The parser's message for the text typed, '' when it is fine or empty."""
        return self._error

    def text(self) -> str:
        return self.line_edit.text()

    def set_text(self, text: str) -> None:
        self.line_edit.setText(text)

    def set_quantity(self, quantity: Quantity | None) -> None:
        """Show ``quantity`` as pumpmgr writes it (its unit included), or clear the box."""
        self.line_edit.setText(
            "" if quantity is None else editable_text(quantity, self.kind, self.mass_unit)
        )

    def clear(self) -> None:
        self.line_edit.clear()

    # ----------------------------------------------------------------- checking

    def _validate(self, text: str) -> None:
        quantity: Any = None
        error = ""
        if text.strip():
            try:
                quantity = parse(text, self.kind, self.field)
            except PumpMgrError as exc:
                error = exc.message
            except (ValueError, ArithmeticError) as exc:  # defensive: never crash on typing
                error = f"{self.field}: '{text}' cannot be read ({type(exc).__name__})"
        self._show(quantity, error)

    def _show(self, quantity: Quantity | None, error: str) -> None:
        was_valid, before = self._valid, self._quantity
        self._quantity, self._error = quantity, error
        self._valid = quantity is not None
        invalid = bool(error)
        set_style_property(self.line_edit, "invalid", invalid)
        set_role(self.message, "error" if invalid else "muted")
        if invalid:
            self.message.setText(f"Not accepted: {error}")
        elif quantity is not None:
            self.message.setText(f"reads as {format_quantity(quantity, self.kind, self.mass_unit)}")
        else:
            self.message.setText(" ")
        self.line_edit.setAccessibleDescription(self.message.text())
        if quantity is not None or before is not None:
            self.quantityChanged.emit(quantity)
        if was_valid != self._valid:
            self.validityChanged.emit(self._valid)
