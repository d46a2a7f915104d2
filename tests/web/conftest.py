"""The browser tests' shared fixtures: per module, a real server (uvicorn, one lite analysis process)
and a headless chromium. A module that needs another server (an account made first, other settings)
defines its own `server`. The servers share one memo of the model's landmarks per clip for the session
(scripted_analysis.memoised_model_analysis): a clip that several modules upload is run through the
model once."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import launch_chromium, require_browser
from service_support import memo_server


@pytest.fixture(scope="module")
def pose_memo_replay() -> bool:
    """Whether the module's server replays a clip the memo holds; a module that watches the model's own
    progress overrides it with False (the model runs on every upload and only records)."""
    return True


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, pose_memo, pose_memo_replay):
    require_browser()
    with memo_server(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]), pose_memo,
                     replay=pose_memo_replay) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def sebt_clip(tmp_path_factory) -> Path:
    """Three anterior mSEBT reaches, left stance, side view, rendered once for the clinic page tests
    (a render takes ~8 s)."""
    synth_clip = pytest.importorskip("formcheck.synth.clip")
    folder = tmp_path_factory.mktemp("sebt")
    synth_clip.synthesize(synth_clip.SynthConfig(motion="msebt_anterior", side="left", reps=3, view="side",
                                                 width=640, height=360, seed=3), folder)
    return folder / "clip.mp4"
