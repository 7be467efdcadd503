"""What a batch takes: article text, paths (a file, a directory of ``*.txt``, ``.jsonl``, ``.csv``) or documents.

Kept apart from :mod:`llm_extract.batch` (which runs documents) because
reading inputs is its own job: a string that names a file is read as that
file, and a source that cannot be read comes out as its
:class:`~llm_extract.errors.InputError`, in order, so the batch records it
as a failure and goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import sha256_text
from .documents import Document, iter_documents, parse_published, read_document
from .errors import InputError

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["Source", "as_document", "documents_from"]

log = logging.getLogger("llm_extract")

Source = str | os.PathLike[str] | Document
"""What a batch takes: a :class:`Document`, a path (file, directory of ``*.txt``, ``.jsonl``) or article text."""


def as_document(
    source: str | os.PathLike[str] | Document,
    *,
    doc_id: str | None = None,
    published: dt.date | str | None = None,
) -> Document:
    """Normalise what a user passes (text, path, Document) into a :class:`Document`."""
    date = parse_published(published)
    if isinstance(source, Document):
        return source
    if isinstance(source, os.PathLike):
        return read_document(Path(source), doc_id=doc_id, published=date)
    if not isinstance(source, str):
        raise InputError(f"expected article text, a path or a Document, got {type(source).__name__}")
    if _names_a_file(source):
        log.info("%s: the string names a file, so the file is read", source)
        return read_document(Path(source), doc_id=doc_id, published=date)
    return Document(id=doc_id or f"text-{sha256_text(source)[:12]}", text=source, published=date)


def _names_a_file(text: str) -> bool:
    """A short, one-line string that is the path of an existing file (not article text)."""
    if len(text) > 1024 or "\n" in text or not text.strip():
        return False
    try:
        return Path(text).is_file()
    except OSError:  # a name too long for the file system, say
        return False


def documents_from(
    sources: Source | Iterable[Source],
    *,
    published: str | None = None,
    text_is_path: bool = False,
    text_column: str | None = None,
    id_column: str | None = None,
    follow_symlinks: bool = False,
) -> Iterator[Document | InputError]:
    """Expand sources into documents, in order; unreadable ones come out as their ``InputError``.

    A path may be a text file, a directory of ``*.txt`` (sorted by name) or a
    ``.jsonl`` of ``{"id", "text", "published"?, "source"?, "url"?}``, or a
    ``.csv`` with ``text_column`` (see :func:`~llm_extract.documents.iter_documents`). A ``str`` is article text,
    as in :meth:`Extractor.extract`, unless ``text_is_path`` (the CLI's case).
    """
    if isinstance(sources, (str, os.PathLike, Document)):
        if isinstance(sources, str) and not text_is_path:
            raise TypeError("extract_many takes a list of sources; for one article use extract(), for a file a Path")
        sources = [sources]
    for source in sources:
        if isinstance(source, Document):
            yield source
        elif isinstance(source, os.PathLike) or text_is_path:
            yield from iter_documents(
                [Path(source)],
                published=published,
                text_column=text_column,
                id_column=id_column,
                follow_symlinks=follow_symlinks,
            )
        else:
            try:
                yield as_document(source, published=published)
            except InputError as exc:
                yield exc
