"""Parametric movements: joint-angle and foot-placement keyframes over time.

A motion is a `Plan`: per-parameter keyframe tracks (eased with a cosine between keys),
an anchor schedule (which foot is fixed on the floor), events per rep, and a compensation
weight per rep (0 away from the rep, 1 at its bottom). `simulate` turns a plan into solved
frames (rig.solve) at a frame rate, carrying the pelvis continuously across anchor switches.

Compensations (name=AMOUNT, applied to the working leg while it is the anchored leg, scaled
by the rep's weight, full amount at the bottom / maximal reach):
  reduced_hip_flexion  deg less hip flexion (thigh against pelvis; trunk unchanged)
  excess_knee_flexion  deg more knee flexion
  knee_valgus          deg more 3D knee FPPA (knee moves medially, hip and foot stay)
  pelvic_drop          deg of contralateral pelvic drop (pelvis rotates about the stance hip)
  trunk_lean           deg of extra trunk lean: forward (sagittal) in lunges and squats;
                       lateral toward the stance leg in single-leg tasks (mSEBT, single-leg
                       squat, step-up)
  heel_lift            deg of working-foot plantarflexion about the ball (heel rises)
  reach_touchdown      0/1, mSEBT: the reaching foot is put down flat and bears weight
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formcheck.synth.rig import SIGN, ArmCmd, FootPose, FrameCmd, LegCmd, solve
from formcheck.synth.skeleton import Skeleton

COMPENSATIONS = (
    "reduced_hip_flexion", "excess_knee_flexion", "knee_valgus", "pelvic_drop",
    "trunk_lean", "heel_lift", "reach_touchdown",
)
MOTIONS = (
    "forward_lunge", "reverse_lunge", "runners_lunge", "step_up",
    "msebt_anterior", "msebt_posteromedial", "msebt_posterolateral", "msebt",
    "single_leg_squat", "squat",
)
SINGLE_LEG = {"step_up", "single_leg_squat", "msebt_anterior", "msebt_posteromedial",
              "msebt_posterolateral", "msebt"}
DEFAULT_REP_S = {
    "forward_lunge": 3.0, "reverse_lunge": 3.0, "runners_lunge": 3.6, "step_up": 3.6,
    "msebt_anterior": 3.6, "msebt_posteromedial": 3.6, "msebt_posterolateral": 3.6,
    "msebt": 3.6, "single_leg_squat": 3.0, "squat": 3.0,
}


def other(side: str) -> str:
    return "left" if side == "right" else "right"


class Track:
    def __init__(self) -> None:
        self.t: list[float] = []
        self.v: list[float] = []

    def key(self, t: float, v: float) -> None:
        self.t.append(float(t))
        self.v.append(float(v))

    def __call__(self, t: float) -> float:
        order = np.argsort(self.t, kind="stable")
        ts = np.asarray(self.t)[order]
        vs = np.asarray(self.v)[order]
        if t <= ts[0]:
            return float(vs[0])
        if t >= ts[-1]:
            return float(vs[-1])
        i = int(np.searchsorted(ts, t, side="right")) - 1
        t0, t1 = ts[i], ts[i + 1]
        if t1 - t0 < 1e-9:
            return float(vs[i + 1])
        u = (t - t0) / (t1 - t0)
        e = 0.5 - 0.5 * np.cos(np.pi * u)
        return float(vs[i] + (vs[i + 1] - vs[i]) * e)


@dataclass
class Plan:
    motion: str
    duration: float
    tracks: dict = field(default_factory=dict)
    anchors: list = field(default_factory=list)        # (t_start, side)
    reps: list = field(default_factory=list)           # dicts of events (seconds) + side
    weight: Track = field(default_factory=Track)       # compensation weight
    working: list = field(default_factory=list)        # (t_start, side): the working leg
    compensations: dict = field(default_factory=dict)
    trunk_lean_mode: str = "sagittal"
    props: list = field(default_factory=list)          # e.g. {"type": "box", ...}
    touchdowns: list = field(default_factory=list)     # (t0, t1) reach foot down flat

    def key(self, t: float, **values: float) -> None:
        for k, v in values.items():
            self.tracks.setdefault(k, Track()).key(t, v)

    def val(self, name: str, t: float, default: float = 0.0) -> float:
        tr = self.tracks.get(name)
        return tr(t) if tr is not None else default

    def at(self, sched: list, t: float) -> str:
        cur = sched[0][1]
        for t0, s in sched:
            if t >= t0 - 1e-9:
                cur = s
        return cur


def _stand(p: Plan, t: float, sk: Skeleton, stance_w: float = 0.0, arms=(10.0, 12.0, 15.0)) -> None:
    """Key a relaxed standing posture for both legs and the upper body."""
    for s in ("left", "right"):
        z = SIGN[s] * (sk.hip_w / 2 + stance_w)
        p.key(t, **{f"hip_flex_{s}": 0.0, f"hip_abd_{s}": np.degrees(np.arctan2(stance_w, sk.leg_length)),
                    f"hip_rot_{s}": 0.0, f"knee_flex_{s}": 2.0, f"lift_{s}": 0.0, f"pitch_{s}": 0.0,
                    f"fz_{s}": z, f"sh_flex_{s}": arms[0], f"sh_abd_{s}": arms[1], f"elbow_{s}": arms[2]})
    p.key(t, pelvis_tilt=5.0, trunk_flex=2.0, pelvis_obliq=0.0, trunk_lat=0.0)


def _rep_sides(side: str, reps: int) -> list[str]:
    if side in ("left", "right"):
        return [side] * reps
    first = "right" if side in ("alternate", "alternating", "both") else side
    return [first if i % 2 == 0 else other(first) for i in range(reps)]


@dataclass
class _RepScript:
    """One rep being keyed: the plan, the rep's clock and legs, and what its motion reads."""

    plan: Plan
    at: Callable[[float], float]   # time at fraction u (0..1) of this rep
    w: str                         # the working leg
    o: str                         # the other leg
    rep: dict[str, Any]            # the rep's events, filled in by the script
    motion: str
    sk: Skeleton
    stance_w: float
    comps: dict
    direction: str | None          # mSEBT trial direction
    zw: float                      # lateral foot positions of the working and other leg, standing
    zo: float


