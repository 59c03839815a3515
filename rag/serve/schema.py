"""OpenAI chat-completions shapes: parse a request, format answers and errors.

Pure functions over plain data; the HTTP layer is in :mod:`rag.serve.app`.

>>> req = parse_chat_request({"model": "rag", "messages": [{"role": "user", "content": "Hi there?"}]},
...                          models=("rag",))
>>> req.question, req.history, req.stream
('Hi there?', [], False)
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from dataclasses import dataclass

from rag.safety import printable
from rag.objects import Answer

# The history passed to ask(): only the last few turns matter for a follow-up
# rewrite, and a bound keeps a model rewrite prompt small.
MAX_HISTORY_MESSAGES = 20
SOURCES_HEADING = "Sources:"
_IGNORED_ROLES = ("system", "developer", "tool", "function")  # our prompt is fixed; tools are not supported


class ApiError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {message, type, param, code}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request: the last user message is the question, the
    earlier user/assistant messages are the history."""

    model: str
    question: str
    history: list[dict]
    stream: bool
    include_usage: bool = False  # stream_options.include_usage: a last chunk with only the usage


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def _text_content(content: object, where: str) -> str:
    """A message's text: a string, or OpenAI's list of ``{"type": "text", "text": ...}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise _bad(f"{where}.content: only text parts are supported, not {kind!r}", where)
            texts.append(part["text"])
        return "\n".join(texts)
    raise _bad(f"{where}.content must be a string or a list of text parts, not {_kind(content)}", where)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number" if isinstance(value, (int, float)) else
                                   type(value).__name__)


def strip_sources(text: str) -> str:
    """An earlier answer of ours without its Sources list (history stays small).

    >>> strip_sources("Tillerson [1].\\n\\nSources:\\n[1] a.txt (0-9): \\"...\\"")
    'Tillerson [1].'
    """
    head, sep, _ = text.partition("\n\n" + SOURCES_HEADING + "\n")
    return head if sep else text


def parse_chat_request(body: object, *, models: tuple[str, ...]) -> ChatRequest:
    """Validate an OpenAI chat-completions body, or raise :class:`ApiError`.

    ``temperature``, ``top_p``, ``max_tokens`` and friends are accepted (type-checked)
    but do not change answers: truncating or sampling would break verbatim citations.
    """
    if not isinstance(body, dict):
        raise _bad(f"the request body must be a JSON object, not {_kind(body)}")
    model = body.get("model", models[0])
    if not isinstance(model, str) or not model:
        raise _bad("'model' must be a non-empty string", "model")
    if model not in models:
        raise ApiError(404, f"The model '{model[:100]}' does not exist; available: {', '.join(models)}",
                       param="model", code="model_not_found")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise _bad(f"'stream' must be a boolean, not {_kind(stream)}", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
        raise _bad("'stream_options' must be an object like {\"include_usage\": true}", "stream_options")
    for name, lo, hi in (("temperature", 0, 2), ("top_p", 0, 1)):
        v = body.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi):
            raise _bad(f"'{name}' must be a number between {lo} and {hi}", name)
    for name in ("max_tokens", "max_completion_tokens"):
        v = body.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise _bad(f"'{name}' must be a positive integer", name)
    n = body.get("n")
    if n is not None and n != 1:
        raise _bad("only n=1 is supported", "n")

    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty array of {role, content} objects", "messages")
    turns: list[dict] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _bad(f"{where} must be an object with 'role' and 'content', not {_kind(m)}", where)
        role = m.get("role")
        if role not in ("user", "assistant") + _IGNORED_ROLES:
            raise _bad(f"{where}.role must be one of user, assistant, system, developer, tool; "
                       f"got {str(role)[:40]!r}", where)
        text = _text_content(m.get("content"), where)
        if role in ("user", "assistant"):
            turns.append({"role": role, "content": strip_sources(text) if role == "assistant" else text})
    if not turns or turns[-1]["role"] != "user":
        raise _bad("the last message must come from the user (it is the question)", "messages")
    question = turns[-1]["content"]
    if not question.strip():
        raise _bad("the question (the last user message) is empty", "messages")
    return ChatRequest(model=model, question=question, history=turns[:-1][-MAX_HISTORY_MESSAGES:],
                       stream=stream, include_usage=bool(stream and options.get("include_usage")))


def sources_text(answer: Answer) -> str:
    """The plain Sources list appended to the content ("" without citations).

    >>> from rag.objects import Citation
    >>> print(sources_text(Answer("X [1].", [Citation(1, "a.txt", "X", 0, 1)])))
    <BLANKLINE>
    <BLANKLINE>
    Sources:
    [1] a.txt (0-1): "X"
    """
    if not answer.citations:
        return ""
    # One line per source: a file name or quote with line breaks (or bidi controls) cannot
    # forge another line of the list; the structured ``citations`` keep both verbatim.
    lines = [f'[{c.marker}] {printable(c.source)} ({c.start}-{c.end}): "{" ".join(c.quote.split())}"'
             for c in answer.citations]
    return "\n\n" + SOURCES_HEADING + "\n" + "\n".join(lines)


def answer_fields(answer: Answer) -> dict:
    """The fields we add to OpenAI's shape: citations, refused, warnings."""
    return {"citations": [dataclasses.asdict(c) for c in answer.citations], "refused": answer.refused,
            "warnings": list(answer.warnings)}


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks in ``text``: the unit of ``usage``. No model's
    tokenizer runs here (the extractive answerer has none, and a model's may
    need a download), so this is an estimate that never changes with the model:
    a BPE tokenizer gives about 1.3 tokens per English word.

    >>> count_tokens("Tillerson came to Tokyo. [1]")
    8
    """
    return len(_TOKEN.findall(text))


def usage(req: ChatRequest, content: str) -> dict:
    """OpenAI's ``usage``: the question and the history it was asked with
    (``prompt_tokens``), the content returned (``completion_tokens``), counted
    by :func:`count_tokens`."""
    prompt = count_tokens(req.question) + sum(count_tokens(m["content"]) for m in req.history)
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def completion(answer: Answer, req: ChatRequest) -> dict:
    """A ``chat.completion`` object for a finished answer to ``req``."""
    content = answer.text + sources_text(answer)
    return {
        "id": new_id(), "object": "chat.completion", "created": int(time.time()), "model": req.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(req, content),
        **answer_fields(answer),
    }


def chunk(cid: str, created: int, model: str, delta: dict, finish_reason: str | None = None,
          extra: dict | None = None) -> dict:
    """One ``chat.completion.chunk`` of a stream."""
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            **(extra or {})}
