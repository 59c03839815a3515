"""OpenAI chat-completions shapes: the request body (pydantic models), answers
and errors.

Pure functions over plain data; the HTTP layer is in :mod:`rag.serve.app`.

>>> req = parse_chat_request({"model": "rag", "messages": [{"role": "user", "content": "Hi there?"}]},
...                          models=("rag",))
>>> req.question, req.history, req.stream
('Hi there?', [], False)
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import (BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError,
                      ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from rag import validate_question
from rag.safety import printable
from rag.objects import Answer

# The history passed to ask(): only the last few turns matter for a follow-up
# rewrite, and a bound keeps a model rewrite prompt small.
MAX_HISTORY_MESSAGES = 20
SOURCES_HEADING = "Sources:"


class ApiError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {message, type, param, code}}``
    (the one builder of that shape: routes raise it, :class:`rag.serve.httpguard.Guard`
    refuses with :meth:`wire`).
    """

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    @classmethod
    def wire(cls, status: int, message: str, code: str | None = None) -> tuple[bytes, bytes]:
        """(body, content type) of a refusal by :class:`rag.serve.httpguard.Guard`."""
        return json.dumps(cls(status, message, code=code).body()).encode(), b"application/json"


# -- the chat-completions request -----------------------------------------------------------

class TextPart(BaseModel):
    """One part of a message's content list: only text parts are supported."""

    type: Literal["text"]
    text: StrictStr


class Message(BaseModel):
    """One message; ``content`` ends up as its text ("" when null). Only user and
    assistant messages are turns: our prompt is fixed, and tools are not supported."""

    role: Literal["user", "assistant", "system", "developer", "tool", "function"]
    content: StrictStr | list[TextPart] | None = ""

    @field_validator("content")
    @classmethod
    def _text(cls, content):
        return "\n".join(p.text for p in content) if isinstance(content, list) else content or ""


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class ChatBody(BaseModel):
    """An OpenAI chat-completions body as we accept it. ``temperature``, ``top_p``,
    ``max_tokens`` and friends are type-checked but do not change answers:
    truncating or sampling would break verbatim citations. Fields are checked in
    this order; the first problem is the one reported (see :func:`parse_chat_request`)."""

    model: StrictStr = Field(None, min_length=1)  # absent: the first model served
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    temperature: StrictFloat | None = Field(None, ge=0, le=2)
    top_p: StrictFloat | None = Field(None, ge=0, le=1)
    max_tokens: StrictInt | None = Field(None, ge=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    n: Literal[1] | None = None
    messages: list[Message] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_model(cls, body, info: ValidationInfo):
        if isinstance(body, dict) and "model" not in body:
            return {**body, "model": info.context["models"][0]}
        return body

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str, info: ValidationInfo) -> str:
        if model not in info.context["models"]:
            raise PydanticCustomError("model_not_found", "unknown model")
        return model

    @field_validator("stream_options", mode="before")
    @classmethod
    def _no_options(cls, options):
        return options or None  # false, {}, null: none


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


# What a client that sent a bad value of a field is told ({kind}: what it sent).
_PROBLEMS = {
    "model": "'model' must be a non-empty string",
    "stream": "'stream' must be a boolean, not {kind}",
    "stream_options": "'stream_options' must be an object like {{\"include_usage\": true}}",
    "temperature": "'temperature' must be a number between 0 and 2",
    "top_p": "'top_p' must be a number between 0 and 1",
    "max_tokens": "'max_tokens' must be a positive integer",
    "max_completion_tokens": "'max_completion_tokens' must be a positive integer",
    "n": "only n=1 is supported",
    "messages": "'messages' must be a non-empty array of {{role, content}} objects",
}


def _chat_error(exc: ValidationError, body: dict, models: tuple[str, ...]) -> ApiError:
    """The first problem pydantic found, in our words (the messages clients and tests know)."""
    errors = exc.errors()
    loc, value = errors[0]["loc"], errors[0]["input"]
    if not loc:
        return _bad(f"the request body must be a JSON object, not {_kind(body)}")
    if errors[0]["type"] == "model_not_found":
        return ApiError(404, f"The model '{value[:100]}' does not exist; available: {', '.join(models)}",
                        param="model", code="model_not_found")
    if loc[0] != "messages" or len(loc) == 1:
        return _bad(_PROBLEMS[loc[0]].format(kind=_kind(value)), loc[0])
    i = loc[1]
    where, message = f"messages[{i}]", body["messages"][i]
    if len(loc) == 2:
        return _bad(f"{where} must be an object with 'role' and 'content', not {_kind(message)}", where)
    if loc[2] == "role":
        return _bad(f"{where}.role must be one of user, assistant, system, developer, tool; "
                    f"got {str(message.get('role'))[:40]!r}", where)
    content = message["content"]
    if isinstance(content, list):  # the first part that is not {"type": "text", "text": "..."}
        part = content[min(e["loc"][4] for e in errors if e["loc"][:3] == loc[:3] and len(e["loc"]) > 4)]
        kind = part.get("type") if isinstance(part, dict) else type(part).__name__
        return _bad(f"{where}.content: only text parts are supported, not {kind!r}", where)
    return _bad(f"{where}.content must be a string or a list of text parts, not {_kind(content)}", where)


def parse_chat_request(body: object, *, models: tuple[str, ...], max_question_chars: int = 2000) -> ChatRequest:
    """Validate an OpenAI chat-completions body (:class:`ChatBody`) and its
    question (:func:`rag.validate_question`, the one rule for questions),
    or raise :class:`ApiError`."""
    try:
        chat = ChatBody.model_validate(body, context={"models": models})
    except ValidationError as exc:
        raise _chat_error(exc, body, models) from None
    turns = [{"role": m.role, "content": strip_sources(m.content) if m.role == "assistant" else m.content}
             for m in chat.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise _bad("the last message must come from the user (it is the question)", "messages")
    try:
        question = validate_question(turns[-1]["content"], max_question_chars)
    except ValueError as exc:
        raise _bad(str(exc), "messages", "invalid_question") from None
    return ChatRequest(model=chat.model, question=question, history=turns[:-1][-MAX_HISTORY_MESSAGES:],
                       stream=bool(chat.stream),
                       include_usage=bool(chat.stream and chat.stream_options and chat.stream_options.include_usage))


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
