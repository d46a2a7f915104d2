"""Security headers on every HTTP response (a response that sets one itself keeps its own).

Content-Security-Policy, by what the response is:
* the pages (/, /clinic, /live and /static): scripts, styles, images and connections from this
  origin only; no inline script or style (the pages keep theirs in /static), `blob:` for the
  local preview of the chosen video, `data:` images for the plots drawn in the page;
* the API docs (/docs, /redoc): FastAPI's Swagger UI and ReDoc load from cdn.jsdelivr.net and
  start with an inline script, so they are allowed that (and nothing else is);
* everything else (JSON, CSV, video, the self-contained HTML and PDF reports): no script at all;
  the reports' inline styles and embedded `data:` plots are allowed.
Every response may not be framed (frame-ancestors 'none', X-Frame-Options DENY), is not
MIME-sniffed, and sends the Referer only to this origin. HTTPS requests (also behind a proxy
trusted for X-Forwarded-Proto: `formcheck serve --forwarded-allow-ips`) get Strict-Transport-Security.
Patient data (/api and /share) is `Cache-Control: no-store`: no browser or proxy keeps a copy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCUMENT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; media-src 'self'; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGES = ("/", "/clinic", "/live")
DOCS = ("/docs", "/redoc")
PATIENT_DATA = ("/api/", "/share/")


def content_security_policy(path: str) -> str:
    if path in PAGES or path.startswith("/static/"):
        return PAGE_CSP
    if path.startswith(DOCS):
        return DOCS_CSP
    return DOCUMENT_CSP


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, hsts_max_age_s: int) -> None:
        self.app = app
        self.hsts_max_age_s = hsts_max_age_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        wanted = {
            "Content-Security-Policy": content_security_policy(path),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        }
        if scope.get("scheme") == "https" and self.hsts_max_age_s:
            wanted["Strict-Transport-Security"] = f"max-age={self.hsts_max_age_s}; includeSubDomains"
        if path.startswith(PATIENT_DATA):
            wanted["Cache-Control"] = "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
