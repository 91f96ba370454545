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


TASK = "---\ntask_id: u16\nstatus: 进行中\n---\n# 标题\n\n- [x] 一\n"


def test_utf16_and_utf32_files_with_a_byte_order_mark_are_decoded(build_site):
    files = {"ai/tasks/le.md": TASK.replace("u16", "le").encode("utf-16"),  # LE with BOM
             "ai/tasks/be.md": b"\xfe\xff" + TASK.replace("u16", "be").encode("utf-16-be"),
             "ai/tasks/u32.md": TASK.replace("u16", "u32").encode("utf-32")}
    builder = build_site(files)
    read = [(t.id, t.title, t.status, t.progress.done, t.problems) for t in full_tasks(builder)]
    assert read == [("be", "标题", "in_progress", 1, []), ("le", "标题", "in_progress", 1, []),
                    ("u32", "标题", "in_progress", 1, [])]


def test_bad_utf16_is_replaced_and_reported_with_line(build_site):
    data = "---\ntask_id: x\n---\n".encode("utf-16") + b"\x00\xd8" + "\n".encode("utf-16-le")
    [task] = full_tasks(build_site({"ai/tasks/x.md": data}))
    assert [str(p) for p in task.problems] == [
        "ai/tasks/x.md:4: not valid UTF-16; bad bytes replaced"]
    assert task.id == "x"


def test_files_with_nul_bytes_are_not_read_as_text(build_site):
    files = {"ai/tasks/nul.md": b"\x00" * 64,
             "ai/tasks/bin.md": b"# PNG\n\x89PNG\r\n\x1a\n\x00\x00",
             "ai/tasks/ok.md": "---\ntask_id: ok\n---\n"}
    builder = build_site(files)
    assert [(t.id, t.title, [str(p) for p in t.problems]) for t in full_tasks(builder)] == [
        ("bin", "bin", ["ai/tasks/bin.md:4: not a text file (it has NUL bytes); nothing of it "
                        "is read"]),
        ("nul", "nul", ["ai/tasks/nul.md:1: not a text file (it has NUL bytes); nothing of it "
                        "is read"]),
        ("ok", "ok", [])]
    assert (builder.output_dir / "tasks/nul.html").is_file()


def test_toml_front_matter_is_read(build_site):
    text = ('+++\ntask_id = "tm"\nstatus = "pending"\ncreated_at = 2025-02-23T10:00:00+08:00\n'
            'labels = ["a", "b"]\nestimate = 3\ndraft = true\n+++\n# TOML task\n')
    [task] = full_tasks(build_site({"ai/tasks/tm.md": text}))
    assert (task.id, task.title, task.status, task.labels) == ("tm", "TOML task", "pending",
                                                                ["a", "b"])
    assert task.created_raw == "2025-02-23T10:00:00+08:00" and task.created is not None
    assert task.extra == {"estimate": "3", "draft": "true"} and task.problems == []
    assert task.front_matter.startswith('+++\ntask_id = "tm"')


def test_invalid_and_unclosed_toml_front_matter(build_site):
    files = {"ai/tasks/bad.md": '+++\ntask_id = "b"\nstatus = \n+++\n# Bad\n',
             "ai/tasks/open.md": '+++\ntask_id = "o"\n# Open\n'}
    builder = build_site(files)
    assert [(t.title, [str(p) for p in t.problems]) for t in full_tasks(builder)] == [
        ("Bad", ["ai/tasks/bad.md:3: front matter is not valid TOML: Invalid value"]),
        ("Open", ["ai/tasks/open.md:1: front matter is not closed by a '+++' line"])]


def test_yaml_end_marker_closes_the_front_matter(build_site):
    text = "---\ntask_id: dt\nstatus: pending\n...\n# Dots\n\n- [ ] one\n"
    [task] = full_tasks(build_site({"ai/tasks/dt.md": text}))
    assert (task.id, task.status, task.title, task.problems) == ("dt", "pending", "Dots", [])
    assert task.items[0].line == 7


def test_field_problems_name_the_line_of_their_key(build_site):
    files = {
        "ai/tasks/y.md": ("---\ntask_id: y\ntitle: Y\nstatus: someday\ncurrent_role: astronaut\n"
                          "created_at: yesterday\n---\n"),
        "ai/tasks/t.md": '+++\ntask_id = "t"\n\nstatus = "soon"\n+++\n',
        "ai/tasks/p.md": "# Old file\n\nflow_file: x.md\nupdated_at: 2025-13-45 # bad\n",
    }
    builder = build_site(files)
    assert [str(p) for p in builder.site.problems] == [
        "ai/tasks/p.md:4: updated date '2025-13-45' is not a date",
        "ai/tasks/t.md:4: unknown status 'soon'",
        "ai/tasks/y.md:4: unknown status 'someday'",
        "ai/tasks/y.md:5: unknown role 'astronaut'",
        "ai/tasks/y.md:6: created date 'yesterday' is not a date",
    ]


