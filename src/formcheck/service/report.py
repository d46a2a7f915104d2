"""A self-contained HTML report of one analysis, written for people: summary, the reps' key numbers
(the rest under "All measurements"), one card per finding with its reps, plots, downloads.

Words and units come from formcheck.labels (as on the results page); no analysis key, "None" or
"NaN" reaches the page. Printing leaves out the video and fits the tables to an A4 page.
"""

from __future__ import annotations

from html import escape

from formcheck import labels
from formcheck.movements import exercises as ex_registry
from formcheck.movements.report import Flag, MovementReport, Rep
from formcheck.schema import Analysis
from formcheck.service.store import Job

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1d2430}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}.muted{color:#667}
.scroll{overflow-x:auto}video,img{max-width:100%}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}
.finding{border-left:4px solid #b42318;background:#f4f6f9;padding:.6em .9em;margin:.6em 0;border-radius:4px;
  break-inside:avoid}
.finding .cue{font-weight:600}
@media print{
  @page{size:A4;margin:14mm}
  body{margin:0;max-width:none;font-size:10.5pt}
  .screen-only,video{display:none}
  .scroll{overflow:visible}
  table{font-size:9pt;table-layout:fixed;width:100%}th,td{padding:.2em .3em;overflow-wrap:anywhere}
  details>summary{display:none}
  figure{break-inside:avoid;margin:.5em 0}
  a{color:inherit;text-decoration:none}
}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _where(flag: Flag) -> str:
    return "whole clip" if flag.rep_index is None else f"rep {flag.rep_index}"


def findings(movement: MovementReport) -> list[list[Flag]]:
    """The flags grouped into one finding per kind (flag code), in order of first appearance."""
    groups: dict[str, list[Flag]] = {}
    for flag in movement.all_flags():
        groups.setdefault(flag.code, []).append(flag)
    return list(groups.values())


def _finding_card(group: list[Flag]) -> str:
    first = group[0]
    reps = ", ".join(f"{_where(f)}{f' ({f.side})' if f.side and f.side != 'both' else ''}: "
                     f"{labels.flag_value_text(f.value, f.unit)}" for f in group)
    sign = "above" if first.direction == "above" else "below"
    details = "".join(f"<li>{_e(f.detail)}</li>" for f in group if f.detail)
    return (
        f"<div class='finding'><div><strong>{_e(first.label)}</strong> "
        f"<span class='muted'>({len(group)} {'time' if len(group) == 1 else 'times'})</span></div>"
        f"<div class='cue'>{_e(first.cue)}</div>"
        f"<div>{_e(reps)}; flagged {sign} {_e(labels.flag_value_text(first.threshold, first.unit))}.</div>"
        + (f"<details><summary>For a clinician</summary><ul>{details}</ul></details>" if details else "")
        + f"<div class='muted'>{_e(labels.evidence_text(first.evidence, first.source, first.population))}</div></div>"
    )


def _reps_tables(movement: MovementReport) -> str:
    reps = movement.reps
    present = [k for k in sorted({k for r in reps for k in r.metrics})
               if any(r.metrics.get(k) is not None for r in reps)]
    spec = ex_registry.registry().get(movement.exercise)
    key = [k for k in labels.key_metrics(spec.family if spec else None) if k in present] or present[:6]
    head = "".join(f"<th>{_e(labels.metric_label(k))}"
                   + (f" ({_e(labels.metric_unit(k))})" if labels.metric_unit(k) else "") + "</th>" for k in key)

    def result(rep: Rep) -> str:
        return "complete" if rep.complete else f"partial: {rep.partial_reason}" if rep.partial_reason else "partial"

    rows = "".join(
        f"<tr><td>{r.index}</td><td>{_e(labels.value_text(r.side))}</td>"
        f"<td class='num'>{r.start_s:.2f}–{r.end_s:.2f} s</td><td>{_e(result(r))}</td>"
        + "".join(f"<td class='num'>{_e(labels.metric_text(k, r.metrics.get(k), with_unit=False))}</td>"
                  for k in key) + "</tr>"
        for r in reps
    )
    compact = (f"<div class='scroll'><table><tr><th>Rep</th><th>Leg</th><th>Time</th><th>Result</th>{head}</tr>"
               f"{rows}</table></div>")
    rest = [k for k in present if k not in key]
    if not rest:
        return compact
    detail_rows = "".join(
        f"<tr><th>{_e(labels.metric_label(k))}</th>"
        + "".join(f"<td class='num'>{_e(labels.metric_text(k, r.metrics.get(k)))}</td>" for r in reps) + "</tr>"
        for k in rest
    )
    return compact + (
        "<details><summary>All measurements</summary><div class='scroll'><table><tr><th>Measure</th>"
        + "".join(f"<th>Rep {r.index}</th>" for r in reps) + f"</tr>{detail_rows}</table></div></details>"
    )


