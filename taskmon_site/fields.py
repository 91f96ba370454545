"""Canonical task fields and the source keys that hold them, per preset.

A preset lists, for each canonical field, the front-matter keys tried in
order. ``workflow`` reads both variants of the agent workflow format (English
and Chinese keys); ``backlog`` reads Backlog.md-style trackers.
"""

from __future__ import annotations

#: Canonical field names with a one-line meaning.
CANONICAL_FIELDS: dict[str, str] = {
    "id": "the task's identifier",
    "title": "a short title",
    "status": "lifecycle status",
    "current_role": "who holds the task now",
    "next_role": "who takes it next",
    "created": "when the task was created",
    "updated": "when the task was last changed",
    "completed": "when the task was completed",
    "flow": "the workflow document the task follows",
    "session": "the last agent session",
    "labels": "labels or tags",
    "priority": "priority",
    "dependencies": "ids of tasks this one depends on",
}

_WORKFLOW = {
    "id": ["task_id", "任务ID", "任务id", "id"],
    "title": ["title", "标题"],
    "status": ["status", "状态"],
    "current_role": ["current_role", "当前角色"],
    "next_role": ["next_role", "下一角色"],
    "created": ["created_at", "创建", "created"],
    "updated": ["updated_at", "更新", "updated"],
    "completed": ["completed_at", "完成", "completed"],
    "flow": ["flow_file", "流程"],
    "session": ["session_id", "会话ID"],
    "labels": ["labels", "tags", "标签"],
    "priority": ["priority", "优先级"],
    "dependencies": ["dependencies", "depends_on", "依赖"],
}

_BACKLOG = {
    "id": ["id"],
    "title": ["title"],
    "status": ["status"],
    "current_role": ["assignee"],
    "next_role": ["reviewer"],
    "created": ["created_date"],
    "updated": ["updated_date"],
    "completed": ["completed_date"],
    "flow": [],
    "session": [],
    "labels": ["labels"],
    "priority": ["priority"],
    "dependencies": ["dependencies"],
}

PRESETS: dict[str, dict[str, list[str]]] = {"workflow": _WORKFLOW, "backlog": _BACKLOG}

#: Fields whose values are people (``assignee: "@alice"``), not workflow roles: a
#: value that is no role is shown as written and is not a problem.
PEOPLE_FIELDS: dict[str, frozenset[str]] = {
    "workflow": frozenset(),
    "backlog": frozenset({"current_role", "next_role"}),
}
