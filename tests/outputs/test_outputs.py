"""Outputs: drawing, MP4 writing, charts and CSV, all on synthetic data (no model, no clips)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from formcheck.landmarks import (
    LEFT_ANKLE,
    LEFT_HIP,
    LEFT_KNEE,
    NUM_LANDMARKS,
    RIGHT_ANKLE,
    RIGHT_KNEE,
    SIDE_LANDMARKS,
    SKELETON_EDGES,
)
from formcheck.outputs import (
    ANGLE_COLUMN_ORDER,
    SIDE_COLORS_BGR,
    VideoSink,
    draw_header,
    draw_joint_angles,
    draw_skeleton,
    is_faststart,
    plot_angles,
    probe_codec,
    top_level_boxes,
    write_angles_csv,
)
from formcheck.outputs.annotate import Scale
from formcheck.series import AngleSeries

# ---------------------------------------------------------------- helpers


def stick_figure(width: int, height: int, shift_x: float = 0.0) -> np.ndarray:
    """A front-facing standing figure (person's left on image right), (33, 2) pixels."""
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    cx, u = width / 2 + shift_x, height / 100
    for side, sgn in (("left", 1), ("right", -1)):
        d = SIDE_LANDMARKS[side]
        xy[d["shoulder"]] = (cx + sgn * 10 * u, 25 * u)
        xy[d["elbow"]] = (cx + sgn * 14 * u, 40 * u)
        xy[d["wrist"]] = (cx + sgn * 15 * u, 52 * u)
        xy[d["hip"]] = (cx + sgn * 7 * u, 55 * u)
        xy[d["knee"]] = (cx + sgn * 6 * u, 72 * u)
        xy[d["ankle"]] = (cx + sgn * 7 * u, 88 * u)
        xy[d["heel"]] = (cx + sgn * 7 * u, 91 * u)
        xy[d["foot_index"]] = (cx + sgn * 10 * u, 93 * u)
    return xy


def synthetic_frame(width: int, height: int, k: int) -> np.ndarray:
    """Grey background, a red rectangle moving right, a stick figure."""
    f = np.full((height, width, 3), 90, np.uint8)
    x0 = 4 + 3 * k
    f[8:24, x0 : x0 + 16] = (0, 0, 230)
    draw_skeleton(f, stick_figure(width, height, shift_x=k), legend=False)
    return f


def segment_distance(shape: tuple[int, int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel distance to segment ab, (H, W)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    p = np.stack([xx, yy], axis=-1)
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.linalg.norm(p - closest, axis=-1)


def decode_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


# ---------------------------------------------------------------- annotate


def test_skeleton_draws_along_the_limb_only() -> None:
    frame = np.zeros((200, 300, 3), np.uint8)
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    xy[LEFT_HIP] = (100.0, 50.0)
    xy[LEFT_KNEE] = (140.0, 150.0)
    out = draw_skeleton(frame, xy, legend=False)
    assert out is frame
    changed = frame.any(axis=2)
    d = segment_distance(frame.shape[:2], xy[LEFT_HIP], xy[LEFT_KNEE])
    s = Scale.for_frame(frame)
    reach = max(s.line, 2 * s.radius) + 2
    assert changed[d <= 1.0].mean() > 0.95  # the whole limb is drawn
    assert not changed[d > reach].any()  # nothing anywhere else
    # Mid-limb pixel is in the left-side colour.
    mid = np.round((xy[LEFT_HIP] + xy[LEFT_KNEE]) / 2).astype(int)
    np.testing.assert_allclose(frame[mid[1], mid[0]], SIDE_COLORS_BGR["left"], atol=40)


def test_skeleton_left_and_right_colours_differ() -> None:
    frame = np.zeros((300, 300, 3), np.uint8)
    xy = stick_figure(300, 300)
    draw_skeleton(frame, xy, legend=False)
    for side, knee, ankle in (("left", LEFT_KNEE, LEFT_ANKLE), ("right", RIGHT_KNEE, RIGHT_ANKLE)):
        mid = np.round((xy[knee] + xy[ankle]) / 2).astype(int)
        np.testing.assert_allclose(frame[mid[1], mid[0]], SIDE_COLORS_BGR[side], atol=40)
    assert SIDE_COLORS_BGR["left"] != SIDE_COLORS_BGR["right"]


def test_whole_skeleton_stays_near_its_edges() -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    xy = stick_figure(320, 240)
    draw_skeleton(frame, xy, legend=False)
    s = Scale.for_frame(frame)
    reach = max(s.line, 2 * s.radius) + 2
    near = np.zeros(frame.shape[:2], bool)
    for a, b in SKELETON_EDGES:
        near |= segment_distance(frame.shape[:2], xy[a], xy[b]) <= reach
    changed = frame.any(axis=2)
    assert changed.any()
    assert not (changed & ~near).any()


def test_nan_landmarks_draw_nothing() -> None:
    frame = np.full((120, 160, 3), 77, np.uint8)
    before = frame.copy()
    nan_xy = np.full((NUM_LANDMARKS, 2), np.nan)
    draw_skeleton(frame, nan_xy, legend=False)
    draw_joint_angles(frame, nan_xy, {"left_knee_flexion_deg": 45.0})
    np.testing.assert_array_equal(frame, before)


def test_nan_endpoint_and_invisible_landmark_drop_their_edges() -> None:
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    xy[LEFT_HIP], xy[LEFT_KNEE], xy[LEFT_ANKLE] = (50, 20), (50, 60), (50, 100)
    # Ankle hidden via the visibility mask: only hip-knee may be drawn.
    frame = np.zeros((120, 200, 3), np.uint8)
    visible = np.ones(NUM_LANDMARKS, bool)
    visible[LEFT_ANKLE] = False
    draw_skeleton(frame, xy, visible, legend=False)
    assert frame[40, 50].any()
    assert not frame[95:, :].any()
    # Same with the ankle NaN instead.
    xy[LEFT_ANKLE] = np.nan
    frame2 = np.zeros_like(frame)
    draw_skeleton(frame2, xy, legend=False)
    np.testing.assert_array_equal(frame, frame2)


def test_legend_sits_in_the_top_right_corner() -> None:
    frame = np.full((360, 640, 3), 200, np.uint8)
    draw_skeleton(frame, np.full((NUM_LANDMARKS, 2), np.nan))  # legend only
    changed = (frame != 200).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert len(xs) > 0
    assert xs.min() > 640 / 2 and ys.max() < 360 / 3


def test_joint_angles_label_next_to_joint_and_skip_nan() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    xy = stick_figure(640, 360)
    values = {"left_knee_flexion_deg": 87.4, "right_knee_flexion_deg": float("nan")}
    draw_joint_angles(frame, xy, values)
    changed = frame.any(axis=2)
    ys, xs = np.nonzero(changed)
    assert len(xs) > 0
    lk, rk = xy[LEFT_KNEE], xy[RIGHT_KNEE]
    # Only the left knee label, beside the left knee, on its outer side (image right here).
    assert abs(np.median(ys) - lk[1]) < 20
    assert xs.min() > lk[0]
    assert not changed[:, : int(rk[0]) + 1].any()


def test_joint_angles_ignore_missing_and_unknown_columns() -> None:
    frame = np.zeros((120, 160, 3), np.uint8)
    draw_joint_angles(frame, stick_figure(160, 120), {"trunk_lean_deg": 12.0})
    assert not frame.any()


def test_header_top_left_and_empty_is_noop() -> None:
    frame = np.full((360, 640, 3), 128, np.uint8)
    before = frame.copy()
    assert draw_header(frame, []) is frame
    np.testing.assert_array_equal(frame, before)
    draw_header(frame, ["t 1.23 s", "rep 2 / 5"])
    ys, xs = np.nonzero((frame != 128).any(axis=2))
    assert xs.max() < 640 / 2 and ys.max() < 360 / 3


def test_text_scales_with_frame_size() -> None:
    small = Scale.for_frame(np.zeros((360, 640, 3), np.uint8))
    big = Scale.for_frame(np.zeros((2160, 3840, 3), np.uint8))
    portrait = Scale.for_frame(np.zeros((1920, 1080, 3), np.uint8))
    assert big.font > 3 * small.font
    assert big.line > small.line
    assert portrait.font == Scale.for_frame(np.zeros((1080, 1920, 3), np.uint8)).font


def test_draw_rejects_bad_frames() -> None:
    xy = stick_figure(100, 100)
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((100, 100, 3), np.float32), xy)
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((100, 100), np.uint8), xy)
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((100, 100, 3), np.uint8), xy[:10])


