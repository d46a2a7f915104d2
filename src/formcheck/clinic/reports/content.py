"""The screening report's sections, built once as blocks for both renderers.

Sections: summary (athlete, date, which scale the mSEBT used); mSEBT per stance leg and
direction (every trial, the best valid one, cm and % of limb length, tape next to camera when
both were measured), the star diagram, composite, anterior left/right difference, flags against
the published cut-offs with their populations and the measurement-error note; per-test tables
for the lunge and the step-up with the hip- vs knee-dominant strategy and the clinician's note;
key frames; angle curves; history trends; every flag explained; the references cited.
Numbers and units are printed by `formcheck.labels`, as on the single-clip pages.
"""

from __future__ import annotations

import functools
import math

from formcheck import labels
from formcheck.clinic.history import history_png
from formcheck.clinic.models import describe_test
from formcheck.clinic.report_model import ReportTest, ScreeningReport
from formcheck.clinic.reports.blocks import Block, Heading, KeyValues, Para, Picture, PictureGrid, Table
from formcheck.clinic.reports.key_frames import report_key_frames
from formcheck.clinic.reports.plots import angle_plot_png
from formcheck.clinic.reports.star import star_png
from formcheck.clinic.scoring import DIRECTIONS, LEGS, DirectionScore, ScoredTrial, ScoreFlag, SebtScore
from formcheck.movements.report import Flag, MetricValue, metric_number
from formcheck.movements.thresholds import ThresholdEntry, load_thresholds

SCALE_WORDS = {"marker": "floor marker", "tape": "tape", "leg_length": "leg length", "image_limb": "limb in the video"}
SOURCE_WORDS = {"user": "the test it was filmed for", "auto": "recognised"}


num = labels.number_text   # a number with its unit, '—' when not measured


def unit(code: str) -> str:
    return labels.unit_text(code, labels.CLINIC_UNITS)


def _flag_cells(value: float, threshold: float, direction: str, unit_code: str) -> list[str]:
    """A flag's value and cut-off in the report's words (one decimal, ratios too)."""
    return [labels.flag_value_text(value, unit_code, labels.CLINIC_UNITS, digits=1),
            labels.threshold_text(direction, threshold, unit_code, labels.CLINIC_UNITS)]


def _label(test: ReportTest) -> str:
    return describe_test(test.kind, test.leg, test.direction)


def title(report: ScreeningReport) -> str:
    return f"Screening report: {report.athlete.name}, {report.screening.date.isoformat()}"


# -- strategy -------------------------------------------------------------------------------
@functools.cache
def _knee_dominant() -> ThresholdEntry:
    return load_thresholds()["knee_dominant_ratio"]


def strategy(metrics: dict[str, MetricValue]) -> str:
    """Hip- or knee-dominant from the peak hip-to-knee flexion ratio (cut-off in thresholds.toml)."""
    entry = _knee_dominant()
    ratio = metric_number(metrics.get("hip_knee_ratio"))
    knee = metric_number(metrics.get("peak_knee_flexion_deg"))
    if ratio is None or not math.isfinite(ratio):
        return "not measured"
    min_knee = entry.extra("min_knee_flexion_deg", 0.0)
    if knee is not None and knee < min_knee:
        return f"not assessed (knee < {min_knee:g}°)"
    return "knee-dominant" if entry.exceeded(ratio) else "hip-dominant"


# -- sections -------------------------------------------------------------------------------
def _summary(report: ScreeningReport) -> list[Block]:
    a, s = report.athlete, report.screening
    legs = a.leg_length_cm
    scale = (report.sebt.scale_note or "no reach measured") if report.sebt else "no mSEBT in this screening"
    rows = [
        ("Athlete", a.name),
        ("Birth year", num(a.birth_year, 0)),
        ("Dominant leg", a.dominant_leg or "—"),
        ("Leg length (ASIS to medial malleolus)",
         f"left {num(legs['left'], 1, 'cm')}, right {num(legs['right'], 1, 'cm')}"),
        ("Screening date", s.date.isoformat()),
        ("Clinician", report.clinician_name or "—"),
        ("mSEBT scale used", scale),
        ("Tests", ", ".join(_label(t) for t in report.tests) or "—"),
    ]
    if a.injury_notes:
        rows.append(("Injury notes", a.injury_notes))
    if s.notes:
        rows.append(("Screening notes", s.notes))
    return [Heading("Summary"), KeyValues(rows)]


