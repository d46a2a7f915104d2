"""Screening reports: one athlete's screening as HTML, PDF and a long-format metrics CSV.

    html = render_html(report)          # self-contained (images inlined), for the browser and share links
    pdf = render_pdf(report)            # bytes, to hand over
    csv_text = metrics_csv(report)      # every metric, one row per test/trial/rep/metric, with units

The content is built once as a list of blocks (headings, key/value lists, tables, pictures)
and both renderers draw the same blocks, so the HTML and the PDF cannot disagree.

Sections: summary (athlete, date, which scale the mSEBT used); mSEBT per stance leg and
direction (every trial, the best valid one, cm and % of limb length), composite, anterior
left/right difference, flags against the published cut-offs with their populations and the
measurement-error note; per-rep tables for the lunge and the step-up with the hip- vs
knee-dominant strategy; key frames (maximal reach, bottom of the lunge, top of the step-up)
with the skeleton and angles drawn; angle curves; history trends; every flag explained; the
references cited.

PDF library: **ReportLab** (BSD, maintained by ReportLab Inc. since 2000, releases every few
months). Since 4.0 it is a pure-Python wheel whose only dependencies are Pillow and
charset-normalizer, so `pip install` works on a fresh machine with no Debian package. Its
platypus layer flows paragraphs and tables across pages (repeated table headers, wrapping
cells) and writes real text, so the PDF is searchable and `pdftotext` reads the scores.
Rejected: WeasyPrint needs Pango/HarfBuzz system libraries (present on this machine only as
Chromium's dependencies, absent on a fresh CI image); matplotlib's PDF backend draws pages as
figures, so tables that run over a page, wrapped text and repeated headers would have to be
laid out by hand. Text is set in DejaVu Sans, shipped with matplotlib (already a dependency),
which covers °, −, ≥, × and non-Latin names, unlike the PDF base-14 fonts.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import math
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from formcheck.clinic.history import history_png
from formcheck.clinic.report_model import ReportTest, ScreeningReport
from formcheck.clinic.scoring import DIRECTIONS, LEGS, ScoredTrial
from formcheck.config import Settings
from formcheck.kinematics import compute_kinematics
from formcheck.movements.thresholds import ThresholdEntry, load_thresholds
from formcheck.outputs import (
    VIDEO_ANGLE_LABELS,
    draw_joint_angles,
    draw_legend,
    draw_skeleton,
    plot_angles,
    read_angles_csv,
)
from formcheck.pose.landmarker import load_series
from formcheck.sources import iter_frames, probe

KEY_FRAME_LONG_SIDE = 960          # enough to read the angle labels on a printed page
KIND_LABELS = {"msebt": "mSEBT", "lunge": "Lunge", "step_up": "Step-up"}
UNIT_TEXT = {"pct_limb": "% limb length", "pct": "%", "deg": "°", "cm": "cm", "ratio": "", "s": "s"}


# -- content blocks -------------------------------------------------------------------------
@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    muted: bool = False


@dataclass
class KeyValues:
    rows: list[tuple[str, str]]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    flagged: set[int] = field(default_factory=set)   # row indices drawn as findings
    widths: list[float] | None = None                # relative column widths (PDF)


@dataclass
class Picture:
    data: bytes
    mime: str                                        # image/png | image/jpeg
    caption: str
    width_frac: float = 1.0                          # of the text width


Block = Heading | Para | KeyValues | Table | Picture


# -- small helpers --------------------------------------------------------------------------
def _num(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        text = f"{value:.{digits}f}"
        return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}".rstrip()
    return str(value)


def _unit(unit: str) -> str:
    return UNIT_TEXT.get(unit, unit)


def metric_unit(name: str, value: Any = None) -> str:
    """Unit of an analysis metric from its name (the naming rules of docs/movements.md)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    rules = (
        ("_deg", "deg"), ("_cm", "cm"), ("_pct_leg", "% limb length"), ("_pct_limb", "% limb length"),
        ("_pct_of_median", "%"), ("_pct", "%"), ("_leg", "leg lengths"), ("_s", "s"), ("_reps", "count"),
    )
    for suffix, unit in rules:
        if name.endswith(suffix):
            return unit
    if "ratio" in name:
        return "ratio"
    return ""


def _movement(test: ReportTest) -> dict[str, Any]:
    return test.analysis.get("movement") or {}


