"""The task views as files: data.js, escaping, UI strings, page sizes, the search index."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from conftest import REPO
from taskmon_site.render import JS_STRING_KEYS, RECORD_FIELDS, script_json
from taskmon_site.search import build_search_index, index_language

HOSTILE = '</script><img src=x onerror="alert(1)"> & \u2028 <!--'


def task_file(task_id: str, title: str, status: str = "pending", body: str = "") -> str:
    return (f"---\ntask_id: {task_id}\ntitle: '{title}'\nstatus: {status}\n"
            f"current_role: planner\nnext_role: executor\n"
            f"updated_at: '2025-03-0{len(task_id) % 9 + 1} 10:00'\n---\n# Description\n{body}\n")


def data_of(output_dir) -> dict:
    text = (output_dir / "assets/data.js").read_text(encoding="utf-8")
    assert text.startswith("window.TASKMON_DATA = ") and text.endswith(";\n")
    return json.loads(text[len("window.TASKMON_DATA = "):-2])


def test_data_js_has_one_record_per_task_in_list_order(build_site):
    builder = build_site({
        "ai/tasks/b.md": task_file("b", "Second", "review", "Needs a look."),
        "ai/tasks/a.md": task_file("a", "第一个任务", body="中文正文，幂等键。"),
    })
    data = data_of(builder.output_dir)
    assert data["fields"] == list(RECORD_FIELDS)
    records = [dict(zip(data["fields"], row)) for row in data["tasks"]]
    assert [r["id"] for r in records] == ["a", "b"]
    assert records[0]["title"] == "第一个任务" and "幂等键" in records[0]["text"]
    assert records[1]["status"] == "review" and records[1]["url"] == "tasks/b.html"
    assert records[1]["stamp"] == "2025-03-02 10:00"
    listing = (builder.output_dir / "tasks/index.html").read_text(encoding="utf-8")
    assert re.findall(r'<tr data-task-id="([^"]+)"', listing) == ["a", "b"]


def test_untrusted_values_cannot_leave_their_script(build_site):
    builder = build_site({"ai/tasks/x.md": task_file("x", HOSTILE.replace("'", "''"))})
    data_js = (builder.output_dir / "assets/data.js").read_text(encoding="utf-8")
    assert "<" not in data_js and ">" not in data_js and "\u2028" not in data_js
    title = builder.site.tasks[0].title
    assert title.startswith("</script><img") and data_of(builder.output_dir)["tasks"][0][2] == title
    for url in ("index.html", "tasks/index.html", "board.html", "tasks/x.html"):
        html = (builder.output_dir / url).read_text(encoding="utf-8")
        assert "<img src=x" not in html, url
        block = re.search(r'<script type="application/json" id="taskmon-ui">(.*?)</script>',
                          html, re.S).group(1)
        assert json.loads(block)["strings"]["new"] == "new"


def test_script_json_escapes_markup_characters():
    text = script_json({"t": "</script>&<!--"})
    assert text == '{"t":"\\u003c/script\\u003e\\u0026\\u003c!--"}'
    assert json.loads(text) == {"t": "</script>&<!--"}


def test_every_ui_string_exists_in_both_languages():
    with (REPO / "themes/default/strings.toml").open("rb") as fh:
        strings = tomllib.load(fh)
    assert set(strings["en"]) == set(strings["zh"])
    assert set(JS_STRING_KEYS) <= set(strings["en"])
    used = set()
    for path in (REPO / "themes/default/templates").glob("*.html"):
        used |= set(re.findall(r"\bt\.(\w+)", path.read_text(encoding="utf-8")))
    assert used <= set(strings["en"]), used - set(strings["en"])


def test_scripts_take_their_words_from_the_page():
    for name in ("app.js", "views.js"):
        code = (REPO / "themes/default/static" / name).read_text(encoding="utf-8")
        # Every t("key") names a string the page hands over.
        assert set(re.findall(r'\bt\("(\w+)"', code)) <= set(JS_STRING_KEYS), name
        assert not re.search(r"[\u4e00-\u9fff]", code), name


def test_only_the_list_and_board_grow_with_the_number_of_tasks(build_site, tmp_path):
    def sizes(n: int) -> dict[str, int]:
        files = {f"ai/tasks/t{i:05}.md": task_file(f"t{i:05}", f"Task {i}", body="Text. " * 30)
                 for i in range(n)}
        builder = build_site(files, {"output": str(tmp_path / f"out{n}")})
        out = builder.output_dir
        return {url: (out / url).stat().st_size for url in
                ("index.html", "tasks/index.html", "board.html", "assets/data.js",
                 "tasks/t00001.html", "docs/index.html")}

    small, large = sizes(40), sizes(400)
    for url in ("index.html", "tasks/t00001.html", "docs/index.html"):
        assert large[url] - small[url] < 2_000, url
    for url in ("tasks/index.html", "board.html", "assets/data.js"):
        per_task = (large[url] - small[url]) / 360
        assert per_task < 1_200, (url, per_task)


@pytest.mark.parametrize("lang, text, expected", [
    ("en", "Plain English only.", "en"),
    ("en", "一些中文。", "zh"),
    ("zh", "Plain English only.", "zh"),
])
def test_index_language(build_site, lang, text, expected):
    builder = build_site({"ai/tasks/a.md": task_file("a", "A", body=text)}, {"lang": lang})
    assert index_language(builder.site) == expected


def test_search_index_is_built_and_replaced(build_site):
    builder = build_site({"ai/tasks/a.md": task_file("a", "幂等键", body="中文 and English."),
                          "docs/guide.md": "# Guide\n\nHow to deploy.\n"})
    first = build_search_index(builder.site, builder.output_dir)
    assert first is not None and first.language == "zh" and first.pages == 2
    bundle = builder.output_dir / "pagefind" / "0"
    assert (bundle / "pagefind.js").is_file()
    (bundle / "leftover.txt").write_text("old")
    assert build_search_index(builder.site, builder.output_dir) is not None
    assert not (bundle / "leftover.txt").exists()
    leftovers = sorted(p.name for p in [*builder.output_dir.iterdir(),
                                        *bundle.parent.iterdir()] if p.name.startswith("."))
    assert leftovers == [".taskmon-manifest.json", ".taskmon-state"]  # the build's own


@pytest.mark.parametrize("lang, one, two", [("en", "1 entry", "2 entries"),
                                            ("zh", "1 条记录", "2 条记录")])
def test_the_work_log_counts_its_entries_in_words(build_site, lang, one, two):
    log = "# Work log\n\n## planner (2025-02-24 10:00)\nA.\n"
    builder = build_site({"ai/tasks/a.md": f"---\ntask_id: a\n---\n{log}",
                          "ai/tasks/b.md": f"---\ntask_id: b\n---\n{log}"
                                           "## executor (2025-02-25 10:00)\nB.\n"},
                         {"lang": lang, "search": "false"})
    for name, words in (("a", one), ("b", two)):
        page = (builder.output_dir / f"tasks/{name}.html").read_text(encoding="utf-8")
        assert f'<span class="badge">{words}</span>' in page


def test_a_body_opening_with_the_title_heading_shows_it_once(build_site):
    builder = build_site({
        "ai/tasks/a.md": "---\ntask_id: a\n---\n# Fix login\n\n## Notes\nText.\n",
        "ai/tasks/b.md": "---\ntask_id: b\n---\n# 任务描述\n修复登录。\n",
        "ai/tasks/c.md": "---\ntask_id: c\ntitle: Own title\n---\n# Fix login\nText.\n",
        "ai/tasks/d.md": "---\ntask_id: d\n---\nFirst a paragraph.\n\n# Later title\n",
        "ai/tasks/e.md": "---\ntask_id: e\ntitle: Same title\n---\n# Same title\n",
        "ai/tasks/f.md": "---\ntask_id: f\n---\n# **Bold** `x` &amp; y\n",
        "ai/tasks/g.md": "---\ntask_id: g\n---\n#\n\n# Real title\n",
    }, {"search": "false"})

    def h1s(name: str) -> list[str]:
        page = (builder.output_dir / f"tasks/{name}.html").read_text(encoding="utf-8")
        return re.findall(r"<h1[^>]*>[^<]*", page)

    assert h1s("a") == ['<h1 id="fix-login">Fix login ']  # the page's, with the anchor
    assert h1s("b") == ["<h1>修复登录", '<h1 id="任务描述">任务描述 ']
    assert h1s("c") == ["<h1>Own title", '<h1 id="fix-login">Fix login ']
    assert h1s("d") == ["<h1>Later title", '<h1 id="later-title">Later title ']
    assert h1s("e") == ['<h1 id="same-title">Same title ']
    page = (builder.output_dir / "tasks/f.html").read_text(encoding="utf-8")
    assert page.count("<h1") == 1
    assert ('<h1 id="bold-x--y"><strong>Bold</strong> <code>x</code> &amp; y <a '
            'class="header-anchor" href="#bold-x--y">#</a></h1>') in page
    titles = {t.id: t.title for t in builder.site.tasks}
    assert (titles["f"], titles["g"]) == ("Bold x & y", "Real title")
