"""Notebook display and DataFrames (issue 8): what a Jupyter user sees and gets.

Results come from the real engine against the scripted chat server, so the
offsets being highlighted are the ones grounding computed. The HTML is read
back with the standard library's parser, the way a browser tokenises it; the
rendered page itself is checked in ``test_browser.py``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import SEED, seed_reply
from llm_extract.schemas.conflict import ConflictRecords

from llm_extract import DocumentResult, Extractor, Provenance
from llm_extract.batch import BatchResult, BatchSummary
from llm_extract.display import evidence_spans, render_html, render_page, text_direction
from llm_extract.grounding import SourceText, grounding, iter_evidence, normalize
from llm_extract.testing import ChatServer, Reply

MakeExtractor = Callable[..., Extractor]

INJECTED = "<script>window.__lx_pwned = 1; document.title = 'pwned';</script>"
INJECTED_IMG = '<img src=x onerror="window.__lx_pwned = 2">'


class Page(HTMLParser):
    """The elements a test cares about, as a browser's tokenizer sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict[str, Any]] = []
        self.tags: list[str] = []
        self.article_attrs: dict[str, str | None] = {}
        self.paragraph_dirs: list[str | None] = []
        self._mark: dict[str, Any] | None = None
        self._depth = 0
        self.nested_marks = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "div" and "lx-article" in (a.get("class") or "").split():
            self.article_attrs = a
        if tag == "p":
            self.paragraph_dirs.append(a.get("dir"))
        if tag == "mark":
            if self._mark is not None:
                self.nested_marks = True
            self._mark = {"attrs": a, "text": ""}
            self.marks.append(self._mark)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._mark = None

    def handle_data(self, data: str) -> None:
        if self._mark is not None:
            self._mark["text"] += data


def _result(records: dict[str, Any], text: str, doc_id: str = "doc") -> DocumentResult:
    """A result built by hand (grounded against ``text``), for shapes a server test would not reach."""
    with grounding(SourceText(text)):
        model = ConflictRecords.model_validate(records)
    provenance = Provenance(
        doc_id=doc_id,
        text_sha256="0" * 64,
        backend="hand",
        backend_kind="openai-compatible",
        model="none",
        mode="tools",
        task="conflict",
        prompt_sha256="0" * 64,
        schema_sha256="0" * 64,
    )
    return DocumentResult(doc_id=doc_id, records=model, provenance=provenance, text=text)


@pytest.fixture
def seed_result(server: ChatServer, make_extractor: MakeExtractor) -> DocumentResult:
    server.push(Reply.records(seed_reply()))
    return make_extractor().extract(SEED, published="2022-03")


def _marked_text(page: Page, path: str) -> str:
    return "".join(m["text"] for m in page.marks if path in (m["attrs"].get("data-evidence") or "").split())


# --- highlighting ------------------------------------------------------------------


def test_every_evidence_quote_is_highlighted_exactly_over_its_offsets(seed_result: DocumentResult) -> None:
    page = Page(seed_result._repr_html_())

    spans = evidence_spans(seed_result.records, seed_result.text)
    assert len(spans) == len(list(iter_evidence(seed_result.records))) == 6
    for span in spans:
        assert span.start is not None and span.end is not None
        assert _marked_text(page, span.path) == seed_result.text[span.start : span.end], span.path


def test_highlight_names_record_type_record_and_field(seed_result: DocumentResult) -> None:
    page = Page(seed_result._repr_html_())

    mark = next(m for m in page.marks if "incidents[0].casualties[1].evidence[0]" in m["attrs"]["data-evidence"])
    assert "lx-t-incidents" in mark["attrs"]["class"].split()
    assert mark["attrs"]["title"].startswith("incidents[0].casualties[1].evidence[0]")
    assert mark["attrs"]["style"].startswith("background:#")
    claim = next(m for m in page.marks if "personnel_changes[0].claims[1].evidence[0]" in m["attrs"]["data-evidence"])
    assert "lx-t-personnel_changes" in claim["attrs"]["class"].split()


