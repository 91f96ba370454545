"""Example tests for the task-file editing library: exact bytes in, exact bytes out."""

from __future__ import annotations

import os
import re
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from taskmon_site import taskedit as te

NOW = datetime(2025, 3, 1, 10, 20, 30)

EN_TASK = """\
---
task_id: task_20250222_231952_90755fe4
session_id: session_20250223_235107
flow_file: ai/tasker-v2.md
current_role: planner
next_role: executor
status: in_progress
created_at: "2025-02-23 23:51:07"
updated_at: "2025-02-23 23:52:30"
---

# 任务描述
优化 taskmon.html 和 taskmon.py。

# 工作记录
## 研究员 (2025-02-23 23:51)
完成分析。
"""

ZH_TASK = """\
---
流程: ai/tasker-v2.md
任务ID: task_20250224_090000_0badc0de
当前角色: 研究员  # 当前执行角色
下一角色: 规划员     # 下一个预期角色
状态: 进行中    # 任务状态
创建: "2025-02-24 09:00:00"
更新: "2025-02-24 09:30:00"
完成: ""             # 留空表示未完成
---

# 最初任务描述
> 做点什么

# 工作记录
"""

# The lifecycle as the workflow document (tasker-v2.md) states it.
LIFECYCLE = {
    "pending": {"in_progress"},
    "in_progress": {"paused", "review", "completed", "failed"},
    "paused": {"in_progress", "cancelled"},
    "review": {"completed", "rework"},
    "rework": {"in_progress"},
    "completed": set(),
    "failed": {"cancelled", "rework"},
    "cancelled": set(),
}
ALL_PAIRS = [(a, b) for a in LIFECYCLE for b in LIFECYCLE]


