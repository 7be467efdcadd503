"""FA-KES as an external benchmark: its CSV loads as a user's file would, each article-level rule
judges hand-built records as docs/fakes.md says, samples are reproducible, and
``llm-extract eval --dataset fakes:PATH`` prints the article table from a real test server."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_config
from llm_extract.schemas.conflict import ConflictRecords, Incident
from llm_extract.schemas.fakes import FAKES, GOVERNORATES, FakesAnnotation, governorate

from llm_extract.batch import Failure
from llm_extract.errors import ConfigError
from llm_extract.evaluation.datasets import DEFAULT_SAMPLE, DatasetItem, run_dataset, sample_items, task_dataset
from llm_extract.results import DocumentResult, Provenance
from llm_extract.task import Task
from llm_extract.testing import ChatServer, Reply, replay

COLUMNS = [
    "unit_id",
    "article_title",
    "article_content",
    "source",
    "date",
    "location",
    "actor",
    "cause_of_death",
    "nb_children",
    "nb_civilians",
    "nb_noncivilians",
    "nb_women",
    "label",
]

ARTICLES: list[dict[str, str]] = [
    {
        "unit_id": "1000000001",
        "article_title": "Aleppo bomb blast kills six",
        "article_content": "Wed 19 Apr 2017 A bomb blast killed six people in the Salah al-Din district "
        'of Aleppo on Wednesday. "We heard it from the market" a resident said.',
        "date": "4/19/17",
        "location": "aleppo",
        "cause_of_death": "explosion",
        "nb_civilians": "6",
        "nb_noncivilians": "0",
    },
    {
        "unit_id": "1000000002",
        "article_title": "Shelling on Douma",
        "article_content": "12 February 2015 Regime shelling killed 20 civilians in Douma in Eastern Ghouta "
        "on Thursday.",
        "date": "2/12/15",
        "location": "damascus",
        "cause_of_death": "shelling",
        "nb_civilians": "20",
        "nb_noncivilians": "0",
    },
    {
        "unit_id": "1000000003",
        "article_title": "Talks in Geneva stall",
        "article_content": "Envoys met in Geneva on Monday without agreement on Syria.",
        "date": "3/6/17",
        "location": "damascus",
        "cause_of_death": "unknown",
        "nb_civilians": "0",
        "nb_noncivilians": "0",
    },
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """A FA-KES-format file: the dataset's columns, quoted as csv.writer quotes (minimal, "" inside)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({"source": "test", "actor": "unknown", "nb_children": "0", "nb_women": "0", **row})
    return path


def annotation(**overrides: Any) -> FakesAnnotation:
    fields: dict[str, Any] = {
        "unit_id": "1",
        "date": "2017-04-19",
        "location": "aleppo",
        "actor": "unknown",
        "cause_of_death": "explosion",
        "civilians": 6,
        "noncivilians": 0,
        "children": 0,
        "women": 0,
    }
    return FakesAnnotation(**(fields | overrides))


def incident(
    killed: int | list[int | None] | None = 6,
    *,
    admin1: str | None = "Aleppo",
    date: str | None = "2017-04-19",
    event_type: str = "Explosions/Remote violence",
    sub_event_type: str = "Remote explosive/landmine/IED",
) -> Incident:
    sides = killed if isinstance(killed, list) else [killed]
    return Incident.model_validate(
        {
            "date": {"text": "on Wednesday", "value": date, "precision": "day" if date else "unknown"},
            "location": {"as_written": "Salah al-Din district", "admin1": admin1},
            "event_type": event_type,
            "sub_event_type": sub_event_type,
            "casualties": [
                {"side": f"side {i}", "killed": k, "evidence": [{"quote": "A bomb blast killed six people"}]}
                for i, k in enumerate(sides)
            ],
            "summary": "A bomb blast in Aleppo.",
            "evidence": [{"quote": "A bomb blast killed six people"}],
        }
    )


def result(*incidents: Incident) -> DocumentResult:
    provenance = Provenance(
        doc_id="1",
        text_sha256="0" * 64,
        backend="hand",
        backend_kind="test",
        model="none",
        mode="tools",
        task="conflict",
        prompt_sha256="0" * 64,
        schema_sha256="0" * 64,
    )
    return DocumentResult("1", ConflictRecords(incidents=list(incidents)), provenance, "text")


