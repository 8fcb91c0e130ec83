"""Every role the screens give a label is one the stylesheet draws: the orders to sign, the
week's bookings and the booking dialog had titles in a role the stylesheet lacked ("heading"),
drawn as plain text."""

from __future__ import annotations

import re
from pathlib import Path

from ui import icons

UI = Path(__file__).resolve().parents[2] / "ui"


def test_every_label_role_set_in_the_screens_is_styled() -> None:
    roles = {
        match
        for path in UI.rglob("*.py")
        for match in re.findall(
            r'setProperty\("role", "([a-z]+)"\)', path.read_text(encoding="utf-8")
        )
    }
    assert {"title", "error", "muted"} <= roles  # the search finds them
    styled = set(re.findall(r'\[role="([a-z]+)"\]', icons.stylesheet()))
    assert roles <= styled, f"roles without a style: {sorted(roles - styled)}"
