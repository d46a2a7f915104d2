"""`formcheck serve`: run the web service (wired into the main CLI by `register`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.config import MODEL_NAMES

if TYPE_CHECKING:
    from formcheck.service.settings import ServiceSettings
    from formcheck.service.worker import Analyze


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from formcheck.service.app import create_app
    from formcheck.service.limits import with_header_timeout
    from formcheck.service.settings import ServiceSettings

    overrides = {k: v for k, v in {"workers": args.workers, "data_dir": args.data_dir, "model": args.model}.items()
                 if v is not None}
    settings = ServiceSettings(**overrides)
    # One uvicorn process: the analysis processes are the service's own pool (settings.workers);
    # several uvicorn workers would each start a pool and each re-queue the same jobs.
    # h11 with a header timeout (uvicorn has none): a client sending its headers a byte at a time is cut off.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
                http=with_header_timeout(settings.header_timeout_s))
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from formcheck.service.settings import ServiceSettings

    overrides = {k: v for k, v in {"workers": args.workers, "data_dir": args.data_dir}.items() if v is not None}
    settings = ServiceSettings(**overrides)
    if not settings.distributed:
        print("formcheck worker needs a Postgres database: set FORMCHECK_DATABASE_URL="
              "postgresql+psycopg://user:password@host/formcheck (see docs/deploy.md).")
        return 2
    if settings.workers < 1:
        print("formcheck worker needs at least one analysis process (--workers 1 or more).")
        return 2
    return run_worker(settings)


def run_worker(settings: ServiceSettings, analyze: Analyze | None = None) -> int:
    """Run analyses from the Procrastinate queue until SIGTERM/SIGINT; the running ones go back to the queue."""
    import logging
    import signal
    import threading

    from formcheck.service.jobs import JobManager
    from formcheck.service.store import JobStore
    from formcheck.service.worker import pipeline_analysis

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = JobStore(settings.db_url, timeout_s=settings.db_timeout_s)
    store.init()
    manager = JobManager(settings, store, analyze or pipeline_analysis)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    manager.start()
    logging.getLogger(__name__).info("formcheck worker: %d analysis process(es), media cache in %s",
                                     settings.workers, settings.media_dir)
    stop.wait()
    manager.shutdown()
    return 0


def _cmd_reset_password(args: argparse.Namespace) -> int:
    """Print a one-time password-reset token: the service sends no e-mail, so the operator hands it over."""
    from datetime import timedelta

    from sqlalchemy.engine import make_url

    from formcheck.clinic import auth
    from formcheck.clinic.store import ClinicStore, now
    from formcheck.service.settings import ServiceSettings

    settings = ServiceSettings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    store = ClinicStore(settings.db_url)
    store.init()
    row = store.clinician_by_email(args.email.strip().lower())
    if row is None:
        print(f"No clinician with the e-mail {args.email} in {make_url(settings.db_url).render_as_string()}.")
        return 1
    token = auth.new_token()
    store.add_password_reset(row["id"], auth.token_hash(token), now() + timedelta(hours=args.hours))
    print(f"Reset token for {row['email']} (valid {args.hours:g} h, once):\n{token}\n"
          "The clinician sets a new password with POST /api/v1/clinic/auth/password-reset "
          '{"token": ..., "new_password": ...}; every login of the account then ends.')
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    serve = subparsers.add_parser(
        "serve",
        help="run the web service: upload page at /, API at /api/v1, docs at /docs",
        description="Settings also come from FORMCHECK_* environment variables (see docs/api.md).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for all; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int,
                       help="analysis processes (default: one per core; capped at the core count)")
    serve.add_argument("--data-dir", type=Path,
                       help="database and media folder (default $FORMCHECK_DATA_DIR or ./formcheck-data)")
    serve.add_argument("--model", choices=MODEL_NAMES, help="default pose model (default full)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-* headers")
    serve.set_defaults(func=_cmd_serve)
    worker = subparsers.add_parser(
        "worker",
        help="run analyses for a service with a Postgres database (any number, on any machine)",
        description="Takes analyses from the Procrastinate queue in FORMCHECK_DATABASE_URL; media through "
                    "FORMCHECK_S3_* (no shared disk needed). See docs/deploy.md.",
    )
    worker.add_argument("--workers", type=int, help="analysis processes (default: one per core)")
    worker.add_argument("--data-dir", type=Path, help="local cache of clips and results (default ./formcheck-data)")
    worker.set_defaults(func=_cmd_worker)
    reset = subparsers.add_parser("reset-password", help="issue a one-time password-reset token for a clinician",
                                  description="The service sends no e-mail: the operator hands the token over.")
    reset.add_argument("email")
    reset.add_argument("--data-dir", type=Path,
                       help="database folder (default $FORMCHECK_DATA_DIR or ./formcheck-data)")
    reset.add_argument("--hours", type=float, default=1.0, help="how long the token is valid (default 1)")
    reset.set_defaults(func=_cmd_reset_password)
    return serve
