#!/usr/bin/env python3
"""Real-clip benchmark: formcheck on the labelled shared clips it was never tuned on.

For every clip in ../shared/samples/videos/labels.json, completed by bench/real_clips_labels.json
(shared values win where they are not null, except the overlay's "corrections": values re-checked
on the frames, each with its reason; --shared-labels-only leaves them out), runs the pipeline's
stages as `formcheck analyze` does (probe -> extract_poses -> compute_kinematics ->
analyze_movement, exercise "auto", default settings) and prints one row per clip, then the overall counts:

* family   right / abstained / wrong. Abstained: exercise "unknown", or a wrong family at
           confidence < 0.5. Wrong: a family that is not the labelled one at confidence >= 0.5
           (on a non-target clip, target=false, every formcheck family is wrong).
* reps     complete reps, exact (target clips).
* partial  partial reps listed: the count of partial reps, exact (target clips).
* sides    the working side of each labelled rep (complete and partial), each matched to the
           analysed rep whose bottom/top time is nearest (within REP_MATCH_S); squats: n/a.
* subject  the labelled point (x, y as fractions of the frame, t in s) lies inside the analysed
           person's landmark box at t (without a point: the people count).
* flags    no flag at all on a non-target clip.

`score_clip(label, movement, pose)` is the one scoring function; tests/bench/test_real_clips_labels.py
asserts it on every labelled clip. Shown but not scored: the exercise variant, the camera view,
the people count, the rep times and the flags on target clips (no ground truth for them).

The pose model is the slow part (2 cores): each clip's PoseSeries is cached under --cache
(default ~/.cache/formcheck-bench/real_clips), keyed by the video's sha256, the model file, the
mediapipe version, the pose settings and the source of formcheck's pose stage (a change in
subject choice re-runs the model). Kinematics and movement analysis always re-run.

Usage:
    PYTHONPATH=src python bench/real_clips.py [--model full] [--only TEXT] [--check]
        [--shared-labels-only] [--json OUT] [--cache DIR | --no-cache] [--samples DIR]
Exit status 0 (a bench), or with --check 1 when any clip misses a criterion.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from formcheck.config import MODEL_NAMES

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

OVERLAY = REPO / "bench" / "real_clips_labels.json"
DEFAULT_SAMPLES = Path(os.environ.get("FORMCHECK_SHARED_SAMPLES", REPO.parent / "shared" / "samples"))
CACHE_VERSION = 1

CONFIDENT = 0.5        # a label at or above this confidence is a claim; below it, an abstention
REP_MATCH_S = 1.0      # a labelled rep time and an analysed rep's bottom/top closer than this are one rep
BOX_MARGIN = 0.02      # fraction of the frame added around the subject's landmark box
POSE_NEAR_S = 0.25     # the subject box comes from the nearest frame with a pose within this
VIEW_NAMES = {"side": "sagittal", "front": "frontal", "oblique": "oblique"}
CRITERIA = ("family", "complete_reps", "partial_reps", "sides", "subject", "nontarget_flags")
# the label fields each criterion reads (a miss on a corrected field is shown as disputed)
LABEL_FIELDS = {"family": ("family", "target"), "complete_reps": ("complete_reps",),
                "partial_reps": ("partial_reps",), "sides": ("sides_per_rep", "partial_rep_sides"),
                "subject": ("subject", "people"), "nontarget_flags": ("target",)}


# ---------------------------------------------------------------------------------------------
# Labels


def load_labels(samples: Path = DEFAULT_SAMPLES, overlay: Path = OVERLAY,
                with_corrections: bool = False) -> list[dict]:
    """The shared labels, each completed by the overlay: an overlay field fills a shared value
    that is null or missing, never one that is set; "corrections" replace shared values only
    with `with_corrections`. Each label gets `name` (file stem), `target` and `corrections`
    (field -> {shared, value, reason}, whether applied or not)."""
    shared = json.loads((samples / "videos" / "labels.json").read_text())
    extra = json.loads(overlay.read_text()) if overlay.is_file() else {}
    fills, fixes = extra.get("clips", {}), extra.get("corrections", {})
    out = []
    for clip in shared["clips"]:
        label = dict(clip)
        for key, value in fills.get(clip["file"], {}).items():
            if label.get(key) is None:
                label[key] = value
            elif key == "notes" and value and value != label[key]:
                label["notes"] = f"{label[key]} | overlay: {value}"
        corrections = fixes.get(clip["file"], {})
        if with_corrections:
            for key, fix in corrections.items():
                label[key] = fix["value"]
        label["corrections"] = corrections
        label["corrections_applied"] = with_corrections
        label["name"] = Path(clip["file"]).stem
        if label.get("target") is None:
            label["target"] = label.get("family") in formcheck_families() if label.get("family") else None
        out.append(label)
    return out


def formcheck_families() -> set[str]:
    from formcheck.movements.exercises import families

    return set(families())


def family_of(exercise: str) -> str | None:
    from formcheck.movements.exercises import registry

    spec = registry().get(exercise)
    return spec.family if spec else None


# ---------------------------------------------------------------------------------------------
# Scoring (one place: the bench and tests/bench/test_real_clips_labels.py)


def _short(side: str | None) -> str:
    return {"left": "L", "right": "R", "both": "B"}.get(side or "", "?")


def _outcome(ok: bool | None, expected, got, detail: str = "") -> dict:
    return {"ok": ok, "expected": expected, "got": got, "detail": detail}


def score_family(label: dict, movement) -> dict:
    exp = label.get("family")
    got_ex, conf = movement.exercise, float(movement.exercise_confidence or 0.0)
    got = None if got_ex == "unknown" else family_of(got_ex)
    if exp is None and label.get("target") is not False:
        return _outcome(None, None, got, "unlabelled") | {"result": "n/a", "confidence": conf}
    if got_ex == "unknown":
        result = "abstained"
    elif label.get("target") is not False and got == exp:
        result = "right"
    elif conf < CONFIDENT:
        result = "abstained"
    else:
        result = "wrong"
    detail = (f"labelled {exp or '-'}{'' if label.get('target') is not False else ' (non-target)'}, "
              f"got {got_ex} ({got or 'no family'}) at {conf:.2f}: {result}")
    return _outcome(result in ("right", "abstained"), exp, got, detail) | {"result": result, "confidence": conf}


def _labelled_reps(label: dict) -> tuple[list[tuple[str | None, float | None]], bool]:
    """[(side, time)] of the labelled reps (complete, then partial) and whether all have a time."""
    sides = list(label.get("sides_per_rep") or [])
    times = label.get("rep_bottoms_s") or label.get("rep_tops_s") or []
    reps = [(s, times[i] if len(times) == len(sides) else None) for i, s in enumerate(sides)]
    psides = list(label.get("partial_rep_sides") or [])
    ptimes = label.get("partial_rep_bottoms_s") or label.get("partial_rep_tops_s") or []
    reps += [(s, ptimes[i] if len(ptimes) == len(psides) else None) for i, s in enumerate(psides)]
    return reps, all(t is not None for _, t in reps)


def score_sides(label: dict, movement) -> dict:
    reps, timed = _labelled_reps(label)
    if label.get("target") is False or not reps or all(s in (None, "both") for s, _ in reps):
        return _outcome(None, None, None, "n/a")
    got = [(r.side, r.bottom_s, r.complete) for r in movement.reps]
    exp_txt = "".join(_short(s) for s, _ in reps)
    if not timed:        # no times: the complete reps in order
        complete = [s for s, _, c in got if c]
        want = [s for s, _ in reps[:len(label.get("sides_per_rep") or [])]]
        ok = complete == want
        got_txt = "".join(_short(s) for s in complete)
        return _outcome(ok, exp_txt, got_txt, f"labelled {exp_txt}, got {got_txt} (complete reps in order)")
    used: set[int] = set()
    got_txt, wrong = [], []
    for side, t in reps:
        cands = [(abs(b - t), k) for k, (_, b, _) in enumerate(got) if k not in used and abs(b - t) <= REP_MATCH_S]
        if not cands:
            got_txt.append("-")
            wrong.append(f"no rep near {t:g} s")
            continue
        _, k = min(cands)
        used.add(k)
        got_txt.append(_short(got[k][0]))
        if got[k][0] != side:
            wrong.append(f"{t:g} s: {got[k][0]} for {side}")
    txt = "".join(got_txt)
    why = f"labelled {exp_txt}, got {txt}" + (f" ({'; '.join(wrong)})" if wrong else "")
    return _outcome(not wrong, exp_txt, txt, why)


def subject_box(pose, t: float) -> tuple[np.ndarray | None, float | None]:
    """The analysed person's landmark box (x0, y0, x1, y1 as fractions of the frame) at the
    frame with a pose nearest to t (within POSE_NEAR_S), and that frame's time."""
    xy = np.asarray(pose.image_xy, float)
    seen = ~np.isnan(xy[:, :, 0]).all(axis=1)
    if not seen.any():
        return None, None
    times = np.asarray(pose.time_s, float)
    order = np.where(seen)[0]
    i = int(order[np.argmin(np.abs(times[order] - t))])
    if abs(times[i] - t) > POSE_NEAR_S:
        return None, float(times[i])
    vis = np.asarray(pose.visibility[i], float) > 0.3
    pts = xy[i][vis] if vis.sum() >= 4 else xy[i]
    pts = pts[np.isfinite(pts).all(axis=1)]
    wh = np.array([pose.width, pose.height], float)
    return np.r_[pts.min(axis=0) / wh, pts.max(axis=0) / wh], float(times[i])


