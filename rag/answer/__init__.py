"""Answer: passages -> an answer whose every sentence cites its passage.

The extractive answerer (:mod:`.extractive`, questions in :mod:`.questions`),
the top-chunk baseline (:mod:`.baseline`), citation markers and merging
(:mod:`.citations`), and the finishing pass every answer goes through
(:mod:`.finishing`: verbatim quotes, balanced marks, the answer-size cap).

>>> from rag.answer import ExtractiveAnswerer  # doctest: +SKIP
"""

from rag.lazy import exports

_EXPORTS = {
    "ExtractiveAnswerer": "extractive",
    "refusal": "extractive",
    "TopChunkAnswerer": "baseline",
    "CitationBook": "citations",
    "MARKER": "citations",
    "claim_spans": "citations",
    "merge_answers": "citations",
    "normalize_markers": "citations",
    "parse_markers": "citations",
    "rewrite_markers": "citations",
    "strip_markers": "citations",
    "finish_answer": "finishing",
    "balance_quotes": "finishing",
    "mentions_target": "questions",
    "split_question": "questions",
    "question_kind": "questions",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