def _forward_lunge(r: _RepScript) -> list[tuple[float, float]]:
    """Step forward into the lunge, down, up and step back. Returns the working-leg weight keys."""
    p, T, w, o, rep = r.plan, r.at, r.w, r.o, r.rep
    LL = r.sk.leg_length
    S = 1.0 * LL
    p.anchors.append((T(0.0), o))
    p.key(T(0.05), **{f"lift_{w}": 0.0, f"fx_{w}": 0.0})
    p.key(T(0.17), **{f"lift_{w}": 0.09, f"pitch_{w}": -12.0})
    p.key(T(0.30), **{f"lift_{w}": 0.0, f"fx_{w}": S, f"pitch_{w}": 0.0,
                      f"hip_flex_{o}": -24.0, f"knee_flex_{o}": 8.0, f"pitch_{o}": 25.0,
                      f"hip_flex_{w}": 38.0, f"knee_flex_{w}": 22.0})
    p.anchors.append((T(0.30), w))
    p.key(T(0.55), **{f"hip_flex_{w}": 82.0, f"knee_flex_{w}": 98.0, f"pitch_{o}": 45.0},
          pelvis_tilt=9.0, trunk_flex=4.0)
    p.key(T(0.62), **{f"hip_flex_{w}": 82.0, f"knee_flex_{w}": 98.0, f"pitch_{o}": 45.0},
          pelvis_tilt=9.0, trunk_flex=4.0)
    p.key(T(0.85), **{f"hip_flex_{w}": 38.0, f"knee_flex_{w}": 22.0, f"pitch_{o}": 25.0,
                      f"hip_flex_{o}": -24.0, f"knee_flex_{o}": 8.0, f"lift_{w}": 0.0,
                      f"fx_{w}": S, f"pitch_{w}": 0.0}, pelvis_tilt=5.0, trunk_flex=2.0)
    p.anchors.append((T(0.85), o))
    p.key(T(0.93), **{f"lift_{w}": 0.08})
    p.key(T(1.0), **{f"lift_{w}": 0.0, f"fx_{w}": 0.0, f"pitch_{o}": 0.0,
                     f"hip_flex_{o}": 0.0, f"knee_flex_{o}": 2.0})
    rep.update(start=T(0.05), bottom=T(0.585), end=T(1.0))
    return [(T(0.30), 0.0), (T(0.55), 1.0), (T(0.62), 1.0), (T(0.85), 0.0)]


