"""Reading videos: upright frames, true timestamps, and clear errors for bad files."""

import numpy as np
import pytest

from formcheck.errors import InputFileError, VideoTooShortError
from formcheck.sources import iter_frames, probe
from media_factory import write_audio_only, write_image, write_video


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def test_frames_are_contiguous_even_when_rows_are_padded(tmp_path):
    # 362 px wide RGB rows are padded by FFmpeg; MediaPipe silently fails on strided views.
    info = probe(write_video(tmp_path / "odd.mp4", width=362, height=640))
    frame = next(iter_frames(info))
    assert frame.image.shape == (640, 362, 3)
    assert frame.image.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_phone_clip_comes_out_upright(tmp_path, rotation):
    path = write_video(tmp_path / "rot.mp4", width=320, height=240, rotation=rotation)
    info = probe(path)
    frame = next(iter_frames(info, pixel_format="bgr24")).image
    expected_shape = (240, 320) if rotation == 180 else (320, 240)
    assert (info.height, info.width) == expected_shape == frame.shape[:2]
    # The white marker written in the stored top-left corner moves where a player shows it.
    corners = {
        "tl": frame[:10, :10].mean(), "tr": frame[:10, -10:].mean(),
        "bl": frame[-10:, :10].mean(), "br": frame[-10:, -10:].mean(),
    }
    expected = {90: "bl", -90: "tr", 180: "br"}[rotation]
    assert max(corners, key=corners.get) == expected


def test_variable_frame_rate_keeps_container_timestamps(tmp_path):
    times = [0.0, 0.033, 0.066, 0.150, 0.183, 0.400, 0.433, 0.466] + [0.5 + i / 30 for i in range(40)]
    info = probe(write_video(tmp_path / "vfr.mp4", times_s=times))
    got = [f.time_s for f in iter_frames(info)]
    assert np.allclose(got, times, atol=1e-3)


def test_downscaled_decode_keeps_aspect(tmp_path):
    info = probe(write_video(tmp_path / "big.mp4", width=1280, height=720, times_s=[i / 30 for i in range(35)]))
    frame = next(iter_frames(info, max_long_side=640))
    assert frame.image.shape == (360, 640, 3)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda p: write_bytes(p, b""), InputFileError, "empty"),
        (lambda p: write_bytes(p, b"not a video at all\n" * 50), InputFileError, "not a video"),
        (lambda p: write_image(p.with_suffix(".jpg")), InputFileError, "still image"),
        (lambda p: write_audio_only(p.with_suffix(".m4a")), InputFileError, "no video track"),
        (lambda p: write_video(p, times_s=[i / 30 for i in range(10)]), VideoTooShortError, "at least"),
        (lambda p: write_video(p, width=32, height=32), InputFileError, "too small"),
    ],
    ids=["zero-byte", "text-as-mp4", "image", "audio-only", "too-short", "tiny"],
)
def test_bad_inputs_get_clear_errors(tmp_path, make, error, words):
    path = make(tmp_path / "clip.mp4")
    with pytest.raises(error) as info:
        probe(path)
    assert words in info.value.message
    assert info.value.hint


def test_truncated_file_is_rejected_or_read_partially(tmp_path):
    path = write_video(tmp_path / "full.mp4", times_s=[i / 30 for i in range(90)])
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        info = probe(cut)
    except InputFileError as exc:
        assert exc.hint
    else:
        frames = list(iter_frames(info))
        assert 0 < len(frames) <= 90


def test_missing_file():
    with pytest.raises(InputFileError, match="does not exist"):
        probe("/nonexistent/clip.mp4")
