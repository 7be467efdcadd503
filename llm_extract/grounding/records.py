"""Evidence and grounded records: the schema building blocks whose quotes and counts are checked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.json_schema import SkipJsonSchema

from .context import context_of
from .datewords import dates_blanked
from .lexicon import NO_LEXICON, NumberLexicon
from .numbers import CountMention, Stated, count_mentions, names_count, numbers_stated, times_written
from .text import SourceText, quotable_passages


class Evidence(BaseModel):
    """A verbatim quote from the article, with its offsets once grounded.

    The model fills ``quote`` only; ``start``/``end`` are hidden from the JSON
    schema it sees and are always computed here, never trusted from a model.
    """

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(
        min_length=1,
        max_length=400,
        description="A passage copied verbatim from the article, word for word.",
    )
    start: SkipJsonSchema[int | None] = None
    end: SkipJsonSchema[int | None] = None

    @model_validator(mode="after")
    def _ground(self, info: ValidationInfo) -> Evidence:
        ctx = context_of(info)
        source = ctx.get("source") if ctx else None
        if not isinstance(source, SourceText):
            return self  # no article to check against (e.g. building by hand)
        window = ctx.get("window") if ctx else None
        span = source.find(self.quote, window)
        if span is None:
            raise ValueError(
                f"evidence quote not found in the article: {self.quote[:200]!r}. "
                "Copy a passage of the article exactly, or drop the record."
            )
        self.start, self.end = span
        return self


def iter_evidence(obj: Any) -> Iterator[Evidence]:
    """Every :class:`Evidence` inside a model, list or dict, depth first."""
    if isinstance(obj, Evidence):
        yield obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_evidence(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iter_evidence(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_evidence(item)


NUMBER_UNKNOWN = "; recorded as unknown"
"""How a warning ends when a number its quotes do not state was set to unknown."""
NUMBER_REQUOTED = "; kept, with the article's passage that states it as a quote"
"""How a warning ends when a passage of the article that states the number became one of the record's quotes."""


