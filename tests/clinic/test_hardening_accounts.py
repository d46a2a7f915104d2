"""Accounts and API keys under attack (issue 18): guessable passwords, account enumeration,
password spraying, parallel logins, password change/reset, log out everywhere, a second factor,
scoped and expiring API keys."""

from __future__ import annotations

import contextlib
import io
import threading
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from clinic_support import API, PASSWORD, athlete_with_screening, register
from formcheck.clinic import auth


def _login(client, email, password=PASSWORD, **extra):
    return client.post(f"{API}/auth/login", json={"email": email, "password": password, **extra})


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", "password123", "qwertyuiop"])
def test_guessable_passwords_are_refused(client, password):
    r = client.post(f"{API}/auth/register", json={"email": "a@clinic.test", "password": password})
    assert r.status_code == 422 and r.json()["code"] == "weak_password"
    assert r.json()["hint"]  # zxcvbn's reason, e.g. "This is a top-100 common password."
    assert _login(client, "a@clinic.test", password).status_code == 401  # no account was made


def test_register_answers_the_same_for_a_taken_email(client):
    new = client.post(f"{API}/auth/register", json={"email": "a@clinic.test", "password": PASSWORD})
    taken = client.post(f"{API}/auth/register",
                        json={"email": "A@clinic.test", "password": "another fine passphrase 7"})
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json() and "token" not in new.json()
    assert _login(client, "a@clinic.test").status_code == 200                 # the owner's password is unchanged
    assert _login(client, "a@clinic.test", "another fine passphrase 7").status_code == 401


def test_a_guessed_account_delays_its_owner_briefly_and_locks_the_guesser_out(app, client):
    register(client, "victim@clinic.test")
    clinic = app.state.clinic
    t = [1000.0]
    clinic.clock = lambda: t[0]
    wrong = {"email": "victim@clinic.test", "password": "not the password"}
    attacker = TestClient(app, client=("203.0.113.9", 40000))  # another address (the app is already started)
    waits: list[int] = []
    for _ in range(60):  # a guesser that obeys Retry-After
        r = attacker.post(f"{API}/auth/login", json=wrong)
        if r.status_code == 429:
            waits.append(int(r.headers["retry-after"]))
            if waits[-1] > 60:
                break
            t[0] += waits[-1]
        else:
            assert r.status_code == 401
            t[0] += 0.5
    assert waits and waits[-1] > 60  # the guessing address waits longer and longer
    # the owner, from elsewhere, waits at most a minute (not 15), then the right password works
    owner = _login(client, "victim@clinic.test")
    assert owner.status_code == 429 and int(owner.headers["retry-after"]) <= 60
    t[0] += int(owner.headers["retry-after"])
    assert _login(client, "victim@clinic.test").status_code == 200


def test_spraying_many_accounts_from_one_address_is_slowed_down(app, client):
    app.state.clinic.clock = lambda: 5000.0
    answers = [_login(client, f"user{i}@clinic.test", "Spring2024!!").status_code for i in range(12)]
    assert answers[:10] == [401] * 10 and answers[-1] == 429   # per client, whichever e-mail it tries


def test_the_whole_server_spaces_out_failed_logins_from_many_addresses():
    throttle = auth.LoginThrottle()
    for i in range(throttle.whole_server.free + 3):
        throttle.failed(f"198.51.100.{i % 250}", f"u{i}@x.test", 100.0)
    wait = throttle.retry_after("192.0.2.1", "new@x.test", 100.0)
    assert 0 < wait <= throttle.whole_server.cap_s
    assert throttle.retry_after("192.0.2.1", "new@x.test", 100.0 + throttle.whole_server.forget_s) == 0


