"""Serve the bundled MiniLM over the OpenAI embeddings API: ``POST
/v1/embeddings``, ``GET /v1/models``, ``GET /health``.

It lets several machines share one embedding box, and it is what the tests
use to prove that ``RAG_EMBEDDING=openai`` gives the same vectors as local
embedding. A GPU server (text-embeddings-inference, vLLM) speaks the same API.

    rag embed-server --port 8081            # 127.0.0.1; Ctrl-C stops it
    RAG_EMBEDDING=openai RAG_EMBEDDING_BASE_URL=http://127.0.0.1:8081/v1 \\
      RAG_EMBEDDING_MODEL=all-MiniLM-L6-v2 rag index

Bound to anything but loopback it requires an API key (``--api-key`` or
``RAG_EMBEDDING_API_KEY``), sent by clients as ``Authorization: Bearer KEY``;
without one it answers only to loopback host names. It runs under the same
connection and request rules as ``rag serve`` (:mod:`rag.httpguard`), and the
key is checked before a request's body is read.

>>> with EmbeddingServer(HashEmbeddings(), port=0) as server:  # doctest: +SKIP
...     server.url
'http://127.0.0.1:43117/v1'
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import sys
import time

import numpy as np

from .httpguard import Guard, RunningServer, is_loopback, loopback_hosts, server_config

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MAX_INPUTS = 2048  # OpenAI's own limit per request
MAX_BODY = 64 * 2**20
_OPEN_PATHS = ("/health", "/v1/health")


class EmbeddingServer:
    """An OpenAI-compatible embeddings server on a background thread.

    ``models`` are the names it answers to (others get 404, as real servers do).
    """

    def __init__(self, embeddings, host: str = "127.0.0.1", port: int = 8081,
                 models: tuple[str, ...] = (DEFAULT_MODEL,), api_key: str | None = None) -> None:
        if not is_loopback(host) and not api_key:
            raise ValueError(f"binding to {host} needs an API key (--api-key or RAG_EMBEDDING_API_KEY)")
        self.embeddings, self.models, self.api_key = embeddings, tuple(models), api_key
        self.requests = 0
        self.host, self.port = host, port
        self._server: RunningServer | None = None

    @property
    def url(self) -> str:
        port = self._server.port if self._server is not None else self.port
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{port}/v1"

    def app(self):
        """The ASGI app: routes behind :class:`rag.httpguard.Guard` (the key checked first)."""
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"status": "ok"})

        async def models(request):
            return JSONResponse({"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "rag-citations"} for m in self.models]})

        async def embeddings(request):
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse(_error("body is not JSON"), status_code=400)
            if not isinstance(body, dict):
                return JSONResponse(_error("body must be a JSON object"), status_code=400)
            self.requests += 1
            t = time.perf_counter()
            try:
                status, reply = await run_in_threadpool(self.embed, body)
            except Exception as exc:  # a bug or a broken model: the client sees a 500, we keep serving
                log.exception("embedding failed")
                status, reply = 500, _error(f"{type(exc).__name__}: {exc}", "server_error")
            log.info("embedded %s inputs in %.3f s -> %d", len(body.get("input") or []),
                     time.perf_counter() - t, status)
            return JSONResponse(reply, status_code=status)

        async def not_found(request, exc):
            return JSONResponse(_error(f"no route {request.url.path[:200]}"), status_code=404)

        routes = [Route(p, health) for p in _OPEN_PATHS] + [
            Route(p, models) for p in ("/v1/models", "/v1/models/")] + [
            Route(p, embeddings, methods=["POST"]) for p in ("/v1/embeddings", "/v1/embeddings/", "/embeddings")]
        app = Starlette(routes=routes, exception_handlers={404: not_found})
        return Guard(app, allowed_hosts=None if self.api_key else loopback_hosts(self.host),
                     body_limit=lambda path: MAX_BODY, authorized=self._authorized,
                     unauthorized=("invalid API key", "invalid_api_key"))

    def _authorized(self, scope) -> bool:
        if not self.api_key or scope.get("path", "").rstrip("/") in _OPEN_PATHS:
            return True
        got = next((v for k, v in scope.get("headers", []) if k == b"authorization"), b"")
        return hmac.compare_digest(got, f"Bearer {self.api_key}".encode())

    def start(self) -> "EmbeddingServer":
        self._server = RunningServer(self.app(), self.host, self.port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> "EmbeddingServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def embed(self, body: dict) -> tuple[int, dict]:
        """(HTTP status, JSON reply) for one ``/v1/embeddings`` request body."""
        model, texts, fmt = body.get("model"), body.get("input"), body.get("encoding_format", "float")
        if model not in self.models:
            return 404, _error(f"model {str(model)[:100]!r} not found; this server has {', '.join(self.models)}",
                               "model_not_found")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, _error("input must be a string or a non-empty list of strings (token ids are not supported)")
        if len(texts) > MAX_INPUTS:
            return 400, _error(f"at most {MAX_INPUTS} inputs per request")
        if fmt not in ("float", "base64"):
            return 400, _error("encoding_format must be 'float' or 'base64'")
        vectors = np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32)
        tokens = sum(self.embeddings.token_lengths(texts)) if hasattr(self.embeddings, "token_lengths") else 0
        data = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.tobytes()).decode() if fmt == "base64" else v.tolist()}
                for i, v in enumerate(vectors)]
        return 200, {"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _error(message: str, code: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def run(host: str = "127.0.0.1", port: int = 8081, models: tuple[str, ...] = (), threads: int = 0,
        api_key: str | None = None) -> int:
    """``rag embed-server`` (options in rag/cli.py): serve until Ctrl-C; returns the exit code."""
    # A server's log: every request, timestamped (`rag` set up logging for commands at WARNING).
    logging.basicConfig()
    logging.getLogger().setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    from .providers import make_embeddings
    from .settings import Settings

    emb = make_embeddings(Settings(embedding="minilm-onnx", embedding_threads=threads))
    try:
        server = EmbeddingServer(emb, host, port, tuple(models or (DEFAULT_MODEL,)), api_key)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    print(f"serving {', '.join(server.models)} on {server.url} (Ctrl-C stops)", flush=True)
    try:
        uvicorn.Server(server_config(server.app(), host, port)).run()
    except KeyboardInterrupt:
        pass
    return 0
