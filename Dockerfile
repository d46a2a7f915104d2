# formcheck web service: upload page at /, API at /api/v1 (docs/api.md).
#
#   docker build -t formcheck .
#   docker run --rm -p 8000:8000 -v formcheck-data:/data formcheck
#
# The same image runs the analysis workers of a scaled-out service (Postgres + S3, docs/deploy.md,
# compose.yaml): `docker run ... formcheck formcheck worker` with FORMCHECK_DATABASE_URL and FORMCHECK_S3_*.
#
# One analysis process per core by default (FORMCHECK_WORKERS): the cores the container may
# run on (--cpuset-cpus). A CPU quota (--cpus) is not seen as fewer cores: with --cpus=N
# also pass -e FORMCHECK_WORKERS=N.
# Lint: make lint-docker (hadolint).
FROM python:3.11-slim-bookworm

# Shared libraries the service loads and the slim image lacks (no Mesa driver: the pose model
# runs on the CPU, and the synthetic lab's renderer is not part of the service):
# libegl1 + libgles2 for MediaPipe's libmediapipe.so, libgl1 + libglib2.0-0 for OpenCV.
# Versions follow the Debian release of the base image (security updates), hence not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libegl1 libgles2 libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/formcheck
# Only what the package needs (no .venv, caches or samples in the image; see .dockerignore).
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip install ".[scale]" && rm -rf src build

# The pose model bundles ship with the image (the service never downloads). The package is
# installed non-editable, so FORMCHECK_MODELS_DIR says where they are.
# heavy is git-ignored: build it first (python models/build.py heavy) and add it here to use it.
COPY models/pose_landmarker_lite.task models/pose_landmarker_full.task /opt/formcheck/models/

RUN groupadd --gid 10001 formcheck \
    && useradd --create-home --uid 10001 --gid 10001 formcheck \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001

ENV FORMCHECK_MODELS_DIR=/opt/formcheck/models \
    FORMCHECK_DATA_DIR=/data \
    MPLCONFIGDIR=/tmp/matplotlib
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# --workers omitted: one analysis process per core (FORMCHECK_WORKERS overrides).
# Worker entry (scale-out): CMD ["formcheck", "worker"] (compose.yaml's worker service).
CMD ["formcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
