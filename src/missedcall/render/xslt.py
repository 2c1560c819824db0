"""The XSLT 1.0 template engine: compiled once, locked in its folder, never left broken.

Templates are code an administrator writes, and code that runs with the
server's rights, so they are fenced in: :data:`ACCESS` forbids writing files,
creating folders and any network access, and :class:`FolderResolver` answers
every file a template asks for (``xsl:include``, ``xsl:import``,
``document()``) from the templates folders only.  A template that does not
compile is rejected with its file, line and the XSLT message, and the last
good version of it stays in force (at start-up: the packaged default).  At run
time a template that fails with an administrator's files in play gives way to
the packaged default, so a mail is never lost to a template.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from lxml import etree

from missedcall.render.folders import ChangeCheck, Layers

if TYPE_CHECKING:
    from lxml.etree._docloader import _InputDocument

__all__ = [
    "ACCESS",
    "TEMPLATES_DIR",
    "TEMPLATE_NAMES",
    "FolderResolver",
    "TemplateError",
    "Templates",
    "compile_template",
]

log = logging.getLogger("missedcall.render")

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("subject.xsl", "text.xsl", "html.xsl")
"""The templates a message is made of; other files in the folder are for including."""

ACCESS = etree.XSLTAccessControl(
    read_file=True,  # document() of files in the folder; FolderResolver fences the rest
    write_file=False,
    create_dir=False,
    read_network=False,
    write_network=False,
)


class TemplateError(Exception):
    """A template that does not compile or failed to run: where, and what XSLT said."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}, line {line}"
        super().__init__(f"{where}: {message}")


class TemplateAccessError(TemplateError):
    """A template asked for a file outside the templates folders, or for a URL."""


class FolderResolver(etree.Resolver):
    """Serves files from the templates folders, administrator's first; refuses all else.

    The file is read here and handed over as a string, so libxml2 never opens
    a path or URL a template chose; its base is the file actually read, so that
    errors name that file.
    """

    def __init__(self, layers: Layers) -> None:
        super().__init__()
        self._layers = layers
        self._roots = {root.resolve() for root in layers.roots}

    def resolve(
        self, system_url: str | None, public_id: str | None, context: object, /
    ) -> _InputDocument:
        path = self._allowed(system_url or "")
        return self.resolve_string(path.read_bytes(), context, base_url=str(path))

    def _allowed(self, url: str) -> Path:
        split = urlsplit(url)
        asked = Path(unquote(split.path))
        denied = TemplateAccessError(
            url, None, "templates may only read files of the templates folder"
        )
        if split.scheme not in ("", "file") or split.netloc not in ("", "localhost"):
            raise denied
        if not asked.is_absolute() or asked.parent.resolve() not in self._roots:
            raise denied
        found = self._layers.find(asked.name)
        if found is None or found.resolve().parent not in self._roots:
            raise denied
        return found


def _parser(layers: Layers) -> etree.XMLParser:
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(FolderResolver(layers))
    return parser


def compile_template(path: Path, layers: Layers) -> etree.XSLT:
    """The compiled template; :class:`TemplateError` with file and line if it is broken."""
    try:
        source = path.read_bytes()
    except OSError as error:
        raise TemplateError(str(path), None, f"cannot read: {error.strerror}") from error
    try:
        document = etree.fromstring(source, _parser(layers), base_url=str(path))
        return etree.XSLT(document.getroottree(), access_control=ACCESS)
    except etree.XMLSyntaxError as error:
        raise TemplateError(error.filename or str(path), error.lineno, error.msg) from error
    except TemplateAccessError as error:
        raise TemplateError(str(path), None, f"{error.file}: {error.message}") from error
    except etree.XSLTParseError as error:
        raise _from_log(str(path), error.error_log, str(error)) from error


def _from_log(
    default_file: str, error_log: Iterable[etree._LogEntry], fallback: str
) -> TemplateError:
    """One error from libxslt's log: the first place it names, and all it said, in order."""
    file, line, messages = default_file, None, []
    for entry in error_log:
        if line is None and entry.filename and entry.filename != "<string>" and entry.line > 0:
            file, line = entry.filename, entry.line
        if entry.message not in messages:
            messages.append(entry.message)
    return TemplateError(file, line, "; ".join(messages) or fallback)


class Templates:
    """The compiled templates in force, rebuilt when a file in the folders changes."""

    def __init__(
        self,
        layers: Layers,
        names: tuple[str, ...] = TEMPLATE_NAMES,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._layers = layers
        self._names = names
        self._changes = ChangeCheck(layers, check_interval, clock)
        defaults = Layers(layers.packaged)
        self._defaults = {
            name: compile_template(layers.packaged / name, defaults) for name in names
        }
        self._in_force: dict[str, etree.XSLT] = dict(self._defaults)
        self._problems: dict[str, TemplateError] = {}

    @property
    def problems(self) -> tuple[TemplateError, ...]:
        """Why templates were rejected at the last (re)load, each error once (a broken
        include breaks every template that includes it); empty when all compiled."""
        self._refresh()
        return tuple({str(error): error for error in self._problems.values()}.values())

    def apply(self, name: str, document: etree._ElementTree, *, strict: bool = False) -> str:
        """The template's output; a failing override falls back to the default unless ``strict``."""
        self._refresh()
        try:
            return _run(self._in_force[name], document, lambda: self._path(name))
        except TemplateError as error:
            if strict or self._layers.override is None:
                raise  # without an administrator's folder there is nothing to fall back from
            log.error("%s; the packaged %s is used instead", error, name)
            packaged = str(self._layers.packaged / name)
            return _run(self._defaults[name], document, lambda: packaged)

    def _path(self, name: str) -> str:
        return str(self._layers.find(name) or self._layers.packaged / name)

    def _refresh(self) -> None:
        if not self._changes.changed():
            return
        self._problems.clear()
        for name in self._names:
            path = self._layers.find(name) or self._layers.packaged / name
            try:
                self._in_force[name] = compile_template(path, self._layers)
            except TemplateError as error:
                self._problems[name] = error
                log.error(
                    "template %s rejected: %s (the last good version stays in force)", name, error
                )
            else:
                log.info("template %s loaded from %s", name, path)


def _run(template: etree.XSLT, document: etree._ElementTree, file: Callable[[], str]) -> str:
    """The output; errors name the template's file (looked up only then: it costs a stat)."""
    try:
        return str(template(document))
    except etree.XSLTApplyError as error:
        raise _from_log(file(), error.error_log, str(error)) from error
    except TemplateAccessError as error:
        raise TemplateError(file(), None, f"{error.file}: {error.message}") from error
