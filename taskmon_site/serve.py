"""``taskmon-site serve``: build, serve, rebuild on every save, reload open pages.

The pieces, in the order a save travels through them:

- :class:`~taskmon_site.watch.SourceWatcher` reports the paths that matter;
- :class:`~taskmon_site.scheduler.RebuildScheduler` debounces them into one
  rebuild at a time on a worker thread;
- :class:`PreviewSite` runs that rebuild into a temporary folder outside the
  watched tree and turns its result or failure into a :class:`BuildOutcome`;
- :class:`PreviewServer` (tornado, with livereload's protocol handler) serves
  the last good build and tells open pages to reload, or shows the error.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import html
import ipaddress
import json
import logging
import mimetypes
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml
from jinja2 import TemplateError
from livereload.handlers import LiveReloadHandler
from tornado import netutil, web
from tornado.httpserver import HTTPServer
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from taskmon_site.build import BuildError as SiteBuildError
from taskmon_site.build import SiteBuilder
from taskmon_site import actions
from taskmon_site.config import (CONFIG_NAME, DEFAULT_CONTENT, DEFAULT_THEME, Config,
                                 ConfigError, default_cache_dir, load_config)
from taskmon_site.logs import report_muted
from taskmon_site.scheduler import MAX_WAIT_SECONDS, QUIET_SECONDS, RebuildScheduler
from taskmon_site.watch import ChangeFilter, SourceWatcher

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: URL prefix of everything the preview server adds to the site.
PREVIEW_PREFIX = "/_taskmon/"
#: preview.js and preview.css: served from here as they are, never part of a build.
PREVIEW_STATIC = Path(__file__).resolve().parent / "preview"
#: Plugin name preview.js announces in the LiveReload handshake; only such
#: clients get our status messages, plain LiveReload clients just get reloads.
PLUGIN = "taskmon-preview"
#: How many changed paths a log line or the overlay names before "and N more".
SHOWN_PATHS = 3
#: How long the work left after a rebuild waits for its reload to be sent.
APPLY_WAIT_SECONDS = 1.0

class Builder(Protocol):
    """What the preview needs from a site builder (see ``build.SiteBuilder``)."""

    def build(self) -> Any: ...
    def rebuild(self, changed_paths: set[Path]) -> Any: ...
    def watch_dirs(self) -> list[Path]: ...
    def is_relevant(self, path: Path) -> bool: ...


#: Makes a builder writing to the given folder; True asks for the config to
#: be read again from disk first.
BuilderFactory = Callable[[Path, bool], Builder]


# -- build outcomes ---------------------------------------------------------------


@dataclass(frozen=True)
class BuildFailure:
    """A failed build as the browser overlay shows it."""

    message: str
    kind: str
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``file:line``, ``file`` or nothing."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "kind": self.kind, "file": self.file,
                "line": self.line}


@dataclass(frozen=True)
class BuildOutcome:
    """What one build or rebuild did, for the log line and the open pages."""

    changed: frozenset[Path]
    seconds: float
    report: Any = None
    error: BuildFailure | None = None
    #: Set when the build went to a fresh folder that should now be served.
    output_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class PreviewSite:
    """The site under preview: runs its builds, never two at a time.

    Edits are rebuilt incrementally in the folder being served. A full build
    into a fresh folder happens first, after the config file changed and
    after any failure (the builder's state is then unknown); the last good
    folder keeps being served until it succeeds.
    """

    def __init__(
        self, make_builder: BuilderFactory, source_dir: Path, config_file: Path | None = None
    ) -> None:
        self.source_dir = Path(source_dir).resolve()
        self.config_file = Path(config_file).resolve() if config_file else None
        #: Every build folder lives in here, outside the watched tree.
        self.work_dir = Path(tempfile.mkdtemp(prefix="taskmon-serve-"))
        self._make_builder = make_builder
        self._builder: Builder | None = None
        self._watch_builder: Builder | None = None
        self._fresh_next = True
        self._reload_config = False
        self._builds = 0
        self._prepared: tuple[Builder, Path] | None = None
        #: Folders the config names that do not exist yet (a theme): watched for.
        self._awaited: tuple[Path, ...] = ()

    def prepare(self) -> None:
        """Make the first builder without building, so its folders can be watched."""
        out = self._next_folder()
        try:
            self._watch_builder = self._make_builder(out, False)
        except Exception:
            logger.debug("No builder yet; the first build will report why", exc_info=True)
        else:
            self._prepared = (self._watch_builder, out)

    def build(self, changed: Iterable[Path] = ()) -> BuildOutcome:
        """A full build into a fresh folder."""
        changed = frozenset(changed)
        started = time.perf_counter()
        builder, out = self._prepared or (None, self._next_folder())
        self._prepared = None
        try:
            if builder is None:
                builder = self._make_builder(out, self._reload_config)
            self._watch_builder = builder
            report = builder.build()
        except Exception as exc:
            shutil.rmtree(out, ignore_errors=True)
            self._fresh_next = True
            self._awaited = tuple(getattr(exc, "missing", ()))
            return self._failed(changed, started, exc)
        self._builder = builder
        self._fresh_next = self._reload_config = False
        self._awaited = ()
        return BuildOutcome(changed, time.perf_counter() - started, report, output_dir=out)

    def _next_folder(self) -> Path:
        self._builds += 1
        return self.work_dir / f"build-{self._builds}"

    def rebuild(self, changed: set[Path]) -> BuildOutcome:
        """Bring the site up to date with *changed* (any mix of edits and deletions)."""
        resolved = _resolved(changed)
        if self.config_file is not None and self.config_file in resolved:
            self._reload_config = True
        fresh = self._fresh_next or self._reload_config or self._builder is None
        if fresh or self._touches_theme(resolved):
            return self.build(changed)
        started = time.perf_counter()
        try:
            report = self._builder.rebuild(set(changed))
        except Exception as exc:
            self._fresh_next = True
            return self._failed(frozenset(changed), started, exc)
        return BuildOutcome(frozenset(changed), time.perf_counter() - started, report)

    def _touches_theme(self, changed: set[Path]) -> bool:
        # A theme edit re-renders every page: built into a fresh folder, the pages
        # being served stay of one theme until the new ones are all there.
        config = getattr(self._builder, "config", None)
        themes = [d.resolve() for d in getattr(config, "theme_dirs", [])]
        return any(p.is_relative_to(t) for p in changed for t in themes)

    @property
    def config(self) -> Config | None:
        """The config of the last good build; None before one."""
        return getattr(self._builder, "config", None)

    def watch_dirs(self) -> list[Path]:
        # The config file's folder even when there is no config file yet, and
        # folders the config names before they exist (where they will appear).
        config_dir = [self.config_file.parent] if self.config_file else []
        if self._watch_builder is not None:
            return self._watch_builder.watch_dirs() + config_dir + list(self._awaited)
        # No builder could even be made: watch enough to notice the fix.
        return [self.source_dir, *config_dir, *self._awaited]

    def is_relevant(self, path: Path) -> bool:
        if self.config_file is not None and path.resolve() == self.config_file:
            return True
        resolved = path.resolve()
        if any(resolved.is_relative_to(a) or a.is_relative_to(resolved) for a in self._awaited):
            return True  # the awaited folder, on its way, or in it
        if self._watch_builder is not None:
            return self._watch_builder.is_relevant(path)
        return True

    def finish(self) -> None:
        """After the reload: what the last rebuilds left for later (tasks.json, the
        search index of what they changed; the builder knows what)."""
        finish = getattr(self._builder, "finish", None)
        if finish is None:
            return
        try:
            finish()
        except Exception:  # neither is shown by the pages: the preview goes on without
            logger.warning("tasks.json or the search index not updated", exc_info=True)

    def discard(self, folder: Path) -> None:
        """Delete a build folder that is no longer served."""
        if folder.is_relative_to(self.work_dir):
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def display(self, path: Path | str) -> str:
        """*path* relative to the source folder when inside it, '/'-separated."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self.source_dir).as_posix()
        except ValueError:
            return str(path)

    def _failed(self, changed: frozenset[Path], started: float, exc: Exception) -> BuildOutcome:
        error = describe_error(exc, self)
        elapsed = time.perf_counter() - started
        log_failure(exc, error, self.summarise(changed), elapsed)
        return BuildOutcome(changed, elapsed, error=error)

    def summarise(self, changed: Iterable[Path]) -> str:
        """The changed paths for a log line: a few names, then a count."""
        names = sorted(self.display(p) for p in changed)
        shown = ", ".join(names[:SHOWN_PATHS])
        more = len(names) - SHOWN_PATHS
        return f"{shown} and {more} more" if more > 0 else shown


def _resolved(paths: Iterable[Path]) -> set[Path]:
    return {Path(p).resolve() for p in paths}


def describe_error(exc: BaseException, site: PreviewSite) -> BuildFailure:
    """The message, kind and source location of a build failure.

    The message is the builder's; kind and location may come from the error
    it wraps (a template error wrapped in the builder's own error, say).
    """
    chain = _causes(exc)
    file, line = next((loc for e in chain if (loc := _error_location(e, site))[0]), (None, None))
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, ConfigError):
        # The overlay names the file itself; the message lists the problems.
        message = "invalid configuration:\n" + "\n".join(f"  - {p}" for p in exc.problems)
    return BuildFailure(message, type(chain[-1]).__name__, file and site.display(file), line)


