"""Streaming multipart upload: the file goes to disk chunk by chunk and the request is refused
(413) as soon as it passes the size limit, not after the whole body has been read.

FastAPI's `UploadFile` spools the whole body before the endpoint runs, so the body is parsed
here with python-multipart's incremental parser.
"""

from __future__ import annotations

import errno
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from formcheck.service.errors import BadUploadError, StorageFullError, UploadTooLargeError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16
# Room for the multipart boundaries, part headers and the small text fields.
ENVELOPE_SLACK = 64 * 1024
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".3gp", ".mpg", ".mpeg", ".ts", ".mts"}


@dataclass
class Upload:
    path: Path
    file_name: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


def display_name(raw: str) -> str:
    """The client's file name, for display only (never used to build a path)."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:120] or "upload"


def safe_suffix(raw: str) -> str:
    """A known video suffix from the client's name, else `.video` (the content is checked by decoding)."""
    suffix = Path(display_name(raw)).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else ".video"


def too_large(limit: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"The upload is larger than the {limit / 1e6:.0f} MB limit.",
        "Trim the clip to the sets you want checked, or export it at 1080p.",
    )


async def receive_upload(request: Request, dest: Path, max_bytes: int) -> Upload:
    """Write the `file` part of a multipart/form-data request to `dest`; return it with the text fields."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise BadUploadError(
            "Expected a multipart/form-data upload.",
            "Send the video as the `file` field of a form (curl -F file=@clip.mp4).",
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + ENVELOPE_SLACK:
        raise too_large(max_bytes)  # refused before reading a byte

    upload = Upload(dest)
    state: dict = {"headers": {}, "field": b"", "header": b"", "value": b"", "name": None, "kind": None}
    sink = {"fh": None, "too_large": False, "bad": None}

    def on_part_begin() -> None:
        state.update(headers={}, field=b"", name=None, kind=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if name == FILE_FIELD and b"filename" in disposition:
            if sink["fh"] is not None:
                sink["bad"] = "Only one file can be uploaded per analysis."
                state["kind"] = "skip"
                return
            upload.file_name = display_name(disposition[b"filename"].decode("utf-8", "replace"))
            sink["fh"] = open(dest, "wb")  # noqa: SIM115 - closed below
            state["kind"] = "file"
        elif len(upload.fields) >= MAX_FIELDS:
            sink["bad"] = "Too many form fields."
            state["kind"] = "skip"
        else:
            state["kind"] = "field"

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["kind"] == "file":
            upload.size += end - start
            if upload.size > max_bytes:
                sink["too_large"] = True
                return
            sink["fh"].write(data[start:end])
        elif state["kind"] == "field":
            state["field"] += data[start:end]
            if len(state["field"]) > MAX_FIELD_BYTES:
                sink["bad"] = f"The form field {state['name']!r} is too long."

    def on_part_end() -> None:
        if state["kind"] == "field" and state["name"]:
            upload.fields[state["name"]] = state["field"].decode("utf-8", "replace").strip()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
            if sink["too_large"]:
                raise too_large(max_bytes)
            if sink["bad"]:
                raise BadUploadError(sink["bad"], "Send one video as the `file` field, plus optional exercise and model.")
        parser.finalize()
        if sink["fh"] is not None:
            sink["fh"].flush()  # a full disk shows up here for the last buffered bytes
    except ClientDisconnect:
        raise
    except (BadUploadError, UploadTooLargeError):
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFullError() from exc
        raise
    except Exception as exc:  # malformed multipart body
        raise BadUploadError(
            f"The upload could not be read as a form ({exc.__class__.__name__}).",
            "Send the video as the `file` field of a multipart/form-data form.",
        ) from exc
    finally:
        if sink["fh"] is not None:
            try:
                sink["fh"].close()
            except OSError:
                pass  # already reported (flush above) or the request failed anyway; the folder is removed
    if sink["fh"] is None:
        raise BadUploadError("The upload has no `file` field.", "Send the video as the `file` field of the form.")
    return upload
