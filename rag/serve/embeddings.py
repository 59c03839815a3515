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
without one it answers only to loopback host names. The routes
(:func:`embeddings_router`) are served like ``rag serve``'s: the same app
(:func:`rag.serve.app.guarded_app`: OpenAI-shaped errors, the connection and
request rules of :mod:`rag.serve.httpguard`) and the same access rules
(:mod:`rag.serve.access`; the key is checked before a request's body is read).

>>> with EmbeddingServer(HashEmbeddings(), port=0) as server:  # doctest: +SKIP
...     server.url
'http://127.0.0.1:43117/v1'
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from rag.serve.access import check_bind, key_required
from rag.serve.app import guarded_app, read_json
from rag.serve.schema import ApiError
from rag.serve.httpguard import RunningServer, server_config
from rag.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MAX_INPUTS = 2048  # OpenAI's own limit per request
MAX_BODY = 64 * 2**20


class EmbeddingRequest(BaseModel):
    """An OpenAI embeddings body as we accept it (other fields are ignored)."""

    model: Any = Field(None, validate_default=True)  # one of the names served, else 404
    input: StrictStr | Annotated[list[StrictStr], Field(min_length=1)]
    encoding_format: Literal["float", "base64"] = "float"

    @field_validator("model")
    @classmethod
    def _served(cls, model, info: ValidationInfo):
        if model not in info.context["models"]:
            raise PydanticCustomError("model_not_found", "unknown model")
        return model

    @field_validator("input")
    @classmethod
    def _at_most(cls, texts):
        if isinstance(texts, list) and len(texts) > MAX_INPUTS:  # counted once every input is a string
            raise PydanticCustomError("too_many_inputs", "too many inputs")
        return texts

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


def parse_embedding_request(body: object, models: tuple[str, ...]) -> EmbeddingRequest:
    """``body`` validated, or the first problem as an :class:`ApiError`."""
    try:
        return EmbeddingRequest.model_validate(body, context={"models": models})
    except ValidationError as exc:
        errors = exc.errors()
        field = errors[0]["loc"][0] if errors[0]["loc"] else None
        if field == "model":
            raise ApiError(404, f"model {str(errors[0]['input'])[:100]!r} not found; this server has "
                                f"{', '.join(models)}", code="model_not_found") from None
        if field is None:
            message = "the request body must be a JSON object"
        elif errors[0]["type"] == "too_many_inputs":
            message = f"at most {MAX_INPUTS} inputs per request"
        elif field == "input":
            message = "input must be a string or a non-empty list of strings (token ids are not supported)"
        else:
            message = "encoding_format must be 'float' or 'base64'"
        raise ApiError(400, message, code="invalid_request_error") from None


def embed(embeddings, req: EmbeddingRequest) -> dict:
    """The ``/v1/embeddings`` reply to ``req``."""
    vectors = np.asarray(embeddings.embed_documents(req.texts), dtype=np.float32)
    tokens = sum(embeddings.token_lengths(req.texts)) if hasattr(embeddings, "token_lengths") else 0
    base64_format = req.encoding_format == "base64"
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(v.tobytes()).decode() if base64_format else v.tolist()}
            for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": req.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def embeddings_router(embeddings, models: tuple[str, ...], api_key: str | None = None) -> APIRouter:
    """The routes: health (open), models and embeddings (behind ``api_key`` when set)."""
    router = APIRouter()
    authorized = [Depends(key_required(api_key))]

    @router.get("/health")
    @router.get("/v1/health")
    async def health():
        return {"status": "ok"}

    @router.get("/v1/models", dependencies=authorized)
    @router.get("/v1/models/", dependencies=authorized)
    async def list_models():
        return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "rag-citations"}
                                           for m in models]}

    @router.post("/v1/embeddings", dependencies=authorized)
    @router.post("/v1/embeddings/", dependencies=authorized)
    @router.post("/embeddings", dependencies=authorized)
    async def create_embeddings(request: Request):
        req = parse_embedding_request(await read_json(request), models)
        t = time.perf_counter()
        reply = await run_in_threadpool(embed, embeddings, req)  # errors: a 500 from the app, we keep serving
        log.info("embedded %s inputs in %.3f s", len(req.texts), time.perf_counter() - t)
        return reply

    return router


def create_embedding_app(embeddings, *, host: str = "127.0.0.1", models: tuple[str, ...] = (DEFAULT_MODEL,),
                         api_key: str | None = None):
    """The FastAPI app of the embedding server (built like ``rag serve``'s)."""
    app = guarded_app(host=host, api_key=api_key, body_limit=MAX_BODY,
                      endpoints="GET /v1/models, POST /v1/embeddings")
    app.include_router(embeddings_router(embeddings, tuple(models), api_key))
    return app


def check_embedding_access(host: str, api_key: str | None) -> None:
    """Refuse to serve beyond loopback without an API key."""
    check_bind(host, protected=bool(api_key), refusal=(
        f"refusing to serve on {host} without an API key: anyone who can reach this machine could use it. "
        "Set --api-key or RAG_EMBEDDING_API_KEY, or bind to 127.0.0.1 (the default)."))


class EmbeddingServer:
    """An OpenAI-compatible embeddings server on a background thread.

    ``models`` are the names it answers to (others get 404, as real servers do).
    """

    def __init__(self, embeddings, host: str = "127.0.0.1", port: int = 8081,
                 models: tuple[str, ...] = (DEFAULT_MODEL,), api_key: str | None = None) -> None:
        check_embedding_access(host, api_key)
        self.embeddings, self.models, self.api_key = embeddings, tuple(models), api_key
        self.host, self.port = host, port
        self._server: RunningServer | None = None

    @property
    def url(self) -> str:
        port = self._server.port if self._server is not None else self.port
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{port}/v1"

    def app(self):
        return create_embedding_app(self.embeddings, host=self.host, models=self.models, api_key=self.api_key)

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

    def embed(self, body: object) -> tuple[int, dict]:
        """(HTTP status, JSON reply) for one ``/v1/embeddings`` request body."""
        try:
            return 200, embed(self.embeddings, parse_embedding_request(body, self.models))
        except ApiError as exc:
            return exc.status, exc.body()


def serve_embeddings(settings: Settings, host: str = "127.0.0.1", port: int = 8081, *,
                     models: tuple[str, ...] = (DEFAULT_MODEL,), api_key: str | None = None) -> int:
    """Serve ``settings``' embedder until Ctrl-C (``rag embed-server`` serves the bundled
    MiniLM); returns the exit code."""
    from rag.embeddings import make_embeddings

    try:
        check_embedding_access(host, api_key)  # before the model loads
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    app = create_embedding_app(make_embeddings(settings), host=host, models=tuple(models), api_key=api_key)
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {', '.join(models)} on http://{shown}:{port}/v1 (Ctrl-C stops)", flush=True)
    try:
        uvicorn.Server(server_config(app, host, port)).run()
    except KeyboardInterrupt:
        pass
    return 0


def run(host: str = "127.0.0.1", port: int = 8081, models: tuple[str, ...] = (), threads: int = 0,
        api_key: str | None = None) -> int:
    """``rag embed-server`` (options in rag/cli.py): serve the bundled MiniLM until Ctrl-C; returns the exit code."""
    # A server's log: every request, timestamped (`rag` set up logging for commands at WARNING).
    logging.basicConfig()
    logging.getLogger().setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    return serve_embeddings(Settings(embedding="minilm-onnx", embedding_threads=threads), host, port,
                            models=tuple(models or (DEFAULT_MODEL,)), api_key=api_key)