def _causes(exc: BaseException) -> list[BaseException]:
    """*exc* and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain


def _error_location(exc: BaseException, site: PreviewSite) -> tuple[str | None, int | None]:
    if isinstance(exc, ConfigError):
        return exc.source or _opt_str(site.config_file), exc.line
    mark = getattr(exc, "problem_mark", None)  # YAML errors
    if mark is not None and getattr(mark, "name", None):
        return mark.name, mark.line + 1
    for name in ("filename", "path", "source_path", "file"):
        value = getattr(exc, name, None)
        if isinstance(value, (str, Path)) and str(value):
            return str(value), _opt_int(getattr(exc, "lineno", None))
    return _template_frame(exc)


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """Jinja rewrites tracebacks to point at template lines: use the last one."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<"):
            return frame.filename, frame.lineno
    return None, None


def _opt_str(value: object) -> str | None:
    return str(value) if value else None


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


#: Failures caused by the site's own files; anything else is a bug in the
#: builder and is logged with its traceback.
_USER_ERRORS = (ConfigError, SiteBuildError, TemplateError, tomllib.TOMLDecodeError,
                yaml.YAMLError, UnicodeDecodeError)


def log_failure(exc: BaseException, error: BuildFailure, changed: str, seconds: float) -> None:
    """One ERROR line; the traceback too when the failure is not the site's fault."""
    where = f"{error.location}: " if error.location else ""
    user_error = isinstance(exc, _USER_ERRORS)
    what = f"Changed {changed}: build" if changed else "Build"
    logger.error("%s failed after %d ms: %s%s", what, seconds * 1000, where,
                 one_line(error.message), exc_info=None if user_error else exc)


