"""Column types shared by the schema (persistence layer: stdlib, SQLAlchemy, pumpmgr.errors).

:class:`UTCDateTime` stores instants as UTC on both backends and refuses naive datetimes, so that
a daylight-saving change or a workstation in another time zone cannot shift a record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from pumpmgr.db.errors import RecordConflict
from pumpmgr.errors import Code


class NaiveDatetimeError(RecordConflict, ValueError):
    """A datetime without a time zone was about to be stored."""


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL.

    PostgreSQL keeps a ``timestamp with time zone``. SQLite has no time-zone type, so the value
    is converted to UTC and kept as SQLAlchemy's fixed-width ISO text without an offset, which
    sorts in time order. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise NaiveDatetimeError(
                f"an instant must be a datetime with a time zone, not {type(value).__name__}",
                code=Code.DB_NAIVE_DATETIME,
            )
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"the instant {value.isoformat()} has no time zone; pumpmgr stores instants in "
                "UTC and will not guess which zone was meant",
                code=Code.DB_NAIVE_DATETIME,
            )
        as_utc = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return as_utc
        return as_utc.replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite" or general is None:
            return general

        def process(value: Any) -> Any:
            # an aware instant as SQLite keeps it, in one call: UTC, fixed-width ISO text
            # without the offset (the text the general way writes; a recompute writes 30,000)
            if isinstance(value, datetime) and value.utcoffset() is not None:
                return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]
            return general(value)  # None, or refused as naive

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            # SQLite's text (UTC, no offset) read as aware UTC in one call: SQLAlchemy's reading
            # of it is ``datetime.fromisoformat`` too, and then :meth:`process_result_value`
            # (a due list reads 25,000 instants); text that is not such goes the general way
            if value is None:
                return None
            try:
                return parse(value + "+00:00")
            except (TypeError, ValueError):
                return general(value)

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
