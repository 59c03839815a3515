"""The ``top-chunk`` answerer: the plain "LangChain tutorial" approach, kept as a
yardstick. It answers with the best retrieved chunk, cites it whole, and never
refuses. ``rag eval`` scores it beside the configured answerer so every report
shows the margin over it.

>>> TopChunkAnswerer(None, None).answer("q", [], None, None).refused
True
"""

from __future__ import annotations

from rag.answer.citations import citation_from_span
from rag.objects import Answer, Passage


class TopChunkAnswerer:
    """Quotes the top passage verbatim with one citation."""

    name = "top-chunk"

    def __init__(self, settings, embeddings) -> None:
        self.settings = settings

    def answer(self, question: str, passages: list[Passage], retriever, query_vector,
               max_chars: int | None = None) -> Answer:
        """The top passage whole (``max_chars`` is not applied: the baseline is the plain approach)."""
        if not passages:
            return Answer(text="Nothing was retrieved.", refused=True, trace={"mode": "top-chunk"})
        p = passages[0]
        citation = citation_from_span(1, p, p.start, p.end)
        return Answer(text=f"{' '.join(p.text.split())} [1]", citations=[citation],
                      trace={"mode": "top-chunk", "chunk_id": p.chunk_id})
