"""Where config comes from, and what it contains by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_extract import Extractor, load_config
from llm_extract.config import EmbeddedBackendConfig, find_config


def test_without_any_config_the_embedded_backend_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()

    assert config.source is None
    name, backend = config.backend()
    assert name == "embedded" and isinstance(backend, EmbeddedBackendConfig)


def test_config_is_found_by_argument_then_env_then_cwd_then_user_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    user = isolated_env / "config" / "llm_extract" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("", encoding="utf-8")
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert find_config() == user

    (cwd / "llm_extract.toml").write_text("", encoding="utf-8")
    assert find_config() == Path("llm_extract.toml")

    env = tmp_path / "env.toml"
    monkeypatch.setenv("LLM_EXTRACT_CONFIG", str(env))
    assert find_config() == env

    assert find_config(tmp_path / "explicit.toml") == tmp_path / "explicit.toml"


def test_environment_overrides_default_backend_and_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'default_backend = "a"\n[cache]\ndir = "/nope"\n'
        '[backends.a]\nkind = "openai-compatible"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[backends.b]\nkind = "openai-compatible"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LLM_EXTRACT_BACKEND", "b")
    monkeypatch.setenv("LLM_EXTRACT_CACHE_DIR", str(tmp_path / "cache"))

    config = load_config(path)

    assert config.default_backend == "b"
    assert config.cache.resolved_dir() == tmp_path / "cache"
    assert load_config(path, backend="a").default_backend == "a"


def test_instructor_mode_defaults_per_kind(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[backends.hosted]\nkind = "openai"\nmodel = "gpt-4o-mini"\napi_key_env = "K"\n'
        '[backends.local]\nkind = "openai-compatible"\nmodel = "m"\n'
        'base_url = "http://127.0.0.1:9/v1"\nmode = "md_json"\n',
        encoding="utf-8",
    )
    config = load_config(path)

    assert config.backends["hosted"].default_mode() == "tools"
    assert config.backends["local"].default_mode() == "md_json"


def test_extractor_repr_names_backend_and_model_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'default_backend = "h"\n[backends.h]\nkind = "openai"\nmodel = "gpt-4o-mini"\napi_key_env = "MY_KEY"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MY_KEY", "sk-very-secret-value")
    with Extractor.from_config(path) as ex:
        assert repr(ex) == "Extractor(backend='h', kind='openai', model='gpt-4o-mini', task='conflict')"
        assert "sk-very-secret-value" not in repr(ex.backend_config)


def test_example_config_in_the_docs_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
    config = load_config(Path(__file__).parent.parent / "examples" / "llm_extract.toml")

    assert sorted(config.backends) == ["embedded", "llamacpp", "ollama", "openai", "vllm"]
    for name in config.backends:
        config.backend(name)
