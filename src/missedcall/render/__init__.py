"""The message (SPEC §7): a decision's notification rendered into a mail.

:class:`Renderer` is the entry point; the pieces (template document, XSLT
engine, languages, links, vCard, headers and MIME) are modules of their own.
"""

from missedcall.render.i18n import LANGUAGES_DIR, Language, Languages
from missedcall.render.message import RenderedMail, Renderer, RenderError
from missedcall.render.xslt import TEMPLATES_DIR, TemplateError, Templates

__all__ = [
    "LANGUAGES_DIR",
    "TEMPLATES_DIR",
    "Language",
    "Languages",
    "RenderError",
    "RenderedMail",
    "Renderer",
    "TemplateError",
    "Templates",
]
