"""Feedback text: runner cues and clinician numbers, per rep and per clip; a plain-text table."""

from __future__ import annotations

from collections import Counter

from formcheck.movements.report import MovementReport, Rep

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


def rep_name(report: MovementReport) -> str:
    return "trial" if report.exercise.startswith("sebt") else "rep"


def rep_feedback(rep: Rep, noun: str = "rep") -> tuple[list[str], list[str]]:
    head = f"{noun.capitalize()} {rep.index} ({rep.side}{', ' + rep.direction if rep.direction else ''})"
    cues = list(dict.fromkeys(f.cue for f in rep.flags))
    runner = [f"{head}: {c}" for c in cues] or [f"{head}: looks good."]
    nums = [f"{label} {rep.metrics[k]}{unit}" for k, label, unit in CLIN_KEYS
            if isinstance(rep.metrics.get(k), (int, float)) and not isinstance(rep.metrics.get(k), bool)]
    clinician = [f"{head} {rep.start_s:.2f}-{rep.end_s:.2f} s: " + (", ".join(nums) or "no supported measures")]
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
    head = (f"{report.exercise_label or report.exercise}: {report.rep_count} {noun}s"
            + (f" ({side_txt})" if side_txt else "")
            + (f", plus {report.partial_rep_count} partial" if report.partial_rep_count else "")
            + f", filmed from the {VIEW_TEXT.get(report.view, report.view)}.")
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
        clinician.append(f"{f.label}: {n} flag(s); threshold {f.threshold} {f.unit} "
                         f"({'>' if f.direction == 'above' else '<'}), basis: {tag}.")
    for f in report.flags:
        clinician.append(f"  - {f.detail}")
    for a in report.asymmetry:
        clinician.append(f"Asymmetry {a.metric}: L {a.left} / R {a.right} {a.unit} "
                         f"(diff {a.abs_diff}, {a.pct_diff}%).")
    for k, v in report.summary.items():
        if v is not None and ("composite" in k or "best_reach" in k or "diff_cm" in k):
            clinician.append(f"{k}: {v}")
    for u in report.unsupported_measures:
        clinician.append(f"Not measured - {u.measure}: {u.reason}. {u.advice}")
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


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"
    return str(v)


def render_table(report: MovementReport) -> str:
    """Plain-text table of reps for the CLI."""
    sebt = report.exercise.startswith("sebt")
    if sebt:
        cols = [("reach_pct_leg", "reach%LL"), ("hip_flexion_at_reach_deg", "hip"),
                ("knee_flexion_at_reach_deg", "knee"), ("hip_knee_ratio", "h/k"),
                ("ankle_dorsiflexion_at_reach_deg", "DF"), ("trunk_lean_at_reach_deg", "trunk"),
                ("peak_knee_fppa_deg", "FPPA"), ("valid", "valid")]
    else:
        cols = [("peak_hip_flexion_deg", "hip"), ("peak_knee_flexion_deg", "knee"), ("hip_knee_ratio", "h/k"),
                ("ankle_dorsiflexion_bottom_deg", "DF"), ("peak_trunk_lean_deg", "trunk"),
                ("peak_knee_fppa_deg", "FPPA"), ("peak_contralateral_pelvic_drop_deg", "drop"),
                ("up_s" if report.exercise.startswith("step_up") else "descent_s", "down/up s"),
                ("down_s" if report.exercise.startswith("step_up") else "ascent_s", "up/down s")]
    header = ["#", "side", "dir" if sebt else "full", "start", "bottom", "end"] + [c[1] for c in cols] + ["flags"]
    rows = []
    for r in report.reps:
        rows.append([str(r.index), r.side, (r.direction or "-") if sebt else ("yes" if r.complete else "partial"),
                     f"{r.start_s:.2f}", f"{r.bottom_s:.2f}", f"{r.end_s:.2f}"]
                    + [_cell(r.metrics.get(k)) for k, _ in cols]
                    + [",".join(f.code for f in r.flags) or "-"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [f"{report.exercise_label or report.exercise}  (confidence {report.exercise_confidence:.2f}, "
           f"{VIEW_TEXT.get(report.view, report.view)})", line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows] or ["(no reps found)"]
    if report.flags:
        out.append("")
        out += [f"clip flag: {f.label} = {f.value:g} {f.unit} (threshold {f.threshold:g}; {f.evidence})"
                for f in report.flags]
    if report.unsupported_measures:
        out.append("")
        out += [f"not measured: {u.measure} - {u.advice}" for u in report.unsupported_measures]
    return "\n".join(out)
