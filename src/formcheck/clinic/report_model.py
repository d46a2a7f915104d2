"""What a screening report is made of: the clinic's own models plus the analysed clips.

`formcheck.clinic.reports` renders a `ScreeningReport` as HTML, PDF and a long-format metrics
CSV; `formcheck.outputs.mot` writes a test's angles as an OpenSim `.mot`. Nothing here touches
the database, so the routers (or a script, or a test) build one from what they already have:

    report = ScreeningReport(
        athlete=athlete,                      # clinic.models.Athlete
        screening=screening,                  # clinic.models.Screening
        sebt=result.sebt,                     # clinic.scoring.SebtScore, or None
        tests=[ReportTest(id=t.id, kind=t.kind, leg=t.leg, direction=t.direction,
                          analysis=Analysis.model_validate_json((job_dir / "analysis.json").read_bytes()),
                          folder=job_dir) for t, job_dir in done_tests],
        history=athlete_history.metrics,      # clinic.models.MetricHistory list, optional
        clinician_name=clinician.name,
    )

A `ReportTest` is one analysed clip: its `analysis.json` parsed (`formcheck.schema.Analysis`)
and, when still on disk, the pipeline's output folder (annotated.mp4, angles.csv, landmarks.npz,
plots) and the source video. Key frames come from the folder's annotated video, else from the source video with the
skeleton and angles drawn from landmarks.npz + angles.csv, else from `key_frame_images`
(images saved earlier with `reports.save_key_frames`, for the keep-no-video privacy setting).
Key frames and redrawn plots are kept in `cache_dir` once drawn, so the report opens fast again.
mSEBT trials point at their clip through `Trial.test_id` (= `ReportTest.id`) and `rep_index`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from formcheck.clinic.models import Athlete, MetricHistory, Screening, TestKind
from formcheck.clinic.scoring import Direction, Leg, SebtScore
from formcheck.schema import Analysis


@dataclass
class ReportTest:
    id: str
    kind: TestKind                              # "msebt" | "lunge" | "step_up"
    analysis: Analysis                          # analysis.json, parsed
    leg: Leg | None = None                      # mSEBT: stance leg filmed
    direction: Direction | None = None          # mSEBT: reach direction filmed
    folder: Path | None = None                  # the pipeline's output folder, if kept
    source_video: Path | None = None
    key_frame_images: dict[str, Path] = field(default_factory=dict)  # KeyFrame.id -> saved image
    file_name: str = ""                         # the clip's name as uploaded (the pipeline stores it as input.*)
    notes: str = ""                             # the clinician's note on this test
    cache_dir: Path | None = None               # where pictures drawn once for the report are kept


@dataclass
class ScreeningReport:
    athlete: Athlete
    screening: Screening
    sebt: SebtScore | None = None
    camera_sebt: SebtScore | None = None        # the clips' reaches, when tape reaches are what is scored
    tests: list[ReportTest] = field(default_factory=list)
    history: list[MetricHistory] = field(default_factory=list)
    clinician_name: str = ""

    def test(self, test_id: str | None) -> ReportTest | None:
        return next((t for t in self.tests if t.id == test_id), None)