def one_line(message: str) -> str:
    """A message listing problems on lines of their own (``  - …``) as one line."""
    first, *rest = [line.strip() for line in message.splitlines() if line.strip()] or [""]
    items = [item.removeprefix("- ") for item in rest]
    return f"{first} {'; '.join(items)}" if items else first


def log_rebuilt(outcome: BuildOutcome, changed: str) -> None:
    """The one INFO line per rebuild: what changed, how many pages, how long."""
    report = outcome.report
    rendered = getattr(report, "pages_rendered", getattr(report, "pages_written", 0))
    written = getattr(report, "pages_written", rendered)
    pages = f"{rendered} page{'' if rendered == 1 else 's'}"
    if written != rendered:
        pages += f" ({written} written)"
    logger.info("Changed %s: rebuilt %s in %d ms", changed, pages, outcome.seconds * 1000)


# -- the server ---------------------------------------------------------------------


@dataclass
class PreviewState:
    """What the open pages are shown; touched only on the IO loop."""

    session: str = field(default_factory=lambda: secrets.token_hex(4))
    root: Path | None = None
    generation: int = 0
    building: bool = False
    error: BuildFailure | None = None
    changed: list[str] = field(default_factory=list)
    built_at: float | None = None

    @property
    def build_id(self) -> str:
        """Changes with every good build and every server start."""
        return f"{self.session}-{self.generation}"

    def to_json(self) -> dict[str, Any]:
        return {
            "build": self.build_id,
            "ok": self.error is None,
            "serving": self.root is not None,
            "building": self.building,
            "error": self.error.to_json() if self.error else None,
            "changed": self.changed,
            "builtAt": self.built_at,
        }


