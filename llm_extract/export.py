"""Exports: results as files an analyst's tools open (CSV, Parquet, GeoJSON, JSONL).

The engine knows no domain, so it offers two kinds of frame:

* the generic one (:func:`llm_extract.frames.to_pandas`), built from the
  schema, optionally for one record type (``"incidents"``);
* named *forms* a task defines for its own records: the task's ``exports``,
  ``{"acled": function}``, each function taking the
  results and returning a frame (the conflict task's ``"acled"`` form gives
  ACLED's column names and types; see ``llm_extract.schemas.acled``).

Writers refuse an output whose suffix says another format (``out.csv`` with
``format="parquet"``): a file named ``.csv`` that holds something else is
silently misread later. A file is written to a temporary name beside it and
renamed when complete, so a failed export leaves no partial file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .frames import to_pandas
from .results import EXPORT_FORMS, VIEWS

if TYPE_CHECKING:
    import pandas as pd

    from .results import DocumentResult

__all__ = [
    "FORMATS",
    "export",
    "export_forms",
    "format_of",
    "read_results",
    "to_frame",
    "write_frame",
]

FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
    "geojson": (".geojson",),
    "jsonl": (".jsonl",),
}
"""Each format and the file suffixes that name it (the first is the one to use)."""

Form = Callable[[list["DocumentResult"]], "pd.DataFrame"]


def format_of(path: str | os.PathLike[str] | None, format: str | None = None) -> str:
    """The format to write: ``format`` checked against the suffix of ``path``, or read from it.

    Raises:
        ValueError: unknown format, a suffix naming another format, or neither given.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    suffix = Path(path).suffix.lower() if path is not None else ""
    by_suffix = next((f for f, suffixes in FORMATS.items() if suffix in suffixes), None)
    if format is None:
        if by_suffix is None:
            raise ValueError(
                f"{path}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
                f"name the file {', '.join(s[0] for s in FORMATS.values())} or give the format"
            )
        return by_suffix
    if path is not None and by_suffix != format:
        wanted = Path(path).with_suffix(FORMATS[format][0]).name
        raise ValueError(f"{path}: the suffix {suffix or '(none)'!r} does not match format {format}; name it {wanted}")
    return format


def export_forms(records_model: type[BaseModel]) -> Mapping[str, Form]:
    """The named forms (its ``exports``) the task of these records defines; empty if none."""
    for cls in records_model.__mro__:  # instructor may hand back a subclass of the task's schema
        if cls in EXPORT_FORMS:
            return dict(EXPORT_FORMS[cls])
    return {}


def to_frame(
    results: Iterable[DocumentResult], record_type: str | None = None, columns: str | None = None
) -> pd.DataFrame:
    """The frame of ``results``: generic (optionally one record type) or a task's named form.

    Args:
        record_type: one record list of the schema, e.g. ``"incidents"``.
        columns: a form the task defines, e.g. ``"acled"``; it decides its own rows.

    Raises:
        ValueError: an unknown record type or form, or both given.
    """
    results = list(results)
    if columns is None:
        return to_pandas(results, record_type)
    if record_type is not None:
        raise ValueError(f"columns={columns!r} decides its own records; do not also give record_type")
    forms: dict[str, Form] = {}
    for result in results:
        forms.update(export_forms(type(result.records)))
    if not results:
        from .task import Task

        forms.update(export_forms(Task.from_config().schema))
    if columns not in forms:
        known = ", ".join(forms) or "none"
        raise ValueError(f"columns={columns!r} is not a form this task defines (forms: {known})")
    return forms[columns](results)


