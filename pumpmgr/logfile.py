"""The program's log file: where it is, how it rotates, and what an unexpected error leaves in it.

Application-support layer: the standard library and platformdirs only; never Qt.

The log is ``pumpmgr.log`` in the user's log folder (platformdirs' ``user_log_dir``; the
environment variable ``PUMPMGR_LOG_DIR`` names another, as the tests do), rotated at 1 MB with
five old files kept. It holds no patient data: what pumpmgr logs names records by their ids,
and an error's message, which can quote what was typed or a database row, is never written:
an error is logged as its type and the lines of code it passed through.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from platformdirs import user_log_dir

LOG_FILE = "pumpmgr.log"
ENV_VAR = "PUMPMGR_LOG_DIR"
MAX_BYTES = 1_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger("pumpmgr")


def log_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The folder the log file is written to (it may not exist yet)."""
    env = os.environ if environ is None else environ
    chosen = env.get(ENV_VAR, "").strip()
    return Path(chosen) if chosen else Path(user_log_dir("pumpmgr", appauthor=False))


class WithoutMessages(logging.Formatter):
    """Writes an exception as its type and stack, never its message (which may hold patient
    data: a typed name, a database row's parameters)."""

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text  # another handler's full traceback, message included
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        kind, value, trace = ei
        if kind is None or value is None:
            return ""
        return stack_text(kind, value, trace)


def stack_text(kind: type[BaseException], value: BaseException, trace: TracebackType | None) -> str:
    """The exception's type and the frames it passed through, its causes first, as the
    interpreter prints them, with every exception message left out."""
    parts: list[str] = []
    seen: set[int] = set()

    def add(exc: BaseException, tb: TracebackType | None) -> None:
        seen.add(id(exc))
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is not None and id(cause) not in seen:
            add(cause, cause.__traceback__)
            parts.append("which led to:\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.StackSummary.extract(traceback.walk_tb(tb)).format())
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__} (message not logged)\n")

    add(value, trace)
    return "".join(parts).rstrip("\n")


def _our_handler() -> logging.handlers.RotatingFileHandler | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and getattr(
            handler, "pumpmgr_log", False
        ):
            return handler
    return None


def current_log_file() -> Path:
    """The file the log is written to: the running log's, else where :func:`start_log` would
    put it."""
    handler = _our_handler()
    return Path(handler.baseFilename) if handler is not None else log_folder() / LOG_FILE


def start_log(folder: Path | None = None) -> Path:
    """Write pumpmgr's log records (INFO and above) to the rotating log file in ``folder``
    (default :func:`log_folder`) and return the file's path. Calling it again with the same
    folder changes nothing; with another, the log moves there. A folder that cannot be made
    leaves the log unwritten and the program running."""
    where = (folder or log_folder()).absolute()
    path = where / LOG_FILE
    current = _our_handler()
    if current is not None:
        if Path(current.baseFilename) == path:
            return path
        logging.getLogger().removeHandler(current)
        current.close()
    try:
        where.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return path
    handler.pumpmgr_log = True  # type: ignore[attr-defined]
    handler.setFormatter(WithoutMessages(FORMAT))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return path


def log_unexpected(
    kind: type[BaseException], value: BaseException, trace: TracebackType | None, doing: str
) -> str:
    """Log an error pumpmgr did not expect (a fault of ours) and return the reference to show
    the user, so the administrator can find it in the log: ``E-20261206-142301``."""
    reference = f"E-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    if _our_handler() is None:
        start_log()
    log.error("%s: unexpected error while %s", reference, doing, exc_info=(kind, value, trace))
    return reference
