"""The workflow's vocabulary: roles, lifecycle statuses, section headings.

Every role and status has one canonical id (English, snake_case) used in URLs,
CSS classes and JSON, and a label per UI language. Task files may spell a value
in English or Chinese; :func:`canonical_status` and :func:`canonical_role` map
any known spelling to the canonical id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One value of a vocabulary: its canonical id and its labels."""

    id: str
    en: str
    zh: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


#: Lifecycle statuses in workflow order.
STATUSES: tuple[Term, ...] = (
    Term("pending", "Pending", "待启动"),
    Term("in_progress", "In progress", "进行中"),
    Term("paused", "Paused", "暂停"),
    Term("review", "Review", "待审核"),
    Term("rework", "Rework", "返工"),
    Term("completed", "Completed", "完成"),
    Term("failed", "Failed", "失败"),
    Term("cancelled", "Cancelled", "取消"),
)

#: Roles in hand-over order: the manager creates, the debugger hands back.
ROLES: tuple[Term, ...] = (
    Term("manager", "Manager", "管理者"),
    Term("researcher", "Researcher", "研究员"),
    Term("planner", "Planner", "规划员"),
    Term("executor", "Executor", "执行员"),
    Term("debugger", "Debugger", "调试员"),
)

STATUS_IDS = tuple(t.id for t in STATUSES)
ROLE_IDS = tuple(t.id for t in ROLES)

#: Statuses that end a task's lifecycle.
FINAL_STATUSES = frozenset({"completed", "cancelled"})

#: Statuses that want a person's attention on the dashboard.
ATTENTION_STATUSES = ("review", "rework", "failed")

#: Allowed status changes, from the workflow document's lifecycle.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("in_progress",),
    "in_progress": ("paused", "review", "completed", "failed"),
    "paused": ("in_progress", "cancelled"),
    "review": ("completed", "rework"),
    "rework": ("in_progress",),
    "completed": (),
    "failed": ("rework", "cancelled"),
    "cancelled": (),
}

#: Who takes over after each role in the normal flow of a task.
NEXT_ROLE: dict[str, str] = {
    "manager": "researcher",
    "researcher": "planner",
    "planner": "executor",
    "executor": "debugger",
    "debugger": "manager",
}

# Spellings seen in task files besides the canonical id and the two labels.
_STATUS_ALIASES = {
    "todo": "pending", "to do": "pending", "to-do": "pending", "open": "pending",
    "new": "pending", "backlog": "pending", "未开始": "pending", "待办": "pending",
    "doing": "in_progress", "in progress": "in_progress", "in-progress": "in_progress",
    "wip": "in_progress", "active": "in_progress", "执行中": "in_progress",
    "on hold": "paused", "on_hold": "paused", "blocked": "paused", "已暂停": "paused",
    "in review": "review", "in_review": "review", "审核中": "review", "审核": "review",
    "redo": "rework", "需返工": "rework",
    "done": "completed", "complete": "completed", "closed": "completed",
    "finished": "completed", "resolved": "completed", "已完成": "completed",
    "error": "failed", "已失败": "failed",
    "canceled": "cancelled", "abandoned": "cancelled", "wontfix": "cancelled",
    "已取消": "cancelled",
}

_ROLE_ALIASES = {
    "pm": "manager", "user": "manager", "用户": "manager", "管理员": "manager",
    "research": "researcher", "研究": "researcher",
    "planning": "planner", "规划": "planner", "规划师": "planner",
    "developer": "executor", "dev": "executor", "开发者": "executor",
    "执行者": "executor", "执行": "executor",
    "tester": "debugger", "qa": "debugger", "调试": "debugger", "测试员": "debugger",
}


def _index(terms: tuple[Term, ...], aliases: dict[str, str]) -> dict[str, str]:
    table = dict(aliases)
    for term in terms:
        for spelling in (term.id, term.en, term.zh, term.id.replace("_", " ")):
            table[spelling.casefold()] = term.id
    return table


_STATUS_INDEX = _index(STATUSES, _STATUS_ALIASES)
_ROLE_INDEX = _index(ROLES, _ROLE_ALIASES)
_BY_ID = {t.id: t for t in STATUSES + ROLES}


def canonical_status(value: str, extra: dict[str, str] | None = None) -> str | None:
    """The canonical status id for a spelling, or None when it is unknown.

    *extra* maps further spellings (from the site config) to canonical ids and
    wins over the built-in table.
    """
    return _lookup(value, _STATUS_INDEX, extra)


def canonical_role(value: str, extra: dict[str, str] | None = None) -> str | None:
    """The canonical role id for a spelling, or None when it is unknown."""
    return _lookup(value, _ROLE_INDEX, extra)


def _lookup(value: str, table: dict[str, str], extra: dict[str, str] | None) -> str | None:
    key = value.strip().casefold()
    if not key:
        return None
    if extra:
        for spelling, target in extra.items():
            if spelling.casefold() == key:
                return target
    return table.get(key)


def term(term_id: str) -> Term | None:
    """The role or status with this canonical id."""
    return _BY_ID.get(term_id)


def label(term_id: str, lang: str) -> str:
    """The label of a role or status id, or the id itself when unknown."""
    found = _BY_ID.get(term_id)
    return found.label(lang) if found else term_id