def _reverse_lunge(r: _RepScript) -> list[tuple[float, float]]:
    """Step back into the lunge, down, up and step forward (runner's lunge: the arms swing up and
    the rear knee drives up). Returns the working-leg weight keys."""
    p, T, w, o, rep = r.plan, r.at, r.w, r.o, r.rep
    LL, motion = r.sk.leg_length, r.motion
    S = 0.92 * LL
    runner = motion == "runners_lunge"
    p.anchors.append((T(0.0), w))
    p.key(T(0.05), **{f"lift_{o}": 0.0, f"fx_{o}": 0.0})
    p.key(T(0.17), **{f"lift_{o}": 0.07, f"pitch_{o}": 10.0})
    p.key(T(0.30), **{f"lift_{o}": 0.0, f"fx_{o}": -S, f"pitch_{o}": 30.0,
                      f"hip_flex_{w}": 45.0, f"knee_flex_{w}": 45.0})
    if runner:
        for s in ("left", "right"):
            p.key(T(0.05), **{f"sh_flex_{s}": 60.0, f"sh_abd_{s}": 35.0, f"elbow_{s}": 125.0})
            p.key(T(0.55), **{f"sh_flex_{s}": 172.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 8.0})
            p.key(T(0.62), **{f"sh_flex_{s}": 172.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 8.0})
            p.key(T(0.85), **{f"sh_flex_{s}": 60.0, f"sh_abd_{s}": 35.0, f"elbow_{s}": 125.0})
    p.key(T(0.55), **{f"hip_flex_{w}": 80.0, f"knee_flex_{w}": 96.0, f"pitch_{o}": 45.0},
          pelvis_tilt=9.0, trunk_flex=4.0)
    p.key(T(0.62), **{f"hip_flex_{w}": 80.0, f"knee_flex_{w}": 96.0, f"pitch_{o}": 45.0},
          pelvis_tilt=9.0, trunk_flex=4.0)
    p.key(T(0.80), **{f"hip_flex_{w}": 45.0, f"knee_flex_{w}": 45.0, f"pitch_{o}": 30.0,
                      f"lift_{o}": 0.0, f"fx_{o}": -S}, pelvis_tilt=5.0, trunk_flex=2.0)
    if runner:
        # Knee drive of the rear leg on the way up, then back to standing.
        p.key(T(0.90), **{f"fx_{o}": 0.28, f"lift_{o}": 0.40, f"pitch_{o}": 25.0,
                          f"hip_flex_{w}": 2.0, f"knee_flex_{w}": 4.0})
        p.key(T(1.0), **{f"fx_{o}": 0.0, f"lift_{o}": 0.0, f"pitch_{o}": 0.0,
                         f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0})
        for s in ("left", "right"):
            p.key(T(1.0), **{f"sh_flex_{s}": 10.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 15.0})
    else:
        p.key(T(0.90), **{f"lift_{o}": 0.07, f"pitch_{o}": 10.0})
        p.key(T(1.0), **{f"fx_{o}": 0.0, f"lift_{o}": 0.0, f"pitch_{o}": 0.0,
                         f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0})
    rep.update(start=T(0.05), bottom=T(0.585), end=T(1.0))
    return [(T(0.15), 0.0), (T(0.55), 1.0), (T(0.62), 1.0), (T(0.90), 0.0)]


