"""Restore a SQLite clinic from a backup: the one path the command line and the window share.

Application layer: may import the persistence layer (``pumpmgr.db``) and the other services.

:func:`restore_clinic` runs :func:`pumpmgr.db.backup.restore_database` (every check, a verified
safety copy of the replaced database first) and opens the restored database. A backup whose
audit chain is broken is refused unless an administrator overrides that, giving a reason: then
it is restored, and the override is the first thing written to the restored audit log
(``backup.restore_broken_chain``: who, why, which backup, what is broken), so that the break
and the decision to restore it anyway stay on record together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pumpmgr.db.audit import ChainReport, append_audit
from pumpmgr.db.backup import read_manifest, restore_database
from pumpmgr.db.engine import open_database
from pumpmgr.errors import Code, InputError
from pumpmgr.identity import clean_text
from pumpmgr.services.permissions import PermissionDenied
from pumpmgr.services.sessions import is_signed_in
from pumpmgr.services.values import Actor

#: The audit action every restore ends with (who restored which backup), its one entry; a
#: broken chain let through is in its payload (``broken_chain``) and its reason.
RESTORE_ACTION = "backup.restore"
REASON_LIMIT = 2000


@dataclass(frozen=True)
class BrokenChainOverride:
    """An administrator's decision to restore a backup whose audit chain is broken.

    ``administrator`` must come from a sign-in (``ClinicService.sign_in``) moments before;
    ``reason`` says why (kept in the restored audit log)."""

    administrator: Actor
    reason: str


@dataclass(frozen=True)
class Restored:
    """What :func:`restore_clinic` did."""

    #: The verified copy of the database that was replaced (None when there was none).
    safety_copy: Path | None
    #: The restored audit log, checked on its own after the restore.
    chain: ChainReport
    #: The audit entry that holds the override (the restore's own), when a broken chain was
    #: restored.
    override_seq: int | None = None
    #: The ``backup.restore`` entry naming the administrator who restored it.
    restore_seq: int | None = None


def _checked_reason(override: BrokenChainOverride) -> str:
    if override.administrator.role != "administrator":
        raise PermissionDenied(
            f"restoring a backup whose audit log is broken: only an administrator may decide "
            f"that, and {override.administrator.username} is a {override.administrator.role}",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )
    if not isinstance(override.reason, str) or not override.reason.strip():
        raise InputError(
            "reason: say why this backup is restored although its audit log is "
            "broken; it is kept in the audit log",
            code=Code.NO_VALUE,
            field="reason",
        )
    return clean_text(override.reason, "reason", limit=REASON_LIMIT, multiline=True)


def require_administrator(actor: Actor, doing: str) -> None:
    """Refuse (:class:`PermissionDenied`) unless ``actor`` is an administrator who signed in
    (:mod:`pumpmgr.services.sessions`): whole-clinic writes are theirs alone."""
    if not is_signed_in(actor):
        raise PermissionDenied(
            f"user: {actor.username} is not signed in; {doing} needs an "
            "administrator's sign-in with their password",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )
    if actor.role != "administrator":
        raise PermissionDenied(
            f"user: {actor.username} is a {actor.role}; only an administrator may {doing}",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )


def restore_clinic(
    backup: Path,
    target: Path,
    *,
    administrator: Actor,
    safety_dir: Path | None = None,
    require_manifest: bool = True,
    override: BrokenChainOverride | None = None,
    workstation: str | None = None,
) -> Restored:
    """Replace the SQLite database at ``target`` with the checked ``backup``, for the signed-in
    ``administrator`` (refused for anyone else before anything is touched).

    Run with every pumpmgr on ``target`` closed. Refusals are :class:`BackupError` (nothing
    changed); a broken chain (``BACKUP_CHAIN_BROKEN``) is restored only with ``override``.
    Every restore ends with one audit entry in the restored database, ``backup.restore``,
    naming the administrator, the backup and its SHA-256, and with an override the
    administrator who accepted the broken chain, where it breaks (``broken_chain``) and why
    (the entry's reason)."""
    require_administrator(administrator, "restore a backup")
    reason = None if override is None else _checked_reason(override)
    safety = restore_database(
        backup,
        target,
        safety_dir=safety_dir,
        require_manifest=require_manifest,
        accept_broken_chain=override is not None,
    )
    with open_database(target, backup_dir=safety_dir, daily_backup_keep=None) as database:
        accepted = database.verify_audit_chain()
        manifest = read_manifest(backup)
        if accepted.ok and manifest is not None and not manifest.chain_ok:
            # the records were found changed before the backup was taken (its manifest)
            accepted = replace(
                accepted, ok=False, message=manifest.chain_problem or "the manifest says broken"
            )
        changes: dict[str, object] = {
            "backup": str(backup.absolute()),
            "sha256": None if manifest is None else manifest.sha256,
            "safety_copy": None if safety is None else str(safety),
        }
        broken = override is not None and not accepted.ok
        if override is not None and broken:
            changes["broken_chain"] = {
                "accepted_by": override.administrator.username,
                "first_bad_seq": accepted.first_bad_seq,
                "problem": None if accepted.problem is None else str(accepted.problem),
                "message": accepted.message,
            }
        with database.write() as session:
            entry = append_audit(
                session,
                username=administrator.username,
                action=RESTORE_ACTION,
                entity_type="backup",
                entity_id=backup.name,
                changes=changes,
                reason=reason if broken else None,
                workstation=workstation,
                at=datetime.now(UTC),
            )
            restore_seq = entry.seq
        chain = database.verify_audit_chain()  # with the entries just written
    return Restored(safety, chain, restore_seq if broken else None, restore_seq)
