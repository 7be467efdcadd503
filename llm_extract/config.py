"""One typed settings object, loaded from TOML, checked before any request.

Where the config comes from, first match wins:

1. the ``path`` argument (``--config`` on the command line);
2. the file named by ``$LLM_EXTRACT_CONFIG``;
3. ``llm_extract.toml`` in the working directory;
4. ``config.toml`` in the user config dir (``platformdirs``; e.g.
   ``~/.config/llm_extract/config.toml`` on Linux).

With none of them, the built-in defaults apply: the embedded model is the
default backend and needs no key and no server. ``$LLM_EXTRACT_BACKEND``
overrides ``default_backend`` and ``$LLM_EXTRACT_CACHE_DIR`` overrides
``[cache] dir``; an explicit argument beats both.

Keys are never stored in config: a backend names the *environment variable*
that holds its key (``api_key_env``), and the value is read into a
``SecretStr`` when that backend is selected.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from .errors import ConfigError, redact_url

__all__ = [
    "BackendConfig",
    "CacheConfig",
    "Config",
    "EmbeddedBackendConfig",
    "OpenAIBackendConfig",
    "OpenAICompatibleBackendConfig",
    "TaskConfig",
    "find_config",
    "load_config",
]

ENV_CONFIG = "LLM_EXTRACT_CONFIG"
ENV_BACKEND = "LLM_EXTRACT_BACKEND"
ENV_CACHE_DIR = "LLM_EXTRACT_CACHE_DIR"
APP_NAME = "llm_extract"

InstructorMode = Literal["tools", "json_schema", "json", "md_json"]


class _Strict(BaseModel):
    # strict: TOML has real types, so `concurrency = true` or `temperature = "0.5"` is a mistake
    # to name, not a value to coerce (a bool is not the integer 1 here)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _BackendBase(_Strict):
    """Settings every backend kind shares: sampling, budgets, limits."""

    model: str = Field(min_length=1)
    mode: InstructorMode | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int = Field(default=4096, ge=16, le=200_000)
    seed: int | None = None
    max_reasks: int = Field(default=2, ge=0, le=10, description="re-asks after invalid output")
    max_attempts: int = Field(default=4, ge=1, le=20, description="HTTP attempts per model call")
    backoff_initial: float = Field(default=0.5, ge=0.0, le=60.0)
    backoff_max: float = Field(default=20.0, ge=0.0, le=600.0)
    max_retry_after: float = Field(default=60.0, ge=0.0, le=3600.0)
    request_timeout: float = Field(
        default=90.0, gt=0.0, le=3600.0, description="seconds per request, whole answer included"
    )
    deadline: float = Field(default=600.0, gt=0.0, le=86_400.0, description="seconds per document")
    concurrency: int = Field(default=4, ge=1, le=256)
    chunk_chars: int = Field(default=12_000, ge=500, le=2_000_000)
    chunk_overlap: int = Field(default=800, ge=0, le=100_000)
    max_document_chars: int = Field(default=2_000_000, ge=1_000)
    price_prompt_per_mtok: float | None = Field(default=None, ge=0.0)
    price_completion_per_mtok: float | None = Field(default=None, ge=0.0)
    strategy: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="how a document becomes model calls (one-call, per-list, detect-then-fill, ...)",
    )
    repairs: bool = Field(
        default=False,
        description="when re-asks are spent, re-ask only a record whose number its quotes do not state",
    )
    compact_prompt: bool = Field(
        default=False,
        description="use the task's compact system prompt: rules and field meanings only, for backends "
        "whose grammar or strict schema carries the structure",
    )

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> _BackendBase:
        if self.chunk_overlap >= self.chunk_chars // 2:
            raise ValueError("chunk_overlap must be less than half of chunk_chars")
        return self

    def default_mode(self) -> InstructorMode:
        return self.mode or "tools"

    def default_strategy(self) -> str:
        """``strategy``, or this kind's default: one call for all lists."""
        return self.strategy or "one-call"

    def documents_in_progress(self) -> int:
        """Documents a batch works on at once: twice ``concurrency``, so a request is ready whenever a slot frees."""
        return 2 * self.concurrency

    def sampling(self) -> dict[str, Any]:
        """Request parameters that change the answer (and so the cache key)."""
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.top_p is not None:
            params["top_p"] = self.top_p
        if self.seed is not None:
            params["seed"] = self.seed
        return params


