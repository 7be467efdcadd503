"""Where each evidence quote sits in the article, and which way the text runs.

No HTML here: these are the facts the display lays out (and the tests and
the browser check read back), kept apart from the markup so both can change
alone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from ..grounding import SourceText
from ..results import iter_evidence_paths, record_lists


@dataclass(frozen=True)
class EvidenceSpan:
    """One evidence quote of a result, located in the article.

    Attributes:
        path: where the quote sits in the records, e.g.
            ``"incidents[0].casualties[1].evidence[0]"``.
        record_type: the record list it belongs to (``"incidents"``).
        record_index: the record's index in that list.
        quote: the quote as the model gave it.
        start, end: offsets into the original text, or ``None`` when the
            quote could not be located (only for results built by hand).
        label: a short description of the record, for tooltips.
    """

    path: str
    record_type: str
    record_index: int
    quote: str
    start: int | None
    end: int | None
    label: str = ""

    @property
    def record(self) -> str:
        """The record part of the path: ``"incidents[0]"``."""
        return f"{self.record_type}[{self.record_index}]"

    @property
    def field(self) -> str:
        """The path inside the record: ``"casualties[1].evidence[0]"``."""
        return self.path[len(self.record) + 1 :]


def record_label(record: Any, limit: int = 90) -> str:
    """A one-line description of a record: its ``summary`` if it has one, else its first text field."""
    if not isinstance(record, BaseModel):
        return ""
    summary = getattr(record, "summary", None)
    if isinstance(summary, str) and summary:
        text = summary
    else:
        text = next((v for n in type(record).model_fields if isinstance(v := getattr(record, n), str) and v), "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_spans(records: BaseModel, text: str) -> list[EvidenceSpan]:
    """Every evidence quote of ``records`` with offsets into ``text``.

    Offsets come from grounding. A quote without offsets (a result built by
    hand, outside :func:`~llm_extract.grounding.grounding`) is looked up in
    the text the same way grounding does; one that is not found keeps
    ``None`` offsets and is reported, not highlighted.
    """
    source: SourceText | None = None
    spans: list[EvidenceSpan] = []
    for list_name, items in record_lists(records):
        for i, record in enumerate(items):
            label = record_label(record)
            for path, ev in iter_evidence_paths(record, f"{list_name}[{i}]"):
                start, end = ev.start, ev.end
                if start is None or end is None:
                    source = source or SourceText(text)
                    found = source.find(ev.quote)
                    start, end = found if found else (None, None)
                if start is not None and end is not None:
                    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
                    if start >= end:
                        start = end = None
                spans.append(EvidenceSpan(path, list_name, i, ev.quote, start, end, label))
    return spans


# --- direction ---------------------------------------------------------------------

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


def _strong_counts(text: str) -> tuple[int, int, int]:
    """(right-to-left, left-to-right, Arabic) strong-character counts."""
    rtl = ltr = arabic = 0
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            rtl += 1
            code = ord(ch)
            arabic += any(lo <= code <= hi for lo, hi in _ARABIC_RANGES)
        elif bidi == "L":
            ltr += 1
    return rtl, ltr, arabic


def text_direction(text: str, default: Literal["rtl", "ltr"] = "ltr") -> Literal["rtl", "ltr"]:
    """``"rtl"`` when most strong characters of ``text`` are right-to-left, else ``"ltr"``.

    A share rather than the first strong character (what ``dir="auto"``
    does): an Arabic paragraph that starts with "BBC" or a date in Latin
    digits must still run right-to-left.
    """
    rtl, ltr, _ = _strong_counts(text)
    if rtl == ltr == 0:
        return default
    return "rtl" if rtl >= ltr else "ltr"


def text_language(text: str) -> str | None:
    """``"ar"`` when Arabic letters are most of the strong characters; ``None`` when unsure."""
    rtl, ltr, arabic = _strong_counts(text)
    return "ar" if arabic and arabic * 2 >= rtl + ltr else None
