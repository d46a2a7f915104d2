#!/usr/bin/env python3
"""The loop typical MediaPipe form-checker scripts run, as the yardstick for formcheck's speed.

OpenCV reads each frame, converts BGR to RGB, one PoseLandmarker in VIDEO mode with one pose
looks at the full-size frame, and one knee angle is computed from the image landmarks; nothing
is written. It is what `bench/throughput.py` divides formcheck's times by (issue #14).

    python bench/naive_loop.py VIDEO [--model full]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"


def knee_angle(landmarks) -> float:
    hip, knee, ankle = (np.array([landmarks[i].x, landmarks[i].y]) for i in (23, 25, 27))
    a, b = hip - knee, ankle - knee
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))))


def run(video: Path, model: str) -> tuple[int, int]:
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(MODELS / f"pose_landmarker_{model}.task")),
        running_mode=RunningMode.VIDEO,
        num_poses=1,
    )
    frames = with_pose = 0
    with PoseLandmarker.create_from_options(options) as landmarker:
        cap = cv2.VideoCapture(str(video))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                                 int(frames * 1000 / fps))
            if result.pose_landmarks:
                knee_angle(result.pose_landmarks[0])
                with_pose += 1
            frames += 1
        cap.release()
    return frames, with_pose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", default="full")
    args = parser.parse_args()
    start = time.perf_counter()
    frames, with_pose = run(args.video, args.model)
    print(f"naive loop: {frames} frames, pose in {with_pose}, {time.perf_counter() - start:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
