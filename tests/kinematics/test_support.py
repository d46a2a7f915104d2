"""One rule for what a clip supports (kinematics.support), and every output obeying it: columns
the view withholds, landmarks at the frame edge, the dorsiflexion and heel-lift cross-checks, the
CSV, the plots, the printable report, the annotated video's labels and live praise.

Stick figures from movement_fixtures (angles by formcheck's own kinematics), true landmarks of the
synthetic lab's rendered figure, and the real clips (marked samples/slow)."""

from __future__ import annotations

import csv
import warnings
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest

import movement_fixtures as mf
from formcheck.kinematics import angles_from_clean
from formcheck.kinematics.support import (
    EDGE_MARGIN,
    landmark_support,
    measure_source,
    parse_column,
    supported_angles,
)
from formcheck.landmarks import SIDE_LANDMARKS
from formcheck.live.session import LiveAnalyzer
from formcheck.movements import analyze_movement, load_thresholds
from formcheck.movements.context import estimate_view
from formcheck.movements.report import Rep
from formcheck.movements.rules import rep_flags
from formcheck.outputs import VIDEO_ANGLE_LABELS, joint_label_texts, plot_angles, plots, write_angles_csv
from formcheck.pose.tracking import Detection
from formcheck.series import AngleSeries, PoseSeries

FRONTAL = ("knee_fppa", "pelvic_drop", "trunk_lateral_lean")
SAGITTAL = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "trunk_lean")
ANKLE_FLAGS = {"ankle_dorsiflexion_limited", "heel_lift"}


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def squat_clip(yaw: float) -> tuple[PoseSeries, AngleSeries]:
    """Three squats; every angle column as formcheck computes it (both planes, 2D and 3D)."""
    pose, _ = mf.squat(n=3, yaw=yaw)
    return pose, quiet(angles_from_clean, pose)


def csv_columns(angles: AngleSeries, tmp_path) -> dict[str, list[str]]:
    path = write_angles_csv(angles, tmp_path / "angles.csv")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {name: [r[name] for r in rows] for name in rows[0]}


def row(angles: AngleSeries, i: int) -> dict[str, float]:
    return {name: float(v[i]) for name, v in angles.angles.items()}


# ----- the rule ------------------------------------------------------------------------------
def test_each_view_supports_its_plane():
    assert [measure_source("sagittal", m) for m in SAGITTAL + FRONTAL] == ["2d"] * 4 + [None] * 3
    assert [measure_source("frontal", m) for m in SAGITTAL + FRONTAL] == [None, "3d", None, None] + ["2d"] * 3
    # oblique: 3D sagittal estimates, but never the foot (MediaPipe's 3D foot is biased) nor a frontal measure
    assert [measure_source("oblique", m) for m in SAGITTAL + FRONTAL] == ["3d", "3d", None, "3d"] + [None] * 3
    assert parse_column("right_knee_fppa_3d_deg") == ("right", "knee_fppa", True)
    assert parse_column("trunk_lean_deg") == (None, "trunk_lean", False)


def test_side_view_csv_has_no_frontal_value(tmp_path):
    pose, angles = squat_clip(90.0)
    assert estimate_view(pose, angles).view == "sagittal"
    assert np.isfinite(angles["left_knee_fppa_deg"]).any()      # computed, as an artefact, before the rule
    shown = supported_angles(angles, pose, "sagittal")
    cols = csv_columns(shown, tmp_path)
    frontal = [c for c in cols if parse_column(c)[1] in FRONTAL]
    assert len(frontal) == 12                                   # kept in place (2D and 3D), every cell empty
    for c in frontal:
        assert not any(cols[c]), c
        assert "side view" in shown.withheld[c]
    for c in ("left_knee_flexion_deg", "left_hip_flexion_deg", "trunk_lean_deg", "left_knee_flexion_3d_deg"):
        assert all(cols[c]), c


def test_front_view_csv_has_no_sagittal_value_but_the_3d_knee(tmp_path):
    pose, angles = squat_clip(0.0)
    assert estimate_view(pose, angles).view == "frontal"
    shown = supported_angles(angles, pose, "frontal")
    cols = csv_columns(shown, tmp_path)
    for c in cols:
        side, measure, is_3d = parse_column(c)
        if measure in SAGITTAL and not (measure == "knee_flexion" and is_3d):
            assert not any(cols[c]) and c in shown.withheld, c
    assert "3D estimate" in shown.withheld["left_knee_flexion_deg"]
    for c in ("left_knee_flexion_3d_deg", "left_pelvic_drop_deg"):
        assert all(cols[c]) and c not in shown.withheld, c
    # the FPPA wherever the thigh is in the picture's plane, not at the bottoms, where it points at the camera
    fppa = np.array([v != "" for v in cols["left_knee_fppa_deg"]])
    assert 0.5 < fppa.mean() < 1 and not fppa[int(np.nanargmax(angles["left_knee_flexion_3d_deg"]))]


# ----- plots ---------------------------------------------------------------------------------
def recorded_plots(monkeypatch, angles: AngleSeries, tmp_path) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """The series each chart draws and the charts drawn as 'not measured' (title, reason)."""
    drawn, withheld = [], []
    draw, say = plots._plot_series, plots._withheld_figure
    monkeypatch.setattr(plots, "_plot_series", lambda ax, t, y, c: drawn.append(y) or draw(ax, t, y, c))
    monkeypatch.setattr(plots, "_withheld_figure", lambda title, why: withheld.append((title, why)) or say(title, why))
    paths = plot_angles(angles, tmp_path, [(0.75, 3.0, "1B")])
    assert [p.name for p in paths] == ["sagittal.png", "frontal.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    return drawn, withheld


def test_side_view_plots_draw_no_frontal_measure(monkeypatch, tmp_path):
    pose, angles = squat_clip(90.0)
    shown = supported_angles(angles, pose, "sagittal")
    shown.angles.update({name: angles[name] for name in shown.withheld})   # numbers back: only the plot's rule is left
    drawn, withheld = recorded_plots(monkeypatch, shown, tmp_path)
    assert drawn and not any(y is shown[name] for y in drawn for name in shown.withheld)
    assert len(withheld) == 1 and "Frontal" in withheld[0][0] and "side view" in withheld[0][1]


def test_front_view_plots_show_the_3d_knee_and_no_sagittal_2d(monkeypatch, tmp_path):
    pose, angles = squat_clip(0.0)
    shown = supported_angles(angles, pose, "frontal")
    drawn, withheld = recorded_plots(monkeypatch, shown, tmp_path)
    assert not withheld
    assert any(y is shown["left_knee_flexion_3d_deg"] for y in drawn)
    assert not any(y is shown[name] for y in drawn for name in shown.withheld)


# ----- frame edge: no ankle value, no ankle flag -----------------------------------------------
def sit_back_squat(n: int = 3) -> PoseSeries:
    """Hips far back, shins near vertical: limited dorsiflexion at the bottom, by the rules."""
    t = np.arange(0, n * 3.0 + 1.5, 1 / 30)
    ph = mf.rep_phase(t, [0.75 + 3.0 * i for i in range(n)], down_s=1.2, up_s=1.2)
    frames = [mf.body_frame(np.array([-0.35 * p, mf.STAND_HIP - 0.40 * p, 0.0]), trunk_lean=35 * p,
                            ankles=mf.standing_ankles(0.16)) for p in ph]
    return mf.project(frames, t, yaw_deg=90.0)


def feet_at_bottom_edge(pose: PoseSeries) -> PoseSeries:
    """The same clip framed so the picture ends at the feet (as squat_side_01 does): just below the
    far foot, which stands higher in the image, so the near one is cut off."""
    sole = min(np.nanmax(pose.image_xy[:, [SIDE_LANDMARKS[s][j] for j in ("heel", "foot_index")], 1])
               for s in ("left", "right"))
    return pose.copy_with(height=int(sole / (1 - EDGE_MARGIN / 2)))


def ankle_codes(report) -> set[str]:
    return {f.code for f in report.all_flags()} & ANKLE_FLAGS


def test_foot_at_the_frame_edge_gives_no_ankle_value_and_no_ankle_flag():
    pose = sit_back_squat()
    angles = quiet(angles_from_clean, pose)
    seen = quiet(analyze_movement, pose, angles, exercise="squat")
    assert seen.rep_count == 3
    assert all("ankle_dorsiflexion_limited" in {f.code for f in r.flags} for r in seen.reps)
    assert all(r.metrics["shank_inclination_bottom_deg"] < 20 for r in seen.reps)

    cut = feet_at_bottom_edge(pose)
    ok = landmark_support(cut)
    assert not ok[:, SIDE_LANDMARKS["left"]["heel"]].any() and ok[:, SIDE_LANDMARKS["left"]["knee"]].all()
    shown = supported_angles(angles, cut, "sagittal")
    for side in ("left", "right"):
        for col in (f"{side}_ankle_dorsiflexion_deg", f"{side}_ankle_dorsiflexion_3d_deg"):
            assert not np.isfinite(shown[col]).any() and "edge" in shown.withheld[col]
    # the far leg's ankle is still in the picture, so its knee is still measured
    assert max(np.isfinite(shown[f"{side}_knee_flexion_deg"]).mean() for side in ("left", "right")) == 1.0
    report = quiet(analyze_movement, cut, angles, exercise="squat")
    assert report.rep_count == 3 and not ankle_codes(report)
    for r in report.reps:
        assert r.metrics["ankle_dorsiflexion_bottom_deg"] is None and r.metrics["heel_lift_deg"] is None
        assert r.metrics["peak_knee_flexion_deg"] > 60          # the knee was in the picture: still measured


def test_rendered_figure_with_its_feet_at_the_frame_edge_gives_no_ankle_value():
    """The synthetic lab's figure (true landmarks of the rendered squat), framed to the feet."""
    clip = pytest.importorskip("formcheck.synth.clip")
    arrays, _ = clip.simulate_truth(clip.SynthConfig(motion="squat", view="side", side="right", reps=2))
    t, vis = arrays["time_s"], arrays["visible"].astype(float)
    img = np.where(vis[..., None] >= 0.5, arrays["image_xy"].astype(float), np.nan)
    pose = PoseSeries(time_s=t, image_xy=img, image_z=np.zeros((len(t), 33)),
                      world_xyz=arrays["world_mp"].astype(float),
                      visibility=vis, presence=vis.copy(), width=1280, height=720)
    angles = AngleSeries(time_s=t, angles={k[5:]: v for k, v in arrays.items() if k.startswith(("fc2d_", "fc3d_"))},
                         facing=arrays["facing"])
    full = supported_angles(angles, pose, "sagittal")
    assert not full.withheld.keys() & {"left_ankle_dorsiflexion_deg", "right_ankle_dorsiflexion_deg"}
    cut = feet_at_bottom_edge(pose)
    shown = supported_angles(angles, cut, "sagittal")
    assert {"left_ankle_dorsiflexion_deg", "right_ankle_dorsiflexion_deg"} <= shown.withheld.keys()
    report = quiet(analyze_movement, cut, angles, exercise="squat")
    assert report.rep_count == 2 and not ankle_codes(report)
    assert all(r.metrics["ankle_dorsiflexion_bottom_deg"] is None for r in report.reps)


@pytest.mark.parametrize("shank, flagged", [(12.0, True), (35.0, False), (None, False)])
def test_limited_dorsiflexion_needs_the_shin_to_agree(shank, flagged):
    """A low ankle reading under a shin tilted far forward is the foot landmarks, not the ankle."""
    rep = Rep(index=1, side="both", start_s=0.0, bottom_s=1.0, end_s=2.0, complete=True,
              metrics={"peak_knee_flexion_deg": 120.0, "ankle_dorsiflexion_bottom_deg": 8.0,
                       "shank_inclination_bottom_deg": shank})
    codes = {f.code for f in rep_flags(load_thresholds(), "squat", rep, {}, 100.0)}
    assert ("ankle_dorsiflexion_limited" in codes) is flagged


@pytest.mark.parametrize("ankle_share, flagged", [(0.0, False), (0.6, True)])
def test_heel_lift_needs_the_ankle_to_rise_with_the_heel(ankle_share, flagged):
    """A heel point rising alone (misplaced behind a dumbbell on a real split squat) is no heel lift;
    a real one carries the ankle up on its shorter lever (rendered heel lifts: 0.62 of the heel's rise)."""
    pose, angles = squat_clip(90.0)
    knee = angles["left_knee_flexion_deg"]
    up = 60.0 * np.clip((knee - 20) / (np.nanmax(knee) - 20), 0, 1)       # px, deepest at the bottom
    xy = pose.image_xy.copy()
    for side in ("left", "right"):
        xy[:, SIDE_LANDMARKS[side]["heel"], 1] -= up
        xy[:, SIDE_LANDMARKS[side]["ankle"], 1] -= ankle_share * up
    report = quiet(analyze_movement, pose.copy_with(image_xy=xy), angles, exercise="squat")
    assert report.rep_count == 3
    assert all(("heel_lift" in {f.code for f in r.flags}) is flagged for r in report.reps), \
        [r.metrics["heel_lift_deg"] for r in report.reps]


# ----- annotated video labels, printable report, live cues ------------------------------------
def test_video_labels_are_the_supported_numbers_2d_or_3d():
    pose, angles = squat_clip(90.0)
    side = supported_angles(angles, pose, "sagittal")
    i = int(np.nanargmax(side["left_knee_flexion_deg"]))
    texts = joint_label_texts(row(side, i), side.withheld, VIDEO_ANGLE_LABELS)
    assert texts[("left", "knee")] == f"K {side['left_knee_flexion_deg'][i]:.0f}°"     # 2D, as the table
    assert {j for _, j in texts} == {"hip", "knee", "ankle"}
    assert not any("FPPA" in t or "3D" in t for t in texts.values())

    pose, angles = squat_clip(0.0)
    front = supported_angles(angles, pose, "frontal")
    i = int(np.nanargmax(np.where(np.isfinite(front["left_knee_fppa_deg"]), front["left_knee_flexion_3d_deg"], np.nan)))
    texts = joint_label_texts(row(front, i), front.withheld, VIDEO_ANGLE_LABELS)
    assert texts[("left", "knee")] == (f"K {front['left_knee_flexion_3d_deg'][i]:.0f}° 3D  "
                                       f"FPPA {front['left_knee_fppa_deg'][i]:.0f}°")
    assert {j for _, j in texts} == {"knee"}                    # no hip, no ankle from the front
    bottom = int(np.nanargmax(front["left_knee_flexion_3d_deg"]))  # thigh toward the camera: no FPPA
    assert "FPPA" not in joint_label_texts(row(front, bottom), front.withheld, VIDEO_ANGLE_LABELS)[("left", "knee")]
    # without the rule the video wrote the 2D projection of the knee
    raw = joint_label_texts(row(angles, i), (), VIDEO_ANGLE_LABELS)
    assert raw[("left", "knee")].startswith(f"K {angles['left_knee_flexion_deg'][i]:.0f}° ")


def test_printable_report_says_why_instead_of_numbers():
    from formcheck.schema import Analysis, AngleSummary, InputInfo, ModelInfo, QualityInfo, SubjectInfo
    from formcheck.service.report import render_report

    why = "filmed from a side view; this measure is only valid from a front or back view"
    analysis = Analysis(
        formcheck_version="0", created_at=datetime.now(UTC),
        input=InputInfo(file_name="c.mp4", width=640, height=480, fps=30.0, duration_s=1.0, frames=30,
                        rotation_deg=0, codec="h264"),
        model=ModelInfo(name="lite", file="m.task", sha256="0"), settings={},
        subject=SubjectInfo(people_seen=1, frames_with_others=0, reason="only one"),
        quality=QualityInfo(frames_with_pose=30, pose_fraction=1.0, longest_gap_s=0.0),
        angles=[AngleSummary(name="left_knee_fppa_deg", valid_fraction=0.0, min=None, median=None, max=None),
                AngleSummary(name="left_knee_flexion_deg", valid_fraction=1.0, min=2.0, median=50.0, max=157.0)],
        withheld_measures={"left_knee_fppa_deg": why}, files={})
    html = render_report(SimpleNamespace(file_name="c.mp4"), analysis, "/x")
    assert (f"<td>Left knee caving in (frontal plane projection angle)</td><td colspan='4' class='muted'>"
            f"not measured: {why}</td>") in html
    assert "<td class='num'>157.0°</td>" in html


def live_run(pose: PoseSeries, live: LiveAnalyzer | None = None, t0: float = 0.0):
    live = live or LiveAnalyzer("squat")
    out = []
    for i, t in enumerate(pose.time_s):
        d = Detection(pose.image_xy[i], pose.image_z[i], pose.world_xyz[i], pose.visibility[i], pose.presence[i])
        out.append(quiet(live.update, t0 + t, d, pose.width, pose.height))
    return live, out


def test_live_never_praises_while_the_setup_check_fails():
    front, _ = mf.squat(n=3, yaw=0.0)
    _, updates = live_run(front)                   # a squat filmed from the front: "turn sideways"
    last = updates[-1]
    assert last.rep_count == 3 and not last.setup.ok and last.setup.messages[0].startswith("Turn sideways")
    assert not any("looks good" in c for u in updates for c in u.cues)
    assert "not checked" in last.cues[0] and "Turn sideways" in last.cues[0]

    side, _ = mf.squat(n=3, yaw=90.0)
    live, updates = live_run(side)                 # set up right: the clean squats are praised ...
    assert updates[-1].setup.ok and "looks good" in updates[-1].cues[0]
    standing = PoseSeries(time_s=front.time_s[:45], image_xy=front.image_xy[:45], image_z=front.image_z[:45],
                          world_xyz=front.world_xyz[:45], visibility=front.visibility[:45],
                          presence=front.presence[:45], width=front.width, height=front.height)
    _, after = live_run(standing, live, t0=side.time_s[-1] + 0.1)
    assert not after[-1].setup.ok                  # ... until the subject turns to face the camera
    assert not any("looks good" in c for c in after[-1].cues) and "not checked" in after[-1].cues[0]


# ----- real clips ------------------------------------------------------------------------------
@pytest.mark.samples
@pytest.mark.slow
def test_real_side_squat_feet_cut_off_no_frontal_no_ankle(analysed):
    """squat_side_01: filmed from the side, the toes below the bottom edge, the shins far forward."""
    _, clean, angles = analysed("squat_side_01")
    report = quiet(analyze_movement, clean, angles)
    assert report.view == "sagittal"
    shown = supported_angles(angles, clean, report.view)
    for name, values in shown.angles.items():
        if parse_column(name)[1] in FRONTAL:
            assert name in shown.withheld and not np.isfinite(values).any(), name
    assert np.mean(np.isfinite(shown["left_ankle_dorsiflexion_deg"])) < 0.1     # the near toe is cut off
    assert not ankle_codes(report), [f.code for f in report.all_flags()]
    assert all(r.metrics["shank_inclination_bottom_deg"] > 25 for r in report.reps if r.complete)


@pytest.mark.samples
@pytest.mark.slow
def test_real_front_squat_has_no_sagittal_measure(analysed):
    _, clean, angles = analysed("squat_goblet_front_01")
    report = quiet(analyze_movement, clean, angles)
    assert report.view == "frontal"
    shown = supported_angles(angles, clean, report.view)
    for name, values in shown.angles.items():
        side, measure, is_3d = parse_column(name)
        if measure in SAGITTAL and not (measure == "knee_flexion" and is_3d):
            assert name in shown.withheld and not np.isfinite(values).any(), name
    assert np.isfinite(shown["left_knee_flexion_3d_deg"]).mean() > 0.9
    # the FPPA while the thigh is in the picture's plane; at the bottoms it points at the camera and
    # read -80 to -117 deg (knees-out peaks: -13 to -17)
    fppa = shown["left_knee_fppa_deg"]
    assert 0.5 < np.isfinite(fppa).mean() < 0.9 and np.nanmin(fppa) > -70
    assert all(-20 < r.metrics["peak_knee_fppa_deg"] < -10 for r in report.reps if r.complete)