def outcomes(res: DocumentResult | Failure, ann: FakesAnnotation) -> dict[str, str]:
    return {name: check.outcome for name, check in FAKES.score(res, ann).checks.items()}


def check(res: DocumentResult | Failure, ann: FakesAnnotation, name: str) -> tuple[str, str]:
    c = FAKES.score(res, ann).checks[name]
    return c.outcome, c.reason


# --- the loader ---------------------------------------------------------------------------


def test_loader_reads_title_and_content_as_the_text_with_the_title_as_line_one(tmp_path: Path) -> None:
    items = FAKES.load(write_csv(tmp_path / "f.csv", ARTICLES))

    assert [it.id for it in items] == ["1000000001", "1000000002", "1000000003"]
    doc = items[0].document
    assert doc.id == "1000000001"
    assert doc.text.splitlines()[0] == "Aleppo bomb blast kills six"
    assert doc.text.splitlines()[1].startswith("Wed 19 Apr 2017 A bomb blast")


def test_loader_keeps_quoted_commas_and_doubled_quotes_inside_a_field(tmp_path: Path) -> None:
    rows = [ARTICLES[0] | {"article_content": 'Six died, officials said, in "the market" blast.\nA second line.'}]

    [item] = FAKES.load(write_csv(tmp_path / "f.csv", rows))

    assert item.document.text.endswith('Six died, officials said, in "the market" blast.\nA second line.')
    assert item.annotation.location == "aleppo" and item.annotation.civilians == 6


def test_loader_publishes_on_the_annotated_day_read_as_month_day_year(tmp_path: Path) -> None:
    items = FAKES.load(write_csv(tmp_path / "f.csv", ARTICLES))

    assert [it.document.published for it in items] == ["2017-04-19", "2015-02-12", "2017-03-06"]
    assert items[0].annotation.date == "2017-04-19"


def test_invalid_utf8_bytes_cost_one_character_not_the_row_or_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "f.csv", ARTICLES)
    data = path.read_bytes().replace(b"Salah al-Din", b"Salah \x95al-Din\xff")
    path.write_bytes(data)

    with caplog.at_level("INFO", logger="llm_extract"):
        items = FAKES.load(path)

    assert len(items) == 3
    assert "Salah \ufffdal-Din\ufffd district" in items[0].document.text
    assert items[1].document.text == FAKES.load(write_csv(tmp_path / "g.csv", ARTICLES))[1].document.text
    assert "1 lines hold bytes that are not UTF-8 (lines 2)" in caplog.text


def test_rows_annotating_the_same_article_share_one_document(tmp_path: Path) -> None:
    again = ARTICLES[0] | {"location": "idlib", "nb_civilians": "3"}

    items = FAKES.load(write_csv(tmp_path / "f.csv", [ARTICLES[0], again]))

    assert [it.id for it in items] == ["1000000001", "1000000001#2"]
    assert items[0].document is items[1].document
    assert items[1].annotation.location == "idlib" and items[1].annotation.civilians == 3


def test_a_row_without_text_is_skipped_with_a_warning_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [ARTICLES[0] | {"unit_id": "999", "article_title": "", "article_content": "  "}, ARTICLES[1]]

    items = FAKES.load(write_csv(tmp_path / "f.csv", rows))

    assert [it.id for it in items] == ["1000000002"]
    assert "unit 999 skipped: the row has no article text" in caplog.text


def test_a_bad_date_or_count_cell_is_unknown_not_a_guess(tmp_path: Path) -> None:
    rows = [ARTICLES[0] | {"date": "2017-04-19", "nb_civilians": "six"}]

    [item] = FAKES.load(write_csv(tmp_path / "f.csv", rows))

    assert item.document.published is None and item.annotation.date is None
    assert item.annotation.civilians is None


def test_a_file_that_is_not_fakes_is_refused_with_one_line_naming_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("id,text\n1,hello\n", encoding="utf-8")

    result = run_cli("eval", "--dataset", f"fakes:{path}", "--quiet")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"llm-extract: error: {path}: not a FA-KES CSV file: no column 'unit_id', 'article_title', "
        "'article_content', 'date', 'location', 'cause_of_death', 'nb_civilians', 'nb_noncivilians'"
    ]