def put(tmp_path: Path, text: str | bytes, name: str = "task.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def edited_text(tf: te.TaskFile) -> str:
    return tf.to_bytes().decode(tf.encoding)


def with_status(text: str, status: str) -> te.TaskFile:
    return te.parse_task_bytes(text.replace("status: in_progress", f"status: {status}").encode())


# -- reading ---------------------------------------------------------------------------

def test_read_remembers_encoding_newlines_and_keys(tmp_path):
    path = put(tmp_path, ("\ufeff" + EN_TASK.replace("\n", "\r\n")).encode("utf-8"))
    tf = te.read_task_file(path)
    assert (tf.encoding, tf.bom, tf.newline, tf.variant) == ("utf-8", True, "\r\n", "en")
    assert tf.front_matter.open == 0 and tf.front_matter.close == 9
    assert list(tf.front_matter.keys) == [
        "task_id", "session_id", "flow_file", "current_role", "next_role",
        "status", "created_at", "updated_at",
    ]
    assert (tf.status, tf.current_role, tf.next_role) == ("in_progress", "planner", "executor")
    assert tf.value("updated") == "2025-02-23 23:52:30"
    assert tf.to_bytes() == path.read_bytes()
    assert not tf.modified


def test_read_chinese_variant_and_gb18030(tmp_path):
    path = put(tmp_path, ZH_TASK.encode("gb18030"))
    tf = te.read_task_file(path)
    assert (tf.encoding, tf.bom, tf.variant) == ("gb18030", False, "zh")
    assert (tf.status, tf.current_role, tf.next_role) == ("in_progress", "researcher", "planner")
    assert tf.value("completed") == ""
    assert tf.to_bytes() == path.read_bytes()


def test_read_file_without_front_matter():
    tf = te.parse_task_bytes("# 标题\n\nflow_file: ai/tasker.md # 工作流程文档\n".encode())
    assert tf.front_matter is None
    assert tf.variant == "en"
    assert tf.status is None and tf.value("flow") is None


def test_real_corpus_files_are_understood(corpus):
    tasks = corpus / "ai" / "tasks"
    tf = te.read_task_file(tasks / "task_20250222_231952_90755fe4.md")
    assert (tf.status, tf.current_role, tf.next_role) == ("in_progress", "planner", "executor")
    assert te.read_task_file(tasks / "polyxscript_impl.md").front_matter is None


def test_undecodable_bytes_are_refused():
    with pytest.raises(te.EncodingError, match="neither UTF-8 nor GB18030"):
        te.parse_task_bytes(b"---\nstatus: \xff\xff\n---\n", "bad.md")


# -- status lifecycle ---------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [p for p in ALL_PAIRS if p[1] in LIFECYCLE[p[0]]])
def test_allowed_transitions(old, new):
    tf = te.set_status(with_status(EN_TASK, old), new, now=NOW)
    lines = edited_text(tf).split("\n")
    assert lines[6] == f"status: {new}"
    assert lines[8] == 'updated_at: "2025-03-01 10:20:30"'
    assert tf.status == new


@pytest.mark.parametrize(("old", "new"), [p for p in ALL_PAIRS
                                          if p[1] not in LIFECYCLE[p[0]] and p[0] != p[1]])
def test_refused_transitions_name_the_allowed_ones(old, new):
    with pytest.raises(te.TransitionError) as caught:
        te.set_status(with_status(EN_TASK, old), new, now=NOW)
    assert set(caught.value.allowed) == LIFECYCLE[old]
    if LIFECYCLE[old]:
        allowed = ", ".join(te.vocab.TRANSITIONS[old])
        expected = f"<memory>: cannot change status from {old} to {new}; allowed: {allowed}"
    else:
        expected = f"<memory>: status {old} is final; no change is allowed (use force)"
    assert str(caught.value) == expected


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(("written", "asked"), [("review", "review"), ("In progress", "进行中"),
                                                ("completed", "Completed")])
def test_the_status_a_task_already_has_changes_nothing(written, asked, force):
    tf = with_status(EN_TASK, written)
    assert te.set_status(tf, asked, force=force, now=NOW) is tf
    assert not tf.modified


@pytest.mark.parametrize(("old", "new"), [("completed", "in_progress"), ("cancelled", "pending"),
                                          ("pending", "completed"), ("review", "review")])
def test_force_overrides_the_lifecycle(old, new):
    tf = te.set_status(with_status(EN_TASK, old), new, force=True, now=NOW)
    assert edited_text(tf).split("\n")[6] == f"status: {new}"


def test_unknown_current_status_needs_force():
    tf = with_status(EN_TASK, "whatever")
    with pytest.raises(te.TransitionError, match="'whatever' is not a known status"):
        te.set_status(tf, "review", now=NOW)
    assert te.set_status(tf, "review", force=True, now=NOW).status == "review"


def test_status_is_written_in_the_files_spelling():
    zh = te.set_status(te.parse_task_bytes(ZH_TASK.encode()), "review", now=NOW)
    assert edited_text(zh).split("\n")[5] == "状态: 待审核    # 任务状态"
    labels = te.parse_task_bytes(EN_TASK.replace("in_progress", "In progress").encode())
    assert edited_text(te.set_status(labels, "paused", now=NOW)).split("\n")[6] == "status: Paused"
    ids = te.set_status(te.parse_task_bytes(EN_TASK.encode()), "待审核", now=NOW)
    assert edited_text(ids).split("\n")[6] == "status: review"


def test_completed_fills_the_completion_date_and_keeps_comments():
    tf = te.set_status(te.parse_task_bytes(ZH_TASK.encode()), "完成", now=NOW)
    assert edited_text(tf) == ZH_TASK.replace("状态: 进行中", "状态: 完成").replace(
        '更新: "2025-02-24 09:30:00"', '更新: "2025-03-01 10:20:30"'
    ).replace('完成: ""', '完成: "2025-03-01 10:20:30"')


def test_completed_without_a_completion_key_adds_none():
    tf = te.set_status(te.parse_task_bytes(EN_TASK.encode()), "completed", now=NOW)
    assert edited_text(tf) == EN_TASK.replace("status: in_progress", "status: completed").replace(
        "23:52:30", "10:20:30").replace('updated_at: "2025-02-23', 'updated_at: "2025-03-01')


def test_unknown_status_is_refused_and_nothing_is_written(tmp_path):
    path = put(tmp_path, EN_TASK)
    tf = te.read_task_file(path)
    with pytest.raises(te.UnknownStatusError) as caught:
        te.set_status(tf, "finito", now=NOW)
    assert str(caught.value).startswith(f"{path}: unknown status 'finito'; expected one of: ")
    assert isinstance(caught.value, te.EditError)
    assert path.read_bytes() == EN_TASK.encode()
    assert os.listdir(tmp_path) == ["task.md"]


# -- the updated date -----------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ('updated_at: "2025-02-23 23:52:30"', 'updated_at: "2025-03-01 10:20:30"'),
    ("updated_at: '2025-02-23 23:52'  # minutes", "updated_at: '2025-03-01 10:20'  # minutes"),
    ("updated_at: 2025-02-23", "updated_at: 2025-03-01"),
    ("updated_at: 2025/2/3", "updated_at: 2025/3/1"),
    ('updated_at: "2025-02-23T23:52:30.12"', 'updated_at: "2025-03-01T10:20:30.00"'),
    ("updated_at: not a date", "updated_at: 2025-03-01 10:20:30"),
    ("updated_at:", 'updated_at: "2025-03-01 10:20:30"'),
])
def test_updated_keeps_format_and_quoting(line, expected):
    text = EN_TASK.replace('created_at: "2025-02-23 23:51:07"\n', "")
    text = text.replace('updated_at: "2025-02-23 23:52:30"', line)
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review", now=NOW)
    assert edited_text(tf).split("\n")[7] == expected


