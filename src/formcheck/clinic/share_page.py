"""The page an athlete opens from a share link: their screening in plain words, on a phone.

Not the clinician's report (that one is the PDF behind the page): what was measured in a
sentence each, what to work on (the analyses' runner cues and the mSEBT findings in words),
and their own trend when the clinician shared the earlier screenings. Everything here comes
from a `ScreeningReport` the service has already cut to what the link shares (no later
screenings, notes only when chosen). Every piece of stored text is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from formcheck import labels
from formcheck.clinic.report_model import ScreeningReport
from formcheck.clinic.scoring import LEGS

STYLE = """
*{box-sizing:border-box}body{font:17px/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#1d2430;background:#fafbfc}
main{max-width:40rem;margin:0 auto}h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:.8rem 1rem;margin:.6rem 0}
.muted{color:#5d6675;font-size:.92em}ul{padding-left:1.2em}li{margin:.3em 0}
a.button{display:inline-block;padding:.6em 1em;border-radius:8px;background:#1e63d6;color:#fff;text-decoration:none}
.trend{display:flex;flex-wrap:wrap;gap:.3em .8em}.trend span{white-space:nowrap}
"""

DIRECTION_WORDS = {"anterior": "forward", "posteromedial": "back and across", "posterolateral": "back and out"}
TEST_WORDS = {"msebt": "balance and reach test (mSEBT)", "lunge": "lunge", "step_up": "step-up"}


def _page(title: str, body: str) -> str:
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'><meta name='robots' content='noindex'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>")


def _results(report: ScreeningReport) -> list[str]:
    """One sentence per result the athlete can take in."""
    lines = []
    if report.sebt is not None:
        for leg in LEGS:
            scores = report.sebt.legs[leg]
            if scores.composite_pct is not None:
                lines.append(f"Standing on your {leg} leg, your reaches averaged {scores.composite_pct:.0f}% "
                             "of your leg length.")
                continue
            for direction, words in DIRECTION_WORDS.items():
                reach = scores.directions[direction].reach_pct_limb
                if reach is not None:
                    lines.append(f"Standing on your {leg} leg, you reached {words} {reach:.0f}% of your leg length.")
        diff = report.sebt.anterior_diff_cm
        if diff is not None:
            lines.append(f"Your forward reach differed by {abs(diff):.1f} cm between your legs.")
    for test in report.tests:
        movement = test.analysis.movement
        reps = sum(1 for r in movement.reps if r.complete) if movement is not None else 0
        if test.kind != "msebt" and reps:
            lines.append(f"We looked at {reps} {TEST_WORDS[test.kind]} repetition{'s' * (reps != 1)}.")
    return lines


def _work_on(report: ScreeningReport) -> list[str]:
    """The runner cues of the analyses' findings and the mSEBT findings in words, each once."""
    seen: dict[str, None] = {}
    for test in report.tests:
        movement = test.analysis.movement
        if movement is None:
            continue
        flags = [*movement.flags, *(f for r in movement.reps for f in r.flags)]
        for text in [*(f.cue for f in flags), *movement.feedback.runner]:
            if text:
                seen.setdefault(text.strip(), None)
    if report.sebt is not None:
        for flag in report.sebt.flags:
            if flag.code.startswith("sebt_anterior_asymmetry"):
                reach = {leg: report.sebt.legs[leg].directions["anterior"].reach_cm or 0.0 for leg in LEGS}
                shorter = min(reach, key=reach.__getitem__)
                text = (f"Balance on one leg: standing on your {shorter} leg, your forward reach is shorter than "
                        f"on the other; work on your {shorter} leg.")
            elif flag.code.startswith("sebt_composite") and flag.leg:
                text = (f"Balance on your {flag.leg} leg: your reaches are shorter than the cut-off linked "
                        "to a higher injury risk in studies; balance and strength work on that leg help.")
            else:
                text = f"Balance and reach: {flag.label}."
            seen.setdefault(text, None)  # several cut-offs of one finding: one line
    return list(seen)


def _trend(report: ScreeningReport) -> list[str]:
    items = []
    for h in report.history:
        points = [p for p in h.points if p.value is not None]
        if len(points) < 2:
            continue
        unit = labels.unit_text(h.unit, labels.ATHLETE_SENTENCE_UNITS) or h.unit   # a ratio is named
        steps = "".join(f"<span>{p.date:%d %b %Y}: <b>{p.value:.0f}</b></span>" for p in points)
        items.append(f"<div class='card'><div>{escape(h.label)} ({escape(unit)})</div>"
                     f"<div class='trend'>{steps}</div></div>")
    return items


def render_share_page(report: ScreeningReport, pdf_url: str) -> str:
    """The athlete's page: results, what to work on, their trend (if shared), notes (if shared), the PDF."""
    date = f"{report.screening.date:%d %B %Y}"
    who = f" with {escape(report.clinician_name)}" if report.clinician_name else ""
    body = [f"<h1>Your screening, {escape(date)}</h1>",
            f"<p class='muted'>{escape(report.athlete.name)} · screened{who}</p>"]
    results = _results(report)
    body.append("<h2>What we measured</h2>")
    body.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in results) + "</ul>" if results
                else "<p>Your results are not ready yet; open this link again later.</p>")
    work = _work_on(report)
    body.append("<h2>What to work on</h2>")
    body.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in work) + "</ul>" if work
                else "<p>Nothing stood out in this screening. Keep doing what you do.</p>")
    trend = _trend(report)
    if trend:
        body.append("<h2>Your trend</h2><p class='muted'>Your results at each screening up to this one.</p>")
        body += trend
    notes = [n for n in (report.athlete.injury_notes, report.screening.notes) if n]
    if notes:
        body.append("<h2>Notes from your clinician</h2>")
        body += [f"<div class='card'>{escape(n)}</div>" for n in notes]
    body.append(f"<p><a class='button' href='{escape(pdf_url)}'>The full report (PDF)</a></p>"
                "<p class='muted'>Questions about these results? Ask your clinician. This link is private: "
                "please do not forward it.</p>")
    return _page(f"Your screening, {date}", "".join(body))


def render_share_error(message: str, hint: str) -> str:
    """A friendly page for a link that is unknown, expired or withdrawn (instead of raw JSON)."""
    return _page("This link does not work", "<h1>This link does not work</h1>"
                 f"<div class='card'><p>{escape(message)}</p><p class='muted'>{escape(hint)}</p></div>")
