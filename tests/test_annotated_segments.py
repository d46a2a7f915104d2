"""The annotated video written as parallel segments joins into the same frames at the same
times as a single-process write, and plays from the start (faststart H.264)."""

import av
import numpy as np

from formcheck.outputs.annotated import write_annotated_video
from formcheck.outputs.video import is_faststart, probe_codec
from formcheck.series import AngleSeries, PoseSeries
from formcheck.sources import iter_frames, probe

from conftest import require_sample


def frames_of(path):
    with av.open(str(path)) as container:
        return [(frame.pts, frame.to_ndarray(format="gray")) for frame in container.decode(video=0)]


def test_segments_join_into_the_same_frames_as_one_pass(tmp_path):
    info = probe(require_sample("videos/stepup_side_02_cropped.mp4"))  # 8.3 s, 23.976 fps
    times = np.array([frame.time_s for frame in iter_frames(info, max_long_side=64)])
    pose = PoseSeries.empty(times, info.width, info.height)
    pose.image_xy[:, :, 0] = np.linspace(100, 400, 33)  # a line of points, drawn on every frame
    pose.image_xy[:, :, 1] = np.linspace(50, 600, 33)[None, :] + np.arange(len(times))[:, None] % 40
    pose.visibility[:] = 1
    angles = AngleSeries(times, {"left_knee_flexion_deg": np.linspace(0, 90, len(times))}, np.zeros(len(times)))

    one, joined = tmp_path / "one.mp4", tmp_path / "joined.mp4"
    counted = []
    write_annotated_video(info, pose, angles, one, workers=1)
    write_annotated_video(info, pose, angles, joined, counted.append, workers=3, min_segment_s=2.0)

    assert sum(counted) == len(times)  # progress counts every frame once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joined.mp4", "one.mp4"]  # segments removed
    assert is_faststart(joined)
    facts = probe_codec(joined)
    assert (facts["codec"], facts["pix_fmt"], facts["frames"]) == ("h264", "yuv420p", len(times))
    a, b = frames_of(one), frames_of(joined)
    assert [pts for pts, _ in a] == [pts for pts, _ in b]  # same frames at the same source times
    diff = [float(np.mean(np.abs(x.astype(int) - y.astype(int)))) for (_, x), (_, y) in zip(a, b)]
    assert max(diff) < 3.0  # same pictures up to encoder noise (the segments restart the GOP)
