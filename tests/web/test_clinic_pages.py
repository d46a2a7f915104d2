"""What a clinician sees on the clinic pages and in the screening report (issue 17), in real
headless Chromium against the service in a subprocess.

One athlete with two screenings: an earlier one with tape-measured mSEBT reaches only, and the
one under test with tape reaches in five directions, a rendered mSEBT clip for the sixth (left
stance, anterior) and the bundled synthetic lunge uploaded as "RUN-07 lunge.mp4". The pages must
fit a phone (390×844) and a laptop (1280×800) without sideways scrolling; the wizard keeps
"skip for now" with the screening, takes tape reaches next to the camera's and a note per test,
and shows a bad clip's error inside its step; the report (HTML and PDF) has the star diagram and
no placeholder text or raw keys.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from browser_support import require_browser
from service_support import memo_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
LUNGE = REPO / "samples" / "lunge_synthetic_side.mp4"
LUNGE_NAME = "RUN-07 lunge.mp4"
EMAIL, PASSWORD = "pages@example.org", "correct horse battery"
API = "/api/v1/clinic"
SIZES = {"phone": (390, 844), "laptop": (1280, 800)}
TAPE_CM = {("left", "posteromedial"): [92, 95, 94], ("left", "posterolateral"): [88, 90, 91],
           ("right", "anterior"): [54, 57, 55], ("right", "posteromedial"): [90, 93, 92],
           ("right", "posterolateral"): [86, 89, 87]}
ANALYSIS_TIMEOUT_S = 420
# Text a person must never read in a report: placeholders, the pipeline's file name, raw keys.
PLACEHOLDERS = re.compile(r"\b(?:null|None|NaN|undefined)\b|input\.mp4|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"
                          r"|\b[0-9a-f]{32}\b")


def _call(server, method: str, path: str, token: str | None = None, body=None, data: bytes | None = None,
          headers: dict | None = None):
    request = urllib.request.Request(server.url + path, method=method, data=data if data is not None else
                                     (json.dumps(body).encode() if body is not None else None),
                                     headers={**({"Content-Type": "application/json"} if body is not None else {}),
                                              **({"Authorization": f"Bearer {token}"} if token else {}),
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            is_json = response.headers.get_content_type() == "application/json"
            return response.status, (json.loads(raw) if is_json else raw)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _upload(server, token: str, test_id: str, clip: Path, name: str) -> None:
    boundary = "formcheck-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode() + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    status, answer = _call(server, "POST", f"{API}/tests/{test_id}/clip", token, data=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 202, answer


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, sebt_clip, pose_memo):
    """The server and the seeded data: {"server", "token", "athlete", "screening", "tests"}."""
    require_browser()
    with memo_server(tmp_path_factory.mktemp("pages-data"), pose_memo) as server:
        assert _call(server, "POST", f"{API}/auth/register", body={"email": EMAIL, "password": PASSWORD,
                                                                  "name": "Dr. Pages"})[0] == 202
        status, login = _call(server, "POST", f"{API}/auth/login", body={"email": EMAIL, "password": PASSWORD})
        assert status == 200, login
        token = login["token"]
        status, athlete = _call(server, "POST", f"{API}/athletes", token, {
            "name": "Runner R-07", "birth_year": 1994, "leg_length_left_cm": 90.0, "leg_length_right_cm": 91.0,
            "dominant_leg": "right"})
        assert status == 201, athlete
        earlier = _call(server, "POST", f"{API}/athletes/{athlete['id']}/screenings", token, {"date": "2025-01-10"})[1]
        screening = _call(server, "POST", f"{API}/athletes/{athlete['id']}/screenings", token,
                          {"date": "2025-03-01"})[1]
        for sid, shift in ((earlier["id"], -3), (screening["id"], 0)):
            for (leg, direction), values in TAPE_CM.items():
                trials = [{"trial": i, "reach_cm": v + shift} for i, v in enumerate(values, 1)]
                status, test = _call(server, "POST", f"{API}/screenings/{sid}/tests", token,
                                     {"kind": "msebt", "leg": leg, "direction": direction, "manual_trials": trials})
                assert status == 201, test
        tests = {}
        for key, body, clip, name in (
                ("msebt:left:anterior", {"kind": "msebt", "leg": "left", "direction": "anterior"}, sebt_clip,
                 "sebt L ant.mp4"),
                ("lunge::", {"kind": "lunge"}, LUNGE, LUNGE_NAME)):
            status, test = _call(server, "POST", f"{API}/screenings/{screening['id']}/tests", token, body)
            assert status == 201, test
            _upload(server, token, test["id"], clip, name)
            tests[key] = test["id"]
        deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
        while time.monotonic() < deadline:
            listed = _call(server, "GET", f"{API}/screenings/{screening['id']}", token)[1]["tests"]
            states = {t["id"]: t["status"] for t in listed}
            if all(states[t] in ("done", "failed") for t in tests.values()):
                break
            time.sleep(1.0)
        assert all(states[t] == "done" for t in tests.values()), (states, server.log())
        yield {"server": server, "token": token, "athlete": athlete["id"], "screening": screening["id"], "tests": tests}


@pytest.fixture(scope="module")
def server(clinic):
    """The seeded clinic's server (tests/web/conftest.py's `browser` starts after it)."""
    return clinic["server"]


def _logged_in_page(browser, clinic, size=(1280, 800)):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(clinic["server"].url + "/clinic#/login")
    page.fill("#login-email", EMAIL)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_function("() => location.hash === '#/athletes'")
    page.wait_for_selector("#athlete-form")
    return page


@pytest.fixture()
def page(browser, clinic):
    page = _logged_in_page(browser, clinic)
    yield page
    assert not page.errors
    page.context.close()


def _open(page, hash_: str, ready: str) -> None:
    page.evaluate(f"location.hash = {hash_!r}")
    page.wait_for_selector(ready)


def _too_wide(page) -> list[str]:
    """Elements reaching past the right edge of the window (what makes a page scroll sideways)."""
    return page.evaluate("""() => {
        if (document.documentElement.scrollWidth <= window.innerWidth) return [];
        const right = (e) => e.getBoundingClientRect().right;
        return [...document.querySelectorAll('body *')].filter((e) => right(e) > window.innerWidth + 0.5)
          .slice(0, 8).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${Math.round(right(e))}px`);
    }""")


@pytest.mark.parametrize("size", list(SIZES))
def test_clinic_pages_fit_the_screen_without_sideways_scrolling(browser, clinic, size):
    page = _logged_in_page(browser, clinic, SIZES[size])
    try:
        views = {"athletes": ("#/athletes", "#athletes"),
                 "athlete": (f"#/athletes/{clinic['athlete']}", "#athlete-name-title"),
                 "wizard": (f"#/screenings/{clinic['screening']}", "#steps"),
                 "report": (f"#/screenings/{clinic['screening']}/report", "#report-frame")}
        for name, (hash_, ready) in views.items():
            _open(page, hash_, ready)
            if name == "report":
                page.frame_locator("#report-frame").locator("h1").wait_for()
                frame = page.frame(url=re.compile(r"/report$"))
                assert frame is not None
                inner = frame.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                assert inner, f"the report inside the page scrolls sideways at {size}"
            assert _too_wide(page) == [], f"{name} page at {size}: {_too_wide(page)}"
        # what the clinic page itself says is readable
        _open(page, f"#/athletes/{clinic['athlete']}", "#athlete-name-title")
        facts = page.inner_text("dl.summary")
        assert "1994" in facts and "1994.0" not in facts
        _open(page, f"#/screenings/{clinic['screening']}/report", "#report-frame")
        assert not re.search(r"\bnull\b|\bundefined\b", page.inner_text("#view"))
        assert not page.errors
    finally:
        page.context.close()


def test_wizard_shows_each_step_result_and_takes_tape_reaches_next_to_the_camera(page, clinic):
    _open(page, f"#/screenings/{clinic['screening']}", "#steps")
    step = page.locator('li.step[data-step="msebt:left:anterior"]')
    camera = step.locator(".step-result").inner_text()
    assert camera.startswith("Camera:") and "T1" in camera
    lunge = page.locator('li.step[data-step="lunge::"]')
    assert "rep" in lunge.locator(".step-result").inner_text()
    assert LUNGE_NAME in lunge.locator(".status").inner_text()   # the clip's own name, not input.mp4
    for k, cm in enumerate(("60", "62.5", "61")):
        step.locator("input.tape-cm").nth(k).fill(cm)
    step.locator("button.save-tape").click()
    page.wait_for_selector('li.step[data-step="msebt:left:anterior"] .tape-scored')
    step = page.locator('li.step[data-step="msebt:left:anterior"]')
    assert "T2 62.5 cm" in step.locator(".tape-scored").inner_text()
    assert step.locator(".step-result").inner_text().startswith("Camera:")   # still shown next to the tape
    assert [step.locator("input.tape-cm").nth(k).input_value() for k in range(3)] == ["60", "62.5", "61"]
    status, result = _call(clinic["server"], "GET", f"{API}/screenings/{clinic['screening']}/result", clinic["token"])
    scored = result["sebt"]["legs"]["left"]["directions"]["anterior"]
    assert [t["cm_source"] for t in scored["trials"]] == ["tape"] * 3 and scored["reach_cm"] == 62.5
    camera_trials = result["camera_sebt"]["legs"]["left"]["directions"]["anterior"]["trials"]
    assert camera_trials and all(t["cm_source"] != "tape" for t in camera_trials)


def test_a_note_per_test_is_kept_and_reaches_the_report(page, clinic):
    _open(page, f"#/screenings/{clinic['screening']}", "#steps")
    lunge = page.locator('li.step[data-step="lunge::"]')
    lunge.locator("details.notes summary").click()
    lunge.locator("textarea.test-notes").fill("Knee drifts in on the left; cue hip.")
    lunge.locator("button.save-notes").click()
    page.wait_for_function(
        "() => document.querySelector('li.step[data-step=\"lunge::\"] .notes-saved').textContent === 'Saved.'")
    status, test = _call(clinic["server"], "GET", f"{API}/tests/{clinic['tests']['lunge::']}", clinic["token"])
    assert test["notes"] == "Knee drifts in on the left; cue hip."
    page.reload()
    page.wait_for_selector("#steps")
    assert page.locator('li.step[data-step="lunge::"] textarea.test-notes').input_value() == test["notes"]


def test_skip_for_now_is_kept_with_the_screening_in_a_new_session(browser, page, clinic):
    _open(page, f"#/screenings/{clinic['screening']}", "#steps")
    page.locator('li.step[data-step="step_up::"] button.skip').click()
    page.wait_for_function(
        "() => document.querySelector('li.step[data-step=\"step_up::\"]').dataset.status === 'skipped'")
    status, screening = _call(clinic["server"], "GET", f"{API}/screenings/{clinic['screening']}", clinic["token"])
    assert screening["skipped_steps"] == ["step_up::"]
    fresh = _logged_in_page(browser, clinic)   # a new browser context: no session storage, a new login
    try:
        _open(fresh, f"#/screenings/{clinic['screening']}", "#steps")
        assert fresh.locator('li.step[data-step="step_up::"]').get_attribute("data-status") == "skipped"
        assert fresh.locator('li.step[data-step="step_up::"] button.skip').inner_text() == "Do it now"
    finally:
        fresh.context.close()


def test_a_bad_clip_error_is_shown_in_its_step(page, clinic, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    _open(page, f"#/screenings/{clinic['screening']}", "#steps")
    step = page.locator('li.step[data-step="step_up::"]')
    step.locator("button.upload").click()   # no clip chosen yet
    assert "Choose the clip first" in step.locator(".local-error").inner_text()
    step.locator(".clip-input").set_input_files(str(broken))
    step.locator("button.upload").click()
    page.wait_for_function("""() => { const li = document.querySelector('li.step[data-step="step_up::"]');
        const e = li && li.querySelector('.local-error');
        return (e && !e.textContent.includes('Choose the clip first')) || (li && li.dataset.status === 'failed'); }""",
                           timeout=60_000)
    step = page.locator('li.step[data-step="step_up::"]')
    shown = step.locator(".local-error").inner_text() if step.locator(".local-error").count() else step.inner_text()
    assert shown.strip() and page.locator("#error-box").is_hidden()
    assert page.evaluate("""() => {
        const r = document.querySelector('li.step[data-step="step_up::"]').getBoundingClientRect();
        return r.bottom > 0 && r.top < window.innerHeight; }""")   # in view where the clinician clicked


def test_a_future_screening_date_is_refused(page, clinic):
    _open(page, f"#/athletes/{clinic['athlete']}", "#screening-form")
    before = len(_call(clinic["server"], "GET", f"{API}/athletes/{clinic['athlete']}/screenings", clinic["token"])[1])
    tomorrow = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    assert page.get_attribute("#screening-date", "max") <= dt.date.today().isoformat()
    page.fill("#screening-date", tomorrow)
    page.click("#screening-submit")
    assert page.evaluate("document.getElementById('screening-date').validity.rangeOverflow")
    assert page.evaluate("location.hash") == f"#/athletes/{clinic['athlete']}"
    status, answer = _call(clinic["server"], "POST", f"{API}/athletes/{clinic['athlete']}/screenings", clinic["token"],
                           {"date": tomorrow})
    assert status == 422 and "today" in json.dumps(answer)
    after = _call(clinic["server"], "GET", f"{API}/athletes/{clinic['athlete']}/screenings", clinic["token"])[1]
    assert len(after) == before


def _report_text_problems(text: str) -> list[str]:
    return sorted({m.group(0) for m in PLACEHOLDERS.finditer(text)})


def test_the_html_report_has_the_star_diagram_and_no_placeholder_text(page, clinic):
    page.goto(f"{clinic['server'].url}{API}/screenings/{clinic['screening']}/report")
    page.wait_for_selector("h1")
    text = page.inner_text("body")
    assert _report_text_problems(text) == []
    assert LUNGE_NAME in text and "mSEBT, left stance, anterior" in text and "Lunge" in text
    assert "Camera (clip)" in text and "62.5 cm" in text   # the tape entered in the wizard, next to the camera's
    assert "Clinician's note: Knee drifts in on the left; cue hip." in text
    star = page.locator("figure img[alt^='Star diagram']")
    assert star.count() == 1
    assert page.evaluate("document.querySelector(\"figure img[alt^='Star diagram']\").naturalWidth") > 300


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (poppler-utils) is missing: run `make system-deps` as root")
    return path


def test_the_pdf_has_the_star_diagram_no_placeholder_text_and_no_orphan_page(clinic, tmp_path):
    status, pdf = _call(clinic["server"], "GET", f"{API}/screenings/{clinic['screening']}/report.pdf", clinic["token"])
    assert status == 200 and pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([_poppler("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert _report_text_problems(text.replace("-\n", "")) == []
    assert LUNGE_NAME in text and "Star diagram" in text
    # no last page holding a line or two (a reference, the footer)
    last_lines = [line for line in pages[-1].splitlines()
                  if line.strip() and not line.startswith("formcheck screening")]
    assert len(pages) == 1 or len(last_lines) > 4, pages[-1]
    # the diagram is drawn: the page with its caption shows both legs' colours
    star_page = next(k for k, p in enumerate(pages, 1) if "Star diagram" in p)
    subprocess.run([_poppler("pdftoppm"), "-f", str(star_page), "-l", str(star_page), "-r", "60", "-png",
                    str(path), str(tmp_path / "page")], check=True)
    import cv2

    image = cv2.imread(str(next(tmp_path.glob("page*.png"))))
    for hex_colour in ("#1E6FD9", "#E0761F"):   # left stance blue, right stance orange (reports.star)
        bgr = np.array([int(hex_colour[i:i + 2], 16) for i in (5, 3, 1)])
        assert (np.abs(image.astype(int) - bgr).sum(axis=2) < 60).sum() > 50, hex_colour