class PreviewServer:
    """Serves the last good build and keeps open pages in step with the source."""

    def __init__(
        self,
        site: PreviewSite,
        sockets: list[socket.socket],
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.site = site
        self.sockets = sockets
        self.state = PreviewState()
        #: Proves that a task API request comes from a page this run served.
        self.token = actions.new_token()
        self.scheduler = RebuildScheduler(self._rebuild, self._on_done, quiet, max_wait)
        self.watcher: SourceWatcher | None = None
        self._clients: dict[PreviewSocket, bool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        #: The words of preview.js and actions.js; the default theme's until a build.
        self.strings = PreviewStrings.of([DEFAULT_THEME])

    @property
    def url(self) -> str:
        """The URL of the address listened on (``http://0.0.0.0:8000/`` for all of them)."""
        host, port = self.sockets[0].getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    @property
    def listens_everywhere(self) -> bool:
        """Bound to every address (``--host 0.0.0.0`` or ``::``)?"""
        return _is_unspecified(self.sockets[0].getsockname()[0])

    @property
    def browse_url(self) -> str:
        """The URL to open here: a loopback one when listening on every address."""
        if not self.listens_everywhere:
            return self.url
        host, port = self.sockets[0].getsockname()[:2]
        # IPv6 sockets are v6-only (tornado's choice): "::" answers at ::1, not 127.0.0.1.
        return f"http://{'[::1]' if ':' in host else '127.0.0.1'}:{port}/"

    def origins(self) -> list[str]:
        """The origins of this server's own pages, for the write API."""
        if not self.listens_everywhere:
            return [self.url]
        port = self.sockets[0].getsockname()[1]
        return [self.url, f"http://127.0.0.1:{port}/", f"http://[::1]:{port}/"]

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Build, then serve until :meth:`request_stop`; cleans up after itself."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        http: HTTPServer | None = None
        try:
            # Watch from before the first build: a save during it is queued, not lost.
            await self._loop.run_in_executor(None, self.site.prepare)
            self._start_watching()
            self._apply(await self._loop.run_in_executor(None, self.site.build))
            report_muted()
            self.scheduler.start()
            http = HTTPServer(self._application())
            http.add_sockets(self.sockets)
            if on_ready is not None:
                on_ready(self.browse_url)
            await self._stop.wait()
        finally:
            await self._shutdown(http)

    def request_stop(self) -> None:
        """Stop serving; safe to call from any thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def _application(self) -> web.Application:
        opts = {"server": self}
        return web.Application(
            [
                (r"/livereload", PreviewSocket, opts),
                (PREVIEW_PREFIX + r"status", StatusHandler, opts),
                (PREVIEW_PREFIX + r"(preview\.(?:js|css))", PreviewAssetHandler),
                *actions.api_routes(lambda: self.site.config, self.token, self.origins),
                (r"/(.*)", SiteHandler, opts),
            ],
            log_function=_log_request,
        )

    def _start_watching(self) -> None:
        changes = ChangeFilter(self.site.is_relevant, exclude=[self.site.work_dir])
        self.watcher = SourceWatcher(self.site.watch_dirs(), self.scheduler.notify, changes)
        self.watcher.start()

    async def _shutdown(self, http: HTTPServer | None) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        for client in list(self._clients):
            client.close()
        if http is not None:
            http.stop()
            try:
                await asyncio.wait_for(http.close_all_connections(), 2)
            except TimeoutError:
                logger.debug("Connections still open at shutdown")
        else:
            for sock in self.sockets:
                sock.close()
        await asyncio.get_running_loop().run_in_executor(None, self.scheduler.stop, 30)
        self.site.close()

    # -- on the rebuild worker thread ------------------------------------------------

    def _rebuild(self, changed: set[Path]) -> BuildOutcome:
        self._call_on_loop(self._set_building)
        outcome = self.site.rebuild(changed)
        report_muted()  # each rebuild counts its repeated warnings afresh
        if outcome.ok:
            log_rebuilt(outcome, self.site.summarise(changed))
        if self.watcher is not None:
            # After a failure too: a config naming a folder not there yet waits for it.
            self.watcher.restart(self.site.watch_dirs())
        return outcome

    def _on_done(self, outcome: object) -> None:
        if isinstance(outcome, BaseException):  # a bug in PreviewSite itself
            error = describe_error(outcome, self.site)
            outcome = BuildOutcome(frozenset(), 0.0, error=error)
        applied = threading.Event()
        self._call_on_loop(self._apply, outcome, applied)
        if outcome.ok:
            # After the reload went out: indexing for search takes longer than a
            # rebuild, and while it ran here the loop waited for its turn to send.
            applied.wait(APPLY_WAIT_SECONDS)
            self.site.finish()

    def _call_on_loop(self, func: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(func, *args)  # type: ignore[union-attr]
        except RuntimeError:
            logger.debug("Server already stopped; dropped %s", func.__name__)

    # -- on the IO loop ---------------------------------------------------------------

    def _set_building(self) -> None:
        self.state.building = True
        self._broadcast_status()

    def _apply(self, outcome: BuildOutcome, applied: threading.Event | None = None) -> None:
        try:
            self._show(outcome)
        finally:
            if applied is not None:
                applied.set()

    def _show(self, outcome: BuildOutcome) -> None:
        state = self.state
        state.building = False
        state.changed = sorted(self.site.display(p) for p in outcome.changed)
        if not outcome.ok:
            state.error = outcome.error
            self._broadcast_status()
            return
        if outcome.output_dir is not None and outcome.output_dir != state.root:
            old, state.root = state.root, outcome.output_dir
            if old is not None:
                asyncio.get_running_loop().run_in_executor(None, self.site.discard, old)
        state.generation += 1
        state.error = None
        state.built_at = time.time()
        # A good build after a theme or config edit: the words may have changed too.
        config = self.site.config
        if config is not None:
            self.strings = PreviewStrings.of(config.theme_dirs)
        self._broadcast_reload(state.changed[0] if state.changed else "*")

    def add_client(self, client: PreviewSocket, wants_status: bool) -> None:
        self._clients[client] = wants_status
        if wants_status:
            self._send(client, self._status_message())

    def remove_client(self, client: PreviewSocket) -> None:
        self._clients.pop(client, None)

    def _status_message(self) -> dict[str, Any]:
        return {"command": "taskmon-status", "status": self.state.to_json()}

    def _broadcast_status(self) -> None:
        message = self._status_message()
        for client, wants_status in list(self._clients.items()):
            if wants_status:
                self._send(client, message)

    def _broadcast_reload(self, path: str) -> None:
        # liveCSS off: a theme's CSS is rebuilt into pages too, so always reload.
        message = {"command": "reload", "path": path, "liveCSS": False, "liveImg": False}
        for client in list(self._clients):
            self._send(client, message)

    def _send(self, client: PreviewSocket, message: dict[str, Any]) -> None:
        try:
            client.write_message(json.dumps(message))
        except WebSocketClosedError:
            self.remove_client(client)


def _log_request(handler: web.RequestHandler) -> None:
    request = handler.request
    logger.debug("%d %s %s", handler.get_status(), request.method, request.uri)


# -- request handlers ---------------------------------------------------------------


class _NoCache:
    """Every response must be revalidated: the site changes under the browser."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")  # type: ignore[attr-defined]


class PreviewSocket(_NoCache, LiveReloadHandler):
    """The LiveReload protocol endpoint, with per-server clients and status pushes."""

    def initialize(self, server: PreviewServer) -> None:
        self.server = server

    def check_origin(self, origin: str) -> bool:
        # Only pages of this server may listen: build errors name local files.
        return WebSocketHandler.check_origin(self, origin)

    def on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            logger.debug("Ignored a malformed LiveReload message")
            return
        command = data.get("command") if isinstance(data, dict) else None
        if command == "hello":
            super().on_message(message)
        elif command == "info":
            plugins = data.get("plugins") or {}
            self.server.add_client(self, wants_status=PLUGIN in plugins)

    def on_close(self) -> None:
        self.server.remove_client(self)


class StatusHandler(_NoCache, web.RequestHandler):
    """The current build state as JSON (what preview.js is also pushed)."""

    def initialize(self, server: PreviewServer) -> None:
        self.server = server

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.server.state.to_json()))


