"""Grounding: every quote a model returns must be found in the article.

Models copy Arabic text with small orthographic drift (a hamza dropped from
an alef, a taa marbuta written as haa, diacritics added, Eastern digits turned
Western), so quotes are compared after a normalisation that erases exactly
those differences. The normalised text keeps a map back to the original
characters, so the offsets a record stores satisfy
``source[start:end] == matched passage`` in the *original* text.

Numbers are grounded like quotes: a count is kept only when the evidence of
the record that holds it states that number, in digits or in words. The
engine applies this to any schema field annotated with :data:`STATED`.

Spans are grounded like quotes too: a string field annotated with
:data:`ARTICLE_SPAN` (a name, a place, a source *as written*) must be found in
the article, so a model cannot invent a person or copy the prompt's own
marker. A date value annotated with :class:`DateOf` must agree with its
date words and never be later than the publication date. Both fail with the
error type :data:`UNGROUNDED`, which the engine re-asks and, when re-asks
run out, answers by dropping the record that holds the field, with a warning.

The package: :mod:`.text` (normalisation and offsets), :mod:`.lexicon` (a
task's counting words), :mod:`.context` (the article a validator grounds
against), :mod:`.numbers` (numbers stated in words or digits),
:mod:`.records` (evidence and grounded records), :mod:`.spans` (spans and dates),
:mod:`.dates` (date words read into a value).
"""

from __future__ import annotations

from .context import context_of, grounding
from .dates import date_in, date_stated
from .lexicon import NO_LEXICON, NumberLexicon
from .numbers import STATED, Count, CountMention, Stated, count_mentions, numbers_stated, times_written
from .records import NUMBER_REQUOTED, NUMBER_UNKNOWN, Evidence, GroundedRecord, iter_evidence
from .spans import ARTICLE_SPAN, SALVAGE_VERSION, SPAN_MARK, UNGROUNDED, ArticleSpan, DateOf, Span, drop_ungrounded
from .text import (
    MIN_QUOTE_CHARS,
    SPAN_WORDS,
    SPANS_VERSION,
    SourceText,
    article_spans,
    normalize,
    quotable_passages,
    word_forms,
)

__all__ = [
    "ARTICLE_SPAN",
    "MIN_QUOTE_CHARS",
    "NO_LEXICON",
    "NUMBER_REQUOTED",
    "NUMBER_UNKNOWN",
    "SALVAGE_VERSION",
    "SPANS_VERSION",
    "SPAN_MARK",
    "SPAN_WORDS",
    "STATED",
    "UNGROUNDED",
    "ArticleSpan",
    "Count",
    "CountMention",
    "DateOf",
    "Evidence",
    "GroundedRecord",
    "NumberLexicon",
    "SourceText",
    "Span",
    "Stated",
    "article_spans",
    "context_of",
    "count_mentions",
    "date_in",
    "date_stated",
    "drop_ungrounded",
    "grounding",
    "iter_evidence",
    "normalize",
    "numbers_stated",
    "quotable_passages",
    "times_written",
    "word_forms",
]
