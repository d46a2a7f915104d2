"""/api/v1/live: live form checks over a WebSocket (protocol in docs/api.md, "Live").

Client -> server: one JSON config message (`{"type": "config", "exercise": "squat"}`), then
frames as binary messages: a 12-byte header (uint32 sequence number, float64 client time in
ms, both big-endian) followed by a JPEG. Server -> client: `ready`, then one `result` per
processed frame, and `error` messages for bad input (the connection stays open).

Rate control: frames are never queued. A reader task keeps only the newest unprocessed frame;
a frame replaced before it was processed is dropped and counted. The model runs in one thread
per connection (its own landmarker, closed on disconnect), never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from formcheck.config import MODEL_NAMES
from formcheck.errors import FormcheckError
from formcheck.live.session import DEFAULT_EXERCISE, LiveSession, live_exercises, resolve_exercise
from formcheck.live.setup import required_view
from formcheck.service.settings import ServiceSettings
from formcheck.sources import MAX_LONG_SIDE

log = logging.getLogger(__name__)

PATH = "/api/v1/live"
FRAME_HEADER = struct.Struct(">Id")   # sequence number, client time (ms)
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_INTERNAL_ERROR = 1011

router = APIRouter(tags=["live"])


@router.get(f"{PATH}/exercises", summary="Exercises the live mode can follow (value -> label)")
def exercises() -> dict:
    return {"default": DEFAULT_EXERCISE, "labels": live_exercises(), "models": list(MODEL_NAMES)}


@dataclass
class Frame:
    seq: int
    client_ms: float
    jpeg: bytes


def _error(code: str, message: str, hint: str = "", seq: int | None = None) -> dict:
    return {"type": "error", "code": code, "message": message, "hint": hint, "seq": seq}


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG (or PNG) bytes -> RGB array; ValueError says what is wrong."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the frame is not a JPEG image formcheck can decode")
    if max(image.shape[:2]) > MAX_LONG_SIDE:
        raise ValueError(f"the frame is {image.shape[1]}x{image.shape[0]}; at most {MAX_LONG_SIDE} px per side")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class LiveConnection:
    """One client: config, then the newest-frame-only loop."""

    def __init__(self, websocket: WebSocket, max_frame_bytes: int, pipeline_settings) -> None:
        self.ws = websocket
        self.max_frame_bytes = max_frame_bytes
        self.pipeline_settings = pipeline_settings
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-live")
        self.session: LiveSession | None = None
        self.pending: Frame | None = None
        self.wake = asyncio.Event()
        self.closed = False
        self.dropped = self.processed = 0
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict) -> None:
        if self.closed or self.ws.application_state != WebSocketState.CONNECTED:
            return
        async with self._send_lock:
            try:
                await self.ws.send_text(json.dumps(message, allow_nan=False))
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True

    async def run(self) -> None:
        try:
            if await self.configure():
                await asyncio.gather(self.read_frames(), self.process_frames())
        finally:
            self.closed = True
            if self.session is not None:
                # Not awaited: when the connection's task is torn down (client gone, server stopping)
                # there may be no running loop left, and the model must be closed all the same.
                self.executor.submit(self.session.close)
            self.executor.shutdown(wait=False)

    async def configure(self) -> bool:
        """Wait for a valid config message; answer `ready`. False when the client left."""
        loop = asyncio.get_running_loop()
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return False
            if message.get("text") is None:
                await self.send(_error("config_first", "A frame arrived before the config message.",
                                       'Send {"type": "config", "exercise": "squat"} first, then the frames.'))
                continue
            try:
                config = json.loads(message["text"])
                if not isinstance(config, dict) or config.get("type") != "config":
                    raise ValueError('the first message must be a JSON object with "type": "config"')
                exercise = resolve_exercise(config.get("exercise"))
                model = config.get("model") or None
                if model is not None and model not in MODEL_NAMES:
                    raise ValueError(f"model {model!r} is not one of {', '.join(MODEL_NAMES)}")
            except ValueError as exc:   # json.JSONDecodeError is a ValueError
                await self.send(_error("invalid_config", f"Invalid config: {exc}.",
                                       'Example: {"type": "config", "exercise": "squat", "model": "lite"}'))
                continue
            try:
                self.session = await loop.run_in_executor(
                    self.executor, functools.partial(LiveSession, exercise, model, self.pipeline_settings))
            except FormcheckError as exc:
                await self.send(_error(exc.code, exc.message, exc.hint))
                return False
            spec = self.session.analyzer.spec
            await self.send({"type": "ready", "exercise": exercise, "label": spec.label, "model": self.session.model,
                             "required_view": required_view(spec),
                             "frame_header": "uint32 seq, float64 client ms, big-endian",
                             "max_frame_bytes": self.max_frame_bytes})
            return True

    async def read_frames(self) -> None:
        try:
            while not self.closed:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    await self.send(_error("unexpected_text", "Only binary frames are expected after the config.",
                                           "Send each frame as a binary message: 12-byte header, then the JPEG."))
                    continue
                if len(data) <= FRAME_HEADER.size:
                    await self.send(_error("invalid_frame", f"A frame message of {len(data)} bytes has no image.",
                                           "Each frame is a 12-byte header (uint32 seq, float64 ms) then the JPEG."))
                    continue
                if len(data) > self.max_frame_bytes:
                    await self.send(_error("frame_too_large", f"A frame of {len(data)} bytes is over the limit "
                                           f"of {self.max_frame_bytes}.", "Send smaller JPEGs (640x480, quality 0.7)."))
                    continue
                seq, client_ms = FRAME_HEADER.unpack_from(data)
                if not math.isfinite(client_ms):
                    await self.send(_error("invalid_frame", f"Frame {seq}: the time in its header is not a number.",
                                           "Put the capture time in ms (e.g. performance.now()) after the sequence "
                                           "number, as a big-endian float64.", seq=seq))
                    continue
                if self.pending is not None:
                    self.dropped += 1   # never processed: a newer frame replaces it
                self.pending = Frame(seq, client_ms, data[FRAME_HEADER.size:])
                self.wake.set()
        finally:
            self.closed = True
            self.wake.set()

    async def process_frames(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.closed:
                return
            frame, self.pending = self.pending, None
            if frame is None:
                continue
            started = time.perf_counter()
            try:
                update = await loop.run_in_executor(self.executor, self._process, frame)
            except ValueError as exc:
                await self.send(_error("invalid_frame", f"Frame {frame.seq}: {exc}.",
                                       "Send each frame as a JPEG after the 12-byte header.", seq=frame.seq))
                continue
            except Exception as exc:  # a bug: say so, end this session, keep the server
                log.exception("live session failed on frame %d", frame.seq)
                await self.send(_error("internal_error", f"Frame {frame.seq} could not be analysed "
                                       f"({type(exc).__name__}: {exc}).", "This is a bug; reconnect to start again.",
                                       seq=frame.seq))
                self.closed = True
                await self.ws.close(code=CLOSE_INTERNAL_ERROR)
                return
            self.processed += 1
            await self.send({"type": "result", "seq": frame.seq, "client_ms": frame.client_ms, **update.to_json(),
                             "server_ms": round(1000 * (time.perf_counter() - started), 1),
                             "dropped": self.dropped, "processed": self.processed})

    def _process(self, frame: Frame):
        assert self.session is not None  # frames are read only after the config message opened the session
        return self.session.process(decode_jpeg(frame.jpeg), frame.client_ms / 1000.0)


@router.websocket(PATH)
async def live(websocket: WebSocket) -> None:
    app_state = websocket.app.state
    settings: ServiceSettings = app_state.settings
    await websocket.accept()
    active = getattr(app_state, "live_sessions", 0)
    if active >= settings.live_max_sessions:
        reason = f"too many live sessions ({active}); try again later"
        await websocket.send_text(json.dumps(_error("too_many_sessions", f"The server already runs {active} live "
                                                    "session(s), its limit.", "Try again in a minute.")))
        await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=reason)
        return
    app_state.live_sessions = active + 1   # no await since the check: the event loop cannot interleave
    try:
        await LiveConnection(websocket, settings.live_max_frame_bytes, settings.pipeline_settings()).run()
    finally:
        app_state.live_sessions -= 1
        if websocket.application_state == WebSocketState.CONNECTED:
            try:
                await websocket.close()
            except (RuntimeError, WebSocketDisconnect):   # the client left first
                pass
