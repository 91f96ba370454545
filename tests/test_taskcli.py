"""``taskmon-site task …``: exact output, exit codes, and files untouched on any error."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from taskmon_site import taskcli
from taskmon_site import taskedit as te
from taskmon_site.cli import main

NOW = datetime(2025, 3, 1, 10, 20, 30)

EN = """\
---
task_id: task_en
current_role: planner
next_role: executor
status: in_progress
created_at: "2025-02-23 23:51:07"
updated_at: "2025-02-23 23:52:30"
---

# Add the export button

# Work log
## Researcher (2025-02-23 23:51)
- [x] read the code
"""

ZH = """\
---
任务ID: task_zh
当前角色: 研究员  # 当前执行角色
下一角色: 规划员
状态: 待启动
创建: "2025-02-24 09:00:00"
更新: "2025-02-24 09:30:00"
完成: ""
---

# 导出报表
"""

DONE = """\
---
task_id: task_done
current_role: debugger
next_role: manager
status: completed
---

# Finished work
"""

TREE = {"ai/tasks/task_en.md": EN, "ai/tasks/task_zh.md": ZH, "ai/tasks/done.md": DONE,
        "docs/guide.md": "# Guide\n"}


@pytest.fixture
def repo(make_tree, monkeypatch, tmp_path) -> Path:
    monkeypatch.setattr(taskcli, "now", lambda: NOW)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return make_tree(TREE)


def run(repo: Path, *args: str) -> int:
    return main(["task", "-C", str(repo), *args])


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes()
            for p in sorted(repo.rglob("*")) if p.is_file()}


def edited(text: str, edit) -> str:
    return edit(te.parse_task_bytes(text.encode())).to_bytes().decode()


# -- reading ------------------------------------------------------------------------------

def test_list_prints_a_table_in_site_order(repo, capsys):
    assert run(repo, "list") == 0
    out, err = capsys.readouterr()
    assert out == (
        "ID         STATUS       ROLE → NEXT           TITLE\n"
        "task_done  completed    debugger → manager    Finished work\n"
        "task_en    in_progress  planner → executor    Add the export button\n"
        "task_zh    pending      researcher → planner  导出报表\n"
    )
    assert err == ""


def test_list_lines_up_columns_of_chinese_text(repo, capsys):
    zh = (repo / "ai/tasks/task_zh.md").read_text("utf-8")
    (repo / "ai/tasks/task_zh.md").write_text(zh.replace("task_zh", "任务_zh").replace(
        "当前角色: 研究员", "当前角色: 测试"), "utf-8")
    assert run(repo, "list", "--status", "pending") == 0
    assert capsys.readouterr().out == (
        "ID       STATUS   ROLE → NEXT      TITLE\n"
        "任务_zh  pending  测试? → planner  导出报表\n")


def test_list_and_show_escape_control_characters_of_the_files(repo, capsys):
    en = (repo / "ai/tasks/task_en.md").read_text("utf-8")
    (repo / "ai/tasks/task_en.md").write_text(en.replace(
        "status: in_progress\n", 'status: in_progress\ntitle: "Add \\e[31mred\\e[0m\\texport"\n'),
        "utf-8")
    assert run(repo, "list", "--status", "in_progress") == 0
    assert capsys.readouterr().out == (
        "ID       STATUS       ROLE → NEXT         TITLE\n"
        "task_en  in_progress  planner → executor  Add \\x1b[31mred\\x1b[0m\\texport\n")
    assert run(repo, "show", "task_en") == 0
    assert capsys.readouterr().out.split("\n")[1] == "Add \\x1b[31mred\\x1b[0m\\texport"


@pytest.mark.parametrize("flags, ids", [
    (["--status", "pending"], ["task_zh"]),
    (["--status", "待启动"], ["task_zh"]),
    (["--status", "进行中"], ["task_en"]),
    (["--role", "研究员"], ["task_zh"]),
    (["--role", "planner", "--status", "in_progress"], ["task_en"]),
    (["--role", "executor"], []),
])
def test_list_filters_by_status_and_current_role_in_either_language(repo, capsys, flags, ids):
    assert run(repo, "list", "--json", *flags) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == ids


def test_list_json_has_the_records_of_tasks_json(repo, capsys):
    assert run(repo, "list", "--json") == 0
    en = json.loads(capsys.readouterr().out)[1]
    assert en["id"] == "task_en"
    assert en["source"] == "ai/tasks/task_en.md"
    assert en["status_raw"] == "in_progress"
    assert en["worklog"][0]["role"] == "researcher"
    assert {"url", "progress", "problems", "meta"} <= set(en)


def test_list_with_an_unknown_status_exits_2(repo, capsys):
    assert run(repo, "list", "--status", "someday") == 2
    assert capsys.readouterr().err == (
        "ERROR: unknown status 'someday'; expected one of: pending, in_progress, paused, "
        "review, rework, completed, failed, cancelled\n")


def test_show_prints_the_fields_and_the_allowed_next_statuses(repo, capsys):
    assert run(repo, "show", "task_en") == 0
    assert capsys.readouterr().out == (
        "task_en\n"
        "Add the export button\n"
        "  status:        in_progress\n"
        "  roles:         planner → executor\n"
        "  next statuses: paused, review, completed, failed\n"
        "  created:       2025-02-23 23:51:07\n"
        "  updated:       2025-02-23 23:52:30\n"
        "  completed:     -\n"
        "  progress:      1/1\n"
        "  work log:      1 entry\n"
        "  file:          ai/tasks/task_en.md\n"
    )


def test_show_json_and_by_file_name(repo, capsys):
    assert run(repo, "show", "ai/tasks/task_zh.md", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["id"], record["status"], record["status_raw"]) == (
        "task_zh", "pending", "待启动")


def test_show_an_unknown_id_exits_2(repo, capsys):
    assert run(repo, "show", "task_nope") == 2
    assert capsys.readouterr() == ("", "ERROR: unknown task id 'task_nope'\n")


def test_a_file_without_an_id_is_found_by_its_name(repo, capsys):
    (repo / "ai/tasks/plain.md").write_text("# Plain\n\nstatus: review\n", encoding="utf-8")
    assert run(repo, "show", "plain", "--json") == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Plain"


def test_an_id_in_two_files_is_refused(repo, capsys):
    (repo / "tasks").mkdir()
    (repo / "tasks/copy.md").write_text(EN, encoding="utf-8")
    before = snapshot(repo)
    assert run(repo, "status", "task_en", "review") == 2
    assert capsys.readouterr().err == (
        "ERROR: task id 'task_en' is in several files (ai/tasks/task_en.md, tasks/copy.md); "
        "name the file instead\nERROR: Nothing was changed\n")
    assert snapshot(repo) == before
    assert run(repo, "status", "tasks/copy.md", "review") == 0


def test_a_task_is_found_by_a_path_from_here_or_from_the_repository(repo, capsys):
    for ident in ["./ai/tasks/task_zh.md", "src/ai/tasks/../tasks/task_zh.md",
                  "./src/ai/tasks/task_zh.md", str(repo / "ai/tasks/task_zh.md")]:
        assert run(repo, "show", ident, "--json") == 0, ident
        assert json.loads(capsys.readouterr().out)["id"] == "task_zh"
    assert run(repo, "show", "./ai/tasks/nope.md") == 2
    assert capsys.readouterr().err == "ERROR: unknown task id './ai/tasks/nope.md'\n"
    assert run(repo, "show", str(repo / "docs/guide.md")) == 2, "a doc is not a task"


def test_show_says_a_task_without_a_status_may_take_any(repo, capsys):
    (repo / "ai/tasks/open.md").write_text("---\ntask_id: task_open\n---\n# Open\n", "utf-8")
    assert run(repo, "show", "task_open") == 0
    out = capsys.readouterr().out
    assert "  status:        -\n  roles:         - → -\n  next statuses: any (no status yet)\n" \
        in out


# -- changing -----------------------------------------------------------------------------

def test_status_changes_only_the_status_and_updated_date(repo, capsys):
    assert run(repo, "status", "task_en", "review") == 0
    assert capsys.readouterr() == ("task_en: in_progress → review\n", "")
    expected = edited(EN, lambda tf: te.set_status(tf, "review", now=NOW))
    assert (repo / "ai/tasks/task_en.md").read_text(encoding="utf-8") == expected
    assert "status: review\n" in expected and 'updated_at: "2025-03-01 10:20:30"' in expected


@pytest.mark.parametrize("key", ['"status"', "'status'"])
def test_a_quoted_key_is_changed_in_place_and_the_site_reads_the_new_value(repo, capsys, key):
    (repo / "ai/tasks/quoted.md").write_text(
        f"---\ntask_id: task_q\n{key}: in_progress\n\"updated_at\": 2025-01-02 11:00:00\n"
        "---\n# qk\n", encoding="utf-8")
    assert run(repo, "status", "ai/tasks/quoted.md", "review") == 0
    assert capsys.readouterr() == ("task_q: in_progress → review\n", "")
    assert (repo / "ai/tasks/quoted.md").read_text(encoding="utf-8") == (
        f"---\ntask_id: task_q\n{key}: review\n\"updated_at\": 2025-03-01 10:20:30\n---\n# qk\n")
    assert run(repo, "show", "task_q", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["status"], record["updated_raw"], record["problems"]) == (
        "review", "2025-03-01 10:20:30", [])


def test_status_of_several_tasks_at_once_in_the_files_own_spelling(repo, capsys):
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "pending"), "utf-8")
    assert run(repo, "status", "task_en", "task_zh", "进行中") == 0
    assert capsys.readouterr().out == ("task_en: pending → in_progress\n"
                                       "task_zh: pending → in_progress\n")
    zh = (repo / "ai/tasks/task_zh.md").read_text(encoding="utf-8")
    assert zh == edited(ZH, lambda tf: te.set_status(tf, "in_progress", now=NOW))
    assert "状态: 进行中\n" in zh


def test_the_status_a_task_already_has_is_a_no_op(repo, capsys):
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "pending"), "utf-8")
    before = snapshot(repo)
    assert run(repo, "status", "task_zh", "待启动") == 0
    assert capsys.readouterr() == ("task_zh: already pending; nothing to change\n", "")
    assert run(repo, "status", "task_zh", "pending", "--force") == 0
    assert capsys.readouterr().out == "task_zh: already pending; nothing to change\n"
    assert snapshot(repo) == before

    assert run(repo, "status", "task_zh", "task_en", "in_progress") == 0
    assert run(repo, "status", "task_zh", "task_en", "in_progress") == 0
    assert capsys.readouterr().out == ("task_zh: pending → in_progress\n"
                                       "task_en: pending → in_progress\n"
                                       "task_zh: already in_progress; nothing to change\n"
                                       "task_en: already in_progress; nothing to change\n")


def test_a_read_only_file_is_not_changed(repo, capsys):
    en, zh = repo / "ai/tasks/task_en.md", repo / "ai/tasks/task_zh.md"
    (repo / "ai/tasks/task_en.md").write_text(EN.replace("in_progress", "pending"), "utf-8")
    zh.chmod(0o444)
    before = snapshot(repo)
    assert run(repo, "status", "task_en", "task_zh", "in_progress") == 2
    assert capsys.readouterr() == ("", (
        "ERROR: task_zh (ai/tasks/task_zh.md): is read-only (mode 444); make it writable "
        "to change it\n"
        "ERROR: Nothing was changed\n"))
    assert run(repo, "comment", "task_zh", "hello") == 2
    assert snapshot(repo) == before
    assert oct(zh.stat().st_mode & 0o777) == "0o444" and en.read_text("utf-8") == EN.replace(
        "in_progress", "pending")


def test_one_refused_transition_writes_nothing_and_lists_the_allowed_ones(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "status", "task_en", "task_zh", "paused") == 2
    assert capsys.readouterr() == ("", (
        "ERROR: task_zh (ai/tasks/task_zh.md): cannot change status from pending to paused; "
        "allowed: in_progress\n"
        "ERROR: Nothing was changed\n"))
    assert snapshot(repo) == before


def test_a_file_whose_front_matter_cannot_be_read_is_not_changed(repo, capsys):
    broken = EN.replace("status: in_progress\n", "status: in_progress\n? [a, b]\n: c\n")
    (repo / "ai/tasks/task_en.md").write_text(broken, "utf-8")
    before = snapshot(repo)
    for command in (["status", "task_en", "review"], ["handoff", "task_en"],
                    ["comment", "task_en", "hello"]):
        assert run(repo, *command) == 2
        assert capsys.readouterr().err == (
            "ERROR: task_en (ai/tasks/task_en.md): line 6: front matter is not valid YAML: "
            "found unhashable key (while constructing a mapping that starts on line 2); "
            "fix it by hand first\nERROR: Nothing was changed\n")
    assert snapshot(repo) == before


def test_one_unknown_id_writes_nothing(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "status", "task_en", "task_x", "task_y", "review") == 2
    assert capsys.readouterr().err == (
        "ERROR: unknown task ids 'task_x', 'task_y'\nERROR: Nothing was changed\n")
    assert snapshot(repo) == before


def test_a_final_status_needs_force(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "status", "task_done", "in_progress") == 2
    assert capsys.readouterr().err == (
        "ERROR: task_done (ai/tasks/done.md): status completed is final; no change is allowed "
        "(use --force)\nERROR: Nothing was changed\n")
    assert snapshot(repo) == before

    assert run(repo, "status", "task_done", "in_progress", "--force") == 0
    assert capsys.readouterr().out == "task_done: completed → in_progress\n"
    assert (repo / "ai/tasks/done.md").read_text(encoding="utf-8") == edited(
        DONE, lambda tf: te.set_status(tf, "in_progress", True, now=NOW))


def test_an_unknown_status_writes_nothing(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "status", "task_en", "finished-ish") == 2
    assert "unknown status 'finished-ish'" in capsys.readouterr().err
    assert snapshot(repo) == before


def test_statuses_of_the_config_are_understood(repo, capsys):
    (repo / "taskmon.toml").write_text('[statuses]\n"Ready for QA" = "review"\n', "utf-8")
    assert run(repo, "status", "task_en", "ready for qa") == 0
    assert capsys.readouterr().out == "task_en: in_progress → review\n"


def test_handoff_moves_the_next_role_to_current(repo, capsys):
    assert run(repo, "handoff", "task_zh") == 0
    assert capsys.readouterr() == ("task_zh: planner → executor\n", "")
    zh = (repo / "ai/tasks/task_zh.md").read_text(encoding="utf-8")
    assert zh == edited(ZH, lambda tf: te.handoff(tf, now=NOW))
    assert "当前角色: 规划员  # 当前执行角色\n下一角色: 执行员\n" in zh


def test_handoff_to_a_chosen_role(repo, capsys):
    assert run(repo, "handoff", "task_en", "--to", "调试员") == 0
    assert capsys.readouterr().out == "task_en: executor → debugger\n"
    assert (repo / "ai/tasks/task_en.md").read_text(encoding="utf-8") == edited(
        EN, lambda tf: te.handoff(tf, "debugger", now=NOW))


def test_handoff_to_the_role_taking_the_task_is_refused(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "handoff", "task_en", "--to", "executor") == 2
    assert capsys.readouterr() == ("", (
        "ERROR: task_en (ai/tasks/task_en.md): executor takes the task now, so it cannot be "
        "the next role too; choose another role to come after it\n"
        "ERROR: Nothing was changed\n"))
    assert run(repo, "handoff", "task_en", "--to", "执行员", "--force") == 2
    assert snapshot(repo) == before


def test_handoff_to_an_unknown_role_writes_nothing(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "handoff", "task_en", "--to", "boss") == 2
    assert capsys.readouterr().err == (
        "ERROR: unknown role 'boss'; expected one of: manager, researcher, planner, executor, "
        "debugger\nERROR: Nothing was changed\n")
    assert snapshot(repo) == before


def test_comment_appends_a_dated_entry(repo, capsys):
    assert run(repo, "comment", "task_en", "Ship it\nafter review", "--author", "Ann") == 0
    assert capsys.readouterr() == ("task_en: comment added\n", "")
    en = (repo / "ai/tasks/task_en.md").read_text(encoding="utf-8")
    assert en == edited(EN, lambda tf: te.add_comment(tf, "Ship it\nafter review", "Ann",
                                                      now=NOW))
    assert en.endswith("# Comments\n\n- **2025-03-01 10:20** Ann: Ship it\n  after review\n")


def test_a_comment_reads_back_as_typed_without_headings_or_entries(repo, capsys):
    comment = ("Try:\n```sh\n# install\n```\n\t## planner (2025-02-24 10:00) fake\n"
               "# Notes\nunder\n===")
    assert run(repo, "comment", "task_en", comment, "--author", "Ann") == 0
    assert run(repo, "comment", "task_en", "second") == 0
    capsys.readouterr()
    assert run(repo, "show", "task_en", "--json") == 0
    task = json.loads(capsys.readouterr().out)
    assert [(e["role"], e["when_raw"]) for e in task["worklog"]] == [
        ("researcher", "2025-02-23 23:51")]
    assert list(task["sections"]) == ["worklog", "comments"]


def test_an_empty_comment_writes_nothing(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "comment", "task_en", "  ") == 2
    assert capsys.readouterr().err == (
        "ERROR: task_en (ai/tasks/task_en.md): a comment needs some text\n"
        "ERROR: Nothing was changed\n")
    assert snapshot(repo) == before


def test_new_creates_a_task_in_the_first_task_folder(repo, capsys, monkeypatch):
    monkeypatch.setattr(te.secrets, "token_hex", lambda n: "0badc0de")
    assert run(repo, "new", "Export to CSV", "--lang", "en") == 0
    out = capsys.readouterr().out
    path = repo / "ai/tasks/task_20250301_102030_0badc0de.md"
    assert out == f"{path.relative_to(Path.cwd())}\n"
    assert path.read_text(encoding="utf-8") == te.new_task_text(
        "Export to CSV", "en", NOW, task_id="task_20250301_102030_0badc0de")

    assert run(repo, "show", "task_20250301_102030_0badc0de", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["summary"], record["status"], record["current_role"]) == (
        "Export to CSV", "pending", "researcher")


def test_new_uses_the_site_language_and_creates_the_folder(make_tree, monkeypatch, capsys,
                                                           tmp_path):
    monkeypatch.setattr(taskcli, "now", lambda: NOW)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_tree({"taskmon.toml": 'lang = "zh"\ntasks = ["work/items/**/*.md"]\n'})
    assert main(["task", "-C", str(repo), "new", "导出"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == repo / "work/items"
    assert path.read_text(encoding="utf-8").startswith("---\n任务ID: task_20250301_102030_")


@pytest.mark.parametrize("toml, message", [
    ("tasks = []\n", "ERROR: no task folder: taskmon.toml sets tasks = [], so a new file would "
                     "not be a task of the site; add a task glob first\n"),
    ('tasks = ["work/*/*.md"]\n', 'ERROR: no task glob (work/*/*.md) finds a file put into '
                                  'its folder; add one such as "tasks/*.md"\n'),
])
def test_new_without_a_folder_where_the_site_would_find_it_writes_nothing(
        make_tree, monkeypatch, capsys, tmp_path, toml, message):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_tree({"taskmon.toml": toml, "docs/index.md": "# Docs\n"})
    before = snapshot(repo)
    assert main(["task", "-C", str(repo), "new", "x"]) == 2
    assert capsys.readouterr() == ("", message + "ERROR: Nothing was changed\n")
    assert snapshot(repo) == before


def test_new_goes_to_the_first_glob_that_finds_it(make_tree, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(taskcli, "now", lambda: NOW)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_tree({"taskmon.toml": 'tasks = ["work/*/*.md", "inbox/task_*.md"]\n'})
    assert main(["task", "-C", str(repo), "new", "x"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == repo / "inbox"
    assert main(["task", "-C", str(repo), "list", "--json"]) == 0
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == [
        f"inbox/{path.name}"]


def test_a_file_changed_between_reading_and_writing_is_a_conflict(repo, capsys, monkeypatch):
    """The second write finds its file changed: the first is put back, exit 1."""
    real_write = te.write_task_file
    en_path = repo / "ai/tasks/task_en.md"
    zh_path = repo / "ai/tasks/task_zh.md"
    en_path.write_text(EN.replace("in_progress", "pending"), encoding="utf-8")
    before = snapshot(repo)
    changed = ZH.replace("# 导出报表", "# 导出报表（改）")

    def write(tf):
        if tf.path == zh_path and zh_path.read_text(encoding="utf-8") == ZH:
            zh_path.write_text(changed, encoding="utf-8")  # someone saves meanwhile
        return real_write(tf)

    monkeypatch.setattr(te, "write_task_file", write)
    assert run(repo, "status", "task_en", "task_zh", "in_progress") == 1
    assert capsys.readouterr() == ("", (
        "ERROR: task_zh (ai/tasks/task_zh.md): changed on disk since it was read; "
        "re-read it and retry\n"
        "ERROR: Nothing was changed: a task file changed on disk meanwhile; retry\n"))
    assert snapshot(repo) == {**before, "ai/tasks/task_zh.md": changed.encode()}


#: 00:25:55 UTC: 19:25:55 the day before in New York, 08:25:55 in Shanghai.
INSTANT = datetime(2026, 12, 4, 0, 25, 55, tzinfo=timezone.utc)


class FrozenClock(datetime):
    """datetime whose now() is INSTANT, naive in local time like the real one."""

    @classmethod
    def now(cls, tz=None):
        return INSTANT.astimezone(tz) if tz else INSTANT.astimezone().replace(tzinfo=None)


@pytest.fixture
def new_york_clock(make_tree, monkeypatch, tmp_path):
    """The machine in New York at INSTANT; the real taskcli.now, not a stub."""
    monkeypatch.setattr(taskcli, "datetime", FrozenClock)
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_date_with_an_offset_gets_the_current_instant_in_that_offset(make_tree, capsys,
                                                                       new_york_clock):
    repo = make_tree({"ai/tasks/t.md": ZH.replace('"2025-02-24 09:30:00"',
                                                  "2025-01-02T11:00:00+08:00")})
    assert run(repo, "comment", "task_zh", "tz test") == 0
    text = (repo / "ai/tasks/t.md").read_text(encoding="utf-8")
    assert "\n更新: 2026-12-04T08:25:55+08:00\n" in text
    assert text.endswith("# 评论\n\n- **2026-12-03 19:25** tz test\n")


def test_a_date_without_an_offset_gets_the_wall_time_of_the_sites_timezone(
        make_tree, capsys, new_york_clock):
    repo = make_tree({"taskmon.toml": 'timezone = "Asia/Shanghai"\n', "ai/tasks/t.md": ZH})
    assert run(repo, "status", "task_zh", "in_progress") == 0
    text = (repo / "ai/tasks/t.md").read_text(encoding="utf-8")
    assert '\n更新: "2026-12-04 08:25:55"\n' in text
    plain = make_tree({"ai/tasks/t.md": ZH}, name="plain")
    assert run(plain, "status", "task_zh", "in_progress") == 0
    text = (plain / "ai/tasks/t.md").read_text(encoding="utf-8")
    assert '\n更新: "2026-12-03 19:25:55"\n' in text, "no timezone: the machine's"


# -- a repository's own spellings, and finished tasks ------------------------------------

SPELLINGS_TOML = """\
[statuses]
"Triage" = "pending"
"Doing" = "in_progress"
[roles]
"tech lead" = "manager"
"coder" = "executor"
[fields]
id = ["ticket"]
"""

OWN = """\
---
ticket: T-1
current_role: coder
next_role: tech lead
status: Triage
updated_at: "2025-02-23 23:52:30"
---

