"""Live analysis (issue #5, live part): online reps, camera-setup check, the live core on a real
clip frame by frame, the /api/v1/live WebSocket and `formcheck live`.

squat_side_01 (three deep squats, side view, by watching) is fed one frame at a time; the
live count must equal the offline count. The WebSocket tests send JPEGs of its first frames.
"""

from __future__ import annotations

import json
import struct
import threading
import time

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from formcheck.cli import main
from formcheck.landmarks import NUM_LANDMARKS, SIDE_LANDMARKS
from formcheck.live import LiveSession, OnlineRepCounter, check_setup, resolve_exercise
from formcheck.movements import exercises as ex_registry
from formcheck.movements.segment import SegmentParams
from formcheck.movements.thresholds import load_thresholds
from formcheck.series import PoseSeries
from formcheck.service import ServiceSettings, create_app
from samples_support import require_sample

SQUAT_CLIP = "videos/squat_side_01.mp4"
SQUAT_REPS = 3
HEADER = struct.Struct(">Id")


def clip_frames(relative: str, max_s: float | None = None) -> list[tuple[float, np.ndarray]]:
    """(time_s, RGB frame) of a shared sample clip, up to max_s seconds."""
    out = []
    with av.open(str(require_sample(relative))) as container:
        for frame in container.decode(video=0):
            if max_s is not None and frame.time >= max_s:
                break
            out.append((float(frame.time), frame.to_ndarray(format="rgb24")))
    return out


