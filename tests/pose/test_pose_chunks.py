"""Chunked pose extraction: planning and joining with constructed detections, then one real
clip run both ways (one process vs. one landmarker process per chunk); the real-clip tests run
the pose model (markers samples and slow) and share the clip's one-process run."""

import numpy as np
import pytest

from formcheck.config import PoseSettings
from formcheck.kinematics import compute_kinematics
from formcheck.pose.chunks import (
    UNMATCHED_COST,
    choose_join,
    frame_disagreement,
    join_chunks,
    pack_detections,
    plan_chunks,
    shared_frames,
    unpack_detections,
)
from formcheck.pose.landmarker import extract_poses, series_from_detections
from formcheck.pose.tracking import Detection
from formcheck.sources import probe
from samples_support import require_sample

W, H = 1280, 720
DIAG = float(np.hypot(W, H))


def person(cx, cy, jitter=0.0, seed=0, size=300.0):
    rng = np.random.default_rng(seed)
    xy = np.column_stack([np.linspace(cx - size / 4, cx + size / 4, 33), np.linspace(cy - size / 2, cy + size / 2, 33)])
    xy += rng.normal(0, jitter, xy.shape) if jitter else 0
    return Detection(xy, np.zeros(33), np.zeros((33, 3)), np.ones(33), np.ones(33))


# -- planning ------------------------------------------------------------------------------


def test_short_clip_or_one_worker_is_one_chunk():
    assert len(plan_chunks(7.9, workers=2, min_chunk_s=4.0, overlap_s=1.0)) == 1
    (only,) = plan_chunks(60.0, workers=1, min_chunk_s=4.0, overlap_s=1.0)
    assert (only.start_s, only.end_s) == (0.0, None)


def test_chunks_cover_the_clip_with_overlap_and_cores_partition_it():
    chunks = plan_chunks(20.0, workers=3, min_chunk_s=4.0, overlap_s=1.0)
    assert len(chunks) == 3
    assert chunks[0].start_s == 0.0 and chunks[-1].end_s is None and chunks[-1].core_end_s is None
    for a, b in zip(chunks, chunks[1:]):
        assert a.end_s - b.start_s == pytest.approx(1.0)  # overlap
        assert a.core_end_s == b.core_start_s  # progress counts every frame once
        assert b.start_s < b.core_start_s < a.end_s
    assert [c.core_start_s for c in chunks] == pytest.approx([0.0, 20 / 3, 40 / 3])


def test_no_more_chunks_than_min_length_allows():
    assert len(plan_chunks(9.0, workers=8, min_chunk_s=4.0, overlap_s=1.0)) == 2
    with pytest.raises(ValueError):
        plan_chunks(0.0, workers=2, min_chunk_s=4.0, overlap_s=1.0)


# -- joining -------------------------------------------------------------------------------


def test_shared_frames_match_by_time_not_index():
    ta = np.arange(0, 40) / 30
    tb = np.arange(30, 60) / 30 + 1e-5  # same clock, rounding noise
    ia, ib = shared_frames(ta, tb)
    assert list(ia) == list(range(30, 40)) and list(ib) == list(range(10))
    assert len(shared_frames(ta, np.arange(50, 60) / 30)[0]) == 0


def test_join_goes_where_the_chunks_agree_after_b_has_settled():
    ta, tb = np.arange(0, 40) / 30, np.arange(28, 70) / 30
    dets_a = [[person(600 + i, 360)] for i in range(40)]
    # b is off by 40 px at first (still settling), then agrees except one bad frame at 33
    dets_b = []
    for i in range(28, 70):
        off = 40.0 if i < 31 else (25.0 if i == 33 else 0.0)
        dets_b.append([person(600 + i + off, 360)])
    dets_b[36 - 28] = [person(600 + 36, 360), person(100, 300)]  # b sees a second person at 36
    cut_a, cut_b = choose_join(ta, dets_a, tb, dets_b, DIAG)
    assert ta[cut_a] == pytest.approx(tb[cut_b])
    assert ta[cut_a] == pytest.approx(32 / 30)  # earliest perfect agreement after the settling third
    times, dets = join_chunks([(ta, dets_a), (tb, dets_b)], W, H)
    assert np.all(np.diff(times) > 0) and len(times) == 70 and len(dets) == 70
    assert dets[31] is dets_a[31] and dets[32] is dets_b[32 - 28]


