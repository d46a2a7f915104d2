#!/usr/bin/env python3
"""mSEBT reach in centimetres from a printed floor marker, through the whole pipeline (issue #7).

Renders anterior mSEBT trials with a 20 cm ArUco marker (DICT_4X4_50 id 0) on the floor, from
the side, the front and at 45 deg (1280x720: at 640x360 the marker is ~8 px and OpenCV does not
find it), runs `analyze_video` with the marker size given (the real pose model, not the true
landmarks), and prints per trial the reach in cm against the truth (stance toe tip at rest ->
reaching toe tip along the grid line). Target: within 2 cm. Clips are cached under --cache.

    PYTHONPATH=src python bench/marker_reach.py [--model full] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

MARKER_CM = 20.0
TARGET_CM = 2.0
VIEWS = {"side": 4, "front": 5, "oblique": 6}  # view -> render seed


def main() -> None:
    from formcheck.config import Settings
    from formcheck.pipeline import analyze_video
    from formcheck.synth.clip import SynthConfig, synthesize
    from formcheck.synth.groundtruth import load_truth

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="full", choices=["lite", "full", "heavy"])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "formcheck-bench-marker")
    args = parser.parse_args()

    settings = Settings()
    settings.pose = settings.pose.model_copy(update={"model": args.model})
    print(f"mSEBT anterior reach from a {MARKER_CM:g} cm floor marker, model {args.model}, 1280x720, "
          f"target |error| <= {TARGET_CM:g} cm")
    print(f"{'view':8} {'trial':>5} {'truth cm':>9} {'measured cm':>12} {'error cm':>9}  scale")
    errors: dict[str, list[float]] = {}
    for view, seed in VIEWS.items():
        clip_dir = args.cache / view
        if not (clip_dir / "clip.mp4").is_file():
            synthesize(SynthConfig(motion="msebt_anterior", side="right", reps=2, view=view, width=1280,
                                   height=720, cam_height=1.6, marker_cm=MARKER_CM, seed=seed, rest_s=0.6),
                       clip_dir)
        _, meta = load_truth(clip_dir)
        truth = [100 * r["max_reach_m"] for r in meta["msebt_reaches"]]
        with tempfile.TemporaryDirectory(prefix="formcheck-marker-") as out:
            movement = analyze_video(clip_dir / "clip.mp4", out, settings, exercise="sebt_anterior",
                                     marker_size_cm=MARKER_CM).analysis.movement
        for k, (true_cm, rep) in enumerate(zip(truth, movement.reps), start=1):
            cm = rep.metrics.get("reach_cm")
            err = None if cm is None else cm - true_cm
            if err is not None:
                errors.setdefault(view, []).append(err)
            shown = "-" if cm is None else f"{cm:.1f}"
            print(f"{view:8} {k:>5} {true_cm:>9.1f} {shown:>12} {'-' if err is None else f'{err:+.1f}':>9}  "
                  f"{rep.metrics.get('reach_scale')}")
        if len(movement.reps) != len(truth):
            print(f"{view:8} found {len(movement.reps)} trials, the clip has {len(truth)}")
    for view, errs in errors.items():
        worst = max(abs(e) for e in errs)
        print(f"{view:8} max |error| {worst:.1f} cm  {'ok' if worst <= TARGET_CM else 'MISSED'}")


if __name__ == "__main__":
    main()
