"""Live form checks (webcam, `formcheck live`, the /api/v1/live WebSocket): causal, frame by frame.

`session.LiveSession` runs the pose model on one frame at a time; `session.LiveAnalyzer` (pure)
turns landmarks into angles, an online rep count (`reps`), cues and a camera-setup check (`setup`).
"""

from formcheck.live.reps import OnlineRep, OnlineRepCounter
from formcheck.live.session import LiveAnalyzer, LiveSession, LiveUpdate, live_exercises, resolve_exercise
from formcheck.live.setup import SetupCheck, check_setup

__all__ = ["LiveAnalyzer", "LiveSession", "LiveUpdate", "OnlineRep", "OnlineRepCounter", "SetupCheck",
           "check_setup", "live_exercises", "resolve_exercise"]
