"""Scripted analyses that the service tests inject into the app (`create_app(settings, analyze=...)`).

`scripted_analysis` is the real pipeline (`analyze_video`) with the pose model replaced by a
scripted side-view lunge (movement_fixtures.lunge) drawn at the clip's size and frame times:
kinematics, rep counting and every output file are the pipeline's own, in the shape the API
serves, without loading a model. `analysis_finding_nobody` gets the pipeline's own no_person
failure. One service test still runs the model (test_service.py::test_results_equal_the_pipeline).

`memoised_model_analysis` runs the real pose model but remembers its landmarks per clip (content,
pose settings, subject hint) in the folder FORMCHECK_TEST_POSE_MEMO names: the browser modules
upload the same clips to servers of their own (the bundled lunge three times, the rendered mSEBT
twice), and what they check is the pages, not the model. The first analysis of each clip in a
session runs the model; a later one replays its landmarks through the same pipeline. A server
whose test watches the model's own progress sets FORMCHECK_TEST_POSE_MEMO_REPLAY=0: it runs the
model every time and only records. The session's `analysed` fixture (tests/conftest.py) records the
shared clips it runs the model on (`remember_landmarks`), so the CLI's every-output test replays them.

A file named HOLD in the service's data dir keeps scripted analyses in their pose stage (still
writing progress, so a deleted job stops): the tests that act on a running job create it before
uploading and remove it to let the job finish.

The analysis processes import this module (the functions are pickled by name), so it imports
little: the pipeline only when an analysis runs.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import numpy as np

from formcheck.series import PoseSeries
from movement_fixtures import lunge

if TYPE_CHECKING:
    from formcheck.sources import VideoInfo

HOLD = "HOLD"
POSE_MEMO_ENV = "FORMCHECK_TEST_POSE_MEMO"
POSE_MEMO_REPLAY_ENV = "FORMCHECK_TEST_POSE_MEMO_REPLAY"
# movement_fixtures draws into a 1080 x 1920 portrait frame; scripted poses are scaled into the clip's.
FIXTURE_SIZE = (1080, 1920)
# One rep per 2.5 s after 1.5 s of standing: the bundled sample (11.7 s) gets 4 reps, as many as it shows.
LUNGE_REP_S = 2.5
HOLD_POLL_S = 0.05


def hold_file(data_dir: Path) -> Path:
    return data_dir / HOLD


def _data_dir(video: Path) -> Path:
    """The service's data dir from a job's input: <data_dir>/media/<job id>/<input>."""
    return Path(video).resolve().parents[2]


def scripted_lunge(info: VideoInfo) -> PoseSeries:
    """A side-view reverse lunge (reps of LUNGE_REP_S, standing at both ends) at the clip's size and frame times."""
    frames = max(1, info.frame_count)
    reps = max(1, int((frames / info.fps - 1.5) // LUNGE_REP_S))
    pose, _ = lunge(sides=tuple(("left", "right")[k % 2] for k in range(reps)), fps=info.fps, rep_s=LUNGE_REP_S)
    index = np.minimum(np.arange(frames), len(pose.time_s) - 1)  # past the script's end: standing still
    scale = min(info.width / FIXTURE_SIZE[0], info.height / FIXTURE_SIZE[1])
    centre_from = np.array(FIXTURE_SIZE) / 2
    centre_to = np.array([info.width, info.height]) / 2
    return PoseSeries(
        time_s=np.arange(frames) / info.fps,
        image_xy=(pose.image_xy[index] - centre_from) * scale + centre_to,
        image_z=pose.image_z[index] * scale,
        world_xyz=pose.world_xyz[index],
        visibility=pose.visibility[index],
        presence=pose.presence[index],
        width=info.width,
        height=info.height,
    )


def nobody(info: VideoInfo) -> PoseSeries:
    """No pose in any frame (what the model returns for a clip without a person)."""
    frames = max(1, info.frame_count)
    empty = np.full((frames, 33), np.nan)
    return PoseSeries(
        time_s=np.arange(frames) / info.fps, image_xy=np.full((frames, 33, 2), np.nan), image_z=empty,
        world_xyz=np.full((frames, 33, 3), np.nan), visibility=np.zeros((frames, 33)),
        presence=np.zeros((frames, 33)), width=info.width, height=info.height,
    )


def _replay_frames(info, spool) -> None:
    """Fill the pipeline's spool (spool.py) as the model's stage does on its pass over the frames."""
    from formcheck.sources import iter_frames

    if spool is not None:
        with spool.part(0) as part:
            for frame in iter_frames(info, max_long_side=max(spool.width, spool.height)):
                part.add(frame.time_s, frame.image)


def _analyze_with_stage(stage, video, out_dir, settings=None, **kwargs):
    """`analyze_video` with `stage` in place of the pipeline's pose stage."""
    from formcheck import pipeline

    with mock.patch.object(pipeline, "extract_poses", stage):
        return pipeline.analyze_video(video, out_dir, settings, **kwargs)


def _analyze_with(script, video, out_dir, settings=None, **kwargs):
    """`analyze_video` with `script(info)` as the pose stage: like the model's stage it reports
    progress per frame and keeps the decoded frames in the pipeline's spool (spool.py); it waits
    before the last frame while the data dir holds a HOLD file."""
    hold = hold_file(_data_dir(video))

    def scripted_pose_stage(info, pose_settings, progress=None, spool=None, **model_options):  # subject: no model
        series = script(info)
        _replay_frames(info, spool)
        for _ in range(len(series.time_s) - 1):
            if progress:
                progress(1)
        while hold.exists():
            if progress:
                progress(0)  # a progress write: a deleted job stops here
            time.sleep(HOLD_POLL_S)
        if progress:
            progress(1)
        return series

    return _analyze_with_stage(scripted_pose_stage, video, out_dir, settings, **kwargs)


def scripted_analysis(video, out_dir, settings=None, **kwargs):
    """The service's analysis with a scripted lunge instead of the pose model (see the module docstring)."""
    return _analyze_with(scripted_lunge, video, out_dir, settings, **kwargs)


def analysis_finding_nobody(video, out_dir, settings=None, **kwargs):
    """The service's analysis with a pose stage that finds nobody: the pipeline's own no_person failure."""
    return _analyze_with(nobody, video, out_dir, settings, **kwargs)


def _memo_key(info, pose_settings, subject) -> str:
    digest = hashlib.sha256()
    with open(info.path, "rb") as clip:
        for block in iter(lambda: clip.read(1 << 20), b""):
            digest.update(block)
    digest.update(pose_settings.model_dump_json().encode())
    digest.update(repr(subject).encode())
    return digest.hexdigest()


def _memo_path(memo: Path, info, pose_settings, subject) -> Path:
    return memo / f"{_memo_key(info, pose_settings, subject)}.pickle"


def _write_memo(path: Path, series: PoseSeries) -> None:
    """Written whole, then renamed: other processes read the memo."""
    part = path.with_suffix(f".{os.getpid()}.part")
    part.write_bytes(pickle.dumps(series))
    os.replace(part, path)


def remember_landmarks(memo: Path, info, pose_settings, subject, series: PoseSeries) -> None:
    """Keep the model's landmarks of a clip in the memo."""
    _write_memo(_memo_path(memo, info, pose_settings, subject), series)


def memoised_pose_stage(memo: Path, replay: bool = True):
    """The pipeline's pose stage (the model) remembering its landmarks in `memo` per clip content, pose
    settings and subject hint; with `replay`, a clip seen before is replayed from there (its frames still
    go to the spool, its progress is still reported per frame)."""
    from formcheck import pipeline

    model_stage = pipeline.extract_poses

    def stage(info, pose_settings, progress=None, subject=None, spool=None):
        path = _memo_path(memo, info, pose_settings, subject)
        if not (replay and path.is_file()):
            series = model_stage(info, pose_settings, progress=progress, subject=subject, spool=spool)
            _write_memo(path, series)  # the key is known: the clip is not hashed again
            return series
        series = pickle.loads(path.read_bytes())
        _replay_frames(info, spool)
        for _ in range(len(series.time_s)):
            if progress:
                progress(1)
        return series

    return stage


def memoised_model_analysis(video, out_dir, settings=None, **kwargs):
    """The service's analysis with the pose model's landmarks remembered per clip (module docstring)."""
    stage = memoised_pose_stage(Path(os.environ[POSE_MEMO_ENV]), os.environ.get(POSE_MEMO_REPLAY_ENV, "1") != "0")
    return _analyze_with_stage(stage, video, out_dir, settings, **kwargs)