def _test_label(test: ReportTest) -> str:
    label = KIND_LABELS.get(test.kind, test.kind)
    if test.kind == "msebt" and test.leg and test.direction:
        label += f", {test.leg} stance, {test.direction}"
    elif test.leg:
        label += f", {test.leg} leg"
    return label


def _athlete_name(report: ScreeningReport) -> str:
    return report.athlete.name


# -- strategy -------------------------------------------------------------------------------
@functools.cache
def _knee_dominant() -> ThresholdEntry:
    return load_thresholds()["knee_dominant_ratio"]


def strategy(metrics: dict[str, Any]) -> str:
    """Hip- or knee-dominant from the peak hip-to-knee flexion ratio (cut-off in thresholds.toml)."""
    entry = _knee_dominant()
    ratio, knee = metrics.get("hip_knee_ratio"), metrics.get("peak_knee_flexion_deg")
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not math.isfinite(ratio):
        return "not measured"
    min_knee = entry.extra("min_knee_flexion_deg", 0.0)
    if isinstance(knee, (int, float)) and knee < min_knee:
        return f"not assessed (knee < {min_knee:g}°)"
    return "knee-dominant" if entry.exceeded(ratio) else "hip-dominant"


# -- key frames -----------------------------------------------------------------------------
@dataclass
class KeyFrame:
    id: str                   # stable: "<test id>:<rep index>", the key of ReportTest.key_frame_images
    test_id: str
    label: str
    time_s: float
    image: np.ndarray | None  # BGR with skeleton and angles drawn; None when no source is left


def key_frame_targets(test: ReportTest) -> list[tuple[str, str, float]]:
    """(id, label, time) of the frames worth showing: maximal reach of the longest valid trial
    per stance leg and direction, bottom of the deepest complete lunge per front leg, top of
    the highest step-up per lead leg."""
    reps = [r for r in _movement(test).get("reps", []) if r.get("complete", True)]
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    for rep in reps:
        m = rep.get("metrics", {})
        if test.kind == "msebt":  # valid trials first, then the longest reach
            reach = m.get("reach_pct_leg")
            reach = reach if isinstance(reach, (int, float)) and not isinstance(reach, bool) else -math.inf
            score = reach + (0.0 if m.get("valid") is not False else -1e6)
        elif test.kind == "lunge":
            score = m.get("peak_knee_flexion_deg")
        else:
            score = m.get("hip_rise_pct_leg")
        score = score if isinstance(score, (int, float)) and not isinstance(score, bool) else -math.inf
        key = (rep["side"], rep.get("direction") if test.kind == "msebt" else None)
        if key not in groups or score > groups[key]["_score"]:
            groups[key] = {**rep, "_score": score}
    out = []
    for (side, direction), rep in sorted(groups.items(), key=lambda kv: kv[1]["index"]):
        if test.kind == "msebt":
            t = rep.get("events", {}).get("max_reach", rep["bottom_s"])
            label = f"Maximal reach: {side} stance, {direction or 'reach'}, trial {rep['index']}"
            if rep.get("metrics", {}).get("valid") is False:
                label += " (invalid trial: no valid one in this clip)"
        elif test.kind == "lunge":
            t = rep["bottom_s"]
            label = f"Bottom of the lunge: {side} leg in front, rep {rep['index']}"
        else:
            t = rep["bottom_s"]
            label = f"Top of the step-up: {side} lead leg, rep {rep['index']}"
        out.append((f"{test.id}:{rep['index']}", label, float(t)))
    return out


def _grab(video: Path, times: Sequence[float]) -> list[np.ndarray | None]:
    """The frames nearest to each time, in one decoding pass (BGR, long side ≤ KEY_FRAME_LONG_SIDE)."""
    if not times:
        return []
    info = probe(video, 0.0)
    best: list[tuple[float, np.ndarray | None]] = [(math.inf, None) for _ in times]
    end = max(times) + 0.5
    for frame in iter_frames(info, pixel_format="bgr24", max_long_side=KEY_FRAME_LONG_SIDE, end_s=end):
        for k, t in enumerate(times):
            d = abs(frame.time_s - t)
            if d < best[k][0]:
                best[k] = (d, frame.image)
    return [np.ascontiguousarray(img) if img is not None else None for _, img in best]


