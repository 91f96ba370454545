"""The preview server on a real port: rebuilds, errors, headers, the protocol."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import html
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from tornado.websocket import websocket_connect

from taskmon_site.config import load_config
from taskmon_site.logs import setup_logging
from taskmon_site.serve import (
    PLUGIN,
    PreviewServer,
    PreviewSite,
    add_serve_arguments,
    bind,
    inject_preview,
    preview_site,
    run_serve,
)

REPO = Path(__file__).resolve().parent.parent

SOURCE = {
    "taskmon.toml": 'title = "Demo site"\n',
    "ai/tasks/first.md": (
        "---\nstatus: in_progress\ncurrent_role: executor\n---\n\n# First task\n\nStarted.\n"
    ),
    "docs/guide.md": "# Guide\n\nVersion one.\n",
}
GUIDE_URL = "docs/guide.html"


# -- helpers shared with the browser tests ---------------------------------------------


def real_site(root: Path) -> PreviewSite:
    return preview_site(load_config(root))


@contextmanager
def serving(site: PreviewSite, host: str = "127.0.0.1", port: int = 0):
    """Run a preview server in a thread until the block ends; yields it."""
    server = PreviewServer(site, bind(host, port), quiet=0.05)
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(on_ready=lambda url: ready.set()))
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "server did not start"
    assert not failure, failure
    try:
        yield server
    finally:
        server.request_stop()
        thread.join(10)
        assert not thread.is_alive(), "server did not stop"


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    """Status, headers and text of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def status(server: PreviewServer) -> dict:
    return json.loads(fetch(server.url + "_taskmon/status")[2])


