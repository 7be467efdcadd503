"""Evaluation reports that name things: per document, each missed required gold record (its id and
first quote), each invented record (its type, summary and first quote) and each wrong field, in the
text, JSON and HTML reports; ``--compare A B`` side by side; and the fixtures that ship in the package,
so ``llm-extract eval`` runs outside a clone."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_cli, write_config
from llm_extract.schemas.conflict import Incident
from pydantic import BaseModel

from llm_extract.cli import main
from llm_extract.evaluation import EvaluationReport, EvaluationSpec, compare, score_fixture
from llm_extract.fixtures import Fixture, load_fixture, load_fixtures, task_fixtures
from llm_extract.task import Task
from llm_extract.testing import ChatServer, RecordedRequest, Reply

SEEDS = ROOT / "seeds"
SEED_FIXTURE = SEEDS / "enab-baladi-558021.ar.gold.json"  # incidents[0], negotiations[0], personnel_changes[0]
NEGATIVE = SEEDS / "alarabiya-AL-culture-78-20180221.ar.gold.json"  # a culture article: no event
SPEC = EvaluationSpec.for_task(Task.from_config())


def predicted(fx: Fixture, *, drop: tuple[str, int] | None = None) -> dict[str, list[BaseModel]]:
    """The fixture's gold as a prediction, less the record ``drop`` names."""
    return {name: [r for i, (r, _) in enumerate(entries) if (name, i) != drop] for name, entries in fx.gold.items()}


def first_own_quote(record: BaseModel) -> str:
    return str(record.evidence[0].quote)  # type: ignore[attr-defined]


INVENTED = Incident.model_validate(
    {
        "date": {"text": "yesterday", "value": "2018-02-20", "precision": "day"},
        "location": {"as_written": "Cairo", "normalized": "Cairo"},
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Shelling/artillery/missile attack",
        "summary": "A <b>made-up</b> shelling of the opera house.",
        "evidence": [{"quote": "the opera house was shelled <script>x</script>"}],
    }
)


@pytest.fixture(scope="module")
def seed() -> Fixture:
    return load_fixture(SEED_FIXTURE)


@pytest.fixture(scope="module")
def negative() -> Fixture:
    return load_fixture(NEGATIVE)


def test_missed_required_gold_record_is_named_by_id_and_first_quote_in_text_and_json(seed: Fixture) -> None:
    gold_negotiation = seed.gold["negotiations"][0][0]
    score = score_fixture(seed, predicted(seed, drop=("negotiations", 0)), SPEC, backend="test")
    report = EvaluationReport([score], ["test"])

    text = report.table()
    line = next(ln for ln in text.splitlines() if ln.startswith("    missed "))
    assert line.strip().startswith("missed   negotiations[0]:")
    assert first_own_quote(gold_negotiation)[:40] in line
    (missed,) = json.loads(report.to_json())["documents"][0]["missed"]
    assert missed["id"] == "negotiations[0]" and missed["type"] == "Negotiation"
    assert missed["quote"] == first_own_quote(gold_negotiation)
    assert missed["summary"] == gold_negotiation.summary  # type: ignore[attr-defined]


def test_invented_record_is_named_by_type_summary_and_first_quote_in_text_and_json(negative: Fixture) -> None:
    score = score_fixture(negative, {"incidents": [INVENTED]}, SPEC, backend="test")
    report = EvaluationReport([score], ["test"])

    text = report.table()
    assert f"  test {negative.doc_id} [no event]" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("    invented "))
    assert line.startswith('    invented Incident: "A <b>made-up</b> shelling of the opera house." quote ')
    assert line.endswith('"the opera house was shelled <script>x</script>"')
    (invented,) = json.loads(report.to_json())["documents"][0]["invented"]
    assert invented == {
        "predicted": 0,
        "records": "incidents",
        "type": "Incident",
        "summary": "A <b>made-up</b> shelling of the opera house.",
        "quote": "the opera house was shelled <script>x</script>",
    }


def test_wrong_field_of_a_matched_pair_is_listed_under_its_document_with_gold_and_predicted(seed: Fixture) -> None:
    pred = predicted(seed)
    gold_incident = pred["incidents"][0]
    pred["incidents"][0] = gold_incident.model_copy(
        update={"date": gold_incident.date.model_copy(update={"value": "2022-03-14"})}  # type: ignore[attr-defined]
    )
    report = EvaluationReport([score_fixture(seed, pred, SPEC, backend="test")], ["test"])

    details = report.table().split("Per document:")[1]
    assert re.search(r"wrong    incidents\[0\]\.date: gold .*2022-03-15.* / predicted .*2022-03-14", details)
    (wrong,) = json.loads(report.to_json())["documents"][0]["mismatches"]
    assert wrong["id"] == "incidents[0]" and wrong["field"] == "date"
    assert "    missed " not in details and "    invented " not in details


