"""Screening reports: one athlete's screening as HTML, PDF and a long-format metrics CSV.

    html = render_html(report)          # self-contained (images inlined), for the browser and share links
    pdf = render_pdf(report)            # bytes, to hand over
    csv_text = metrics_csv(report)      # every metric, one row per test/trial/rep/metric, with units

One module per output: `content` builds the report once as a list of blocks (headings,
key/value lists, tables, pictures; `blocks`) and `as_html` and `as_pdf` draw the same blocks, so
the HTML and the PDF cannot disagree; `as_csv` writes the metrics; `key_frames`, `plots` and
`star` make the pictures. Numbers and units are printed by `formcheck.labels`, shared with the
single-clip report. What is drawn once per analysis (key frames, a redrawn angle plot) is kept in
`ReportTest.cache_dir`; the star diagram and the history plot are kept in memory per content.
"""

from formcheck.clinic.reports.as_csv import CSV_COLUMNS, metric_rows, metric_unit, metrics_csv
from formcheck.clinic.reports.as_html import render_html
from formcheck.clinic.reports.as_pdf import render_pdf
from formcheck.clinic.reports.content import REP_COLUMNS, build_blocks, strategy
from formcheck.clinic.reports.key_frames import (
    KeyFrame,
    extract_key_frames,
    grab_frames,
    key_frame_targets,
    report_key_frames,
    save_key_frames,
)
from formcheck.clinic.reports.plots import angle_plot_png
from formcheck.clinic.reports.star import star_png

__all__ = [
    "CSV_COLUMNS", "REP_COLUMNS", "KeyFrame", "angle_plot_png", "build_blocks", "extract_key_frames", "grab_frames",
    "key_frame_targets", "metric_rows", "metric_unit", "metrics_csv", "render_html", "render_pdf", "report_key_frames",
    "save_key_frames", "star_png", "strategy",
]
