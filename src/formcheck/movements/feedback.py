"""Feedback text: runner cues and clinician numbers, per rep and per clip; a plain-text table."""

from __future__ import annotations

from collections import Counter

from formcheck import labels
from formcheck.movements.exercises import registry
from formcheck.movements.report import MovementReport, Rep
from formcheck.movements.rules import fmt

VIEW_TEXT = {"sagittal": "side view", "frontal": "front/back view", "oblique": "angled (oblique) view",
             "unknown": "unknown view"}

CLIN_KEYS = [
    ("peak_hip_flexion_deg", "hip flex", "°"), ("peak_knee_flexion_deg", "knee flex", "°"),
    ("hip_knee_ratio", "hip/knee", ""), ("ankle_dorsiflexion_bottom_deg", "DF@bottom", "°"),
    ("peak_trunk_lean_deg", "trunk lean", "°"), ("peak_knee_fppa_deg", "FPPA", "°"),
    ("peak_contralateral_pelvic_drop_deg", "contralat. pelvic drop", "°"),
    ("reach_pct_leg", "reach", "% LL"), ("hip_flexion_at_reach_deg", "hip@reach", "°"),
    ("knee_flexion_at_reach_deg", "knee@reach", "°"), ("ankle_dorsiflexion_at_reach_deg", "DF@reach", "°"),
    ("hip_rise_pct_leg", "hip rise", "% LL"), ("knee_drive_hip_flexion_deg", "knee-drive hip flex", "°"),
    ("descent_s", "down", " s"), ("ascent_s", "up", " s"), ("up_s", "up", " s"), ("down_s", "down", " s"),
]
# One printed precision per unit (as rules.fmt for the flags): degrees and percentages to 0.1,
# ratios and seconds to 0.01.
DECIMALS = {"°": 1, "% LL": 1, "": 2, " s": 2}


def count(n: int, noun: str) -> str:
    """E.g. "1 rep", "2 reps"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def number(value, unit: str) -> str:
    """A metric as printed everywhere: "-" when missing, yes/no, or `DECIMALS[unit]` decimals."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:.{DECIMALS[unit]}f}"
    return str(value)


def not_known_text() -> str:
    """What an "unknown" exercise is, with the known ones named as people read them."""
    return "Not one of the known exercises (" + ", ".join(sorted(spec.label for spec in registry().values())) + ")"


def rep_name(report: MovementReport) -> str:
    return "trial" if report.exercise.startswith("sebt") else "rep"


def rep_feedback(rep: Rep, noun: str = "rep") -> tuple[list[str], list[str]]:
    head = f"{noun.capitalize()} {rep.index} ({rep.side}{', ' + rep.direction if rep.direction else ''})"
    cues = list(dict.fromkeys(f.cue for f in rep.flags))
    partial = "" if rep.complete else f"partial ({rep.partial_reason or 'not a full rep'})"
    # a partial rep is not checked: never "looks good"
    runner = [f"{head}: {c}" for c in cues] or [f"{head}: {partial + ', not checked' if partial else 'looks good'}."]
    nums = [f"{label} {number(rep.metrics[k], unit)}{unit}" for k, label, unit in CLIN_KEYS
            if isinstance(rep.metrics.get(k), (int, float)) and not isinstance(rep.metrics.get(k), bool)]
    clinician = [f"{head} {rep.start_s:.2f}-{rep.end_s:.2f} s{', ' + partial if partial else ''}: "
                 + (", ".join(nums) or "no supported measures")]
    clinician += [f"  - {f.detail}" for f in rep.flags]
    return runner, clinician


def grouped_advice(report: MovementReport) -> list[str]:
    """One sentence per camera position: "Hip flexion and ankle dorsiflexion need a side view: ..."."""
    groups: dict[str, list[str]] = {}
    for u in report.unsupported_measures:
        if " needs " in u.advice:
            what, rest = u.advice.split(" needs ", 1)
            groups.setdefault(rest, []).append(what)
        else:
            groups.setdefault(u.advice, [])
    out = []
    for rest, whats in groups.items():
        if not whats:
            out.append(rest)
            continue
        whats = [whats[0]] + [w[0].lower() + w[1:] for w in whats[1:]]
        subject = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
        out.append(f"{subject} {'needs' if len(whats) == 1 else 'need'} {rest}")
    return out


