"""The domain's own errors (pure layer: stdlib only).

Every refusal carries a catalogued :class:`Code` and, where a person typed the value, the field
it came from, so that a form can put the message beside the right box and the command line can
name the option.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Machine-readable reasons for a refusal."""

    NO_VALUE = "input.empty"
    BAD_NUMBER = "input.bad_number"
    DECIMAL_COMMA = "input.decimal_comma"
    NO_UNIT = "unit.missing"
    UNKNOWN_UNIT = "unit.unknown"
    WRONG_KIND = "unit.wrong_kind"
    NOT_FINITE = "value.not_finite"
    NOT_POSITIVE = "value.not_positive"
    NEGATIVE = "value.negative"
    OUT_OF_RANGE = "value.out_of_range"
    BAD_DATE = "input.bad_date"
    BAD_TIME = "input.bad_time"
    SCHEDULE = "schedule.invalid"
    FILL_NOT_ABOVE_ALARM = "fill.not_above_alarm"
    OVER_CAPACITY = "fill.over_capacity"
    CONCENTRATION_ABOVE_STOCK = "compounding.above_stock"
    CONCENTRATION_NEEDS_REFILL = "prescription.concentration_needs_refill"
    TIME_ORDER = "time.order"
    # The solution's expiry or beyond-use date (domain-rules sections 3 and 4)
    SOLUTION_EXPIRED = "solution.expired"
    NO_BEYOND_USE_DATE = "solution.no_beyond_use_date"
    UNKNOWN_DRUG = "catalog.unknown_drug"
    UNKNOWN_PUMP = "catalog.unknown_pump"
    UNKNOWN_CATHETER = "catalog.unknown_catheter"
    CATALOG = "catalog.invalid"
    BOOKING_REFUSED = "booking.refused"
    # Persistence and start-up gates (pumpmgr.db)
    DB_UNSUPPORTED = "db.unsupported_url"
    DB_NETWORK_FS = "db.network_filesystem"
    DB_LINKED_PATH = "db.linked_path"
    DB_MISSING_FOLDER = "db.missing_folder"
    DB_JOURNAL_MODE = "db.journal_mode"
    DB_NOT_PUMPMGR = "db.not_pumpmgr"
    DB_CORRUPT = "db.corrupt"
    DB_SCHEMA_NEWER = "db.schema_newer"
    DB_CHANGED_MEANWHILE = "db.changed_meanwhile"
    DB_CONFLICT = "db.conflict"
    DB_BUSY = "db.busy"
    DB_UNREACHABLE = "db.unreachable"
    DB_DISK_FULL = "db.disk_full"
    DB_READ_ONLY = "db.read_only"
    DB_MOVED = "db.moved"
    DB_IO_ERROR = "db.io_error"
    DB_MIGRATION_FAILED = "db.migration_failed"
    DB_NAIVE_DATETIME = "db.naive_datetime"
    AUDIT_PAYLOAD = "audit.bad_payload"
    BACKUP_FAILED = "backup.failed"
    BACKUP_NO_MANIFEST = "backup.no_manifest"
    BACKUP_CHAIN_BROKEN = "backup.chain_broken"
    BACKUP_KEY_UNKNOWN = "backup.key_unknown"
    # Accounts (pumpmgr.auth)
    AUTH_BAD_CREDENTIALS = "auth.bad_credentials"
    AUTH_INACTIVE = "auth.inactive"
    AUTH_WEAK_PASSWORD = "auth.weak_password"
    AUTH_BAD_USERNAME = "auth.bad_username"
    AUTH_DUPLICATE_USER = "auth.duplicate_user"
    AUTH_NOT_PERMITTED = "auth.not_permitted"
    AUTH_THROTTLED = "auth.throttled"


class PumpMgrError(Exception):
    """Base of every error pumpmgr raises on purpose; the message is fit to show a nurse."""

    def __init__(self, message: str, *, code: Code, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class InputError(PumpMgrError):
    """What was typed cannot be read as the quantity, date or time the field wants."""


class ImpossibleInput(PumpMgrError):
    """The values are readable but clinically or physically impossible together."""


class CatalogError(PumpMgrError):
    """A catalog file is malformed, or names an entry that does not exist."""
