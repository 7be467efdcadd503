"""Reading articles: text in, or one clear line saying why not.

Scrapers produce empty files, PNGs named ``.txt`` and legacy encodings. A
model given mojibake returns confident nonsense, so anything that is not
clean text is refused here, before a request or a cache entry exists.

Encodings: UTF-8 (with or without BOM) and UTF-16 *with a BOM* are decoded.
Everything else, windows-1256 included, is refused with the ``iconv``
command that converts it: legacy single-byte encodings cannot be told apart
reliably, and a wrong guess would silently feed the model garbage.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

log = logging.getLogger("llm_extract")

__all__ = [
    "Document",
    "iter_documents",
    "parse_published",
    "read_bytes",
    "read_document",
    "split_chunks",
    "unique_ids",
]

_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF file",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (docx/xlsx?)",
    b"\x1f\x8b": "a gzip archive",
}


MAX_FILE_BYTES = 64 * 2**20
"""Largest article file read (64 MiB, far over any article); checked before reading, so a 1 GB file costs nothing."""
MAX_JSONL_BYTES = 512 * 2**20
"""Largest JSONL file read (512 MiB)."""

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_published(value: object, where: str = "published") -> str | None:
    """A publication date as ISO text, to the precision known: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.

    Analysts often know only the month an article appeared; a partial date
    still lets "the 15th of this month" be resolved, so it is kept as given.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if _PARTIAL_DATE.match(text):
        try:
            dt.date.fromisoformat((text + "-01-01")[:10])
            return text
        except ValueError:
            pass
    raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")


@dataclass(frozen=True)
class Document:
    """One article: its id, its text and, when known, its publication date (ISO, maybe partial).

    ``source`` (the publisher, e.g. ``"Enab Baladi"``) and ``url`` are carried
    from the input into every result's provenance, so exports can cite them
    (ACLED's ``source`` and ``source_url``); the model never sees them.
    """

    id: str
    text: str
    published: str | None = None
    source: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise InputError(f"{self.id}: document is empty (no text to extract from)")
        object.__setattr__(self, "published", parse_published(self.published, f"{self.id}: published"))


def _utf16_without_bom(data: bytes) -> str | None:
    """``"UTF-16LE"``/``"UTF-16BE"`` when BOM-less bytes decode to mostly printable text, else ``None``.

    Only used to make the refusal helpful: the file is still refused, since
    telling UTF-16 from other binary data without a BOM is a guess.
    """
    head = data[:4096]
    encoding = "UTF-16LE" if head[1::2].count(0) >= head[0::2].count(0) else "UTF-16BE"
    try:
        text = data[: len(data) - len(data) % 2].decode(encoding)[:2000]
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return encoding if text and printable >= 0.95 * len(text) else None


def _decode(data: bytes, name: str) -> str:
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{name}: is {what}, not a text file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: has a UTF-16 BOM but is not valid UTF-16") from None
    if b"\x00" in data[:4096]:
        encoding = _utf16_without_bom(data)
        if encoding:
            raise InputError(
                f"{name}: looks like {encoding} without a byte-order mark, which is refused rather than guessed; "
                f"convert it first: iconv -f {encoding} -t UTF-8 {name} > {Path(name).stem}.utf8.txt"
            )
        raise InputError(f"{name}: is binary (contains NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: is not UTF-8 (byte {exc.start}); legacy encodings such as windows-1256 are "
            f"refused, convert it first: iconv -f WINDOWS-1256 -t UTF-8 {name} > {Path(name).stem}.utf8.txt"
        ) from None


def _doc_id(path: Path) -> str:
    name = path.name
    return name[: -len(".txt")] if name.endswith(".txt") else name


