"""The relevance model at run time: does this candidate answer this question?

A cross-encoder (MiniLM layers, trained by ``training.train``) reads the question and a
candidate answer unit together and scores how well the unit answers it. This module runs the
exported int8 ONNX file on onnxruntime (no torch), as the answerer would; it is not shipped in
``rag/`` because on the tuning suites it did not beat the answerer's own unit scorer
(training/README.md has the figures).

>>> candidate_text(("KeepAliveTimeout Directive",), "Default: | KeepAliveTimeout 5")
'KeepAliveTimeout Directive | Default: | KeepAliveTimeout 5'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.embeddings.local import MissingDependency, tokenizer_path

MAX_CONTEXT_CHARS = 80
MAX_CANDIDATE_CHARS = 400


def candidate_text(headings: tuple[str, ...] | list[str], reading: str) -> str:
    """What the model reads for one candidate: its nearest headings (what the unit is
    about, often named only there) and the unit's own text with its lead-in.
    Training (training/mine.py) and answering build it with this one function."""
    context = " > ".join(h.strip()[:MAX_CONTEXT_CHARS] for h in tuple(headings)[-2:] if h.strip())
    text = " ".join(reading.split())[:MAX_CANDIDATE_CHARS]
    return f"{context} | {text}" if context else text


MAX_TOKENS = 96  # question + candidate; candidates are one unit (a sentence, a row), rarely longer


class RelevanceModel:
    """The shipped cross-encoder on onnxruntime. ``score`` gives one logit per
    candidate (higher: the candidate answers the question); ``probability`` maps
    logits to 0-1. Thread-safe (onnxruntime sessions are).

    >>> model = RelevanceModel("build/run/relevance.onnx")  # doctest: +SKIP
    >>> model.score("What is the default of KeepAliveTimeout?",
    ...             ["KeepAliveTimeout Directive | Default: | KeepAliveTimeout 5"])  # doctest: +SKIP
    array([4.2], dtype=float32)
    """

    def __init__(self, path: Path | str, threads: int = 2) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency(f"the relevance model needs onnxruntime and tokenizers ({exc}): pip install -e .") \
                from None
        self.path = Path(path)
        if not self.path.is_file():
            raise MissingDependency(f"relevance model not found at {self.path}: build it (training/README.md)")
        self._tok = Tokenizer.from_file(str(tokenizer_path()))
        self._tok.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
        self._tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.path), sess_options=opts, providers=["CPUExecutionProvider"])

    def score(self, question: str, candidates: list[str]) -> np.ndarray:
        """One logit per candidate, in order (one model call: batches are small)."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        encs = self._tok.encode_batch([(question, c) for c in candidates])
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, 1, e.type_ids
        logits = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return logits[:, 0].astype(np.float32)

    @staticmethod
    def probability(logits: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-np.asarray(logits)))
