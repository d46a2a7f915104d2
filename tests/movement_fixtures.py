"""Stick-figure fixtures for the movement tests: 3D joint positions from simple geometry,
projected orthographically into a camera at a chosen yaw, with angles computed by the
formulas of docs/angles.md. No MediaPipe, no video.

Body frame (metres): a = anterior, u = up (floor at u = 0), l = subject's left.
Camera: yaw 90 = side view, subject facing image-right; yaw 0 = front view facing the camera.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import LEFT_EAR, LEFT_EYE, NOSE, NUM_LANDMARKS, RIGHT_EAR, RIGHT_EYE, SIDE_LANDMARKS
from formcheck.series import AngleSeries, PoseSeries

THIGH, SHANK = 0.45, 0.43
ANKLE_H = 0.08
HIP_HALF = 0.11
SHOULDER_HALF = 0.18
TORSO = 0.50
STAND_HIP = THIGH + SHANK + ANKLE_H - 0.005


def _unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


def _rot_about_l(vec, deg):
    """Rotate a body-frame vector about the lateral axis (positive tips anterior->up)."""
    r = np.radians(deg)
    a, u, lat = vec
    return np.array([a * np.cos(r) - u * np.sin(r), a * np.sin(r) + u * np.cos(r), lat])


def ik_knee(hip, ankle, bend_dir):
    d_vec = ankle - hip
    d = min(np.linalg.norm(d_vec), THIGH + SHANK - 1e-6)
    u = _unit(d_vec)
    cos_a = np.clip((THIGH ** 2 + d ** 2 - SHANK ** 2) / (2 * THIGH * d), -1, 1)
    n = _unit(bend_dir - np.dot(bend_dir, u) * u)
    ankle_adj = hip + u * d
    knee = hip + THIGH * (cos_a * u + np.sqrt(1 - cos_a ** 2) * n)
    return knee, ankle_adj


def body_frame(hip_c, trunk_lean=0.0, ankles=None, pitch=None, valgus=None, pelvic_tilt=0.0,
               overhead=False):
    """Joint positions (body frame) of one frame. ankles: {side: (a, u, l)}; pitch: heel-up deg."""
    hip_c = np.asarray(hip_c, float)
    ankles = ankles or {"left": (0, ANKLE_H, HIP_HALF), "right": (0, ANKLE_H, -HIP_HALF)}
    pitch = pitch or {}
    valgus = valgus or {}
    j = {}
    tilt = np.tan(np.radians(pelvic_tilt)) * HIP_HALF
    for s, sg in (("left", 1), ("right", -1)):
        j[f"{s}_hip"] = hip_c + np.array([0, -sg * tilt, sg * HIP_HALF])
    trunk = np.array([np.sin(np.radians(trunk_lean)), np.cos(np.radians(trunk_lean)), 0.0]) * TORSO
    sh_c = hip_c + trunk
    for s, sg in (("left", 1), ("right", -1)):
        j[f"{s}_shoulder"] = sh_c + np.array([0, 0, sg * SHOULDER_HALF])
        if overhead:
            j[f"{s}_elbow"] = j[f"{s}_shoulder"] + np.array([0, 0.28, sg * 0.03])
            j[f"{s}_wrist"] = j[f"{s}_shoulder"] + np.array([0, 0.55, sg * 0.02])
        else:
            j[f"{s}_elbow"] = j[f"{s}_shoulder"] + np.array([0.02, -0.28, sg * 0.04])
            j[f"{s}_wrist"] = j[f"{s}_shoulder"] + np.array([0.05, -0.55, sg * 0.05])
        ank = np.asarray(ankles[s], float)
        medial = np.array([0, 0, -sg])
        bend = np.array([1.0, 0, 0]) + valgus.get(s, 0.0) * medial
        knee, ank = ik_knee(j[f"{s}_hip"], ank, bend)
        j[f"{s}_knee"], j[f"{s}_ankle"] = knee, ank
        p = pitch.get(s, 0.0)
        j[f"{s}_heel"] = ank + _rot_about_l(np.array([-0.05, -0.06, 0]), -p)
        j[f"{s}_foot_index"] = ank + _rot_about_l(np.array([0.15, -0.07, 0]), -p)
        j[f"{s}_ear"] = sh_c + _rot_about_l(np.array([0, 0.2, 0]), -trunk_lean) + np.array([0, 0, sg * 0.07])
        j[f"{s}_eye"] = sh_c + _rot_about_l(np.array([0.08, 0.24, 0]), -trunk_lean) + np.array([0, 0, sg * 0.03])
    j["nose"] = sh_c + _rot_about_l(np.array([0.11, 0.21, 0]), -trunk_lean)
    return j


def project(frames, time_s, yaw_deg=90.0, focal_px=1400.0, distance_m=3.5, camera_height_m=1.0,
            width=1080, height=1920, image_noise_px=0.0, seed=0):
    """Body-frame joint dicts -> PoseSeries: pinhole camera `distance_m` in front of the
    subject's start position at `camera_height_m`; world landmarks metric, hip-centred."""
    phi = np.radians(yaw_deg)
    ant = np.array([np.sin(phi), 0, -np.cos(phi)])
    up = np.array([0, -1.0, 0])
    left = np.cross(up, ant)
    T = len(frames)
    cam = np.full((T, NUM_LANDMARKS, 3), np.nan)
    idx = {f"{s}_{k}": v for s in ("left", "right") for k, v in SIDE_LANDMARKS[s].items()}
    idx.update({"nose": NOSE, "left_ear": LEFT_EAR, "right_ear": RIGHT_EAR, "left_eye": LEFT_EYE,
                "right_eye": RIGHT_EYE})
    for t, j in enumerate(frames):
        if j is None:
            continue
        for name, p in j.items():
            cam[t, idx[name]] = p[0] * ant + p[1] * up + p[2] * left
    rng = np.random.default_rng(seed)
    zc = distance_m + cam[..., 2]
    img = np.stack([width / 2 + focal_px * cam[..., 0] / zc,
                    height / 2 + focal_px * (cam[..., 1] + camera_height_m) / zc], axis=-1)
    if image_noise_px:
        img = img + rng.normal(0, image_noise_px, img.shape)
    mid_hip = (cam[:, 23] + cam[:, 24]) / 2
    world = cam - mid_hip[:, None, :]
    vis = np.where(np.isfinite(img[..., 0]), 0.99, 0.0)
    return PoseSeries(time_s=np.asarray(time_s, float), image_xy=img,
                      image_z=focal_px * (cam[..., 2] - mid_hip[:, None, 2]) / distance_m,
                      world_xyz=world, visibility=vis, presence=vis.copy(), width=width, height=height)