def poll(check, timeout: float = 5.0):
    """Call *check* until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "condition not met in time"
            return value
        time.sleep(0.02)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class FakeBuilder:
    """One page per ``*.md`` file holding its text; a file saying FAIL breaks the build."""

    def __init__(self, source: Path, output_dir: Path, gate: threading.Event | None = None):
        self.source = source
        self.output_dir = output_dir
        self.gate = gate

    def build(self) -> SimpleNamespace:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.rebuild(set(self.source.rglob("*.md")))

    def rebuild(self, changed_paths: set[Path]) -> SimpleNamespace:
        if self.gate is not None:
            assert self.gate.wait(5)
        written = 0
        for path in sorted(changed_paths):
            page = self.output_dir / path.relative_to(self.source).with_suffix(".html")
            if not path.exists():
                page.unlink(missing_ok=True)
                continue
            text = path.read_text(encoding="utf-8")
            if "FAIL" in text:
                raise RuntimeError(f"cannot render {path.name}")
            write(page, f"<html><head><title>{path.stem}</title></head><body>{text}</body></html>")
            written += 1
        return SimpleNamespace(pages_written=written)

    def watch_dirs(self) -> list[Path]:
        return [self.source]

    def is_relevant(self, path: Path) -> bool:
        return path.suffix == ".md"


def fake_site(root: Path, gate: threading.Event | None = None) -> PreviewSite:
    return PreviewSite(lambda out, reload: FakeBuilder(root, out, gate), root)


# -- the real builder ------------------------------------------------------------------


def test_the_site_is_served_with_the_preview_script_the_build_lacks(make_tree):
    src = make_tree(SOURCE)
    with serving(real_site(src)) as server:
        code, headers, body = fetch(server.url)
        assets = [fetch(server.url + path)[1]["Cache-Control"] for path in
                  ["_taskmon/preview.js", "_taskmon/status", "assets/style.css"]]
        built = (server.state.root / "index.html").read_text(encoding="utf-8")
        root = server.state.root

    assert code == 200
    assert headers["Cache-Control"] == "no-cache"
    assert assets == ["no-cache", "no-cache", "no-cache"]
    assert body.count('<script src="/_taskmon/preview.js" defer') == 1
    assert "_taskmon" not in built
    assert not root.is_relative_to(src)
    assert not root.exists(), "the build folder is removed when the server stops"


def test_a_saved_doc_is_served_rebuilt_with_one_log_line(make_tree, caplog):
    src = make_tree(SOURCE)
    with serving(real_site(src)) as server:
        before = status(server)["build"]
        caplog.set_level(logging.INFO, logger="taskmon_site.serve")
        write(src / "docs" / "guide.md", "# Guide\n\nVersion two.\n")

        after = poll(lambda: (s := status(server))["build"] != before and s)
        body = fetch(server.url + GUIDE_URL)[2]
        time.sleep(0.3)  # a build that set off another one would show by now
        assert status(server)["build"] == after["build"]

    assert "Version two." in body and "Version one." not in body
    assert after["ok"] is True
    assert after["changed"] == ["docs/guide.md"]
    lines = [r.getMessage() for r in caplog.records if r.name == "taskmon_site.serve"]
    assert len(lines) == 1
    assert re.fullmatch(r"Changed docs/guide\.md: rebuilt \d+ pages( \(\d+ written\))? in \d+ ms",
                        lines[0]), lines


def test_tasks_json_follows_a_saved_task_after_the_reload(make_tree):
    src = make_tree(SOURCE)
    with serving(real_site(src)) as server:
        before = status(server)["build"]
        write(src / "ai/tasks/first.md", "---\nstatus: done\n---\n\n# First task, done\n")
        poll(lambda: status(server)["build"] != before)
        data = poll(lambda: "First task, done" in (text := fetch(
            server.url + "tasks.json")[2]) and json.loads(text))
    assert [(t["title"], t["status"]) for t in data["tasks"]] == [("First task, done", "completed")]


def test_what_a_rebuild_leaves_for_later_waits_until_its_reload_went_out(make_tree):
    # Done at once, it kept the loop from sending the reload (10,000 tasks: ~50 ms).
    root = make_tree({"a.md": "one"})
    seen: list[int] = []
    holder: list[PreviewServer] = []

    class Finishing(FakeBuilder):
        def finish(self) -> None:
            seen.append(holder[0].state.generation)

    site = PreviewSite(lambda out, reload: Finishing(root, out), root)
    with serving(site) as server:
        holder.append(server)
        first = server.state.generation
        write(root / "a.md", "two")
        poll(lambda: seen)
    assert seen == [first + 1]


def test_created_files_appear_and_deleted_files_disappear(make_tree):
    src = make_tree(SOURCE)
    url = "docs/notes.html"
    with serving(real_site(src)) as server:
        assert fetch(server.url + url)[0] == 404
        write(src / "docs" / "notes.md", "# Notes\n\nNew here.\n")
        poll(lambda: fetch(server.url + url)[0] == 200)

        (src / "docs" / "notes.md").unlink()
        code, headers, body = poll(lambda: (r := fetch(server.url + url))[0] == 404 and r)

    assert headers["Cache-Control"] == "no-cache"
    assert "/_taskmon/preview.js" in body, "a 404 page still reloads when the page appears"


def test_a_folder_moved_away_takes_its_pages_along(make_tree, tmp_path):
    src = make_tree({**SOURCE, "docs/old/a.md": "# A\n", "docs/old/b.md": "# B\n"})
    url = "docs/old/a.html"
    with serving(real_site(src)) as server:
        assert fetch(server.url + url)[0] == 200
        (src / "docs" / "old").rename(tmp_path / "old")
        poll(lambda: status(server)["changed"] == ["docs/old"])
        assert fetch(server.url + url)[0] == 404


def test_a_unicode_path_is_served_percent_encoded(make_tree):
    src = make_tree({**SOURCE, "docs/测试 1.md": "# 测试\n\n你好。\n"})
    with serving(real_site(src)) as server:
        code, _, body = fetch(server.url + quote("docs/测试-1.html"))
    assert code == 200
    assert "你好。" in body


def test_a_broken_config_shows_the_error_then_clears(make_tree):
    src = make_tree(SOURCE)
    config = src / "taskmon.toml"
    with serving(real_site(src)) as server:
        good = status(server)
        write(config, 'title = "Demo site"\nlang = "fr"\n')
        broken = poll(lambda: (s := status(server))["error"] and s)
        code, _, page = fetch(server.url + GUIDE_URL)

        write(config, 'title = "Fixed site"\n')
        fixed = poll(lambda: (s := status(server))["ok"] and s)
        _, _, page_after = fetch(server.url + GUIDE_URL)

    assert broken["ok"] is False and broken["serving"] is True
    assert broken["build"] == good["build"], "the last good build stays served"
    assert broken["error"]["file"] == "taskmon.toml"
    assert broken["error"]["line"] == 2
    assert broken["error"]["kind"] == "ConfigError"
    assert "lang: expected 'zh' or 'en', got 'fr'" in broken["error"]["message"]
    assert code == 200 and "Demo site" in page
    assert fixed["error"] is None and fixed["build"] != good["build"]
    assert "Fixed site" in page_after


def test_every_failed_rebuild_prints_one_error_line(make_tree, capsys):
    """Not five and then silence: a build tool's outcome is never a repeated warning."""
    src = make_tree(SOURCE)
    setup_logging()
    with serving(real_site(src)) as server:
        capsys.readouterr()
        for i in range(7):
            write(src / "taskmon.toml", f'title = "Demo site"\nstale_days = "x{i}"\n')
            poll(lambda: (e := status(server)["error"]) and f"'x{i}'" in e["message"])
        err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 7, err
    for i, line in enumerate(lines):
        assert re.fullmatch(
            r"ERROR: Changed taskmon\.toml: build failed after \d+ ms: taskmon\.toml:2: "
            rf"invalid configuration: stale_days: expected a whole number of days, got 'x{i}'",
            line), line


