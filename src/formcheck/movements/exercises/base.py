"""What every exercise module provides. A module defines `Exercise(BaseExercise)`.

`analyze_movement` runs the same steps for every exercise (segment -> one `analyse_rep` per
rep -> clip-level findings); what one exercise does differently is a hook here that its module
overrides: `screen_reps`, `mark_partial`, `rep_direction`, `clip_notes`, `clip_findings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from formcheck.movements.context import MovementContext
from formcheck.movements.report import Flag, Rep, UnsupportedMeasure
from formcheck.movements.segment import Segment, SegmentParams, mark_shallow
from formcheck.movements.thresholds import Thresholds


@dataclass
class ExerciseSpec:
    name: str
    module: str
    family: str
    label: str
    measures: list[str] = field(default_factory=list)
    variant: dict[str, Any] = field(default_factory=dict)
    segment: dict[str, Any] = field(default_factory=dict)


@dataclass
class RepResult:
    side: str
    direction: str | None
    events: dict[str, float]
    metrics: dict[str, Any]
    bottom: int                      # index of the deepest point / top / maximal reach
    not_a_rep: str | None = None     # why the movement does not follow the exercise (set-up, walking in)


@dataclass
class ClipFindings:
    """What an exercise adds to the whole clip's report (`BaseExercise.clip_findings`)."""

    flags: list[Flag] = field(default_factory=list)
    unsupported: list[UnsupportedMeasure] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, Any] = field(default_factory=dict)


class BaseExercise:
    # (start, peak, plateau start, plateau end, end) event names
    event_names: tuple[str, str, str, str, str] = (
        "descent_start", "bottom", "bottom_start", "ascent_start", "end")
    default_params = SegmentParams(min_range=30.0)
    prev_end = 0                     # last frame of the previous rep (set by the caller, in rep order)
    rep_word = "rep"                 # what one repetition is called in the notes
    # whether the notes say so when too few complete reps per side leave no left/right comparison
    notes_reps_per_side = True

    def __init__(self, spec: ExerciseSpec):
        self.spec = spec
        self.variant = dict(spec.variant)

    @property
    def family(self) -> str:
        return self.spec.family

    def params(self, ctx: MovementContext | None = None) -> SegmentParams:
        """Segmentation parameters (the clip may matter: a module whose driver depends on the
        view returns the matching minimum excursion)."""
        known = {f.name for f in fields(SegmentParams)}
        base = {f.name: getattr(self.default_params, f.name) for f in fields(SegmentParams)}
        base.update({k: v for k, v in self.spec.segment.items() if k in known})
        return SegmentParams(**base)

    def driver(self, ctx: MovementContext) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:  # pragma: no cover
        raise NotImplementedError

    def pattern_fault(self, ctx: MovementContext, seg: Segment) -> str | None:
        """Why the movement in `seg` is not a rep of this exercise (its defining pattern is missing:
        a set-up step, walking in, another exercise); None when it is. Cheap: recognition asks it of
        every candidate rep."""
        return None

    def depth_metric(self) -> str:
        """Metric used for consistency across reps."""
        return "peak_knee_flexion_deg"

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        return [("peak_hip_flexion_deg", "deg"), ("peak_knee_flexion_deg", "deg"),
                ("peak_knee_fppa_deg", "deg"), ("ankle_dorsiflexion_bottom_deg", "deg")]

    def screen_reps(self, results: list[RepResult]) -> None:
        """Set `not_a_rep` on movements that the clip as a whole shows are not reps (set-up steps)."""

    def mark_partial(self, segs: list[Segment], partial_frac: float) -> None:
        """Mark the partial reps: cut by the clip or a gap, or shallow against the median rep."""
        mark_shallow(segs, partial_frac)

    def rep_direction(self, result: RepResult) -> str | None:
        """The direction the report gives the rep."""
        return result.direction

    def clip_notes(self, ctx: MovementContext, reps: list[Rep]) -> list[str]:
        """Notes on the reps as a whole (said after the reps, before the view's notes)."""
        return []

    def clip_findings(self, ctx: MovementContext, th: Thresholds, reps: list[Rep],
                      leg_length_cm: dict[str, float] | None) -> ClipFindings:
        """Clip-level flags, unsupported measures, summary and scale beyond the common ones."""
        return ClipFindings()
