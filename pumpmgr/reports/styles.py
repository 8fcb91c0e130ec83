"""The look of every printed sheet: page sizes, styles, reusable blocks and the page footer.

Reports layer: imports reportlab and the pure pumpmgr modules (records, formatting); never
SQLAlchemy, :mod:`pumpmgr.db` or Qt. Every sheet is built by :func:`build_pdf` from a story
(platypus flowables); a :class:`SectionStart` at the head of each story names the record its
pages belong to, and the footer painted at the end gives each record its own "page x of y".

Sizes are chosen for a nurse reading at arm's length: body text 10 pt, labels 8.5 pt, the
fields written in at the refill and the next refill date larger. Meaning never rests on colour
alone (sheets are often printed black and white): warnings are framed and in bold capitals.

Over 600 lines: the sizes, the styles and the blocks every sheet draws with are one look, kept
in one place so that a sheet cannot drift from the others.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, LETTER, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import simpleSplit  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from pumpmgr.formatting import format_datetime, program_version
from pumpmgr.records import ClinicSettings

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
MARGIN = 14 * mm
FOOTER_HEIGHT = 19 * mm  #: room for two footer lines and the QR code
QR_SIZE = 15 * mm
FONT = "Helvetica"
BOLD = "Helvetica-Bold"

INK = colors.black
MUTED = colors.Color(0.32, 0.32, 0.32)
RULE = colors.Color(0.55, 0.55, 0.55)
BAND = colors.Color(0.86, 0.89, 0.94)  #: section headings
WRITE_IN = colors.Color(1.0, 0.98, 0.86)  #: fields the nurse fills in
WARN = colors.Color(0.70, 0.0, 0.0)
WARN_FILL = colors.Color(1.0, 0.93, 0.93)


def page_size(settings: ClinicSettings, *, wide: bool = False) -> tuple[float, float]:
    """The clinic's paper (A4 or US Letter), turned sideways for ``wide`` tables."""
    size = PAGE_SIZES[settings.page_size]
    return landscape(size) if wide else size


#: A number and the unit after it, which a line must never split ("100 / mcg/mL" misreads).
_NUMBER_UNIT = re.compile(r"(\d) (?=(mcg|mg|mL|cm|h|days?)\b|%)")


def text(value: str) -> str:
    """Text from a record made safe for a Paragraph (which reads a little XML), with a
    non-breaking space between each number and its unit."""
    return _NUMBER_UNIT.sub("\\1\u00a0", escape(value))


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    bold: ParagraphStyle
    small: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    large: ParagraphStyle
    huge: ParagraphStyle
    warning: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_head: ParagraphStyle
    right: ParagraphStyle


def make_styles() -> Styles:
    def style(
        name: str,
        size: float,
        *,
        font: str = FONT,
        leading: float | None = None,
        color: Any = INK,
        **extra: Any,
    ) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=font,
            fontSize=size,
            leading=leading or round(size * 1.25, 1),
            textColor=color,
            **extra,
        )

    return Styles(
        title=style("title", 17, font=BOLD, leading=20),
        subtitle=style("subtitle", 9.5, color=MUTED),
        heading=style("heading", 11.5, font=BOLD, leading=14),
        body=style("body", 10, leading=13),
        bold=style("bold", 10, font=BOLD, leading=13),
        small=style("small", 8.5, leading=10.5),
        label=style("label", 8.5, leading=10.5, color=MUTED),
        value=style("value", 10.5, font=BOLD, leading=13),
        large=style("large", 14, font=BOLD, leading=17),
        huge=style("huge", 22, font=BOLD, leading=26),
        warning=style("warning", 10.5, font=BOLD, leading=13.5, color=WARN),
        cell=style("cell", 9, leading=11),
        cell_bold=style("cell_bold", 9, font=BOLD, leading=11),
        cell_head=style("cell_head", 8.5, font=BOLD, leading=10.5),
        right=style("right", 9.5, leading=12, alignment=TA_RIGHT),
    )


STYLES = make_styles()