def test_people_count_mismatch_costs_more_than_any_landmark_offset():
    a = [[person(600, 360)]]
    b_far = [[person(900, 360)]]
    b_extra = [[person(600, 360), person(100, 300)]]
    assert frame_disagreement(a[0], b_extra[0], DIAG) == UNMATCHED_COST
    assert frame_disagreement(a[0], b_far[0], DIAG) == pytest.approx(300 / DIAG)
    assert frame_disagreement([], [], DIAG) == 0.0


def test_subject_is_the_same_person_on_both_sides_of_the_join():
    """Chunk b alone would pick the bystander (larger in its frames); the joined clip keeps
    the athlete who is there throughout, because subject choice runs on the whole clip."""
    ta, tb = np.arange(0, 100) / 30, np.arange(90, 130) / 30
    athlete = lambda i: person(640, 360, size=300, seed=i)  # noqa: E731
    bystander = lambda i: person(200, 360, size=420, seed=1000 + i)  # noqa: E731
    dets_a = [[athlete(i)] for i in range(100)]
    dets_b = [[bystander(i), athlete(i)] if i >= 100 else [athlete(i)] for i in range(90, 130)]
    times, dets = join_chunks([(ta, dets_a), (tb, dets_b)], W, H)
    series = series_from_detections(times, dets, W, H)
    centre_x = np.nanmean(series.image_xy[:, :, 0], axis=1)
    assert np.all(np.abs(centre_x - 640) < 5)
    only_b = series_from_detections(tb[10:], dets_b[10:], W, H)
    assert np.nanmean(only_b.image_xy[:, :, 0]) < 300  # what b alone would have chosen


def test_join_of_three_chunks_and_of_a_gap():
    spans = ((0, 40), (30, 80), (70, 120))
    parts = [(np.arange(a, b) / 30, [[person(600 + i, 360)] for i in range(a, b)]) for a, b in spans]
    times, dets = join_chunks(parts, W, H)
    assert np.allclose(times, np.arange(120) / 30)
    assert [float(np.mean(d[0].image_xy[:, 0])) for d in dets] == pytest.approx([600 + i for i in range(120)])
    gap = [(np.arange(0, 10) / 30, [[]] * 10), (np.arange(20, 30) / 30, [[]] * 10)]
    times, _ = join_chunks(gap, W, H)
    assert len(times) == 20 and np.all(np.diff(times) > 0)


def test_pack_round_trip_keeps_every_detection():
    times = np.arange(4) / 30
    per_frame = [[person(1, 2)], [], [person(3, 4), person(5, 6, jitter=2, seed=3)], []]
    back_times, back = unpack_detections(pack_detections(times, per_frame))
    assert np.array_equal(back_times, times)
    assert [len(d) for d in back] == [1, 0, 2, 0]
    assert np.array_equal(back[2][1].image_xy, per_frame[2][1].image_xy)
    empty_times, empty = unpack_detections(pack_detections(times[:2], [[], []]))
    assert empty == [[], []]


# -- one real clip, both ways --------------------------------------------------------------


@pytest.fixture(scope="module")
def stepup_single_process():
    """8.3 s, a presenter's edge at the left border in some frames: its clip info and one-process run."""
    info = probe(require_sample("videos/stepup_side_02_cropped.mp4"))
    return info, extract_poses(info, PoseSettings(workers=1))


