"""Streaming multipart upload: the file goes to disk chunk by chunk and the request is refused
(413) as soon as it passes the size limit, not after the whole body has been read.

FastAPI's `UploadFile` spools the whole body before the endpoint runs, so the body is parsed
here with python-multipart's incremental parser.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from formcheck.service.errors import BadUploadError, StorageFullError, UploadTooLargeError
from formcheck.service.worker import DISK_FULL

if TYPE_CHECKING:  # the callbacks' TypedDict exists only for type checkers
    from python_multipart.multipart import MultipartCallbacks

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


class _FormReceiver:
    """The multipart parser's callbacks: text fields into `upload.fields`, the `file` part to disk.

    Problems found inside a callback are recorded (`too_large`, `bad`) and raised by the reading
    loop, between chunks, so the parser is never left half-way through a callback.
    """

    def __init__(self, upload: Upload, max_bytes: int) -> None:
        self.upload = upload
        self.max_bytes = max_bytes
        self.fh: BinaryIO | None = None
        self.too_large = False
        self.bad: str | None = None
        self.headers: dict[bytes, bytes] = {}
        self.header = b""
        self.value = b""
        self.field = b""
        self.name: str | None = None
        self.kind: str | None = None  # "file", "field" or "skip" for the current part

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.headers, self.field, self.name, self.kind = {}, b"", None, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header.lower()] = self.value
        self.header, self.value = b"", b""

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        self.name = name
        if name == FILE_FIELD and b"filename" in disposition:
            if self.fh is not None:
                self.bad = "Only one file can be uploaded per analysis."
                self.kind = "skip"
                return
            self.upload.file_name = display_name(disposition[b"filename"].decode("utf-8", "replace"))
            self.fh = open(self.upload.path, "wb")  # closed by `close`
            self.kind = "file"
        elif len(self.upload.fields) >= MAX_FIELDS:
            self.bad = "Too many form fields."
            self.kind = "skip"
        else:
            self.kind = "field"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.kind == "file":
            assert self.fh is not None  # opened when the part's headers ended
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                self.too_large = True
                return
            self.fh.write(data[start:end])
        elif self.kind == "field":
            self.field += data[start:end]
            if len(self.field) > MAX_FIELD_BYTES:
                self.bad = f"The form field {self.name!r} is too long."

    def on_part_end(self) -> None:
        if self.kind == "field" and self.name:
            self.upload.fields[self.name] = self.field.decode("utf-8", "replace").strip()

    def close(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()
            except OSError:
                pass  # already reported (flush in `_read_form`) or the request failed anyway; the folder is removed


def _multipart_boundary(request: Request, max_bytes: int) -> bytes:
    """The form's boundary; refuses a non-form request, or one whose declared length is over the limit."""
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
    return boundary


async def _read_form(request: Request, parser: MultipartParser, receiver: _FormReceiver) -> None:
    """Feed the body to the parser chunk by chunk, stopping at the first chunk that breaks a limit."""
    async for chunk in request.stream():
        if chunk:
            parser.write(chunk)
        if receiver.too_large:
            raise too_large(receiver.max_bytes)
        if receiver.bad:
            raise BadUploadError(receiver.bad, "Send one video as the `file` field, plus optional exercise and model.")
    parser.finalize()
    if receiver.fh is not None:
        receiver.fh.flush()  # a full disk shows up here for the last buffered bytes


async def receive_upload(request: Request, dest: Path, max_bytes: int) -> Upload:
    """Write the `file` part of a multipart/form-data request to `dest`; return it with the text fields."""
    boundary = _multipart_boundary(request, max_bytes)
    upload = Upload(dest)
    receiver = _FormReceiver(upload, max_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        await _read_form(request, parser, receiver)
    except ClientDisconnect:
        raise
    except (BadUploadError, UploadTooLargeError):
        raise
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise StorageFullError() from exc
        raise
    except Exception as exc:  # malformed multipart body
        raise BadUploadError(
            f"The upload could not be read as a form ({exc.__class__.__name__}).",
            "Send the video as the `file` field of a multipart/form-data form.",
        ) from exc
    finally:
        receiver.close()
    if receiver.fh is None:
        raise BadUploadError("The upload has no `file` field.", "Send the video as the `file` field of the form.")
    return upload
