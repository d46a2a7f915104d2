"""One video in, one output folder out: the stages in order, nothing else.

probe -> pose (landmarks) -> kinematics (angles) -> movements (reps, findings) -> outputs.
`analysis.json` is written last and atomically, so its presence means the folder is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from formcheck import __version__
from formcheck.config import Settings
from formcheck.errors import FormcheckError, NoPersonError, SubjectNotFoundError
from formcheck.kinematics import compute_kinematics
from formcheck.kinematics.support import supported_angles
from formcheck.movements import analyze_movement
from formcheck.outputs import plot_angles, write_angles_csv, write_mot
from formcheck.outputs.annotated import ANNOTATED_LONG_SIDE, write_annotated_video
from formcheck.pose.landmarker import extract_poses
from formcheck.pose.marker import find_floor_marker
from formcheck.pose.models import resolve_model
from formcheck.pose.tracking import NoSubjectAtPoint, SubjectHint
from formcheck.schema import (
    Analysis,
    AngleSummary,
    InputInfo,
    ModelInfo,
    QualityInfo,
    SubjectInfo,
)
from formcheck.series import AngleSeries, PoseSeries, load_series, save_series
from formcheck.sources import VideoInfo, probe
from formcheck.spool import FrameSpool

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# Fewer decoded frames than this share of the header's count: the result is partial, and says so.
DECODED_SHARE_WARNING = 0.9


@dataclass
class AnalysisResult:
    analysis: Analysis
    out_dir: Path
    pose: PoseSeries
    angles: AngleSeries


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _summaries(angles: AngleSeries, measured: AngleSeries) -> list[AngleSummary]:
    """Per column of the supported `angles`; frames_withheld counts what the frame rule took from
    `measured` in a column still shown (a column withheld whole says why in withheld_measures)."""
    out = []
    for name, values in angles.angles.items():
        valid = values[~np.isnan(values)]
        lost = np.isfinite(measured.angles[name]) & np.isnan(values)
        stats = (float(valid.min()), float(np.median(valid)), float(valid.max())) if valid.size else (None,) * 3
        out.append(
            AngleSummary(
                name=name,
                valid_fraction=round(valid.size / max(1, values.size), 4),
                frames_withheld=0 if name in angles.withheld else int(lost.sum()),
                min=None if stats[0] is None else round(stats[0], 2),
                median=None if stats[1] is None else round(stats[1], 2),
                max=None if stats[2] is None else round(stats[2], 2),
            )
        )
    return out


def _longest_gap_s(time_s: np.ndarray, ok: np.ndarray) -> float:
    longest, start = 0.0, None
    for i, good in enumerate(ok):
        if not good and start is None:
            start = i
        if good and start is not None:
            longest = max(longest, time_s[i] - time_s[start])
            start = None
    if start is not None:
        longest = max(longest, time_s[-1] - time_s[start] + (time_s[1] - time_s[0] if len(time_s) > 1 else 0))
    return float(longest)


def parse_subject(subject: str | SubjectHint | None) -> SubjectHint:
    """The user's subject choice, checked before any work (a user error, not a crash)."""
    if isinstance(subject, SubjectHint):
        return subject
    try:
        return SubjectHint.parse(subject)
    except ValueError as exc:
        raise FormcheckError(f"{exc}.", "Give auto, largest, most-moving, or X,Y@T: the person at that point "
                             "(fractions of the frame's width and height) at T seconds.") from None


