"""HTTP service: upload a clip, follow its analysis, fetch the results (issue #5).

Layout (FastAPI "bigger applications"): `app.create_app(settings)` builds the app; thin
routers in `routers/`; shared objects injected with `deps`; `models` is the API contract;
`store` (SQLite, WAL) holds the jobs; `jobs` runs them in a process pool via `worker`.
"""

from formcheck.service.settings import ServiceSettings


def create_app(settings: ServiceSettings | None = None):  # untyped: the lazy import keeps FastAPI optional
    from formcheck.service.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["ServiceSettings", "create_app"]
