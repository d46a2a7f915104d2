"""Shared fixtures. Real clips live in ../shared/samples (never copied into the project).

Under CI (CI=true) a missing sample is a failure, never a silent skip. Nothing here imports the
pose model's library (mediapipe) at collection: the fixtures that run the model import it when used.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samples_support import require_sample


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lowest cost in this process: the clinic tests register and log in hundreds of
    times, and at argon2-cffi's defaults (64 MiB) each hash takes 0.1-1 s on 2 shared cores. What
    they check (flows, errors, back-off, one hash at a time) does not depend on the cost; server
    processes started by tests keep the defaults. Only once the clinic is imported (no import here)."""
    auth = sys.modules.get("formcheck.clinic.auth")
    if auth is None:
        return
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", cheap)
    monkeypatch.setattr(auth, "_DUMMY_HASH", cheap.hash("formcheck-dummy-password"))


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    return require_sample("SOURCES.md").parent


@pytest.fixture()
def app(tmp_path):
    """The service with the clinic on this test's data dir (clinic_support.clinic_app)."""
    from clinic_support import clinic_app

    return clinic_app(tmp_path)


@pytest.fixture()
def client(app, tmp_path):
    """A TestClient of `app`, started (lifespan) and stopped with the test; `client.data_dir` is its data dir."""
    from fastapi.testclient import TestClient

    with TestClient(app) as started:
        started.data_dir = tmp_path
        yield started


@pytest.fixture(scope="session")
def pose_memo(tmp_path_factory) -> Path:
    """The session's memo of the pose model's landmarks per clip (scripted_analysis.memoised_pose_stage)."""
    return tmp_path_factory.mktemp("pose-memo")


@pytest.fixture(scope="session")
def analysed(pose_memo):
    """Raw and cleaned landmarks plus angles per clip, computed once per test session; the model's
    landmarks also go to the pose memo, so a pipeline run on the clip with the same pose settings
    can replay them (scripted_analysis.memoised_pose_stage)."""
    from formcheck.config import PoseSettings
    from formcheck.kinematics import compute_kinematics
    from formcheck.pose.landmarker import extract_poses
    from formcheck.pose.tracking import SubjectHint
    from formcheck.sources import probe
    from scripted_analysis import remember_landmarks

    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            info = probe(require_sample(f"videos/{name}.mp4"))
            settings, auto = PoseSettings(), SubjectHint()  # as the CLI and the service ask
            raw = extract_poses(info, settings, subject=auto)
            remember_landmarks(pose_memo, info, settings, auto, raw)
            clean, angles = compute_kinematics(raw)
            cache[name] = (raw, clean, angles)
        return cache[name]

    return get


# -- the scale-out mode (issue 15): FORMCHECK_TEST_BACKEND=scale runs the service tests on Postgres
# (Procrastinate queue) and S3 (SeaweedFS), both started here on loopback and stopped at the end.
# Every test gets a fresh database (a copy of a migrated template) and a fresh bucket through the
# FORMCHECK_* variables, which every ServiceSettings (and every server subprocess) reads.
SCALE = os.environ.get("FORMCHECK_TEST_BACKEND", "") == "scale"
# What the scale mode runs: each test that builds the service (app, server, stores), itself, through a
# fixture it uses, through a function in tests/ that either names, or in its module's top-level code.
# The others (pure stages, pose, CLI) touch no database or storage and would run identically. The
# browser tests check pages: they run once, in the default mode (the API behind them runs here);
# tests marked `embedded` are about the embedded mode alone; those marked `own_backend` pick their
# database and storage themselves, so a second pass would repeat them unchanged.
SERVICE_MARKS = ("create_app", "ServiceSettings", "run_server", "scripted_server", "JobStore", "ClinicStore",
                 "service_settings", "clinic_app", "\"serve\"", "\"worker\"")  # the last two: CLI subprocesses
TESTS_DIR = str(Path(__file__).parent)
_scale_state: dict = {}


def _mentions_the_service(source: str) -> bool:
    return any(mark in source for mark in SERVICE_MARKS)


def _module_builds_the_service(module: Any) -> bool:
    """Top-level code other than imports and definitions (e.g. `APP = create_app(...)`)."""
    tree = ast.parse(inspect.getsource(module))
    return any(_mentions_the_service(ast.unparse(node)) for node in tree.body
               if not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Expr)))


def _builds_the_service(item: pytest.Function) -> bool:
    """Whether the test, a fixture it uses, or a tests/ function either of them names builds the service."""
    pending: list[Any] = [item.function]
    pending += [fixture.func for fixtures in item._fixtureinfo.name2fixturedefs.values() for fixture in fixtures]
    seen: set[int] = set()
    while pending:
        function = inspect.unwrap(pending.pop())
        if id(function) in seen:
            continue
        seen.add(id(function))
        try:
            if not (inspect.getsourcefile(function) or "").startswith(TESTS_DIR):
                continue
            source = textwrap.dedent(inspect.getsource(function))
        except (OSError, TypeError):
            continue
        if _mentions_the_service(source):
            return True
        names = getattr(function, "__globals__", {})
        pending += [names[node.id] for node in ast.walk(ast.parse(source))
                    if isinstance(node, ast.Name) and inspect.isfunction(names.get(node.id))]
    return False


def pytest_configure(config: pytest.Config) -> None:
    if not SCALE:
        return
    from contextlib import ExitStack

    from pg_support import postgres_server
    from s3_support import seaweed_server

    stack = ExitStack()
    pg = stack.enter_context(postgres_server())
    s3 = stack.enter_context(seaweed_server())
    pg.create_database("formcheck_template")
    from formcheck.db.migrate import upgrade
    from formcheck.service.distributed import ensure_schema

    upgrade(pg.url("formcheck_template"))
    ensure_schema(pg.url("formcheck_template"))
    pg.create_database("formcheck_session", template="formcheck_template")
    # module-level apps (built at import) and module-scoped fixtures use the session's database
    os.environ.update({"FORMCHECK_DATABASE_URL": pg.url("formcheck_session"), **s3.env(s3.new_bucket())})
    _scale_state.update(stack=stack, pg=pg, s3=s3, count=0)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _scale_state:
        from formcheck.db.engine import dispose_engines

        dispose_engines()
        _scale_state.pop("stack").close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SCALE:
        return
    keep, drop = [], []
    modules: dict[str, bool] = {}
    for item in items:
        path = str(item.path)
        if path not in modules:
            modules[path] = _module_builds_the_service(item.module)
        left_out = any(item.get_closest_marker(name) for name in ("browser", "embedded", "own_backend"))
        (keep if not left_out and (modules[path] or _builds_the_service(item)) else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(autouse=SCALE)
def scale_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh Postgres database and S3 bucket for this test (scale mode only)."""
    pg, s3 = _scale_state["pg"], _scale_state["s3"]
    _scale_state["count"] += 1
    name = f"formcheck_t{_scale_state['count']}"
    pg.create_database(name, template="formcheck_template")
    for key, value in {"FORMCHECK_DATABASE_URL": pg.url(name), **s3.env(s3.new_bucket())}.items():
        monkeypatch.setenv(key, value)
    yield
    from formcheck.db.engine import dispose_engines

    dispose_engines()  # the test's connections end with it (Postgres allows a bounded number)
