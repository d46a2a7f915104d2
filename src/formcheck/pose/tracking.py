"""Follow one person when the model sees several.

MediaPipe returns up to `num_poses` people per frame in no stable order. We link detections
into tracks by box overlap, then pick the main subject: the track that is large, central
and present for the longest (score = sum over its frames of box area x centrality). A coach
filming from the side of a gym, or a presenter in the foreground for a moment, loses to
the athlete who is in frame throughout. Pure numpy: tested with constructed boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.series import SubjectChoice

# Detections overlapping more than this in one frame are the same person seen twice.
DUPLICATE_IOU = 0.6
# A detection continues a track when it overlaps the track's last box by at least this.
LINK_IOU = 0.2
# A track unseen for longer than this is closed.
MAX_TRACK_GAP_S = 0.5
# A track counts as "another person" when it lasts this long.
MIN_PERSON_S = 0.5


@dataclass
class Detection:
    """One person in one frame; arrays as in PoseSeries but for a single frame."""

    image_xy: np.ndarray  # (33, 2) pixels
    image_z: np.ndarray  # (33,)
    world_xyz: np.ndarray  # (33, 3)
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)

    @property
    def box(self) -> np.ndarray:
        """x0, y0, x1, y1 over the landmarks the model thinks are visible (all, if none are)."""
        seen = self.visibility > 0.3
        pts = self.image_xy[seen] if seen.sum() >= 4 else self.image_xy
        return np.array([*pts.min(axis=0), *pts.max(axis=0)])


# Frames of two detection runs (time chunks, a track and a scan) closer in time than this are the same frame (container clocks agree
# to the microsecond; sources.py nudges duplicate timestamps by 1 ms).
SAME_FRAME_S = 0.5e-3


@dataclass
class Detections:
    """Everyone a landmarker saw, frame by frame: frame times and the detections of each."""

    times: np.ndarray
    per_frame: list[list[Detection]]

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros(0), [])

    @classmethod
    def concat(cls, parts: list["Detections"]) -> "Detections":
        """Non-overlapping parts in time order, one after the other."""
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.times for p in parts]), [d for p in parts for d in p.per_frame])


def shared_frames(times_a: np.ndarray, times_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into a, into b) of the frames both runs decoded, in time order."""
    times_a, times_b = np.asarray(times_a, float), np.asarray(times_b, float)
    if not len(times_a) or not len(times_b):
        return np.zeros(0, int), np.zeros(0, int)
    j = np.clip(np.searchsorted(times_b, times_a), 0, len(times_b) - 1)
    j_prev = np.clip(j - 1, 0, len(times_b) - 1)
    j = np.where(np.abs(times_b[j_prev] - times_a) < np.abs(times_b[j] - times_a), j_prev, j)
    same = np.abs(times_b[j] - times_a) <= SAME_FRAME_S
    return np.flatnonzero(same), j[same]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _dedupe(dets: list[Detection]) -> list[Detection]:
    kept: list[Detection] = []
    for det in sorted(dets, key=lambda d: -float(np.nanmean(d.presence))):
        if all(iou(det.box, k.box) < DUPLICATE_IOU for k in kept):
            kept.append(det)
    return kept


def link_tracks(times: np.ndarray, frames: list[list[Detection]]) -> list[dict[int, Detection]]:
    """Greedy IoU linking; returns tracks as {frame index: detection}."""
    tracks: list[dict[int, Detection]] = []
    last_seen: list[tuple[float, np.ndarray]] = []  # per track: (time, box)
    for i, dets in enumerate(frames):
        t = times[i]
        open_ids = [k for k, (ts, _) in enumerate(last_seen) if t - ts <= MAX_TRACK_GAP_S]
        deduped = _dedupe(dets)
        pairs = sorted(
            ((iou(det.box, last_seen[k][1]), j, k) for j, det in enumerate(deduped) for k in open_ids),
            reverse=True,
        )
        used_dets: set[int] = set()
        used_tracks: set[int] = set()
        for overlap, j, k in pairs:
            if overlap < LINK_IOU or j in used_dets or k in used_tracks:
                continue
            tracks[k][i] = deduped[j]
            last_seen[k] = (t, deduped[j].box)
            used_dets.add(j)
            used_tracks.add(k)
        for j, det in enumerate(deduped):
            if j not in used_dets:
                tracks.append({i: det})
                last_seen.append((t, det.box))
    return tracks


