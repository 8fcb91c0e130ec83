"""A field list shows the lines it was last given, whether it kept its labels (the same lines,
new values) or made new ones (other lines)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from ui.widgets.field_list import FieldList


def _shown(fields: FieldList) -> list[tuple[str, str, object]]:
    return [
        (
            fields.form.itemAt(row, fields.form.ItemRole.LabelRole).widget().text(),
            fields.form.itemAt(row, fields.form.ItemRole.FieldRole).widget().text(),
            fields.form.itemAt(row, fields.form.ItemRole.FieldRole).widget().property("role"),
        )
        for row in range(fields.form.rowCount())
    ]


def test_new_values_on_the_same_lines_are_shown(qtbot: QtBot) -> None:
    fields = FieldList("Pump")
    qtbot.addWidget(fields)
    fields.set_fields([("model", "Model", "A", ""), ("serial", "Serial", "1", "warning")])
    fields.set_fields([("model", "Model", "B", ""), ("serial", "Serial", "2", "warning")])
    assert _shown(fields) == [("Model", "B", None), ("Serial", "2", "warning")]
    assert fields.text("model") == "B"
    assert fields.text("serial") == "2"


def test_other_lines_replace_the_ones_shown(qtbot: QtBot) -> None:
    fields = FieldList("Pump")
    qtbot.addWidget(fields)
    fields.set_fields([("model", "Model", "A", ""), ("serial", "Serial", "1", "warning")])
    fields.set_fields([("model", "Model", "B", "error")])
    assert _shown(fields) == [("Model", "B", "error")]
    assert list(fields.values) == ["model"]
    fields.set_fields([])
    assert _shown(fields) == []
    assert fields.values == {}
