"""What a person sees on the upload, results and live pages, the API docs and the single-clip
report, in real headless Chromium (issue #17).

One uvicorn process (lite model) analyses the bundled synthetic lunge once for the module. Checks:
no horizontal scroll on a phone (390x844) or a laptop (1280x800), the live page's rep count and
cues on screen without scrolling; /docs and /redoc render with no request leaving loopback; no
raw key or placeholder ("knee_fppa", "null", "None", "NaN") on the rendered results page or the
report; the report prints without the video and with its tables inside an A4 page; "your
analyses", the page for an unknown analysis and a download for every output.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from web_support import open_results, placeholders, upload, wait_done, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LUNGE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"
SIZES = ((390, 844), (1280, 800))
A4_PRINTABLE_PX = 688  # 210 mm less 2 x 14 mm margins, at 96 px per inch
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def lunge(server) -> dict:
    return wait_done(server, upload(server, LUNGE))


def page_at(browser, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def horizontal_overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_pages_fit_the_screen_without_sideways_scrolling(server, browser, lunge, width, height):
    page, errors = page_at(browser, width, height)
    page.goto(f"{server.url}/")
    wait_until(page, "() => document.getElementById('exercise').options.length > 1")
    assert horizontal_overflow(page) <= 0, "upload page"
    open_results(page, server, lunge["id"])
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    assert horizontal_overflow(page) <= 0, "results page"
    page.goto(f"{server.url}/#{UNKNOWN_ID}")
    wait_until(page, "() => !document.getElementById('missing-view').hidden")
    assert horizontal_overflow(page) <= 0, "unknown analysis page"
    page.goto(f"{server.url}/live")
    wait_until(page, "() => document.querySelectorAll('#exercise option').length > 0")
    assert horizontal_overflow(page) <= 0, "live page"
    # the numbers a person glances at while moving: on screen without scrolling
    for element in ("rep-count", "cues"):
        box = page.evaluate(f"() => document.getElementById('{element}').getBoundingClientRect().toJSON()")
        assert box["height"] > 0 and box["bottom"] <= height and box["right"] <= width, (element, box)
    assert not errors
    page.close()


def test_api_docs_render_offline(server, browser):
    context = browser.new_context()
    requested: list[str] = []

    def only_loopback(route):
        requested.append(route.request.url)
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{server.url}/")
    assert page.get_attribute("footer a[href='/docs']", "href") == "/docs"
    page.click("footer a[href='/docs']")
    wait_until(page, "() => document.querySelectorAll('.swagger-ui .opblock').length > 10", timeout_s=60)
    assert "/api/v1/analyses/{job_id}/swap-legs" in page.inner_text(".swagger-ui")
    page.goto(f"{server.url}/redoc")
    wait_until(page, "() => document.body.innerText.includes('/api/v1/analyses/{job_id}/swap-legs')", timeout_s=60)
    outside = [url for url in requested if urllib.parse.urlsplit(url).hostname != "127.0.0.1"]
    assert not outside, f"requests left the machine: {outside}"
    context.close()


def test_results_page_and_report_show_no_raw_keys_or_placeholders(server, browser, lunge):
    page, errors = page_at(browser, 1280, 800)
    open_results(page, server, lunge["id"])
    page.evaluate("() => document.querySelectorAll('#result-view details').forEach((d) => { d.open = true; })")
    text = page.inner_text("#result-view")
    name = lunge["file_name"]
    assert "All measurements" in text and "Knee bend (deepest)" in text
    assert not placeholders(text, (name,)), placeholders(text, (name,))
    page.goto(f"{server.url}{lunge['links']['report']}")
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    report = page.inner_text("body")
    assert "Findings" in report and "Knee bend (deepest)" in report
    assert not placeholders(report, (name,)), placeholders(report, (name,))
    assert not errors
    page.close()


def test_rep_table_is_compact_and_findings_are_one_card_each(server, browser, lunge):
    page, _ = page_at(browser, 1280, 800)
    open_results(page, server, lunge["id"])
    movement = lunge["analysis"]["movement"]
    metric_columns = page.evaluate("() => document.querySelectorAll('#reps tr:first-child th').length") - 8
    assert 1 <= metric_columns <= 8
    codes = {f["code"] for f in [*(f for r in movement["reps"] for f in r["flags"]), *movement["flags"]]}
    assert page.locator("#flags .flag").count() == len(codes)
    page.close()


def test_report_prints_without_the_video_and_its_tables_fit_a4(server, browser, lunge):
    page = browser.new_page(viewport={"width": A4_PRINTABLE_PX, "height": 1000})
    page.emulate_media(media="print")
    page.goto(f"{server.url}{lunge['links']['report']}")
    assert page.evaluate("() => getComputedStyle(document.querySelector('video')).display") == "none"
    widths = page.evaluate("() => [...document.querySelectorAll('table')].map((t) => t.scrollWidth)")
    assert widths and max(widths) <= A4_PRINTABLE_PX, widths
    # the results page prints the same way: no video box, no review tools
    open_results(page, server, lunge["id"])
    page.emulate_media(media="print")
    assert page.evaluate("() => document.getElementById('video').getBoundingClientRect().height") == 0
    assert page.evaluate("() => document.getElementById('reps').scrollWidth") <= A4_PRINTABLE_PX
    page.close()


def test_your_analyses_list_and_the_page_for_an_unknown_analysis(server, browser, lunge):
    page, errors = page_at(browser, 390, 844)
    open_results(page, server, lunge["id"])
    page.goto(f"{server.url}/")
    wait_until(page, "() => !document.getElementById('history').hidden")
    link = page.locator(f"#history-list a[href='#{lunge['id']}']")
    assert link.inner_text() == lunge["file_name"]
    # an entry whose analysis is gone (deleted elsewhere): its link says so, and the list forgets it
    page.evaluate("""id => { const list = JSON.parse(localStorage.getItem('formcheck.analyses'));
        list.unshift({ id, file_name: 'deleted.mp4' });
        localStorage.setItem('formcheck.analyses', JSON.stringify(list)); }""", UNKNOWN_ID)
    page.reload()
    page.click(f"#history-list a[href='#{UNKNOWN_ID}']")
    wait_until(page, "() => !document.getElementById('missing-view').hidden")
    assert "deleted" in page.inner_text("#missing-view")
    assert page.is_hidden("#result-view") and page.is_hidden("#upload-view")
    page.click("#missing-new")
    wait_until(page, "() => !document.getElementById('upload-view').hidden")
    assert page.locator(f"#history-list a[href='#{UNKNOWN_ID}']").count() == 0
    link.click()
    wait_until(page, "() => !document.getElementById('result-view').hidden")
    assert not errors
    page.close()


def test_every_output_can_be_downloaded(server, browser, lunge):
    page, _ = page_at(browser, 1280, 800)
    open_results(page, server, lunge["id"])
    links = page.evaluate("() => [...document.querySelectorAll('#download-list a')].map((a) => a.getAttribute('href'))")
    page.close()
    bodies = {}
    for href in links:
        with urllib.request.urlopen(server.url + href, timeout=30) as response:
            assert response.status == 200, href
            bodies[href.rsplit("/", 1)[-1]] = response.read()
    assert set(bodies) == {"report", "angles.csv", "angles.mot", "landmarks.npz", "analysis.json", "video"}
    assert bodies["angles.csv"].startswith(b"time_s,")
    assert b"endheader" in bodies["angles.mot"]
    assert "image_xy.npy" in zipfile.ZipFile(io.BytesIO(bodies["landmarks.npz"])).namelist()
    assert json.loads(bodies["analysis.json"])["movement"]["rep_count"] == lunge["analysis"]["movement"]["rep_count"]
    assert bodies["video"][4:8] == b"ftyp"
