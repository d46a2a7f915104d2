"""Render a synthetic clip with its ground truth: `synthesize(SynthConfig(...), out_dir)`."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.synth.camera import make_camera
from formcheck.synth.groundtruth import build_truth, write_truth
from formcheck.synth.motions import build_plan, simulate
from formcheck.synth.render import Renderer, random_look
from formcheck.synth.skeleton import BodySize, make_skeleton


@dataclass
class SynthConfig:
    motion: str = "forward_lunge"
    side: str = "right"                 # left | right | alternate
    reps: int = 3
    rep_s: float | None = None          # seconds per rep (tempo); None = the motion's default
    rest_s: float = 0.5
    compensations: dict = field(default_factory=dict)
    body: BodySize = field(default_factory=BodySize)
    view: str = "side"                  # side | front | oblique | back
    azimuth_deg: float | None = None    # overrides view
    cam_distance: float = 3.6
    cam_height: float = 1.0
    fov_h_deg: float = 62.0
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    noise_sigma: float = 2.0            # sensor noise, grey levels (0..255)
    motion_blur: int = 1                # sub-frames averaged per frame (1 = off; odd)
    seed: int = 0
    box_height: float = 0.30
    crf: int = 23
    video_name: str = "clip.mp4"
    marker_cm: float = 0.0              # > 0: a printed ArUco marker (DICT_4X4_50 id 0) on the floor

    def to_dict(self) -> dict:
        d = asdict(self)
        d["body"] = self.body.to_dict()
        if not self.marker_cm:
            d.pop("marker_cm")          # configs without a marker keep their earlier form (and hashes)
        return d


def floor_marker(frames, side: str, cam_pos: np.ndarray, size_m: float) -> dict:
    """An ArUco marker prop lying flat beside the working (stance) foot, on the camera's side of
    it (nothing but floor between it and the camera), its edges square to the camera."""
    s = "right" if side != "left" else "left"
    ball = frames[0].joints[f"{s}_ball"]
    to_cam = np.array([cam_pos[0] - ball[0], cam_pos[2] - ball[2]])
    to_cam /= np.linalg.norm(to_cam)
    centre = np.array([ball[0], ball[2]]) + to_cam * (0.12 + size_m)
    return {"type": "aruco", "dictionary": "DICT_4X4_50", "id": 0, "size_m": size_m,
            "centre": centre.tolist(), "axis_x": [to_cam[1], -to_cam[0]]}


def _target(frames) -> np.ndarray:
    pts = np.array([f.joints["mid_hip"] for f in frames])
    feet = np.array([[f.joints["left_ball"], f.joints["right_ball"]] for f in frames]).reshape(-1, 3)
    lo = np.minimum(pts.min(0), feet.min(0))
    hi = np.maximum(pts.max(0), feet.max(0))
    c = 0.5 * (lo + hi)
    return np.array([c[0], 0.85, c[2]])


def synthesize(cfg: SynthConfig, out_dir: str | Path, *, write_video: bool = True,
               keep_frames: bool = False, progress: bool = False) -> dict:
    """Render the clip and write video + truth into out_dir. Returns a summary dict
    (and the frames under "frames" when keep_frames)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    sk = make_skeleton(cfg.body)
    plan = build_plan(cfg.motion, sk, side=cfg.side, reps=cfg.reps, rep_s=cfg.rep_s,
                      rest_s=cfg.rest_s, compensations=cfg.compensations, box_height=cfg.box_height)
    nb = max(1, int(cfg.motion_blur))
    if nb % 2 == 0:
        nb += 1
    times_hi, frames_hi, injected_hi, _ = simulate(plan, sk, cfg.fps * nb)
    idx = np.arange(0, len(frames_hi), nb)
    times = times_hi[idx]
    frames = [frames_hi[i] for i in idx]
    injected = [injected_hi[i] for i in idx]
    cam = make_camera(cfg.view, width=cfg.width, height=cfg.height, distance=cfg.cam_distance,
                      cam_height=cfg.cam_height, fov_h_deg=cfg.fov_h_deg, target=_target(frames),
                      azimuth_deg=cfg.azimuth_deg)
    rng = np.random.default_rng(cfg.seed)
    look = random_look(rng)
    noise_rng = np.random.default_rng([cfg.seed, 7])
    noise_bank = None
    if cfg.noise_sigma > 0:
        # A few noise fields, shifted at random per frame: Gaussian per pixel, cheap.
        noise_bank = np.clip(np.round(noise_rng.normal(0, cfg.noise_sigma, (3, cfg.height, cfg.width, 3))),
                             -127, 127).astype(np.int16)
    if cfg.marker_cm > 0:
        plan.props.append(floor_marker(frames, cfg.side, cam.position, cfg.marker_cm / 100))
    renderer = Renderer(cam, look, plan.props)
    # Visibility is decided per frame against the z-buffer (no depth maps kept in memory).
    from formcheck.synth.groundtruth import visible_in_depth_map

    world = np.array([f.landmarks() for f in frames])
    uv_all, z_all = cam.project(world)
    visible = np.zeros(world.shape[:2], bool)
    images: list[np.ndarray] | None = [] if keep_frames else None
    container = stream = None
    video_path = out / cfg.video_name
    if write_video:
        import av

        container = av.open(str(video_path), mode="w")
        from fractions import Fraction

        stream = container.add_stream("libx264", rate=Fraction(cfg.fps).limit_denominator(1001))
        stream.width, stream.height = cfg.width, cfg.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(cfg.crf), "preset": "medium"}
        stream.codec_context.thread_count = 2  # fixed: x264 output is then reproducible
    half = nb // 2
    t_render = time.time()
    for k, i in enumerate(idx.tolist()):
        sub = [frames_hi[j] for j in range(max(0, i - half), min(len(frames_hi), i + half + 1))]
        # Depth for visibility comes from the exact-time pose: render it last.
        sub = [f for f in sub if f is not frames_hi[i]] + [frames_hi[i]]
        img = renderer.render(sub, sk)
        visible[k] = visible_in_depth_map(uv_all[k], z_all[k], renderer.depth())
        if noise_bank is not None:
            b = int(noise_rng.integers(len(noise_bank)))
            dy, dx = (int(v) for v in noise_rng.integers(0, [cfg.height, cfg.width]))
            nz = np.roll(noise_bank[b], (dy, dx), axis=(0, 1))
            img = np.clip(img.astype(np.int16) + nz, 0, 255).astype(np.uint8)
        if images is not None:
            images.append(img)
        if container is not None:
            import av

            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = k
            assert stream is not None  # opened with the container
            for pkt in stream.encode(frame):
                container.mux(pkt)
        if progress and k % 30 == 0:
            print(f"  frame {k}/{len(idx)}", flush=True)
    if container is not None:
        assert stream is not None
        for pkt in stream.encode():
            container.mux(pkt)
        container.close()
    render_s = time.time() - t_render
    renderer.release()
    arrays, meta = build_truth(plan, sk, cam, times, frames, injected, visible)
    meta.update({
        "generator": "formcheck.synth", "config": cfg.to_dict(), "skeleton": sk.to_dict(),
        "camera": cam.to_dict(), "look": look.to_dict(), "props": plan.props,
        "n_frames": len(frames), "fps": cfg.fps, "video": cfg.video_name if write_video else None,
        "compensations": plan.compensations, "trunk_lean_mode": plan.trunk_lean_mode,
        "motion_duration_s": plan.duration,
    })
    write_truth(out, arrays, meta)
    summary: dict[str, Any] = {"out_dir": str(out), "video": str(video_path) if write_video else None,
               "n_frames": len(frames), "render_s": round(render_s, 2),
               "total_s": round(time.time() - t_start, 2), "reps": len(plan.reps)}
    if images is not None:
        summary["frames"] = images
    return summary


