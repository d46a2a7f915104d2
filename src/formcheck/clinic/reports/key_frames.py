"""Key frames (maximal reach, bottom of the lunge, top of the step-up) with the skeleton and
angles drawn, from the best source still on disk (see report_model), and their JPEGs kept in the
test's cache folder so a report opened again does not decode any video."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.clinic.report_model import ReportTest
from formcheck.config import Settings
from formcheck.kinematics import compute_kinematics
from formcheck.movements.report import Rep, metric_number
from formcheck.outputs import VIDEO_ANGLE_LABELS, draw_joint_angles, draw_legend, draw_skeleton, read_angles_csv
from formcheck.series import load_series
from formcheck.sources import iter_frames, probe

KEY_FRAME_LONG_SIDE = 960          # enough to read the angle labels on a printed page
JPEG_QUALITY = 85
GRAB_WINDOW_S = 0.25              # a key frame is taken from within this of its time
CACHE_INDEX = "key_frames.json"


@dataclass
class KeyFrame:
    id: str                   # stable: "<test id>:<rep index>", the key of ReportTest.key_frame_images
    test_id: str
    label: str
    time_s: float
    image: np.ndarray | None  # BGR with skeleton and angles drawn; None when no source is left


def key_frame_targets(test: ReportTest) -> list[tuple[str, str, float]]:
    """(id, label, time) of the frames worth showing: maximal reach of the longest valid trial
    per stance leg and direction, bottom of the deepest complete lunge per front leg, top of
    the highest step-up per lead leg."""
    movement = test.analysis.movement
    reps = [r for r in movement.reps if r.complete] if movement is not None else []
    best: dict[tuple[str, str | None], tuple[float, Rep]] = {}   # (side, direction) -> (score, rep)
    for rep in reps:
        m = rep.metrics
        if test.kind == "msebt":  # valid trials first, then the longest reach
            reach = metric_number(m.get("reach_pct_leg"))
            score = (-math.inf if reach is None else reach) + (0.0 if m.get("valid") is not False else -1e6)
        else:
            measured = metric_number(m.get("peak_knee_flexion_deg" if test.kind == "lunge" else "hip_rise_pct_leg"))
            score = -math.inf if measured is None else measured
        key = (rep.side, rep.direction if test.kind == "msebt" else None)
        if key not in best or score > best[key][0]:
            best[key] = (score, rep)
    out = []
    for (side, direction), (_, rep) in sorted(best.items(), key=lambda kv: kv[1][1].index):
        if test.kind == "msebt":
            t = rep.events.get("max_reach", rep.bottom_s)
            label = f"Maximal reach: {side} stance, {direction or 'reach'}, trial {rep.index}"
            if rep.metrics.get("valid") is False:
                label += " (invalid trial: no valid one in this clip)"
        elif test.kind == "lunge":
            t = rep.bottom_s
            label = f"Bottom of the lunge: {side} leg in front, rep {rep.index}"
        else:
            t = rep.bottom_s
            label = f"Top of the step-up: {side} lead leg, rep {rep.index}"
        out.append((f"{test.id}:{rep.index}", label, float(t)))
    return out


def grab_frames(video: Path, times: Sequence[float]) -> list[np.ndarray | None]:
    """The frame nearest to each time (BGR, long side ≤ KEY_FRAME_LONG_SIDE). Each is read from a
    short window around its time: the decoder seeks to the keyframe before it and converts only
    the window's frames, not the whole clip."""
    info = probe(video, 0.0)
    out: list[np.ndarray | None] = []
    for t in times:
        best_d, best = math.inf, None
        for frame in iter_frames(info, pixel_format="bgr24", max_long_side=KEY_FRAME_LONG_SIDE,
                                 start_s=max(0.0, t - GRAB_WINDOW_S), end_s=t + GRAB_WINDOW_S):
            d = abs(frame.time_s - t)
            if d < best_d:
                best_d, best = d, frame.image
            elif frame.time_s > t:
                break
        out.append(np.ascontiguousarray(best) if best is not None else None)
    return out


