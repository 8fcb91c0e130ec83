"""The manual (docs/manual): the made files are what tools/manual.py makes from their sources
today, the quick reference is one page, and every picture the guide shows exists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import manual  # noqa: E402


def test_the_quick_reference_is_up_to_date_and_one_page(tmp_path: Path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    made = manual.quick_reference(tmp_path / manual.QUICK)
    assert made.read_bytes() == (manual.MANUAL / manual.QUICK).read_bytes(), (
        "docs/manual/quick-reference.pdf is stale: run python tools/manual.py"
    )
    assert len(pdfium.PdfDocument(str(made))) == 1


def test_the_guide_html_is_up_to_date(tmp_path: Path, qapp: object) -> None:
    made = manual.guide_html(manual.MANUAL / manual.GUIDE, tmp_path / manual.HTML)
    assert made.read_text(encoding="utf-8") == (manual.MANUAL / manual.HTML).read_text(
        encoding="utf-8"
    ), "docs/manual/guide.html is stale: run python tools/manual.py"


def test_the_guide_html_reads_in_a_browser() -> None:
    """Looked at in Chromium: Qt wrote its own default font on the body ('Sans Serif' at
    9 pt), which no browser knows, so the guide came out in a small serif across the whole
    window."""
    html = (manual.MANUAL / manual.HTML).read_text(encoding="utf-8")
    body = html[html.index("<body") : html.index(">", html.index("<body"))]
    assert "font-family:sans-serif" in body.replace(" ", "")
    assert "'Sans Serif'" not in html and "max-width" in body


def test_every_shipped_file_exists() -> None:
    shipped = manual.shipped_files()
    missing = [str(p) for p in shipped if not (ROOT / "docs" / p).is_file()]
    assert missing == []
    assert Path("screenshots/first_run/1-where-the-records-live.png") in shipped
    assert Path("screenshots/03-due-list.png") in shipped
