"""A test's angle curves as PNG: the pipeline's own plot when kept, else drawn from angles.csv
once into the test's cache folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

from formcheck.clinic.report_model import ReportTest
from formcheck.outputs import plot_angles, read_angles_csv


def angle_plot_png(test: ReportTest) -> tuple[bytes, str] | None:
    """(PNG, plane) of the plane the camera saw (frontal for a front view, else sagittal)."""
    movement = test.analysis.movement
    plane = "frontal" if movement is not None and movement.view == "frontal" else "sagittal"
    folder = test.folder
    if folder is None:
        return None
    for kept in (folder / f"{plane}.png", test.cache_dir / f"{plane}.png" if test.cache_dir else None):
        if kept is not None and kept.exists():
            return kept.read_bytes(), plane
    if not (folder / "angles.csv").exists():
        return None
    reps = movement.reps if movement is not None else []
    spans = [(r.start_s, r.end_s, f"{r.index}{r.side[0].upper()}") for r in reps]
    with tempfile.TemporaryDirectory() as tmp:
        angles = read_angles_csv(folder / "angles.csv")
        angles.withheld = dict(test.analysis.withheld_measures)
        plot_angles(angles, tmp, spans)
        data = (Path(tmp) / f"{plane}.png").read_bytes()
    if test.cache_dir is not None:
        test.cache_dir.mkdir(parents=True, exist_ok=True)
        (test.cache_dir / f"{plane}.png").write_bytes(data)
    return data, plane
