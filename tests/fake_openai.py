"""A deterministic, scripted OpenAI-compatible chat server for tests (stdlib only).

It listens on 127.0.0.1 on a free port, records every request, and answers
``POST /v1/chat/completions`` with scripted replies: plain JSON or streamed SSE
(``data: {...}`` lines, then ``data: [DONE]``), HTTP errors, malformed bodies,
or a slow reply (for timeouts).

>>> with FakeOpenAI() as fake:                                  # doctest: +SKIP
...     fake.script(Reply("Tillerson visited Tokyo [1]."))
...     settings = settings.replace(answerer="openai", llm_base_url=fake.url)
...     ask("When did Tillerson visit Tokyo?", settings=settings)
...     fake.requests[0].body["messages"]
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    """One scripted reply.

    ``text`` is the assistant message; when the request streams it is sent in
    ``chunks`` (default: word by word). ``status`` != 200 sends an error body;
    ``raw`` sends these bytes as the body as-is (malformed replies); ``delay``
    seconds pass before anything is sent. With ``pause_after``, the stream
    stops after that many chunks until the test sets ``fake.release`` (proof
    that the client consumes the stream as it arrives). ``sse=False`` answers
    even a streaming request with one JSON body (servers without streaming).
    """

    text: str = ""
    status: int = 200
    chunks: list[str] | None = None
    raw: bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    pause_after: int | None = None
    sse: bool = True  # False: answer a streaming request with plain JSON, as some servers do


@dataclass
class Request:
    """What the server received."""

    path: str
    headers: dict[str, str]
    body: dict

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    def content(self, role: str) -> str:
        """All message text of one role, joined."""
        return "\n".join(_text(m.get("content")) for m in self.messages if m.get("role") == role)


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def words(text: str) -> list[str]:
    """Split text into streaming chunks that keep their spaces ("a b" -> ["a", " b"])."""
    out: list[str] = []
    for i, w in enumerate(text.split(" ")):
        out.append(w if i == 0 else " " + w)
    return [w for w in out if w]


class FakeOpenAI:
    """The server. Script it with :meth:`script` (a queue of replies whose last
    one repeats) or set ``handler`` to a function ``Request -> Reply``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.handler: Callable[[Request], Reply] | None = None
        self._queue: list[Reply] = [Reply("ok")]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.release = threading.Event()
        self.released_in_time: bool | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Reply with these in order; the last one repeats."""
        with self._lock:
            self._queue = list(replies)
            self.handler = None

    def _next_reply(self, request: Request) -> Reply:
        with self._lock:
            if self.handler is not None:
                return self.handler(request)
            return self._queue.pop(0) if len(self._queue) > 1 else self._queue[0]

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> "FakeOpenAI":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a slow reply
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- HTTP ----------------------------------------------------------------
    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; no keep-alive bookkeeping

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(request)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                reply = fake._next_reply(request)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                try:
                    self._reply(reply, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (e.g. timed out): nothing to do

            def _reply(self, reply: Reply, body: dict) -> None:
                if reply.raw is not None:
                    self.send_response(reply.status)
                    ctype = "text/event-stream" if body.get("stream") else "application/json"
                    self.send_header("Content-Type", ctype)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(reply.raw)
                    return
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": reply.text or f"scripted error {reply.status}",
                                                        "type": "server_error", "code": reply.status}},
                               reply.headers)
                    return
                model = body.get("model", "fake")
                created = int(time.time())
                if body.get("stream") and reply.sse:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.end_headers()
                    pieces = reply.chunks if reply.chunks is not None else words(reply.text)
                    first = {"role": "assistant", "content": ""}
                    self._event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                                 "model": model, "choices": [{"index": 0, "delta": first, "finish_reason": None}]})
                    for i, piece in enumerate(pieces):
                        if i == reply.pause_after:
                            fake.released_in_time = fake.release.wait(10)
                        self._event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                                     "model": model,
                                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                    self._event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                                 "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    return
                self._json(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply.text}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }, reply.headers)

            def _event(self, payload: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode("utf-8") + b"\n\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler


# -- reading the prompt our answerer sends -------------------------------------

_PASSAGE = re.compile(r'<passage id="(\d+)" source="([^"]*)">\n(.*?)\n</passage>', re.DOTALL)


def passages_in(request: Request) -> dict[int, tuple[str, str]]:
    """{n: (source, text)} of the ``<passage id=n source=...>`` fences in the
    user message, so a scripted reply can cite the right (or wrong) number."""
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in _PASSAGE.finditer(request.content("user"))}


def cite(request: Request, needle: str) -> int:
    """The number of the first passage containing ``needle`` (AssertionError if none)."""
    for n, (_, text) in sorted(passages_in(request).items()):
        if needle in text:
            return n
    raise AssertionError(f"no passage contains {needle!r}")


def question_in(request: Request) -> str:
    for line in request.content("user").splitlines():
        if line.startswith("Question: "):
            return line[len("Question: "):]
    return ""
