"""The report as one self-contained HTML page (images inlined as data URIs, no external request),
readable on a phone: wide tables scroll inside their box, never the page."""

from __future__ import annotations

import base64
from html import escape

from formcheck.clinic.report_model import ScreeningReport
from formcheck.clinic.reports.blocks import Block, Heading, KeyValues, Para, Picture, PictureGrid, Table
from formcheck.clinic.reports.content import build_blocks, title

STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;max-width:1050px;margin:2em auto;padding:0 1em;color:#1d2430;
overflow-wrap:anywhere}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:normal}
th{background:#f3f5f8}tr.flag td{background:#fdecea}.muted{color:#667}
figure{margin:1em 0}img{max-width:100%;height:auto}figcaption{color:#556;font-size:.9em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));gap:.8em}
.grid figure{margin:0}.grid img{width:100%}
dl{display:grid;grid-template-columns:minmax(7em,max-content) 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
@media (max-width:600px){body{margin:1em auto;font-size:14px}figure img{width:100%!important}}
"""


def _picture(block: Picture, width: bool = True) -> str:
    data = base64.b64encode(block.data).decode("ascii")
    style = f" style='width:{block.width_frac * 100:.0f}%'" if width else ""
    return (f"<figure><img src='data:{block.mime};base64,{data}' alt='{escape(block.caption)}'{style}>"
            f"<figcaption>{escape(block.caption)}</figcaption></figure>")


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p{' class=muted' if block.muted else ''}>{escape(block.text)}</p>"
    if isinstance(block, KeyValues):
        return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in block.rows) + "</dl>"
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
        body = "".join(
            f"<tr{' class=flag' if i in block.flagged else ''}>"
            + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for i, row in enumerate(block.rows))
        return f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    if isinstance(block, PictureGrid):
        return "<div class=grid>" + "".join(_picture(p, width=False) for p in block.pictures) + "</div>"
    return _picture(block)


def render_html(report: ScreeningReport, blocks: list[Block] | None = None) -> str:
    """A self-contained HTML page (images inlined as data URIs, no external request)."""
    blocks = build_blocks(report) if blocks is None else blocks
    heading = escape(title(report))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{heading}</title><style>{STYLE}</style></head><body><h1>{heading}</h1>"
            + "".join(_html_block(b) for b in blocks) + "</body></html>")
