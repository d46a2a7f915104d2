"""Each metric across an athlete's screenings, with a flag when a change exceeds the metric's
minimal detectable change (MDC, from `movements/thresholds.toml` with its source).

Pure: screenings' metric values in, `MetricHistory` out; `history_png` draws them.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from formcheck import labels
from formcheck.clinic.models import HistoryPoint, MetricHistory, ScreeningResult, ScreeningTestResult
from formcheck.clinic.scoring import DIRECTIONS, LEGS
from formcheck.movements.report import metric_number
from formcheck.movements.thresholds import Thresholds, load_thresholds

REACH_MDC = "sebt_reach_mdc_pct_limb"
FPPA_MDC = "knee_fppa_mdc_deg"
# Per-rep metrics of lunges and step-ups followed over time: (metric, label, unit, MDC entry).
MOVEMENT_METRICS = (
    ("peak_knee_fppa_deg", "knee FPPA (valgus)", "deg", FPPA_MDC),
    ("peak_knee_flexion_deg", "peak knee flexion", "deg", None),
    ("peak_hip_flexion_deg", "peak hip flexion", "deg", None),
    ("hip_knee_ratio", "hip/knee flexion ratio", "ratio", None),
    ("peak_trunk_lean_deg", "peak trunk lean", "deg", None),
)
KIND_LABEL = {"lunge": "Lunge", "step_up": "Step-up"}


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    mdc_entry: str | None


def screening_metrics(result: ScreeningResult) -> dict[str, float]:
    """Flat metric values of one screening (only those it has)."""
    out: dict[str, float] = {}
    off_view = {(_stance(tr), tr.test.direction) for tr in result.tests if tr.test.kind == "msebt" and not _trended(tr)}
    if result.sebt is not None:
        for leg in LEGS:
            ls = result.sebt.legs[leg]
            # a composite with a reach filmed from another view is not comparable
            if ls.composite_pct is not None and not any(stance == leg for stance, _ in off_view):
                out[f"sebt_composite_{leg}"] = ls.composite_pct
            for d in DIRECTIONS:
                v = ls.directions[d].reach_pct_limb
                if v is not None and (leg, d) not in off_view:
                    out[f"sebt_{d}_{leg}"] = v
        if result.sebt.anterior_diff_cm is not None:
            out["sebt_anterior_diff_cm"] = result.sebt.anterior_diff_cm
    for tr in result.tests:
        kind = tr.test.kind
        if kind not in KIND_LABEL or not _trended(tr):
            continue
        for metric, *_ in MOVEMENT_METRICS:
            for side in ("left", "right"):
                vals = [value for r in tr.rep_metrics if r.get("side") == side and r.get("complete", True)
                        and (value := metric_number(r.get(metric))) is not None]
                if vals:
                    out[f"{kind}_{metric}_{side}"] = round(sum(vals) / len(vals), 2)
    return out


def _trended(test: ScreeningTestResult) -> bool:
    """Only clips filmed from the view the test needs are trended (clinic.clip_checks): an
    accepted clip from another view measures something else."""
    check = test.test.view_check
    return check is None or check.measured == check.needed


def _stance(test: ScreeningTestResult) -> str | None:
    check = test.test.leg_check
    return check.confirmed if check is not None and check.confirmed else test.test.leg


def metric_specs() -> list[MetricSpec]:
    specs = [MetricSpec(f"sebt_composite_{leg}", f"mSEBT composite, {leg} stance", "pct_limb", REACH_MDC)
             for leg in LEGS]
    specs += [MetricSpec(f"sebt_{d}_{leg}", f"mSEBT {d}, {leg} stance", "pct_limb", REACH_MDC)
              for d in DIRECTIONS for leg in LEGS]
    specs.append(MetricSpec("sebt_anterior_diff_cm", "mSEBT anterior left/right difference", "cm", None))
    specs += [MetricSpec(f"{kind}_{metric}_{side}", f"{KIND_LABEL[kind]} {label}, {side}", unit, mdc)
              for kind in KIND_LABEL for metric, label, unit, mdc in MOVEMENT_METRICS for side in ("left", "right")]
    return specs


def _trend_unit(code: str) -> str:
    """A history unit's words; a unit printed as nothing after a number (a ratio) is named."""
    return labels.unit_text(code, labels.CLINIC_TREND_UNITS) or code


def build_history(athlete_id: str, screenings: Sequence[tuple[str, dt.date, dict[str, float]]],
                  thresholds: Thresholds | None = None) -> list[MetricHistory]:
    """screenings: (id, date, metrics) in any order. Metrics no screening has are left out."""
    th = thresholds or load_thresholds()
    ordered = sorted(screenings, key=lambda s: s[1])
    out: list[MetricHistory] = []
    for spec in metric_specs():
        if not any(spec.key in m for _, _, m in ordered):
            continue
        entry = th.get(spec.mdc_entry) if spec.mdc_entry else None
        mdc = entry.value if entry else None
        mdc_source = entry.source if entry else ""
        points: list[HistoryPoint] = []
        flags: list[str] = []
        previous: tuple[dt.date, float] | None = None
        for sid, date, metrics in ordered:
            value = metrics.get(spec.key)
            change = beyond = None
            if value is not None and previous is not None:
                change = round(value - previous[1], 2)
                beyond = mdc is not None and abs(change) > mdc
                if beyond:
                    unit = _trend_unit(spec.unit)
                    flags.append(
                        f"{spec.label}: {previous[1]:g} → {value:g} {unit} from {previous[0]} to {date} "
                        f"({change:+g}), more than the minimal detectable change of {mdc:g} {unit} "
                        f"({mdc_source}).")
            points.append(HistoryPoint(screening_id=sid, date=date, value=value, change=change,
                                       beyond_mdc=bool(beyond)))
            if value is not None:
                previous = (date, value)
        out.append(MetricHistory(metric=spec.key, label=spec.label, unit=spec.unit, mdc=mdc,
                                 mdc_source=mdc_source, points=points, flags=flags))
    return out


