"""One obvious entry: ``llm_extract.extract("article text or path")``.

For one article in a script or notebook, building an :class:`Extractor`
first is ceremony; this function builds one from the config, extracts and
closes it. Reuse an :class:`Extractor` (``Extractor.from_config()``) for many
articles: it keeps its HTTP client or loaded model between them.
"""

from __future__ import annotations

import datetime as dt
import os

from .config import Config, load_config
from .documents import Document
from .extract import Extractor
from .results import DocumentResult

__all__ = ["extract"]


def extract(
    text_or_path: str | os.PathLike[str] | Document,
    *,
    config: Config | str | os.PathLike[str] | None = None,
    backend: str | None = None,
    published: dt.date | str | None = None,
    doc_id: str | None = None,
    cache: bool = True,
) -> DocumentResult:
    """Extract the records of one article with the configured (or named) backend.

    Args:
        text_or_path: article text, a path, or a :class:`Document`. A string
            that names an existing file (one line, no newline) is read as that
            file, as :meth:`Extractor.extract` documents.
        config: a :class:`Config`, a config file, or ``None`` to find one as usual.
        backend: a ``[backends.NAME]``; by default ``default_backend``.
        published: publication date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``), to resolve "this month".
        doc_id: id of the result; defaults to the file name or a hash of the text.
        cache: ``False`` neither reads nor writes the cache.

    Raises:
        InputError, ConfigError, BackendError, ExtractionError: one line each.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    with Extractor(cfg, backend, cache=cache) as extractor:
        return extractor.extract(text_or_path, doc_id=doc_id, published=published)
