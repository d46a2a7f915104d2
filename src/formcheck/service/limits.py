"""Request limits below the routes: what a slow or huge request may cost the server.

* `RequestLimitsMiddleware` (ASGI): every request body is capped (`max_body_bytes`; the upload
  routes `max_upload_bytes` plus the form around it, and `upload.py` checks the file exactly),
  must keep arriving (no pause over `body_idle_timeout_s`) and, after `body_rate_grace_s`,
  at an average of `min_body_rate_bytes_s`.
  A declared Content-Length over the cap is refused before the app runs; otherwise the request is
  cut off as the limit is passed, and whatever the app makes of the cut body is replaced by a
  413 or 408 JSON error (connection closed).
* `HeaderTimeoutH11Protocol` (uvicorn): uvicorn has no header timeout, so a client that sends
  its request line and headers a byte at a time would keep its connection forever; this closes
  it after `header_timeout_s`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from formcheck.service import upload

# The multipart upload routes: their body is the clip (`max_upload_bytes`, plus the form around it).
UPLOAD_ROUTES = re.compile(r"^/api/v1/(analyses|clinic/tests/[^/]+/clip)/?$")


class _BodyRefused(Exception):
    """Raised into the app from `receive` once the body broke a limit (the app's answer is discarded)."""


@dataclass(frozen=True)
class Refusal:
    """A JSON error answered in place of the app (and the connection closed: the body is left unread)."""

    status: int
    code: str
    message: str
    hint: str

    async def send(self, send: Send) -> None:
        body = json.dumps({"code": self.code, "message": self.message, "hint": self.hint}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class _Body:
    """How a request's body is arriving."""

    received: int = 0
    started: float | None = None  # when the app first asked for it
    complete: bool = False
    refusal: Refusal | None = None
    response_started: bool = False


def too_large(limit: int) -> Refusal:
    return Refusal(413, "request_too_large", f"The request body is larger than the {limit:,} byte limit.",
                   "Send a smaller request; clips go to the upload routes (multipart `file`).")


def upload_too_large(max_upload_bytes: int) -> Refusal:
    """The upload routes' own answer (as `upload.receive_upload` gives it)."""
    error = upload.too_large(max_upload_bytes)
    return Refusal(error.http_status, error.code, error.message, error.hint)


def too_slow(message: str) -> Refusal:
    return Refusal(408, "request_timeout", message, "Check the connection and send the request again.")


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, idle_timeout_s: float,
                 min_rate_bytes_s: int, rate_grace_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.idle_timeout_s = idle_timeout_s
        self.min_rate_bytes_s = min_rate_bytes_s
        self.rate_grace_s = rate_grace_s

    def limit_for(self, scope: Scope) -> tuple[int, Refusal]:
        """The body limit of this request, and the answer when it is passed."""
        if scope["method"] == "POST" and UPLOAD_ROUTES.match(scope["path"]):
            return self.max_upload_bytes + upload.ENVELOPE_SLACK, upload_too_large(self.max_upload_bytes)
        return self.max_body_bytes, too_large(self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, over_limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await over_limit.send(send)  # refused before a byte of the body is read
            return
        body = _Body()

        async def limited_receive() -> Message:
            if body.complete or body.refusal:
                return await receive()  # after the body: waiting for a disconnect is not a body read
            now = time.monotonic()
            if body.started is None:
                body.started = now
            try:
                message = await asyncio.wait_for(receive(), self._wait_s(body, body.started, now))
            except TimeoutError:
                body.refusal = too_slow(self._slow_message(body, time.monotonic() - body.started))
                raise _BodyRefused from None
            if message["type"] == "http.request":
                body.received += len(message.get("body", b""))
                body.complete = not message.get("more_body", False)
                if body.received > limit:
                    body.refusal = over_limit
                    raise _BodyRefused
            return message

        async def guarded_send(message: Message) -> None:
            if body.refusal:
                return  # the app's answer to a cut-off body is replaced by the refusal
            if message["type"] == "http.response.start":
                body.response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not body.refusal or body.response_started:
                raise
        if body.refusal and not body.response_started:
            await body.refusal.send(send)

    def _wait_s(self, body: _Body, started: float, now: float) -> float:
        """How long the next piece of the body may take: the idle limit, or less when the average
        rate would drop below the minimum before then."""
        wait = self.idle_timeout_s
        if self.min_rate_bytes_s:
            rate_deadline = started + self.rate_grace_s + body.received / self.min_rate_bytes_s
            wait = min(wait, rate_deadline - now)
        return max(wait, 0.001)

    def _slow_message(self, body: _Body, elapsed: float) -> str:
        if elapsed < self.idle_timeout_s:
            return (f"The request body arrived too slowly ({body.received / max(elapsed, 1e-3):,.0f} bytes/s; "
                    f"at least {self.min_rate_bytes_s:,} bytes/s is needed).")
        return f"The request body stopped arriving for {self.idle_timeout_s:.0f} s."


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take over `header_timeout_s`.

    The clock starts when the connection opens, and again when a keep-alive connection receives
    the first byte of its next request; it stops once h11 has the whole request head.
    """

    header_timeout_s = 15.0  # set by `with_header_timeout`

    def connection_made(self, transport: Any) -> None:
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and data:
            self._arm_header_timer()
        else:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class for `uvicorn.run(http=...)`, with this header timeout."""
    return type("HeaderTimeoutH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout_s": seconds})
