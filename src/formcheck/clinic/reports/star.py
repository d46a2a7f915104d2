"""The mSEBT star diagram: each stance leg's three reaches (% of limb length) drawn as a Y, seen
from above with the athlete facing up, and each leg's composite against the published cut-offs.

Geometry follows the Y-balance layout: the anterior reach points straight ahead, the two
posterior reaches 135° from it on either side. Posteromedial goes behind the stance leg towards
the other leg, so it points right for a left stance leg and left for a right one.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass

from formcheck.clinic.scoring import COMPOSITE_CUTOFFS, DIRECTIONS, LEGS, SebtScore
from formcheck.movements.thresholds import Thresholds, load_thresholds

POSTERIOR_ANGLE_DEG = 135.0     # between the anterior reach and each posterior one
LEG_COLOURS = {"left": "#1E6FD9", "right": "#E0761F"}  # as the annotated video: blue left, orange right


def direction_angle_deg(leg: str, direction: str) -> float:
    """Angle of a reach direction in the diagram (0° = athlete's right, 90° = straight ahead)."""
    if direction == "anterior":
        return 90.0
    towards_right = (direction == "posteromedial") == (leg == "left")
    return 90.0 - POSTERIOR_ANGLE_DEG if towards_right else 90.0 + POSTERIOR_ANGLE_DEG


def star_points(leg: str, reaches: Mapping[str, float | None]) -> dict[str, tuple[float, float] | None]:
    """(x, y) tip of each reach, its length the reach in % of limb length; None when not measured."""
    out: dict[str, tuple[float, float] | None] = {}
    for direction in DIRECTIONS:
        reach = reaches.get(direction)
        if reach is None or not math.isfinite(reach):
            out[direction] = None
            continue
        angle = math.radians(direction_angle_deg(leg, direction))
        out[direction] = (reach * math.cos(angle), reach * math.sin(angle))
    return out


@dataclass(frozen=True)
class Cutoff:
    label: str        # e.g. "Plisky et al. 2006"
    value: float      # composite, % of limb length
    population: str


@dataclass(frozen=True)
class StarData:
    reaches: tuple[tuple[str, tuple[tuple[str, float | None], ...]], ...]   # leg -> direction -> % limb
    composites: tuple[tuple[str, float | None], ...]                          # leg -> composite % limb
    cutoffs: tuple[Cutoff, ...]

    def leg_reaches(self, leg: str) -> dict[str, float | None]:
        return dict(dict(self.reaches)[leg])

    @property
    def measured(self) -> bool:
        return any(v is not None for _, dirs in self.reaches for _, v in dirs)


def star_data(score: SebtScore, thresholds: Thresholds | None = None) -> StarData:
    """What the diagram draws, from a score and the composite cut-offs in thresholds.toml."""
    th = thresholds or load_thresholds()
    reaches = tuple((leg, tuple((d, score.legs[leg].directions[d].reach_pct_limb) for d in DIRECTIONS)) for leg in LEGS)
    composites = tuple((leg, score.legs[leg].composite_pct) for leg in LEGS)
    cutoffs = tuple(Cutoff(th[code].source.split(",")[0], th[code].value, th[code].population)
                    for code in COMPOSITE_CUTOFFS if code in th.entries)
    return StarData(reaches, composites, cutoffs)


def star_png(score: SebtScore, thresholds: Thresholds | None = None) -> bytes | None:
    """The diagram as PNG, or None when no reach was measured. Drawn once per distinct score."""
    data = star_data(score, thresholds)
    return _draw(data) if data.measured else None


@functools.lru_cache(maxsize=64)
def _draw(data: StarData) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.4), dpi=110)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.15], left=0.02, right=0.98, top=0.86, bottom=0.14, wspace=0.25)
    longest = max([v for _, dirs in data.reaches for _, v in dirs if v is not None] + [100.0])
    limit = longest * 1.18
    for k, leg in enumerate(LEGS):
        ax = fig.add_subplot(grid[0, k])
        ax.set_aspect("equal")
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit * 0.85, limit)
        ax.axis("off")
        for ring in (50, 100):
            ax.add_patch(_circle(ring))
            ax.text(0, -ring, f"{ring} %", fontsize=6.5, color="#8A8F99", ha="center", va="top")
        points = star_points(leg, data.leg_reaches(leg))
        colour = LEG_COLOURS[leg]
        for direction in DIRECTIONS:
            angle = math.radians(direction_angle_deg(leg, direction))
            ax.plot([0, limit * 0.95 * math.cos(angle)], [0, limit * 0.95 * math.sin(angle)], color="#D5D9E0", lw=0.8)
            tip = points[direction]
            name = {"anterior": "A", "posteromedial": "PM", "posterolateral": "PL"}[direction]
            if tip is None:
                ax.text(limit * 0.7 * math.cos(angle), limit * 0.7 * math.sin(angle), f"{name}: not measured",
                        fontsize=7, color="#8A8F99", ha="center")
                continue
            ax.plot([0, tip[0]], [0, tip[1]], color=colour, lw=3, solid_capstyle="round")
            reach = data.leg_reaches(leg)[direction]
            ax.annotate(f"{name} {reach:.0f} %", tip, textcoords="offset points", fontsize=7.5,
                        xytext=(0, 6) if direction == "anterior" else (0, -11), ha="center", color="#1D2430")
        ax.set_title(f"{leg.capitalize()} stance leg", fontsize=9.5, color=colour)
    ax = fig.add_subplot(grid[0, 2])
    composites = dict(data.composites)
    values = [composites[leg] for leg in LEGS]
    ax.barh([0, 1], [v or 0 for v in values], color=[LEG_COLOURS[leg] for leg in LEGS], height=0.55)
    for y, v in enumerate(values):
        ax.text((v or 0) + 1, y, "not measured" if v is None else f"{v:.1f} %", va="center", fontsize=8)
    low = min([v for v in values if v is not None] + [c.value for c in data.cutoffs] + [100.0])
    ax.set_xlim(max(0.0, low - 25), max([v for v in values if v is not None] + [100.0]) + 18)
    for n, cutoff in enumerate(data.cutoffs):
        ax.axvline(cutoff.value, color="#C62828", ls="--" if n == 0 else ":", lw=1.2)
        ax.text(cutoff.value, 1.45 + 0.28 * n, f"{cutoff.label}: {cutoff.value:g} %", fontsize=6.5,
                color="#C62828", ha="center")
    ax.set_ylim(-0.5, 1.45 + 0.28 * len(data.cutoffs))
    ax.set_yticks([0, 1], ["Left", "Right"], fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("composite, % of limb length", fontsize=7.5)
    ax.set_title("Composite vs published cut-offs", fontsize=9.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


def _circle(radius: float):
    from matplotlib.patches import Circle

    return Circle((0, 0), radius, fill=False, color="#E3E6EB", lw=0.8)
