"""Per-frame kinematic solver: joint-angle commands -> 3D joint centres.

The anchored (stance) foot is fixed on the floor; the pelvis position is solved from the
anchored leg's joint angles (foot -> ankle -> knee -> hip), so a stance foot never slides.
The other foot follows a planned foot pose by two-bone inverse kinematics (planted rear foot
of a lunge, the reaching foot of the mSEBT, a stepping foot), or forward kinematics.

Angle conventions of the commands (anatomical, degrees, relative to the parent segment):
hip flexion + = knee forward; hip abduction + = knee away from the midline; hip rotation
+ = internal; knee flexion + = bent; ankle dorsiflexion + = toes up; pelvis tilt + = anterior;
pelvic obliquity + = right side lower; trunk flexion + = forward (against world vertical);
trunk lateral lean + = toward the right; shoulder flexion + = arm forward/up; shoulder
abduction + = arm out to the side; elbow flexion + = bent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck import landmarks as lm
from formcheck.synth.skeleton import Skeleton

SIDES = ("left", "right")
SIGN = {"left": -1.0, "right": 1.0}  # z of the person's right is +


def rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


D = np.radians


@dataclass
class FootPose:
    """Where a foot is: the ball (metatarsal heads, on the sole) point in world metres,
    heading yaw (deg, about +y) and pitch (deg; + = heel raised, pivoting on the ball)."""

    ball: np.ndarray
    yaw: float = 0.0
    pitch: float = 0.0


@dataclass
class LegCmd:
    mode: str = "ik"            # "anchor" | "ik" | "fk"
    hip_flex: float = 0.0
    hip_abd: float = 0.0
    hip_rot: float = 0.0
    knee_flex: float = 0.0
    ankle_df: float = 0.0       # fk mode only; an anchored or ik foot takes its FootPose
    foot: FootPose | None = None
    fppa_add: float = 0.0       # knee valgus to inject (deg of 3D FPPA), knee moves medially


@dataclass
class ArmCmd:
    sh_flex: float = 0.0
    sh_abd: float = 8.0
    elbow: float = 10.0


@dataclass
class FrameCmd:
    anchor: str = "right"
    yaw: float = 0.0
    pelvis_tilt: float = 5.0
    pelvis_obliq: float = 0.0
    pelvic_drop_extra: float = 0.0  # + = the non-anchor side drops, rotating about the anchor hip
    trunk_flex: float = 0.0
    trunk_lat: float = 0.0
    head_pitch: float = 0.0
    legs: dict = field(default_factory=lambda: {"left": LegCmd(), "right": LegCmd()})
    arms: dict = field(default_factory=lambda: {"left": ArmCmd(), "right": ArmCmd()})


@dataclass
class Frame:
    """Solved pose: joint centres and segment frames (columns = x anterior, y up, z right)."""

    joints: dict
    frames: dict
    leg_angles: dict  # per side: hip_flex, hip_abd, knee_flex (after IK), for plan bookkeeping
    ik_reached: dict

    def landmarks(self) -> np.ndarray:
        """(33, 3) world positions in MediaPipe's landmark order."""
        out = np.full((lm.NUM_LANDMARKS, 3), np.nan)
        j = self.joints
        names = {
            0: "nose", 1: "left_eye_inner", 2: "left_eye", 3: "left_eye_outer", 4: "right_eye_inner",
            5: "right_eye", 6: "right_eye_outer", 7: "left_ear", 8: "right_ear", 9: "mouth_left",
            10: "mouth_right", 11: "left_shoulder", 12: "right_shoulder", 13: "left_elbow",
            14: "right_elbow", 15: "left_wrist", 16: "right_wrist", 17: "left_pinky",
            18: "right_pinky", 19: "left_index", 20: "right_index", 21: "left_thumb",
            22: "right_thumb", 23: "left_hip", 24: "right_hip", 25: "left_knee", 26: "right_knee",
            27: "left_ankle", 28: "right_ankle", 29: "left_heel", 30: "right_heel",
            31: "left_foot_index", 32: "right_foot_index",
        }
        for i, n in names.items():
            out[i] = j[n]
        return out


def foot_points(sk: Skeleton) -> dict:
    """Foot landmarks in the foot frame (origin = ankle joint centre)."""
    fl, ah = sk.foot_len, sk.ankle_h
    return {
        "ball": np.array([0.50 * fl, -ah, 0.0]),
        "heel": np.array([-0.23 * fl, -ah + 0.02, 0.0]),
        "toe": np.array([0.76 * fl, -ah + 0.015, 0.0]),
    }


def foot_frame(fp: FootPose) -> np.ndarray:
    return ry(D(fp.yaw)) @ rz(-D(fp.pitch))