def _step_up(r: _RepScript) -> list[tuple[float, float]]:
    """Step up onto the box with the working leg, stand tall on it, step back down. Returns the
    working-leg weight keys."""
    p, T, w, o, rep = r.plan, r.at, r.w, r.o, r.rep
    box = p.props[0]
    hb = box["height"]
    xb = box["x0"] + 0.24
    p.anchors.append((T(0.0), o))
    p.key(T(0.05), **{f"lift_{w}": 0.0, f"fx_{w}": 0.0, f"fy_{w}": 0.0})
    p.key(T(0.16), **{f"lift_{w}": hb + 0.10, f"fx_{w}": 0.20, f"pitch_{w}": -10.0,
                      f"hip_flex_{o}": 4.0, f"knee_flex_{o}": 4.0})
    p.key(T(0.28), **{f"lift_{w}": 0.0, f"fx_{w}": xb, f"fy_{w}": hb, f"pitch_{w}": 0.0,
                      f"hip_flex_{w}": 60.0, f"knee_flex_{w}": 75.0}, trunk_flex=12.0)
    p.anchors.append((T(0.28), w))
    p.key(T(0.36), **{f"hip_flex_{w}": 45.0, f"knee_flex_{w}": 55.0, f"lift_{o}": 0.0,
                      f"fx_{o}": 0.0, f"fy_{o}": 0.0, f"pitch_{o}": 15.0}, trunk_flex=12.0)
    p.key(T(0.55), **{f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0, f"fx_{o}": xb + 0.05,
                      f"fy_{o}": hb, f"lift_{o}": 0.45, f"pitch_{o}": 20.0}, trunk_flex=3.0)
    p.key(T(0.62), **{f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0, f"fx_{o}": xb + 0.05,
                      f"fy_{o}": hb, f"lift_{o}": 0.45, f"pitch_{o}": 20.0}, trunk_flex=3.0)
    p.key(T(0.76), **{f"hip_flex_{w}": 60.0, f"knee_flex_{w}": 100.0, f"fx_{o}": 0.0,
                      f"fy_{o}": 0.0, f"lift_{o}": 0.0, f"pitch_{o}": 30.0,
                      f"hip_flex_{o}": 5.0, f"knee_flex_{o}": 5.0}, trunk_flex=10.0)
    p.key(T(0.78), **{f"fx_{w}": xb, f"fy_{w}": hb, f"lift_{w}": 0.0})
    p.anchors.append((T(0.78), o))
    p.key(T(0.88), **{f"lift_{w}": hb + 0.08, f"fx_{w}": 0.20, f"fy_{w}": 0.0, f"pitch_{o}": 0.0})
    p.key(T(1.0), **{f"lift_{w}": 0.0, f"fx_{w}": 0.0, f"fy_{w}": 0.0,
                     f"hip_flex_{o}": 0.0, f"knee_flex_{o}": 2.0}, trunk_flex=2.0)
    rep.update(start=T(0.05), bottom=T(0.30), top=T(0.585), end=T(1.0))
    return [(T(0.28), 0.0), (T(0.36), 1.0), (T(0.62), 1.0), (T(0.76), 0.0)]


