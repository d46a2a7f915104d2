"""Every metric of the screening as a long-format CSV: one row per test/trial/rep/metric, with units."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

from formcheck.clinic.report_model import ScreeningReport
from formcheck.clinic.reports.content import strategy
from formcheck.clinic.scoring import DIRECTIONS, LEGS
from formcheck.outputs.tables import spreadsheet_safe

CSV_COLUMNS = ("athlete", "screening_date", "test_id", "test", "trial_or_rep", "side", "direction",
               "metric", "value", "unit")


def metric_unit(name: str, value: Any = None) -> str:
    """Unit of an analysis metric from its name (the naming rules of docs/movements.md)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    rules = (
        ("_deg", "deg"), ("_cm", "cm"), ("_pct_leg", "% limb length"), ("_pct_limb", "% limb length"),
        ("_pct_of_median", "%"), ("_pct", "%"), ("_leg", "leg lengths"), ("_s", "s"), ("_reps", "count"),
    )
    for suffix, unit in rules:
        if name.endswith(suffix):
            return unit
    if "ratio" in name:
        return "ratio"
    return ""


def metric_rows(report: ScreeningReport) -> Iterable[dict[str, Any]]:
    """Every metric of the screening, long format: mSEBT trials and scores, then each clip's
    per-rep metrics and clip summary."""
    base = {"athlete": report.athlete.name, "screening_date": report.screening.date.isoformat()}

    def row(test_id: str, test: str, rep: Any, side: Any, direction: Any, metric: str, value: Any, unit: str):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and not math.isfinite(value):
            value = ""
        return {**base, "test_id": test_id, "test": test, "trial_or_rep": "" if rep is None else rep,
                "side": side or "", "direction": direction or "", "metric": metric,
                "value": "" if value is None else value, "unit": unit}

    score = report.sebt
    if score is not None:
        for leg in LEGS:
            ls = score.legs[leg]
            for direction in DIRECTIONS:
                d = ls.directions[direction]
                for t in d.trials:
                    for metric, value, unit in (("reach_cm", t.cm, "cm"),
                                                ("reach_pct_limb", t.pct_limb, "% limb length"),
                                                ("valid", t.valid, "bool"), ("best", t.best, "bool")):
                        yield row(t.test_id or "", "msebt_trial", t.trial, leg, direction, metric, value, unit)
                yield row("", "msebt_score", None, leg, direction, "best_reach_cm", d.reach_cm, "cm")
                yield row("", "msebt_score", None, leg, direction, "best_reach_pct_limb", d.reach_pct_limb,
                          "% limb length")
            yield row("", "msebt_score", None, leg, "", "limb_length_cm", ls.limb_length_cm, "cm")
            yield row("", "msebt_score", None, leg, "", "composite_pct_limb", ls.composite_pct, "% limb length")
        yield row("", "msebt_score", None, "both", "anterior", "anterior_diff_cm", score.anterior_diff_cm, "cm")
        yield row("", "msebt_score", None, "both", "anterior", "anterior_diff_pct_limb", score.anterior_diff_pct_limb,
                  "% limb length")
    for test in report.tests:
        m = test.analysis.movement
        if m is None:
            continue
        for rep in m.reps:
            rep_direction = rep.direction or ""
            for name, measured in rep.metrics.items():
                yield row(test.id, test.kind, rep.index, rep.side, rep_direction, name, measured,
                          metric_unit(name, measured))
            if test.kind != "msebt":
                yield row(test.id, test.kind, rep.index, rep.side, rep_direction, "strategy",
                          strategy(rep.metrics), "text")
        for name, measured in m.summary.items():
            yield row(test.id, test.kind, None, "", "", name, measured, metric_unit(name, measured))


def metrics_csv(report: ScreeningReport) -> str:
    """The CSV text; a text cell a spreadsheet would run as a formula (an athlete named
    "=HYPERLINK(...)") starts with an apostrophe, numbers stay numbers."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in metric_rows(report))
    return buf.getvalue()