def para(value: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(text(value), style or STYLES.body)


def markup(value: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph whose text already holds Paragraph markup (``<b>``); escape parts first."""
    return Paragraph(value, style or STYLES.body)


def heading(title: str, width: float) -> Table:
    """A section heading: a shaded band across the frame."""
    left, right = 4, 6  # the padding (the right one reportlab's)
    band = Table([[_cell(title, STYLES.heading, width - left - right)]], colWidths=[width])
    band.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), BAND),
                ("LEFTPADDING", (0, 0), (-1, -1), left),
                ("RIGHTPADDING", (0, 0), (-1, -1), right),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                *_in_style((0, 0), (-1, -1), STYLES.heading),
            ]
        )
    )
    return band


#: The room a section that may split needs to start on a page: its heading and a few rows.
SECTION_START_ROOM = 30 * mm


def section(
    title: str, width: float, body: Sequence[Flowable], *, keep: bool = True
) -> list[Flowable]:
    """A heading, its content, and space after; kept on one page when ``keep``."""
    band, gap = heading(title, width), Spacer(1, 2 * mm)
    parts: list[Flowable] = [band, gap, *body, Spacer(1, 4 * mm)]
    if keep:
        return [KeepTogether(parts)]
    # A long table may split across pages, and starts on the page it is reached on: its
    # heading moves on only when less than a few rows' room is left (keepWithNext would move
    # the heading with the whole table, leaving a page with nothing but a title).
    return [CondPageBreak(SECTION_START_ROOM), *parts]


#: What a table cell takes: text (made a paragraph), a flowable, or a list of flowables.
#: reportlab has no type information, so the alias cannot say more than Any.
Cell: TypeAlias = Any


def _cell(value: Cell, style: ParagraphStyle, room: float) -> Any:
    """Text becomes the cell's plain string when its lines at ``room`` points are certain
    (the table's style commands give it ``style``'s font: :func:`_in_style`), else a
    paragraph; flowables (or a list of them) stay as they are.

    reportlab counts the leading for each line of a string cell, and draws its first baseline
    the font size below the top of its lines, whatever the cell's vertical alignment, as it
    draws a Paragraph's: the page looks the same, without parsing the text and breaking it
    into lines again at every layout pass (a cell is laid out two to four times)."""
    if not isinstance(value, str):
        return value
    lines = _plain_lines(value, style, room)
    return Paragraph(text(value), style) if lines is None else lines


def _plain_lines(value: str, style: ParagraphStyle, room: float) -> str | None:
    """``value``'s lines as a Paragraph in ``style`` breaks them ``room`` points wide, joined
    by newlines, or None where that is not certain: spaces a Paragraph would change, a word
    wider than the room (a Paragraph splits it), a number and its unit on two lines (a
    Paragraph keeps them together: :func:`text`), or a line that would take the next word
    by shrinking its spaces (a Paragraph may, by up to 5 % of a space each)."""
    if not value or " ".join(value.split()) != value:
        return None
    font, size = style.fontName, style.fontSize
    if stringWidth(value, font, size) < room:
        return value
    if _NUMBER_UNIT.search(value):
        return None
    lines = simpleSplit(value, font, size, room)
    if any(stringWidth(line, font, size) >= room for line in lines):
        return None
    space = stringWidth(" ", font, size)
    for line, after in itertools.pairwise(lines):
        shrunk = space * max(1.0, style.spaceShrinkage * len(line.split()))
        if stringWidth(f"{line} {after.split(' ', 1)[0]}", font, size) <= room + shrunk:
            return None
    return "\n".join(lines)


def _in_style(start: tuple[int, int], stop: tuple[int, int], style: ParagraphStyle) -> list[Any]:
    """The table style commands that draw the plain string cells from ``start`` to ``stop`` in
    ``style``'s font, leading and colour (cells holding flowables ignore them)."""
    return [
        ("FONT", start, stop, style.fontName, style.fontSize, style.leading),
        ("TEXTCOLOR", start, stop, style.textColor),
    ]


def fields(rows: Sequence[tuple[str, Cell]], widths: tuple[float, float]) -> Table:
    """Label and value pairs, one a line: the pre-filled facts of a sheet."""
    left, right = 2, 3  # the cells' padding
    label_room, value_room = (w - left - right for w in widths)
    table = Table(
        [
            [_cell(label, STYLES.label, label_room), _cell(value, STYLES.value, value_room)]
            for label, value in rows
        ],
        colWidths=list(widths),
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), left),
                ("RIGHTPADDING", (0, 0), (-1, -1), right),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.Color(0.85, 0.85, 0.85)),
                *_in_style((0, 0), (0, -1), STYLES.label),
                *_in_style((1, 0), (1, -1), STYLES.value),
            ]
        )
    )
    return table


