"""llm_extract: verified, evidence-grounded conflict-event records from news articles.

Start here::

    from llm_extract import Extractor
    ex = Extractor.from_config()            # config file, or the embedded default
    result = ex.extract(Path("seeds/enab-baladi-558021.ar.txt"))
    result.incidents[0].evidence[0]         # quote + offsets into the article
"""

from . import display, frames  # noqa: F401  (they register the result views: HTML, DataFrame)
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
from .extract import Extractor, __version__
from .grounding import Count, Evidence, GroundedRecord, NumberLexicon, SourceText, normalize, numbers_stated
from .results import DocumentResult, Provenance, Usage
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
    "evaluate",
    "load_config",
    "normalize",
    "numbers_stated",
    "read_document",
]
