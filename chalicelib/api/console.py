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


# (path, file, summary): the page and its assets, each a documented operation of its own media type
FILES_SERVED = (
    ("/console", "index.html", "The web console (HTML); its pages ask for an API key and use this API"),
    ("/console/console.js", "console.js", "The console's script (an ES module)"),
    ("/console/console.css", "console.css", "The console's style sheet"),
    ("/console/icon.svg", "icon.svg", "The console's icon"),
)


def _serve(path: str, name: str, summary: str) -> None:
    def handler(call):
        return _page(name)
    handler.__name__ = f"console_{Path(name).stem}_{Path(name).suffix[1:]}"
    operation(bp, "GET", path, summary=summary, tag=TAG, auth="none",
              media_type=TYPES[Path(name).suffix].split(";")[0])(handler)


for served in FILES_SERVED:
    _serve(*served)
