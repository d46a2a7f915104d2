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

from formcheck import landmarks as LM
from formcheck.kinematics.angles import unsigned_angle
from formcheck.pose import appearance
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
    appearance: np.ndarray | None = None  # (regions, 3) clothing colour (pose/appearance.py)

    @property
    def box(self) -> np.ndarray:
        """x0, y0, x1, y1 over the landmarks the model thinks are visible (all, if none are)."""
        seen = self.visibility > 0.3
        pts = self.image_xy[seen] if seen.sum() >= 4 else self.image_xy
        return np.array([*pts.min(axis=0), *pts.max(axis=0)])


# Frames of two detection runs (time chunks, a track and a scan) closer in time than this are the
# same frame (container clocks agree to the microsecond; sources.py nudges duplicate timestamps by 1 ms).
SAME_FRAME_S = 0.5e-3


@dataclass
class Detections:
    """Everyone a landmarker saw, frame by frame: frame times and the detections of each."""

    times: np.ndarray
    per_frame: list[list[Detection]]

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros(0), [])

    @classmethod
    def concat(cls, parts: list[Detections]) -> Detections:
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
    # a sparse scan (one look a second) links its looks; frames of a video link within MAX_TRACK_GAP_S
    max_gap = max(MAX_TRACK_GAP_S, 1.5 * float(np.median(np.diff(times)))) if len(times) > 1 else MAX_TRACK_GAP_S
    for i, dets in enumerate(frames):
        t = times[i]
        open_ids = [k for k, (ts, _) in enumerate(last_seen) if t - ts <= max_gap]
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


# Same clothes: median colour difference (CIELAB, lightness at half weight) below this over
# the body regions both tracklets showed. One person's takes differ by a few units (exposure,
# compression); different garments by tens.
SAME_CLOTHES_DE = 12.0
# A change of clothes inside a tracklet must hold this long on both sides to cut it.
CHANGE_WINDOW_S = 0.5
# Two tracklets of one person may share frames only during a cross-fade between takes;
# a mirror image or a twin in matching kit shares the whole clip.
CROSSFADE_S = 1.0
# A joint is in view when it is seen (visibility) and this share of the frame inside its edge.
EDGE_MARGIN = 0.01
IN_VIEW_VISIBILITY = 0.5
# Movement of the exercises formcheck knows, from the movement itself: a squat, lunge or
# step-up bends the knee by 60-110 deg, a step-up lifts the hips by a third of a leg length,
# an mSEBT reach carries the free foot 0.5-1 leg length. A person reaching any of these
# excursions scores full movement; a presenter talking in place, a coach watching or a
# spectator scores little.
KNEE_EXCURSION_DEG = 45.0
HIP_EXCURSION_LEGS = 0.25
FOOT_TRAVEL_LEGS = 0.4
LOWER_BODY = (LM.LEFT_HIP, LM.RIGHT_HIP, LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE)
SUBJECT_RULES = ("auto", "largest", "most-moving")


@dataclass(frozen=True)
class SubjectHint:
    """Who to analyse: "auto" (the person doing the exercise), "largest", "most-moving", or
    the person at a point (x, y as fractions of the frame's width and height, at t seconds)."""

    rule: str = "auto"
    x: float | None = None
    y: float | None = None
    t: float = 0.0

    @classmethod
    def parse(cls, text: str | None) -> SubjectHint:
        """'auto', 'largest', 'most-moving', 'X,Y' or 'X,Y@T' (e.g. '0.7,0.5@2.5')."""
        text = (text or "auto").strip().lower()
        if text in SUBJECT_RULES:
            return cls(text)
        point, _, at = text.partition("@")
        try:
            x, y = (float(v) for v in point.split(","))
            t = float(at) if at else 0.0
        except ValueError:
            raise ValueError(f"subject {text!r} is not one of {', '.join(SUBJECT_RULES)} or X,Y@T") from None
        if not (0 <= x <= 1 and 0 <= y <= 1) or t < 0:
            raise ValueError(f"subject point {text!r}: X and Y are fractions of the frame (0-1), T seconds >= 0")
        return cls("point", x, y, t)

    def __str__(self) -> str:
        return self.rule if self.rule != "point" else f"{self.x:g},{self.y:g}@{self.t:g}"


