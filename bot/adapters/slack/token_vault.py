"""Slack tokens encrypted at rest: Fernet (AES-128-CBC with HMAC-SHA256) with key rotation.

The first key encrypts, every key decrypts, so a new key goes first and the old one stays
second until every stored token was re-encrypted with the new one (`TokenVault.reseal`).
Nothing here ever puts a token or a key in a message.
"""

from __future__ import annotations

import binascii
import enum
from base64 import urlsafe_b64decode
from collections.abc import Sequence
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SEALED_PREFIX: Final = "gAAAAA"
"""How every Fernet token starts (version byte 0x80, then a timestamp's zero high bits); no
Slack token does (they start with `xox`), which tells a sealed value from a legacy plaintext one.
"""
KEY_BYTES: Final = 32
NEW_KEY_COMMAND: Final = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
"""How an operator makes a key (shown in the settings' errors and the README)."""


class Sealing(enum.Enum):
    """What a stored value is, as far as the vault can tell."""

    CURRENT = "current"
    """Encrypted with the first key: nothing to do."""
    OLDER_KEY = "older key"
    """Encrypted with another of the keys: readable, re-encrypted by `reseal`."""
    PLAINTEXT = "plaintext"
    """Written before tokens were encrypted: readable, encrypted by `reseal`."""
    UNREADABLE = "unreadable"
    """Encrypted with a key that is no longer configured: lost, the workspace reinstalls."""


class UnreadableTokenError(ValueError):
    """A stored token was encrypted with a key that is not among the configured ones."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a Fernet key (None when it is one); the key itself is never quoted."""
    try:
        decoded = urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return "is not url-safe base64"
    if len(decoded) != KEY_BYTES:
        return f"decodes to {len(decoded)} bytes, not {KEY_BYTES}"
    return None


def split_keys(value: str) -> tuple[str, ...]:
    """The keys of a comma-separated setting, first one first, blanks dropped."""
    return tuple(key.strip() for key in value.split(",") if key.strip())


class TokenVault:
    """Seals (encrypts) and opens (decrypts) Slack tokens with one or more Fernet keys."""

    __slots__ = ("_all", "_first")

    def __init__(self, keys: Sequence[str]) -> None:
        """`keys`: Fernet keys, the one that encrypts first. ValueError if none or one is bad."""
        if not keys:
            raise ValueError("at least one key is needed")
        for position, key in enumerate(keys, start=1):
            problem = key_problem(key)
            if problem is not None:
                raise ValueError(f"key {position} {problem}")
        fernets = [Fernet(key) for key in keys]
        self._first = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "TokenVault(<keys hidden>)"

    def seal(self, token: str) -> str:
        """`token` encrypted with the first key (a fresh IV each time, so never the same twice)."""
        return self._first.encrypt(token.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The token behind a stored value; a legacy plaintext value comes back as it is.

        Raises UnreadableTokenError when no configured key opens it.
        """
        if not is_sealed(stored):
            return stored
        try:
            return self._all.decrypt(stored.encode("ascii")).decode()
        except InvalidToken:
            raise UnreadableTokenError("no configured key decrypts this token") from None

    def sealing(self, stored: str) -> Sealing:
        """Whether `stored` is plaintext, sealed with the first key, an older one, or none."""
        if not is_sealed(stored):
            return Sealing.PLAINTEXT
        data = stored.encode("ascii")
        try:
            self._first.decrypt(data)
        except InvalidToken:
            pass
        else:
            return Sealing.CURRENT
        try:
            self._all.decrypt(data)
        except InvalidToken:
            return Sealing.UNREADABLE
        return Sealing.OLDER_KEY

    def reseal(self, stored: str) -> str:
        """`stored` sealed with the first key: plaintext encrypted, an older key's re-encrypted.

        Raises UnreadableTokenError when no configured key opens it.
        """
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return self._all.rotate(stored.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise UnreadableTokenError("no configured key decrypts this token") from None


def is_sealed(stored: str) -> bool:
    """Whether a stored value is a Fernet token rather than a plaintext Slack token."""
    return stored.startswith(SEALED_PREFIX)
