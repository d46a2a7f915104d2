"""Joint angles from landmarks, exactly as specified in docs/angles.md.

Everything is vectorised over frames: image landmarks are (T, 33, 2) pixels (x right, y down),
world landmarks (T, 33, 3) metres (MediaPipe world frame, y down). A missing landmark is NaN
and yields NaN; so do degenerate geometries (zero-length segments, an undefined sign or plane),
without warnings, because a gap is an honest answer and a guessed number is not.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import (
    LEFT_EAR,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_EAR,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    SIDE_LANDMARKS,
    SIDES,
)

# Below this length (in the input's units) a segment has no direction.
_EPS = 1e-9
# A horizontal extent must exceed this share of the thigh length to count as a facing vote.
FACING_MIN_EXTENT = 0.10
FACING_WINDOW_S = 1.0


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(v * v, axis=-1))


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def _cross2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _unit(v: np.ndarray) -> np.ndarray:
    """v / |v|, NaN where |v| is (near) zero so a degenerate direction propagates as a gap."""
    n = _norm(v)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > _EPS, v / np.where(n > _EPS, n, 1.0), np.nan)


def unsigned_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors a and b (..., 2 or 3) in degrees, 0..180; NaN if either is zero.

    atan2(|a x b|, a.b) rather than arccos: accurate near 0 and 180 degrees.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape[-1] == 2:
        cross = np.abs(_cross2(a, b))
    else:
        cross = _norm(np.cross(a, b))
    with np.errstate(invalid="ignore"):
        ang = np.degrees(np.arctan2(cross, _dot(a, b)))
        ok = (_norm(a) > _EPS) & (_norm(b) > _EPS)
    return np.where(ok, ang, np.nan)


def signed_angle_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """atan2(a x b, a.b) in degrees, -180..180, in image coordinates (y down); NaN if degenerate.

    With y pointing down a positive value is a clockwise turn from a to b on screen.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        ang = np.degrees(np.arctan2(_cross2(a, b), _dot(a, b)))
        ok = (_norm(a) > _EPS) & (_norm(b) > _EPS)
    return np.where(ok, ang, np.nan)


def _wrap180(deg: np.ndarray) -> np.ndarray:
    return (deg + 180.0) % 360.0 - 180.0


def _mid(p: np.ndarray, i: int, j: int) -> np.ndarray:
    return 0.5 * (p[:, i] + p[:, j])


def _side_points(p: np.ndarray, side: str) -> dict[str, np.ndarray]:
    return {name: p[:, idx] for name, idx in SIDE_LANDMARKS[side].items()}


def _thigh_length_2d(image_xy: np.ndarray) -> np.ndarray:
    """(T,) mean of the two thigh lengths, ignoring a missing one."""
    lengths = np.stack(
        [
            _norm(image_xy[:, SIDE_LANDMARKS[s]["knee"]] - image_xy[:, SIDE_LANDMARKS[s]["hip"]])
            for s in SIDES
        ],
        axis=1,
    )
    with np.errstate(invalid="ignore"), _quiet_nanwarnings():
        return np.nanmean(lengths, axis=1)


