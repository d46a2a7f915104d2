"""`formcheck live --source 0|VIDEO`: the live checks in an OpenCV window (desktop users).

With --no-window, or when there is no display, it prints one status line per second instead
(so it runs headless and in tests). A camera is read as fast as the model keeps up (only the
newest frame matters live); a video file is processed frame by frame, on its own clock.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from formcheck.config import MODEL_NAMES
from formcheck.errors import FormcheckError, InputFileError

WINDOW = "formcheck live (q to quit)"
STATUS_INTERVAL_S = 1.0


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_source(source: str):
    """cv2.VideoCapture of a camera index ("0") or a video file; a clear error when it fails."""
    import cv2

    camera = source.isdigit()
    if not camera and not Path(source).is_file():
        raise InputFileError(f"{source} does not exist.",
                             "Pass a camera index (0 is the first webcam) or a video file.")
    capture = cv2.VideoCapture(int(source) if camera else source)
    if not capture.isOpened():
        capture.release()
        if camera:
            raise FormcheckError(f"Cannot open camera {source}.",
                                 "Check that a webcam is connected and not in use by another program "
                                 "(try --source 1 for a second camera), or pass a video file.")
        raise InputFileError(f"{source} is not a video OpenCV can read.", "Use an MP4, MOV or WebM clip.")
    if camera:
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)   # the newest frame, not a backlog
    return capture, camera


def status_line(update, ms: list[float]) -> str:
    a = update.angles
    knee = " ".join(f"{s[0].upper()} {a[f'{s}_knee_flexion_deg']:.0f}°" if np.isfinite(a[f"{s}_knee_flexion_deg"])
                    else f"{s[0].upper()} -" for s in ("left", "right"))
    setup = "ok" if update.setup.ok else "; ".join(update.setup.messages) or "checking"
    return (f"{update.time_s:6.1f} s  reps {update.rep_count}"
            + (f" (+{update.partial_count} partial)" if update.partial_count else "")
            + f"  knee {knee}  {np.median(ms):.0f} ms/frame  setup: {setup}")


def draw_overlay(image: np.ndarray, update) -> np.ndarray:
    from formcheck.outputs import draw_header, draw_joint_angles, draw_skeleton

    if update.landmarks is not None:
        xy = update.landmarks * (image.shape[1], image.shape[0])
        draw_skeleton(image, xy, ~np.isnan(xy[:, 0]))
        draw_joint_angles(image, xy, update.angles)
    lines = [f"reps {update.rep_count}" + (f" (+{update.partial_count} partial)" if update.partial_count else "")]
    lines += update.setup.messages[:2] if not update.setup.ok else update.cues[-2:]
    return draw_header(image, lines)


def _cmd_live(args: argparse.Namespace) -> int:
    import cv2

    from formcheck.live.session import LiveSession, resolve_exercise

    try:
        exercise = resolve_exercise(args.exercise)
    except ValueError as exc:
        raise FormcheckError(str(exc).capitalize() + ".",
                             "Example: formcheck live --source 0 --exercise squat") from None
    capture, camera = open_source(args.source)
    window = not args.no_window and _has_display()
    if not args.no_window and not window:
        print("No display found: printing status lines instead of a window (--no-window).")
    ms: list[float] = []
    update = None
    started = time.monotonic()
    next_status = 0.0
    try:
        with LiveSession(exercise, args.model) as session:
            print(f"Following {session.analyzer.spec.label} from {'camera ' + args.source if camera else args.source} "
                  f"with the {session.model} model.")
            while True:
                ok, bgr = capture.read()
                if not ok:
                    if camera:
                        raise FormcheckError(f"Camera {args.source} stopped sending frames.",
                                             "Check the camera connection and run the command again.")
                    break
                t = time.monotonic() - started if camera else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                update = session.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t)
                ms = (ms + [update.processing_ms])[-30:]
                if update.new_rep:
                    print(f"rep {update.new_rep['index']}{'' if update.new_rep['complete'] else ' (partial)'}: "
                          + (" ".join(update.cues) or "done"))
                if window:
                    cv2.imshow(WINDOW, draw_overlay(bgr, update))
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
                elif update.time_s >= next_status:
                    print(status_line(update, ms), flush=True)
                    next_status = update.time_s + STATUS_INTERVAL_S
    except KeyboardInterrupt:
        pass
    finally:
        capture.release()
        if window:
            cv2.destroyAllWindows()
    if update is None:
        raise InputFileError(f"No frame could be read from {args.source}.", "Check the camera or the video file.")
    print(f"Reps: {update.rep_count}" + (f" (plus {update.partial_count} partial)" if update.partial_count else ""))
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    live = subparsers.add_parser(
        "live",
        help="live checks from a webcam or a video: skeleton, angles, rep count and cues",
        description="Counts reps and gives cues frame by frame (the lite model by default). "
                    "In the window press q to quit.",
    )
    live.add_argument("--source", default="0", help="camera index (0 = first webcam, default) or a video file")
    live.add_argument("--exercise", default="squat", help="squat (default), lunge, split_squat, step_up... "
                                                           "(the exercises live mode can count)")
    live.add_argument("--model", default="lite", choices=MODEL_NAMES, help="pose model (default lite)")
    live.add_argument("--no-window", action="store_true", help="print a status line per second instead of a window")
    live.set_defaults(func=_cmd_live)
    return live