def test_a_missing_file_is_refused_with_one_line_naming_it(tmp_path: Path) -> None:
    result = run_cli("eval", "--dataset", f"fakes:{tmp_path / 'nope.csv'}", "--quiet")

    assert result.returncode == 1
    assert result.stderr.strip() == f"llm-extract: error: {tmp_path / 'nope.csv'}: no such file"


# --- sampling -----------------------------------------------------------------------------


def items(n: int) -> list[DatasetItem[None]]:
    from llm_extract.documents import Document

    return [DatasetItem(f"id{i}", Document(f"id{i}", f"text {i}"), None) for i in range(n)]


def test_the_same_seed_draws_the_same_sample_in_file_order() -> None:
    first = [it.id for it in sample_items(items(100), 10, seed=3)]

    assert first == [it.id for it in sample_items(items(100), 10, seed=3)]
    assert first == sorted(first, key=lambda s: int(s[2:]))
    assert first != [it.id for it in sample_items(items(100), 10, seed=4)]


def test_a_larger_sample_contains_the_smaller_one_so_its_results_come_from_the_cache() -> None:
    small = {it.id for it in sample_items(items(100), 10, seed=0)}
    large = {it.id for it in sample_items(items(100), 40, seed=0)}

    assert len(small) == 10 and len(large) == 40 and small <= large


def test_the_sample_does_not_depend_on_the_order_of_the_file() -> None:
    forward = {it.id for it in sample_items(items(50), 7, seed=1)}
    backward = {it.id for it in sample_items(items(50)[::-1], 7, seed=1)}

    assert forward == backward


def test_no_sample_size_or_one_beyond_the_file_takes_every_row() -> None:
    assert len(sample_items(items(5), None)) == 5
    assert len(sample_items(items(5), 9)) == 5


# --- the article-level rules ------------------------------------------------------------


def test_toll_passes_when_some_incident_states_the_civilian_figure() -> None:
    res = result(incident(2, admin1="Idlib"), incident(6))

    assert check(res, annotation(), "toll") == ("pass", "killed 6 (incident 2) = civilians 6")


def test_toll_passes_on_the_noncivilian_figure_or_on_the_total_summed_over_sides() -> None:
    ann = annotation(civilians=4, noncivilians=25)

    assert check(result(incident(25)), ann, "toll")[0] == "pass"
    assert check(result(incident([4, 25])), ann, "toll") == ("pass", "killed 4 (incident 1) = civilians 4")
    assert check(result(incident([10, 19])), ann, "toll") == ("pass", "killed 29 (incident 1) = total 29")


def test_toll_fails_naming_the_counts_found_and_the_figures_annotated() -> None:
    assert check(result(incident(5), incident(None)), annotation(), "toll") == (
        "fail",
        "killed counts 5; annotated civilians 6",
    )
    assert check(result(incident(None)), annotation(), "toll") == ("fail", "no killed count; annotated civilians 6")


def test_toll_does_not_apply_when_the_annotation_states_no_deaths() -> None:
    assert check(result(incident(3)), annotation(civilians=0), "toll")[0] == "n/a"


def test_governorate_passes_on_a_different_spelling_of_the_annotated_one() -> None:
    ann = annotation(location="deir ezzor")

    for admin1 in ("Deir ez-Zor", "Deir al-Zour Governorate", "deir ezzor", "Deir el-Zor"):
        assert check(result(incident(admin1=admin1)), ann, "governorate")[0] == "pass", admin1
    assert governorate("Al-Hasakah") == governorate("hasakeh") == "Hasakah"
    assert governorate("Lattakia") == governorate("Latakia") == "Latakia"


def test_governorate_fails_on_another_governorate_a_missing_one_or_a_non_governorate() -> None:
    assert check(result(incident(admin1="Idlib")), annotation(), "governorate") == (
        "fail",
        "Idlib (incident 1), annotated aleppo",
    )
    assert check(result(incident(admin1=None)), annotation(), "governorate")[0] == "fail"
    outcome, reason = check(result(incident(admin1="Syria")), annotation(), "governorate")
    assert outcome == "fail" and "is no governorate" in reason


def test_every_spelling_in_the_table_names_its_governorate_and_each_name_itself() -> None:
    for spelling, name in GOVERNORATES.items():
        assert governorate(spelling) == name, spelling
        assert governorate(name) == name, name


