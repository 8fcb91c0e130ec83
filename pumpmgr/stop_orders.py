"""The Stop order (domain-rules §6): stopping a drug is its own order, by a prescriber, never a
dose of zero. What the patient's page and the worksheet say about it, what a nurse records when
it was carried out, and where a refused zero dose points to.

Pure layer: the standard library and :mod:`pumpmgr.formatting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from pumpmgr.formatting import format_date

#: Where a refused zero dose points to: the window's menu and, for the command line (which has
#: no stop command), the window.
STOP_ORDER_IN_WINDOW = "to stop the drug, use Prescriber → Stop a drug…"
STOP_ORDER_FROM_COMMAND_LINE = "to stop the drug, give a prescriber's Stop order in the window"


class CarriedOut(StrEnum):
    """What the nurse did to carry out a Stop order."""

    EMPTIED_SALINE = "emptied_saline"
    MINIMUM_RATE = "minimum_rate"
    PUMP_STOPPED = "pump_stopped"


CARRIED_OUT_TEXT: dict[CarriedOut, str] = {
    CarriedOut.EMPTIED_SALINE: "pump emptied and filled with preservative-free saline",
    CarriedOut.MINIMUM_RATE: "pump programmed to the minimum rate",
    CarriedOut.PUMP_STOPPED: "pump stopped",
}

#: What a long stop asks of the nurse (per the pump's manual).
LONG_STOP_TEXT = "Empty the pump and fill it with preservative-free saline (a long stop)."


def stop_order_text(
    *, drug: str, effective: date, prescriber: str, reason: str, long_stop: bool
) -> str:
    """The banner's words for an open Stop order of ``drug`` (its name, any case)."""
    text = (
        f"STOP ORDER: {drug.lower()} stopped from {format_date(effective)} by {prescriber} "
        f"({reason.strip().rstrip('.')})."
    )
    return f"{text} {LONG_STOP_TEXT}" if long_stop else text


def withdrawal_warning(
    *, drug: str, withdrawal_on_cut: bool, withdrawal_signs: Sequence[str]
) -> str:
    """The drug's withdrawal warning for a Stop order ("" where the catalog gives none: a drug
    whose cut risks no withdrawal, such as ziconotide)."""
    if not withdrawal_on_cut:
        return ""
    signs = "; ".join(withdrawal_signs)
    text = f"WITHDRAWAL: stopping {drug.lower()} can cause withdrawal"
    return f"{text}; watch for: {signs}." if signs else f"{text}."