def clip_feedback(report: MovementReport) -> tuple[list[str], list[str]]:
    noun = rep_name(report)
    sides = Counter(r.side for r in report.reps if r.complete and r.side != "both")
    side_txt = ", ".join(f"{n} {s}" for s, n in sorted(sides.items()))
    filmed = f"filmed from the {VIEW_TEXT.get(report.view, report.view)}."
    if report.exercise == "unknown":   # no confidence: it would be the recogniser's, in "none of them"
        head = f"{not_known_text()}, {filmed}"
        return [head, *report.notes], [head, *report.notes]
    head = (f"{report.exercise_label or report.exercise}: {count(report.rep_count, noun)}"
            + (f" ({side_txt})" if side_txt else "")
            + (f", plus {report.partial_rep_count} partial" if report.partial_rep_count else "")
            + f", {filmed}")
    runner, clinician = [head], [head + f" Recognition confidence {report.exercise_confidence:.2f}"
                                 f" ({report.exercise_source}); view confidence {report.view_confidence:.2f}."]
    flags = report.all_flags()
    counts = Counter(f.cue for f in flags)
    if not flags and report.reps:
        runner.append("Nice work: no compensation pattern crossed a threshold.")
    for cue, n in counts.most_common(4):
        runner.append(f"{cue} (seen {n}x)" if n > 1 else cue)
    runner.extend(grouped_advice(report))
    by_code = Counter(f.code for f in flags)
    for code, n in by_code.items():
        f = next(x for x in flags if x.code == code)
        tag = "coaching default" if f.evidence == "coaching default" else f.source
        clinician.append(f"{f.label}: {count(n, 'flag')}; threshold {fmt(f.threshold, f.unit)} "
                         f"({'>' if f.direction == 'above' else '<'}), basis: {tag}.")
    for f in report.flags:
        clinician.append(f"  - {f.detail}")
    for a in report.asymmetry:
        clinician.append(f"Asymmetry in {labels.metric_label(a.metric).lower()}: L {a.left} / R {a.right} "
                         f"{labels.unit_text(a.unit)} "
                         f"(diff {a.abs_diff}, {a.pct_diff}%).")
    for k, v in report.summary.items():
        if v is not None and ("composite" in k or "best_reach" in k or "diff_cm" in k):
            clinician.append(f"{labels.metric_label(k)}: {labels.metric_text(k, v)}")
    for u in report.unsupported_measures:
        clinician.append(f"Not measured - {labels.measure_label(u.measure).lower()}: {u.reason}. {u.advice}")
    clinician.extend(report.notes)
    if report.thresholds_overridden:
        clinician.append("Thresholds overridden by the user: " + ", ".join(report.thresholds_overridden))
    return runner, clinician


def fill_feedback(report: MovementReport) -> MovementReport:
    noun = rep_name(report)
    for rep in report.reps:
        rep.feedback.runner, rep.feedback.clinician = rep_feedback(rep, noun)
    report.feedback.runner, report.feedback.clinician = clip_feedback(report)
    return report


def render_table(report: MovementReport) -> str:
    """Plain-text table of reps for the CLI (angles in degrees)."""
    view = VIEW_TEXT.get(report.view, report.view)
    if report.exercise == "unknown":
        return f"{not_known_text()}; {view}."
    sebt = report.exercise.startswith("sebt")
    if sebt:
        cols = [("reach_pct_leg", "reach%LL", "% LL"), ("hip_flexion_at_reach_deg", "hip", "°"),
                ("knee_flexion_at_reach_deg", "knee", "°"), ("hip_knee_ratio", "h/k", ""),
                ("ankle_dorsiflexion_at_reach_deg", "DF", "°"), ("trunk_lean_at_reach_deg", "trunk", "°"),
                ("peak_knee_fppa_deg", "FPPA", "°"), ("valid", "valid", "")]
    else:
        cols = [("peak_hip_flexion_deg", "hip", "°"), ("peak_knee_flexion_deg", "knee", "°"),
                ("hip_knee_ratio", "h/k", ""), ("ankle_dorsiflexion_bottom_deg", "DF", "°"),
                ("peak_trunk_lean_deg", "trunk", "°"), ("peak_knee_fppa_deg", "FPPA", "°"),
                ("peak_contralateral_pelvic_drop_deg", "drop", "°"),
                ("up_s" if report.exercise.startswith("step_up") else "descent_s", "down/up s", " s"),
                ("down_s" if report.exercise.startswith("step_up") else "ascent_s", "up/down s", " s")]
    header = ["#", "side", "dir" if sebt else "full", "start", "bottom", "end"] + [c[1] for c in cols] + ["flags"]
    rows = []
    for r in report.reps:
        rows.append([str(r.index), r.side, (r.direction or "-") if sebt else ("yes" if r.complete else "partial"),
                     f"{r.start_s:.2f}", f"{r.bottom_s:.2f}", f"{r.end_s:.2f}"]
                    + [number(r.metrics.get(k), unit) for k, _, unit in cols]
                    + [",".join(f.code for f in r.flags) or "-"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    how = f"recognised, confidence {report.exercise_confidence:.2f}" if report.exercise_source == "auto" else "chosen"
    out = [f"{report.exercise_label or report.exercise} ({how}; {view})", line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows] or [f"(no {rep_name(report)}s found)"]
    if report.flags:
        out.append("")
        out += [f"clip flag: {f.label} = {fmt(f.value, f.unit)} (threshold {fmt(f.threshold, f.unit)}; {f.evidence})"
                for f in report.flags]
    if report.unsupported_measures:
        out.append("")
        out += [f"not measured: {u.measure} - {u.advice}" for u in report.unsupported_measures]
    return "\n".join(out)
