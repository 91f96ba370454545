"""The preview server answers only requests addressed to its own loopback names."""

from __future__ import annotations

import http.client

from test_serve import SOURCE, real_site, serving


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
