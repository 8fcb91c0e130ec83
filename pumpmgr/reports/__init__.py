"""Printed sheets (PDF, reportlab platypus): the refill worksheet, patient history, due list,
wallet card, compounding sheet, admission hand-off, a day's worksheets in one file and the
patient's reminder letter.

Reports layer: may import reportlab and the pure pumpmgr modules (records, visit, formatting,
catalogs and the calculation modules); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. Every
builder takes records, the clinic's settings and an explicit ``generated_at`` (and the audit
log's head for the footer, ``audit_head``, which :class:`pumpmgr.services.sheets.SheetService`
always gives) and returns the PDF as bytes; with ``invariant=True`` two builds of the same
records are byte-identical.
"""

from __future__ import annotations

from .batch import build_worksheet_batch
from .compounding_sheet import build_compounding_sheet
from .due_list import build_due_list
from .handoff import build_handoff
from .history import build_history
from .reminder_letter import build_reminder_letter
from .wallet_card import build_wallet_card
from .worksheet import build_refill_worksheet

__all__ = [
    "build_compounding_sheet",
    "build_due_list",
    "build_handoff",
    "build_history",
    "build_refill_worksheet",
    "build_reminder_letter",
    "build_wallet_card",
    "build_worksheet_batch",
]
