"""What a user sees: annotated video, angle charts, angle CSV.

Everything here consumes the carriers in `formcheck.series` and writes files; nothing feeds
back into the analysis, so outputs can be regenerated from saved series.
"""

from formcheck.outputs.annotate import (
    JOINT_ANGLE_LABELS,
    SIDE_COLORS_BGR,
    SIDE_COLORS_HEX,
    VIDEO_ANGLE_LABELS,
    draw_header,
    draw_joint_angles,
    draw_legend,
    draw_skeleton,
    joint_label_texts,
)
from formcheck.outputs.mot import OPENSIM_COORDINATES, MotTable, mot_text, read_mot, write_mot
from formcheck.outputs.plots import FRONTAL_PANELS, SAGITTAL_PANELS, RepSpan, plot_angles
from formcheck.outputs.tables import ANGLE_COLUMN_ORDER, ordered_columns, read_angles_csv, write_angles_csv
from formcheck.outputs.video import VideoSink, is_faststart, probe_codec, top_level_boxes

__all__ = [
    "ANGLE_COLUMN_ORDER",
    "MotTable",
    "OPENSIM_COORDINATES",
    "FRONTAL_PANELS",
    "JOINT_ANGLE_LABELS",
    "SAGITTAL_PANELS",
    "SIDE_COLORS_BGR",
    "SIDE_COLORS_HEX",
    "VIDEO_ANGLE_LABELS",
    "RepSpan",
    "VideoSink",
    "draw_header",
    "draw_joint_angles",
    "draw_legend",
    "draw_skeleton",
    "is_faststart",
    "joint_label_texts",
    "mot_text",
    "ordered_columns",
    "plot_angles",
    "probe_codec",
    "read_angles_csv",
    "read_mot",
    "top_level_boxes",
    "write_angles_csv",
    "write_mot",
]
