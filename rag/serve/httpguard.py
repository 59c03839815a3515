"""Serving HTTP to clients that may be hostile: the rules ``rag serve``, ``rag ui``
and the embedding server share.

Connections (:func:`server_config`: uvicorn on h11 with :func:`guarded_protocol`):

* a request's head (request line and headers) must arrive within
  ``head_timeout`` seconds of the connection opening or of the first byte of
  the next request, and its body within ``body_timeout``: a client that sends a
  byte now and then (slowloris) is disconnected instead of holding a slot;
* at most ``per_client`` open connections per client address and
  ``max_connections`` in all (uvicorn's ``limit_concurrency``, 503 beyond);
* a head h11 cannot parse is a 400.

Requests (:class:`Guard`, an ASGI middleware):

* Host: when no key or password protects the server, only loopback names and
  ``RAG_ALLOWED_HOSTS`` are answered (:func:`rag.serve.access.allowed_hosts`, with
  Starlette's ``TrustedHostMiddleware``: 400 otherwise), so a web page cannot
  read the server through DNS rebinding;
* Origin: a browser request sent from another origin is refused (403), so a
  web page cannot make the server act (cross-site request forgery);
* Content-Type: a request with a body must declare a type its route takes
  (JSON for the APIs), 415 otherwise;
* body size: over the route's limit is a 413, before the body is read when it
  declares its length, as soon as it passes the limit when it does not;
* headers over 16 KB in all are a 431; a body framed twice (Content-Length with
  Transfer-Encoding, two Content-Lengths) is a 400 and the connection is closed,
  so a smuggled request behind it is never read.

Who may connect at all (loopback, host names, keys) is :mod:`rag.serve.access`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Callable

HEAD_TIMEOUT = 10.0      # seconds for a request line and headers (browsers send them in one packet)
BODY_TIMEOUT = 60.0      # seconds for a whole body (a 20 MB upload on a slow network fits)
PER_CLIENT = 32          # open connections per client address (a browser opens about six)
MAX_CONNECTIONS = 512    # open connections in all; beyond it uvicorn answers 503
MAX_HEAD_BYTES = 16 * 1024  # request line and headers (h11's default): a longer one is a 400

Scope = dict
Checker = Callable[[Scope], bool]


@dataclass(frozen=True)
class Limits:
    """Connection limits of one server (see the module docstring)."""

    head_timeout: float = HEAD_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    per_client: int = PER_CLIENT
    max_connections: int = MAX_CONNECTIONS
    max_head_bytes: int = MAX_HEAD_BYTES


def guarded_protocol(limits: Limits):
    """An h11 protocol class for uvicorn that enforces ``limits`` (one class per
    server: it keeps that server's connections per client address).

    A connection over a limit first makes room by closing, of the same client
    (of any client when the server is full), the one that has waited longest on
    its client: idle between requests, or still owing its head or its body;
    only when every one is being answered is the new one refused (429). So
    stalled sockets never lock out a request that arrives whole.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    clients: dict[str | None, list] = {}

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting: str | None = None  # "head" or "body": what the deadline is for
        _peer: str | None = None
        _last = 0.0  # when the client last sent something
        _counted = False

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            self._peer = str(peer[0]) if isinstance(peer, tuple) else None
            self._last = time.monotonic()
            mine = clients.setdefault(self._peer, [])
            if len(mine) >= limits.per_client and not _evict(mine):
                transport.write(b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\n"
                                b"connection: close\r\ncontent-length: 40\r\n\r\n"
                                b"too many connections from your address\r\n")
                transport.close()
                return
            if len(self.connections) > limits.max_connections:
                _evict([p for p in self.connections if p is not self])
            mine.append(self)
            self._counted = True
            self._watch()

        def connection_lost(self, exc) -> None:
            self._arm(None)
            if self._counted:
                self._counted = False
                mine = clients.get(self._peer, [])
                if self in mine:
                    mine.remove(self)
                if not mine:
                    clients.pop(self._peer, None)
            super().connection_lost(exc)

        def waiting_on_client(self) -> bool:
            """Idle between requests, or still owed a head or a body (nothing answered
            yet): closing it costs the client a resend, never a half-sent answer."""
            state = self.conn.their_state
            if state is h11.IDLE:
                return self.cycle is None or self.cycle.response_complete
            return state is h11.SEND_BODY and self.cycle is not None and not self.cycle.response_started

        def data_received(self, data: bytes) -> None:
            self._last = time.monotonic()
            super().data_received(data)
            self._watch()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        def _watch(self) -> None:
            """Arm the deadline for what the client still owes us (head or body), or disarm it."""
            if self.transport is None or self.transport.is_closing() or self.transport.get_protocol() is not self:
                self._arm(None)
                return
            state = self.conn.their_state
            if state is h11.IDLE and self.conn.our_state is h11.IDLE:
                # Waiting for a request: uvicorn's keep-alive timer covers a silent client,
                # this one a client that started a request and stalls in its head.
                if self._waiting != "head" and (self.conn.trailing_data[0] or self.cycle is None):
                    self._arm("head")
            elif state is h11.SEND_BODY:
                if self._waiting != "body":
                    self._arm("body")
            else:
                self._arm(None)

        def _arm(self, what: str | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            self._waiting = what
            if what is not None:
                seconds = limits.head_timeout if what == "head" else limits.body_timeout
                self._deadline = self.loop.call_later(seconds, self._expired, what)

        def _expired(self, what: str) -> None:
            if self._waiting == what and self.transport is not None and not self.transport.is_closing():
                self.transport.close()  # the app's receive() then reports a disconnect

    def _evict(candidates: list) -> bool:
        idle = [p for p in candidates if isinstance(p, GuardedH11Protocol) and p.transport is not None
                and not p.transport.is_closing() and p.waiting_on_client()]
        if not idle:
            return False
        oldest = min(idle, key=lambda p: p._last)
        oldest._arm(None)
        oldest.transport.close()
        return True

    return GuardedH11Protocol


def server_config(app, host: str, port: int, limits: Limits = Limits(), **kw):
    """A ``uvicorn.Config`` serving ``app`` under ``limits``: h11 with the guarded
    protocol, no ``Server`` header, proxy headers ignored (a client cannot pose
    as another address), quiet logs; on Ctrl-C or SIGTERM, open connections get 5
    seconds (a client holding one open cannot keep the server from stopping)."""
    import uvicorn

    options = dict(host=host, port=port, http=guarded_protocol(limits), ws="none", lifespan="on",
                   log_level="warning", access_log=False, server_header=False, proxy_headers=False,
                   timeout_keep_alive=5, limit_concurrency=limits.max_connections, timeout_graceful_shutdown=5,
                   h11_max_incomplete_event_size=limits.max_head_bytes)
    options.update(kw)
    return uvicorn.Config(app, **options)


class RunningServer:
    """A uvicorn server on a background thread (``rag ui``, tests, benchmarks).

    >>> server = RunningServer(app, "127.0.0.1", 0).start()  # doctest: +SKIP
    >>> server.url, server.stop()  # doctest: +SKIP
    """

    def __init__(self, app, host: str, port: int, limits: Limits = Limits(), **kw) -> None:
        import uvicorn

        self.server = uvicorn.Server(server_config(app, host, port, limits, **kw))
        self.server.install_signal_handlers = lambda: None  # a thread cannot take the signals
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="rag-http", daemon=True)

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def start(self, timeout: float = 30.0) -> "RunningServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        if self.port == 0:  # the port the system chose
            self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)

    close = stop