def render_report(job: Job, analysis: Analysis, base: str) -> str:
    m = analysis.movement
    inp, q = analysis.input, analysis.quality
    name = _e(job.file_name or inp.file_name)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>formcheck report: {name}</title><style>{STYLE}</style></head><body>",
        f"<h1>formcheck report: {name}</h1>",
        "<h2>Summary</h2><dl>",
    ]
    if m:
        how = ("chosen" if m.exercise_source == "user" else
               f"recognised, confidence {m.exercise_confidence:.2f}" if m.exercise_confidence is not None
               else "not recognised")
        parts += [
            f"<dt>Exercise</dt><dd>{_e(m.exercise_label or 'none of the known exercises')} ({_e(how)})</dd>",
            f"<dt>Camera view</dt><dd>{_e(labels.view_label(m.view))} (confidence {m.view_confidence:.2f})</dd>",
            f"<dt>Reps</dt><dd>{m.rep_count} complete"
            + (f", {m.partial_rep_count} partial" if m.partial_rep_count else "") + "</dd>",
        ]
    parts += [
        f"<dt>Clip</dt><dd>{inp.width}×{inp.height}, {inp.fps:.1f} fps, {inp.duration_s:.1f} s, "
        f"{inp.frames} frames</dd>",
        f"<dt>Person found</dt><dd>{q.pose_fraction:.0%} of frames</dd>",
        f"<dt>Model</dt><dd>{_e(analysis.model.name)}</dd>",
        f"<dt>formcheck</dt><dd>{_e(analysis.formcheck_version)}, {analysis.created_at:%Y-%m-%d %H:%M} UTC</dd>",
    ]
    if q.manual_leg_swaps_s:
        parts.append("<dt>Corrected</dt><dd>legs swapped by hand from "
                     + ", ".join(f"{t:.2f} s" for t in q.manual_leg_swaps_s) + "</dd>")
    parts.append("</dl>")
    if q.warnings:
        parts.append("<ul>" + "".join(f"<li>{_e(w)}</li>" for w in q.warnings) + "</ul>")
    if m and (m.feedback.runner or m.feedback.clinician):
        parts.append("<h2>Feedback</h2>")
        if m.feedback.runner:
            parts.append("<h3>For the runner</h3><ul>" + "".join(f"<li>{_e(x)}</li>" for x in m.feedback.runner)
                         + "</ul>")
        if m.feedback.clinician:
            parts.append("<h3>For the clinician</h3><ul>" + "".join(f"<li>{_e(x)}</li>" for x in m.feedback.clinician)
                         + "</ul>")
    parts.append(f"<div class='screen-only'><h2>Annotated video</h2>"
                 f"<video controls preload='metadata' src='{_e(base)}/video'></video></div>")
    if m and m.reps:
        parts.append("<h2>Reps</h2>" + _reps_tables(m))
    groups = findings(m) if m else []
    parts.append("<h2>Findings</h2>" + ("".join(_finding_card(g) for g in groups) if groups
                                         else "<p>No compensation flagged.</p>"))
    if m and m.unsupported_measures:
        parts.append("<h2>Not measured from this view</h2><ul>" + "".join(
            f"<li><b>{_e(labels.measure_label(u.measure))}</b>: {_e(u.reason)} {_e(u.advice)}</li>"
            for u in m.unsupported_measures) + "</ul>")
    plots = [(role.removeprefix("plot_"), file) for role, file in analysis.files.items() if role.startswith("plot_")]
    if plots:
        parts.append("<h2>Angles</h2>" + "".join(
            f"<figure><img src='{_e(base)}/plots/{_e(file)}' alt='{_e(labels.PLANES.get(role, role))}'>"
            f"<figcaption>{_e(labels.PLANES.get(role, labels.metric_label(role)))}</figcaption></figure>"
            for role, file in plots))
    withheld = analysis.withheld_measures
    parts.append("<h2>Angle summary</h2><table><tr><th>Angle</th><th>Measured in</th><th>Lowest</th><th>Typical</th>"
                 "<th>Highest</th></tr>")
    parts += [
        f"<tr><td>{_e(labels.angle_label(a.name))}</td><td colspan='4' class='muted'>not measured: "
        f"{_e(withheld[a.name])}</td></tr>" if a.name in withheld else
        f"<tr><td>{_e(labels.angle_label(a.name))}</td><td class='num'>{a.valid_fraction:.0%} of frames</td>"
        + "".join(f"<td class='num'>{_e(labels.value_text(v, '°'))}</td>" for v in (a.min, a.median, a.max)) + "</tr>"
        for a in analysis.angles
    ]
    links = [("angles.csv", "Angles (CSV)"), ("angles.mot", "Angles for OpenSim (.mot)"),
             ("landmarks.npz", "Landmarks (.npz)"), ("analysis.json", "Analysis (JSON)"), ("video", "Annotated video")]
    parts.append("</table><p class='muted screen-only'>Downloads: " + " · ".join(
        f"<a href='{_e(base)}/{path}' download>{label}</a>" for path, label in links) + "</p></body></html>")
    return "".join(parts)
