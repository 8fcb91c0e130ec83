"""Accounts: the first administrator, new users, deactivation, signing in and passwords
(application layer). Passwords are checked through the context
(:meth:`ClinicContext.authenticate`), throttled after repeated failures; an account is closed,
never deleted, and every change is audited. A sign-in, an unlock and a password change or reset
are audit entries too; no entry ever holds a password.

A password the administrator reset is to be changed by its user at the next sign-in
(:meth:`UserService.must_change_password`): the audit log says so, its newest password entry
for the account being a reset rather than the user's own change."""

from __future__ import annotations

from typing import Any, Literal

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr import auth
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.services.audit_trail import SIGN_IN_ACTION, UNLOCK_ACTION
from pumpmgr.services.context import ClinicContext, _text, actor_of, session_of
from pumpmgr.services.permissions import Action, PermissionDenied
from pumpmgr.services.values import Actor, UserRecord


class UserService:
    """Accounts and signing in."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    def has_users(self) -> bool:
        with self.ctx.database.read() as session:
            return bool(session.scalar(select(func.count()).select_from(db.User)))

    def create_first_administrator(self, username: str, password: str, full_name: str) -> Actor:
        """The first account of a new clinic; refused once any account exists."""

        def work(session: Session) -> Actor:
            actor = first_administrator(self.ctx, session, username, password, full_name)
            self.ctx.audit(session, actor, "user.create", "user", actor.id, created(actor))
            return actor

        return self.ctx.write(work)

    def add_user(
        self,
        actor: Actor,
        username: str,
        password: str,
        full_name: str,
        role: Literal["nurse", "prescriber", "administrator"],
    ) -> Actor:
        """A new account; returns its :class:`Actor`, not signed in (its user signs in)."""
        self.ctx.permit(actor, Action.ADD_USER)

        def work(session: Session) -> Actor:
            user = auth.create_user(
                session,
                username=username,
                password=password,
                full_name=full_name,
                role=db.Role(role),
                now=self.ctx.now(),
                hasher=self.ctx.hasher,
            )
            self.ctx.audit(
                session,
                actor,
                "user.create",
                "user",
                user.id,
                {"username": user.username, "role": user.role.value},
            )
            return actor_of(user)

        return self.ctx.write(work)

    def list_users(self) -> list[UserRecord]:
        """Every account, active ones first, by user name."""
        with self.ctx.database.read() as session:
            rows = session.scalars(
                select(db.User).order_by(db.User.active.desc(), db.User.username)
            ).all()
            return [
                UserRecord(u.id, u.username, u.full_name, u.role.value, u.active, u.created_at)
                for u in rows
            ]

    def deactivate_user(self, actor: Actor, user_id: int, reason: str) -> UserRecord:
        """Close an account: it can no longer sign in or verify; its records and audit
        entries stay. Refused for one's own account and for the last active administrator."""
        self.ctx.permit(actor, Action.DEACTIVATE_USER)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> UserRecord:
            user = session.get(db.User, user_id)
            if user is None:
                raise InputError("user: no such account", code=Code.NO_VALUE, field="user")
            if user.id == actor.id:
                raise ImpossibleInput(
                    "user: you cannot deactivate your own account; ask another administrator",
                    code=Code.OUT_OF_RANGE,
                    field="user",
                )
            if not user.active:
                raise ImpossibleInput(
                    f"user: {user.username} is already deactivated",
                    code=Code.OUT_OF_RANGE,
                    field="user",
                )
            if user.role is db.Role.ADMINISTRATOR and not session.scalar(
                select(func.count())
                .select_from(db.User)
                .where(
                    db.User.role == db.Role.ADMINISTRATOR,
                    db.User.active.is_(True),
                    db.User.id != user.id,
                )
            ):
                raise ImpossibleInput(
                    "user: the clinic's last active administrator cannot be "
                    "deactivated; add another administrator first",
                    code=Code.OUT_OF_RANGE,
                    field="user",
                )
            user.active = False
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "user.deactivate",
                "user",
                user.id,
                {"username": user.username, "active": {"before": True, "after": False}},
                reason,
            )
            return UserRecord(
                user.id,
                user.username,
                user.full_name,
                user.role.value,
                user.active,
                user.created_at,
            )

        return self.ctx.write(work)

    def sign_in(self, username: str, password: str, *, unlock: bool = False) -> Actor:
        """The account with this name and password; refused for a while after repeated
        failures (:mod:`pumpmgr.services.throttle`). Audited as a sign-in, or with ``unlock``
        as the unlock of a locked window; a failed attempt is audited by the context."""

        def work(session: Session) -> Actor:
            user = self.ctx.authenticate(session, username, password)
            actor = session_of(user)
            self.ctx.audit(
                session,
                actor,
                UNLOCK_ACTION if unlock else SIGN_IN_ACTION,
                "user",
                user.id,
                {"username": user.username},
            )
            return actor

        return self.ctx.write(work)

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        """The signed-in user's own new password, after their current one was checked (a wrong
        one counts as a failed sign-in). The new one follows the rules of
        :func:`pumpmgr.auth.check_password_rules` and differs from the old one."""

        def work(session: Session) -> None:
            try:
                user = self.ctx.authenticate(session, actor.username, old_password, "old password")
            except auth.AuthError as exc:
                if exc.code is not Code.AUTH_BAD_CREDENTIALS:
                    raise
                raise auth.AuthError(
                    "old password: it is not your current password",
                    code=exc.code,
                    field="old password",
                ) from exc
            if user.id != actor.id:
                raise PermissionDenied(
                    "user: the account is not the one signed in; sign in again",
                    code=Code.AUTH_NOT_PERMITTED,
                    field="user",
                )
            if old_password == new_password:
                raise auth.AuthError(
                    "new password: it must differ from the old one",
                    code=Code.AUTH_WEAK_PASSWORD,
                    field="new password",
                )
            _set(session, user, new_password, self.ctx.hasher)
            self.ctx.audit(
                session,
                actor,
                PASSWORD_CHANGE_ACTION,
                "user",
                user.id,
                {"username": user.username, "password": "changed by its user"},
            )

        self.ctx.write(work)

    def reset_password(self, actor: Actor, user_id: int, new_password: str) -> UserRecord:
        """An administrator sets another user's password (told to them in person); that user
        must change it at the next sign-in. One's own password is changed with the old one."""
        self.ctx.permit(actor, Action.RESET_PASSWORD)

        def work(session: Session) -> UserRecord:
            user = session.get(db.User, user_id)
            if user is None:
                raise InputError("user: no such account", code=Code.NO_VALUE, field="user")
            if user.id == actor.id:
                raise ImpossibleInput(
                    "user: change your own password with your old one "
                    "(Change my password), not by a reset",
                    code=Code.OUT_OF_RANGE,
                    field="user",
                )
            _set(session, user, new_password, self.ctx.hasher)
            self.ctx.audit(
                session,
                actor,
                PASSWORD_RESET_ACTION,
                "user",
                user.id,
                {"username": user.username, "password": "reset; to be changed at the next sign-in"},
            )
            return UserRecord(
                user.id,
                user.username,
                user.full_name,
                user.role.value,
                user.active,
                user.created_at,
            )

        return self.ctx.write(work)

    def must_change_password(self, actor: Actor) -> bool:
        """Whether ``actor``'s password was reset by an administrator and not changed since."""
        with self.ctx.database.read() as session:
            last = session.scalar(
                select(db.AuditEntry.action)
                .where(
                    db.AuditEntry.entity_type == "user",
                    db.AuditEntry.entity_id == str(actor.id),
                    db.AuditEntry.action.in_([PASSWORD_CHANGE_ACTION, PASSWORD_RESET_ACTION]),
                )
                .order_by(db.AuditEntry.seq.desc())
                .limit(1)
            )
        return last == PASSWORD_RESET_ACTION


