"""Bad config fails at load time, before any request, with one line naming the file, the key
and the fix (issue 6, section 4); the command line exits 2 with that line alone on stderr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SEED, run_cli, write_config

from llm_extract import ConfigError, Extractor
from llm_extract.cli import main
from llm_extract.testing import ChatServer

BACKEND = '[backends.test]\nkind = "openai-compatible"\nmodel = "test-model"\nbase_url = "{url}"\n'

# name -> (config text, what the line must say: key and fix)
CASES: dict[str, tuple[str, str]] = {
    "toml_syntax": (
        'default_backend = "test"\n[backends.test]\nkind = "openai-compatible\n',
        r"TOML syntax error: .*\(at line 3, column \d+\); fix the file",
    ),
    "unknown_key": (
        'default_backend = "test"\n' + BACKEND + "max_atempts = 3\n",
        r"backends\.test\.max_atempts: unknown key \(did you mean max_attempts\?\); fix: remove it or fix its spelling",
    ),
    "unknown_top_level_key": (
        'default_bakend = "test"\n' + BACKEND,
        r"default_bakend: unknown key \(did you mean default_backend\?\); fix: remove it or fix its spelling",
    ),
    "unknown_backend_name": (
        'default_backend = "tset"\n' + BACKEND,
        r"default_backend: 'tset' is not a \[backends\.NAME\] table \(known: embedded, test\); "
        r"fix: add \[backends\.tset\] or name a known backend",
    ),
    "unknown_kind": (
        'default_backend = "test"\n' + BACKEND.replace("openai-compatible", "ollama"),
        r"backends\.test: Input tag 'ollama' .*; fix: use kind = 'openai', 'openai-compatible' or 'embedded'",
    ),
    "wrong_type": (
        'default_backend = "test"\n' + BACKEND + 'max_attempts = "three"\n',
        r"backends\.test\.max_attempts: Input should be a valid integer.*; fix: write a whole number",
    ),
    "out_of_range": (
        'default_backend = "test"\n' + BACKEND + "temperature = 5.0\n",
        r"backends\.test\.temperature: Input should be less than or equal to 2.*; fix: use a smaller value",
    ),
    "base_url_not_a_url": (
        'default_backend = "test"\n' + BACKEND.replace("{url}", "not a url"),
        r"backends\.test\.base_url: Input should be a valid URL.*; fix: give a full URL",
    ),
    "base_url_without_scheme": (
        'default_backend = "test"\n' + BACKEND.replace("{url}", "localhost:8000/v1"),
        r"backends\.test\.base_url: URL scheme should be 'http' or 'https'; fix: use an http:// or https:// URL",
    ),
    "api_key_env_unset": (
        'default_backend = "test"\n' + BACKEND + 'api_key_env = "LLM_EXTRACT_TEST_UNSET_KEY"\n',
        r"backends\.test\.api_key_env: environment variable LLM_EXTRACT_TEST_UNSET_KEY is not set; "
        r"export it, or remove api_key_env",
    ),
    "cache_dir_cannot_be_created": (
        'default_backend = "test"\n[cache]\ndir = "{blocker}/cache"\n' + BACKEND,
        r"cache\.dir: .*/blocker/cache cannot be created or opened \(Not a directory\); "
        r"fix: point \[cache\] dir or \$LLM_EXTRACT_CACHE_DIR at a writable directory",
    ),
}


@pytest.fixture
def bad_config(
    request: pytest.FixtureRequest, tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """The case's config file (its [cache] dir is used, not the test's env override)."""
    text, expected = CASES[request.param]
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache dir would go\n", encoding="utf-8")
    path = tmp_path / f"{request.param}.toml"
    path.write_text(text.replace("{url}", server.url).replace("{blocker}", str(blocker)), encoding="utf-8")
    monkeypatch.delenv("LLM_EXTRACT_CACHE_DIR")
    monkeypatch.delenv("LLM_EXTRACT_TEST_UNSET_KEY", raising=False)
    return path, expected


@pytest.mark.parametrize("bad_config", list(CASES), indirect=True)
def test_bad_config_is_one_line_naming_file_key_and_fix_before_any_request(
    bad_config: tuple[Path, str], server: ChatServer
) -> None:
    path, expected = bad_config

    with pytest.raises(ConfigError) as info:
        Extractor.from_config(path).extract(SEED)

    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: ")
    assert re.search(expected, line), line
    assert server.requests == []


@pytest.mark.parametrize("bad_config", list(CASES), indirect=True)
def test_cli_exits_2_with_the_one_line_on_stderr(
    bad_config: tuple[Path, str], server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path, expected = bad_config

    code = main(["extract", str(SEED), "--config", str(path), "-q"])

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"llm-extract: error: {path}: ")
    assert re.search(expected, err), err
    assert server.requests == []


def test_cli_subprocess_exits_2_with_one_stderr_line(tmp_path: Path, server: ChatServer) -> None:
    config = write_config(tmp_path / "c.toml", server.url, max_attempts="three")

    proc = run_cli("extract", str(SEED), "--config", str(config))

    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"llm-extract: error: {config}: backends.test.max_attempts: Input should be a valid integer; "
        "fix: write a whole number, without quotes"
    ]
    assert server.requests == []


def test_unknown_backend_on_the_command_line_names_the_known_ones(
    tmp_path: Path, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.toml", server.url)

    code = main(["extract", str(SEED), "--config", str(config), "--backend", "tset", "-q"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [
        f"llm-extract: error: {config}: backend 'tset' is not configured (known: embedded, test); "
        "add a [backends.tset] table or pick a known one"
    ]
    assert server.requests == []


def test_missing_config_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"

    code = main(["extract", str(SEED), "--config", str(missing), "-q"])

    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"llm-extract: error: {missing}: config file not found; fix the path or create it"
    ]
