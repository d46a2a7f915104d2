"""The mSEBT star diagram's geometry and data, the history plot's axes fitted to the data, and the
PDF's pull-back of an orphan last page (issue 17)."""

from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import subprocess

import numpy as np
import pytest

from formcheck.clinic.history import date_limits, history_figure, panels, value_limits
from formcheck.clinic.models import Athlete, HistoryPoint, MetricHistory, Screening
from formcheck.clinic.report_model import ScreeningReport
from formcheck.clinic.reports import as_pdf
from formcheck.clinic.reports.blocks import Para, Picture
from formcheck.clinic.reports.star import direction_angle_deg, star_data, star_png, star_points
from formcheck.clinic.scoring import Trial, score_sebt
from formcheck.movements.thresholds import load_thresholds

LEGS_CM = {"left": 90.0, "right": 91.0}


def test_anterior_points_ahead_and_posteromedial_behind_towards_the_other_leg():
    left = star_points("left", {"anterior": 60.0, "posteromedial": 100.0, "posterolateral": 90.0})
    assert left["anterior"] == pytest.approx((0.0, 60.0), abs=1e-9)
    # left stance: posteromedial goes behind and to the right (towards the right leg), 135° from anterior
    x, y = left["posteromedial"]
    assert x > 0 and y < 0 and math.hypot(x, y) == pytest.approx(100.0)
    assert math.degrees(math.atan2(y, x)) == pytest.approx(90 - 135)
    x, y = left["posterolateral"]
    assert x < 0 and y < 0 and math.hypot(x, y) == pytest.approx(90.0)
    # right stance: the mirror image
    right = star_points("right", {"anterior": 60.0, "posteromedial": 100.0, "posterolateral": 90.0})
    assert right["posteromedial"] == pytest.approx((-left["posteromedial"][0], left["posteromedial"][1]))
    assert direction_angle_deg("right", "posterolateral") == direction_angle_deg("left", "posteromedial")


def test_a_direction_not_measured_has_no_point():
    points = star_points("left", {"anterior": 62.0, "posteromedial": None, "posterolateral": float("nan")})
    assert points["posteromedial"] is None and points["posterolateral"] is None and points["anterior"] is not None


def _score(values: dict[tuple[str, str], list[float]]):
    trials = [Trial(leg=leg, direction=d, trial=i, reach_cm=v, cm_source="tape")
              for (leg, d), vs in values.items() for i, v in enumerate(vs, 1)]
    return score_sebt(trials, LEGS_CM)


def test_star_data_takes_normalised_best_reaches_composites_and_the_thresholds_cut_offs():
    score = _score({("left", "anterior"): [54, 58], ("left", "posteromedial"): [90], ("left", "posterolateral"): [81],
                    ("right", "anterior"): [60], ("right", "posteromedial"): [91], ("right", "posterolateral"): [82]})
    data = star_data(score)
    assert data.leg_reaches("left")["anterior"] == pytest.approx(58 / 90 * 100, abs=0.05)   # best trial, % limb
    assert dict(data.composites)["right"] == pytest.approx((60 + 91 + 82) / (3 * 91) * 100, abs=0.05)
    th = load_thresholds()
    assert {c.value for c in data.cutoffs} == {th["sebt_composite_female_hs_basketball"].value,
                                               th["sebt_composite_male_college_football"].value}
    assert all(c.label and "," not in c.label for c in data.cutoffs)   # "Plisky et al. 2006", not the full citation
    png = star_png(score)
    assert png is not None and png.startswith(b"\x89PNG")
    assert star_png(_score({})) is None   # nothing measured: no diagram


def _history(dates_values, metric="sebt_composite_left", label="mSEBT composite, left stance", mdc=8.15):
    points = [HistoryPoint(screening_id=f"s{k}", date=d, value=v) for k, (d, v) in enumerate(dates_values)]
    return MetricHistory(metric=metric, label=label, unit="pct_limb", mdc=mdc, points=points)


def test_one_screening_gets_an_axis_of_weeks_not_years():
    day = dt.date(2025, 3, 1)
    lo, hi = date_limits([day])
    assert lo < day < hi and (hi - lo).days <= 60
    fig = history_figure([_history([(day, 90.0)])])
    fig.canvas.draw()
    ax = fig.axes[0]
    years = {int(v) for v in np.floor(np.asarray(ax.get_xlim()) / 365.25) + 1970}
    assert years == {2025}
    low, high = ax.get_ylim()
    assert low < 90.0 < high and high - low < 20   # fitted to the value (± half an MDC), not 0-100


def test_axes_span_the_screenings_with_a_margin():
    dates = [dt.date(2024, 1, 10), dt.date(2025, 1, 10)]
    lo, hi = date_limits(dates)
    assert lo < dates[0] and hi > dates[1] and (hi - lo).days < 365 * 1.5
    lo_v, hi_v = value_limits([80.0, 96.0], mdc=8.15)
    assert lo_v < 80 and hi_v > 96 and hi_v - lo_v < 30


def test_left_and_right_share_one_panel():
    day = dt.date(2025, 3, 1)
    shown = panels([_history([(day, 90.0)]),
                    _history([(day, 88.0)], "sebt_composite_right", "mSEBT composite, right stance"),
                    _history([(day, None)], "sebt_anterior_diff_cm", "mSEBT anterior left/right difference")])
    assert len(shown) == 1 and [side for side, _ in shown[0].series] == ["left", "right"]
    assert shown[0].title.startswith("mSEBT composite (")


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (poppler-utils) is missing")
    return path


def test_a_pdf_whose_last_page_would_hold_one_line_is_pulled_back(tmp_path):
    """A page-high picture, text filling the next page, then one line: drawn a little smaller, the
    pictures let the line join the page before instead of standing alone on a last page."""
    now = dt.datetime.now(dt.UTC)
    report = ScreeningReport(
        athlete=Athlete(id="a", name="RUN-1", created_at=now, updated_at=now),
        screening=Screening(id="s", athlete_id="a", date=dt.date(2025, 3, 1), created_at=now))
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6.6), dpi=40)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    picture = Picture(buf.getvalue(), "image/png", "a tall plot")
    filler = [Para(f"Line {k} of a long section that fills the page.") for k in range(40)]
    for extra in range(0, 30):
        blocks = [picture, picture] + filler[:extra] + [Para("The one reference line.")]
        natural = as_pdf._build(report, blocks, 1.0)
        if natural.pages > 1 and natural.last_page_used < 0.05:
            break
    else:
        pytest.fail("could not build a layout with an orphan last line")
    pdf = as_pdf.render_pdf(report, blocks)
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([_poppler("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")
    pages = pages[:-1] if not pages[-1].strip() else pages
    assert len(pages) == natural.pages - 1
    assert "The one reference line." in pages[-1] and "Line 0 of" in text
