"""Angle-over-time charts as PNG: one for the sagittal plane, one for the frontal plane.

Built on matplotlib's object API with the Agg canvas (no pyplot state), so it is safe in a
server thread and needs no display. Left/right use the same colours as the annotated video.
Gaps (NaN) stay gaps: a line across them would show motion nobody measured; a lone sample
between gaps is drawn as a dot so it does not vanish. A column the clip does not support
(`AngleSeries.withheld`, kinematics.support) is never drawn: its panel says why, and where the
view withholds a 2D angle for its 3D estimate (knee flexion from the front) the panel shows the
3D one, as the rep table does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from formcheck.outputs.annotate import SIDE_COLORS_HEX
from formcheck.series import AngleSeries

RepSpan = tuple[float, float, str]  # (start_s, end_s, label), e.g. (2.1, 4.0, "rep 1 L")

_TRUNK_COLOR = "#444444"
_REP_COLORS = ("#E4E4E4", "#F1F1F1")
_REP_STRIP_COLORS = ("#C8C8C8", "#DEDEDE")


@dataclass(frozen=True)
class Panel:
    """One chart row: a measure, per side or single (`base` is the column without `_deg`).

    `sign` states what a positive value means, shown under the unit on the y axis.
    """

    base: str
    title: str
    sign: str
    per_side: bool = True


SAGITTAL_PANELS: tuple[Panel, ...] = (
    Panel("hip_flexion", "Hip flexion", "+ flexion / − extension"),
    Panel("knee_flexion", "Knee flexion", "0 = straight leg"),
    Panel("ankle_dorsiflexion", "Ankle dorsiflexion", "+ dorsi- / − plantarflexion"),
    Panel("trunk_lean", "Trunk lean (sagittal)", "+ forward / − backward", per_side=False),
)
FRONTAL_PANELS: tuple[Panel, ...] = (
    Panel("knee_fppa", "Knee frontal plane projection angle (FPPA)", "+ valgus / − varus"),
    Panel("pelvic_drop", "Pelvic drop", "+ that side lower"),
    Panel("trunk_lateral_lean", "Trunk lateral lean", "+ toward that side"),
)


def _column(base: str, side: str | None, use_3d: bool) -> str:
    prefix = f"{side}_" if side else ""
    return f"{prefix}{base}{'_3d' if use_3d else ''}_deg"


def _shown_column(angles: AngleSeries, base: str, side: str | None, use_3d: bool) -> str:
    """The column a panel line shows: the 2D angle, or the 3D estimate where the 2D one is withheld."""
    two_d = _column(base, side, False)
    return _column(base, side, True) if use_3d or two_d in angles.withheld else two_d


def _panel_withheld(angles: AngleSeries, panel: Panel, use_3d: bool) -> str | None:
    """Why a whole panel is withheld (every side's shown column), else None."""
    sides: tuple[str | None, ...] = ("left", "right") if panel.per_side else (None,)
    reasons = [angles.withheld.get(_shown_column(angles, panel.base, s, use_3d)) for s in sides]
    return reasons[0] if all(reasons) else None


def _plot_series(ax: Axes, t: np.ndarray, y: np.ndarray, color: str) -> bool:
    """Line with NaN gaps kept; isolated samples as dots. False when nothing is finite."""
    finite = np.isfinite(y)
    if not finite.any():
        return False
    ax.plot(t, y, color=color, linewidth=1.8)
    prev = np.concatenate(([False], finite[:-1]))
    nxt = np.concatenate((finite[1:], [False]))
    lone = finite & ~prev & ~nxt
    if lone.any():
        ax.plot(t[lone], y[lone], linestyle="none", marker="o", markersize=3, color=color)
    return True


def _shade_reps(strip: Axes, axes: Sequence[Axes] | np.ndarray, reps: Sequence[RepSpan]) -> None:
    """Shade each rep on every panel; name it in a strip above, where it hides no data."""
    for k, (start, end, label) in enumerate(reps):
        color = _REP_COLORS[k % 2]
        for ax in axes:
            ax.axvspan(start, end, color=color, zorder=0, linewidth=0)
        strip.axvspan(start, end, color=_REP_STRIP_COLORS[k % 2], linewidth=0)
        if label:
            strip.text((start + end) / 2, 0.5, str(label), ha="center", va="center", fontsize=8, clip_on=True)
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.tick_params(axis="x", bottom=False, labelbottom=False)
    for spine in strip.spines.values():
        spine.set_visible(False)
    strip.set_title("Repetitions", loc="left", fontsize=10, fontweight="bold")


def _figure(
    angles: AngleSeries,
    panels: Sequence[Panel],
    title: str,
    reps: Sequence[RepSpan],
    use_3d: bool,
) -> Figure:
    t = np.asarray(angles.time_s, dtype=float)
    strip_rows = 1 if reps else 0
    fig = Figure(figsize=(10, 2.3 * len(panels) + 0.6 * strip_rows + 1.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(
        len(panels) + strip_rows, 1, sharex=True, squeeze=False,
        height_ratios=[0.18] * strip_rows + [1.0] * len(panels),
    )[:, 0]
    axes = grid[strip_rows:]
    for ax, panel in zip(axes, panels):
        sides: tuple[str | None, ...] = ("left", "right") if panel.per_side else (None,)
        drew, estimate = False, False
        for side in sides:
            name = _shown_column(angles, panel.base, side, use_3d)
            if name in angles.angles and name not in angles.withheld:
                color = SIDE_COLORS_HEX[side] if side else _TRUNK_COLOR
                drew |= _plot_series(ax, t, np.asarray(angles[name], dtype=float), color)
                estimate |= name.endswith("_3d_deg") and not use_3d
        if not drew:
            why = _panel_withheld(angles, panel, use_3d)
            ax.text(0.5, 0.5, f"not measured: {why}" if why else "no data for this measure",
                    transform=ax.transAxes, ha="center", va="center", color="#888888", wrap=True)
            if why:
                ax.set_yticks([])   # no scale for numbers that are not there
        ax.axhline(0.0, color="#999999", linewidth=0.8, zorder=1)
        ax.set_title(panel.title + (" (3D estimate)" if estimate else ""), loc="left", fontsize=10,
                     fontweight="bold")
        ax.set_ylabel(f"Angle (°)\n{panel.sign}", fontsize=9)
        ax.grid(True, color="#E5E5E5", linewidth=0.6)
        ax.set_axisbelow(True)
    if len(t) and np.isfinite(t).any():
        lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
        if hi > lo:
            axes[-1].set_xlim(lo, hi)
    axes[-1].set_xlabel("Time (s)")
    if reps:
        _shade_reps(grid[0], axes, reps)

    handles: list[Artist] = [Line2D([], [], color=SIDE_COLORS_HEX["left"], lw=2, label="person's left"),
               Line2D([], [], color=SIDE_COLORS_HEX["right"], lw=2, label="person's right")]
    if not all(p.per_side for p in panels):
        handles.append(Line2D([], [], color=_TRUNK_COLOR, lw=2, label="trunk"))
    if reps:
        handles.append(Patch(color=_REP_COLORS[0], label="repetition"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9, frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, parse_math=False)  # may hold a clip name
    return fig


def _withheld_figure(title: str, reason: str) -> Figure:
    """A chart of a plane the clip does not support: its title and why, no axes to misread."""
    fig = Figure(figsize=(10, 1.6), dpi=110)
    FigureCanvasAgg(fig)
    fig.text(0.01, 0.75, title, ha="left", va="center", fontsize=12, parse_math=False)
    fig.text(0.01, 0.35, f"Not measured: {reason}.", ha="left", va="center", color="#555555", fontsize=10,
             wrap=True)
    return fig


def plot_angles(
    angles: AngleSeries,
    out_dir: str | os.PathLike[str],
    reps: Sequence[RepSpan] | None = None,
    *,
    title: str | None = None,
    use_3d: bool = False,
) -> list[Path]:
    """Write `sagittal.png` and `frontal.png` into out_dir and return their paths.

    `reps` shades each repetition (start_s, end_s, label) on every panel. `title` (e.g. the
    clip name) prefixes the chart titles. `use_3d` plots the `_3d_deg` columns instead of
    the 2D ones. A measure absent from `angles` shows an empty panel saying so; a chart whose
    every measure is withheld (`angles.withheld`: frontal.png of a side view) only says why.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reps = list(reps or [])
    kind = "3D world landmarks" if use_3d else "2D image"
    prefix = f"{title} — " if title else ""
    charts = (
        ("sagittal.png", SAGITTAL_PANELS, f"{prefix}Sagittal-plane angles (side view, {kind})"),
        ("frontal.png", FRONTAL_PANELS, f"{prefix}Frontal-plane angles (front/back view, {kind})"),
    )
    paths: list[Path] = []
    for filename, panels, chart_title in charts:
        reasons = [_panel_withheld(angles, p, use_3d) for p in panels]
        fig = (_withheld_figure(chart_title, str(reasons[0])) if all(reasons)
               else _figure(angles, panels, chart_title, reps, use_3d))
        path = out / filename
        fig.savefig(path, format="png", facecolor="white")
        paths.append(path)
    return paths
