"""How many tokens the embedded model reads per request: the full prompt and the compact one.

Renders the task's messages for one article exactly as the engine sends them
(through instructor, in the mode given), applies what the embedded backend
does to them (``compact_prompt`` drops instructor's schema text, which the
grammar carries) and the model's chat template, and counts tokens with the
model's own tokenizer::

    python benchmarks/prompt_tokens.py                         # the default model, if assembled
    python benchmarks/prompt_tokens.py --vocab FILE.gguf       # any GGUF holding the same tokenizer
    python benchmarks/prompt_tokens.py --model smollm2-135m    # the tiny model

"Fixed" is the system message with its chat-template tokens: the prefix that
is the same for every document (and whose state the backend keeps, see
``llm_extract/backends/embedded/prefix.py``). "Per step" adds the article and
the step line; with ``steps`` the backend makes one request per record list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import instructor

from llm_extract.backends.embedded.grammar import without_schema_text
from llm_extract.backends.embedded.prefix import prefix_length
from llm_extract.backends.embedded.weights import ensure_model, lookup, models_dir
from llm_extract.strategies.basic import list_about, step_message
from llm_extract.task import BUILTIN_TASK, load_task

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "seeds" / "enab-baladi-558021.ar.txt"
MODES = {"json_schema": instructor.Mode.JSON_SCHEMA, "json": instructor.Mode.JSON}
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n"
)


def sent_messages(messages: list[dict[str, Any]], mode: instructor.Mode, schema: Any) -> list[dict[str, Any]]:
    """The messages instructor sends for ``messages`` in ``mode`` (captured, never sent anywhere)."""
    got: dict[str, Any] = {}

    async def create(*args: Any, **request: Any) -> Any:
        got.update(request)
        raise RuntimeError("captured")

    patched = instructor.patch(create=create, mode=mode)
    with contextlib.suppress(Exception):  # the capture stops the call on purpose
        asyncio.run(patched(response_model=schema, messages=messages, max_retries=0, model="x"))
    return list(got["messages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-1.5b", help="packaged model whose tokenizer counts")
    parser.add_argument("--vocab", type=Path, help="a GGUF file with the same tokenizer (vocab only is enough)")
    parser.add_argument("--article", type=Path, default=ARTICLE)
    args = parser.parse_args()
    logging.getLogger("instructor").setLevel(logging.CRITICAL)  # the capture "fails" every call on purpose

    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    path = args.vocab
    if path is None:
        assembled = models_dir() / f"{args.model}.gguf"
        path = assembled if assembled.is_file() else ensure_model(lookup(args.model))
    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    template = llama.metadata.get("tokenizer.chat_template") or CHATML
    formatter = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")

    def tokens(messages: list[dict[str, Any]]) -> list[int]:
        text = formatter(messages=messages).prompt  # type: ignore[arg-type]
        return llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    task = load_task(BUILTIN_TASK)
    schema = instructor.response_schema(task.schema)
    text = args.article.read_text(encoding="utf-8")
    lists = [(name, list_about(task.schema, name)) for name in task.list_fields]
    print(f"chat template: {'the model file' if template != CHATML else 'ChatML (none in the file)'}")
    print(f"tokenizer: {path.name}; article: {args.article.name} ({len(text):,} characters)")
    print(f"{'mode':<12} {'prompt':<8} {'fixed':>6} {'per step':>9} {'x' + str(len(lists)) + ' steps':>9}")
    for mode_name, mode in MODES.items():
        for compact in (False, True):
            messages = task.messages(text, doc_id="seed", published="2017-03-20", compact=compact)
            sent = sent_messages(messages, mode, schema)
            if compact:
                sent = without_schema_text(sent)
            steps = [tokens([*sent, step_message(name, about)]) for name, about in lists]
            fixed = prefix_length(llama, steps[0], sent[0]["content"])
            label = "compact" if compact else "full"
            print(f"{mode_name:<12} {label:<8} {fixed:>6} {len(steps[0]):>9} {sum(map(len, steps)):>9}")


if __name__ == "__main__":
    main()