def choose_subject(
    times: np.ndarray, frames: list[list[Detection]], width: int, height: int
) -> tuple[list[Detection | None], SubjectChoice]:
    """The main subject's detection per frame (None where absent) and why it was chosen."""
    tracks = link_tracks(times, frames)
    if not tracks:
        return [None] * len(frames), SubjectChoice(people_seen=0, reason="no person detected")
    centre = np.array([width / 2, height / 2])
    half_diag = float(np.hypot(width, height)) / 2

    def score(track: dict[int, Detection]) -> float:
        total = 0.0
        for det in track.values():
            b = det.box
            area = max(0.0, (b[2] - b[0]) * (b[3] - b[1])) / (width * height)
            off_centre = np.linalg.norm((b[:2] + b[2:]) / 2 - centre) / half_diag
            total += area * (1.0 - 0.7 * min(1.0, off_centre))
        return total

    scores = [score(tr) for tr in tracks]
    best = int(np.argmax(scores))
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    people = [tr for tr in tracks if len(tr) * dt >= MIN_PERSON_S]
    others_frames = {i for k, tr in enumerate(tracks) if k != best for i in tr}
    per_frame: list[Detection | None] = [tracks[best].get(i) for i in range(len(frames))]
    n_people = max(1, len(people))
    if n_people == 1:
        reason = "only one person in frame"
    else:
        share = len(tracks[best]) / len(frames)
        reason = (
            f"{n_people} people seen; analysed the person who is largest and most central over "
            f"the clip, present in {share:.0%} of frames"
        )
    return per_frame, SubjectChoice(people_seen=n_people, frames_with_others=len(others_frames), reason=reason)


# The single tracked pose and the scan's chosen subject are the same person when their boxes
# overlap at least this much (two estimates of one body agree far better: IoU > 0.7).
SAME_PERSON_IOU = 0.5
# Share of scanned frames where the tracked pose may be someone else before the clip is
# re-analysed with every person tracked (one stray frame of a passer-by is not a switch).
MAX_MISMATCH_SHARE = 0.05


@dataclass
class SubjectCheck:
    """Whether a one-person track followed the subject that a multi-person scan chose."""

    follows_subject: bool
    subject: SubjectChoice
    compared: int  # scanned frames where both saw somebody
    mismatched: int  # of those, frames where the track was on another person


def check_tracked_subject(
    track_times: np.ndarray,
    tracked: list[Detection | None],
    scan_times: np.ndarray,
    scan: list[list[Detection]],
    width: int,
    height: int,
) -> SubjectCheck:
    """Compare a cheap one-person track with a sparse scan for every person.

    Tracking one person costs about half as much as tracking two, but a one-person
    tracker locks onto whoever it detects first. A scan of a few frames a second with a
    multi-person landmarker finds everyone; subject choice on the scan picks the athlete;
    where the track sat on somebody else, the caller must track everyone instead.
    """
    chosen, subject = choose_subject(scan_times, scan, width, height)
    track_times = np.asarray(track_times, float)
    compared = mismatched = 0
    for k, i in zip(*shared_frames(scan_times, track_times)):  # the scan looked at frames of the track
        det, subject_det = tracked[i], chosen[k]
        if det is None or not scan[k]:
            continue
        compared += 1
        if subject_det is None or iou(det.box, subject_det.box) < SAME_PERSON_IOU:
            mismatched += 1
    n_scan = max(1, len(scan))
    frames_with_others = round(subject.frames_with_others * len(track_times) / n_scan)
    subject = SubjectChoice(subject.people_seen, frames_with_others, subject.reason)
    follows = mismatched <= MAX_MISMATCH_SHARE * max(1, compared)
    return SubjectCheck(follows, subject, compared, mismatched)
