"""One deadline per model answer, enforced in the HTTP transport.

A read timeout bounds each socket read, not the answer: a server that sends a
byte a second, or streams tokens without end, never trips it. The transport
here caps every timeout at the time left and checks the clock after each
chunk of the response body, so an answer takes at most its deadline however
the server behaves. The deadline lives in a context variable set around each
step of the stream, so concurrent answers in other threads keep their own.

>>> with answer_deadline(time.monotonic() + 5):
...     0 < remaining() <= 5
True
"""

from __future__ import annotations

import contextlib
import contextvars
import time

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("rag_answer_deadline", default=None)


class DeadlineExceeded(Exception):
    """The answer's deadline passed while waiting for the model."""


@contextlib.contextmanager
def answer_deadline(deadline: float):
    """Run the block under ``deadline`` (a ``time.monotonic()`` value)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def make_http_client():
    """An ``httpx2`` client for the openai SDK whose transport honours the deadline."""
    import httpx2
    import openai

    class DeadlineStream(httpx2.SyncByteStream):
        def __init__(self, inner, deadline: float | None) -> None:
            self._inner, self._deadline = inner, deadline

        def __iter__(self):
            for chunk in self._inner:
                yield chunk
                if self._deadline is not None and time.monotonic() > self._deadline:
                    self.close()
                    raise DeadlineExceeded("the answer's deadline passed while the model was still sending")

        def close(self) -> None:
            self._inner.close()

    class DeadlineTransport(httpx2.BaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            deadline = _DEADLINE.get()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded("the answer's deadline passed before the request was sent")
                timeouts = dict(request.extensions.get("timeout") or {})
                for key in ("connect", "read", "write", "pool"):
                    value = timeouts.get(key)
                    timeouts[key] = left if value is None else min(value, left)
                request.extensions["timeout"] = timeouts
            response = self._inner.handle_request(request)
            response.stream = DeadlineStream(response.stream, deadline)
            return response

        def close(self) -> None:
            self._inner.close()

    return openai.DefaultHttpxClient(transport=DeadlineTransport())
