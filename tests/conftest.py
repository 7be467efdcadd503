"""Shared test fixtures: a real chat-completions server and an isolated environment.

Every test runs with its own cache and config directories, and no test can
reach a real API: backends point at :class:`llm_extract.testing.ChatServer`
on 127.0.0.1, which answers HTTP 418 to any request it was not scripted for.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_extract import Extractor
from llm_extract.testing import ChatServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED = SEEDS / "enab-baladi-558021.ar.txt"
SECRET = "sk-test-SECRET-1234567890abcdef"

SEED_REPLY: dict[str, Any] = {
    "incidents": [
        {
            "date": {"text": "في 15 من آذار الحالي", "value": "2022-03-15", "precision": "day"},
            "location": {"as_written": "مدينة جاسم", "normalized": "Jasim", "admin1": "Daraa", "country": "Syria"},
            "event_type": "Battles",
            "sub_event_type": "Armed clash",
            "actors": [
                {
                    "name": "دورية أمنية تابعة لقوات النظام السوري",
                    "name_en": "Syrian regime security patrol",
                    "type": "state_security",
                },
                {
                    "name": "مقاتلين سابقين في فصائل المعارضة",
                    "name_en": "former opposition fighters",
                    "type": "former_rebels",
                },
            ],
            "casualties": [
                {
                    "side": "أبناء المدينة",
                    "killed": 2,
                    "wounded": None,
                    "evidence": [{"quote": "وأسفرت الاشتباكات في جاسم عن مقتل شخصين من أبناء المدينة"}],
                },
                {
                    "side": "قوات النظام",
                    "killed": 5,
                    "captured": 6,
                    "evidence": [{"quote": "قُتل خمسة عناصر لقوات النظام وعطب ستة آليات، وأسر ستة عناصر"}],
                },
            ],
            "summary": "A regime security patrol attacked Jasim and clashed with former opposition fighters.",
            "evidence": [{"quote": "هاجمت في 15 من آذار الحالي، واشتبكت مع مقاتلين سابقين في فصائل المعارضة"}],
        }
    ],
    "negotiations": [],
    "personnel_changes": [
        {
            "person": "عقاب صقر عباس",
            "person_en": "Iqab Saqr Abbas",
            "rank": "العميد",
            "claims": [
                {
                    "change_type": "transfer",
                    "destination": "إدارة أمن الدولة في دمشق",
                    "destination_en": "Damascus",
                    "source": "قيادي سابق بفصائل المعارضة",
                    "evidence": [{"quote": "إن قوات النظام حولت صقر لإدارة أمن الدولة في دمشق"}],
                },
                {
                    "change_type": "transfer",
                    "destination": "القامشلي",
                    "destination_en": "Qamishli",
                    "source": "تجمع أحرار حوران",
                    "evidence": [{"quote": "أن عقاب صقر نُقل إلى القامشلي"}],
                },
            ],
            "evidence": [{"quote": "نقلت قوات النظام السوري، العميد عقاب صقر عباس"}],
        }
    ],
}


def seed_reply() -> dict[str, Any]:
    """A fresh, valid, fully grounded answer for the seed article."""
    return copy.deepcopy(SEED_REPLY)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cache and config dirs in tmp; no config or key leaks in from the developer's machine."""
    home = tmp_path_factory.mktemp("home")
    for var in ("LLM_EXTRACT_CONFIG", "LLM_EXTRACT_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LLM_EXTRACT_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    return home


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as srv:
        yield srv


def write_config(path: Path, url: str, *, cache_dir: Path | None = None, **backend: Any) -> Path:
    """A TOML config with one openai-compatible backend named ``test`` at ``url``."""
    settings = {
        "kind": "openai-compatible",
        "model": "test-model",
        "base_url": url,
        "max_attempts": 3,
        "max_reasks": 1,
        "backoff_initial": 0.0,
        "backoff_max": 0.0,
        "request_timeout": 10.0,
        **backend,
    }

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ['default_backend = "test"']
    if cache_dir is not None:
        lines += ["[cache]", f"dir = {value(cache_dir)}"]
    lines.append("[backends.test]")
    lines += [f"{k} = {value(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, server: ChatServer) -> Path:
    return write_config(tmp_path / "llm_extract.toml", server.url)


@pytest.fixture
def make_extractor(tmp_path: Path, server: ChatServer) -> Iterator[Callable[..., Extractor]]:
    """Build extractors against the test server; ``**backend`` overrides config keys."""
    made: list[Extractor] = []

    def make(*, cache: bool = True, **backend: Any) -> Extractor:
        path = write_config(tmp_path / f"config-{len(made)}.toml", server.url, **backend)
        ex = Extractor.from_config(path, cache=cache)
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in a subprocess, as a user would (in the repository, or in ``cwd``)."""
    exe = shutil.which("llm-extract")
    cmd = [exe] if exe else [sys.executable, "-m", "llm_extract.cli"]
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=cwd or ROOT,
    )
