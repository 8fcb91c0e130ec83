"""QuantityEdit: number and unit typed together, read by pumpmgr.units.parse as typed; wrong
entries turn red with the parser's message; only pint quantities come out."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from pumpmgr.units import Q_, Kind, ureg
from ui.widgets.quantity_edit import MAX_LENGTH, QuantityEdit


@pytest.fixture
def dose(qtbot: QtBot) -> QuantityEdit:
    edit = QuantityEdit(Kind.DOSE_RATE, "dose")
    qtbot.addWidget(edit)
    return edit


@pytest.mark.parametrize(
    ("typed", "reads_as"),
    [
        ("400 mcg/day", "400 mcg/day"),
        ("0.4 mg/d", "400 mcg/day"),
        ("1e3 mcg/day", "1,000 mcg/day"),
        ("30 mcg/h", "720 mcg/day"),
        (" 250 ug / day ", "250 mcg/day"),
    ],
)
def test_accepts_a_dose_rate(
    dose: QuantityEdit,
    qtbot: QtBot,
    typed: str,
    reads_as: str,
) -> None:
    with qtbot.waitSignal(dose.quantityChanged) as caught:
        qtbot.keyClicks(dose.line_edit, typed)
    value = caught.args[0] if caught.args else None
    assert isinstance(value, ureg.Quantity)
    assert dose.is_valid() and dose.error_text() == ""
    assert dose.message.text() == f"reads as {reads_as}"
    assert dose.line_edit.property("invalid") is False
    assert dose.quantity() is not None
    assert dose.quantity().to("mcg/day").m == pytest.approx(Q_(reads_as).to("mcg/day").m)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("400 mg", "'400 mg' is not a dose rate (mass per time)"),
        ("0,5 mg/day", "has a comma"),
        ("400", "has no unit"),
        ("abc", "does not start with a number"),
        ("400 mcg/wk", "not a unit pumpmgr knows"),
        ("1e30 mcg/day", "far outside any clinical value"),
    ],
)
def test_refuses_with_the_parsers_message(
    dose: QuantityEdit, qtbot: QtBot, typed: str, says: str
) -> None:
    qtbot.keyClicks(dose.line_edit, typed)
    assert not dose.is_valid()
    assert dose.quantity() is None
    assert says in dose.error_text()
    assert dose.message.text() == f"Not accepted: {dose.error_text()}"
    assert dose.line_edit.property("invalid") is True


def test_decimal_comma_in_a_volume(qtbot: QtBot) -> None:
    volume = QuantityEdit(Kind.VOLUME, "volume added")
    qtbot.addWidget(volume)
    qtbot.keyClicks(volume.line_edit, "0,5 mL")
    assert volume.error_text().startswith("volume added: '0,5 mL' has a comma")
    volume.set_text("0.5 mL")
    assert volume.quantity() == Q_(0.5, "mL")
    assert volume.line_edit.property("invalid") is False


def test_a_10_kb_paste_is_cut_and_refused_without_crashing(dose: QuantityEdit) -> None:
    QGuiApplication.clipboard().setText("400 mcg/day" + " x" * 5000)
    dose.line_edit.setFocus()
    dose.line_edit.paste()
    assert len(dose.text()) == MAX_LENGTH
    assert not dose.is_valid()
    assert len(dose.message.text()) < 400
    QGuiApplication.clipboard().setText("9" * 10_240)
    dose.clear()
    dose.line_edit.paste()
    assert "has no unit" in dose.error_text()


def test_clearing_emits_none_and_is_neutral(dose: QuantityEdit, qtbot: QtBot) -> None:
    dose.set_text("400 mcg/day")
    with (
        qtbot.waitSignal(dose.quantityChanged) as caught,
        qtbot.waitSignal(dose.validityChanged) as validity,
    ):
        dose.clear()
    assert caught.args == [None]
    assert validity.args == [False]
    assert dose.line_edit.property("invalid") is False
    assert dose.error_text() == ""


def test_placeholder_and_shown_unit(qtbot: QtBot) -> None:
    concentration = QuantityEdit(
        Kind.CONCENTRATION, "concentration", mass_unit="mg", example="10 mg/mL"
    )
    qtbot.addWidget(concentration)
    assert concentration.line_edit.placeholderText() == "for example 10 mg/mL"
    concentration.set_quantity(Q_(10_000, "mcg/mL"))
    assert concentration.text() == "10 mg/mL"
    assert concentration.message.text() == "reads as 10 mg/mL"
    assert QuantityEdit(Kind.FLOW, "flow").line_edit.placeholderText() == ("for example 0.2 mL/day")


def test_the_fields_alt_key_reaches_the_quantity_box(qtbot: QtBot) -> None:
    """As with the date boxes: a label's Alt key left the focus where it was."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit, QWidget

    holder = QWidget()
    qtbot.addWidget(holder)
    lot = QLineEdit(holder)
    volume = QuantityEdit(Kind.VOLUME, "volume added", holder)
    form = QFormLayout(holder)
    form.addRow("&Lot number", lot)
    form.addRow("V&olume added", volume)
    holder.show()
    holder.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is holder)
    lot.setFocus()
    qtbot.keyClick(lot, Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is volume.line_edit


@pytest.mark.parametrize(
    ("kind", "unit", "shown"),
    [
        (Kind.CONCENTRATION, "mg", "for example 2 mg/mL"),
        (Kind.DOSE_RATE, "mg", "for example 0.4 mg/day"),
        (Kind.MASS, "mg", "for example 0.1 mg"),
        (Kind.CONCENTRATION, "mcg", "for example 2000 mcg/mL"),
        (Kind.VOLUME, "mg", "for example 20 mL"),
    ],
)
def test_the_example_is_in_the_drugs_own_unit(
    qtbot: QtBot, kind: Kind, unit: str, shown: str
) -> None:
    """Tried by hand: the second nurse's morphine concentration box said "for example
    2000 mcg/mL" for a drug dosed in mg."""
    edit = QuantityEdit(kind, "morphine", mass_unit=unit)  # type: ignore[arg-type]
    qtbot.addWidget(edit)
    assert edit.line_edit.placeholderText() == shown
