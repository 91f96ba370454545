"""Markdown → HTML with markdown-it-py: one parse gives tokens and HTML.

Agent-written text is untrusted: raw HTML is escaped (or, when the site asks
for it, sanitised with nh3), and markdown-it's link validation already drops
``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links. Links to files of
the repository are rewritten to the pages built from them by a resolver the
caller puts in the render ``env``.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from taskmon_site.model import Heading

#: env key of the callable that maps a link target to a page URL (or None).
RESOLVER = "resolve_link"
#: env key of a callable told ``(href, line)`` of each link the resolver left as written.
UNRESOLVED = "unresolved_link"

_FORMATTER = HtmlFormatter(nowrap=True)
_PATH_MENTION = re.compile(r"(?<![\w/.\-:])((?:[\w.\-]+/)*[\w\-][\w.\-]*\.md)\b")

_SANITIZE_TAGS = nh3.ALLOWED_TAGS | {"input", "section", "sup", "span", "details", "summary"}
_SANITIZE_ATTRS = {
    "*": {"class", "id", "title", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "input": {"type", "checked", "disabled"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
    "ol": {"start"},
}


def highlight_code(code: str, lang: str, _attrs: str) -> str:
    """Pygments HTML for a fenced block, or "" to let markdown-it escape it."""
    name = lang.split()[0] if lang else ""
    lexer = _lexer(name) if name else None
    if lexer is None:
        return ""
    body = highlight(code, lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{name}">{body}</code></pre>\n'


@functools.lru_cache(maxsize=256)
def _lexer(name: str) -> Lexer | None:
    """The lexer of a fence's language, or None; made once per name (a lookup walks
    Pygments' list of lexers), then used again: lexers keep no state between texts."""
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


def heading_slug(title: str) -> str:
    """GitHub-style anchor: lowercase, spaces to '-', Unicode letters kept."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower(), flags=re.UNICODE)
    return slug.replace(" ", "-") or "section"


class Markdown:
    """The configured parser; ``parse`` then ``render`` the same tokens."""

    def __init__(self, html: str = "escape") -> None:
        self.sanitize = html == "sanitize"
        md = MarkdownIt("commonmark", {"html": self.sanitize, "highlight": highlight_code})
        md.enable(["table", "strikethrough"])
        md.use(footnote_plugin).use(tasklists_plugin)
        md.core.ruler.push("taskmon_anchors", _add_anchors)
        md.core.ruler.push("taskmon_links", _rewrite_links)
        self.md = md

    def parse(self, text: str, env: dict[str, Any]) -> list[Token]:
        return self.md.parse(text, env)

    def render(self, tokens: list[Token], env: dict[str, Any]) -> str:
        html = self.md.renderer.render(tokens, self.md.options, env)
        if self.sanitize:
            html = nh3.clean(html, tags=_SANITIZE_TAGS, attributes=_SANITIZE_ATTRS,
                             attribute_filter=_not_a_theme_id, link_rel="noopener noreferrer")
        return html


def headings(tokens: list[Token]) -> list[Heading]:
    """Every heading with its level, plain text, anchor and source line."""
    found = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            inline = tokens[i + 1]
            text = inline.content.strip()
            found.append(Heading(int(token.tag[1]), text, token.attrGet("id") or "",
                                 token.map[0]))
    return found


#: Ids the theme's pages use; a heading never takes one (it gets ``-1``, ``-2`` … instead).
THEME_IDS = frozenset({
    "main", "site-search", "search-results", "taskmon-ui", "taskmon-actions-data",
    "timeline-h", "backlinks-h", "activity-h", "attention-h", "changed-h", "counts-h",
    "problems-h", "recent-h",
})


#: Names the theme's scripts read from ``window``: an element with one as its id (or
#: an ``<a>`` with it as its name) would stand there until the script set it.
SCRIPT_NAMES = frozenset({"TASKMON_DATA", "TASKMON_BUILD", "TaskmonApp"})


def _not_a_theme_id(_element: str, attribute: str, value: str) -> str | None:
    """Raw HTML keeps its ids and names, but not one the theme's pages or scripts use:
    they would find that element instead of their own."""
    if attribute in ("id", "name") and value.strip() in THEME_IDS | SCRIPT_NAMES:
        return None
    return value


def _add_anchors(state: StateCore) -> None:
    """Give every heading a unique id and a ``#`` permalink after its text.

    Ids repeat GitHub's rule: the second "Notes" is ``notes-1``. Counting per
    slug keeps this linear in the number of headings.
    """
    taken = set(THEME_IDS)
    counts: dict[str, int] = {}
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[i + 1]
        children = inline.children or []
        base = heading_slug("".join(c.content for c in children
                                    if c.type in ("text", "code_inline")))
        n = counts.get(base, 0)
        slug = f"{base}-{n}" if n else base
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        counts[base] = n + 1
        taken.add(slug)
        token.attrSet("id", slug)
        link_open = Token("link_open", "a", 1, attrs={"class": "header-anchor",
                                                      "href": f"#{slug}"})
        inline.children = [*children, Token("text", "", 0, content=" "), link_open,
                           Token("html_block", "", 0, content="#"),
                           Token("link_close", "a", -1)]


def inline_text(token: Token) -> str:
    """The text an inline token shows: no markup or raw HTML, images as their alt text.

    Line breaks inside a paragraph stay ``\n``.
    """
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(inline_text(child))
    return "".join(parts)


def _rewrite_links(state: StateCore) -> None:
    """Point links (and bare ``*.md`` path mentions) at the pages built from them."""
    resolve: Callable[[str], str | None] | None = state.env.get(RESOLVER)
    if resolve is None:
        return
    unresolved = state.env.get(UNRESOLVED) or (lambda href, line: None)
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        line = block.map[0] if block.map else None
        block.children = _link_children(block.children, resolve, unresolved, line)


def _link_children(children: list[Token], resolve: Callable[[str], str | None],
                   unresolved: Callable[[str, int | None], None],
                   line: int | None) -> list[Token]:
    """The children with links rewritten; *line* is the 0-based line they start on."""
    result: list[Token] = []
    in_link = 0
    for child in children:
        if child.type in ("softbreak", "hardbreak") and line is not None:
            line += 1
        if child.type == "link_open":
            in_link += 1
            href = str(child.attrGet("href") or "")
            target = resolve(href)
            if target is not None:
                child.attrSet("href", target)
            else:
                unresolved(href, line)
        elif child.type == "link_close":
            in_link -= 1
        if in_link or child.type not in ("text", "code_inline"):
            result.append(child)
            continue
        result.extend(_link_mentions(child, resolve))
    return result


def _link_mentions(token: Token, resolve: Callable[[str], str | None]) -> list[Token]:
    """Split a text token so that each path of a known page becomes a link."""
    if token.type == "code_inline":
        target = resolve(token.content.strip()) if token.content.endswith(".md") else None
        return _wrap(token, target) if target else [token]
    pieces: list[Token] = []
    text, pos = token.content, 0
    for match in _PATH_MENTION.finditer(text):
        target = resolve(match.group(1))
        if target is None:
            continue
        if match.start() > pos:
            pieces.append(_text(text[pos:match.start()]))
        pieces.extend(_wrap(_text(match.group(1)), target))
        pos = match.end()
    if not pieces:
        return [token]
    if pos < len(text):
        pieces.append(_text(text[pos:]))
    return pieces


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _wrap(token: Token, href: str) -> list[Token]:
    link_open = Token("link_open", "a", 1, attrs={"href": href})
    return [link_open, token, Token("link_close", "a", -1)]
