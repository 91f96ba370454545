"""The preview's write API: change task files from the pages ``taskmon-site serve`` shows.

Only the preview server mounts these handlers; a built site never has them.
Every request must come from a page of this very server: over loopback, with
the server's own ``Origin`` and ``Host``, and with the token of this run (put
into the served pages by :func:`preview_snippet`) in :data:`TOKEN_HEADER`.
Anything else gets 403 and writes nothing.

Edits go through :func:`taskmon_site.taskcli.change_tasks`, so the API and the
``task`` command change files in exactly the same way. A successful write is
picked up by the file watcher like any save: the site rebuilds and open pages
reload; nothing here builds.

Routes (all POST, JSON in and out); ``<id>`` is a task id or its file's
src_uri, percent-encoded::

    /_taskmon/api/tasks/<id>/status   {"status": "review", "expect": {…}}
    /_taskmon/api/tasks/<id>/handoff  {"to": null, "expect": {…}}
    /_taskmon/api/tasks/<id>/comment  {"text": "…", "author": "…", "expect": {…}}
    /_taskmon/api/status              {"ids": ["…", "…"], "status": "…",
                                       "expect": {"<id>": {…}, …}}

``expect`` says what the page showed of the task — any of ``status``,
``current_role``, ``next_role`` (ids, null for none) and ``stamp`` (its
``data-stamp``): when the file says otherwise by now, nothing is written and
the reply is 409, so a change is never made to a task the user did not see.

Nothing is forced: ``"force": true`` is refused (400), as the lifecycle's
exceptions are for the ``task`` command's ``--force``.

Replies: ``{"ok": true, "task": {…}}`` (``"tasks": […]`` for the bulk route) or
``{"ok": false, "error": "…", "allowed": […], "errors": […]}`` with 400 (bad
request, status, role or transition), 404 (unknown id), 409 (the file says
otherwise than the page showed, or changed while being written: reload), 503 (no
build yet) or 403.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tornado import web
from tornado.ioloop import IOLoop

from taskmon_site import taskcli, vocab
from taskmon_site import taskedit as te
from taskmon_site.config import DEFAULT_THEME, Config
from taskmon_site.model import Task
from taskmon_site.taskcli import Shown
from taskmon_site.render import load_strings

log = logging.getLogger(__name__)

API_PREFIX = "/_taskmon/api/"
ASSET_PREFIX = "/_taskmon/"
TOKEN_HEADER = "X-Taskmon-Token"
#: Where actions.js and actions.css live (beside preview.js): served, never built.
STATIC = Path(__file__).resolve().parent / "preview"
#: A comment is text typed into a box; anything bigger is not one.
MAX_BODY_BYTES = 64 * 1024
#: UI languages the preview's scripts pick from by the page's ``<html lang>``.
LANGS = ("en", "zh")

#: A request body → the edit it asks for, given the site's config.
EditFactory = Callable[[Config], taskcli.Edit]


def new_token() -> str:
    """A fresh token for one server run."""
    return secrets.token_urlsafe(32)


@dataclass
class ApiContext:
    """What every handler shares: where the tasks are and who may change them."""

    #: The site's config; None while no build has succeeded yet.
    config: Callable[[], Config | None]
    token: str
    #: The server's own origin(s), e.g. "http://127.0.0.1:8000".
    origins: Callable[[], str | Iterable[str]]
    #: One change at a time: two clicks on one file must not race.
    lock: threading.Lock = field(default_factory=threading.Lock)


def api_routes(
    config_getter: Callable[[], Config | None],
    token: str,
    origin_getter: Callable[[], str | Iterable[str]],
) -> list[tuple[str, type, dict[str, Any]]]:
    """Tornado routes for the API and for actions.js / actions.css."""
    opts = {"ctx": ApiContext(config_getter, token, origin_getter)}
    task = API_PREFIX + r"tasks/([^/]+)/"
    return [
        (task + "status", TaskStatusHandler, opts),
        (task + "handoff", HandoffHandler, opts),
        (task + "comment", CommentHandler, opts),
        (API_PREFIX + "status", BulkStatusHandler, opts),
        (ASSET_PREFIX + r"(actions\.(?:js|css))", ActionsAssetHandler, {}),
    ]


def theme_strings(
    theme_dirs: Iterable[Path] = (DEFAULT_THEME,), prefix: str = "action_"
) -> dict[str, dict[str, str]]:
    """The theme's strings.toml entries named *prefix*…, without it, per UI language.

    Each language has every key (English where a translation is missing), and
    a user theme's strings.toml overrides single keys, as for the site's pages.
    """
    dirs = list(theme_dirs)
    return {lang: {key.removeprefix(prefix): text
                   for key, text in load_strings(dirs, lang).items() if key.startswith(prefix)}
            for lang in LANGS}


def preview_snippet(token: str, strings: dict[str, dict[str, str]] | None = None) -> str:
    """HTML for a served page's ``<head>``: the token, the vocabulary, the words and actions.js.

    *strings* are actions.js's words per language (:func:`theme_strings`);
    the default theme's when not given.
    """
    data = {
        "api": API_PREFIX,
        "strings": theme_strings() if strings is None else strings,
        "transitions": vocab.TRANSITIONS,
        "final": sorted(vocab.FINAL_STATUSES),
        "nextRole": vocab.NEXT_ROLE,
        "statuses": [{"id": t.id, "en": t.en, "zh": t.zh} for t in vocab.STATUSES],
        "roles": [{"id": t.id, "en": t.en, "zh": t.zh} for t in vocab.ROLES],
    }
    # "<" escaped: the JSON sits inside a <script> element.
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return (f'<meta name="taskmon-token" content="{html.escape(token)}">'
            f'<script type="application/json" id="taskmon-actions-data">{payload}</script>'
            f'<link rel="stylesheet" href="{ASSET_PREFIX}actions.css">'
            f'<script src="{ASSET_PREFIX}actions.js" defer></script>')


# -- who may call ----------------------------------------------------------------------

def is_loopback(ip: str) -> bool:
    """Is *ip* this machine (IPv4-mapped IPv6 addresses included)?"""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def allowed_origins(origins: str | Iterable[str]) -> set[str]:
    """Normalised origins; a loopback address also under its name ``localhost``."""
    allowed = set()
    for origin in [origins] if isinstance(origins, str) else origins:
        parts = urlsplit(origin)
        allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
        if parts.hostname and is_loopback(parts.hostname) and parts.port:
            allowed.add(f"{parts.scheme}://localhost:{parts.port}")
    return allowed


def refusal(ctx: ApiContext, remote_ip: str, headers: Any) -> str | None:
    """Why a request may not use the API, or None when it may."""
    if not is_loopback(remote_ip):
        return "only this machine may change tasks"
    allowed = allowed_origins(ctx.origins())
    origin = (headers.get("Origin") or "").lower()
    if origin not in allowed:
        return "requests must come from the preview's own pages (Origin)"
    if f"http://{headers.get('Host', '')}".lower() not in allowed:
        return "requests must come from the preview's own pages (Host)"
    token = headers.get(TOKEN_HEADER) or ""
    if not hmac.compare_digest(token.encode(), ctx.token.encode()):
        return f"missing or wrong {TOKEN_HEADER}; reload the page"
    return None


# -- handlers ----------------------------------------------------------------------------

class BadRequest(Exception):
    """A request body that does not say what to do."""


class _ApiHandler(web.RequestHandler):
    def initialize(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def prepare(self) -> None:
        why = refusal(self.ctx, self.request.remote_ip or "", self.request.headers)
        if why is not None:
            log.warning("Refused %s %s from %s: %s", self.request.method, self.request.path,
                        self.request.remote_ip, why)
            self._reply(403, {"ok": False, "error": why, "allowed": []})

    def check_xsrf_cookie(self) -> None:
        """The token and Origin checks in :meth:`prepare` do this job."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"ok": False, "error": self._reason, "allowed": []}))

    def body(self) -> dict[str, Any]:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise BadRequest(f"request body over {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise BadRequest("request body is not JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        return data

    async def change(self, ids: list[str], make_edit: EditFactory, shown: dict[str, Shown],
                     many: bool = False) -> None:
        """Apply an edit to the tasks of *ids* (all or none) and reply.

        *shown* is what the page showed of each task (by id); a file that no
        longer says so is not changed, and the reply is 409.
        """
        config = self.ctx.config()
        if config is None:
            return self._fail(503, "the site has not been built yet; retry in a moment")
        loop = IOLoop.current()
        try:
            tasks = await loop.run_in_executor(None, self._change, config, ids, make_edit, shown)
        except taskcli.TaskLookupError as exc:
            self._fail(404 if exc.missing else 400, taskcli.reason(exc))
        except taskcli.BatchError as exc:
            self._fail_batch(exc)
        except te.EditError as exc:
            self._fail(409 if isinstance(exc, te.ConflictError) else 400, _reason(exc))
        else:
            names = ", ".join(t.id for t in tasks)
            log.info("Changed %s from the preview: %s", names, self.request.path)
            records = [t.to_json() for t in tasks]
            self._reply(200, {"ok": True, "tasks": records} if many else
                        {"ok": True, "task": records[0]})

    def _change(self, config: Config, ids: list[str], make_edit: EditFactory,
                shown: dict[str, Shown]) -> list[Task]:
        with self.ctx.lock:
            edit = make_edit(config)
            return taskcli.change_tasks(taskcli.TaskCatalog(config), ids, edit, shown).tasks

    def _fail_batch(self, exc: taskcli.BatchError) -> None:
        errors = [{"id": task.id, "error": _reason(error),
                   "allowed": list(getattr(error, "allowed", ()))}
                  for task, error in exc.failures]
        message = "; ".join(f"{e['id']}: {e['error']}" for e in errors)
        self._fail(409 if exc.conflict else 400, message, errors[0]["allowed"], errors)

    def _fail(self, status: int, error: str, allowed: Iterable[str] = (),
              errors: list[dict[str, Any]] | None = None) -> None:
        reply: dict[str, Any] = {"ok": False, "error": error, "allowed": list(allowed)}
        if errors is not None:
            reply["errors"] = errors
        self._reply(status, reply)

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False, default=str))


