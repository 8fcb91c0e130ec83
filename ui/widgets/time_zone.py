"""The clinic's time zone: an editable list of the zone names this computer knows, completed
as typed (``lond`` finds Europe/London).

UI layer: imports PySide6 and :func:`pumpmgr.services.configuration.available_zones`.
"""

from __future__ import annotations

import tzlocal
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from pumpmgr.services.configuration import available_zones


class TimeZoneBox(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zones = sorted(available_zones())
        self.setEditable(True)
        self.addItems(self.zones)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.zones, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        self.setToolTip(
            "The clinic's 'today' and the times typed on every workstation are in this zone"
        )
        self.set_zone("")

    def set_zone(self, name: str) -> None:
        """Show ``name``; empty: this computer's own zone."""
        local = tzlocal.get_localzone_name()
        self.setCurrentText(name or (local if local in self.zones else "UTC"))

    def zone(self) -> str:
        """The zone typed or chosen, '' when it is not a zone name."""
        text = self.currentText().strip()
        return text if text in self.zones else ""
