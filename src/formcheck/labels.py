"""Words and units people read, in one place: the results page (via GET /api/v1/labels), the
single-clip report and the clinic's screening reports use the same names for metrics, angle
columns, views and measures, and print numbers, units and flag cut-offs with the same functions.

Keys are the analysis.json names (snake_case); nothing a person reads should show one. A key not
listed here still gets a readable label (`metric_label`), so a new metric never leaks raw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# unit code (metric key suffix or a Flag's unit) -> what is printed after the number
UNITS = {"deg": "°", "s": "s", "cm": "cm", "leg": "leg lengths", "pct_leg": "% leg length",
         "pct_limb": "% leg length", "pct": "%", "ratio": "", "count": "", "px": "px"}
# The same units in the clinic's words: clinicians say "limb length" (the length they measure, ASIS
# to medial malleolus) where the runner's pages say "leg length"; sentences say "of".
CLINIC_UNITS = {**UNITS, "pct_leg": "% limb length", "pct_limb": "% limb length"}  # screening report tables
CLINIC_TREND_UNITS = {**UNITS, "pct_limb": "% limb"}              # history plot titles and change sentences
CLINIC_SENTENCE_UNITS = {**UNITS, "pct_limb": "% of limb length"}  # mSEBT flags' details
ATHLETE_SENTENCE_UNITS = {**UNITS, "pct_limb": "% of leg length"}  # the athlete's share page

# metric key -> (label, unit code); unit codes as UNITS
METRICS: dict[str, tuple[str, str]] = {
    "peak_knee_flexion_deg": ("Knee bend (deepest)", "deg"),
    "peak_hip_flexion_deg": ("Hip bend (deepest)", "deg"),
    "peak_ankle_dorsiflexion_deg": ("Ankle bend (deepest)", "deg"),
    "ankle_dorsiflexion_bottom_deg": ("Ankle bend at the bottom", "deg"),
    "peak_trunk_lean_deg": ("Forward trunk lean", "deg"),
    "peak_trunk_lateral_lean_deg": ("Sideways trunk lean", "deg"),
    "peak_knee_fppa_deg": ("Knee caving in (FPPA)", "deg"),
    "peak_contralateral_pelvic_drop_deg": ("Pelvic drop, free side", "deg"),
    "trunk_minus_shin_deg": ("Trunk lean minus shin angle", "deg"),
    "shank_inclination_bottom_deg": ("Shin angle at the bottom", "deg"),
    "heel_lift_deg": ("Heel lift", "deg"),
    "stance_heel_lift_deg": ("Standing heel lift", "deg"),
    "stance_knee_unload_deg": ("Standing knee unloading", "deg"),
    "hip_knee_ratio": ("Hip-to-knee bend ratio", "ratio"),
    "rear_knee_flexion_deg": ("Back knee bend", "deg"),
    "rear_hip_extension_deg": ("Back hip extension", "deg"),
    "stance_length_leg": ("Stride length", "leg"),
    "foot_travel_leg": ("Foot travel", "leg"),
    "foot_lift_leg": ("Foot lift", "leg"),
    "hip_drop_pct_leg": ("Hip drop", "pct_leg"),
    "hip_rise_pct_leg": ("Hip rise", "pct_leg"),
    "step_height_pct_leg": ("Step height", "pct_leg"),
    "knee_drive_height_leg": ("Knee drive height", "leg"),
    "knee_drive_hip_flexion_deg": ("Knee drive hip bend", "deg"),
    "knee_drive": ("Knee drive", ""),
    "overhead_press": ("Overhead press", ""),
    "foot_pattern": ("Foot pattern", ""),
    "measured_leg": ("Leg measured", ""),
    "angle_source": ("Angles from", ""),
    "side_confidence": ("Leg identification confidence", "ratio"),
    "excursion_pct_of_median": ("Depth vs typical rep", "pct"),
    "descent_s": ("Down", "s"),
    "pause_s": ("Pause", "s"),
    "ascent_s": ("Up", "s"),
    "up_s": ("Up", "s"),
    "top_s": ("At the top", "s"),
    "down_s": ("Down", "s"),
    "duration_s": ("Rep time", "s"),
    "reach_pct_leg": ("Reach", "pct_leg"),
    "reach_cm": ("Reach", "cm"),
    "reach_on_floor_cm": ("Reach on the floor", "cm"),
    "reach_anterior_pct_leg": ("Forward part of the reach", "pct_leg"),
    "reach_medial_pct_leg": ("Inward part of the reach", "pct_leg"),
    "reach_method": ("Reach measured from", ""),
    "reach_scale": ("Reach scaled by", ""),
    "reach_out_s": ("Reach out", "s"),
    "return_s": ("Return", "s"),
    "reach_foot_down_s": ("Reach foot on the floor", "s"),
    "knee_flexion_at_reach_deg": ("Knee bend at full reach", "deg"),
    "hip_flexion_at_reach_deg": ("Hip bend at full reach", "deg"),
    "ankle_dorsiflexion_at_reach_deg": ("Ankle bend at full reach", "deg"),
    "trunk_lean_at_reach_deg": ("Trunk lean at full reach", "deg"),
    "stance_foot_shift_leg": ("Standing foot shift", "leg"),
    "returned": ("Returned to the start", ""),
    "valid": ("Valid trial", ""),
    "invalid_reasons": ("Why not valid", ""),
}

# The 6-8 numbers that matter per exercise family; the rest of a rep's metrics go behind "details".
KEY_METRICS: dict[str, list[str]] = {
    "squat": ["peak_knee_flexion_deg", "peak_hip_flexion_deg", "peak_trunk_lean_deg", "peak_ankle_dorsiflexion_deg",
              "trunk_minus_shin_deg", "heel_lift_deg", "peak_knee_fppa_deg", "duration_s"],
    "single_leg_squat": ["peak_knee_flexion_deg", "peak_hip_flexion_deg", "peak_trunk_lean_deg", "peak_knee_fppa_deg",
                         "peak_contralateral_pelvic_drop_deg", "peak_trunk_lateral_lean_deg", "hip_drop_pct_leg",
                         "duration_s"],
    "lunge": ["peak_knee_flexion_deg", "peak_hip_flexion_deg", "peak_trunk_lean_deg", "rear_knee_flexion_deg",
              "stance_length_leg", "peak_knee_fppa_deg", "peak_contralateral_pelvic_drop_deg", "duration_s"],
    "step_up": ["step_height_pct_leg", "hip_rise_pct_leg", "peak_knee_flexion_deg", "peak_hip_flexion_deg",
                "peak_trunk_lean_deg", "peak_knee_fppa_deg", "peak_contralateral_pelvic_drop_deg",
                "knee_drive_height_leg"],
    "sebt": ["reach_pct_leg", "reach_cm", "knee_flexion_at_reach_deg", "hip_flexion_at_reach_deg",
             "trunk_lean_at_reach_deg", "peak_knee_fppa_deg", "stance_heel_lift_deg", "valid"],
}

# string metric values and other codes -> words
VALUES = {
    "2d": "the picture (2D)", "3d": "the 3D estimate", "forward": "steps forward", "backward": "steps back",
    "static": "feet planted", "lateral": "steps sideways", "walking": "walking", "leg_length": "your leg length",
    "marker": "the floor marker", "image_leg": "the leg in the picture", "left": "left", "right": "right",
    "both": "both", "image (in-plane)": "the picture (in its plane)",
}

VIEWS = {"sagittal": "side view", "frontal": "front view", "oblique": "angled view", "unknown": "view not recognised"}

# measures named in unsupported_measures and withheld angle columns (without side and unit)
MEASURES = {
    "knee_fppa": "Knee caving in (frontal plane projection angle)",
    "pelvic_drop": "Pelvic drop",
    "heel_lift": "Heel lift",
    "trunk_lateral_lean": "Sideways trunk lean",
    "trunk_lean": "Forward trunk lean",
    "hip_flexion": "Hip bend (flexion)",
    "knee_flexion": "Knee bend (flexion)",
    "ankle_dorsiflexion": "Ankle bend (dorsiflexion)",
    "knee_drive": "Knee drive",
    "reach": "Reach",
}

EVIDENCE = {"published": "Published cut-off", "coaching default": "Coaching rule of thumb (no published cut-off)"}
PLANES = {"sagittal": "Side-view angles (sagittal plane)", "frontal": "Front-view angles (frontal plane)"}


def _humanize(key: str) -> str:
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def unit_text(code: str | None, words: Mapping[str, str] = UNITS) -> str:
    """'°', 's', '% leg length'... for a unit code, in `words` (UNITS or the clinic's); an unknown
    code is printed as words."""
    if not code:
        return ""
    return words.get(code, code.replace("_", " "))


def metric_label(key: str) -> str:
    """A metric's name; 'reach_pct_leg[anterior]' (an mSEBT direction) -> 'Reach (anterior)'."""
    if key.endswith("]") and "[" in key:
        base, direction = key[:-1].split("[", 1)
        return f"{metric_label(base)} ({direction})"
    if key in METRICS:
        return METRICS[key][0]
    for suffix in ("_deg", "_pct_leg", "_leg", "_cm", "_s", "_pct"):
        if key.endswith(suffix):
            return _humanize(key.removesuffix(suffix))
    return _humanize(key)


def metric_unit(key: str) -> str:
    if key in METRICS:
        return unit_text(METRICS[key][1])
    for suffix in ("deg", "pct_leg", "leg", "cm", "s", "pct"):
        if key.endswith("_" + suffix):
            return unit_text(suffix)
    return ""


def value_text(value: Any, unit: str = "", digits: int = 1) -> str:
    """A number with its unit, yes/no, words for a code; '—' where nothing was measured (never None/NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        number = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        return number + ("" if not unit else unit if unit in ("°", "%") else f" {unit}")
    text = str(value)
    return VALUES.get(text, text.replace("_", " "))


def number_text(value: Any, digits: int = 1, unit: str = "") -> str:
    """As `value_text`, with an int printed to `digits` decimals like a float (a birth year with 0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value_text(value, unit, digits)


def flag_value_text(value: float, unit_code: str, words: Mapping[str, str] = UNITS, digits: int | None = None) -> str:
    """A flag's value or cut-off with its unit: two decimals for a ratio unless `digits` says."""
    return value_text(value, unit_text(unit_code, words), (2 if unit_code == "ratio" else 1) if digits is None
                      else digits)


def threshold_text(direction: str, threshold: float, unit_code: str, words: Mapping[str, str] = UNITS) -> str:
    """A flag's cut-off as '> 94 % limb length' (direction "above") or '< 4 cm'."""
    return f"{'>' if direction == 'above' else '<'} {threshold:g} {unit_text(unit_code, words)}"


def metric_digits(key: str) -> int:
    """Decimals shown: two for ratios and lengths in leg lengths (0.85), one otherwise."""
    return 2 if key in METRICS and METRICS[key][1] in ("ratio", "leg") else 1


def metric_text(key: str, value: Any, with_unit: bool = True) -> str:
    return value_text(value, metric_unit(key) if with_unit else "", metric_digits(key))


def angle_label(column: str) -> str:
    """'left_knee_flexion_deg' -> 'Left knee bend (flexion)'; '_3d' columns say '3D estimate'."""
    name = column.removesuffix("_deg")
    estimate = name.endswith("_3d")
    name = name.removesuffix("_3d")
    side = ""
    for prefix in ("left_", "right_"):
        if name.startswith(prefix):
            side, name = prefix[:-1], name.removeprefix(prefix)
    label = MEASURES.get(name, _humanize(name))
    label = f"{side.capitalize()} {label[:1].lower()}{label[1:]}" if side else label
    return label + (", 3D estimate" if estimate else "")


def measure_label(measure: str) -> str:
    return MEASURES.get(measure, _humanize(measure))


def view_label(view: str | None) -> str:
    return VIEWS.get(view or "unknown", _humanize(view or "unknown"))


def evidence_text(evidence: str, source: str, population: str = "") -> str:
    """'Coaching rule of thumb (no published cut-off); direction of effect from …' — the source is
    not repeated when it only says 'coaching default', and a population of 'none' is left out."""
    rest = source.strip()
    if rest.lower().startswith(evidence.lower()):
        rest = rest[len(evidence):].lstrip(" ;:,")
    text = EVIDENCE.get(evidence, _humanize(evidence))
    if rest:
        text += f"; {rest}" if evidence == "coaching default" else f": {rest}"
    population = population.strip()
    if population.lower().startswith("none"):  # "none (why no population applies)"
        why = population[4:].strip(" ()")
        if why:
            text += f". {why[:1].upper()}{why[1:]}"
    elif population:
        text += f". Studied in: {population}"
    return text


def key_metrics(family: str | None) -> list[str]:
    """The compact rep table's columns for an exercise family (movements.exercises: its spec's
    `family`; the movement modules import this one, so it takes the family, not the exercise)."""
    return list(KEY_METRICS.get(family or "", []))


def labels_payload(families: dict[str, str]) -> dict[str, Any]:
    """Everything the results page needs to print words and units, as JSON (GET /api/v1/labels);
    `families` maps each exercise name to its family."""
    return {
        "metrics": {key: {"label": label, "unit": unit_text(code), "digits": metric_digits(key)}
                    for key, (label, code) in METRICS.items()},
        "units": UNITS,
        "key_metrics": {name: key_metrics(family) for name, family in families.items()},
        "values": VALUES,
        "views": VIEWS,
        "measures": MEASURES,
        "evidence": EVIDENCE,
        "planes": PLANES,
    }