# ---------- angles by docs/angles.md --------------------------------------------------------
def _signed(a, b):
    return np.degrees(np.arctan2(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0], np.sum(a * b, axis=-1)))


def _angle(a, b):
    c = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def angles_from_pose(pose: PoseSeries, facing: float) -> AngleSeries:
    xy, w = pose.image_xy, pose.world_xyz

    def L(s, k):
        return xy[:, SIDE_LANDMARKS[s][k]]

    def W(s, k):
        return w[:, SIDE_LANDMARKS[s][k]]

    mid_hip = (L("left", "hip") + L("right", "hip")) / 2
    mid_sh = (L("left", "shoulder") + L("right", "shoulder")) / 2
    trunk = mid_sh - mid_hip
    fac = np.full(len(pose), float(facing))
    out = {}
    up = np.array([0.0, -1.0])
    for s in ("left", "right"):
        o = "right" if s == "left" else "left"
        thigh, shank = L(s, "knee") - L(s, "hip"), L(s, "ankle") - L(s, "knee")
        foot = L(s, "foot_index") - L(s, "heel")
        hip = -fac * _signed(-trunk, thigh)
        out[f"{s}_hip_flexion_deg"] = np.where(fac != 0, hip, np.nan)
        out[f"{s}_knee_flexion_deg"] = _angle(thigh, shank)
        out[f"{s}_ankle_dorsiflexion_deg"] = 90 - _angle(-shank, foot)
        # FPPA: + when the knee lies toward the other hip relative to the hip-ankle line
        ha = L(s, "ankle") - L(s, "hip")
        rel = L(s, "knee") - L(s, "hip")
        perp = rel - (np.sum(rel * ha, -1) / np.sum(ha * ha, -1))[:, None] * ha
        med = L(o, "hip") - L(s, "hip")
        sign = np.sign(np.sum(perp * med, -1))
        out[f"{s}_knee_fppa_deg"] = np.where(facing == 0, _angle(thigh, shank) * sign, np.nan)
        dy = L(s, "hip")[:, 1] - L(o, "hip")[:, 1]
        dx = np.abs(L(s, "hip")[:, 0] - L(o, "hip")[:, 0])
        out[f"{s}_pelvic_drop_deg"] = np.degrees(np.arctan2(dy, dx))
        lat = _angle(np.broadcast_to(up, trunk.shape), trunk)
        toward = np.sign((mid_sh[:, 0] - mid_hip[:, 0]) * (L(s, "hip")[:, 0] - mid_hip[:, 0]))
        out[f"{s}_trunk_lateral_lean_deg"] = lat * toward
        # 3D: knee flexion and hip flexion in the body's sagittal plane
        t3, s3 = W(s, "knee") - W(s, "hip"), W(s, "ankle") - W(s, "knee")
        out[f"{s}_knee_flexion_3d_deg"] = _angle(t3, s3)
        f3 = W(s, "foot_index") - W(s, "heel")
        out[f"{s}_ankle_dorsiflexion_3d_deg"] = 90 - _angle(-s3, f3)
    out["trunk_lean_deg"] = np.where(fac != 0, fac * _signed(np.broadcast_to(up, trunk.shape), trunk), np.nan)
    # hip flexion 3D: project thigh on the sagittal plane (normal = lateral axis)
    latv = W("left", "hip") - W("right", "hip")
    latv /= np.linalg.norm(latv, axis=-1, keepdims=True)
    tr3 = (W("left", "shoulder") + W("right", "shoulder")) / 2 - (W("left", "hip") + W("right", "hip")) / 2
    V = tr3 - np.sum(tr3 * latv, -1, keepdims=True) * latv
    V /= np.linalg.norm(V, axis=-1, keepdims=True)
    A = np.cross(latv, V)
    nose_dir = w[:, NOSE] - (w[:, LEFT_EAR] + w[:, RIGHT_EAR]) / 2
    A *= np.sign(np.sum(A * nose_dir, -1, keepdims=True))
    for s in ("left", "right"):
        t3 = W(s, "knee") - W(s, "hip")
        out[f"{s}_hip_flexion_3d_deg"] = np.degrees(np.arctan2(np.sum(t3 * A, -1), np.sum(t3 * -V, -1)))
    worldup = np.array([0, -1.0, 0])
    out["trunk_lean_3d_deg"] = np.degrees(np.arctan2(np.sum(tr3 * A, -1), np.sum(tr3 * worldup, -1)))
    return AngleSeries(time_s=pose.time_s.copy(), angles=out, facing=fac)


