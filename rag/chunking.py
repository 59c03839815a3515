"""Chunking: split documents with LangChain's recursive splitter, keeping offsets.

Chunk ids derive from (source, start offset, content), so the same text at the
same place always gets the same id and indexing is idempotent.

>>> from rag.types import Document
>>> [c.start for c in split_documents([Document("a.txt", "One. Two.", "h")], 800, 100)]
[0]
"""

from __future__ import annotations

import hashlib

from .types import Chunk, Document

# Bumped when the splitting rules change, so old indexes are rebuilt.
CHUNKER_VERSION = "recursive-v1"
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


def chunk_id(source: str, start: int, text: str) -> str:
    """Stable id of a chunk."""
    h = hashlib.sha256(f"{source}\x00{start}\x00{text}".encode("utf-8"))
    return h.hexdigest()[:32]


def split_documents(docs: list[Document], chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split documents into chunks that know where they sit in their file."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=SEPARATORS,
        keep_separator="end",
        add_start_index=True,
    )
    chunks: list[Chunk] = []
    for doc in docs:
        for piece in splitter.create_documents([doc.text]):
            start = piece.metadata["start_index"]
            text = piece.page_content
            if start < 0 or doc.text[start:start + len(text)] != text:
                # The splitter finds offsets with str.find; never trust it blindly.
                raise AssertionError(f"chunk offset mismatch in {doc.source} at {start}")
            chunks.append(Chunk(chunk_id(doc.source, start, text), doc.source, start,
                                start + len(text), text, doc.sha256))
    return chunks