def fppa3(hip, knee, ankle, other_hip, L, V) -> float:
    """3D FPPA as formcheck defines it (frontal coordinates L, V), + = knee medial."""
    def p(q):
        return np.array([q @ L, q @ V])
    h, k, a, o = p(hip), p(knee), p(ankle), p(other_hip)
    t, s = k - h, a - k
    c = np.clip(t @ s / (np.linalg.norm(t) * np.linalg.norm(s) + 1e-12), -1, 1)
    ang = np.degrees(np.arccos(c))
    line = a - h

    def cr(u, v):
        return u[0] * v[1] - u[1] * v[0]
    ks, ms = np.sign(cr(line, t)), np.sign(cr(line, o - h))
    return ang * (1.0 if ks == 0 else ks * ms)


def _two_bone(hip, target, l1, l2, pole):
    d_vec = target - hip
    d = np.linalg.norm(d_vec)
    reached = True
    dmax, dmin = (l1 + l2) * 0.9995, abs(l1 - l2) + 1e-3
    if d > dmax:
        d, reached = dmax, False
    d = max(d, dmin)
    u = _unit(d_vec)
    a = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    h = np.sqrt(max(l1 * l1 - a * a, 0.0))
    pv = _unit(pole - (pole @ u) * u)
    knee = hip + a * u + h * pv
    ankle = hip + d * u
    return knee, ankle, reached


def _seg_frame(top, bottom, anterior_hint):
    y = _unit(top - bottom)
    x = _unit(anterior_hint - (anterior_hint @ y) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=1)


def _head(mid_sh: np.ndarray, Rtr: np.ndarray, cmd: FrameCmd, sk: Skeleton) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The head's frame and points (neck, skull, nose, eyes, ears, mouth), on top of the trunk."""
    J: dict[str, np.ndarray] = {}
    Rh = Rtr @ rz(D(cmd.head_pitch))
    c1 = mid_sh + Rtr @ np.array([0.0, sk.neck, 0.0])
    H = sk.body.height_m
    skull = c1 + Rh @ np.array([0.006 * H, 0.040 * H, 0.0])
    J["neck"], J["skull"] = c1, skull
    r = sk.head_r
    hw = 0.043 * H
    J["nose"] = skull + Rh @ np.array([r * 1.08, -0.018 * H, 0])
    for s in SIDES:
        z = SIGN[s]
        J[f"{s}_eye"] = skull + Rh @ np.array([r * 0.86, 0.004 * H, z * 0.36 * hw])
        J[f"{s}_eye_inner"] = skull + Rh @ np.array([r * 0.90, 0.004 * H, z * 0.20 * hw])
        J[f"{s}_eye_outer"] = skull + Rh @ np.array([r * 0.80, 0.004 * H, z * 0.55 * hw])
        J[f"{s}_ear"] = skull + Rh @ np.array([-0.05 * r, -0.006 * H, z * 0.98 * hw])
        J[f"mouth_{s}"] = skull + Rh @ np.array([r * 0.93, -0.040 * H, z * 0.28 * hw])
    return Rh, J


