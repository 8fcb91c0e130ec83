"""A table cell's text as a plain string: its lines are the lines reportlab's Paragraph breaks
it into, or the cell stays a Paragraph."""

from __future__ import annotations

import pytest
from reportlab.platypus import Paragraph  # type: ignore[import-untyped]

from pumpmgr.reports.styles import STYLES, _cell, _plain_lines, text

TEXTS = [
    "Tue 25 Mar 2025",
    "Wed 24 Sep 2025",
    "due this week",
    "may be empty",
    "Alarm (with boluses)",
    "Discrepancy: expected minus aspirated",
    "Expiry or beyond-use date",
    "Needle through the reservoir septum to the needle stop; aspiration confirmed before",
    "Pharmacy, manufacturer or compounding service, or the clinic's own stock if it has one",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p",
]
#: Every quarter point from 20 to 140: widths where a line just takes its next word or not.
ROOMS = [20 + step / 4 for step in range(481)]
STYLE_NAMES = ["cell", "cell_bold", "label"]


def paragraph_lines(value: str, style_name: str, room: float) -> list[str]:
    paragraph = Paragraph(text(value), getattr(STYLES, style_name))
    paragraph.wrap(room, 10_000)
    return [" ".join(words) for _, words in paragraph.blPara.lines]


@pytest.mark.parametrize("style_name", STYLE_NAMES)
def test_plain_lines_are_the_paragraphs_lines(style_name: str) -> None:
    style = getattr(STYLES, style_name)
    several = 0
    for value in TEXTS:
        for room in ROOMS:
            lines = _plain_lines(value, style, room)
            if lines is not None:
                assert lines.split("\n") == paragraph_lines(value, style_name, room), (value, room)
                several += lines.count("\n") > 0
    assert several >= 1000  # not only the one-line texts


def test_what_a_paragraph_may_do_otherwise_stays_a_paragraph() -> None:
    style = STYLES.cell
    assert _plain_lines("baclofen 2000 mcg/mL and more", style, 50) is None  # number and unit
    assert _plain_lines("Hydromorphone-hydrochloride", style, 40) is None  # a word split
    assert _plain_lines("two  spaces", style, 200) is None  # spaces a Paragraph changes
    assert _plain_lines("", style, 200) is None
    assert isinstance(_cell("", style, 200), Paragraph)
    assert _cell("Tue 25 Mar 2025", style, 55) == "Tue 25 Mar\n2025"
