"""The clinician pages end to end in real headless Chromium (issue #7).

A clinician logs in on /clinic, adds an athlete, starts a screening, follows the wizard (which
names the next test and where the camera goes), uploads clips for an mSEBT direction (a clip
rendered by the synthetic lab: three anterior trials on the left leg), a lunge (the first
seconds of a real side-view clip) and a step-up (a real clip), skips the other mSEBT
directions, waits for the analyses and opens the report. What the pages show is compared with
the clinic API's answers for the same screening.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from browser_support import launch_chromium, require_browser
from formcheck.clips import short_clip
from samples_support import require_sample
from service_support import memo_server
from web_support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.samples, pytest.mark.slow]

EMAIL, PASSWORD, CLINICIAN = "physio@example.org", "correct horse battery", "Dr. Test Physio"
ATHLETE = {"name": "Runner R-07", "birth_year": "1996", "leg_left": "91", "leg_right": "92.5", "dominant": "right"}
SEBT_STEP, LUNGE_STEP, STEP_UP_STEP = "msebt:left:anterior", "lunge::", "step_up::"
ANALYSIS_TIMEOUT_S = 420  # three clips on one worker, on a shared 2-core machine


@pytest.fixture(scope="module")
def clips(tmp_path_factory, sebt_clip) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clinic-clips")
    return {
        SEBT_STEP: sebt_clip,
        LUNGE_STEP: short_clip(require_sample("videos/lunge_reverse_side_01.mp4"), folder / "lunge.mp4", seconds=7.0),
        STEP_UP_STEP: require_sample("videos/stepup_side_01.mp4"),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, pose_memo):
    require_browser()
    with memo_server(tmp_path_factory.mktemp("e2e-clinic-data"), pose_memo) as running:
        body = json.dumps({"email": EMAIL, "password": PASSWORD, "name": CLINICIAN}).encode()
        request = urllib.request.Request(f"{running.url}/api/v1/clinic/auth/register", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202  # the account exists; the page logs in
        yield running


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        yield page
        browser.close()


def step(page, key: str):
    return page.locator(f'li.step[data-step="{key}"]')


def api_get(page, path: str) -> dict:
    """The clinic API with the page's own session cookie."""
    origin = page.evaluate("location.origin")
    response = page.request.get(f"{origin}/api/v1/clinic{path}")
    assert response.ok, response.text()
    return response.json()


def test_login_refuses_a_wrong_password_then_logs_in(server, page):
    page.goto(server.url + "/clinic")
    wait_until(page, "() => location.hash === '#/login'")  # no session yet
    page.fill("#login-email", EMAIL)
    page.fill("#login-password", "not the password")
    page.click("#login-submit")
    shown = page.wait_for_selector("#login-form .local-error, #error-box:not([hidden])")  # in the form since issue 17
    assert "password" in shown.inner_text().lower()
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    wait_until(page, "() => location.hash === '#/athletes'")
    page.wait_for_selector("#athlete-form")
    assert page.inner_text("#who-name") == CLINICIAN
    assert not page.errors


def test_create_an_athlete(server, page):
    page.fill("#athlete-name", ATHLETE["name"])
    page.fill("#athlete-birth-year", ATHLETE["birth_year"])
    page.fill("#athlete-leg-left", ATHLETE["leg_left"])
    page.fill("#athlete-leg-right", ATHLETE["leg_right"])
    page.select_option("#athlete-dominant", ATHLETE["dominant"])
    page.click("#athlete-submit")
    page.wait_for_selector("#athlete-name-title")
    assert page.inner_text("#athlete-name-title") == ATHLETE["name"]
    athletes = api_get(page, "/athletes")
    assert [a["name"] for a in athletes] == [ATHLETE["name"]]
    assert athletes[0]["leg_length_left_cm"] == 91.0 and athletes[0]["leg_length_right_cm"] == 92.5
    assert page.evaluate("location.hash") == f"#/athletes/{athletes[0]['id']}"
    assert not page.errors


