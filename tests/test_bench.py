"""The benchmark's own parts that need no other tool: the generator and floors.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from taskmon_site.cli import main as cli_main

BENCH = Path(__file__).resolve().parent.parent / "bench"
# bench/ is a folder of scripts, not a package.
sys.path.insert(0, str(BENCH))

import generate
import report


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_the_generator_writes_the_same_bytes_for_the_same_arguments(tmp_path: Path) -> None:
    generate.generate(60, tmp_path / "a")
    generate.generate(60, tmp_path / "b")
    first = _files(tmp_path / "a")
    assert first == _files(tmp_path / "b")
    assert sum(name.startswith("ai/tasks/") for name in first) == 60
    assert sum(name.startswith("docs/") for name in first) == 60 // 50


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bench")
    src = generate.generate(100, root / "src")
    out = root / "out"
    assert cli_main(["build", str(src), "-o", str(out), "--quiet"]) == 0
    return src, out


def test_floors_measure_every_body_and_every_page(built: tuple[Path, Path]) -> None:
    src, out = built
    done = subprocess.run([sys.executable, str(BENCH / "floors.py"), str(src), str(out)],
                          capture_output=True, text=True, check=True)
    floors = json.loads(done.stdout)
    assert floors["markdown"]["files"] == 102  # 100 tasks and 2 docs
    assert floors["markdown"]["parse"] > 0 and floors["markdown"]["render"] > 0
    assert floors["startup"]["imports"] > floors["startup"]["python"] > 0
    assert floors["pagefind"] > 0
    site = floors["pagefind_site"]
    assert site["pages"] == 102 and site["wall"] > 0 and site["cpu"] > 0
    assert not any(p.name.startswith("tmp") for p in out.parent.iterdir())


def test_the_report_states_what_pagefind_takes_over_every_page() -> None:
    text = report._pagefind_site({"pages": 10200, "wall": 28.83, "cpu": 41.45})
    assert text == (" With search, Pagefind alone, indexing the 10,200 task and doc pages "
                    "in one process, takes 28.83 s (41.45 s of CPU time).")
    assert report._pagefind_site(None) == ""