def test_overlapping_quotes_are_split_into_segments_that_name_every_quote() -> None:
    text = "The patrol attacked the town on Monday and two people were killed in the clashes."
    record = {
        "date": {"text": "on Monday"},
        "location": {"as_written": "the town"},
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "casualties": [{"side": "people", "killed": 2, "evidence": [{"quote": "two people were killed"}]}],
        "summary": "A clash.",
        "evidence": [{"quote": "attacked the town on Monday and two people"}],
    }
    result = _result({"incidents": [record]}, text)
    page = Page(render_html(result))

    assert not page.nested_marks
    both = [m for m in page.marks if len(m["attrs"]["data-evidence"].split()) == 2]
    assert [m["text"] for m in both] == ["two people"]
    assert "lx-overlap" in both[0]["attrs"]["class"].split()
    assert _marked_text(page, "incidents[0].evidence[0]") == "attacked the town on Monday and two people"
    assert _marked_text(page, "incidents[0].casualties[0].evidence[0]") == "two people were killed"


def test_a_quote_without_offsets_is_located_in_the_text() -> None:
    text = "Five soldiers were killed near the border crossing on Sunday."
    result = _result({}, text)
    result.records = ConflictRecords.model_validate(  # no grounding context: no offsets
        {
            "incidents": [
                {
                    "date": {"text": "on Sunday"},
                    "location": {"as_written": "border crossing"},
                    "event_type": "Battles",
                    "sub_event_type": "Armed clash",
                    "summary": "Soldiers killed.",
                    "evidence": [{"quote": "five soldiers were killed"}],
                }
            ]
        }
    )

    (span,) = evidence_spans(result.records, text)
    assert (span.start, span.end) == (0, len("Five soldiers were killed"))


def test_each_record_has_its_own_colour_and_number_on_its_highlights_and_row(seed_result: DocumentResult) -> None:
    markup = seed_result._repr_html_()
    page = Page(markup)

    colours = {m["attrs"]["data-record"]: m["attrs"]["style"] for m in page.marks}
    assert set(colours) == {"incidents[0]", "personnel_changes[0]"}
    assert colours["incidents[0]"] != colours["personnel_changes[0]"]
    badges = {m["attrs"]["data-badge"] for m in page.marks if m["attrs"].get("data-badge")}
    assert badges == {"I0", "PC0"}
    for record, badge in (("incidents[0]", "I0"), ("personnel_changes[0]", "PC0")):
        row = re.search(rf'<tr class="lx-rec" id="[^"]+" data-record="{re.escape(record)}">(.*?)</tr>', markup)
        assert row and f'style="{colours[record]}">{badge}</span>' in row.group(1), record


def test_highlights_link_to_their_record_row_and_rows_link_back(seed_result: DocumentResult) -> None:
    markup = seed_result._repr_html_()

    ids = dict(re.findall(r'<tr class="lx-rec" id="([^"]+)" data-record="([^"]+)"', markup))
    links = re.findall(r'data-record="([^"]+)"[^>]*><a href="#([^"]+)">', markup)  # mark -> its row
    assert links and all(ids[target] == record for record, target in links)
    for row_id, record in ids.items():  # row -> its quotes, each a mark of that record
        row = re.search(rf'id="{row_id}".*?</td>', markup)
        assert row is not None
        backs = re.findall(r'<a href="#([^"]+)" title="[^"]*">↑', row.group(0))
        assert backs, record
        for target in backs:
            assert re.search(rf'<mark [^>]*data-record="{re.escape(record)}" id="{target}"', markup), (record, target)


# --- escaping and direction --------------------------------------------------------


