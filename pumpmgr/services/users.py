"""Accounts: the first administrator, new users, deactivation and signing in (application
layer). Passwords are checked through the context (:meth:`ClinicContext.authenticate`), throttled
after repeated failures; an account is closed, never deleted, and every change is audited."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr import auth
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
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

        return self.ctx.write(
            lambda session: first_administrator(self.ctx, session, username, password,
                                                full_name))

    def add_user(
        self, actor: Actor, username: str, password: str, full_name: str,
        role: Literal["nurse", "prescriber", "administrator"],
    ) -> Actor:
        """A new account; returns its :class:`Actor`, not signed in (its user signs in)."""
        self.ctx.permit(actor, Action.ADD_USER)

        def work(session: Session) -> Actor:
            user = auth.create_user(session, username=username, password=password,
                                    full_name=full_name, role=db.Role(role), now=self.ctx.now(),
                                    hasher=self.ctx.hasher)
            self.ctx.audit(session, actor, "user.create", "user", user.id,
                           {"username": user.username, "role": user.role.value})
            return actor_of(user)

        return self.ctx.write(work)

    def list_users(self) -> list[UserRecord]:
        """Every account, active ones first, by user name."""
        with self.ctx.database.read() as session:
            rows = session.scalars(select(db.User).order_by(db.User.active.desc(),
                                                            db.User.username)).all()
            return [UserRecord(u.id, u.username, u.full_name, u.role.value, u.active,
                               u.created_at) for u in rows]

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
                raise ImpossibleInput("user: you cannot deactivate your own account; ask "
                                      "another administrator", code=Code.OUT_OF_RANGE,
                                      field="user")
            if not user.active:
                raise ImpossibleInput(f"user: {user.username} is already deactivated",
                                      code=Code.OUT_OF_RANGE, field="user")
            if user.role is db.Role.ADMINISTRATOR and not session.scalar(
                    select(func.count()).select_from(db.User).where(
                        db.User.role == db.Role.ADMINISTRATOR, db.User.active.is_(True),
                        db.User.id != user.id)):
                raise ImpossibleInput("user: the clinic's last active administrator cannot be "
                                      "deactivated; add another administrator first",
                                      code=Code.OUT_OF_RANGE, field="user")
            user.active = False
            session.flush()
            self.ctx.audit(session, actor, "user.deactivate", "user", user.id,
                           {"username": user.username, "active": {"before": True,
                                                                  "after": False}}, reason)
            return UserRecord(user.id, user.username, user.full_name, user.role.value,
                              user.active, user.created_at)

        return self.ctx.write(work)

    def sign_in(self, username: str, password: str) -> Actor:
        """The account with this name and password; refused for a while after repeated
        failures (:mod:`pumpmgr.services.throttle`)."""

        def work(session: Session) -> Actor:
            user = self.ctx.authenticate(session, username, password)
            return session_of(user)

        return self.ctx.write(work)


def first_administrator(ctx: ClinicContext, session: Session, username: str, password: str,
                        full_name: str) -> Actor:
    """Create a new clinic's first account, an administrator, in ``session`` (audited);
    refused once any account exists."""
    if session.scalar(select(func.count()).select_from(db.User)):
        raise PermissionDenied("the clinic already has accounts; an administrator adds new ones",
                               code=Code.AUTH_NOT_PERMITTED, field="user")
    user = auth.create_user(session, username=username, password=password,
                            full_name=full_name, role=db.Role.ADMINISTRATOR, now=ctx.now(),
                            hasher=ctx.hasher)
    actor = session_of(user)  # who set the first password is signed in
    ctx.audit(session, actor, "user.create", "user", user.id,
              {"username": user.username, "role": user.role.value})
    return actor