def _trial_text(t: ScoredTrial) -> str:
    reach = f"{num(t.cm, 1, 'cm')} ({num(t.pct_limb, 1, '%')})" if t.cm is not None else num(t.pct_limb, 1, "%")
    text = f"T{t.trial} {reach}"
    if t.best:
        text += " best"
    if not t.valid:
        text += " invalid" + (f": {'; '.join(t.invalid_reasons)}" if t.invalid_reasons else "")
    return text


def _trials_text(d: DirectionScore) -> str:
    return "; ".join(_trial_text(t) for t in d.trials) or "no trial"


def _sebt(report: ScreeningReport) -> list[Block]:
    score = report.sebt
    if score is None:
        return []
    camera = report.camera_sebt
    blocks: list[Block] = [Heading("Modified Star Excursion Balance Test (mSEBT)")]
    header = ["Stance leg", "Direction", "Trials (reach, % limb length)", "Best (cm)", "Best (% limb)", "Scale"]
    widths = [1.1, 1.6, 5.0, 1.3, 1.3, 1.3]
    if camera is not None:  # tape scored; what the clips measured shown next to it
        header.insert(3, "Camera (clip)")
        widths = [1.0, 1.5, 3.4, 3.0, 1.2, 1.2, 1.1]
    rows, flagged = [], set()
    for leg in LEGS:
        ls = score.legs[leg]
        for direction in DIRECTIONS:
            d = ls.directions[direction]
            row = [leg, direction, _trials_text(d), num(d.reach_cm, 1, "cm"), num(d.reach_pct_limb, 1, "%"),
                   SCALE_WORDS.get(d.scale or "", "—")]
            if camera is not None:
                row.insert(3, _trials_text(camera.legs[leg].directions[direction]))
            rows.append(row)
        composite = [leg, "composite", ls.composite_basis or "—", "", num(ls.composite_pct, 1, "%"), ""]
        if camera is not None:
            composite.insert(3, "")
        rows.append(composite)
        if any(f.code.startswith("sebt_composite") and f.leg == leg for f in score.flags):
            flagged.add(len(rows) - 1)
    difference = ["both", "anterior L/R difference", "|left − right| of the best anterior reaches",
                  num(score.anterior_diff_cm, 1, "cm"), num(score.anterior_diff_pct_limb, 1, "%"), ""]
    if camera is not None:
        difference.insert(3, "")
    rows.append(difference)
    if any(f.code == "sebt_anterior_asymmetry_cm" for f in score.flags):
        flagged.add(len(rows) - 1)
    blocks.append(Table(header, rows, flagged, widths=widths))
    blocks += _star(score)
    if score.flags:
        blocks.append(Table(
            ["Flag", "Leg", "Value", "Cut-off", "Population", "Source"],
            [[f.label, f.leg or "both", *_flag_cells(f.value, f.threshold, f.direction, f.unit), f.population,
              f.source] for f in score.flags],
            set(range(len(score.flags))), widths=[2.2, 0.9, 1.2, 1.3, 3.6, 2.4]))
    else:
        blocks.append(Para("No mSEBT cut-off crossed."))
    blocks.append(Para(f"Measurement error: {score.measurement_error.note} "
                       f"Population: {score.measurement_error.population}.", muted=True))
    if score.scale_note:
        blocks.append(Para(f"Scale: {score.scale_note}.", muted=True))
    blocks += [Para(n, muted=True) for n in score.notes]
    return blocks


def _star(score: SebtScore) -> list[Block]:
    png = star_png(score)
    if png is None:
        return []
    return [Picture(png, "image/png", "Star diagram: each stance leg's best valid reach per direction as % of limb "
                                      "length, seen from above (athlete facing up; A anterior, PM posteromedial, "
                                      "PL posterolateral), and each leg's composite against the published cut-offs.")]


