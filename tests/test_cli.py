"""The command line: unusable settings are configuration errors (exit 2), never tracebacks."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from conftest import write_tree

from taskmon_site.cli import main


@pytest.fixture
def src(tmp_path):
    return write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n"})


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["build", *args, "-q", "--no-search"])
    return code, capsys.readouterr().err


def test_output_that_is_a_file(src, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert run(capsys, str(src), "-o", str(tmp_path / "file")) == (
        2, f"ERROR: invalid configuration:\n  - --output: not a folder: {tmp_path / 'file'}\n")
    assert (tmp_path / "file").read_text() == "x"


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_output_that_is_or_holds_the_source_folder(src, tmp_path, capsys):
    (src / "index.html").write_text("mine")
    (src / "tasks").mkdir()
    (src / "tasks" / "index.html").write_text("mine too")
    before = _files(tmp_path)
    assert run(capsys, str(src), "-o", str(src)) == (
        2, (f"ERROR: invalid configuration:\n  - --output: {src} is the source folder: the site "
            "would be written among its files and none of them read; choose a folder of "
            "its own\n"))
    assert run(capsys, str(src), "-o", str(tmp_path)) == (
        2, (f"ERROR: invalid configuration:\n  - --output: {tmp_path} holds the source folder "
            f"{src}: the site would be written among its files and none of them read; "
            "choose a folder of its own\n"))
    assert _files(tmp_path) == before


def test_output_that_holds_files_the_globs_select(src, capsys):
    for name in ("b", "c", "d"):
        (src / "ai" / "tasks" / f"{name}.md").write_text(f"---\ntask_id: {name}\n---\n")
    (src / "ai" / "index.html").write_text("mine")
    before = _files(src)
    assert run(capsys, str(src), "-o", str(src / "ai")) == (
        1, ("ERROR: the output folder ai/ holds 4 files the globs select "
            "(ai/tasks/a.md, ai/tasks/b.md, ai/tasks/c.md, …): they would not be read, and "
            "pages would be written among them; choose an output folder of its own\n"))
    assert _files(src) == before
    # A folder of its own inside the task folder holds no Markdown: it is only a warning.
    code, err = run(capsys, str(src), "-o", str(src / "ai" / "tasks" / "site"))
    assert code == 0 and "files in it are not read" in err


def test_output_holding_selected_files_of_other_kinds_or_behind_a_link(src, tmp_path, capsys):
    (src / "notes").mkdir()
    (src / "notes" / "t.txt").write_text("---\ntask_id: t\n---\n")
    before = _files(src)
    assert run(capsys, str(src), "--tasks", "notes/*.txt", "-o", str(src / "notes")) == (
        1, ("ERROR: the output folder notes/ holds 1 file the globs select (notes/t.txt): "
            "they would not be read, and pages would be written among them; choose an "
            "output folder of its own\n"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.md").write_text("# Notes\n")
    (outside / "index.html").write_text("mine")
    (src / "docs").mkdir()
    (src / "docs" / "site").symlink_to(outside)
    code, err = run(capsys, str(src), "--docs", "docs/*/*.md", "-o", str(src / "docs/site"))
    assert (code, err) == (
        1, ("ERROR: the output folder " + str(outside) + " holds 1 file the globs select "
            "(docs/site/notes.md): they would not be read, and pages would be written among "
            "them; choose an output folder of its own\n"))
    assert _files(src) == before and (outside / "index.html").read_text() == "mine"
    # What a build writes there may be selected again: that is no reason to stop.
    out = tmp_path / "site"
    assert run(capsys, str(src), "--tasks", "**/*.*", "-o", str(out))[0] == 0
    for _ in range(2):
        assert run(capsys, str(src), "--tasks", "**/*.*", "-o", str(src / "out"))[0] == 0
    assert (src / "out" / "tasks.json").is_file()


def test_an_unusable_output_folder_is_named_as_it_was_set(src, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("TASKMON_OUTPUT", str(tmp_path / "file"))
    assert run(capsys, str(src)) == (
        2, (f"ERROR: invalid configuration:\n  - TASKMON_OUTPUT: not a folder: "
            f"{tmp_path / 'file'}\n"))
    monkeypatch.delenv("TASKMON_OUTPUT")
    (src / "taskmon.toml").write_text(f'output = "{tmp_path / "file"}"\n')
    assert run(capsys, str(src)) == (
        2, f"ERROR: invalid configuration:\n  - output: not a folder: {tmp_path / 'file'}\n")


def test_output_inside_a_file(src, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "site"
    assert run(capsys, str(src), "-o", str(out)) == (
        2, f"ERROR: invalid configuration:\n  - --output: cannot create folder {out}: "
           "Not a directory\n")


def test_output_that_cannot_be_created(src, capsys):
    code, err = run(capsys, str(src), "-o", "/proc/nope")
    assert code == 2
    assert err.startswith("ERROR: invalid configuration:\n"
                          "  - --output: cannot create folder /proc/nope: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("pattern, message", [
    ("/etc/*.md", "'/etc/*.md' is absolute; globs are relative to the source folder"),
    ("C:/tasks/*.md", "'C:/tasks/*.md' is absolute; globs are relative to the source folder"),
    ("../../**/*.md", "'../../**/*.md' leads out of the source folder ('..')"),
    ("ai/../../x/*.md", "'ai/../../x/*.md' leads out of the source folder ('..')"),
])
def test_globs_must_stay_inside_the_source_folder(src, tmp_path, capsys, pattern, message):
    code, err = run(capsys, str(src), "-o", str(tmp_path / "out"), "--tasks", pattern)
    assert (code, err) == (2, f"ERROR: invalid configuration:\n  - --tasks: {message}\n")
    assert not (tmp_path / "out").exists()


def test_globs_from_the_config_file_are_checked_too(src, tmp_path, capsys):
    (src / "taskmon.toml").write_text('docs = ["docs/*.md", "/srv/docs/*.md"]\n')
    code, err = run(capsys, str(src), "-o", str(tmp_path / "out"))
    assert (code, err) == (2, f"ERROR: invalid configuration in {src / 'taskmon.toml'}:\n"
                              "  - docs: '/srv/docs/*.md' is absolute; globs are relative to "
                              "the source folder\n")


def test_a_build_leaves_its_state_without_a_write_ahead_log(src, tmp_path, capsys,
                                                             monkeypatch):
    # Left open, the next build reads through the log of every page the first wrote.
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert run(capsys, str(src), "-o", str(tmp_path / "out")) == (0, "")
    states = list(cache.rglob("*.sqlite"))
    assert len(states) == 1
    assert not list(cache.rglob("*.sqlite-wal"))


def test_ctrl_c_is_one_line_and_exit_code_130(src, tmp_path, capsys, monkeypatch):
    def interrupted(config, output_name):
        raise KeyboardInterrupt

    monkeypatch.setattr("taskmon_site.cli.run_build", interrupted)
    assert run(capsys, str(src), "-o", str(tmp_path / "out")) == (130, "ERROR: Interrupted\n")


def test_a_build_waits_for_another_build_of_its_output_folder(src, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # as another build of the folder holds it
    codes = []
    build = threading.Thread(target=lambda: codes.append(main(
        ["build", str(src), "-o", str(out), "--no-search"])))
    build.start()
    build.join(1.0)
    assert build.is_alive() and not (out / "tasks").exists()  # still waiting
    os.close(held)
    build.join(30)
    assert codes == [0] and (out / "tasks/a.html").is_file()
    assert f"Waiting for another build of {out} to finish" in capsys.readouterr().err


def test_a_bad_flag_value_is_named_by_its_flag(src, capsys, monkeypatch):
    monkeypatch.setenv("TASKMON_TITLE", "ok")
    monkeypatch.setenv("TASKMON_STALE_DAYS", "-2")
    assert run(capsys, str(src), "--lang", "fr", "--stale-days", "x") == (
        2, ("ERROR: invalid configuration:\n"
            "  - TASKMON_STALE_DAYS: expected a whole number of days ≥ 0, got '-2'\n"
            "  - --lang: expected 'zh' or 'en', got 'fr'\n"
            "  - --stale-days: expected a whole number of days, got 'x'\n"))
