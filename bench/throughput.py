#!/usr/bin/env python3
"""Throughput and memory of `analyze_video` against what the machine allows (issue #6, 1-2).

Makes its own 30 fps test clips at bench time (never committed): a real clip from
../shared/samples/videos looped and scaled with ffmpeg to 720p and 1080p (default 24 s), plus
a long clip (default 5 min, 720p) for the memory check, cached under --cache (default
/tmp/formcheck-bench-throughput). Keyframes every 2 s, like a phone. Then, in one run:

* model-only: pre-decoded frames (at the pipeline's inference size) into one landmarker in
  VIDEO mode, per model, ms per frame, with the pipeline's num_poses (and num_poses=1 for
  reference: with one person in view and num_poses=2, MediaPipe runs its person detector on
  every frame, because it keeps looking for the second person);
* decode-only: ms per frame of `iter_frames` at the inference size;
* end to end: `analyze_video` (all outputs, annotated video included) in a fresh process;
  frames/s, real-time factor, the pose stage alone, peak RSS of the process tree (parent +
  chunk workers, psutil sampled every 50 ms, RSS summed: shared pages count twice, so this
  errs high) and of the largest single process, and the ratios to the model-only throughput
  and to the two-core limit 2 / (decode + inference per frame).

Prints one table, each figure next to its target. Timings depend on what else the machine
runs: say so when quoting them.

    PYTHONPATH=src python bench/throughput.py [--quick] [--models lite full heavy]
        [--seconds 24] [--long-minutes 5] [--cache DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from formcheck.config import MODEL_NAMES

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

SOURCE_CLIP = REPO.parent / "shared" / "samples" / "videos" / "lunge_reverse_side_01.mp4"
FPS = 30
MODEL_ONLY_FRAMES = 90
RSS_POLL_S = 0.05
# Targets (issue #6).
TARGET_RTF_FULL_1080 = 2.0
TARGET_SHARE_OF_LIMIT = 0.85
TARGET_RSS_MB_PER_WORKER = 600.0
# The opt-in fast mode (config.PoseSettings.people_scan_interval_s), measured beside the default.
FAST_SCAN_S = 1 / 3
# Against the naive loop (issue #14): whole commands, same run, medians.
TARGET_CLI_VS_NAIVE = 0.5
TARGET_JOB_VS_NAIVE = 0.35
TARGET_CPU_VS_NAIVE = 0.8
FAST_POSE_RATE_HZ = 15.0  # config.PoseSettings.pose_rate_hz, opt-in


def make_clip(source: Path, out: Path, height: int, seconds: float) -> Path:
    """Loop and scale `source` into an H.264 30 fps clip (cached: made once per parameters)."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.mp4")
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(source), "-t", f"{seconds}",
        "-vf", f"scale=-2:{height},fps={FPS}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        "-g", str(2 * FPS), "-pix_fmt", "yuv420p", "-an", str(tmp),
    ]
    subprocess.run(cmd, check=True)
    tmp.rename(out)
    return out


def decode_ms(video: Path) -> tuple[float, int]:
    from formcheck.config import PoseSettings
    from formcheck.sources import iter_frames, probe

    info = probe(video)
    start, n = time.perf_counter(), 0
    for _ in iter_frames(info, max_long_side=PoseSettings().inference_long_side):
        n += 1
    return (time.perf_counter() - start) / max(1, n) * 1000, n


def model_only_ms(video: Path, model: str, num_poses: int) -> float:
    """Mean ms per frame over MODEL_ONLY_FRAMES pre-decoded frames, after 5 warm-up frames."""
    import mediapipe as mp

    from formcheck.config import PoseSettings
    from formcheck.pose.detector import create_landmarker
    from formcheck.sources import iter_frames, probe

    settings = PoseSettings(model=model, num_poses=num_poses)
    info = probe(video)
    frames = []
    for frame in iter_frames(info, max_long_side=settings.inference_long_side):
        frames.append(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.image))
        if len(frames) == MODEL_ONLY_FRAMES + 5:
            break
    with create_landmarker(settings) as landmarker:
        for i, image in enumerate(frames[:5]):
            landmarker.detect_for_video(image, i * 33)
        start = time.perf_counter()
        for i, image in enumerate(frames[5:], start=5):
            landmarker.detect_for_video(image, i * 33)
        elapsed = time.perf_counter() - start
    return elapsed / (len(frames) - 5) * 1000


