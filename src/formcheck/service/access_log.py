"""Keep share tokens out of the access log: a share link's token is its only secret.

uvicorn logs each request line as `'%s - "%s %s HTTP/%s" %d'` with the path as an argument;
the filter rewrites the token in `/share/<token>` and `/api/v1/clinic/shared/<token>` before any
handler formats the line.
"""

from __future__ import annotations

import logging
import re

SHARE_TOKEN = re.compile(r"(/share/|/api/v1/clinic/shared/)[^/?#\s\"]+")
REDACTED = r"\1[token]"


def scrub(text: str) -> str:
    return SHARE_TOKEN.sub(REDACTED, text)


class ShareTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    """Add the filter once (the app's start-up calls it, after uvicorn configured its loggers)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, ShareTokenFilter) for f in logger.filters):
        logger.addFilter(ShareTokenFilter())
