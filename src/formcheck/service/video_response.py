"""The videos' response (annotated, uploaded): Starlette's FileResponse (HTTP Range, HEAD) whose answers to an
invalid Range header are JSON errors like every other error of the API, not plain text."""

from __future__ import annotations

import os
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import FileResponse, JSONResponse, MalformedRangeHeader, RangeNotSatisfiable
from starlette.types import Receive, Scope, Send

RANGE_HINT = "Ask for bytes=START-END within the file (or leave Range out for the whole video)."


class VideoResponse(FileResponse):
    def __init__(self, path: str | os.PathLike[str], media_type: str = "video/mp4", filename: str = "annotated.mp4",
                 **kwargs: Any) -> None:
        super().__init__(path, media_type=media_type, content_disposition_type="inline", filename=filename, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        http_range = headers.get("range")
        if http_range is not None and "if-range" not in headers:  # with If-Range a stale range is ignored
            try:
                self._parse_range_header(http_range, os.stat(self.path).st_size)
            except MalformedRangeHeader as exc:
                error = JSONResponse({"code": "invalid_range", "hint": RANGE_HINT,
                                      "message": f"Invalid Range header: {exc.content.rstrip('.')}."}, status_code=400)
                return await error(scope, receive, send)
            except RangeNotSatisfiable as exc:
                error = JSONResponse({"code": "range_not_satisfiable",
                                      "message": f"The Range lies outside the video ({exc.max_size} bytes).",
                                      "hint": RANGE_HINT}, status_code=416,
                                     headers={"Content-Range": f"bytes */{exc.max_size}"})
                return await error(scope, receive, send)
        await super().__call__(scope, receive, send)