def grid(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    *,
    bold_first: bool = False,
    highlight: Sequence[int] = (),
) -> Table:
    """A data table with a repeated header row; rows in ``highlight`` are framed in bold."""
    padding = 3
    rooms = [w - 2 * padding for w in widths]
    data: list[list[Any]] = [
        [_cell(h, STYLES.cell_head, room) for h, room in zip(header, rooms, strict=False)]
    ]
    for row in rows:
        data.append(
            [
                _cell(value, STYLES.cell_bold if bold_first and index == 0 else STYLES.cell, room)
                for index, (value, room) in enumerate(zip(row, rooms, strict=False))
            ]
        )
    table = Table(data, colWidths=list(widths), repeatRows=1)
    commands: list[Any] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), BAND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), padding),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        *_in_style((0, 0), (-1, 0), STYLES.cell_head),
        *_in_style((0, 1), (-1, -1), STYLES.cell),
        *(_in_style((0, 1), (0, -1), STYLES.cell_bold) if bold_first else []),
    ]
    for index in highlight:
        commands += [
            ("BOX", (0, index + 1), (-1, index + 1), 1.5, WARN),
            ("BACKGROUND", (0, index + 1), (-1, index + 1), WARN_FILL),
        ]
    table.setStyle(TableStyle(commands))
    return table


def columns(width: float, *weights: float) -> list[float]:
    """Column widths in proportion to ``weights`` (millimetres on A4), filling ``width``: the
    same table fits A4 and the narrower US Letter."""
    total = sum(weights)
    return [width * weight / total for weight in weights]


def framed(content: Sequence[Flowable], width: float, *, warning: bool = True) -> Table:
    """A box around ``content``: thick and tinted for a warning, thin otherwise."""
    box = Table([[list(content)]], colWidths=[width])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 2 if warning else 0.8, WARN if warning else INK),
                ("BACKGROUND", (0, 0), (-1, -1), WARN_FILL if warning else colors.white),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


class CheckBox(Flowable):  # type: ignore[misc]
    """A square to tick by hand, or ticked (a drawn check mark) on a completed record."""

    def __init__(self, checked: bool | None = None, size: float = 4.5 * mm) -> None:
        super().__init__()
        self.checked = checked
        self.size = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas, s = self.canv, self.size
        canvas.setLineWidth(1)
        canvas.rect(0, 0, s, s)
        if self.checked:
            canvas.setLineWidth(1.6)
            canvas.lines(
                [(s * 0.18, s * 0.5, s * 0.42, s * 0.2), (s * 0.42, s * 0.2, s * 0.85, s * 0.85)]
            )
        elif self.checked is False:
            canvas.setLineWidth(1.6)
            canvas.lines(
                [(s * 0.2, s * 0.2, s * 0.8, s * 0.8), (s * 0.2, s * 0.8, s * 0.8, s * 0.2)]
            )


