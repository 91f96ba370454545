"""Links between pages: targets, fragments, and links that lead nowhere."""

from __future__ import annotations

from urllib.parse import unquote


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