def _draw_from_landmarks(test: ReportTest, frames: list[np.ndarray | None], times: Sequence[float]) -> None:
    """Draw the cleaned skeleton and the angles on source-video frames (as the annotated video does)."""
    folder = test.folder
    assert folder is not None
    settings = Settings.model_validate(test.analysis.get("settings") or {})
    clean, _ = compute_kinematics(load_series(folder / "landmarks.npz"), settings.kinematics)
    angles = read_angles_csv(folder / "angles.csv")
    angles.withheld = dict(test.analysis.get("withheld_measures") or {})
    for image, t in zip(frames, times):
        if image is None:
            continue
        i = int(np.argmin(np.abs(clean.time_s - t)))
        j = int(np.argmin(np.abs(angles.time_s - t)))
        h, w = image.shape[:2]
        xy = clean.image_xy[i] * (w / clean.width, h / clean.height)
        draw_skeleton(image, xy, ~np.isnan(xy[:, 0]), legend=False)
        draw_joint_angles(image, xy, {n: float(v[j]) for n, v in angles.angles.items()},
                          labels=VIDEO_ANGLE_LABELS, withheld=angles.withheld)
        draw_legend(image)


def extract_key_frames(test: ReportTest) -> list[KeyFrame]:
    """Key frames of one test, from the best source still available (see report_model)."""
    targets = key_frame_targets(test)
    times = [t for _, _, t in targets]
    images: list[np.ndarray | None] = [None] * len(targets)
    folder = test.folder
    annotated = folder / "annotated.mp4" if folder else None
    if annotated is not None and annotated.exists():
        images = _grab(annotated, times)
    elif (test.source_video and test.source_video.exists() and folder
          and (folder / "landmarks.npz").exists() and (folder / "angles.csv").exists()):
        images = _grab(test.source_video, times)
        _draw_from_landmarks(test, images, times)
    else:
        for k, (kid, _, _) in enumerate(targets):
            path = test.key_frame_images.get(kid)
            if path is not None and Path(path).exists():
                images[k] = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return [KeyFrame(kid, test.id, label, t, img) for (kid, label, t), img in zip(targets, images)]


