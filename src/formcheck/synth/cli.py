"""`formcheck synth ...` and `python -m formcheck.synth ...`: render a synthetic clip + truth."""

from __future__ import annotations

import argparse
import json
import sys

from formcheck.synth.motions import COMPENSATIONS, MOTIONS


def _comp(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError("use NAME=AMOUNT, e.g. knee_valgus=10")
    name, amount = text.split("=", 1)
    name = name.strip().replace("-", "_")
    if name not in COMPENSATIONS:
        raise argparse.ArgumentTypeError(f"unknown compensation {name!r}; one of {', '.join(COMPENSATIONS)}")
    try:
        return name, float(amount)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"amount of {name} must be a number") from e


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("motion", choices=MOTIONS, help="movement to render")
    p.add_argument("--view", choices=["side", "front", "oblique", "back"], default="side")
    p.add_argument("--azimuth", type=float, default=None,
                   help="camera azimuth in degrees (overrides --view; 0 front, 90 right side)")
    p.add_argument("--compensation", "-c", type=_comp, action="append", default=[], metavar="NAME=AMOUNT",
                   help="inject a compensation: " + ", ".join(COMPENSATIONS))
    p.add_argument("--side", choices=["left", "right", "alternate"], default="right",
                   help="working side (the stance leg for mSEBT / single-leg tasks)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--rep-seconds", type=float, default=None, help="tempo: seconds per rep")
    p.add_argument("--seed", type=int, default=0, help="seed for colours, background and noise")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--cam-distance", type=float, default=3.6, help="metres from the subject")
    p.add_argument("--cam-height", type=float, default=1.0, help="lens height in metres")
    p.add_argument("--fov", type=float, default=62.0, help="horizontal field of view, degrees")
    p.add_argument("--noise", type=float, default=2.0, help="sensor noise sigma, grey levels")
    p.add_argument("--motion-blur", type=int, default=1, help="sub-frames averaged per frame (1 = off)")
    p.add_argument("--body-height", type=float, default=1.75, help="body height in metres")
    p.add_argument("--leg-scale", type=float, default=1.0)
    p.add_argument("--arm-scale", type=float, default=1.0)
    p.add_argument("--shoulder-scale", type=float, default=1.0)
    p.add_argument("--hip-scale", type=float, default=1.0)
    p.add_argument("--girth", type=float, default=1.0)
    p.add_argument("--box-height", type=float, default=0.30, help="step-up box height, metres")
    p.add_argument("--crf", type=int, default=23, help="x264 quality (lower = bigger file)")
    p.add_argument("--name", default="clip.mp4", help="video file name inside --out")
    p.add_argument("--out", required=True, help="output directory (video + truth.npz + truth.json)")


def run(args: argparse.Namespace) -> int:
    from formcheck.synth.clip import SynthConfig, synthesize
    from formcheck.synth.skeleton import BodySize

    cfg = SynthConfig(
        motion=args.motion, side=args.side, reps=args.reps, rep_s=args.rep_seconds,
        compensations=dict(args.compensation),
        body=BodySize(height_m=args.body_height, leg_scale=args.leg_scale, arm_scale=args.arm_scale,
                      shoulder_scale=args.shoulder_scale, hip_scale=args.hip_scale, girth=args.girth),
        view=args.view, azimuth_deg=args.azimuth, cam_distance=args.cam_distance,
        cam_height=args.cam_height, fov_h_deg=args.fov, width=args.width, height=args.height,
        fps=args.fps, noise_sigma=args.noise, motion_blur=args.motion_blur, seed=args.seed,
        box_height=args.box_height, crf=args.crf, video_name=args.name,
    )
    summary = synthesize(cfg, args.out)
    print(json.dumps(summary, indent=1))
    return 0


def register(subparsers) -> None:
    """Add the `synth` subcommand to formcheck's argparse CLI."""
    p = subparsers.add_parser("synth", help="render a synthetic clip with known joint angles",
                              description=__doc__)
    add_arguments(p)
    p.set_defaults(func=run, handler=run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m formcheck.synth", description=__doc__)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
