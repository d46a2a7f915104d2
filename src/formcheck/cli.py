"""`formcheck` command line: thin wrappers over the pipeline; messages a runner can act on."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from formcheck import __version__
from formcheck.errors import FormcheckError
from formcheck.movements import exercises
from formcheck.pose.quiet import NATIVE_LOGS_ENV

EXIT_USER_ERROR = 2


def _parse_leg_length(values: list[str] | None) -> dict[str, float] | None:
    if not values:
        return None
    out = {}
    for item in values:
        side, _, cm = item.partition("=")
        if side not in ("left", "right") or not cm:
            raise FormcheckError(f"--leg-length {item!r} is not SIDE=CM.", "Example: --leg-length left=92 right=91.5")
        out[side] = float(cm)
    return out


def _cmd_analyze(args: argparse.Namespace) -> int:
    exercise = exercises.resolve(args.exercise)   # a typo fails now, not after the pose pass
    from formcheck.pipeline import parse_subject

    subject = parse_subject(args.subject)

    from tqdm import tqdm

    from formcheck.config import Settings
    from formcheck.movements import render_table
    from formcheck.pipeline import analyze_video

    settings = Settings.from_toml(args.config)
    settings.pose.model = args.model
    out_dir = args.out or Path(f"formcheck-out/{Path(args.video).stem}")
    bars: dict[str, tqdm] = {}
    labels = {"pose": "pose", "video": "annotated video"}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for finished in bars.values():
                finished.close()
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit="frame", disable=args.quiet)
        bar.update(done - bar.n)

    try:
        result = analyze_video(
            args.video,
            out_dir,
            settings,
            exercise=exercise,
            leg_length_cm=_parse_leg_length(args.leg_length),
            marker_size_cm=args.marker_size_cm,
            subject=subject,
            progress=progress,
            annotated_video=not args.no_video,
        )
    finally:
        for bar in bars.values():
            bar.close()
    analysis = result.analysis
    print(f"\n{analysis.input.file_name}: {analysis.input.frames} frames, pose in {analysis.quality.pose_fraction:.0%}")
    if analysis.subject.people_seen > 1:
        print(f"Note: {analysis.subject.reason}")
    movement = analysis.movement
    if movement:
        print(render_table(movement))
        for line in getattr(movement.feedback, args.audience):
            print(f"- {line}")

    print(f"\nOutputs in {result.out_dir}/:")
    for role, name in analysis.files.items():
        print(f"  {name:<22} {role}")
    print(f"  {'analysis.json':<22} everything above, machine-readable")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="formcheck", description="Computer-vision form checks for runners.")
    parser.add_argument("--version", action="version", version=f"formcheck {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details, MediaPipe's native logs too")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="analyse a video: angles, reps, flags, annotated video, plots")
    analyze.add_argument("video", help="video file (MP4, MOV, WebM...)")
    analyze.add_argument("--out", type=Path, help="output folder (default: formcheck-out/VIDEO_NAME)")
    analyze.add_argument("--model", default="full", help="lite, full, heavy, or a path to a .task bundle")
    analyze.add_argument("--exercise", default="auto", metavar="NAME",
                         help="auto (default: recognised from the movement) or one of: "
                              + ", ".join(exercises.names()[1:]))
    analyze.add_argument("--subject", default="auto", metavar="WHO",
                         help="who to analyse when several people are in frame: auto (default: the person doing "
                              "the exercise, whole body in view), largest, most-moving, or X,Y@T: the person at "
                              "that point, as fractions of the frame's width and height, at T seconds (0.7,0.5@2)")
    analyze.add_argument("--leg-length", nargs="+", metavar="SIDE=CM",
                         help="leg length in cm (ASIS to medial malleolus)")
    analyze.add_argument("--marker-size-cm", type=float, metavar="CM",
                         help="side of a printed ArUco marker (DICT_4X4_50 id 0) lying on the floor: "
                              "mSEBT reach in cm from it")
    analyze.add_argument("--config", type=Path, help="TOML file overriding settings (see formcheck/config.py)")
    analyze.add_argument("--audience", choices=("runner", "clinician"), default="runner",
                         help="wording of the feedback")
    analyze.add_argument("--no-video", action="store_true",
                         help="skip the annotated video (the slowest output after the pose model)")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    analyze.set_defaults(func=_cmd_analyze)

    try:
        from formcheck.synth.cli import register as register_synth
    except ImportError:  # the renderer's optional dependencies are not installed
        pass
    else:
        register_synth(sub)

    from formcheck.service.cli import register as register_serve

    register_serve(sub)

    from formcheck.live.cli import register as register_live

    register_live(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:   # read by pose/quiet.py, here and in the pose worker processes
        os.environ[NATIVE_LOGS_ENV] = "1"
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except FormcheckError as exc:
        print(f"formcheck: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  What to do: {exc.hint}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("formcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
