"""Encryption of token strings at rest (AES-256-GCM), with a key from config, env or a key file.

A stored secret reads ``enc:v1:<urlsafe base64 of nonce + ciphertext>``. The prefix makes a plaintext token
in the store stand out as a bug, and ``decrypt`` refuses anything without it. ``cryptography`` is imported
inside the functions that need it, to keep it off the cold-start path of requests that never touch tokens.
"""

from __future__ import annotations

import base64
import os
from typing import Any

PREFIX = "enc:v1:"
KEY_FILE_NAME = ".cliproxy.key"
_NONCE_BYTES = 12


class CryptoError(Exception):
    """A key or a stored value that cannot be used. Messages never carry the value itself."""


class Cipher:
    """Encrypts and decrypts short strings with one 32-byte key (AES-GCM built on first use)."""

    __slots__ = ("_key", "_aead_obj")

    def __init__(self, key: str) -> None:
        self._key = _decode_key(key)
        self._aead_obj: Any = None

    def __repr__(self) -> str:
        return "Cipher(<key hidden>)"

    @property
    def _aead(self) -> Any:
        if self._aead_obj is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead_obj = AESGCM(self._key)
        return self._aead_obj

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.exceptions import InvalidTag

        if not is_encrypted(token):
            raise CryptoError("stored secret is not encrypted (missing the enc:v1: prefix)")
        try:
            blob = base64.urlsafe_b64decode(token[len(PREFIX):])
            plain: bytes = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], None)
            return plain.decode()
        except (InvalidTag, ValueError):
            raise CryptoError("stored secret cannot be decrypted with this encryption key") from None


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


def generate_key() -> str:
    """A fresh key in the form ``encryption-key`` / ``CLIPROXY_ENCRYPTION_KEY`` expect."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def key_file_for(db_path: str) -> str:
    """Where the SQLite store keeps its key when none is configured: beside the database."""
    return os.path.join(os.path.dirname(os.path.abspath(db_path)), KEY_FILE_NAME)


def load_or_create_key_file(path: str) -> str:
    """Read the key file, or create it with mode 0600 (atomically: two processes agree on one key)."""
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def cipher_for_store(backend: str, db_path: str, encryption_key: str | None) -> Cipher | None:
    """The configured key, else the SQLite key file beside the database, else a per-process key for the
    memory store. DynamoDB without a configured key has none (records then refuse to touch secrets)."""
    if encryption_key:
        return Cipher(encryption_key)
    if backend == "sqlite":
        return Cipher(load_or_create_key_file(key_file_for(db_path)))
    if backend == "memory":
        return Cipher(generate_key())
    return None


def check_key(key: str) -> str | None:
    """What is wrong with ``key`` (for config errors), or None when it is a usable key."""
    try:
        _decode_key(key)
    except CryptoError as exc:
        return str(exc).removeprefix("encryption key: ")
    return None


def _decode_key(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key.strip() + "=" * (-len(key.strip()) % 4))
    except ValueError:
        raise CryptoError("encryption key: expected urlsafe base64 of 32 bytes") from None
    if len(raw) != 32:
        raise CryptoError(f"encryption key: expected urlsafe base64 of 32 bytes, got {len(raw)} bytes")
    return raw