SIDE_COLOURS = {"left": "#1E6FD9", "right": "#E0761F", None: "#1E6FD9"}  # as the annotated video
MIN_DATE_PAD = dt.timedelta(days=21)   # around a single screening: a few weeks, not a 5-year default axis
MAX_DATE_TICKS = 4                     # date labels per panel (the latest screening always labelled)


@dataclass(frozen=True)
class Panel:
    title: str
    series: tuple[tuple[str | None, MetricHistory], ...]   # (side or None, history), left before right


def panels(histories: Sequence[MetricHistory]) -> list[Panel]:
    """One panel per measure with a value: a metric's left and right versions share one."""
    grouped: dict[str, list[tuple[str | None, MetricHistory]]] = {}
    titles: dict[str, str] = {}
    for h in histories:
        if not any(p.value is not None for p in h.points):
            continue
        side = next((s for s in ("left", "right") if h.metric.endswith(f"_{s}")), None)
        key = h.metric.removesuffix(f"_{side}") if side else h.metric
        label = h.label.rsplit(",", 1)[0] if side and "," in h.label else h.label
        mdc = f"; MDC {h.mdc:g}" if h.mdc is not None else ""
        titles.setdefault(key, f"{label} ({_trend_unit(h.unit)}{mdc})")
        grouped.setdefault(key, []).append((side, h))
    return [Panel(titles[k], tuple(sorted(v, key=lambda sh: sh[0] or ""))) for k, v in grouped.items()]


def date_limits(dates: Sequence[dt.date]) -> tuple[dt.date, dt.date]:
    """The x range of a panel: the screenings' dates with a margin of a tenth of their span, at
    least three weeks (matplotlib's default for one date spans years)."""
    lo, hi = min(dates), max(dates)
    pad = max((hi - lo) / 10, MIN_DATE_PAD)
    return lo - pad, hi + pad


def value_limits(values: Sequence[float], mdc: float | None = None) -> tuple[float, float]:
    """The y range: the values with a margin, wide enough to show a change of one MDC."""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.15, (mdc or 0.0) / 2, abs(lo + hi) / 2 * 0.05, 0.5)
    return lo - pad, hi + pad


def history_figure(histories: Sequence[MetricHistory], title: str = ""):
    """The history plot as a matplotlib Figure (object-oriented: no pyplot state, so service
    threads can draw at the same time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    shown = panels(histories)
    cols = 2
    rows = max(1, math.ceil(len(shown) / cols))
    row_in, top_in, bottom_in = 2.2, 0.45 + (0.3 if title else 0.0), 0.35
    height = row_in * rows + top_in + bottom_in
    fig = Figure(figsize=(9, height), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - top_in / height, bottom=bottom_in / height,
                        hspace=0.75 / row_in * 1.6, wspace=0.22)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, panel in zip(axes, shown):
        dates, values = [], []
        for side, h in panel.series:
            pts = [p for p in h.points if p.value is not None]
            dates += [p.date for p in pts]
            values += [p.value for p in h.points if p.value is not None]
            ax.plot([p.date for p in pts], [p.value for p in pts], "-o", color=SIDE_COLOURS[side], lw=1.5, ms=4)
            for p in pts:
                if p.beyond_mdc:
                    ax.plot([p.date], [p.value], "o", color="#C62828", ms=8, mfc="none", mew=2)
                    ax.annotate(f"{p.change:+.1f}", (p.date, p.value), textcoords="offset points",
                                xytext=(4, 6), fontsize=8, color="#C62828")
        mdc = panel.series[0][1].mdc
        ax.set_xlim(*date_limits(dates))
        ax.set_ylim(*value_limits(values, mdc))
        ticks = sorted(set(dates))   # the screenings themselves, at most MAX_DATE_TICKS of them
        step = math.ceil(len(ticks) / MAX_DATE_TICKS)
        ax.set_xticks([date2num(d) for d in ticks[::-1][::step][::-1]])
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
        ax.set_title(panel.title, loc="left", fontsize=9, parse_math=False)
        ax.grid(True, color="#E5E5E5", lw=0.6)
        ax.tick_params(labelsize=8)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    if not shown:
        axes[0].set_visible(True)
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "No screening with results yet", ha="center", va="center")
    if title:
        fig.suptitle(title, fontsize=11, parse_math=False)  # a name like "$x^{$" is text, not mathtext
    if any(side for p in shown for side, _ in p.series):
        fig.legend([Line2D([], [], color=SIDE_COLOURS[s], marker="o", lw=1.5, ms=4) for s in ("left", "right")],
                   ["left", "right"], loc="upper right", ncol=2, fontsize=8, frameon=False)
    return fig


def history_png(histories: Sequence[MetricHistory], title: str = "") -> bytes:
    """One small panel per measure across screenings (left and right together); changes beyond
    the MDC in red. Drawn once per distinct content (kept in memory)."""
    key = json.dumps([h.model_dump(mode="json") for h in histories], sort_keys=True)
    return _history_png(key, title)


@functools.lru_cache(maxsize=32)
def _history_png(histories_json: str, title: str) -> bytes:
    histories = [MetricHistory.model_validate(h) for h in json.loads(histories_json)]
    buf = io.BytesIO()
    history_figure(histories, title).savefig(buf, format="png", facecolor="white")
    return buf.getvalue()

