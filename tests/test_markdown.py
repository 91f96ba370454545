"""Rendering Markdown bodies safely: agent-written text is untrusted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from taskmon_site.markdown import THEME_IDS, Markdown


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


def test_sanitized_html_keeps_its_ids_but_not_those_of_the_theme():
    out = render('<div id="main">x</div> <a id="taskmon-ui">c</a> <span id="mine">m</span>'
                 ' <b id="TASKMON_DATA">d</b> <a name="TaskmonApp">n</a> <a name="top">t</a>',
                 html="sanitize")
    assert out == ('<div>x</div> <a rel="noopener noreferrer">c</a> <span id="mine">m</span>'
                   ' <b>d</b> <a rel="noopener noreferrer">n</a>'
                   ' <a name="top" rel="noopener noreferrer">t</a>')


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


def test_each_fence_is_highlighted_on_its_own_and_unknown_languages_are_escaped():
    out = render('```python\ns = """\n```\n\n```python\nx = 1\n```\n\n'
                 "```nolang\n<b>x</b>\n```\n")
    # The second block starts outside the first one's unclosed string.
    assert out.count('<pre class="highlight"><code class="language-python">') == 2
    assert '<code class="language-python"><span class="n">x</span>' in out
    assert '<code class="language-nolang">&lt;b&gt;x&lt;/b&gt;' in out


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


def test_heading_ids_never_take_an_id_of_the_theme():
    out = render("# Main\n\n## site search\n\n## Timeline H\n\n## Main\n\n## Notes\n")
    assert [line.split(">")[0] for line in out.splitlines()] == [
        '<h1 id="main-1"', '<h2 id="site-search-1"', '<h2 id="timeline-h-1"',
        '<h2 id="main-2"', '<h2 id="notes"']
    assert '<a class="header-anchor" href="#main-1">#</a></h1>' in out


def test_every_fixed_id_of_the_theme_is_reserved():
    root = Path(__file__).resolve().parent.parent
    sources = [*root.glob("themes/default/templates/*.html"), root / "taskmon_site/actions.py"]
    ids = {m for path in sources
           for m in re.findall(r'\bid="([^"{]+)"', path.read_text(encoding="utf-8"))}
    assert "main" in ids and ids <= THEME_IDS


def test_many_equal_headings_get_unique_ids():
    # Looking for a free "-n" from 1 for each heading took minutes at this size.
    ids = re.findall(r'<h3 id="([^"]+)"', render("### 完成项\n" * 20_000))
    assert ids[:3] == ["完成项", "完成项-1", "完成项-2"] and ids[-1] == "完成项-19999"
    assert len(set(ids)) == 20_000
