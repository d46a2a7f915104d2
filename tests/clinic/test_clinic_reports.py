"""Screening reports from a real pipeline run (the bundled lunge sample, its pose scripted as in
scripted_analysis.py: no model) and hand-set mSEBT trials: PDF text and page images (poppler),
HTML tables, long-format CSV, key frames from each source, angles.mot next to angles.csv."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.clinic import reports
from formcheck.clinic.models import Athlete, HistoryPoint, MetricHistory, Screening
from formcheck.clinic.report_model import ReportTest, ScreeningReport
from formcheck.clinic.scoring import Trial, score_sebt
from formcheck.outputs import read_angles_csv, read_mot
from formcheck.schema import Analysis
from scripted_analysis import scripted_analysis

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "lunge_synthetic_side.mp4"
CODE = "RUN-014"
# best valid reach, % of limb length, per stance leg and direction (trial 2 of the right leg is invalid)
REACH = {("left", "anterior"): [62, 64, 63], ("left", "posteromedial"): [101, 104, 103],
         ("left", "posterolateral"): [98, 100, 99], ("right", "anterior"): [58, 61, 57],
         ("right", "posteromedial"): [99, 105, 100], ("right", "posterolateral"): [95, 97, 96]}


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} (Debian poppler-utils) is missing: run `make system-deps` as root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def lunge_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lunge")
    scripted_analysis(SAMPLE, out)
    return out


def _report(lunge_dir: Path, **test_options) -> ScreeningReport:
    now = dt.datetime.now(dt.UTC)
    athlete = Athlete(id="a1", name=f"{CODE} Ana Núñez", birth_year=1995, leg_length_left_cm=91.0,
                      leg_length_right_cm=90.5, dominant_leg="right", created_at=now, updated_at=now)
    screening = Screening(id="s2", athlete_id="a1", date=dt.date(2025, 3, 1), created_at=now)
    trials = [Trial(leg=leg, direction=d, trial=i, reach_pct_limb=v, valid=not (leg == "right" and i == 2),
                    invalid_reasons=["stance heel lifted"] if leg == "right" and i == 2 else [])
              for (leg, d), values in REACH.items() for i, v in enumerate(values, 1)]
    options = {"folder": lunge_dir, **test_options}
    analysis = Analysis.model_validate_json((lunge_dir / "analysis.json").read_bytes())
    test = ReportTest(id="t-lunge", kind="lunge", analysis=analysis, **options)
    history = [MetricHistory(metric="composite_right", label="Composite, right", unit="pct_limb", mdc=8.15,
                             mdc_source="Munro & Herrington 2010, Phys Ther Sport 11(4):128-132",
                             points=[HistoryPoint(screening_id="s1", date=dt.date(2024, 3, 1), value=96.0),
                                     HistoryPoint(screening_id="s2", date=dt.date(2025, 3, 1), value=84.3,
                                                  change=-11.7, beyond_mdc=True)],
                             flags=["Composite, right fell by 11.7 % limb length (> MDC 8.15)."])]
    return ScreeningReport(athlete=athlete, screening=screening, sebt=score_sebt(trials, athlete.leg_length_cm),
                           tests=[test], history=history, clinician_name="PT Smith")


def test_scores_used_by_the_report_are_the_hand_worked_ones(lunge_dir):
    score = _report(lunge_dir).sebt
    assert score.legs["left"].composite_pct == pytest.approx((64 + 104 + 100) / 3, abs=0.05)   # 89.3
    assert score.legs["right"].composite_pct == pytest.approx((58 + 100 + 96) / 3, abs=0.05)   # 84.7 (T2s invalid)
    assert score.anterior_diff_cm == pytest.approx(0.64 * 91.0 - 0.58 * 90.5, abs=0.05)      # 5.8 cm > 4 cm
    assert {f.code for f in score.flags} >= {"sebt_anterior_asymmetry_cm", "sebt_composite_male_college_football"}


def test_pdf_has_real_text_and_non_blank_pages(lunge_dir, tmp_path):
    pdftotext, pdftoppm = _poppler("pdftotext"), _poppler("pdftoppm")
    report = _report(lunge_dir)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reports.render_pdf(report))
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    left, right = report.sebt.legs["left"].composite_pct, report.sebt.legs["right"].composite_pct
    for needle in (CODE, "Núñez", f"{left:.1f}%", f"{right:.1f}%", f"{report.sebt.anterior_diff_cm:.1f} cm",
                   "female high-school basketball", "Plisky", "hip-dominant", "Bottom of the lunge", "page 1"):
        assert needle in text, needle
    subprocess.run([pdftoppm, "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    stds = [float(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).std()) for p in pages]
    assert min(stds) > 8, stds                    # a blank page has std ~0
    colour = [cv2.imread(str(p)) for p in pages]
    # the key frames and plots carry the side colours: orange (#FF8C00) pixels on some page
    assert any(((abs(c[..., 2].astype(int) - 255) < 40) & (abs(c[..., 1].astype(int) - 140) < 40)
                & (c[..., 0] < 80)).sum() > 50 for c in colour)


def test_html_has_the_tables(lunge_dir):
    report = _report(lunge_dir)
    html = reports.render_html(report)
    analysis = report.tests[0].analysis
    assert html.count("<table>") >= 5             # mSEBT, mSEBT flags, lunge reps, history, flags explained
    assert "Modified Star Excursion Balance Test" in html and CODE in html
    assert f"{report.sebt.legs['left'].composite_pct:.1f}%" in html
    assert "T2 " in html and "invalid: stance heel lifted" in html
    assert "59 male collegiate American football players" in html          # the population travels with the flag
    reps = analysis.movement.reps
    assert len(reps) == 4
    for rep in reps:
        assert f"{rep.metrics['peak_knee_flexion_deg']:.1f}" in html
    assert html.count("hip-dominant") == sum(r.metrics["hip_knee_ratio"] >= 0.6 for r in reps) > 0
    assert html.count("data:image/jpeg;base64,") == 2  # one key frame per front leg
    assert "beyond MDC" in html and "Munro &amp; Herrington 2010" in html
    assert "http://" not in html and "https://" not in html                  # self-contained


def test_csv_has_every_metric_with_units(lunge_dir):
    report = _report(lunge_dir)
    rows = list(csv.DictReader(io.StringIO(reports.metrics_csv(report))))
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    trials = [r for r in rows if r["test"] == "msebt_trial"]
    assert len(trials) == 18 * 4                  # 18 trials × (cm, % limb, valid, best)
    comp = {r["side"]: r for r in rows if r["metric"] == "composite_pct_limb"}
    assert float(comp["left"]["value"]) == report.sebt.legs["left"].composite_pct
    assert comp["left"]["unit"] == "% limb length"
    assert {r["value"] for r in trials if r["metric"] == "valid"} == {"true", "false"}
    diff = next(r for r in rows if r["metric"] == "anterior_diff_cm")
    assert diff["unit"] == "cm" and float(diff["value"]) == report.sebt.anterior_diff_cm
    reps = report.tests[0].analysis.movement.reps
    knee = [r for r in rows if r["test"] == "lunge" and r["metric"] == "peak_knee_flexion_deg"]
    assert [float(r["value"]) for r in knee] == [rep.metrics["peak_knee_flexion_deg"] for rep in reps]
    assert {r["unit"] for r in knee} == {"deg"}
    per_rep = [r for r in rows if r["test"] == "lunge" and r["trial_or_rep"] == "1"]
    assert len(per_rep) == len(reps[0].metrics) + 1                         # + strategy
    units = {r["metric"]: r["unit"] for r in rows if r["test"] == "lunge"}
    assert units["descent_s"] == "s" and units["hip_knee_ratio"] == "ratio" and units["strategy"] == "text"
    assert units["stance_length_leg"] == "leg lengths" and units["knee_drive"] == "bool"


def _orange_pixels(image: np.ndarray) -> int:
    b, g, r = (image[..., k].astype(int) for k in range(3))
    return int(((abs(r - 255) < 40) & (abs(g - 140) < 40) & (b < 80)).sum())


def test_key_frames_from_each_source(lunge_dir, tmp_path):
    annotated = reports.extract_key_frames(_report(lunge_dir).tests[0])
    assert [kf.label.split(":")[0] for kf in annotated] == ["Bottom of the lunge"] * 2
    assert {kf.label.split(": ")[1].split(" leg")[0] for kf in annotated} == {"left", "right"}
    reps = {r["index"]: r for r in json.loads((lunge_dir / "analysis.json").read_text())["movement"]["reps"]}
    for kf in annotated:
        assert kf.time_s == reps[int(kf.id.split(":")[1])]["bottom_s"]
        assert kf.image is not None and kf.image.std() > 10 and _orange_pixels(kf.image) > 30

    # no annotated video: the source video with the skeleton drawn from landmarks.npz
    bare = tmp_path / "bare"
    shutil.copytree(lunge_dir, bare, ignore=shutil.ignore_patterns("annotated.mp4"))
    drawn = reports.extract_key_frames(_report(bare, source_video=SAMPLE).tests[0])
    assert [kf.id for kf in drawn] == [kf.id for kf in annotated]
    raw = reports.grab_frames(SAMPLE, [kf.time_s for kf in drawn])
    for kf, plain in zip(drawn, raw):
        assert kf.image.shape == plain.shape and _orange_pixels(kf.image) > _orange_pixels(plain) + 30

    # keep-no-video: key frames saved earlier are all that is left
    saved = reports.save_key_frames(_report(lunge_dir).tests[0], tmp_path / "kept")
    assert set(saved) == {kf.id for kf in annotated} and all(p.stat().st_size > 5000 for p in saved.values())
    private = _report(lunge_dir, key_frame_images=saved).tests[0]
    private.folder = None
    from_files = reports.extract_key_frames(private)
    assert all(kf.image is not None and kf.image.shape == a.image.shape for kf, a in zip(from_files, annotated))
    assert "data:image/jpeg;base64," in reports.render_html(_report(lunge_dir, key_frame_images=saved))


def test_strategy_uses_the_documented_cut_off():
    assert reports.strategy({"hip_knee_ratio": 0.45, "peak_knee_flexion_deg": 90}) == "knee-dominant"
    assert reports.strategy({"hip_knee_ratio": 0.75, "peak_knee_flexion_deg": 90}) == "hip-dominant"
    assert reports.strategy({"hip_knee_ratio": 0.2, "peak_knee_flexion_deg": 20}).startswith("not assessed")
    assert reports.strategy({}) == "not measured"


def test_analyze_writes_angles_mot_next_to_angles_csv(lunge_dir):
    analysis = json.loads((lunge_dir / "analysis.json").read_text())
    assert analysis["files"]["angles_mot"] == "angles.mot"
    table = read_mot(lunge_dir / "angles.mot")
    angles = read_angles_csv(lunge_dir / "angles.csv")
    assert int(table.header["nRows"]) == len(angles.time_s) == analysis["input"]["frames"]
    assert int(table.header["nColumns"]) == len(table.columns) == 7
    knee = angles["right_knee_flexion_deg"]
    ok = np.isfinite(knee)
    np.testing.assert_allclose(table.column("knee_angle_r")[ok], -knee[ok], atol=0.006)  # CSV keeps 2 decimals
    assert np.nanmin(table.column("knee_angle_r")) < -80                   # lunge bottom, flexion negative
