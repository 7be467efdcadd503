"""The evaluation harness: the scorer on hand-built cases, fixture errors, and ``llm-extract eval`` end to end
against a chat-completions server that replays each fixture's gold as the model's answer."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_cli, write_config
from llm_extract.schemas.conflict import EVALUATION, ConflictRecords, Incident, PersonnelChange
from pydantic import BaseModel

from llm_extract import FixtureError
from llm_extract.cli import main
from llm_extract.errors import ConfigError
from llm_extract.evaluation import (
    DocumentScore,
    EvaluationReport,
    EvaluationSpec,
    Exact,
    RecordSpec,
    evaluate,
    score_records,
)
from llm_extract.fixtures import load_fixture, load_fixtures
from llm_extract.testing import ChatServer, RecordedRequest, Reply, replay

SEEDS = ROOT / "seeds"

# --- hand-built records -----------------------------------------------------------------


def incident(
    day: str = "2022-03-15",
    place: str = "Jasim",
    actors: tuple[str, ...] = ("Syrian regime security patrol", "former opposition fighters"),
    *,
    killed: int | None = 2,
    wounded: int | None = None,
    event_type: tuple[str, str] = ("Battles", "Armed clash"),
    what: str = "clashes broke out",
) -> Incident:
    """An incident whose date, place, actors and quotes all differ when day or place differ."""
    return Incident.model_validate(
        {
            "date": {"text": day, "value": day, "precision": "day"},
            "location": {"as_written": place, "normalized": place, "admin1": "Daraa"},
            "event_type": event_type[0],
            "sub_event_type": event_type[1],
            "actors": [{"name": a, "name_en": a} for a in actors],
            "casualties": [
                {
                    "side": "people of the town",
                    "killed": killed,
                    "wounded": wounded,
                    "evidence": [{"quote": f"{what}: two killed in {place} on {day}"}],
                }
            ],
            "summary": f"Clashes in {place}.",
            "evidence": [{"quote": f"{what} in {place} on {day}"}],
        }
    )


def transfer(*claims: tuple[str, str]) -> PersonnelChange:
    """A transfer of Brigadier Iqab Saqr with one claim per (destination, source)."""
    return PersonnelChange.model_validate(
        {
            "person": "عقاب صقر عباس",
            "person_en": "Iqab Saqr Abbas",
            "claims": [
                {
                    "change_type": "transfer",
                    "destination": destination,
                    "source": source,
                    "evidence": [{"quote": f"{source} said he was moved to {destination}"}],
                }
                for destination, source in claims
            ],
            "evidence": [{"quote": "the regime transferred Brigadier Iqab Saqr Abbas"}],
        }
    )


def score(gold: dict[str, list[Any]], predicted: dict[str, list[BaseModel]], **kw: Any) -> DocumentScore:
    return score_records(gold, predicted, EVALUATION, **kw)


JASIM, DARAA, TAFAS = incident(), incident("2022-03-20", "Daraa al-Balad"), incident("2022-04-02", "Tafas")


# --- matching and counts ----------------------------------------------------------------


def test_perfect_prediction_scores_one() -> None:
    gold: dict[str, list[Any]] = {
        "incidents": [JASIM, DARAA],
        "personnel_changes": [transfer(("Damascus", "a former commander"), ("Qamishli", "Tajammu Ahrar Horan"))],
    }
    s = score(gold, {name: list(records) for name, records in gold.items()})

    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.total.tp == 3 and s.mismatches == []
    scored = {name: f.accuracy for name, f in s.fields.items() if f.n}
    assert scored and set(scored.values()) == {1.0}


def test_missing_incident_lowers_recall_and_only_recall() -> None:
    s = score({"incidents": [JASIM, DARAA]}, {"incidents": [JASIM]})

    c = s.counts["incidents"]
    assert (c.tp, c.fp, c.fn) == (1, 0, 1)
    assert c.recall == 0.5 and c.precision == 1.0
    assert s.mismatches == []  # the event it found is scored as right


def test_invented_incident_lowers_precision_and_only_precision() -> None:
    s = score({"incidents": [JASIM, DARAA]}, {"incidents": [JASIM, DARAA, TAFAS]})

    c = s.counts["incidents"]
    assert (c.tp, c.fp, c.fn) == (2, 1, 0)
    assert c.precision == pytest.approx(2 / 3) and c.recall == 1.0


def test_duplicate_record_of_the_same_event_is_a_false_positive() -> None:
    s = score({"incidents": [JASIM]}, {"incidents": [JASIM, incident()]})

    c = s.counts["incidents"]
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)
    assert c.precision == 0.5


def test_duplicate_is_not_paired_with_another_incident_of_the_same_day_place_and_sides() -> None:
    shelling = incident(
        event_type=("Explosions/Remote violence", "Shelling/artillery/missile attack"), what="shells hit"
    )

    s = score({"incidents": [JASIM, shelling]}, {"incidents": [JASIM, incident()]})

    c = s.counts["incidents"]
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)


def test_unmatched_optional_gold_costs_nothing_and_a_found_one_is_no_false_positive() -> None:
    gold = {"incidents": [JASIM, (DARAA, True)]}

    missed = score(gold, {"incidents": [JASIM]}).counts["incidents"]
    found = score(gold, {"incidents": [JASIM, DARAA]}).counts["incidents"]

    assert (missed.tp, missed.fp, missed.fn, missed.optional_missed) == (1, 0, 0, 1)
    assert (found.tp, found.fp, found.fn, found.optional_found) == (1, 0, 0, 1)
    assert missed.f1 == found.f1 == 1.0


def test_record_on_a_negative_control_is_a_false_positive() -> None:
    s = score({}, {"incidents": [JASIM]}, negative_control=True)
    empty = score({}, {}, negative_control=True)

    assert (s.total.tp, s.total.fp, s.total.fn) == (0, 1, 0)
    assert s.precision == 0.0 and s.f1 == 0.0
    assert empty.f1 == 1.0 and empty.precision is None  # nothing to find, nothing invented


def test_matching_is_optimal_not_greedy() -> None:
    """Greedy takes the best pair first (X-A, 0.8) and leaves Y with nothing; optimal pairs X-B and Y-A."""

    class Event(BaseModel):
        day: str
        place: str
        actor: str

    class Events(BaseModel):
        events: list[Event]

    spec = EvaluationSpec(
        {
            "events": RecordSpec(
                match={"day": (Exact("day"), 0.5), "place": (Exact("place"), 0.3), "actor": (Exact("actor"), 0.2)},
                fields={"actor": Exact("actor")},
                min_similarity=0.45,
            )
        }
    )
    spec.check(Events)
    a, b = Event(day="15", place="Jasim", actor="rebels"), Event(day="15", place="Tafas", actor="regime")
    x, y = Event(day="15", place="Jasim", actor="regime"), Event(day="16", place="Jasim", actor="rebels")
    # similarities: X-A 0.8, X-B 0.7, Y-A 0.5, Y-B 0.0

    s = score_records({"events": [a, b]}, {"events": [x, y]}, spec)

    assert (s.total.tp, s.total.fp, s.total.fn) == (2, 0, 0)
    assert {(m["gold"], m["predicted"]) for m in s.matches} == {(0, 1), (1, 0)}


# --- fields -------------------------------------------------------------------------------


def test_wounded_unknown_predicted_as_zero_is_a_field_error() -> None:
    s = score({"incidents": [incident(wounded=None)]}, {"incidents": [incident(wounded=0)]})

    assert s.total.tp == 1  # still the same event
    assert s.fields["incidents.casualties.wounded"].accuracy == 0.0
    assert s.fields["incidents.casualties.killed"].accuracy == 1.0
    (wrong,) = s.mismatches
    assert wrong["field"] == "casualties.wounded"
    assert wrong["gold_value"] == [["people of the town", None]]
    assert wrong["predicted_value"] == [["people of the town", 0]]


def test_wounded_unknown_predicted_as_unknown_is_right() -> None:
    s = score({"incidents": [incident(wounded=None)]}, {"incidents": [incident(wounded=None)]})

    assert s.fields["incidents.casualties.wounded"].accuracy == 1.0


def test_two_conflicting_destinations_scored_correctly_when_one_is_missing() -> None:
    gold = transfer(("Damascus", "a former opposition commander"), ("Qamishli", "Tajammu Ahrar Horan"))
    pred = transfer(("Damascus", "a former opposition commander"))

    s = score({"personnel_changes": [gold]}, {"personnel_changes": [pred]})

    assert s.total.tp == 1  # the right person: found
    assert s.fields["personnel_changes.claims"].accuracy == pytest.approx(2 / 3)  # 2 x 1 pair / (2 + 1)
    assert s.fields["personnel_changes.destinations"].accuracy == pytest.approx(2 / 3)
    assert s.fields["personnel_changes.change_type"].accuracy == 1.0


def test_claims_with_their_sources_swapped_score_zero() -> None:
    gold = transfer(("Damascus", "a former opposition commander"), ("Qamishli", "Tajammu Ahrar Horan"))
    swapped = transfer(("Damascus", "Tajammu Ahrar Horan"), ("Qamishli", "a former opposition commander"))

    s = score({"personnel_changes": [gold]}, {"personnel_changes": [swapped]})

    assert s.fields["personnel_changes.destinations"].accuracy == 1.0
    assert s.fields["personnel_changes.claims"].accuracy == 0.0


def test_a_wrong_date_is_a_field_error_but_the_event_is_still_found() -> None:
    right = incident()
    pred = right.model_copy(update={"date": right.date.model_copy(update={"value": "2022-03", "precision": "month"})})

    s = score({"incidents": [JASIM]}, {"incidents": [pred]})

    assert s.total.tp == 1
    assert s.fields["incidents.date"].accuracy == 0.0
    assert s.fields["incidents.date.precision"].accuracy == 0.0
    assert s.fields["incidents.location.normalized"].accuracy == 1.0


def test_evidence_grounding_rate_counts_predicted_quotes_found_in_the_source() -> None:
    source = "clashes broke out in Jasim on 2022-03-15 (clashes broke out: two killed in Jasim on 2022-03-15)."

    s = score({"incidents": [JASIM]}, {"incidents": [JASIM, TAFAS]}, source=source)

    assert (s.quotes, s.grounded) == (4, 2)
    assert s.grounding_rate == 0.5


# --- the spec -----------------------------------------------------------------------------


def test_spec_with_a_misspelt_field_fails_when_checked_naming_list_entry_and_field() -> None:
    bad = EvaluationSpec({"incidents": RecordSpec(match={"date": (Exact("dat.value"), 1.0)})}, name="mine")

    with pytest.raises(ConfigError, match=r"mine: incidents\.match\['date'\]: Incident has no field 'dat'"):
        bad.check(ConflictRecords)


def test_schema_without_a_spec_gets_the_default_matching_on_shared_evidence() -> None:
    spec = EvaluationSpec.default(ConflictRecords)

    s = score_records({"incidents": [JASIM, DARAA]}, {"incidents": [DARAA]}, spec)

    assert [(m["gold"], m["predicted"]) for m in s.matches] == [(1, 0)]
    assert "incidents.event_type" in s.fields


# --- malformed fixtures ---------------------------------------------------------------------

SOURCE_TEXT = "اشتباكات في مدينة جاسم بريف درعا الشمالي أسفرت عن مقتل شخصين من أبناء المدينة.\n"


def _gold_record() -> dict[str, Any]:
    return {
        "date": {"text": "unknown", "precision": "unknown"},
        "location": {"as_written": "مدينة جاسم", "normalized": "Jasim", "admin1": "Daraa"},
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "summary": "Clashes in Jasim; two townspeople killed.",
        "evidence": [{"quote": "أسفرت عن مقتل شخصين من أبناء المدينة"}],
    }


def _fixture(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "doc_id": "tiny.ar",
        "source": "tiny.ar.txt",
        "published": "2022-03",
        "incidents": [{"record": _gold_record()}],
    }
    data.update(changes)
    return data


def _record(**changes: Any) -> dict[str, Any]:
    return _fixture(incidents=[{"record": _gold_record() | changes}])


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param('{"doc_id": "tiny.ar", ', "not valid JSON (line 1", id="bad-json"),
        pytest.param(
            {k: v for k, v in _fixture().items() if k != "doc_id"}, "doc_id: Field required", id="missing-doc-id"
        ),
        pytest.param(
            {k: v for k, v in _fixture().items() if k != "source"}, "source: Field required", id="missing-source"
        ),
        pytest.param(
            _fixture(incidents=[{"record": {k: v for k, v in _gold_record().items() if k != "event_type"}}]),
            "incidents.0.record.event_type: Field required",
            id="missing-record-field",
        ),
        pytest.param(_record(event_type="Skirmish"), "incidents.0.record.event_type: Input should be", id="bad-enum"),
        pytest.param(
            _record(evidence=[{"quote": "قصفت الطائرات الروسية مدينة جاسم"}]),
            "incidents.0.record.evidence.0: Value error, evidence quote not found in the article",
            id="quote-not-in-source",
        ),
    ],
)
def test_malformed_fixture_is_one_line_naming_file_and_field(tmp_path: Path, content: Any, field: str) -> None:
    (tmp_path / "tiny.ar.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    path = tmp_path / "tiny.ar.gold.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), "utf-8")

    with pytest.raises(FixtureError) as info:
        load_fixture(path)

    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert field in message


def test_well_formed_tiny_fixture_loads(tmp_path: Path) -> None:
    (tmp_path / "tiny.ar.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    (tmp_path / "tiny.ar.gold.json").write_text(json.dumps(_fixture(), ensure_ascii=False), "utf-8")

    (fx,) = load_fixtures(tmp_path)
    assert fx.doc_id == "tiny.ar" and len(fx.gold["incidents"]) == 1


# --- the report -----------------------------------------------------------------------------


def _report() -> EvaluationReport:
    a = score({"incidents": [JASIM]}, {"incidents": [incident(wounded=0)]}, doc_id="jasim", backend="big")
    b = score({"incidents": [JASIM]}, {}, doc_id="jasim", backend="small<b>")
    b.error = "BackendError: <script>alert(1)</script>"
    return EvaluationReport([a, b], ["big", "small<b>"])


def test_report_table_shows_backends_side_by_side_and_names_failures() -> None:
    text = _report().table()

    header = text.splitlines()[2]
    assert "big" in header and "small<b>" in header
    assert "jasim" in text and "overall" in text and "incidents.casualties.wounded" in text
    assert "Failed:\n  small<b> jasim: BackendError" in text
    assert "wrong    incidents[0].casualties.wounded: gold " in text.split("Per document:")[1]


def test_report_html_escapes_every_value() -> None:
    page = _report()._repr_html_()

    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "small&lt;b&gt;" in page and "small<b>" not in page


def test_report_to_dict_is_json_and_to_pandas_has_one_row_per_document_and_list() -> None:
    report = _report()

    data = json.loads(report.to_json())
    assert data["overall"]["big"]["records"]["all"]["f1"] == 1.0
    assert data["overall"]["small<b>"]["records"]["all"]["f1"] == 0.0
    frame = report.to_pandas()
    assert set(frame["backend"]) == {"big", "small<b>"}
    assert {"doc_id", "records", "tp", "fp", "fn", "precision", "recall", "f1"} <= set(frame.columns)
    assert len(report.to_pandas("mismatches")) == 1


def test_report_to_pandas_of_one_record_list_has_only_its_rows() -> None:
    report = _report()

    documents = report.to_pandas(records="incidents")
    fields = report.to_pandas("fields", records="incidents")

    assert set(documents["records"]) == {"incidents"}
    assert len(documents) == 2  # one per backend
    assert len(fields) > 0 and all(f.startswith("incidents.") for f in fields["field"])
    assert set(report.to_pandas(records="negotiations")["records"]) == {"negotiations"}


# --- end to end ------------------------------------------------------------------------------

_DOC_ID = re.compile(r"Document id: (\S+)")


def replaying(answers: dict[str, dict[str, Any]]) -> Callable[[RecordedRequest], Reply]:
    """A model that answers each document with its fixture's gold, picked by the doc id in the prompt."""

    def reply(request: RecordedRequest) -> Reply:
        m = _DOC_ID.search(request.text)
        if not m or m.group(1) not in answers:
            return Reply.error(418, "no gold for this document")
        return Reply.records(answers[m.group(1)])

    return reply