def _read_bounded(p: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or one clear ``InputError``.

    The size is checked before reading and the read itself is bounded (a
    file may grow meanwhile); devices and FIFOs are refused unopened, since
    ``/dev/zero`` never ends and opening a FIFO waits for a writer.
    """
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{p}: is not a regular file (a device, FIFO or socket); save the text to a file first")
        if info.st_size > limit:
            raise InputError(f"{p}: {info.st_size:,} bytes is over the limit of {limit:,} bytes for one input file")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied (file is not readable)") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise InputError(f"{p}: grew over the limit of {limit:,} bytes for one input file while being read")
    return data


def read_bytes(path: Path) -> bytes:
    """A file's bytes, bounded, or an ``InputError`` whose one line says why not (missing, a directory...)."""
    return _read_bounded(path, MAX_FILE_BYTES)


def read_document(
    path: str | os.PathLike[str],
    *,
    doc_id: str | None = None,
    published: str | dt.date | None = None,
) -> Document:
    """Read one article file.

    Raises:
        InputError: missing, a directory, unreadable, binary, not UTF-8, or empty.
    """
    p = Path(path)
    if p.suffix.lower() in (".csv", ".json"):  # a table or an object is rarely one article
        hint = "--text-column to read one article per row" if p.suffix.lower() == ".csv" else ".jsonl"
        log.warning("%s: a %s file is read as one article; use %s", p, p.suffix.lower(), hint)
    data = read_bytes(p)
    if not data:
        raise InputError(f"{p}: file is empty")
    text = _decode(data, str(p))
    if not text.strip():
        raise InputError(f"{p}: file contains only whitespace")
    return Document(id=doc_id or _doc_id(p), text=text, published=parse_published(published))


def iter_documents(
    sources: list[str | os.PathLike[str]],
    *,
    published: str | dt.date | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    follow_symlinks: bool = False,
) -> Iterator[Document | InputError]:
    """Documents from files, directories (``*.txt``, sorted), JSONL and CSV files, in order.

    A document that cannot be read is yielded as its ``InputError`` instead of
    stopping the batch, so one bad file never costs the rest. ``"-"`` is
    standard input, read as one article. A ``.csv`` is one article per row
    when ``text_column`` names its text column (``id_column`` its ids, else
    ``<file stem>-<row>``; ``published``, ``source`` and ``url`` columns are
    used when present); without it, a ``.csv`` or ``.json`` file is read as
    one article, with a warning, since that is rarely what was meant.
    In a directory, a symbolic link that leads outside it (``link.txt ->
    /etc/passwd``) is skipped unless ``follow_symlinks``, and a broken one is
    named, not dropped: a corpus must not send files from elsewhere to a model server.
    """
    for source in sources:
        p = Path(source)
        if str(source) == "-":
            yield _read_stdin(published)
        elif p.suffix.lower() == ".csv" and text_column:
            yield from _iter_csv(p, text_column, id_column)
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix == ".txt" and (f.is_symlink() or f.is_file()))
            if not files:
                yield InputError(f"{p}: directory holds no .txt files")
            for f in files:
                skipped = _link_problem(f, p, follow_symlinks)
                if skipped is not None:
                    yield skipped
                elif f.is_file():
                    yield _try_read(f, published)
        elif p.suffix == ".jsonl":
            yield from _iter_jsonl(p)
        else:
            yield _try_read(p, published)


def _read_stdin(published: str | dt.date | None) -> Document | InputError:
    """Standard input as one article, id ``stdin`` (decoded and checked like a file)."""
    try:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)  # bounded like a file: a pipe can be endless
        if len(data) > MAX_FILE_BYTES:
            raise InputError(f"<stdin>: over the limit of {MAX_FILE_BYTES:,} bytes for one article")
        text = _decode(data, "<stdin>")
        return Document(id="stdin", text=text, published=parse_published(published))
    except InputError as exc:
        return exc


def _iter_csv(path: Path, text_column: str, id_column: str | None) -> Iterator[Document | InputError]:
    try:
        text = _decode(read_bytes(path), str(path))
    except (OSError, InputError) as exc:
        yield exc if isinstance(exc, InputError) else InputError(f"{path}: cannot be read ({exc})")
        return
    csv.field_size_limit(2**31 - 1)  # articles are longer than the csv module's 128 KiB default
    reader = csv.DictReader(text.splitlines(keepends=True))
    columns = reader.fieldnames or []
    for wanted in (text_column, id_column):
        if wanted is not None and wanted not in columns:
            yield InputError(f"{path}: no column {wanted!r} (columns: {', '.join(columns)})")
            return
    for n, row in enumerate(reader, 2):  # row 1 is the header
        where = f"{path}:{n}"
        try:
            doc_id = (row.get(id_column) or "").strip() if id_column else ""
            yield Document(
                id=doc_id or f"{path.stem}-{n}",
                text=row.get(text_column) or "",
                published=parse_published(row.get("published"), where),
                **_carried(dict(row), where),
            )
        except InputError as exc:
            yield InputError(f"{where}: {exc}") if not str(exc).startswith(where) else exc


