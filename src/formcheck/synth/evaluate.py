"""Measure how well MediaPipe's Pose Landmarker tracks a synthetic clip against its truth.

    python -m formcheck.synth.evaluate OUT_DIR [--model models/pose_landmarker_full.task]

Reports the share of frames with a pose and the median pixel error per joint (hip, knee,
ankle, ...), raw and left/right-swap tolerant (MediaPipe may swap the legs' labels in a side
view; formcheck corrects that in kinematics/swaps.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from formcheck import landmarks as lm
from formcheck.synth.groundtruth import load_truth

JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")


def run_mediapipe(video: Path, model: Path) -> np.ndarray:
    """(T, 33, 2) pixel landmarks (NaN where no pose) from PoseLandmarker in VIDEO mode."""
    import av
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                        running_mode=vision.RunningMode.VIDEO, num_poses=1)
    out = []
    with vision.PoseLandmarker.create_from_options(opts) as det, av.open(str(video)) as c:
        s = c.streams.video[0]
        for i, fr in enumerate(c.decode(s)):
            rgb = fr.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            ts = int(round(float(fr.time) * 1000)) if fr.time is not None else i * 33
            res = det.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), ts)
            if res.pose_landmarks:
                p = res.pose_landmarks[0]
                out.append([[q.x * w, q.y * h] for q in p])
            else:
                out.append(np.full((33, 2), np.nan))
    return np.asarray(out, float)


def compare(pred: np.ndarray, truth: dict) -> dict:
    gt = truth["image_xy"]
    T = min(len(pred), len(gt))
    pred, gt = pred[:T], gt[:T]
    found = ~np.isnan(pred[:, 0, 0])
    err = np.linalg.norm(pred - gt, axis=-1)
    # Swap tolerant: per frame take the better of the given and the mirrored leg labels.
    sw = pred.copy()
    for a, b in lm.LEFT_RIGHT_PAIRS:
        sw[:, [a, b]] = pred[:, [b, a]]
    err_sw = np.linalg.norm(sw - gt, axis=-1)
    legs = [lm.SIDE_LANDMARKS[s][j] for s in ("left", "right") for j in ("hip", "knee", "ankle")]
    use_sw = np.nansum(err_sw[:, legs], axis=1) < np.nansum(err[:, legs], axis=1)
    err_best = np.where(use_sw[:, None], err_sw, err)
    res = {"frames": int(T), "pose_found_frac": float(found.mean()),
           "swapped_frames_frac": float(np.mean(use_sw[found])) if found.any() else None,
           "median_px": {}, "median_px_swap_tolerant": {}, "p90_px_swap_tolerant": {}}
    for j in JOINTS:
        idx = [lm.SIDE_LANDMARKS[s][j] for s in ("left", "right")]
        res["median_px"][j] = float(np.nanmedian(err[found][:, idx]))
        res["median_px_swap_tolerant"][j] = float(np.nanmedian(err_best[found][:, idx]))
        res["p90_px_swap_tolerant"][j] = float(np.nanpercentile(err_best[found][:, idx], 90))
    vis = truth.get("visible")
    if vis is not None:
        vis = vis[:T].astype(bool)
        res["median_px_visible_only"] = {}
        for j in JOINTS:
            idx = [lm.SIDE_LANDMARKS[s][j] for s in ("left", "right")]
            e = err_best[:, idx][found & True][vis[found][:, idx]]
            res["median_px_visible_only"][j] = float(np.nanmedian(e)) if e.size else None
    # Angles: formcheck's 2D definitions on raw MediaPipe landmarks (no filtering, no swap
    # correction) against the same definitions on the true projections.
    try:
        from formcheck.kinematics.angles import angles_2d
    except ImportError:  # pragma: no cover
        return res
    pa = angles_2d(np.where(use_sw[:, None, None], sw, pred), truth["facing"][:T])
    res["angle_median_abs_err_deg"] = {}
    for col, v in pa.items():
        key = f"fc2d_{col}"
        if key not in truth or not any(m in col for m in ("hip_flexion", "knee_flexion", "ankle_dorsi", "fppa")):
            continue
        d = np.abs(v - truth[key][:T])
        if np.isfinite(d).sum() > 10:
            res["angle_median_abs_err_deg"][col] = float(np.nanmedian(d))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--model", default="models/pose_landmarker_full.task")
    ap.add_argument("--reuse", action="store_true", help="reuse OUT_DIR/mediapipe_xy.npy")
    a = ap.parse_args(argv)
    arrays, meta = load_truth(Path(a.out_dir))
    video = Path(a.out_dir) / meta["video"]
    cache = Path(a.out_dir) / "mediapipe_xy.npy"
    if a.reuse and cache.exists():
        pred = np.load(cache)
    else:
        pred = run_mediapipe(video, Path(a.model))
        np.save(cache, pred)
    res = compare(pred, arrays)
    res["view"] = meta["config"]["view"]
    res["motion"] = meta["config"]["motion"]
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
