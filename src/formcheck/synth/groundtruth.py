"""Ground truth of a synthetic clip: landmarks, projections, visibility, angles, events.

Files written next to the MP4:
  truth.npz   per-frame arrays (see `TRUTH_ARRAYS` below)
  truth.json  metadata: motion, knobs, seed, body, camera, look, events, reach distances,
              compensations and the conventions of every array

Angles come in two families:
  anat_*      the true anatomical joint angles that drove the skeleton (rig conventions)
  fc2d_* / fc3d_*  formcheck's own angle definitions (docs/angles.md, implemented in
              formcheck.kinematics.angles) applied to the TRUE 2D projections and TRUE 3D
              points, i.e. exactly what the pipeline would report with perfect landmarks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from formcheck import landmarks as lm
from formcheck.synth.camera import Camera
from formcheck.synth.rig import anatomical_angles

# Margin (m) between a landmark (a joint centre inside the body) and the surface in front of
# it: a landmark is occluded when the rendered surface at its pixel is nearer than this.
_MARGIN = np.full(lm.NUM_LANDMARKS, 0.05)
_MARGIN[[23, 24]] = 0.16
_MARGIN[[25, 26, 11, 12]] = 0.09
_MARGIN[[27, 28, 13, 14]] = 0.07
_MARGIN[[15, 16, 29, 30, 31, 32]] = 0.05
_MARGIN[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] = 0.035

TRUTH_ARRAYS = {
    "time_s": "(T,) seconds",
    "world_xyz": "(T,33,3) metres, synth world: x forward, y up, z person's right, floor y=0",
    "world_mp": "(T,33,3) metres, MediaPipe world convention: origin mid-hip, y down, "
                "x,z = synth (x, -z) rotated 180 deg about x (right-handed)",
    "image_xy": "(T,33,2) pixels, x right, y down, (0,0) top-left corner",
    "depth_m": "(T,33) distance along the optical axis",
    "in_frame": "(T,33) bool",
    "visible": "(T,33) bool: in frame and not hidden behind another body part or prop",
    "facing": "(T,) +1 person faces image-right, -1 image-left, 0 frontal (|cos| < 0.5)",
    "anchor_right": "(T,) bool: the right foot is the anchored (stance) foot",
    "working_right": "(T,) bool: the working side is right",
    "comp_weight": "(T,) 0..1 compensation weight (1 at the bottom of a rep)",
    "comp_<name>": "(T,) injected amount (deg, or 0/1) per compensation",
    "anat_<name>": "(T,) true anatomical angles, deg",
    "fc2d_<column>": "(T,) formcheck 2D angle columns on the true projections",
    "fc3d_<column>": "(T,) formcheck 3D angle columns on the true 3D points",
    "reach_m": "(T,) mSEBT: reach toe-tip distance from the stance toe tip along the reach "
               "direction, horizontal, metres (NaN outside mSEBT trials)",
    "reach_norm": "(T,) reach_m / leg length (hip joint centre to ankle joint centre, standing)",
}


def to_mediapipe_world(world: np.ndarray) -> np.ndarray:
    mid = 0.5 * (world[:, lm.LEFT_HIP] + world[:, lm.RIGHT_HIP])
    w = world - mid[:, None, :]
    return np.stack([w[..., 0], -w[..., 1], -w[..., 2]], axis=-1)


def formcheck_angles(image_xy: np.ndarray, facing: np.ndarray, world_mp: np.ndarray) -> dict:
    """Thin adapter over formcheck.kinematics.angles (angles_2d, angles_3d)."""
    out: dict[str, np.ndarray] = {}
    try:
        from formcheck.kinematics.angles import angles_2d, angles_3d
    except ImportError:  # pragma: no cover - before the kinematics package existed
        return out
    for k, v in angles_2d(image_xy, facing).items():
        out[f"fc2d_{k}"] = np.asarray(v, dtype=float)
    for k, v in angles_3d(world_mp).items():
        out[f"fc3d_{k}"] = np.asarray(v, dtype=float)
    return out


def facing_from_truth(frames, cam: Camera) -> np.ndarray:
    right = cam.R[0]
    out = np.zeros(len(frames))
    for i, fr in enumerate(frames):
        fwd = fr.frames["pelvis"][:, 0]
        fwd = np.array([fwd[0], 0.0, fwd[2]])
        fwd /= np.linalg.norm(fwd)
        c = fwd @ right
        out[i] = np.sign(c) if abs(c) >= 0.5 else 0.0
    return out


def visible_in_depth_map(uv: np.ndarray, depth: np.ndarray, depth_map: np.ndarray) -> np.ndarray:
    """(33,) bool for one frame: landmark in frame and not behind the rendered surface."""
    h, w = depth_map.shape
    out = np.zeros(len(uv), bool)
    for k in range(len(uv)):
        x, y = uv[k]
        if not (0 <= x < w and 0 <= y < h and depth[k] > 0):
            continue
        x, y = int(x), int(y)
        surf = float(np.max(depth_map[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]))
        out[k] = surf >= depth[k] - _MARGIN[k]
    return out


def visibility(image_xy, depth, depth_maps, width, height) -> tuple[np.ndarray, np.ndarray]:
    T = image_xy.shape[0]
    in_frame = ((image_xy[..., 0] >= 0) & (image_xy[..., 0] < width) &
                (image_xy[..., 1] >= 0) & (image_xy[..., 1] < height) & (depth > 0))
    vis = np.zeros_like(in_frame)
    if depth_maps is None:
        return in_frame, in_frame.copy()
    if isinstance(depth_maps, np.ndarray) and depth_maps.shape == in_frame.shape:
        return in_frame, depth_maps.astype(bool) & in_frame  # already a visibility array
    for t in range(T):
        vis[t] = visible_in_depth_map(image_xy[t], depth[t], depth_maps[t])
    return in_frame, vis


def reach_series(plan, frames, sk) -> tuple[np.ndarray, list]:
    T = len(frames)
    reach = np.full(T, np.nan)
    trials: list[dict] = []
    if not plan.motion.startswith("msebt"):
        return reach, trials
    for rep in plan.reps:
        stance = rep["side"]
        reach_side = "left" if stance == "right" else "right"
        ang = {"anterior": 0.0, "posteromedial": 135.0, "posterolateral": -135.0}[rep["direction"]]
        sgn = 1.0 if reach_side == "right" else -1.0
        u = np.array([np.cos(np.radians(ang)), 0.0, np.sin(np.radians(ang)) * sgn])
        trials.append({"u": u, "stance": stance, "reach_side": reach_side, "rep": rep})
    return reach, trials


def build_truth(plan, sk, cam: Camera, times, frames, injected, depth_maps=None) -> tuple[dict, dict]:
    world = np.array([f.landmarks() for f in frames])
    image_xy, depth = cam.project(world)
    in_frame, vis = visibility(image_xy, depth, depth_maps, cam.width, cam.height)
    facing = facing_from_truth(frames, cam)
    world_mp = to_mediapipe_world(world)
    arrays: dict[str, np.ndarray] = {
        "time_s": np.asarray(times, float), "world_xyz": world, "world_mp": world_mp,
        "image_xy": image_xy, "depth_m": depth, "in_frame": in_frame, "visible": vis,
        "facing": facing,
        "anchor_right": np.array([plan.at(plan.anchors, t) == "right" for t in times]),
        "working_right": np.array([plan.at(plan.working, t) == "right" for t in times]),
        "comp_weight": np.array([plan.weight(t) for t in times]),
    }
    for name in injected[0]:
        arrays[f"comp_{name}"] = np.array([inj[name] for inj in injected])
    anat = [anatomical_angles(f) for f in frames]
    for k in anat[0]:
        arrays[f"anat_{k}"] = np.array([a[k] for a in anat])
    arrays.update(formcheck_angles(image_xy, facing, world_mp))

    # Events (frame indices) and mSEBT reach.
    fps = 1.0 / (times[1] - times[0]) if len(times) > 1 else 30.0
    reach, trials = reach_series(plan, frames, sk)
    events = []
    for i, rep in enumerate(plan.reps):
        ev = {"rep": i + 1, "side": rep["side"]}
        for k, v in rep.items():
            if isinstance(v, float):
                ev[f"{k}_s"] = round(v, 4)
                ev[f"{k}_frame"] = int(round(v * fps))
            elif k != "side":
                ev[k] = v
        events.append(ev)
    reaches = []
    for tr, ev in zip(trials, events):
        rep = tr["rep"]
        i0, i1 = int(round(rep["start"] * fps)), min(int(round(rep["end"] * fps)), len(frames) - 1)
        st = "right" if tr["stance"] == "right" else "left"
        idx_st = lm.SIDE_LANDMARKS[st]["foot_index"]
        idx_re = lm.SIDE_LANDMARKS[tr["reach_side"]]["foot_index"]
        d = world[i0:i1 + 1, idx_re] - world[i0:i1 + 1, idx_st]
        r = d @ tr["u"]
        reach[i0:i1 + 1] = r
        k = int(np.argmax(r))
        toe_h = world[i0:i1 + 1, idx_re, 1]
        reaches.append({"rep": ev["rep"], "direction": rep["direction"], "stance": st,
                        "max_reach_m": float(r[k]), "max_reach_norm": float(r[k] / sk.leg_length),
                        "max_reach_frame": i0 + k, "touchdown": bool(rep.get("touchdown", False)),
                        "min_toe_height_m": float(toe_h.min())})
        ev["max_reach_frame_measured"] = i0 + k
    arrays["reach_m"] = reach
    arrays["reach_norm"] = reach / sk.leg_length
    meta = {"events": events, "msebt_reaches": reaches,
            "reach_definition": "horizontal distance from the stance foot's toe tip (foot_index) to "
                                "the reaching foot's toe tip, projected on the reach direction; "
                                "normalised by leg length = standing hip-joint-centre to ankle-joint-"
                                "centre distance (~ ASIS to medial malleolus)",
            "leg_length_m": sk.leg_length, "arrays": TRUTH_ARRAYS}
    return arrays, meta


def write_truth(out_dir: Path, arrays: dict, meta: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "truth.npz", **arrays)
    (out_dir / "truth.json").write_text(json.dumps(meta, indent=1, default=_json_default))


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(type(o))


def load_truth(out_dir: Path) -> tuple[dict, dict]:
    out_dir = Path(out_dir)
    with np.load(out_dir / "truth.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((out_dir / "truth.json").read_text())