def _reason(exc: te.EditError) -> str:
    """An edit error's message; "use force" names the only place that can force."""
    text = taskcli.reason(exc)
    if isinstance(exc, te.TransitionError):
        text = text.replace("use force", "use the task command's --force")
    return text


def _text(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"{key!r} must be a non-empty string")
    return value


def _shown(value: Any, where: str = "'expect'") -> Shown:
    """What a page showed of a task, as a request states it (see taskcli.SHOWN_FIELDS)."""
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object")
    for key, seen in value.items():
        if key not in taskcli.SHOWN_FIELDS:
            raise BadRequest(f"{where} has an unknown key {key!r}; "
                             f"known: {', '.join(taskcli.SHOWN_FIELDS)}")
        if seen is not None and not isinstance(seen, str):
            raise BadRequest(f"{where}[{key!r}] must be a string or null")
    return value


def _expected(data: dict[str, Any], task_id: str) -> dict[str, Shown]:
    return {task_id: _shown(data["expect"])} if "expect" in data else {}


def _no_force(data: dict[str, Any], command: str) -> None:
    """The preview never forces what the lifecycle does not allow; a shell can."""
    value = data.get("force", False)
    if not isinstance(value, bool):
        raise BadRequest("'force' must be true or false")
    if value:
        raise BadRequest(f"the preview does not force changes; run "
                         f"'taskmon-site task {command} --force' in a shell instead")