def save_key_frames(test: ReportTest, out_dir: str | Path) -> dict[str, Path]:
    """Write a test's key frames as JPEG (for the keep-no-video setting); returns id -> path,
    ready for `ReportTest.key_frame_images`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    saved = {}
    for kf in extract_key_frames(test):
        if kf.image is not None:
            path = out / (kf.id.replace(":", "_rep") + ".jpg")
            cv2.imwrite(str(path), kf.image, [cv2.IMWRITE_JPEG_QUALITY, 88])
            saved[kf.id] = path
    return saved


# -- plots ----------------------------------------------------------------------------------
def angle_plot_png(test: ReportTest) -> tuple[bytes, str] | None:
    """The angle curves of the plane the camera saw (frontal for a front view, else sagittal)."""
    plane = "frontal" if _movement(test).get("view") == "frontal" else "sagittal"
    folder = test.folder
    if folder is None:
        return None
    if (folder / f"{plane}.png").exists():
        return (folder / f"{plane}.png").read_bytes(), plane
    if not (folder / "angles.csv").exists():
        return None
    spans = [(r["start_s"], r["end_s"], f"{r['index']}{r['side'][0].upper()}") for r in _movement(test).get("reps", [])]
    with tempfile.TemporaryDirectory() as tmp:
        angles = read_angles_csv(folder / "angles.csv")
        angles.withheld = dict(test.analysis.get("withheld_measures") or {})
        plot_angles(angles, tmp, spans)
        return (Path(tmp) / f"{plane}.png").read_bytes(), plane


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("could not encode a key frame as JPEG")
    return data.tobytes()


# -- sections -------------------------------------------------------------------------------
def _summary(report: ScreeningReport) -> list[Block]:
    a, s = report.athlete, report.screening
    legs = a.leg_length_cm
    scale = (report.sebt.scale_note or "no reach measured") if report.sebt else "no mSEBT in this screening"
    rows = [
        ("Athlete", a.name),
        ("Birth year", _num(a.birth_year, 0)),
        ("Dominant leg", a.dominant_leg or "—"),
        ("Leg length (ASIS to medial malleolus)", f"left {_num(legs['left'], 1, 'cm')}, right {_num(legs['right'], 1, 'cm')}"),
        ("Screening date", s.date.isoformat()),
        ("Clinician", report.clinician_name or "—"),
        ("mSEBT scale used", scale),
        ("Tests", ", ".join(_test_label(t) for t in report.tests) or "—"),
    ]
    if a.injury_notes:
        rows.append(("Injury notes", a.injury_notes))
    if s.notes:
        rows.append(("Screening notes", s.notes))
    return [Heading("Summary"), KeyValues(rows)]


def _trial_text(t: ScoredTrial) -> str:
    reach = f"{_num(t.cm, 1, 'cm')} ({_num(t.pct_limb, 1, '%')})" if t.cm is not None else _num(t.pct_limb, 1, "%")
    text = f"T{t.trial} {reach}"
    if t.best:
        text += " best"
    if not t.valid:
        text += " invalid" + (f": {'; '.join(t.invalid_reasons)}" if t.invalid_reasons else "")
    return text


def _sebt(report: ScreeningReport) -> list[Block]:
    score = report.sebt
    if score is None:
        return []
    blocks: list[Block] = [Heading("Modified Star Excursion Balance Test (mSEBT)")]
    rows, flagged = [], set()
    for leg in LEGS:
        ls = score.legs[leg]
        for direction in DIRECTIONS:
            d = ls.directions[direction]
            rows.append([leg, direction, "; ".join(_trial_text(t) for t in d.trials) or "no trial",
                         _num(d.reach_cm, 1, "cm"), _num(d.reach_pct_limb, 1, "%"), d.scale or "—"])
        rows.append([leg, "composite", ls.composite_basis, "", _num(ls.composite_pct, 1, "%"), ""])
        if any(f.code.startswith("sebt_composite") and f.leg == leg for f in score.flags):
            flagged.add(len(rows) - 1)
    rows.append(["both", "anterior L/R difference", "|left − right| of the best anterior reaches",
                 _num(score.anterior_diff_cm, 1, "cm"), _num(score.anterior_diff_pct_limb, 1, "%"), ""])
    if any(f.code == "sebt_anterior_asymmetry_cm" for f in score.flags):
        flagged.add(len(rows) - 1)
    blocks.append(Table(["Stance leg", "Direction", "Trials (reach, % limb length)", "Best (cm)",
                         "Best (% limb)", "Scale"], rows, flagged, widths=[1.1, 1.6, 5.0, 1.3, 1.3, 1.3]))
    if score.flags:
        blocks.append(Table(
            ["Flag", "Leg", "Value", "Cut-off", "Population", "Source"],
            [[f.label, f.leg or "both", _num(f.value, 1, _unit(f.unit)),
              f"{'>' if f.direction == 'above' else '<'} {f.threshold:g} {_unit(f.unit)}", f.population, f.source]
             for f in score.flags],
            set(range(len(score.flags))), widths=[2.2, 0.9, 1.2, 1.3, 3.6, 2.4]))
    else:
        blocks.append(Para("No mSEBT cut-off crossed."))
    blocks.append(Para(f"Measurement error: {score.measurement_error.note} "
                       f"Population: {score.measurement_error.population}.", muted=True))
    if score.scale_note:
        blocks.append(Para(f"Scale: {score.scale_note}.", muted=True))
    blocks += [Para(n, muted=True) for n in score.notes]
    return blocks


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
              ("hip_flexion_at_reach_deg", "Hip flex. at reach", "°"), ("knee_flexion_at_reach_deg", "Knee flex. at reach", "°"),
              ("hip_knee_ratio", "Hip:knee", ""), ("trunk_lean_at_reach_deg", "Trunk lean at reach", "°")],
}


def _test_section(test: ReportTest) -> list[Block]:
    m = _movement(test)
    blocks: list[Block] = [Heading(_test_label(test))]
    if not m:
        return blocks + [Para("No movement analysis for this clip.")]
    inp = test.analysis.get("input", {})
    blocks.append(Para(
        f"Clip {inp.get('file_name', '?')}: recognised as {m.get('exercise_label') or m.get('exercise')} "
        f"({m.get('exercise_source')}), camera view {m.get('view')}, {m.get('rep_count', 0)} complete "
        f"{'trials' if test.kind == 'msebt' else 'reps'}, {m.get('partial_rep_count', 0)} partial.", muted=True))
    cols = REP_COLUMNS.get(test.kind, [])
    header = ["#", "Side", "Time (s)", "Full"] + [f"{h} ({u})" if u else h for _, h, u in cols]
    header += ["Valid"] if test.kind == "msebt" else ["Strategy"]
    header.append("Flags")
    rows, flagged = [], set()
    for rep in m.get("reps", []):
        mt = rep.get("metrics", {})
        row = [str(rep["index"]), rep["side"] + (f" {rep['direction']}" if test.kind == "msebt" and rep.get("direction") else ""),
               f"{rep['start_s']:.2f}–{rep['end_s']:.2f}", "yes" if rep.get("complete", True) else "partial"]
        row += [_num(mt.get(k), 2 if k == "hip_knee_ratio" else 1) for k, _, _ in cols]
        if test.kind == "msebt":
            valid = mt.get("valid")
            row.append(_num(valid) + (f" ({mt['invalid_reasons']})" if valid is False and mt.get("invalid_reasons") else ""))
        else:
            row.append(strategy(mt))
        row.append("; ".join(f["label"] for f in rep.get("flags", [])) or "—")
        if rep.get("flags"):
            flagged.add(len(rows))
        rows.append(row)
    if rows:
        widths = [0.45, 1.3, 1.5, 0.8] + [1.0] * len(cols) + [2.2, 1.8]
        blocks.append(Table(header, rows, flagged, widths=widths))
    else:
        blocks.append(Para("No rep found in this clip."))
    unsupported = m.get("unsupported_measures", [])
    if unsupported:
        blocks.append(Para("Not measured from this camera view: " + "; ".join(
            f"{u['measure']} ({u['advice']})" for u in unsupported), muted=True))
    return blocks


def _key_frames(report: ScreeningReport) -> list[Block]:
    blocks: list[Block] = []
    for test in report.tests:
        for kf in extract_key_frames(test):
            if kf.image is not None:
                blocks.append(Picture(_jpeg(kf.image), "image/jpeg",
                                      f"{_test_label(test)}: {kf.label} (t = {kf.time_s:.2f} s)", width_frac=0.6))
    if not blocks:
        return []
    return [Heading("Key frames"), Para("Skeleton and joint angles as measured (H hip, K knee, A ankle, FPPA knee "
                                        "valgus angle; 3D marks a depth estimate; "
                                        "blue = person's left, orange = person's right).", muted=True)] + blocks


def _plots(report: ScreeningReport) -> list[Block]:
    blocks: list[Block] = []
    for test in report.tests:
        png = angle_plot_png(test)
        if png is not None:
            blocks.append(Picture(png[0], "image/png", f"{_test_label(test)}: {png[1]} angles, reps shaded", width_frac=0.85))
    return ([Heading("Angle curves")] + blocks) if blocks else []


def _history(report: ScreeningReport) -> list[Block]:
    if not report.history:
        return []
    blocks: list[Block] = [Heading("History")]
    rows, flagged = [], set()
    for h in report.history:
        for p in h.points:
            if p.beyond_mdc:
                flagged.add(len(rows))
            rows.append([h.label, p.date.isoformat(), _num(p.value, 1, _unit(h.unit)),
                         "—" if p.change is None else f"{p.change:+.1f}", _num(h.mdc, 2),
                         "beyond MDC" if p.beyond_mdc else ""])
    blocks.append(Picture(history_png(report.history), "image/png",
                          "Each metric across screenings; a red ring marks a change larger than the minimal detectable change (MDC)."))
    blocks.append(Table(["Metric", "Date", "Value", "Change", "MDC", ""], rows, flagged, widths=[3, 1.4, 1.5, 1.1, 1, 1.2]))
    notes = [f for h in report.history for f in h.flags]
    blocks += [Para(n) for n in notes]
    sources = sorted({h.mdc_source for h in report.history if h.mdc_source})
    if sources:
        blocks.append(Para("MDC sources: " + "; ".join(sources) + ".", muted=True))
    return blocks


def _all_flags(report: ScreeningReport) -> list[dict[str, Any]]:
    out = []
    for test in report.tests:
        m = _movement(test)
        for rep in m.get("reps", []):
            out += [{**f, "_where": f"{_test_label(test)}, rep {rep['index']}"} for f in rep.get("flags", [])]
        out += [{**f, "_where": f"{_test_label(test)}, whole clip"} for f in m.get("flags", [])]
    if report.sebt:
        out += [{**f.model_dump(), "_where": f"mSEBT score{', ' + f.leg if f.leg else ''}"} for f in report.sebt.flags]
    return out


def _flags(report: ScreeningReport) -> list[Block]:
    flags = _all_flags(report)
    blocks: list[Block] = [Heading("Flags explained")]
    if not flags:
        return blocks + [Para("No flag: no measure crossed its threshold.")]
    rows = [[f["label"], f["_where"], _num(f["value"], 1, _unit(f["unit"])),
             f"{'>' if f['direction'] == 'above' else '<'} {f['threshold']:g} {_unit(f['unit'])}",
             f"{f['evidence']}: {f['source']}" + (f" ({f['population']})" if f.get("population") else ""),
             f.get("detail") or f.get("cue", "")] for f in flags]
    return blocks + [Table(["Flag", "Where", "Value", "Threshold", "Evidence and source", "Explanation"],
                           rows, set(range(len(rows))), widths=[2, 1.8, 1, 1.1, 3.2, 3.2])]


def _references(report: ScreeningReport) -> list[Block]:
    sources = {f["source"] for f in _all_flags(report)}
    if report.sebt:
        sources.add(report.sebt.measurement_error.source)
        th = load_thresholds()
        sources.update(th[c].source for c in ("sebt_anterior_asymmetry_cm", "sebt_composite_female_hs_basketball",
                                               "sebt_composite_male_college_football"))
    sources.update(h.mdc_source for h in report.history if h.mdc_source)
    sources.discard("")
    sources.discard("coaching default")
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


def _title(report: ScreeningReport) -> str:
    return f"Screening report: {_athlete_name(report)}, {report.screening.date.isoformat()}"


# -- HTML -----------------------------------------------------------------------------------
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1050px;margin:2em auto;padding:0 1em;color:#1d2430}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f8}tr.flag td{background:#fdecea}.muted{color:#667}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#556;font-size:.9em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}
"""


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p{' class=muted' if block.muted else ''}>{escape(block.text)}</p>"
    if isinstance(block, KeyValues):
        return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in block.rows) + "</dl>"
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
        body = "".join(
            f"<tr{' class=flag' if i in block.flagged else ''}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for i, row in enumerate(block.rows))
        return f"<div style='overflow-x:auto'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    data = base64.b64encode(block.data).decode("ascii")
    return (f"<figure><img src='data:{block.mime};base64,{data}' alt='{escape(block.caption)}' "
            f"style='width:{block.width_frac * 100:.0f}%'><figcaption>{escape(block.caption)}</figcaption></figure>")


def render_html(report: ScreeningReport, blocks: list[Block] | None = None) -> str:
    """A self-contained HTML page (images inlined as data URIs, no external request)."""
    blocks = build_blocks(report) if blocks is None else blocks
    title = escape(_title(report))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
            + "".join(_html_block(b) for b in blocks) + "</body></html>")


