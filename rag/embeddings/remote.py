"""Remote embeddings: any OpenAI-compatible ``/v1/embeddings`` endpoint
(OpenAI, text-embeddings-inference, vLLM, Ollama, or ``rag embed-server``
serving the bundled MiniLM), so that embedding can move
to other machines (GPUs) while everything else stays as it is.

Texts go out in batches of ``RAG_EMBEDDING_BATCH_SIZE``, several requests in
flight at once (``RAG_EMBEDDING_THREADS``, default 4); connection errors,
timeouts, 408/409/429 and 5xx replies are retried ``RAG_EMBEDDING_MAX_RETRIES``
times with exponential backoff (the ``openai`` client's own retry logic).

>>> emb = OpenAIEmbeddings("all-MiniLM-L6-v2", base_url="http://127.0.0.1:8081/v1")  # doctest: +SKIP
>>> len(emb.embed_query("hello"))  # doctest: +SKIP
384
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from langchain_core.embeddings import Embeddings

from rag.settings import Settings

log = logging.getLogger(__name__)


class EmbeddingServiceError(RuntimeError):
    """The embedding endpoint failed (after retries) or sent something unusable."""


class OpenAIEmbeddings(Embeddings):
    """Vectors from an OpenAI-compatible embeddings endpoint, in input order.

    Unlike ``langchain_openai.OpenAIEmbeddings`` it never counts tokens with
    tiktoken (which downloads its encodings, and fails offline).
    """

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 batch_size: int = 64, parallel: int = 4, timeout: float = 60.0, max_retries: int = 3) -> None:
        from openai import OpenAI

        from rag.safety import guard_http_loggers, mask_credentials

        guard_http_loggers(api_key or "")  # they would log the base URL, credentials included
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = mask_credentials(base_url or "https://api.openai.com/v1")  # for messages
        self.batch_size = batch_size
        self.parallel = max(1, parallel)
        # Local servers need no key, but the client insists on one.
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                              max_retries=max_retries)

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIEmbeddings":
        return cls(settings.embeddings.model, base_url=settings.embeddings.base_url,
                   api_key=settings.embeddings.api_key, batch_size=settings.embeddings.batch_size,
                   parallel=settings.embeddings.threads or 4, timeout=settings.embeddings.timeout,
                   max_retries=settings.embeddings.max_retries)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        batches = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1 or self.parallel == 1:
            parts = [self._request(b) for b in batches]
        else:
            with ThreadPoolExecutor(min(self.parallel, len(batches))) as pool:
                parts = list(pool.map(self._request, batches))
        out = [v for part in parts for v in part]
        if len({len(v) for v in out}) != 1:
            raise EmbeddingServiceError(f"{self.base_url} returned vectors of different lengths")
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _request(self, batch: list[str]) -> list[list[float]]:
        import openai

        try:
            # "float", not the client's default base64: every compatible server speaks it.
            reply = self._client.embeddings.create(model=self.model, input=batch, encoding_format="float")
        except openai.APIStatusError as exc:
            raise EmbeddingServiceError(
                f"embedding request to {self.base_url} failed with HTTP {exc.status_code} "
                f"(model {self.model!r}; check RAG_EMBEDDING_MODEL / RAG_EMBEDDING_API_KEY): {exc.message}"
            ) from None
        except openai.APIError as exc:  # connection errors and timeouts, after retries
            raise EmbeddingServiceError(
                f"cannot reach the embedding server at {self.base_url} ({type(exc).__name__}: {exc}); "
                "check RAG_EMBEDDING_BASE_URL or unset RAG_EMBEDDING"
            ) from None
        data = sorted(reply.data, key=lambda d: d.index)
        if len(data) != len(batch) or [d.index for d in data] != list(range(len(batch))):
            raise EmbeddingServiceError(
                f"{self.base_url} returned {len(data)} vectors for {len(batch)} texts")
        return [list(map(float, d.embedding)) for d in data]
