"""Page URLs: safe, unique, relative — so a site works under any sub-path and from file://.

Every page is a file (``tasks/<slug>.html``), never a folder index, because a
browser opening the site from disk does not turn ``tasks/x/`` into its index.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Iterable
from urllib.parse import quote, unquote

from slugify import slugify

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")

#: Fixed pages of every site.
INDEX_URL = "index.html"
LIST_URL = "tasks/index.html"
BOARD_URL = "board.html"
DOCS_URL = "docs/index.html"
PROBLEMS_URL = "problems.html"
TASKS_JSON_URL = "tasks.json"
#: Fixed pages inside the folders that task and doc pages share.
RESERVED = frozenset({LIST_URL, DOCS_URL})


def files_at(output_dir: Path, urls: Iterable[str]) -> set[str]:
    """Those of *urls* that are files in *output_dir*: one listing per folder, not a
    file system call per URL (thousands of them)."""
    listed: dict[str, set[str]] = {}
    found = set()
    for url in urls:
        folder, _, name = url.rpartition("/")
        names = listed.get(folder)
        if names is None:
            try:
                with os.scandir(os.path.join(output_dir, folder)) as entries:
                    names = {e.name for e in entries if e.is_file()}
            except OSError:
                names = set()
            listed[folder] = names
        if name in names:
            found.add(url)
    return found


def slug(text: str, fallback: str = "page") -> str:
    """A lowercase, Unicode-keeping, filesystem- and URL-safe name."""
    return slugify(text, allow_unicode=True, regex_pattern=r"[^\w\-]+") or fallback


def unique_url(folder: str, name: str, taken: set[str]) -> str:
    """``folder/name.html``, or ``name-2``, ``-3`` … when taken (case-insensitively).

    *taken* holds the casefolded URLs already given out and is updated.
    """
    url, n = f"{folder}{name}.html", 1
    while url.casefold() in taken or url.casefold() in RESERVED:
        n += 1
        url = f"{folder}{name}-{n}.html"
    taken.add(url.casefold())
    return url


def task_url(src_uri: str, taken: set[str]) -> str:
    stem = posixpath.splitext(posixpath.basename(src_uri))[0]
    return unique_url("tasks/", slug(stem, "task"), taken)


def doc_url(src_uri: str, taken: set[str]) -> str:
    """``docs/<path>.html``; a source already under ``docs/`` is not nested twice."""
    parts = posixpath.splitext(src_uri)[0].split("/")
    if len(parts) > 1 and parts[0] == "docs":
        parts = parts[1:]
    return unique_url("docs/", "/".join(slug(p, "doc") for p in parts), taken)


def relative(target: str, from_url: str) -> str:
    """The relative, percent-encoded link from page *from_url* to *target*."""
    target, _, fragment = target.partition("#")
    start = posixpath.dirname(from_url) or "."
    rel = posixpath.relpath(target, start)
    link = quote(rel, safe="/")
    return f"{link}#{quote(fragment, safe='')}" if fragment else link


def root_prefix(url: str) -> str:
    """'../' repeated for each folder of *url*: the way back to the site root."""
    return "../" * url.count("/")


def link_target(href: str, from_src_uri: str) -> tuple[list[str], str] | None:
    """Candidate repository paths for a link, and its '#fragment', both percent-decoded.

    A relative link is tried against the linking file's folder first, then
    against the repository root (agents often write root-relative paths).
    External links, in-page anchors and paths leaving the repository give None.
    """
    if not href or href.startswith(("#", "//")) or _SCHEME.match(href):
        return None
    path, _, fragment = href.partition("#")
    path = unquote(path.split("?", 1)[0])
    if not path:
        return None
    folder = posixpath.dirname(from_src_uri)
    candidates = []
    for base in (folder, ""):
        joined = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
        if not joined.startswith("..") and joined not in candidates:
            candidates.append(joined)
    # markdown-it has percent-encoded the href; relative() encodes the fragment again.
    return candidates, unquote(fragment)