def signatures(
    roles: Sequence[tuple[str, str]],
    width: float,
    *,
    rows: Sequence[str] = ("Name", "Signature", "Date and time"),
) -> Table:
    """Side-by-side signature blocks: ``(role, printed name or "")`` each, with ruled lines."""
    column = width / len(roles)
    label_width = 26 * mm
    value_width = column - label_width - 6 * mm
    right = 6  # the cells' right padding (reportlab's); no left padding
    blocks = []
    for role, name in roles:
        lines = [[_cell(role, STYLES.bold, label_width + value_width - right), ""]]
        for row in rows:
            filled = name if row == "Name" else ""
            lines.append(
                [
                    _cell(row, STYLES.label, label_width - right),
                    _cell(filled, STYLES.value, value_width - right),
                ]
            )
        block = Table(
            lines,
            colWidths=[label_width, value_width],
            rowHeights=[6 * mm] + [8.5 * mm] * len(rows),
        )
        block.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, 0), (-1, 0)),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (1, 1), (1, -1), 0.8, INK),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), right),
                    *_in_style((0, 0), (0, 0), STYLES.bold),
                    *_in_style((0, 1), (0, -1), STYLES.label),
                    *_in_style((1, 1), (1, -1), STYLES.value),
                ]
            )
        )
        blocks.append(block)
    table = Table([blocks], colWidths=[column] * len(roles))
    table.setStyle(
        TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    return table


# --------------------------------------------------------------------------------------------
# Sections, the footer and the document


@dataclass(frozen=True)
class Section:
    """The record a run of pages belongs to: its title and identifier (printed as a QR code)."""

    title: str
    record_id: str


class SectionStart(Flowable):  # type: ignore[misc]
    """Marks where a record's pages begin; takes no room. The footer numbers pages per section."""

    def __init__(self, section: Section, index: int = 0) -> None:
        super().__init__()
        self.section = section
        self.index = index

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv.pumpmgr_section = self.section


def draw_qr(canvas: Canvas, value: str, x: float, y: float, size: float = QR_SIZE) -> None:
    """``value``'s QR code in black, drawn by reportlab's ``QrCode`` flowable ``size`` points
    square with its lower left corner at ``x, y`` (error correction level L; no quiet zone:
    the page margin is one).

    The flowable paints each row's dark runs straight on the canvas (each a hair, 5 % of a
    module, taller than the row, so no light seam shows between rows). reportlab's
    ``QrCodeWidget`` makes the same runs as checked drawing shapes first and renders them one
    by one (its cost: docs/performance.md)."""
    canvas.saveState()
    canvas.setFillColor(INK)  # a form takes the colour of the page it is shown on
    QrCode(value, width=size, height=size, qrBorder=0, qrLevel="L").drawOn(canvas, x, y)
    canvas.restoreState()


def _fitted(value: str, font: str, size: float, width: float) -> str:
    """``value`` cut short with an ellipsis where it would be wider than ``width``."""
    if stringWidth(value, font, size) <= width:
        return value
    while value and stringWidth(value + "\u2026", font, size) > width:
        value = value[:-1]
    return value.rstrip() + "\u2026"


def _footer_canvas(
    settings: ClinicSettings, generated_at: datetime, audit_head: str | None
) -> type[Canvas]:
    """A canvas that keeps every page until the end, then paints each footer knowing how many
    pages its section has (the usual "page x of y" technique, per section).

    The footer, in three lines beside the record's QR code: the record's title and "page x of
    y"; the clinic and the record's identifier (the QR code's text); when and by which pumpmgr
    the sheet was made, with the audit log's head then (``audit_head``) when given.
    """
    generated = f"Generated {format_datetime(generated_at)} by {program_version()}"
    if audit_head is not None:
        generated += "   Audit log head "
    clinic = settings.clinic_name + (
        f"   Phone {settings.clinic_phone}" if settings.clinic_phone else ""
    )
    #: Each record's QR code, drawn once as a PDF form and shown on every page of the record
    #: (encoding it twice a page and drawing some 700 shapes was half of a worksheet's time).
    qr_forms: dict[str, str] = {}

    class FooterCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._kept: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._kept.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            sections = [state.get("pumpmgr_section") for state in self._kept]
            for number, state in enumerate(self._kept):
                self.__dict__.update(state)
                first = number
                while first > 0 and sections[first - 1] is sections[number]:
                    first -= 1
                last = number
                while last + 1 < len(sections) and sections[last + 1] is sections[number]:
                    last += 1
                self._footer(sections[number], number - first + 1, last - first + 1)
                super().showPage()
            super().save()

        def _footer(self, current: Section | None, page: int, pages: int) -> None:
            width, _ = self._pagesize
            top = MARGIN + FOOTER_HEIGHT - 4 * mm
            right = width - MARGIN - QR_SIZE - 4 * mm
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, top, width - MARGIN, top)
            self.setFillColor(INK)
            self.setFont(BOLD, 9.5)
            self.drawRightString(right, top - 5 * mm, f"Page {page} of {pages}")
            self.setFont(FONT, 8.5)
            self.drawString(MARGIN, top - 5 * mm, current.title if current is not None else "")
            self.setFillColor(MUTED)
            self.setFont(FONT, 7.5)
            room = right - MARGIN
            if current is not None:
                record = f"Record {current.record_id}"
                self.drawRightString(right, top - 9.5 * mm, record)
                room -= stringWidth(record, FONT, 7.5) + 4 * mm
            self.drawString(MARGIN, top - 9.5 * mm, _fitted(clinic, FONT, 7.5, room))
            self.drawString(MARGIN, top - 13 * mm, generated)
            if audit_head is not None:  # in black: what a nurse types to check the log
                self.setFillColor(INK)
                self.setFont(BOLD, 7.5)
                self.drawString(
                    MARGIN + stringWidth(generated, FONT, 7.5), top - 13 * mm, audit_head
                )
            if current is not None:
                self.translate(width - MARGIN - QR_SIZE, MARGIN)
                self.doForm(self._qr_form(current.record_id))
            self.restoreState()

        def _qr_form(self, record_id: str) -> str:
            name = qr_forms.get(record_id)
            if name is None:
                name = qr_forms[record_id] = f"pumpmgrQR{len(qr_forms) + 1}"
                self.beginForm(name, 0, 0, QR_SIZE, QR_SIZE)
                draw_qr(self, record_id, 0, 0)
                self.endForm()
            return name

    return FooterCanvas