@dataclass
class Person:
    """Tracklets joined into one person, and what tells the subject from everyone else."""

    frames: dict[int, Detection]
    presence: float = 0.0  # share of the clip's frames
    body_in_view: float = 0.0  # share of its frames with hips, knees and ankles in view
    movement: float = 0.0  # 0-1: lower-body excursion against the exercises' (see above)
    size: float = 0.0  # median box area share x centrality, relative to the largest person


def _tracklet_appearance(track: dict[int, Detection]) -> np.ndarray:
    return appearance.summarise([d.appearance for d in track.values() if d.appearance is not None])


def split_at_clothing_changes(dt: float, track: dict[int, Detection]) -> list[dict[int, Detection]]:
    """Cut a tracklet where the clothes change for good: box overlap links two people filmed
    one after the other at the same spot. The colours of the CHANGE_WINDOW_S before and after
    each frame are compared; a moment of bad landmarks (a limb over a bench) is too short to
    move either window's median."""
    frames = sorted(track)
    w = max(3, int(round(CHANGE_WINDOW_S / dt)))
    if len(frames) < 2 * w:
        return [track]
    looks = [a for i in frames if (a := track[i].appearance) is not None]
    if len(looks) < len(frames):
        return [track]
    change = np.array([appearance.distance(appearance.summarise(looks[p - w:p]), appearance.summarise(looks[p:p + w]))
                       for p in range(w, len(frames) - w + 1)])
    cuts: list[int] = []
    for k in np.argsort(-np.nan_to_num(change, nan=0.0)):
        if not change[k] > SAME_CLOTHES_DE:
            break
        if all(abs(k - c) >= w for c in cuts):
            cuts.append(int(k))
    bounds = [0] + sorted(c + w for c in cuts) + [len(frames)]
    return [{i: track[i] for i in frames[a:b]} for a, b in zip(bounds, bounds[1:])]


def join_people(dt: float, tracks: list[dict[int, Detection]]) -> list[dict[int, Detection]]:
    """Join tracklets of one person: never together on screen (but for a cross-fade) and in
    the same clothes. Box overlap links frame to frame; this re-identifies across cuts,
    occlusions and re-entries, so one person in an edited clip stays one person."""
    tracks = [part for tr in tracks for part in split_at_clothing_changes(dt, tr)]
    looks = [_tracklet_appearance(tr) for tr in tracks]
    pairs = sorted(
        (d, i, j)
        for i in range(len(tracks))
        for j in range(i + 1, len(tracks))
        if np.isfinite(d := appearance.distance(looks[i], looks[j])) and d <= SAME_CLOTHES_DE
    )
    groups = {i: {i} for i in range(len(tracks))}
    group_of = list(range(len(tracks)))
    for _, i, j in pairs:
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        frames_i = set().union(*(tracks[k].keys() for k in groups[gi]))
        frames_j = set().union(*(tracks[k].keys() for k in groups[gj]))
        if len(frames_i & frames_j) * dt > CROSSFADE_S:
            continue
        groups[gi] |= groups.pop(gj)
        for k in groups[gi]:
            group_of[k] = gi
    people = []
    for members in groups.values():
        joined: dict[int, Detection] = {}
        for k in members:
            for i, det in tracks[k].items():  # a cross-fade frame keeps the clearer detection
                if i not in joined or det.visibility.mean() > joined[i].visibility.mean():
                    joined[i] = det
        people.append(dict(sorted(joined.items())))
    return people