REP_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # kind -> (metric, header, unit)
    "lunge": [("peak_hip_flexion_deg", "Peak hip flex.", "°"), ("peak_knee_flexion_deg", "Peak knee flex.", "°"),
              ("hip_knee_ratio", "Hip:knee", ""), ("peak_trunk_lean_deg", "Trunk lean", "°"),
              ("ankle_dorsiflexion_bottom_deg", "Ankle DF bottom", "°"), ("peak_knee_fppa_deg", "Knee FPPA", "°"),
              ("rear_knee_flexion_deg", "Rear knee flex.", "°")],
    "step_up": [("hip_rise_pct_leg", "Hip rise", "%"), ("peak_hip_flexion_deg", "Peak hip flex.", "°"),
                ("peak_knee_flexion_deg", "Peak knee flex.", "°"), ("hip_knee_ratio", "Hip:knee", ""),
                ("peak_trunk_lean_deg", "Trunk lean", "°"), ("peak_knee_fppa_deg", "Knee FPPA", "°"),
                ("peak_contralateral_pelvic_drop_deg", "Pelvic drop", "°")],
    "msebt": [("reach_pct_leg", "Reach", "%"), ("reach_cm", "Reach", "cm"),
              ("hip_flexion_at_reach_deg", "Hip flex. at reach", "°"),
              ("knee_flexion_at_reach_deg", "Knee flex. at reach", "°"),
              ("hip_knee_ratio", "Hip:knee", ""), ("trunk_lean_at_reach_deg", "Trunk lean at reach", "°")],
}


def _test_section(test: ReportTest) -> list[Block]:
    m = test.analysis.movement
    blocks: list[Block] = [Heading(_label(test))]
    if test.notes:
        blocks.append(Para(f"Clinician's note: {test.notes}"))
    if m is None:
        return blocks + [Para("No movement analysis for this clip.")]
    clip = test.file_name or "without a name"
    exercise = m.exercise_label or labels.value_text(m.exercise)
    source = SOURCE_WORDS.get(m.exercise_source, "")
    blocks.append(Para(
        f"Clip {clip}: analysed as {exercise}{f' ({source})' if source else ''}, {labels.view_label(m.view)}, "
        f"{m.rep_count} complete {'trials' if test.kind == 'msebt' else 'reps'}, "
        f"{m.partial_rep_count} partial.", muted=True))
    cols = REP_COLUMNS.get(test.kind, [])
    header = ["#", "Side", "Time (s)", "Full"] + [f"{h} ({u})" if u else h for _, h, u in cols]
    header += ["Valid"] if test.kind == "msebt" else ["Strategy"]
    header.append("Flags")
    rows: list[list[str]] = []
    flagged: set[int] = set()
    for rep in m.reps:
        mt = rep.metrics
        side = rep.side + (f" {rep.direction}" if test.kind == "msebt" and rep.direction else "")
        row = [str(rep.index), side, f"{rep.start_s:.2f}–{rep.end_s:.2f}", "yes" if rep.complete else "partial"]
        row += [num(mt.get(k), 2 if k == "hip_knee_ratio" else 1) for k, _, _ in cols]
        if test.kind == "msebt":
            valid, reasons = mt.get("valid"), mt.get("invalid_reasons")
            row.append(num(valid) + (f" ({reasons})" if valid is False and reasons else ""))
        else:
            row.append(strategy(mt))
        row.append("; ".join(f.label for f in rep.flags) or "—")
        if rep.flags:
            flagged.add(len(rows))
        rows.append(row)
    if rows:
        widths = [0.45, 1.3, 1.5, 0.8] + [1.0] * len(cols) + [2.2, 1.8]
        blocks.append(Table(header, rows, flagged, widths=widths))
    else:
        blocks.append(Para("No rep found in this clip."))
    if m.unsupported_measures:
        blocks.append(Para("Not measured from this camera view: " + "; ".join(
            f"{labels.measure_label(u.measure)} ({u.advice})" for u in m.unsupported_measures), muted=True))
    return blocks


def _key_frames(report: ScreeningReport) -> list[Block]:
    pictures = [Picture(data, "image/jpeg", f"{_label(test)}: {kf.label} (t = {kf.time_s:.2f} s)", width_frac=0.5)
                for test in report.tests for kf, data in report_key_frames(test)]
    if not pictures:
        return []
    return [Heading("Key frames"), Para("Skeleton and joint angles as measured (H hip, K knee, A ankle, FPPA knee "
                                        "valgus angle; 3D marks a depth estimate; "
                                        "blue = person's left, orange = person's right).", muted=True),
            PictureGrid(pictures)]