# ---------------------------------------------------------------- video


def write_clip(path: Path, times: list[float], width: int = 160, height: int = 120) -> list[np.ndarray]:
    frames = [synthetic_frame(width, height, k) for k in range(len(times))]
    with VideoSink(path, width, height, fps_hint=30) as sink:
        for f, t in zip(frames, times):
            sink.write(f, t)
    return frames


def test_video_is_h264_yuv420p_with_all_frames(tmp_path: Path) -> None:
    path = tmp_path / "cfr.mp4"
    times = [k / 30 for k in range(30)]
    frames = write_clip(path, times)
    info = probe_codec(path)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (160, 120)
    assert info["frames"] == 30
    assert info["duration"] == pytest.approx(1.0, abs=0.01)
    decoded = decode_times(path)
    np.testing.assert_allclose(decoded, times, atol=1e-4)
    # Content survives: the moving red rectangle is where it was drawn.
    with av.open(str(path)) as c:
        for k, f in enumerate(c.decode(video=0)):
            img = f.to_ndarray(format="bgr24")
            x0 = 4 + 3 * k
            assert img[12:20, x0 + 4 : x0 + 12, 2].mean() > 180
            assert np.abs(img.astype(int) - frames[k].astype(int)).mean() < 6


def test_video_colours_decode_as_drawn_and_the_tag_says_how(tmp_path: Path) -> None:
    path = tmp_path / "colours.mp4"
    # BGR: skeleton blue/orange, white, near-black
    patches = [(235, 160, 40), (40, 130, 245), (255, 255, 255), (20, 20, 20)]
    image = np.zeros((64, 256, 3), np.uint8)
    for k, colour in enumerate(patches):
        image[:, 64 * k : 64 * (k + 1)] = colour
    with VideoSink(path, 256, 64, 30) as sink:
        for k in range(5):
            sink.write(image, k / 30)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.colorspace == 6  # BT.601 matrix (smpte170m), what the sink converts with
        frame = next(iter(c.decode(stream))).to_ndarray(format="bgr24")
    for k, colour in enumerate(patches):
        seen = frame[16:48, 64 * k + 16 : 64 * k + 48].reshape(-1, 3).mean(axis=0)
        assert np.abs(seen - colour).max() < 8, (colour, seen)


