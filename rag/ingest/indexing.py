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
(:mod:`rag.ingest.filestate`; the record is trusted only while the store's generation
stamp matches it), and the embedding loop overlaps reading, embedding and
writing (:mod:`rag.ingest.embedloop`).

>>> report = build_index(Settings(corpus_dir="seeds", index_dir="/tmp/ix"))  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
import uuid

from datetime import datetime, timezone

from rag.embeddings import embedding_name, make_embeddings
from rag.ingest import filestate
from rag.ingest.chunking import CHUNKER_VERSION
from rag.ingest.loading import SUPPORTED_SUFFIXES, CorpusError, corpus_files, file_of, reader_signature
from rag.ingest.progress import IndexProgress
from rag.ingest.progress import of as progress_of
from rag.objects import IndexReport, Skipped
from rag.safety import printable
from rag.settings import Settings
from rag.store import (RESERVE, WRITTEN_BY, NoSpace, Room, check_folder, discard_collection, estimate_bytes, free_bytes,
                       full_disk_error, index_lock, is_disk_full, lexicon_diff, open_collection, records,
                       remember_clean, repair_store)

# numpy, the embedding loop (rag.ingest.embedloop), the lexicon and the unit store are imported where
# they are used: a `rag index` that finds nothing changed needs none of them.

log = logging.getLogger(__name__)

ADD_BATCH = 128  # chunks per embedding call and per write; the embedder batches them by token length
MANIFEST = "manifest.json"


