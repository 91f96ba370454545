"""Site configuration: ``taskmon.toml``, ``TASKMON_*`` variables and CLI flags.

Every key is optional. A value comes from the first of: a CLI flag, an
environment variable ``TASKMON_<KEY>``, the config file, the default. All
invalid values are collected and raised together in one :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskmon_site import vocab
from taskmon_site.fields import CANONICAL_FIELDS, PRESETS

log = logging.getLogger(__name__)

CONFIG_NAME = "taskmon.toml"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir(name: str) -> Path:
    """A folder shipped beside the package (editable install) or in share/."""
    beside = PACKAGE_ROOT / name
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "taskmon-site" / name


DEFAULT_CONTENT = _shared_dir("content")
DEFAULT_THEME = _shared_dir("themes") / "default"


class ConfigError(Exception):
    """One or more invalid configuration values, each naming its key."""

    def __init__(
        self, problems: list[str], source: str = "", line: int | None = None,
        missing: tuple[Path, ...] = (),
    ) -> None:
        self.problems = problems
        self.source = source
        #: The line of *source* where the first problem is, when known (1-based).
        self.line = line
        #: Folders the configuration names that do not exist (yet), e.g. the theme's.
        self.missing = missing
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration{where}:\n{lines}")


@dataclass
class Config:
    """Everything a build needs to know besides the files themselves."""

    #: Root of the repository being built (absolute).
    source_dir: Path
    #: Glob patterns, relative to source_dir, that select task files.
    tasks: list[str] = field(default_factory=lambda: ["ai/tasks/**/*.md", "tasks/**/*.md"])
    #: Glob patterns, relative to source_dir, that select docs.
    docs: list[str] = field(default_factory=lambda: ["docs/**/*.md"])
    #: Where the site is written (absolute).
    output_dir: Path = field(default_factory=lambda: Path("output").resolve())
    #: Site title shown in the header and the page titles.
    title: str = "Tasks"
    #: Public URL of the site, used only where an absolute URL is required.
    base_url: str = ""
    #: UI language: "zh" or "en".
    lang: str = "en"
    #: A user theme folder whose templates and static files override the default.
    theme_dir: Path | None = None
    #: IANA time zone that dates without an offset are read in ("" = as written).
    timezone: str = ""
    #: An open task not updated for this many days needs attention.
    stale_days: int = 14
    #: Field mapping preset: "workflow" (both key variants) or "backlog".
    fields_preset: str = "workflow"
    #: Extra source keys per canonical field, tried before the preset's.
    fields: dict[str, list[str]] = field(default_factory=dict)
    #: Extra status spellings → canonical status id.
    statuses: dict[str, str] = field(default_factory=dict)
    #: Extra role spellings → canonical role id.
    roles: dict[str, str] = field(default_factory=dict)
    #: Raw HTML in Markdown: "escape" (shown as text) or "sanitize" (safe subset kept).
    html: str = "escape"
    #: Links to repository files that are not pages go here (e.g. a forge's blob URL).
    repo_url: str = ""
    #: Build a full-text search index (Pagefind) with every full build.
    search: bool = True
    #: Where read pages are cached between runs (None: no cache).
    cache_dir: Path | None = None
    #: The config file that was read, if any.
    config_file: Path | None = None

    def field_keys(self, name: str) -> list[str]:
        """Source keys that may hold canonical field *name*, first match wins."""
        return self.fields.get(name, []) + PRESETS[self.fields_preset].get(name, [])

    @property
    def theme_dirs(self) -> list[Path]:
        """Theme folders in lookup order: the user's, then the default."""
        return [d for d in (self.theme_dir, DEFAULT_THEME) if d is not None]


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _as_globs(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"expected a list of glob patterns, got {value!r}")
    for pattern in value:
        if PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).drive:
            raise ValueError(f"{pattern!r} is absolute; globs are relative to the source folder")
        if ".." in pattern.replace("\\", "/").split("/"):
            raise ValueError(f"{pattern!r} leads out of the source folder ('..')")
    return value


def _as_lang(value: Any) -> str:
    if value not in ("zh", "en"):
        raise ValueError(f"expected 'zh' or 'en', got {value!r}")
    return value


