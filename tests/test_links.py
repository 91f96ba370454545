"""Links between pages: targets, fragments, and links that lead nowhere."""

from __future__ import annotations

from urllib.parse import unquote

from conftest import write_tree

from taskmon_site.cli import main
from taskmon_site.urls import files_at


def test_link_to_a_chinese_heading_of_another_page_is_encoded_once(build_site):
    files = {"ai/tasks/t.md": "---\ntask_id: t\n---\nSee [a](docs/a.md#中文-标题).\n",
             "docs/a.md": "# A\n\n## 中文 标题\n"}
    builder = build_site(files)
    task_html = (builder.output_dir / "tasks/t.html").read_text(encoding="utf-8")
    href = "../docs/a.html#%E4%B8%AD%E6%96%87-%E6%A0%87%E9%A2%98"
    assert f'<a href="{href}">a</a>' in task_html
    doc_html = (builder.output_dir / "docs/a.html").read_text(encoding="utf-8")
    assert f'<h2 id="{unquote(href.split("#")[1])}">' in doc_html


def test_fragment_to_a_repository_file_is_encoded_once(build_site):
    files = {"ai/tasks/a.md": "---\ntask_id: a\n---\n[code](<../../src/main.c#函数 一>)\n",
             "src/main.c": "int main;\n"}
    builder = build_site(files, {"repo_url": "https://git.example/r/blob/main/"})
    html = (builder.output_dir / "tasks/a.html").read_text(encoding="utf-8")
    assert ('<a href="https://git.example/r/blob/main/src/main.c#'
            '%E5%87%BD%E6%95%B0%20%E4%B8%80">code</a>') in html


def test_links_to_missing_markdown_files_are_warnings_with_their_line(build_site):
    body = ("# T\n\nSee [a](docs/a.md#x), [gone](docs/nope.md) and\n"
            "later [also gone](../../Plan%20B.md#s) in one paragraph.\n\n"
            "| a | b |\n|---|---|\n| [cell](missing.md) | 2 |\n\n"
            "[readme](../../README.md) [img](pic.png) ![pic](pic.png) [out](../../../x.md)\n"
            "[dir](docs/) docs/also-missing.md `docs/nope.md` [site](https://x.org/a.md)\n")
    files = {"ai/tasks/t.md": "---\ntask_id: t\n---\n" + body, "docs/a.md": "# A\n",
             "README.md": "# R\n"}
    builder = build_site(files)
    assert [str(p) for p in builder.site.problems] == [
        "ai/tasks/t.md:6: link target 'docs/nope.md' does not exist",
        "ai/tasks/t.md:7: link target '../../Plan B.md' does not exist",
        "ai/tasks/t.md:11: link target 'missing.md' does not exist",
    ]


def test_a_missing_link_target_fails_a_strict_build(tmp_path, capsys):
    src = write_tree(tmp_path / "src", {"docs/a.md": "# A\n\n[b](b.md)\n",
                                        "ai/tasks/t.md": "---\ntask_id: t\n---\n"})
    code = main(["build", str(src), "-o", str(tmp_path / "out"), "--no-search", "-q",
                 "--strict"])
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "WARNING: docs/a.md:3: link target 'b.md' does not exist",
        "ERROR: 1 warnings and --strict is set"]


def test_files_at_names_the_urls_that_are_files(tmp_path):
    (tmp_path / "tasks" / "b.html").mkdir(parents=True)  # a folder, not a page
    (tmp_path / "tasks" / "a.html").write_text("a")
    (tmp_path / "index.html").write_text("i")
    urls = ["tasks/a.html", "tasks/b.html", "tasks/c.html", "index.html", "docs/d.html"]
    assert files_at(tmp_path, urls) == {"tasks/a.html", "index.html"}