def test_article_markup_is_shown_as_text_never_as_html(server: ChatServer, make_extractor: MakeExtractor) -> None:
    text = SEED.read_text(encoding="utf-8") + "\n" + INJECTED + "\n" + INJECTED_IMG + "\n"
    reply = seed_reply()
    reply["incidents"][0]["evidence"].append({"quote": INJECTED_IMG})  # a quote that lands in attributes too
    server.push(Reply.records(reply))
    result = make_extractor().extract(text, doc_id="hostile")

    markup = render_page(result)
    page = Page(markup)
    assert "script" not in page.tags and "img" not in page.tags
    assert "&lt;script&gt;window.__lx_pwned" in markup
    assert _marked_text(page, "incidents[0].evidence[1]") == INJECTED_IMG


def test_arabic_article_is_right_to_left_and_labelled_arabic(seed_result: DocumentResult) -> None:
    page = Page(seed_result._repr_html_())

    assert page.article_attrs["dir"] == "rtl" and page.article_attrs["lang"] == "ar"
    assert set(page.paragraph_dirs) == {"rtl"}


def test_english_paragraph_in_an_arabic_article_runs_left_to_right() -> None:
    text = (
        "BBC: قالت مصادر محلية إن اشتباكات عنيفة اندلعت في المدينة.\n"
        "The Syrian Observatory said the clashes lasted three hours.\n"
        "وأضافت المصادر أن الهدوء عاد إلى المدينة مساء الأحد."
    )
    page = Page(render_html(_result({}, text)))

    assert page.article_attrs["dir"] == "rtl"
    # by script share, not by the first letter: "BBC:" does not make the first paragraph left-to-right
    assert page.paragraph_dirs == ["rtl", "ltr", "rtl"]


def test_english_article_is_left_to_right_without_an_arabic_label() -> None:
    page = Page(render_html(_result({}, "Two soldiers were wounded in Deir ez-Zor on Sunday.")))

    assert page.article_attrs["dir"] == "ltr" and "lang" not in page.article_attrs


def test_direction_follows_the_majority_of_strong_characters() -> None:
    assert text_direction("Reuters نقلت وكالة رويترز عن مصادر") == "rtl"
    assert text_direction("12:30 —") == "ltr"
    assert text_direction("12:30 —", default="rtl") == "rtl"


# --- tables and provenance ---------------------------------------------------------


def test_tables_show_counts_per_side_with_unknown_for_none(seed_result: DocumentResult) -> None:
    markup = seed_result._repr_html_()

    for header in ("killed", "wounded", "captured", "released", "date", "location", "event type"):
        assert f"<th>{header}</th>" in markup, header
    for block in ("actors", "casualties", "claims", "evidence"):  # lists go under their record
        assert f'<div class="lx-bh">{block}</div>' in markup, block
    assert markup.count('<span class="lx-none">unknown</span>') == 5  # 2 sides x 4 counts - 3 stated
    assert "Iqab Saqr Abbas" in markup and "Qamishli" in markup


def test_provenance_line_names_backend_model_cache_and_tokens(seed_result: DocumentResult) -> None:
    markup = seed_result._repr_html_()
    usage = seed_result.provenance.usage

    assert "backend <b>test</b> (openai-compatible)" in markup and "test-model" in markup
    assert "cache miss" in markup
    assert f"{usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion tokens" in markup


def test_html_is_self_contained(seed_result: DocumentResult) -> None:
    markup = render_page(seed_result)

    for needle in ("<script", "<link", "src=", "url(", "@import", "http://", "https://"):
        assert needle not in markup, needle