def test_to_pandas_has_one_row_per_missed_and_per_invented_record(seed: Fixture, negative: Fixture) -> None:
    report = EvaluationReport(
        [
            score_fixture(seed, predicted(seed, drop=("negotiations", 0)), SPEC, backend="test"),
            score_fixture(negative, {"incidents": [INVENTED]}, SPEC, backend="test"),
        ],
        ["test"],
    )

    missed, invented = report.to_pandas("missed"), report.to_pandas("invented")

    assert list(missed["id"]) == ["negotiations[0]"] and list(missed["doc_id"]) == [seed.doc_id]
    assert list(invented["type"]) == ["Incident"] and list(invented["doc_id"]) == [negative.doc_id]


def test_a_perfect_document_names_nothing(seed: Fixture) -> None:
    report = EvaluationReport([score_fixture(seed, predicted(seed), SPEC, backend="test")], ["test"])

    assert "Per document:" not in report.table()
    doc = json.loads(report.to_json())["documents"][0]
    assert doc["missed"] == doc["invented"] == doc["mismatches"] == []


def test_html_report_names_missed_and_invented_records_with_every_value_escaped(
    seed: Fixture, negative: Fixture
) -> None:
    report = EvaluationReport(
        [
            score_fixture(seed, predicted(seed, drop=("negotiations", 0)), SPEC, backend="test"),
            score_fixture(negative, {"incidents": [INVENTED]}, SPEC, backend="test"),
        ],
        ["test"],
    )

    page = report.to_html()

    assert page.startswith("<!DOCTYPE html>") and "<h1>llm-extract evaluation: test</h1>" in page
    assert "<td" in page and ">missed</td>" in page and ">negotiations[0]</td>" in page
    assert ">invented</td>" in page and ">Incident</td>" in page
    assert "A &lt;b&gt;made-up&lt;/b&gt; shelling" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>" not in page and "<b>made-up" not in page
    assert report._repr_html_().startswith('<div class="llm-extract-eval">')


def test_saved_json_report_reads_back_with_the_same_scores_and_names(tmp_path: Path, seed: Fixture) -> None:
    report = EvaluationReport(
        [score_fixture(seed, predicted(seed, drop=("negotiations", 0)), SPEC, backend="t")], ["t"]
    )
    report.write_json(tmp_path / "r.json")

    again = EvaluationReport.read_json(tmp_path / "r.json")

    assert again.to_dict() == report.to_dict()


# --- --compare ---------------------------------------------------------------------------------

_DOC_ID = re.compile(r"Document id: (\S+)")


def gold_replay(fixtures: list[Fixture], *, drop: str | None = None) -> Any:
    """A model answering each document with its gold; for doc id ``drop`` it answers nothing."""
    answers = {fx.doc_id: fx.as_answer() for fx in fixtures}
    nothing = {name: [] for name in fixtures[0].gold}

    def reply(request: RecordedRequest) -> Reply:
        m = _DOC_ID.search(request.text)
        if not m or m.group(1) not in answers:
            return Reply.error(418, "no gold for this document")
        return Reply.records(nothing if m.group(1) == drop else answers[m.group(1)])

    return reply


@pytest.fixture
def three_fixtures(tmp_path: Path) -> Path:
    """A small fixtures folder: the seed, a negative control and a one-incident article."""
    folder = tmp_path / "fixtures"
    folder.mkdir()
    for stem in ("enab-baladi-558021.ar", "alarabiya-AL-culture-78-20180221.ar", "sputnik-fakes-1965495340.en"):
        for suffix in (".txt", ".gold.json"):
            shutil.copy(SEEDS / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    return folder


@pytest.fixture
def two_backends(tmp_path: Path, three_fixtures: Path) -> Iterator[Path]:
    """Backend ``test`` replays the gold; backend ``weak`` does too, but answers nothing for the seed."""
    fixtures = load_fixtures(three_fixtures)
    with (
        ChatServer(gold_replay(fixtures)) as good,
        ChatServer(gold_replay(fixtures, drop="enab-baladi-558021.ar")) as weak,
    ):
        config = write_config(tmp_path / "c.toml", good.url)
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'[backends.weak]\nkind = "openai-compatible"\nmodel = "weak-model"\nbase_url = "{weak.url}"\n'
            + "max_attempts = 1\nbackoff_initial = 0.0\n",
            encoding="utf-8",
        )
        yield config