class GroundedRecord(BaseModel):
    """Base for schema models whose :data:`STATED` counts must appear in their evidence.

    A subclass declares ``evidence: list[Evidence]``. When validation runs
    with an article in context, every non-null ``STATED`` field must be a
    number the record's quotes state. By default an unstated number is a
    validation error (so the model is re-asked); with
    ``context["unstated_numbers"] == "unknown"`` it is set to ``None`` and a
    warning is appended to ``context["warnings"]`` instead: the engine's last
    resort when re-asks ran out, so a number is never invented.

    Honest must not mean empty: small models often leave a count null that
    their own quote states ("four civilians were killed"). With
    ``context["model_answer"]`` (the engine's extraction), a null count named
    in :attr:`count_words` is read from the record's quotes when they state
    exactly one number next to one of its words (see
    :func:`~llm_extract.grounding.numbers.count_mentions`), with a warning.
    A number the quotes state, but for another of these counts ("injuring one
    person" for ``killed=1``), is not stated for this one.
    """

    model_config = ConfigDict(extra="forbid")

    number_lexicon: ClassVar[NumberLexicon | None] = None
    """What states a count in this record's quotes when the grounding block names no task lexicon
    (a record validated on its own, outside the engine); the task's lexicon wins inside the engine."""

    count_words: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Per count field, the words that say what it counts (``{"killed": ("killed", "مقتل")}``):
    what lets a null count be read from the record's own quotes."""

    @model_validator(mode="after")
    def _numbers_are_stated(self, info: ValidationInfo) -> GroundedRecord:
        ctx = context_of(info)
        if not ctx or not isinstance(ctx.get("source"), SourceText):
            return self
        quotes = " ".join(e.quote for e in iter_evidence(getattr(self, "evidence", [])))
        found = ctx.get("lexicon") or type(self).number_lexicon
        lexicon = found if isinstance(found, NumberLexicon) else NO_LEXICON
        stated: set[int] | None = None
        mentions: dict[str, CountMention] | None = None  # what count_mentions reads in the quotes, once per quotes
        for name, finfo in type(self).model_fields.items():
            if not any(isinstance(m, Stated) for m in finfo.metadata):
                continue
            value = getattr(self, name)
            if value is None:
                continue
            if stated is None or mentions is None:  # a date's day or year is no count
                stated = numbers_stated(dates_blanked(quotes), lexicon)
                mentions = count_mentions(quotes, self.count_words, lexicon) if self.count_words else {}
            field, misread = f"{type(self).__name__}.{name}={value}", None
            if value not in stated:
                problem = f"{field} is not stated in this record's evidence quotes"
            elif misread := self._counted_as_other(name, value, quotes, lexicon, mentions):
                problem = f"{field} is the {misread} count in this record's evidence quotes"
            elif ctx.get("model_answer") and (read := self._counted_otherwise(name, value, mentions)) is not None:
                misread = str(read)
                problem = f"{field} is not the {name} count its quotes state ({read})"
            else:
                continue
            # Reading a stored answer (model_answer) never fails: a stricter reader makes an old number unknown.
            if ctx.get("unstated_numbers") == "unknown" or ctx.get("model_answer"):
                # A number misread from its own quote is no toll the model knew: only a wrong quote is mended.
                sentence = None if misread else self._sentence_stating(name, value, lexicon, ctx)
                if sentence is not None:
                    self.evidence.append(sentence)  # type: ignore[attr-defined]
                    quotes, stated, mentions = f"{quotes} {sentence.quote}", None, None
                    note = NUMBER_REQUOTED
                else:
                    object.__setattr__(self, name, None)
                    note = NUMBER_UNKNOWN
                warnings = ctx.setdefault("warnings", [])
                if isinstance(warnings, list):
                    warnings.append(problem + note)
                continue
            raise ValueError(problem + ". Quote the words that state the number, or use null (unknown).")
        if ctx.get("model_answer") and self.count_words:
            self._read_counts(
                mentions if mentions is not None else count_mentions(quotes, self.count_words, lexicon), ctx
            )
        return self

    def _sentence_stating(
        self, name: str, value: int, lexicon: NumberLexicon, ctx: Mapping[str, object]
    ) -> Evidence | None:
        """The first passage of the article that states ``value`` as this record's ``name`` count, as evidence.

        A small model often writes the right toll and quotes the wrong
        sentence (the 21 killed, quoted by the sentence of the 30 wounded).
        Where a passage states that very count for that very kind ("21
        killed", read without doubt by :func:`count_mentions`), the number is
        stated after all, and that passage becomes one of the record's quotes;
        a number no passage states that way stays a problem.
        """
        source, window = ctx.get("source"), ctx.get("window")
        if name not in self.count_words or not isinstance(source, SourceText) or not self._room_for_a_quote():
            return None
        for passage in quotable_passages(source.text):
            mention = count_mentions(passage, self.count_words, lexicon).get(name)
            if mention is None or mention.value != value:
                continue
            try:
                evidence = Evidence.model_validate({"quote": passage}, context=dict(ctx))
            except ValidationError:
                continue
            start = evidence.start if evidence.start is not None else -1
            if isinstance(window, tuple) and not window[0] <= start < window[1]:
                continue  # another chunk's passage: this chunk's records quote this chunk
            return evidence
        return None

    def _room_for_a_quote(self) -> bool:
        """Whether one more quote fits ``evidence`` (a stored answer must validate again when it is read)."""
        limits = type(self).model_fields["evidence"].metadata if "evidence" in type(self).model_fields else []
        most = min((m.max_length for m in limits if isinstance(getattr(m, "max_length", None), int)), default=None)
        return most is None or len(getattr(self, "evidence", [])) < most

    def _counted_as_other(
        self, name: str, value: int, quotes: str, lexicon: NumberLexicon, mentions: Mapping[str, CountMention]
    ) -> str | None:
        """The other count ``value`` is in the quotes, when they write it once, for that one, and name no ``name``.

        "injuring one person" states 1, but as the wounded, and says nothing of
        deaths: ``killed=1`` from it is invented. Only a count
        :func:`count_mentions` reads without doubt decides; a quote that also
        writes a word of ``name`` keeps the number (in "six captured, who were
        released" the six are the released too), and so does one that writes
        the number twice ("لقي 3 أشخاص حتفهم وأصيب 3 آخرون": the first 3 died,
        in words the count's list lacks).
        """
        words = self.count_words.get(name)
        if not words or names_count(quotes, words):
            return None
        if times_written(value, quotes, lexicon) != 1:
            return None
        return next((kind for kind, m in mentions.items() if kind != name and m.value == value), None)

    def _counted_otherwise(self, name: str, value: int, mentions: Mapping[str, CountMention]) -> int | None:
        """The ``name`` count the quotes state without doubt (``mentions``), when it is not ``value``, else ``None``.

        "23 civilians including nine children were killed": the 1.5B model
        wrote killed=9, a number the quote states, but of the children among
        the dead. Where :func:`count_mentions` reads one number for ``name``,
        another number is not that count; the count is then read from the
        quote. Only for a model's answer: a person's gold record keeps its count.
        """
        mention = mentions.get(name)
        return mention.value if mention is not None and mention.value != value else None

    def _read_counts(self, mentions: Mapping[str, CountMention], ctx: dict[str, object]) -> None:
        fields = type(self).model_fields
        missing = {k for k in self.count_words if k in fields and getattr(self, k) is None}
        if not missing:
            return
        # Every count's words are read, so a number is known as the one next to it ("kill 10 injure scores").
        for name, mention in ((k, m) for k, m in mentions.items() if k in missing):
            object.__setattr__(self, name, mention.value)
            warnings = ctx.setdefault("warnings", [])
            if isinstance(warnings, list):
                warnings.append(f"{type(self).__name__}.{name}={mention.value} read from its evidence quote")