class PreviewAssetHandler(_NoCache, web.RequestHandler):
    """preview.js and preview.css, read on every request so edits show at once."""

    def get(self, name: str) -> None:
        try:
            body = (PREVIEW_STATIC / name).read_bytes()
        except OSError:
            raise web.HTTPError(404) from None
        self.set_header("Content-Type", _content_type(name))
        self.finish(body)


class SiteHandler(_NoCache, web.RequestHandler):
    """Files of the current build; HTML pages get the preview script."""

    def initialize(self, server: PreviewServer) -> None:
        self.server = server

    def prepare(self) -> None:
        # A page of another site that rebinds its DNS name to 127.0.0.1 arrives
        # with its own Host; refusing it keeps pages (and the API token in them)
        # away from other sites. A server bound to a public address is left open.
        if not _host_allowed(self.request.host_name, self.server.url):
            raise web.HTTPError(403, "unexpected Host header")

    def head(self, url_path: str) -> None:
        self.get(url_path)

    def get(self, url_path: str) -> None:
        root = self.server.state.root
        if root is None:
            return self._send_page(_placeholder("Site not built yet"), 503)
        target = _locate(root, url_path)
        if target is None:
            return self._not_found(root)
        if target.is_dir():
            return self.redirect(self.request.path + "/" + _query(self.request.query))
        try:
            body = target.read_bytes()
        except OSError:  # removed by a rebuild since _locate looked
            return self._not_found(root)
        if target.suffix.lower() in (".html", ".htm"):
            return self._send_page(body)
        self.set_header("Content-Type", _content_type(target.name))
        self.finish(body)

    def _not_found(self, root: Path) -> None:
        page = root / "404.html"
        body = page.read_bytes() if page.is_file() else _placeholder("Not found")
        self._send_page(body, 404)

    def _send_page(self, body: bytes, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        strings = self.server.strings
        snippet = actions.preview_snippet(self.server.token, strings.actions)
        self.finish(inject_preview(body, self.server.state.build_id, snippet, strings.preview))


def _locate(root: Path, url_path: str) -> Path | None:
    """The file or folder *url_path* names under *root*, never outside it."""
    root = root.resolve()
    target = (root / url_path).resolve()
    if not target.is_relative_to(root):
        return None
    if target.is_dir():
        if url_path and not url_path.endswith("/"):
            return target
        target = target / "index.html"
    return target if target.is_file() else None


def _query(query: str) -> str:
    return f"?{query}" if query else ""


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return kind


def _placeholder(title: str) -> bytes:
    """A blank page to carry the preview script where the site has none."""
    text = html.escape(title)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{text}</title></head><body><h1>{text}</h1></body></html>").encode()


_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _host_allowed(host_name: str, server_url: str) -> bool:
    """Is a request's Host one of this loopback server's own names?"""
    bound = server_url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
    if not actions.is_loopback(bound):
        return True
    name = host_name.strip("[]").lower()
    return name in _LOOPBACK_NAMES or name == bound or actions.is_loopback(name)


@dataclass(frozen=True)
class PreviewStrings:
    """The preview scripts' words from the theme's strings.toml, per UI language."""

    preview: dict[str, dict[str, str]]  #: preview.js: the ``preview_*`` keys
    actions: dict[str, dict[str, str]]  #: actions.js: the ``action_*`` keys

    @classmethod
    def of(cls, theme_dirs: list[Path]) -> PreviewStrings:
        return cls(actions.theme_strings(theme_dirs, "preview_"),
                   actions.theme_strings(theme_dirs, "action_"))


def inject_preview(
    page: bytes, build_id: str, extra: str = "",
    labels: dict[str, dict[str, str]] | None = None,
) -> bytes:
    """*page* with the preview script added (before ``</head>`` where there is one).

    *labels* are preview.js's words per language; the default theme's when not given.
    """
    if labels is None:
        labels = actions.theme_strings(prefix="preview_")
    labels_attr = html.escape(json.dumps(labels, ensure_ascii=False), quote=True)
    tag = (f'<script src="{PREVIEW_PREFIX}preview.js" defer data-build="{build_id}" '
           f'data-plugin="{PLUGIN}" data-labels="{labels_attr}"></script>{extra}').encode()
    for end in (_HEAD_END, _BODY_END):
        match = end.search(page)
        if match:
            return page[: match.start()] + tag + page[match.start():]
    return page + tag


# -- command line ---------------------------------------------------------------------


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host`` and ``--port`` to the ``serve`` subcommand's parser."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; '::1' for IPv6)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets, bound before the first build so a busy port fails fast."""
    return netutil.bind_sockets(port, address=host)


def bind_error_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use; stop the other server, "
                f"or choose another port with --port (--port 0 picks a free one)")
    return f"cannot listen on {host} port {port}: {exc.strerror or exc}"


