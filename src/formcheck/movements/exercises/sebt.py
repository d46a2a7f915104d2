"""Modified Star Excursion Balance Test: single-leg stance, the free foot reaches
anterior, posteromedial or posterolateral, touches lightly and returns.

Driver: distance between the feet (leg lengths). Events: reach_start, max_reach,
reach_hold_start, return_start, end. Side = the STANCE leg (as the test is scored).
Reach, as the protocol reads it (the stance toe on the centre of the grid, the reach read at
the most distal point the reaching foot touches along the grid line): stance toe tip to
reaching toe tip, projected on the direction's grid line (anterior; 135 deg from it for the
posterior directions), at maximal reach, normalised to the subject's own leg length (hip
joint centre to ankle, thigh + shank); in cm when the leg length (ASIS to medial malleolus,
as in the protocol) is given.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import ADVICE, MovementContext, other
from formcheck.movements.exercises.base import BaseExercise, ClipFindings, RepResult
from formcheck.movements.metrics import heel_rise, loaded_leg_metrics, window
from formcheck.movements.report import Rep, UnsupportedMeasure, metric_number
from formcheck.movements.rules import sebt_clip
from formcheck.movements.segment import SHALLOW, Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanmin, nanpct
from formcheck.movements.thresholds import Thresholds

FOOT_DOWN = 0.03   # foot height (leg lengths) below which a foot is on the floor
# grid line of each direction: angle from anterior, + toward the reaching leg's side
DIRECTION_DEG = {"anterior": 0.0, "posteromedial": 135.0, "posterolateral": -135.0}


def reach_along_line(ctx: MovementContext, stance: str, direction: str, rest: slice) -> np.ndarray:
    """(T,) stance toe tip -> reaching toe tip along the direction's grid line, leg lengths.

    The stance toe is where it stood before the trial (`rest` frames), taken relative to the
    stance-foot centre: the stance foot does not move in a valid trial, and MediaPipe pulls the
    toe point of a loaded, dorsiflexed foot ~8 px back (640x360 renders), which would add ~4 %
    of leg length to every reach. Side view: in-plane only (the image's anterior component; a
    posterior reach is assumed to follow its 135 deg line, so the in-plane part is divided by
    cos 45 deg). Other views: anterior and lateral components (world landmarks; frontal:
    lateral from the image)."""
    reach = other(stance)
    to_reach = ctx.foot_offset(reach, stance, moving_joint="foot_index")
    stance_toe = ctx.foot_offset(stance, stance, moving_joint="foot_index")
    comp = {k: to_reach[k] - nanpct(stance_toe[k][rest], 50, 0.0) for k in ("anterior", "lateral")}
    ang = np.radians(DIRECTION_DEG.get(direction, 0.0))
    if ctx.view.view == "sagittal" and ctx.facing_sign != 0:
        return comp["anterior"] / np.cos(ang)
    toward_reach_side = 1.0 if reach == "left" else -1.0      # lateral is + toward the left
    return comp["anterior"] * np.cos(ang) + np.nan_to_num(comp["lateral"]) * toward_reach_side * np.sin(ang)


def reach_in_image_plane(ctx: MovementContext) -> bool:
    """A side view with a known facing direction: the reach is measured in the image."""
    return ctx.view.view == "sagittal" and ctx.facing_sign != 0


def marker_reach_supported(ctx: MovementContext, direction: str | None) -> bool:
    """Whether a floor marker can turn this trial's reach into cm.

    The marker's homography maps image points to the floor, so a toe point's error in image y
    becomes depth on the floor: about 1 cm per pixel 3 m from a camera 1.6 m high, and
    MediaPipe's toe point is several pixels off in y. Only a reach along the image plane keeps
    that out: an anterior reach filmed from the side (the errors of each view through the pose
    model: bench/README.md, marker_reach.py)."""
    return reach_in_image_plane(ctx) and direction == "anterior"


def reach_on_floor_cm(ctx: MovementContext, stance: str, rest: slice, i: int) -> float:
    """Stance toe tip at rest -> reaching toe tip at maximal reach, in cm on the floor plane of a
    printed marker (ctx.floor_scale).

    The straight distance, not its projection on an estimated grid line: the protocol asks for a
    light touch on the line, so the distance from the grid's centre (the stance toe) to the
    touch is the reach. MediaPipe's heel-to-toe line on the floor, the only estimate of the line's
    direction, is several degrees off in rendered side views (the figures: bench/README.md)."""
    fs = ctx.floor_scale
    assert fs is not None, "called only for a clip with a floor marker"

    def med(side: str, idx) -> np.ndarray:
        return np.nanmedian(fs.to_floor_cm(ctx.xy(side, "foot_index")[idx]), axis=0)

    toe0 = med(stance, rest)
    tip = med(other(stance), slice(max(i - 2, 0), i + 3))
    return float(np.linalg.norm(tip - toe0))


class Exercise(BaseExercise):
    event_names = ("reach_start", "max_reach", "reach_hold_start", "return_start", "end")
    default_params = SegmentParams(min_range=0.30, min_rep_s=0.5)
    rep_word = "trial"
    notes_reps_per_side = False      # trials are compared per direction (sebt_clip)

    def mark_partial(self, segs: list[Segment], partial_frac: float) -> None:
        """Reach directions differ in excursion, so "shallow" (vs the median) is meaningless;
        trial validity is judged by the SEBT rules instead (a trial cut by the clip stays partial)."""
        for s in segs:
            if s.partial_reason == SHALLOW:
                s.partial_reason = None
            s.complete = s.partial_reason is None

    def clip_findings(self, ctx: MovementContext, th: Thresholds, reps: list[Rep],
                      leg_length_cm: dict[str, float] | None) -> ClipFindings:
        """The reach's scale (floor marker, leg length, or the image's leg), the best trials, the
        composite and the cm asymmetry, and the reaches the view or the marker cannot measure."""
        for rep in reps:  # the scale first: the best trials and the cm asymmetry use it
            L = (leg_length_cm or {}).get(rep.side) if rep.side in ("left", "right") else None
            v, cm = metric_number(rep.metrics.get("reach_pct_leg")), metric_number(rep.metrics.get("reach_cm"))
            if cm is not None:                       # measured on the floor (marker)
                rep.metrics["reach_scale"] = "marker"
                if L:
                    rep.metrics["reach_pct_leg"] = round(100 * cm / L, 1)
            elif L and v is not None:
                rep.metrics["reach_cm"] = round(v / 100 * L, 1)
                rep.metrics["reach_scale"] = "leg_length"
            elif v is not None:
                rep.metrics["reach_scale"] = "image_leg"
        flags, unsupported, summary = sebt_clip(th, reps, leg_length_cm)
        view = ("an " if ctx.view.view[0] in "aeiou" else "a ") + ctx.view.view
        if reps and not reach_in_image_plane(ctx):
            unsupported.append(UnsupportedMeasure(
                measure="reach_pct_leg",
                reason=f"filmed from {view} view: the reach runs toward or away from the camera, and one "
                       "camera's depth estimate misses about a third of it",
                advice=f"Reach distance needs a side view ({ADVICE['side']})."))
        off_plane = sorted({r.direction or "unknown" for r in reps if not marker_reach_supported(ctx, r.direction)})
        if ctx.floor_scale is not None and off_plane:
            unsupported.append(UnsupportedMeasure(
                measure="reach_cm",
                reason=f"the floor marker measures a reach only along the image plane; filmed from {view} "
                       f"view, the {', '.join(off_plane)} reach runs partly in depth, where each pixel of the "
                       "pose model's toe error is about a centimetre on the floor",
                advice=f"For the anterior reach in cm, film it from the side ({ADVICE['side']}) with the "
                       "marker in view; otherwise give the leg lengths (side view: reach as % of leg length, "
                       "and cm from it)."))
        used = sorted({str(r.metrics["reach_scale"]) for r in reps if "reach_scale" in r.metrics})
        scale = {"reach": used[0] if len(used) == 1 else ",".join(used) or None,
                 "marker": ctx.floor_scale.to_dict() if ctx.floor_scale is not None else None}
        return ClipFindings(flags=flags, unsupported=unsupported, summary=summary, scale=scale)

    def driver(self, ctx: MovementContext) -> np.ndarray:
        """How far the foot-to-foot vector is from its resting value (leg lengths): the reach
        foot's excursion whatever the direction (a posterolateral reach crosses behind the
        stance foot, so the plain distance between the feet would hardly grow)."""
        off = ctx.foot_offset("left", "right")

        def excursion(a, lat):
            rest_a, rest_l = nanpct(a, 50, 0.0), nanpct(lat, 50, 0.0)
            return np.sqrt((a - rest_a) ** 2 + (np.nan_to_num(lat, nan=rest_l) - rest_l) ** 2)

        if ctx.view.view == "sagittal" and ctx.facing_sign != 0:
            # in-plane only: every direction has an anterior component (cos 135 deg = -0.71),
            # and MediaPipe's depth guess between the feet adds phantom trials
            # (the far foot is hidden while the feet are together: rest = the smallest offsets)
            a = off["anterior"]
            with np.errstate(invalid="ignore"):
                near = np.abs(a) <= nanpct(np.abs(a), 20)
            return np.abs(a - nanpct(a[near], 50, 0.0))
        # image-based where the view allows, world-based otherwise; the larger of the two
        x = np.fmax(excursion(off["anterior"], off["lateral"]),
                    excursion(off["anterior_world"], off["lateral_world"]))
        if ctx.view.view == "frontal":
            # an anterior reach goes toward the camera: depth, which MediaPipe's world landmarks
            # render at about half its size. The stance leg lowers the hips with every reach
            # (the knee bends 40-60 deg), in the image plane: add that drop
            x = x + np.clip(np.nan_to_num(ctx.hip_drop), 0.0, None)
        return x

    def stance_side(self, ctx: MovementContext, seg: Segment) -> str:
        score = {}
        for s in ("left", "right"):
            p = ctx.foot_point_xy(s)
            d = np.linalg.norm(p[seg.start:seg.end + 1] - p[seg.start], axis=1) / ctx.leg_length_px["ref"]
            score[s] = nanmax(d) + nanmax(ctx.foot_height(s)[seg.start:seg.end + 1])
        return min(score, key=lambda k: np.nan_to_num(score[k], nan=9.0))

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        stance = self.stance_side(ctx, seg)
        reach = other(stance)
        offs = ctx.foot_offset(reach, stance, moving_joint="foot_index")
        sl = window(seg)
        i = seg.peak                                      # largest excursion of the reach foot
        # direction from the reach foot's displacement since the start of the trial
        a = at(offs["anterior"], i, 1) - at(offs["anterior"], seg.start, 1)
        lat = at(offs["lateral"], i, 1) - at(offs["lateral"], seg.start, 1)
        medial = -lat if stance == "left" else lat       # toward the reaching leg's side
        if self.variant.get("direction"):
            direction = self.variant["direction"]
        elif not np.isfinite(a):
            direction = "unknown"
        elif a >= 0:
            direction = "anterior"
        else:
            direction = "posteromedial" if np.nan_to_num(medial) >= 0 else "posterolateral"
        dt = float(np.median(np.diff(ctx.t))) if len(ctx.t) > 1 else 0.033
        rest = slice(max(seg.start - int(0.5 / dt), 0), seg.start + 1)
        along = reach_along_line(ctx, stance, direction, rest)
        # Only a side view holds the reach in the image plane; from the front or at an angle
        # the reach runs toward the camera, and MediaPipe's depth loses a third of it (synthetic
        # lab: front -33 %, oblique -22 % of leg length), and a floor marker does not help
        # (`marker_reach_supported`): no reach there; `along` still times the trial (validity
        # checks below).
        in_plane = reach_in_image_plane(ctx)
        m: dict = {"reach_pct_leg": clean(100 * at(along, i, 2)) if in_plane else None,
                   "reach_anterior_pct_leg": clean(100 * a), "reach_medial_pct_leg": clean(100 * medial),
                   "reach_method": "image (in-plane)" if in_plane else "none (the reach leaves the image plane)"}
        if ctx.floor_scale is not None and marker_reach_supported(ctx, direction):
            m["reach_cm"] = clean(reach_on_floor_cm(ctx, stance, rest, i))
        full = loaded_leg_metrics(ctx, stance, seg, i)
        # stance-leg angles AT maximal reach (Pinheiro 2020), plus the trial peaks
        for meas, key in (("hip_flexion", "hip_flexion_at_reach_deg"), ("knee_flexion", "knee_flexion_at_reach_deg"),
                          ("ankle_dorsiflexion", "ankle_dorsiflexion_at_reach_deg")):
            m[key] = clean(at(ctx.angle(meas, stance), i, 1))
        m["trunk_lean_at_reach_deg"] = clean(at(ctx.angle("trunk_lean"), i, 1))
        h, k = m["hip_flexion_at_reach_deg"], m["knee_flexion_at_reach_deg"]
        m["hip_knee_ratio"] = clean(h / k, 2) if h is not None and k and k > 1 else None
        for key in ("peak_hip_flexion_deg", "peak_knee_flexion_deg", "peak_trunk_lean_deg", "peak_knee_fppa_deg",
                    "peak_contralateral_pelvic_drop_deg", "peak_trunk_lateral_lean_deg", "angle_source"):
            m[key] = full[key]
        # raw evidence for trial validity (judged in rules.py against thresholds.toml)
        m["stance_heel_lift_deg"] = clean(heel_rise(ctx, stance, seg, max(i - 2, seg.start), min(i + 2, seg.end)))
        down = ctx.foot_height(reach)[sl] < FOOT_DOWN
        far = along[sl] >= 0.9 * nanmax(along[sl])
        both = down & far
        longest, run, run_end = 0, 0, 0
        for j, v in enumerate(both):
            run = run + 1 if v else 0
            if run > longest:
                longest, run_end = run, j
        m["reach_foot_down_s"] = clean(longest * dt, 2)
        # weight shifting onto the reach foot: the stance knee straightens while it is down
        unload = float("nan")
        if longest:
            k = ctx.angle("knee_flexion", stance, allow_any=True)[sl]
            a0 = max(run_end - longest + 1 - int(0.2 / dt), 0)
            unload = nanmax(k[a0:run_end - longest + 2]) - nanmin(k[run_end - longest + 1:run_end + 1])
        m["stance_knee_unload_deg"] = clean(unload)
        p = ctx.foot_point_xy(stance)
        shift = np.linalg.norm(p[sl] - p[seg.start], axis=1) / ctx.leg_length_px["ref"]
        m["stance_foot_shift_leg"] = clean(nanmax(shift), 3)
        m["returned"] = self.returned(ctx, seg, reach, dt)
        m["return_s"] = clean(ctx.t[seg.end] - ctx.t[seg.plateau_end], 2)
        m["reach_out_s"] = clean(ctx.t[seg.plateau_start] - ctx.t[seg.start], 2)
        return RepResult(side=stance, direction=direction, events=seg.events(ctx.t, self.event_names),
                         metrics=m, bottom=i)

    @staticmethod
    def returned(ctx: MovementContext, seg: Segment, reach: str, dt: float) -> bool:
        """The reaching foot is back beside the stance foot at the end of the trial (from 0.2 s
        before the end to 0.5 s after it). In a side view the far foot is hidden behind the near
        one exactly when the feet are together, so an unseen reach foot there counts as back."""
        gap = ctx.foot_offset("left", "right")["total"]
        lo, hi = max(seg.end - int(0.2 / dt), 0), min(seg.end + int(0.5 / dt) + 1, len(gap))
        if nanmin(gap[lo:hi]) <= nanpct(gap, 10) + 0.2:
            return True
        toe = ctx.xy(reach, "foot_index")[lo:hi, 0]
        return ctx.view.view == "sagittal" and bool(np.isnan(toe).any())

    def depth_metric(self) -> str:
        return "reach_pct_leg"

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        return [("reach_pct_leg", "pct_limb"), ("hip_flexion_at_reach_deg", "deg"),
                ("knee_flexion_at_reach_deg", "deg")]
