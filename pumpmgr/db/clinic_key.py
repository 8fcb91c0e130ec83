"""The clinic key that signs backup manifests (persistence layer: standard library, platformdirs,
keyring and ``pumpmgr.errors``).

A manifest records a backup's SHA-256 and audit chain head; someone who can write the backup
folder could rewrite a backup's audit log *and* recompute its manifest. With an HMAC-SHA256 of
the manifest under a key kept outside the database file and the backup folder, such a manifest
no longer verifies (:mod:`pumpmgr.db.backup`).

Where the key is kept, first that works:

1. ``PUMPMGR_KEY_FILE`` (a file path) when set: for a clinic that keeps the key on a drive of
   its own, and for the tests.
2. The operating system's keyring through ``keyring`` (Windows Credential Manager, the macOS
   Keychain, the Secret Service of a Linux desktop) when a real backend is present: the key is
   then stored encrypted under the user's login, not in a file another program of the same
   user can simply copy.
3. Else a key file, ``clinic-backup.key`` in the user's configuration folder, readable and
   writable by its owner only (0600, its folder 0700) on POSIX.

The key is 32 random bytes, made on the first backup. Its *id* (the first 16 hex digits of its
SHA-256) is written into each manifest, so a restore on a computer without that key says which
key it needs instead of calling the backup altered.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_dir

from pumpmgr.files import create_private_file, private_file, private_folder

ENV_VAR = "PUMPMGR_KEY_FILE"
KEYRING_SERVICE = "pumpmgr"
KEYRING_NAME = "clinic-backup-key"
KEY_FILENAME = "clinic-backup.key"
KEY_BYTES = 32


@dataclass(frozen=True)
class ClinicKey:
    secret: bytes
    #: Where it is kept, in words (for messages and the documentation).
    where: str

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:16]


def default_key_file() -> Path:
    return Path(user_config_dir("pumpmgr", appauthor=False)) / KEY_FILENAME


def _from_file(path: Path, create: bool) -> ClinicKey | None:
    if path.is_file():
        text = path.read_text(encoding="ascii").strip()
        return ClinicKey(base64.b64decode(text, validate=True), f"the key file {path}")
    if not create:
        return None
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        private_folder(path.parent)
    secret = secrets.token_bytes(KEY_BYTES)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    create_private_file(partial)
    partial.write_text(base64.b64encode(secret).decode("ascii") + "\n", encoding="ascii")
    try:
        os.link(partial, path)  # never over a key another program made meanwhile
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)
    private_file(path)
    return _from_file(path, create=False)


def _from_keyring(create: bool) -> ClinicKey | None:
    """The key in the OS keyring; None when there is none (and not ``create``); raises
    ``RuntimeError`` when no usable keyring backend is present."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError as exc:  # pragma: no cover - keyring is a dependency
        raise RuntimeError("keyring is not installed") from exc
    where = "the operating system's keyring"
    try:
        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        if stored is None and create:
            keyring.set_password(
                KEYRING_SERVICE,
                KEYRING_NAME,
                base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"),
            )
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
            if stored is None:
                raise RuntimeError("the keyring did not keep the key")
    except KeyringError as exc:
        raise RuntimeError(str(exc)) from exc
    return None if stored is None else ClinicKey(base64.b64decode(stored), where)


def clinic_key(*, create: bool) -> ClinicKey | None:
    """This user's clinic key (made first when ``create`` and there is none); None when there
    is none. Raises ``OSError`` or ``ValueError`` when a key file cannot be read or written."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return _from_file(Path(override).expanduser(), create)
    try:
        return _from_keyring(create)
    except RuntimeError:
        return _from_file(default_key_file(), create)