def test_video_keeps_variable_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    deltas = [0.033, 0.050, 0.016, 0.100, 0.033, 0.033, 0.070, 0.020, 0.041, 0.033]
    times = list(np.round(0.0 + np.concatenate(([0.0], np.cumsum(deltas))), 6))
    write_clip(path, times)
    decoded = decode_times(path)
    assert len(decoded) == len(times)
    np.testing.assert_allclose(decoded, times, atol=1e-4)
    assert probe_codec(path)["frames"] == len(times)


def test_video_pads_odd_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    frames = write_clip(path, [k / 25 for k in range(5)], width=161, height=121)
    info = probe_codec(path)
    assert (info["width"], info["height"]) == (162, 122)
    with av.open(str(path)) as c:
        img = next(iter(c.decode(video=0))).to_ndarray(format="bgr24")
    assert np.abs(img[:121, :161].astype(int) - frames[0].astype(int)).mean() < 6


def test_video_is_faststart(tmp_path: Path) -> None:
    path = tmp_path / "fs.mp4"
    write_clip(path, [k / 30 for k in range(10)])
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")
    boxes = top_level_boxes(path)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")
    assert is_faststart(path)


def test_video_repairs_non_increasing_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "dup.mp4"
    with VideoSink(path, 64, 48, fps_hint=30) as sink:
        for t in (0.0, 0.033, 0.033, 0.1):
            sink.write(np.zeros((48, 64, 3), np.uint8), t)
    assert sink.adjusted_timestamps == 1
    assert sink.frames_written == 4
    decoded = decode_times(path)
    assert len(decoded) == 4 and all(b > a for a, b in zip(decoded, decoded[1:]))


def test_video_rejects_wrong_frame_size(tmp_path: Path) -> None:
    with VideoSink(tmp_path / "bad.mp4", 64, 48) as sink:
        with pytest.raises(ValueError):
            sink.write(np.zeros((48, 65, 3), np.uint8), 0.0)
        sink.write(np.zeros((48, 64, 3), np.uint8), 0.0)
    with pytest.raises(RuntimeError):
        sink.write(np.zeros((48, 64, 3), np.uint8), 1.0)


# ---------------------------------------------------------------- CSV


def angle_series(n: int = 6) -> AngleSeries:
    t = np.arange(n) / 30.0
    # Deliberately scrambled insertion order, 3D before 2D, plus an unknown column.
    angles = {
        "right_knee_flexion_3d_deg": np.linspace(10, 20, n),
        "trunk_lean_deg": np.full(n, -0.001),
        "left_knee_flexion_deg": np.array([12.345, np.nan, 90.0, 1e-9, -5.678, np.inf][:n]),
        "zz_custom_deg": np.ones(n),
        "left_hip_flexion_deg": np.linspace(0, 50, n),
        "right_knee_flexion_deg": np.linspace(5, 6, n),
        "left_knee_flexion_3d_deg": np.full(n, np.nan),
    }
    return AngleSeries(time_s=t, angles=angles, facing=np.ones(n))


