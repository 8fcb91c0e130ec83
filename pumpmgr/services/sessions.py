"""Who is signed in (application layer: standard library only).

The services act for an :class:`~pumpmgr.services.values.Actor` only when it carries the proof
that sign-in (:meth:`pumpmgr.services.users.UserService.sign_in`, or the creation of the
clinic's first administrator) made it: an HMAC-SHA256 of the account's id, user name and role
under a key made when the program starts and kept only here. An ``Actor`` written by hand, or
one whose role or name was changed after sign-in, has no valid proof and is refused
(:func:`pumpmgr.services.permissions.require_permission`), whatever it claims. The proof lasts
as long as the program: the command line signs in on every call, the window at every unlock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from typing import Protocol, TypeVar

#: Made once per program run; never stored, never shown.
_KEY = secrets.token_bytes(32)


class _Signed(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


A = TypeVar("A", bound=_Signed)


def _proof(actor: _Signed) -> str:
    material = f"{actor.id}\x00{actor.username}\x00{actor.role}".encode()
    return hmac.new(_KEY, material, hashlib.sha256).hexdigest()


def signed_in(actor: A) -> A:
    """``actor`` with the proof of a sign-in; only sign-in calls this."""
    return replace(actor, proof=_proof(actor))  # type: ignore[type-var]


def is_signed_in(actor: _Signed) -> bool:
    """Whether ``actor`` carries the proof sign-in made for exactly this account and role."""
    proof = getattr(actor, "proof", "")
    return isinstance(proof, str) and hmac.compare_digest(proof, _proof(actor))
