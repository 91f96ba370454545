"""Front matter: what is read, what is refused, and the lines problems point at."""

from __future__ import annotations

from conftest import full_tasks

from taskmon_site.source import ALIAS_LIMIT

BOMB = """---
task_id: bomb
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
labels: *g
---
# Bomb
"""


def test_alias_expansion_is_refused_and_the_build_goes_on(build_site):
    good = "---\ntask_id: good\nstatus: pending\n---\n# Good\n"
    builder = build_site({"ai/tasks/bomb.md": BOMB, "ai/tasks/good.md": good})
    bomb = builder.full_page("ai/tasks/bomb.md")
    assert [(p.line, p.level, str(p)) for p in bomb.problems] == [
        (9, "error", "ai/tasks/bomb.md:9: front matter is not read: its YAML aliases would "
         "add 23,456,771 values (the limit is 10,000)")]
    assert (bomb.id, bomb.title, bomb.meta, bomb.labels) == ("bomb", "Bomb", {}, [])
    page = builder.output_dir / "tasks/bomb.html"
    assert page.stat().st_size < 100_000
    assert [t.id for t in builder.site.tasks] == ["bomb", "good"]


def test_aliases_that_add_few_values_are_read(build_site):
    values = ", ".join(["x"] * (ALIAS_LIMIT // 2))
    text = f"---\ntask_id: t\nlabels: &l [{values}]\ntags_copy: *l\n---\n"
    [task] = full_tasks(build_site({"ai/tasks/t.md": text}))
    assert task.problems == []
    assert len(task.labels) == ALIAS_LIMIT // 2 and task.extra["tags_copy"] == task.labels


def test_a_recursive_alias_is_a_yaml_error(build_site):
    text = "---\ntask_id: r\nloop: &a [x, *a]\n---\n"
    [task] = full_tasks(build_site({"ai/tasks/r.md": text}))
    assert [str(p) for p in task.problems] == [
        "ai/tasks/r.md:3: front matter is not valid YAML: found unconstructable recursive node"]
