"""The preview's write API on a real port: who may call it, and what each call writes."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import threading
import tomllib
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from tornado import netutil, web
from tornado.httpserver import HTTPServer

from taskmon_site import actions, taskcli
from taskmon_site import taskedit as te
from taskmon_site.config import DEFAULT_THEME, load_config
from taskmon_site.logs import setup_logging

NOW = datetime(2025, 3, 1, 10, 20, 30)
TOKEN = "secret-token-of-this-run"

EN = """\
---
task_id: task_en
current_role: planner
next_role: executor
status: in_progress
updated_at: "2025-02-23 23:52:30"
---

# Add the export button
"""

ZH = """\
---
任务ID: task_zh
当前角色: 研究员
下一角色: 规划员
状态: 待启动
更新: "2025-02-24 09:30:00"
---

# 导出报表
"""

TREE = {"ai/tasks/task_en.md": EN, "ai/tasks/task_zh.md": ZH}


class Api:
    """A tornado server with only the API's routes, and a client speaking like its pages."""

    def __init__(self, host: str, port: int, origin: str) -> None:
        self.host, self.port, self.origin = host, port, origin

    def request(self, method: str, path: str, body: object = None, *, headers=None,
                connect_to: str | None = None) -> tuple[int, dict]:
        sent = {"Origin": self.origin, "Host": self.origin.split("//", 1)[1],
                actions.TOKEN_HEADER: TOKEN, "Content-Type": "application/json"}
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        conn = http.client.HTTPConnection(connect_to or self.host, self.port, timeout=10)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body)
            conn.request(method, path, data, sent)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {"text": text, "type": response.getheader("Content-Type")}

    def post(self, path: str, body: object = None, **kwargs) -> tuple[int, dict]:
        return self.request("POST", actions.API_PREFIX + path, body, **kwargs)


@contextmanager
def api_server(source: Path, bind_host: str = "127.0.0.1", origin_host: str | None = None,
               no_config: bool = False):
    sockets = netutil.bind_sockets(0, address=bind_host)
    port = sockets[0].getsockname()[1]
    shown = origin_host or bind_host
    origin = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"
    config = load_config(source)
    routes = actions.api_routes(lambda: None if no_config else config, TOKEN,
                                lambda: origin + "/")
    ready, stop = threading.Event(), []

    async def serve() -> None:
        http_server = HTTPServer(web.Application(routes))
        http_server.add_sockets(sockets)
        done = asyncio.Event()
        stop.append((asyncio.get_running_loop(), done))
        ready.set()
        await done.wait()
        http_server.stop()
        await http_server.close_all_connections()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield Api(shown if bind_host not in ("0.0.0.0", "::") else "127.0.0.1", port, origin)
    finally:
        loop, done = stop[0]
        loop.call_soon_threadsafe(done.set)
        thread.join(10)


@pytest.fixture
def repo(make_tree, monkeypatch, tmp_path) -> Path:
    monkeypatch.setattr(taskcli, "now", lambda: NOW)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return make_tree(TREE)


@pytest.fixture
def api(repo):
    with api_server(repo) as server:
        yield server


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes()
            for p in sorted(repo.rglob("*")) if p.is_file()}


def edited(text: str, edit) -> str:
    return edit(te.parse_task_bytes(text.encode())).to_bytes().decode()


def read(repo: Path, name: str) -> str:
    return (repo / "ai/tasks" / name).read_text(encoding="utf-8")


# -- who may call -------------------------------------------------------------------------

