"""Input that once took quadratic time: each case must finish and read right.

Before the patterns were anchored, each of these took hours (a 100 KB run
already took 28 s); the assertions are on what is read, not on time.
"""

from __future__ import annotations

from taskmon_site.reading import mentions
from taskmon_site.source import preamble_fields

RUN = "a" * 200_000


def test_mentions_after_a_long_run_of_name_characters():
    assert mentions(f"{RUN} see docs/Plan.md, {RUN}.md") == {"plan.md", RUN + ".md"}


def test_a_long_run_of_name_characters_in_a_task_body(build_site):
    files = {"ai/tasks/t.md": f"---\ntask_id: t\n---\n# T\n\n{RUN} docs/a.md\n",
             "docs/a.md": "# A\n"}
    builder = build_site(files)
    task = builder.site.tasks[0]
    assert task.mentions == {"a.md"} and task.references == {"docs/a.md"}
    html = (builder.output_dir / "tasks/t.html").read_text(encoding="utf-8")
    assert f'<p>{RUN} <a href="../docs/a.html">docs/a.md</a></p>' in html


def test_a_preamble_value_with_a_long_run_of_spaces():
    body = f"# T\n\nstatus: a{' ' * 200_000}b   # note\nflow_file: x.md\n"
    assert preamble_fields(body) == {"status": (f"a{' ' * 200_000}b", 2),
                                     "flow_file": ("x.md", 3)}