@pytest.mark.samples
@pytest.mark.slow
def test_chunked_run_matches_the_single_process_run_on_a_real_clip(stepup_single_process):
    # two chunks of ~4 s
    info, single = stepup_single_process
    chunked_settings = PoseSettings(workers=2, min_chunk_s=4.0, chunk_overlap_s=1.0)
    assert len(plan_chunks(info.duration_s, 2, 4.0, 1.0)) == 2
    chunked = extract_poses(info, chunked_settings)

    assert np.array_equal(single.time_s, chunked.time_s)  # same frames, same clock
    assert np.array_equal(single.detected, chunked.detected)
    assert chunked.subject == single.subject
    _, angles_single = compute_kinematics(single)
    _, angles_chunked = compute_kinematics(chunked)
    seam = np.argmin(np.abs(chunked.time_s - info.duration_s / 2))
    for name in ("left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg", "right_hip_flexion_deg"):
        a, b = angles_single[name], angles_chunked[name]
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        assert np.nanmax(np.abs(a - b)) < 3.0, name
        # no jump at the seam: frame-to-frame change there is like the single run's
        near = slice(seam - 20, seam + 20)
        assert np.nanmax(np.abs(np.diff(b[near]))) <= np.nanmax(np.abs(np.diff(a[near]))) + 2.0, name


def test_service_jobs_run_one_landmarker_each_when_the_pool_fills_the_cores(tmp_path):
    from formcheck.service.settings import ServiceSettings

    pool = ServiceSettings(data_dir=tmp_path, workers=2)
    expected = 1 if pool.workers >= 2 else 0  # workers are capped at the core count
    assert pool.pipeline_settings().pose.workers == expected
    assert ServiceSettings(data_dir=tmp_path, workers=1).pipeline_settings().pose.workers == 0


def test_read_ahead_keeps_order_and_raises_a_decode_error_where_it_happened():
    from formcheck.sources import Frame, read_ahead

    closed = []

    def frames(fail_at=None):
        try:
            for i in range(20):
                if i == fail_at:
                    raise ValueError("corrupt packet")
                yield Frame(i, i / 30, np.zeros((2, 2, 3), np.uint8))
        finally:
            closed.append(True)

    assert [f.index for f in read_ahead(frames(), depth=3)] == list(range(20))
    seen = []
    with pytest.raises(ValueError, match="corrupt packet"):
        for frame in read_ahead(frames(fail_at=7), depth=3):
            seen.append(frame.index)
    assert seen == list(range(7))
    early = read_ahead(frames(), depth=3)
    next(early)
    early.close()  # consumer stops early: the decoder is closed, no thread left behind
    assert closed == [True, True, True]


# -- opt-in fast mode: one tracked person, a sparse scan for everyone --------------------------


@pytest.mark.samples
@pytest.mark.slow
def test_fast_mode_keeps_the_frames_and_finds_one_person_on_a_real_clip(stepup_single_process):
    info, default = stepup_single_process
    fast = extract_poses(info, PoseSettings(workers=2, min_chunk_s=4.0, people_scan_interval_s=1 / 3))
    assert np.array_equal(default.time_s, fast.time_s)
    assert fast.detected.mean() >= default.detected.mean() - 0.02
    assert fast.subject.people_seen == default.subject.people_seen == 1


@pytest.mark.samples
@pytest.mark.slow
def test_fast_mode_sees_the_second_person_and_analyses_the_same_subject(tmp_path):
    from media_factory import read_frames, side_by_side, write_frames

    left = read_frames(require_sample("videos/squat_side_01.mp4"), 2.5, 360)
    right = read_frames(require_sample("videos/lunge_reverse_front_01.mp4"), 2.5, 360)
    clip = write_frames(tmp_path / "two.mp4", side_by_side(left[: len(right)], right[: len(left)]), fps=25)
    info = probe(clip)
    default = extract_poses(info, PoseSettings(workers=1))
    fast = extract_poses(info, PoseSettings(workers=1, people_scan_interval_s=1 / 3))
    assert default.subject.people_seen == fast.subject.people_seen == 2
    both = default.detected & fast.detected
    assert both.mean() > 0.8
    hips = slice(23, 25)  # same person: hip landmarks in the same half of the image
    offset = np.abs(default.image_xy[both][:, hips, 0].mean(axis=1) - fast.image_xy[both][:, hips, 0].mean(axis=1))
    assert np.median(offset) < 0.05 * info.width
