"""Print a calculation's result as readable ISMP text or as the calculator's JSON contract.

In JSON every physical value is ``{"value": number, "unit": "<text pint parses>"}``, except keys
that start with ``days_`` or end in ``_days`` or ``_percent`` (plain numbers) and dates (ISO
strings). Readable text goes through :mod:`pumpmgr.formatting`, like the screens and sheets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pumpmgr.formatting import (
    MassUnit,
    display_unit,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    format_quantity,
)
from pumpmgr.units import Kind, as_unit, kind_of, ureg

#: Durations are given in hours in JSON: the bridge runs for hours, not days.
DURATION_UNIT = "h"


def _plain_number_key(key: str) -> bool:
    return key.startswith("days_") or key.endswith("_days") or key.endswith("_percent")


def _json_number(value: float) -> float | int:
    """12 significant digits: exact for any clinical value, free of float noise (0.1 + 0.2)."""
    rounded = float(f"{value:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _json_value(key: str, value: Any, mass_unit: MassUnit) -> Any:
    if isinstance(value, ureg.Quantity):
        kind = kind_of(value)
        unit = DURATION_UNIT if kind in (Kind.DURATION, None) else display_unit(kind, mass_unit)
        return {"value": _json_number(float(value.to(as_unit(unit)).m)), "unit": unit}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, Mapping):
        return {k: _json_value(k, v, mass_unit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(key, v, mass_unit) for v in value]
    return value


def to_json(result: Mapping[str, Any], mass_unit: MassUnit = "mcg") -> str:
    return json.dumps(
        {key: _json_value(key, value, mass_unit) for key, value in result.items()}, indent=2
    )


def _text_value(key: str, value: Any, mass_unit: MassUnit) -> str:
    if value is None:
        return "not applicable"
    if isinstance(value, ureg.Quantity):
        kind = kind_of(value)
        assert kind is not None, f"{key} has no kind"
        return format_quantity(value, kind, mass_unit)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if key.endswith("_percent") and isinstance(value, float | int):
        return format_percent(float(value) / 100, signed="error" in key or "deviation" in key)
    if _plain_number_key(key) and isinstance(value, float | int):
        text = format_number(float(value), 2)
        return f"{text} day" if text == "1" else f"{text} days"
    if isinstance(value, float):
        return format_number(value, 4)
    if isinstance(value, Mapping):
        return (
            "; ".join(
                f"{str(k).replace('_', ' ')} {_text_value(k, v, mass_unit)}"
                for k, v in value.items()
            )
            or "none"
        )
    if isinstance(value, list | tuple):
        return (
            ", ".join(
                _text_value(key, v, mass_unit) if isinstance(v, date) else str(v) for v in value
            )
            or "none"
        )
    return str(value).replace("_", " ")


def to_text(result: Mapping[str, Any], mass_unit: MassUnit = "mcg") -> str:
    lines = []
    width = max(len(k) for k in result) + 1
    for key, value in result.items():
        label = key.replace("_", " ") + ":"
        if key == "findings" and isinstance(value, list):
            lines.append(f"{label:<{width + 1}} {len(value) or 'none'}")
            lines.extend(f"  [{f['level']}] {f['message']} ({f['code']})" for f in value)
            continue
        lines.append(f"{label:<{width + 1}} {_text_value(key, value, mass_unit)}")
    return "\n".join(lines)
