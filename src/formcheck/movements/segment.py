"""Split a 1-D driver signal into reps (or trials) with hysteresis.

The driver rises during the working phase of a rep: knee flexion for squats and lunges,
hip height for step-ups, foot-to-foot distance for mSEBT reaches. A rep:

    rest -> start (leaves the rest zone) -> crosses `enter` -> peak plateau -> crosses `exit`
         -> end (back in the rest zone)

* Thresholds adapt to the clip (fractions of the range between the resting level and the
  typical peak) but never below an absolute minimum excursion, so a still subject gives 0 reps.
* `enter` > `exit` (hysteresis): an angle hovering around one threshold does not add reps.
* A rep must last `min_rep_s` between the crossings; a dip below `exit` shorter than
  `min_gap_s` does not end it (a wobble at the bottom of a paused rep stays one rep).
* NaN gaps up to `max_gap_s` are bridged; a longer gap is not (we do not invent the part we
  did not see).
* A rep must be seen going down into its bottom (crossing `enter`) and back to the rest zone.
  One already past `enter` in the clip's first frame (or after a gap longer than `max_gap_s`),
  or not back in the rest zone by its last frame (or before such a gap), is kept as partial with
  the reason (`CUT_START`, `CUT_END`, `CUT_GAP`); a rep still going on when a gap ends is one
  rep. A rep the clip opens on part-way down counts, as long as its bottom was reached in view:
  what finishes a rep is the return.
* Partial reps: excursion below `partial_frac` of the median excursion of the uncut reps ->
  `SHALLOW`. A partial rep has `complete=False` and its `partial_reason`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.movements.signals import fill_gaps, nanpct, smooth

CUT_START = "cut by the clip's start"
CUT_END = "cut by the clip's end"
CUT_GAP = "cut by a gap in the pose"
SHALLOW = "shallow"
# Values within this fraction of the range of the top are the same height (a rounding difference).
PEAK_TIE_FRAC = 1e-9


@dataclass
class SegmentParams:
    min_range: float              # smallest excursion (driver units) that counts as movement
    enter_frac: float = 0.45
    exit_frac: float = 0.30
    rest_frac: float = 0.15
    plateau_frac: float = 0.08     # within this fraction of the range from the peak = bottom/top
    min_rep_s: float = 0.35
    min_gap_s: float = 0.25
    max_gap_s: float = 0.6
    smooth_s: float = 0.2
    partial_frac: float = 0.60


@dataclass
class Segment:
    start: int
    peak: int
    plateau_start: int
    plateau_end: int
    end: int
    peak_value: float
    excursion: float
    complete: bool = True
    partial_reason: str | None = None   # why complete is False (CUT_START, CUT_END, CUT_GAP, SHALLOW)

    def events(self, t: np.ndarray, names: tuple[str, str, str, str, str]) -> dict[str, float]:
        """names: (start, peak, plateau_start, plateau_end, end) event names."""
        idx = (self.start, self.peak, self.plateau_start, self.plateau_end, self.end)
        order = (0, 2, 1, 3, 4)   # chronological: start, plateau start, peak, plateau end, end
        return {names[k]: round(float(t[idx[k]]), 3) for k in order}


def prepare(t: np.ndarray, x: np.ndarray, p: SegmentParams) -> np.ndarray:
    return smooth(t, fill_gaps(t, np.asarray(x, dtype=float), p.max_gap_s), p.smooth_s)


def levels(x: np.ndarray, p: SegmentParams) -> tuple[float, float] | None:
    """(rest level, typical peak level) or None when the signal does not move enough."""
    rest = nanpct(x, 5)
    top = nanpct(x, 97)
    if not np.isfinite(rest) or not np.isfinite(top) or top - rest < p.min_range:
        return None
    return rest, top


def _hysteresis(t: np.ndarray, x: np.ndarray, enter: float, exit_: float, min_gap_s: float) -> list[list]:
    """Hysteresis state machine -> raw [enter crossing, exit crossing, reason] intervals. A rep
    already past `enter` where the picture starts (the clip's first frame, or after a long gap)
    was not seen going down into its bottom: cut there."""
    raw: list[list] = []
    inside = False
    start_i = 0
    below_since: int | None = None
    reason: str | None = None
    seen = np.isfinite(x)
    first, last = (int(np.flatnonzero(seen)[0]), int(np.flatnonzero(seen)[-1])) if seen.any() else (0, -1)
    for i in range(len(x)):
        v = x[i]
        if not seen[i]:
            if inside and below_since is not None:   # came up, then a long gap: that rep is over
                raw.append([start_i, below_since, reason])
                inside, below_since = False, None
            elif inside:                             # a long gap inside a rep: it goes on after it
                reason = CUT_GAP
            continue
        if not inside:
            if v >= enter:
                inside, start_i, below_since = True, i, None
                reason = None if i > first and seen[i - 1] else (CUT_START if i == first else CUT_GAP)
        else:
            if v < exit_:
                if below_since is None:
                    below_since = i
            elif below_since is not None and v >= enter:
                if t[i] - t[below_since] < min_gap_s:
                    below_since = None      # a short dip: same rep
                else:
                    raw.append([start_i, below_since, reason])
                    start_i, below_since, reason = i, None, None
            if below_since is not None and t[i] - t[below_since] >= min_gap_s:
                raw.append([start_i, below_since, reason])
                inside, below_since = False, None
    if inside:  # still open when the clip ends
        raw.append([start_i, last if below_since is None else below_since, reason])
    return raw


def segment(t: np.ndarray, driver: np.ndarray, p: SegmentParams,
            rest_top: tuple[float, float] | None = None) -> list[Segment]:
    # Time from the clip's first frame, to the microsecond: the durations compared with the thresholds
    # below are then the same bits whatever clock the clip's timestamps started from (a clip starting
    # at 1 s instead of 0 would otherwise move a rep of exactly `min_rep_s` across the threshold).
    t = np.asarray(t, dtype=float)
    t = np.round(t - t[0], 6) if len(t) else t
    x = prepare(t, driver, p)
    lv = rest_top or levels(x, p)
    if lv is None:
        return []
    rest, top = lv
    rng = max(top - rest, p.min_range)
    enter = rest + max(p.enter_frac * rng, 0.5 * p.min_range)
    exit_ = rest + min(p.exit_frac * rng, enter - rest - 0.1 * rng)
    rest_lvl = rest + p.rest_frac * rng

    seen = np.isfinite(x)
    n = len(x)
    last = int(np.flatnonzero(seen)[-1]) if seen.any() else -1
    # 1) raw intervals between the enter and exit crossings, reps shorter than min_rep_s dropped
    raw = _hysteresis(t, x, enter, exit_, p.min_gap_s)
    raw = [r for r in raw if t[r[1]] - t[r[0]] >= p.min_rep_s]

    # 2) extend to the rest zone on both sides (not past the clip's edge or a gap). A rep must be
    # seen back in the rest zone: one whose return stops at the clip's end or a long gap is cut.
    spans: list[tuple] = []
    prev_end = 0
    for k, (a, b, reason) in enumerate(raw):
        nxt = raw[k + 1][0] if k + 1 < len(raw) else n - 1
        s = a
        while s > prev_end and seen[s - 1] and x[s] > rest_lvl and x[s - 1] <= x[s] + 0.02 * rng:
            s -= 1
        e = b
        while e < nxt and seen[e + 1] and x[e] > rest_lvl and x[e + 1] <= x[e] + 0.02 * rng:
            e += 1
        if reason is None and x[e] > rest_lvl and (e == last or not seen[e + 1]):
            reason = CUT_END if e == last else CUT_GAP
        spans.append((s, a, b, e, reason))
        prev_end = e

    segs: list[Segment] = []
    tol = p.plateau_frac * rng
    for s, a, b, e, reason in spans:
        win = x[a:b + 1]
        # the first frame of the top (a flat bottom's frames differ only by rounding, which an
        # offset or another clock start would reorder)
        pk = a + int(np.flatnonzero(win >= np.nanmax(win) - PEAK_TIE_FRAC * rng)[0])
        pv = float(x[pk])
        near = np.flatnonzero(np.isfinite(win) & (win >= pv - tol)) + a
        segs.append(Segment(start=s, peak=pk, plateau_start=int(near.min()), plateau_end=int(near.max()),
                            end=e, peak_value=pv, excursion=pv - min(x[s], x[e]),
                            partial_reason=reason))

    mark_shallow(segs, p.partial_frac)
    return segs


def whole_median(segs: list[Segment]) -> float:
    """Median excursion of the reps seen whole (not cut by the clip or a gap); 0 if none."""
    whole = [sg.excursion for sg in segs if sg.partial_reason in (None, SHALLOW)]
    return float(np.median(whole)) if whole else 0.0


def mark_shallow(segs: list[Segment], partial_frac: float) -> None:
    """(Re)mark as SHALLOW the reps seen whole whose excursion is below partial_frac x the median
    of those reps; set `complete` from `partial_reason`."""
    med = whole_median(segs)
    for sg in segs:
        if sg.partial_reason in (None, SHALLOW):
            sg.partial_reason = SHALLOW if sg.excursion < partial_frac * med else None
        sg.complete = sg.partial_reason is None
