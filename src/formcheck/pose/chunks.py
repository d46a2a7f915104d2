"""Split a clip into overlapping time chunks and join their detections without a seam.

One MediaPipe landmarker uses one core; a clip uses every core when each chunk of it runs
its own landmarker in its own process (pose/parallel.py). A landmarker starting mid-clip
needs a few frames to settle (person detection, then ROI tracking and landmark smoothing),
so neighbouring chunks overlap and the join is placed, inside the overlap, at the frame
where both chunks agree best. The joined detections then go through subject choice as a
whole (pose/tracking.py), so the same person is the subject on both sides of the join.
Pure numpy: tested with constructed detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.landmarks import NUM_LANDMARKS
from formcheck.pose.appearance import REGION_NAMES
from formcheck.pose.tracking import SAME_FRAME_S, Detection, shared_frames

# Disagreement when one chunk sees a person the other does not (median landmark distances
# are a small fraction of the image diagonal, so this always loses to a real match).
UNMATCHED_COST = 1.0
APPEARANCE_UNSEEN = np.full((len(REGION_NAMES), 3), np.nan)


@dataclass(frozen=True)
class Chunk:
    """Decode [start_s, end_s) (end None: to the end of the clip); `core_*` is its share
    of the clip without the overlap, which is what its progress counts."""

    index: int
    start_s: float
    end_s: float | None
    core_start_s: float
    core_end_s: float | None


def plan_chunks(duration_s: float, workers: int, min_chunk_s: float, overlap_s: float) -> list[Chunk]:
    """Equal chunks, at most one per worker and none shorter than `min_chunk_s`.

    Each boundary is widened by `overlap_s / 2` on both sides, so every chunk pays the same
    share of the overlap and the first chunk's end-of-clip tracking stays untouched.
    """
    if duration_s <= 0 or workers < 1:
        raise ValueError(f"cannot plan chunks for duration {duration_s} s and {workers} workers")
    n = max(1, min(workers, int(duration_s // max(min_chunk_s, 1e-9))))
    if n == 1:
        return [Chunk(0, 0.0, None, 0.0, None)]
    bounds = [duration_s * k / n for k in range(n + 1)]
    half = overlap_s / 2
    chunks = []
    for k in range(n):
        last = k == n - 1
        chunks.append(
            Chunk(
                index=k,
                start_s=0.0 if k == 0 else bounds[k] - half,
                end_s=None if last else bounds[k + 1] + half,
                core_start_s=bounds[k] if k else 0.0,
                core_end_s=None if last else bounds[k + 1],
            )
        )
    return chunks


def frame_disagreement(a: list[Detection], b: list[Detection], diagonal: float) -> float:
    """How differently two landmarkers saw one frame: for each person of either side, the
    median landmark distance to the nearest person of the other side, as a fraction of the
    image diagonal (worst person counts); UNMATCHED_COST when the people counts differ."""
    if not a and not b:
        return 0.0
    if len(a) != len(b):
        return UNMATCHED_COST
    worst = 0.0
    for first, second in ((a, b), (b, a)):
        for det in first:
            nearest = min(float(np.nanmedian(np.linalg.norm(det.image_xy - o.image_xy, axis=1))) for o in second)
            worst = max(worst, nearest / diagonal)
    return worst


def choose_join(
    times_a: np.ndarray,
    dets_a: list[list[Detection]],
    times_b: np.ndarray,
    dets_b: list[list[Detection]],
    diagonal: float,
    settle_fraction: float = 1 / 3,
) -> tuple[int, int]:
    """Where to switch from chunk a to chunk b: keep a[:cut_a] then b[cut_b:].

    The switch frame is the shared frame where both agree best, skipping the first
    `settle_fraction` of the overlap (b's landmarker is still settling there); ties go to
    the earliest frame, so the result is deterministic. Without shared frames (b starts
    after a ends) the chunks are simply concatenated in time order.
    """
    ia, ib = shared_frames(times_a, times_b)
    if not len(ia):
        if not len(times_b):
            return len(times_a), 0
        return int(np.searchsorted(times_a, times_b[0] - SAME_FRAME_S)), 0
    start = min(len(ia) - 1, int(len(ia) * settle_fraction))
    costs = [frame_disagreement(dets_a[i], dets_b[j], diagonal) for i, j in zip(ia[start:], ib[start:])]
    best = start + int(np.argmin(costs))
    return int(ia[best]), int(ib[best])


def join_chunks(
    parts: list[tuple[np.ndarray, list[list[Detection]]]], width: int, height: int
) -> tuple[np.ndarray, list[list[Detection]]]:
    """Join consecutive chunks' (times, detections) into one clip-long pair."""
    if not parts:
        return np.zeros(0), []
    diagonal = float(np.hypot(width, height))
    times, dets = np.asarray(parts[0][0], float), list(parts[0][1])
    for next_times, next_dets in parts[1:]:
        next_times = np.asarray(next_times, float)
        cut_a, cut_b = choose_join(times, dets, next_times, next_dets, diagonal)
        times = np.concatenate([times[:cut_a], next_times[cut_b:]])
        dets = dets[:cut_a] + list(next_dets[cut_b:])
    return times, dets


def pack_detections(times: np.ndarray, per_frame: list[list[Detection]]) -> dict[str, np.ndarray]:
    """Detections as a few flat arrays: cheap to send between processes, small in memory."""
    flat = [det for dets in per_frame for det in dets]

    def stack(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if not flat:
            return np.zeros((0, *shape))
        return np.stack([getattr(det, name) for det in flat]).astype(float)

    return {
        "time_s": np.asarray(times, float),
        "count": np.array([len(dets) for dets in per_frame], dtype=np.int32),
        "image_xy": stack("image_xy", (NUM_LANDMARKS, 2)),
        "image_z": stack("image_z", (NUM_LANDMARKS,)),
        "world_xyz": stack("world_xyz", (NUM_LANDMARKS, 3)),
        "visibility": stack("visibility", (NUM_LANDMARKS,)),
        "presence": stack("presence", (NUM_LANDMARKS,)),
        # NaN where a detection carries no colours (appearance.describe was not run)
        "appearance": np.stack([APPEARANCE_UNSEEN if det.appearance is None else det.appearance for det in flat])
        if flat else np.zeros((0, *APPEARANCE_UNSEEN.shape)),
    }


def unpack_detections(packed: dict[str, np.ndarray]) -> tuple[np.ndarray, list[list[Detection]]]:
    ends = np.cumsum(packed["count"])
    starts = ends - packed["count"]
    per_frame = [
        [
            Detection(
                image_xy=packed["image_xy"][k],
                image_z=packed["image_z"][k],
                world_xyz=packed["world_xyz"][k],
                visibility=packed["visibility"][k],
                presence=packed["presence"][k],
                appearance=packed["appearance"][k],
            )
            for k in range(s, e)
        ]
        for s, e in zip(starts, ends)
    ]
    return packed["time_s"], per_frame
