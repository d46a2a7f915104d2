"""The browser tests' shared fixtures: per module, a real server (uvicorn, one lite analysis process)
and a headless chromium. A module that needs another server (an account made first, other settings)
defines its own `server`."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import launch_chromium, require_browser, run_server


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    require_browser()
    with run_server(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]), workers=1,
                    model="lite") as running:
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