def test_updated_with_a_zone_is_converted_to_that_zone():
    text = EN_TASK.replace('"2025-02-23 23:52:30"', "2025-02-23T23:52:30+08:00")
    aware = datetime(2025, 3, 1, 2, 20, 30, tzinfo=timezone.utc)
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review", now=aware)
    assert tf.value("updated") == "2025-03-01T10:20:30+08:00"
    text = EN_TASK.replace('"2025-02-23 23:52:30"', '"2025-02-23T23:52:30Z"')
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review",
                       now=aware.astimezone(timezone(timedelta(hours=-5))))
    assert tf.value("updated") == "2025-03-01T02:20:30Z"


@pytest.fixture
def new_york(monkeypatch):
    """The machine's local zone is America/New_York (UTC-5 in December)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_naive_now_is_the_local_time_and_converted_to_the_files_offset(new_york):
    text = EN_TASK.replace('"2025-02-23 23:52:30"', "2025-01-02T11:00:00+08:00")
    local = datetime(2026, 12, 3, 19, 25, 55)  # 00:25:55 UTC on the 4th
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review", now=local)
    assert tf.value("updated") == "2026-12-04T08:25:55+08:00"
    zulu = EN_TASK.replace('"2025-02-23 23:52:30"', '"2025-01-02T03:00:00Z"')
    tf = te.add_comment(te.parse_task_bytes(zulu.encode()), "tz test", now=local)
    assert tf.value("updated") == "2026-12-04T00:25:55Z"
    assert "- **2026-12-03 19:25** tz test" in edited_text(tf)


def test_missing_updated_is_inserted_after_created_like_it():
    text = EN_TASK.replace('updated_at: "2025-02-23 23:52:30"\n', "").replace(
        '"2025-02-23 23:51:07"', "'2025-02-23'")
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review", now=NOW)
    lines = edited_text(tf).split("\n")
    assert lines[7:10] == ["created_at: '2025-02-23'", "updated_at: '2025-03-01'", "---"]


def test_keys_the_site_also_reads_are_edited_in_place():
    text = "---\nid: t1\nstatus: pending\nupdated: 2025-02-23\n---\n"
    tf = te.set_status(te.parse_task_bytes(text.encode()), "in_progress", now=NOW)
    assert edited_text(tf) == "---\nid: t1\nstatus: in_progress\nupdated: 2025-03-01\n---\n"
    assert tf.value("id") == "t1"


def test_missing_chinese_updated_is_inserted_in_the_chinese_variant():
    text = ZH_TASK.replace('更新: "2025-02-24 09:30:00"\n', "")
    tf = te.set_status(te.parse_task_bytes(text.encode()), "paused", now=NOW)
    assert edited_text(tf).split("\n")[6:9] == [
        '创建: "2025-02-24 09:00:00"', '更新: "2025-03-01 10:20:30"', '完成: ""             # 留空表示未完成',
    ]


def test_missing_status_is_inserted_after_the_roles_and_any_status_is_allowed():
    text = ZH_TASK.replace("状态: 进行中    # 任务状态\n", "")
    tf = te.set_status(te.parse_task_bytes(text.encode()), "completed", now=NOW)
    assert edited_text(tf).split("\n")[3:6] == [
        "当前角色: 研究员  # 当前执行角色", "下一角色: 规划员     # 下一个预期角色", "状态: 完成",
    ]


def test_file_without_front_matter_gets_a_block_for_status():
    text = "# PolyxScript\r\n\r\nflow_file: ai/tasker.md # 工作流程文档\r\n"
    tf = te.set_status(te.parse_task_bytes(text.encode()), "in_progress", now=NOW)
    assert edited_text(tf) == (
        '---\r\nstatus: in_progress\r\nupdated_at: "2025-03-01 10:20:30"\r\n---\r\n' + text
    )


@pytest.mark.parametrize(("status_line", "expected"), [
    ('"status": in_progress', '"status": review'),
    ("'status': in_progress", "'status': review"),
    ('"status" : "in_progress"  # quoted twice', '"status" : "review"  # quoted twice'),
    ("'sta''tus': in_progress", None),  # the key sta'tus, not status: inserted
])
def test_a_quoted_key_is_edited_in_place_keeping_its_quotes(status_line, expected):
    text = EN_TASK.replace("status: in_progress", status_line)
    tf = te.set_status(te.parse_task_bytes(text.encode()), "review", force=True, now=NOW)
    lines = edited_text(tf).split("\n")
    if expected is None:
        assert lines[6:8] == ["status: review", status_line]
        return
    assert lines[6] == expected
    assert lines[8] == 'updated_at: "2025-03-01 10:20:30"'
    assert len(lines) == len(EN_TASK.split("\n"))


def test_a_quoted_updated_key_gets_the_new_date_and_no_second_line():
    text = ("---\ntask_id: t\n'status': review\n\"updated_at\": 2025-01-02 11:00:00\n"
            "---\n# qk\n")
    tf = te.set_status(te.parse_task_bytes(text.encode()), "completed", now=NOW)
    assert edited_text(tf) == ("---\ntask_id: t\n'status': completed\n"
                               "\"updated_at\": 2025-03-01 10:20:30\n---\n# qk\n")


def test_a_quoted_and_a_plain_spelling_of_one_key_are_a_duplicate():
    text = '---\n"status": pending\nstatus: in_progress\n---\n'
    with pytest.raises(te.FrontMatterError, match="line 2: key 'status' appears more than once"):
        te.set_status(te.parse_task_bytes(text.encode(), "t.md"), "review", force=True, now=NOW)


def test_an_empty_value_in_a_crlf_file_is_found_and_filled():
    text = '---\r\n状态: 待审核\r\n更新: "2025-02-24 09:30:00"\r\n完成:\r\n---\r\n'
    tf = te.set_status(te.parse_task_bytes(text.encode()), "completed", now=NOW)
    assert edited_text(tf) == ('---\r\n状态: 完成\r\n更新: "2025-03-01 10:20:30"\r\n'
                               '完成: "2025-03-01 10:20:30"\r\n---\r\n')


def test_front_matter_fenced_with_more_dashes_is_edited_like_the_site_reads_it():
    text = "-----\nstatus: pending\n----  \n# Body\n"
    tf = te.set_status(te.parse_task_bytes(text.encode()), "in_progress", now=NOW)
    assert edited_text(tf) == ('-----\nstatus: in_progress\nupdated_at: "2025-03-01 10:20:30"\n'
                               "----  \n# Body\n")


# -- refusing what cannot be edited surgically ------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("---\nstatus: |\n  in_progress\n---\n", "'status' is not a one-line value"),
    ("---\nstatus: [in_progress]\n---\n", "'status' is not a one-line value"),
    ('---\nstatus: "in_progress\n  more"\n---\n', "'status' is not a one-line value"),
    ("---\nid: t\nstatus: pending\nstatus: in_progress\n---\n",
     "line 3: key 'status' appears more than once"),
    ("---\nstatus: pending\n", "no closing '---' line"),
    ("+++\nstatus = 'pending'\n+++\n# Body\n", "has TOML front matter (+++)"),
])
def test_front_matter_that_cannot_be_edited_surgically_is_refused(text, message):
    with pytest.raises(te.FrontMatterError, match=re.escape(message)):
        te.set_status(te.parse_task_bytes(text.encode(), "t.md"), "pending", force=True, now=NOW)


def test_front_matter_ended_by_yaml_dots_is_edited_as_the_site_reads_it():
    text = "---\nstatus: pending\nupdated_at: '2025-02-01'\n...\n# Body\n"
    tf = te.set_status(te.parse_task_bytes(text.encode(), "t.md"), "in_progress", now=NOW)
    assert edited_text(tf) == ("---\nstatus: in_progress\nupdated_at: '2025-03-01'\n...\n"
                               "# Body\n")


# -- handoff ---------------------------------------------------------------------------------

def test_handoff_makes_next_current_and_its_successor_next():
    tf = te.handoff(te.parse_task_bytes(EN_TASK.encode()), now=NOW)
    assert edited_text(tf) == EN_TASK.replace("current_role: planner", "current_role: executor") \
        .replace("next_role: executor", "next_role: debugger") \
        .replace('updated_at: "2025-02-23 23:52:30"', 'updated_at: "2025-03-01 10:20:30"')


def test_handoff_chain_goes_round_the_roles():
    tf = te.parse_task_bytes(EN_TASK.encode())
    seen = []
    for _ in range(5):
        tf = te.handoff(tf, now=NOW)
        seen.append((tf.current_role, tf.next_role))
    assert seen == [("executor", "debugger"), ("debugger", "manager"),
                    ("manager", "researcher"), ("researcher", "planner"), ("planner", "executor")]


def test_handoff_to_names_the_role_after_the_new_current_one():
    tf = te.handoff(te.parse_task_bytes(ZH_TASK.encode()), to="executor", now=NOW)
    assert edited_text(tf).split("\n")[3:5] == [
        "当前角色: 规划员  # 当前执行角色", "下一角色: 执行员     # 下一个预期角色",
    ]


def test_handoff_without_next_role_uses_the_successor_of_current():
    text = EN_TASK.replace("next_role: executor\n", "")
    tf = te.handoff(te.parse_task_bytes(text.encode()), now=NOW)
    assert edited_text(tf).split("\n")[4:6] == ["current_role: executor", "next_role: debugger"]


def test_handoff_refuses_unknown_roles(tmp_path):
    path = put(tmp_path, EN_TASK)
    tf = te.read_task_file(path)
    with pytest.raises(te.UnknownRoleError, match=r"unknown role 'wizard'; expected one of: "):
        te.handoff(tf, to="wizard", now=NOW)
    bad = te.parse_task_bytes(EN_TASK.replace("next_role: executor", "next_role: wizard").encode())
    with pytest.raises(te.UnknownRoleError, match="next_role 'wizard' is not a known role"):
        te.handoff(bad, now=NOW)
    no_roles = te.parse_task_bytes(b"---\nstatus: pending\n---\n", "t.md")
    with pytest.raises(te.EditError, match="neither a next role nor a current role"):
        te.handoff(no_roles, now=NOW)
    assert path.read_bytes() == EN_TASK.encode()


# -- comments -----------------------------------------------------------------------------------

def test_comment_creates_an_english_section_at_the_end():
    tf = te.add_comment(te.parse_task_bytes(EN_TASK.encode()), "Looks good", "alice", now=NOW)
    expected = EN_TASK.replace("2025-02-23 23:52:30", "2025-03-01 10:20:30")
    entry = "- **2025-03-01 10:20** alice: Looks good\n"
    assert edited_text(tf) == expected + "\n# Comments\n\n" + entry


def test_comment_creates_a_chinese_section_for_chinese_keys():
    tf = te.add_comment(te.parse_task_bytes(ZH_TASK.encode()), "第一行\n\n第二行", now=NOW)
    assert edited_text(tf).endswith("# 工作记录\n\n# 评论\n\n- **2025-03-01 10:20** 第一行\n\n  第二行\n")


def test_comment_appends_to_an_existing_section_before_the_next_heading():
    text = EN_TASK + "\n## Comments\n\n- **2025-02-28 09:00** bob: first\n### Sub\n\n# Next\nx\n"
    tf = te.add_comment(te.parse_task_bytes(text.encode()), "second", now=NOW)
    assert edited_text(tf).endswith(
        "\n## Comments\n\n- **2025-02-28 09:00** bob: first\n### Sub\n"
        "\n- **2025-03-01 10:20** second\n\n# Next\nx\n"
    )


def test_comment_entry_is_separated_from_a_following_heading():
    text = "---\nstatus: pending\n---\n# Comments\n- old\n# Next\n"
    tf = te.add_comment(te.parse_task_bytes(text.encode()), "new", now=NOW)
    assert edited_text(tf).split("---\n")[2] == (
        "# Comments\n- old\n\n- **2025-03-01 10:20** new\n\n# Next\n"
    )


def test_lines_of_a_comment_that_would_make_a_heading_are_escaped():
    text = "---\nstatus: pending\n---\n## Description\nx\n"
    comment = ("first\n# Notes\nmore\n=====\n  ## 研究员 (2025-02-24 10:00)\n#tag\n"
               "    # code\n---")
    tf = te.add_comment(te.parse_task_bytes(text.encode()), comment, "A", now=NOW)
    tf = te.add_comment(tf, "second", "B", now=NOW)
    assert edited_text(tf).split("---\n", 2)[2] == (
        "## Description\nx\n\n# Comments\n\n- **2025-03-01 10:20** A: first\n  \\# Notes\n"
        "  more\n  \\=====\n    \\## 研究员 (2025-02-24 10:00)\n  #tag\n      # code\n  \\---\n"
        "\n- **2025-03-01 10:20** B: second\n")


def test_a_comment_keeps_its_code_as_typed_and_its_fences_closed():
    text = "---\nstatus: pending\n---\n# Comments\n\n- old\n\n# Later\nLater section.\n"
    comment = ("x\n\t## 研究员 (2025-02-23 23:51) fake\n```sh\n# install\n```\n"
               "  ```\n# in a fence indented more\n ```\n``` not a fence ```\n# after\n"
               "\t```\n# tab\n```\n~~~~\nopen\n```\n# still code")
    tf = te.add_comment(te.parse_task_bytes(text.encode()), comment, "A", now=NOW)
    tf = te.add_comment(tf, "```\n# code first\n```", "B", now=NOW)
    tf = te.add_comment(tf, "next", "C", now=NOW)
    assert edited_text(tf).split("---\n", 2)[2] == (
        "# Comments\n\n- old\n\n- **2025-03-01 10:20** A: x\n"
        "  \t\\## 研究员 (2025-02-23 23:51) fake\n"
        "  ```sh\n  # install\n  ```\n  ```\n  # in a fence indented more\n  ```\n"
        "  ``` not a fence ```\n  \\# after\n  ```\n  # tab\n  ```\n"
        "  ~~~~\n  open\n  ```\n  # still code\n  ~~~~\n\n"
        "- **2025-03-01 10:20** B:\n  ```\n  # code first\n  ```\n\n"
        "- **2025-03-01 10:20** C: next\n\n# Later\nLater section.\n")


def test_comment_heading_inside_code_block_is_not_the_section():
    text = "---\nstatus: pending\n---\n```\n# Comments\n```\n"
    tf = te.add_comment(te.parse_task_bytes(text.encode()), "hi", now=NOW)
    fenced = "```\n# Comments\n```\n"
    assert edited_text(tf).endswith(fenced + "\n# Comments\n\n- **2025-03-01 10:20** hi\n")


def test_comment_on_crlf_file_without_final_newline_and_without_front_matter():
    text = "# Title\r\nlast line"
    tf = te.add_comment(te.parse_task_bytes(text.encode()), "a\nb", "bo", now=NOW)
    assert edited_text(tf) == (
        "# Title\r\nlast line\r\n\r\n# Comments\r\n\r\n- **2025-03-01 10:20** bo: a\r\n  b\r\n"
    )


@pytest.mark.parametrize(("text", "author", "message"), [
    ("  \n ", None, "a comment needs some text"),
    ("ok", "two\nlines", "an author name is one line"),
])
def test_bad_comments_are_refused(text, author, message):
    with pytest.raises(te.EditError, match=message):
        te.add_comment(te.parse_task_bytes(EN_TASK.encode()), text, author, now=NOW)


# -- writing --------------------------------------------------------------------------------------

def test_write_is_exact_and_returns_the_new_state(tmp_path):
    path = put(tmp_path, ZH_TASK.replace("\n", "\r\n").encode("gb18030"))
    written = te.write_task_file(te.set_status(te.read_task_file(path), "review", now=NOW))
    expected = ZH_TASK.replace("状态: 进行中", "状态: 待审核").replace(
        "2025-02-24 09:30:00", "2025-03-01 10:20:30").replace("\n", "\r\n").encode("gb18030")
    assert path.read_bytes() == expected
    assert not written.modified and written.digest == te.read_task_file(path).digest
    te.write_task_file(te.handoff(written, now=NOW))
    assert te.read_task_file(path).current_role == "planner"
    assert sorted(os.listdir(tmp_path)) == ["task.md"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_write_keeps_permissions(tmp_path, mode):
    path = put(tmp_path, EN_TASK)
    path.chmod(mode)
    te.write_task_file(te.set_status(te.read_task_file(path), "review", now=NOW))
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
def test_a_file_nobody_may_write_is_not_replaced(tmp_path, mode):
    path = put(tmp_path, EN_TASK)
    path.chmod(mode)
    edit = te.set_status(te.read_task_file(path), "review", now=NOW)
    with pytest.raises(te.ReadOnlyError) as caught:
        te.write_task_file(edit)
    assert str(caught.value) == (f"{path}: is read-only (mode {mode:o}); "
                                 f"make it writable to change it")
    assert path.read_bytes() == EN_TASK.encode() and os.listdir(tmp_path) == ["task.md"]


def test_write_through_a_symlink_keeps_the_link(tmp_path):
    real = put(tmp_path, EN_TASK, "real.md")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    te.write_task_file(te.set_status(te.read_task_file(link), "review", now=NOW))
    assert link.is_symlink()
    assert te.read_task_file(real).status == "review"


def test_conflict_when_file_changed_since_read(tmp_path):
    path = put(tmp_path, EN_TASK)
    edit = te.set_status(te.read_task_file(path), "review", now=NOW)
    path.write_text(EN_TASK + "agent wrote this\n", encoding="utf-8")
    with pytest.raises(te.ConflictError) as caught:
        te.write_task_file(edit)
    assert str(caught.value) == f"{path}: changed on disk since it was read; re-read it and retry"
    assert path.read_text(encoding="utf-8") == EN_TASK + "agent wrote this\n"
    retried = te.set_status(te.read_task_file(path), "review", now=NOW)
    te.write_task_file(retried)
    assert path.read_text(encoding="utf-8").endswith("agent wrote this\n")
    assert te.read_task_file(path).status == "review"


def test_conflict_when_file_deleted_since_read(tmp_path):
    path = put(tmp_path, EN_TASK)
    edit = te.set_status(te.read_task_file(path), "review", now=NOW)
    path.unlink()
    with pytest.raises(te.ConflictError, match="was deleted since it was read"):
        te.write_task_file(edit)
    assert not path.exists()


def test_touch_without_change_is_no_conflict(tmp_path):
    path = put(tmp_path, EN_TASK)
    edit = te.set_status(te.read_task_file(path), "review", now=NOW)
    os.utime(path, (0, 0))
    te.write_task_file(edit)
    assert te.read_task_file(path).status == "review"


# -- new tasks ------------------------------------------------------------------------------------

ZH_NEW = """\
---
任务ID: task_20250301_102030_0123abcd
标题: "优化 taskmon"
流程: ai/tasker-v2.md
当前角色: researcher
下一角色: planner
状态: pending
创建: "2025-03-01 10:20:30"
更新: "2025-03-01 10:20:30"
完成: ""
---