def _knee_flexion(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    return 180.0 - unsigned_angle(hip - knee, ankle - knee)


def _spread(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.percentile(values, 95) - np.percentile(values, 5)) if values.size >= 5 else 0.0


def lower_body_movement(dets: list[Detection]) -> float:
    """0-1: how far the knees bend, the hips rise and fall and the feet travel, each against
    what the known exercises need (a still person ~0, anyone exercising 1)."""
    xy = np.stack([d.image_xy for d in dets])
    seen = np.stack([d.visibility for d in dets]) >= IN_VIEW_VISIBILITY
    knee_range, legs, feet = 0.0, [], []
    for hip, knee, ankle in ((LM.LEFT_HIP, LM.LEFT_KNEE, LM.LEFT_ANKLE), (LM.RIGHT_HIP, LM.RIGHT_KNEE, LM.RIGHT_ANKLE)):
        ok = seen[:, [hip, knee, ankle]].all(axis=1)
        if ok.sum() < 5:
            continue
        knee_range = max(knee_range, _spread(_knee_flexion(xy[ok, hip], xy[ok, knee], xy[ok, ankle])))
        legs.append(np.linalg.norm(xy[ok, hip] - xy[ok, knee], axis=1)
                    + np.linalg.norm(xy[ok, knee] - xy[ok, ankle], axis=1))
        feet.append(xy[ok, ankle])
    if not legs:
        return 0.0
    leg = float(np.median(np.concatenate(legs)))
    hips_ok = seen[:, [LM.LEFT_HIP, LM.RIGHT_HIP]].all(axis=1)
    hip_range = _spread(xy[hips_ok][:, [LM.LEFT_HIP, LM.RIGHT_HIP], 1].mean(axis=1)) / leg
    foot_travel = max(float(np.percentile(np.linalg.norm(f - np.median(f, axis=0), axis=1), 95)) for f in feet) / leg
    return float(min(1.0, max(knee_range / KNEE_EXCURSION_DEG, hip_range / HIP_EXCURSION_LEGS,
                              foot_travel / FOOT_TRAVEL_LEGS)))


def describe_people(n_frames: int, people: list[dict[int, Detection]], width: int, height: int) -> list[Person]:
    centre = np.array([width / 2, height / 2])
    half_diag = float(np.hypot(width, height)) / 2
    margin = EDGE_MARGIN * np.array([width, height])
    out = []
    for frames in people:
        dets = list(frames.values())
        in_view = 0
        sizes = []
        for det in dets:
            pts = det.image_xy[list(LOWER_BODY)]
            inside = ((pts >= margin) & (pts <= np.array([width, height]) - margin)).all()
            in_view += bool(inside and (det.visibility[list(LOWER_BODY)] >= IN_VIEW_VISIBILITY).all())
            b = det.box
            area = max(0.0, (b[2] - b[0]) * (b[3] - b[1])) / (width * height)
            off_centre = float(np.linalg.norm((b[:2] + b[2:]) / 2 - centre)) / half_diag
            sizes.append(area * (1.0 - 0.7 * min(1.0, off_centre)))
        out.append(Person(frames, presence=len(frames) / max(1, n_frames), body_in_view=in_view / len(dets),
                          movement=lower_body_movement(dets), size=float(np.median(sizes))))
    largest = max((p.size for p in out), default=0.0)
    for p in out:
        p.size = p.size / largest if largest > 0 else 0.0
    return out


def _score(person: Person, rule: str) -> float:
    """The subject is in the clip, whole, and exercising; size and centrality only break ties."""
    if rule == "largest":
        return person.presence * person.size
    body, moves = 0.2 + 0.8 * person.body_in_view, 0.1 + 0.9 * person.movement
    if rule == "most-moving":
        return person.presence * body * person.movement
    return person.presence * body * moves * (0.5 + 0.5 * person.size)


def _at_point(times: np.ndarray, people: list[Person], hint: SubjectHint, width: int, height: int) -> int:
    """The person whose box holds the point in the frame nearest the hint's time."""
    frame = int(np.argmin(np.abs(np.asarray(times) - hint.t)))
    assert hint.x is not None and hint.y is not None  # the "point" rule always carries a point (`parse`)
    x, y = hint.x * width, hint.y * height
    best, best_d = -1, np.inf
    for k, person in enumerate(people):
        near = [i for i in person.frames if abs(times[i] - times[frame]) <= MAX_TRACK_GAP_S]
        if not near:
            continue
        b = person.frames[min(near, key=lambda i: abs(i - frame))].box
        if b[0] <= x <= b[2] and b[1] <= y <= b[3]:
            d = float(np.hypot(x - (b[0] + b[2]) / 2, y - (b[1] + b[3]) / 2))
            if d < best_d:
                best, best_d = k, d
    if best < 0:
        raise NoSubjectAtPoint(f"no person at x={hint.x:g}, y={hint.y:g} (fractions of the frame) at {hint.t:g} s")
    return best


class NoSubjectAtPoint(ValueError):
    """The user pointed at a place where nobody was detected."""


def choose_subject(
    times: np.ndarray, frames: list[list[Detection]], width: int, height: int, hint: SubjectHint | None = None
) -> tuple[list[Detection | None], SubjectChoice]:
    """The main subject's detection per frame (None where absent) and why it was chosen."""
    hint = hint or SubjectHint()
    tracks = link_tracks(times, frames)
    if not tracks:
        return [None] * len(frames), SubjectChoice(people_seen=0, reason="no person detected", method=str(hint))
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    people = describe_people(len(frames), join_people(dt, tracks), width, height)
    if hint.rule == "point":
        best = _at_point(times, people, hint, width, height)
    else:
        best = int(np.argmax([_score(p, hint.rule) for p in people]))
    chosen = people[best]
    counted = [p for p in people if len(p.frames) * dt >= MIN_PERSON_S]
    others_frames = {i for k, p in enumerate(people) if k != best for i in p.frames}
    per_frame: list[Detection | None] = [chosen.frames.get(i) for i in range(len(frames))]
    n_people = max(1, len(counted))
    if n_people == 1:
        reason = "only one person in frame"
    else:
        reason = f"{n_people} people seen; analysed {_why(chosen, [p for p in counted if p is not chosen], hint)}, " \
                 f"present in {chosen.presence:.0%} of frames"
    return per_frame, SubjectChoice(people_seen=n_people, frames_with_others=len(others_frames), reason=reason,
                                    method=str(hint))


def _why(chosen: Person, others: list[Person], hint: SubjectHint) -> str:
    if hint.rule == "point":
        return f"the person you pointed at ({hint})"
    if hint.rule == "largest":
        return "the largest, most central person (as asked)"
    if hint.rule == "most-moving" or chosen.movement > max((p.movement for p in others), default=0) + 0.25:
        return "the person moving through an exercise (the others moved little)"
    if chosen.body_in_view > max((p.body_in_view for p in others), default=0) + 0.25:
        return "the person whose whole body is in view"
    return "the person who is largest and most central over the clip"


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
    hint: SubjectHint | None = None,
) -> SubjectCheck:
    """Compare a cheap one-person track with a sparse scan for every person.

    Tracking one person costs about half as much as tracking two, but a one-person
    tracker locks onto whoever it detects first. A scan of a few frames a second with a
    multi-person landmarker finds everyone; subject choice on the scan picks the athlete;
    where the track sat on somebody else, the caller must track everyone instead.
    """
    chosen, subject = choose_subject(scan_times, scan, width, height, hint)
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
    subject = SubjectChoice(subject.people_seen, frames_with_others, subject.reason, subject.method)
    follows = mismatched <= MAX_MISMATCH_SHARE * max(1, compared)
    return SubjectCheck(follows, subject, compared, mismatched)
