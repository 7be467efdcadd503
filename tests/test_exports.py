"""Exports an analyst joins with ACLED data: per-type frames, the ACLED form, files by format."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import SEED, run_cli, seed_reply

from llm_extract import DocumentResult, Extractor
from llm_extract.testing import ChatServer, Reply

ARTICLE = SEED.read_text(encoding="utf-8")

# A second incident of the seed article whose side's quote states no count ("unknown"), placed only
# by its governorate, dated only to the month.
UNPLACED_INCIDENT: dict[str, Any] = {
    "date": {"text": "آذار الحالي", "value": "2022-03", "precision": "month"},
    "location": {"as_written": "ريف درعا", "normalized": "Daraa countryside", "admin1": "Daraa", "country": "Syria"},
    "event_type": "Violence against civilians",
    "sub_event_type": "Attack",
    "actors": [{"name": "قوات النظام", "name_en": "Syrian regime forces", "type": "state_forces"}],
    "casualties": [{"side": "قوات النظام", "evidence": [{"quote": "نقلت قوات النظام السوري، العميد عقاب صقر عباس"}]}],
    "summary": "Regime forces attacked residents.",
    "evidence": [{"quote": "فشل الهجوم على مدينة جاسم"}],  # names the event: unsupported records are dropped
}


def two_incidents() -> dict[str, Any]:
    reply = seed_reply()
    reply["incidents"].append(json.loads(json.dumps(UNPLACED_INCIDENT)))
    return reply


@pytest.fixture
def result(server: ChatServer, make_extractor: Callable[..., Extractor]) -> DocumentResult:
    server.push(Reply.records(two_incidents()))
    return make_extractor().extract(SEED, published="2022-03")


def write_results(path: Path, *results: DocumentResult) -> Path:
    path.write_text("".join(r.to_json() + "\n" for r in results), encoding="utf-8")
    return path


# -- per record type ------------------------------------------------------------------------


def test_to_pandas_of_one_record_type_has_only_its_rows_and_its_columns(result: DocumentResult) -> None:
    incidents = result.to_pandas("incidents")
    people = result.to_pandas("personnel_changes")

    assert list(incidents["record_type"]) == ["incidents", "incidents"]
    assert "event_type" in incidents.columns and "person" not in incidents.columns
    assert list(people["person"]) == ["عقاب صقر عباس"]
    assert "event_type" not in people.columns


def test_unknown_record_type_is_an_error_not_an_empty_frame(result: DocumentResult) -> None:
    with pytest.raises(ValueError, match="'incident' is not one of the schema's lists"):
        result.to_pandas("incident")


# -- the ACLED form --------------------------------------------------------------------------


def test_acled_frame_has_a_datetime_event_date_and_unknown_fatalities_stay_missing(result: DocumentResult) -> None:
    frame = result.to_pandas(acled=True)

    assert pd.api.types.is_datetime64_any_dtype(frame["event_date"])
    assert list(frame["event_date"]) == [pd.Timestamp("2022-03-15"), pd.Timestamp("2022-03-01")]
    assert list(frame["time_precision"]) == [1, 3]
    assert str(frame["fatalities"].dtype) == "Int64"
    assert frame["fatalities"].iloc[0] == 7  # 2 + 5, each stated by its quote
    assert pd.isna(frame["fatalities"].iloc[1])  # no side states a number: unknown, not 0


def test_acled_frame_names_actors_with_inter_codes_only_where_the_type_gives_one(result: DocumentResult) -> None:
    first = result.to_pandas(columns="acled").iloc[0]

    assert first["actor1"] == "Syrian regime security patrol" and first["inter1"] == 1
    assert first["actor2"] == "former opposition fighters" and pd.isna(first["inter2"])  # former rebels: no code
    assert pd.isna(first["assoc_actor_1"]) and pd.isna(first["assoc_actor_2"])


def test_acled_frame_places_a_town_exactly_and_falls_back_to_the_governorate(result: DocumentResult) -> None:
    frame = result.to_pandas(acled=True)
    town, region = frame.iloc[0], frame.iloc[1]

    assert (town["country"], town["iso"], town["location"]) == ("Syria", 760, "Jasim")
    assert town["geo_precision"] == 1
    assert town["latitude"] == pytest.approx(32.99, abs=0.01) and town["longitude"] == pytest.approx(36.06, abs=0.01)
    assert region["geo_precision"] == 3  # "Daraa countryside" is no place: its governorate's town
    assert region["latitude"] == pytest.approx(32.62, abs=0.01)


def test_a_place_the_gazetteer_cannot_resolve_stays_without_coordinates(
    server: ChatServer, make_extractor: Callable[..., Extractor]
) -> None:
    reply = seed_reply()
    reply["incidents"][0]["location"] = {"as_written": "تل المجهول", "normalized": "Tall al-Majhul", "country": "Syria"}
    server.push(Reply.records(reply))

    article = ARTICLE + "\nتل المجهول قرية صغيرة.\n"  # the place is in the article, not in the gazetteer

    row = make_extractor().extract(article).to_pandas(acled=True).iloc[0]

    assert pd.isna(row["latitude"]) and pd.isna(row["longitude"]) and pd.isna(row["geo_precision"])


def test_acled_frame_keeps_the_evidence_quote_and_its_offsets(result: DocumentResult) -> None:
    row = result.to_pandas(acled=True).iloc[0]

    quote, start, end = row["evidence_quotes"][0], row["evidence_starts"][0], row["evidence_ends"][0]
    assert ARTICLE[start:end] == quote
    assert row["notes"].startswith("A regime security patrol")
    assert row["doc_id"] == "enab-baladi-558021.ar"


def test_source_url_and_published_of_a_jsonl_input_reach_the_acled_frame(
    tmp_path: Path, server: ChatServer, make_extractor: Callable[..., Extractor]
) -> None:
    line = {"id": "jasim", "text": ARTICLE, "published": "2022-03", "source": "Enab Baladi", "url": "https://x.test/1"}
    (tmp_path / "in.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    server.push(Reply.records(seed_reply()))

    batch = make_extractor().extract_many(tmp_path / "in.jsonl", progress=False)
    row = batch.to_pandas(acled=True).iloc[0]

    assert (row["source"], row["source_url"], row["published"]) == ("Enab Baladi", "https://x.test/1", "2022-03")
    assert batch[0].provenance.source == "Enab Baladi"


def test_a_cached_result_carries_the_source_of_the_input_that_asked(
    tmp_path: Path, server: ChatServer, make_extractor: Callable[..., Extractor]
) -> None:
    server.push(Reply.records(seed_reply()))
    ex = make_extractor()
    for source in ("First Paper", "Second Paper"):
        line = {"id": "jasim", "text": ARTICLE, "source": source}
        (tmp_path / "in.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
        batch = ex.extract_many(tmp_path / "in.jsonl", progress=False)

    assert len(server.requests) == 1
    assert batch[0].provenance.cache_hit and batch[0].provenance.source == "Second Paper"


# -- files -----------------------------------------------------------------------------------

GEOJSON_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "properties": {"type": ["object", "null"]},
                    "geometry": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["type", "coordinates"],
                                "properties": {
                                    "type": {"const": "Point"},
                                    "coordinates": {
                                        "type": "array",
                                        "minItems": 2,
                                        "maxItems": 3,
                                        "items": {"type": "number"},
                                        "prefixItems": [
                                            {"type": "number", "minimum": -180, "maximum": 180},
                                            {"type": "number", "minimum": -90, "maximum": 90},
                                        ],
                                    },
                                },
                            },
                        ]
                    },
                },
            },
        },
    },
}
"""RFC 7946's FeatureCollection of Points (geometry may be null), as a JSON Schema."""


