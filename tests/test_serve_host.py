"""The preview server answers only requests addressed to its own loopback names."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys

from test_serve import REPO, SOURCE, fetch, real_site, serving

from taskmon_site import actions
from taskmon_site.serve import serving_line


def get_with_host(server, host: str) -> int:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/index.html", headers={"Host": host})
    status = conn.getresponse().status
    conn.close()
    return status


def test_pages_refuse_a_foreign_host_header(make_tree):
    with serving(real_site(make_tree(SOURCE))) as server:
        port = server.url.rsplit(":", 1)[1].strip("/")
        assert get_with_host(server, f"127.0.0.1:{port}") == 200
        assert get_with_host(server, f"localhost:{port}") == 200
        assert get_with_host(server, f"evil.example:{port}") == 403
        assert get_with_host(server, "evil.example") == 403


def test_listening_on_every_address_prints_a_url_that_works_here(make_tree):
    src = make_tree(SOURCE)
    with serving(real_site(src), host="0.0.0.0") as server:
        port = server.url.rsplit(":", 1)[1].strip("/")
        assert server.url == f"http://0.0.0.0:{port}/"
        assert server.browse_url == f"http://127.0.0.1:{port}/"
        assert serving_line(server, server.browse_url) == (
            f"Serving on http://127.0.0.1:{port}/ (listening on all addresses, 0.0.0.0; from "
            f"another machine, use this machine's name or address)")
        assert fetch(server.browse_url + "docs/guide.html")[0] == 200

        # The page opened at that URL may change tasks (its Origin is 127.0.0.1).
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request("POST", "/_taskmon/api/tasks/first/comment", json.dumps({"text": "hi"}),
                     {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json",
                      actions.TOKEN_HEADER: server.token})
        assert conn.getresponse().status == 200
    assert "hi" in (src / "ai/tasks/first.md").read_text(encoding="utf-8")


def test_the_printed_line_for_every_address(make_tree, tmp_path):
    src = make_tree(SOURCE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "taskmon_site", "serve", str(src), "--host", "0.0.0.0",
         "--port", "0", "--no-search", "-o", str(tmp_path / "out")], cwd=REPO,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert re.fullmatch(r"Serving on http://127\.0\.0\.1:\d+/ \(listening on all addresses, "
                        r"0\.0\.0\.0; from another machine, use this machine's name or "
                        r"address\)\n", line), line + proc.stderr.read()
