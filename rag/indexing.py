"""Indexing: incremental sync of corpus chunks into a Chroma collection.

Chroma itself is the record of what is indexed: chunk ids are derived from
(source, offset, content), so a run computes the ids the corpus should have,
adds the missing ones and deletes the stale ones. Why not LangChain's
``index()`` + record manager: its record manager is a second database that an
interrupted run can leave out of step with the store; diffing against the store
repairs any interruption by construction, and embeds exactly the new chunks.

A fingerprint of (embedding model, chunking settings) is stored in the
collection's metadata; when it differs the collection is rebuilt from scratch
instead of mixing vectors.

>>> report = build_index(Settings(corpus_dir="seeds", index_dir="/tmp/ix"))  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
import uuid

import numpy as np
from datetime import datetime, timezone

from .chunking import CHUNKER_VERSION, blocks_from_meta, blocks_to_meta, split_documents
from .health import (WRITTEN_BY, check_folder, discard_collection, index_lock, remember_clean, repair_store,
                     store_error)
from .loading import CorpusError, load_corpus
from .providers import embedding_name, make_chroma_client, make_embeddings
from .settings import Settings
from .types import Chunk, IndexReport
from .units import chunk_units, unit_key
from .unitstore import FILE_NAME as UNIT_FILE, UnitStore

log = logging.getLogger(__name__)

ADD_BATCH = 64
UNIT_BATCH = 256
MANIFEST = "manifest.json"


def fingerprint(settings: Settings) -> str:
    """What the vectors depend on; a change forces a full rebuild."""
    parts = {
        "embedding": embedding_name(settings),
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "chunker": CHUNKER_VERSION,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def open_collection(client, settings: Settings, *, create: bool):
    """The raw Chroma collection, or None when it does not exist and create is False.
    Any other failure (server gone, damaged database) raises an error saying so."""
    try:
        return client.get_collection(settings.collection)
    except Exception as exc:
        if not _not_found(exc):
            raise store_error(exc, settings) from None
        if not create:
            return None
    try:
        return client.create_collection(
            settings.collection,
            metadata={"rag_fingerprint": fingerprint(settings), "rag_generation": uuid.uuid4().hex},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
    except Exception as exc:
        # Two first runs against one server: the other one created it a moment ago.
        if "already exists" in str(exc):
            return client.get_collection(settings.collection)
        raise store_error(exc, settings) from None


def _not_found(exc: Exception) -> bool:
    # chromadb raises NotFoundError (older versions: ValueError "does not exist")
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


def vector_store(client, settings: Settings, embeddings):
    """LangChain's Chroma store over our collection (it embeds with our model,
    never Chroma's default one, which would download weights)."""
    from langchain_chroma import Chroma

    return Chroma(client=client, collection_name=settings.collection, embedding_function=embeddings,
                  create_collection_if_not_exists=False)


def _store_may_exist(settings: Settings) -> bool:
    """False when there is surely no index: no server and no database file
    (checked first so that asking never creates an empty index folder)."""
    return bool(settings.chroma_url) or (settings.index_dir / "chroma.sqlite3").exists()


def index_exists(settings: Settings) -> bool:
    """True when the collection exists and holds at least one chunk."""
    if not _store_may_exist(settings):
        return False  # don't create an empty index folder just by asking
    col = open_collection(make_chroma_client(settings), settings, create=False)
    return col is not None and col.count() > 0


def indexed_files(settings: Settings) -> list[str]:
    """Sources (paths relative to the corpus) that have chunks in the index,
    sorted; ``[]`` when there is no index yet (none is created by asking).

    >>> indexed_files(Settings(index_dir="/tmp/ix"))  # doctest: +SKIP
    ['000_6cae30295beecc41.txt', '001_0df1e04c0dd6828e.txt']
    """
    if not _store_may_exist(settings):
        return []
    collection = open_collection(make_chroma_client(settings), settings, create=False)
    if collection is None:
        return []
    return sorted({meta["source"] for _, _, meta in _records(collection, ["metadatas"])})