class _quiet_nanwarnings:
    """Silence numpy's 'mean of empty slice' RuntimeWarning: an all-NaN frame is a plain gap."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def facing_votes(image_xy: np.ndarray, min_extent: float = FACING_MIN_EXTENT) -> np.ndarray:
    """(T,) per-frame facing vote: +1 image-right, -1 image-left, 0 unclear, NaN no landmarks.

    Votes: heel -> toe x of each foot and nose x relative to the ear midpoint, each counted only
    when its horizontal extent exceeds `min_extent` x thigh length (a frontal view gives none).
    The clip-median thigh length is used as the scale so a foreshortened thigh (deep flexion)
    does not let noise vote.
    """
    image_xy = np.asarray(image_xy, dtype=float)
    with _quiet_nanwarnings():
        scale = np.nanmedian(_thigh_length_2d(image_xy)) if len(image_xy) else np.nan
    dx = np.stack(
        [
            image_xy[:, SIDE_LANDMARKS[s]["foot_index"], 0] - image_xy[:, SIDE_LANDMARKS[s]["heel"], 0]
            for s in SIDES
        ]
        + [image_xy[:, NOSE, 0] - 0.5 * (image_xy[:, LEFT_EAR, 0] + image_xy[:, RIGHT_EAR, 0])],
        axis=1,
    )
    measured = ~np.isnan(dx)
    with np.errstate(invalid="ignore"):
        clear = measured & (np.abs(dx) > min_extent * scale)
    votes = np.sign(np.where(clear, dx, 0.0)).sum(axis=1)
    out = np.sign(votes).astype(float)
    out[~measured.any(axis=1)] = np.nan
    return out


def facing_direction(
    image_xy: np.ndarray,
    time_s: np.ndarray,
    window_s: float = FACING_WINDOW_S,
    min_extent: float = FACING_MIN_EXTENT,
) -> np.ndarray:
    """(T,) int facing per frame: +1 image-right, -1 image-left, 0 unknown.

    Per-frame votes (see `facing_votes`) smoothed with a rolling majority over `window_s`
    centred on the frame: a direction wins only when more than half of the frames with
    landmarks in the window vote for it, so a frontal view (mostly unclear votes) stays 0
    and a few noisy frames cannot flip a side view. Windows are by time, so a variable frame
    rate is handled.
    """
    votes = facing_votes(image_xy, min_extent)
    t = np.asarray(time_s, dtype=float)
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=int)
    has = ~np.isnan(votes)
    pos = np.concatenate([[0], np.cumsum(has & (votes > 0))])
    neg = np.concatenate([[0], np.cumsum(has & (votes < 0))])
    cnt = np.concatenate([[0], np.cumsum(has)])
    lo = np.searchsorted(t, t - window_s / 2, side="left")
    hi = np.searchsorted(t, t + window_s / 2, side="right")
    n_pos = pos[hi] - pos[lo]
    n_neg = neg[hi] - neg[lo]
    n_all = cnt[hi] - cnt[lo]
    out = np.zeros(n, dtype=int)
    out[2 * n_pos > n_all] = 1
    out[2 * n_neg > n_all] = -1
    return out


def _fppa(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other_hip: np.ndarray) -> np.ndarray:
    """Frontal-plane projection angle in 2D coordinates, + when the knee is medial (valgus).

    Medial = the side of the hip-ankle line the other hip is on, so the sign is the same for
    both legs and for front and back views. A knee on the line gives 0 (a straight leg);
    an undefined medial side (other hip on the line) gives NaN.
    """
    ang = unsigned_angle(knee - hip, ankle - knee)
    line = ankle - hip
    kc = _cross2(line, knee - hip)
    # Knee (numerically) on the line: 0 or 180 degrees, the sign carries no information.
    with np.errstate(invalid="ignore"):
        on_line = np.abs(kc) <= 1e-9 * _norm(line) * _norm(knee - hip)
    k_side = np.where(on_line, 0.0, np.sign(kc))
    mc = _cross2(line, other_hip - hip)
    # The other hip (numerically) on the line: no medial side. Relative, like the knee's test,
    # so a mirrored image (x -> W - x, rounded) gives the same answer.
    # Nor when the ankle or the other hip is (numerically) on the hip: no line, or no side of it.
    with np.errstate(invalid="ignore"):
        leg = _norm(knee - hip) + _norm(ankle - knee)
        degenerate = (_norm(line) <= 1e-9 * leg) | (_norm(other_hip - hip) <= 1e-9 * leg)
        m_side = np.where(degenerate | (np.abs(mc) <= 1e-9 * _norm(line) * _norm(other_hip - hip)), 0.0, np.sign(mc))
    sign = np.where(k_side == 0, 1.0, k_side * m_side)
    with np.errstate(invalid="ignore"):
        sign = np.where(m_side == 0, np.nan, sign)
    return ang * sign


def angles_2d(image_xy: np.ndarray, facing: np.ndarray) -> dict[str, np.ndarray]:
    """Every 2D column of docs/angles.md from image landmarks (T, 33, 2) and facing (T,)."""
    p = np.asarray(image_xy, dtype=float)
    f = np.asarray(facing, dtype=float)
    f = np.where(f == 0, np.nan, np.sign(f))  # unknown facing -> NaN for signed sagittal angles
    mid_hip = _mid(p, LEFT_HIP, RIGHT_HIP)
    mid_sh = _mid(p, LEFT_SHOULDER, RIGHT_SHOULDER)
    trunk = mid_sh - mid_hip
    up = np.broadcast_to(np.array([0.0, -1.0]), trunk.shape)
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        other = "right" if side == "left" else "left"
        s = _side_points(p, side)
        thigh = s["knee"] - s["hip"]
        shank = s["ankle"] - s["knee"]
        foot = s["foot_index"] - s["heel"]
        out[f"{side}_hip_flexion_deg"] = -f * signed_angle_2d(-trunk, thigh)
        out[f"{side}_knee_flexion_deg"] = unsigned_angle(thigh, shank)
        out[f"{side}_ankle_dorsiflexion_deg"] = 90.0 - unsigned_angle(-shank, foot)
        other_hip = p[:, SIDE_LANDMARKS[other]["hip"]]
        out[f"{side}_knee_fppa_deg"] = _fppa(s["hip"], s["knee"], s["ankle"], other_hip)
    out["trunk_lean_deg"] = f * signed_angle_2d(up, trunk)
    # Frontal plane: pelvic drop and lateral lean, left and right mirror each other.
    dx = p[:, LEFT_HIP, 0] - p[:, RIGHT_HIP, 0]
    dy = p[:, LEFT_HIP, 1] - p[:, RIGHT_HIP, 1]
    with np.errstate(invalid="ignore"):
        drop = np.degrees(np.arctan2(dy, np.abs(dx)))
        drop = np.where(np.hypot(dx, dy) > _EPS, drop, np.nan)
        lean = unsigned_angle(up, trunk)
        # + when the shoulders are displaced (in x) toward the left hip.
        toward_left = np.sign(trunk[:, 0]) * np.sign(dx)
        toward_left = np.where(np.abs(dx) > _EPS, np.where(trunk[:, 0] == 0, 1.0, toward_left), np.nan)
    left_lean = lean * toward_left
    out["left_pelvic_drop_deg"] = drop
    out["right_pelvic_drop_deg"] = -drop
    out["left_trunk_lateral_lean_deg"] = left_lean
    out["right_trunk_lateral_lean_deg"] = -left_lean
    return out


def body_frame(world_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame orthonormal body axes (L lateral to the left, V trunk up, A anterior), (T, 3) each.

    A's sign: towards the nose from the ear midpoint; where that is unavailable, L x V, which
    is anterior for a right-handed frame such as MediaPipe's (x right, y down, z away from the
    camera): the ISB axes have anterior = superior x right.
    Collinear hips and shoulders leave V (and A) undefined: NaN.
    """
    w = np.asarray(world_xyz, dtype=float)
    L = _unit(w[:, LEFT_HIP] - w[:, RIGHT_HIP])
    trunk = _mid(w, LEFT_SHOULDER, RIGHT_SHOULDER) - _mid(w, LEFT_HIP, RIGHT_HIP)
    V = _unit(trunk - _dot(trunk, L)[:, None] * L)
    A = np.cross(L, V)
    face = w[:, NOSE] - _mid(w, LEFT_EAR, RIGHT_EAR)
    with np.errstate(invalid="ignore"):
        s = np.sign(_dot(A, face))
    s = np.where(np.isnan(s) | (s == 0), 1.0, s)
    return L, V, A * s[:, None]


