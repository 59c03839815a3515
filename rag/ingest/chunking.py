"""Chunking: pack a document's blocks into chunks that know where they sit.

A chunk is a run of whole blocks (paragraphs, list items, table rows...) of at
most ``chunk_size`` characters; a chunk prefers to start at a heading and never
ends on one. A block longer than ``chunk_size`` is split by LangChain's
recursive splitter (sentences first) with ``chunk_overlap``. Each chunk keeps
its blocks and the heading path above it.

Chunk ids derive from (source, start offset, content), so the same text at the
same place always gets the same id and indexing is idempotent.

>>> from rag.objects import Document
>>> [c.start for c in split_documents([Document("a.txt", "One. Two.", "h")], 800, 100)]
[0]
"""

from __future__ import annotations

import dataclasses
import hashlib

from rag.objects import Block, Chunk, Document
from rag.store import blocks_to_meta

# Bumped when the splitting rules change, so old indexes are rebuilt.
CHUNKER_VERSION = "blocks-v2"  # v2: vectors of the chunk under its heading path
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
PATH_SEP = " > "
_TITLES = ("heading", "term")


def chunk_id(source: str, start: int, text: str, structure: str = "") -> str:
    """Stable id of a chunk: its place, its text and its structure (blocks and
    headings), so that a loader that reads the same text differently re-indexes it."""
    h = hashlib.sha256(f"{source}\x00{start}\x00{text}\x00{structure}".encode("utf-8"))
    return h.hexdigest()[:32]


def split_documents(docs: list[Document], chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split documents into chunks of whole blocks (see the module docstring)."""
    chunks: list[Chunk] = []
    for doc in docs:
        blocks = list(doc.blocks) or [Block("paragraph", 0, len(doc.text))]
        pieces = [p for b in blocks for p in _fit(doc.text, b, chunk_size, chunk_overlap)]
        for group in _pack(pieces, chunk_size):
            start, end = group[0].start, group[-1].end
            text = doc.text[start:end]
            c = Chunk("", doc.source, start, end, text, doc.sha256, heading_path(group), tuple(group))
            chunks.append(dataclasses.replace(c, id=chunk_id(doc.source, start, text, blocks_to_meta(c))))
    return chunks


def heading_path(blocks: list[Block] | tuple[Block, ...]) -> str:
    """The headings above the first block that is not a title, joined by " > "."""
    for b in blocks:
        if b.kind not in _TITLES:
            return PATH_SEP.join(b.headings)
    return PATH_SEP.join(blocks[0].headings) if blocks else ""


def _fit(text: str, block: Block, size: int, overlap: int) -> list[Block]:
    """The block, or pieces of it no longer than ``size`` (overlapping by ``overlap``)."""
    if block.end - block.start <= size:
        return [block]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, separators=SEPARATORS,
                                              keep_separator="end", add_start_index=True)
    body = text[block.start:block.end]
    out = []
    for piece in splitter.create_documents([body]):
        s = block.start + piece.metadata["start_index"]
        if piece.metadata["start_index"] < 0 or text[s:s + len(piece.page_content)] != piece.page_content:
            # The splitter finds offsets with str.find; never trust it blindly.
            raise AssertionError(f"chunk offset mismatch at {s}")
        out.append(Block(block.kind, s, s + len(piece.page_content), block.level, block.headings))
    return out


def _pack(pieces: list[Block], size: int) -> list[list[Block]]:
    """Consecutive pieces grouped into chunks of at most ``size`` characters
    (a piece that alone exceeds it is its own chunk)."""
    groups: list[list[Block]] = []
    cur: list[Block] = []
    for b in pieces:
        if cur:
            fits = b.end - cur[0].start <= size
            overlapping = b.start < cur[-1].end  # pieces of one oversized block
            # A new section starts a new chunk once this one has some substance.
            section = b.kind == "heading" and (cur[-1].end - cur[0].start) >= size // 3
            if not fits or overlapping or section:
                groups.append(cur)
                cur = []
        cur.append(b)
    if cur:
        groups.append(cur)
    # A chunk never ends on a title: move trailing headings to the next chunk.
    for i in range(len(groups) - 1):
        g, nxt = groups[i], groups[i + 1]
        while len(g) > 1 and g[-1].kind in _TITLES and nxt[-1].end - g[-1].start <= size \
                and g[-1].end <= nxt[0].start:
            nxt.insert(0, g.pop())
    return [g for g in groups if g]


# -- blocks in the store's metadata ---------------------------------------------------

