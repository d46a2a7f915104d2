"""A short, downscaled cut of a clip: a bounded upload for the load bench and the service tests."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av


def short_clip(src: Path, dst: Path, seconds: float, width: int = 640,
               options: Mapping[str, str] | None = None) -> Path:
    """The first `seconds` of `src` at `width` px, H.264 at 30 fps; `options` go to libx264 (e.g. crf, preset)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        height = int(round(vin.codec_context.height * width / vin.codec_context.width / 2)) * 2
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if options:
            stream.options = dict(options)
        for i, frame in enumerate(inp.decode(vin)):
            if frame.time >= seconds:
                break
            small = frame.reformat(width=width, height=height, format="yuv420p")
            small.pts, small.time_base = i, Fraction(1, 30)
            for packet in stream.encode(small):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst
