#!/usr/bin/env python3
"""LSPet lower-body keypoint benchmark for the PoseLandmarker bundles (lite / full / heavy).

For every annotated image in ../shared/samples/keypoints/ (one person each), run
PoseLandmarker in IMAGE mode, take the detected pose whose hips/knees best match the
annotation, and compare 2D hip and knee angles (and hip/knee/ankle pixel positions) computed
from MediaPipe's landmarks with the same quantities from the annotation.

Angles, both sources, same formulas (pixels, x right, y down):
  knee = angle(thigh, shank), thigh = knee - hip, shank = ankle - knee   (0 = straight)
  hip  = angle(-trunk, thigh), trunk = mid_shoulder - mid_hip            (0 = thigh in line
         with the trunk line extended downward)
Both are unsigned. docs/angles.md's knee flexion is the same; its hip flexion is this angle
signed by the facing direction, which the annotation alone does not give, so the hip is
compared unsigned here. Only joints annotated visible (v=2) count. Left/right are the
person's own sides in both MediaPipe and the annotation; a left/right swap by the model
counts as an error.

Usage:
    python bench/keypoints.py [--models lite full heavy] [--json OUT] [--samples DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from formcheck.config import MODEL_NAMES

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "models"
DEFAULT_SAMPLES = REPO.parent / "shared" / "samples" / "keypoints"
ANNOTATIONS = "lsp_lower_body.json"
ALL_MODELS = MODEL_NAMES

# MediaPipe Pose landmark indices (person's own sides)
MP_INDEX = {
    "left_shoulder": 11, "right_shoulder": 12,
    "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26,
    "left_ankle": 27, "right_ankle": 28,
}
SIDES = ("left", "right")
MATCH_JOINTS = [f"{s}_{j}" for s in SIDES for j in ("hip", "knee")]
KP_JOINTS = [f"{s}_{j}" for s in SIDES for j in ("hip", "knee", "ankle")]

try:  # the project's own angle helper, if present
    sys.path.insert(0, str(REPO / "src"))
    from formcheck.kinematics.angles import unsigned_angle as _project_unsigned_angle

    ANGLE_SOURCE = "formcheck.kinematics.angles.unsigned_angle"
except Exception:  # any import problem: fall back to the local helper
    _project_unsigned_angle = None
    ANGLE_SOURCE = "bench/keypoints.py local helper"
finally:
    if sys.path and sys.path[0] == str(REPO / "src"):
        sys.path.pop(0)


def unsigned_angle(a, b) -> float:
    """Unsigned angle between 2D vectors in degrees (0..180), NaN if either is ~zero."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if _project_unsigned_angle is not None:
        return float(_project_unsigned_angle(a, b))
    na, nb = np.hypot(*a), np.hypot(*b)
    if na < 1e-9 or nb < 1e-9:
        return float("nan")
    return float(np.degrees(np.arctan2(abs(a[0] * b[1] - a[1] * b[0]), a @ b)))


def joint_angles(pts: dict[str, np.ndarray]) -> dict[str, float]:
    """{'left_knee': deg, 'left_hip': deg, ...} from the available points (NaN where missing)."""
    out = {}
    have = lambda *names: all(n in pts for n in names)  # noqa: E731
    for s in SIDES:
        hip, knee, ankle = f"{s}_hip", f"{s}_knee", f"{s}_ankle"
        out[f"{s}_knee"] = (unsigned_angle(pts[knee] - pts[hip], pts[ankle] - pts[knee])
                            if have(hip, knee, ankle) else float("nan"))
        if have("left_shoulder", "right_shoulder", "left_hip", "right_hip", hip, knee):
            mid_sh = (pts["left_shoulder"] + pts["right_shoulder"]) / 2
            mid_hip = (pts["left_hip"] + pts["right_hip"]) / 2
            trunk = mid_sh - mid_hip
            out[f"{s}_hip"] = unsigned_angle(-trunk, pts[knee] - pts[hip])
        else:
            out[f"{s}_hip"] = float("nan")
    return out


def fail(msg: str, code: int = 2) -> None:
    print(f"bench/keypoints.py: error: {msg}", file=sys.stderr)
    sys.exit(code)


def load_samples(folder: Path) -> list[dict]:
    ann = folder / ANNOTATIONS
    if not folder.is_dir() or not ann.is_file():
        fail(f"keypoint samples not found: expected {ann} and {folder / 'images'}/ "
             "(the shared samples folder ../shared/samples/keypoints next to the repo; or pass --samples DIR)")
    try:
        items = json.loads(ann.read_text())
    except ValueError as e:
        fail(f"{ann} is not valid JSON: {e}")
    if not isinstance(items, list) or not items:
        fail(f"{ann} holds no annotated images")
    missing = [it["image"] for it in items if not (folder / it["image"]).is_file()]
    if missing:
        fail(f"{len(missing)} annotated image(s) missing under {folder}, e.g. {missing[:3]}")
    return items


