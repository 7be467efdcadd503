"""Normalisation and offsets: the article prepared once, so a quote is found in one ``str.find``.

Models copy Arabic text with small orthographic drift (a hamza dropped from
an alef, a taa marbuta written as haa, diacritics added, Eastern digits turned
Western), so quotes are compared after a normalisation that erases exactly
those differences. The normalised text keeps a map back to the original
characters, so the offsets a record stores satisfy
``source[start:end] == matched passage`` in the *original* text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

MIN_QUOTE_CHARS = 6
"""Shorter quotes ground trivially (any article contains "في"), so they prove nothing."""

_ALEFS = {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"}
_FOLD = {
    **_ALEFS,
    "\u0629": "\u0647",  # taa marbuta -> haa
    "\u0649": "\u064a",  # alef maqsura -> yaa
    "\u201c": '"',
    "\u201d": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u201e": '"',
    "\u2018": "'",
    "\u2019": "'",
    "\u2032": "'",
    "\u2013": "-",
    "\u2014": "-",
    "\u2011": "-",
}
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
_DROP_RANGES = (
    (0x064B, 0x065F),  # harakat, shadda, sukun
    (0x0670, 0x0670),  # superscript alef
    (0x06D6, 0x06ED),  # Quranic annotation marks
    (0x0640, 0x0640),  # tatweel
    (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings
    (0x2066, 0x2069),  # bidi isolates
    (0xFEFF, 0xFEFF),  # BOM
)


def _fold_char(ch: str) -> str:
    """Map one original character to its normalised form ('' drops it).

    Memoised in ``_FOLDS`` by :func:`_normalize_with_map`: articles reuse a few
    hundred distinct characters, and that loop is the grounding hot path.
    """
    code = ord(ch)
    for lo, hi in _DROP_RANGES:
        if lo <= code <= hi:
            return ""
    if ch in _DIGITS:
        return _DIGITS[ch]
    if ch in _FOLD:
        return _FOLD[ch]
    if code >= 0xFB50:  # Arabic presentation forms, ligatures, full-width forms
        compatible = unicodedata.normalize("NFKC", ch)
        if compatible != ch:  # an emoji or U+FFFD is its own form: folding it again would never end
            return "".join(_fold_char(c) for c in compatible)
    return ch.lower()


_FOLDS: dict[str, str | None] = {}
"""Per character: its fold, or ``None`` for whitespace (one dict look-up in the hot loop)."""


def _normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalise ``text`` and return, for each output character, its source index."""
    out: list[str] = []
    index: list[int] = []
    pending_space = False
    folds = _FOLDS
    for i, ch in enumerate(text):
        try:
            folded = folds[ch]
        except KeyError:
            folded = folds[ch] = None if ch.isspace() else _fold_char(ch)
        if folded is None:
            pending_space = bool(out)
            continue
        if not folded:
            continue
        if pending_space:
            out.append(" ")
            index.append(i - 1)
            pending_space = False
        if len(folded) == 1:
            out.append(folded)
            index.append(i)
        else:
            for c in folded:
                out.append(c)
                index.append(i)
    return "".join(out), index


_GAP = "\x00"
"""What whitespace becomes in :func:`normalize`'s one ``str.translate`` pass (a text holding it takes the slow way)."""


