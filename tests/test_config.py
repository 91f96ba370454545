"""Configuration: precedence, validation, did-you-mean, path resolution."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from taskmon_site.config import ConfigError, load_config
from taskmon_site.logs import setup_logging


def test_defaults(tmp_path: Path):
    config = load_config(tmp_path, environ={})
    assert config.tasks == ["ai/tasks/**/*.md", "tasks/**/*.md"]
    assert config.docs == ["docs/**/*.md"]
    assert (config.lang, config.stale_days, config.html) == ("en", 14, "escape")
    assert config.output_dir == Path("output").resolve()
    assert config.config_file is None


def test_flag_beats_env_beats_file(tmp_path: Path):
    (tmp_path / "taskmon.toml").write_text('title = "file"\nlang = "zh"\nstale_days = 3\n')
    env = {"TASKMON_TITLE": "env", "TASKMON_STALE_DAYS": "9"}
    config = load_config(tmp_path, None, {"title": "flag"}, environ=env)
    assert (config.title, config.lang, config.stale_days) == ("flag", "zh", 9)
    config = load_config(tmp_path, None, {}, environ=env)
    assert config.title == "env"


def test_paths_in_file_are_relative_to_the_file(tmp_path: Path):
    (tmp_path / "theme").mkdir()
    (tmp_path / "taskmon.toml").write_text('output = "site"\ntheme = "theme"\n')
    config = load_config(tmp_path, environ={})
    assert config.output_dir == tmp_path / "site"
    assert config.theme_dirs[0] == tmp_path / "theme"


def test_all_invalid_values_reported_together(tmp_path: Path):
    (tmp_path / "taskmon.toml").write_text(
        'lang = "fr"\nstale_days = -1\ntimezone = "Mars/Base"\nhtml = "raw"\n'
        'tasks = 5\n[statuses]\n"To Do" = "pendng"\n" " = "pending"\n[fields]\nstatuss = "state"\n'
        '[roles]\n"" = "planner"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={"TASKMON_LANG": "de"})
    assert info.value.problems == [
        "lang: expected 'zh' or 'en', got 'fr'",
        "stale_days: expected a whole number of days ≥ 0, got -1",
        "timezone: unknown time zone 'Mars/Base'",
        "html: expected 'escape' or 'sanitize', got 'raw'",
        "tasks: expected a list of glob patterns, got 5",
        "TASKMON_LANG: expected 'zh' or 'en', got 'de'",
        "fields.statuss: unknown field (did you mean 'status'?)",
        "statuses.To Do: 'pendng' is not one of pending, in_progress, paused, review, "
        "rework, completed, failed, cancelled (did you mean 'pending'?)",
        "statuses: a spelling must not be empty (it is set to 'pending')",
        "roles: a spelling must not be empty (it is set to 'planner')",
    ]
    assert str(tmp_path / "taskmon.toml") in str(info.value)


def test_unknown_key_warns_with_did_you_mean(tmp_path: Path, capsys):
    setup_logging(0)
    (tmp_path / "taskmon.toml").write_text('titel = "x"\n')
    load_config(tmp_path, environ={})
    err = capsys.readouterr().err
    assert f"WARNING: {tmp_path / 'taskmon.toml'}: unknown config key 'titel' (did you mean 'title'?)" in err
    logging.getLogger("taskmon_site").handlers.clear()


def test_toml_syntax_error_names_the_file(tmp_path: Path):
    (tmp_path / "taskmon.toml").write_text('title = "x\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={})
    assert info.value.source == str(tmp_path / "taskmon.toml")
    assert info.value.problems[0].startswith("TOML syntax: ")


def test_missing_source_folder(tmp_path: Path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope", environ={})
    assert info.value.problems == [f"source folder does not exist: {tmp_path / 'nope'}"]


def test_source_that_is_a_file(tmp_path: Path):
    (tmp_path / "a.md").write_text("# A\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "a.md", environ={})
    assert info.value.problems == [f"source folder is not a folder: {tmp_path / 'a.md'}"]


def test_no_source_means_embedded_content():
    config = load_config(None, environ={})
    assert config.source_dir.name == "content"
    assert any(config.source_dir.glob("ai/tasks/*.md"))
