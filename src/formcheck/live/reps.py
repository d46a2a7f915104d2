"""Online rep counting: the hysteresis of `movements/segment.py`, one sample at a time.

The offline segmenter sets its thresholds from the whole clip (resting level and typical peak);
live, the future is unknown, so the same fractions are applied to levels learnt so far:

* rest  = low percentile of the driver over the last `rest_window_s` outside reps (standing);
* range = median excursion of the reps counted so far, never below the exercise's `min_range`
  (so the first rep is judged against the minimum excursion, later ones against the user's own);
* enter/exit/min_rep_s/min_gap_s/max_gap_s/partial_frac exactly as `SegmentParams` defines them.

A rep is counted once the driver has stayed below `exit` for `min_gap_s` (a short dip at the
bottom is not the end of a rep), i.e. about a quarter of a second after the user is back up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from formcheck.movements.segment import SegmentParams

REST_PERCENTILE = 5  # as segment.levels: the resting level is the 5th percentile
RECENT_REPS = 5      # excursions remembered for the typical range


@dataclass(frozen=True)
class OnlineRep:
    index: int          # 1-based, counting partial reps too
    start_s: float      # last time in the rest zone before the rep
    peak_s: float
    end_s: float        # when the rep was declared over
    peak_value: float
    excursion: float    # peak above the resting level
    complete: bool      # False: excursion below partial_frac x the median of the earlier reps
    excursion_pct_of_median: float | None


class OnlineRepCounter:
    """Feed `update(t, value)` in time order; it returns an `OnlineRep` when one ends."""

    def __init__(self, params: SegmentParams, rest_window_s: float = 10.0) -> None:
        self.p = params
        self.rest_window_s = rest_window_s
        self._rest_samples: deque[tuple[float, float]] = deque()
        self._excursions: deque[float] = deque(maxlen=RECENT_REPS)
        self.reps: list[OnlineRep] = []
        self._inside = False
        self._start_t = self._enter_t = self._peak_t = 0.0
        self._peak = -np.inf
        self._below_since: float | None = None
        self._last_rest_t: float | None = None
        self._last_valid_t: float | None = None

    # ----- levels --------------------------------------------------------------------------
    @property
    def rest(self) -> float:
        if not self._rest_samples:
            return float("nan")
        return float(np.percentile([v for _, v in self._rest_samples], REST_PERCENTILE))

    @property
    def range(self) -> float:
        typical = float(np.median(self._excursions)) if self._excursions else 0.0
        return max(typical, self.p.min_range)

    def thresholds(self) -> tuple[float, float, float]:
        """(enter, exit, rest zone) in driver units, as segment.segment computes them."""
        rest, rng = self.rest, self.range
        enter = rest + max(self.p.enter_frac * rng, 0.5 * self.p.min_range)
        exit_ = rest + min(self.p.exit_frac * rng, enter - rest - 0.1 * rng)
        return enter, exit_, rest + self.p.rest_frac * rng

    @property
    def count(self) -> int:
        return sum(r.complete for r in self.reps)

    @property
    def partial_count(self) -> int:
        return sum(not r.complete for r in self.reps)

    @property
    def phase(self) -> str:
        return "rep" if self._inside else "rest"

    # ----- update --------------------------------------------------------------------------
    def update(self, t: float, value: float) -> OnlineRep | None:
        t = float(t)
        if not np.isfinite(value):
            if self._inside and self._last_valid_t is not None and t - self._last_valid_t > self.p.max_gap_s:
                self._inside, self._below_since = False, None   # long gap: drop the rep in progress
            return None
        self._last_valid_t = t
        if not self._inside:
            self._remember_rest(t, value)
        enter, exit_, rest_zone = self.thresholds()
        if not self._inside:
            if value <= rest_zone or self._last_rest_t is None:
                self._last_rest_t = t
            if value >= enter:
                self._inside, self._below_since = True, None
                self._enter_t, self._start_t = t, self._last_rest_t
                self._peak, self._peak_t = value, t
            return None
        if value > self._peak:
            self._peak, self._peak_t = value, t
        if value < exit_:
            if self._below_since is None:
                self._below_since = t
        elif self._below_since is not None and value >= enter:
            self._below_since = None   # a dip at the bottom shorter than min_gap_s: the same rep
        if self._below_since is not None and t - self._below_since >= self.p.min_gap_s:
            return self._finish(t)
        return None

    def _remember_rest(self, t: float, value: float) -> None:
        self._rest_samples.append((t, value))
        while self._rest_samples and self._rest_samples[0][0] < t - self.rest_window_s:
            self._rest_samples.popleft()

    def _finish(self, t: float) -> OnlineRep | None:
        assert self._below_since is not None  # called once the value has stayed below the exit level
        below = float(self._below_since)
        self._inside, self._below_since = False, None
        self._last_rest_t = t
        if below - self._enter_t < self.p.min_rep_s:
            return None
        excursion = self._peak - self.rest
        median = float(np.median(self._excursions)) if self._excursions else None
        pct = round(100.0 * excursion / median, 1) if median else None
        complete = median is None or excursion >= self.p.partial_frac * median
        if complete:
            self._excursions.append(excursion)
        rep = OnlineRep(index=len(self.reps) + 1, start_s=self._start_t, peak_s=self._peak_t, end_s=t,
                        peak_value=float(self._peak), excursion=float(excursion), complete=complete,
                        excursion_pct_of_median=pct)
        self.reps.append(rep)
        return rep