def test_fakes_damascus_accepts_rif_dimashq_but_rif_dimashq_is_not_the_city() -> None:
    assert check(result(incident(admin1="Rif Dimashq")), annotation(location="damascus"), "governorate")[0] == "pass"
    assert check(result(incident(admin1="Damascus")), annotation(location="damascus"), "governorate")[0] == "pass"
    ann = annotation(location="damascus countryside")
    assert check(result(incident(admin1="Damascus")), ann, "governorate")[0] == "fail"


def test_governorate_is_judged_on_the_main_incident_the_one_stating_the_annotated_toll() -> None:
    res = result(incident(40, admin1="Idlib"), incident(6, admin1="Aleppo"))

    assert check(res, annotation(), "governorate") == ("pass", "Aleppo (incident 2) = aleppo")


def test_without_a_toll_match_the_main_incident_is_the_one_with_most_killed() -> None:
    res = result(incident(2, admin1="Idlib"), incident(40, admin1="Aleppo"), incident(None, admin1="Hama"))

    assert check(res, annotation(civilians=70), "governorate") == ("pass", "Aleppo (incident 2) = aleppo")


def test_date_passes_on_the_stated_day_and_on_the_day_before() -> None:
    assert check(result(incident(date="2017-04-19")), annotation(), "date") == (
        "pass",
        "2017-04-19 (incident 1) = stated day",
    )
    assert check(result(incident(date="2017-04-18")), annotation(), "date")[0] == "pass"


def test_date_fails_after_publication_long_before_or_without_a_day() -> None:
    after = check(result(incident(date="2017-04-20")), annotation(), "date")
    assert after == ("fail", "2017-04-20 (incident 1) is after publication 2017-04-19")
    assert check(result(incident(date="2017-04-10")), annotation(), "date") == (
        "fail",
        "2017-04-10 (incident 1) is 9 days before the stated day 2017-04-19",
    )
    month = incident(date="2017-04")
    assert check(result(month), annotation(), "date") == (
        "fail",
        "2017-04 (incident 1) gives no day; stated day 2017-04-19",
    )
    assert check(result(incident(date=None)), annotation(), "date")[0] == "fail"


def test_date_does_not_apply_without_an_annotated_date() -> None:
    assert check(result(incident()), annotation(date=None), "date")[0] == "n/a"


@pytest.mark.parametrize(
    ("cause", "event_type", "sub_event_type"),
    [
        ("shelling", "Explosions/Remote violence", "Shelling/artillery/missile attack"),
        ("shelling", "Explosions/Remote violence", "Air/drone strike"),
        ("explosion", "Explosions/Remote violence", "Suicide bomb"),
        ("chemical and toxic gases", "Explosions/Remote violence", "Chemical weapon"),
        ("shooting", "Battles", "Armed clash"),
        ("shooting", "Violence against civilians", "Attack"),
        ("execution", "Violence against civilians", "Attack"),
    ],
)
def test_cause_passes_when_type_and_subtype_fit_the_annotated_cause(
    cause: str, event_type: str, sub_event_type: str
) -> None:
    res = result(incident(event_type=event_type, sub_event_type=sub_event_type))

    assert check(res, annotation(cause_of_death=cause), "cause")[0] == "pass"


def test_cause_fails_when_the_type_contradicts_the_cause() -> None:
    res = result(incident(event_type="Battles", sub_event_type="Armed clash"))

    assert check(res, annotation(cause_of_death="chemical and toxic gases"), "cause") == (
        "fail",
        "Battles / Armed clash (incident 1) does not fit chemical and toxic gases",
    )
    shelled = result(incident(sub_event_type="Shelling/artillery/missile attack"))
    assert check(shelled, annotation(cause_of_death="shooting"), "cause")[0] == "fail"


def test_cause_does_not_apply_when_fakes_says_unknown() -> None:
    assert check(result(incident()), annotation(cause_of_death="unknown"), "cause")[0] == "n/a"