def ensure_bundle(model: str) -> Path | None:
    path = MODELS_DIR / f"pose_landmarker_{model}.task"
    if path.is_file():
        return path
    print(f"[{model}] {path.relative_to(REPO)} missing: running models/build.py {model}", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, str(MODELS_DIR / "build.py"), model, "--no-load-test"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not path.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"[{model}] SKIPPED: bundle missing and could not be built (exit {proc.returncode}): "
              + " | ".join(tail), file=sys.stderr)
        return None
    return path


def read_image(path: Path):
    import cv2
    import mediapipe as mp

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"cannot read image {path}")
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), rgb.shape[1], rgb.shape[0]


def annotated_points(person: dict) -> dict[str, np.ndarray]:
    return {name: np.array(v[:2], dtype=float)
            for name, v in person["keypoints"].items() if name in MP_INDEX and len(v) >= 3 and v[2] == 2}


def pick_pose(poses, gt: dict[str, np.ndarray], w: int, h: int):
    """The detected pose whose hips/knees lie closest to the annotated ones (mean px distance)."""
    best, best_cost = None, float("inf")
    for lms in poses:
        pts = {n: np.array([lms[i].x * w, lms[i].y * h]) for n, i in MP_INDEX.items()}
        d = [np.hypot(*(pts[j] - gt[j])) for j in MATCH_JOINTS if j in gt]
        if not d:  # no visible hip/knee annotated: fall back to any annotated joint
            d = [np.hypot(*(pts[j] - gt[j])) for j in gt]
        cost = float(np.mean(d)) if d else 0.0
        if cost < best_cost:
            best, best_cost = pts, cost
    return best


def _other_side(name: str) -> str:
    return name.replace("left_", "right_") if name.startswith("left_") else name.replace("right_", "left_")


def is_lr_swapped(pred: dict[str, np.ndarray], gt: dict[str, np.ndarray]) -> bool:
    """Diagnostic: hips/knees/ankles fit the annotation clearly better with left and right exchanged."""
    joints = [j for j in KP_JOINTS if j in gt and _other_side(j) in gt]
    if len(joints) < 4:
        return False
    same = sum(np.hypot(*(pred[j] - gt[j])) for j in joints)
    swapped = sum(np.hypot(*(pred[_other_side(j)] - gt[j])) for j in joints)
    return bool(swapped < 0.5 * same)


def run_model(model: str, bundle: Path, items: list[dict], folder: Path, num_poses: int) -> dict:
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(bundle)),
                                        running_mode=vision.RunningMode.IMAGE, num_poses=num_poses)
    t0 = time.perf_counter()
    landmarker = vision.PoseLandmarker.create_from_options(opts)
    load_s = time.perf_counter() - t0
    hip_err, knee_err, kp_err, per_image = [], [], [], []
    n_detected = n_swapped = 0
    infer_s = 0.0
    with landmarker:
        for it in items:
            img, w, h = read_image(folder / it["image"])
            t = time.perf_counter()
            res = landmarker.detect(img)
            infer_s += time.perf_counter() - t
            gt = annotated_points(it["people"][0])
            rec = {"image": it["image"], "detected": bool(res.pose_landmarks), "n_poses": len(res.pose_landmarks)}
            if res.pose_landmarks:
                n_detected += 1
                pred = pick_pose(res.pose_landmarks, gt, w, h)
                a_gt, a_mp = joint_angles(gt), joint_angles(pred)
                rec["angles_gt"], rec["angles_mp"] = a_gt, a_mp
                for k in a_gt:
                    if np.isfinite(a_gt[k]) and np.isfinite(a_mp[k]):
                        (hip_err if k.endswith("_hip") else knee_err).append(abs(a_mp[k] - a_gt[k]))
                rec["kp_err_px"] = {j: float(np.hypot(*(pred[j] - gt[j]))) for j in KP_JOINTS if j in gt}
                kp_err.extend(rec["kp_err_px"].values())
                rec["lr_swapped"] = is_lr_swapped(pred, gt)
                n_swapped += rec["lr_swapped"]
            per_image.append(rec)

    def stat(v, q):
        return float(np.percentile(v, q)) if v else float("nan")

    return {
        "model": model, "bundle": bundle.name, "images": len(items), "detected": n_detected,
        "detection_rate": n_detected / len(items),
        "hip_n": len(hip_err), "hip_median_abs_err_deg": stat(hip_err, 50), "hip_p90_abs_err_deg": stat(hip_err, 90),
        "knee_n": len(knee_err), "knee_median_abs_err_deg": stat(knee_err, 50),
        "knee_p90_abs_err_deg": stat(knee_err, 90),
        "kp_n": len(kp_err), "kp_median_err_px": stat(kp_err, 50), "lr_swapped": n_swapped,
        "load_s": load_s, "infer_s": infer_s, "ms_per_image": 1000 * infer_s / len(items),
        "per_image": per_image,
    }