def site_builder_factory(
    config: Config, reload_config: Callable[[], Config] | None = None
) -> BuilderFactory:
    """Builders for *config*; *reload_config* reads it again when the file changed."""

    def reload() -> Config:
        return load_config(config.source_dir, config.config_file)

    def make(output_dir: Path, fresh_config: bool) -> Builder:
        nonlocal config
        if fresh_config:
            config = (reload_config or reload)()
        return SiteBuilder(config, output_dir=output_dir, defer_data=True)

    return make


def preview_site(
    config: Config, reload_config: Callable[[], Config] | None = None
) -> PreviewSite:
    """The site *config* describes, ready to preview with the real builder."""
    config_file = config.config_file or config.source_dir / CONFIG_NAME
    make_builder = site_builder_factory(config, reload_config)
    return PreviewSite(make_builder, config.source_dir, config_file)


def _config_reloader(args: argparse.Namespace) -> Callable[[], Config] | None:
    """Read the config the way the command line first did, flags included."""
    if not hasattr(args, "source"):
        return None
    from taskmon_site.cli import config_from_args

    return lambda: config_from_args(args)


def run_serve(args: argparse.Namespace, config: Config) -> int:
    """Run ``taskmon-site serve`` until interrupted; the exit status."""
    try:
        sockets = bind(args.host, args.port)
    except OSError as exc:
        print(f"taskmon-site: {bind_error_message(args.host, args.port, exc)}", file=sys.stderr)
        return 2
    sample = None
    if not getattr(args, "source", None) and config.source_dir == DEFAULT_CONTENT.resolve():
        sample, args, config = _sample_copy(args, config)
    try:
        server = PreviewServer(preview_site(config, _config_reloader(args)), sockets)
        asyncio.run(_serve_until_signal(server))
    except KeyboardInterrupt:
        logger.info("Stopped")
    finally:
        if sample is not None:
            shutil.rmtree(sample, ignore_errors=True)
    return 0


