"""The live page in real headless Chromium with a fake camera fed from a real clip (issue #5).

The clip (squat_side_01: three deep squats, side view) is converted to .y4m with ffmpeg into a
temporary folder; Chromium plays it as its webcam (--use-file-for-fake-video-capture). The page
is served by a real uvicorn process. Checks: the set-up step passes (whole body, side view), a
numeric knee angle arrives, the overlay canvas shows a skeleton that moves, latency is shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from browser_support import launch_chromium, require_browser, run_server
from samples_support import require_sample
from web_support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.samples, pytest.mark.slow]

CLIP = "videos/squat_side_01.mp4"
ANSWER_TIMEOUT_S = 120   # the model loads in the server first; the machine is shared

# Overlay canvas: how many pixels are drawn (not transparent) and a cheap fingerprint of them.
CANVAS_STATE = """() => {
  const c = document.getElementById("overlay");
  if (!c.width || !c.height) return {drawn: 0, sum: 0};
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let drawn = 0, sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) { drawn += 1; sum = (sum + (i / 4) * (d[i] + 2 * d[i + 1] + 3 * d[i + 2] + 1)) % 2147483647; }
  }
  return {drawn, sum};
}"""


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory):
    """The first seconds of the clip as .y4m, the format Chromium's fake camera reads."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        message = "ffmpeg is missing (Debian: apt-get install ffmpeg, or `make system-deps` as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("camera") / "squat.y4m"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(require_sample(CLIP)), "-t", "6",
                    "-vf", "scale=360:-2", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def test_live_page_with_a_fake_camera(tmp_path, fake_camera):
    require_browser()
    from playwright.sync_api import sync_playwright

    camera_args = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                   f"--use-file-for-fake-video-capture={fake_camera}")
    with run_server(tmp_path / "data", model="lite") as server, sync_playwright() as p:
        browser = launch_chromium(p, camera_args)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/live")
            wait_until(page, "() => document.querySelectorAll('#exercise option').length > 0")
            page.select_option("#exercise", "squat")
            page.click("#start")
            wait_until(page, "() => /\\d+°/.test(document.getElementById('knee-left').textContent)",
                       timeout_s=ANSWER_TIMEOUT_S)
            knee = page.text_content("#knee-left")
            assert re.fullmatch(r"\d+°", knee) and 0 <= int(knee[:-1]) <= 180

            first = page.evaluate(CANVAS_STATE)
            time.sleep(1.5)   # the person moves (squats) in the clip
            second = page.evaluate(CANVAS_STATE)
            assert first["drawn"] > 200 and second["drawn"] > 200, (first, second)   # a skeleton, not blank
            assert first["sum"] != second["sum"]                                     # it follows the body

            wait_until(page, "() => Number(document.getElementById('frames').textContent) >= 10",
                       timeout_s=ANSWER_TIMEOUT_S)
            assert re.fullmatch(r"\d+ ms", page.text_content("#latency"))
            # The set-up step: whole body in the picture, side view (the squat's view).
            wait_until(page, "() => document.getElementById('setup-state').className === 'ok'",
                       timeout_s=ANSWER_TIMEOUT_S)
            assert "sagittal view" in page.text_content("#setup-messages")
            assert page.is_hidden("#error-box")
            page.click("#stop")
        finally:
            browser.close()
    assert "Traceback" not in server.log()