class _ServerBackendBase(_BackendBase):
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """Filled from ``api_key_env`` by :meth:`Config.backend`; never from the file."""

    def __repr_args__(self) -> Any:
        """The fields, with a password in ``base_url`` (``http://user:secret@host``) shown as ``***``."""
        for name, value in super().__repr_args__():
            yield name, (redact_url(str(value)) if name == "base_url" and value is not None else value)


class OpenAIBackendConfig(_ServerBackendBase):
    """A hosted API speaking the OpenAI protocol (api.openai.com unless base_url says otherwise)."""

    kind: Literal["openai"]
    base_url: AnyHttpUrl | None = None
    api_key_env: str | None = Field(default="OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class OpenAICompatibleBackendConfig(_ServerBackendBase):
    """vLLM, Ollama, llama.cpp server or any chat-completions server."""

    kind: Literal["openai-compatible"]
    base_url: AnyHttpUrl


class EmbeddedBackendConfig(_BackendBase):
    """A small packaged model run in-process on the CPU (no key, no server)."""

    kind: Literal["embedded"]
    model: str = "qwen2.5-1.5b"
    n_threads: int | None = Field(default=None, ge=1, le=256)
    n_ctx: int = Field(default=8192, ge=512, le=131_072)
    repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    max_tokens: int = Field(default=1536, ge=16, le=32_768)
    max_reasks: int = Field(
        default=0,
        ge=0,
        le=10,
        description="re-asks after invalid output; none by default: at temperature 0 the small model "
        "wrote the same answer again (the seed: three generations, 377 s, the same shortened date words), "
        "so what fails grounding is mended, dropped or set unknown at once",
    )
    concurrency: int = Field(default=1, ge=1, le=1)
    chunk_chars: int = Field(default=6_000, ge=500, le=200_000)
    deadline: float = Field(default=1800.0, gt=0.0, le=86_400.0)
    steps: bool = Field(
        default=True,
        description="without strategy: per-list-cued (one record list at a time, sharing the prompt, then "
        "one more call per cued sentence no record quotes) or one-call",
    )
    max_items: int | None = Field(
        default=4,
        ge=1,
        le=100,
        description="cap on every list the model writes, below the schema's own: bounds time and stops loops",
    )
    verbatim_quotes: bool = Field(
        default=True,
        description="let evidence quotes be only the article's own sentences and clauses, and the names and "
        "places a second look asks for only runs of the article's words (in the grammar)",
    )
    prefix_cache: bool = Field(
        default=True,
        description="keep the evaluated system prompt in <cache dir>/prefix-states: later documents and "
        "processes read only the article",
    )

    def default_mode(self) -> InstructorMode:
        return self.mode or "json_schema"

    def default_strategy(self) -> str:
        """``strategy``, or one call per record list and per cued sentence (``steps``, the default) or one call.

        ``per-list-cued`` by the numbers (dev set, 31 documents, the 1.5B model): P 0.76, R 0.52, F1 0.62
        at 01e1a37 in 116 s per article, against ``per-list``'s P 0.51, R 0.30, F1 0.38 in 88 s (read at
        b115aff) and ``one-call``'s F1 0.27 in 40 s; 0 records on the negative controls (docs/strategies.md).
        """
        return self.strategy or ("per-list-cued" if self.steps else "one-call")

    def documents_in_progress(self) -> int:
        """One document at a time: the model keeps an article's tokens between its calls.

        Two documents in progress would alternate their calls on the one model, so every call
        would read its article again (~400 tokens, ~10 s on two cores), and a document's answers
        would depend on which other document ran beside it (docs/embedded.md, "Same answers
        whatever ran before").
        """
        return self.concurrency

    def sampling(self) -> dict[str, Any]:
        return super().sampling() | {"repeat_penalty": self.repeat_penalty}


BackendConfig = Annotated[
    OpenAIBackendConfig | OpenAICompatibleBackendConfig | EmbeddedBackendConfig,
    Field(discriminator="kind"),
]


class CacheConfig(_Strict):
    dir: Path | None = Field(default=None, strict=False)  # TOML gives a path as a string
    enabled: bool = True

    def resolved_dir(self) -> Path:
        if self.dir is not None:
            return self.dir.expanduser()
        return Path(platformdirs.user_cache_dir(APP_NAME))


class TaskConfig(_Strict):
    """Which task to run: ``name = "module:ATTR"`` names a :class:`~llm_extract.task.Task`.

    The older keys ``schema`` (a Pydantic class), ``prompt`` (a template name)
    and ``prompt_dir`` still work and replace those parts of the built-in
    task; they cannot be mixed with ``name``. Nothing set: the built-in task,
    ``llm_extract.schemas:TASK``.
    """

    name: str | None = Field(default=None, pattern=r"^[\w.]+:[\w]+$")
    schema_: str | None = Field(default=None, alias="schema", pattern=r"^[\w.]+:[\w]+$")
    prompt: str | None = Field(default=None, min_length=1)
    prompt_dir: Path | None = Field(default=None, strict=False)
    example: Path | None = Field(default=None, strict=False)
    """A gold fixture shown to the model as a worked example before every article (never scored with it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @model_validator(mode="after")
    def _one_way_to_name_a_task(self) -> TaskConfig:
        if self.name is not None and (self.schema_ is not None or self.prompt is not None or self.prompt_dir):
            raise ValueError(
                "give either name (a Task) or the older schema/prompt/prompt_dir keys, not both; "
                "put the schema and templates in your Task"
            )
        return self


def _builtin_backends() -> dict[str, BackendConfig]:
    return {"embedded": EmbeddedBackendConfig(kind="embedded")}


class Config(_Strict):
    """The whole settings tree. Build it with :func:`load_config`."""

    default_backend: str = "embedded"
    backends: dict[str, BackendConfig] = Field(default_factory=dict)
    cache: CacheConfig = CacheConfig()
    task: TaskConfig = TaskConfig()
    source: Path | None = Field(default=None, exclude=True)
    """The file this config was read from, for error messages."""

    @model_validator(mode="after")
    def _defaults_and_names(self) -> Config:
        merged = _builtin_backends() | dict(self.backends)
        object.__setattr__(self, "backends", merged)
        if self.default_backend not in merged:
            raise ValueError(
                f"default_backend: {self.default_backend!r} is not a [backends.NAME] table "
                f"(known: {', '.join(sorted(merged))}); fix: add [backends.{self.default_backend}] "
                "or name a known backend"
            )
        return self

    @property
    def where(self) -> str:
        return str(self.source) if self.source else "built-in defaults"

    def backend(self, name: str | None = None) -> tuple[str, BackendConfig]:
        """The backend to use, with its key read from the environment.

        Raises:
            ConfigError: unknown name, or its key variable is unset.
        """
        name = name or self.default_backend
        if name not in self.backends:
            raise ConfigError(
                f"{self.where}: backend {name!r} is not configured "
                f"(known: {', '.join(sorted(self.backends))}); add a [backends.{name}] table or pick a known one"
            )
        cfg = self.backends[name]
        if isinstance(cfg, _ServerBackendBase) and cfg.api_key_env:
            value = os.environ.get(cfg.api_key_env)
            if not value:
                raise ConfigError(
                    f"{self.where}: backends.{name}.api_key_env: environment variable "
                    f"{cfg.api_key_env} is not set; export it, or remove api_key_env for a server without keys"
                )
            cfg = cfg.model_copy(update={"api_key": SecretStr(value)})
        return name, cfg


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read, in the documented order, or ``None`` for defaults."""
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    local = Path("llm_extract.toml")
    if local.is_file():
        return local
    user = Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
    return user if user.is_file() else None


_FIXES = {
    "extra_forbidden": "remove it or fix its spelling",
    "missing": "add it",
    "union_tag_invalid": "use kind = 'openai', 'openai-compatible' or 'embedded'",
    "union_tag_not_found": "add kind = 'openai', 'openai-compatible' or 'embedded'",
    "url_parsing": "give a full URL such as 'http://127.0.0.1:8000/v1'",
    "url_scheme": "use an http:// or https:// URL",
    "literal_error": "use one of the listed values",
    "enum": "use one of the listed values",
    "int_parsing": "write a whole number, without quotes",
    "int_type": "write a whole number, without quotes",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number, without quotes",
    "float_type": "write a number, without quotes",
    "bool_parsing": "write true or false, without quotes",
    "bool_type": "write true or false, without quotes",
    "string_type": "write a quoted string",
    "string_pattern_mismatch": "use only letters, digits and _ (an environment variable name)",
    "path_type": "write a quoted path",
    "dict_type": "make it a [table]",
    "model_type": "make it a [table]",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
}


def _known_keys() -> set[str]:
    models: list[type[BaseModel]] = [
        Config, CacheConfig, TaskConfig, OpenAIBackendConfig, OpenAICompatibleBackendConfig, EmbeddedBackendConfig
    ]  # fmt: skip
    return {f.alias or name for m in models for name, f in m.model_fields.items() if name != "source"}


def _one_line(error: ValidationError, where: str) -> str:
    errors = error.errors()
    # a typo is the cause of the "Field required" that comes with it: name the typo first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("function-", "tagged-union")))
    loc = loc.replace("schema_", "schema")
    # Discriminated unions add the tag to the path: backends.x.openai.model -> backends.x.model
    for kind in ("openai-compatible", "openai", "embedded"):
        loc = loc.replace(f".{kind}.", ".").removesuffix(f".{kind}")
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        guess = difflib.get_close_matches(str(first["loc"][-1]), sorted(_known_keys()), n=1, cutoff=0.6)
        msg = "unknown key" + (f" (did you mean {guess[0]}?)" if guess else "")
    if first["type"] == "value_error" and not loc:  # a model validator names its key itself
        return f"{where}: {msg}"
    fix = _FIXES.get(first["type"], "")
    more = len(error.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {loc or 'config'}: {msg}" + (f"; fix: {fix}" if fix else "") + tail


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    backend: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Config:
    """Read, merge and validate the config; every problem is one ``ConfigError`` line.

    Args:
        path: explicit config file; otherwise :func:`find_config` decides.
        backend: overrides ``default_backend`` (and ``$LLM_EXTRACT_BACKEND``).
        cache_dir: overrides ``[cache] dir`` (and ``$LLM_EXTRACT_CACHE_DIR``).
    """
    file = find_config(path)
    data: dict[str, Any] = {}
    where = "built-in defaults"
    if file is not None:
        where = str(file)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{where}: config file not found; fix the path or create it") from None
        except IsADirectoryError:
            raise ConfigError(f"{where}: is a directory, not a config file") from None
        except PermissionError:
            raise ConfigError(f"{where}: config file is not readable (permission denied)") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: config file is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: TOML syntax error: {exc}; fix the file") from None
    default_backend = backend or os.environ.get(ENV_BACKEND)
    if default_backend:
        data["default_backend"] = default_backend
    env_cache = cache_dir if cache_dir is not None else os.environ.get(ENV_CACHE_DIR)
    if env_cache:
        data.setdefault("cache", {})
        if isinstance(data["cache"], dict):
            data["cache"] = {**data["cache"], "dir": str(env_cache)}
    data["source"] = file
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, where)) from None
