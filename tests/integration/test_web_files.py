"""The web page's files as the server serves them: only the shipped files, each with a strict
Content-Security-Policy, and JavaScript that never parses data as HTML."""

from __future__ import annotations

import re
from pathlib import Path

from missedcall.api.page import FILES, WEB_DIR
from tests.support.running import running

SCRIPTS = sorted(WEB_DIR.rglob("*.js"))
IMPORT = re.compile(r'^import .* from "(\.{1,2}/[^"]+)";$', re.MULTILINE)
# Ways to turn a string into markup or code; the page builds its DOM from text nodes only.
FORBIDDEN = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|DOMParser"
)


async def test_the_page_and_its_files_are_served_with_a_strict_policy(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        web = run.client()
        page = await web.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in page.headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"  # no inline script, nothing from elsewhere
        assert policy["frame-ancestors"] == "'none'"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert re.findall(r"<script[^>]*>", page.text) == [
            '<script type="module" src="/static/js/app.js">'
        ]
        assert "http" not in page.text  # no external resources
        for name in FILES:
            answer = await web.get(f"/static/{name}")
            assert answer.status_code == 200, name
            assert "content-security-policy" in answer.headers
        script = await web.get("/static/js/app.js")
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_nothing_but_the_shipped_files_is_served(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        web = run.client()
        for path in ["/static/nothing.js", "/static/../page.py", "/static/%2e%2e/page.py",
                     "/static/js/../../page.py", "/static/", "/static/js"]:  # fmt: skip
            assert (await web.get(path)).status_code == 404, path


def test_the_scripts_never_parse_data_as_html() -> None:
    assert SCRIPTS
    for script in SCRIPTS:
        found = FORBIDDEN.findall(script.read_text(encoding="utf-8"))
        assert found == [], f"{script.name}: {found}"


def test_every_module_the_scripts_import_is_shipped() -> None:
    for script in SCRIPTS:
        for target in IMPORT.findall(script.read_text(encoding="utf-8")):
            resolved = (script.parent / target).resolve().relative_to(WEB_DIR)
            assert resolved.as_posix() in FILES, f"{script.name} imports {target}"