def score_subject(label: dict, pose) -> dict:
    point = label.get("subject") or {}
    people = getattr(getattr(pose, "subject", None), "people_seen", None)
    if not all(k in point for k in ("x", "y", "t")):
        exp = label.get("people")
        if exp is None:
            return _outcome(None, None, people, "unlabelled")
        return _outcome(people == exp, exp, people, f"people {exp} vs {people}")
    x, y, t = float(point["x"]), float(point["y"]), float(point["t"])
    box, at = subject_box(pose, t)
    if box is None:
        return _outcome(False, (x, y, t), None, f"no pose within {POSE_NEAR_S} s of {t:g} s")
    m = BOX_MARGIN
    ok = bool(box[0] - m <= x <= box[2] + m and box[1] - m <= y <= box[3] + m)
    shown = ",".join(f"{v:.2f}" for v in box)
    return _outcome(ok, (x, y, t), box.round(3).tolist(),
                    f"({x:g},{y:g})@{t:g}s {'in' if ok else 'NOT in'} box [{shown}]@{at:.2f}s")


def score_clip(label: dict, movement, pose) -> dict:
    """Score one clip: `label` from load_labels, `movement` the MovementReport of
    analyze_movement(..., exercise="auto"), `pose` the analysed person's PoseSeries.
    Returns {criterion: {ok (True, False or None = not applicable), expected, got, detail}},
    plus "misses" (the failed criteria, with a reason each) and "info" (shown, not scored)."""
    target = label.get("target")
    flags = [f.code for f in movement.all_flags()]
    out: dict = {"family": score_family(label, movement)}
    for key, got in (("complete_reps", movement.rep_count), ("partial_reps", movement.partial_rep_count)):
        exp = label.get(key)
        if target is False or exp is None:
            out[key] = _outcome(None, exp, got, "n/a" if target is False else "unlabelled")
        else:
            out[key] = _outcome(got == exp, exp, got, f"labelled {exp}, got {got}")
    out["sides"] = score_sides(label, movement)
    out["subject"] = score_subject(label, pose)
    if target is False:
        out["nontarget_flags"] = _outcome(not flags, 0, len(flags),
                                          f"labelled none, got {', '.join(sorted(set(flags))) or 'none'}")
    else:
        out["nontarget_flags"] = _outcome(None, None, len(flags), "n/a")
    misses = []
    for key in CRITERIA:
        if out[key]["ok"] is False:
            why = f"{key}: {out[key]['detail']}"
            for field in LABEL_FIELDS[key]:
                fix = label.get("corrections", {}).get(field)
                if fix and not label.get("corrections_applied"):
                    why += f" [disputed: the overlay corrects {field} to {fix['value']!r}, not applied]"
            misses.append(why)
    out["misses"] = misses
    exp_view = VIEW_NAMES.get(label.get("view"), label.get("view"))
    out["info"] = {
        "exercise": (label.get("exercise"), movement.exercise),
        "view": (exp_view, movement.view),
        "people": (label.get("people"), getattr(getattr(pose, "subject", None), "people_seen", None)),
        "flags": sorted(set(flags)),
        "rep_times": [(r.bottom_s, r.side, r.complete) for r in movement.reps],
    }
    return out