def _as_html(value: Any) -> str:
    if value not in ("escape", "sanitize"):
        raise ValueError(f"expected 'escape' or 'sanitize', got {value!r}")
    return value


def _as_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number of days, got {value!r}") from None
    if days < 0 or isinstance(value, bool) or (isinstance(value, float)):
        raise ValueError(f"expected a whole number of days ≥ 0, got {value!r}")
    return days


def _as_timezone(value: Any) -> str:
    value = _as_str(value)
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _as_preset(value: Any) -> str:
    if value not in PRESETS:
        raise ValueError(f"unknown preset {value!r}; known: {', '.join(PRESETS)}")
    return value


#: Config keys, how to check each, and the Config attribute they set.
KEYS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "tasks": (_as_globs, "tasks"),
    "docs": (_as_globs, "docs"),
    "output": (_as_str, "output_dir"),
    "title": (_as_str, "title"),
    "base_url": (_as_str, "base_url"),
    "lang": (_as_lang, "lang"),
    "theme": (_as_str, "theme_dir"),
    "timezone": (_as_timezone, "timezone"),
    "stale_days": (_as_days, "stale_days"),
    "html": (_as_html, "html"),
    "repo_url": (_as_str, "repo_url"),
    "cache": (_as_str, "cache_dir"),
    "search": (_as_bool, "search"),
    "fields": (lambda v: v, "fields"),
    "statuses": (lambda v: v, "statuses"),
    "roles": (lambda v: v, "roles"),
}
#: Keys whose values are folders, resolved against the config file's folder.
PATH_KEYS = ("output", "theme", "cache")
#: Keys that are tables and can only be set in the config file.
TABLE_KEYS = ("fields", "statuses", "roles")


def default_cache_dir(source_dir: Path) -> Path:
    """A per-repository folder under the user's cache (XDG), outside the repository."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.blake2b(str(source_dir).encode(), digest_size=8).hexdigest()
    return Path(base) / "taskmon-site" / f"{source_dir.name}-{digest}"


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A " (did you mean 'x'?)" hint, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_config_file(path: Path) -> dict[str, Any]:
    """The config file's table; a syntax error becomes a ConfigError naming the file."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(at[1]) if at else None
        raise ConfigError([f"TOML syntax: {exc}"], str(path), line) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], str(path)) from None