class _Document(BaseDocTemplate):  # type: ignore[misc]
    def __init__(
        self, target: io.BytesIO, progress: Callable[[Flowable], None] | None, **kwargs: Any
    ) -> None:
        super().__init__(target, **kwargs)
        self._progress = progress

    def afterFlowable(self, flowable: Flowable) -> None:
        if self._progress is not None:
            self._progress(flowable)


def frame_width(settings: ClinicSettings, *, wide: bool = False) -> float:
    """The width the story is laid out in."""
    return float(page_size(settings, wide=wide)[0] - 2 * MARGIN)


def build_pdf(
    story: Sequence[Flowable],
    settings: ClinicSettings,
    *,
    title: str,
    subject: str,
    generated_at: datetime,
    invariant: bool,
    wide: bool = False,
    after_flowable: Callable[[Flowable], None] | None = None,
    audit_head: str | None = None,
) -> bytes:
    """Lay out ``story`` on the clinic's paper with the pumpmgr footer; return the PDF bytes.

    With ``invariant`` reportlab writes no creation time or random file identifier, so two
    builds of the same records compare equal byte for byte. ``audit_head``: the audit log's
    head as every page's footer prints it after "Audit log head" (the sheet service gives
    ``812:3f2a9c01d4e5b6a7``, which ``pumpmgr audit verify --anchor`` takes as it is); None
    prints none (a sheet built from records alone, without their database).
    """
    size = page_size(settings, wide=wide)
    buffer = io.BytesIO()
    document = _Document(
        buffer,
        after_flowable,
        pagesize=size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + FOOTER_HEIGHT,
        title=title,
        subject=subject,
        author=settings.clinic_name,
        creator=program_version(),
        producer=program_version(),
        invariant=1 if invariant else 0,
        pageCompression=0 if invariant else 1,
    )
    frame = Frame(
        MARGIN,
        MARGIN + FOOTER_HEIGHT,
        size[0] - 2 * MARGIN,
        size[1] - 2 * MARGIN - FOOTER_HEIGHT,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    document.addPageTemplates([PageTemplate(id="sheet", frames=[frame], pagesize=size)])
    document.build(list(story), canvasmaker=_footer_canvas(settings, generated_at, audit_head))
    return buffer.getvalue()


def title_block(
    title: str, subtitle: str, width: float, *, badge: tuple[str, str] | None = None
) -> Table:
    """The sheet's title with the clinic under it, and a framed state badge (a word in capitals
    and a short line under it) on the right."""
    left = [Paragraph(text(title), STYLES.title), Paragraph(text(subtitle), STYLES.subtitle)]
    badge_width = 62 * mm if badge else 0.0
    cells: list[Any] = [left]
    widths = [width - badge_width]
    if badge:
        centred = ParagraphStyle(
            "badge", parent=STYLES.large, fontSize=12.5, leading=15, alignment=TA_CENTER
        )
        note = ParagraphStyle("badge_note", parent=STYLES.small, alignment=TA_CENTER)
        cells.append([Paragraph(text(badge[0]), centred), Paragraph(text(badge[1]), note)])
        widths.append(badge_width)
    table = Table([cells], colWidths=widths)
    commands: list[Any] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if badge:
        commands += [("BOX", (1, 0), (1, 0), 1.5, INK)]
    table.setStyle(TableStyle(commands))
    return table
