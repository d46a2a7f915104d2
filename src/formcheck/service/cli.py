"""`formcheck serve`: run the web service (wired into the main CLI by `register`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from formcheck.service.app import create_app
    from formcheck.service.settings import ServiceSettings

    overrides = {k: v for k, v in {"workers": args.workers, "data_dir": args.data_dir, "model": args.model}.items()
                 if v is not None}
    settings = ServiceSettings(**overrides)
    # One uvicorn process: the analysis processes are the service's own pool (settings.workers);
    # several uvicorn workers would each start a pool and each re-queue the same jobs.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    serve = subparsers.add_parser(
        "serve",
        help="run the web service: upload page at /, API at /api/v1, docs at /docs",
        description="Settings also come from FORMCHECK_* environment variables (see docs/api.md).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for all; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, help="analysis processes (default: one per core; capped at the core count)")
    serve.add_argument("--data-dir", type=Path, help="database and media folder (default $FORMCHECK_DATA_DIR or ./formcheck-data)")
    serve.add_argument("--model", choices=("lite", "full", "heavy"), help="default pose model (default full)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-* headers")
    serve.set_defaults(func=_cmd_serve)
    return serve