# 相关文档

# 最初任务描述
> 优化 taskmon

# 当前任务
优化 taskmon

# 当前状态
新建任务，等待研究员分析。

# 执行计划

# 工作记录
"""

EN_NEW = """\
---
task_id: task_20250301_102030_0123abcd
title: "Fix login"
session_id: session_20250301_102030
flow_file: ai/tasker.md
current_role: researcher
next_role: planner
status: pending
created_at: "2025-03-01 10:20:30"
updated_at: "2025-03-01 10:20:30"
---

# Task description
Fix login

Users cannot log in.

# Current status
New task, waiting for the researcher.

# Plan

# Work log
"""


def test_new_task_text_in_both_variants():
    tid = "task_20250301_102030_0123abcd"
    assert te.new_task_text("优化 taskmon", "zh", NOW, task_id=tid) == ZH_NEW
    assert te.new_task_text("Fix login", "en", NOW, task_id=tid,
                            description="Users cannot log in.") == EN_NEW


def test_new_task_id_pattern():
    ids = {te.new_task_id(NOW) for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"task_20250301_102030_[0-9a-f]{8}", i) for i in ids)


def test_create_task_writes_a_pending_task(tmp_path):
    path = te.create_task(tmp_path, "Fix login", "en", NOW)
    assert re.fullmatch(r"task_20250301_102030_[0-9a-f]{8}\.md", path.name)
    tf = te.read_task_file(path)
    assert (tf.status, tf.current_role, tf.next_role) == ("pending", "researcher", "planner")
    assert tf.value("id") == path.stem
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(os.listdir(tmp_path)) == [path.name]
    te.write_task_file(te.set_status(tf, "in_progress", now=NOW))
    assert te.read_task_file(path).status == "in_progress"


def test_create_task_never_overwrites(tmp_path):
    tid = "task_20250301_102030_0123abcd"
    path = put(tmp_path, "precious\n", f"{tid}.md")
    with pytest.raises(te.TaskExistsError, match="already exists; not overwriting it"):
        te.create_task(tmp_path, "Fix login", "en", NOW, task_id=tid)
    assert path.read_text(encoding="utf-8") == "precious\n"
    assert sorted(os.listdir(tmp_path)) == [path.name]


@pytest.mark.parametrize(("title", "lang", "task_id"), [
    ("Fix", "en", "../escape"), ("Fix", "en", "a/b"), ("Fix", "en", ".hidden"),
    ("", "en", None), ("two\nlines", "zh", None), ("Fix", "fr", None),
])
def test_create_task_refuses_bad_input(tmp_path, title, lang, task_id):
    with pytest.raises(te.EditError):
        te.create_task(tmp_path, title, lang, NOW, task_id=task_id)
    assert os.listdir(tmp_path) == []


def test_bad_task_id_error_type():
    with pytest.raises(te.InvalidTaskIdError, match="bad task id '../x'"):
        te.new_task_text("Fix", "en", NOW, task_id="../x")


def test_create_task_in_missing_folder_is_refused(tmp_path):
    with pytest.raises(te.EditError, match="is not a folder"):
        te.create_task(tmp_path / "nope", "Fix", "en", NOW)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
