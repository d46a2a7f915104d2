"""Everything the movement analysis derives once from PoseSeries + AngleSeries.

Geometry is normalised by the subject's own leg length (thigh + shank) so nothing depends
on the distance to the camera. Heights are measured up from the floor line (image y is down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from formcheck.kinematics import support
from formcheck.kinematics.angles import signed_angle_2d
from formcheck.kinematics.scale import FloorScale
from formcheck.landmarks import LEFT_EAR, NOSE, RIGHT_EAR, SIDE_LANDMARKS, SIDES
from formcheck.movements.signals import fill_gaps, nanpct, smooth
from formcheck.series import AngleSeries, PoseSeries

# Depth difference of the hips (leg lengths) that tells the near leg in a side view.
NEAR_SIDE_MIN_DEPTH = 0.1
# The camera-view classifier (`estimate_view`), hand-set (history: bench/README.md);
# bench/accuracy.py's side, front and 45 deg rows exercise it. Shoulder and hip width over torso
# length of an adult seen square on (MediaPipe):
SQUARE_ON_SHOULDER_RATIO, SQUARE_ON_HIP_RATIO = 0.70, 0.45
# Image and world yaw agreeing within this many degrees are blended with these weights.
YAW_AGREE_DEG, YAW_IMAGE_WEIGHT = 35, 0.65
# Facing votes (share of frames) that push the score this many degrees toward side on / square on.
FACING_SIDE_SHARE, FACING_FRONT_SHARE, FACING_SHIFT_DEG = 0.6, 0.15, 10.0
# Yaw score below FRONTAL_MAX_DEG: frontal; above SAGITTAL_MIN_DEG: sagittal; between: oblique.
FRONTAL_MAX_DEG, SAGITTAL_MIN_DEG, OBLIQUE_MID_DEG = 30, 60, 45
# Confidence: 0.5 at a boundary, rising by 0.5 over this many degrees beyond it (oblique: over
# OBLIQUE_CONF_SPAN_DEG / 2 toward the middle).
VIEW_CONF_SPAN_DEG, OBLIQUE_CONF_SPAN_DEG = 40, 30
# A foot whose lowest point stays more than this above the other's floor line (leg lengths) never
# touches the floor (single-leg work) and is given the other foot's floor.
OFF_FLOOR_MARGIN_LEG = 0.15
# Both feet on the floor (standing height): each foot within this of its floor line (leg lengths).
FOOT_DOWN_MAX_LEG = 0.08
# Smoothing of the hip height (s): keeps the rep's shape, drops the landmark jitter.
HIP_HEIGHT_SMOOTH_S = 0.15
ADVICE = {
    "side": "place the phone at hip height, about 3 m to your side, whole body in frame from head to feet",
    "front": "place the phone at knee-to-hip height, about 3 m in front of you (or behind you), "
             "facing you square on, whole body in frame from head to feet",
}
MEASURE_TEXT = {
    "hip_flexion": ("Hip flexion", "side"),
    "ankle_dorsiflexion": ("Ankle dorsiflexion", "side"),
    "trunk_lean": ("Forward trunk lean", "side"),
    "knee_flexion": ("Knee flexion", "side"),
    "heel_lift": ("Heel lift", "side"),
    "hip_knee_ratio": ("The hip-to-knee flexion ratio (knee-dominant check)", "side"),
    "knee_fppa": ("Knee valgus (frontal plane projection angle)", "front"),
    "pelvic_drop": ("Pelvic drop", "front"),
    "trunk_lateral_lean": ("Sideways trunk lean", "front"),
}


def other(side: str) -> str:
    return "right" if side == "left" else "left"


@dataclass
class ViewEstimate:
    view: str
    confidence: float
    yaw_deg: float
    facing_fraction: float
    details: dict[str, float] = field(default_factory=dict)


def estimate_view(pose: PoseSeries, angles: AngleSeries | None) -> ViewEstimate:
    """Camera view from body proportions (shoulder/hip width vs torso length), the world-frame
    yaw of the hip axis, and the facing votes of the kinematics stage.

    yaw 0 deg = camera sees the subject square on (frontal), 90 deg = side on (sagittal).
    """
    xy = pose.image_xy
    L, R = SIDE_LANDMARKS["left"], SIDE_LANDMARKS["right"]
    with np.errstate(invalid="ignore"):
        sh_w = np.abs(xy[:, L["shoulder"], 0] - xy[:, R["shoulder"], 0])
        hip_w = np.abs(xy[:, L["hip"], 0] - xy[:, R["hip"], 0])
        mid_sh = (xy[:, L["shoulder"]] + xy[:, R["shoulder"]]) / 2
        mid_hip = (xy[:, L["hip"]] + xy[:, R["hip"]]) / 2
        torso = np.linalg.norm(mid_sh - mid_hip, axis=1)
        torso = np.where(torso > 1e-6, torso, np.nan)
        # Reference ratios of a subject seen square on (MediaPipe landmark spacing, adults).
        c_img = np.nanmean(np.stack([sh_w / torso / SQUARE_ON_SHOULDER_RATIO, hip_w / torso / SQUARE_ON_HIP_RATIO]),
                           axis=0)
        yaw_img = np.degrees(np.arccos(np.clip(c_img, 0.0, 1.0)))
        w = pose.world_xyz
        lat = w[:, L["hip"]] - w[:, R["hip"]]
        yaw_w = np.degrees(np.arctan2(np.abs(lat[:, 2]), np.abs(lat[:, 0])))
    yi = nanpct(yaw_img, 50)
    yw = nanpct(yaw_w, 50)
    parts = [v for v in (yi, yw) if np.isfinite(v)]
    if not parts:
        return ViewEstimate("unknown", 0.0, float("nan"), 0.0, {})
    # Image proportions are the more trustworthy cue (MediaPipe depth is a learned guess).
    if len(parts) == 2 and abs(yi - yw) <= YAW_AGREE_DEG:
        yaw = float(YAW_IMAGE_WEIGHT * yi + (1 - YAW_IMAGE_WEIGHT) * yw)
    elif np.isfinite(yi):
        yaw = float(yi)       # the world estimate disagrees wildly: trust the image
    else:
        yaw = float(yw)
    facing_frac = 0.0
    if angles is not None and len(angles.facing):
        det = pose.detected if len(pose) == len(angles.facing) else np.ones(len(angles.facing), bool)
        fac = np.asarray(angles.facing)[det]
        facing_frac = float(np.mean(fac != 0)) if fac.size else 0.0
    score = yaw
    if facing_frac > FACING_SIDE_SHARE:
        score = max(score, yaw + FACING_SHIFT_DEG)
    elif facing_frac < FACING_FRONT_SHARE:
        score = min(score, yaw - FACING_SHIFT_DEG)
    if score < FRONTAL_MAX_DEG:
        view, conf = "frontal", min(1.0, 0.5 + (FRONTAL_MAX_DEG - score) / VIEW_CONF_SPAN_DEG)
    elif score > SAGITTAL_MIN_DEG:
        view, conf = "sagittal", min(1.0, 0.5 + (score - SAGITTAL_MIN_DEG) / VIEW_CONF_SPAN_DEG)
    else:
        view, conf = "oblique", 0.5 + (OBLIQUE_CONF_SPAN_DEG / 2 - abs(score - OBLIQUE_MID_DEG)) / OBLIQUE_CONF_SPAN_DEG
    return ViewEstimate(view, round(float(conf), 2), round(yaw, 1), round(facing_frac, 2),
                        {"yaw_image_deg": round(yi, 1) if np.isfinite(yi) else -1.0,
                         "yaw_world_deg": round(yw, 1) if np.isfinite(yw) else -1.0,
                         "yaw_deg": round(yaw, 1), "facing_fraction": round(facing_frac, 2)})


class MovementContext:
    """Derived signals for one clip, computed lazily and cached."""

    max_gap_s = 0.5

    def __init__(self, pose: PoseSeries, angles: AngleSeries, view: ViewEstimate | None = None,
                 floor_scale: FloorScale | None = None):
        self.pose = pose
        self.floor_scale = floor_scale
        self.angles = angles
        self.t = np.asarray(angles.time_s if len(angles.time_s) else pose.time_s, dtype=float)
        if len(pose) != len(self.t):
            raise ValueError(f"PoseSeries has {len(pose)} frames, AngleSeries {len(self.t)}")
        self.view = view or estimate_view(pose, angles)
        self.notes: list[str] = []
        self._cache: dict[tuple, object] = {}

    def _memo(self, key: tuple, fn):
        """Per-clip cache: per-rep code asks for the same whole-clip series many times."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    # ----- angles -------------------------------------------------------------------------
    def _col(self, name: str) -> np.ndarray | None:
        col = self.angles.angles.get(name)
        if col is None:
            return None
        col = np.asarray(col, dtype=float)
        return col if np.isfinite(col).any() else None

    def measure_source(self, measure: str) -> str | None:
        """'2d', '3d' or None (the view cannot support it): `kinematics.support`'s rule."""
        return support.measure_source(self.view.view, measure)

    @cached_property
    def landmark_ok(self) -> np.ndarray:
        """(T, 33) bool: seen and inside the picture (`kinematics.support`, as every output)."""
        return support.landmark_support(self.pose)

    def supported(self, measure: str, side: str | None) -> np.ndarray:
        """(T,) bool: frames whose picture supports `measure` of `side` (`kinematics.support`)."""
        return self._memo(("supported", measure, side),
                          lambda: support.frames_supported(self.pose, measure, side, self.landmark_ok))

    def angle(self, measure: str, side: str | None = None, *, allow_any: bool = False) -> np.ndarray:
        """Gap-filled angle column for a measure, from the source the view supports.

        allow_any=True falls back to whatever exists (used only for segmentation / recognition,
        never for a reported number)."""
        return self._memo(("angle", measure, side, allow_any), lambda: self._angle(measure, side, allow_any))

    def _angle(self, measure: str, side: str | None, allow_any: bool) -> np.ndarray:
        src = self.measure_source(measure)
        base = f"{side}_{measure}" if side else measure
        order: dict[str | None, list[str]] = {"2d": [f"{base}_deg", f"{base}_3d_deg"],
                                              "3d": [f"{base}_3d_deg", f"{base}_deg"]}
        names = order.get(src, []) if not allow_any else (order.get(src) or [f"{base}_deg", f"{base}_3d_deg"])
        if src == "2d" and not allow_any:
            names = names[:1]
        for name in names:
            col = self._col(name)
            if col is not None:
                filled = fill_gaps(self.t, col, self.max_gap_s)
                # a reported number never comes from, nor is bridged across, a frame the picture
                # does not support (a landmark at its edge); segmentation may bridge them
                return filled if allow_any else np.where(self.supported(measure, side), filled, np.nan)
        return np.full(len(self.t), np.nan)

    def shank_inclination(self, side: str) -> np.ndarray:
        """(T,) forward tilt of the shank from vertical in the image (side view; + knee ahead of the
        ankle): with the foot flat this is the ankle's dorsiflexion, without the foot landmarks."""
        return self._memo(("shank", side), lambda: self._shank(side))

    def _shank(self, side: str) -> np.ndarray:
        if self.measure_source("shank_inclination") is None:
            return np.full(len(self.t), np.nan)
        fac = np.asarray(self.angles.facing, dtype=float)
        shank_up = self.xy(side, "knee") - self.xy(side, "ankle")
        up = np.broadcast_to(np.array([0.0, -1.0]), shank_up.shape)
        incl = np.where(fac != 0, fac * signed_angle_2d(up, shank_up), np.nan)
        filled = fill_gaps(self.t, incl, self.max_gap_s)
        return np.where(self.supported("shank_inclination", side), filled, np.nan)

    # ----- landmarks ----------------------------------------------------------------------
    def xy(self, side: str, joint: str) -> np.ndarray:
        return self.pose.image_xy[:, SIDE_LANDMARKS[side][joint]]

    def world(self, side: str, joint: str) -> np.ndarray:
        return self.pose.world_xyz[:, SIDE_LANDMARKS[side][joint]]

    @cached_property
    def leg_length_px(self) -> dict[str, float]:
        out = {}
        for s in SIDES:
            th = np.linalg.norm(self.xy(s, "knee") - self.xy(s, "hip"), axis=1)
            sh = np.linalg.norm(self.xy(s, "ankle") - self.xy(s, "knee"), axis=1)
            # 90th percentile: a segment is never longer than its true length in the image,
            # only foreshortened, so the upper end of the distribution is the real length.
            out[s] = nanpct(th, 90) + nanpct(sh, 90)
        vals = [v for v in (out["left"], out["right"]) if np.isfinite(v)]
        # reference length = the longer image leg: the other may be foreshortened the whole clip
        # (a free leg held forward, the far leg in perspective)
        out["ref"] = float(max(vals)) if vals else float("nan")
        return out

    @cached_property
    def leg_length_world(self) -> dict[str, float]:
        out = {}
        for s in SIDES:
            th = np.linalg.norm(self.world(s, "knee") - self.world(s, "hip"), axis=1)
            sh = np.linalg.norm(self.world(s, "ankle") - self.world(s, "knee"), axis=1)
            out[s] = nanpct(th, 50) + nanpct(sh, 50)
        out["mean"] = float(np.nanmean([out["left"], out["right"]])) if any(
            np.isfinite([out["left"], out["right"]])) else float("nan")
        return out

    def lowest_point_y(self, side: str) -> np.ndarray:
        """(T,) image y (pixels, down) of the lowest of ankle, heel and toe."""
        ys = np.stack([self.xy(side, j)[:, 1] for j in ("ankle", "heel", "foot_index")])
        with np.errstate(all="ignore"):
            return np.nanmax(ys, axis=0) if np.isfinite(ys).any() else np.full(len(self.t), np.nan)

    @cached_property
    def floor_y_side(self) -> dict[str, float]:
        """Floor line under each foot (pixels): in a side view the far foot stands higher in the
        image (perspective), so each foot gets its own floor level."""
        raw = {s: nanpct(self.lowest_point_y(s), 60) for s in SIDES}
        vals = [v for v in raw.values() if np.isfinite(v)]
        if not vals:
            return raw
        lowest = max(vals)
        # a foot that never touches the floor (single-leg work) gets the other foot's floor
        margin = OFF_FLOOR_MARGIN_LEG * self.leg_length_px["ref"]
        return {s: (v if np.isfinite(v) and lowest - v <= margin else lowest) for s, v in raw.items()}

    @cached_property
    def floor_y(self) -> float:
        vals = [v for v in self.floor_y_side.values() if np.isfinite(v)]
        return float(np.max(vals)) if vals else float("nan")

    def foot_height(self, side: str) -> np.ndarray:
        """Height of the lowest point of the foot above its floor line, in leg lengths."""
        return self._memo(("foot_height", side), lambda: self._foot_height(side))

    def _foot_height(self, side: str) -> np.ndarray:
        h = (self.floor_y_side[side] - self.lowest_point_y(side)) / self.leg_length_px["ref"]
        return fill_gaps(self.t, h, self.max_gap_s)

    def heel_height(self, side: str) -> np.ndarray:
        return self._memo(("heel_height", side), lambda: self._heel_height(side))

    def _heel_height(self, side: str) -> np.ndarray:
        h = (self.floor_y_side[side] - self.xy(side, "heel")[:, 1]) / self.leg_length_px["ref"]
        return fill_gaps(self.t, h, self.max_gap_s)

    @cached_property
    def hip_height(self) -> np.ndarray:
        """Mid-hip height above the floor line, in leg lengths (about 1 when standing)."""
        y = (self.xy("left", "hip")[:, 1] + self.xy("right", "hip")[:, 1]) / 2
        h = (self.floor_y - y) / self.leg_length_px["ref"]
        return smooth(self.t, fill_gaps(self.t, h, self.max_gap_s), HIP_HEIGHT_SMOOTH_S)

    @cached_property
    def hip_drop(self) -> np.ndarray:
        """(T,) how far the mid-hip is below its standing height, in leg lengths (image). In a
        front view this is the one depth cue that stays in the image plane: knee flexion there
        is a 3D estimate whose range MediaPipe compresses (a 75 deg single-leg squat reads ~30)."""
        return self.standing_hip_height - self.hip_height

    @cached_property
    def standing_hip_height(self) -> float:
        both_down = (self.foot_height("left") < FOOT_DOWN_MAX_LEG) & (self.foot_height("right") < FOOT_DOWN_MAX_LEG)
        h = self.hip_height[both_down]
        if np.isfinite(h).sum() >= max(3, 0.05 * len(h) if len(h) else 3):
            return nanpct(h, 70)
        # never on both feet (single-leg work): the highest the hips go
        return nanpct(self.hip_height, 90)

    @cached_property
    def body_axes_world(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame unit lateral (toward the subject's left) and anterior axes, world frame."""
        w = self.pose.world_xyz
        lat = self.world("left", "hip") - self.world("right", "hip")
        up = ((self.world("left", "shoulder") + self.world("right", "shoulder")) / 2
              - (self.world("left", "hip") + self.world("right", "hip")) / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            lat = lat / np.linalg.norm(lat, axis=1, keepdims=True)
            up = up - np.sum(up * lat, axis=1, keepdims=True) * lat
            up = up / np.linalg.norm(up, axis=1, keepdims=True)
            ant = np.cross(lat, up)
            nose_dir = w[:, NOSE] - (w[:, LEFT_EAR] + w[:, RIGHT_EAR]) / 2
            sign = np.sign(np.nansum(ant * nose_dir, axis=1))
            fs = sign[np.isfinite(sign) & (sign != 0)]
            overall = np.sign(np.sum(fs)) if fs.size else 1.0
            sign = np.where(sign == 0, overall, sign)
            ant = ant * sign[:, None]
            # Ground the anterior axis on the horizontal plane (world y is down).
            ant[:, 1] = 0.0
            ant = ant / np.linalg.norm(ant, axis=1, keepdims=True)
            lat_h = lat.copy()
            lat_h[:, 1] = 0.0
            lat_h = lat_h / np.linalg.norm(lat_h, axis=1, keepdims=True)
        return lat_h, ant

    @cached_property
    def facing_sign(self) -> float:
        fac = np.asarray(self.angles.facing, dtype=float)
        fac = fac[fac != 0]
        return float(np.sign(np.sum(fac))) if fac.size else 0.0

    @cached_property
    def near_side(self) -> str | None:
        """The leg nearer the camera in a side view, from MediaPipe's relative depth of the hips
        (their separation on rendered side views: bench/README.md); None in other views or
        when the hips are about level in depth (the subject turned during the clip)."""
        if self.view.view != "sagittal":
            return None
        hip = {s: self.pose.image_z[:, SIDE_LANDMARKS[s]["hip"]] for s in SIDES}
        dz = nanpct(hip["left"] - hip["right"], 50)
        if not np.isfinite(dz) or abs(dz) < NEAR_SIDE_MIN_DEPTH * self.leg_length_px["ref"]:
            return None
        return "right" if dz > 0 else "left"          # smaller z = nearer the camera

    def foot_point_xy(self, side: str) -> np.ndarray:
        return self._memo(("fpxy", side), lambda: self._foot_point(side, self.xy))

    def foot_point_world(self, side: str) -> np.ndarray:
        return self._memo(("fpw", side), lambda: self._foot_point(side, self.world))

    def _foot_point(self, side: str, get) -> np.ndarray:
        return np.nanmean(np.stack([get(side, j) for j in ("ankle", "heel", "foot_index")]), axis=0)

    def foot_offset(self, moving: str, stance: str, moving_joint: str | None = None,
                    stance_joint: str | None = None) -> dict[str, np.ndarray]:
        return self._memo(("foot_offset", moving, stance, moving_joint, stance_joint),
                          lambda: self._foot_offset(moving, stance, moving_joint, stance_joint))

    def _foot_offset(self, moving: str, stance: str, moving_joint: str | None,
                     stance_joint: str | None) -> dict[str, np.ndarray]:
        """Displacement of one foot (its centre, or `moving_joint`) from the other (its centre, or
        `stance_joint`), in leg lengths.

        anterior (+ in front of the subject), lateral (+ toward the subject's left), total.
        In a side view anterior and total are in the image plane only (x * facing): the lateral
        component is depth there, and MediaPipe's depth guess would inflate the distance; it is
        still returned (from world landmarks) to tell reach directions apart. In other views the
        components come from MediaPipe world landmarks (frontal: lateral from the image).
        """
        lat_h, ant = self.body_axes_world

        def point(side, joint, get, centre):
            return get(side, joint) if joint else centre(side)

        mw = point(moving, moving_joint, self.world, self.foot_point_world)
        mi = point(moving, moving_joint, self.xy, self.foot_point_xy)
        dw = mw - point(stance, stance_joint, self.world, self.foot_point_world)
        lw = self.leg_length_world["mean"]
        with np.errstate(invalid="ignore"):
            a_w = np.sum(dw * ant, axis=1) / lw
            l_w = np.sum(dw * lat_h, axis=1) / lw
            tot_w = np.linalg.norm(dw[:, [0, 2]], axis=1) / lw
        di = mi - point(stance, stance_joint, self.xy, self.foot_point_xy)
        lp = self.leg_length_px["ref"]
        if self.view.view == "sagittal" and self.facing_sign != 0:
            a = self.facing_sign * di[:, 0] / lp
            tot = np.abs(a)
        elif self.view.view == "frontal":
            a = a_w
            tot = np.sqrt((di[:, 0] / lp) ** 2 + np.nan_to_num(a_w) ** 2)
            l_img = di[:, 0] / lp
            # image x is the subject's lateral axis (mirror for a subject facing the camera)
            sgn = np.sign(np.nanmedian(self.xy("left", "hip")[:, 0] - self.xy("right", "hip")[:, 0]))
            l_w = l_img * (sgn if sgn != 0 else 1.0)
        else:
            a, tot = a_w, tot_w
        def f(x: np.ndarray) -> np.ndarray:
            return fill_gaps(self.t, x, self.max_gap_s)

        return {"anterior": f(a), "lateral": f(l_w), "total": f(tot),
                # world-landmark-only components (any view; depth is MediaPipe's estimate)
                "anterior_world": f(a_w), "lateral_world": f(np.sum(dw * lat_h, axis=1) / lw)}

    def wrists_overhead(self) -> np.ndarray:
        """(T,) bool: both wrists above the top of the head (nose)."""
        nose_y = self.pose.image_xy[:, NOSE, 1]
        lw, rw = self.xy("left", "wrist")[:, 1], self.xy("right", "wrist")[:, 1]
        with np.errstate(invalid="ignore"):
            return (lw < nose_y) & (rw < nose_y)
