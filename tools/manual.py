"""Build the manual's two made files from their sources: ``docs/manual/guide.html`` from
``guide.md`` (with Qt's own Markdown reader, so no other package is needed) and the one-page
``docs/manual/quick-reference.pdf`` (reportlab, with pumpmgr's sheet styles).

Usage:  python3 tools/manual.py [--out DIR]

Both are checked in: Help → Manual and Help → Quick reference open them from a source checkout
as from the release bundle (which copies ``docs/manual``), and they are written byte for byte
the same on every run (reportlab's invariant mode), so ``tests/test_manual.py`` can tell when
a source changed without them. Run this after editing ``guide.md`` or the text below.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]  # noqa: E402
from reportlab.lib.units import mm  # type: ignore[import-untyped]  # noqa: E402
from reportlab.platypus import (  # type: ignore[import-untyped]  # noqa: E402
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Spacer,
)

from pumpmgr.reports.styles import STYLES, heading, markup, text  # noqa: E402

MANUAL = ROOT / "docs" / "manual"
GUIDE, HTML, QUICK = "guide.md", "guide.html", "quick-reference.pdf"
BODY_STYLE = (
    "font-family: sans-serif; font-size: 11pt; max-width: 56em; margin: 1em auto; padding: 0 1em;"
)
#: A4, with the text inside what US Letter also holds (279 mm tall), so it prints on both.
PAGE = A4
MARGIN, TOP, BOTTOM = 12 * mm, 11 * mm, 26 * mm
GAP = 7 * mm

#: The quick reference: (section, lines). "**x**" is a word on the screen.
QUICK_REFERENCE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Keys",
        (
            "**Ctrl+1** Due list · **Ctrl+F** Find patient · **F5** Refresh",
            "**Ctrl+L** Lock · **Ctrl+K** Calculators · **Ctrl+Shift+B** Week's bookings",
            "**Ctrl+Enter** Next, in a refill · **Ctrl+Q** Quit",
        ),
    ),
    (
        "The day: the due list",
        (
            "Most urgent first; the first column names the state: **Overdue**, **Due this week**, "
            "**Due in 14 days**, **Fine**.",
            "**Refill due**: the last open clinic day for the refill; **Due because** says which "
            "limit set it (alarm − buffer, stability, longest interval, expiry).",
            "**Show:** filters the list; the tiles at the top filter too. Enter or a double-click "
            "opens the patient.",
            "Read the notices above the list: clocks changing (check flex times), a pump to "
            "replace soon.",
        ),
    ),
    (
        "A refill (Refill… on the patient)",
        (
            "1 **Patient and pump**: wristband and programmer; tick the confirmation.",
            "2 **Residual**: aspirate completely, type the **Aspirated volume** (e.g. 4.2 mL). "
            "**investigate**: **What was found** is required.",
            "3 **Solution**: drug, concentration, **Lot number**, **Expiry**.",
            "4 **Volume to add** · 5 **Program**: keep or enter; a new concentration shows the "
            "bridge bolus.",
            "6 **At the pump** · 7 **Programmer's figures**: copy what the programmer shows; it is "
            "the device of record.",
            "8 **Second nurse**: signs with their own user name and password.",
            "9 **Review and save** · 10 **Saved**: print the worksheet or copy the visit note.",
        ),
    ),
    (
        "Typing quantities",
        (
            "Always with the unit: 4.2 mL · 500 mcg/day · 2 mg/mL · 0.24 mL/day. Decimals with a "
            "point. A number without a unit is refused, and the message says what is expected.",
        ),
    ),
    (
        "Dose checks (prescriptions and programs)",
        (
            "**blocked**: nobody can save it (above the hard maximum, ten times the typical range, "
            "a rate the pump cannot deliver).",
            "**stop**: a prescriber only, who types the dose again unseen and gives a reason "
            '("possible tenfold error").',
            "**warning**: shown and kept with the record.",
            "**unconfirmed**: a library value in force that the administrator has not confirmed "
            "yet; findings using it say so.",
        ),
    ),
    (
        "Events (Pump & catheter events, or the Events menu)",
        (
            "**Implant a pump…** · **Replace the pump…** · **Explant the pump…** · "
            "**Catheter revision…** (with the priming bolus) · **MRI…** · **Alarm, ERI or note…**",
            "Nothing is changed in place: **Correct the pump's dates…** adds a correction.",
        ),
    ),
    (
        "Printing",
        (
            "Patient **Print**: **Refill worksheet (before the visit)…**, **Wallet card…**, "
            "**History…**, **Admission hand-off for a ward…**.",
            "Due list: **Print due list…**, **Print the day's worksheets…**. Every sheet opens in "
            "a preview with **Print…** and **Save as PDF…**.",
        ),
    ),
    (
        "Administrator",
        (
            "**Records → Accounts**: add and close accounts. **Records → Clinic settings**: name, "
            "phone, buffer, open days, paper, lock time (audited; moves every refill-due date).",
            "**Records → Drug library**: limits and their sources; changes need a reason. "
            "**Records → Backup, restore, export** · **Records → Audit log**.",
            "**File → Clinic database…**: point this workstation at the clinic's server from its "
            "next start, after a connection test (audited).",
        ),
    ),
    (
        "When something goes wrong",
        (
            "A message names the box and the unit expected; nothing typed is lost.",
            "An unexpected fault shows a reference such as E-20261206-142301: quote it to IT "
            "(**Help → Open log folder**). The log holds record numbers, never patient data.",
            "pumpmgr is decision support and record keeping: the pump's programmer stays the "
            "device of record.",
        ),
    ),
)


def _line(value: str) -> Flowable:
    """One line of the quick reference: plain text with **bold** screen words."""
    parts = text(value).split("**")
    return markup(
        "".join(f"<b>{part}</b>" if i % 2 else part for i, part in enumerate(parts)), STYLES.cell
    )


def quick_reference(out: Path) -> Path:
    """Write the one-page quick reference PDF to ``out``."""
    width, height = PAGE
    column = (width - 2 * MARGIN - GAP) / 2
    frames = [
        Frame(
            MARGIN + i * (column + GAP),
            BOTTOM,
            column,
            height - TOP - BOTTOM - 16 * mm,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id=f"c{i}",
        )
        for i in range(2)
    ]

    def title(canvas: object, _doc: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont("Helvetica-Bold", 17)  # type: ignore[attr-defined]
        canvas.drawString(  # type: ignore[attr-defined]
            MARGIN,
            height - TOP - 6 * mm,
            "pumpmgr: quick reference",
        )
        canvas.setFont("Helvetica", 9)  # type: ignore[attr-defined]
        canvas.drawString(  # type: ignore[attr-defined]
            MARGIN,
            height - TOP - 11 * mm,
            "The words in bold are the words on the screen. The nurse's guide: Help → Manual.",
        )
        canvas.restoreState()  # type: ignore[attr-defined]

    doc = BaseDocTemplate(
        str(out),
        pagesize=PAGE,
        title="pumpmgr: quick reference",
        author="pumpmgr",
        invariant=1,
        pageTemplates=[PageTemplate("quick", frames, onPage=title)],
    )
    story: list[Flowable] = []
    for section, lines in QUICK_REFERENCE:  # a section is never split across the columns
        part: list[Flowable] = [heading(section, column), Spacer(1, 1.5 * mm)]
        for value in lines:
            part += [_line(value), Spacer(1, 1.2 * mm)]
        story += [KeepTogether(part), Spacer(1, 2.5 * mm)]
    doc.build(story)
    return out


def guide_html(source: Path, out: Path) -> Path:
    """Write ``source`` (Markdown) as HTML to ``out``, read by Qt's own Markdown reader."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QApplication

    # a widgets application (not a bare QGuiApplication): a caller may show widgets later
    app = QApplication.instance() or QApplication(["pumpmgr-manual"])
    document = QTextDocument()
    document.setMarkdown(source.read_text(encoding="utf-8"))
    document.setMetaInformation(
        QTextDocument.MetaInformation.DocumentTitle, "pumpmgr: the nurse's guide"
    )
    html = document.toHtml()
    # the screenshots at most as wide as the window, whatever its size
    html = html.replace("<img ", '<img style="max-width:100%" ')
    # Qt writes its own default font on the body ('Sans Serif' at 9 pt offscreen), which no
    # browser knows: the reader's sans-serif at a readable size, in lines a reader can follow
    html = re.sub(r'<body style="[^"]*">', f'<body style="{BODY_STYLE}">', html, count=1)
    out.write_text(html, encoding="utf-8")
    del app
    return out


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def shipped_files() -> list[Path]:
    """What the release bundle copies into its ``docs/`` folder for the manual, relative to
    ``docs/``: the guide (Markdown and HTML), the quick reference and every picture the guide
    shows."""
    guide = MANUAL / GUIDE
    pictures = {
        (MANUAL / link).resolve().relative_to(ROOT / "docs")
        for link in _IMAGE.findall(guide.read_text(encoding="utf-8"))
    }
    return [Path("manual") / name for name in (GUIDE, HTML, QUICK)] + sorted(pictures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MANUAL)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for made in (guide_html(MANUAL / GUIDE, out / HTML), quick_reference(out / QUICK)):
        print(made)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