def fingerprint(settings: Settings) -> str:
    """What the vectors depend on; a change forces a full rebuild."""
    parts = {
        "embedding": embedding_name(settings),
        "chunk_size": settings.ingest.chunk_size,
        "chunk_overlap": settings.ingest.chunk_overlap,
        "chunker": CHUNKER_VERSION,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def build_index(settings: Settings | None = None, *, progress: bool | IndexProgress | None = None,
                embeddings=None, rebuild: bool = False, full_check: bool = False) -> IndexReport:
    """Bring the index in line with the corpus; return what was done.

    The store is checked first (:mod:`rag.store.health`): a damaged one is repaired
    or rebuilt and the report says so; ``rebuild=True`` always rebuilds. One
    run at a time per index folder (a second one waits). Files whose size and
    times match the last run's record are not read (:mod:`rag.ingest.filestate`);
    ``full_check=True`` reads and hashes every file. ``progress``: True shows a
    bar, False nothing, None a bar on a terminal, an :class:`~rag.ingest.progress.IndexProgress`
    what it is set up for (lines in a log, see ``rag index``).

    >>> print(build_index().summary())  # doctest: +SKIP
    Index: .../index
      files added: 5, updated: 0, removed: 0, unchanged: 0, skipped: 0
    """
    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    scan_started = filestate.now()
    if not settings.ingest.corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {printable(str(settings.ingest.corpus_dir))} (set RAG_CORPUS_DIR)")
    seen: dict = {}
    paths, unsupported = corpus_files(settings.ingest.corpus_dir, seen)
    if not paths:
        raise CorpusError(f"no indexable files in {settings.ingest.corpus_dir} "
                          f"(supported: {' '.join(SUPPORTED_SUFFIXES)})")
    files = filestate.stat_files(settings.ingest.corpus_dir, paths, seen)

    check_folder(settings)
    shown = progress_of(progress)
    try:
        with index_lock(settings):
            if not (rebuild or full_check):
                same = filestate.unchanged_report(settings, files, fingerprint(settings), reader_signature(settings))
                if same is not None:  # nothing to do, and Chroma was not even opened
                    skipped = sorted(list(unsupported) + [Skipped(s, r) for s, r in same.skipped.items()]
                                     + [Skipped(s, r) for s, r in same.notes], key=lambda s: s.source)
                    if [(s.source, s.reason) for s in skipped] != same.last_skipped:  # e.g. an unsupported file added
                        filestate.remember_skipped(settings, [(s.source, s.reason) for s in skipped])
                    return IndexReport(location=settings.index_location, files_added=[], files_updated=[],
                                       files_removed=[], files_unchanged=same.files, skipped=skipped,
                                       chunks_embedded=0, chunks_removed=0,
                                       chunks_total=same.chunks_total, rebuilt=False, rebuild_reason=None,
                                       seconds=time.perf_counter() - t0, warnings=[])
            room = None if settings.store.chroma_url else Room(settings.store.index_dir)
            try:
                return _sync(settings, files, unsupported, t0, scan_started, shown, embeddings, rebuild,
                             full_check, room)
            except NoSpace:
                raise
            except Exception as exc:  # a disk that filled anyway (another program): say so, not "InternalError"
                if room is not None and (is_disk_full(exc) or (_compaction_failed(exc) and
                                                               free_bytes(settings.store.index_dir) < RESERVE)):
                    raise full_disk_error(settings.store.index_dir, exc) from None
                raise
    finally:
        shown.close()


def _compaction_failed(exc: Exception) -> bool:
    return "compaction" in str(exc).lower() or "apply logs" in str(exc).lower()


def _sync(settings: Settings, files: list[filestate.FileStat], unsupported: list[Skipped], t0: float,
          scan_started: float, progress, embeddings, rebuild: bool, full_check: bool,
          room: Room | None = None) -> IndexReport:
    from rag.ingest.embedloop import ingest

    everything = estimate_bytes((f.source, f.size) for f in files)
    if room is not None:
        # Before anything is touched: a rebuild (requested or forced by damage) writes every file.
        first = rebuild or not (settings.store.index_dir / "chroma.sqlite3").exists()
        room.need(everything if first else 0, "index the corpus" if first else "write to the index")
    client, repair_reason, notes = repair_store(settings, rebuild=rebuild)
    collection = open_collection(client, settings, create=True, fingerprint=fingerprint(settings))
    fp = fingerprint(settings)
    rebuilt, reason = repair_reason is not None, repair_reason
    old_fp = (collection.metadata or {}).get("rag_fingerprint")
    if old_fp != fp and room is not None:
        room.need(everything, "rebuild the index for its new settings (the old one is kept until then)")
    if old_fp != fp:
        rebuilt = True
        reason = f"index settings changed (fingerprint {old_fp} -> {fp})"
        log.warning("rebuilding index: %s", reason)
        discard_collection(client, settings)
        collection = open_collection(client, settings, create=True, fingerprint=fingerprint(settings))
    incomplete = (collection.metadata or {}).get("rag_complete") is False
    if incomplete:
        notes.append("the previous `rag index` run did not finish; this run completed it")
    if rebuilt:
        filestate.forget_state(settings)

    generation = (collection.metadata or {}).get("rag_generation")
    readers = reader_signature(settings)
    plan = filestate.plan_changes(settings, files, generation, fp, full_check=full_check or incomplete,
                                  readers=readers)
    if not plan.trusted:
        log.info("reading every file: %s", plan.reason)
    stored, removed = _stored_ids(settings, collection, plan, generation)
    if room is not None and plan.changed:
        room.need(estimate_bytes((f.source, f.size) for f in plan.changed), "index the changed files")

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
    # Each chunk is embedded once: answer units get their vectors when a question first reads
    # them (Retriever.unit_vectors keeps them in the unit store), so indexing runs at the
    # embedder's own speed.
    result = ingest(collection, plan.changed, stored, settings, get_embeddings, recorded=plan.recorded,
                    window=ADD_BATCH, progress=progress, before_first_write=mark_incomplete,
                    before_write=room.chunks if room is not None else None)
    known_docs = len(plan.unchanged) - len(plan.unchanged_skipped)
    if result.documents + known_docs == 0:
        raise CorpusError(f"no indexable files in {settings.ingest.corpus_dir} (every file was skipped: "
                          f"{'; '.join(f'{s.source}: {s.reason}' for s in result.skipped[:3])})")
    to_delete = sorted(set(result.stale_ids) | {i for s in removed for i in stored.get(s, ())})
    units = _unit_store(settings)
    if to_delete:
        progress.set_phase("removing old chunks")
        mark_incomplete()
        # After adding, so an interruption never leaves a file with no chunks at all.
        for i in range(0, len(to_delete), 5000):
            collection.delete(ids=to_delete[i:i + 5000])
        units.forget(to_delete)
    if rebuilt:  # vectors of chunks the new collection does not hold are never read again
        units.keep_only(set(collection.get(include=[])["ids"]))
    units.close()
    wrote = bool(result.chunks_embedded or to_delete or rebuilt or incomplete)
    if wrote:
        generation = uuid.uuid4().hex
    progress.set_phase("building the keyword index")
    # The lexicon first, committed for the new generation; then the switch readers watch
    # (the generation stamp). Until then they keep using the previous commit.
    _update_lexicon(settings, collection, result.token_rows, to_delete, rebuilt, generation or "", fp,
                    check_ids=incomplete or not plan.trusted)
    if wrote:
        _set_meta(collection, rag_fingerprint=fp, rag_generation=generation, rag_complete=True)

    skipped = list(unsupported) + [Skipped(s, r) for s, r in plan.unchanged_skipped.items()] \
        + [Skipped(src, why) for src, why in plan.unchanged_notes] + result.skipped
    skipped.sort(key=lambda s: s.source)
    report = IndexReport(
        location=settings.index_location, files_added=sorted(result.added),
        files_updated=sorted(result.updated), files_removed=sorted([s for s in removed if stored.get(s)]
                                                                   + result.removed),
        files_unchanged=result.unchanged + known_docs,
        skipped=skipped, chunks_embedded=result.chunks_embedded,
        chunks_removed=len(to_delete),
        chunks_total=collection.count(), rebuilt=rebuilt, rebuild_reason=reason,
        seconds=time.perf_counter() - t0, warnings=notes,
    )
    _write_manifest(settings, fp, report)
    if wrote and not settings.store.chroma_url:
        # What we just wrote needs no child-process check next time. (Nothing written:
        # the store was checked at the start of this run, its signature is the same.)
        remember_clean(settings)
    # Last: the record (with its snapshot of the index files) is what the next run trusts.
    filestate.save_state(settings, generation, fp, result.recorded, scan_started, removed=removed,
                         replace=not plan.trusted, chunks_total=report.chunks_total, readers=readers,
                         skipped=[(s.source, s.reason) for s in skipped])
    log.info("indexed: %s", report.summary().replace("\n", "; "))
    return report


def _stored_ids(settings: Settings, collection, plan: filestate.ChangePlan,
                generation: str | None) -> tuple[dict[str, set[str]], list[str]]:
    """Chunk ids per source already in the store, for the files to be read and
    the files that are gone; and the sources that are gone. Without a trusted
    record that is every source in the store (ids and metadata only, no texts)."""
    stored: dict[str, set[str]] = {}
    # Keyed by file: a mail's chunks and its attachments' (mail.eml#report.pdf) are one file's.
    if not plan.trusted:
        for cid, _, meta in records(collection, ["metadatas"]):
            stored.setdefault(file_of(meta["source"]), set()).add(cid)
        present = {f.source for f in plan.changed}
        return stored, sorted(s for s in stored if s not in present)
    files = [f.source for f in plan.changed] + list(plan.removed)
    wanted = [s for f in files for s in (f, *(plan.recorded[f].parts if f in plan.recorded else ()))]
    known = _stored_in_lexicon(settings, generation, wanted)
    if known is not None:
        for source, ids in known.items():
            stored.setdefault(file_of(source), set()).update(ids)
        return stored, list(plan.removed)
    for i in range(0, len(wanted), 200):
        got = collection.get(where={"source": {"$in": wanted[i:i + 200]}}, include=["metadatas"])
        for cid, meta in zip(got["ids"], got["metadatas"]):
            stored.setdefault(file_of(meta["source"]), set()).add(cid)
    return stored, list(plan.removed)


def _stored_in_lexicon(settings: Settings, generation: str | None, sources: list[str]) -> dict | None:
    """Chunk ids per source from the lexicon's token store, when its last commit was
    for this generation (then it lists exactly the collection's chunks): an index
    lookup per file instead of a metadata scan in Chroma. None otherwise."""
    from rag.store import lexicon_folder as folder
    from rag.store import TokenStore

    path = folder(settings.store.index_dir, settings.store.collection) / "tokens.sqlite3"
    if not generation or not path.exists():
        return None
    try:
        store = TokenStore(path)
    except sqlite3.Error:
        return None
    try:
        if (store.manifest() or {}).get("generation") != generation:
            return None
        return store.ids_by_source(sources)
    except sqlite3.Error:
        return None
    finally:
        store.close()


def _update_lexicon(settings: Settings, collection, added: list, deleted: list[str], rebuilt: bool,
                    generation: str, fp: str, *, check_ids: bool = False) -> None:
    """Bring the lexicon (BM25, term statistics, identifiers; see rag/store/lexicon.py) in line
    with the collection: one commit of what changed. With ``check_ids`` (a run that
    recovers from an interrupted one), or when the counts disagree, the chunk ids are
    compared with the collection's and what differs is read from Chroma."""
    from rag.store import Lexicon
    from rag.store import lexicon_folder
    from rag.store import TokenStore, commit_lexicon, writer_lock

    base = lexicon_folder(settings.store.index_dir, settings.store.collection)
    if not (added or deleted or rebuilt or check_ids) and \
            Lexicon.is_current(settings.store.index_dir, settings.store.collection, generation, fp):
        return
    with writer_lock(base):
        store = TokenStore(base / "tokens.sqlite3")
        try:
            deleted, added = list(deleted), list(added)
            if check_ids and not rebuilt:
                missing, extra = lexicon_diff(store, collection, deleted, added)
                deleted, added = deleted + extra, added + missing
            commit_lexicon(base, store, generation, fp, deleted=deleted, added=added, reset=rebuilt)
            if store.count() != collection.count():  # an older lexicon, or one an interrupted run left
                missing, extra = lexicon_diff(store, collection)
                commit_lexicon(base, store, generation, fp, deleted=extra, added=missing)
        finally:
            store.close()


def _unit_store(settings: Settings):
    from rag.store import UNIT_FILE, UnitStore

    return UnitStore(settings.store.index_dir / UNIT_FILE, embedding_name(settings))


def _set_meta(collection, **values) -> None:
    meta = dict(collection.metadata or {})
    meta.update(values)
    collection.modify(metadata=meta)


def _write_manifest(settings: Settings, fp: str, report: IndexReport) -> None:
    """Human-readable record beside an embedded index; Chroma databases written
    by one version may not open with another, so the version is recorded."""
    if settings.store.chroma_url:
        return
    import chromadb

    manifest = {
        "written_by": WRITTEN_BY,  # lets check_folder tell our manifest from another program's
        "fingerprint": fp,
        "embedding": embedding_name(settings),
        "chunk_size": settings.ingest.chunk_size,
        "chunk_overlap": settings.ingest.chunk_overlap,
        "chunker": CHUNKER_VERSION,
        "chromadb_version": chromadb.__version__,
        "collection": settings.store.collection,
        "corpus_dir": str(settings.ingest.corpus_dir),
        "chunks_total": report.chunks_total,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    # Written aside, then renamed: a full disk never leaves a truncated manifest (which
    # check_folder would take for another program's).
    path = settings.store.index_dir / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_manifest(settings: Settings) -> str | None:
    """A warning when the embedded index was written by another Chroma version."""
    path = settings.store.index_dir / MANIFEST
    if settings.store.chroma_url or not path.exists():
        return None
    import chromadb

    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("chromadb_version")
    except (OSError, ValueError):
        return None
    if recorded and recorded != chromadb.__version__:
        return (f"index at {settings.store.index_dir} was written by chromadb {recorded}, this is "
                f"{chromadb.__version__}; if it fails to open, delete the folder and run `rag index`")
    return None