def angles_3d(world_xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Every 3D column of docs/angles.md from world landmarks (T, 33, 3), MediaPipe y down."""
    w = np.asarray(world_xyz, dtype=float)
    L, V, A = body_frame(w)
    up = np.broadcast_to(np.array([0.0, -1.0, 0.0]), L.shape)
    trunk = _mid(w, LEFT_SHOULDER, RIGHT_SHOULDER) - _mid(w, LEFT_HIP, RIGHT_HIP)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        for side in SIDES:
            other = "right" if side == "left" else "left"
            s = _side_points(w, side)
            thigh = s["knee"] - s["hip"]
            shank = s["ankle"] - s["knee"]
            foot = s["foot_index"] - s["heel"]
            # Hip: thigh in the sagittal plane, from -V (trunk extended down) toward A.
            tv, ta = _dot(thigh, -V), _dot(thigh, A)
            hip = np.degrees(np.arctan2(ta, tv))
            out[f"{side}_hip_flexion_3d_deg"] = np.where(np.hypot(tv, ta) > _EPS, hip, np.nan)
            out[f"{side}_knee_flexion_3d_deg"] = unsigned_angle(thigh, shank)
            out[f"{side}_ankle_dorsiflexion_3d_deg"] = 90.0 - unsigned_angle(-shank, foot)
            # FPPA: hip, knee, ankle and the other hip in frontal-plane coordinates (L, V).
            def proj(q: np.ndarray) -> np.ndarray:
                return np.stack([_dot(q, L), _dot(q, V)], axis=-1)

            out[f"{side}_knee_fppa_3d_deg"] = _fppa(
                proj(s["hip"]), proj(s["knee"]), proj(s["ankle"]), proj(w[:, SIDE_LANDMARKS[other]["hip"]])
            )
        # Trunk lean: V against world up projected on the sagittal plane, + toward A.
        uv, ua = _dot(up, V), _dot(up, A)
        lean = np.degrees(np.arctan2(-ua, uv))
        out["trunk_lean_3d_deg"] = np.where(np.hypot(uv, ua) > _EPS, lean, np.nan)
        # Pelvic drop: L against the horizontal plane, + when the left hip is lower (y down).
        horiz = np.hypot(L[:, 0], L[:, 2])
        out["left_pelvic_drop_3d_deg"] = np.degrees(np.arctan2(L[:, 1], horiz))
        out["right_pelvic_drop_3d_deg"] = -out["left_pelvic_drop_3d_deg"]
        # Lateral lean: the trunk vector (not V, which is orthogonal to L by construction) against
        # world up, both in frontal-plane coordinates (L, V); + toward the left.
        t_ang = np.arctan2(_dot(trunk, L), _dot(trunk, V))
        u_ang = np.arctan2(_dot(up, L), _dot(up, V))
        left_lean = _wrap180(np.degrees(t_ang - u_ang))
        ok = (_norm(trunk) > _EPS) & (np.hypot(_dot(up, L), _dot(up, V)) > _EPS)
        left_lean = np.where(ok, left_lean, np.nan)
    out["left_trunk_lateral_lean_3d_deg"] = left_lean
    out["right_trunk_lateral_lean_3d_deg"] = -left_lean
    return out