class _Table(dict[int, str]):
    """``str.translate``'s table, filled per code point on first sight with :func:`_fold_char`."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = self[code] = _GAP if ch.isspace() else _fold_char(ch)
        return folded


_TABLE = _Table()


def normalize(text: str) -> str:
    """The comparison form of ``text``: whitespace collapsed, Arabic orthography folded.

    The same string as :func:`_normalize_with_map` gives, without the offsets: one
    ``str.translate`` (folds per character, dropped marks gone, whitespace made
    :data:`_GAP`), then each run of gaps between kept characters becomes one space.
    Quotes, numbers and passages are normalised many times per document, so this runs in C.
    """
    if _GAP in text:
        return _normalize_with_map(text)[0]
    return " ".join(part for part in text.translate(_TABLE).split(_GAP) if part)


ARABIC_PREFIXES = ("وال", "بال", "لل", "ال", "و", "ب")
"""What an Arabic word may carry before it (normalised): conjunction, preposition, article (والقتلى, بإصابة)."""


def strip_prefix(word: str, prefixes: tuple[str, ...] = ARABIC_PREFIXES) -> str:
    """``word`` without the first of ``prefixes`` it starts with, if at least 3 letters remain."""
    for prefix in prefixes:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


_WORDS = re.compile(r"[^\W\d_]+")


def word_forms(text: str) -> set[str]:
    """The words of ``text``, normalised and lower case, each also without an Arabic prefix (ل too).

    What a task's word list is matched against: "airstrikes", "والقصف" and "لمقتل"
    then meet "airstrikes", "قصف" and "مقتل".
    """
    words = _WORDS.findall(normalize(text).lower())
    return {*words, *(strip_prefix(w, (*ARABIC_PREFIXES, "ل")) for w in words)}


EDGE_JUNK = " \"'.,:;،؛…-"
"""Punctuation and spaces a quote may gain or lose at its edges without changing what it claims."""


class SourceText:
    """An article prepared once for many quote look-ups.

    Normalising a long article per quote would make grounding quadratic;
    this object normalises it once and answers ``find`` in one ``str.find``.
    """

    __slots__ = ("_index", "_norm", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._norm, self._index = _normalize_with_map(text)

    def find(self, quote: str, window: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """Offsets ``(start, end)`` of ``quote`` in the original text, or ``None``.

        Args:
            quote: the text a model says it copied from the article.
            window: original-text offsets to search first (the chunk the
                model saw); the whole article is searched after that.
        """
        needle = normalize(quote).strip(EDGE_JUNK)
        if len(needle) < MIN_QUOTE_CHARS:
            return None
        hit = -1
        if window is not None:
            lo = self._norm_pos(window[0])
            hit = self._norm.find(needle, lo, self._norm_pos(window[1]))
        if hit < 0:
            hit = self._norm.find(needle)
        if hit < 0:
            return None
        end = self._index[hit + len(needle) - 1] + 1
        # Take in marks that follow the last matched letter (a final kasra, a tatweel).
        while end < len(self.text) and not self.text[end].isspace() and not _fold_char(self.text[end]):
            end += 1
        return self._index[hit], end

    def contains(self, span: str) -> bool:
        """Whether ``span`` (a name, a place) is written in the article, normalised as quotes are.

        No minimum length, unlike quotes: a short place name is still a claim
        the article must make. An empty span claims nothing and is allowed.
        """
        needle = normalize(span).strip(EDGE_JUNK)
        if not needle or needle in self._norm:
            return True
        # ل + ال is written لل: "للحكومة السورية" contains the name "الحكومة السورية"
        return needle.startswith("\u0627\u0644") and "\u0644" + needle[2:] in self._norm

    def _norm_pos(self, original: int) -> int:
        """First normalised position whose source index is >= ``original``."""
        return bisect.bisect_left(self._index, original)


_SENTENCE_END = re.compile(r"\n+|(?<=[.!?؟])\s+")
_CLAUSE_END = re.compile(r"[،,؛;:]\s+")


def quotable_passages(text: str, max_chars: int = 400) -> list[str]:
    """The sentences of ``text`` and their clauses, in order, without repeats.

    What a quote may be when a backend restricts quotes to the article:
    whole sentences for a full account, clauses for a single fact ("أسفرت عن
    قتيلين وعدد من الجرحى"), each short enough to fit the evidence field
    and long enough to ground.
    """
    return list(_passages(text, max_chars))


SPAN_WORDS = 8
"""The longest name or place :func:`article_spans` offers, in words."""
SPANS_VERSION = 2
"""Bumped whenever :func:`article_spans` offers other spans: part of the cache key of a task that asks for them."""

_SPAN_BREAK = re.compile(r"[.!?؟](?=\s|$)|[،,؛;:()\[\]{}«»\"“”|]")
"""Where a name or place does not run on: sentence ends, clause marks, brackets and quotation marks."""


def article_spans(text: str, max_words: int = SPAN_WORDS) -> list[str]:
    """Every run of 1 to ``max_words`` words of ``text`` that crosses no punctuation, in order, without repeats.

    What a name or a place may be when a backend restricts them to the
    article (:attr:`llm_extract.backends.ModelRequest.spans`): asked for a
    negotiation's parties, the 1.5B model wrote "الجيش الإسلامي" where the
    article writes "جيش الاسلام", and grounding rightly refused the answer.
    Offered only the article's words, it can write a name that is wrong,
    never one the article does not contain. The whole article, not only the
    record's sentences: held to those, the model named a truce's place "the
    area" where it had written "Eastern Ghouta", named two sentences earlier.
    """
    spans: dict[str, None] = {}
    for clause in _SPAN_BREAK.split(text):
        words = clause.strip(EDGE_JUNK + "\t\n").split()
        for i, first in enumerate(words):
            for head in dict.fromkeys((first, _unattached(first))):
                for n in range(1, min(max_words, len(words) - i) + 1):
                    span = " ".join([head, *words[i + 1 : i + n]]).strip(EDGE_JUNK)
                    if span:
                        spans.setdefault(span)
    return list(spans)


def _unattached(word: str) -> str:
    """``word`` without the conjunction or preposition Arabic writes onto a name ("وجيش", "بالغوطة", "للحكومة").

    The name alone is still written in the article (:meth:`SourceText.contains`
    reads "للحكومة" as "الحكومة"), and it is the name a record should hold.
    """
    if word.startswith("\u0644\u0644") and len(word) > 4:  # للحكومة: الحكومة
        return "\u0627" + word[1:]
    if word.startswith(("\u0648", "\u0628\u0627\u0644", "\u0641\u0627\u0644")) and len(word) > 3:  # و, بال, فال
        return word[1:]
    return word


@lru_cache(maxsize=32)
def _passages(text: str, max_chars: int) -> tuple[str, ...]:
    """:func:`quotable_passages`, kept for the last few texts.

    Every request about a chunk carries its passages, although a server backend
    never reads them; a chunk asked about again in one process (another backend
    in an evaluation, a refresh, a document retried) is then split and every
    sentence normalised once, not each time. A tuple, so no caller can change the kept copy.
    """
    passages: dict[str, None] = {}
    for sentence in _SENTENCE_END.split(text):
        for piece in (sentence, *_CLAUSE_END.split(sentence)):
            piece = piece.strip(EDGE_JUNK + "\t")
            if len(normalize(piece)) >= MIN_QUOTE_CHARS and len(piece) <= max_chars:
                passages.setdefault(piece)
    return tuple(passages)
