"""From the answer's JSON schema to a llama.cpp grammar."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...grounding import SPAN_MARK, Evidence

# --- requests ----------------------------------------------------------------------------

_SCHEMA_MARKER = "json_schema:"
"""Instructor's JSON and MD_JSON modes put the schema in the system prompt after this."""


def without_schema_text(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` without the JSON schema instructor appended to the system prompt (JSON / MD_JSON modes).

    The grammar already forces that structure; the schema text is thousands
    of tokens (about 6,000 for the conflict task) a CPU model would read
    before every article. Instructor appends it as the last paragraphs of
    the system message, so the system message is cut where that paragraph
    starts; the task's own instructions before it stay.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if message.get("role") == "system" and isinstance(content, str) and _SCHEMA_MARKER in content:
            cut = content.rfind("\n\n", 0, content.find(_SCHEMA_MARKER))
            out.append({**message, "content": content[:cut] if cut > 0 else ""})
        else:
            out.append(dict(message))
    return out


GRAMMAR_VERSION = 5
"""Bumped whenever the way answers are constrained changes, so cached answers are not reused."""

SPACE_RULE = re.compile(r'^space ::= " "\?$', re.MULTILINE)
PRETTY_SPACE = r'space ::= | " " | "\n" [ \t]{0,20}'
"""Whitespace the grammar allows between JSON tokens: a newline and indentation too.

llama-cpp-python's converter allows at most one space, so a model that
writes JSON the way it was trained to (``[`` newline, indent, ``{``) finds
its preferred tokens masked, and the likeliest token left is often the
``]`` that closes an empty list: the model "finds nothing". Allowing pretty
whitespace costs a few tokens and keeps its own habits available.
"""

LOOSE_CHAR = 'char ::= [^"\\\\] |'
JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'
"""A string character as JSON defines it: llama-cpp-python's rule lets raw newlines and
other control characters into strings, which no JSON parser accepts, so a model that
breaks a long quote across lines would fail validation and waste a re-ask."""

_QUOTE_FIELD = "quote"
QUOTE_MARKER = "llm-extract-verbatim-quote"
QUOTE_RULE = "verbatim-quote"
SPAN_MARKER = "llm-extract-article-span"
SPAN_RULE = "article-span"
ARTICLE_GRAMMARS = 8
"""Grammars built for one article's passages that stay compiled (the steps of a document reuse them)."""


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def verbatim_quote_rule(passages: Sequence[str]) -> str:
    """A rule matching exactly the JSON strings of ``passages``.

    Why: a 1.5B model copies a sentence almost right ("في 15 آذار" for "في 15
    من آذار"), grounding rightly rejects it, and a re-ask at temperature 0
    writes the same thing again. Offering only the article's sentences and
    clauses makes a paraphrased quote impossible to sample; grounding still
    checks every quote as for any backend.
    """
    options = " | ".join(gbnf_literal(json.dumps(p, ensure_ascii=False)) for p in passages)
    return f"{QUOTE_RULE} ::= ( {options} )"


def article_span_rule(spans: Sequence[str]) -> str:
    """A rule matching exactly the JSON strings of ``spans``, written as a tree of their words.

    Why: see :func:`llm_extract.grounding.article_spans`. An article gives a few
    thousand spans; as a flat list of alternatives every one of
    them would stay alive in llama.cpp's grammar stacks while the first word is
    sampled, so spans that share a first word share its branch.
    """
    tree: dict[str, Any] = {}
    ends = ""  # a key no word is (spans are split at single spaces): this path is a whole span
    for span in spans:
        node = tree
        for word in span.split(" "):
            node = node.setdefault(word, {})
        node[ends] = {}

    def branch(node: dict[str, Any]) -> str:
        options = []
        for word, child in node.items():
            if word == ends:
                continue
            literal = gbnf_literal(json.dumps(word, ensure_ascii=False)[1:-1])
            if child.keys() == {ends}:
                options.append(literal)
            else:
                more = f'" " ( {branch(child)} )'
                options.append(f"{literal} ( {more} )?" if ends in child else f"{literal} {more}")
        return " | ".join(options)

    return f'{SPAN_RULE} ::= "\\"" ( {branch(tree)} ) "\\""'


_CLASS_ESCAPES = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\r"}


def _gbnf_pattern(pattern: str) -> str:
    r"""``pattern`` with ``\d``, ``\w``, ``\s`` spelled as character classes.

    llama-cpp-python's schema converter copies these escapes into the grammar
    verbatim, and llama.cpp's grammar parser rejects them (``\d{4}`` becomes
    an unparseable literal), so they are expanded before conversion.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _CLASS_ESCAPES:
                body = _CLASS_ESCAPES[nxt]
                out.append(body if in_class else f"[{body}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def grammar_schema(
    node: Any, max_items: int | None, quote_marker: str | None = None, span_marker: str | None = None
) -> Any:
    """A copy of a JSON schema for the grammar: patterns llama.cpp accepts, lists capped.

    The cap, and every list property made required, only ever tighten the
    schema (an answer that fits the grammar still validates). Small models at temperature 0 tend to repeat a record
    until the token budget runs out; a list that cannot grow past
    ``max_items`` ends the loop and bounds the time an answer can take.
    With ``quote_marker``, the quote of every evidence object becomes that
    constant, for :meth:`EmbeddedBackend._grammar` to replace by the article's passages;
    with ``span_marker``, so does every string marked as an article span (:data:`SPAN_MARK`).
    """
    if isinstance(node, list):
        return [grammar_schema(v, max_items, quote_marker, span_marker) for v in node]
    if not isinstance(node, dict):
        return node
    if span_marker is not None and node.get(SPAN_MARK):
        return {"const": span_marker}
    out = {
        k: _gbnf_pattern(v)
        if k == "pattern" and isinstance(v, str)
        else grammar_schema(v, max_items, quote_marker, span_marker)
        for k, v in node.items()
        if k != SPAN_MARK
    }
    props = out.get("properties")
    if isinstance(props, dict):
        # llama.cpp writes required properties first and lets the model skip the rest, and at
        # temperature 0 a small model closes the object after its last required one: an incident's
        # actors and casualties came out empty. A list is cheap to write empty, so every list is asked for.
        lists = [k for k, v in props.items() if _is_list(v)]
        out["required"] = [*out.get("required", []), *(k for k in lists if k not in out.get("required", []))]
    if quote_marker is not None and out.get("title") == Evidence.__name__ and isinstance(props, dict):
        out["properties"] = {**props, _QUOTE_FIELD: {"const": quote_marker}}
    if max_items is not None and out.get("type") == "array":
        cap = max(max_items, int(out.get("minItems", 0)))
        out["maxItems"] = min(int(out.get("maxItems", cap)), cap)
    return out


def _is_list(node: Any) -> bool:
    """A property whose schema is an array (``list[Actor]``), maybe behind a ``$ref``-free ``anyOf``."""
    if not isinstance(node, dict):
        return False
    return node.get("type") == "array" or any(_is_list(v) for v in node.get("anyOf", ()))


def schema_key(schema: dict[str, Any] | None) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False) if schema is not None else ""