# ---------------------------------------------------------------------------------------------
# Running the pipeline, with the pose cached


def pose_key(video: Path, pose_settings) -> str:
    """Cached landmarks are valid for one video, model file, mediapipe version, pose settings
    and pose-stage source (subject choice lives there)."""
    import mediapipe as mp

    from formcheck.pipeline import sha256_of
    from formcheck.pose.models import resolve_model

    src = REPO / "src" / "formcheck"
    code = hashlib.sha256()
    for f in sorted([*(src / "pose").glob("*.py"), src / "series.py", src / "sources.py", src / "landmarks.py"]):
        if f.is_file():
            code.update(f.name.encode() + f.read_bytes())
    blob = "|".join([str(CACHE_VERSION), sha256_of(video), sha256_of(resolve_model(pose_settings.model)),
                     mp.__version__, pose_settings.model_dump_json(), code.hexdigest()])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def extract_cached(video: Path, settings, cache: Path | None):
    """(raw PoseSeries, seconds spent in the pose model or None when cached)."""
    from formcheck.pose.landmarker import extract_poses
    from formcheck.series import SubjectChoice, load_series, save_series
    from formcheck.sources import probe

    info = probe(video, settings.limits.min_duration_s, settings.limits.max_duration_s)
    if cache is None:
        t0 = time.time()
        return extract_poses(info, settings.pose), time.time() - t0
    key = pose_key(video, settings.pose)
    npz, meta = cache / f"{video.stem}-{key}.npz", cache / f"{video.stem}-{key}.json"
    if npz.is_file() and meta.is_file():
        raw = load_series(npz)
        known = SubjectChoice.__dataclass_fields__
        raw.subject = SubjectChoice(**{k: v for k, v in json.loads(meta.read_text()).items() if k in known})
        return raw, None
    t0 = time.time()
    raw = extract_poses(info, settings.pose)
    spent = time.time() - t0
    cache.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(npz.stem + f".tmp{os.getpid()}.npz")
    save_series(raw, tmp)
    meta.write_text(json.dumps(vars(raw.subject), default=str))
    tmp.rename(npz)
    return raw, spent


