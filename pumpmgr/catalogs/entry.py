"""Reading one catalog table, with errors that name the file, the entry and the field: the
helpers :mod:`pumpmgr.catalogs.reader` reads pumps, catheters and drugs with (pure layer, as
:mod:`pumpmgr.catalogs`)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from pumpmgr.catalogs.model import (
    _KEY_RE,
    _NOT_SOURCES,
    _SOURCE_RE,
    SCHEMA_VERSION,
    Sources,
)
from pumpmgr.errors import CatalogError, Code, InputError
from pumpmgr.units import Kind, Quantity, parse, parse_unit


class _Entry:
    """A TOML table being read: every failure names the file, the entry and the field."""

    def __init__(self, file: str, what: str, table: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.what = what  # "pump 'synchromed2-20'"
        self.table = table
        self.prefix = prefix  # "titration." for a nested table
        self.seen: set[str] = set()

    def fail(self, field: str, problem: str) -> NoReturn:
        name = self.prefix + field
        raise CatalogError(
            f"{self.file}: {self.what}, field '{name}': {problem}", code=Code.CATALOG, field=name
        )

    def child(self, field: str, table: Any) -> _Entry:
        if not isinstance(table, Mapping):
            self.fail(field, f"must be a table, not {_describe(table)}")
        return _Entry(self.file, self.what, table, f"{self.prefix}{field}.")

    def has(self, field: str) -> bool:
        return field in self.table

    def raw(self, field: str, *, required: bool = True) -> Any:
        self.seen.add(field)
        if field not in self.table:
            if required:
                self.fail(field, 'is missing (write "" when the value is not known)')
            return None
        return self.table[field]

    def text(self, field: str, *, required: bool = True, allow_empty: bool = True) -> str | None:
        value = self.raw(field, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(field, f"must be text, not {_describe(value)}")
        if not value.strip():
            if not allow_empty:
                self.fail(field, "must not be empty")
            return None
        return value.strip()

    def boolean(self, field: str) -> bool:
        value = self.raw(field)
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false, not {_describe(value)}")
        return value

    def number(
        self,
        field: str,
        *,
        required: bool = True,
        integer: bool = False,
        maximum: float | None = None,
    ) -> float | None:
        value = self.raw(field, required=required)
        if value is None or value == "":
            return None
        return self.check_number(field, value, integer=integer, maximum=maximum)

    def check_number(
        self, field: str, value: Any, *, integer: bool = False, maximum: float | None = None
    ) -> float:
        # bool is an int in Python; true is not a number of steps
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = "a whole number" if integer else "a number"
            self.fail(field, f"must be {wanted}, not {_describe(value)}")
        if not math.isfinite(value) or value <= 0:
            self.fail(field, f"must be more than zero, not {value}")
        if maximum is not None and value > maximum:
            self.fail(field, f"must be at most {maximum:g}, not {value}")
        return float(value)

    def quantity(
        self, field: str, kind: Kind, *, required: bool = True, unit: str | None = None
    ) -> Quantity | None:
        value = self.raw(field, required=required)
        if value is None:
            return None
        return self.check_quantity(field, value, kind, unit=unit)

    def check_quantity(
        self, field: str, value: Any, kind: Kind, *, unit: str | None = None
    ) -> Quantity | None:
        if not isinstance(value, str):
            self.fail(
                field,
                f'must be text with a unit, for example "{kind.spec.example}", '
                f"not {_describe(value)}",
            )
        if not value.strip():
            return None
        try:
            quantity = parse(value, kind, self.prefix + field)
        except InputError as exc:
            self.fail(field, _strip_field(exc.message, self.prefix + field))
        if quantity.magnitude <= 0:
            self.fail(field, f"'{value}' must be more than zero")
        # A drug's values are written in its display unit, so a mg/mcg slip cannot load.
        if unit is not None and quantity.units != parse_unit(unit, kind, field):
            self.fail(field, f"'{value}' must be written in {unit}, this drug's unit")
        return quantity

    def text_list(self, field: str) -> tuple[str, ...]:
        value = self.raw(field)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(field, f"must be a list of non-empty texts, not {_describe(value)}")
        return tuple(v.strip() for v in value)

    def finish(self) -> None:
        """Refuse fields nobody read: a misspelt field would otherwise be ignored silently."""
        for field in self.table:
            if field not in self.seen:
                self.fail(field, "is not a field pumpmgr knows")

    def sources(self, present: Mapping[str, bool]) -> Sources:
        """Read the ``sources`` table; ``present`` maps each sourced field to whether it has a
        value. Every present value needs a source, and every source a known field."""
        raw = self.raw("sources", required=False)
        table = self.child("sources", {} if raw is None else raw)
        result: dict[str, tuple[str, ...]] = {}
        for field, value in table.table.items():
            table.seen.add(field)
            if field not in present:
                table.fail(field, f"names no field that takes a source ({', '.join(present)})")
            tags = [value] if isinstance(value, str) else value
            if not isinstance(tags, list) or not tags:
                table.fail(field, f"must be a source tag or a list of them, not {_describe(value)}")
            for tag in tags:
                if not isinstance(tag, str) or not _SOURCE_RE.match(tag) or tag in _NOT_SOURCES:
                    table.fail(
                        field,
                        f"{tag!r} is not a source tag (S12, domain-rules §3 or domain.md §5)",
                    )
            result[field] = tuple(tags)
        for field, has_value in present.items():
            if has_value and field not in result:
                self.fail(field, "has a value but no source tag in its 'sources' table")
        return MappingProxyType(result)

    def field_list(self, field: str, allowed: Mapping[str, bool]) -> frozenset[str]:
        """A list of field names (``inferred``, ``unverified``), each naming a set value."""
        names = self.text_list(field)
        for name in names:
            if name not in allowed:
                self.fail(field, f"'{name}' is not a value field ({', '.join(allowed)})")
            if not allowed[name]:
                self.fail(field, f"'{name}' has no value to flag")
        return frozenset(names)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _strip_field(message: str, field: str) -> str:
    # units.parse messages start with "<field>: ", which the catalog message already says
    return message.removeprefix(f"{field}: ")


def _tags(sources: Sources, field: str) -> tuple[str, ...]:
    return sources.get(field, ())


def _document(text: str, file: str, section: str) -> dict[str, _Entry]:
    """Parse a catalog document; return one reader per entry of ``[section.<key>]``."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(
            f"{file}: not valid TOML: {exc}", code=Code.CATALOG, field=file
        ) from None
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CatalogError(
            f"{file}: schema_version is {version!r}; this pumpmgr reads schema_version = "
            f"{SCHEMA_VERSION}",
            code=Code.CATALOG,
            field="schema_version",
        )
    unknown = set(document) - {"schema_version", section}
    if unknown:
        raise CatalogError(
            f"{file}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            f"expected schema_version and [{section}.<key>] tables",
            code=Code.CATALOG,
            field=file,
        )
    entries = document.get(section)
    if not isinstance(entries, dict) or not entries:
        raise CatalogError(
            f"{file}: no [{section}.<key>] entries", code=Code.CATALOG, field=section
        )
    readers: dict[str, _Entry] = {}
    what = section.rstrip("s")
    for key, table in entries.items():
        if not _KEY_RE.match(key):
            raise CatalogError(
                f"{file}: {what} key '{key}' must be lower-case letters, digits and dashes",
                code=Code.CATALOG,
                field=key,
            )
        if not isinstance(table, dict):
            raise CatalogError(
                f"{file}: {what} '{key}' must be a table, not {_describe(table)}",
                code=Code.CATALOG,
                field=key,
            )
        readers[key] = _Entry(file, f"{what} '{key}'", table)
    return readers
