"""The review loop: a sheet of every record and field, decisions applied, gold that the harness scores."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEED, run_cli, seed_reply, write_config

from llm_extract import (
    DocumentResult,
    Extractor,
    InputError,
    apply_review,
    evaluate,
    write_fixtures,
    write_review,
)
from llm_extract.fixtures import load_fixtures
from llm_extract.testing import ChatServer, Reply

ARTICLE = SEED.read_text(encoding="utf-8")
OTHER_PASSAGE = "وأسفرت الاشتباكات في جاسم عن مقتل شخصين من أبناء المدينة"


@pytest.fixture
def result(server: ChatServer, make_extractor: Callable[..., Extractor]) -> DocumentResult:
    server.push(Reply.records(seed_reply()))
    return make_extractor().extract(SEED, published="2022-03")


def read_sheet(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def write_sheet(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def mark(rows: list[dict[str, str]], record: str, field: str, **decision: str) -> None:
    """Fill the decision of the row of ``record`` (``incidents[0]``) and ``field``."""
    name, index = record.rstrip("]").split("[")
    row = next(r for r in rows if (r["record_type"], r["record_index"], r["field"]) == (name, index, field))
    row.update(decision)


def test_sheet_has_a_row_per_record_and_per_field_with_accept_correct_reject_columns(
    result: DocumentResult, tmp_path: Path
) -> None:
    write_review([result], tmp_path / "review.csv")
    rows = read_sheet(tmp_path / "review.csv")

    assert list(rows[0])[-3:] == ["accept", "correct", "reject"]
    fields = [(r["record_type"], r["record_index"], r["field"]) for r in rows]
    assert ("incidents", "0", "(record)") in fields and ("personnel_changes", "0", "(record)") in fields
    assert ("incidents", "0", "location.normalized") in fields
    quote = next(r for r in rows if r["field"] == "evidence[0].quote" and r["record_type"] == "incidents")
    assert ARTICLE[int(quote["start"]) : int(quote["end"])] == quote["value"]
    killed = next(r for r in rows if r["field"] == "casualties[0].wounded")
    assert killed["value"] == ""  # unknown shows as empty, not 0


def test_a_reject_and_a_correction_become_a_fixture_the_harness_scores(
    result: DocumentResult, tmp_path: Path, server: ChatServer
) -> None:
    write_review([result], tmp_path / "review.csv")
    rows = read_sheet(tmp_path / "review.csv")
    mark(rows, "personnel_changes[0]", "(record)", reject="x")
    mark(rows, "incidents[0]", "date.value", correct="2022-03")  # the reviewer trusts only the month
    mark(rows, "incidents[0]", "date.precision", correct="month")
    mark(rows, "incidents[0]", "evidence[0].quote", correct=OTHER_PASSAGE)
    write_sheet(tmp_path / "review.csv", rows)

    corrected = apply_review([result], tmp_path / "review.csv")
    write_fixtures(corrected, tmp_path / "gold")

    [fixture] = load_fixtures(tmp_path / "gold")
    gold = fixture.records()
    assert gold["personnel_changes"] == []
    incident = gold["incidents"][0]
    assert (incident.date.value, incident.date.precision) == ("2022-03", "month")
    evidence = incident.evidence[0]
    assert ARTICLE[evidence.start : evidence.end] == OTHER_PASSAGE  # grounded again, offsets found anew

    server.push(Reply.records(seed_reply()))  # the model's original answer, scored against the reviewed gold
    report = evaluate(tmp_path / "gold", write_config(tmp_path / "eval.toml", server.url), progress=False)
    [doc] = report.documents
    assert doc.counts["incidents"].tp == 1
    assert doc.counts["personnel_changes"].fp == 1  # the rejected record is now a false positive
    assert any((m["records"], m["field"]) == ("incidents", "date") for m in doc.mismatches)


def test_a_corrected_quote_that_is_not_in_the_article_is_refused_naming_the_row(
    result: DocumentResult, tmp_path: Path
) -> None:
    write_review([result], tmp_path / "review.csv")
    rows = read_sheet(tmp_path / "review.csv")
    mark(rows, "incidents[0]", "evidence[0].quote", correct="a sentence the article never had")
    write_sheet(tmp_path / "review.csv", rows)

    with pytest.raises(InputError, match="evidence quote not found in the article"):
        apply_review([result], tmp_path / "review.csv")


def test_rejecting_a_field_makes_it_unknown_and_rejecting_a_part_drops_it(
    result: DocumentResult, tmp_path: Path
) -> None:
    write_review([result], tmp_path / "review.csv")
    rows = read_sheet(tmp_path / "review.csv")
    mark(rows, "incidents[0]", "location.admin1", reject="x")
    mark(rows, "incidents[0]", "actors[1].name", reject="x")
    write_sheet(tmp_path / "review.csv", rows)

    [corrected] = apply_review([result], tmp_path / "review.csv")

    incident = corrected.incidents[0]
    assert incident.location.admin1 is None
    assert [a.name_en for a in incident.actors] == ["Syrian regime security patrol"]
    assert "reviewed: 2 decision(s)" in corrected.provenance.warnings[-1]


def test_a_sheet_made_from_other_results_is_refused(result: DocumentResult, tmp_path: Path) -> None:
    write_review([result], tmp_path / "review.csv")
    rows = read_sheet(tmp_path / "review.csv")
    mark(rows, "incidents[0]", "location.normalized", value="Daraa", correct="Jassim")
    write_sheet(tmp_path / "review.csv", rows)

    with pytest.raises(InputError, match=r"review\.csv:\d+: location\.normalized: the sheet says 'Daraa'"):
        apply_review([result], tmp_path / "review.csv")


def test_review_command_round_trip_writes_corrected_results_and_fixtures(
    result: DocumentResult, tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(result.to_json() + "\n", encoding="utf-8")
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "enab-baladi-558021.ar.txt").write_text(ARTICLE, encoding="utf-8")

    made = run_cli("review", str(results), "--articles", str(articles), "--out", str(tmp_path / "review.csv"))
    assert made.returncode == 0, made.stderr
    rows = read_sheet(tmp_path / "review.csv")
    mark(rows, "personnel_changes[0]", "(record)", reject="x")
    write_sheet(tmp_path / "review.csv", rows)
    applied = run_cli(
        "review", str(results), "--articles", str(articles), "--apply", str(tmp_path / "review.csv"),
        "--out", str(tmp_path / "corrected.jsonl"), "--to-fixtures", str(tmp_path / "gold"),
    )  # fmt: skip

    assert applied.returncode == 0, applied.stderr
    corrected = json.loads((tmp_path / "corrected.jsonl").read_text(encoding="utf-8"))
    assert corrected["personnel_changes"] == [] and len(corrected["incidents"]) == 1
    assert [f.doc_id for f in load_fixtures(tmp_path / "gold")] == ["enab-baladi-558021.ar"]


def test_review_refuses_an_article_that_is_not_the_text_the_results_came_from(
    result: DocumentResult, tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(result.to_json() + "\n", encoding="utf-8")
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "enab-baladi-558021.ar.txt").write_text(ARTICLE + "\nA later edit.", encoding="utf-8")

    proc = run_cli("review", str(results), "--articles", str(articles), "--out", str(tmp_path / "review.csv"))

    assert proc.returncode == 1
    assert "is not the text these results were extracted from" in proc.stderr
    assert not (tmp_path / "review.csv").exists()
