"""The seed result as a real browser renders it (issue 8, section 4).

Headless Chromium (Debian's ``chromium`` package) loads the page from a
file, offline. A probe script appended by this test (not by the product)
reads the *rendered* page: computed direction, computed highlight colours,
the layout position of the first letter, and whether the article's injected
``<script>`` ran. Chromium's ``--dump-dom`` hands the probe's JSON back, so
no driver or extra Python package is needed.

Without Chromium the test is skipped, except in CI (``$CI`` set), where a
missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED, seed_reply

from llm_extract import DocumentResult, Extractor
from llm_extract.display import evidence_spans
from llm_extract.testing import ChatServer, Reply

pytestmark = pytest.mark.browser

MakeExtractor = Callable[..., Extractor]

INJECTED = "<script>window.__lx_pwned = 1; document.title = 'pwned';</script>"
INJECTED_IMG = "<img src=x onerror=\"window.__lx_pwned = 2; document.title = 'pwned'\">"

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

PROBE = """<pre id="lx-probe"></pre><script>
(() => {
  const article = document.querySelector(".lx-article");
  const first = article.querySelector("p");
  const range = document.createRange();
  const node = document.createTreeWalker(first, NodeFilter.SHOW_TEXT).nextNode();  // inside a mark and its link
  range.setStart(node, 0);
  range.setEnd(node, 1);
  const letter = range.getBoundingClientRect();
  const box = first.getBoundingClientRect();
  document.getElementById("lx-probe").textContent = JSON.stringify({
    title: document.title,
    pwned: typeof window.__lx_pwned,
    scripts: document.scripts.length,
    images: document.images.length,
    articleDirection: getComputedStyle(article).direction,
    articleLang: article.lang,
    paragraphDirections: [...article.querySelectorAll("p")].map((p) => getComputedStyle(p).direction),
    firstLetter: {left: letter.left, right: letter.right},
    firstParagraph: {left: box.left, right: box.right},
    articleText: article.textContent,
    marks: [...document.querySelectorAll(".lx-article mark")].map((m) => ({
      paths: (m.dataset.evidence || "").split(" "),
      text: m.textContent,
      background: getComputedStyle(m).backgroundColor,
      width: m.getBoundingClientRect().width,
    })),
  });
})();
</script>"""


CLICK_PROBE = """<pre id="lx-probe"></pre><script>
(() => {
  const marks = [...document.querySelectorAll(".lx-article mark")];
  const owned = (path) => marks.filter((m) => m.dataset.record === path);
  const inView = (el) => {
    const box = el.getBoundingClientRect();
    return box.height > 0 && box.top > -1 && box.bottom < window.innerHeight + 1;  // a scrolled-to edge may be -0.06
  };
  const colours = (path) => [...new Set(owned(path).map((m) => getComputedStyle(m).backgroundColor))];
  const numbers = (path) => owned(path).map((m) => getComputedStyle(m, "::before").content).filter((c) => c !== "none");
  const highlight = owned("incidents[1]")[0].querySelector("a");
  const row = document.getElementById(highlight.hash.slice(1));
  const before = {hash: location.hash, rowInView: inView(row)};
  highlight.click();
  const after = {hash: location.hash, rowInView: inView(row), row: row.dataset.record, target: row.matches(":target")};
  const back = row.querySelector(".lx-back a");
  back.click();
  const quote = document.getElementById(back.hash.slice(1));
  document.getElementById("lx-probe").textContent = JSON.stringify({
    colours: {first: colours("incidents[0]"), second: colours("incidents[1]")},
    numbers: {first: numbers("incidents[0]"), second: numbers("incidents[1]")},
    before,
    after,
    back: {record: quote.dataset.record, inView: inView(quote), target: quote.matches(":target")},
  });
})();
</script>"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must `apt-get install -y chromium`")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


def _run_chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture
def hostile_seed(server: ChatServer, make_extractor: MakeExtractor) -> DocumentResult:
    """The seed article with markup injected into it, extracted through the real engine."""
    text = SEED.read_text(encoding="utf-8") + "\n" + INJECTED + "\n" + INJECTED_IMG + "\n"
    reply = seed_reply()
    reply["incidents"][0]["evidence"].append({"quote": INJECTED_IMG})  # so it lands in attributes too
    server.push(Reply.records(reply))
    return make_extractor().extract(text, doc_id="enab-baladi-558021.ar", published="2022-03")


