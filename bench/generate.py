"""Write a synthetic task repository for benchmarks.

The tree mimics a real workflow repository: task files under ``ai/tasks/`` in the
format of the workflow document (YAML front matter with English or Chinese keys,
a description, the current state, a plan and a work log of role entries with
checklists), design docs under ``docs/`` (one per 50 tasks) and a ``taskmon.toml``.

Everything comes from one seeded random generator, so the same arguments always
give a byte-identical tree.

    python bench/generate.py --tasks 1000 --out bench/work/src-1000
"""

from __future__ import annotations

import argparse
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

TASKS_PER_DOC = 50
BASE_TIME = datetime(2025, 1, 6, 9, 0, 0)

STATUSES = [
    ("pending", "待启动"), ("in_progress", "进行中"), ("paused", "暂停"),
    ("review", "待审核"), ("rework", "返工"), ("completed", "完成"),
    ("failed", "失败"), ("cancelled", "取消"),
]
ROLES = [
    ("manager", "管理者"), ("researcher", "研究员"), ("planner", "规划员"),
    ("executor", "执行员"), ("debugger", "调试员"),
]
# Work-log entries follow the hand-over order of the workflow.
LOG_ORDER = ["研究员", "规划员", "执行员", "调试员", "管理者"]
NEXT_ROLE = {
    "manager": "researcher", "researcher": "planner", "planner": "executor",
    "executor": "debugger", "debugger": "manager",
}

MODULES = [
    "infrax", "polyx", "peerx", "memkv", "sqlite", "arch", "cmdline", "taskmon",
    "thread", "socket", "async", "log", "config", "script", "storage", "rinetd",
]
THINGS = [
    "线程池", "内存分配器", "日志系统", "配置解析", "网络连接管理", "异步调度器",
    "脚本引擎", "键值存储", "命令行处理", "错误处理", "测试框架", "WebSocket 服务",
    "连接池", "任务监控页面", "构建脚本", "端口转发", "SQLite 适配层", "性能基准",
]
VERBS = [
    "实现", "重构", "优化", "修复", "分析", "补充测试", "整理文档", "评审", "迁移", "简化",
]
ASPECTS = [
    "错误处理不完整", "缺少单元测试", "内存泄漏风险", "接口命名不统一", "并发下偶发崩溃",
    "日志信息不足", "配置项过多且无校验", "启动时间过长", "文档与代码不一致",
    "边界条件未覆盖", "依赖关系不清晰", "性能低于预期",
]
ENGLISH = [
    "The handler returns early when the buffer is empty.",
    "Keep the public API stable; callers in peerx depend on it.",
    "Benchmarks run with 1k, 10k and 100k connections.",
    "See the stress test output for the exact numbers.",
    "This only affects builds with the cosmopolitan toolchain.",
    "Use the existing InfraxCore helpers instead of libc directly.",
    "The retry loop needs a bound, otherwise it spins forever.",
    "Tests pass locally; CI still shows one flaky case.",
]
FILES = [
    "src/internal/infrax/InfraxCore.c", "src/internal/infrax/InfraxLog.c",
    "src/internal/infrax/InfraxThread.c", "src/internal/infrax/InfraxNet.c",
    "src/internal/polyx/PolyxScript.c", "src/internal/polyx/PolyxConfig.c",
    "src/internal/peerx/PeerxMemKV.c", "src/internal/peerx/PeerxSqlite.c",
    "src/internal/arch/PpxArch.c", "test/arch/test_infrax_async.c",
    "test/black/stress_test.py", "tools/taskmon.py", "scripts/build_test_arch.sh",
]
TABLE_STATES = ["✓ 完成", "进行中", "未开始", "阻塞", "待评审"]


@dataclass(frozen=True)
class Repo:
    """What every generated file may refer to: the task ids and doc paths."""

    task_ids: list[str]
    doc_names: list[str]


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    generate(args.tasks, Path(args.out), seed=args.seed)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="number of task files")
    parser.add_argument("--out", required=True, help="folder to write (replaced)")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    return parser.parse_args(argv)