def _link_problem(path: Path, directory: Path, follow: bool) -> InputError | None:
    """Why a directory entry that is a symbolic link is skipped, or ``None`` to read it."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    if not target.exists():
        return InputError(f"{path}: is a broken symbolic link (to {os.readlink(path)}), skipped")
    if not follow and not target.is_relative_to(directory.resolve()):
        return InputError(
            f"{path}: is a symbolic link to {target}, outside {directory}, skipped; pass --follow-symlinks to read it"
        )
    return None


def _try_read(path: Path, published: str | dt.date | None) -> Document | InputError:
    try:
        return read_document(path, published=published)
    except InputError as exc:
        return exc


def _iter_jsonl(path: Path) -> Iterator[Document | InputError]:
    try:
        text = _decode(_read_bounded(path, MAX_JSONL_BYTES), str(path))
    except (OSError, InputError) as exc:
        yield exc if isinstance(exc, InputError) else InputError(f"{path}: cannot be read ({exc})")
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise InputError(f"{where}: expected an object with a string 'text'")
            raw_id = obj.get("id")
            if raw_id is not None and not isinstance(raw_id, str):
                raise InputError(f"{where}: 'id' must be a string, not {type(raw_id).__name__}")
            doc_id = raw_id or f"{path.stem}-{n}"
            for field, value in (("id", doc_id), ("text", obj["text"])):
                _check_encodable(value, f"{where}: {field}")
            yield Document(
                id=doc_id,
                text=obj["text"],
                published=parse_published(obj.get("published"), where),
                **_carried(obj, where),
            )
        except json.JSONDecodeError as exc:
            yield InputError(f"{where}: not valid JSON ({exc.msg})")
        except InputError as exc:
            yield exc


CARRIED = ("source", "url")
"""Input fields kept beside the text (JSONL keys, CSV columns) and carried into provenance."""


def _carried(obj: dict[str, object], where: str) -> dict[str, str | None]:
    """``source`` and ``url`` of one input line: text or absent, anything else refused."""
    carried: dict[str, str | None] = {}
    for name in CARRIED:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: {name!r} must be text, not {type(value).__name__}")
        carried[name] = value or None
    return carried


def _check_encodable(text: str, where: str) -> None:
    """Refuse a lone surrogate (JSON ``"\\ud800"``): UTF-8 has no form for it, so no request can hold it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{where}: invalid character U+{ord(text[exc.start]):04X} (a lone surrogate) at position {exc.start}"
        ) from None


def unique_ids(items: Iterable[Document | InputError]) -> Iterator[Document | InputError]:
    """The documents with ids made unique, in order: a repeated id gets ``#2``, ``#3``... and a warning.

    Two JSONL lines with one id, or ``d1/x.txt`` and ``d2/x.txt``, would give
    two output lines with one ``doc_id`` and one cache entry for two texts.
    Suffixing in input order keeps ids stable from run to run.
    """
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Document):
            doc_id, n = item.id, 1
            while doc_id in seen:
                n += 1
                doc_id = f"{item.id}#{n}"
            if doc_id != item.id:
                log.warning("%s: document id given more than once; occurrence %d is renamed %r", item.id, n, doc_id)
                item = dataclasses.replace(item, id=doc_id)
            seen.add(doc_id)
        yield item


_BREAK = re.compile(r"\n\s*\n|\n|(?<=[.!?؟。])\s+")


def split_chunks(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Overlapping windows ``(start, end)`` covering ``text``, cut at line or sentence ends.

    The overlap lets an event that straddles a cut appear whole in one chunk;
    the engine merges the duplicates that the overlap creates.
    """
    if len(text) <= size:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = max((m.end() for m in _BREAK.finditer(text, start + size // 2, end)), default=end)
            end = cut
        spans.append((start, end))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return spans
