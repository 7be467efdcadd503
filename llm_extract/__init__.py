"""llm_extract: verified, evidence-grounded conflict-event records from news articles.

Start here::

    import llm_extract
    result = llm_extract.extract("seeds/enab-baladi-558021.ar.txt")   # text, or a file's path
    result.incidents[0].evidence[0]         # quote + offsets into the article
    result.to_pandas("incidents")           # one frame per record type; acled=True for ACLED's columns

For many articles, reuse one ``Extractor.from_config()`` (``extract_many``).
"""

from . import display, frames  # noqa: F401  (they register the result views: HTML, DataFrame)
from .api import extract  # after .extract: the function, not the module, is llm_extract.extract
from .config import Config, load_config
from .documents import Document, read_document
from .errors import (
    BackendError,
    ConfigError,
    DeadlineExceeded,
    ExtractionError,
    FixtureError,
    InputError,
    LLMExtractError,
    TransientBackendError,
)
from .evaluation import EvaluationReport, EvaluationSpec, evaluate
from .export import export, read_results
from .extract import Extractor, __version__
from .grounding import Count, Evidence, GroundedRecord, NumberLexicon, SourceText, normalize, numbers_stated
from .results import DocumentResult, Provenance, Usage
from .review import apply_review, review_table, write_fixtures, write_review
from .task import Task

__all__ = [
    "BackendError",
    "Config",
    "ConfigError",
    "Count",
    "DeadlineExceeded",
    "Document",
    "DocumentResult",
    "EvaluationReport",
    "EvaluationSpec",
    "Evidence",
    "ExtractionError",
    "Extractor",
    "FixtureError",
    "GroundedRecord",
    "InputError",
    "LLMExtractError",
    "NumberLexicon",
    "Provenance",
    "SourceText",
    "Task",
    "TransientBackendError",
    "Usage",
    "__version__",
    "apply_review",
    "evaluate",
    "export",
    "extract",
    "load_config",
    "normalize",
    "numbers_stated",
    "read_document",
    "read_results",
    "review_table",
    "write_fixtures",
    "write_review",
]
