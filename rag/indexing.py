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

A re-run reads only files whose size or times changed since the last run
(:mod:`rag.filestate`; the record is trusted only while the store's generation
stamp matches it), and the embedding loop overlaps reading, embedding and
writing (:mod:`rag.ingest`).

>>> report = build_index(Settings(corpus_dir="seeds", index_dir="/tmp/ix"))  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid

import numpy as np
from datetime import datetime, timezone

from . import filestate
from .chunking import CHUNKER_VERSION, blocks_from_meta
from .health import (WRITTEN_BY, check_folder, discard_collection, index_lock, remember_clean, repair_store,
                     store_error)
from .ingest import ingest
from .lexicon import Lexicon, TokenStore, token_row
from .lexicon import folder as lexicon_folder
from .lexicon import rebuild as rebuild_lexicon
from .loading import CorpusError, corpus_files
from .progress import IndexProgress
from .progress import of as progress_of
from .providers import embedding_name, make_chroma_client, make_embeddings
from .safety import printable
from .settings import Settings
from .types import Chunk, IndexReport, Skipped
from .units import chunk_units, unit_key
from .unitstore import FILE_NAME as UNIT_FILE, UnitStore

log = logging.getLogger(__name__)

ADD_BATCH = 128  # chunks per embedding call and per write; the embedder batches them by token length
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


def chunk_from_record(cid: str, text: str, meta: dict) -> Chunk:
    """A chunk as Chroma stores it (text, place and blocks in the metadata)."""
    return Chunk(cid, meta["source"], int(meta["start"]), int(meta["end"]), text, meta.get("doc_sha256", ""),
                 meta.get("heading_path", ""), blocks_from_meta(meta.get("blocks"), int(meta["start"])))


def iter_chunks(collection):
    """Every chunk of the collection, a page at a time (store order)."""
    for cid, text, meta in _records(collection, ["documents", "metadatas"]):
        yield chunk_from_record(cid, text, meta)


def stored_chunks(collection) -> list[Chunk]:
    """Every chunk in the collection, in file order."""
    return sorted(iter_chunks(collection), key=lambda c: (c.source, c.start))


def build_index(settings: Settings | None = None, *, progress: bool | IndexProgress | None = None,
                embeddings=None, rebuild: bool = False, full_check: bool = False) -> IndexReport:
    """Bring the index in line with the corpus; return what was done.

    The store is checked first (:mod:`rag.health`): a damaged one is repaired
    or rebuilt and the report says so; ``rebuild=True`` always rebuilds. One
    run at a time per index folder (a second one waits). Files whose size and
    times match the last run's record are not read (:mod:`rag.filestate`);
    ``full_check=True`` reads and hashes every file. ``progress``: True shows a
    bar, False nothing, None a bar on a terminal, an :class:`~rag.progress.IndexProgress`
    what it is set up for (lines in a log, see ``rag index``).

    >>> print(build_index().summary())  # doctest: +SKIP
    Index: .../index
      files added: 5, updated: 0, removed: 0, unchanged: 0, skipped: 0
    """
    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    scan_started = filestate.now()
    if not settings.corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {printable(str(settings.corpus_dir))} (set RAG_CORPUS_DIR)")
    paths, unsupported = corpus_files(settings.corpus_dir)
    if not paths:
        raise CorpusError(f"no indexable files in {settings.corpus_dir} "
                          "(supported: .txt .md .html .pdf)")
    files = filestate.stat_files(settings.corpus_dir, paths)

    check_folder(settings)
    shown = progress_of(progress)
    try:
        with index_lock(settings):
            return _sync(settings, files, unsupported, t0, scan_started, shown, embeddings, rebuild, full_check)
    finally:
        shown.close()