def solve(cmd: FrameCmd, sk: Skeleton) -> Frame:
    J: dict[str, np.ndarray] = {}
    F: dict[str, np.ndarray] = {}
    fpts = foot_points(sk)
    Rp = ry(D(cmd.yaw)) @ rz(-D(cmd.pelvis_tilt)) @ rx(D(cmd.pelvis_obliq))
    hip_local = {s: np.array([0.0, 0.0, SIGN[s] * sk.hip_w / 2]) for s in SIDES}

    def leg_fk(side, lc: LegCmd, R_pelvis):
        s = SIGN[side]
        Rt = R_pelvis @ rz(D(lc.hip_flex)) @ rx(-s * D(lc.hip_abd)) @ ry(s * D(lc.hip_rot))
        Rs = Rt @ rz(-D(lc.knee_flex))
        knee_rel = Rt @ np.array([0, -sk.thigh, 0])
        ankle_rel = knee_rel + Rs @ np.array([0, -sk.shank, 0])
        return Rt, Rs, knee_rel, ankle_rel

    a = cmd.anchor
    o = "left" if a == "right" else "right"
    la = cmd.legs[a]
    Rf_a = foot_frame(la.foot)
    ankle_a = la.foot.ball - Rf_a @ fpts["ball"]
    Rt_a, Rs_a, knee_rel, ankle_rel = leg_fk(a, la, Rp)
    hip_a = ankle_a - ankle_rel
    knee_a = ankle_a - (ankle_rel - knee_rel)
    # Pelvic drop compensation: rotate the pelvis about the anchor hip (anterior axis).
    if cmd.pelvic_drop_extra:
        phi = D(cmd.pelvic_drop_extra) * (1.0 if o == "right" else -1.0)
        Rp = Rp @ rx(phi)
    P = hip_a - Rp @ hip_local[a]
    J[f"{a}_hip"], J[f"{a}_knee"], J[f"{a}_ankle"] = hip_a, knee_a, ankle_a
    F[f"{a}_foot"] = Rf_a
    F["pelvis"] = Rp
    reached = {a: True}

    # Trunk, head, arms.
    Rtr = ry(D(cmd.yaw)) @ rz(-D(cmd.trunk_flex)) @ rx(D(cmd.trunk_lat))
    mid_sh = P + Rtr @ np.array([0, sk.trunk, 0])
    F["trunk"] = Rtr
    for s in SIDES:
        J[f"{s}_shoulder"] = mid_sh + Rtr @ np.array([0, 0, SIGN[s] * sk.shoulder_w / 2])
    F["head"], head = _head(mid_sh, Rtr, cmd, sk)
    J.update(head)
    for s in SIDES:
        ac: ArmCmd = cmd.arms[s]
        sg = SIGN[s]
        Rua = Rtr @ rz(D(ac.sh_flex)) @ rx(-sg * D(ac.sh_abd))
        elbow = J[f"{s}_shoulder"] + Rua @ np.array([0, -sk.upper_arm, 0])
        Rfa = Rua @ rz(D(ac.elbow))
        wrist = elbow + Rfa @ np.array([0, -sk.forearm, 0])
        F[f"{s}_upper_arm"], F[f"{s}_forearm"] = Rua, Rfa
        J[f"{s}_elbow"], J[f"{s}_wrist"] = elbow, wrist
        hl = sk.hand
        J[f"{s}_index"] = wrist + Rfa @ np.array([0.01, -0.75 * hl, sg * 0.02])
        J[f"{s}_pinky"] = wrist + Rfa @ np.array([-0.005, -0.65 * hl, sg * 0.045])
        J[f"{s}_thumb"] = wrist + Rfa @ np.array([0.03, -0.40 * hl, -sg * 0.01])

    # Other leg.
    lo = cmd.legs[o]
    hip_o = P + Rp @ hip_local[o]
    J[f"{o}_hip"] = hip_o
    if lo.mode == "fk":
        Rt, Rs, kr, ar = leg_fk(o, lo, Rp)
        J[f"{o}_knee"], J[f"{o}_ankle"] = hip_o + kr, hip_o + ar
        F[f"{o}_foot"] = Rs @ rz(D(lo.ankle_df))
        reached[o] = True
    else:
        Rf = foot_frame(lo.foot)
        target = lo.foot.ball - Rf @ fpts["ball"]
        pole = Rp @ np.array([1.0, 0.0, 0.0]) + 0.15 * (Rp @ np.array([0, 0, SIGN[o]]))
        pole = ry(SIGN[o] * -D(lo.hip_rot)) @ pole
        knee, ankle, ok = _two_bone(hip_o, target, sk.thigh, sk.shank, pole)
        J[f"{o}_knee"], J[f"{o}_ankle"] = knee, ankle
        F[f"{o}_foot"] = Rf
        reached[o] = ok
    J["mid_hip"] = P

    # Knee valgus injection: swivel the knee about the hip-ankle axis until FPPA rises.
    for s in SIDES:
        add = cmd.legs[s].fppa_add
        if abs(add) < 1e-6:
            continue
        other = "left" if s == "right" else "right"
        L = _unit(J["left_hip"] - J["right_hip"])
        trunk = mid_sh - P
        V = _unit(trunk - (trunk @ L) * L)
        hip, ankle, knee0 = J[f"{s}_hip"], J[f"{s}_ankle"], J[f"{s}_knee"]
        axis = _unit(ankle - hip)
        medial = SIGN[other]  # direction (in z of the pelvis) toward the other hip

        def knee_at(beta, hip=hip, knee0=knee0, axis=axis):
            # Rodrigues rotation of the knee about the hip-ankle axis (this side's joints, bound now).
            v = knee0 - hip
            k = axis
            v2 = v * np.cos(beta) + np.cross(k, v) * np.sin(beta) + k * (k @ v) * (1 - np.cos(beta))
            return hip + v2

        base = fppa3(hip, knee0, ankle, J[f"{other}_hip"], L, V)
        goal = base + add
        # Pick the rotation direction that moves the knee medially.
        test = knee_at(0.05)
        dz = (test - knee0) @ (Rp @ np.array([0, 0, medial]))
        sgn = 1.0 if dz > 0 else -1.0
        lo_b, hi_b = 0.0, np.radians(75)
        f_hi = fppa3(hip, knee_at(sgn * hi_b), ankle, J[f"{other}_hip"], L, V)
        if (f_hi - goal) * np.sign(add) < 0:
            beta = hi_b
        else:
            for _ in range(40):
                mid = 0.5 * (lo_b + hi_b)
                fm = fppa3(hip, knee_at(sgn * mid), ankle, J[f"{other}_hip"], L, V)
                if (fm - goal) * np.sign(add) < 0:
                    lo_b = mid
                else:
                    hi_b = mid
            beta = 0.5 * (lo_b + hi_b)
        J[f"{s}_knee"] = knee_at(sgn * beta)

    # Segment frames and feet landmarks.
    for s in SIDES:
        ant = F["pelvis"][:, 0]
        F[f"{s}_thigh"] = _seg_frame(J[f"{s}_hip"], J[f"{s}_knee"], ant)
        F[f"{s}_shank"] = _seg_frame(J[f"{s}_knee"], J[f"{s}_ankle"], ant)
        Rf = F[f"{s}_foot"]
        J[f"{s}_heel"] = J[f"{s}_ankle"] + Rf @ fpts["heel"]
        J[f"{s}_ball"] = J[f"{s}_ankle"] + Rf @ fpts["ball"]
        # Toes bend at the ball (MTP joint): with the heel raised they stay flat.
        xf = Rf[:, 0]
        if xf[1] < 0:
            yaw_only = _unit(np.array([xf[0], 0.0, xf[2]]))
            toe_vec = fpts["toe"] - fpts["ball"]
            J[f"{s}_foot_index"] = J[f"{s}_ball"] + yaw_only * toe_vec[0] + np.array([0, toe_vec[1], 0])
        else:
            J[f"{s}_foot_index"] = J[f"{s}_ankle"] + Rf @ fpts["toe"]

    # Leg angles after solving (pelvis-relative), used by the planner at anchor switches.
    angs = {}
    for s in SIDES:
        d = F["pelvis"].T @ _unit(J[f"{s}_knee"] - J[f"{s}_hip"])
        t = J[f"{s}_knee"] - J[f"{s}_hip"]
        sh = J[f"{s}_ankle"] - J[f"{s}_knee"]
        kf = np.degrees(np.arccos(np.clip(t @ sh / (np.linalg.norm(t) * np.linalg.norm(sh)), -1, 1)))
        hf = np.arctan2(d[0], -d[1])
        ha = np.arcsin(np.clip(SIGN[s] * d[2], -1, 1))
        Rt0 = F["pelvis"] @ rz(hf) @ rx(-SIGN[s] * ha)
        sl = Rt0.T @ _unit(sh)
        rot = np.degrees(np.arctan2(sl[2], -sl[0])) * SIGN[s] if kf > 2.0 else 0.0
        angs[s] = {
            "hip_flex": float(np.degrees(hf)),
            "hip_abd": float(np.degrees(ha)),
            "hip_rot": float(rot),
            "knee_flex": float(kf),
        }
    return Frame(joints=J, frames=F, leg_angles=angs, ik_reached=reached)


