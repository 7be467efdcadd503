"""A real chat-completions server on 127.0.0.1, for tests, notebooks and benchmarks.

It speaks enough of the OpenAI protocol for the real ``openai`` client and
``instructor`` to run against it, answers from a *script* (a queue of
replies and faults, or a function of the request), and logs every request,
so tests can assert exact request counts and concurrency::

    with ChatServer([Reply.records({"incidents": []})]) as server:
        ...  # point a backend's base_url at server.url
        assert len(server.requests) == 1

A request that finds the script empty gets HTTP 418: an unplanned model call
fails loudly instead of passing by accident.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel

__all__ = ["ChatServer", "RecordedRequest", "Reply", "replay"]


@dataclass
class Reply:
    """One scripted answer: a body to send, or a fault to inject."""

    kind: str
    payload: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def records(cls, obj: BaseModel | dict[str, Any], *, delay: float = 0.0) -> Reply:
        """A valid answer carrying ``obj`` (as a tool call or as content, as the request asks)."""
        data = obj.model_dump(mode="json", exclude_none=True) if isinstance(obj, BaseModel) else obj
        return cls("json", json.dumps(data, ensure_ascii=False), delay=delay)

    @classmethod
    def raw(cls, text: str) -> Reply:
        """Arbitrary text where the JSON answer goes (for schema-invalid output)."""
        return cls("json", text)

    @classmethod
    def error(cls, status: int, message: str = "error", headers: dict[str, str] | None = None) -> Reply:
        body = {"error": {"message": message, "type": "server_error", "code": status}}
        return cls("http", json.dumps(body), status=status, headers=headers or {})

    @classmethod
    def reset(cls) -> Reply:
        """Close the connection with a TCP reset before answering."""
        return cls("reset")

    @classmethod
    def hang(cls, seconds: float = 3600.0) -> Reply:
        """Never answer (until ``seconds`` pass or the server stops)."""
        return cls("hang", delay=seconds)

    @classmethod
    def trickle(cls, seconds: float = 3600.0, every: float = 0.2) -> Reply:
        """Answer 200, then send one byte of body every ``every`` seconds for ``seconds``.

        A read timeout between bytes never fires; only a bound on the whole request does.
        """
        return cls("trickle", every, delay=seconds)

    @classmethod
    def truncated(cls) -> Reply:
        """Promise a longer body than is sent, then close."""
        return cls("truncated")

    @classmethod
    def not_json(cls) -> Reply:
        """A 200 whose body is an HTML page, as some proxies send."""
        return cls("http", "<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"})

    @classmethod
    def empty_choices(cls) -> Reply:
        return cls("choices", [])

    @classmethod
    def cut_off(cls, obj: dict[str, Any] | None = None) -> Reply:
        """An answer with ``finish_reason: "length"``."""
        return cls("json", json.dumps(obj or {})[:20], headers={"x-finish-reason": "length"})

    @classmethod
    def refusal(cls, text: str = "I can't help with that.") -> Reply:
        return cls("refusal", text)


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    started: float
    finished: float = 0.0

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages", [])
        return messages if isinstance(messages, list) else []

    @property
    def text(self) -> str:
        """All message contents joined, for asserting what the model was told."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


Script = Iterable[Reply] | Callable[[RecordedRequest], Reply]


class _HTTPServer(ThreadingHTTPServer):
    # The default listen backlog (5) overflows when a client opens 16 connections at once;
    # the kernel then drops connection attempts and the client retries them a second later.
    request_queue_size = 128