@pytest.fixture
def gold_server() -> Iterator[ChatServer]:
    answers = {fx.doc_id: fx.as_answer() for fx in load_fixtures(SEEDS)}
    with ChatServer(replaying(answers)) as srv:
        yield srv


def test_eval_cli_replaying_the_gold_scores_one_and_writes_the_json_report(
    tmp_path: Path, gold_server: ChatServer
) -> None:
    config = write_config(tmp_path / "llm_extract.toml", gold_server.url)
    report = tmp_path / "report.json"

    result = run_cli("eval", "--fixtures", str(SEEDS), "--config", str(config), "--report", str(report), "--quiet")

    assert result.returncode == 0, result.stderr
    assert len(gold_server.requests) == len(load_fixtures(SEEDS))
    assert re.search(r"^overall\s+1\.00\s+1\.00\s+1\.00", result.stdout, re.M)
    data = json.loads(report.read_text(encoding="utf-8"))
    overall = data["overall"]["test"]
    assert overall["records"]["all"]["f1"] == 1.0 and overall["records"]["all"]["fn"] == 0
    assert overall["evidence"]["rate"] == 1.0
    assert all(f["accuracy"] in (1.0, None) for f in overall["fields"].values())


@pytest.fixture
def replay_server() -> Iterator[ChatServer]:
    """The package's own replay server: each request answered in the shape it asks, as a perfect model would."""
    fixtures = load_fixtures(SEEDS)
    answers = {fx.doc_id: fx.as_answer() for fx in fixtures}
    with ChatServer(replay(answers, texts={fx.doc_id: fx.document.text for fx in fixtures})) as srv:
        yield srv


