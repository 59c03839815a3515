"""Generate: answers written by a language model, checked before they are shown.

The OpenAI-compatible answerer (:mod:`.answerer`: OpenAI, vLLM, Ollama,
llama.cpp), its prompt (:mod:`.prompt`), the verification of every sentence
against the passages it cites (:mod:`.verification`), the answer deadline
(:mod:`.deadline`) and a local llama.cpp server for tests (:mod:`.local_llm`).

>>> from rag.generate import OpenAIAnswerer  # doctest: +SKIP
"""

from rag.lazy import exports

_EXPORTS = {
    "OpenAIAnswerer": "answerer",
    "GenerationError": "answerer",
    "Verifier": "verification",
    "AnswerBuilder": "verification",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