def _records(collection, include: list[str], page: int = 5000):
    """(id, document, metadata) of every record, fetched a page at a time."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=page, offset=offset)
        docs = got.get("documents") or [None] * len(got["ids"])
        yield from zip(got["ids"], docs, got["metadatas"])
        if len(got["ids"]) < page:
            return
        offset += page


def stored_chunks(collection) -> list[Chunk]:
    """Every chunk in the collection, in a stable order."""
    out = [Chunk(cid, meta["source"], int(meta["start"]), int(meta["end"]), text, meta.get("doc_sha256", ""),
                 meta.get("heading_path", ""), blocks_from_meta(meta.get("blocks"), int(meta["start"])))
           for cid, text, meta in _records(collection, ["documents", "metadatas"])]
    out.sort(key=lambda c: (c.source, c.start))
    return out


def build_index(settings: Settings | None = None, *, progress: bool | None = None,
                embeddings=None, rebuild: bool = False) -> IndexReport:
    """Bring the index in line with the corpus; return what was done.

    The store is checked first (:mod:`rag.health`): a damaged one is repaired
    or rebuilt and the report says so; ``rebuild=True`` always rebuilds. One
    run at a time per index folder (a second one waits).

    >>> print(build_index().summary())  # doctest: +SKIP
    Index: .../index
      files added: 5, updated: 0, removed: 0, unchanged: 0, skipped: 0
    """
    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    docs, skipped = load_corpus(settings.corpus_dir)
    if not docs:
        raise CorpusError(f"no indexable files in {settings.corpus_dir} "
                          "(supported: .txt .md .html .pdf)")
    chunks = split_documents(docs, settings.chunk_size, settings.chunk_overlap)

    check_folder(settings)
    with index_lock(settings):
        return _sync(settings, chunks, skipped, t0, progress, embeddings, rebuild)


def _sync(settings: Settings, chunks: list[Chunk], skipped, t0: float, progress, embeddings,
          rebuild: bool) -> IndexReport:
    client, repair_reason, notes = repair_store(settings, rebuild=rebuild)
    collection = open_collection(client, settings, create=True)
    fp = fingerprint(settings)
    rebuilt, reason = repair_reason is not None, repair_reason
    old_fp = (collection.metadata or {}).get("rag_fingerprint")
    if old_fp != fp:
        rebuilt = True
        reason = f"index settings changed (fingerprint {old_fp} -> {fp})"
        log.warning("rebuilding index: %s", reason)
        discard_collection(client, settings)
        collection = open_collection(client, settings, create=True)
    if (collection.metadata or {}).get("rag_complete") is False:
        notes.append("the previous `rag index` run did not finish; this run completed it")

    existing = stored_chunks(collection)
    existing_ids = {c.id for c in existing}
    wanted = {c.id: c for c in chunks}
    to_add = [c for c in chunks if c.id not in existing_ids]
    to_delete = sorted(existing_ids - wanted.keys())

    old_by_file: dict[str, set[str]] = {}
    for c in existing:
        old_by_file.setdefault(c.source, set()).add(c.id)
    new_by_file: dict[str, set[str]] = {}
    for c in chunks:
        new_by_file.setdefault(c.source, set()).add(c.id)
    added = sorted(s for s in new_by_file if s not in old_by_file)
    updated = sorted(s for s in new_by_file if s in old_by_file and old_by_file[s] != new_by_file[s])
    removed = sorted(s for s in old_by_file if s not in new_by_file)
    unchanged = len(new_by_file) - len(added) - len(updated)

    if to_add or to_delete:
        # Readers warn about a partial index until the end of this run (interrupted runs too).
        _set_meta(collection, rag_complete=False)
    if to_add:
        embeddings = embeddings or make_embeddings(settings)
        _add_chunks(client, settings, embeddings, to_add, progress)
    # Also fills in what an older index, or an interrupted run, lacks.
    have = _unit_store(settings).chunk_ids()
    lacking = [c for c in chunks if c.id not in have]
    units_embedded = 0
    if lacking:
        embeddings = embeddings or make_embeddings(settings)
        units_embedded = _add_unit_vectors(settings, embeddings, lacking, chunks, progress)
    if to_delete:
        # After adding, so an interruption never leaves a file with no chunks at all.
        for i in range(0, len(to_delete), 5000):
            collection.delete(ids=to_delete[i:i + 5000])
    if to_delete or rebuilt:
        _unit_store(settings).keep_only(set(wanted))
    if to_add or to_delete or rebuilt or (collection.metadata or {}).get("rag_complete") is False:
        _set_meta(collection, rag_fingerprint=fp, rag_generation=uuid.uuid4().hex, rag_complete=True)

    report = IndexReport(
        location=settings.index_location, files_added=added, files_updated=updated,
        files_removed=removed, files_unchanged=unchanged, skipped=list(skipped),
        chunks_embedded=len(to_add), units_embedded=units_embedded, chunks_removed=len(to_delete),
        chunks_total=collection.count(), rebuilt=rebuilt, rebuild_reason=reason,
        seconds=time.perf_counter() - t0, warnings=notes,
    )
    _write_manifest(settings, fp, report)
    if not settings.chroma_url:
        remember_clean(settings)  # what we just wrote needs no child-process check next time
    log.info("indexed: %s", report.summary().replace("\n", "; "))
    return report


def _set_meta(collection, **values) -> None:
    meta = dict(collection.metadata or {})
    meta.update(values)
    collection.modify(metadata=meta)


def _add_chunks(client, settings: Settings, embeddings, chunks: list[Chunk], progress: bool | None) -> None:
    # The vector is of the chunk under its headings (what it is about), the stored
    # document the chunk's own text (what citations point into): so we embed here
    # and hand Chroma both, rather than letting the store embed the document.
    collection = open_collection(client, settings, create=False)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(chunks), desc="embedding chunks", unit="chunk", file=sys.stderr)
    for i in range(0, len(chunks), ADD_BATCH):
        batch = chunks[i:i + ADD_BATCH]
        collection.upsert(
            ids=[c.id for c in batch],
            embeddings=embeddings.embed_documents([c.search_text for c in batch]),
            documents=[c.text for c in batch],
            metadatas=[{"source": c.source, "start": c.start, "end": c.end, "doc_sha256": c.doc_sha256,
                        "heading_path": c.heading_path, "blocks": blocks_to_meta(c)} for c in batch],
        )
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()


def _unit_store(settings: Settings) -> UnitStore:
    return UnitStore(settings.index_dir / UNIT_FILE, embedding_name(settings))


def _add_unit_vectors(settings: Settings, embeddings, added: list[Chunk], chunks: list[Chunk],
                      progress: bool | None) -> int:
    """Embed the answer units (sentences, list items, rows) of the added chunks
    once, so that answering a question embeds nothing but the question."""
    previous: dict[str, Chunk | None] = {}
    last: dict[str, Chunk] = {}
    for c in sorted(chunks, key=lambda c: (c.source, c.start)):
        previous[c.id] = last.get(c.source)
        last[c.source] = c
    per_chunk = [(c.id, chunk_units(c, previous.get(c.id))) for c in added]
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(us) for _, us in per_chunk), desc="embedding sentences", unit="sentence",
                   file=sys.stderr)
    store = _unit_store(settings)
    batch: list[tuple[str, list]] = []
    for n, item in enumerate(per_chunk):
        batch.append(item)
        if sum(len(us) for _, us in batch) < UNIT_BATCH and n + 1 < len(per_chunk):
            continue
        # Whole chunks per batch: a chunk's vectors are stored as one row.
        vecs = iter(embeddings.embed_documents([u.reading for _, us in batch for u in us]))
        store.put({cid: {unit_key(u): np.asarray(next(vecs), dtype=np.float32) for u in us} for cid, us in batch})
        if bar is not None:
            bar.update(sum(len(us) for _, us in batch))
        batch = []
    if bar is not None:
        bar.close()
    store.close()
    return sum(len(us) for _, us in per_chunk)


def _write_manifest(settings: Settings, fp: str, report: IndexReport) -> None:
    """Human-readable record beside an embedded index; Chroma databases written
    by one version may not open with another, so the version is recorded."""
    if settings.chroma_url:
        return
    import chromadb

    manifest = {
        "written_by": WRITTEN_BY,  # lets check_folder tell our manifest from another program's
        "fingerprint": fp,
        "embedding": embedding_name(settings),
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "chunker": CHUNKER_VERSION,
        "chromadb_version": chromadb.__version__,
        "collection": settings.collection,
        "corpus_dir": str(settings.corpus_dir),
        "chunks_total": report.chunks_total,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (settings.index_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def check_manifest(settings: Settings) -> str | None:
    """A warning when the embedded index was written by another Chroma version."""
    path = settings.index_dir / MANIFEST
    if settings.chroma_url or not path.exists():
        return None
    import chromadb

    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("chromadb_version")
    except (OSError, ValueError):
        return None
    if recorded and recorded != chromadb.__version__:
        return (f"index at {settings.index_dir} was written by chromadb {recorded}, this is "
                f"{chromadb.__version__}; if it fails to open, delete the folder and run `rag index`")
    return None
