"""The results page's review tools in real headless Chromium (issue #17): frame stepping, slow
motion, the skeleton overlay, the angle and line tools, "swap legs from here" (a re-run from the
stored landmarks) and two analyses side by side, synced at the rep bottoms.

One uvicorn process (lite model) analyses a real clip (squat_side_01: three deep squats, side
view) and the bundled synthetic lunge once for the module.
"""

from __future__ import annotations

import csv
import io
import json
import math
import urllib.request
from pathlib import Path

import pytest

from samples_support import require_sample
from web_support import api, open_results, upload, wait_done, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.samples, pytest.mark.slow]

SQUAT = "videos/squat_side_01.mp4"
LUNGE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"
HIP, KNEE, ANKLE = {"left": 23, "right": 24}, {"left": 25, "right": 26}, {"left": 27, "right": 28}

VIDEO_FINGERPRINT = """() => {
  const v = document.getElementById('video'), c = document.createElement('canvas');
  c.width = 160; c.height = 90;
  const ctx = c.getContext('2d'); ctx.drawImage(v, 0, 0, 160, 90);
  const d = ctx.getImageData(0, 0, 160, 90).data; let sum = 0;
  for (let i = 0; i < d.length; i += 4) sum = (sum * 31 + d[i] + 3 * d[i + 1] + 7 * d[i + 2]) % 2147483647;
  return sum;
}"""
OVERLAY_DRAWN = """() => {
  const c = document.getElementById('review-overlay');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1; return n;
}"""
SEEKED = "t => { const v = document.getElementById('video'); return Math.abs(v.currentTime - t) < 0.02 && !v.seeking; }"


@pytest.fixture(scope="module")
def jobs(server) -> dict:
    squat, lunge = upload(server, require_sample(SQUAT)), upload(server, LUNGE)
    return {"squat": wait_done(server, squat), "lunge": wait_done(server, lunge)}


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    assert not page.errors
    page.close()


def seek(page, t: float) -> None:
    page.evaluate("t => { const v = document.getElementById('video'); v.pause(); v.currentTime = t; }", t)
    wait_until(page, SEEKED, arg=t)


def frame_number(page) -> int:
    return int(page.inner_text("#frame-label").split()[1])


def test_frame_stepping_and_slow_motion_on_a_real_clip(server, jobs, page):
    job = jobs["squat"]
    fps = job["analysis"]["input"]["fps"]
    open_results(page, server, job["id"])
    wait_until(page, "() => document.getElementById('video').readyState >= 2")
    start = (30 + 0.5) / fps
    seek(page, start)
    first, picture = frame_number(page), page.evaluate(VIDEO_FINGERPRINT)
    assert first == 31
    page.locator("body").press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_until(page, SEEKED, arg=(33 + 0.5) / fps)
    assert frame_number(page) == first + 3
    assert page.evaluate(VIDEO_FINGERPRINT) != picture  # another picture is shown
    page.keyboard.press("ArrowLeft")
    wait_until(page, SEEKED, arg=(32 + 0.5) / fps)
    page.click("#frame-forward")
    page.click("#frame-forward")
    wait_until(page, SEEKED, arg=(34 + 0.5) / fps)
    assert frame_number(page) == first + 4
    page.click("#frame-back")
    wait_until(page, SEEKED, arg=(33 + 0.5) / fps)
    for speed in ("0.5", "0.25"):
        page.select_option("#speed", speed)
        assert page.evaluate("() => document.getElementById('video').playbackRate") == float(speed)


def test_skeleton_overlay_and_angle_tool_at_the_knee(server, jobs, page):
    job = jobs["squat"]
    open_results(page, server, job["id"])
    wait_until(page, "() => document.getElementById('video').readyState >= 2")
    rep = job["analysis"]["movement"]["reps"][0]
    # the skeleton is on by default (the page plays the clip as uploaded), drawn once the landmarks arrive
    wait_until(page, OVERLAY_DRAWN)
    page.uncheck("#skeleton-toggle")
    assert page.evaluate(OVERLAY_DRAWN) == 0
    page.check("#skeleton-toggle")
    wait_until(page, OVERLAY_DRAWN)
    skeleton = api(server, job["links"]["skeleton"])
    frame = min(range(len(skeleton["time_s"])), key=lambda i: abs(skeleton["time_s"][i] - rep["bottom_s"]))
    t = skeleton["time_s"][frame]
    seek(page, t)
    with urllib.request.urlopen(server.url + job["links"]["angles_csv"], timeout=30) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    row = min(rows, key=lambda r: abs(float(r["time_s"]) - t))
    side = next(s for s in ("left", "right") if row[f"{s}_knee_flexion_deg"])
    flexion = float(row[f"{side}_knee_flexion_deg"])
    points = skeleton["points"][frame]
    page.uncheck("#skeleton-toggle")
    page.click("#tool-angle")
    assert page.get_attribute("#tool-angle", "aria-pressed") == "true"
    box = page.evaluate("""() => { const v = document.getElementById('video'), r = v.getBoundingClientRect();
        const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
        return { x: r.left + (r.width - v.videoWidth * s) / 2, y: r.top + (r.height - v.videoHeight * s) / 2,
                 w: v.videoWidth * s, h: v.videoHeight * s }; }""")
    for landmark in (HIP[side], KNEE[side], ANKLE[side]):
        x, y = points[landmark]
        page.mouse.click(box["x"] + x * box["w"], box["y"] + y * box["h"])
    measured = float(page.get_attribute("#review-overlay", "data-measure-deg"))
    # the tool's angle at the knee is the inside angle: 180 - the analysis' knee flexion
    assert abs(measured - (180 - flexion)) < 3.0, (measured, flexion)
    assert f"{measured:.1f}°" in page.inner_text("#tool-readout")
    assert page.evaluate(OVERLAY_DRAWN) > 100  # the three points and the two arms are drawn
    page.click("#tool-line")  # a line rising 45 degrees through the middle of the picture
    half = 0.15 * min(box["w"], box["h"])
    middle_x, middle_y = box["x"] + box["w"] / 2, box["y"] + box["h"] / 2
    page.mouse.click(middle_x - half, middle_y + half)
    page.mouse.click(middle_x + half, middle_y - half)
    assert abs(float(page.get_attribute("#review-overlay", "data-measure-deg")) - 45.0) < 0.5
    page.click("#tool-clear")
    assert page.evaluate(OVERLAY_DRAWN) == 0