@pytest.mark.parametrize("headers, why", [
    ({actions.TOKEN_HEADER: None}, "missing or wrong X-Taskmon-Token; reload the page"),
    ({actions.TOKEN_HEADER: "guess"}, "missing or wrong X-Taskmon-Token; reload the page"),
    ({actions.TOKEN_HEADER: TOKEN + "x"}, "missing or wrong X-Taskmon-Token; reload the page"),
    ({"Origin": None}, "requests must come from the preview's own pages (Origin)"),
    ({"Origin": "http://evil.example"}, "requests must come from the preview's own pages (Origin)"),
    ({"Origin": "null"}, "requests must come from the preview's own pages (Origin)"),
    ({"Host": "evil.example"}, "requests must come from the preview's own pages (Host)"),
])
def test_requests_not_from_the_previews_pages_are_refused(repo, api, headers, why, caplog):
    before = snapshot(repo)
    for path, body in [("tasks/task_en/status", {"status": "review"}),
                       ("tasks/task_en/handoff", {}),
                       ("tasks/task_en/comment", {"text": "hi"}),
                       ("status", {"ids": ["task_en"], "status": "review"})]:
        assert api.post(path, body, headers=headers) == (
            403, {"ok": False, "error": why, "allowed": []})
    assert snapshot(repo) == before


def test_every_refused_request_is_logged(repo, api, capsys):
    setup_logging()
    for _ in range(7):
        assert api.post("tasks/task_en/status", {"status": "review"},
                        headers={actions.TOKEN_HEADER: "guess"})[0] == 403
    assert capsys.readouterr().err.splitlines() == 7 * [
        "WARNING: Refused POST /_taskmon/api/tasks/task_en/status from 127.0.0.1: "
        "missing or wrong X-Taskmon-Token; reload the page"]


def test_a_foreign_origin_with_the_right_token_is_refused(repo, api):
    """What a page of another site could send if it had learnt the token."""
    status, reply = api.post("tasks/task_en/status", {"status": "review"},
                             headers={"Origin": f"http://127.0.0.1:{api.port + 1}"})
    assert status == 403 and read(repo, "task_en.md") == EN


def test_a_request_from_another_machine_is_refused(repo):
    outward = _outward_ip()
    if outward is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with api_server(repo, bind_host="0.0.0.0", origin_host="127.0.0.1") as api:
        assert api.post("tasks/task_en/status", {"status": "review"}, connect_to=outward) == (
            403, {"ok": False, "error": "only this machine may change tasks", "allowed": []})
    assert read(repo, "task_en.md") == EN


@pytest.mark.parametrize("ip, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.2", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("", False),
    ("fe80::1%eth0", False),
])
def test_only_loopback_addresses_are_this_machine(ip, loopback):
    assert actions.is_loopback(ip) is loopback


def test_localhost_is_the_same_origin_as_the_loopback_address(repo, api):
    local = f"http://localhost:{api.port}"
    status, reply = api.post("tasks/task_en/status", {"status": "review"},
                             headers={"Origin": local, "Host": f"localhost:{api.port}"})
    assert (status, reply["task"]["status"]) == (200, "review")


def test_an_ipv6_loopback_server_accepts_its_own_pages(repo):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = api_server(repo, bind_host="::1")
        api = server.__enter__()
    except OSError:
        pytest.skip("cannot bind ::1")
    try:
        assert api.origin == f"http://[::1]:{api.port}"
        status, reply = api.post("tasks/task_en/status", {"status": "review"})
        assert (status, reply["task"]["status"]) == (200, "review")
        assert api.post("tasks/task_en/status", {"status": "completed"},
                        headers={"Origin": f"http://127.0.0.1:{api.port}"})[0] == 403
    finally:
        server.__exit__(None, None, None)


