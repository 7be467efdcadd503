"""A task's number lexicon: what, besides number words, states a count in that task's quotes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

DUAL_ENDINGS = ("تين", "تان", "ين", "ان")
"""Arabic dual endings, longest first (so stripping one from قتيلتين leaves قتيل, not قتيلت)."""


@dataclass(frozen=True)
class NumberLexicon:
    """A task's words that state a count without a number word: the domain half of number grounding.

    The engine knows how Arabic and English write numbers (digits, number
    words, "twenty-one", "ثلاثة عشر"); what else states a count depends on
    what a task counts, so the task supplies it and grounding receives it
    (see :func:`grounding`). The conflict task's lexicon, for example, makes
    قتيلين ("two killed", a dual) state 2 and "a soldier" state 1.
    """

    dual_nouns: tuple[str, ...] = ()
    """Arabic nouns (normalized, without the article) whose bare singular states 1 and whose dual
    (``-ين``, ``-ان``, ``-تين``, ``-تان``) states 2."""
    singular_nouns: tuple[str, ...] = ()
    """English nouns that state 1 after "a"/"an" (one adjective may stand between)."""
    zero_phrases: tuple[str, ...] = ()
    """Normalized phrases that state 0 ("no injuries")."""
    words: Mapping[str, int] = field(default_factory=dict)
    """The task's own number words, lower case ("gross": 144 for a task that counts in gross)."""
    counted_nouns: tuple[str, ...] = ()
    """Nouns of what the task counts, any form ("civilians", "others", "أشخاص", "مدنيا"): a number is read
    as a count (:func:`~llm_extract.grounding.count_mentions`) only before one of these, or alone."""

    @cached_property
    def noun_forms(self) -> dict[str, frozenset[int]]:
        """Each form of the :attr:`dual_nouns` and the counts it states: the singular 1, a dual 2.

        Made once per lexicon, so number grounding looks a word up instead of
        building four dual endings per noun for every word of every quote.
        """
        forms: dict[str, set[int]] = {}
        for noun in self.dual_nouns:
            forms.setdefault(noun, set()).add(1)
            for ending in DUAL_ENDINGS:
                forms.setdefault(noun + ending, set()).add(2)
        return {form: frozenset(counts) for form, counts in forms.items()}

    @cached_property
    def singular(self) -> re.Pattern[str] | None:
        if not self.singular_nouns:
            return None
        nouns = "|".join(re.escape(n) for n in self.singular_nouns)
        return re.compile(rf"\b(?:a|an)\s+(?:\w+\s+)?(?:{nouns})\b")


NO_LEXICON = NumberLexicon()
"""Numbers as written only: what grounding uses when a task gives no lexicon."""
