"""Passwords (argon2id), session tokens, API keys and share tokens.

Passwords are hashed with argon2-cffi's defaults (argon2id) and re-hashed when the defaults
change. Tokens are 256-bit random values handed out once; only their SHA-256 is stored, so a
copy of the database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_KEY_PREFIX = "fck_"
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("formcheck-dummy-password")
# argon2 uses several threads and 64 MiB per hash: at most this many at once, so parallel logins
# queue here instead of starving the rest of the server (health checks, pages, uploads).
HASH_SLOTS = 1
HASH_WAIT_S = 10.0
_hash_slots = threading.BoundedSemaphore(HASH_SLOTS)
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4 guessability score: 3 = "safely unguessable" (~10^8+ guesses)


class HashBusyError(RuntimeError):
    """Every argon2 slot stayed busy for HASH_WAIT_S (the service answers 503 with Retry-After)."""


def _bounded(operation, *args):
    if not _hash_slots.acquire(timeout=HASH_WAIT_S):
        raise HashBusyError
    try:
        return operation(*args)
    finally:
        _hash_slots.release()


def hash_password(password: str) -> str:
    return _bounded(_hasher.hash, password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _bounded(_hasher.verify, stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, user_inputs: list[str]) -> str | None:
    """Why the password is too easy to guess (None: fine).

    zxcvbn ships frequency lists of common and breached passwords, English words and names, and
    finds keyboard walks, repeats and sequences; nothing is looked up over the network.
    """
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u])  # 72: zxcvbn's cost grows fast
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    return " ".join(x for x in [feedback.get("warning") or "This password is easy to guess.",
                                *feedback.get("suggestions", [])] if x)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


TRACKED_MAX = 10_000  # throttle entries kept before the quiet ones are dropped


@dataclass
class _Backoff:
    failures: int = 0
    last: float = -math.inf


@dataclass(frozen=True)
class BackoffRule:
    """After `free` failures within `forget_s` of each other, each further try waits
    2^(n - free) s after the last failure, at most `cap_s`."""

    free: int
    cap_s: float
    forget_s: float = 900.0

    def wait(self, state: _Backoff, now: float) -> float:
        if now - state.last >= self.forget_s or state.failures < self.free:
            return 0.0
        return max(0.0, state.last + min(self.cap_s, 2.0 ** (state.failures - self.free)) - now)


@dataclass
class LoginThrottle:
    """Failed logins slow down, per client address, per account and for the whole server.

    Exponential back-off instead of a lock-out: a client that keeps guessing waits longer and
    longer (up to 15 min), while an account someone else is guessing at waits at most a minute
    (the real user is delayed, not locked out), and the server as a whole allows a burst before
    it spaces failed logins out by a few seconds (password spraying over many addresses and
    accounts). Attempts refused by the back-off are not verified, so they cost no argon2 time and
    tell nothing. In memory: one server process per data directory, as the service requires.
    """

    per_client: BackoffRule = BackoffRule(free=10, cap_s=900.0)
    per_account: BackoffRule = BackoffRule(free=5, cap_s=60.0)
    whole_server: BackoffRule = BackoffRule(free=100, cap_s=5.0, forget_s=60.0)
    _state: dict[tuple[str, str], _Backoff] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, client: str, email: str) -> list[tuple[tuple[str, str], BackoffRule]]:
        return [(("client", client), self.per_client), (("account", email), self.per_account),
                (("server", ""), self.whole_server)]

    def retry_after(self, client: str, email: str, now: float) -> int:
        """Seconds to wait before this client may try this e-mail again (0: go ahead)."""
        with self._lock:
            waits = [rule.wait(self._state.get(key, _Backoff()), now) for key, rule in self._keys(client, email)]
        return math.ceil(max(waits))

    def failed(self, client: str, email: str, now: float) -> None:
        with self._lock:
            if len(self._state) > TRACKED_MAX:
                self._forget(now)
            for key, rule in self._keys(client, email):
                state = self._state.setdefault(key, _Backoff())
                if now - state.last >= rule.forget_s:
                    state.failures = 0
                state.failures += 1
                state.last = now

    def _forget(self, now: float) -> None:
        """Many addresses or e-mails: forget the quiet ones; if a spray keeps them all recent, keep the
        newest half (the server-wide entry always stays). Memory stays bounded, and pruning runs once
        per TRACKED_MAX / 2 new entries, not on every failed login."""
        longest = max(self.per_client.forget_s, self.per_account.forget_s, self.whole_server.forget_s)
        kept = {k: v for k, v in self._state.items() if now - v.last < longest}
        if len(kept) > TRACKED_MAX // 2:
            server = kept.pop(("server", ""), None)
            kept = dict(sorted(kept.items(), key=lambda item: item[1].last)[-(TRACKED_MAX // 2):])
            if server is not None:
                kept[("server", "")] = server
        self._state = kept

    def succeeded(self, client: str, email: str) -> None:
        with self._lock:
            self._state.pop(("client", client), None)
            self._state.pop(("account", email), None)


# -- second factor (TOTP, RFC 6238) ---------------------------------------------------------------
TOTP_STEP_S = 30


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="formcheck")


def totp_step(secret: str, code: str, now: float) -> int | None:
    """The time step the code belongs to (this one or the one before or after: clock drift), or None."""
    import pyotp

    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(secret)
    step = int(now // TOTP_STEP_S)
    for s in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(s * TOTP_STEP_S), code):
            return s
    return None