def _outward_ip() -> str | None:
    """This machine's address on its default route, if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("198.51.100.1", 9))  # a UDP connect sends no packet
        ip = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if actions.is_loopback(ip) else ip


# -- what each call writes ----------------------------------------------------------------------

def test_a_status_change_writes_what_taskedit_would(repo, api):
    status, reply = api.post("tasks/task_en/status", {"status": "review", "force": False})
    assert status == 200 and reply["ok"] is True
    assert (reply["task"]["id"], reply["task"]["status"]) == ("task_en", "review")
    assert reply["task"]["updated_raw"] == "2025-03-01 10:20:30"
    assert read(repo, "task_en.md") == edited(EN, lambda tf: te.set_status(tf, "review",
                                                                            now=NOW))
    assert read(repo, "task_zh.md") == ZH


def test_a_status_in_chinese_is_written_in_the_files_spelling(repo, api):
    assert api.post("tasks/task_zh/status", {"status": "进行中"})[0] == 200
    assert read(repo, "task_zh.md") == edited(ZH, lambda tf: te.set_status(
        tf, "in_progress", now=NOW))
    assert "状态: 进行中\n" in read(repo, "task_zh.md")


def test_a_refused_transition_is_400_with_the_allowed_statuses(repo, api):
    before = snapshot(repo)
    assert api.post("tasks/task_en/status", {"status": "pending"}) == (400, {
        "ok": False,
        "error": "task_en: cannot change status from in_progress to pending; "
                 "allowed: paused, review, completed, failed",
        "allowed": ["paused", "review", "completed", "failed"],
        "errors": [{"id": "task_en",
                    "error": "cannot change status from in_progress to pending; "
                             "allowed: paused, review, completed, failed",
                    "allowed": ["paused", "review", "completed", "failed"]}],
    })
    assert snapshot(repo) == before


@pytest.mark.parametrize("path, body, command", [
    ("tasks/task_en/status", {"status": "pending", "force": True}, "status ID STATUS"),
    ("status", {"ids": ["task_en"], "status": "pending", "force": True}, "status ID… STATUS"),
    ("tasks/task_en/handoff", {"force": True}, "handoff ID"),
])
def test_the_preview_does_not_force(repo, api, path, body, command):
    before = snapshot(repo)
    assert api.post(path, body) == (400, {
        "ok": False, "allowed": [],
        "error": f"the preview does not force changes; run 'taskmon-site task {command} "
                 f"--force' in a shell instead"})
    assert snapshot(repo) == before
    assert api.post("tasks/task_en/status", {"status": "review", "force": False})[0] == 200


def test_an_unknown_id_is_404(repo, api):
    before = snapshot(repo)
    assert api.post("tasks/task_nope/status", {"status": "review"}) == (
        404, {"ok": False, "error": "unknown task id 'task_nope'", "allowed": []})
    assert api.post("tasks/task_nope/handoff", {})[0] == 404
    assert api.post("tasks/task_nope/comment", {"text": "x"})[0] == 404
    assert snapshot(repo) == before


def test_a_task_is_also_found_by_its_file(repo, api):
    status, reply = api.post("tasks/ai%2Ftasks%2Ftask_zh.md/handoff", {})
    assert (status, reply["task"]["id"]) == (200, "task_zh")


@pytest.mark.parametrize("body, error", [
    (b"{not json", "request body is not JSON"),
    (b"[]", "request body must be a JSON object"),
    ({}, "'status' must be a non-empty string"),
    ({"status": 3}, "'status' must be a non-empty string"),
    ({"status": "review", "force": "yes"}, "'force' must be true or false"),
    ({"status": "someday"}, "unknown status 'someday'; expected one of: pending, in_progress, "
                            "paused, review, rework, completed, failed, cancelled"),
])
def test_a_bad_status_request_is_400(repo, api, body, error):
    before = snapshot(repo)
    assert api.post("tasks/task_en/status", body) == (
        400, {"ok": False, "error": error, "allowed": []})
    assert snapshot(repo) == before


def test_handoff_moves_the_next_role_to_current(repo, api):
    status, reply = api.post("tasks/task_zh/handoff", {"to": None})
    assert status == 200
    assert (reply["task"]["current_role"], reply["task"]["next_role"]) == ("planner", "executor")
    assert read(repo, "task_zh.md") == edited(ZH, lambda tf: te.handoff(tf, now=NOW))


def test_handoff_to_a_chosen_role(repo, api):
    assert api.post("tasks/task_en/handoff", {"to": "调试员"})[0] == 200
    assert read(repo, "task_en.md") == edited(EN, lambda tf: te.handoff(tf, "debugger",
                                                                         now=NOW))
    before = snapshot(repo)
    assert api.post("tasks/task_en/handoff", {"to": "boss"})[0] == 400
    assert api.post("tasks/task_en/handoff", {"to": 7})[0] == 400
    assert snapshot(repo) == before


def test_handoff_to_the_role_taking_the_task_is_400(repo, api):
    before = snapshot(repo)
    message = ("executor takes the task now, so it cannot be the next role too; "
               "choose another role to come after it")
    assert api.post("tasks/task_en/handoff", {"to": "executor"}) == (400, {
        "ok": False, "error": f"task_en: {message}", "allowed": [],
        "errors": [{"id": "task_en", "error": message, "allowed": []}]})
    assert snapshot(repo) == before


def test_a_comment_is_appended(repo, api):
    status, reply = api.post("tasks/task_zh/comment", {"text": "看起来不错\n再确认一下",
                                                       "author": "Ann"})
    assert status == 200 and reply["task"]["id"] == "task_zh"
    assert read(repo, "task_zh.md") == edited(ZH, lambda tf: te.add_comment(
        tf, "看起来不错\n再确认一下", "Ann", now=NOW))
    assert read(repo, "task_zh.md").endswith(
        "# 评论\n\n- **2025-03-01 10:20** Ann: 看起来不错\n  再确认一下\n")


def test_an_empty_comment_is_400(repo, api):
    before = snapshot(repo)
    assert api.post("tasks/task_en/comment", {"text": "   "})[0] == 400
    assert api.post("tasks/task_en/comment", {"text": "x", "author": "a\nb"})[0] == 400
    assert snapshot(repo) == before


def test_bulk_status_changes_every_task_or_none(repo, api):
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "pending"), "utf-8")
    pending_en = read(repo, "task_en.md")
    before = snapshot(repo)
    status, reply = api.post("status", {"ids": ["task_en", "task_zh"], "status": "review"})
    assert status == 400
    assert reply["allowed"] == ["in_progress"]
    assert [e["id"] for e in reply["errors"]] == ["task_en", "task_zh"]
    assert api.post("status", {"ids": ["task_en", "task_x"], "status": "in_progress"}) == (
        404, {"ok": False, "error": "unknown task id 'task_x'", "allowed": []})
    assert api.post("status", {"ids": [], "status": "in_progress"})[0] == 400
    assert api.post("status", {"ids": "task_en", "status": "in_progress"})[0] == 400
    assert snapshot(repo) == before

    status, reply = api.post("status", {"ids": ["task_en", "task_zh"], "status": "in_progress"})
    assert status == 200
    assert [(t["id"], t["status"]) for t in reply["tasks"]] == [
        ("task_en", "in_progress"), ("task_zh", "in_progress")]
    assert read(repo, "task_en.md") == edited(pending_en, lambda tf: te.set_status(
        tf, "in_progress", now=NOW))
    assert read(repo, "task_zh.md") == edited(ZH, lambda tf: te.set_status(
        tf, "in_progress", now=NOW))


def test_a_read_only_file_is_400_and_unchanged(repo, api):
    (repo / "ai/tasks/task_en.md").chmod(0o444)
    message = "is read-only (mode 444); make it writable to change it"
    assert api.post("tasks/task_en/comment", {"text": "hi"}) == (400, {
        "ok": False, "error": f"task_en: {message}", "allowed": [],
        "errors": [{"id": "task_en", "error": message, "allowed": []}]})
    assert read(repo, "task_en.md") == EN


def test_a_file_changed_meanwhile_is_409(repo, api, monkeypatch):
    real_write = te.write_task_file
    path = repo / "ai/tasks/task_en.md"
    saved = EN.replace("# Add the export button", "# Add the export button now")

    def write(tf):
        path.write_text(saved, encoding="utf-8")  # an editor saves just before us
        return real_write(tf)

    monkeypatch.setattr(te, "write_task_file", write)
    status, reply = api.post("tasks/task_en/status", {"status": "review"})
    assert status == 409
    assert reply["error"] == ("task_en: changed on disk since it was read; "
                              "re-read it and retry")
    assert path.read_text(encoding="utf-8") == saved


# -- acting on what the page showed ------------------------------------------------------------

SHOWN_EN = {"status": "in_progress", "current_role": "planner", "next_role": "executor",
            "stamp": "2025-02-23 23:52:30"}


def test_a_change_to_the_task_the_page_showed_is_made(repo, api):
    assert api.post("tasks/task_en/handoff", {"to": None, "expect": SHOWN_EN})[0] == 200
    assert read(repo, "task_en.md") == edited(EN, lambda tf: te.handoff(tf, now=NOW))


def test_a_task_changed_since_the_page_showed_it_is_not_changed(repo, api):
    """An agent handed the task on while the page still showed the old roles."""
    path = repo / "ai/tasks/task_en.md"
    agent = EN.replace("current_role: planner\nnext_role: executor",
                       "current_role: executor\nnext_role: debugger")
    path.write_text(agent, encoding="utf-8")
    message = ("changed since the page showed it: current role is now executor, not planner; "
               "next role is now debugger, not executor")
    assert api.post("tasks/task_en/handoff", {"to": "debugger", "expect": SHOWN_EN}) == (409, {
        "ok": False, "error": f"task_en: {message}", "allowed": [],
        "errors": [{"id": "task_en", "error": message, "allowed": []}]})
    assert api.post("tasks/task_en/comment", {"text": "x", "expect": SHOWN_EN})[0] == 409
    assert path.read_text(encoding="utf-8") == agent


@pytest.mark.parametrize("change, shown, difference", [
    (('"2025-02-23 23:52:30"', '"2025-02-24 08:00:00"'), {"stamp": "2025-02-23 23:52:30"},
     "updated date is now 2025-02-24 08:00:00, not 2025-02-23 23:52:30"),
    (("status: in_progress", "status: review"), {"status": "in_progress"},
     "status is now review, not in_progress"),
    (("status: in_progress\n", ""), {"status": "in_progress"},
     "status is now none, not in_progress"),
    (("status: in_progress", "status: someday"), {"status": "in_progress"},
     "status is now none, not in_progress"),
    (("", ""), {"status": None}, "status is now in_progress, not none"),
])
def test_each_field_the_page_showed_is_checked(repo, api, change, shown, difference):
    path = repo / "ai/tasks/task_en.md"
    path.write_text(EN.replace(*change), encoding="utf-8")
    before = path.read_bytes()
    status, reply = api.post("tasks/task_en/status", {"status": "paused", "expect": shown})
    assert (status, reply["error"]) == (409, f"task_en: changed since the page showed it: "
                                             f"{difference}")
    assert path.read_bytes() == before


@pytest.mark.parametrize("text, config, shown", [
    ("# Plain\n\nstatus: review\nupdated: 2025-01-02\n", "",
     {"status": "review", "current_role": None, "stamp": "2025-01-02"}),
    (EN.replace("in_progress", "Triage"), '[statuses]\n"Triage" = "pending"\n',
     {"status": "pending", "stamp": "2025-02-23 23:52:30"}),
    (EN.replace("status: in_progress", "'status': 'In progress'  # quoted"), "",
     {"status": "in_progress", "current_role": "planner"}),
    ("\ufeff" + EN.replace("\n", "\r\n"), "", SHOWN_EN),
])
def test_what_the_page_showed_is_read_as_the_site_reads_it(repo, text, config, shown):
    """No false refusal: the check reads a file the way its page was built from it."""
    (repo / "taskmon.toml").write_text(config, encoding="utf-8")
    (repo / "ai/tasks/task_en.md").write_text(text, encoding="utf-8")
    catalog = taskcli.TaskCatalog(load_config(repo))
    page, = catalog.read(catalog.find(["task_en"]))
    assert {"status": page.status, "current_role": page.current_role,
            "next_role": page.next_role,
            "stamp": page.updated_raw or page.created_raw}.items() >= shown.items()
    with api_server(repo) as api:
        status, reply = api.post("tasks/task_en/comment", {"text": "seen", "expect": shown})
    assert (status, reply["ok"]) == (200, True), reply


def test_a_bulk_change_checks_each_task_and_writes_none_when_one_changed(repo, api):
    (repo / "ai/tasks/task_zh.md").write_text(ZH.replace("待启动", "进行中"), "utf-8")
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "review"), "utf-8")
    before = snapshot(repo)
    body = {"ids": ["task_en", "task_zh"], "status": "paused",
            "expect": {"task_en": {"status": "in_progress"}, "task_zh": {"status": "in_progress"}}}
    status, reply = api.post("status", body)
    assert (status, reply["error"]) == (
        409, "task_en: changed since the page showed it: status is now review, not in_progress")
    assert snapshot(repo) == before
    body["expect"]["task_en"] = {"status": "review"}
    status, reply = api.post("status", {**body, "status": "completed"})
    assert status == 200
    assert [(t["id"], t["status"]) for t in reply["tasks"]] == [
        ("task_en", "completed"), ("task_zh", "completed")]


@pytest.mark.parametrize("path, body, error", [
    ("tasks/task_en/status", {"status": "review", "expect": []}, "'expect' must be an object"),
    ("tasks/task_en/status", {"status": "review", "expect": {"title": "x"}},
     "'expect' has an unknown key 'title'; known: status, current_role, next_role, stamp"),
    ("tasks/task_en/handoff", {"expect": {"status": 3}},
     "'expect'['status'] must be a string or null"),
    ("status", {"ids": ["task_en"], "status": "review", "expect": {"task_zh": {}}},
     "'expect' must be an object whose keys are some of 'ids'"),
    ("status", {"ids": ["task_en"], "status": "review", "expect": {"task_en": "x"}},
     "'expect'['task_en'] must be an object"),
])
def test_a_bad_expectation_is_400(repo, api, path, body, error):
    before = snapshot(repo)
    assert api.post(path, body) == (400, {"ok": False, "error": error, "allowed": []})
    assert snapshot(repo) == before


def test_before_the_first_good_build_the_api_asks_to_retry(repo):
    with api_server(repo, no_config=True) as api:
        assert api.post("tasks/task_en/status", {"status": "review"}) == (503, {
            "ok": False, "error": "the site has not been built yet; retry in a moment",
            "allowed": []})
    assert read(repo, "task_en.md") == EN


def test_only_post_is_answered(api):
    status, _ = api.request("GET", actions.API_PREFIX + "tasks/task_en/status")
    assert status == 405


# -- what pages get ------------------------------------------------------------------------------

def test_the_snippet_carries_the_token_the_lifecycle_and_the_script():
    snippet = actions.preview_snippet(TOKEN)
    assert f'<meta name="taskmon-token" content="{TOKEN}">' in snippet
    assert snippet.endswith('<script src="/_taskmon/actions.js" defer></script>')
    payload = re.search(r'id="taskmon-actions-data">(.*?)</script>', snippet).group(1)
    data = json.loads(payload)
    assert data["transitions"]["review"] == ["completed", "rework"]
    assert data["nextRole"]["planner"] == "executor"
    assert {"id": "paused", "en": "Paused", "zh": "暂停"} in data["statuses"]
    assert data["final"] == ["cancelled", "completed"]
    assert data["strings"]["en"]["change_status"] == "Change status"
    assert data["strings"]["zh"]["change_status"] == "更改状态"
    assert data["strings"]["zh"]["selected"] == "已选 {n} 项"


def test_the_words_of_the_preview_scripts_are_the_themes(tmp_path):
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "strings.toml").write_text(
        '[en]\naction_apply = "Go"\n'
        '[zh]\naction_apply = "执行"\npreview_refresh = "重新载入"\n',
        encoding="utf-8")
    words = actions.theme_strings([theme, DEFAULT_THEME])
    assert (words["en"]["apply"], words["zh"]["apply"]) == ("Go", "执行")
    assert words["zh"]["retry"] == "重试"
    default = tomllib.loads((DEFAULT_THEME / "strings.toml").read_text(encoding="utf-8"))
    keys = {k.removeprefix("action_") for k in default["en"] if k.startswith("action_")}
    assert set(words["en"]) == set(words["zh"]) == keys
    assert "refresh" not in words["en"]
    preview = actions.theme_strings([theme, DEFAULT_THEME], "preview_")
    assert (preview["en"]["refresh"], preview["zh"]["refresh"]) == ("Refresh", "重新载入")


def test_every_word_the_preview_scripts_say_is_in_both_languages():
    default = tomllib.loads((DEFAULT_THEME / "strings.toml").read_text(encoding="utf-8"))
    for script, prefix in (("actions.js", "action_"), ("preview.js", "preview_")):
        source = (actions.STATIC / script).read_text(encoding="utf-8")
        said = set(re.findall(r'say\("(\w+)"', source) if script == "actions.js" else
                   re.findall(r"labels(?:\.|\[\")(\w+)", source))
        assert said, script
        for lang in ("en", "zh"):
            missing = {k for k in said if prefix + k not in default[lang]}
            assert not missing, (script, lang)


def test_actions_js_and_css_are_served(api):
    status, reply = api.request("GET", "/_taskmon/actions.js")
    assert status == 200 and reply["type"] == "text/javascript; charset=utf-8"
    assert "X-Taskmon-Token" in reply["text"]
    assert api.request("GET", "/_taskmon/actions.css")[0] == 200
    assert api.request("GET", "/_taskmon/actions.py")[0] == 404


def test_new_tokens_are_long_and_differ():
    first, second = actions.new_token(), actions.new_token()
    assert first != second and len(first) >= 40


def test_a_built_site_has_no_api_and_no_token(build_site):
    builder = build_site(TREE)
    pages = [p.read_text(encoding="utf-8") for p in builder.output_dir.rglob("*.html")]
    assert pages and not any("taskmon-token" in p or "/_taskmon/" in p for p in pages)


DONE = """\
---
task_id: task_done
current_role: debugger
next_role: manager
status: Shipped
---