def _sync(settings: Settings, files: list[filestate.FileStat], unsupported: list[Skipped], t0: float,
          scan_started: float, progress, embeddings, rebuild: bool, full_check: bool) -> IndexReport:
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
    incomplete = (collection.metadata or {}).get("rag_complete") is False
    if incomplete:
        notes.append("the previous `rag index` run did not finish; this run completed it")
    if rebuilt:
        filestate.forget_state(settings)

    generation = (collection.metadata or {}).get("rag_generation")
    plan = filestate.plan_changes(settings, files, generation, fp, full_check=full_check or incomplete)
    if not plan.trusted:
        log.info("reading every file: %s", plan.reason)
    stored, removed = _stored_ids(collection, plan)

    def get_embeddings():
        nonlocal embeddings
        if embeddings is None:
            embeddings = make_embeddings(settings)
        return embeddings

    marked = False

    def mark_incomplete() -> None:
        # Readers warn about a partial index until the end of this run (interrupted runs too).
        nonlocal marked
        if not marked:
            _set_meta(collection, rag_complete=False)
            marked = True

    progress.start(files=len(plan.changed), unchanged=len(plan.unchanged))
    units = _unit_store(settings)
    result = ingest(collection, plan.changed, stored, settings, get_embeddings, recorded=plan.recorded,
                    window=ADD_BATCH, progress=progress, before_first_write=mark_incomplete, unit_store=units)
    known = {f.source: plan.recorded[f.source] for f in plan.unchanged}
    if result.documents + sum(1 for r in known.values() if not r.skipped) == 0:
        raise CorpusError(f"no indexable files in {settings.corpus_dir} (every file was skipped: "
                          f"{'; '.join(f'{s.source}: {s.reason}' for s in result.skipped[:3])})")
    to_delete = sorted(set(result.stale_ids) | {i for s in removed for i in stored.get(s, ())})
    progress.set_phase("removing old chunks" if to_delete else "checking answer-unit vectors")
    if to_delete:
        mark_incomplete()
        # After adding, so an interruption never leaves a file with no chunks at all.
        for i in range(0, len(to_delete), 5000):
            collection.delete(ids=to_delete[i:i + 5000])
        units.forget(to_delete)
    # An older index, a deleted or damaged unit store, an interrupted run: fill in what is missing.
    units_embedded = result.units_embedded + _fill_unit_vectors(collection, units, get_embeddings, rebuilt)
    units.close()
    wrote = bool(result.chunks_embedded or to_delete or rebuilt or incomplete)
    if wrote:
        generation = uuid.uuid4().hex
        _set_meta(collection, rag_fingerprint=fp, rag_generation=generation, rag_complete=True)
    filestate.save_state(settings, generation, fp, {**known, **result.recorded}, scan_started)
    progress.set_phase("building the keyword index")
    _update_lexicon(settings, collection, result.token_rows, to_delete, rebuilt, generation or "", fp)

    skipped = list(unsupported) + [Skipped(s, r.skipped) for s, r in known.items() if r.skipped] \
        + result.skipped
    skipped.sort(key=lambda s: s.source)
    report = IndexReport(
        location=settings.index_location, files_added=sorted(result.added),
        files_updated=sorted(result.updated), files_removed=sorted([s for s in removed if stored.get(s)]
                                                                   + result.removed),
        files_unchanged=result.unchanged + sum(1 for r in known.values() if not r.skipped),
        skipped=skipped, chunks_embedded=result.chunks_embedded, units_embedded=units_embedded,
        chunks_removed=len(to_delete),
        chunks_total=collection.count(), rebuilt=rebuilt, rebuild_reason=reason,
        seconds=time.perf_counter() - t0, warnings=notes,
    )
    _write_manifest(settings, fp, report)
    if wrote and not settings.chroma_url:
        # What we just wrote needs no child-process check next time. (Nothing written:
        # the store was checked at the start of this run, its signature is the same.)
        remember_clean(settings)
    log.info("indexed: %s", report.summary().replace("\n", "; "))
    return report


