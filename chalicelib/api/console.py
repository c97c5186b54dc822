"""The web console (GET /console): a page and its assets (script, style sheet, icon), served by the app itself (no
CDN, no build step), so it works offline on `make run` and behind API Gateway. The pages call the public API with
the key the user enters."""
from functools import lru_cache
from pathlib import Path

from chalice import Blueprint, Response

from .http import operation

bp = Blueprint(__name__)
TAG = "Console"
FILES = Path(__file__).resolve().parents[1] / "console"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# The page runs only its own script and style, and talks only to this API: no inline script, nothing third-party.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@lru_cache(maxsize=None)
def _file(name: str) -> str:
    return (FILES / name).read_text(encoding="utf-8")


def _page(name: str) -> Response:
    return Response(body=_file(name), status_code=200, headers={
        "Content-Type": TYPES[Path(name).suffix], "Content-Security-Policy": POLICY,
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


@operation(bp, "GET", "/console", summary="The web console (HTML); its pages ask for an API key and use this API",
           tag=TAG, auth="none", media_type="text/html")
def console(call):
    return _page("index.html")


@operation(bp, "GET", "/console/console.js", summary="The console's script (an ES module)", tag=TAG, auth="none",
           media_type="text/javascript")
def console_script(call):
    return _page("console.js")


@operation(bp, "GET", "/console/console.css", summary="The console's style sheet", tag=TAG, auth="none",
           media_type="text/css")
def console_style(call):
    return _page("console.css")


@operation(bp, "GET", "/console/icon.svg", summary="The console's icon", tag=TAG, auth="none",
           media_type="image/svg+xml")
def console_icon(call):
    return _page("icon.svg")
