"""The embedding loop of indexing: read and chunk changed files, embed the new
chunks and write them to Chroma, with the three overlapped.

A reader thread loads and chunks files and diffs each file's chunk ids against
the store; the calling thread embeds windows of ``window`` new chunks (the
embedder sorts a window by token length and batches it); a writer thread
upserts embedded windows. Only the embedder is busy on the CPU most of the
time, which is the point (benchmarks/run.py reports the ratio to the raw
embedder). Stale chunks are returned, not deleted: the caller deletes them
after all additions, so an interruption never leaves a file with no chunks.

>>> result = ingest(collection, files, stored, settings, get_embeddings)  # doctest: +SKIP
>>> result.chunks_embedded  # doctest: +SKIP
31
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


from rag.store import blocks_to_meta
from rag.ingest.chunking import split_documents
from rag.ingest.filestate import FileStat, Recorded
from rag.store import token_row
from rag.ingest.loaders.budget import Budget
from rag.ingest.loading import load_file
from rag.ingest.progress import IndexProgress
from rag.safety import printable
from rag.settings import Settings
from rag.objects import Chunk, Skipped

log = logging.getLogger(__name__)

_DONE = object()


@dataclass
class IngestResult:
    """What happened to the files that were read."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # indexed before, unreadable now
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    stale_ids: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    token_rows: list = field(default_factory=list)  # lexicon rows of the new chunks (rag.store.lexicon)
    documents: int = 0
    recorded: dict[str, Recorded] = field(default_factory=dict)


