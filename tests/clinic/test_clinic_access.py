"""Clinic accounts and access control: each clinician sees only their own athletes (another's
id answers 404), API keys, session cookies, expiring share links. No pose analysis runs here."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

from clinic_support import API, PASSWORD, athlete_with_screening, register


def db(client) -> AbstractContextManager[Connection]:
    """A transaction on the service's database (SQLite or Postgres, as the test runs)."""
    return client.app.state.store.engine.begin()


def test_accounts_register_login_and_errors(client):
    assert client.get(f"{API}/athletes").status_code == 401
    assert client.get(f"{API}/athletes").headers["www-authenticate"] == "Bearer"
    a = register(client, "a@clinic.test", "PT Alice")
    assert client.get(f"{API}/auth/me", headers=a).json()["name"] == "PT Alice"
    dup = client.post(f"{API}/auth/register", json={"email": "A@clinic.test", "password": PASSWORD})
    assert dup.status_code == 202  # the same answer as for a new e-mail (no account enumeration)
    short = client.post(f"{API}/auth/register", json={"email": "c@clinic.test", "password": "short"})
    assert short.status_code == 422
    bad = client.post(f"{API}/auth/login", json={"email": "a@clinic.test", "password": "wrong password!"})
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"
    unknown = client.post(f"{API}/auth/login", json={"email": "nobody@clinic.test", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json()["message"] == bad.json()["message"]
    good = client.post(f"{API}/auth/login", json={"email": "a@clinic.test", "password": PASSWORD})
    assert good.status_code == 200
    token = good.json()["token"]
    # stored: an argon2 hash of the password, a SHA-256 of the token; never the secrets themselves
    with db(client) as conn:
        (pw_hash,) = conn.execute(text("SELECT password_hash FROM clinicians")).one()
        hashes = [r[0] for r in conn.execute(text("SELECT token_hash FROM clinic_sessions"))]
    assert pw_hash.startswith("$argon2id$") and PASSWORD not in pw_hash
    assert token not in hashes and len(hashes) == 2
    assert client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get(f"{API}/auth/me", headers=a).status_code == 200  # the other login still works


def test_another_clinicians_ids_answer_404(client):
    a, b = register(client, "a@clinic.test"), register(client, "b@clinic.test")
    athlete, screening = athlete_with_screening(client, a)
    test = client.post(f"{API}/screenings/{screening}/tests", headers=a,
                       json={"kind": "msebt", "leg": "left", "direction": "anterior"}).json()["id"]
    share = client.post(f"{API}/screenings/{screening}/share", json={"days": 7}, headers=a).json()["id"]

    assert client.get(f"{API}/athletes", headers=b).json() == []
    for method, path in [
        ("GET", f"/athletes/{athlete}"), ("PATCH", f"/athletes/{athlete}"), ("DELETE", f"/athletes/{athlete}"),
        ("GET", f"/athletes/{athlete}/screenings"), ("POST", f"/athletes/{athlete}/screenings"),
        ("GET", f"/athletes/{athlete}/history"), ("GET", f"/athletes/{athlete}/history.png"),
        ("GET", f"/screenings/{screening}"), ("GET", f"/screenings/{screening}/result"),
        ("DELETE", f"/screenings/{screening}"), ("POST", f"/screenings/{screening}/tests"),
        ("POST", f"/screenings/{screening}/share"), ("GET", f"/screenings/{screening}/share"),
        ("DELETE", f"/share-links/{share}"),
        ("GET", f"/tests/{test}"), ("DELETE", f"/tests/{test}"), ("GET", f"/tests/{test}/video"),
        ("GET", f"/tests/{test}/analysis"), ("GET", f"/tests/{test}/angles.csv"),
        ("PUT", f"/tests/{test}/manual-trials"),
    ]:
        body = {"kind": "lunge"} if path.endswith("/tests") else ([] if method == "PUT" else {})
        r = client.request(method, API + path, headers=b, json=body)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "not_found"
    # an upload to another's test is refused before the body is read, and leaves nothing behind
    r = client.post(f"{API}/tests/{test}/clip", headers=b, files={"file": ("x.mp4", b"not read", "video/mp4")})
    assert r.status_code == 404
    assert not any((client.data_dir / "media").iterdir())
    # and everything is still there for its owner
    assert client.get(f"{API}/athletes/{athlete}", headers=a).status_code == 200
    assert client.get(f"{API}/tests/{test}", headers=a).json()["status"] == "no_clip"
    assert client.get(f"{API}/tests/{test}/video", headers=a).status_code == 404   # no clip yet


def test_api_keys_create_list_revoke(client):
    a = register(client, "a@clinic.test")
    athlete, _ = athlete_with_screening(client, a)
    created = client.post(f"{API}/api-keys", json={"label": "club EMR"}, headers=a)
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("fck_") and created.json()["prefix"] == key[:10]
    listed = client.get(f"{API}/api-keys", headers=a).json()
    assert [k["label"] for k in listed] == ["club EMR"] and "key" not in listed[0]
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        assert [x["id"] for x in client.get(f"{API}/athletes", headers=headers).json()] == [athlete]
    assert client.get(f"{API}/api-keys", headers=a).json()[0]["last_used_at"] is not None
    b = register(client, "b@clinic.test")
    assert client.delete(f"{API}/api-keys/{created.json()['id']}", headers=b).status_code == 404
    assert client.delete(f"{API}/api-keys/{created.json()['id']}", headers=a).status_code == 204
    assert client.get(f"{API}/athletes", headers={"X-API-Key": key}).status_code == 401


def test_browser_session_cookie(client):
    register(client, "a@clinic.test")
    r = client.post(f"{API}/auth/login", json={"email": "a@clinic.test", "password": PASSWORD, "session": "cookie"})
    assert r.status_code == 200 and r.json()["token"] is None
    cookie = r.headers["set-cookie"]
    assert "formcheck_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http test server; "auto" sets it over https
    assert client.get(f"{API}/auth/me").status_code == 200            # the client sends the cookie back
    assert client.post(f"{API}/athletes", json={"name": "X"}).status_code == 201
    cross = client.post(f"{API}/athletes", json={"name": "Y"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["code"] == "forbidden"
    assert client.post(f"{API}/auth/logout").status_code == 204
    client.cookies.clear()
    assert client.get(f"{API}/auth/me").status_code == 401


def test_share_link_read_only_expiring_revocable(client):
    a = register(client, "a@clinic.test")
    _, screening = athlete_with_screening(client, a, name="Sam Runner")
    link = client.post(f"{API}/screenings/{screening}/share", json={"days": 7}, headers=a).json()
    token = link["token"]
    assert link["url"] == f"/share/{token}"
    shared = client.get(f"{API}/shared/{token}")   # no login
    assert shared.status_code == 200 and shared.json()["athlete"]["name"] == "Sam Runner"
    assert client.get(f"{API}/shared/{'x' * 43}").status_code == 404
    # expired: 410 with a message that says so
    with db(client) as conn:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        conn.execute(text("UPDATE share_links SET expires_at = :past"), {"past": past})
    expired = client.get(f"{API}/shared/{token}")
    assert expired.status_code == 410 and "expired" in expired.json()["message"]
    # withdrawn: 410 too
    fresh = client.post(f"{API}/screenings/{screening}/share", json={"days": 1}, headers=a).json()
    assert client.get(f"{API}/shared/{fresh['token']}").status_code == 200
    assert client.delete(f"{API}/share-links/{fresh['id']}", headers=a).status_code == 204
    withdrawn = client.get(f"{API}/shared/{fresh['token']}")
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.json()["message"]
    assert len(client.get(f"{API}/screenings/{screening}/share", headers=a).json()) == 2
    assert client.post(f"{API}/screenings/{screening}/share", json={"days": 365}, headers=a).status_code == 422


def test_tape_measured_screening_is_scored(client):
    """Six mSEBT tests with tape measurements: the result matches the hand-worked example of
    test_clinic_scoring (left composite 89.3 %, right 92.3 %, anterior difference 5 cm)."""
    a = register(client, "a@clinic.test")
    athlete, screening = athlete_with_screening(client, a)
    reaches = {("left", "anterior"): [60, 62, 61], ("left", "posteromedial"): [90, 92, 88],
               ("left", "posterolateral"): [85, 86, 87], ("right", "anterior"): [67],
               ("right", "posteromedial"): [95], ("right", "posterolateral"): [90]}
    for (leg, direction), cms in reaches.items():
        t = client.post(f"{API}/screenings/{screening}/tests", headers=a,
                        json={"kind": "msebt", "leg": leg, "direction": direction}).json()
        trials = [{"trial": i, "reach_cm": cm} for i, cm in enumerate(cms, start=1)]
        assert client.put(f"{API}/tests/{t['id']}/manual-trials", json=trials, headers=a).status_code == 200
    result = client.get(f"{API}/screenings/{screening}/result", headers=a).json()
    sebt = result["sebt"]
    assert sebt["legs"]["left"]["composite_pct"] == 89.3 and sebt["legs"]["right"]["composite_pct"] == 92.3
    assert sebt["anterior_diff_cm"] == 5.0 and sebt["scales"] == ["tape"]
    assert {f["code"] for f in sebt["flags"]} == {"sebt_anterior_asymmetry_cm", "sebt_composite_female_hs_basketball",
                                                   "sebt_composite_male_college_football"}
    report = client.get(f"{API}/screenings/{screening}/report", headers=a)
    assert report.status_code == 200 and "89.3" in report.text and "Plisky" in report.text
    no_mot = client.get(f"{API}/screenings/{screening}/angles.mot", headers=a)
    assert no_mot.status_code == 422 and "0 analysed tests" in no_mot.json()["message"]
    bad = client.post(f"{API}/screenings/{screening}/tests", headers=a, json={"kind": "msebt", "leg": "left"})
    assert bad.status_code == 422
    patched = client.patch(f"{API}/athletes/{athlete}", json={"leg_length_left_cm": 80}, headers=a)
    assert patched.status_code == 200 and patched.json()["leg_length_right_cm"] == 91.0
    assert client.patch(f"{API}/athletes/{athlete}", json={"leg_length_left_cm": 500}, headers=a).status_code == 422


def test_repeated_failed_logins_are_throttled_per_account(client):
    register(client, "a@clinic.test")
    register(client, "b@clinic.test")
    client.app.state.clinic.clock = lambda: 1000.0  # no time passes between the attempts
    wrong = {"email": "a@clinic.test", "password": "not the password"}
    assert [client.post(f"{API}/auth/login", json=wrong).status_code for _ in range(5)] == [401] * 5
    blocked = client.post(f"{API}/auth/login", json={"email": "a@clinic.test", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
    assert 0 < int(blocked.headers["retry-after"]) <= 60  # a back-off, not a 15-minute lock-out
    assert client.post(f"{API}/auth/login", json={"email": "b@clinic.test", "password": PASSWORD}).status_code == 200


def test_login_throttle_backs_off_exponentially():
    from formcheck.clinic.auth import BackoffRule, LoginThrottle

    t = LoginThrottle(per_client=BackoffRule(free=2, cap_s=8.0, forget_s=60.0))
    t.failed("ip", "x", 0.0)
    assert t.retry_after("ip", "x", 0.0) == 0
    t.failed("ip", "x", 10.0)
    assert t.retry_after("ip", "x", 10.0) == 1    # 2^0 s after the last failure
    t.failed("ip", "x", 11.0)
    t.failed("ip", "x", 13.0)
    assert t.retry_after("ip", "x", 13.0) == 4    # doubling
    for now in (17.0, 25.0, 33.0):
        t.failed("ip", "x", now)
    assert t.retry_after("ip", "x", 33.0) == 8    # capped
    assert t.retry_after("ip", "x", 33.0 + 60.0) == 0  # forgotten after a quiet minute
    t.failed("ip", "x", 100.0)
    t.succeeded("ip", "x")
    assert t.retry_after("ip", "x", 100.0) == 0
