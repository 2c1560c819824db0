"""The web page: ``/`` and its files under ``/static/`` (package data in ``api/web/``).

Plain HTML, CSS and JavaScript modules, no build step.  The page holds no data:
it reads everything from ``/api/v1`` with the session cookie, so serving it to
anyone tells nothing.  Only the files shipped in ``web/`` are served (a fixed
table, no path from the request reaches the file system), each with a strict
Content-Security-Policy: scripts and styles from this origin only, no inline
script, nothing from other hosts, never inside another site's frame.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from missedcall.api.security import not_found

__all__ = ["CONTENT_SECURITY_POLICY", "WEB_DIR", "router"]

WEB_DIR = Path(str(resources.files(__package__) / "web"))

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # Inline styles are for the mails: a preview's sandboxed srcdoc iframe inherits this
        # policy, and mail HTML is styled inline (mail programs ignore style sheets).  The
        # page's own styles are all in app.css; it never writes HTML from data.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: a new version is seen on the next load
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(include_in_schema=False)


def _shipped(folder: Path) -> dict[str, Path]:
    """The files the page is made of, by their path under /static/."""
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


FILES = _shipped(WEB_DIR)


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)


@router.get("/")
async def page() -> FileResponse:
    return _file(FILES["index.html"])


@router.get("/static/{name:path}")
async def static(name: str) -> FileResponse:
    path = FILES.get(name)
    if path is None:
        raise not_found(f"file {name!r}")
    return _file(path)