def test_parallel_logins_hash_one_at_a_time(monkeypatch):
    hasher = PasswordHasher()  # argon2's real cost, so unguarded verifies would overlap
    active, peak, lock = [0], [0], threading.Lock()

    class Counting:
        def verify(self, stored, password):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                return hasher.verify(stored, password)
            finally:
                with lock:
                    active[0] -= 1

    monkeypatch.setattr(auth, "_hasher", Counting())
    monkeypatch.setattr(auth, "HASH_WAIT_S", 600.0)  # a loaded machine must not turn waiting into 503s here
    stored = hasher.hash(PASSWORD)
    threads = [threading.Thread(target=auth.verify_password, args=(stored, PASSWORD)) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert peak[0] == 1  # auth.HASH_SLOTS: one argon2 hash at a time


def test_a_login_that_cannot_get_a_hash_slot_answers_503(client, monkeypatch):
    register(client, "a@clinic.test")
    monkeypatch.setattr(auth, "HASH_WAIT_S", 0.01)
    with auth._hash_slots:  # every slot busy
        r = _login(client, "a@clinic.test")
    assert r.status_code == 503 and r.json()["code"] == "busy" and "retry-after" in r.headers
    assert _login(client, "a@clinic.test").status_code == 200


def test_password_change_ends_the_other_logins(client):
    here = register(client, "a@clinic.test")
    elsewhere = {"Authorization": f"Bearer {_login(client, 'a@clinic.test').json()['token']}"}
    wrong = client.post(f"{API}/auth/password", headers=here,
                        json={"current_password": "not it at all", "new_password": "a new long passphrase 42"})
    assert wrong.status_code == 401
    weak = client.post(f"{API}/auth/password", headers=here,
                       json={"current_password": PASSWORD, "new_password": "1234567890"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    ok = client.post(f"{API}/auth/password", headers=here,
                     json={"current_password": PASSWORD, "new_password": "a new long passphrase 42"})
    assert ok.status_code == 200 and ok.json()["ended"] == 1
    assert client.get(f"{API}/auth/me", headers=elsewhere).status_code == 401
    assert client.get(f"{API}/auth/me", headers=here).status_code == 200
    assert _login(client, "a@clinic.test").status_code == 401
    assert _login(client, "a@clinic.test", "a new long passphrase 42").status_code == 200


def test_operator_reset_token_sets_a_new_password_once_and_ends_every_login(client, tmp_path):
    from formcheck.cli import main

    session = register(client, "a@clinic.test")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["reset-password", "a@clinic.test", "--data-dir", str(tmp_path)]) == 0
    token = out.getvalue().splitlines()[1].strip()
    body = {"token": token, "new_password": "reset to this passphrase 9"}
    assert client.post(f"{API}/auth/password-reset", json=body).status_code == 200
    assert client.get(f"{API}/auth/me", headers=session).status_code == 401
    assert _login(client, "a@clinic.test", "reset to this passphrase 9").status_code == 200
    again = client.post(f"{API}/auth/password-reset", json={**body, "new_password": "and once more 77 times"})
    assert again.status_code == 401  # used up


def test_log_out_everywhere(client):
    one = register(client, "a@clinic.test")
    two = {"Authorization": f"Bearer {_login(client, 'a@clinic.test').json()['token']}"}
    r = client.post(f"{API}/auth/logout-all", headers=one)
    assert r.status_code == 200 and r.json()["ended"] == 2
    assert client.get(f"{API}/auth/me", headers=one).status_code == 401
    assert client.get(f"{API}/auth/me", headers=two).status_code == 401


def test_second_factor(client):
    a = register(client, "a@clinic.test")
    setup = client.post(f"{API}/auth/totp/setup", headers=a).json()
    totp = pyotp.TOTP(setup["secret"])
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    wrong_code = f"{(int(totp.now()) + 500_000) % 1_000_000:06d}"
    assert client.post(f"{API}/auth/totp/enable", json={"code": wrong_code}, headers=a).status_code == 401
    assert client.post(f"{API}/auth/totp/enable", json={"code": totp.now()}, headers=a).json()["totp_enabled"] is True
    no_code = _login(client, "a@clinic.test")
    assert no_code.status_code == 401 and no_code.json()["code"] == "totp_required"
    code = totp.now()
    assert _login(client, "a@clinic.test", totp=code).status_code == 200
    assert _login(client, "a@clinic.test", totp=code).status_code == 401  # a code works once
    assert _login(client, "a@clinic.test", "wrong password 123", totp=totp.now()).status_code == 401


def _key(client, auth_headers, scope):
    r = client.post(f"{API}/api-keys", json={"label": scope, "scope": scope}, headers=auth_headers)
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == scope and r.json()["expires_at"]
    return {"X-API-Key": r.json()["key"]}


def test_api_key_scopes(client):
    a = register(client, "a@clinic.test")
    athlete, screening = athlete_with_screening(client, a)
    read, write, admin = (_key(client, a, s) for s in ("read", "write", "admin"))
    assert client.get(f"{API}/athletes", headers=read).status_code == 200
    assert client.post(f"{API}/athletes", json={"name": "X"}, headers=read).status_code == 403
    assert client.post(f"{API}/athletes", json={"name": "X"}, headers=write).status_code == 201
    for headers in (read, write):
        assert client.post(f"{API}/screenings/{screening}/share", json={"days": 90}, headers=headers).status_code == 403
        assert client.delete(f"{API}/athletes/{athlete}", headers=headers).status_code == 403
    assert client.post(f"{API}/screenings/{screening}/share", json={"days": 1}, headers=admin).status_code == 201
    # no key, whatever its scope, manages keys or the account
    keys = client.get(f"{API}/api-keys", headers=a).json()
    for headers in (read, write, admin):
        assert client.post(f"{API}/api-keys", json={"scope": "admin"}, headers=headers).status_code == 403
        assert client.delete(f"{API}/api-keys/{keys[0]['id']}", headers=headers).status_code == 403
        assert client.post(f"{API}/auth/password", headers=headers,
                           json={"current_password": PASSWORD, "new_password": "taken over 4 good"}).status_code == 403
        assert client.post(f"{API}/auth/logout-all", headers=headers).status_code == 403
        assert client.post(f"{API}/auth/totp/setup", headers=headers).status_code == 403
    assert client.delete(f"{API}/athletes/{athlete}", headers=admin).status_code == 204


def test_api_key_expires(client, tmp_path):
    a = register(client, "a@clinic.test")
    key = _key(client, a, "read")
    assert client.get(f"{API}/athletes", headers=key).status_code == 200
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with client.app.state.store.engine.begin() as conn:
        conn.execute(text("UPDATE clinic_api_keys SET expires_at = :past"), {"past": past})
    assert client.get(f"{API}/athletes", headers=key).status_code == 401
    assert client.post(f"{API}/api-keys", json={"days": 1000}, headers=a).status_code == 422


def test_logging_out_with_an_api_key_says_it_is_not_a_login(client):
    a = register(client, "a@clinic.test")
    key = _key(client, a, "write")
    r = client.post(f"{API}/auth/logout", headers=key)
    assert r.status_code == 400 and "api-keys" in r.json()["hint"]
    assert client.get(f"{API}/athletes", headers=key).status_code == 200  # said so: the key still works


def test_the_throttle_forgets_quiet_addresses_so_a_spray_cannot_fill_memory():
    throttle = auth.LoginThrottle()
    sizes = []
    for i in range(3 * auth.TRACKED_MAX):  # a spray faster than anything is forgotten
        throttle.failed(f"198.{i // 62500}.{i // 250 % 250}.{i % 250}", f"u{i}@x.test", 0.0)
        sizes.append(len(throttle._state))
    assert max(sizes) <= auth.TRACKED_MAX + 3  # bounded (before: every entry kept, pruned on each login)
    assert throttle._state[("server", "")].failures == 3 * auth.TRACKED_MAX  # the server-wide count survives
    for i in range(auth.TRACKED_MAX):  # long after: a new spray; the quiet old entries go first
        throttle.failed(f"192.0.{i // 250}.{i % 250}", f"late{i}@x.test", 2000.0)
    assert all(state.last == 2000.0 for state in throttle._state.values())
