"""The FastAPI app of ``rag serve``: OpenAI's chat-completions API, with citations.

An adapter over :func:`rag.ask` / :func:`rag.ask_stream`: no retrieval logic here.
Answers run in a bounded worker pool (:mod:`rag.serve.pool`); request and
response shapes are in :mod:`rag.serve.schema`; serving it is :mod:`rag.serve.server`.

>>> app = create_app(Settings())  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from rag.serve.httpguard import Guard
from rag.ingest import build_index
from rag.store import open_collection
from rag import ask, ask_stream, engine
from rag.store import make_chroma_client
from rag.settings import Settings
from rag.objects import Answer
from rag.serve.access import allowed_hosts, key_required
from rag.serve.pool import Busy, WorkerPool
from rag.serve.schema import (ApiError, answer_fields, chunk, completion, new_id, parse_chat_request,
                     sources_text, usage)

log = logging.getLogger("rag.serve")

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a long conversation is ~100 KB; anything bigger is a mistake or an attack
RESTART = "\n\n---\n\n"  # between a streamed answer and the one that replaces it
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_ids(settings: Settings) -> tuple[str, ...]:
    """``rag`` (the configured answerer), ``rag-extractive``, and ``rag-openai``
    when a model is configured.

    >>> model_ids(Settings())
    ('rag', 'rag-extractive')
    >>> model_ids(Settings(llm_base_url="http://127.0.0.1:8080/v1"))
    ('rag', 'rag-extractive', 'rag-openai')
    """
    return ("rag", "rag-extractive") + (("rag-openai",) if settings.model_configured else ())


def settings_for(model: str, settings: Settings) -> Settings:
    return settings if model == "rag" else settings.replace(answerer=model.removeprefix("rag-"))


def error_for(exc: BaseException) -> ApiError:
    """An exception from answering or indexing as an OpenAI-shaped error.

    Messages name no server path, URL or secret: the details go to the server log.
    """
    from rag.store import NoSpace
    from rag.store import IndexStoreError
    from rag.ingest import CorpusError
    from rag.extras import ProviderError
    from rag.retrieval import IndexMissing

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Busy):
        return ApiError(429, "the server is busy (every worker and queue slot is taken); retry shortly",
                        type="requests", code="rate_limit_exceeded", headers={"Retry-After": "1"})
    if isinstance(exc, IndexMissing):
        return ApiError(503, "the index is empty: add documents to the corpus, then POST /v1/index",
                        type="server_error", code="index_missing")
    if isinstance(exc, NoSpace):
        ref = _log_error(exc)
        return ApiError(507, f"no space left on the index folder's disk; the index is kept as it is: free some "
                             f"space ({ref})", type="server_error",
                        code="insufficient_storage")
    if isinstance(exc, CorpusError):
        return ApiError(409, "the corpus holds no indexable files (.txt .md .html .pdf)",
                        type="invalid_request_error", code="corpus_empty")
    if isinstance(exc, (ProviderError, IndexStoreError)):  # IndexStoreError: server gone, index damaged
        ref = _log_error(exc)
        return ApiError(503, f"a backing service (vector store or model) is unavailable; see the server "
                             f"log ({ref})", type="server_error", code="provider_unavailable")
    if type(exc).__name__ == "GenerationError":  # rag.generate.answerer, imported only with a model configured
        ref = _log_error(exc)
        return ApiError(502, f"the language model failed and RAG_STRICT forbids the extractive fallback "
                             f"({ref})", type="server_error", code="model_failed")
    ref = _log_error(exc)
    return ApiError(500, f"internal error; the server log has the details ({ref})", type="server_error")


def _log_error(exc: BaseException) -> str:
    ref = "ref " + uuid.uuid4().hex[:8]
    log.error("%s: %s: %s", ref, type(exc).__name__, exc, exc_info=exc)
    return ref


async def read_json(request) -> object:
    """The body as JSON (its size was limited by the app's :class:`rag.serve.httpguard.Guard`)."""
    body = await request.body()
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: [[[[...]]]] nested past Python's limit
        raise ApiError(400, "the request body is not valid JSON", code="invalid_json") from None


def index_status(settings: Settings) -> dict:
    """``{"present": bool, "chunks": int}`` without building anything."""
    if not settings.store.chroma_url and not (settings.store.index_dir / "chroma.sqlite3").exists():
        return {"present": False, "chunks": 0}
    collection = open_collection(make_chroma_client(settings), settings, create=False)
    count = collection.count() if collection is not None else 0
    return {"present": count > 0, "chunks": count}


def reindex(settings: Settings) -> dict:
    """``build_index`` with the served engine's model, then reload its retriever
    (the caller holds the pool's gate exclusively: no search runs meanwhile)."""
    loaded = engine(settings)
    report = build_index(settings, embeddings=loaded.embeddings, progress=False)
    loaded.retriever  # noqa: B018 - reloads chunks and BM25 now, not under a later search
    return {"files_added": report.files_added, "files_updated": report.files_updated,
            "files_removed": report.files_removed, "files_unchanged": report.files_unchanged,
            "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
            "chunks_embedded": report.chunks_embedded, "chunks_removed": report.chunks_removed,
            "chunks_total": report.chunks_total, "rebuilt": report.rebuilt,
            "seconds": round(report.seconds, 3)}


def guarded_app(*, host: str, api_key: str | None, extra_hosts: tuple[str, ...] = (), body_limit: int,
                endpoints: str, lifespan=None) -> FastAPI:
    """A FastAPI app as our OpenAI-compatible servers serve it (``rag serve``, the
    embedding server): every error in OpenAI's shape (``endpoints`` named in the
    404), behind :class:`rag.serve.httpguard.Guard`, which runs before any route: Host
    names when there is no key (:func:`rag.serve.access.allowed_hosts`), cross-origin
    browser requests, JSON-only bodies (415), ``body_limit`` bytes (413).

    No /docs: Swagger UI loads its scripts from a CDN, and these servers make no outbound calls.
    """
    guard = Middleware(Guard, allowed_hosts=allowed_hosts(host, protected=bool(api_key), extra=extra_hosts),
                       body_limit=lambda path: body_limit, error=ApiError.wire)
    app = FastAPI(title="rag-citations", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  middleware=[guard])

    def error_response(err: ApiError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return error_response(exc)

    @app.exception_handler(Busy)
    async def _busy(_request, exc: Busy):
        return error_response(error_for(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(_request, exc: HTTPException):
        messages = {404: f"no such endpoint; see {endpoints}", 405: "method not allowed on this endpoint"}
        return error_response(ApiError(exc.status_code, messages.get(exc.status_code, str(exc.detail)),
                                       code="not_found" if exc.status_code == 404 else None,
                                       headers=dict(exc.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        return error_response(ApiError(400, "invalid request"))

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        return error_response(error_for(exc))

    return app


def create_app(settings: Settings):
    """The FastAPI app over ``settings`` (served by :func:`start_in_thread` or ``rag serve``)."""
    pool = WorkerPool(settings.serve.workers, settings.serve.queue)
    models = model_ids(settings)
    started = int(time.time())
    indexing = threading.Event()

    @asynccontextmanager
    async def lifespan(_app):
        yield
        pool.close()

    app = guarded_app(host=settings.serve.host, api_key=settings.serve.api_key, extra_hosts=settings.host_names,
                      body_limit=MAX_BODY_BYTES, endpoints="GET /v1/models, POST /v1/chat/completions",
                      lifespan=lifespan)
    app.state.pool = pool
    authorized = [Depends(key_required(settings.serve.api_key))]

    @app.get("/healthz")
    async def healthz():
        try:
            index = await asyncio.to_thread(index_status, settings)
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not fail
            ref = _log_error(exc)
            index = {"present": False, "chunks": 0, "error": f"the index cannot be read ({ref})"}
        body = {"status": "ok" if index["present"] else "unavailable", "index": index,
                "answerer": settings.answer.answerer, "models": list(models), "indexing": indexing.is_set(),
                "pool": pool.stats()}
        return JSONResponse(body, status_code=200 if index["present"] else 503)

    @app.get("/v1/models", dependencies=authorized)
    async def list_models():
        return {"object": "list", "data": [{"id": m, "object": "model", "created": started,
                                            "owned_by": "rag-citations"} for m in models]}

    @app.get("/v1/models/{model}", dependencies=authorized)
    async def get_model(model: str):
        if model not in models:
            raise ApiError(404, f"The model '{model[:100]}' does not exist", param="model",
                           code="model_not_found")
        return {"id": model, "object": "model", "created": started, "owned_by": "rag-citations"}

    @app.post("/v1/index", dependencies=authorized)
    async def index():
        if indexing.is_set():
            raise ApiError(409, "an index run is already in progress", code="index_in_progress")
        indexing.set()
        try:
            return await pool.run(reindex, settings, exclusive=True)
        except Exception as exc:  # noqa: BLE001
            raise error_for(exc) from None
        finally:
            indexing.clear()

    @app.post("/v1/chat/completions", dependencies=authorized)
    async def chat(request: Request):
        req = parse_chat_request(await read_json(request), models=models,
                                 max_question_chars=settings.answer.max_question_chars)
        ask_settings = settings_for(req.model, settings)
        if not req.stream:
            try:
                answer = await pool.run(lambda: ask(req.question, history=req.history, settings=ask_settings))
            except Exception as exc:  # noqa: BLE001
                raise error_for(exc) from None
            return completion(answer, req)

        stream = pool.stream(lambda: ask_stream(req.question, history=req.history, settings=ask_settings))
        try:
            first = await stream.next()  # errors before any output still get a proper status code
        except Exception as exc:  # noqa: BLE001
            raise error_for(exc) from None
        return StreamingResponse(_sse(stream, first, req), media_type="text/event-stream",
                                 headers=SSE_HEADERS, background=BackgroundTask(stream.cancel))

    return app


def _data(obj) -> str:
    return "data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n\n"


async def _sse(stream, first, req):
    """OpenAI's chunk stream: a role chunk, content deltas (a sentence at a time:
    see :func:`rag.ask_stream`), a final chunk with ``finish_reason``, ``usage``
    and our ``citations``/``refused``/``warnings``, a usage-only chunk when the
    client asked for it (``stream_options.include_usage``), then ``[DONE]``.

    When a model fails mid-answer, ``ask_stream`` starts over with the extractive
    answer; a client cannot un-receive text, so the new answer follows a rule
    (``---``) instead of being glued on. Continuations start with whitespace
    (sentences keep their separators); a piece that does not is a restart.
    """
    cid, created, model = new_id(), int(time.time()), req.model
    yield _data(chunk(cid, created, model, {"role": "assistant", "content": ""}))
    shown = ""  # the answer the client is reading now (since the last restart)
    sent = ""  # everything sent, restarts included: what usage counts
    final = None
    try:
        item = first
        while not isinstance(item, Answer):
            if shown and item and not item[0].isspace():
                item, shown = RESTART + item, item
            else:
                shown += item
            if item:
                sent += item
                yield _data(chunk(cid, created, model, {"content": item}))
            item = await stream.next()
        final = item
    except StopAsyncIteration:
        pass
    except Exception as exc:  # noqa: BLE001 - the status line is gone: report in-band, as OpenAI does
        yield _data(error_for(exc).body())
        return
    finally:
        stream.cancel()  # no-op when finished; stops the worker when the client went away
    if final is None:
        yield _data(error_for(RuntimeError("answer stream ended without an Answer")).body())
        return
    if final.text.startswith(shown):
        tail = final.text[len(shown):]
    else:
        tail = RESTART + final.text
    tail += sources_text(final)
    if tail:
        sent += tail
        yield _data(chunk(cid, created, model, {"content": tail}))
    counted = usage(req, sent)
    yield _data(chunk(cid, created, model, {}, "stop", {"usage": counted, **answer_fields(final)}))
    if req.include_usage:
        yield _data({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [], "usage": counted})
    yield "data: [DONE]\n\n"
