"""Quote matching after Arabic-orthography normalisation, with offsets into the original."""

from __future__ import annotations

import pytest

from llm_extract.grounding import MIN_QUOTE_CHARS, SourceText, article_spans, normalize, quotable_passages


@pytest.mark.parametrize(
    ("article", "quote"),
    [
        ("قُتِلَ خمسةُ عناصرٍ", "قتل خمسة عناصر"),  # diacritics
        ("اجتمــاع الوجهاء", "اجتماع الوجهاء"),  # tatweel
        ("أطلق سراح الأسرى", "اطلق سراح الاسرى"),  # hamza on alef
        ("إلى مدينة جاسم", "الى مدينه جاسم"),  # alef + taa marbuta/haa
        ("على المدينة مباشرة", "علي المدينة مباشرة"),  # alef maqsura/yaa
        ("في ١٥ من آذار", "في 15 من اذار"),  # Arabic-Indic digits
        ("قال   القيادي\nإن", "قال القيادي إن"),  # whitespace
        ("تدخل “اللواء الثامن” المدعوم", 'تدخل "اللواء الثامن" المدعوم'),  # quotation marks
    ],
)
def test_quote_found_despite_orthographic_drift(article: str, quote: str) -> None:
    source = SourceText("مقدمة. " + article + " خاتمة.")

    span = source.find(quote)

    assert span is not None
    start, end = span
    assert normalize(source.text[start:end]) == normalize(quote)
    assert source.text[start:end] == article


def test_quote_not_in_article_is_not_found() -> None:
    assert SourceText("اشتباكات في مدينة جاسم").find("اشتباكات في مدينة درعا") is None


def test_too_short_quote_proves_nothing() -> None:
    assert SourceText("في مدينة جاسم").find("في") is None


def test_window_prefers_the_occurrence_in_the_chunk_the_model_saw() -> None:
    text = "اشتباكات عنيفة. " * 3
    source = SourceText(text)

    start, _ = source.find("اشتباكات عنيفة", window=(16, 32)) or (None, None)

    assert start == 16


SEED_LINE = "وأفاد مراسل عنب بلدي، أن دورية أمنية هاجمت في 15 من آذار، أسفرت عن قتيلين وعدد من الجرحى."


def test_quotable_passages_are_the_sentences_and_their_clauses_in_order() -> None:
    passages = quotable_passages(SEED_LINE + "\nوتابع أنه بعد هجوم قوات أمن الدولة. كما عُقد اجتماع بعد ساعات")

    assert passages == [
        "وأفاد مراسل عنب بلدي، أن دورية أمنية هاجمت في 15 من آذار، أسفرت عن قتيلين وعدد من الجرحى",
        "وأفاد مراسل عنب بلدي",
        "أن دورية أمنية هاجمت في 15 من آذار",
        "أسفرت عن قتيلين وعدد من الجرحى",
        "وتابع أنه بعد هجوم قوات أمن الدولة",
        "كما عُقد اجتماع بعد ساعات",
    ]


def test_quotable_passages_each_ground_and_fit_the_evidence_field() -> None:
    text = "Two were killed. Ok, so. " + "A very long sentence, " * 30 + "that ends here."
    source = SourceText(text)

    passages = quotable_passages(text, max_chars=400)

    assert "Ok" not in passages and "so" not in passages  # too short to prove anything
    assert all(len(normalize(p)) >= MIN_QUOTE_CHARS and len(p) <= 400 for p in passages)
    assert all(source.find(p) is not None for p in passages)
    assert "A very long sentence" in passages  # the over-long sentence is still quotable clause by clause


def test_article_spans_are_runs_of_words_that_cross_no_punctuation_each_written_in_the_article() -> None:
    spans = article_spans(SEED_LINE, max_words=3)

    assert {"مراسل عنب بلدي", "دورية أمنية", "15 من آذار", "عنب"} <= set(spans)
    assert "بلدي أن" not in spans  # a comma lies between
    assert max(len(s.split()) for s in spans) == 3
    assert all(SourceText(SEED_LINE).contains(s) for s in spans)


def test_a_name_in_article_spans_comes_also_without_the_conjunction_written_onto_it() -> None:
    text = "وقال مصدر إن وجيش الاسلام وافق للحكومة على الهدنة بالغوطة"

    assert {"جيش الاسلام", "الحكومة على الهدنة", "الغوطة"} <= set(article_spans(text))


@pytest.mark.parametrize("odd", ["\U0001f600", "\ufffd", "\ufe75"])
def test_an_article_with_an_emoji_or_a_replacement_character_still_grounds(odd: str) -> None:
    source = SourceText(f"قال الناشط {odd} إن القصف استهدف المدينة")

    assert source.find("إن القصف استهدف المدينة") is not None
    assert normalize(f"x{odd}y") == f"x{odd}y"


@pytest.mark.parametrize(
    "passage",
    [
        "\u00a0 قال\t\u200b \u200fالمصدر\u3000 إن\n\n",  # whitespace runs with zero-width marks inside
        "بدء\ufe70 النص \ufdfa ختام",  # presentation forms that fold to a space or to words
        "سطر\x00 ثم سطر آخر",  # a NUL, as a broken scrape may hold
    ],
)
def test_a_passage_copied_with_odd_whitespace_and_forms_is_found_at_its_offsets(passage: str) -> None:
    source = SourceText("مقدمة الخبر. " + passage + " خاتمة الخبر.")

    span = source.find(passage)

    assert span is not None
    assert normalize(source.text[span[0] : span[1]]) == normalize(passage).strip(" \"'.,:;،؛…-")