def test_an_article_with_deaths_and_no_incident_is_a_zero_event_article() -> None:
    assert outcomes(result(), annotation()) == {
        "events": "fail",
        "toll": "fail",
        "governorate": "fail",
        "date": "fail",
        "cause": "fail",
    }
    assert check(result(), annotation(), "events") == (
        "fail",
        "no incident, though the article states deaths (civilians 6)",
    )
    assert check(result(), annotation(civilians=0), "events")[0] == "n/a"
    assert check(result(incident()), annotation(), "events") == ("pass", "1 incident")


def test_no_incident_from_an_article_without_deaths_is_not_held_against_place_day_or_cause() -> None:
    ann = annotation(civilians=0, cause_of_death="shelling")

    assert outcomes(result(), ann) == {
        "events": "n/a",
        "toll": "n/a",
        "governorate": "n/a",
        "date": "n/a",
        "cause": "n/a",
    }
    assert outcomes(result(incident(admin1="Idlib")), ann)["governorate"] == "fail"


def test_a_failed_extraction_fails_every_check_that_applies_and_says_why() -> None:
    failure = Failure("1", "ExtractionError", "1: no valid answer after 2 attempts")

    score = FAKES.score(failure, annotation(cause_of_death="unknown"))

    assert score.error == "ExtractionError: 1: no valid answer after 2 attempts"
    assert {n: c.outcome for n, c in score.checks.items()} == {
        "events": "fail",
        "toll": "fail",
        "governorate": "fail",
        "date": "fail",
        "cause": "n/a",
    }
    assert score.checks["toll"].reason == "no result (ExtractionError)"


# --- end to end: the command line against the real test server --------------------------


def _answers() -> dict[str, dict[str, Any]]:
    """Grounded replies: the first article right on every check, the second in the wrong governorate."""
    blast = "A bomb blast killed six people in the Salah al-Din district of Aleppo on Wednesday"
    douma = "Regime shelling killed 20 civilians in Douma in Eastern Ghouta on Thursday"
    return {
        "1000000001": {
            "incidents": [
                {
                    "date": {"text": "on Wednesday", "value": "2017-04-19", "precision": "day"},
                    "location": {"as_written": "Salah al-Din district", "admin1": "Aleppo", "country": "Syria"},
                    "event_type": "Explosions/Remote violence",
                    "sub_event_type": "Remote explosive/landmine/IED",
                    "casualties": [{"side": "people", "killed": 6, "evidence": [{"quote": blast}]}],
                    "summary": "A bomb blast in Aleppo killed six people.",
                    "evidence": [{"quote": blast}],
                }
            ]
        },
        "1000000002": {
            "incidents": [
                {
                    "date": {"text": "on Thursday", "value": "2015-02-12", "precision": "day"},
                    "location": {"as_written": "Douma", "admin1": "Homs"},
                    "event_type": "Explosions/Remote violence",
                    "sub_event_type": "Shelling/artillery/missile attack",
                    "casualties": [{"side": "civilians", "killed": 20, "evidence": [{"quote": douma}]}],
                    "summary": "Regime shelling killed 20 civilians in Douma.",
                    "evidence": [{"quote": douma}],
                }
            ]
        },
        "1000000003": {"incidents": []},
    }


