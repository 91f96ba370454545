"""Rendering Markdown bodies safely: agent-written text is untrusted."""

from __future__ import annotations

import json

import pytest

from taskmon_site.markdown import Markdown


def render(text: str, html: str = "escape") -> str:
    md = Markdown(html)
    env: dict = {}
    return md.render(md.parse(text, env), env)


def test_raw_html_is_escaped_by_default():
    out = render('<script>alert(1)</script>\n\nhi <img src=x onerror="alert(2)">\n')
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in out


def test_sanitize_mode_keeps_safe_html_only():
    out = render('<b>bold</b> <script>alert(1)</script> <a href="javascript:x()">a</a>'
                 ' <span onclick="x()">s</span>', html="sanitize")
    assert "<b>bold</b>" in out
    assert "<script" not in out and "alert(1)" not in out
    assert "javascript:" not in out and "onclick" not in out


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JAVASCRIPT:alert(1)",
                                  "vbscript:msgbox", "data:text/html;base64,PHNjcmlwdD4="])
def test_dangerous_links_are_neutralised(href: str):
    out = render(f"[click]({href})")
    assert "<a" not in out
    assert "[click]" in out


def test_tables_footnotes_task_lists_anchors_and_highlighting():
    out = render("# 任务 描述\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nNote[^1]\n\n"
                 "[^1]: the note\n\n- [x] done\n- [ ] open\n\n```python\nx = 1\n```\n")
    assert '<h1 id="任务-描述">' in out
    assert "<table>" in out and "<td>1</td>" in out
    assert 'class="footnote-ref"' in out
    assert 'checked="checked"' in out and out.count('type="checkbox"') == 2
    assert '<pre class="highlight"><code class="language-python"><span class="n">x</span>' in out


def test_front_matter_values_are_escaped_in_every_context(build_site):
    evil = '</script><script>alert(1)</script>"\'><b>'
    text = f"---\ntask_id: t1\ntitle: {json.dumps(evil)}\nstatus: {json.dumps(evil)}\n---\n"
    builder = build_site({"ai/tasks/t1.md": text})
    for url in ("tasks/t1.html", "tasks/index.html", "index.html", "board.html"):
        page = (builder.output_dir / url).read_text(encoding="utf-8")
        assert "<script>alert(1)" not in page, url
        assert "<b>" not in page, url
    data = json.loads((builder.output_dir / "tasks.json").read_text(encoding="utf-8"))
    assert data["tasks"][0]["title"] == evil
    build_js = (builder.output_dir / "assets/build.js").read_text(encoding="utf-8")
    assert "</script" not in build_js