def test_screening_wizard_leads_through_the_tests(server, page, clips):
    page.click("#screening-submit")
    page.wait_for_selector("#steps")
    # The protocol starts with the left-stance anterior reach, filmed from the side.
    next_step = page.locator("#next-step")
    assert next_step.get_attribute("data-step") == SEBT_STEP
    assert "left leg" in next_step.inner_text() and "side view" in next_step.inner_text()
    assert page.locator("li.step").count() == 8  # 3 directions x 2 legs, lunge, step-up

    def upload(key: str) -> None:
        step(page, key).locator(".clip-input").set_input_files(str(clips[key]))
        step(page, key).locator("button.upload").click()
        wait_until(page, f"""() => {{ const li = document.querySelector('li.step[data-step="{key}"]');
            return li && li.dataset.status !== 'todo'; }}""", timeout_s=60)

    upload(SEBT_STEP)
    assert next_step.get_attribute("data-step") == "msebt:right:anterior"  # then the other leg
    for key in ("msebt:right:anterior", "msebt:left:posteromedial", "msebt:right:posteromedial",
                "msebt:left:posterolateral", "msebt:right:posterolateral"):
        step(page, key).locator("button.link").click()
        wait_until(page, f"""() => {{ const li = document.querySelector('li.step[data-step="{key}"]');
            return li && li.dataset.status === 'skipped'; }}""")
    assert next_step.get_attribute("data-step") == LUNGE_STEP
    assert "side view" in next_step.inner_text()
    upload(LUNGE_STEP)
    assert next_step.get_attribute("data-step") == STEP_UP_STEP
    upload(STEP_UP_STEP)
    assert next_step.get_attribute("data-step") == ""  # every test filmed or skipped

    # The wizard follows the analyses by itself until all three are done.
    keys = (SEBT_STEP, LUNGE_STEP, STEP_UP_STEP)
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    while time.monotonic() < deadline:
        states = {key: step(page, key).get_attribute("data-status") for key in keys}
        assert "failed" not in states.values(), {key: step(page, key).inner_text() for key in keys}
        if set(states.values()) == {"done"}:
            break
        page.wait_for_timeout(1000)
    else:
        raise AssertionError(f"analyses not done after {ANALYSIS_TIMEOUT_S} s: {states}\n{server.log()}")
    screening_id = page.evaluate("location.hash").split("/")[2]
    tests = {f"{t['kind']}:{t['leg'] or ''}:{t['direction'] or ''}": t
             for t in api_get(page, f"/screenings/{screening_id}")["tests"]}
    assert set(tests) == set(keys) and all(t["status"] == "done" for t in tests.values())
    for key in keys:
        assert tests[key]["file_name"] in step(page, key).locator(".status").inner_text()
    assert not page.errors


def test_the_report_opens_with_the_scores(server, page):
    page.click("#report-link")
    page.wait_for_selector("#report-frame")
    screening_id = page.evaluate("location.hash").split("/")[2]
    result = api_get(page, f"/screenings/{screening_id}/result")
    assert not result["pending"]
    assert page.locator("#pending").count() == 0
    frame = page.frame_locator("#report-frame")
    frame.locator("h1").wait_for()
    text = frame.locator("body").inner_text()
    assert ATHLETE["name"] in text and result["screening"]["date"] in text
    # The rendered clip holds three anterior trials on the left leg: each is in the report with
    # its reach (cm from the measured leg length, and % of it), and the best valid one if any.
    anterior = result["sebt"]["legs"]["left"]["directions"]["anterior"]
    assert len(anterior["trials"]) == 3
    for trial in anterior["trials"]:
        assert f"{trial['cm']:.1f} cm" in text and f"{trial['pct_limb']:.1f}" in text, trial
    if anterior["valid_trials"]:
        assert f"{anterior['reach_pct_limb']:.1f}" in text
    for kind in ("lunge", "step_up"):
        analysed = [t for t in result["tests"] if t["test"]["kind"] == kind]
        assert len(analysed) == 1 and analysed[0]["reps"] >= 1, analysed
    pdf = page.request.get(page.evaluate("document.getElementById('report-pdf').href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    # A share link for the athlete opens the same report without a login.
    page.click("#share")
    link = page.locator("#share-url a")
    link.wait_for()
    other = page.context.browser.new_context()
    try:
        shared = other.new_page()
        shared.goto(link.get_attribute("href"))
        assert ATHLETE["name"] in shared.inner_text("body")
    finally:
        other.close()
    assert not page.errors


def test_athlete_page_lists_the_screening_and_its_history(server, page):
    page.click("#crumbs a:nth-of-type(2)")  # the athlete
    page.wait_for_selector("#screenings tr[data-id]")
    assert page.locator("#screenings tr[data-id]").count() == 1
    history = api_get(page, page.evaluate("'/athletes/' + location.hash.split('/')[2] + '/history'"))
    shown = [m for m in history["metrics"] if any(p["value"] is not None for p in m["points"])]
    assert shown, "analysed lunge and step-up clips should give history metrics"
    assert page.locator("#history tr").count() == len(shown) + 1
    assert not page.errors
