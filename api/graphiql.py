"""The GraphiQL IDE, served entirely from Lianbao itself.

A county network is often offline or filtered, so the page must not load anything from a
public CDN: React, GraphiQL and the explorer plugin are vendored, byte for byte as published on
npm, under ``api/static/graphiql/`` (versions, licences and hashes in its ``LICENSES.md``).
The page carries the upstream Subresource Integrity hashes (the same ones strawberry's own
template uses), so a file changed on disk is refused by the browser, and a
Content-Security-Policy that allows only this origin, so nothing can be pulled in from
elsewhere even by a compromised asset.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
# Where the assets are mounted; the page references them below the app's root path.
ASSETS_PATH = "/static/graphiql"

# Vendored files and their published SRI hashes (sha384 of the exact npm-tarball bytes).
STYLES: tuple[tuple[str, str | None], ...] = (
    (
        "vendor/graphiql/graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    (
        "vendor/plugin-explorer/style.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
    ("lianbao-graphiql.css", None),
)
SCRIPTS: tuple[tuple[str, str | None], ...] = (
    (
        "vendor/react/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    (
        "vendor/react-dom/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    (
        "vendor/graphiql/graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    (
        "vendor/plugin-explorer/index.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
    ("lianbao-graphiql.js", None),
)

# Only this origin. Styles may be inline because GraphiQL's dialogs insert <style> elements
# at run time (react-remove-scroll); scripts may not. Fonts and the favicon are data: URIs.
# 'self' in connect-src also covers ws:/wss: to the same host (CSP Level 3) for subscriptions.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def _tag(kind: str, url: str, integrity: str | None) -> str:
    sri = f' integrity="{integrity}"' if integrity else ""
    if kind == "style":
        return f'<link rel="stylesheet" href="{escape(url)}"{sri} />'
    return f'<script src="{escape(url)}"{sri}></script>'


def render_page(root_path: str = "") -> str:
    base = f"{root_path.rstrip('/')}{ASSETS_PATH}"
    head = "\n    ".join(_tag("style", f"{base}/{name}", sri) for name, sri in STYLES)
    body = "\n    ".join(_tag("script", f"{base}/{name}", sri) for name, sri in SCRIPTS)
    return f"""<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8" />
    <title>Lianbao GraphiQL</title>
    <link rel="icon" href="data:," />
    {head}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading…</div>
    {body}
  </body>
</html>
"""


def graphiql_page(request: Request) -> HTMLResponse:
    """The IDE page; it holds no data, so it is served without a token."""
    return HTMLResponse(
        render_page(request.scope.get("root_path", "")),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def assets() -> StaticFiles:
    """The vendored files (with ETag / Last-Modified from StaticFiles)."""
    return StaticFiles(directory=STATIC_DIR)
