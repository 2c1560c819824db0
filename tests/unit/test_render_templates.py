"""The XSLT engine: overrides, rejection with file and line, last good kept, and the fence."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from lxml import etree

from missedcall.render.folders import Layers
from missedcall.render.xslt import TEMPLATES_DIR, TemplateError, Templates
from tests.support.files import write_changed
from tests.support.rendering import example_document

XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
DOCUMENT = etree.ElementTree(etree.fromstring(example_document()))


def stylesheet(body: str, output: str = "text", extra: str = "") -> str:
    return (
        f'<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" {XSL} {extra}>\n'
        f'<xsl:output method="{output}"/>\n{body}\n</xsl:stylesheet>\n'
    )


def subject_template(text: str) -> str:
    return stylesheet(f'<xsl:template match="/">{text}</xsl:template>')


@pytest.fixture
def admin(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


def templates(admin: Path) -> Templates:
    return Templates(Layers(TEMPLATES_DIR, admin), check_interval=0)


def test_the_packaged_templates_compile_and_render() -> None:
    engine = Templates(Layers(TEMPLATES_DIR))
    assert engine.problems == ()
    assert engine.apply("subject.xsl", DOCUMENT) == "Missed call from Jane Doe (+49 89 1234567)"
    assert "Phones that rang" in engine.apply("text.xsl", DOCUMENT)
    assert engine.apply("html.xsl", DOCUMENT).startswith("<!DOCTYPE html>")


def test_an_administrators_file_overrides_its_packaged_namesake_only(admin: Path) -> None:
    write_changed(admin / "subject.xsl", subject_template("Custom"))
    engine = templates(admin)
    assert engine.apply("subject.xsl", DOCUMENT) == "Custom"
    assert "Phones that rang" in engine.apply("text.xsl", DOCUMENT)


def test_an_overridden_include_changes_the_packaged_templates_that_include_it(
    admin: Path,
) -> None:
    common = (TEMPLATES_DIR / "common.xsl").read_text()
    changed = re.sub(
        r'<xsl:template name="caller-text">.*?</xsl:template>',
        '<xsl:template name="caller-text">THE CALLER</xsl:template>',
        common,
        flags=re.DOTALL,
    )
    write_changed(admin / "common.xsl", changed)
    engine = templates(admin)
    assert engine.problems == ()
    assert engine.apply("subject.xsl", DOCUMENT) == "Missed call from THE CALLER"


def test_a_malformed_template_is_rejected_with_file_and_line(admin: Path) -> None:
    write_changed(
        admin / "html.xsl", stylesheet('<xsl:template match="/">\n\n<p></q>\n</xsl:template>')
    )
    engine = templates(admin)
    [problem] = engine.problems
    assert problem.file == str(admin / "html.xsl")
    assert problem.line == 6
    assert "mismatch" in problem.message
    assert f"{admin / 'html.xsl'}, line 6:" in str(problem)
    assert engine.apply("html.xsl", DOCUMENT).startswith("<!DOCTYPE html>")  # the packaged one


def test_an_xslt_error_is_rejected_with_file_line_and_the_xslt_message(admin: Path) -> None:
    body = '<xsl:template match="/">\n<xsl:value-of select="foo(("/>\n</xsl:template>'
    write_changed(admin / "text.xsl", stylesheet(body))
    [problem] = templates(admin).problems
    assert problem.file == str(admin / "text.xsl")
    assert problem.line == 5
    assert "could not compile select expression 'foo(('" in problem.message


def test_a_broken_edit_keeps_the_last_good_version_in_force(admin: Path) -> None:
    engine = templates(admin)
    write_changed(admin / "subject.xsl", subject_template("Version one"))
    assert engine.apply("subject.xsl", DOCUMENT) == "Version one"
    write_changed(admin / "subject.xsl", "<xsl:stylesheet")
    assert engine.apply("subject.xsl", DOCUMENT) == "Version one"
    assert [problem.file for problem in engine.problems] == [str(admin / "subject.xsl")]
    write_changed(admin / "subject.xsl", subject_template("Version two"))
    assert engine.apply("subject.xsl", DOCUMENT) == "Version two"
    assert engine.problems == ()


def test_a_template_failing_at_run_time_gives_way_to_the_packaged_one(admin: Path) -> None:
    body = '<xsl:template match="/"><xsl:message terminate="yes">boom</xsl:message></xsl:template>'
    write_changed(admin / "subject.xsl", stylesheet(body))
    engine = templates(admin)
    assert engine.problems == ()
    assert engine.apply("subject.xsl", DOCUMENT).startswith("Missed call from")
    with pytest.raises(TemplateError, match="boom") as raised:
        engine.apply("subject.xsl", DOCUMENT, strict=True)
    assert raised.value.file == str(admin / "subject.xsl")


def test_a_failing_include_of_the_administrator_also_gives_way(admin: Path) -> None:
    body = '<xsl:template name="caller-text"><xsl:message terminate="yes">boom</xsl:message>'
    write_changed(
        admin / "common.xsl",
        (TEMPLATES_DIR / "common.xsl")
        .read_text()
        .replace(
            '<xsl:template name="caller-text">',
            body + '</xsl:template><xsl:template name="unused">',
        ),
    )
    engine = templates(admin)
    assert engine.problems == ()
    assert engine.apply("subject.xsl", DOCUMENT) == "Missed call from Jane Doe (+49 89 1234567)"
    with pytest.raises(TemplateError, match="boom"):
        engine.apply("subject.xsl", DOCUMENT, strict=True)


def reading(source: str) -> str:
    return stylesheet(
        f'<xsl:template match="/">[<xsl:value-of select="document(\'{source}\')"/>]</xsl:template>'
    )


def test_a_template_may_read_files_of_its_folder(admin: Path) -> None:
    (admin / "data.xml").write_text("<data>inside</data>")
    write_changed(admin / "subject.xsl", reading("data.xml"))
    assert templates(admin).apply("subject.xsl", DOCUMENT, strict=True) == "[inside]"


@pytest.mark.parametrize(
    "source", ["/etc/hostname", "file:///etc/hostname", "../secret.xml", "%2e%2e/secret.xml"]
)
def test_a_template_cannot_read_files_outside_the_folder(admin: Path, source: str) -> None:
    (admin.parent / "secret.xml").write_text("<secret>password</secret>")
    write_changed(admin / "subject.xsl", reading(source))
    engine = templates(admin)
    with pytest.raises(TemplateError, match="may only read files of the templates folder") as error:
        engine.apply("subject.xsl", DOCUMENT, strict=True)
    assert error.value.file == str(admin / "subject.xsl")
    assert "password" not in engine.apply("subject.xsl", DOCUMENT)


def test_a_template_cannot_reach_the_network(admin: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        write_changed(admin / "subject.xsl", reading(f"http://127.0.0.1:{port}/x.xml"))
        with pytest.raises(TemplateError):
            templates(admin).apply("subject.xsl", DOCUMENT, strict=True)
        with pytest.raises(TimeoutError):
            server.accept()  # nobody knocked


def test_an_error_in_an_overridden_include_names_the_administrators_file(admin: Path) -> None:
    write_changed(
        admin / "common.xsl", stylesheet('<xsl:template name="fill">\n<p></q></xsl:template>')
    )
    problems = templates(admin).problems
    assert {problem.file for problem in problems} == {str(admin / "common.xsl")}
    assert {problem.line for problem in problems} == {5}


def test_a_template_cannot_include_files_outside_the_folder(admin: Path) -> None:
    outside = admin.parent / "outside.xsl"
    outside.write_text(stylesheet('<xsl:template name="x">x</xsl:template>'))
    write_changed(admin / "subject.xsl", stylesheet(f'<xsl:include href="{outside}"/>'))
    [problem] = templates(admin).problems
    assert problem.file == str(admin / "subject.xsl")
    assert "may only read files of the templates folder" in problem.message


def test_a_template_cannot_write_files(admin: Path) -> None:
    target = admin / "written.txt"
    body = (
        f'<xsl:template match="/"><exsl:document href="{target}" method="text">x'
        "</exsl:document></xsl:template>"
    )
    write_changed(
        admin / "subject.xsl",
        stylesheet(
            body, extra='xmlns:exsl="http://exslt.org/common" extension-element-prefixes="exsl"'
        ),
    )
    with pytest.raises(TemplateError, match="denied"):
        templates(admin).apply("subject.xsl", DOCUMENT, strict=True)
    assert not target.exists()


def test_external_entities_in_a_template_are_not_expanded(admin: Path) -> None:
    (admin.parent / "secret.txt").write_text("password")
    template = subject_template("&secret;").replace(
        "<xsl:stylesheet",
        f'<!DOCTYPE xsl:stylesheet [<!ENTITY secret SYSTEM "{admin.parent / "secret.txt"}">]>\n'
        "<xsl:stylesheet",
        1,
    )
    write_changed(admin / "subject.xsl", template)
    engine = templates(admin)
    assert "password" not in engine.apply("subject.xsl", DOCUMENT)
