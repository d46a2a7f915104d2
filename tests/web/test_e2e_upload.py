"""The upload page end to end in real headless Chromium (issue #5).

A uvicorn process (1 analysis worker, lite model, temporary data dir) serves the page; Debian's
chromium uploads a real clip through the file input and waits for the results, which are
checked against the API's analysis.json for the same job and against the rep count counted by
watching the clip (3 squats). The annotated video must really play, and the angle chart's
cursor must follow the playhead (and seek the video when clicked). A second clip goes in by
drag and drop. The server runs the model on every upload (the progress shown is the model's own)
and records its landmarks for the other browser modules (tests/web/conftest.py).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import pytest

from formcheck import labels
from samples_support import require_sample
from web_support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.samples, pytest.mark.slow]

CLIP, CLIP_REPS = "videos/squat_side_01.mp4", 3  # three deep squats, side view (SOURCES.md)
# dropped on the page: the first 7 s of the split squats (2 reps, trunk lean and heel flags with the lite model)
DROP_CLIP, DROP_CLIP_S, DROP_CLIP_REPS = "videos/lunge_reverse_side_01.mp4", 7.0, 2
RESULT_TIMEOUT_S = 300  # the machine is shared; the lite model needs ~30 s for this clip alone
UPLOAD_BYTES_PER_S = 1_000_000  # throttled so the upload progress bar is visible for ~2 s
PROCESSING_LABELS = ("Waiting for a free worker…", "Starting…", "Finding the body in each frame…",
                     "Drawing the annotated video…", "Analysing…")
CURSOR_RGB = (0xD9, 0x2D, 0x20)
SIDE_RGB = ((0x1E, 0x90, 0xFF), (0xFF, 0x8C, 0x00))

# Samples the progress box every animation frame, before the page's own scripts run.
RECORD_PROGRESS = """
window.__progress = [];
const sample = () => {
  const box = document.getElementById("progress-box"), bar = document.getElementById("progress");
  if (box && !box.hidden) {
    const entry = [document.getElementById("progress-label").textContent, bar.value];
    const last = window.__progress[window.__progress.length - 1];
    if (!last || last[0] !== entry[0] || last[1] !== entry[1]) window.__progress.push(entry);
  }
  requestAnimationFrame(sample);
};
requestAnimationFrame(sample);
"""


def api_job(server, job_id: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/api/v1/analyses/{job_id}", timeout=10) as response:
        return json.load(response)


def wait_for_results(page, server) -> str:
    """Wait until the result view shows (or the page shows an error); return the job id."""
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while time.monotonic() < deadline:
        state = page.evaluate("""() => ({
            results: !document.getElementById("result-view").hidden,
            error: document.getElementById("error-box").hidden ? null : document.getElementById("error-box").innerText,
            hash: location.hash.slice(1)})""")
        assert state["error"] is None, f"the page shows an error: {state['error']}\n{server.log()}"
        if state["results"]:
            return state["hash"]
        time.sleep(0.25)
    raise AssertionError(f"no results after {RESULT_TIMEOUT_S} s\n{server.log()}")


@pytest.fixture(scope="module")
def pose_memo_replay() -> bool:
    return False  # the progress checked below must be the model's own


@pytest.fixture(scope="module")
def uploaded(server, browser):
    """The squat clip uploaded through the file input; (page, job JSON, progress seen, page errors)."""
    clip = require_sample(CLIP)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(RECORD_PROGRESS)
    page.goto(server.url + "/")
    wait_until(page, "() => document.getElementById('exercise').options.length > 1")  # exercises loaded

    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": UPLOAD_BYTES_PER_S})
    page.set_input_files("#file-input", str(clip))
    assert page.is_enabled("#submit")
    assert clip.name in page.inner_text("#drop-text")
    page.click("#submit")
    wait_until(page, "() => /^#[0-9a-f]{32}$/.test(location.hash)", timeout_s=60)  # 202 received
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": -1})
    job_id = wait_for_results(page, server)
    job = api_job(server, job_id)
    assert job["status"] == "done", job
    progress = page.evaluate("window.__progress")
    yield page, job, progress, errors
    page.close()


def test_upload_and_processing_progress_are_shown(uploaded):
    page, job, progress, errors = uploaded
    uploading = [value for label, value in progress if label == "Uploading…"]
    assert any(0 < value < 1 for value in uploading), f"no partial upload progress seen: {progress[:20]}"
    processing = [(label, value) for label, value in progress if label in PROCESSING_LABELS]
    assert any(label == "Finding the body in each frame…" and 0 < value < 1 for label, value in processing), progress
    pose_values = [value for label, value in processing if label == "Finding the body in each frame…"]
    assert pose_values == sorted(pose_values), "processing progress went backwards"
    assert page.evaluate("location.hash") == f"#{job['id']}"
    assert not errors


def test_rep_table_matches_the_api_and_the_clip(uploaded):
    page, job, _, errors = uploaded
    reps = job["analysis"]["movement"]["reps"]
    rows = page.locator("#reps tr").all()[1:]  # first row is the header
    assert len(rows) == len(reps)
    complete = [row for row in rows if row.locator("td").nth(5).inner_text() == "complete"]
    assert len(complete) == job["analysis"]["movement"]["rep_count"] == CLIP_REPS
    for row, rep in zip(rows, reps):
        cells = row.locator("td")
        assert cells.nth(0).inner_text() == str(rep["index"])
        assert cells.nth(3).inner_text() == f"{rep['bottom_s']:.2f} s"
        assert cells.nth(6).inner_text() == str(len(rep["flags"]))
    assert not errors


def test_flags_render_with_their_explanations(dropped):
    page, job, errors = dropped
    movement = job["analysis"]["movement"]
    flags = [flag for rep in movement["reps"] for flag in rep["flags"]] + movement["flags"]
    assert flags, "the split squats lean the trunk forward: flags expected"
    codes = list(dict.fromkeys(flag["code"] for flag in flags))
    shown = page.locator("#flags .flag").all()
    assert len(shown) == len(codes)  # one card per kind of finding, listing its reps
    for box, code in zip(shown, codes):
        group = [flag for flag in flags if flag["code"] == code]
        first, text = group[0], box.inner_text()
        digits = 2 if first["unit"] == "ratio" else 1
        threshold = labels.value_text(first["threshold"], labels.unit_text(first["unit"]), digits)
        evidence = labels.evidence_text(first["evidence"], first["source"], first["population"])
        parts = [first["label"], first["cue"], evidence, f"Flagged {first['direction']} {threshold}"]
        parts += [f"Rep {flag['rep_index']}" if flag["rep_index"] is not None else "Whole clip" for flag in group]
        for part in parts:
            assert part in text, f"{part!r} missing from the finding's card:\n{text}"
    assert not errors


def test_the_uploaded_clip_plays_under_the_skeleton(uploaded):
    """Jobs write no annotated MP4: the page plays the upload and draws the skeleton over it."""
    page, job, _, errors = uploaded
    assert page.get_attribute("#video", "src") == job["links"]["source"]
    page.evaluate("async () => { const v = document.getElementById('video'); v.muted = true; await v.play(); }")
    wait_until(page, "() => document.getElementById('video').currentTime > 1.0", timeout_s=30)
    state = page.evaluate("""() => { const v = document.getElementById('video');
        return {ready: v.readyState, error: v.error && v.error.code, width: v.videoWidth, duration: v.duration,
                paused: v.paused}; }""")
    assert state["error"] is None and state["ready"] >= 2 and not state["paused"], state
    assert state["width"] > 0
    assert state["duration"] == pytest.approx(job["analysis"]["input"]["duration_s"], abs=0.2)
    page.evaluate("() => document.getElementById('video').pause()")
    drawn = """() => { const c = document.getElementById('review-overlay');
        if (!c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n / (c.width * c.height); }"""
    share = wait_until(page, drawn, timeout_s=30)
    assert 0 < share < 0.3, share  # a skeleton's lines, not a filled canvas
    assert not errors


def chart_state(page) -> dict:
    return page.evaluate("""() => {
        const c = document.getElementById('angle-chart'), v = document.getElementById('video');
        const x = Number(c.dataset.cursorX), ctx = c.getContext('2d');
        const px = Array.from(ctx.getImageData(x, 1, 1, 1).data.slice(0, 3));
        return {cursor_s: Number(c.dataset.cursorS), cursor_x: x, video_s: v.currentTime, cursor_rgb: px,
                dpr: window.devicePixelRatio}; }""")


def count_rgb(page, rgb: tuple[int, int, int], tol: int = 12) -> int:
    """Pixels of the angle chart within `tol` of `rgb`, counted in the page (the canvas holds ~10^6
    values: sending them to Python took most of a minute)."""
    return page.evaluate("""([rgb, tol]) => {
        const c = document.getElementById('angle-chart');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - rgb[0]) <= tol && Math.abs(data[i + 1] - rgb[1]) <= tol
                && Math.abs(data[i + 2] - rgb[2]) <= tol) n += 1;
        return n; }""", [list(rgb), tol])


def test_angle_chart_follows_the_playhead(uploaded):
    page, job, _, errors = uploaded
    wait_until(page, "() => document.getElementById('angle-chart').dataset.cursorS !== undefined")
    assert sum(count_rgb(page, rgb) for rgb in SIDE_RGB) > 200, "no angle curves drawn"

    # While playing, the cursor is redrawn every frame at the video's time.
    page.evaluate("document.getElementById('video').play()")
    page.wait_for_timeout(1200)
    playing = chart_state(page)
    assert playing["cursor_s"] > 0.5 and abs(playing["cursor_s"] - playing["video_s"]) < 0.2, playing["video_s"]
    page.evaluate("document.getElementById('video').pause()")

    # Seeking the video moves the cursor to the right time and place.
    positions = []
    for target in (2.0, 6.0, 11.0):
        page.evaluate("""t => new Promise(done => { const v = document.getElementById('video');
            v.addEventListener('seeked', () => requestAnimationFrame(() => done()), {once: true});
            v.currentTime = t; })""", target)
        state = chart_state(page)
        assert state["cursor_s"] == pytest.approx(target, abs=0.05)
        assert all(abs(a - b) <= 30 for a, b in zip(state["cursor_rgb"], CURSOR_RGB)), state["cursor_rgb"]
        positions.append(state["cursor_x"])
    assert positions == sorted(positions) and len(set(positions)) == 3
    # Times map linearly to x: 2 s -> 6 s spans 4 s, 6 s -> 11 s spans 5 s.
    assert (positions[2] - positions[1]) / (positions[1] - positions[0]) == pytest.approx(5 / 4, rel=0.05)

    # Clicking on the chart seeks the video, and the cursor is drawn where the click was.
    chart = page.locator("#angle-chart")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    clicked_times = []
    for fraction in (0.3, 0.7):
        chart.click(position={"x": fraction * box["width"], "y": box["height"] / 2})
        page.wait_for_timeout(300)
        state = chart_state(page)
        assert state["video_s"] == pytest.approx(state["cursor_s"], abs=0.05)
        assert state["cursor_x"] / state["dpr"] == pytest.approx(fraction * box["width"], abs=2)
        clicked_times.append(state["video_s"])
    assert clicked_times[0] < clicked_times[1]
    assert not errors


def test_rep_times_in_the_table_seek_the_video(uploaded):
    page, job, _, errors = uploaded
    rep = job["analysis"]["movement"]["reps"][1]
    page.locator("#reps tr").nth(2).locator("td").nth(3).locator(".seek").click()
    wait_until(page, f"() => Math.abs(document.getElementById('video').currentTime - {rep['bottom_s']}) < 0.05")
    assert not errors


@pytest.fixture(scope="module")
def dropped(server, browser, tmp_path_factory):
    """The split-squat cut dropped on the drop zone; (page, job JSON, page errors)."""
    from formcheck.clips import short_clip

    clip = short_clip(require_sample(DROP_CLIP), tmp_path_factory.mktemp("drop") / "split_squats.mp4", DROP_CLIP_S)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    data = base64.b64encode(clip.read_bytes()).decode()
    transfer = page.evaluate_handle("""([name, data]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type: "video/mp4"}));
        return transfer; }""", [clip.name, data])
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    assert "over" in page.get_attribute("#drop-zone", "class")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert "over" not in (page.get_attribute("#drop-zone", "class") or "")
    assert clip.name in page.inner_text("#drop-text")
    page.click("#submit")
    job = api_job(server, wait_for_results(page, server))
    assert job["file_name"] == clip.name
    yield page, job, errors
    page.close()


def test_a_dropped_clip_is_analysed(dropped):
    page, job, errors = dropped
    assert job["analysis"]["movement"]["rep_count"] == DROP_CLIP_REPS
    assert page.locator("#reps tr").count() - 1 == len(job["analysis"]["movement"]["reps"])
    assert not errors


def test_a_click_on_the_preview_chooses_the_subject(server, browser):
    """The upload page shows the chosen clip's first frame; a click there is sent as the subject
    point (fractions of the frame, at the preview's time) and echoed by the job."""
    clip = require_sample(DROP_CLIP)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server.url + "/")
    page.set_input_files("#file-input", str(clip))
    wait_until(page, "() => document.getElementById('subject-preview').readyState >= 2", timeout_s=30)
    assert page.is_visible("#subject-pick") and not page.is_visible("#subject-dot")
    box = page.locator("#subject-preview").bounding_box()
    page.mouse.click(box["x"] + 0.7 * box["width"], box["y"] + 0.5 * box["height"])
    assert page.is_visible("#subject-dot") and "will be analysed" in page.inner_text("#subject-choice")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/analyses") and r.request.method == "POST") as posted:
        page.click("#submit")
    job = api_job(server, posted.value.json()["id"])
    x, y = (float(v) for v in job["subject"].split("@")[0].split(","))
    assert x == pytest.approx(0.7, abs=0.02) and 0.3 < y < 0.7, job["subject"]
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/v1/analyses/{job['id']}", method="DELETE"))
    page.close()
