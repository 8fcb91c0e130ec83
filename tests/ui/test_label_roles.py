"""Every role the screens give a label is one the stylesheet draws: the orders to sign, the
week's bookings and the booking dialog had titles in a role the stylesheet lacked ("heading"),
drawn as plain text."""

from __future__ import annotations

import re
from pathlib import Path

from ui import icons

UI = Path(__file__).resolve().parents[2] / "ui"


def test_every_label_role_set_in_the_screens_is_styled() -> None:
    sources = [path.read_text(encoding="utf-8") for path in UI.rglob("*.py")]
    roles = {
        match
        for text in sources
        for match in re.findall(r'setProperty\("role", "([a-z]+)"\)', text)
    }
    # set_role(widget, "error" if ... else "muted"): every word quoted in the call
    for text in sources:
        for call in re.findall(r"set_role\([^,]+,([^)]*)\)", text):
            roles |= set(re.findall(r'"([a-z]+)"', call))
    assert {"title", "error", "muted", "alert", "notice"} <= roles  # the search finds them
    styled = set(re.findall(r'\[role="([a-z]+)"\]', icons.stylesheet()))
    assert roles <= styled, f"roles without a style: {sorted(roles - styled)}"