def _probe(page: str, probe: str, tmp_path: Path, size: str) -> dict[str, Any]:
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = _run_chromium(tmp_path, f"--window-size={size}", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="lx-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1), "the probe did not run:\n" + dom[-2000:]
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


@pytest.fixture
def two_incidents(server: ChatServer, make_extractor: MakeExtractor) -> DocumentResult:
    """The seed article with a second incident (the 2020 campaign of its last paragraph)."""
    reply = seed_reply()
    second = {
        "date": {"text": "في عام 2020", "value": "2020", "precision": "year"},
        "location": {"as_written": "المدينة", "normalized": "Jasim", "admin1": "Daraa", "country": "Syria"},
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "summary": "Regime forces ran a military campaign on Jasim in 2020.",
        "evidence": [{"quote": "وسبق أن شنت قواته حملة عسكرية على المدينة في عام 2020"}],
    }
    reply["incidents"].append(second)
    server.push(Reply.records(reply))
    return make_extractor().extract(SEED, doc_id="enab-baladi-558021.ar", published="2022-03")


@pytest.fixture
def rendered(hostile_seed: DocumentResult, tmp_path: Path) -> dict[str, Any]:
    return _probe(hostile_seed.to_html(full_page=True), PROBE, tmp_path, "1240,1600")


@pytest.fixture
def clicked(two_incidents: DocumentResult, tmp_path: Path) -> dict[str, Any]:
    """Clicks the second incident's first highlight, then its row's first link back, in a short window."""
    return _probe(two_incidents.to_html(full_page=True), CLICK_PROBE, tmp_path, "1240,700")


def test_arabic_article_runs_right_to_left(rendered: dict[str, Any]) -> None:
    assert rendered["articleDirection"] == "rtl" and rendered["articleLang"] == "ar"
    seed_paragraphs = len(SEED.read_text(encoding="utf-8").strip().split("\n"))
    assert rendered["paragraphDirections"][:seed_paragraphs] == ["rtl"] * seed_paragraphs
    # laid out right to left: the first letter sits at the right edge of its paragraph
    box, letter = rendered["firstParagraph"], rendered["firstLetter"]
    assert letter["right"] > (box["left"] + box["right"]) / 2
    assert abs(box["right"] - letter["right"]) < 20


def test_every_evidence_span_is_highlighted(rendered: dict[str, Any], hostile_seed: DocumentResult) -> None:
    spans = evidence_spans(hostile_seed.records, hostile_seed.text)
    assert len(spans) == 7
    for span in spans:
        assert span.start is not None and span.end is not None
        marks = [m for m in rendered["marks"] if span.path in m["paths"]]
        assert "".join(m["text"] for m in marks) == hostile_seed.text[span.start : span.end], span.path
        for mark in marks:
            assert mark["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), (span.path, mark)
            assert mark["width"] > 0, span.path


def test_injected_markup_shows_as_text_and_never_runs(rendered: dict[str, Any]) -> None:
    assert rendered["pwned"] == "undefined"
    assert rendered["title"] == "llm_extract: enab-baladi-558021.ar"
    assert rendered["scripts"] == 1  # the test's own probe
    assert rendered["images"] == 0
    assert INJECTED in rendered["articleText"] and INJECTED_IMG in rendered["articleText"]


def test_two_incidents_get_distinct_colours_and_numbers(clicked: dict[str, Any]) -> None:
    first, second = clicked["colours"]["first"], clicked["colours"]["second"]
    assert first and second and not set(first) & set(second)
    assert clicked["numbers"]["first"][0] == '"I0"' and clicked["numbers"]["second"] == ['"I1"']


def test_clicking_a_highlight_scrolls_to_its_record_row(clicked: dict[str, Any]) -> None:
    assert clicked["before"] == {"hash": "", "rowInView": False}  # the row starts below the window
    after = clicked["after"]
    assert after["row"] == "incidents[1]" and after["target"] and after["rowInView"]
    assert after["hash"].endswith("-incidents-1")


def test_a_record_row_links_back_to_its_highlight(clicked: dict[str, Any]) -> None:
    assert clicked["back"] == {"record": "incidents[1]", "inView": True, "target": True}


def test_screenshot_of_the_rendered_seed_result(hostile_seed: DocumentResult, tmp_path: Path) -> None:
    page = tmp_path / "seed.html"
    page.write_text(hostile_seed.to_html(full_page=True), encoding="utf-8")
    shot = tmp_path / "seed.png"

    _run_chromium(tmp_path, "--window-size=1240,1800", f"--screenshot={shot}", page.as_uri())

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with text and colour, not a blank frame
