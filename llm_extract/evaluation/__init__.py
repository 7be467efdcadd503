"""Score a backend against gold fixtures: which events it finds, which it invents, which facts it gets wrong.

Generic extraction scaffolds score exact matches of whole objects. For event
data that is useless: one wrong digit in a casualty count makes a whole
incident "wrong" and hides that the event itself was found. So scoring here
has two steps, per record list (``incidents``, ``negotiations``, ...):

1. **Matching.** Predicted records are paired one-to-one with gold records
   by an optimal assignment (``scipy.optimize.linear_sum_assignment``) on a
   similarity; a pair below the list's ``min_similarity`` is no match. The
   assignment maximises, in this order, matched *required* gold records,
   matched records, then total similarity, so it never loses a match that a
   different pairing would have made (greedy first-come matching does).
   Unmatched predictions are false positives; unmatched required gold records
   are false negatives; optional gold records (background events) count
   neither way. On a negative control every prediction is a false positive.
2. **Fields.** Every matched pair (optional ones included: a wrong fact is
   wrong wherever it is) is compared field by field; a field's accuracy is
   the mean score over the pairs where it applies.

What counts as "similar" and "the same fact" is domain knowledge, so none of
it is here. A task declares it in an :class:`EvaluationSpec` built from the
generic comparators of this module (:class:`Exact`, :class:`Text`,
:class:`Date`, :class:`Names`, :class:`SetOf`, :class:`Aligned`,
:class:`Claims`, :class:`Quotes`, :class:`All`) and exposes it as the
``EVALUATION`` attribute of its schema's module (the built-in one is in
``llm_extract.schemas.conflict``). A schema module without one gets
:meth:`EvaluationSpec.default`: matching on shared evidence, exact fields.

Entry points: :func:`evaluate` (extract with configured backends, through the
cache, and score; the CLI's ``llm-extract eval``), :func:`score_fixture` and
:func:`score_records` (score predictions you already have), :func:`compare`
(two backends or two saved reports side by side; ``llm-extract eval --compare A B``).
Reports name what went wrong: per document, each missed required gold record
(its id, ``incidents[1]``, and first quote), each invented record (its type,
summary and first quote) and each wrong field of a matched pair.
Published benchmarks (FA-KES) run through :mod:`llm_extract.evaluation.datasets`.
"""

from __future__ import annotations

from .comparators import Aligned, All, Claims, Comparator, Date, Exact, Names, Quotes, SetOf, Text
from .compare import Comparison, compare
from .report import EvaluationReport, RunInfo
from .runner import evaluate
from .scoring import Counts, DocumentScore, FieldScore, score_fixture, score_records
from .spec import EvaluationSpec, RecordSpec

__all__ = [
    "Aligned",
    "All",
    "Claims",
    "Comparator",
    "Comparison",
    "Counts",
    "Date",
    "DocumentScore",
    "EvaluationReport",
    "EvaluationSpec",
    "Exact",
    "FieldScore",
    "Names",
    "Quotes",
    "RecordSpec",
    "RunInfo",
    "SetOf",
    "Text",
    "compare",
    "evaluate",
    "score_fixture",
    "score_records",
]