def test_geojson_export_is_a_feature_collection_a_json_schema_check_accepts(
    result: DocumentResult, tmp_path: Path
) -> None:
    import jsonschema

    from llm_extract import export

    export([result], tmp_path / "events.geojson", columns="acled")
    data = json.loads((tmp_path / "events.geojson").read_text(encoding="utf-8"))

    jsonschema.Draft202012Validator(GEOJSON_SCHEMA).validate(data)
    first = data["features"][0]
    assert first["geometry"]["coordinates"] == [pytest.approx(36.06, abs=0.01), pytest.approx(32.99, abs=0.01)]
    assert first["properties"]["event_date"] == "2022-03-15"
    assert data["features"][1]["properties"]["fatalities"] is None


def test_parquet_export_keeps_datetimes_and_missing_counts(result: DocumentResult, tmp_path: Path) -> None:
    from llm_extract import export

    export([result], tmp_path / "events.parquet", columns="acled")
    back = pd.read_parquet(tmp_path / "events.parquet")

    assert pd.api.types.is_datetime64_any_dtype(back["event_date"])
    assert back["fatalities"].iloc[0] == 7 and pd.isna(back["fatalities"].iloc[1])


def test_csv_export_writes_evidence_lists_as_json_text(result: DocumentResult, tmp_path: Path) -> None:
    from llm_extract import export

    export([result], tmp_path / "incidents.csv", record_type="incidents")
    rows = list(csv.DictReader((tmp_path / "incidents.csv").open(encoding="utf-8")))

    assert len(rows) == 2
    assert json.loads(rows[0]["evidence_quotes"])[0] in ARTICLE