def generate(n_tasks: int, out: Path, seed: int = 1) -> Path:
    """Write a repository of *n_tasks* tasks into *out* (replacing it)."""
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(seed)
    repo = _plan_repo(n_tasks, rng)

    tasks_dir = out / "ai" / "tasks"
    tasks_dir.mkdir(parents=True)
    for index, task_id in enumerate(repo.task_ids):
        _write(tasks_dir / f"{task_id}.md", task_file(index, task_id, repo, rng))

    docs_dir = out / "docs"
    docs_dir.mkdir()
    for index, name in enumerate(repo.doc_names):
        _write(docs_dir / name, doc_file(index, repo, rng))

    _write(out / "taskmon.toml", 'tasks = ["ai/tasks/**/*.md"]\ndocs = ["docs/**/*.md"]\n')
    return out


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _plan_repo(n_tasks: int, rng: random.Random) -> Repo:
    task_ids = [_task_id(i, rng) for i in range(n_tasks)]
    n_docs = max(1, n_tasks // TASKS_PER_DOC)
    doc_names = [f"{rng.choice(MODULES)}-design-{i + 1:04d}.md" for i in range(n_docs)]
    return Repo(task_ids, doc_names)


def _task_id(index: int, rng: random.Random) -> str:
    created = BASE_TIME + timedelta(seconds=rng.randrange(180 * 86400))
    # An odd multiplier makes the suffix unique per index, like a real hash would be.
    suffix = (index * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
    return f"task_{created:%Y%m%d_%H%M%S}_{suffix:08x}"


# --- task files -----------------------------------------------------------------


def task_file(index: int, task_id: str, repo: Repo, rng: random.Random) -> str:
    """One task file: front matter, then the sections of the workflow format."""
    created = datetime.strptime(task_id[5:20], "%Y%m%d_%H%M%S")
    log_times = _log_times(created, rng.randint(2, 5), rng)
    # Pairs of tasks share a status, so both key styles see every status.
    status = STATUSES[(index // 2) % len(STATUSES)]
    role = ROLES[rng.randrange(len(ROLES))]
    chinese_keys = index % 2 == 1

    meta = _front_matter(task_id, created, log_times[-1], status, role, chinese_keys, rng)
    subject = f"{rng.choice(VERBS)} {rng.choice(MODULES)} 的{rng.choice(THINGS)}"
    parts = [
        meta,
        _related_docs(repo, rng),
        _description(subject, rng),
        "# 当前状态\n" + _sentence(rng) + "\n",
        _plan(rng),
        _work_log(log_times, repo, rng),
    ]
    return "\n".join(parts)


def _log_times(created: datetime, count: int, rng: random.Random) -> list[datetime]:
    times, now = [], created
    for _ in range(count):
        now += timedelta(minutes=rng.randint(3, 600))
        times.append(now)
    return times


def _front_matter(task_id: str, created: datetime, updated: datetime,
                  status: tuple[str, str], role: tuple[str, str],
                  chinese_keys: bool, rng: random.Random) -> str:
    next_role = NEXT_ROLE[role[0]]
    if not chinese_keys:
        session = created + timedelta(minutes=rng.randint(1, 90))
        lines = [
            f"task_id: {task_id}",
            f"session_id: session_{session:%Y%m%d_%H%M%S}",
            "flow_file: ai/tasker-v2.md",
            f"current_role: {role[0]}",
            f"next_role: {next_role}",
            f"status: {status[0]}",
            f'created_at: "{created:%Y-%m-%d %H:%M:%S}"',
            f'updated_at: "{updated:%Y-%m-%d %H:%M:%S}"',
        ]
    else:
        # Half of the Chinese-key files also spell the values in Chinese.
        zh = rng.random() < 0.5
        next_label = dict(ROLES)[next_role] if zh else next_role
        done = f"{updated:%Y-%m-%d %H:%M:%S}" if status[0] == "completed" else ""
        lines = [
            "流程: ai/tasker-v2.md",
            f"任务ID: {task_id}",
            f"当前角色: {role[1] if zh else role[0]}",
            f"下一角色: {next_label}",
            f"状态: {status[1] if zh else status[0]}",
            f'创建: "{created:%Y-%m-%d %H:%M:%S}"',
            f'更新: "{updated:%Y-%m-%d %H:%M:%S}"',
            f'完成: "{done}"',
        ]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _related_docs(repo: Repo, rng: random.Random) -> str:
    names = rng.sample(repo.doc_names, min(2, len(repo.doc_names)))
    links = [f"- [{name[:-3]}](../../docs/{name})" for name in names]
    return "# 相关文档\n" + "\n".join(links) + "\n"


def _description(subject: str, rng: random.Random) -> str:
    lines = [
        "# 最初任务描述",
        f"> {subject}",
        "",
        "# 任务描述",
        f"{subject}，{rng.choice(ASPECTS)}。",
        _sentence(rng),
        _sentence(rng),
        "",
        "> " + rng.choice(ENGLISH),
        "",
    ]
    return "\n".join(lines)


def _plan(rng: random.Random) -> str:
    steps = [
        f"{n}. {rng.choice(VERBS)} {rng.choice(FILES)}：{rng.choice(ASPECTS)}"
        for n in range(1, rng.randint(4, 7))
    ]
    return "# 执行计划\n" + "\n".join(steps) + "\n"


def _sentence(rng: random.Random) -> str:
    module, thing = rng.choice(MODULES), rng.choice(THINGS)
    return rng.choice([
        f"{module} 模块的{thing}存在{rng.choice(ASPECTS)}的问题，需要先{rng.choice(VERBS)}。",
        f"已检查 `{rng.choice(FILES)}`，{thing}的{rng.choice(VERBS)}工作已经开始。",
        f"根据研究员的分析，{thing}与 {module} 之间的依赖需要重新梳理。",
        f"下一步由执行员{rng.choice(VERBS)}{thing}，调试员负责回归测试。",
        f"{rng.choice(ENGLISH)} 这一点在 {module} 中尤其重要。",
    ])


def _work_log(times: list[datetime], repo: Repo, rng: random.Random) -> str:
    with_code = rng.randrange(len(times))
    with_table = (with_code + 1) % len(times)
    entries = ["# 工作记录\n"]
    for n, when in enumerate(times):
        extras = []
        if n == with_code:
            extras.append(_code_block(rng))
        if n == with_table:
            extras.append(_table(rng))
        entries.append(_log_entry(LOG_ORDER[n], when, n > 0, extras, rng))
    return "\n".join(entries)


def _log_entry(role: str, when: datetime, confirm: bool, extras: list[str],
               rng: random.Random) -> str:
    confirmed = [f"- [x] {rng.choice(VERBS)}{rng.choice(THINGS)}" for _ in range(2)]
    done = [f"- [x] {rng.choice(VERBS)} {rng.choice(FILES)}" for _ in range(rng.randint(3, 6))]
    handover = [
        f"- [ ] {rng.choice(VERBS)}{rng.choice(THINGS)}（{rng.choice(LOG_ORDER)}）"
        for _ in range(rng.randint(2, 4))
    ]
    lines = [
        f"## {role} ({when:%Y-%m-%d %H:%M})",
        _sentence(rng) + _sentence(rng),
        "",
        *extras,
        *(["### 交接确认", *confirmed, ""] if confirm else []),
        "### 完成项",
        *done,
        "",
        "### 交接清单",
        *handover,
        "",
    ]
    return "\n".join(lines)


def _table(rng: random.Random) -> str:
    rows = ["| 模块 | 文件 | 状态 |", "| --- | --- | --- |"]
    for _ in range(rng.randint(3, 5)):
        module, path, state = rng.choice(MODULES), rng.choice(FILES), rng.choice(TABLE_STATES)
        rows.append(f"| {module} | `{path}` | {state} |")
    return "\n".join(rows) + "\n"


def _code_block(rng: random.Random) -> str:
    name = f"{rng.choice(MODULES)}_{rng.choice(['init', 'poll', 'flush', 'parse', 'close'])}"
    if rng.random() < 0.5:
        return C_SNIPPET.format(name=name, limit=rng.randint(8, 4096))
    return PY_SNIPPET.format(name=name, limit=rng.randint(8, 4096))


C_SNIPPET = """```c
static InfraxError {name}(InfraxCore* core, const char* buf, size_t len) {{
    if (buf == NULL || len == 0) {{
        return make_error(INFRAX_ERROR_INVALID_PARAM, "empty buffer");
    }}
    for (size_t i = 0; i < len && i < {limit}; i++) {{
        if (core->is_space(buf[i])) continue;
        core->printf(core, "byte %zu: %02x\\n", i, (unsigned char)buf[i]);
    }}
    return INFRAX_ERROR_OK;
}}
```
"""

PY_SNIPPET = """```python
def {name}(path: str, limit: int = {limit}) -> list[str]:
    \"\"\"Read at most *limit* non-empty lines.\"\"\"
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line.rstrip("\\n"))
            if len(lines) >= limit:
                break
    return lines
```
"""


# --- docs -----------------------------------------------------------------------


def doc_file(index: int, repo: Repo, rng: random.Random) -> str:
    """A design doc: a title, a few sections with prose, lists and code."""
    name = repo.doc_names[index][:-3]
    task = rng.choice(repo.task_ids)
    parts = [f"# {name}\n", _sentence(rng) + _sentence(rng) + "\n"]
    for n in range(1, 5):
        parts.append(_doc_section(n, rng))
    parts.append(f"## 相关任务\n\n- [{task}](../ai/tasks/{task}.md)\n")
    return "\n".join(parts)


def _doc_section(number: int, rng: random.Random) -> str:
    lines = [f"## {number}. {rng.choice(THINGS)}", "", _sentence(rng) + _sentence(rng), ""]
    lines += [f"### {number}.1 {rng.choice(VERBS)}", ""]
    lines += [f"- {rng.choice(FILES)}：{rng.choice(ASPECTS)}" for _ in range(3)]
    lines += ["", rng.choice(ENGLISH), ""]
    if number % 2 == 0:
        lines.append(_code_block(rng))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