def _plain(value: Any) -> Any:
    """A cell as JSON: missing values as null, timestamps as ISO dates, numpy scalars as Python ones."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())  # numpy scalars and arrays (parquet lists come back as arrays)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat() if value == value.normalize() else value.isoformat()
    except ImportError:  # pragma: no cover - frames need pandas anyway
        pass
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _geojson(frame: pd.DataFrame) -> dict[str, Any]:
    """A FeatureCollection (RFC 7946): one Feature per row, ``null`` geometry where no coordinates are known."""
    if not {"latitude", "longitude"} <= set(frame.columns):
        raise ValueError("geojson needs latitude and longitude columns (the task's geographic form, e.g. --acled)")
    features = []
    for row in _records(frame):
        lat, lon = row.get("latitude"), row.get("longitude")
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None else None
        features.append({"type": "Feature", "geometry": geometry, "properties": row})
    return {"type": "FeatureCollection", "features": features}


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists (evidence quotes and offsets) as JSON text, so a CSV cell holds them losslessly."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, (list, tuple))).any():
            frame[column] = frame[column].map(
                lambda v: json.dumps(_plain(v), ensure_ascii=False) if isinstance(v, (list, tuple)) else v
            )
    return frame


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str], format: str | None = None) -> str:
    """Write ``frame`` to ``path`` as ``format`` (default: from the suffix); returns the format written.

    CSV is UTF-8 with lists as JSON text; Parquet keeps dtypes (``Int64``
    counts, datetimes, lists) and needs pyarrow; JSONL has one object per
    row; GeoJSON needs ``latitude``/``longitude`` columns.

    Raises:
        ValueError: the suffix does not match ``format``, or the format cannot hold this frame.
        ImportError: Parquet without pyarrow.
    """
    fmt = format_of(path, format)
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "csv":
            _csv_ready(frame).to_csv(tmp, index=False, encoding="utf-8")
        elif fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ImportError("parquet needs pyarrow: pip install 'llm_extract[pandas]'") from None
            frame.to_parquet(tmp, index=False)
        elif fmt == "jsonl":
            with tmp.open("w", encoding="utf-8") as f:
                for row in _records(frame):
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            tmp.write_text(json.dumps(_geojson(frame), ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return fmt


def export(
    results: Iterable[DocumentResult],
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    record_type: str | None = None,
    columns: str | None = None,
) -> pd.DataFrame:
    """Build the frame (:func:`to_frame`) and write it (:func:`write_frame`); returns the frame."""
    format_of(path, format)  # a wrong name fails before any work
    frame = to_frame(results, record_type, columns)
    write_frame(frame, path, format)
    return frame


def read_results(
    path: str | os.PathLike[str],
    schema: type[BaseModel],
    texts: Mapping[str, str] | None = None,
) -> list[DocumentResult]:
    """Results back from an ``extract`` JSONL file, records re-validated against ``schema``.

    Args:
        texts: article text per ``doc_id``; with it, each result's evidence is
            grounded again (a quote must still be in its article). Without it,
            ``result.text`` is empty and offsets are taken as written.

    Raises:
        InputError: a missing file, or a line that is not a result of this schema (one line naming it).
    """
    from pydantic import ValidationError

    from .cache import sha256_text
    from .documents import Document
    from .errors import InputError
    from .grounding import SourceText, grounding
    from .results import DocumentResult

    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot be read ({exc})") from None
    results = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{p}:{n}"
        try:
            data = json.loads(line)
            text = (texts or {}).get(str(data.get("doc_id")), "") if isinstance(data, dict) else ""
            if texts is not None and not text:
                raise InputError(f"{where}: no article given for doc_id {data.get('doc_id')!r}")
            if text:
                if sha256_text(text) != data["provenance"]["text_sha256"]:
                    raise InputError(
                        f"{where}: the article given for doc_id {data['doc_id']!r} is not the text "
                        "these results were extracted from"
                    )
                Document(id=str(data["doc_id"]), text=text)
                with grounding(SourceText(text)):
                    results.append(DocumentResult.from_dict(data, schema, text))
            else:
                results.append(DocumentResult.from_dict(data, schema, text))
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise InputError(f"{where}: not a result of {schema.__name__}: {loc}: {err['msg']}") from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{where}: not a result line ({type(exc).__name__}: {exc})") from None
    return results


VIEWS.frame = to_frame  # results cannot import this module (it sits above them)