def _status_edit(status: str) -> EditFactory:
    return lambda config: taskcli.status_edit(taskcli.canonical_status(config, status),
                                             zone=config.timezone)


class TaskStatusHandler(_ApiHandler):
    async def post(self, task_id: str) -> None:
        try:
            data = self.body()
            _no_force(data, "status ID STATUS")
            make_edit = _status_edit(_text(data, "status"))
            shown = _expected(data, task_id)
        except BadRequest as exc:
            return self._fail(400, str(exc))
        await self.change([task_id], make_edit, shown)


class HandoffHandler(_ApiHandler):
    async def post(self, task_id: str) -> None:
        try:
            data = self.body()
            to = _text(data, "to", required=False)
            _no_force(data, "handoff ID")
            shown = _expected(data, task_id)
        except BadRequest as exc:
            return self._fail(400, str(exc))

        def make_edit(config: Config) -> taskcli.Edit:
            role = taskcli.canonical_role(config, to) if to else None
            return taskcli.handoff_edit(role, zone=config.timezone)

        await self.change([task_id], make_edit, shown)


class CommentHandler(_ApiHandler):
    async def post(self, task_id: str) -> None:
        try:
            data = self.body()
            text = _text(data, "text")
            author = _text(data, "author", required=False)
            shown = _expected(data, task_id)
        except BadRequest as exc:
            return self._fail(400, str(exc))
        await self.change([task_id], lambda config: taskcli.comment_edit(
            text, author, config.timezone), shown)


class BulkStatusHandler(_ApiHandler):
    async def post(self) -> None:
        try:
            data = self.body()
            ids = data.get("ids")
            if not isinstance(ids, list) or not ids or not all(
                    isinstance(i, str) and i for i in ids):
                raise BadRequest("'ids' must be a non-empty list of task ids")
            _no_force(data, "status ID… STATUS")
            make_edit = _status_edit(_text(data, "status"))
            expect = data.get("expect", {})
            if not isinstance(expect, dict) or not set(expect) <= set(ids):
                raise BadRequest("'expect' must be an object whose keys are some of 'ids'")
            shown = {ident: _shown(seen, f"'expect'[{ident!r}]") for ident, seen in expect.items()}
        except BadRequest as exc:
            return self._fail(400, str(exc))
        await self.change(ids, make_edit, shown, many=True)


class ActionsAssetHandler(web.RequestHandler):
    """actions.js and actions.css, read on every request so edits show at once."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get(self, name: str) -> None:
        try:
            body = (STATIC / name).read_bytes()
        except OSError:
            raise web.HTTPError(404) from None
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        self.set_header("Content-Type", f"{kind}; charset=utf-8")
        self.finish(body)