def test_compare_two_backends_shows_each_document_and_overall_with_the_difference(
    three_fixtures: Path, two_backends: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", "--fixtures", str(three_fixtures), "--config", str(two_backends), "--quiet"]

    assert main([*args, "--compare", "test", "weak"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Comparison of 3 documents: A = test, B = weak")
    seed_row = next(ln for ln in out.splitlines() if ln.startswith("enab-baladi-558021.ar"))
    assert re.search(r"1\.00\s+0\s+0\s+0\.00\s+0\s+3\s+-1\.00\s+\+0\s+\+3$", seed_row)
    assert re.search(r"^sputnik-fakes-1965495340\.en\s+1\.00\s+0\s+0\s+1\.00\s+0\s+0\s+\+0\.00", out, re.M)
    assert re.search(r"^alarabiya-AL-culture-78-20180221\.ar \[no event\]", out, re.M)
    assert re.search(r"^FN\s+0\s+3\s+\+3$", out, re.M)
    assert "B is better on 0 documents, worse on 1, even on 2." in out


def test_compare_a_saved_report_with_a_backend_reads_the_report_and_runs_only_the_backend(
    tmp_path: Path, three_fixtures: Path, two_backends: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", "--fixtures", str(three_fixtures), "--config", str(two_backends), "--quiet"]
    saved = tmp_path / "weak.json"
    assert main([*args, "--backend", "weak", "--report", str(saved)]) == 0
    capsys.readouterr()
    comparison = tmp_path / "comparison.json"

    assert main([*args, "--compare", str(saved), "test", "--report", str(comparison)]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Comparison of 3 documents: A = weak.json, B = test")
    assert re.search(r"^F1\s+0\.\d\d\s+1\.00\s+\+0\.\d\d$", out, re.M)
    data = json.loads(comparison.read_text(encoding="utf-8"))
    assert data["a"] == {"label": "weak.json", "backend": "weak"} and data["b"]["backend"] == "test"
    seed_row = next(d for d in data["documents"] if d["doc_id"] == "enab-baladi-558021.ar")
    assert seed_row["f1_difference"] == 1.0


def test_compare_refuses_the_same_run_twice_and_an_unreadable_report(tmp_path: Path) -> None:
    same = run_cli("eval", "--compare", "test", "test", "--quiet")
    missing = run_cli("eval", "--compare", str(tmp_path / "nope.json"), "test", "--quiet")

    assert same.returncode == 2
    assert same.stderr.strip() == (
        "llm-extract: error: --compare: A and B are both 'test'; name two backends or two reports"
    )
    assert missing.returncode == 1 and "nope.json: cannot be read" in missing.stderr


def test_compare_of_one_report_with_two_backends_pairs_them(seed: Fixture) -> None:
    a = score_fixture(seed, predicted(seed), SPEC, backend="a")
    b = score_fixture(seed, predicted(seed, drop=("incidents", 0)), SPEC, backend="b")

    table = compare(EvaluationReport([a, b], ["a", "b"])).table()

    assert re.search(r"^R\s+1\.00\s+0\.67\s+-0\.33$", table, re.M)


# --- fixtures that ship -------------------------------------------------------------------------


def test_the_built_in_tasks_fixtures_are_package_data_not_the_working_directory() -> None:
    folder = task_fixtures()

    assert sorted(p.name for p in folder.glob("*.gold.json")) == sorted(p.name for p in SEEDS.glob("*.gold.json"))
    assert (folder / "README.md").is_file()


def test_eval_outside_a_clone_finds_the_packaged_fixtures(tmp_path: Path) -> None:
    fixtures = load_fixtures(SEEDS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ChatServer(gold_replay(fixtures)) as srv:
        config = write_config(tmp_path / "c.toml", srv.url)

        result = run_cli("eval", "--config", str(config), "--quiet", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert len(srv.requests) == len(fixtures) >= 30
    assert re.search(r"^overall\s+1\.00\s+1\.00\s+1\.00", result.stdout, re.M)
    assert list(elsewhere.iterdir()) == []


def test_every_fixture_file_matches_the_package_data_globs_of_pyproject() -> None:
    """A fixture added to seeds/ ships too: the packaging rule covers every text, gold file and the README."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]

    assert setuptools["package-dir"]["llm_extract.fixtures_data"] == "seeds"
    globs = setuptools["package-data"]["llm_extract.fixtures_data"]
    unshipped = [
        p.name for p in SEEDS.iterdir() if p.is_file() and p.suffix != ".py" and not any(p.match(g) for g in globs)
    ]
    assert unshipped == []