def format_table(results: list[dict]) -> str:
    head = (f"{'model':<6} {'detected':>12} {'hip N':>6} {'hip med':>8} {'hip p90':>8} "
            f"{'knee N':>6} {'knee med':>8} {'knee p90':>8} {'kp N':>5} {'kp med px':>9} {'L/R swap':>8} "
            f"{'ms/img':>7} {'total s':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        det = f"{r['detected']}/{r['images']} {100 * r['detection_rate']:.0f}%"
        lines.append(
            f"{r['model']:<6} {det:>12} {r['hip_n']:>6} {r['hip_median_abs_err_deg']:>8.1f} "
            f"{r['hip_p90_abs_err_deg']:>8.1f} {r['knee_n']:>6} {r['knee_median_abs_err_deg']:>8.1f} "
            f"{r['knee_p90_abs_err_deg']:>8.1f} {r['kp_n']:>5} {r['kp_median_err_px']:>9.1f} {r['lr_swapped']:>8} "
            f"{r['ms_per_image']:>7.1f} {r['load_s'] + r['infer_s']:>8.1f}")
    return "\n".join(lines)


NOTES = """\
Angle errors are absolute differences in degrees, pooled over left and right; 'med' = median,
'p90' = 90th percentile. Hip = unsigned angle between the trunk line extended downward
(mid-shoulder -> mid-hip) and the thigh; knee = unsigned angle between thigh and shank
(0 = straight). docs/angles.md signs the hip angle by the facing direction, which the
annotation alone does not give, so the hip is compared unsigned. Only joints annotated
visible count; an angle counts only on images where a pose was detected. kp = hips, knees,
ankles (pixel distance, images are ~150-300 px tall). ms/img = detect() only; total s
includes loading the model. Sides are the person's own: a left/right swap counts as error;
'L/R swap' = detected images whose hips/knees/ankles fit the annotation clearly better
(< half the summed distance) with the model's left and right exchanged (diagnostic only)."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="LSPet lower-body keypoint/angle benchmark for PoseLandmarker bundles.")
    ap.add_argument("--models", nargs="+", default=list(ALL_MODELS), choices=ALL_MODELS)
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the summary and per-image results here")
    ap.add_argument("--samples", type=Path, default=Path(os.environ.get("FORMCHECK_KEYPOINT_SAMPLES", DEFAULT_SAMPLES)),
                    help=f"samples folder (default {DEFAULT_SAMPLES})")
    ap.add_argument("--num-poses", type=int, default=3, help="poses to detect per image; the best-matching is scored")
    args = ap.parse_args(argv)

    folder = args.samples.resolve()
    items = load_samples(folder)
    try:
        import mediapipe as mp
    except ImportError as e:
        fail(f"mediapipe is not importable: {e}")
    print(f"LSPet lower-body benchmark: {len(items)} images from {folder}; mediapipe {mp.__version__}; "
          f"num_poses={args.num_poses}; angles via {ANGLE_SOURCE}", flush=True)

    results, skipped = [], []
    for model in dict.fromkeys(args.models):
        bundle = ensure_bundle(model)
        if bundle is None:
            skipped.append(model)
            continue
        print(f"[{model}] running {bundle.name} on {len(items)} images ...", file=sys.stderr, flush=True)
        results.append(run_model(model, bundle, items, folder, args.num_poses))

    print()
    print(format_table(results))
    for m in skipped:
        print(f"{m:<6} SKIPPED: bundle missing and models/build.py {m} failed")
    print()
    print(NOTES)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "samples": str(folder), "images": len(items), "mediapipe": mp.__version__,
            "num_poses": args.num_poses, "angle_helper": ANGLE_SOURCE, "skipped": skipped, "results": results,
        }, indent=1, default=float))
        print(f"\nwrote {args.json}")
    if not results:
        fail("no model could be run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