def _analyze_child(video: str, out_dir: str, model: str, pose_overrides: dict, results) -> None:
    """Runs in a fresh process: one `analyze_video`, stage times back to the parent."""
    from formcheck.config import Settings
    from formcheck.pipeline import analyze_video
    from formcheck.pose.parallel import pose_workers

    settings = Settings()
    settings.pose = settings.pose.model_copy(update={"model": model, **pose_overrides})
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(stage, time.perf_counter())

    start = time.perf_counter()
    result = analyze_video(video, out_dir, settings, progress=progress)
    end = time.perf_counter()
    results.put(
        {
            "frames": result.analysis.input.frames,
            "duration_s": result.analysis.input.duration_s,
            "wall_s": end - start,
            "pose_s": marks.get("video", end) - start,
            "pose_workers": pose_workers(settings.pose),
        }
    )


def end_to_end(video: Path, model: str, pose_overrides: dict | None = None) -> dict:
    """`analyze_video` in a fresh process, with the process tree's RSS sampled meanwhile."""
    import psutil

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as out_dir:
        child = ctx.Process(target=_analyze_child, args=(str(video), out_dir, model, pose_overrides or {}, results))
        child.start()
        tree_peak = single_peak = 0
        parent = psutil.Process(child.pid)
        while child.is_alive():
            rss = []
            try:
                for proc in [parent, *parent.children(recursive=True)]:
                    try:
                        rss.append(proc.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            if rss:
                tree_peak, single_peak = max(tree_peak, sum(rss)), max(single_peak, max(rss))
            if results.empty():
                time.sleep(RSS_POLL_S)
            else:
                break
        out = results.get()
        child.join()
    out.update(tree_peak_mb=tree_peak / 2**20, single_peak_mb=single_peak / 2**20)
    return out


def timed_run(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and every child it waited for) of one
    whole command, as a user would run it."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def versus_naive(clip: Path, model: str, runs: int) -> dict[str, dict[str, float]]:
    """formcheck as the CLI and as a service job (no annotated MP4) against the naive loop
    (bench/naive_loop.py), taken in turn `runs` times so a drift in the machine's speed hits
    all alike; medians of wall and CPU seconds."""
    formcheck = [str(Path(sys.executable).parent / "formcheck")]
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as out:
        fast_toml = Path(out) / "fast.toml"
        fast_toml.write_text(f"[pose]\npose_rate_hz = {FAST_POSE_RATE_HZ}\n")
        commands = {
            "naive loop": [sys.executable, str(REPO / "bench" / "naive_loop.py"), str(clip), "--model", model],
            "formcheck analyze (all outputs)": [*formcheck, "analyze", str(clip), "--out", f"{out}/cli", "-q",
                                                "--model", model],
            "formcheck analyze --no-video (a service job)": [*formcheck, "analyze", str(clip), "--out", f"{out}/job",
                                                             "-q", "--no-video", "--model", model],
            f"formcheck analyze, pose_rate_hz={FAST_POSE_RATE_HZ:g} (opt-in)": [
                *formcheck, "analyze", str(clip), "--out", f"{out}/fast", "-q", "--model", model,
                "--config", str(fast_toml)],
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                samples[name].append(timed_run(cmd))
    return {name: {"wall_s": statistics.median(w for w, _ in got), "cpu_s": statistics.median(c for _, c in got)}
            for name, got in samples.items()}


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> tuple[str, str, str, str]:
    return name, value, target, "" if ok is None else ("ok" if ok else "MISSED")


def naive_rows(label: str, runs: dict[str, dict[str, float]], clip_s: float) -> list[tuple[str, str, str, str]]:
    naive = runs["naive loop"]
    out = [row(f"[{label}] naive loop (OpenCV read, 1 pose, 1 core)",
               f"{naive['wall_s']:.1f} s wall, {naive['cpu_s']:.1f} CPU-s, {naive['cpu_s'] / clip_s:.2f} CPU-s per "
               f"clip-second")]
    targets = {"formcheck analyze (all outputs)": TARGET_CLI_VS_NAIVE,
               "formcheck analyze --no-video (a service job)": TARGET_JOB_VS_NAIVE}
    for name, got in runs.items():
        if name == "naive loop":
            continue
        wall, cpu = got["wall_s"] / naive["wall_s"], got["cpu_s"] / naive["cpu_s"]
        target = targets.get(name)
        out.append(row(f"[{label}] {name} / naive, wall", f"{wall:.2f} ({got['wall_s']:.1f} s)",
                       "" if target is None else f"<= {target}", None if target is None else wall <= target))
        out.append(row(f"[{label}] {name} / naive, CPU", f"{cpu:.2f} ({got['cpu_s']:.1f} CPU-s, "
                       f"{got['cpu_s'] / clip_s:.2f} per clip-second)",
                       "" if target is None else f"<= {TARGET_CPU_VS_NAIVE}",
                       None if target is None else cpu <= TARGET_CPU_VS_NAIVE))
    return out


def label_rows(label: str, fig: dict, figures: dict, models: list[str], e2e_model: str) -> list:
    """The table rows of one clip."""
    rows: list = []
    e2e = fig["e2e"]
    fps = e2e["frames"] / e2e["wall_s"]
    rtf = e2e["duration_s"] / e2e["wall_s"]
    workers = e2e["pose_workers"]
    rows.append(row(f"[{label}] frames", f"{fig['frames']}"))
    rows.append(row(f"[{label}] decode only", f"{fig['decode_ms']:.1f} ms/frame"))
    if "model_ms" in fig:
        for m in models:
            rows.append(
                row(
                    f"[{label}] model only, {m}",
                    f"{fig['model_ms'][m]:.1f} ms/frame ({1000 / fig['model_ms'][m]:.0f} fps), "
                    f"num_poses=1: {fig['model_ms_1pose'][m]:.1f} ms",
                )
            )
    reference = figures[f"{label.split()[0]}"]  # the long clip uses its resolution's model figure
    model_ms = reference["model_ms"][e2e_model]
    limit_fps = 2 * 1000 / (fig["decode_ms"] + model_ms)
    rows.append(
        row(
            f"[{label}] end to end, {e2e_model}",
            f"{fps:.1f} fps, {rtf:.2f}x real time ({e2e['wall_s']:.1f} s; pose stage "
            f"{e2e['frames'] / e2e['pose_s']:.1f} fps, rest {e2e['wall_s'] - e2e['pose_s']:.1f} s)",
            f">= {TARGET_RTF_FULL_1080:g}x real time" if label == "1080p" else "",
            rtf >= TARGET_RTF_FULL_1080 if label == "1080p" and e2e_model == "full" else None,
        )
    )
    rows.append(row(f"[{label}] e2e / model-only (1 landmarker)", f"{fps * model_ms / 1000:.2f}"))
    if "e2e_fast" in fig:
        fast = fig["e2e_fast"]
        fast_fps, fast_rtf = fast["frames"] / fast["wall_s"], fast["duration_s"] / fast["wall_s"]
        fast_limit = 2 * 1000 / (fig["decode_ms"] + reference["model_ms_1pose"][e2e_model])
        rows.append(
            row(
                f"[{label}] end to end, fast mode (1 tracked person, scan every {FAST_SCAN_S:.2f} s)",
                f"{fast_fps:.1f} fps, {fast_rtf:.2f}x real time ({fast['wall_s']:.1f} s; pose stage "
                f"{fast['frames'] / fast['pose_s']:.1f} fps, rest {fast['wall_s'] - fast['pose_s']:.1f} s); "
                f"{fast_fps / fast_limit:.2f} of its two-core limit ({fast_limit:.1f} fps)",
                f">= {TARGET_RTF_FULL_1080:g}x real time",
                fast_rtf >= TARGET_RTF_FULL_1080 if e2e_model == "full" else None,
            )
        )
    rows.append(
        row(
            f"[{label}] e2e / two-core limit ({limit_fps:.1f} fps)",
            f"{fps / limit_fps:.2f}",
            f">= {TARGET_SHARE_OF_LIMIT}",
            fps / limit_fps >= TARGET_SHARE_OF_LIMIT,
        )
    )
    per_worker = e2e["tree_peak_mb"] / max(1, workers)
    rows.append(
        row(
            f"[{label}] peak RSS tree / {workers} pose workers",
            f"{per_worker:.0f} MB (tree {e2e['tree_peak_mb']:.0f} MB, "
            f"largest process {e2e['single_peak_mb']:.0f} MB)",
            f"<= {TARGET_RSS_MB_PER_WORKER:.0f} MB",
            per_worker <= TARGET_RSS_MB_PER_WORKER and e2e["single_peak_mb"] <= TARGET_RSS_MB_PER_WORKER,
        )
    )
    if "versus_naive" in fig:
        rows.extend(naive_rows(label, fig["versus_naive"], fig["e2e"]["duration_s"]))
    rows.append(("", "", "", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the long clip (memory check)")
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), help="model-only figures")
    parser.add_argument("--e2e-model", default="full", help="model for the end-to-end runs")
    parser.add_argument("--seconds", type=float, default=24.0, help="length of the 720p/1080p clips")
    parser.add_argument("--long-minutes", type=float, default=5.0)
    parser.add_argument("--source", type=Path, default=SOURCE_CLIP)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "formcheck-bench-throughput")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--naive-runs", type=int, default=3, help="runs of each command in the naive-loop comparison")
    parser.add_argument("--naive-only", action="store_true",
                        help="only the 1080p clip against the naive loop (the issue #14 figures)")
    args = parser.parse_args()

    if not args.source.exists():
        sys.exit(f"source clip {args.source} is missing (the shared samples: ../shared/samples/videos)")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to make the test clips (apt-get install ffmpeg)")
    from formcheck.pose.models import resolve_model

    models = []
    for model in args.models:
        try:
            resolve_model(model)
            models.append(model)
        except Exception as exc:  # a missing optional bundle is reported, not fatal
            print(f"skipping model {model}: {exc}")
    clips = {
        f"{h}p": make_clip(args.source, args.cache / f"loop_{h}p_{args.seconds:g}s.mp4", h, args.seconds)
        for h in (720, 1080)
    }
    if args.naive_only:
        clip = clips["1080p"]
        duration = args.seconds
        print(f"1080p {args.seconds:g} s clip, model {args.e2e_model}, {args.naive_runs} runs each, in turn")
        for r in naive_rows("1080p", versus_naive(clip, args.e2e_model, args.naive_runs), duration):
            print("  ".join(r).rstrip())
        return
    if not args.quick:
        long_s = args.long_minutes * 60
        clips[f"720p {args.long_minutes:g} min"] = make_clip(
            args.source, args.cache / f"loop_720p_{long_s:g}s.mp4", 720, long_s
        )

    figures: dict[str, dict] = {}
    rows = []
    for label, clip in clips.items():
        print(f"measuring {label} ...", file=sys.stderr, flush=True)
        long = "min" in label
        fig: dict = {}
        fig["decode_ms"], fig["frames"] = decode_ms(clip)
        if not long:
            fig["model_ms"] = {m: model_only_ms(clip, m, num_poses=2) for m in models}
            fig["model_ms_1pose"] = {m: model_only_ms(clip, m, num_poses=1) for m in models}
        fig["e2e"] = end_to_end(clip, args.e2e_model)
        if label == "1080p":
            fig["e2e_fast"] = end_to_end(clip, args.e2e_model, {"people_scan_interval_s": FAST_SCAN_S})
            print("measuring 1080p against the naive loop ...", file=sys.stderr, flush=True)
            fig["versus_naive"] = versus_naive(clip, args.e2e_model, args.naive_runs)
        figures[label] = fig

    from formcheck.config import PoseSettings

    num_poses = PoseSettings().num_poses
    rows.append(("", "", "", ""))
    for label, fig in figures.items():
        rows.extend(label_rows(label, fig, figures, models, args.e2e_model))

    widths = [max(len(r[i]) for r in rows + [("figure", "measured", "target", "")]) for i in range(4)]
    print(f"throughput: mediapipe pose, pipeline num_poses={num_poses}, e2e model {args.e2e_model}")
    header = ("figure", "measured", "target", "")
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
