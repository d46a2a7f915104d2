"""Passwords (argon2id), session tokens, API keys and share tokens.

Passwords are hashed with argon2-cffi's defaults (argon2id) and re-hashed when the defaults
change. Tokens are 256-bit random values handed out once; only their SHA-256 is stored, so a
copy of the database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_KEY_PREFIX = "fck_"
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("formcheck-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