def simulate_truth(cfg: SynthConfig) -> tuple[dict, dict]:
    """Ground truth without rendering (no occlusion test: visible = in frame). Fast; for
    tests and for planning camera set-ups."""
    sk = make_skeleton(cfg.body)
    plan = build_plan(cfg.motion, sk, side=cfg.side, reps=cfg.reps, rep_s=cfg.rep_s,
                      rest_s=cfg.rest_s, compensations=cfg.compensations, box_height=cfg.box_height)
    times, frames, injected, _ = simulate(plan, sk, cfg.fps)
    cam = make_camera(cfg.view, width=cfg.width, height=cfg.height, distance=cfg.cam_distance,
                      cam_height=cfg.cam_height, fov_h_deg=cfg.fov_h_deg, target=_target(frames),
                      azimuth_deg=cfg.azimuth_deg)
    arrays, meta = build_truth(plan, sk, cam, times, frames, injected, None)
    meta.update({"config": cfg.to_dict(), "skeleton": sk.to_dict(), "camera": cam.to_dict(),
                 "compensations": plan.compensations, "n_frames": len(frames), "fps": cfg.fps})
    arrays["_ball_left"] = np.array([f.joints["left_ball"] for f in frames])
    arrays["_ball_right"] = np.array([f.joints["right_ball"] for f in frames])
    return arrays, meta