def _msebt_trial(r: _RepScript) -> list[tuple[float, float]]:
    """One mSEBT trial: balance on the stance leg, reach the other foot along the direction and
    return. Returns the working-leg weight keys."""
    p, T, w, o, rep = r.plan, r.at, r.w, r.o, r.rep
    LL, comps, direction, zw, zo = r.sk.leg_length, r.comps, r.direction, r.zw, r.zo
    assert direction is not None  # every mSEBT rep is a trial with a direction
    p.anchors.append((T(0.0), w))
    touch = comps.get("reach_touchdown", 0.0) >= 0.5
    ang = {"anterior": 0.0, "posteromedial": 135.0, "posterolateral": -135.0}[direction]
    # + angle turns from anterior toward the reaching leg's side (medial of the stance leg).
    dx, dz = np.cos(np.radians(ang)), np.sin(np.radians(ang)) * SIGN[o]
    reach = {"anterior": 0.62, "posteromedial": 0.85, "posterolateral": 0.68}[direction] * LL
    post = direction != "anterior"
    bx, bz = dx * reach, zw + dz * reach
    if not post:
        bz = zw + SIGN[o] * 0.05
    stance = ({"hip_flex": 50.0, "knee_flex": 78.0, "tilt": 14.0, "trunk": 30.0} if post else
              {"hip_flex": 30.0, "knee_flex": 62.0, "tilt": 10.0, "trunk": 8.0})
    pf = 28.0 if post else -8.0
    hover = 0.0 if touch else 0.012
    p.key(T(0.08), **{f"lift_{o}": 0.0, f"fx_{o}": 0.0, f"fz_{o}": zo})
    p.key(T(0.25), **{f"lift_{o}": 0.10 if not post else 0.06})
    hold = 0.16 if touch else 0.06
    for u in (0.46, 0.46 + hold):
        p.key(T(u), **{f"fx_{o}": bx, f"fz_{o}": bz, f"lift_{o}": hover,
                       f"pitch_{o}": 0.0 if touch else pf,
                       f"hip_flex_{w}": stance["hip_flex"],
                       f"knee_flex_{w}": stance["knee_flex"] - (8.0 if touch else 0.0)},
              pelvis_tilt=stance["tilt"], trunk_flex=stance["trunk"])
        for s in ("left", "right"):
            p.key(T(u), **{f"sh_flex_{s}": 55.0 if post else 25.0, f"sh_abd_{s}": 25.0,
                           f"elbow_{s}": 20.0})
    if touch:
        p.touchdowns.append((T(0.46), T(0.46 + hold)))
    p.key(T(0.80), **{f"lift_{o}": 0.08})
    p.key(T(0.95), **{f"fx_{o}": 0.0, f"fz_{o}": zo, f"lift_{o}": 0.0, f"pitch_{o}": 0.0,
                      f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0}, pelvis_tilt=5.0, trunk_flex=2.0)
    for s in ("left", "right"):
        p.key(T(0.95), **{f"sh_flex_{s}": 10.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 15.0})
    mid = 0.46 + hold / 2
    rep["return"] = T(0.95)
    rep.update(direction=direction, reach_out=T(0.08), max_reach=T(mid),
               start=T(0.08), bottom=T(mid), end=T(0.95), touchdown=bool(touch))
    return [(T(0.08), 0.0), (T(0.46), 1.0), (T(0.46 + hold), 1.0), (T(0.92), 0.0)]


def _single_leg_squat(r: _RepScript) -> list[tuple[float, float]]:
    """Lift the free foot forward, squat on the stance leg, stand up. Returns the working-leg weight keys."""
    p, T, w, o, rep = r.plan, r.at, r.w, r.o, r.rep
    p.anchors.append((T(0.0), w))
    p.key(T(0.05), **{f"lift_{o}": 0.0, f"fx_{o}": 0.0})
    p.key(T(0.15), **{f"lift_{o}": 0.12, f"fx_{o}": 0.25, f"pitch_{o}": -5.0})
    for u in (0.50, 0.58):
        p.key(T(u), **{f"hip_flex_{w}": 52.0, f"knee_flex_{w}": 75.0, f"lift_{o}": 0.10,
                       f"fx_{o}": 0.32}, pelvis_tilt=10.0, trunk_flex=22.0)
        for s in ("left", "right"):
            p.key(T(u), **{f"sh_flex_{s}": 70.0, f"sh_abd_{s}": 10.0, f"elbow_{s}": 10.0})
    p.key(T(0.88), **{f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0, f"lift_{o}": 0.12,
                      f"fx_{o}": 0.25}, pelvis_tilt=5.0, trunk_flex=2.0)
    p.key(T(1.0), **{f"lift_{o}": 0.0, f"fx_{o}": 0.0, f"pitch_{o}": 0.0})
    for s in ("left", "right"):
        p.key(T(1.0), **{f"sh_flex_{s}": 10.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 15.0})
    rep.update(start=T(0.15), bottom=T(0.54), end=T(0.95))
    return [(T(0.15), 0.0), (T(0.50), 1.0), (T(0.58), 1.0), (T(0.92), 0.0)]


def _squat(r: _RepScript) -> list[tuple[float, float]]:
    """Both legs: down, hold, up. Returns the working-leg weight keys."""
    p, T, w, rep = r.plan, r.at, r.w, r.rep
    sk, stance_w = r.sk, r.stance_w
    p.anchors.append((T(0.0), w))
    abd = np.degrees(np.arctan2(stance_w, sk.leg_length))
    for u in (0.45, 0.55):
        p.key(T(u), **{f"hip_flex_{w}": 72.0, f"knee_flex_{w}": 105.0, f"hip_abd_{w}": abd + 4.0},
              pelvis_tilt=14.0, trunk_flex=32.0)
        for s in ("left", "right"):
            p.key(T(u), **{f"sh_flex_{s}": 80.0, f"sh_abd_{s}": 8.0, f"elbow_{s}": 10.0})
    p.key(T(0.95), **{f"hip_flex_{w}": 0.0, f"knee_flex_{w}": 2.0, f"hip_abd_{w}": abd},
          pelvis_tilt=5.0, trunk_flex=2.0)
    for s in ("left", "right"):
        p.key(T(0.95), **{f"sh_flex_{s}": 10.0, f"sh_abd_{s}": 12.0, f"elbow_{s}": 15.0})
    rep.update(start=T(0.05), bottom=T(0.50), end=T(0.95))
    return [(T(0.05), 0.0), (T(0.45), 1.0), (T(0.55), 1.0), (T(0.95), 0.0)]


