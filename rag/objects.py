"""Typed, frozen objects that flow between pipeline stages.

files -> Document -> Chunk -> (index) -> Passage -> Answer(Citation...)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, runtime_checkable


SUMMARY_NAMES = 20  # names listed per reason in IndexReport.summary()
BLOCK_KINDS = ("heading", "paragraph", "list_item", "table_row", "code", "field", "term")


@dataclass(frozen=True)
class Block:
    """A structural piece of a document: ``text[start:end]`` of its Document.

    ``kind`` is one of :data:`BLOCK_KINDS`: a ``heading`` (``level`` 1-6) or a
    ``term`` (a definition's term, a signature, a bold title line) titles what
    follows; a ``table_row`` reads "Header: cell; Header: cell"; a ``field`` is
    "Label: value". ``headings`` is the path of headings above the block,
    outermost first (for a heading: its ancestors).
    """

    kind: str
    start: int
    end: int
    level: int = 0
    headings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One loaded file. ``source`` is the path relative to the corpus root;
    ``blocks`` are its structure, in order, as offsets into ``text``."""

    source: str
    text: str
    sha256: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A span of a document: ``document.text[start:end] == text``."""

    id: str
    source: str
    start: int
    end: int
    text: str
    doc_sha256: str
    # Headings above the chunk's first block, outermost first, joined by " > "
    # ("Logging HOWTO > Advanced usage"); "" when the document has none.
    heading_path: str = ""
    blocks: tuple[Block, ...] = ()  # the blocks the chunk holds (document offsets)

    @property
    def search_text(self) -> str:
        """What retrieval matches against: the chunk under its heading path."""
        return f"{self.heading_path}\n\n{self.text}" if self.heading_path else self.text


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores (higher is better)."""

    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    heading_path: str = ""  # see Chunk.heading_path


@dataclass(frozen=True)
class Citation:
    """``marker`` is the n of ``[n]`` in the answer; the file's text
    ``[start:end] == quote`` exactly."""

    marker: int
    source: str
    quote: str
    start: int
    end: int


# The longest answer we give: a reader's answer, not a passage to read (the extractive answerer
# selects within it, finishing caps any answer at it, and the eval suites hold every answer to it).
MAX_ANSWER_CHARS = 400


@dataclass(frozen=True)
class Answer:
    """What :func:`rag.ask` returns.

    ``trace`` explains the answer: rewritten query, chunk ids and scores.
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    warnings: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    trace: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-ready form (used by ``rag ask --json``)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class IndexReport:
    """What :func:`rag.build_index` did."""

    location: str
    files_added: list[str] = field(default_factory=list)
    files_updated: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    rebuilt: bool = False
    rebuild_reason: str | None = None
    seconds: float = 0.0
    # What the health check found and did ("repaired: 295 chunks had no vector"), in order.
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Multi-line human summary printed after every run."""
        lines = [
            f"Index: {self.location}",
            f"  files added: {len(self.files_added)}, updated: {len(self.files_updated)}, "
            f"removed: {len(self.files_removed)}, unchanged: {self.files_unchanged}, "
            f"skipped: {len(self.skipped)}",
            f"  chunks embedded: {self.chunks_embedded}, removed: {self.chunks_removed}, "
            f"total: {self.chunks_total}",
            f"  seconds: {self.seconds:.2f}",
        ]
        if self.rebuilt:
            lines.insert(1, f"  full rebuild: {self.rebuild_reason}")
        from rag.safety import printable  # names come from users' folders: newlines, bidi overrides

        if self.skipped:
            lines.append("  skipped, by reason:")
            groups: dict[str, list[str]] = {}
            for s in self.skipped:
                groups.setdefault(s.reason, []).append(s.source)
            for reason, sources in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                names = ", ".join(printable(x) for x in sources[:SUMMARY_NAMES])
                more = f" and {len(sources) - SUMMARY_NAMES} more" if len(sources) > SUMMARY_NAMES else ""
                lines.append(f"    {printable(reason)} ({len(sources)}): {names}{more}")
        for w in self.warnings:
            lines.append(f"  note: {w}")
        return "\n".join(lines)


class Answerer(Protocol):
    """Turns the passages retrieved for a question into a cited :class:`Answer`, or a
    refusal. Implemented by :class:`rag.answer.ExtractiveAnswerer` (the default),
    :class:`rag.answer.TopChunkAnswerer` (the eval baseline) and
    :class:`rag.generate.OpenAIAnswerer` (a language model); chosen by name in
    :func:`rag.providers.make_answerer`.

    ``retriever`` is the :class:`rag.retrieval.Retriever` the passages came from (for what
    the corpus as a whole says), ``query_vector`` the question's embedding, ``max_chars``
    the longest answer wanted (None: :data:`MAX_ANSWER_CHARS`; an answerer may give less).
    """

    name: str

    def answer(self, question: str, passages: list[Passage], retriever: Any, query_vector: Any,
               max_chars: int | None = None) -> Answer: ...


@runtime_checkable
class StreamingAnswerer(Answerer, Protocol):
    """An answerer that writes as it goes (a model): verified text pieces, then the Answer;
    and that can make a follow-up question standalone itself."""

    def stream(self, question: str, passages: list[Passage], retriever: Any, query_vector: Any
               ) -> Iterator[str | Answer]: ...

    def rewrite(self, question: str, turns: list[tuple[str, str]]) -> tuple[str, str | None]: ...
