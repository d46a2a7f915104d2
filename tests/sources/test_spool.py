"""The frames the pose stage keeps for the annotated video (spool.py): one decode for both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.sources import VideoInfo, iter_frames, probe
from formcheck.spool import FrameSpool

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"


def _info(width: int, height: int, seconds: float = 2.0, fps: float = 30.0) -> VideoInfo:
    return VideoInfo(Path("clip.mp4"), width, height, fps, seconds, int(seconds * fps), 0, "h264")


def test_parts_are_read_back_in_time_order_with_their_pixels(tmp_path):
    spool = FrameSpool.plan(_info(64, 48), tmp_path, long_side=64, budget_mb=10)
    assert spool is not None and (spool.width, spool.height) == (64, 48)
    rng = np.random.default_rng(1)
    images = {t: np.repeat(np.repeat(rng.integers(0, 255, (24, 32, 3), np.uint8), 2, 0), 2, 1)
              for t in (0.0, 0.1, 0.2, 0.3)}
    with spool.part(1) as late:  # parts arrive from processes in any order
        for t in (0.2, 0.3):
            late.add(t, images[t])
    with spool.part(0) as early:
        for t in (0.0, 0.1):
            early.add(t, images[t])
    frames = list(spool.frames())
    assert [f.time_s for f in frames] == [0.0, 0.1, 0.2, 0.3]
    for f in frames:
        rgb_back = f.image[:, :, ::-1].astype(int)
        assert np.abs(rgb_back - images[f.time_s]).mean() < 6  # 4:2:0 round trip of flat 2x2 blocks


def test_frames_are_scaled_to_the_spool_size(tmp_path):
    spool = FrameSpool.plan(_info(1920, 1080), tmp_path, long_side=1280, budget_mb=1000)
    assert (spool.width, spool.height) == (1280, 720)
    with spool.part(0) as part:
        part.add(0.0, np.full((1080, 1920, 3), 200, np.uint8))
    (frame,) = spool.frames()
    assert frame.image.shape == (720, 1280, 3) and abs(int(frame.image.mean()) - 200) <= 2


def test_a_clip_over_the_budget_is_not_spooled(tmp_path):
    # 60 s of 720p: 1800 frames x 1.4 MB
    assert FrameSpool.plan(_info(1280, 720, seconds=60), tmp_path, long_side=1280, budget_mb=2048) is None
    assert FrameSpool.plan(_info(1280, 720, seconds=20), tmp_path, long_side=1280, budget_mb=2048) is not None


def test_a_truncated_part_is_an_error_not_a_short_video(tmp_path):
    spool = FrameSpool.plan(_info(64, 48), tmp_path, long_side=64, budget_mb=10)
    with spool.part(0) as part:
        part.add(0.0, np.zeros((48, 64, 3), np.uint8))
        part.add(0.1, np.zeros((48, 64, 3), np.uint8))
    data = part.path.read_bytes()
    part.path.write_bytes(data[: len(data) - 10])
    with pytest.raises(OSError, match="truncated"):
        list(spool.frames())


@pytest.mark.slow
def test_the_pose_stage_keeps_every_frame_of_the_clip(tmp_path):
    """Chunked pose processes each keep their share: together every decoded frame, once."""
    from formcheck.config import PoseSettings
    from formcheck.pose.landmarker import extract_poses

    info = probe(SAMPLE)
    spool = FrameSpool.plan(info, tmp_path, long_side=640, budget_mb=2048)
    settings = PoseSettings(model="lite", workers=2, min_chunk_s=1.0, hidden_people_scan_s=0)
    series = extract_poses(info, settings, spool=spool)
    kept = [f.time_s for f in spool.frames()]
    decoded = [f.time_s for f in iter_frames(info, max_long_side=320)]
    assert len(list(tmp_path.glob("part-*.yuv"))) == 2
    np.testing.assert_allclose(kept, decoded)
    np.testing.assert_allclose(series.time_s, decoded)


def test_the_video_writer_decodes_again_when_the_spool_is_incomplete(tmp_path):
    from formcheck.kinematics import compute_kinematics
    from formcheck.outputs.annotated import write_annotated_video
    from formcheck.outputs.video import probe_codec
    from formcheck.series import PoseSeries

    info = probe(SAMPLE)
    times = np.array([f.time_s for f in iter_frames(info, max_long_side=160)])
    clean, angles = compute_kinematics(PoseSeries.empty(times, info.width, info.height))
    spool = FrameSpool.plan(info, tmp_path / "spool", long_side=640, budget_mb=2048) \
        if (tmp_path / "spool").mkdir() is None else None
    with spool.part(0) as part:  # one frame kept: the pose stage stopped early or ran elsewhere
        part.add(0.0, np.zeros((spool.height, spool.width, 3), np.uint8))
    out = tmp_path / "annotated.mp4"
    write_annotated_video(info, clean, angles, out, spool=spool)
    assert probe_codec(out)["frames"] == len(times)
