"""What stands at the top of a patient's page and sheets, in one wording (domain-rules §3, §4a,
§6, §7): the pump's state before its refill (the page only: the worksheet has its own box), the
over-infusion-risk flag, every Stop order not yet carried out with the drug's withdrawal
warning, every unreviewed incident, every open order, and every individual maximum in force.

Pure layer: :mod:`pumpmgr.records`, :mod:`pumpmgr.orders` and :mod:`pumpmgr.formatting`. The
patient view and the worksheet both show :func:`patient_alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from pumpmgr.formatting import format_date, format_quantity
from pumpmgr.orders import NO_SETTINGS_UNTIL_SIGNED, OrderState, prints_settings
from pumpmgr.records import PatientChart
from pumpmgr.stop_orders import stop_order_text
from pumpmgr.units import Kind
from pumpmgr.wording import refill_state_text


@dataclass(frozen=True)
class Alert:
    text: str
    urgent: bool  #: an incident or an order awaiting a prescriber: shown as an error


def _day(moment: datetime, tz: tzinfo) -> str:
    return format_date(moment.astimezone(tz))


#: The over-infusion-risk flag in words (domain-rules §3; HSA notice, 8 Nov 2016).
OVER_INFUSION_RISK_TEXT = (
    "OVER-INFUSION RISK: this pump ran empty or was without drug for more than 48 hours, which "
    "can make it over-infuse later (HSA notice, 8 Nov 2016). Watch for overdose signs and tell "
    "the responsible clinician."
)


def _forecast_alerts(chart: PatientChart, now: datetime | None) -> list[Alert]:
    """The state before a refill at ``now`` (None: not asked) and the over-infusion risk."""
    stored, pump = chart.forecast, chart.pump
    alerts = []
    if stored is not None and now is not None:
        past_end = (
            pump is not None and pump.replace_by is not None and (pump.replace_by < now.date())
        )
        state = stored.state(now, past_end_of_service=past_end)
        if state is not None:
            alerts.append(Alert(refill_state_text(state), True))
    if stored is not None and stored.over_infusion_risk:
        alerts.append(Alert(OVER_INFUSION_RISK_TEXT, True))
    return alerts


def patient_alerts(chart: PatientChart, tz: tzinfo, now: datetime | None = None) -> list[Alert]:
    """The chart's alerts, most pressing first: the state before a refill at ``now`` (the
    patient's page gives it), the over-infusion risk, Stop orders, incidents, orders,
    individual maxima."""
    alerts = _forecast_alerts(chart, now)
    for stop in chart.stop_orders:
        alerts.append(
            Alert(
                stop_order_text(
                    drug=stop.drug,
                    effective=stop.effective_at.astimezone(tz).date(),
                    prescriber=stop.prescriber,
                    reason=stop.reason,
                    long_stop=stop.long_stop,
                ),
                True,
            )
        )
        if stop.withdrawal_warning:
            alerts.append(Alert(stop.withdrawal_warning, True))
    alerts += [
        Alert(
            f"INCIDENT: {i.text} ({_day(i.occurred_at, tz)}): "
            f"{i.summary.rstrip('. ')}. A prescriber reviews it.",
            True,
        )
        for i in chart.open_incidents
    ]
    for order in chart.open_orders:
        line = (
            f"ORDER of {_day(order.entered_at, tz)} by {order.prescriber} "
            f"({order.solution}): {order.state_text}"
        )
        if not prints_settings(OrderState(order.state), programmed=order.programmed):
            line += f"; {NO_SETTINGS_UNTIL_SIGNED}"  # the state says what it awaits
        elif order.decline_reason:
            line += f" ({order.decline_reason})"
        alerts.append(Alert(line + ".", True))
    for maximum in chart.individual_maxima:
        shown = format_quantity(maximum.maximum, Kind.DOSE_RATE, maximum.unit)
        review = (
            f"review overdue since {format_date(maximum.review_by)}"
            if maximum.review_overdue
            else f"review by {format_date(maximum.review_by)}"
        )
        alerts.append(
            Alert(
                f"INDIVIDUAL MAXIMUM: {maximum.drug.lower()} up to {shown}, raised by "
                f"{maximum.set_by} and signed by {maximum.signed_by} ({maximum.reason}); {review}.",
                maximum.review_overdue,
            )
        )
    return alerts