def analyze_video(
    video: str | Path,
    out_dir: str | Path,
    settings: Settings | None = None,
    *,
    exercise: str = "auto",
    leg_length_cm: dict[str, float] | None = None,
    marker_size_cm: float | None = None,
    subject: str | SubjectHint | None = None,
    progress: Progress | None = None,
    annotated_video: bool = True,
) -> AnalysisResult:
    """subject: who to analyse (pose.tracking.SubjectHint: auto, largest, most-moving or X,Y@T).
    annotated_video: also draw the skeleton and angles into an MP4 (the service's pages draw them
    on the original video from the landmarks instead, and ask for the MP4 only on request)."""
    settings = settings or Settings()
    hint = parse_subject(subject)
    out_dir = Path(out_dir)
    info = probe(video, settings.limits.min_duration_s, settings.limits.max_duration_s)
    resolve_model(settings.pose.model)  # a missing model fails before any frame is decoded

    total = max(1, info.frame_count)
    done = {"pose": 0, "video": 0}

    def tick(stage: str) -> Callable[[int], None]:
        def advance(n: int) -> None:
            done[stage] += n
            if progress:
                progress(stage, done[stage], total)

        return advance

    with tempfile.TemporaryDirectory(prefix="formcheck-frames-") as spool_dir:
        # the pose stage keeps the frames for the annotated video when they fit (spool.py)
        spool = FrameSpool.plan(info, Path(spool_dir), ANNOTATED_LONG_SIDE, settings.outputs.frame_spool_mb) \
            if annotated_video else None
        try:
            raw = extract_poses(info, settings.pose, progress=tick("pose"), subject=hint, spool=spool)
        except NoSubjectAtPoint as exc:
            raise SubjectNotFoundError(f"There is {exc}.", "Point at the person's body in a frame where they are "
                                       "visible, or leave the subject on auto.") from None
        pose_fraction = float(raw.detected.mean()) if len(raw) else 0.0
        if pose_fraction < settings.limits.min_pose_fraction:
            raise NoPersonError(
                f"No person was found in {1 - pose_fraction:.0%} of the frames of {info.path.name}.",
                "Film the whole body (head to feet) from 2-4 m away, in good light, with nobody else in front.",
            )
        return analyze_landmarks(info, raw, out_dir, settings, exercise=exercise, leg_length_cm=leg_length_cm,
                                 marker_size_cm=marker_size_cm, annotated_video=annotated_video,
                                 video_progress=tick("video"), spool=spool)


def analyze_landmarks(
    info: VideoInfo,
    raw: PoseSeries,
    out_dir: Path,
    settings: Settings,
    *,
    exercise: str = "auto",
    leg_length_cm: dict[str, float] | None = None,
    marker_size_cm: float | None = None,
    manual_swaps_s: Sequence[float] = (),
    annotated_video: bool = True,
    video_progress: Callable[[int], None] | None = None,
    spool: FrameSpool | None = None,
) -> AnalysisResult:
    """Everything after the pose model, from the subject's landmarks: also how an analysis is re-run
    from its landmarks.npz (a corrected leg swap, `manual_swaps_s`) without running the model again."""
    model_path = resolve_model(settings.pose.model)
    pose_fraction = float(raw.detected.mean()) if len(raw) else 0.0
    clean, angles = compute_kinematics(raw, settings.kinematics, manual_swaps_s=manual_swaps_s)
    floor = find_floor_marker(info, marker_size_cm) if marker_size_cm else None
    movement = analyze_movement(clean, angles, exercise=exercise, leg_length_cm=leg_length_cm, floor_scale=floor)
    if marker_size_cm and floor is None:
        movement.notes.append(f"No ArUco marker (DICT_4X4_50 id 0, {marker_size_cm:g} cm) was found in the first "
                              "second: distances use the leg length instead.")
    elif settings.pose.model in ("lite", "full") and any(r.metrics.get("reach_scale") == "marker"
                                                         for r in movement.reps):
        # bench/marker_reach.py: side-view anterior trials, 1280x720, 20 cm marker
        movement.notes.append(f"Reach in cm from the floor marker with the {settings.pose.model} pose model, whose "
                              "toe point sits behind the tip of a touching foot, so the reach may read a few cm "
                              "short; the heavy model reads closer (--model heavy, after python models/build.py "
                              "heavy).")

    # one rule for every output, the one the analysis used: what the view and the picture support
    shown = supported_angles(angles, clean, movement.view)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"angles_csv": "angles.csv", "angles_mot": "angles.mot", "landmarks": "landmarks.npz"}
    save_series(raw, out_dir / files["landmarks"])
    write_angles_csv(shown, out_dir / files["angles_csv"])
    write_mot(shown, out_dir / files["angles_mot"], name=f"formcheck joint angles: {info.path.name}")
    spans = [(rep.start_s, rep.end_s, f"{rep.index}{rep.side[0].upper()}") for rep in movement.reps]
    for plot in plot_angles(shown, out_dir, spans):
        files[f"plot_{plot.stem}"] = plot.name
    if annotated_video:
        files["annotated_video"] = "annotated.mp4"
        write_annotated_video(info, clean, shown, out_dir / files["annotated_video"], video_progress, spool)

    warnings = []
    if raw.subject.people_seen > 1:
        warnings.append(raw.subject.reason)
    if pose_fraction < 0.95:
        warnings.append(f"The person was found in only {pose_fraction:.0%} of frames.")
    decoded = len(raw.all_frame_times)
    if decoded < DECODED_SHARE_WARNING * info.frame_count:  # a truncated or damaged file: say so
        warnings.append(
            f"Only {decoded} of the {info.frame_count} frames the file announces could be decoded "
            f"(the file is truncated or damaged); the analysis covers the readable part."
        )
    elif info.frame_count_exact and decoded < info.frame_count:  # a few damaged frames mid-file
        warnings.append(
            f"{info.frame_count - decoded} of the {info.frame_count} frames could not be decoded (damaged data) "
            f"and were skipped; gaps up to {settings.kinematics.max_gap_s:g} s are interpolated, longer ones stay gaps."
        )
    knee_ok = ~np.isnan(angles["left_knee_flexion_deg"]) | ~np.isnan(angles["right_knee_flexion_deg"])
    analysis = Analysis(
        formcheck_version=__version__,
        created_at=datetime.now(UTC),
        input=InputInfo(
            file_name=info.path.name,
            width=info.width,
            height=info.height,
            fps=round(clean.fps, 3),
            duration_s=round(info.duration_s, 3),
            frames=decoded,
            rotation_deg=info.rotation,
            codec=info.codec,
        ),
        model=ModelInfo(name=settings.pose.model, file=model_path.name, sha256=sha256_of(model_path)),
        settings=settings.model_dump(),
        subject=SubjectInfo(**vars(raw.subject)),
        quality=QualityInfo(
            frames_measured=len(raw),
            frames_with_pose=int(raw.detected.sum()),
            pose_fraction=round(pose_fraction, 4),
            leg_swap_frames=[int(i) for i in angles.swapped_frames],
            manual_leg_swaps_s=[round(float(t), 3) for t in manual_swaps_s],
            longest_gap_s=round(_longest_gap_s(angles.time_s, knee_ok), 3),
            warnings=warnings,
        ),
        angles=_summaries(shown, angles),
        withheld_measures=shown.withheld,
        movement=movement,
        files=files,
    )
    tmp = out_dir / "analysis.json.tmp"
    tmp.write_text(json.dumps(analysis.model_dump(mode="json"), indent=2))
    os.replace(tmp, out_dir / "analysis.json")
    return AnalysisResult(analysis, out_dir, clean, shown)