# -- PDF ------------------------------------------------------------------------------------
def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans (from matplotlib's data) once; returns (regular, bold) names."""
    from matplotlib import get_data_path
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        ttf = Path(get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def render_pdf(report: ScreeningReport, blocks: list[Block] | None = None) -> bytes:
    """The report as an A4 PDF with real (searchable) text."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    blocks = build_blocks(report) if blocks is None else blocks
    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12, spaceAfter=4)
    muted = ParagraphStyle("muted", parent=body, textColor=colors.HexColor("#555566"), fontSize=8, leading=10.5)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9.2)
    head_cell = ParagraphStyle("head", parent=cell, fontName=bold)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=8)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=5, keepWithNext=1)
    caption = ParagraphStyle("caption", parent=muted, spaceBefore=2, spaceAfter=8)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.6 * cm, title=_title(report), author="formcheck",
                            subject=f"Screening of {_athlete_name(report)}")
    width = doc.width

    def p(text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    intro = ParagraphStyle("intro", parent=muted, keepWithNext=1)   # a note right under a heading
    story: list[Any] = [p(_title(report), h1)]
    previous: Block | None = None
    for block in blocks:
        if isinstance(block, Heading):
            story.append(p(block.text, h2))
        elif isinstance(block, Para):
            style = intro if isinstance(previous, Heading) else muted if block.muted else body
            story.append(p(block.text, style))
        elif isinstance(block, KeyValues):
            t = RLTable([[p(k, head_cell), p(v, cell)] for k, v in block.rows], colWidths=[0.3 * width, 0.7 * width])
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
            story.append(t)
        elif isinstance(block, Table):
            rel = block.widths or [1.0] * len(block.header)
            col_widths = [width * r / sum(rel) for r in rel]
            data = [[p(h, head_cell) for h in block.header]] + [[p(c, cell) for c in row] for row in block.rows]
            t = RLTable(data, colWidths=col_widths, repeatRows=1)
            style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#C8CCD4")),
                     ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF1F5")),
                     ("VALIGN", (0, 0), (-1, -1), "TOP")]
            style += [("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor("#FDECEA")) for i in block.flagged]
            t.setStyle(TableStyle(style))
            story += [t, Spacer(1, 6)]
        else:
            reader = ImageReader(io.BytesIO(block.data))
            iw, ih = reader.getSize()
            w = width * block.width_frac
            h = w * ih / iw
            max_h = doc.height * 0.85
            if h > max_h:
                w, h = w * max_h / h, max_h
            story.append(KeepTogether([Image(io.BytesIO(block.data), width=w, height=h), p(block.caption, caption)]))
        previous = block

    footer = f"formcheck screening report · {_athlete_name(report)} · {report.screening.date.isoformat()}"

    def on_page(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#666677"))
        canvas.drawString(document.leftMargin, 0.9 * cm, footer)
        canvas.drawRightString(A4[0] - document.rightMargin, 0.9 * cm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


# -- CSV ------------------------------------------------------------------------------------
CSV_COLUMNS = ("athlete", "screening_date", "test_id", "test", "trial_or_rep", "side", "direction",
               "metric", "value", "unit")


def metric_rows(report: ScreeningReport) -> Iterable[dict[str, Any]]:
    """Every metric of the screening, long format: mSEBT trials and scores, then each clip's
    per-rep metrics and clip summary."""
    base = {"athlete": _athlete_name(report), "screening_date": report.screening.date.isoformat()}

    def row(test_id: str, test: str, rep: Any, side: Any, direction: Any, metric: str, value: Any, unit: str):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and not math.isfinite(value):
            value = ""
        return {**base, "test_id": test_id, "test": test, "trial_or_rep": "" if rep is None else rep,
                "side": side or "", "direction": direction or "", "metric": metric,
                "value": "" if value is None else value, "unit": unit}

    score = report.sebt
    if score is not None:
        for leg in LEGS:
            ls = score.legs[leg]
            for direction in DIRECTIONS:
                d = ls.directions[direction]
                for t in d.trials:
                    for metric, value, unit in (("reach_cm", t.cm, "cm"), ("reach_pct_limb", t.pct_limb, "% limb length"),
                                                ("valid", t.valid, "bool"), ("best", t.best, "bool")):
                        yield row(t.test_id or "", "msebt_trial", t.trial, leg, direction, metric, value, unit)
                yield row("", "msebt_score", None, leg, direction, "best_reach_cm", d.reach_cm, "cm")
                yield row("", "msebt_score", None, leg, direction, "best_reach_pct_limb", d.reach_pct_limb, "% limb length")
            yield row("", "msebt_score", None, leg, "", "limb_length_cm", ls.limb_length_cm, "cm")
            yield row("", "msebt_score", None, leg, "", "composite_pct_limb", ls.composite_pct, "% limb length")
        yield row("", "msebt_score", None, "both", "anterior", "anterior_diff_cm", score.anterior_diff_cm, "cm")
        yield row("", "msebt_score", None, "both", "anterior", "anterior_diff_pct_limb", score.anterior_diff_pct_limb,
                  "% limb length")
    for test in report.tests:
        m = _movement(test)
        for rep in m.get("reps", []):
            direction = rep.get("direction") or ""
            for metric, value in rep.get("metrics", {}).items():
                yield row(test.id, test.kind, rep["index"], rep["side"], direction, metric, value, metric_unit(metric, value))
            if test.kind != "msebt":
                yield row(test.id, test.kind, rep["index"], rep["side"], direction, "strategy", strategy(rep.get("metrics", {})), "text")
        for metric, value in m.get("summary", {}).items():
            yield row(test.id, test.kind, None, "", "", metric, value, metric_unit(metric, value))


def metrics_csv(report: ScreeningReport) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(metric_rows(report))
    return buf.getvalue()