def analyse(video: Path, settings, cache: Path | None):
    """(raw pose, MovementReport, pose seconds) for one clip, exercise "auto", as the pipeline."""
    from formcheck.kinematics import compute_kinematics
    from formcheck.movements import analyze_movement

    raw, spent = extract_cached(video, settings, cache)
    clean, angles = compute_kinematics(raw, settings.kinematics)
    return raw, analyze_movement(clean, angles, exercise="auto"), spent


# ---------------------------------------------------------------------------------------------
# Table


def _cell(o: dict, text: str) -> str:
    return {True: "ok ", False: "XX ", None: "-- "}[o["ok"]] + text


def print_table(rows: list[tuple[dict, dict]]) -> None:
    head = (f"{'clip':29} {'expected exercise/family':34} {'got exercise/family conf':30} {'family':12} "
            f"{'reps':8} {'partial':8} {'sides (exp:got)':18} {'subject':7} {'flags':6} view exp/got")
    print(head)
    print("-" * len(head))
    for label, s in rows:
        exp = (f"{label.get('exercise')}/{label.get('family')}"
               + ("" if label.get("target") is not False else " (non-tgt)"))
        fam = s["family"]
        got_fam = fam["got"] or "-"
        conf = "" if s['info']['exercise'][1] == "unknown" else f" {fam.get('confidence', 0):.2f}"
        got = f"{s['info']['exercise'][1]}/{got_fam}{conf}"
        reps = s["complete_reps"]
        part = s["partial_reps"]
        sides = s["sides"]
        sides_txt = f"{sides['expected']}:{sides['got']}" if sides["ok"] is not None else ""
        subj = s["subject"]
        flags = s["nontarget_flags"]
        flags_txt = str(flags["got"])
        view = s["info"]["view"]
        reps_txt = _cell(reps, f"{reps['expected']}/{reps['got']}")
        part_txt = _cell(part, f"{part['expected']}/{part['got']}")
        print(f"{label['name']:29} {exp:34.34} {got:30.30} {_cell(fam, fam.get('result', '')):12} "
              f"{reps_txt:8} {part_txt:8} {_cell(sides, sides_txt):18.18} {_cell(subj, ''):7} "
              f"{_cell(flags, flags_txt):6} {view[0]}/{view[1]}")
    print()
    for label, s in rows:
        for miss in s["misses"]:
            print(f"  MISS {label['name']}: {miss}")
        flags_target = s["info"]["flags"] if label.get("target") is not False else []
        if flags_target:
            print(f"  info {label['name']}: flags raised (not scored on a target clip): {', '.join(flags_target)}")
        if s["subject"]["ok"] is False or s["info"]["people"][0] != s["info"]["people"][1]:
            print(f"  info {label['name']}: subject {s['subject']['detail']}; people labelled "
                  f"{s['info']['people'][0]}, seen {s['info']['people'][1]}")