def test_a_suffix_that_names_another_format_is_refused_before_anything_is_written(
    result: DocumentResult, tmp_path: Path
) -> None:
    from llm_extract import export

    with pytest.raises(ValueError, match=r"out\.csv: the suffix '\.csv' does not match format parquet"):
        export([result], tmp_path / "out.csv", format="parquet")
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob(".out.csv.*"))  # nor a temporary file


# -- the command line --------------------------------------------------------------------------


def test_export_command_writes_the_acled_csv(result: DocumentResult, tmp_path: Path) -> None:
    results = write_results(tmp_path / "results.jsonl", result)

    proc = run_cli("export", str(results), "--format", "csv", "--acled", "--out", str(tmp_path / "acled.csv"))

    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(tmp_path / "acled.csv", parse_dates=["event_date"])
    assert list(frame["event_date"]) == [pd.Timestamp("2022-03-15"), pd.Timestamp("2022-03-01")]
    assert frame["iso"].tolist() == [760, 760]
    assert "wrote 2 rows" in proc.stderr


def test_export_command_with_a_mismatched_suffix_exits_2_with_one_line(result: DocumentResult, tmp_path: Path) -> None:
    results = write_results(tmp_path / "results.jsonl", result)

    proc = run_cli("export", str(results), "--format", "parquet", "--out", str(tmp_path / "out.csv"))

    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"llm-extract: error: {tmp_path / 'out.csv'}: the suffix '.csv' does not match format parquet; "
        "name it out.parquet"
    ]
    assert not (tmp_path / "out.csv").exists()


def test_export_command_geojson_without_coordinates_is_a_usage_error(result: DocumentResult, tmp_path: Path) -> None:
    results = write_results(tmp_path / "results.jsonl", result)

    proc = run_cli("export", str(results), "--out", str(tmp_path / "all.geojson"))

    assert proc.returncode == 2
    assert "geojson needs latitude and longitude columns" in proc.stderr
    assert not (tmp_path / "all.geojson").exists()


def test_extract_format_csv_writes_the_frame_to_out(server: ChatServer, config_path: Path, tmp_path: Path) -> None:
    server.push(Reply.records(seed_reply()))
    out = tmp_path / "records.csv"

    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--format", "csv", "--out", str(out), "-q")

    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["record_type"] for r in rows] == ["incidents", "personnel_changes"]


def test_extract_out_suffix_picks_the_format_and_a_mismatch_is_exit_2(
    server: ChatServer, config_path: Path, tmp_path: Path
) -> None:
    server.push(Reply.records(seed_reply()))

    ok = run_cli("extract", str(SEED), "--config", str(config_path), "--acled", "--out", str(tmp_path / "a.csv"), "-q")
    bad = run_cli(
        "extract", str(SEED), "--config", str(config_path), "--format", "csv", "--out", str(tmp_path / "b.jsonl")
    )

    assert ok.returncode == 0, ok.stderr
    assert next(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))["iso"] == "760"
    assert bad.returncode == 2 and "does not match format csv" in bad.stderr
    assert len(server.requests) == 1  # the refused run sent nothing


def test_extract_format_other_than_jsonl_without_out_is_exit_2(server: ChatServer, config_path: Path) -> None:
    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--format", "parquet")

    assert proc.returncode == 2
    assert proc.stderr.strip() == "llm-extract: error: --format parquet writes a file: give --out"
    assert server.requests == []


def test_extract_acled_to_jsonl_writes_acled_rows(server: ChatServer, config_path: Path, tmp_path: Path) -> None:
    server.push(Reply.records(seed_reply()))

    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--acled", "--out", str(tmp_path / "a.jsonl"))

    assert proc.returncode == 0, proc.stderr
    [row] = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (row["event_date"], row["iso"], row["fatalities"]) == ("2022-03-15", 760, 7)


def test_extract_to_geojson_without_acled_is_refused_before_the_run(
    server: ChatServer, config_path: Path, tmp_path: Path
) -> None:
    proc = run_cli("extract", str(SEED), "--config", str(config_path), "--out", str(tmp_path / "a.geojson"))

    assert proc.returncode == 2
    assert proc.stderr.strip() == "llm-extract: error: geojson needs coordinates: add --acled"
    assert server.requests == []