# ---------- movement scripts -----------------------------------------------------------------
def rep_phase(t, starts, down_s=1.0, pause_s=0.0, up_s=1.0, depths=None):
    """0 = standing, 1 = bottom; cosine ramps; one value per rep start."""
    p = np.zeros_like(t)
    depths = depths if depths is not None else [1.0] * len(starts)
    for st, d in zip(starts, depths):
        a = np.clip((t - st) / down_s, 0, 1)
        b = np.clip((t - st - down_s - pause_s) / up_s, 0, 1)
        ramp_down = (1 - np.cos(np.pi * a)) / 2
        ramp_up = (1 - np.cos(np.pi * b)) / 2
        p = np.maximum(p, d * (ramp_down - ramp_up))
    return p


def _ramp(x):
    x = np.clip(x, 0.0, 1.0)
    return (1 - np.cos(np.pi * x)) / 2


def _finish(frames, t, yaw, noise_px=0.0, seed=0):
    pose = project(frames, t, yaw_deg=yaw, image_noise_px=noise_px, seed=seed)
    facing = 0.0 if abs(yaw) < 30 else float(np.sign(yaw)) if abs(yaw) > 60 else float(np.sign(yaw))
    return pose, angles_from_pose(pose, facing)


def standing_ankles(width=HIP_HALF):
    return {"left": np.array([0, ANKLE_H, width]), "right": np.array([0, ANKLE_H, -width])}