def ingest(collection, files: list[FileStat], stored: dict[str, set[str]], settings: Settings,
           get_embeddings: Callable[[], object], *, recorded: dict[str, Recorded] | None = None,
           window: int = 256, progress: IndexProgress | None = None,
           before_first_write: Callable[[], None] | None = None,
           before_write: Callable[[list[str]], None] | None = None) -> IngestResult:
    """Read ``files``, add their new chunks to ``collection``; ``stored`` holds
    the chunk ids each source already has there. A file whose text hashes as
    in ``recorded`` (it was only touched) is not chunked again.
    ``before_first_write`` runs once, before anything is written. Each chunk
    is embedded once, as its own text under its headings; answer units are
    embedded when a question first needs them (:meth:`Retriever.unit_vectors`).
    ``before_write(texts)``
    runs before each window is written (the disk-space check); what it raises
    stops the run with the earlier windows kept. ``progress`` hears of every
    file read and every chunk found and stored."""
    result = IngestResult()
    progress = progress or IndexProgress()
    chunks_q: queue.Queue = queue.Queue(maxsize=max(4, 8192 // max(window, 1)))
    failure: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            _read_files(Path(settings.ingest.corpus_dir), files, stored, settings, recorded or {}, result,
                        chunks_q, stop, progress)
        except BaseException as exc:  # handed to the embedding thread, which re-raises it
            failure.append(exc)
        finally:
            chunks_q.put(_DONE)

    reader = threading.Thread(target=read, name="rag-index-reader", daemon=True)
    reader.start()
    writer = ThreadPoolExecutor(1, thread_name_prefix="rag-index-writer")
    pending: list[Future] = []
    try:
        pending_chunks: list[Chunk] = []
        finished = False
        while not finished:
            item = chunks_q.get()
            if item is _DONE:
                finished = True
            else:
                pending_chunks.extend(item)
                progress.chunks_found(len(item))
            # Equal windows, not growing ones: with write sizes 64, 128, 256... garbling
            # Chroma 1.5.9's persisted HNSW file no longer crashed a plain reader (so it is
            # not what Chroma loads); equal windows keep its usual behaviour.
            while len(pending_chunks) >= window or (finished and pending_chunks):
                batch, pending_chunks = pending_chunks[:window], pending_chunks[window:]
                vectors = get_embeddings().embed_documents([c.search_text for c in batch])
                # At most one write in flight: Chroma stays one window behind the embedder.
                for f in pending:
                    f.result()
                if before_write is not None:
                    before_write([c.text for c in batch])
                if before_first_write is not None and not result.chunks_embedded:
                    before_first_write()
                pending = [writer.submit(_write, collection, batch, vectors)]
                result.chunks_embedded += len(batch)
                # Progress counts chunks stored, not just embedded.
                pending[0].add_done_callback(
                    lambda f, n=len(batch): f.exception() is None and progress.chunks_stored(n))
        for f in pending:
            f.result()
        if failure:
            raise failure[0]
    except BaseException:
        stop.set()
        for f in pending:  # what was embedded is kept: the next run will not redo it
            try:
                f.result()
            except Exception:  # the original error matters more
                pass
        raise
    finally:
        writer.shutdown(wait=True)
        stop.set()
        _drain(chunks_q)
        reader.join(timeout=10)
    return result


def _read_files(root: Path, files: list[FileStat], stored: dict[str, set[str]], settings: Settings,
                recorded: dict[str, Recorded], result: IngestResult, out: queue.Queue,
                stop: threading.Event, progress: IndexProgress) -> None:
    budget = Budget.from_settings(settings)
    for f in files:
        if stop.is_set():
            return
        _read_file(root, f, budget, stored, settings, recorded, result, out, stop)
        progress.file_read()


def _read_file(root: Path, f: FileStat, budget: Budget, stored: dict[str, set[str]], settings: Settings,
               recorded: dict[str, Recorded], result: IngestResult, out: queue.Queue,
               stop: threading.Event) -> None:
    """One file: its documents (a mail's attachments too) chunked and queued
    for embedding. ``stored`` holds chunk ids per file, attachments included."""
    docs, lost = load_file(root, f.source, budget)
    for s in lost:
        log.warning("skipped %s: %s", printable(s.source), s.reason)
    result.skipped.extend(lost)
    notes = tuple((s.source, s.reason) for s in lost)
    if not docs:
        reason = next((s.reason for s in lost if s.source == f.source), "nothing in it could be read")
        result.recorded[f.source] = Recorded(f.key, "", reason, notes=tuple(n for n in notes if n[0] != f.source))
        if stored.get(f.source):
            result.stale_ids.extend(sorted(stored[f.source]))
            result.removed.append(f.source)
        return
    result.documents += 1
    if len(docs) == 1 and docs[0].source == f.source:
        sha = docs[0].sha256
    else:  # the file's text and its attachments'
        sha = hashlib.sha256("\x00".join(f"{d.source}\x00{d.sha256}" for d in docs).encode("utf-8")).hexdigest()
    result.recorded[f.source] = Recorded(f.key, sha, parts=tuple(d.source for d in docs if d.source != f.source),
                                         notes=notes)
    old = stored.get(f.source, set())
    before = recorded.get(f.source)
    if old and before is not None and not before.skipped and before.sha256 == sha:
        result.unchanged += 1  # touched, not edited
        return
    chunks = split_documents(docs, settings.ingest.chunk_size, settings.ingest.chunk_overlap)
    ids = {c.id for c in chunks}
    new = [c for c in chunks if c.id not in old]
    result.token_rows.extend(token_row(c) for c in new)
    result.stale_ids.extend(sorted(old - ids))
    if not old:
        result.added.append(f.source)
    elif old != ids:
        result.updated.append(f.source)
    else:
        result.unchanged += 1
    if new:
        while not stop.is_set():
            try:
                out.put(new, timeout=0.5)
                break
            except queue.Full:
                continue


def _write(collection, batch: list[Chunk], vectors) -> None:
    # Straight to Chroma (not langchain's add_texts, which would embed again): the vector
    # is of the chunk under its headings, the document the chunk's own text.
    collection.upsert(
        ids=[c.id for c in batch],
        embeddings=vectors,
        documents=[c.text for c in batch],
        metadatas=[{"source": c.source, "start": c.start, "end": c.end, "doc_sha256": c.doc_sha256,
                    "heading_path": c.heading_path, "blocks": blocks_to_meta(c)} for c in batch],
    )


def _drain(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass
