"""House rules that CI enforces: mypy --strict and ruff stay clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (pip install -e '.[dev]')")
def test_ruff_is_clean() -> None:
    cmd = ["ruff", "check", "llm_extract", "schemas", "tests", "benchmarks"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_is_clean() -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "llm_extract"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_is_clean_on_the_domain_in_its_installed_layout(tmp_path: Path) -> None:
    """schemas/ is installed as llm_extract.schemas from another folder, a mapping mypy cannot follow:
    checked in the layout it is installed in, so the domain is held to the engine's types too."""
    pytest.importorskip("mypy")
    package = tmp_path / "llm_extract"
    shutil.copytree(ROOT / "llm_extract", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", package / "schemas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    cache = str(tmp_path / ".mypy_cache")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", cache, "llm_extract/schemas"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
