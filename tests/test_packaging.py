"""What a released wheel must carry: the licence the metadata names, and a changelog in the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from conftest import ROOT


def test_license_file_is_apache_2_as_the_metadata_says() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert meta["license"] == {"text": "Apache-2.0"}
    assert "License :: OSI Approved :: Apache Software License" in meta["classifiers"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8").splitlines()[1]
    assert (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The files of a wheel built from this checkout, as ``pip install .`` would install them."""
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("src")
    # A copy of the checkout's own files: a build/ or *.egg-info left by an earlier install would add
    # files that pyproject's package list leaves out, and hide exactly what this checks.
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    [wheel] = out.glob("llm_extract-*.whl")
    return zipfile.ZipFile(wheel).namelist()


def test_wheel_includes_the_license(wheel_names: list[str]) -> None:
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in wheel_names)


def test_wheel_holds_every_engine_subpackage(wheel_names: list[str]) -> None:
    """An editable install finds a subpackage missing from pyproject's list; a wheel does not."""
    subpackages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "llm_extract").rglob("__init__.py")}
    assert subpackages - {n.rsplit("/", 1)[0] for n in wheel_names if n.endswith("/__init__.py")} == set()