def anatomical_angles(fr: Frame) -> dict:
    """True anatomical angles of a solved frame (deg), in the command conventions."""
    J, F = fr.joints, fr.frames
    out = {}
    Rp = F["pelvis"]
    for s in SIDES:
        out[f"{s}_hip_flexion"] = fr.leg_angles[s]["hip_flex"]
        out[f"{s}_hip_abduction"] = fr.leg_angles[s]["hip_abd"]
        out[f"{s}_hip_rotation"] = fr.leg_angles[s]["hip_rot"]
        out[f"{s}_knee_flexion"] = fr.leg_angles[s]["knee_flex"]
        up_sh = _unit(J[f"{s}_knee"] - J[f"{s}_ankle"])
        fwd = F[f"{s}_foot"][:, 0]
        out[f"{s}_ankle_dorsiflexion"] = float(90.0 - np.degrees(np.arccos(np.clip(up_sh @ fwd, -1, 1))))
    x = Rp[:, 0]
    out["pelvis_tilt"] = float(np.degrees(np.arcsin(np.clip(-x[1], -1, 1))))
    out["pelvis_obliquity_right_down"] = float(np.degrees(np.arcsin(np.clip(-Rp[1, 2], -1, 1))))
    Rt = F["trunk"]
    u = Rt[:, 1]
    fwd = _unit(np.array([x[0], 0.0, x[2]]))
    out["trunk_flexion"] = float(np.degrees(np.arctan2(u @ fwd, u[1])))
    out["trunk_lateral_lean_right"] = float(np.degrees(np.arcsin(np.clip(Rt[2, 1], -1, 1))))
    return out