class ChatServer:
    """A threaded HTTP server that answers ``POST /v1/chat/completions`` from a script.

    Args:
        script: replies in order, or a function from request to reply.
        latency: seconds to wait before every answer.
        tokens_per_s: if set, also wait completion_tokens / tokens_per_s
            (a simulated generation speed, for benchmarks).
        echo_key: put the request's bearer token into error bodies, as some
            servers do (for testing that keys never leak).
    """

    def __init__(
        self,
        script: Script = (),
        *,
        latency: float = 0.0,
        tokens_per_s: float | None = None,
        echo_key: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._queue: deque[Reply] = deque()
        self._responder: Callable[[RecordedRequest], Reply] | None = None
        if callable(script):
            self._responder = script
        else:
            self._queue.extend(script)
        self.latency = latency
        self.tokens_per_s = tokens_per_s
        self.echo_key = echo_key
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ChatServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="chat-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def push(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    # -- answering --------------------------------------------------------------

    def _next(self, request: RecordedRequest) -> Reply:
        if self._responder is not None:
            return self._responder(request)
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply.error(418, "chat server: no scripted reply left for this request")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the
            # second waits for the client's delayed ACK (~40 ms on loopback).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                request = RecordedRequest(self.path, dict(self.headers.items()), body, time.monotonic())
                with server._lock:
                    server.requests.append(request)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, request, server._next(request))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout, a cancelled chunk): nothing to answer
                finally:
                    request.finished = time.monotonic()
                    with server._lock:
                        server.in_flight -= 1

        return Handler

    def _answer(self, h: BaseHTTPRequestHandler, request: RecordedRequest, reply: Reply) -> None:
        if self.latency or reply.delay:
            self._stopping.wait(self.latency + (reply.delay if reply.kind not in ("hang", "trickle") else 0.0))
        if reply.kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        if reply.kind == "hang":
            self._stopping.wait(reply.delay)
            h.close_connection = True
            return
        if reply.kind == "trickle":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "100000")
            h.end_headers()
            until = time.monotonic() + reply.delay
            while time.monotonic() < until and not self._stopping.wait(float(reply.payload)):
                h.wfile.write(b" ")
                h.wfile.flush()
            h.close_connection = True
            return
        if reply.kind == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "5000")
            h.end_headers()
            h.wfile.write(b'{"id": "chatcmpl-1", "choices": [')
            h.wfile.flush()
            h.close_connection = True
            return
        if reply.kind == "http":
            body = str(reply.payload)
            if self.echo_key and reply.status >= 400:
                # h.headers is case-insensitive (clients may send "authorization"); request.headers is not
                # JSON-escaped, as a real server writes it: a key with a quote or a backslash stays valid JSON
                echoed = json.dumps(h.headers.get("Authorization", ""))[1:-1]
                body = body.replace("error", "error for key " + echoed, 1)
            self._send(h, reply.status, body, {"Content-Type": "application/json", **reply.headers})
            return
        completion = self._completion(request, reply)
        if self.tokens_per_s:
            self._stopping.wait(completion["usage"]["completion_tokens"] / self.tokens_per_s)
        self._send(h, 200, json.dumps(completion, ensure_ascii=False), {"Content-Type": "application/json"})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: str, headers: dict[str, str]) -> None:
        data = body.encode("utf-8")
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _completion(self, request: RecordedRequest, reply: Reply) -> dict[str, Any]:
        body = request.body
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = reply.headers.get("x-finish-reason", "stop")
        text = str(reply.payload or "")
        if reply.kind == "refusal":
            message["refusal"] = text
        elif reply.kind == "json":
            tools = body.get("tools") or []
            if tools:
                name = tools[0].get("function", {}).get("name", "Response")
                message["tool_calls"] = [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
                ]
                finish = "tool_calls" if finish == "stop" else finish
            else:
                message["content"] = text
        prompt_chars = len(json.dumps(body.get("messages", []), ensure_ascii=False))
        usage = {
            "prompt_tokens": max(1, prompt_chars // 4),
            "completion_tokens": max(1, len(text) // 4),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        choices = [] if reply.kind == "choices" else [{"index": 0, "message": message, "finish_reason": finish}]
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "test-model"),
            "choices": choices,
            "usage": usage,
        }


_DOC_ID = re.compile(r"^Document id: (.+)$", re.MULTILINE)


_NUMBERED = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
"""A numbered sentence of a labelling request (``[3] The clashes killed two.``)."""


def replay(
    answers: dict[str, dict[str, Any]], default: Reply | None = None, texts: dict[str, str] | None = None
) -> Callable[[RecordedRequest], Reply]:
    """A script that answers each document with its own records, as a perfect model would answer the request.

    With gold fixtures as ``answers`` this is a "perfect model": the
    evaluation of a replaying server must score 1.0 with the one-call
    strategy, and shows what any other strategy's shape lets through. The
    document asked about is the last one named in the prompt (a worked
    example comes before it), or, for a request that names none (sentence
    labels), the one of ``texts`` that holds its sentences. The answer
    follows the schema asked for: all lists, one list (only the records
    whose quotes the request shows), or a label per numbered sentence
    (the list of a record that quotes it, else ``none``).
    """

    def respond(request: RecordedRequest) -> Reply:
        found = _DOC_ID.findall(request.text)
        doc_id = found[-1].strip() if found else _holding(request.text, texts or {})
        answer = answers.get(doc_id) if doc_id is not None else None
        if answer is not None:
            return Reply.records(_as_asked(answer, request))
        return default or Reply.error(418, "chat server: no answer for this document")

    return respond


def _holding(text: str, texts: dict[str, str]) -> str | None:
    """The document whose text holds every numbered sentence of ``text``."""
    from .grounding import normalize

    sentences = [normalize(s) for _, s in _NUMBERED.findall(text)]
    return next((d for d, t in texts.items() if sentences and all(s in normalize(t) for s in sentences)), None)


def _asked_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a request asks its answer to follow (tool parameters, or a JSON-schema response format)."""
    for tool in body.get("tools") or []:
        params = tool.get("function", {}).get("parameters")
        if isinstance(params, dict):
            return params
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
    return schema if isinstance(schema, dict) else {}


def _as_asked(answer: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
    from .grounding import normalize
    from .grounding.spans import quotes_in as quotes

    asked = list(_asked_schema(request.body).get("properties", {}))
    if asked == ["labels"]:
        found = [(name, normalize(q)) for name, records in answer.items() for r in records for q in quotes(r)]
        return {
            "labels": [
                next((name for name, q in found if normalize(s) in q or q in normalize(s)), "none")
                for _, s in _NUMBERED.findall(request.text)
            ]
        }
    if asked and set(asked) < set(answer):
        shown = normalize(request.text)
        return {name: [r for r in answer[name] if all(normalize(q) in shown for q in quotes(r))] for name in asked}
    return answer


def main(argv: list[str] | None = None) -> None:
    """Run a server on 127.0.0.1 for manual tries: replays gold fixtures, or one fixed reply."""
    parser = argparse.ArgumentParser(description="A scripted chat-completions server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--tokens-per-s", type=float, default=None, help="simulated generation speed")
    parser.add_argument("--fixtures", metavar="DIR", help="answer each document with its gold records")
    parser.add_argument("--reply", default=None, help="the fixed answer (default: no records of the config's task)")
    args = parser.parse_args(argv)
    if args.reply is None:
        from .task import Task

        args.reply = json.dumps({name: [] for name in Task.from_config().list_fields})
    fixed = Reply.raw(args.reply)
    script: Callable[[RecordedRequest], Reply] = lambda _: fixed  # noqa: E731
    if args.fixtures:
        from .fixtures import load_fixtures

        fixtures = load_fixtures(args.fixtures)
        answers = {f.doc_id: f.as_answer() for f in fixtures}
        script = replay(answers, default=fixed, texts={f.doc_id: f.document.text for f in fixtures})
    with ChatServer(script, latency=args.latency, tokens_per_s=args.tokens_per_s, port=args.port) as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
