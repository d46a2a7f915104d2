# formcheck web service: upload page at /, API at /api/v1 (docs/api.md).
#
#   docker build -t formcheck .
#   docker run --rm -p 8000:8000 -v formcheck-data:/data formcheck
#
# One analysis process per core by default (FORMCHECK_WORKERS, capped at the cores the
# container may use, e.g. --cpus / --cpuset-cpus).
FROM python:3.11-slim

# Mesa EGL for the headless renderer (moderngl); libGL + GLib for OpenCV (brought by mediapipe).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/formcheck
# Only what the package needs (no .venv, caches or samples in the image).
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip install . && rm -rf src build

# The pose model bundles ship with the image (the service never downloads).
# heavy is git-ignored: build it first (python models/build.py heavy) and add it here to use it.
COPY models/pose_landmarker_lite.task models/pose_landmarker_full.task /opt/formcheck/models/

RUN useradd --create-home --uid 10001 formcheck \
    && mkdir -p /data && chown formcheck:formcheck /data
USER formcheck

ENV FORMCHECK_MODELS_DIR=/opt/formcheck/models \
    FORMCHECK_DATA_DIR=/data \
    MPLCONFIGDIR=/tmp/matplotlib
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# --workers omitted: one analysis process per core (FORMCHECK_WORKERS overrides).
CMD ["formcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