def _plots(report: ScreeningReport) -> list[Block]:
    blocks: list[Block] = []
    for test in report.tests:
        png = angle_plot_png(test)
        if png is not None:
            blocks.append(Picture(png[0], "image/png", f"{_label(test)}: {png[1]} angles, reps shaded",
                                  width_frac=0.85))
    return ([Heading("Angle curves")] + blocks) if blocks else []


def _history(report: ScreeningReport) -> list[Block]:
    if not report.history:
        return []
    blocks: list[Block] = [Heading("History")]
    rows: list[list[str]] = []
    flagged: set[int] = set()
    for h in report.history:
        for p in h.points:
            if p.beyond_mdc:
                flagged.add(len(rows))
            rows.append([h.label, p.date.isoformat(), num(p.value, 1, unit(h.unit)),
                         "—" if p.change is None else f"{p.change:+.1f}", num(h.mdc, 2),
                         "beyond MDC" if p.beyond_mdc else ""])
    trends = [h for h in report.history if sum(p.value is not None for p in h.points) >= 2]
    if trends:
        blocks.append(Picture(history_png(trends), "image/png",
                              "Each metric measured at two screenings or more (left and right in one panel); a red "
                              "ring marks a change larger than the minimal detectable change (MDC)."))
    else:
        blocks.append(Para("One screening with results so far: the trend plots start with the second.", muted=True))
    blocks.append(Table(["Metric", "Date", "Value", "Change", "MDC", ""], rows, flagged,
                        widths=[3, 1.4, 1.5, 1.1, 1, 1.2]))
    blocks += [Para(n) for h in report.history for n in h.flags]
    sources = sorted({h.mdc_source for h in report.history if h.mdc_source})
    if sources:
        blocks.append(Para("MDC sources: " + "; ".join(sources) + ".", muted=True))
    return blocks


def all_flags(report: ScreeningReport) -> list[tuple[str, Flag | ScoreFlag]]:
    """(where, flag) of every flag: each clip's per rep and whole-clip ones, then the mSEBT score's."""
    out: list[tuple[str, Flag | ScoreFlag]] = []
    for test in report.tests:
        m = test.analysis.movement
        if m is None:
            continue
        for rep in m.reps:
            out += [(f"{_label(test)}, rep {rep.index}", f) for f in rep.flags]
        out += [(f"{_label(test)}, whole clip", f) for f in m.flags]
    if report.sebt:
        out += [(f"mSEBT score{', ' + f.leg if f.leg else ''}", f) for f in report.sebt.flags]
    return out


def _flags(report: ScreeningReport) -> list[Block]:
    flags = all_flags(report)
    blocks: list[Block] = [Heading("Flags explained")]
    if not flags:
        return blocks + [Para("No flag: no measure crossed its threshold.")]
    rows = [[f.label, where, *_flag_cells(f.value, f.threshold, f.direction, f.unit),
             labels.evidence_text(f.evidence, f.source, f.population),
             f.detail or (f.cue if isinstance(f, Flag) else "")] for where, f in flags]
    return blocks + [Table(["Flag", "Where", "Value", "Threshold", "Evidence and source", "Explanation"],
                           rows, set(range(len(rows))), widths=[2, 1.8, 1, 1.1, 3.2, 3.2])]


def _references(report: ScreeningReport) -> list[Block]:
    sources = {f.source for _, f in all_flags(report)}
    if report.sebt:
        sources.add(report.sebt.measurement_error.source)
        th = load_thresholds()
        sources.update(th[c].source for c in ("sebt_anterior_asymmetry_cm", "sebt_composite_female_hs_basketball",
                                               "sebt_composite_male_college_football"))
    sources.update(h.mdc_source for h in report.history if h.mdc_source)
    sources -= {"", "coaching default"}
    if not sources:
        return []
    return [Heading("References"), *(Para(s) for s in sorted(sources))]


def build_blocks(report: ScreeningReport) -> list[Block]:
    """The report's content, in order, for either renderer."""
    blocks = _summary(report) + _sebt(report)
    for kind in ("msebt", "lunge", "step_up"):
        for test in (t for t in report.tests if t.kind == kind):
            blocks += _test_section(test)
    blocks += _key_frames(report) + _plots(report) + _history(report) + _flags(report) + _references(report)
    return blocks
