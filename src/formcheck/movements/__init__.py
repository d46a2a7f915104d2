"""Movement analysis (issue #4): PoseSeries + AngleSeries -> reps, metrics, flags, feedback.

Pure layer: no video, no MediaPipe. Entry point:

    analyze_movement(pose, angles, exercise="auto", thresholds=None, leg_length_cm=None) -> MovementReport
"""

from formcheck.movements.analyze import analyze_movement
from formcheck.movements.feedback import render_table
from formcheck.movements.report import Flag, MovementReport, Rep, UnsupportedMeasure
from formcheck.movements.thresholds import Thresholds, load_thresholds

__all__ = ["analyze_movement", "render_table", "MovementReport", "Rep", "Flag",
           "UnsupportedMeasure", "Thresholds", "load_thresholds"]