_REP_SCRIPTS = {"forward_lunge": _forward_lunge, "reverse_lunge": _reverse_lunge, "runners_lunge": _reverse_lunge,
                "step_up": _step_up, "single_leg_squat": _single_leg_squat, "squat": _squat,
                **{m: _msebt_trial for m in MOTIONS if m.startswith("msebt")}}


def build_plan(motion: str, sk: Skeleton, *, side: str = "right", reps: int = 3,
               rep_s: float | None = None, rest_s: float = 0.5,
               compensations: dict | None = None, box_height: float = 0.30) -> Plan:
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; choose from {', '.join(MOTIONS)}")
    comps = dict(compensations or {})
    for k in comps:
        if k not in COMPENSATIONS:
            raise ValueError(f"unknown compensation {k!r}; choose from {', '.join(COMPENSATIONS)}")
    D = rep_s or DEFAULT_REP_S[motion]
    sides = _rep_sides(side, reps)
    trials: list[tuple[str, str]] = []
    if motion.startswith("msebt"):
        dirs = ["anterior", "posteromedial", "posterolateral"] if motion == "msebt" else [motion.split("_")[1]]
        stances = [side] if side in ("left", "right") else ["right", "left"]
        # `reps` trials per direction and stance leg, directions in the usual order.
        trials = [(d, s) for s in stances for d in dirs for _ in range(reps)]
    n = len(trials) if trials else reps
    p = Plan(motion=motion, duration=rest_s * 2 + n * (D + rest_s) - rest_s, compensations=comps,
             trunk_lean_mode="lateral" if motion in SINGLE_LEG else "sagittal")
    stance_w = 0.08 if motion == "squat" else 0.0
    _stand(p, 0.0, sk, stance_w)
    for s in ("left", "right"):
        p.key(0.0, **{f"fx_{s}": 0.0, f"fy_{s}": 0.0})
    p.weight.key(0.0, 0.0)
    first_side = trials[0][1] if trials else sides[0]
    p.anchors.append((0.0, other(first_side) if motion == "forward_lunge" or motion == "step_up" else first_side))
    p.working.append((0.0, first_side))
    if motion == "step_up":
        p.props.append({"type": "box", "x0": 0.24, "x1": 0.24 + 0.42, "height": box_height,
                        "width": 0.62, "z": 0.0})

    t = rest_s
    for i in range(n):
        if trials:
            direction, w = trials[i]
        else:
            direction, w = None, sides[i]
        o = other(w)

        def T(u: float, start: float = t) -> float:  # time at fraction u of this rep
            return start + u * D

        p.working.append((T(0.0), w))
        zw, zo = SIGN[w] * (sk.hip_w / 2 + stance_w), SIGN[o] * (sk.hip_w / 2 + stance_w)
        _stand(p, T(0.0), sk, stance_w)
        for s in ("left", "right"):
            p.key(T(0.0), **{f"fx_{s}": 0.0, f"fy_{s}": 0.0})
        rep: dict[str, Any] = {"side": w}
        wk = _REP_SCRIPTS[motion](_RepScript(p, T, w, o, rep, motion, sk, stance_w, comps, direction, zw, zo))
        for tt, vv in wk:
            p.weight.key(tt, vv)
        p.reps.append(rep)
        t += D + rest_s
    _stand(p, p.duration, sk, stance_w)
    for s in ("left", "right"):
        p.key(p.duration, **{f"fx_{s}": 0.0, f"fy_{s}": 0.0})
    p.weight.key(p.duration, 0.0)
    return p