def test_mimebundle_has_html_and_the_plain_repr(seed_result: DocumentResult) -> None:
    bundle = seed_result._repr_mimebundle_()

    assert bundle["text/plain"] == repr(seed_result)
    assert bundle["text/html"] == seed_result._repr_html_()
    assert set(seed_result._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(seed_result._repr_mimebundle_(exclude=["text/html"])) == {"text/plain"}


def test_ipython_displays_the_html(seed_result: DocumentResult) -> None:
    formatters = pytest.importorskip("IPython.core.formatters")

    data, _ = formatters.DisplayFormatter().format(seed_result)
    assert data["text/plain"] == repr(seed_result)
    assert 'class="lx-article"' in data["text/html"]


def test_batch_renders_summary_a_row_per_document_and_each_document(seed_result: DocumentResult) -> None:
    other = _result({}, "No event was reported in the town today.", doc_id="quiet-day")
    summary = BatchSummary(documents=3, succeeded=2, failed=0, records=seed_result.record_count)
    batch = BatchResult([seed_result, other], summary)

    markup = batch._repr_html_()
    page = Page(markup)
    assert "2/3 documents" in markup
    assert "enab-baladi-558021.ar" in markup and "quiet-day" in markup
    assert markup.count("<details>") == 2
    assert len({m["attrs"]["data-evidence"] for m in page.marks}) >= 6


# --- DataFrames ----------------------------------------------------------------------


def test_to_pandas_gives_one_row_per_record_with_flat_columns(seed_result: DocumentResult) -> None:
    pytest.importorskip("pandas")
    df = seed_result.to_pandas()

    assert list(df["record_type"]) == ["incidents", "personnel_changes"]
    incident = df.iloc[0]
    assert (incident["doc_id"], incident["date"], incident["date_precision"]) == (
        "enab-baladi-558021.ar",
        "2022-03-15",
        "day",
    )
    assert (incident["place"], incident["place_normalized"], incident["admin1"]) == ("مدينة جاسم", "Jasim", "Daraa")
    assert (incident["event_type"], incident["backend"], incident["model"]) == ("Battles", "test", "test-model")
    assert "Syrian regime security patrol" in incident["actors"]


def test_counts_are_summed_over_sides_and_unknown_stays_missing(seed_result: DocumentResult) -> None:
    pd = pytest.importorskip("pandas")
    df = seed_result.to_pandas()

    incident = df.iloc[0]
    assert incident["killed"] == 7 and incident["captured"] == 6  # 2 + 5; 6 (one side states it)
    assert pd.isna(incident["wounded"]) and pd.isna(incident["released"])  # no side states one: unknown, not 0
    assert str(df["killed"].dtype) == "Int64"
    assert "قوات النظام (killed=5, captured=6)" in incident["casualties"]


def test_evidence_quotes_and_offsets_explode_to_one_row_per_quote(seed_result: DocumentResult) -> None:
    pytest.importorskip("pandas")
    df = seed_result.to_pandas()

    quotes = df.explode(["evidence_fields", "evidence_quotes", "evidence_starts", "evidence_ends"])
    assert len(quotes) == 6
    for row in quotes.itertuples():
        assert normalize(seed_result.text[row.evidence_starts : row.evidence_ends]) == normalize(row.evidence_quotes)
    assert df.iloc[0]["evidence_fields"][0] == "evidence[0]"  # the record's own quote first


def test_columns_do_not_depend_on_which_records_a_document_has(seed_result: DocumentResult) -> None:
    pytest.importorskip("pandas")
    empty = _result({}, "Nothing happened.").to_pandas()

    assert len(empty) == 0
    assert list(empty.columns) == list(seed_result.to_pandas().columns)


def test_batch_to_pandas_concatenates_documents(seed_result: DocumentResult) -> None:
    pytest.importorskip("pandas")
    other = _result({}, "Nothing happened.", doc_id="quiet")
    batch = BatchResult([seed_result, other], BatchSummary(documents=2, succeeded=2))

    df = batch.to_pandas()
    assert list(df["doc_id"]) == ["enab-baladi-558021.ar"] * 2


def test_to_pandas_without_pandas_names_the_extra(seed_result: DocumentResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError

    with pytest.raises(ImportError, match=r"pip install 'llm_extract\[pandas\]'"):
        seed_result.to_pandas()