@pytest.mark.parametrize("strategy", ["one-call", "per-list", "per-list-cued"])
def test_a_perfect_model_scores_one_through_each_strategy_but_detection(
    tmp_path: Path, replay_server: ChatServer, strategy: str
) -> None:
    """The replay rows of docs/strategies.md: what a server model that answers right gets through each."""
    config = write_config(tmp_path / "c.toml", replay_server.url, strategy=strategy)

    assert main(["eval", "--fixtures", str(SEEDS), "--config", str(config), "--quiet", "--min-f1", "1"]) == 0


def test_a_perfect_model_through_detect_then_fill_invents_nothing_and_loses_records_quoted_across_groups(
    tmp_path: Path, replay_server: ChatServer
) -> None:
    """A fill call sees one run of sentences: a record whose quotes lie in two runs cannot be written whole."""
    config = write_config(tmp_path / "c.toml", replay_server.url, strategy="detect-then-fill")
    report = tmp_path / "report.json"

    main(["eval", "--fixtures", str(SEEDS), "--config", str(config), "--quiet", "--report", str(report)])

    overall = json.loads(report.read_text(encoding="utf-8"))["overall"]["test"]["records"]["all"]
    assert overall["precision"] == 1.0 and 0.5 < overall["recall"] < 1.0


def test_eval_second_run_answers_from_the_cache_without_a_request(
    tmp_path: Path, gold_server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", "--fixtures", str(SEEDS), "--config", str(write_config(tmp_path / "c.toml", gold_server.url))]
    n = len(load_fixtures(SEEDS))
    assert main([*args, "--quiet"]) == 0
    assert len(gold_server.requests) == n
    capsys.readouterr()

    assert main([*args, "--quiet", "--min-f1", "1"]) == 0

    assert len(gold_server.requests) == n
    assert f"{n} documents, {n} from cache, 0 model calls" in capsys.readouterr().out


def test_eval_exits_1_when_overall_f1_is_below_min_f1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nothing = {"incidents": [], "negotiations": [], "personnel_changes": []}
    report = tmp_path / "report.json"
    with ChatServer(lambda _: Reply.records(nothing)) as srv:
        config = write_config(tmp_path / "c.toml", srv.url)
        args = ["eval", "--fixtures", str(SEEDS), "--config", str(config), "--report", str(report), "--quiet"]

        assert main([*args, "--min-f1", "0.5"]) == 1

    assert "test: overall F1 0.000 is below --min-f1 0.5" in capsys.readouterr().err
    assert json.loads(report.read_text(encoding="utf-8"))["overall"]["test"]["records"]["all"]["fn"] > 0


def test_failed_document_is_reported_and_counted_as_missed_not_fatal(tmp_path: Path) -> None:
    fixtures = load_fixtures(SEEDS)
    answers = {fx.doc_id: fx.as_answer() for fx in fixtures}
    broken = next(fx for fx in fixtures if any(fx.records(include_optional=False).values()))
    del answers[broken.doc_id]  # the server answers 418 for it
    with ChatServer(replaying(answers)) as srv:
        report = evaluate(SEEDS, write_config(tmp_path / "c.toml", srv.url), progress=False)

    doc = next(d for d in report.documents if d.doc_id == broken.doc_id)
    assert doc.error is not None and "HTTP 418" in doc.error
    assert doc.total.tp == 0 and doc.total.fn == sum(len(v) for v in broken.records(include_optional=False).values())
    assert report.runs["test"].failed == 1
    others = [d for d in report.documents if d.doc_id != broken.doc_id]
    assert all(d.f1 == 1.0 and d.error is None for d in others)


def test_several_backends_are_evaluated_side_by_side(tmp_path: Path, gold_server: ChatServer) -> None:
    config = write_config(tmp_path / "c.toml", gold_server.url)
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'[backends.other]\nkind = "openai-compatible"\nmodel = "other-model"\nbase_url = "{gold_server.url}"\n',
        encoding="utf-8",
    )

    report = evaluate(SEEDS, config, ["test", "other"], progress=False)

    assert report.backends == ["test", "other"]
    assert report.f1("test") == report.f1("other") == 1.0
    assert "test (test-model)" in report.table().splitlines()[2]
    assert "other (other-model)" in report.table().splitlines()[2]


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed

    with pytest.raises(ImportError, match=r"pip install 'llm_extract\[pandas\]'"):
        _report().to_pandas()