def test_a_config_file_created_later_is_read(make_tree):
    files = dict(SOURCE)
    del files["taskmon.toml"]
    src = make_tree(files)
    with serving(real_site(src)) as server:
        write(src / "taskmon.toml", 'title = "Named later"\n')
        poll(lambda: "Named later" in fetch(server.url + GUIDE_URL)[2])


def test_a_theme_folder_created_after_the_config_named_it_is_noticed(make_tree):
    src = make_tree({**SOURCE, ".git/objects/aa/x": "", ".git/objects/ab/y": ""})
    with serving(real_site(src)) as server:
        write(src / "taskmon.toml", 'title = "Demo site"\ntheme = "mytheme"\n')
        broken = poll(lambda: (s := status(server))["error"] and s)
        assert broken["error"]["message"] == (
            f"invalid configuration:\n  - theme: folder does not exist: {src / 'mytheme'}")
        (src / "mytheme" / "templates").mkdir(parents=True)
        fixed = poll(lambda: (s := status(server))["ok"] and s)
        # The folder's own creation woke the rebuild (its subfolder's may come along).
        assert fixed["changed"] in (["mytheme"], ["mytheme", "mytheme/templates"])
        write(src / "mytheme" / "templates" / "doc.html",
              '{% extends "base.html" %}\n{% block main %}Themed later{% endblock %}\n')
        poll(lambda: "Themed later" in fetch(server.url + GUIDE_URL)[2])
        watched = {Path(e.watch.path) for e in server.watcher._observer.emitters}
    assert not any(".git" in path.parts for path in watched), watched


def test_template_edits_show_and_a_template_error_names_file_and_line(make_tree):
    src = make_tree({**SOURCE, "taskmon.toml": 'theme = "theme"\n',
                     "theme/templates/doc.html": '{% extends "base.html" %}\n'})
    template = src / "theme" / "templates" / "doc.html"
    with serving(real_site(src)) as server:
        write(template, '{% extends "base.html" %}\n{% block main %}Themed{% endblock %}\n')
        poll(lambda: "Themed" in fetch(server.url + GUIDE_URL)[2])
        write(template, '{% extends "base.html" %}\n{% block main %}{% if %}{% endblock %}\n')
        broken = poll(lambda: (s := status(server))["error"] and s)
        template.unlink()
        fixed = poll(lambda: (s := status(server))["ok"] and s)

    assert broken["error"]["kind"] == "TemplateSyntaxError"
    assert broken["error"]["file"] == "theme/templates/doc.html"
    assert broken["error"]["line"] == 2
    assert fixed["error"] is None


