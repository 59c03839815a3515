"""Serve the bundled MiniLM over the OpenAI embeddings API (stdlib HTTP, no
extra packages): ``POST /v1/embeddings``, ``GET /v1/models``, ``GET /health``.

It lets several machines share one embedding box, and it is what the tests
use to prove that ``RAG_EMBEDDING=openai`` gives the same vectors as local
embedding. A GPU server (text-embeddings-inference, vLLM) speaks the same API.

    python -m rag.embedding_server --port 8081            # 127.0.0.1; Ctrl-C stops it
    RAG_EMBEDDING=openai RAG_EMBEDDING_BASE_URL=http://127.0.0.1:8081/v1 \\
      RAG_EMBEDDING_MODEL=all-MiniLM-L6-v2 rag index

Bound to anything but loopback it requires an API key (``--api-key`` or
``RAG_EMBEDDING_API_KEY``), sent by clients as ``Authorization: Bearer KEY``.

>>> with EmbeddingServer(HashEmbeddings(), port=0) as server:  # doctest: +SKIP
...     server.url
'http://127.0.0.1:43117/v1'
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MAX_INPUTS = 2048  # OpenAI's own limit per request
MAX_BODY = 64 * 2**20


class EmbeddingServer:
    """An OpenAI-compatible embeddings server on a background thread.

    ``models`` are the names it answers to (others get 404, as real servers do).
    """

    def __init__(self, embeddings, host: str = "127.0.0.1", port: int = 8081,
                 models: tuple[str, ...] = (DEFAULT_MODEL,), api_key: str | None = None) -> None:
        if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
            raise ValueError(f"binding to {host} needs an API key (--api-key or RAG_EMBEDDING_API_KEY)")
        self.embeddings, self.models, self.api_key = embeddings, tuple(models), api_key
        self.requests = 0
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> "EmbeddingServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="embedding-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> "EmbeddingServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def embed(self, body: dict) -> tuple[int, dict]:
        """(HTTP status, JSON reply) for one ``/v1/embeddings`` request body."""
        model, texts, fmt = body.get("model"), body.get("input"), body.get("encoding_format", "float")
        if model not in self.models:
            return 404, _error(f"model {model!r} not found; this server has {', '.join(self.models)}",
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

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections

            def log_message(self, fmt, *args) -> None:
                log.debug("%s %s", self.address_string(), fmt % args)

            def _authorized(self) -> bool:
                if not server.api_key:
                    return True
                got = self.headers.get("Authorization", "")
                return hmac.compare_digest(got.encode(), f"Bearer {server.api_key}".encode())

            def do_GET(self) -> None:
                if self.path.rstrip("/") in ("/health", "/v1/health"):
                    return self._json(200, {"status": "ok"})
                if not self._authorized():
                    return self._json(401, _error("invalid API key", "invalid_api_key"))
                if self.path.rstrip("/") == "/v1/models":
                    return self._json(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "owned_by": "rag-citations"} for m in server.models]})
                self._json(404, _error(f"no route {self.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.close_connection = True
                    return self._json(413, _error("request too large"))
                raw = self.rfile.read(length)
                if not self._authorized():
                    return self._json(401, _error("invalid API key", "invalid_api_key"))
                if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                    return self._json(404, _error(f"no route {self.path}"))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._json(400, _error("body is not JSON"))
                if not isinstance(body, dict):
                    return self._json(400, _error("body must be a JSON object"))
                server.requests += 1
                t = time.perf_counter()
                try:
                    status, reply = server.embed(body)
                except Exception as exc:  # a bug or a broken model: the client sees a 500, we keep serving
                    log.exception("embedding failed")
                    status, reply = 500, _error(f"{type(exc).__name__}: {exc}", "server_error")
                log.info("embedded %s inputs in %.3f s -> %d", len(body.get("input") or []),
                         time.perf_counter() - t, status)
                self._json(status, reply)

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _error(message: str, code: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rag.embedding_server", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--model", action="append", dest="models",
                    help=f"model name(s) to answer to (default {DEFAULT_MODEL}); repeat for aliases")
    ap.add_argument("--threads", type=int, default=0, help="cores to embed on (default: all)")
    ap.add_argument("--api-key", default=os.environ.get("RAG_EMBEDDING_API_KEY"),
                    help="required from clients (default RAG_EMBEDDING_API_KEY); needed off loopback")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from .providers import make_embeddings
    from .settings import Settings

    emb = make_embeddings(Settings(embedding="minilm-onnx", embedding_threads=args.threads))
    try:
        server = EmbeddingServer(emb, args.host, args.port, tuple(args.models or (DEFAULT_MODEL,)), args.api_key)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"serving {', '.join(server.models)} on {server.url} (Ctrl-C stops)", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