_drawing: dict[Path, threading.Lock] = {}
_drawing_guard = threading.Lock()


def render_annotated_video(video: str | Path, out_dir: str | Path, settings: Settings | None = None) -> Path:
    """The annotated MP4 of a finished analysis folder, drawn now if it has none (the service
    writes none by default: its pages draw the skeleton on the original video from the landmarks).

    The same cleaned skeleton and the same supported angles as the analysis: its landmarks.npz
    through kinematics (with its manual leg swaps) and the view it decided. One drawing per
    folder at a time (the others wait and get its file); written to a temp name and renamed,
    so a reader never sees half a file; returns the file.
    """
    out_dir = Path(out_dir)
    with _drawing_guard:
        lock = _drawing.setdefault(out_dir.resolve(), threading.Lock())
    with lock:
        path = out_dir / "annotated.mp4"
        if not path.is_file():
            _draw_annotated_video(Path(video), out_dir, path, settings)
    return path


def _draw_annotated_video(video: Path, out_dir: Path, path: Path, settings: Settings | None) -> None:
    analysis = Analysis.model_validate_json((out_dir / "analysis.json").read_text())
    settings = settings or Settings.model_validate(analysis.settings)
    info = probe(video, 0.0, float("inf"))
    raw = load_series(out_dir / analysis.files["landmarks"])
    clean, angles = compute_kinematics(raw, settings.kinematics, manual_swaps_s=analysis.quality.manual_leg_swaps_s)
    view = analysis.movement.view if analysis.movement else "unknown"
    tmp = out_dir / "annotated.mp4.tmp.mp4"
    write_annotated_video(info, clean, supported_angles(angles, clean, view), tmp)
    os.replace(tmp, path)