# -- the protocol ------------------------------------------------------------------------


async def _listen(url: str, plugins: dict, actions, count: int) -> list[dict]:
    """Handshake like preview.js, run each action after a message, collect messages."""
    ws_url = url.replace("http://", "ws://") + "livereload"
    conn = await websocket_connect(ws_url)
    await conn.write_message(json.dumps({"command": "hello", "protocols": ["x"]}))
    hello = json.loads(await conn.read_message())
    await conn.write_message(json.dumps({"command": "info", "url": url, "plugins": plugins}))
    messages = []
    for action in actions:
        action()
        messages.append(json.loads(await asyncio.wait_for(conn.read_message(), 5)))
    conn.close()
    return [hello, *messages][:count]


def test_every_save_sends_a_reload_and_the_last_one_is_never_lost(make_tree):
    src = make_tree(SOURCE)
    guide = src / "docs" / "guide.md"
    with serving(real_site(src)) as server:
        messages = asyncio.run(_listen(server.url, {}, [
            lambda: write(guide, "# Guide\n\nSave one.\n"),
            lambda: write(guide, "# Guide\n\nSave two.\n"),
        ], count=3))
        _, _, page = fetch(server.url + GUIDE_URL)

    assert messages[0]["command"] == "hello"
    assert [m["command"] for m in messages[1:]] == ["reload", "reload"]
    assert messages[1]["path"] == "docs/guide.md"
    assert "Save two." in page


def test_preview_clients_get_the_build_state_pushed(make_tree):
    with serving(fake_site(make_tree({"a.md": "one"}))) as server:
        build = status(server)["build"]
        fake = server.site.source_dir
        messages = asyncio.run(_listen(server.url, {PLUGIN: {"version": "1"}}, [
            lambda: None,
            lambda: write(fake / "a.md", "FAIL"),
            lambda: None,
        ], count=4))

    pushed = [m["status"] for m in messages[1:]]
    assert messages[1]["command"] == "taskmon-status"
    assert pushed[0] == {**pushed[0], "build": build, "ok": True, "building": False}
    assert pushed[1]["building"] is True
    assert pushed[2]["error"] == {"message": "cannot render a.md", "kind": "RuntimeError",
                                  "file": None, "line": None}


# -- the fake builder: failures of any kind, slow builds ------------------------------


def test_any_exception_keeps_the_last_good_site_and_is_logged(make_tree, caplog):
    src = make_tree({"a.md": "first", "b.md": "bee"})
    with serving(fake_site(src)) as server:
        write(src / "a.md", "FAIL here")
        broken = poll(lambda: (s := status(server))["error"] and s)
        page_while_broken = fetch(server.url + "a.html")[2]
        write(src / "a.md", "second")
        fixed = poll(lambda: (s := status(server))["ok"] and s)
        page_fixed = fetch(server.url + "a.html")[2]

    assert broken["error"]["message"] == "cannot render a.md"
    assert broken["changed"] == ["a.md"]
    assert "first" in page_while_broken
    assert fixed["error"] is None and "second" in page_fixed
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert re.fullmatch(r"Changed a\.md: build failed after \d+ ms: cannot render a\.md",
                        errors[0].getMessage())
    assert errors[0].exc_info is not None, "an unexpected exception keeps its traceback"


def test_the_rebuild_log_line_collapses_many_paths(make_tree, caplog):
    src = make_tree({"a.md": "first"})
    with serving(fake_site(src)) as server:
        caplog.set_level(logging.INFO, logger="taskmon_site.serve")
        for name in ["e", "d", "c", "b", "a"]:
            write(src / f"{name}.md", "second")
        poll(lambda: "second" in fetch(server.url + "e.html")[2])
        server.scheduler.wait_idle(5)

    lines = [r.getMessage() for r in caplog.records if r.name == "taskmon_site.serve"]
    assert len(lines) == 1
    assert re.fullmatch(r"Changed a\.md, b\.md, c\.md and 2 more: rebuilt 5 pages in \d+ ms",
                        lines[0]), lines


