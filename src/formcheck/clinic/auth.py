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


class LoginThrottle:
    """Failed logins per e-mail in a sliding window: past `max_failures`, refuse until the oldest ages out.

    In memory (one server process per data directory, as the service requires); argon2's cost
    already slows guessing, this caps it per account.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 900.0) -> None:
        import threading

        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, email: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(email, []) if now - t < self.window_s]
        self._failures[email] = times
        return times

    def retry_after(self, email: str, now: float) -> int:
        """Seconds to wait before trying this e-mail again (0: go ahead)."""
        with self._lock:
            times = self._recent(email, now)
            return int(times[0] + self.window_s - now) + 1 if len(times) >= self.max_failures else 0

    def failed(self, email: str, now: float) -> None:
        with self._lock:
            self._recent(email, now).append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email, None)
