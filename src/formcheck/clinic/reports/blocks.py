"""The report's content as renderer-neutral blocks: both renderers draw the same list, so the
HTML and the PDF cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    muted: bool = False


@dataclass
class KeyValues:
    rows: list[tuple[str, str]]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    flagged: set[int] = field(default_factory=set)   # row indices drawn as findings
    widths: list[float] | None = None                # relative column widths (PDF)


@dataclass
class Picture:
    data: bytes
    mime: str                                        # image/png | image/jpeg
    caption: str
    width_frac: float = 1.0                          # of the text width


@dataclass
class PictureGrid:
    """Pictures side by side (key frames): two per row in the PDF, as many as fit in the browser."""

    pictures: list[Picture]
    columns: int = 2


Block = Heading | Para | KeyValues | Table | Picture | PictureGrid
