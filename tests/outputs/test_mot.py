"""OpenSim .mot export: header counts, column names and signs, round trip, gaps, CSV round trip."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.outputs import read_angles_csv, read_mot, write_angles_csv, write_mot
from formcheck.outputs.mot import OPENSIM_COORDINATES, mot_text
from formcheck.series import AngleSeries


def _angles(n: int = 50) -> AngleSeries:
    t = np.arange(n) / 30.0
    rng = np.random.default_rng(3)
    cols = {
        f"{side}_{base}{suffix}": rng.uniform(-30, 120, n)
        for side in ("left", "right")
        for base in ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "knee_fppa")
        for suffix in ("_deg", "_3d_deg")
    }
    cols["trunk_lean_deg"] = rng.uniform(0, 40, n)
    cols["left_knee_flexion_deg"][[5, 6, 7]] = np.nan
    return AngleSeries(time_s=t, angles=cols, facing=np.ones(n))


def test_header_counts_and_columns(tmp_path):
    angles = _angles()
    table = read_mot(write_mot(angles, tmp_path / "a.mot", name="trial 1"))
    assert table.name == "trial 1"
    assert table.header["version"] == "1" and table.header["inDegrees"] == "yes"
    assert int(table.header["nRows"]) == len(angles.time_s) == table.data.shape[0]
    assert int(table.header["nColumns"]) == len(table.columns) == table.data.shape[1] == 7
    assert table.columns == ["time"] + [c for c, _, _ in OPENSIM_COORDINATES]
    text = (tmp_path / "a.mot").read_text()
    assert text.index("inDegrees=yes") < text.index("endheader") < text.index("time\thip_flexion_r")


def test_values_round_trip_with_signs_and_gaps(tmp_path):
    angles = _angles()
    table = read_mot(write_mot(angles, tmp_path / "a.mot"))
    np.testing.assert_allclose(table.column("time"), angles.time_s, atol=1e-6)
    np.testing.assert_allclose(table.column("hip_flexion_r"), angles["right_hip_flexion_deg"], atol=1e-6)
    np.testing.assert_allclose(table.column("ankle_angle_l"), angles["left_ankle_dorsiflexion_deg"], atol=1e-6)
    # gait2392: knee_angle is negative in flexion
    np.testing.assert_allclose(table.column("knee_angle_r"), -angles["right_knee_flexion_deg"], atol=1e-6)
    knee_l = table.column("knee_angle_l")
    assert np.isnan(knee_l[[5, 6, 7]]).all() and np.isfinite(np.delete(knee_l, [5, 6, 7])).all()
    np.testing.assert_allclose(knee_l, -angles["left_knee_flexion_deg"], atol=1e-6)


def test_knee_positive_option_and_3d(tmp_path):
    angles = _angles()
    table = read_mot(write_mot(angles, tmp_path / "b.mot", use_3d=True, knee_flexion_negative=False))
    np.testing.assert_allclose(table.column("knee_angle_r"), angles["right_knee_flexion_3d_deg"], atol=1e-6)
    np.testing.assert_allclose(table.column("hip_flexion_l"), angles["left_hip_flexion_3d_deg"], atol=1e-6)
    assert "knee_angle positive in flexion" in (tmp_path / "b.mot").read_text()


def test_missing_columns_give_a_clear_error():
    only_trunk = AngleSeries(time_s=np.arange(3.0), angles={"trunk_lean_deg": np.zeros(3)}, facing=np.zeros(3))
    with pytest.raises(ValueError, match="no hip/knee/ankle 2D angle columns.*trunk_lean_deg"):
        mot_text(only_trunk)


def test_not_a_mot_file(tmp_path):
    path = tmp_path / "x.mot"
    path.write_text("time\ta\n0\t1\n")
    with pytest.raises(ValueError, match="endheader"):
        read_mot(path)


def test_angles_csv_round_trip_feeds_the_export(tmp_path):
    angles = _angles()
    back = read_angles_csv(write_angles_csv(angles, tmp_path / "angles.csv"))
    assert set(back.names) == set(angles.names)
    np.testing.assert_allclose(back["left_knee_flexion_deg"], angles["left_knee_flexion_deg"], atol=0.006)
    table = read_mot(write_mot(back, tmp_path / "from_csv.mot"))
    np.testing.assert_allclose(table.column("knee_angle_l"), -angles["left_knee_flexion_deg"], atol=0.006)


def test_read_angles_csv_rejects_other_csv(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="time_s"):
        read_angles_csv(path)