# ----- online rep counter (arrays) ------------------------------------------------------------
def squat_signal(reps: int, fps: float = 30.0, depth: float = 100.0, rest_s: float = 1.0, rep_s: float = 2.0,
                 noise: float = 1.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Knee flexion of `reps` squats (raised cosines) separated by standing rests, with jitter."""
    parts = [np.full(int(rest_s * fps), 5.0)]
    for _ in range(reps):
        phase = np.linspace(0, 2 * np.pi, int(rep_s * fps))
        parts += [5.0 + depth * (1 - np.cos(phase)) / 2, np.full(int(rest_s * fps), 5.0)]
    x = np.concatenate(parts) + np.random.default_rng(seed).normal(0, noise, sum(map(len, parts)))
    return np.arange(len(x)) / fps, x


def count(t: np.ndarray, x: np.ndarray, params: SegmentParams | None = None) -> OnlineRepCounter:
    counter = OnlineRepCounter(params or SegmentParams(min_range=30.0))
    for ti, xi in zip(t, x):
        counter.update(ti, xi)
    return counter


def test_counter_counts_each_rep_once_as_it_ends():
    t, x = squat_signal(4)
    counter = OnlineRepCounter(SegmentParams(min_range=30.0))
    ended_at = [ti for ti, xi in zip(t, x) if counter.update(ti, xi) is not None]
    assert counter.count == 4 and counter.partial_count == 0
    # Each rep is announced soon after the knee straightens (before the next rep starts).
    rep_ends = 1.0 + np.arange(1, 5) * 3.0 - 1.0
    assert np.all(np.abs(np.array(ended_at) - rep_ends) < 0.8), ended_at


def test_counter_ignores_standing_jitter_and_small_bends():
    t, x = squat_signal(0, rest_s=10.0, noise=3.0)
    assert count(t, x).count == 0
    t, x = squat_signal(3, depth=8.0)   # under half the exercise's minimum excursion (enter level)
    assert count(t, x).count == 0


def test_counter_bottom_wobble_is_one_rep_and_shallow_rep_is_partial():
    t, x = squat_signal(3, depth=100.0, noise=0.0)
    # A 0.1 s dip far below the bottom of rep 2 (well under min_gap_s) does not split it.
    bottom = np.argmax(x[int(4 * 30):int(6 * 30)]) + 4 * 30
    x[bottom:bottom + 3] = 20.0
    assert count(t, x).count == 3
    t2, shallow = squat_signal(1, depth=45.0, noise=0.0)
    both = np.concatenate([x, shallow])
    counter = count(np.arange(len(both)) / 30.0, both)
    assert (counter.count, counter.partial_count) == (3, 1)
    assert counter.reps[-1].excursion_pct_of_median < 60


def test_counter_long_gap_drops_the_rep_in_progress():
    t, x = squat_signal(2, noise=0.0)
    x[int(1.5 * 30):int(2.5 * 30)] = np.nan   # 1 s unseen in the middle of rep 1 (> max_gap_s)
    counter = count(t, x)
    assert counter.count == 1


# ----- setup check (arrays) -----------------------------------------------------------------
def standing_pose(width: float, height: float, frontal: bool, shift=(0.0, 0.0), scale: float = 1.0,
                  n: int = 20) -> PoseSeries:
    """A standing stick figure, seen from the front (hips and shoulders wide) or from the side."""
    half = 0.10 if frontal else 0.01
    y = {"ear": 0.12, "shoulder": 0.25, "elbow": 0.40, "wrist": 0.52, "hip": 0.52, "knee": 0.72,
         "ankle": 0.90, "heel": 0.92, "foot_index": 0.93}
    pts = np.full((NUM_LANDMARKS, 2), 0.5)
    for side, sign in (("left", 1), ("right", -1)):
        for joint, yy in y.items():
            toes_forward = 0.05 if not frontal and joint == "foot_index" else 0.0
            x = 0.5 + sign * half + toes_forward
            pts[SIDE_LANDMARKS[side][joint]] = (x, yy)
    pts[0] = (0.5 + (0.0 if frontal else 0.04), 0.10)   # nose
    pts = (pts - 0.5) * scale + 0.5 + np.asarray(shift)
    pose = PoseSeries.empty(np.arange(n) / 30.0, int(width), int(height))
    pose.image_xy[:] = pts * (width, height)
    pose.visibility[:] = 0.99
    return pose


def spec(name: str):
    return ex_registry.registry()[name]


def test_setup_passes_whole_body_in_the_right_view():
    check = check_setup(standing_pose(640, 480, frontal=True), None, spec("lateral_lunge"))
    assert check.ok and check.in_frame and check.view == "frontal" and check.messages == []


def test_setup_says_step_back_when_head_and_feet_are_cut():
    check = check_setup(standing_pose(640, 480, frontal=True, scale=1.3), None, spec("lateral_lunge"))
    assert not check.ok and not check.in_frame
    assert {"head", "feet"} <= set(check.missing)
    assert check.messages[0].startswith("Step back")


def test_setup_names_the_edge_a_body_part_crosses():
    check = check_setup(standing_pose(640, 480, frontal=True, shift=(0.0, 0.15)), None, spec("lateral_lunge"))
    assert "feet" in check.missing and "tilt the camera down" in check.messages[0]
    check = check_setup(standing_pose(640, 480, frontal=True, shift=(0.45, 0.0)), None, spec("lateral_lunge"))
    assert any("right edge" in m for m in check.messages)


def test_setup_asks_to_turn_sideways_for_a_side_view_exercise():
    check = check_setup(standing_pose(640, 480, frontal=True), None, spec("squat"))
    assert check.in_frame and not check.ok
    assert check.required_view == "sagittal" and check.view == "frontal"
    assert check.messages[0].startswith("Turn sideways")


def test_setup_without_a_person():
    pose = PoseSeries.empty(np.arange(10) / 30.0, 640, 480)
    check = check_setup(pose, None, spec("squat"))
    assert not check.ok and "No person" in check.messages[0]


def test_resolve_exercise_accepts_aliases_and_refuses_reach_tests():
    assert resolve_exercise("stepup") == "step_up"
    assert resolve_exercise(None) == "squat"
    with pytest.raises(ValueError, match="cannot be followed live"):
        resolve_exercise("sebt_anterior")


# ----- the live core on a real clip ---------------------------------------------------------
@pytest.fixture(scope="module")
def squat_updates():
    frames = clip_frames(SQUAT_CLIP)
    with LiveSession("squat") as session:
        return [session.process(rgb, t) for t, rgb in frames]


@pytest.mark.samples
@pytest.mark.slow
def test_live_core_counts_the_squats_of_a_real_clip(squat_updates):
    last = squat_updates[-1]
    assert (last.rep_count, last.partial_count) == (SQUAT_REPS, 0)
    ends = [u.new_rep for u in squat_updates if u.new_rep]
    assert [r["index"] for r in ends] == [1, 2, 3]
    # Reps are announced in order, each after its own bottom (causal: never before it happened).
    for r in ends:
        assert r["start_s"] < r["bottom_s"] < r["end_s"]
        assert r["peak_knee_flexion_deg"] > 90


@pytest.mark.samples
@pytest.mark.slow
def test_live_core_angles_arrive_every_frame(squat_updates):
    knee = np.array([u.angles["left_knee_flexion_deg"] for u in squat_updates])
    assert np.mean(np.isfinite(knee)) > 0.95
    assert np.nanmax(knee) > 100 and np.nanmin(knee) < 30   # deep squats from standing
    found = [u for u in squat_updates if u.pose_found]
    assert len(found) > 0.95 * len(squat_updates)
    lms = np.array([u.landmarks for u in found])
    assert lms.shape[1:] == (NUM_LANDMARKS, 2)
    assert np.nanmin(lms) > -0.5 and np.nanmax(lms) < 1.5       # normalised image coordinates
    payload = json.loads(json.dumps(found[100].to_json(), allow_nan=False))
    assert payload["angles"]["left_knee_flexion_deg"] is not None and len(payload["landmarks"]) == NUM_LANDMARKS


@pytest.mark.samples
@pytest.mark.slow
def test_live_cues_come_from_the_thresholds_file(squat_updates):
    """Live flags carry the reviewed cues of thresholds.toml. As offline, the squat clip is not flagged:
    the trunk leans as far as the shins, and the toes below the frame edge give no ankle value; the
    set-up check passes, so its reps may be praised."""
    cues = {e.cue for e in load_thresholds().entries.values()}
    reps = [u.new_rep for u in squat_updates if u.new_rep]
    codes = {f["code"] for r in reps for f in r["flags"]}
    assert not any(c.startswith("trunk") or c == "ankle_dorsiflexion_limited" for c in codes), codes
    for r in reps:
        for f in r["flags"]:
            assert f["cue"] in cues and f["source"] and f["unit"]
    final_cues = squat_updates[-1].cues
    assert squat_updates[-1].setup.ok
    assert final_cues and all(any(c in line for c in cues) or line.endswith("looks good.") for line in final_cues)


@pytest.mark.samples
@pytest.mark.slow
def test_setup_check_passes_on_the_full_body_clip(squat_updates):
    standing = [u.setup for u in squat_updates[30:60]]   # after the first second
    assert all(s.ok and s.view == "sagittal" for s in standing), [s.messages for s in standing]


@pytest.mark.samples
@pytest.mark.slow
def test_cli_window_overlay_draws_skeleton_and_text(squat_updates):
    from formcheck.live.cli import draw_overlay

    update = squat_updates[100]
    image = np.zeros((update.height, update.width, 3), np.uint8)
    draw_overlay(image, update)
    xy = (update.landmarks * (update.width, update.height))[SIDE_LANDMARKS["left"]["knee"]]
    x, y = int(xy[0]), int(xy[1])
    assert image[max(y - 15, 0):y + 15, max(x - 15, 0):x + 15].any()   # the knee is drawn
    assert image[:40, :200].any()                                        # the header (reps)


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_setup_check_fails_on_cropped_frames():
    frames = clip_frames(SQUAT_CLIP, max_s=1.2)
    with LiveSession("squat") as session:
        for t, rgb in frames:
            h = rgb.shape[0]
            update = session.process(np.ascontiguousarray(rgb[: int(0.55 * h)]), t)   # legs cut off
    assert update.pose_found
    assert not update.setup.ok and not update.setup.in_frame
    assert "feet" in update.setup.missing
    assert "Step back" in update.setup.messages[0]


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_setup_check_asks_to_turn_sideways_on_a_front_view_clip():
    frames = clip_frames("videos/squat_goblet_front_01.mp4", max_s=1.2)
    with LiveSession("squat") as session:
        for t, rgb in frames:
            update = session.process(rgb, t)
    assert update.setup.in_frame and update.setup.view == "frontal" and not update.setup.ok
    assert update.setup.messages[0].startswith("Turn sideways")


# ----- WebSocket ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return [cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            for _, rgb in clip_frames(SQUAT_CLIP, max_s=1.6)]


@pytest.fixture()
def client(tmp_path):
    app = create_app(ServiceSettings(data_dir=tmp_path, workers=1, model="lite", live_max_sessions=1))
    with TestClient(app) as c:
        yield c


def frame_message(seq: int, jpeg: bytes) -> bytes:
    return HEADER.pack(seq, 40.0 * seq) + jpeg


def configure(ws, exercise: str = "squat") -> dict:
    ws.send_text(json.dumps({"type": "config", "exercise": exercise}))
    return ws.receive_json()


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_answers_each_frame_with_angles(client, jpegs):
    with client.websocket_connect("/api/v1/live") as ws:
        ready = configure(ws)
        assert ready["type"] == "ready" and ready["model"] == "lite" and ready["required_view"] == "sagittal"
        results = []
        for seq, jpeg in enumerate(jpegs[:10], start=1):
            ws.send_bytes(frame_message(seq, jpeg))   # one in flight, as the page does
            results.append(ws.receive_json())
    assert [r["seq"] for r in results] == list(range(1, 11))
    assert all(r["type"] == "result" and r["dropped"] == 0 for r in results)
    last = results[-1]
    assert last["pose"] and len(last["landmarks"]) == NUM_LANDMARKS
    assert isinstance(last["angles"]["left_knee_flexion_deg"], float)
    assert last["reps"]["count"] == 0 and last["setup"]["frames"] > 0
    assert last["processing_ms"] > 0 and last["server_ms"] >= last["processing_ms"]
    assert last["client_ms"] == 400.0


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_drops_stale_frames_instead_of_queueing(client, jpegs):
    n = len(jpegs)
    with client.websocket_connect("/api/v1/live") as ws:
        configure(ws)
        for seq, jpeg in enumerate(jpegs, start=1):   # far faster than the model runs
            ws.send_bytes(frame_message(seq, jpeg))
        results = []
        while not results or results[-1]["seq"] != n:
            results.append(ws.receive_json())
    assert all(r["type"] == "result" for r in results)
    seqs = [r["seq"] for r in results]
    assert seqs == sorted(seqs) and seqs[-1] == n          # the newest frame is always answered
    assert len(results) < n                                 # ... and the stale ones were not
    assert results[-1]["processed"] == len(results)
    assert results[-1]["dropped"] == n - len(results) > 0   # every frame answered or counted


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_bad_messages_get_clear_errors_and_the_session_goes_on(client, jpegs):
    with client.websocket_connect("/api/v1/live") as ws:
        ws.send_bytes(frame_message(1, jpegs[0]))
        assert ws.receive_json()["code"] == "config_first"
        ws.send_text("{not json")
        error = ws.receive_json()
        assert error["code"] == "invalid_config" and "Example" in error["hint"]
        ws.send_text(json.dumps({"type": "config", "exercise": 5}))
        assert ws.receive_json()["code"] == "invalid_config"
        ws.send_text(json.dumps({"type": "config", "exercise": "sebt"}))
        assert "cannot be followed live" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "config", "exercise": "squat", "model": "/etc/passwd"}))
        assert ws.receive_json()["code"] == "invalid_config"
        assert configure(ws)["type"] == "ready"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_bytes(frame_message(2, b"this is not a jpeg"))
        error = ws.receive_json()
        assert (error["code"], error["seq"]) == ("invalid_frame", 2) and "JPEG" in error["message"]
        ws.send_text("hello")
        assert ws.receive_json()["code"] == "unexpected_text"
        ws.send_bytes(HEADER.pack(4, float("nan")) + jpegs[0])
        error = ws.receive_json()
        assert (error["code"], error["seq"]) == ("invalid_frame", 4) and "time" in error["message"]
        ws.send_bytes(frame_message(3, jpegs[0]))
        result = ws.receive_json()
    assert result["type"] == "result" and result["seq"] == 3


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_refuses_sessions_over_the_limit(client):
    with client.websocket_connect("/api/v1/live") as first:
        configure(first)
        with client.websocket_connect("/api/v1/live") as second:
            assert second.receive_json()["code"] == "too_many_sessions"
            closing = second.receive()
            assert closing["type"] == "websocket.close" and closing["code"] == 1013
            assert "too many live sessions" in closing["reason"]
    with client.websocket_connect("/api/v1/live") as again:   # the slot is free once the first left
        assert configure(again)["type"] == "ready"


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_runs_the_model_off_the_event_loop_and_closes_it_on_disconnect(client, jpegs, monkeypatch):
    threads, closed = [], []
    process, close = LiveSession.process, LiveSession.close

    def recording_process(self, rgb, time_s):
        threads.append(threading.current_thread().name)
        return process(self, rgb, time_s)

    def recording_close(self):
        closed.append(threading.current_thread().name)
        close(self)

    monkeypatch.setattr(LiveSession, "process", recording_process)
    monkeypatch.setattr(LiveSession, "close", recording_close)
    with client.websocket_connect("/api/v1/live") as ws:
        configure(ws)
        for seq in (1, 2):
            ws.send_bytes(frame_message(seq, jpegs[seq]))
            assert ws.receive_json()["type"] == "result"
    deadline = time.monotonic() + 10
    while not closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(threads) == 2 and all(name.startswith("formcheck-live") for name in threads)
    assert len(closed) == 1 and closed[0].startswith("formcheck-live")   # the model's own thread


@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_websocket_a_failing_frame_ends_the_session_with_the_reason(client, jpegs, monkeypatch):
    def broken(self, rgb, time_s):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(LiveSession, "process", broken)
    with client.websocket_connect("/api/v1/live") as ws:
        configure(ws)
        ws.send_bytes(frame_message(1, jpegs[0]))
        error = ws.receive_json()
        assert error["code"] == "internal_error" and "simulated bug" in error["message"] and error["seq"] == 1
        assert ws.receive()["code"] == 1011
    with client.websocket_connect("/api/v1/live") as again:   # the server (and its session slot) lives on
        assert configure(again)["type"] == "ready"


def test_live_page_and_exercise_list(client):
    page = client.get("/live")
    assert page.status_code == 200 and "/static/live.js" in page.text
    assert client.get("/static/live.js").status_code == 200
    body = client.get("/api/v1/live/exercises").json()
    assert body["default"] == "squat" and "split_squat" in body["labels"] and "sebt" not in body["labels"]


# ----- CLI ------------------------------------------------------------------------------------
@pytest.mark.samples
@pytest.mark.slow  # a live session runs the pose model
def test_cli_live_on_a_short_clip_prints_the_rep_count(tmp_path, capsys):
    short = tmp_path / "squat_first_rep.mp4"
    frames = clip_frames(SQUAT_CLIP, max_s=4.5)   # the first squat and back up
    with av.open(str(short), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0][1].shape[1], frames[0][1].shape[0], "yuv420p"
        for _, rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert main(["live", "--source", str(short), "--no-window", "--exercise", "squat"]) == 0
    printed = capsys.readouterr().out
    assert "reps 0" in printed and "setup: ok" in printed   # per-second status lines
    assert printed.strip().splitlines()[-1] == "Reps: 1"


def test_cli_live_reports_a_camera_it_cannot_open(capsys):
    assert main(["live", "--source", "9", "--no-window"]) == 2
    err = capsys.readouterr().err
    assert "Cannot open camera 9" in err and "What to do" in err


def test_cli_live_missing_file(tmp_path, capsys):
    assert main(["live", "--source", str(tmp_path / "none.mp4"), "--no-window"]) == 2
    assert "does not exist" in capsys.readouterr().err