def _draw_from_landmarks(test: ReportTest, frames: list[np.ndarray | None], times: Sequence[float]) -> None:
    """Draw the cleaned skeleton and the angles on source-video frames (as the annotated video does)."""
    folder = test.folder
    assert folder is not None
    settings = Settings.model_validate(test.analysis.settings)
    clean, _ = compute_kinematics(load_series(folder / "landmarks.npz"), settings.kinematics)
    angles = read_angles_csv(folder / "angles.csv")
    angles.withheld = dict(test.analysis.withheld_measures)
    for image, t in zip(frames, times):
        if image is None:
            continue
        i = int(np.argmin(np.abs(clean.time_s - t)))
        j = int(np.argmin(np.abs(angles.time_s - t)))
        h, w = image.shape[:2]
        xy = clean.image_xy[i] * (w / clean.width, h / clean.height)
        draw_skeleton(image, xy, ~np.isnan(xy[:, 0]), legend=False)
        draw_joint_angles(image, xy, {n: float(v[j]) for n, v in angles.angles.items()},
                          labels=VIDEO_ANGLE_LABELS, withheld=angles.withheld)
        draw_legend(image)


def extract_key_frames(test: ReportTest) -> list[KeyFrame]:
    """Key frames of one test, from the best source still available (see report_model)."""
    targets = key_frame_targets(test)
    times = [t for _, _, t in targets]
    images: list[np.ndarray | None] = [None] * len(targets)
    folder = test.folder
    annotated = folder / "annotated.mp4" if folder else None
    if annotated is not None and annotated.exists():
        images = grab_frames(annotated, times)
    elif (test.source_video and test.source_video.exists() and folder
          and (folder / "landmarks.npz").exists() and (folder / "angles.csv").exists()):
        images = grab_frames(test.source_video, times)
        _draw_from_landmarks(test, images, times)
    else:
        for k, (kid, _, _) in enumerate(targets):
            path = test.key_frame_images.get(kid)
            if path is not None and Path(path).exists():
                images[k] = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return [KeyFrame(kid, test.id, label, t, img) for (kid, label, t), img in zip(targets, images)]


def save_key_frames(test: ReportTest, out_dir: str | Path) -> dict[str, Path]:
    """Write a test's key frames as JPEG (for the keep-no-video setting); returns id -> path,
    ready for `ReportTest.key_frame_images`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    saved = {}
    for kf in extract_key_frames(test):
        if kf.image is not None:
            path = out / (kf.id.replace(":", "_rep") + ".jpg")
            cv2.imwrite(str(path), kf.image, [cv2.IMWRITE_JPEG_QUALITY, 88])
            saved[kf.id] = path
    return saved


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("could not encode a key frame as JPEG")
    return data.tobytes()


def _analysis_stamp(test: ReportTest) -> str:
    """Changes whenever the test's analysis.json is rewritten (a re-run): the cache is then stale."""
    stat = (test.folder / "analysis.json").stat() if test.folder else None
    return f"{stat.st_mtime_ns}-{stat.st_size}" if stat else ""


def report_key_frames(test: ReportTest) -> list[tuple[KeyFrame, bytes]]:
    """The test's key frames as JPEG, drawn once: kept in `test.cache_dir` (when set) and read
    back from there while the analysis is unchanged. `KeyFrame.image` is None in the result."""
    cache = test.cache_dir
    stamp = _analysis_stamp(test)
    if cache is not None and (cache / CACHE_INDEX).is_file():
        index = json.loads((cache / CACHE_INDEX).read_text())
        if index.get("stamp") == stamp and all((cache / f["file"]).is_file() for f in index["frames"]):
            return [(KeyFrame(f["id"], test.id, f["label"], f["time_s"], None), (cache / f["file"]).read_bytes())
                    for f in index["frames"]]
    frames = [(kf, jpeg(kf.image)) for kf in extract_key_frames(test) if kf.image is not None]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        entries = []
        for kf, data in frames:
            name = kf.id.replace(":", "_rep") + "-report.jpg"
            (cache / name).write_bytes(data)
            entries.append({"id": kf.id, "label": kf.label, "time_s": kf.time_s, "file": name})
        (cache / CACHE_INDEX).write_text(json.dumps({"stamp": stamp, "frames": entries}))
    for kf, _ in frames:
        kf.image = None
    return frames
