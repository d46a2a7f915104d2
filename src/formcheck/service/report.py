"""A self-contained HTML report of one analysis: summary, reps, flags (value, threshold, source, cue), plots, video."""

from __future__ import annotations

from html import escape

from formcheck.movements.report import Flag
from formcheck.schema import Analysis
from formcheck.service.store import Job

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1d2430}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f8}.muted{color:#667}.flag{color:#a33}video,img{max-width:100%}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}
"""


def _num(value: object, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _flag_rows(flags: list[Flag]) -> str:
    rows = []
    for f in flags:
        where = "whole clip" if f.rep_index is None else f"rep {f.rep_index}"
        if f.side:
            where += f" ({f.side})"
        comparison = ">" if f.direction == "above" else "<"
        rows.append(
            f"<tr><td>{escape(f.label)}</td><td>{escape(where)}</td>"
            f"<td class='flag'>{f.value:.1f} {escape(f.unit)}</td><td>{comparison} {f.threshold:.1f} {escape(f.unit)}</td>"
            f"<td>{escape(f.evidence)}: {escape(f.source)}"
            + (f"<br><span class='muted'>{escape(f.population)}</span>" if f.population else "")
            + f"</td><td>{escape(f.cue)}" + (f"<br><span class='muted'>{escape(f.detail)}</span>" if f.detail else "")
            + "</td></tr>"
        )
    return (
        "<table><tr><th>Flag</th><th>Where</th><th>Value</th><th>Threshold</th><th>Source</th><th>Cue</th></tr>"
        + "".join(rows) + "</table>"
    )


def render_report(job: Job, analysis: Analysis, base: str) -> str:
    m = analysis.movement
    inp, q = analysis.input, analysis.quality
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>formcheck report: {escape(job.file_name or inp.file_name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>formcheck report: {escape(job.file_name or inp.file_name)}</h1>",
        "<h2>Summary</h2><dl>",
    ]
    if m:
        parts += [
            f"<dt>Exercise</dt><dd>{escape(m.exercise_label or m.exercise)} ({escape(m.exercise_source)}"
            + (f", confidence {m.exercise_confidence:.2f}" if m.exercise_confidence is not None else "") + ")</dd>",
            f"<dt>Camera view</dt><dd>{escape(m.view)} (confidence {m.view_confidence:.2f})</dd>",
            f"<dt>Reps</dt><dd>{m.rep_count} complete, {m.partial_rep_count} partial</dd>",
        ]
    parts += [
        f"<dt>Clip</dt><dd>{inp.width}×{inp.height}, {inp.fps:.1f} fps, {inp.duration_s:.1f} s, {inp.frames} frames</dd>",
        f"<dt>Person found</dt><dd>{q.pose_fraction:.0%} of frames</dd>",
        f"<dt>Model</dt><dd>{escape(analysis.model.name)} ({escape(analysis.model.file)})</dd>",
        f"<dt>formcheck</dt><dd>{escape(analysis.formcheck_version)}, {analysis.created_at:%Y-%m-%d %H:%M} UTC</dd>",
        "</dl>",
    ]
    if q.warnings:
        parts.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in q.warnings) + "</ul>")
    if m and (m.feedback.runner or m.feedback.clinician):
        parts.append("<h2>Feedback</h2>")
        if m.feedback.runner:
            parts.append("<h3>For the runner</h3><ul>" + "".join(f"<li>{escape(x)}</li>" for x in m.feedback.runner) + "</ul>")
        if m.feedback.clinician:
            parts.append("<h3>For the clinician</h3><ul>" + "".join(f"<li>{escape(x)}</li>" for x in m.feedback.clinician) + "</ul>")
    parts.append(f"<h2>Annotated video</h2><video controls preload='metadata' src='{escape(base)}/video'></video>")
    if m and m.reps:
        keys = sorted({k for r in m.reps for k in r.metrics})
        head = "".join(f"<th>{escape(k)}</th>" for k in keys)
        rows = "".join(
            f"<tr><td>{r.index}</td><td>{escape(r.side)}</td><td>{r.start_s:.2f}–{r.end_s:.2f} s</td>"
            f"<td>{'yes' if r.complete else escape(f'partial: {r.partial_reason}' if r.partial_reason else 'partial')}</td>"
            f"<td>{len(r.flags)}</td>"
            + "".join(f"<td>{_num(r.metrics.get(k))}</td>" for k in keys) + "</tr>"
            for r in m.reps
        )
        parts.append(
            "<h2>Reps</h2><div style='overflow-x:auto'><table><tr><th>#</th><th>Side</th><th>Time</th><th>Complete</th>"
            f"<th>Flags</th>{head}</tr>{rows}</table></div>"
        )
    flags = m.all_flags() if m else []
    parts.append("<h2>Flags</h2>" + (_flag_rows(flags) if flags else "<p>No compensation flagged.</p>"))
    if m and m.unsupported_measures:
        parts.append("<h2>Not measured from this view</h2><ul>" + "".join(
            f"<li><b>{escape(u.measure)}</b>: {escape(u.reason)} {escape(u.advice)}</li>" for u in m.unsupported_measures
        ) + "</ul>")
    plots = [(role.removeprefix("plot_"), name) for role, name in analysis.files.items() if role.startswith("plot_")]
    if plots:
        parts.append("<h2>Angles</h2>" + "".join(
            f"<figure><img src='{escape(base)}/plots/{escape(name)}' alt='{escape(role)} angles'>"
            f"<figcaption>{escape(role)}</figcaption></figure>" for role, name in plots
        ))
    parts.append("<h2>Angle summary</h2><table><tr><th>Angle</th><th>Valid</th><th>Min</th><th>Median</th><th>Max</th></tr>")
    withheld = analysis.withheld_measures
    parts += [
        f"<tr><td>{escape(a.name)}</td><td colspan='4' class='muted'>not measured: {escape(withheld[a.name])}</td></tr>"
        if a.name in withheld else
        f"<tr><td>{escape(a.name)}</td><td>{a.valid_fraction:.0%}</td><td>{_num(a.min)}</td>"
        f"<td>{_num(a.median)}</td><td>{_num(a.max)}</td></tr>" for a in analysis.angles
    ]
    parts.append(f"</table><p class='muted'><a href='{escape(base)}/angles.csv'>angles.csv</a> · "
                 f"<a href='{escape(base)}'>analysis JSON</a></p></body></html>")
    return "".join(parts)