def test_two_keys_of_one_field_with_different_values_are_reported(build_site):
    text = ("---\ntask_id: t1\n任务ID: t2\nstatus: pending\n状态: 已完成\n"
            "title: Same\n标题: Same\n---\n")
    [task] = full_tasks(build_site({"ai/tasks/both.md": text}))
    assert (task.id, task.status, task.title) == ("t1", "pending", "Same")
    assert [str(p) for p in task.problems] == [
        "ai/tasks/both.md:3: 'task_id' and '任务ID' are both set; the value of 'task_id' is used",
        "ai/tasks/both.md:5: 'status' and '状态' are both set; the value of 'status' is used",
    ]
    assert task.extra == {"任务ID": "t2", "状态": "已完成", "标题": "Same"}


def test_backlog_assignees_are_people_not_unknown_roles(build_site):
    text = ("---\nid: task-1\ntitle: T\nstatus: To Do\nassignee: ['@alice']\n"
            "reviewer: '@bob'\n---\n")
    other = "---\nid: task-2\nstatus: To Do\nassignee: [planner]\n---\n"
    builder = build_site({"tasks/task-1.md": text, "tasks/task-2.md": other,
                          "taskmon.toml": '[fields]\npreset = "backlog"\n'})
    one, two = builder.site.tasks
    assert (one.current_role, one.current_role_raw, one.next_role_raw) == (None, "@alice", "@bob")
    assert two.current_role == "planner"
    assert builder.site.problems == []
    html = (builder.output_dir / "tasks/task-1.html").read_text(encoding="utf-8")
    assert '<dd data-field="current_role"><span class="role role-unknown">@alice' in html


def test_workflow_roles_that_are_not_known_are_still_problems(build_site):
    text = "---\ntask_id: w\ncurrent_role: '@alice'\n---\n"
    task = build_site({"ai/tasks/w.md": text}).site.tasks[0]
    assert [str(p) for p in task.problems] == ["ai/tasks/w.md:3: unknown role '@alice'"]


def test_a_yaml_null_is_no_value(build_site):
    text = ("---\ntask_id: ~\nstatus: null\ncurrent_role: '~'\nlabels: [~, ui]\n---\n"
            "# Nothing set\n")
    [task] = full_tasks(build_site({"ai/tasks/n.md": text}))
    assert (task.id, task.status, task.status_raw) == ("n", None, "")  # id from the file
    assert [str(p) for p in task.problems] == ["ai/tasks/n.md:4: unknown role '~'"]
    assert task.labels == ["ui"]


def test_a_list_or_mapping_for_a_single_field_is_a_problem(build_site):
    text = "---\ntask_id: [1, 2]\nstatus: {a: 1}\nlabels: [x, y]\n---\n"
    [task] = full_tasks(build_site({"ai/tasks/l.md": text}))
    assert task.id == "1, 2"
    assert [str(p) for p in task.problems] == [
        "ai/tasks/l.md:2: 'task_id' holds a list, not one value: read as '1, 2'",
        "ai/tasks/l.md:3: 'status' holds a mapping, not one value: read as \"{'a': '1'}\"",
        "ai/tasks/l.md:3: unknown status \"{'a': '1'}\""]
    assert task.labels == ["x", "y"]


def test_a_list_or_mapping_as_a_key_is_a_problem_and_the_build_goes_on(build_site):
    good = "---\ntask_id: good\nstatus: pending\n---\n# Good\n"
    bad = "---\ntask_id: k\n? [a, b]\n: c\n{x: 1}: d\n---\n# K\n"
    builder = build_site({"ai/tasks/k.md": bad, "ai/tasks/good.md": good})
    [problem] = builder.full_page("ai/tasks/k.md").problems
    assert (problem.line, problem.level) == (3, "error")
    assert str(problem) == ("ai/tasks/k.md:3: front matter is not valid YAML: found unhashable "
                            "key (while constructing a mapping that starts on line 2)")
    assert [t.id for t in builder.site.tasks] == ["good", "k"]