def test_eval_dataset_prints_the_article_table_and_totals_and_a_rerun_costs_no_request(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fakes.csv", ARTICLES)
    report = tmp_path / "fakes.json"
    with ChatServer(replay(_answers())) as srv:
        config = write_config(tmp_path / "c.toml", srv.url)
        args = ["eval", "--dataset", f"fakes:{path}", "--config", str(config), "--quiet"]

        first = run_cli(*args, "--report", str(report))
        requests = len(srv.requests)
        second = run_cli(*args)

    assert first.returncode == 0, first.stderr
    assert requests == 3 and len(srv.requests) == 3
    out = first.stdout
    assert out.startswith("FA-KES: all 3 articles from fakes.csv, backend test (openai-compatible test-model)\n")
    assert re.search(r"^article\s+records\s+events\s+toll\s+governorate\s+date\s+cause$", out, re.M)
    assert re.search(r"^1000000001\s+1\s+pass\s+pass\s+pass\s+pass\s+pass$", out, re.M)
    assert re.search(r"^1000000002\s+1\s+pass\s+pass\s+FAIL\s+pass\s+pass$", out, re.M)
    assert re.search(r"^1000000003\s+0\s+-\s+-\s+-\s+-\s+-$", out, re.M)
    assert "    governorate: fail: Homs (incident 1), annotated damascus\n" in out
    assert re.search(r"^events\s+2\s+0\s+1\s+zero-event rate\s+0% \(0/2\)$", out, re.M)
    assert re.search(r"^governorate\s+1\s+1\s+1\s+governorate right\s+50% \(1/2\)$", out, re.M)
    assert (
        second.stdout.replace("3 from cache", "0 from cache")
        .replace("0 model calls", "3 model calls")
        .split("totals:")[0]
        == out.split("totals:")[0]
    )
    assert "totals: 3 articles, 0 failed, 3 from cache, 0 model calls" in second.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["totals"]["toll"] == {
        "check": "toll",
        "rate_name": "toll found",
        "rate": 1.0,
        "pass": 2,
        "fail": 0,
        "n/a": 1,
    }
    assert data["articles"][1]["checks"]["governorate"]["outcome"] == "fail"


def test_eval_dataset_scores_a_seeded_sample_by_default_of_the_documented_size(tmp_path: Path) -> None:
    rows = [ARTICLES[2] | {"unit_id": str(2000000000 + i)} for i in range(DEFAULT_SAMPLE + 5)]
    path = write_csv(tmp_path / "fakes.csv", rows)
    with ChatServer(lambda _: Reply.records({"incidents": []})) as srv:
        report = run_dataset(FAKES, path, write_config(tmp_path / "c.toml", srv.url), progress=False)
        again = run_dataset(FAKES, path, write_config(tmp_path / "c.toml", srv.url), progress=False, seed=0)

    assert len(report.articles) == DEFAULT_SAMPLE and report.available == DEFAULT_SAMPLE + 5
    assert [a.id for a in report.articles] == [a.id for a in again.articles]
    assert report.table().startswith(f"FA-KES: {DEFAULT_SAMPLE} of {DEFAULT_SAMPLE + 5} articles (sample 40, seed 0)")
    frame = report.to_pandas()
    assert frame.shape[0] == DEFAULT_SAMPLE and {"events", "events_reason", "toll", "cause"} <= set(frame.columns)
    totals = report.to_pandas("totals").set_index("check")
    assert totals.loc["events", "n/a"] == DEFAULT_SAMPLE and report.rate("events") is None


def test_eval_dataset_exits_1_when_every_article_failed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fakes.csv", ARTICLES[:1])
    with ChatServer() as srv:  # answers 418 to everything
        result = run_cli(
            "eval", "--dataset", f"fakes:{path}", "--config", str(write_config(tmp_path / "c.toml", srv.url)), "--quiet"
        )

    assert result.returncode == 1
    assert "1000000001        0  FAIL" in result.stdout
    assert "extraction failed:" in result.stdout
    assert "every article failed" in result.stderr


def test_eval_dataset_refuses_a_name_the_task_does_not_register_with_one_line_listing_those_it_does() -> None:
    result = run_cli("eval", "--dataset", "acled:x.csv", "--quiet")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "llm-extract: error: dataset 'acled': task 'conflict' registers no such dataset (it registers: fakes)"
    )


def test_dataset_names_are_the_tasks_own_a_string_imported_late_or_an_object() -> None:
    by_string = Task.define(
        "t", ConflictRecords, system="s", user="u", datasets={"mine": "llm_extract.schemas.fakes:FAKES"}
    )
    by_object = Task.define("t", ConflictRecords, system="s", user="u", datasets={"mine": FAKES})

    assert task_dataset(by_string, "mine") is FAKES
    assert task_dataset(by_object, "mine") is FAKES
    with pytest.raises(ConfigError, match="task 't' registers no such dataset"):
        task_dataset(by_object, "fakes")


def test_sample_and_seed_without_a_dataset_are_refused_rather_than_ignored() -> None:
    result = run_cli("eval", "--sample", "5", "--quiet")

    assert result.returncode == 2
    assert "--sample and --seed choose articles of a --dataset" in result.stderr


def test_sample_all_scores_every_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fakes.csv", ARTICLES)
    with ChatServer(replay(_answers())) as srv:
        config = write_config(tmp_path / "c.toml", srv.url)
        result = run_cli("eval", "--dataset", f"fakes:{path}", "--sample", "all", "--config", str(config), "--quiet")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("FA-KES: all 3 articles from fakes.csv")