PASSWORD_CHANGE_ACTION = "user.password_change"
PASSWORD_RESET_ACTION = "user.password_reset"


def _set(session: Session, user: db.User, password: str, hasher: PasswordHasher) -> None:
    """:func:`pumpmgr.auth.set_password`, its refusal naming the new password's field."""
    try:
        auth.set_password(session, user, password, hasher)
    except auth.AuthError as exc:
        raise auth.AuthError(
            f"new password: {exc.message}", code=exc.code, field="new password"
        ) from exc


def first_administrator(
    ctx: ClinicContext, session: Session, username: str, password: str, full_name: str
) -> Actor:
    """Create a new clinic's first account, an administrator, in ``session``, signed in;
    refused once any account exists. The caller's audit entry records it (:func:`created`)."""
    if session.scalar(select(func.count()).select_from(db.User)):
        raise PermissionDenied(
            "the clinic already has accounts; an administrator adds new ones",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )
    user = auth.create_user(
        session,
        username=username,
        password=password,
        full_name=full_name,
        role=db.Role.ADMINISTRATOR,
        now=ctx.now(),
        hasher=ctx.hasher,
    )
    return session_of(user)  # who set the first password is signed in


def created(actor: Actor) -> dict[str, Any]:
    """What an audit entry says of a new account."""
    return {"username": actor.username, "role": actor.role}
