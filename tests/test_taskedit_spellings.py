"""A repository's own spellings (taskmon.toml's [fields], [statuses], [roles]) in edits,
and hand-offs of finished tasks."""

from __future__ import annotations

from datetime import datetime

import pytest

from taskmon_site import taskedit as te

NOW = datetime(2025, 3, 1, 10, 20, 30)

#: Like a config with [statuses] "Triage" = "pending", "Doing" = "in_progress", … in order.
TRIAGE = te.Spellings(statuses=(("Triage", "pending"), ("Doing", "in_progress"),
                                ("Shipped", "completed"), ("Released", "completed")),
                      roles=(("tech lead", "manager"), ("coder", "executor")))

EN = """\
---
task_id: task_en
current_role: coder
next_role: tech lead
status: {status}
updated_at: "2025-02-23 23:52:30"
---
"""

ZH = """\
---
任务ID: task_zh
当前角色: 研究员
下一角色: 规划员
状态: {status}
更新: "2025-02-24 09:30:00"
---
"""


def parse(text: str, spellings: te.Spellings = TRIAGE, **values: str) -> te.TaskFile:
    return te.parse_task_bytes(text.format(**values).encode(), spellings=spellings)


def text_of(tf: te.TaskFile) -> str:
    return tf.to_bytes().decode()


def test_a_configured_status_is_read_and_its_successor_written_in_the_configs_spelling():
    tf = parse(EN, status="Triage")
    assert tf.status == "pending"
    assert text_of(te.set_status(tf, "in_progress", now=NOW)) == EN.format(
        status="Doing").replace("2025-02-23 23:52:30", "2025-03-01 10:20:30")


def test_without_the_config_a_configured_status_is_unknown():
    tf = parse(EN, te.Spellings(), status="Triage")
    assert tf.status is None
    with pytest.raises(te.TransitionError, match="current status 'Triage' is not a known"):
        te.set_status(tf, "in_progress", now=NOW)


def test_a_new_status_is_given_in_the_configs_spelling_also_by_its_own_spelling():
    tf = te.set_status(parse(EN, status="Doing"), "shipped", now=NOW)
    # The first spelling the config lists for completed.
    assert "status: Shipped\n" in text_of(tf)


@pytest.mark.parametrize("text, old, new, written", [
    # No configured spelling for review: the workflow's name for the file's keys.
    (EN, "Doing", "review", "status: review\n"),
    (ZH, "Doing", "review", "状态: 待审核\n"),
    # A common alias is the repository's vocabulary too.
    (EN, "To Do", "in_progress", "status: Doing\n"),
    (EN, "WIP", "paused", "status: paused\n"),
    # The workflow's own words keep their style, config or not.
    (EN, "in_progress", "completed", "status: completed\n"),
    (EN, "In progress", "review", "status: Review\n"),
    (ZH, "进行中", "completed", "状态: 完成\n"),
])
def test_what_is_written_where_the_config_has_no_spelling_or_the_file_uses_none(
        text, old, new, written):
    assert written in text_of(te.set_status(parse(text, status=old), new, now=NOW))


def test_a_configured_spelling_that_is_also_a_workflow_word_is_the_configs():
    spellings = te.Spellings(statuses=(("Pending", "pending"), ("Started", "in_progress")))
    tf = te.set_status(parse(EN, spellings, status="Pending"), "in_progress", now=NOW)
    assert "status: Started\n" in text_of(tf)


def test_configured_roles_are_read_and_written_back():
    tf = parse(EN, status="Doing")
    assert (tf.current_role, tf.next_role) == ("executor", "manager")
    text = text_of(te.handoff(tf, now=NOW))
    # manager has a configured spelling, researcher (manager's successor) has none.
    assert "current_role: tech lead\nnext_role: researcher\n" in text


def test_a_configured_role_without_the_config_is_refused():
    with pytest.raises(te.UnknownRoleError, match="next_role 'tech lead' is not a known role"):
        te.handoff(parse(EN, te.Spellings(), status="Doing"), now=NOW)


BACKLOG = """\
---
id: task-7
title: Export
status: In Progress
assignee: coder
updated_date: '2025-02-23 23:52'
labels: [ui]
---
"""


def test_a_backlog_file_is_edited_through_the_presets_keys():
    spellings = te.Spellings(preset="backlog", statuses=(
        ("To Do", "pending"), ("In Progress", "in_progress"), ("Done", "completed")))
    tf = te.set_status(te.parse_task_bytes(BACKLOG.encode(), spellings=spellings),
                       "completed", now=NOW)
    assert text_of(tf) == BACKLOG.replace("In Progress", "Done").replace(
        "2025-02-23 23:52", "2025-03-01 10:20")


def test_a_missing_field_is_inserted_under_the_configs_key():
    spellings = te.Spellings(preset="backlog")
    tf = te.parse_task_bytes(b"---\nid: task-8\nstatus: Done\n---\n", spellings=spellings)
    assert text_of(te.set_status(tf, "in_progress", True, now=NOW)) == (
        "---\nid: task-8\nstatus: in_progress\nupdated_date: \"2025-03-01 10:20:30\"\n---\n")


def test_a_configured_status_key_is_edited_and_no_status_key_added():
    spellings = te.Spellings(keys=(("status", ("state",)),), statuses=TRIAGE.statuses)
    tf = te.parse_task_bytes(b"---\ntask_id: t\nstate: Triage\n---\n", spellings=spellings)
    assert tf.status == "pending"
    assert text_of(te.set_status(tf, "in_progress", now=NOW)) == (
        "---\ntask_id: t\nstate: Doing\nupdated_at: \"2025-03-01 10:20:30\"\n---\n")


# -- hand-offs of finished tasks ---------------------------------------------------------

@pytest.mark.parametrize("text, status", [
    (EN, "completed"), (EN, "cancelled"), (EN, "Shipped"), (ZH, "完成"), (ZH, "取消"),
])
def test_a_finished_task_is_not_handed_off_unless_forced(text, status):
    tf = parse(text, status=status)
    with pytest.raises(te.TransitionError) as caught:
        te.handoff(tf, now=NOW)
    final = tf.status
    assert str(caught.value) == (
        f"<memory>: status {final} is final; a finished task is not handed off "
        f"(use force to hand it off anyway)")
    assert caught.value.allowed == ()
    assert te.handoff(tf, force=True, now=NOW).modified


@pytest.mark.parametrize("status", ["review", "failed", "paused", ""])
def test_open_tasks_and_tasks_without_a_status_are_handed_off(status):
    assert te.handoff(parse(ZH, status=status), now=NOW).modified