def env_overrides(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """``TASKMON_<KEY>`` variables for the scalar keys."""
    found = {}
    for key in KEYS:
        if key in TABLE_KEYS:
            continue
        value = environ.get(f"TASKMON_{key.upper()}")
        if value is not None:
            found[key] = value
    return found


def load_config(
    source: Path | None,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Assemble the configuration for building *source*.

    *source* None means the embedded sample repository. *overrides* are CLI
    flags by config key (None values are ignored).
    """
    source_dir = (source or DEFAULT_CONTENT).resolve()
    if not source_dir.is_dir():
        what = "is not a folder" if source_dir.exists() else "does not exist"
        raise ConfigError([f"source folder {what}: {source_dir}"])
    if config_file is None and (source_dir / CONFIG_NAME).is_file():
        config_file = source_dir / CONFIG_NAME
    file_values = read_config_file(config_file) if config_file else {}
    base = config_file.resolve().parent if config_file else source_dir

    layers = [
        (file_values, base, str(config_file or "")),
        (env_overrides(os.environ if environ is None else environ), Path.cwd(), "environment"),
        ({k: v for k, v in (overrides or {}).items() if v is not None}, Path.cwd(), "flags"),
    ]
    config = Config(source_dir=source_dir, config_file=config_file,
                    cache_dir=default_cache_dir(source_dir))
    problems: list[str] = []
    for values, folder, origin in layers:
        _apply(config, values, folder, origin, problems)
    _check_tables(config, problems)
    if problems:
        overridden = {key for values, _, _ in layers[1:] for key in values}
        line = _problem_line(config_file, problems[0], overridden) if config_file else None
        missing = (config.theme_dir,) if config.theme_dir and not config.theme_dir.is_dir() else ()
        raise ConfigError(problems, str(config_file or ""), line, missing)
    return config


def _problem_line(config_file: Path, problem: str, overridden: set[str]) -> int | None:
    """The line of the config file setting the key a problem names, when the file set it."""
    dotted = problem.split(":", 1)[0]
    in_a_table = dotted.split(".")[0] in TABLE_KEYS
    table, _, key = dotted.partition(".") if in_a_table else ("", "", dotted)
    if not table and key in overridden:
        return None  # the value came from a flag or a TASKMON_* variable
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    names = "|".join(re.escape(k) for k in (key, f'"{key}"', f"'{key}'"))
    setting = re.compile(rf"\s*(?:{names})\s*=")
    header = re.compile(rf"\s*\[\s*{re.escape(table or key)}\s*\]")
    in_table = not table
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):
            if not table and header.match(line):
                return number  # a whole table that is wrong, e.g. [fields]
            in_table = bool(table) and header.match(line) is not None
        elif in_table and setting.match(line):
            return number
    return None


def prepare_output_dir(path: Path, source_dir: Path, name: str = "output") -> None:
    """Create the output folder, or raise a ConfigError saying why it cannot be used:
    also when it is the source folder or holds it (pages would be written among the
    files, and none of them read). *name* is the setting as it was given (``-o``…)."""
    if source_dir.resolve().is_relative_to(path.resolve()):
        what = "is the source folder" if source_dir.resolve() == path.resolve() else (
            f"holds the source folder {source_dir}")
        raise ConfigError([(f"{name}: {path} {what}: the site would be written among its "
                            "files and none of them read; choose a folder of its own")])
    if path.exists() and not path.is_dir():
        raise ConfigError([f"{name}: not a folder: {path}"])
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError([f"{name}: cannot create folder {path}: {exc.strerror}"]) from None
    if not os.access(path, os.W_OK):
        raise ConfigError([f"{name}: cannot write into folder {path}"])


def _apply(config: Config, values: dict, folder: Path, origin: str, problems: list) -> None:
    for key, value in values.items():
        if key not in KEYS:
            log.warning("%s: unknown config key %r%s", origin, key, did_you_mean(key, list(KEYS)))
            continue
        check, attr = KEYS[key]
        # Named as it was set: a TASKMON_* variable, a flag (--stale-days) or a key.
        name = {"environment": f"TASKMON_{key.upper()}",
                "flags": "--" + key.replace("_", "-")}.get(origin, key)
        try:
            checked = check(value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if key in PATH_KEYS:
            checked = (folder / checked).resolve() if checked else None
            if key == "output" and checked is None:
                problems.append(f"{name}: must not be empty")
                continue
        setattr(config, attr, checked)


def _check_tables(config: Config, problems: list[str]) -> None:
    fields = config.fields
    if not isinstance(fields, dict):
        problems.append(f"fields: expected a table, got {fields!r}")
        config.fields = {}
        return
    fields = dict(fields)
    preset = fields.pop("preset", config.fields_preset)
    try:
        config.fields_preset = _as_preset(preset)
    except ValueError as exc:
        problems.append(f"fields.preset: {exc}")
    config.fields = {}
    for name, keys in fields.items():
        if name not in CANONICAL_FIELDS:
            problems.append(f"fields.{name}: unknown field{did_you_mean(name, CANONICAL_FIELDS)}")
        elif isinstance(keys, str):
            config.fields[name] = [keys]
        elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            config.fields[name] = keys
        else:
            problems.append(f"fields.{name}: expected a key name or a list of them")
    config.statuses = _vocab_table("statuses", config.statuses, vocab.STATUS_IDS, problems)
    config.roles = _vocab_table("roles", config.roles, vocab.ROLE_IDS, problems)
    if config.theme_dir is not None and not config.theme_dir.is_dir():
        problems.append(f"theme: folder does not exist: {config.theme_dir}")


def _vocab_table(name: str, table: Any, ids: tuple[str, ...], problems: list) -> dict:
    if not isinstance(table, dict):
        problems.append(f"{name}: expected a table of spelling = id, got {table!r}")
        return {}
    good = {}
    for spelling, target in table.items():
        if not spelling.strip():
            problems.append(f"{name}: a spelling must not be empty (it is set to {target!r})")
        elif target in ids:
            good[spelling] = target
        else:
            hint = did_you_mean(str(target), ids)
            problems.append(f"{name}.{spelling}: {target!r} is not one of {', '.join(ids)}{hint}")
    return good
