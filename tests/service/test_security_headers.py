"""Security headers (issue 18, part A): CSP, nosniff, framing, Referrer-Policy, HSTS over TLS,
`no-store` on patient data; HEAD on the annotated video; invalid Range answers as JSON errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from browser_support import launch_chromium, require_browser, run_server
from clinic_support import API as CLINIC
from clinic_support import athlete_with_screening, register
from formcheck.service import create_app
from formcheck.service.routers.web import WEB_DIR
from service_support import API, SAMPLE, cut_clip, poll, service_settings

PAGES = ("/", "/clinic", "/live")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with TestClient(create_app(service_settings(tmp_path_factory.mktemp("headers")))) as client:
        yield client


@pytest.fixture(scope="module")
def done_job(service, tmp_path_factory) -> str:
    clip = cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "clip.mp4", end_s=2.5, width=320)
    created = service.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
    assert created.status_code == 202, created.text
    body = poll(service, created.json()["id"])
    assert body["status"] == "done", body
    return body["id"]


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


@pytest.mark.parametrize("path", [*PAGES, "/static/app.js"])
def test_pages_have_a_strict_csp_and_the_common_headers(service, path):
    response = service.get(path)
    assert response.status_code == 200
    csp = directives(response.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]  # no inline script or style
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_api_answers_allow_no_script(service):
    for path in ("/api/v1/exercises", "/api/v1/analyses/" + "0" * 32, "/openapi.json"):
        csp = directives(service.get(path).headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"] and "script-src" not in csp and csp["frame-ancestors"] == ["'none'"]


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style" or (tag == "script" and "src" not in names):
            self.inline.append(f"<{tag}> block")
        self.inline += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


@pytest.mark.parametrize("page", ["index.html", "clinic.html", "live.html"])
def test_pages_keep_no_inline_script_or_style_the_csp_would_block(page):
    finder = _InlineFinder()
    finder.feed((WEB_DIR / page).read_text())
    assert finder.inline == []
    scripts = " ".join(p.read_text() for p in WEB_DIR.glob("*.js"))
    assert not re.search(r"""\bstyle:\s*["']|setAttribute\(\s*["']style|innerHTML|\beval\(|new Function""", scripts)


def test_hsts_only_over_https(tmp_path):
    with TestClient(create_app(service_settings(tmp_path)), base_url="https://formcheck.example") as client:
        assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")
    with TestClient(create_app(service_settings(tmp_path, hsts_max_age_s=0)), base_url="https://x.example") as client:
        assert "strict-transport-security" not in client.get("/healthz").headers


@pytest.mark.jobs
def test_patient_data_is_no_store_and_pages_are_not(service, done_job):
    for path in ("", "/report", "/video", "/angles.csv"):
        response = service.get(f"{API}/{done_job}{path}")
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store", path
    auth = register(service, "headers@example.org")
    athlete_id, screening_id = athlete_with_screening(service, auth)
    for path in (f"/athletes/{athlete_id}", f"/screenings/{screening_id}", f"/screenings/{screening_id}/report",
                 f"/screenings/{screening_id}/report.pdf"):
        response = service.get(CLINIC + path, headers=auth)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store", path
    assert "no-store" not in service.get("/").headers.get("cache-control", "")


@pytest.mark.jobs
def test_head_on_the_video_answers_like_get_without_a_body(service, done_job):
    get = service.get(f"{API}/{done_job}/video")
    head = service.head(f"{API}/{done_job}/video")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == "video/mp4" and head.headers["accept-ranges"] == "bytes"


@pytest.mark.jobs
def test_invalid_ranges_answer_in_the_json_error_shape(service, done_job):
    url = f"{API}/{done_job}/video"
    size = len(service.get(url).content)
    outside = service.get(url, headers={"Range": f"bytes={size + 10}-{size + 20}"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{size}"
    assert outside.json()["code"] == "range_not_satisfiable" and outside.json()["hint"]
    malformed = service.get(url, headers={"Range": "pages=1-2"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_range"
    assert service.get(url, headers={"Range": "bytes=0-9"}).status_code == 206  # valid ranges still work


@pytest.mark.browser
@pytest.mark.jobs
def test_pages_work_in_a_browser_under_the_csp(tmp_path):
    """Chromium reports no CSP violation on the pages, and their scripts run (the upload page
    fills its exercise list from the API, the clinic page shows its login form)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with run_server(tmp_path / "data", model="lite") as server, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                                 " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
            # Functions, not expressions: Playwright evaluates a bare expression with eval, which the CSP forbids.
            for path, ready in (("/", "() => document.querySelectorAll('#exercise option').length > 1"),
                                ("/clinic", "() => document.querySelector('input[type=password]') !== null"),
                                ("/live", "() => document.querySelectorAll('#exercise option').length > 0")):
                response = page.goto(server.url + path)
                assert "script-src 'self'" in response.headers["content-security-policy"]
                page.wait_for_function(ready, timeout=60_000)
                assert page.evaluate("() => window.__csp") == [], path
        finally:
            browser.close()
