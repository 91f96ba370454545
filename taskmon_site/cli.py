"""Command line: ``taskmon-site build|serve|task …`` (also ``python -m taskmon_site``).

Exit codes: 0 success; 1 ``--strict`` and there were warnings; 2 bad
configuration or usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from taskmon_site import __version__
from taskmon_site.config import (Config, ConfigError, env_overrides, load_config,
                                 prepare_output_dir)
from taskmon_site.logs import report_muted, setup_logging

log = logging.getLogger("taskmon_site.cli")

#: CLI flag dests that override config keys of the same name.
CONFIG_FLAGS = ("output", "title", "base_url", "lang", "theme", "timezone", "stale_days",
                "tasks", "docs", "html", "repo_url", "search")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", type=Path,
                        help="repository to build (default: the embedded sample)")
    parser.add_argument("--config", type=Path, help="config file (default: SOURCE/taskmon.toml)")
    parser.add_argument("-o", "--output", help="output folder (default: ./output)")
    parser.add_argument("--title", help="site title")
    parser.add_argument("--base-url", dest="base_url", help="public URL of the site")
    parser.add_argument("--lang", help="UI language: zh or en")
    parser.add_argument("--theme", help="theme folder overriding the default theme")
    parser.add_argument("--timezone", help="IANA time zone for dates without an offset")
    parser.add_argument("--stale-days", dest="stale_days",
                        help="open tasks not updated for this many days need attention")
    parser.add_argument("--tasks", action="append", metavar="GLOB",
                        help="task file glob, relative to SOURCE (repeatable)")
    parser.add_argument("--docs", action="append", metavar="GLOB",
                        help="doc file glob, relative to SOURCE (repeatable)")
    parser.add_argument("--html", help="raw HTML in Markdown: escape or sanitize")
    parser.add_argument("--repo-url", dest="repo_url",
                        help="URL prefix for links to repository files that are not pages")
    parser.add_argument("--no-search", dest="search", action="store_const", const="false",
                        help="do not build the full-text search index")
    _logging_flags(parser)


def _logging_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="exit 1 when there were warnings")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log line format")


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; the flags of serve and task only when *command* (the
    command of this run, None: not known) needs them, as they import much more."""
    parser = argparse.ArgumentParser(
        prog="taskmon-site",
        description="Build a static site from a repository of Markdown task files.")
    parser.add_argument("--version", action="version", version=f"taskmon-site {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build the site")
    _common(build)

    serve = commands.add_parser("serve", help="build, serve and rebuild on every change")
    _common(serve)
    if command in (None, "serve"):
        _add_serve_arguments(serve)

    task = commands.add_parser("task", help="list, show and change tasks")
    task.add_argument("-C", "--source", type=Path, default=Path("."),
                      help="repository holding the tasks (default: the current folder)")
    task.add_argument("--config", type=Path, help="config file (default: SOURCE/taskmon.toml)")
    _logging_flags(task)
    if command in (None, "task"):
        _add_task_arguments(task)
    return parser


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from taskmon_site.serve import add_serve_arguments
    except ImportError:  # the preview server is optional at import time
        return
    add_serve_arguments(parser)


def _add_task_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from taskmon_site.taskcli import add_task_arguments
    except ImportError:
        return
    add_task_arguments(parser)


def config_from_args(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {k: getattr(args, k, None) for k in CONFIG_FLAGS}
    overrides = {k: v for k, v in overrides.items() if isinstance(v, (str, list))}
    return load_config(args.source, args.config, overrides)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = make_parser(command).parse_args(argv)
    verbosity = -1 if args.quiet else args.verbose
    counter = setup_logging(verbosity, args.log_format)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    try:
        if args.command == "build":
            code = run_build(config, _output_name(args))
        elif args.command == "serve":
            from taskmon_site.serve import run_serve

            code = run_serve(args, config)
        else:
            from taskmon_site.taskcli import run_task

            code = run_task(args, config)
    except KeyboardInterrupt:  # Ctrl-C: the next build starts from the last saved state
        log.error("Interrupted")
        return 130
    report_muted(counter)
    if code == 0 and args.strict and counter.count:
        log.error("%d warnings and --strict is set", counter.count)
        return 1
    return code


def _output_name(args: argparse.Namespace) -> str:
    """The output folder named as it was set: the flag, the variable or the key."""
    if args.output is not None:
        return "--output"
    return "TASKMON_OUTPUT" if "output" in env_overrides(os.environ) else "output"


def run_build(config: Config, output_name: str = "output") -> int:
    from taskmon_site.build import BuildError, SiteBuilder, one_build_at_a_time

    try:
        prepare_output_dir(config.output_dir, config.source_dir, output_name)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    with one_build_at_a_time(config.output_dir):
        builder = SiteBuilder(config)
        try:
            builder.build()
        except BuildError as exc:
            log.error("%s", exc)
            return 1
        finally:
            builder.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
