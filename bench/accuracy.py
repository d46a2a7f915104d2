#!/usr/bin/env python3
"""End-to-end accuracy of formcheck on synthetic clips with known truth (issue #3, part 3).

Renders a matrix of clips with formcheck.synth (motions x views x injected compensations x
body sizes), runs the real pipeline on each MP4 (PoseLandmarker -> compute_kinematics ->
analyze_movement) and prints ONE table:

* angles: MAE / RMSE / bias (pipeline minus truth) of the pipeline's 2D angle columns against
  the truth's `fc2d_*` columns (formcheck's own definitions applied to the true projections),
  pooled over frames and both sides, only in the view that supports the measure (sagittal
  angles from the side view, frontal ones from the front view; the oblique view is reported
  too, labelled as such), and only on frames where the truth marks every landmark the angle
  uses as visible (not hidden behind the body or the box);
* detection rate (frames with a pose);
* rep counts: recognised complete reps == true reps, with exercise="auto" and with the
  exercise given; plus whether "auto" recognised the right family;
* flag precision / recall: an injected compensation expects one of the flag codes in
  EXPECTED_FLAGS (below, printed with the table); a clip with no injection expects none of
  the codes in that dict. Flags from the run with the exercise given;
* mSEBT reach: per trial, MovementReport `reach_pct_leg` minus the truth's max reach
  (`msebt_reaches[].max_reach_norm` x 100), in % of leg length.

A "truth" row runs the same kinematics + movement analysis on the TRUE landmarks (image
projections and 3D points, visibility 1): whatever is wrong there is the analysis (rules,
definitions, segmentation), not MediaPipe.

Usage (2 cores: the default matrix takes about 6 min the first time, seconds when cached):
    PYTHONPATH=src python bench/accuracy.py [--full] [--models lite full heavy]
        [--cache DIR] [--json OUT] [--with-lspet] [--jobs N] [--no-truth]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formcheck.config import MODEL_NAMES

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

CACHE_VERSION = 1   # bump when the meaning of a cached clip / pose file changes

# ---------------------------------------------------------------------------------------------
# Injected compensation -> flag codes (MovementReport Flag.code, movements/thresholds.toml)
# that count as detecting it. A clip with no injection expects none of these codes.
EXPECTED_FLAGS: dict[str, tuple[str, ...]] = {
    "knee_valgus": ("knee_valgus_fppa",),
    "pelvic_drop": ("pelvic_drop",),
    # synth: forward lean in lunges/squats, lateral lean toward the stance leg in single-leg tasks
    "trunk_lean": ("trunk_lean_lunge", "trunk_lean_squat", "trunk_shin_squat", "trunk_lean_step_up",
                   "trunk_lean_sebt", "trunk_lateral_lean"),
    "reduced_hip_flexion": ("knee_dominant_ratio", "knee_dominant_ratio_sebt"),
    "excess_knee_flexion": ("knee_dominant_ratio", "knee_dominant_ratio_sebt"),
    "heel_lift": ("heel_lift",),
}
FLAG_UNIVERSE = sorted({c for v in EXPECTED_FLAGS.values() for c in v})

# synth motion -> the exercise name given to analyze_movement, and the family "auto" should find
EXERCISE_FOR = {"forward_lunge": "forward_lunge", "reverse_lunge": "reverse_lunge",
                "runners_lunge": "runners_lunge", "step_up": "step_up",
                "msebt_anterior": "sebt_anterior", "msebt_posteromedial": "sebt_posteromedial",
                "msebt_posterolateral": "sebt_posterolateral", "msebt": "sebt",
                "single_leg_squat": "single_leg_squat", "squat": "squat"}
FAMILY_FOR = {"forward_lunge": "lunge", "reverse_lunge": "lunge", "runners_lunge": "lunge",
              "step_up": "step_up", "msebt_anterior": "sebt", "msebt_posteromedial": "sebt",
              "msebt_posterolateral": "sebt", "msebt": "sebt", "single_leg_squat": "single_leg_squat",
              "squat": "squat"}

# Two body sizes (formcheck.synth.skeleton.BodySize knobs)
BODIES = {
    "A": dict(height_m=1.62, girth=1.10),                    # shorter, stockier
    "B": dict(height_m=1.86, leg_scale=1.04, girth=0.95),    # taller, longer legs, slimmer
}

# Angle measures: (pipeline/truth column stems per side, landmarks that must be visible, plane)
SAGITTAL = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "trunk_lean")
FRONTAL = ("knee_fppa", "pelvic_drop", "trunk_lateral_lean")
MEASURES = SAGITTAL + FRONTAL
# "<measure>@3": only frames where the true value is at least 3 deg away from 0 (the injected
# compensations; baseline clips read ~0 and would hide an attenuated response)
ACTIVE_MIN_DEG = 3.0
VIEW_MEASURES = {"side": SAGITTAL, "front": FRONTAL + ("knee_fppa@3", "pelvic_drop@3"), "oblique": MEASURES}
TARGETS = {("side", "knee_flexion"): 4.0, ("side", "hip_flexion"): 5.0, ("side", "ankle_dorsiflexion"): 7.0,
           ("front", "knee_fppa"): 4.0, ("front", "pelvic_drop"): 3.0}
TARGET_FLAG_PR = 0.9
TARGET_REACH_PCT = 3.0

# MediaPipe indices
L_SH, R_SH, L_HIP, R_HIP = 11, 12, 23, 24
LEG = {"left": dict(hip=23, knee=25, ankle=27, heel=29, toe=31),
       "right": dict(hip=24, knee=26, ankle=28, heel=30, toe=32)}


def measure_columns(measure: str) -> list[tuple[str, list]]:
    """[(column, landmarks that must be truly visible)] for a measure, both sides pooled. An
    entry that is a tuple is satisfied by any one of its landmarks: the trunk line (mid-hip to
    mid-shoulder) needs one shoulder and one hip seen (in a side view the far ones are always
    hidden, and the midpoint of a hidden and a seen point is still well defined)."""
    trunk = [(L_SH, R_SH), (L_HIP, R_HIP)]
    if measure == "trunk_lean":
        return [("trunk_lean_deg", trunk)]
    if measure == "trunk_lateral_lean":
        return [("left_trunk_lateral_lean_deg", trunk)]          # right = -left
    if measure == "pelvic_drop":
        return [("left_pelvic_drop_deg", [L_HIP, R_HIP])]        # right = -left
    out = []
    for side, j in LEG.items():
        other_hip = R_HIP if side == "left" else L_HIP
        need = {"hip_flexion": [j["hip"], j["knee"]] + trunk,
                "knee_flexion": [j["hip"], j["knee"], j["ankle"]],
                "ankle_dorsiflexion": [j["knee"], j["ankle"], j["heel"], j["toe"]],
                "knee_fppa": [j["hip"], j["knee"], j["ankle"], other_hip]}[measure]
        out.append((f"{side}_{measure}_deg", need))
    return out


# ---------------------------------------------------------------------------------------------
# The matrix


@dataclass(frozen=True)
class ClipSpec:
    motion: str
    view: str
    comps: tuple[tuple[str, float], ...] = ()
    body: str = "A"
    side: str = "right"
    reps: int = 2
    width: int = 640
    height: int = 360
    fps: float = 30.0
    seed: int = 0
    # False: the injected amount stays below the flag's cut-off; none of its codes may be raised
    expect_flags: bool = True

    @property
    def name(self) -> str:
        c = ",".join(f"{k}={v:g}" for k, v in self.comps) or "none"
        return f"{self.motion}/{self.view}/{c}{'' if self.expect_flags else '(sub)'}/body{self.body}"

    def synth_config(self):
        from formcheck.synth.clip import SynthConfig
        from formcheck.synth.skeleton import BodySize

        return SynthConfig(motion=self.motion, side=self.side, reps=self.reps,
                           compensations=dict(self.comps), body=BodySize(**BODIES[self.body]),
                           view=self.view, width=self.width, height=self.height, fps=self.fps,
                           seed=self.seed)

    def key(self) -> str:
        cfg = self.synth_config().to_dict()
        blob = json.dumps({"v": CACHE_VERSION, "cfg": cfg}, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _seed(*parts) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:6], 16)


def build_matrix(full: bool, width: int, height: int) -> list[ClipSpec]:
    """Default: every motion in every view with no compensation, body sizes alternating over
    the views (both sizes per motion), plus the injected compensations in the view that can
    see them. --full: 3 reps, every cell with both body sizes, more compensations."""
    motions = ["forward_lunge", "step_up", "msebt_anterior", "squat", "single_leg_squat"]
    views = ["side", "front", "oblique"]
    side_of = {"forward_lunge": "alternate"}          # lunges alternate legs; the rest work on one side
    reps = 3 if full else 2
    specs: list[ClipSpec] = []

    def add(motion, view, comps=(), body="A", side=None, expect=True):
        s = side or side_of.get(motion, "right" if len(specs) % 2 == 0 else "left")
        specs.append(ClipSpec(motion, view, tuple(comps), body, s, reps, width, height, 30.0,
                              _seed(motion, view, comps, body), expect))

    for mi, m in enumerate(motions):
        for vi, v in enumerate(views):
            bodies = ("A", "B") if full else ("AB"[(mi + vi) % 2],)
            for b in bodies:
                add(m, v, (), b)
    # (motion, view, compensations, expect a flag). The knobs are joint-angle commands, not the
    # measured quantity: the amounts are chosen so that the quantity formcheck measures on the
    # TRUE landmarks clears the cut-off in thresholds.toml by a margin (printed per clip as
    # "truth peak"; e.g. knee_valgus=30 -> 2D FPPA 18 deg in a front lunge vs 13.5; trunk_lean=35
    # -> 39 deg in a lunge vs 30), and the "(sub)" cells stay clearly below it (must not flag).
    comp_cells = [
        ("forward_lunge", "front", (("knee_valgus", 30.0),), True),
        ("single_leg_squat", "front", (("knee_valgus", 25.0),), True),
        ("single_leg_squat", "front", (("pelvic_drop", 8.0),), True),
        ("msebt_anterior", "front", (("pelvic_drop", 8.0),), True),
        ("forward_lunge", "side", (("trunk_lean", 35.0),), True),
        ("squat", "side", (("trunk_lean", 25.0),), True),
        ("msebt_anterior", "side", (("reduced_hip_flexion", 15.0),), True),
        ("msebt_anterior", "side", (("excess_knee_flexion", 20.0),), True),
        ("forward_lunge", "front", (("knee_valgus", 5.0),), False),
        ("single_leg_squat", "front", (("pelvic_drop", 3.0),), False),
        ("forward_lunge", "side", (("trunk_lean", 15.0),), False),
        ("squat", "side", (("trunk_lean", 5.0),), False),
    ]
    if full:
        comp_cells += [
            ("step_up", "front", (("knee_valgus", 30.0),), True),
            ("step_up", "front", (("pelvic_drop", 8.0),), True),
            ("squat", "front", (("knee_valgus", 30.0),), True),
            ("single_leg_squat", "front", (("trunk_lean", 20.0),), True),
            ("step_up", "side", (("trunk_lean", 35.0),), True),
            ("forward_lunge", "side", (("heel_lift", 30.0),), True),
            ("msebt_anterior", "front", (("knee_valgus", 30.0),), True),
            ("single_leg_squat", "front", (("knee_valgus", 5.0),), False),
            ("step_up", "front", (("pelvic_drop", 3.0),), False),
        ]
    for ci, (m, v, comps, expect) in enumerate(comp_cells):
        for b in (("A", "B") if full else ("AB"[ci % 2],)):
            add(m, v, comps, b, expect=expect)
    return specs


# ---------------------------------------------------------------------------------------------
# Render + pose, cached


def model_path(model: str) -> Path:
    return REPO / "models" / f"pose_landmarker_{model}.task"


def pose_settings(model: str, overrides: dict | None = None):
    from formcheck.config import PoseSettings

    return PoseSettings(model=model, **(overrides or {}))


def pose_cache_name(model: str, overrides: dict | None = None) -> str:
    """Cached landmarks are valid for one model file, mediapipe version and pose settings."""
    p = model_path(model)
    st = p.stat()
    import mediapipe as mp

    settings = pose_settings(model, overrides).model_dump_json()
    tag = hashlib.sha1(f"{st.st_size}|{int(st.st_mtime)}|{mp.__version__}|{settings}".encode()).hexdigest()[:8]
    return f"pose_{model}_{tag}.npz"


def prepare_clip(spec: ClipSpec, cache: Path, models: list[str], overrides: dict | None = None) -> dict:
    """Render (if not cached) and run PoseLandmarker for each model (if not cached). Runs in a
    worker process; returns timings."""
    from formcheck.pose.landmarker import extract_poses
    from formcheck.series import save_series
    from formcheck.sources import probe
    from formcheck.synth.clip import synthesize

    d = cache / spec.key()
    t = {"render_s": 0.0, "pose_s": {}}
    if not ((d / "truth.json").is_file() and (d / "clip.mp4").is_file()):
        t0 = time.time()
        tmp = d.with_name(d.name + f".tmp{os.getpid()}")
        synthesize(spec.synth_config(), tmp)
        (tmp / "spec.json").write_text(json.dumps({"name": spec.name, **spec.__dict__}, default=list))
        if d.exists():   # another run finished it meanwhile
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(d)
        t["render_s"] = time.time() - t0
    for m in models:
        f = d / pose_cache_name(m, overrides)
        if f.is_file():
            continue
        t0 = time.time()
        series = extract_poses(probe(d / "clip.mp4"), pose_settings(m, overrides))
        save_series(series, f.with_suffix(".tmp.npz"))
        f.with_suffix(".tmp.npz").rename(f)
        t["pose_s"][m] = time.time() - t0
    return t


# ---------------------------------------------------------------------------------------------
# Pure scoring helpers (tested in tests/bench/test_accuracy_bench.py)


def angle_errors(pred: dict, truth: dict, visible: np.ndarray, measure: str) -> np.ndarray:
    """Signed errors (pred - truth) over frames and both sides, where the truth sees every
    landmark the angle uses and both values are finite ("name@3": and |truth| >= 3 deg)."""
    min_abs = 0.0
    if "@" in measure:
        measure, min_abs = measure.split("@")[0], ACTIVE_MIN_DEG
    errs = []
    T = min(len(visible), *(len(v) for v in pred.values())) if pred else 0
    for col, need in measure_columns(measure):
        p, g = pred.get(col), truth.get(f"fc2d_{col}")
        if p is None or g is None:
            continue
        p, g = np.asarray(p[:T], float), np.asarray(g[:T], float)
        v = visible[:T]
        ok = np.isfinite(p) & np.isfinite(g)
        if min_abs:
            ok &= np.abs(np.nan_to_num(g)) >= min_abs
        for n in need:
            ok &= v[:, list(n)].any(axis=1) if isinstance(n, tuple) else v[:, n]
        errs.append(p[ok] - g[ok])
    return np.concatenate(errs) if errs else np.zeros(0)


def error_stats(e: np.ndarray) -> dict:
    e = np.asarray(e, float)
    if e.size == 0:
        return {"n": 0, "mae": None, "rmse": None, "bias": None, "p90": None}
    return {"n": int(e.size), "mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e ** 2))),
            "bias": float(np.mean(e)), "p90": float(np.percentile(np.abs(e), 90))}


SINGLE_LEG_MOTIONS = ("single_leg_squat", "step_up", "msebt_anterior", "msebt_posteromedial",
                      "msebt_posterolateral", "msebt")
TRUNK_KEY = {"lunge": "trunk_lean_lunge", "squat": "trunk_lean_squat"}


def truth_peaks(spec: ClipSpec, arrays: dict) -> dict:
    """Per injected knob with a frontal/trunk cut-off: the quantity formcheck measures (its 2D
    definition on the TRUE projections, fc2d_*) at its peak over the frames where the
    compensation is at least half on, and the cut-off from thresholds.toml. Shows whether an
    injection really crosses (or, for "(sub)" cells, stays below) the published cut-off."""
    from formcheck.movements.thresholds import load_thresholds

    th = load_thresholds()
    w = np.asarray(arrays.get("comp_weight", np.ones(len(arrays["time_s"]))), float) >= 0.5
    out = {}
    for name, _amount in spec.comps:
        if name == "knee_valgus":
            cols, key = ["fc2d_left_knee_fppa_deg", "fc2d_right_knee_fppa_deg"], "knee_valgus_fppa"
        elif name == "pelvic_drop":
            cols, key = ["fc2d_left_pelvic_drop_deg", "fc2d_right_pelvic_drop_deg"], "pelvic_drop"
        elif name == "trunk_lean" and spec.motion in SINGLE_LEG_MOTIONS:
            cols, key = ["fc2d_left_trunk_lateral_lean_deg"], "trunk_lateral_lean"
        elif name == "trunk_lean" and FAMILY_FOR[spec.motion] in TRUNK_KEY:
            cols, key = ["fc2d_trunk_lean_deg"], TRUNK_KEY[FAMILY_FOR[spec.motion]]
        else:
            continue
        vals = [np.abs(arrays[c][w]) if "lateral" in c else np.asarray(arrays[c], float)[w]
                for c in cols if c in arrays]
        v = np.concatenate(vals) if vals else np.zeros(0)
        v = v[np.isfinite(v)]
        cut = float(th[key].value)
        out[name] = {"peak": float(v.max()) if v.size else None, "cutoff": cut, "key": key}
    return out


def expected_codes(comps, expect: bool = True) -> set[str]:
    out: set[str] = set()
    for name, _amount in comps if expect else ():
        out |= set(EXPECTED_FLAGS.get(name, ()))
    return out


def flag_outcome(comps, raised_codes, expect: bool = True) -> dict:
    """Per clip: tp/fp (over raised codes in FLAG_UNIVERSE, counted once per code) and hits /
    misses (per injected compensation that has an entry in EXPECTED_FLAGS). expect=False: a
    sub-threshold injection, scored like a clip with none (every raised code is a false one)."""
    raised = {c for c in raised_codes if c in FLAG_UNIVERSE}
    exp = expected_codes(comps, expect)
    if not expect:
        comps = ()
    tp = len(raised & exp)
    fp = len(raised - exp)
    hits = misses = 0
    missed = []
    for name, _ in comps:
        if name not in EXPECTED_FLAGS:
            continue
        if raised & set(EXPECTED_FLAGS[name]):
            hits += 1
        else:
            misses += 1
            missed.append(name)
    return {"tp": tp, "fp": fp, "hits": hits, "misses": misses, "false_codes": sorted(raised - exp),
            "missed": missed}


def precision_recall(outcomes: list[dict]) -> tuple[float | None, float | None, dict]:
    tp = sum(o["tp"] for o in outcomes)
    fp = sum(o["fp"] for o in outcomes)
    hits = sum(o["hits"] for o in outcomes)
    misses = sum(o["misses"] for o in outcomes)
    prec = tp / (tp + fp) if tp + fp else None
    rec = hits / (hits + misses) if hits + misses else None
    return prec, rec, {"tp": tp, "fp": fp, "hits": hits, "misses": misses}


def match_reach(trials: list[dict], reps: list[dict], tol_s: float = 1.5) -> list[dict]:
    """Pair each true mSEBT trial (max_reach_s, max_reach_norm) with the report rep whose
    bottom_s (maximal reach) is nearest, within tol_s. Returns per trial the error in % leg, and
    whether the analysis judged the trial invalid (the clinic scores valid trials only)."""
    out, used = [], set()
    for tr in trials:
        best, bd = None, tol_s
        for i, r in enumerate(reps):
            if i in used or r.get("reach_pct_leg") is None:
                continue
            d = abs(r["bottom_s"] - tr["max_reach_s"])
            if d <= bd:
                best, bd = i, d
        truth_pct = 100.0 * tr["max_reach_norm"]
        if best is None:
            out.append({"truth_pct": truth_pct, "pred_pct": None, "err_pct": None})
        else:
            used.add(best)
            p = float(reps[best]["reach_pct_leg"])
            invalid = any(f.startswith("sebt_trial_invalid") for f in reps[best].get("flags", []))
            out.append({"truth_pct": truth_pct, "pred_pct": p, "err_pct": p - truth_pct, "invalid": invalid})
    return out


# ---------------------------------------------------------------------------------------------
# Evaluate one clip with one landmark source


def truth_series(arrays: dict, meta: dict):
    """A PoseSeries holding the TRUE landmarks (everything visible, presence 1)."""
    from formcheck.series import PoseSeries

    xy = np.asarray(arrays["image_xy"], float)
    T = len(xy)
    cfg = meta["config"]
    return PoseSeries(time_s=np.asarray(arrays["time_s"], float), image_xy=xy,
                      image_z=np.zeros((T, 33)), world_xyz=np.asarray(arrays["world_mp"], float),
                      visibility=np.ones((T, 33)), presence=np.ones((T, 33)),
                      width=int(cfg["width"]), height=int(cfg["height"]))


def true_rep_count(meta: dict) -> int:
    return len(meta.get("events", []))


def true_trials(meta: dict) -> list[dict]:
    ev = {e["rep"]: e for e in meta.get("events", [])}
    out = []
    for tr in meta.get("msebt_reaches", []) or []:
        fr = tr.get("max_reach_frame")
        t = fr / meta["fps"] if fr is not None else ev.get(tr["rep"], {}).get("max_reach_s")
        d = {"rep": tr["rep"], "direction": tr["direction"], "max_reach_s": float(t),
             "max_reach_norm": float(tr["max_reach_norm"])}
        out.append(d)
    return out


def evaluate(spec: ClipSpec, cache: Path, source: str, overrides: dict | None = None) -> dict:
    """source = a model name (cached pose file) or "truth"."""
    import warnings

    from formcheck.kinematics import compute_kinematics
    from formcheck.movements import analyze_movement
    from formcheck.series import load_series
    from formcheck.synth.groundtruth import load_truth

    d = cache / spec.key()
    arrays, meta = load_truth(d)
    series = truth_series(arrays, meta) if source == "truth" else load_series(d / pose_cache_name(source, overrides))
    frames = series.all_frame_times  # kinematics returns every decoded frame (pose_rate_hz measures a subset)
    T = min(len(frames), len(arrays["time_s"]))
    res: dict = {"clip": spec.name, "key": spec.key(), "source": source, "motion": spec.motion,
                 "view": spec.view, "body": spec.body, "comps": [list(c) for c in spec.comps],
                 "frames": int(len(frames)), "truth_frames": int(len(arrays["time_s"]))}
    if len(frames) != len(arrays["time_s"]):
        res["warning"] = "frame count differs from the truth; compared by index"
    res["detection_rate"] = float(np.mean(~np.isnan(series.image_xy[:, :, 0]).all(axis=1)))
    res["expect_flags"] = spec.expect_flags
    res["truth_peaks"] = truth_peaks(spec, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clean, angles = compute_kinematics(series)
    vis = np.asarray(arrays["visible"], bool)[:T]
    res["angle_err"] = {}
    if source != "truth":
        pred = {k: np.asarray(v, float)[:T] for k, v in angles.angles.items()}
        for meas in VIEW_MEASURES.get(spec.view, ()):
            e = angle_errors(pred, arrays, vis, meas)
            res["angle_err"][meas] = e.tolist()
    # movement analysis: auto and given
    ntrue = true_rep_count(meta)
    res["true_reps"] = ntrue
    for mode, ex in (("auto", "auto"), ("given", EXERCISE_FOR[spec.motion])):
        try:
            rep = analyze_movement(clean, angles, exercise=ex)
        except Exception as e:  # a crash is a result too
            res[mode] = {"error": f"{type(e).__name__}: {e}"}
            continue
        codes = sorted({f.code for f in rep.all_flags()})
        r = {"exercise": rep.exercise, "view": rep.view, "rep_count": rep.rep_count,
             "partial": rep.partial_rep_count, "reps_ok": rep.rep_count == ntrue,
             "flags": codes,
             "reps": [{"side": x.side, "bottom_s": x.bottom_s, "direction": x.direction,
                       "reach_pct_leg": x.metrics.get("reach_pct_leg"),
                       "hip_knee_ratio": x.metrics.get("hip_knee_ratio"),
                       "flags": [f"{f.code}={f.value:g}" for f in x.flags]} for x in rep.reps]}
        fam = rep.exercise
        try:
            from formcheck.movements import exercises as exreg

            fam = exreg.registry()[rep.exercise].family if rep.exercise in exreg.registry() else rep.exercise
        except Exception:
            pass
        r["family"] = fam
        r["family_ok"] = fam == FAMILY_FOR[spec.motion]
        if mode == "given":
            r["flag_outcome"] = flag_outcome(spec.comps, codes, spec.expect_flags)
            if spec.motion.startswith("msebt"):
                r["reach"] = match_reach(true_trials(meta), r["reps"])
        res[mode] = r
    return res


# ---------------------------------------------------------------------------------------------
# Aggregation and printing


def _f(v, nd=1, w=6):
    return f"{'-':>{w}}" if v is None else f"{v:>{w}.{nd}f}"


def aggregate(results: list[dict], sources: list[str]) -> dict:
    agg: dict = {"angles": [], "summary": []}
    by_truth = {r["clip"]: r for r in results if r["source"] == "truth"}
    views = ["side", "front", "oblique"]
    for v in views:
        for s in sources:
            if s == "truth":
                continue
            rs = [r for r in results if r["view"] == v and r["source"] == s]
            if not rs:
                continue
            for meas in VIEW_MEASURES[v]:
                e = np.concatenate([np.asarray(r["angle_err"].get(meas, []), float) for r in rs]) if rs else np.zeros(0)
                st = error_stats(e)
                tgt = TARGETS.get((v, meas))
                st.update({"view": v, "model": s, "measure": meas, "target_mae": tgt,
                           "meets_target": None if tgt is None or st["mae"] is None else st["mae"] <= tgt,
                           "clips": len(rs)})
                agg["angles"].append(st)
    for v in views + ["all"]:
        for s in sources:
            rs = [r for r in results if (v == "all" or r["view"] == v) and r["source"] == s]
            if not rs:
                continue
            row = {"view": v, "model": s, "clips": len(rs),
                   "detection_rate": float(np.mean([r["detection_rate"] for r in rs]))}
            for mode in ("auto", "given"):
                ok = [r[mode].get("reps_ok", False) for r in rs]
                row[f"reps_exact_{mode}"] = [int(sum(ok)), len(ok)]
            fam = [r["auto"].get("family_ok", False) for r in rs]
            row["auto_family_ok"] = [int(sum(fam)), len(fam)]
            outs = [r["given"]["flag_outcome"] for r in rs if "flag_outcome" in r.get("given", {})]
            p, rc, cnt = precision_recall(outs)
            row.update({"flag_precision": p, "flag_recall": rc, **{f"flag_{k}": c for k, c in cnt.items()}})
            reach = [t for r in rs for t in r.get("given", {}).get("reach", [])]
            measured = [t for t in reach if t["err_pct"] is not None]
            errs = [t["err_pct"] for t in measured if not t.get("invalid")]
            row["reach_trials"] = [len(errs), len(reach)]
            row["reach_invalid"] = sum(1 for t in measured if t.get("invalid"))
            row["reach_invalid_errs"] = [round(t["err_pct"], 1) for t in measured if t.get("invalid")]
            row["reach_mae_pct"] = float(np.mean(np.abs(errs))) if errs else None
            row["reach_max_pct"] = float(np.max(np.abs(errs))) if errs else None
            row["reach_bias_pct"] = float(np.mean(errs)) if errs else None
            # agreement with the flags the analysis raises on the TRUE landmarks (same clip)
            if s != "truth":
                tp = fp = fn = 0
                for r in rs:
                    ref = by_truth.get(r["clip"])
                    if ref is None or "flags" not in r.get("given", {}) or "flags" not in ref.get("given", {}):
                        continue
                    a_ = {c for c in r["given"]["flags"] if c in FLAG_UNIVERSE}
                    b_ = {c for c in ref["given"]["flags"] if c in FLAG_UNIVERSE}
                    tp, fp, fn = tp + len(a_ & b_), fp + len(a_ - b_), fn + len(b_ - a_)
                row["vs_truth_flag_precision"] = tp / (tp + fp) if tp + fp else None
                row["vs_truth_flag_recall"] = tp / (tp + fn) if tp + fn else None
            agg["summary"].append(row)
    return agg


def format_table(agg: dict, matrix_note: str) -> str:
    L = []
    L.append(f"formcheck synthetic accuracy ({matrix_note})")
    L.append("")
    L.append("A. ANGLES: pipeline 2D column - truth fc2d_* (same definition on the true projections); "
             "frames where the truth sees the angle's landmarks; both sides pooled; deg")
    head = f"{'view':<8} {'model':<6} {'measure':<19} {'N':>6} {'MAE':>6} {'RMSE':>6} {'bias':>6} {'p90':>6}  target"
    L += [head, "-" * len(head)]
    for a in agg["angles"]:
        vlabel = a["view"] if a["view"] != "oblique" else "oblique*"
        tgt = "" if a["target_mae"] is None else f"MAE<={a['target_mae']:g} " + ("ok" if a["meets_target"] else "MISS")
        bias = None if a["bias"] is None else a["bias"]
        L.append(f"{vlabel:<8} {a['model']:<6} {a['measure']:<19} {a['n']:>6} {_f(a['mae'])} {_f(a['rmse'])} "
                 f"{'-':>6}  {tgt}" if bias is None else
                 f"{vlabel:<8} {a['model']:<6} {a['measure']:<19} {a['n']:>6} {_f(a['mae'])} {_f(a['rmse'])} "
                 f"{bias:>+6.1f} {_f(a['p90'])}  {tgt}")
    L.append("  @3 = only frames where |truth| >= 3 deg (the injected valgus / pelvic drop).")
    L.append("  * oblique (45 deg): neither plane is in the image; a 2D angle there is a projection "
             "(formcheck reports neither), listed for reference only.")
    L.append("")
    L.append("B. DETECTION, REPS, FLAGS, mSEBT REACH (model 'truth' = true landmarks through the same "
             "kinematics + movement analysis)")
    head = (f"{'view':<8} {'model':<6} {'clips':>5} {'detect':>7} {'reps auto':>10} {'reps given':>10} "
            f"{'auto fam':>9} {'flag P':>7} {'flag R':>7} {'tp/fp/miss':>11} {'P~tru':>6} {'R~tru':>6} "
            f"{'reach MAE%':>10} {'max%':>5} {'bias%':>6} {'trials':>7} {'invalid':>7}")
    L += [head, "-" * len(head)]
    for s in agg["summary"]:
        def frac(x):
            return f"{x[0]}/{x[1]}"
        tpf = f"{s['flag_tp']}/{s['flag_fp']}/{s['flag_misses']}"
        L.append(f"{s['view']:<8} {s['model']:<6} {s['clips']:>5} {100 * s['detection_rate']:>6.1f}% "
                 f"{frac(s['reps_exact_auto']):>10} {frac(s['reps_exact_given']):>10} {frac(s['auto_family_ok']):>9} "
                 f"{_f(s['flag_precision'], 2, 7)} {_f(s['flag_recall'], 2, 7)} {tpf:>11} "
                 f"{_f(s.get('vs_truth_flag_precision'), 2, 6)} {_f(s.get('vs_truth_flag_recall'), 2, 6)} "
                 f"{_f(s['reach_mae_pct'], 1, 10)} {_f(s['reach_max_pct'], 1, 5)} "
                 f"{'-' if s['reach_bias_pct'] is None else format(s['reach_bias_pct'], '+.1f'):>6} "
                 f"{frac(s['reach_trials']):>7} {s['reach_invalid']:>7}")
    L.append("")
    L.append("Targets: side/full knee MAE<=4, hip<=5, ankle<=7; front knee FPPA<=4, pelvic drop<=3; reps exact; "
             f"flag P and R >= {TARGET_FLAG_PR}; mSEBT reach within {TARGET_REACH_PCT:g} % of leg length.")
    L.append("reps: clips whose complete-rep count equals the true count (auto = exercise recognised by "
             "formcheck, given = exercise passed in); auto fam = recognised the right family.")
    L.append("flags (exercise given): tp = raised code expected by an injection, fp = raised code of the "
             "mapping below not expected (counted once per clip), miss = injection with none of its codes.")
    L.append("P~tru / R~tru: the model's flags (mapping codes) against the flags the same analysis raises on the "
             "TRUE landmarks: pose-model error alone, whatever the thresholds.")
    L.append("reach: MovementReport rep reach_pct_leg - truth max_reach_norm*100 (both: stance toe tip at "
             "rest -> reaching toe tip along the direction's grid line / leg length, the protocol's reading), "
             "over the trials the analysis judged valid (the clinic scores those); trials = valid trials with a "
             "reach / true trials (front and oblique views report no reach without a floor marker: "
             "bench/marker_reach.py); invalid = true (valid) trials judged invalid, their errors listed below.")
    L.append("")
    judged = [f"{x['view']}/{x['model']}: {x['reach_invalid_errs']}" for x in agg["summary"] if x["reach_invalid"]]
    if judged:
        L.append("reach error (% leg) of the trials judged invalid: " + "; ".join(judged))
    L.append("EXPECTED_FLAGS (injected compensation -> flag codes that detect it):")
    for k, v in EXPECTED_FLAGS.items():
        L.append(f"  {k:<20} -> {', '.join(v)}")
    return "\n".join(L)


def per_clip_lines(results: list[dict]) -> str:
    L = ["Per clip (given exercise): true reps | model: reps auto/given, auto exercise, flags raised, reach err %"]
    by: dict = {}
    for r in results:
        by.setdefault(r["clip"], []).append(r)
    for clip, rs in by.items():
        pk = "; ".join(f"{k} truth peak {'-' if v['peak'] is None else format(v['peak'], '.1f')} vs {v['key']} "
                       f"{v['cutoff']:g}" for k, v in rs[0].get("truth_peaks", {}).items())
        L.append(f"  {clip}  (true reps {rs[0]['true_reps']}{'; ' + pk if pk else ''})")
        for r in rs:
            a, g = r.get("auto", {}), r.get("given", {})
            reach = g.get("reach", [])
            rr = " ".join("-" if t["err_pct"] is None else f"{t['err_pct']:+.1f}" for t in reach)
            fl = ",".join(g.get("flags", [])) or "-"
            L.append(f"    {r['source']:<6} det {100 * r['detection_rate']:5.1f}%"
                     f"  reps {a.get('rep_count', 'E')}/{g.get('rep_count', 'E')}"
                     f"  auto={a.get('exercise', a.get('error', '?'))}  flags={fl}"
                     + (f"  reach_err={rr}" if reach else ""))
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["full"], choices=MODEL_NAMES)
    ap.add_argument("--full", action="store_true",
                    help="bigger matrix: 3 reps, both body sizes in every cell, more compensations")
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("FORMCHECK_BENCH_CACHE", "~/.cache/formcheck-bench")).expanduser())
    ap.add_argument("--json", type=Path, metavar="OUT")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--jobs", type=int, default=2, help="clips rendered / tracked in parallel (processes)")
    ap.add_argument("--no-truth", action="store_true", help="skip the true-landmark reference rows")
    ap.add_argument("--only", default="", help="substring filter on clip names (e.g. msebt)")
    ap.add_argument("--pose-settings", type=json.loads, default={}, metavar="JSON",
                    help='pipeline pose settings to override, e.g. \'{"people_scan_interval_s": 0}\'')
    ap.add_argument("--per-clip", action="store_true", help="also print one line per clip and model")
    ap.add_argument("--with-lspet", action="store_true", help="also run bench/keypoints.py (LSPet images)")
    a = ap.parse_args(argv)

    for m in a.models:
        if not model_path(m).is_file():
            print(f"bench/accuracy.py: error: {model_path(m)} missing (python models/build.py {m})", file=sys.stderr)
            return 2
    cache = a.cache
    cache.mkdir(parents=True, exist_ok=True)
    specs = [s for s in build_matrix(a.full, a.width, a.height) if a.only in s.name]
    note = (f"{'full' if a.full else 'default'} matrix, {len(specs)} clips, {a.width}x{a.height} 30 fps, "
            f"{specs[0].reps if specs else 0} reps, models {' '.join(a.models)}")
    if a.pose_settings:
        note += f", pose settings {json.dumps(a.pose_settings)}"
    t0 = time.time()
    todo = [s for s in specs
            if not ((cache / s.key() / "truth.json").is_file()
                    and all((cache / s.key() / pose_cache_name(m, a.pose_settings)).is_file() for m in a.models))]
    print(f"{len(specs)} clips, {len(todo)} to render/track (cache {cache})", file=sys.stderr, flush=True)
    timings = {}
    if todo:
        if a.jobs > 1:
            import multiprocessing as mpc
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(a.jobs, mp_context=mpc.get_context("spawn")) as pool:
                futs = {pool.submit(prepare_clip, s, cache, a.models, a.pose_settings): s for s in todo}
                for i, f in enumerate(as_completed(futs), 1):
                    s = futs[f]
                    timings[s.name] = f.result()
                    print(f"  [{i}/{len(todo)}] {s.name} {timings[s.name]}", file=sys.stderr, flush=True)
        else:
            for i, s in enumerate(todo, 1):
                timings[s.name] = prepare_clip(s, cache, a.models, a.pose_settings)
                print(f"  [{i}/{len(todo)}] {s.name} {timings[s.name]}", file=sys.stderr, flush=True)
    t_prep = time.time() - t0
    sources = list(a.models) + ([] if a.no_truth else ["truth"])
    results = []
    for s in specs:
        for src in sources:
            results.append(evaluate(s, cache, src, a.pose_settings))
    agg = aggregate(results, sources)
    print(format_table(agg, note))
    if a.per_clip:
        print()
        print(per_clip_lines(results))
    print(f"\n(render + pose {t_prep:.0f} s, analysis {time.time() - t0 - t_prep:.0f} s)")
    lspet = None
    if a.with_lspet:
        print("\nLSPet (bench/keypoints.py):", flush=True)
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_keypoints", REPO / "bench" / "keypoints.py")
        kp = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(kp)
        args = ["--models", *a.models]
        out_json = None
        if a.json:
            out_json = a.json.with_name(a.json.stem + "_lspet.json")
            args += ["--json", str(out_json)]
        try:
            kp.main(args)
            lspet = str(out_json) if out_json else "printed"
        except SystemExit as e:
            print(f"(LSPet part skipped: exit {e.code})")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        slim = [{k: v for k, v in r.items() if k != "angle_err"} for r in results]
        a.json.write_text(json.dumps({"matrix": note, "expected_flags": EXPECTED_FLAGS, "targets": {
            f"{v}/{m}": t for (v, m), t in TARGETS.items()}, "angles": agg["angles"], "summary": agg["summary"],
            "clips": slim, "timings": timings, "lspet": lspet}, indent=1, default=float))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