# Finished work
"""


def test_a_finished_task_is_not_handed_off(repo):
    (repo / "taskmon.toml").write_text('[statuses]\n"Shipped" = "completed"\n', "utf-8")
    (repo / "ai/tasks/done.md").write_text(DONE, encoding="utf-8")
    with api_server(repo) as api:
        before = snapshot(repo)
        assert api.post("tasks/task_done/handoff", {"to": None}) == (400, {
            "ok": False, "allowed": [],
            "error": "task_done: status completed is final; a finished task is not handed off "
                     "(use the task command's --force to hand it off anyway)",
            "errors": [{"id": "task_done", "allowed": [], "error": (
                "status completed is final; a finished task is not handed off "
                "(use the task command's --force to hand it off anyway)")}]})
        assert snapshot(repo) == before

        assert api.post("tasks/task_done/handoff", {"force": "yes"})[0] == 400
        assert api.post("tasks/task_done/handoff", {"to": None, "force": True})[0] == 400
        assert snapshot(repo) == before


def test_a_status_in_the_configs_spelling_is_changed_and_written_in_it(repo):
    (repo / "taskmon.toml").write_text(
        '[statuses]\n"Triage" = "pending"\n"Doing" = "in_progress"\n', "utf-8")
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "Triage"), "utf-8")
    with api_server(repo) as api:
        status, reply = api.post("tasks/task_en/status", {"status": "in_progress"})
    assert (status, reply["task"]["status"]) == (200, "in_progress")
    assert "status: Doing\nupdated_at: \"2025-03-01 10:20:30\"\n" in read(repo, "task_en.md")