def squat(n=4, fps=30, yaw=90.0, depth=0.38, trunk=25.0, rep_s=3.0, pause_s=0.0, depths=None,
          valgus=0.0, noise_px=0.0, seed=0):
    T = n * rep_s + 1.5
    t = np.arange(0, T, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    ph = rep_phase(t, starts, down_s=(rep_s - pause_s - 0.6) / 2, pause_s=pause_s,
                   up_s=(rep_s - pause_s - 0.6) / 2, depths=depths)
    frames = []
    for p in ph:
        hip = np.array([-0.25 * p, STAND_HIP - depth * p, 0])
        frames.append(body_frame(hip, trunk_lean=trunk * p, ankles=standing_ankles(0.16),
                                 valgus={"left": valgus * p, "right": valgus * p}))
    return _finish(frames, t, yaw, noise_px, seed)


def lunge(sides=("left", "right", "left", "right"), kind="reverse", fps=30, yaw=90.0, rep_s=3.0,
          pause_s=0.0, depths=None, trunk=8.0, knee_drive=False, overhead=False, noise_px=0.0, seed=0):
    """Alternating lunges; `sides` = working (front) leg per rep; kind reverse, forward or walking,
    or one kind per rep (a walking step moves where the later reps happen)."""
    n = len(sides)
    kinds = [kind] * n if isinstance(kind, str) else list(kind)
    at = np.cumsum([0.0] + [0.85 * (k == "walking") for k in kinds])     # where each rep starts
    T = n * rep_s + 1.5
    t = np.arange(0, T, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    down = (rep_s - pause_s - 1.0) / 2
    frames = []
    depths = depths or [1.0] * n
    for ti in t:
        k = max([i for i, st in enumerate(starts) if ti >= st - 0.01], default=None)
        ank = standing_ankles()
        hip = np.array([0, STAND_HIP, 0.0])
        pitch, lean, over = {}, 0.0, False
        if k is not None:
            st, side, d = starts[k], sides[k], depths[k]
            rear = "right" if side == "left" else "left"
            p = rep_phase(np.array([ti]), [st], down_s=down, pause_s=pause_s, up_s=down, depths=[d])[0]
            step = min(1.0, p / 0.35) if p > 0 else 0.0   # foot travels during the first part
            L = 0.85 * step
            if kinds[k] == "reverse":
                front_a, rear_a, hip_a = 0.0, -L, -0.35 * L
            elif kinds[k] == "walking":   # step forward, come up onto the front foot: the body travels
                if ti < st + down + pause_s:
                    front_a, rear_a, hip_a = L, 0.0, 0.5 * L
                else:
                    front_a, rear_a, hip_a = 0.85, 0.85 - L, 0.85 - 0.5 * L
            else:  # forward
                front_a, rear_a, hip_a = L, 0.0, 0.5 * L
            front_a, rear_a, hip_a = front_a + at[k], rear_a + at[k], hip_a + at[k]
            sgf = 1 if side == "left" else -1
            ank = {side: np.array([front_a, ANKLE_H, sgf * HIP_HALF]),
                   rear: np.array([rear_a, ANKLE_H + 0.09 * step, -sgf * HIP_HALF])}
            pitch = {rear: 45 * step}
            hip = np.array([hip_a, STAND_HIP - 0.40 * p * step, 0])
            lean = trunk * p
            over = overhead and p > 0.05
            end_t = st + 2 * down + pause_s
            if knee_drive and end_t <= ti < end_t + 0.6:
                q = np.sin(np.pi * (ti - end_t) / 0.6)
                ank[rear] = np.array([0.25 * q, ANKLE_H + 0.55 * q, -sgf * HIP_HALF])
                pitch = {rear: 0}
        frames.append(body_frame(hip, trunk_lean=lean, ankles=ank, pitch=pitch, overhead=over))
    return _finish(frames, t, yaw, noise_px, seed)


def step_up(sides=("right", "left", "right"), fps=30, yaw=90.0, box=0.35, rep_s=4.0, knee_drive=False,
            noise_px=0.0, seed=0):
    n = len(sides)
    t = np.arange(0, n * rep_s + 1.5, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    frames = []
    for ti in t:
        k = max([i for i, st in enumerate(starts) if ti >= st - 0.01], default=None)
        ank = standing_ankles()
        hip = np.array([0, STAND_HIP, 0.0])
        lean = 0.0
        if k is not None:
            lead = sides[k]
            free = "right" if lead == "left" else "left"
            sg = 1 if lead == "left" else -1
            u = ti - starts[k]
            # 0-0.6 lift lead foot onto box; 0.6-1.6 rise; 1.6-2.4 top; 2.4-3.4 down
            place = np.clip(u / 0.6, 0, 1)
            rise = (1 - np.cos(np.pi * np.clip((u - 0.6) / 1.0, 0, 1))) / 2
            lower = (1 - np.cos(np.pi * np.clip((u - 2.4) / 1.0, 0, 1))) / 2
            r = rise - lower
            lead_pos = np.array([0.35 * place * (1 - np.clip((u - 3.4) / 0.4, 0, 1)),
                                 ANKLE_H
                                 + (box + 0.05 * np.sin(np.pi * place)) * place * (1 - np.clip((u - 3.4) / 0.4, 0, 1)),
                                 sg * HIP_HALF])
            hip = np.array([0.35 * r,
                            STAND_HIP + box * r - 0.12 * place * (1 - r) * (1 - np.clip((u - 3.4) / 0.4, 0, 1)),
                            0])
            free_pos = np.array([0.35 * r, ANKLE_H + box * r, -sg * HIP_HALF])
            if r > 0.95 and knee_drive:
                free_pos = np.array([0.6, hip[1] - 0.35, -sg * HIP_HALF])
            elif 0.05 < r < 0.95:
                free_pos = free_pos + np.array([0, 0.05, 0])
            ank = {lead: lead_pos, free: free_pos}
            lean = 15 * place * (1 - r)
        frames.append(body_frame(hip, trunk_lean=lean, ankles=ank))
    return _finish(frames, t, yaw, noise_px, seed)


def sebt(trials=(("left", "anterior"), ("right", "anterior")), fps=30, yaw=90.0, reach=0.85, rep_s=4.0,
         reaches=None, heel_lift=False, noise_px=0.0, seed=0, hip_ratio=1.0):
    """Reach trials: (stance side, direction). reach in leg lengths of the reaching toe.
    hip_ratio scales how far the hips sit back (and the trunk leans) on anterior reaches;
    negative = hips pushed forward over the foot (knee-dominant)."""
    LL = THIGH + SHANK
    n = len(trials)
    t = np.arange(0, n * rep_s + 1.5, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    reaches = reaches or [reach] * n
    frames = []
    for ti in t:
        k = max([i for i, st in enumerate(starts) if ti >= st - 0.01], default=None)
        ank = standing_ankles()
        hip = np.array([0, STAND_HIP, 0.0])
        lean, pitch = 0.0, {}
        if k is not None:
            stance, direction = trials[k]
            free = "right" if stance == "left" else "left"
            sgs = 1 if stance == "left" else -1
            p = rep_phase(np.array([ti]), [starts[k]], down_s=1.3, pause_s=0.4, up_s=1.3)[0]
            lift = np.sin(np.pi * min(p, 1.0)) * 0.04 if p < 0.98 else 0.0
            medial = -sgs  # toward the free-leg side, in l units
            dirv = {"anterior": np.array([1.0, 0, 0]),
                    "posteromedial": _unit(np.array([-1.0, 0, medial * 1.0])),
                    "posterolateral": _unit(np.array([-1.0, 0, -medial * 1.0]))}[direction]
            stance_ank = np.array([0, ANKLE_H, sgs * HIP_HALF])
            free_rest = np.array([0, ANKLE_H, -sgs * HIP_HALF])
            target = stance_ank + dirv * reaches[k] * LL       # along the grid line from the stance foot
            free_ank = free_rest + (target - free_rest) * p + np.array([0, lift, 0])
            ank = {stance: stance_ank, free: free_ank}
            if direction == "anterior":
                hip = np.array([-0.18 * p * hip_ratio, STAND_HIP - 0.22 * p, sgs * 0.05 * p])
                lean = 20 * p * hip_ratio
            else:
                hip = np.array([0.10 * p, STAND_HIP - 0.25 * p, sgs * 0.05 * p])
                lean = 40 * p
            if heel_lift:
                pitch = {stance: 40 * p}
                ank[stance] = stance_ank + np.array([0, 0.06 * p, 0])
        frames.append(body_frame(hip, trunk_lean=lean, ankles=ank, pitch=pitch))
    return _finish(frames, t, yaw, noise_px, seed)


def single_leg_squat(n=3, stance="left", fps=30, yaw=0.0, rep_s=3.0, depth=0.25, valgus=0.0,
                     pelvic_drop=0.0, noise_px=0.0, seed=0):
    t = np.arange(0, n * rep_s + 1.5, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    ph = rep_phase(t, starts, down_s=1.1, pause_s=0.2, up_s=1.1)
    free = "right" if stance == "left" else "left"
    sg = 1 if stance == "left" else -1
    frames = []
    for p in ph:
        hip = np.array([-0.1 * p, STAND_HIP - depth * p, sg * 0.03])
        ank = {stance: np.array([0, ANKLE_H, sg * HIP_HALF]),
               free: np.array([-0.25 - 0.1 * p, ANKLE_H + 0.3 - 0.5 * depth * p, -sg * HIP_HALF])}
        tilt = -sg * pelvic_drop * p   # free side drops
        frames.append(body_frame(hip, trunk_lean=20 * p, ankles=ank, valgus={stance: valgus * p},
                                 pelvic_tilt=tilt))
    return _finish(frames, t, yaw, noise_px, seed)


def angle_series(t, cols: dict[str, np.ndarray], facing=1.0) -> AngleSeries:
    """A bare AngleSeries from columns (for segmentation/rule tests)."""
    return AngleSeries(time_s=np.asarray(t, float), angles={k: np.asarray(v, float) for k, v in cols.items()},
                       facing=np.full(len(t), float(facing)))


def split_squat(n=4, front="left", fps=30, yaw=90.0, rep_s=3.0, rear_elevated=0.0, step_in=False, noise_px=0.0,
                seed=0):
    """Feet planted apart (front foot ahead), both knees bend; optional rear foot on a bench.
    step_in: the clip starts with the feet together and the subject steps into the split stance
    (0.1-0.6 s) just before the first rep, as when setting up."""
    t = np.arange(0, n * rep_s + 1.5, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    ph = rep_phase(t, starts, down_s=1.0, pause_s=0.2, up_s=1.0)
    rear = "right" if front == "left" else "left"
    sg = 1 if front == "left" else -1
    frames = []
    for ti, p in zip(t, ph):
        w = _ramp((ti - 0.1) / 0.5) if step_in else 1.0
        ank = {front: np.array([0.45 * w, ANKLE_H, sg * HIP_HALF]),
               rear: np.array([(-0.45 - 0.35 * (rear_elevated > 0)) * w, ANKLE_H + (0.09 + rear_elevated) * w,
                               -sg * HIP_HALF])}
        hip = np.array([0.0, STAND_HIP - 0.1 * w - 0.35 * p, 0])
        frames.append(body_frame(hip, trunk_lean=8 * p, ankles=ank, pitch={rear: 45 * w}))
    return _finish(frames, t, yaw, noise_px, seed)


def jump(n=3, fps=30, yaw=90.0, height=0.3, box=0.0, rep_s=4.0, tuck=0.0, land_dip=0.12, noise_px=0.0, seed=0):
    """Two-footed jumps, not an exercise formcheck knows: a countermovement dip, both feet leave the
    floor together, flight (`tuck`: the feet drawn up under the hips, m), landing in a squat
    `land_dip` deep and standing up. With `box` > 0 the jump lands on a box that far up (0.4 m
    forward) and the subject steps down, one foot then the other."""
    t = np.arange(0, n * rep_s + 1.5, 1 / fps)
    starts = [0.75 + i * rep_s for i in range(n)]
    fwd = 0.4 if box else 0.0
    frames = []
    for ti in t:
        k = max([i for i, st in enumerate(starts) if ti >= st - 0.01], default=None)
        u = ti - starts[k] if k is not None else -1.0
        dip = 0.18 * (_ramp(u / 0.5) - _ramp((u - 0.5) / 0.2))            # countermovement, push
        s = np.clip((u - 0.7) / 0.5, 0, 1) if u >= 0.7 else 0.0           # flight, both feet at once
        lift = box * s + height * 4 * s * (1 - s)
        drawn = tuck * np.sin(np.pi * s)                                   # knees pulled up in flight
        land = land_dip * (_ramp((u - 1.2) / 0.15) - _ramp((u - 1.35) / 0.3))
        down = {"right": _ramp((u - 2.2) / 0.5), "left": _ramp((u - 2.5) / 0.5)}  # step down off the box
        ank = {}
        for side, sg in (("left", 1), ("right", -1)):
            r = down[side] if box else 0.0
            ank[side] = np.array([fwd * s * (1 - r), ANKLE_H + (lift + drawn) * (1 - r) if u < 2.2 or not box else
                                  ANKLE_H + box * (1 - r), sg * HIP_HALF])
        r_mean = (down["left"] + down["right"]) / 2 if box else 0.0
        hip = np.array([fwd * s * (1 - r_mean), STAND_HIP + (lift if u < 2.2 or not box else box * (1 - r_mean))
                        - dip - land, 0.0])
        frames.append(body_frame(hip, trunk_lean=25 * dip / 0.18, ankles=ank))
    return _finish(frames, t, yaw, noise_px, seed)


def marching(n_steps=8, fps=30, yaw=90.0, step_s=0.8, foot_lift=0.35, hip_dip=0.08, noise_px=0.0, seed=0):
    """Marching / high knees in place, not an exercise formcheck knows: the knees rise one after the
    other, the feet never apart on the floor; the stance knee bends as the hips dip with each lift."""
    t = np.arange(0, n_steps * step_s + 1.5, 1 / fps)
    frames = []
    for ti in t:
        u = ti - 0.75
        k = int(u // step_s) if u >= 0 else -1
        q = np.sin(np.pi * (u - k * step_s) / step_s) if 0 <= k < n_steps else 0.0
        ank = standing_ankles()
        if q > 0:
            side = ("left", "right")[k % 2]
            sg = 1 if side == "left" else -1
            ank[side] = np.array([0.15 * q, ANKLE_H + foot_lift * q, sg * HIP_HALF])
        frames.append(body_frame(np.array([0.0, STAND_HIP - hip_dip * q, 0.0]), ankles=ank))
    return _finish(frames, t, yaw, noise_px, seed)