def test_pages_are_served_while_a_rebuild_runs(make_tree):
    src = make_tree({"a.md": "first"})
    gate = threading.Event()
    gate.set()
    with serving(fake_site(src, gate)) as server:
        gate.clear()
        write(src / "a.md", "second")
        poll(lambda: status(server)["building"])
        started = time.monotonic()
        code, _, body = fetch(server.url + "a.html")
        elapsed = time.monotonic() - started
        gate.set()
        poll(lambda: "second" in fetch(server.url + "a.html")[2])

    assert code == 200 and "first" in body
    assert elapsed < 1


def test_a_save_during_the_first_build_is_not_lost(make_tree):
    src = make_tree({"a.md": "first"})
    read, release = threading.Event(), threading.Event()

    class SlowFirstBuild(FakeBuilder):
        def build(self) -> SimpleNamespace:
            report = super().build()
            read.set()  # the file has been read; now it changes
            assert release.wait(5)
            return report

    def save_while_building() -> None:
        assert read.wait(5)
        write(src / "a.md", "second")
        time.sleep(0.05)  # let the watcher see it before the build ends
        release.set()

    threading.Thread(target=save_while_building, daemon=True).start()
    with serving(PreviewSite(lambda out, reload: SlowFirstBuild(src, out), src)) as server:
        poll(lambda: "second" in fetch(server.url + "a.html")[2])


def test_a_failed_first_build_serves_the_error_until_fixed(make_tree):
    src = make_tree({"a.md": "FAIL at start"})
    with serving(fake_site(src)) as server:
        code, headers, body = fetch(server.url + "a.html")
        first = status(server)
        write(src / "a.md", "working")
        poll(lambda: fetch(server.url + "a.html")[0] == 200)

    assert code == 503 and "/_taskmon/preview.js" in body
    assert first["serving"] is False and first["error"]["message"] == "cannot render a.md"


def test_paths_outside_the_build_are_not_served(make_tree):
    src = make_tree({"a.md": "first"})
    (src.parent / "secret.html").write_text("secret", encoding="utf-8")
    with serving(fake_site(src)) as server:
        host, port = server.sockets[0].getsockname()[:2]
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/%2e%2e/%2e%2e/secret.html")
        response = conn.getresponse()
        conn.close()
    assert response.status == 404


def test_folders_redirect_to_their_index(make_tree):
    src = make_tree({"docs/index.md": "docs home"})
    with serving(fake_site(src)) as server:
        code, _, body = fetch(server.url + "docs")
    assert code == 200 and "docs home" in body


# -- ports and the command line ------------------------------------------------------------


def test_ipv6_loopback_works(make_tree):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        bind("::1", 0)[0].close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with serving(fake_site(make_tree({"a.md": "over six"})), host="::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert "over six" in fetch(server.url + "a.html")[2]


def test_a_busy_port_is_a_clear_message_and_exit_code_2(capsys):
    busy = bind("127.0.0.1", 0)
    port = busy[0].getsockname()[1]
    args = argparse.Namespace(host="127.0.0.1", port=port)
    try:
        code = run_serve(args, config=None)
    finally:
        busy[0].close()
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"taskmon-site: port {port} on 127.0.0.1 is already in use; stop the other "
                   "server, or choose another port with --port (--port 0 picks a free one)\n")


def test_serve_arguments():
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    assert vars(parser.parse_args([])) == {"host": "127.0.0.1", "port": 8000}
    assert vars(parser.parse_args(["--host", "::1", "--port", "0"])) == {"host": "::1", "port": 0}
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "70000"])