def command(p: Plan, t: float, sk: Skeleton) -> tuple[FrameCmd, str, float]:
    """The uncompensated command at time t, the working side and the compensation weight."""
    anchor = p.at(p.anchors, t)
    w = p.at(p.working, t)
    c = FrameCmd(anchor=anchor)
    c.pelvis_tilt = p.val("pelvis_tilt", t, 5.0)
    c.pelvis_obliq = p.val("pelvis_obliq", t)
    c.trunk_flex = p.val("trunk_flex", t)
    c.trunk_lat = p.val("trunk_lat", t)
    for s in ("left", "right"):
        ball = np.array([p.val(f"fx_{s}", t), p.val(f"fy_{s}", t) + p.val(f"lift_{s}", t),
                         p.val(f"fz_{s}", t, SIGN[s] * sk.hip_w / 2)])
        c.legs[s] = LegCmd(
            mode="anchor" if s == anchor else "ik",
            hip_flex=p.val(f"hip_flex_{s}", t), hip_abd=p.val(f"hip_abd_{s}", t),
            hip_rot=p.val(f"hip_rot_{s}", t), knee_flex=p.val(f"knee_flex_{s}", t, 2.0),
            foot=FootPose(ball=ball, yaw=p.val(f"yaw_{s}", t), pitch=p.val(f"pitch_{s}", t)),
        )
        c.arms[s] = ArmCmd(sh_flex=p.val(f"sh_flex_{s}", t, 10.0), sh_abd=p.val(f"sh_abd_{s}", t, 12.0),
                           elbow=p.val(f"elbow_{s}", t, 15.0))
    return c, w, p.weight(t)


def apply_compensations(c: FrameCmd, p: Plan, working: str, weight: float) -> dict:
    """Add the plan's compensations to a command in place; returns the injected amounts."""
    inj = {k: 0.0 for k in COMPENSATIONS}
    if c.anchor != working or weight <= 0:
        return inj
    leg = c.legs[working]
    for name, amount in p.compensations.items():
        a = float(amount) * weight
        if name == "reduced_hip_flexion":
            leg.hip_flex -= a
        elif name == "excess_knee_flexion":
            leg.knee_flex += a
        elif name == "knee_valgus":
            leg.fppa_add += a
        elif name == "pelvic_drop":
            c.pelvic_drop_extra += a
        elif name == "trunk_lean":
            if p.trunk_lean_mode == "lateral":
                c.trunk_lat += SIGN[working] * a
            else:
                c.trunk_flex += a
        elif name == "heel_lift":
            leg.foot.pitch += a
        elif name == "reach_touchdown":
            continue
        inj[name] = a
    return inj


def simulate(p: Plan, sk: Skeleton, fps: float, blend_s: float = 0.35):
    """Solve every frame. Returns (times, frames, injected per frame, commands)."""
    n = int(round(p.duration * fps)) + 1
    times = np.arange(n) / fps
    frames, injected, cmds = [], [], []
    prev = None
    offset = {"hip_flex": 0.0, "hip_abd": 0.0, "hip_rot": 0.0, "knee_flex": 0.0}
    t_switch = -1e9
    prev_anchor = None
    for t in times:
        c, working, wgt = command(p, float(t), sk)
        if prev is not None and c.anchor != prev_anchor:
            # The new anchor leg starts from the pose IK gave it: no jump of the pelvis.
            got = prev.leg_angles[c.anchor]
            leg = c.legs[c.anchor]
            offset = {k: got[k] - getattr(leg, k) for k in offset}
            t_switch = float(t)
        b = 1.0 - min(max((t - t_switch) / blend_s, 0.0), 1.0)
        b = 0.5 + 0.5 * np.cos(np.pi * (1.0 - b)) if b > 0 else 0.0
        leg = c.legs[c.anchor]
        for k, v in offset.items():
            setattr(leg, k, getattr(leg, k) + v * b)
        inj = apply_compensations(c, p, working, wgt)
        c.head_pitch = 0.7 * c.trunk_flex
        fr = solve(c, sk)
        frames.append(fr)
        injected.append(inj)
        cmds.append(copy.deepcopy(c))
        prev, prev_anchor = fr, c.anchor
    return times, frames, injected, cmds