def summary(rows: list[tuple[dict, dict]]) -> dict:
    fam = [s["family"].get("result") for _, s in rows]
    out = {"clips": len(rows),
           "family": {k: fam.count(k) for k in ("right", "abstained", "wrong")},
           "clips_all_ok": sum(1 for _, s in rows if not s["misses"])}
    for key in CRITERIA[1:]:
        scored = [s[key]["ok"] for _, s in rows if s[key]["ok"] is not None]
        out[key] = {"ok": sum(scored), "scored": len(scored)}
    return out


def print_summary(tot: dict) -> None:
    f = tot["family"]
    print(f"\noverall, {tot['clips']} clips: family right {f['right']}, abstained {f['abstained']}, "
          f"wrong {f['wrong']}; "
          f"complete reps exact {tot['complete_reps']['ok']}/{tot['complete_reps']['scored']}; "
          f"partial reps listed {tot['partial_reps']['ok']}/{tot['partial_reps']['scored']}; "
          f"sides right {tot['sides']['ok']}/{tot['sides']['scored']}; "
          f"subject right {tot['subject']['ok']}/{tot['subject']['scored']}; "
          f"no flag on non-target clips {tot['nontarget_flags']['ok']}/{tot['nontarget_flags']['scored']}; "
          f"clips meeting every criterion {tot['clips_all_ok']}/{tot['clips']}")


def main(argv: list[str] | None = None) -> int:
    from formcheck.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES, help="the shared samples folder")
    parser.add_argument("--model", default="full", choices=MODEL_NAMES)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "formcheck-bench" / "real_clips")
    parser.add_argument("--no-cache", action="store_true", help="run the pose model, keep nothing")
    parser.add_argument("--only", default="", help="clips whose file name contains this")
    parser.add_argument("--shared-labels-only", dest="with_corrections", action="store_false",
                        help="leave out the overlay's corrections (re-checked on the frames) of shared labels")
    parser.add_argument("--json", type=Path, help="write every label, score and summary here")
    parser.add_argument("--check", action="store_true", help="exit 1 when any clip misses a criterion")
    args = parser.parse_args(argv)

    settings = Settings()
    settings.pose = settings.pose.model_copy(update={"model": args.model})
    labels = [lb for lb in load_labels(args.samples, with_corrections=args.with_corrections) if args.only in lb["file"]]
    print(f"real clips: {len(labels)} labelled clips from {args.samples / 'videos' / 'labels.json'} + "
          f"{OVERLAY.relative_to(REPO)} (corrections {'applied' if args.with_corrections else 'not applied'}), "
          f"model {args.model}, exercise auto")
    rows, t0 = [], time.time()
    for label in labels:
        video = args.samples / "videos" / label["file"]
        if not video.is_file():
            print(f"{label['name']}: missing ({video})")
            continue
        raw, movement, spent = analyse(video, settings, None if args.no_cache else args.cache)
        if spent is not None:
            print(f"  {label['name']}: pose model {spent:.0f} s", flush=True)
        rows.append((label, score_clip(label, movement, raw)))
    print()
    print_table(rows)
    tot = summary(rows)
    print_summary(tot)
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": tot, "clips": [{"label": lb, "score": s} for lb, s in rows]},
                                        indent=1, default=str))
    missing = len(rows) < len(labels)
    return 1 if args.check and (missing or any(s["misses"] for _, s in rows)) else 0


if __name__ == "__main__":
    sys.exit(main())
