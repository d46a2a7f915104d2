"""Draw docs/angles.png: the angle conventions of docs/angles.md on two stick figures.

Run from the repository root: python docs/make_angles_figure.py
The figures are drawn with y up (plot coordinates); the definitions in docs/angles.md are in
image coordinates (y down) but describe the same geometry.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Arc, Circle  # noqa: E402

OUT = Path(__file__).with_name("angles.png")
SEG = dict(color="0.15", lw=4, solid_capstyle="round", zorder=3)
FAR = dict(color="0.65", lw=4, solid_capstyle="round", zorder=2)
REF = dict(color="0.45", lw=1.2, ls=(0, (4, 3)), zorder=1)
COLORS = {"hip": "#1f77b4", "knee": "#d62728", "ankle": "#2ca02c", "trunk": "#9467bd", "pelvis": "#ff7f0e"}


def unit(deg: float) -> np.ndarray:
    """Direction at `deg` counter-clockwise from +x (plot coordinates, y up)."""
    r = np.radians(deg)
    return np.array([np.cos(r), np.sin(r)])


def heading(v: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(v[1], v[0])))


def line(ax, a, b, **kw):
    ax.plot([a[0], b[0]], [a[1], b[1]], **kw)


def angle_mark(ax, at, d_from, d_to, r, color, text, text_r=None, fontsize=11, label_xy=None):
    """Arc from direction d_from to d_to (the shorter way) at `at`, labelled (at label_xy if given)."""
    a1, a2 = heading(d_from), heading(d_to)
    span = (a2 - a1 + 540) % 360 - 180
    lo, hi = (a1, a1 + span) if span >= 0 else (a1 + span, a1)
    ax.add_patch(Arc(at, 2 * r, 2 * r, theta1=lo, theta2=hi, color=color, lw=2.2, zorder=4))
    mid = unit((lo + hi) / 2)
    tr = text_r if text_r is not None else r + 0.16
    pos = np.asarray(label_xy) if label_xy is not None else np.asarray(at) + tr * mid
    ax.text(*pos, text, color=color, fontsize=fontsize, ha="center", va="center",
            fontweight="bold", zorder=5)


def side_view(ax):
    """Facing right, front leg of a lunge: hip and knee flexed, shin forward, trunk leaning."""
    lean, hip_flex, knee_flex = 20.0, 75.0, 85.0
    down = np.array([0.0, -1.0])
    hip = np.array([0.0, 0.0])
    trunk_dir = unit(90 - lean)  # leaning forward (toward +x)
    shoulder = hip + 1.0 * trunk_dir
    head = shoulder + 0.28 * trunk_dir
    thigh_dir = unit(-90 + (hip_flex - lean))  # measured from the trunk line extended down
    knee = hip + 0.85 * thigh_dir
    shank_dir = unit(heading(thigh_dir) - knee_flex)
    ankle = knee + 0.85 * shank_dir
    heel = ankle + np.array([-0.09, -0.07])
    toe = heel + np.array([0.36, 0.0])
    # Rear leg (far side, grey): hip extension.
    rk = hip + 0.85 * unit(-125)
    ra = rk + 0.8 * unit(-168)
    line(ax, hip, rk, **FAR)
    line(ax, rk, ra, **FAR)
    line(ax, ra, ra + np.array([0.06, -0.14]), **FAR)
    # Body.
    line(ax, hip, shoulder, **SEG)
    ax.add_patch(Circle(head, 0.13, fc="white", ec="0.15", lw=3, zorder=3))
    ax.plot(*(head + np.array([0.14, -0.02])), marker=">", color="0.15", ms=7, zorder=3)  # nose
    arm_e = shoulder + 0.4 * unit(-80)
    line(ax, shoulder, arm_e, **SEG)
    line(ax, arm_e, arm_e + 0.35 * unit(-60), **SEG)
    line(ax, hip, knee, **SEG)
    line(ax, knee, ankle, **SEG)
    line(ax, ankle, heel, **SEG)
    line(ax, heel, toe, **SEG)
    for p in (hip, knee, ankle, shoulder):
        ax.plot(*p, "o", color="white", mec="0.15", mew=2, ms=8, zorder=6)

    # Trunk lean: vertical vs trunk.
    line(ax, hip, hip + 1.05 * unit(90), **REF)
    angle_mark(ax, hip, unit(90), trunk_dir, 0.55, COLORS["trunk"], "trunk lean +", label_xy=(-0.42, 0.62))
    # Hip flexion: trunk line extended downward vs thigh.
    line(ax, hip, hip - 0.85 * trunk_dir, **REF)
    angle_mark(ax, hip, -trunk_dir, thigh_dir, 0.33, COLORS["hip"], "hip flexion +", label_xy=(0.02, -0.52))
    # Knee flexion: thigh extended vs shank.
    line(ax, knee, knee + 0.6 * thigh_dir, **REF)
    angle_mark(ax, knee, thigh_dir, shank_dir, 0.28, COLORS["knee"], "knee flexion", label_xy=(1.02, -0.72))
    # Ankle dorsiflexion: perpendicular to the foot vs the shin (-shank).
    foot_dir = (toe - heel) / np.linalg.norm(toe - heel)
    perp = unit(heading(foot_dir) + 90)
    line(ax, ankle, ankle + 0.55 * perp, **REF)
    angle_mark(ax, ankle, perp, -shank_dir, 0.42, COLORS["ankle"], "ankle\ndorsiflexion +",
               label_xy=(0.95, -1.25))

    ax.annotate("", xy=(1.25, 1.28), xytext=(0.85, 1.28),
                arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.5))
    ax.text(1.05, 1.36, "facing = +1 (image right)", ha="center", fontsize=10, color="0.3")
    ax.text(-1.2, -1.62, "grey leg: hip extension reads negative", fontsize=9.5, color="0.45")
    ax.set_title("Side view (sagittal plane)", fontsize=13, fontweight="bold")
    ax.set_xlim(-1.3, 1.5)
    ax.set_ylim(-1.7, 1.55)


def front_view(ax):
    """Facing the camera: the person's left is on image right. Left knee valgus, right side of
    the pelvis dropped, trunk leaning toward the person's left."""
    drop = 12.0
    rhip = -0.2 * unit(drop)
    lhip = 0.2 * unit(drop)
    mid_hip = (lhip + rhip) / 2
    lean = 15.0
    trunk_dir = unit(90 - lean)  # shoulders toward image right = the person's left
    mid_sh = mid_hip + 1.0 * trunk_dir
    lsh, rsh = mid_sh + np.array([0.27, 0.0]), mid_sh - np.array([0.27, 0.0])
    head = mid_sh + 0.3 * trunk_dir
    # Legs: ankles below the hips; the left knee falls medially (valgus), the right knee is straight.
    lank = lhip + np.array([0.05, -1.7])
    valgus = 20.0
    l_line = lank - lhip
    half = np.radians(valgus / 2)
    thigh_len = np.linalg.norm(l_line) / 2 / np.cos(half)
    lknee = lhip + thigh_len * unit(heading(l_line) - valgus / 2)  # rotated toward the midline (-x)
    rank = rhip + np.array([-0.05, -1.7])
    rknee = (rhip + rank) / 2
    for a, b in ((lsh, rsh), (lhip, rhip), (lsh, lhip), (rsh, rhip), (lhip, lknee), (lknee, lank),
                 (rhip, rknee), (rknee, rank)):
        line(ax, a, b, **SEG)
    for sh, sgn in ((lsh, 1), (rsh, -1)):
        el = sh + 0.45 * unit(-90 + sgn * 28)
        line(ax, sh, el, **SEG)
        line(ax, el, el + 0.4 * unit(-90 + sgn * 20), **SEG)
    for ank, sgn in ((lank, 1), (rank, -1)):
        line(ax, ank, ank + np.array([sgn * 0.12, -0.06]), **SEG)
    ax.add_patch(Circle(head, 0.15, fc="white", ec="0.15", lw=3, zorder=3))
    for p in (lhip, rhip, lknee, rknee, lank, rank, mid_hip, mid_sh):
        ax.plot(*p, "o", color="white", mec="0.15", mew=2, ms=8, zorder=6)
    ax.text(lhip[0] + 0.08, lhip[1] - 0.16, "L hip", fontsize=9, color="0.3")
    ax.text(rhip[0] - 0.08, rhip[1] - 0.2, "R hip", fontsize=9, color="0.3", ha="right")
    line(ax, mid_hip, mid_sh, color=COLORS["trunk"], lw=1.5, zorder=4)

    # Knee FPPA: thigh extended vs shank, + when the knee is medial.
    thigh = (lknee - lhip) / np.linalg.norm(lknee - lhip)
    shank = (lank - lknee) / np.linalg.norm(lank - lknee)
    line(ax, lhip, lank, color=COLORS["knee"], lw=1, ls=":", zorder=1)
    line(ax, lknee, lknee + 0.55 * thigh, **REF)
    angle_mark(ax, lknee, thigh, shank, 0.4, COLORS["knee"], "left knee FPPA +\n(valgus: knee moves\ntoward the midline)",
               label_xy=(0.85, -1.05))
    # Pelvic drop: the right side lower -> right_pelvic_drop +.
    line(ax, lhip, lhip - np.array([0.75, 0.0]), **REF)
    angle_mark(ax, lhip, np.array([-1.0, 0.0]), rhip - lhip, 0.62, COLORS["pelvis"],
               "right pelvic\ndrop +", label_xy=(-0.85, 0.2))
    # Trunk lateral lean: vertical vs trunk, + toward the side the shoulders move to.
    line(ax, mid_hip, mid_hip + 1.1 * unit(90), **REF)
    angle_mark(ax, mid_hip, unit(90), trunk_dir, 0.75, COLORS["trunk"], "left trunk\nlateral lean +",
               label_xy=(0.98, 1.2))
    ax.text(0, -2.12, "facing the camera: the person's left is on image right\n"
            "right = -left for pelvic drop and lateral lean", ha="center", fontsize=9.5, color="0.45")
    ax.set_title("Front view (frontal plane)", fontsize=13, fontweight="bold")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-2.3, 1.55)


def main() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 7.2), gridspec_kw=dict(width_ratios=[1.05, 1]))
    side_view(axes[0])
    front_view(axes[1])
    for ax in axes:
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("formcheck angle conventions (degrees; 0 = upright standing; see docs/angles.md)",
                 fontsize=12, color="0.25")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
