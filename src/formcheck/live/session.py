"""Live analysis, one frame at a time and causal throughout (nothing waits for future frames).

    frame -> pose landmarker (VIDEO mode, lite model by default)
          -> visibility mask + One Euro filter (kinematics, the live smoother)
          -> per-frame angles (kinematics.angles; facing from the last second of frames)
          -> online rep counting on knee flexion (reps.OnlineRepCounter, exercises.toml settings)
          -> when a rep ends: the offline rep metrics and flags over the kept history
             (the exercise module's `analyse_rep`, `rules.rep_flags`), so cues use the same
             thresholds.toml entries and wording as an uploaded clip
          -> camera-setup check over the last second (setup.check_setup).

`LiveAnalyzer` is pure (landmarks in, results out: tested with arrays); `LiveSession` adds the
model and owns it (one landmarker per session; `close()` releases it).
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from dataclasses import dataclass, field

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python.vision import RunningMode

from formcheck.config import LiveSettings, Settings
from formcheck.errors import UnknownExerciseError
from formcheck.kinematics import angles_from_clean
from formcheck.kinematics.angles import FACING_WINDOW_S, angles_2d, angles_3d, facing_votes
from formcheck.kinematics.filters import OneEuroFilter
from formcheck.kinematics.gaps import mask_invisible
from formcheck.landmarks import NUM_LANDMARKS
from formcheck.live.reps import OnlineRep, OnlineRepCounter
from formcheck.live.setup import SetupCheck, check_setup
from formcheck.movements import exercises as ex_registry
from formcheck.movements.context import MovementContext, estimate_view
from formcheck.movements.exercises.base import BaseExercise
from formcheck.movements.feedback import rep_feedback
from formcheck.movements.recognize import FAMILY_DEFAULT
from formcheck.movements.report import Rep
from formcheck.movements.rules import rep_flags
from formcheck.movements.segment import SHALLOW, Segment, SegmentParams
from formcheck.movements.thresholds import Thresholds, load_thresholds
from formcheck.pose.detector import create_landmarker, detections_from_result
from formcheck.pose.quiet import QuietLandmarker
from formcheck.pose.tracking import Detection
from formcheck.series import PoseSeries

# Families whose reps follow knee flexion, and which knee drives the count. As the offline
# drivers (exercises/squat.py, lunge.py): both knees bend together in a squat (mean); in a
# split-stance lunge the less-bent knee (min) so a knee drive adds no rep; the bending leg of a
# lateral lunge, single-leg squat or step-up (max; offline the step-up follows hip height, which
# needs the floor line of the whole clip).
KNEE_DRIVER = {"squat": "mean", "single_leg_squat": "max", "lunge": "min", "step_up": "max"}
LIVE_FAMILIES = tuple(KNEE_DRIVER)
DEFAULT_EXERCISE = "squat"
# Angles sent with every frame (docs/angles.md names).
FRAME_ANGLES = tuple(f"{side}_{name}" for side in ("left", "right")
                     for name in ("hip_flexion_deg", "knee_flexion_deg", "ankle_dorsiflexion_deg",
                                  "knee_flexion_3d_deg", "knee_fppa_deg")) + ("trunk_lean_deg",)


def live_exercises(with_aliases: bool = False) -> dict[str, str]:
    """Exercise names (optionally also aliases) the live mode can count, with their labels."""
    specs = ex_registry.registry()
    out = {name: spec.label for name, spec in specs.items() if spec.family in LIVE_FAMILIES}
    if with_aliases:
        for alias, family in ex_registry.aliases().items():
            if family in LIVE_FAMILIES:
                out[alias] = specs[FAMILY_DEFAULT[family]].label
    return out


def resolve_exercise(name: str | None) -> str:
    """A registry name for a live-countable exercise; ValueError says which names work."""
    if name is not None and not isinstance(name, str):
        raise ValueError(f"exercise must be a name, not {type(name).__name__}")
    try:
        key = ex_registry.resolve(name or DEFAULT_EXERCISE)
    except UnknownExerciseError:
        key = None                      # refused below, with the names live mode can count
    specs, aliases = ex_registry.registry(), ex_registry.aliases()
    if key in aliases:
        key = FAMILY_DEFAULT[aliases[key]]
    if key not in specs or specs[key].family not in LIVE_FAMILIES:
        raise ValueError(f"exercise {name!r} cannot be followed live; choose one of: "
                         + ", ".join(sorted(live_exercises(with_aliases=True))))
    return key


def live_segment_params(ex: BaseExercise) -> SegmentParams:
    """The exercise's hysteresis settings, with min_range in knee degrees.

    A step-up's exercises.toml range is in leg lengths of hip rise (its offline driver), so
    live it keeps its timing but takes the knee-flexion default range of `BaseExercise`."""
    params = ex.params()
    if ex.family == "step_up":
        params.min_range = BaseExercise.default_params.min_range
    return params


def _knee_driver(angles: dict[str, float], how: str, source: str) -> float:
    suffix = "_knee_flexion_3d_deg" if source == "3d" else "_knee_flexion_deg"
    kl, kr = angles.get("left" + suffix, np.nan), angles.get("right" + suffix, np.nan)
    if how == "mean":
        return (kl + kr) / 2 if np.isfinite(kl) and np.isfinite(kr) else float(np.fmax(kl, kr))
    return float(np.fmax(kl, kr) if how == "max" else np.fmin(kl, kr))


def _num(v: float, nd: int = 1) -> float | None:
    return round(float(v), nd) if v is not None and np.isfinite(v) else None


@dataclass
class LiveUpdate:
    """What one processed frame yields (JSON: `to_json`)."""

    time_s: float
    width: int
    height: int
    landmarks: np.ndarray | None          # (33, 2) smoothed, normalised to the image (0..1); NaN hidden
    visibility: np.ndarray | None         # (33,)
    angles: dict[str, float]
    driver: float                         # the knee-flexion value the reps are counted on
    rep_count: int
    partial_count: int
    phase: str                            # rest | rep
    setup: SetupCheck
    cues: list[str] = field(default_factory=list)
    new_rep: dict | None = None           # set on the frame a rep ends
    processing_ms: float = 0.0

    @property
    def pose_found(self) -> bool:
        return self.landmarks is not None

    def to_json(self) -> dict:
        lms = None
        if self.landmarks is not None and self.visibility is not None:
            lms = [[_num(x, 4), _num(y, 4), _num(v, 2)]
                   for (x, y), v in zip(self.landmarks, self.visibility)]
        return {
            "time_s": round(self.time_s, 3), "width": self.width, "height": self.height,
            "pose": self.pose_found, "landmarks": lms,
            "angles": {k: _num(v) for k, v in self.angles.items()},
            "reps": {"count": self.rep_count, "partial": self.partial_count, "phase": self.phase,
                     "driver_deg": _num(self.driver)},
            "new_rep": self.new_rep, "cues": self.cues, "setup": self.setup.to_json(),
            "processing_ms": round(self.processing_ms, 1),
        }


class LiveAnalyzer:
    """Landmarks of one frame at a time -> angles, reps, cues, setup check. No model, no I/O."""

    def __init__(self, exercise: str | None = None, settings: Settings | None = None,
                 live: LiveSettings | None = None, thresholds: Thresholds | None = None) -> None:
        self.settings = settings or Settings()
        self.live = live or LiveSettings()
        self.thresholds = thresholds or load_thresholds()
        self.exercise_name = resolve_exercise(exercise)
        self.exercise = ex_registry.create(self.exercise_name)
        self.spec = self.exercise.spec
        lateral = self.exercise.variant.get("direction") == "lateral"
        self.driver_knees = "max" if lateral else KNEE_DRIVER[self.spec.family]
        k = self.settings.kinematics
        self._filters = {name: OneEuroFilter(k.one_euro_min_cutoff, k.one_euro_beta) for name in ("xy", "z", "w")}
        self.counter = OnlineRepCounter(live_segment_params(self.exercise), self.live.rest_window_s)
        self._history: deque[tuple] = deque()   # (t, xy, z, world, vis, presence, driver)
        self._raw: deque[tuple] = deque()       # (t, xy, vis) unmasked, for the setup check
        self._last_t = -np.inf
        self.cues: list[str] = []
        self._praise = False                    # self.cues is the last rep's "looks good"
        self.reps: list[Rep] = []
        self.setup = SetupCheck(False, False, "unknown", "unknown", False, [], [], 0)
        self.width = self.height = 0

    # ----- per frame -----------------------------------------------------------------------
    def update(self, time_s: float, detection: Detection | None, width: int, height: int) -> LiveUpdate:
        t = max(float(time_s), self._last_t + 1e-3)   # strictly increasing, as the filters need
        self._last_t, self.width, self.height = t, width, height
        k = self.settings.kinematics
        if detection is None:
            raw_xy = np.full((NUM_LANDMARKS, 2), np.nan)
            z, world = np.full(NUM_LANDMARKS, np.nan), np.full((NUM_LANDMARKS, 3), np.nan)
            vis = presence = np.zeros(NUM_LANDMARKS)
        else:
            raw_xy, z, world = detection.image_xy, detection.image_z, detection.world_xyz
            vis, presence = detection.visibility, detection.presence
        # Hidden landmarks become NaN; the One Euro filter restarts them when they reappear.
        xy = self._filters["xy"](t, mask_invisible(raw_xy[None], vis[None], k.visibility_min)[0])
        z = self._filters["z"](t, mask_invisible(z[None], vis[None], k.visibility_min)[0])
        world = self._filters["w"](t, mask_invisible(world[None], vis[None], k.visibility_min)[0])

        self._raw.append((t, raw_xy, vis))
        _trim(self._raw, t - self.live.setup_window_s)
        self.setup = self._check_setup()

        angles = self._frame_angles(t, xy, world)
        source = "3d" if self.setup.view in ("frontal", "oblique") else "2d"
        driver = _knee_driver(angles, self.driver_knees, source)
        self._history.append((t, xy, z, world, vis, presence, driver))
        _trim(self._history, t - self.live.history_s)

        rep = self.counter.update(t, driver)
        new_rep = self._on_rep(rep) if rep is not None else None
        landmarks = None if detection is None else xy / (width, height)
        return LiveUpdate(time_s=t, width=width, height=height, landmarks=landmarks,
                          visibility=None if detection is None else np.asarray(vis, dtype=float),
                          angles=angles, driver=driver, rep_count=self.counter.count,
                          partial_count=self.counter.partial_count, phase=self.counter.phase,
                          setup=self.setup, cues=self._shown_cues(), new_rep=new_rep)

    def _frame_angles(self, t: float, xy: np.ndarray, world: np.ndarray) -> dict[str, float]:
        # Facing: majority of the last second's votes (facing_direction's rule, made causal).
        recent = [h[1] for h in self._history if h[0] >= t - FACING_WINDOW_S] + [xy]
        votes = facing_votes(np.stack(recent))
        votes = votes[np.isfinite(votes)]
        facing = 0.0
        if votes.size:
            facing = 1.0 if 2 * np.sum(votes > 0) > votes.size else -1.0 if 2 * np.sum(votes < 0) > votes.size else 0.0
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            both = angles_2d(xy[None], np.array([facing]))
            both.update(angles_3d(world[None]))
        return {name: float(both[name][0]) for name in FRAME_ANGLES}

    def _check_setup(self) -> SetupCheck:
        t = np.array([r[0] for r in self._raw])
        pose = PoseSeries.empty(t, self.width, self.height)
        pose.image_xy[:] = np.stack([r[1] for r in self._raw])
        pose.visibility[:] = np.stack([r[2] for r in self._raw])
        return check_setup(pose, None, self.spec, self.settings.kinematics.visibility_min, self.live.frame_margin)

    # ----- per rep -------------------------------------------------------------------------
    def history_series(self) -> PoseSeries:
        """The kept (smoothed, masked) landmarks as a PoseSeries."""
        h = self._history
        return PoseSeries(time_s=np.array([r[0] for r in h]), image_xy=np.stack([r[1] for r in h]),
                          image_z=np.stack([r[2] for r in h]), world_xyz=np.stack([r[3] for r in h]),
                          visibility=np.stack([r[4] for r in h]), presence=np.stack([r[5] for r in h]),
                          width=self.width, height=self.height)

    def _on_rep(self, online: OnlineRep) -> dict:
        """Measure the finished rep with the offline metrics and rules; its cues replace the last."""
        rep = Rep(index=online.index, side="both", start_s=round(online.start_s, 3),
                  bottom_s=round(online.peak_s, 3), end_s=round(online.end_s, 3), complete=online.complete,
                  partial_reason=None if online.complete else SHALLOW)   # live, a partial rep is a shallow one
        pose = self.history_series()
        t = pose.time_s
        if t[0] <= online.start_s:   # the whole rep is still in the history: measure it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                angles = angles_from_clean(pose)
                ctx = MovementContext(pose, angles, estimate_view(pose, angles))
                result = self.exercise.analyse_rep(ctx, self._segment(t, online))
            rep.side, rep.direction = result.side, result.direction  # type: ignore[assignment]  # a RepResult side is "left"/"right"/"both"
            rep.events, rep.metrics = result.events, result.metrics
            rep.metrics["excursion_pct_of_median"] = online.excursion_pct_of_median
            rep.flags = rep_flags(self.thresholds, self.spec.family, rep, self.exercise.variant,
                                  online.excursion_pct_of_median)
            rep.feedback.runner, _ = rep_feedback(rep)
            if not rep.flags and not self.setup.ok:   # no praise from a view or framing that fails the check
                rep.feedback.runner = [self._unchecked(rep.index)]
        else:   # never "looks good" for a rep that was not measured
            rep.feedback.runner = [f"Rep {rep.index}: counted, but longer than the {self.live.history_s:g} s "
                                   "kept for measuring, so its form was not checked."]
        self.reps.append(rep)
        self.cues = rep.feedback.runner
        self._praise = not rep.flags and self.setup.ok and t[0] <= online.start_s
        return {"index": rep.index, "side": rep.side, "direction": rep.direction, "complete": rep.complete,
                "start_s": rep.start_s, "bottom_s": rep.bottom_s, "end_s": rep.end_s,
                "peak_knee_flexion_deg": _num(online.peak_value),
                "flags": [{"code": f.code, "value": f.value, "threshold": f.threshold, "unit": f.unit,
                           "evidence": f.evidence, "source": f.source, "cue": f.cue} for f in rep.flags]}

    def _unchecked(self, index: int) -> str:
        fix = self.setup.messages[0] if self.setup.messages else "Fix the camera set-up."
        return f"Rep {index}: counted, but its form is not checked while the camera set-up is off. {fix}"

    def _shown_cues(self) -> list[str]:
        """The last rep's cues, but never its "looks good" while the set-up check fails: the page
        would praise form it says it cannot see."""
        if self._praise and not self.setup.ok:
            return [self._unchecked(self.reps[-1].index)]
        return list(self.cues)

    def _segment(self, t: np.ndarray, online: OnlineRep) -> Segment:
        driver = np.array([r[6] for r in self._history])
        start = int(np.searchsorted(t, online.start_s - 1e-6))
        end = min(int(np.searchsorted(t, online.end_s - 1e-6)), len(t) - 1)
        peak = min(int(np.searchsorted(t, online.peak_s - 1e-6)), end)
        tol = self.counter.p.plateau_frac * self.counter.range
        near = np.flatnonzero(np.isfinite(driver[start:end + 1]) & (driver[start:end + 1] >= online.peak_value - tol))
        near = near + start if near.size else np.array([peak])
        return Segment(start=start, peak=peak, plateau_start=int(near.min()), plateau_end=int(near.max()),
                       end=end, peak_value=online.peak_value, excursion=online.excursion, complete=online.complete)


def _trim(buffer: deque, oldest_t: float) -> None:
    while len(buffer) > 1 and buffer[0][0] < oldest_t:
        buffer.popleft()


def main_detection(detections: list[Detection]) -> Detection | None:
    """The person to follow when the model returns several: the largest box."""
    if not detections:
        return None
    return max(detections, key=lambda d: float(np.prod(d.box[2:] - d.box[:2])))


class LiveSession:
    """The pose model plus a LiveAnalyzer: `process(rgb, time_s)` per frame; `close()` at the end."""

    def __init__(self, exercise: str | None = None, model: str | None = None,
                 settings: Settings | None = None, live: LiveSettings | None = None) -> None:
        self.settings = settings or Settings()
        self.live = live or LiveSettings()
        self.analyzer = LiveAnalyzer(exercise, self.settings, self.live)
        self.model = model or self.live.model
        pose = self.settings.pose.model_copy(update={"model": self.model, "num_poses": self.live.num_poses})
        self._landmarker: QuietLandmarker | None = create_landmarker(pose, RunningMode.VIDEO)
        self._last_ms = -1

    def process(self, rgb: np.ndarray, time_s: float) -> LiveUpdate:
        """One RGB uint8 frame (H, W, 3) taken at time_s seconds (any clock, increasing)."""
        started = time.perf_counter()
        height, width = rgb.shape[:2]
        scale = self.live.inference_long_side / max(height, width)
        small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1 else rgb
        ms = max(int(round(time_s * 1000)), self._last_ms + 1)
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(small))
        if self._landmarker is None:
            raise RuntimeError("this live session is closed")
        result = self._landmarker.detect_for_video(image, ms)
        # Landmarks come normalised to the image: scaled to the original frame's pixels.
        detection = main_detection(detections_from_result(result, width, height))
        update = self.analyzer.update(time_s, detection, width, height)
        update.processing_ms = 1000 * (time.perf_counter() - started)
        return update

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