def _stored_ids(collection, plan: filestate.ChangePlan) -> tuple[dict[str, set[str]], list[str]]:
    """Chunk ids per source already in the store, for the files to be read and
    the files that are gone; and the sources that are gone. Without a trusted
    record that is every source in the store (ids and metadata only, no texts)."""
    stored: dict[str, set[str]] = {}
    if not plan.trusted:
        for cid, _, meta in _records(collection, ["metadatas"]):
            stored.setdefault(meta["source"], set()).add(cid)
        present = {f.source for f in plan.changed}
        return stored, sorted(s for s in stored if s not in present)
    wanted = [f.source for f in plan.changed] + list(plan.removed)
    for i in range(0, len(wanted), 200):
        got = collection.get(where={"source": {"$in": wanted[i:i + 200]}}, include=["metadatas"])
        for cid, meta in zip(got["ids"], got["metadatas"]):
            stored.setdefault(meta["source"], set()).add(cid)
    return stored, list(plan.removed)


def _update_lexicon(settings: Settings, collection, added: list, deleted: list[str], rebuilt: bool,
                    generation: str, fp: str) -> None:
    """Bring the lexicon (BM25, term statistics, identifiers; see rag/lexicon.py) in line
    with the collection: the token store one chunk at a time, the rest rebuilt from it
    when anything changed. Chunks the token store does not know (an older index) are
    read from Chroma once."""
    base = lexicon_folder(settings.index_dir, settings.collection)
    if not (added or deleted or rebuilt) and \
            Lexicon.is_current(settings.index_dir, settings.collection, generation, fp):
        return
    base.mkdir(parents=True, exist_ok=True)
    store = TokenStore(base / "tokens.sqlite3")
    try:
        if rebuilt:
            store.delete(sorted(store.ids()))
        store.delete(deleted)
        store.add(added)
        if len(store.ids()) != collection.count():
            fill_token_store(store, collection)
        rebuild_lexicon(settings.index_dir, settings.collection, generation, fp, store)
    finally:
        store.close()


def fill_token_store(store: TokenStore, collection) -> None:
    """Make the token store hold the collection's chunks: rows of chunks that are gone
    are dropped, chunks it lacks are read from Chroma (a page of ids at a time)."""
    known = store.ids()
    ids = set(collection.get(include=[])["ids"])
    store.delete(sorted(known - ids))
    missing = sorted(ids - known)
    for i in range(0, len(missing), 2000):
        got = collection.get(ids=missing[i:i + 2000], include=["documents", "metadatas"])
        store.add([token_row(chunk_from_record(cid, text, m))
                   for cid, text, m in zip(got["ids"], got["documents"], got["metadatas"])])


def _unit_store(settings: Settings) -> UnitStore:
    return UnitStore(settings.index_dir / UNIT_FILE, embedding_name(settings))


def _fill_unit_vectors(collection, store: UnitStore, get_embeddings, rebuilt: bool) -> int:
    """Embed the answer units of indexed chunks that the store lacks; returns how many.
    Cheap when nothing is missing: the store's row count is compared with the collection's."""
    total = collection.count()
    have = store.chunk_ids()
    if len(have) >= total and not rebuilt:
        return 0
    ids = set(collection.get(include=[])["ids"])
    if rebuilt:
        store.keep_only(ids)
    missing = ids - have
    if not missing:
        return 0
    by_source: dict[str, list[str]] = {}
    for cid, _, meta in _records(collection, ["metadatas"]):
        by_source.setdefault(meta["source"], []).append(cid)
    sources = {s for s, cids in by_source.items() if any(c in missing for c in cids)}
    done = 0
    for source in sorted(sources):
        got = collection.get(ids=by_source[source], include=["documents", "metadatas"])
        chunks = sorted((chunk_from_record(cid, text, m)
                         for cid, text, m in zip(got["ids"], got["documents"], got["metadatas"])),
                        key=lambda c: c.start)
        todo = [(c.id, chunk_units(c, chunks[i - 1] if i else None)) for i, c in enumerate(chunks)
                if c.id in missing]
        vecs = iter(get_embeddings().embed_documents([u.reading for _, us in todo for u in us]))
        store.put({cid: {unit_key(u): np.asarray(next(vecs), dtype=np.float32) for u in us} for cid, us in todo})
        done += sum(len(us) for _, us in todo)
    return done


def _set_meta(collection, **values) -> None:
    meta = dict(collection.metadata or {})
    meta.update(values)
    collection.modify(metadata=meta)


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