# -- requests -----------------------------------------------------------------------------

class Guard:
    """ASGI middleware applying the request rules of the module docstring.

    ``allowed_hosts``: Host names answered (``None``: any, for a server behind a
    key or password). ``body_limit(path)``: bytes a request body may hold.
    ``body_types(path)``: media types a request body may declare.
    ``authorized(scope)``: False refuses the request (401, ``unauthorized`` =
    (message, code)) before its body is read. ``error(status, message, code)``:
    the (body, content type) of a refusal (the APIs: OpenAI's shape,
    :meth:`rag.serve.schema.ApiError.wire`).
    """

    def __init__(self, app, *, allowed_hosts: tuple[str, ...] | None, body_limit: Callable[[str], int],
                 error: Callable[[int, str, str | None], tuple[bytes, bytes]],
                 body_types: Callable[[str], tuple[str, ...]] = lambda path: ("application/json",),
                 authorized: Checker | None = None,
                 unauthorized: tuple[str, str] = ("sign in first", "not_authenticated")) -> None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        self.body_limit, self.body_types, self.authorized, self.error = body_limit, body_types, authorized, error
        self.unauthorized = unauthorized
        inner = self._checked(app)
        self.app = inner if allowed_hosts is None else TrustedHostMiddleware(inner, list(allowed_hosts),
                                                                             www_redirect=False)

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)

    def _checked(self, app):
        async def checked(scope, receive, send):
            if scope["type"] not in ("http", "websocket"):
                return await app(scope, receive, send)
            raw = scope["headers"]
            if sum(len(k) + len(v) + 4 for k, v in raw) > MAX_HEAD_BYTES:
                return await self._refuse(scope, send, 431, f"the request's headers are larger than "
                                          f"{MAX_HEAD_BYTES} bytes", "headers_too_large")
            names = [k.lower() for k, _ in raw]
            if names.count(b"content-length") > 1 or (b"content-length" in names and b"transfer-encoding" in names):
                # Two framings of one body: a proxy in front may read it the other way (request
                # smuggling). Refused, and the connection closed, so nothing after it is read.
                return await self._refuse(scope, send, 400, "the request declares its body length twice",
                                          "ambiguous_framing")
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
            if not same_origin(headers.get("origin"), headers.get("host", "")):
                return await self._refuse(scope, send, 403, "cross-origin requests are not accepted",
                                          "cross_origin")
            if self.authorized is not None and not self.authorized(scope):
                return await self._refuse(scope, send, 401, *self.unauthorized)
            if scope["type"] != "http":
                return await app(scope, receive, send)
            path = scope.get("path", "")
            declared = headers.get("content-length")
            has_body = (declared not in (None, "0")) or "transfer-encoding" in headers
            if scope["method"] in ("POST", "PUT", "PATCH") or has_body:
                kind = headers.get("content-type", "").split(";")[0].strip().lower()
                allowed = self.body_types(path)
                if kind not in allowed:
                    return await self._refuse(scope, send, 415, f"the request body must be {' or '.join(allowed)}"
                                              f" (Content-Type: {kind or 'none'})", "unsupported_media_type")
            limit = self.body_limit(path)
            too_big = (413, f"the request body is larger than {limit} bytes", "body_too_large")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                return await self._refuse(scope, send, *too_big)
            capped_receive, guarded_send = _capped(receive, send, limit,
                                                   lambda: self._refuse(scope, send, *too_big))
            return await app(scope, capped_receive, guarded_send)
        return checked

    async def _refuse(self, scope, send, status: int, message: str, code: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body, kind = self.error(status, message, code)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _capped(receive, send, limit: int, refuse):
    """(receive, send) for the app: ``receive`` counts body bytes, and past
    ``limit`` answers 413 itself (unless the app already began a response) and
    tells the app the client went away; the app's own response is then dropped."""
    state = {"seen": 0, "over": False, "started": False}

    async def capped_receive():
        if state["over"]:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > limit:
                state["over"] = True
                if not state["started"]:
                    state["started"] = True
                    await refuse()
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message):
        if state["over"]:
            return
        if message["type"] == "http.response.start":
            state["started"] = True
        await send(message)

    return capped_receive, guarded_send


def same_origin(origin: str | None, host: str) -> bool:
    """A request without Origin (not from a browser page) or from this very
    origin. ``Origin: null`` (a sandboxed or local file page) is another origin.

    >>> same_origin(None, "127.0.0.1:7860"), same_origin("http://127.0.0.1:7860", "127.0.0.1:7860")
    (True, True)
    >>> same_origin("http://evil.example", "127.0.0.1:7860"), same_origin("null", "127.0.0.1:7860")
    (False, False)
    """
    if origin is None:
        return True
    scheme, sep, netloc = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return False
    return netloc.rstrip("/").lower() == host.strip().lower()