def _sample_copy(
    args: argparse.Namespace, config: Config
) -> tuple[Path, argparse.Namespace, Config]:
    """Serve the embedded sample from a temporary copy: actions must not write the package."""
    folder = Path(tempfile.mkdtemp(prefix="taskmon-sample-"))
    copy = Path(shutil.copytree(DEFAULT_CONTENT, folder / DEFAULT_CONTENT.name))
    logger.info("No source given: serving a copy of the embedded sample (%s); changes made "
                "in the preview go to the copy and are gone when the server stops", copy)
    cache = default_cache_dir(copy) if config.cache_dir == default_cache_dir(
        config.source_dir) else config.cache_dir
    if hasattr(args, "source"):  # config reloads read the copy too
        args = argparse.Namespace(**{**vars(args), "source": copy})
    return folder, args, replace(config, source_dir=copy, cache_dir=cache)


async def _serve_until_signal(server: PreviewServer) -> None:
    if threading.current_thread() is threading.main_thread():
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, server.request_stop)
    await server.serve(on_ready=lambda url: print(serving_line(server, url), flush=True))


def serving_line(server: PreviewServer, url: str) -> str:
    """``Serving on URL``, and where else it answers when listening on every address."""
    if not server.listens_everywhere:
        return f"Serving on {url}"
    host = server.sockets[0].getsockname()[0]
    return (f"Serving on {url} (listening on all addresses, {host}; from another machine, "
            f"use this machine's name or address)")


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_unspecified
    except ValueError:
        return False