def test_run_serve_prints_the_url_and_stops_cleanly_on_sigterm(make_tree, tmp_path):
    src = make_tree(SOURCE)
    temp = tmp_path / "temp"
    temp.mkdir()
    script = (
        "import argparse, sys; from pathlib import Path\n"
        "from taskmon_site.config import load_config\n"
        "from taskmon_site.serve import run_serve\n"
        "args = argparse.Namespace(host='127.0.0.1', port=0)\n"
        "sys.exit(run_serve(args, load_config(Path(sys.argv[1]))))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(src)], cwd=REPO,
                            env={**os.environ, "TMPDIR": str(temp)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.fullmatch(r"Serving on (http://127\.0\.0\.1:\d+/)\n", line)
        assert url, line + proc.stderr.read() if proc.poll() is not None else line
        assert fetch(url[1] + GUIDE_URL)[0] == 200
        assert [p.name[:14] for p in temp.iterdir()] == ["taskmon-serve-"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0, proc.stderr.read()
    assert list(temp.iterdir()) == [], "the build folder is removed on exit"


def test_without_a_source_the_sample_is_served_from_a_copy_the_preview_may_change(tmp_path):
    """The embedded sample belongs to the package (a git checkout, site-packages)."""
    from taskmon_site.config import DEFAULT_CONTENT

    package = {p: p.read_bytes() for p in sorted(DEFAULT_CONTENT.rglob("*")) if p.is_file()}
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "taskmon_site", "serve", "--port", "0",
                             "--no-search", "-o", str(tmp_path / "out")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.fullmatch(r"Serving on (http://127\.0\.0\.1:(\d+)/)\n", line)
        assert url, line + (proc.stderr.read() if proc.poll() is not None else "")
        record = json.loads(fetch(url[1] + "tasks.json")[2])["tasks"][0]
        page = fetch(url[1] + record["url"])[2]
        token = re.search(r'<meta name="taskmon-token" content="([^"]+)">', page)[1]
        conn = http.client.HTTPConnection("127.0.0.1", int(url[2]), timeout=10)
        conn.request("POST", f"/_taskmon/api/tasks/{record['id']}/comment",
                     json.dumps({"text": "written into the copy"}),
                     {"Origin": url[1].rstrip("/"), "X-Taskmon-Token": token,
                      "Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        copies = list(temp.glob("taskmon-sample-*/content/" + record["source"]))
        assert len(copies) == 1 and "written into the copy" in copies[0].read_text("utf-8")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert re.search(r"^No source given: serving a copy of the embedded sample \(.*"
                     r"taskmon-sample-\w+/content\); changes made in the preview go to the "
                     r"copy and are gone when the server stops$", err, re.M), err
    assert {p: p.read_bytes() for p in sorted(DEFAULT_CONTENT.rglob("*")) if p.is_file()} == \
        package
    assert list(temp.iterdir()) == [], "the copy and the build folder are removed on exit"


def test_inject_preview_places_the_script_in_the_head():
    page = b"<html><HEAD><title>x</title></HEAD><body>a</head></body></html>"
    injected = inject_preview(page, "s-1")
    assert injected.index(b"preview.js") < injected.index(b"</HEAD>")
    assert injected.count(b"preview.js") == 1
    assert inject_preview(b"plain", "s-1").startswith(b"plain<script")


def test_the_preview_scripts_get_their_words_from_the_sites_theme(make_tree):
    src = make_tree({**SOURCE, "taskmon.toml": 'lang = "zh"\ntheme = "theme"\n',
                     "theme/strings.toml": '[zh]\npreview_connected = "连上了"\n'
                                           'action_apply = "执行"\n'})
    with serving(real_site(src)) as server:
        body = fetch(server.url)[2]
    labels = json.loads(html.unescape(re.search(r'data-labels="([^"]*)"', body).group(1)))
    assert labels["zh"]["connected"] == "连上了"
    assert labels["zh"]["reconnecting"] == "正在重新连接…"
    assert labels["en"]["connected"] == "connected"
    data = json.loads(re.search(r'id="taskmon-actions-data">(.*?)</script>', body).group(1))
    assert (data["strings"]["zh"]["apply"], data["strings"]["en"]["apply"]) == ("执行", "Apply")


def test_inject_preview_without_labels_uses_the_default_themes():
    injected = inject_preview(b"<head></head>", "s-1").decode()
    labels = json.loads(html.unescape(re.search(r'data-labels="([^"]*)"', injected).group(1)))
    assert labels["zh"]["failed"] == "构建失败" and labels["en"]["failed"] == "Build failed"