def test_two_analyses_side_by_side_meet_at_the_rep_bottoms(server, jobs, page):
    squat, lunge = jobs["squat"], jobs["lunge"]
    open_results(page, server, lunge["id"])  # so this browser lists both
    open_results(page, server, squat["id"])
    page.select_option("#compare-with", lunge["id"])
    wait_until(page, "() => !document.getElementById('compare-stage').hidden && "
                     "document.getElementById('compare-video').readyState >= 1")
    lunge_now = api(server, f"/api/v1/analyses/{lunge['id']}")["analysis"]["movement"]["reps"]
    bottoms_a = [r["bottom_s"] for r in squat["analysis"]["movement"]["reps"] if r["complete"]]
    bottoms_b = [r["bottom_s"] for r in lunge_now if r["complete"]]
    assert len(bottoms_a) >= 2 and len(bottoms_b) >= 2
    assert "synced at" in page.inner_text("#compare-caption")
    for a, b in list(zip(bottoms_a, bottoms_b))[:3]:
        seek(page, a)
        wait_until(page, "b => Math.abs(document.getElementById('compare-video').currentTime - b) < 0.05", arg=b)
    # halfway between two bottoms in one clip is halfway between them in the other
    seek(page, (bottoms_a[0] + bottoms_a[1]) / 2)
    wait_until(page, "b => Math.abs(document.getElementById('compare-video').currentTime - b) < 0.05",
               arg=(bottoms_b[0] + bottoms_b[1]) / 2)


def test_swap_legs_from_a_rep_reruns_from_the_landmarks(server, jobs, page):
    job = jobs["lunge"]
    before = api(server, f"/api/v1/analyses/{job['id']}")["analysis"]
    reps = before["movement"]["reps"]
    sides = [r["side"] for r in reps]
    assert len(reps) >= 3 and set(sides) <= {"left", "right"}, sides
    flipped = {"left": "right", "right": "left"}
    open_results(page, server, job["id"])
    page.locator("#reps tr").nth(2).locator("button.swap-legs").click()  # rep 2 on
    wait_until(page, "() => document.getElementById('relabel-status').hidden && "
                     "document.getElementById('summary').innerText.includes('swapped by hand')", timeout_s=180)
    after = api(server, f"/api/v1/analyses/{job['id']}")["analysis"]
    assert after["quality"]["manual_leg_swaps_s"] == [reps[1]["start_s"]]
    swapped = [sides[0], *(flipped[side] for side in sides[1:])]
    assert [r["side"] for r in after["movement"]["reps"]] == swapped  # rep 1 as it was, rep 2 on the other leg
    shown = [page.locator("#reps tr").nth(i + 1).locator("td").nth(1).inner_text() for i in range(len(swapped))]
    assert shown == swapped
    with urllib.request.urlopen(server.url + job["links"]["analysis_json"], timeout=30) as response:
        assert json.load(response)["quality"]["manual_leg_swaps_s"] == [reps[1]["start_s"]]
    # the same time again takes the swap back
    page.click("#summary button.link")
    wait_until(page, "() => !document.getElementById('summary').innerText.includes('swapped by hand')", timeout_s=180)
    undone = api(server, f"/api/v1/analyses/{job['id']}")["analysis"]
    assert undone["quality"]["manual_leg_swaps_s"] == []
    assert [r["side"] for r in undone["movement"]["reps"]] == sides
    assert all(math.isclose(a["bottom_s"], b["bottom_s"], abs_tol=0.05)
               for a, b in zip(undone["movement"]["reps"], reps, strict=True))