def test_csv_round_trip(tmp_path: Path) -> None:
    series = angle_series()
    path = write_angles_csv(series, tmp_path / "out" / "angles.csv")
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header == [
        "time_s",
        "left_hip_flexion_deg",
        "left_knee_flexion_deg",
        "right_knee_flexion_deg",
        "trunk_lean_deg",
        "zz_custom_deg",
        "left_knee_flexion_3d_deg",
        "right_knee_flexion_3d_deg",
    ]
    assert len(body) == 6
    col = {name: [r[i] for r in body] for i, name in enumerate(header)}
    assert col["time_s"][:2] == ["0.000", "0.033"]
    assert col["left_knee_flexion_deg"] == ["12.35", "", "90.00", "0.00", "-5.68", ""]
    assert col["trunk_lean_deg"] == ["0.00"] * 6  # no "-0.00"
    assert col["left_knee_flexion_3d_deg"] == [""] * 6
    for name in header[1:]:
        expected = np.asarray(series[name], dtype=float)
        got = np.array([float(v) if v else np.nan for v in col[name]])
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(np.isfinite(got), finite)
        np.testing.assert_allclose(got[finite], expected[finite], atol=0.005 + 1e-9)


def test_csv_column_order_is_documented_and_2d_before_3d() -> None:
    assert ANGLE_COLUMN_ORDER[0] == "left_hip_flexion_deg"
    n2d = sum(not c.endswith("_3d_deg") for c in ANGLE_COLUMN_ORDER)
    assert all(not c.endswith("_3d_deg") for c in ANGLE_COLUMN_ORDER[:n2d])
    assert all(c.endswith("_3d_deg") for c in ANGLE_COLUMN_ORDER[n2d:])
    assert [c.replace("_3d_deg", "_deg") for c in ANGLE_COLUMN_ORDER[n2d:]] == list(ANGLE_COLUMN_ORDER[:n2d])


# ---------------------------------------------------------------- plots


def full_angle_series(seconds: float = 6.0, fps: float = 30.0) -> AngleSeries:
    t = np.arange(0, seconds, 1 / fps)
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * t / 3)
    angles: dict[str, np.ndarray] = {}
    for k, name in enumerate(ANGLE_COLUMN_ORDER):
        angles[name] = 5 + (20 + 10 * k % 60) * phase
    angles["left_knee_flexion_deg"][40:70] = np.nan  # a gap
    return AngleSeries(time_s=t, angles=angles, facing=np.ones(len(t)))


def assert_png_not_blank(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 500
    assert float(img.astype(float).var()) > 50.0
    # Both side colours appear (lines drawn, not just axes).
    for bgr in SIDE_COLORS_BGR.values():
        close = np.abs(img.astype(int) - np.array(bgr)).sum(axis=2) < 30
        assert close.sum() > 200


def test_plots_written_and_not_blank(tmp_path: Path) -> None:
    reps = [(0.5, 2.5, "rep 1 L"), (3.2, 5.4, "rep 2 R")]
    paths = plot_angles(full_angle_series(), tmp_path / "plots", reps, title="synthetic")
    assert [p.name for p in paths] == ["sagittal.png", "frontal.png"]
    for p in paths:
        assert p.exists()
        assert_png_not_blank(p)


def test_plots_survive_missing_and_empty_columns(tmp_path: Path) -> None:
    t = np.arange(0, 2, 1 / 30)
    series = AngleSeries(
        time_s=t,
        angles={"left_knee_flexion_deg": np.full(len(t), np.nan), "right_knee_flexion_deg": 30 + 0 * t},
        facing=np.zeros(len(t)),
    )
    paths = plot_angles(series, tmp_path, use_3d=False)
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    paths3d = plot_angles(full_angle_series(), tmp_path / "3d", use_3d=True)
    for p in paths3d:
        assert_png_not_blank(p)


def test_plots_empty_series(tmp_path: Path) -> None:
    series = AngleSeries(time_s=np.zeros(0), angles={}, facing=np.zeros(0))
    paths = plot_angles(series, tmp_path)
    assert len(paths) == 2 and all(p.exists() for p in paths)
    assert not math.isnan(float(cv2.imread(str(paths[0])).mean()))
