"""The report as an A4 PDF with real (searchable) text.

PDF library: **ReportLab** (BSD, maintained by ReportLab Inc. since 2000, releases every few
months). Since 4.0 it is a pure-Python wheel whose only dependencies are Pillow and
charset-normalizer, so `pip install` works on a fresh machine with no Debian package. Its
platypus layer flows paragraphs and tables across pages (repeated table headers, wrapping
cells) and writes real text, so the PDF is searchable and `pdftotext` reads the scores.
Rejected: WeasyPrint needs Pango/HarfBuzz system libraries (present on this machine only as
Chromium's dependencies, absent on a fresh CI image); matplotlib's PDF backend draws pages as
figures, so tables that run over a page, wrapped text and repeated headers would have to be
laid out by hand. Text is set in DejaVu Sans, shipped with matplotlib (already a dependency),
which covers °, −, ≥, × and non-Latin names, unlike the PDF base-14 fonts.

No orphan page: when the last page would hold only a few lines, the pictures are drawn a little
smaller until the tail fits on the page before (or the smallest size is reached).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from formcheck.clinic.report_model import ScreeningReport
from formcheck.clinic.reports.blocks import Block, Heading, KeyValues, Para, Picture, PictureGrid, Table
from formcheck.clinic.reports.content import build_blocks, title

ORPHAN_FRACTION = 0.25             # a last page filled less than this is pulled back when possible
PICTURE_SCALES = (0.85, 0.72)      # tried in turn to pull an orphan tail back


@dataclass
class _Built:
    pdf: bytes
    pages: int
    last_page_used: float          # fraction of the last page's frame height holding content


def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans (from matplotlib's data) once; returns (regular, bold) names."""
    from matplotlib import get_data_path
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        ttf = Path(get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def render_pdf(report: ScreeningReport, blocks: list[Block] | None = None) -> bytes:
    """The report as an A4 PDF with real (searchable) text and no orphan last page."""
    from reportlab import rl_config

    rl_config.useA85 = 0  # binary image streams: ASCII85 in pure Python took most of the build time
    blocks = build_blocks(report) if blocks is None else blocks
    built = _build(report, blocks, 1.0)
    if built.pages > 1 and built.last_page_used < ORPHAN_FRACTION:
        for scale in PICTURE_SCALES:
            smaller = _build(report, blocks, scale)
            if smaller.pages < built.pages:
                return smaller.pdf
    return built.pdf


def _build(report: ScreeningReport, blocks: list[Block], picture_scale: float) -> _Built:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12, spaceAfter=4)
    muted = ParagraphStyle("muted", parent=body, textColor=colors.HexColor("#555566"), fontSize=8, leading=10.5)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9.2)
    head_cell = ParagraphStyle("head", parent=cell, fontName=bold)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=8)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=5, keepWithNext=1)
    caption = ParagraphStyle("caption", parent=muted, spaceBefore=2, spaceAfter=8)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.6 * cm, title=title(report), author="formcheck",
                            subject=f"Screening of {report.athlete.name}")
    width = doc.width

    def p(text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    def image(picture: Picture, box_width: float) -> Image:
        iw, ih = ImageReader(io.BytesIO(picture.data)).getSize()
        w = box_width * picture_scale
        h = w * ih / iw
        max_h = doc.height * 0.85
        if h > max_h:
            w, h = w * max_h / h, max_h
        return Image(io.BytesIO(picture.data), width=w, height=h)

    intro = ParagraphStyle("intro", parent=muted, keepWithNext=1)   # a note right under a heading
    story: list[Any] = [p(title(report), h1)]
    previous: Block | None = None
    for block in blocks:
        if isinstance(block, Heading):
            story.append(p(block.text, h2))
        elif isinstance(block, Para):
            style = intro if isinstance(previous, Heading) else muted if block.muted else body
            story.append(p(block.text, style))
        elif isinstance(block, KeyValues):
            t = RLTable([[p(k, head_cell), p(v, cell)] for k, v in block.rows], colWidths=[0.3 * width, 0.7 * width])
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
            story.append(t)
        elif isinstance(block, Table):
            rel = block.widths or [1.0] * len(block.header)
            col_widths = [width * r / sum(rel) for r in rel]
            data = [[p(h, head_cell) for h in block.header]] + [[p(c, cell) for c in row] for row in block.rows]
            t = RLTable(data, colWidths=col_widths, repeatRows=1)
            style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#C8CCD4")),
                     ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF1F5")),
                     ("VALIGN", (0, 0), (-1, -1), "TOP")]
            style += [("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor("#FDECEA")) for i in block.flagged]
            t.setStyle(TableStyle(style))
            story += [t, Spacer(1, 6)]
        elif isinstance(block, PictureGrid):
            column = width / block.columns
            cells = [[image(pic, column - 8), p(pic.caption, caption)] for pic in block.pictures]
            rows: list[list[Any]] = [cells[i:i + block.columns] for i in range(0, len(cells), block.columns)]
            rows[-1] += [""] * (block.columns - len(rows[-1]))
            grid = RLTable(rows, colWidths=[column] * block.columns)
            grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(grid)
        else:
            story.append(KeepTogether([image(block, width * block.width_frac), p(block.caption, caption)]))
        previous = block

    footer = f"formcheck screening report · {report.athlete.name} · {report.screening.date.isoformat()}"

    def on_page(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#666677"))
        canvas.drawString(document.leftMargin, 0.9 * cm, footer)
        canvas.drawRightString(A4[0] - document.rightMargin, 0.9 * cm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    frame = doc.frame
    top = frame._y2 - frame._topPadding
    used = (top - frame._y) / max(1.0, top - frame._y1p)
    return _Built(buf.getvalue(), doc.page, used)