# Our own words
"""


@pytest.fixture
def own(repo):
    (repo / "taskmon.toml").write_text(SPELLINGS_TOML, encoding="utf-8")
    (repo / "ai/tasks/own.md").write_text(OWN, encoding="utf-8")
    return repo


def test_list_and_show_read_the_configs_spellings(own, capsys):
    assert run(own, "list", "--status", "triage") == 0
    assert capsys.readouterr().out == (
        "ID       STATUS   ROLE → NEXT           TITLE\n"
        "T-1      pending  executor → manager    Our own words\n"
        "task_zh  pending  researcher → planner  导出报表\n")
    assert run(own, "show", "T-1") == 0
    out = capsys.readouterr().out
    assert "  status:        pending\n  roles:         executor → manager\n" in out
    assert "  next statuses: in_progress\n" in out


def test_status_of_a_task_in_the_configs_spelling_is_written_in_it(own, capsys):
    assert run(own, "status", "T-1", "in_progress") == 0
    assert capsys.readouterr() == ("T-1: pending → in_progress\n", "")
    assert (own / "ai/tasks/own.md").read_text(encoding="utf-8") == OWN.replace(
        "status: Triage", "status: Doing").replace("2025-02-23 23:52:30", "2025-03-01 10:20:30")

    assert run(own, "status", "T-1", "review") == 0
    assert "status: review\n" in (own / "ai/tasks/own.md").read_text(encoding="utf-8")


def test_handoff_of_a_task_with_the_configs_roles(own, capsys):
    assert run(own, "handoff", "T-1") == 0
    assert capsys.readouterr() == ("T-1: manager → researcher\n", "")
    assert "current_role: tech lead\nnext_role: researcher\n" in (
        own / "ai/tasks/own.md").read_text(encoding="utf-8")


def test_handoff_of_a_finished_task_needs_force(repo, capsys):
    before = snapshot(repo)
    assert run(repo, "handoff", "task_done") == 2
    assert capsys.readouterr() == ("", (
        "ERROR: task_done (ai/tasks/done.md): status completed is final; a finished task is "
        "not handed off (use --force to hand it off anyway)\nERROR: Nothing was changed\n"))
    assert snapshot(repo) == before

    assert run(repo, "handoff", "task_done", "--force") == 0
    assert capsys.readouterr().out == "task_done: manager → researcher\n"
    assert (repo / "ai/tasks/done.md").read_text(encoding="utf-8") == edited(
        DONE, lambda tf: te.handoff(tf, force=True, now=NOW))
