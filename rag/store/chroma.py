"""The one owner of Chroma: the client (embedded folder or server), the
collection, and how a :class:`~rag.objects.Chunk` is stored as a record.

Ingest writes through it and retrieval reads through it; neither imports the
other.

>>> client = make_chroma_client(Settings(index_dir="/tmp/ix"))  # doctest: +SKIP
>>> open_collection(client, Settings(index_dir="/tmp/ix"), create=False).count()  # doctest: +SKIP
31
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from urllib.parse import urlparse

from rag.extras import ProviderError
from rag.objects import Block, Chunk
from rag.settings import Settings
from rag.store.health import forget_client, readable_path, store_error, unwritable, writable

log = logging.getLogger(__name__)


def make_chroma_client(settings: Settings, *, write: bool = False):
    """A Chroma client: ``HttpClient`` when RAG_CHROMA_URL is set, else a
    ``PersistentClient`` on RAG_INDEX_DIR. Telemetry is always off.

    Every request to a server is bounded by RAG_CHROMA_TIMEOUT. A read-only
    index folder is opened as a private copy (readers only; ``write=True``
    raises an error naming the folder instead). Failures raise errors naming
    the path or URL and the variable to change.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise ProviderError("Chroma is not installed: pip install chromadb==1.5.9") from None

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store.chroma_url:
        u = urlparse(settings.store.chroma_url)
        port = u.port or (443 if u.scheme == "https" else 8000)
        try:
            # chromadb's own session has no timeout (timeout=None, fixed in its code) and
            # talks to the server while it is built: check the server with a bounded request first.
            _heartbeat(settings.store.chroma_url, settings.store.chroma_timeout)
            client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https",
                                         settings=chroma_settings)
            _bound_session(client, settings.store.chroma_timeout)
            client.heartbeat()
        except Exception as exc:
            raise ProviderError(
                f"cannot reach the Chroma server at {settings.store.chroma_url} ({type(exc).__name__}: {exc}); "
                "start one with `chroma run --path DIR --host 127.0.0.1 --port 8000` or unset RAG_CHROMA_URL "
                f"(requests wait at most RAG_CHROMA_TIMEOUT={settings.store.chroma_timeout:g}s)"
            ) from None
        return client
    path = settings.store.index_dir
    if write:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unwritable(settings, exc) from None
        if not writable(path):
            raise unwritable(settings, PermissionError(13, "not writable"))
    else:
        path, _ = readable_path(settings)
        if not path.exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise unwritable(settings, exc) from None
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        forget_client(path)  # chromadb keeps the half-built client cached; the next try needs a fresh one
        raise store_error(exc, settings) from None


def _heartbeat(url: str, timeout: float) -> None:
    import urllib.request

    with urllib.request.urlopen(url.rstrip("/") + "/api/v2/heartbeat", timeout=timeout) as r:
        r.read(1024)


def _bound_session(client, timeout: float) -> None:
    """Give chromadb's HTTP session a timeout (its constructor hard-codes none)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is None:  # pragma: no cover - a chromadb upgrade moved it; the heartbeat above still bounds start-up
        log.warning("could not set a timeout on the Chroma client; a frozen server may hang requests")
        return
    session.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))


def open_collection(client, settings: Settings, *, create: bool, fingerprint: str | None = None):
    """The raw Chroma collection, or None when it does not exist and create is False.
    A new collection records ``fingerprint`` (what its vectors depend on, see
    :func:`rag.ingest.indexing.fingerprint`). Any other failure (server gone,
    damaged database) raises an error saying so."""
    try:
        return client.get_collection(settings.store.collection)
    except Exception as exc:
        if not _not_found(exc):
            raise store_error(exc, settings) from None
        if not create:
            return None
    if fingerprint is None:
        raise ValueError("open_collection(create=True) needs the index fingerprint")
    try:
        return client.create_collection(
            settings.store.collection,
            metadata={"rag_fingerprint": fingerprint, "rag_generation": uuid.uuid4().hex},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
    except Exception as exc:
        # Two first runs against one server: the other one created it a moment ago.
        if "already exists" in str(exc):
            return client.get_collection(settings.store.collection)
        raise store_error(exc, settings) from None


def _not_found(exc: Exception) -> bool:
    # chromadb raises NotFoundError (older versions: ValueError "does not exist")
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


def _store_may_exist(settings: Settings) -> bool:
    """False when there is surely no index: no server and no database file
    (checked first so that asking never creates an empty index folder)."""
    return bool(settings.store.chroma_url) or (settings.store.index_dir / "chroma.sqlite3").exists()


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
    return sorted({meta["source"] for _, _, meta in records(collection, ["metadatas"])})


def records(collection, include: list[str], page: int = 5000):
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
    for cid, text, meta in records(collection, ["documents", "metadatas"]):
        yield chunk_from_record(cid, text, meta)


def stored_chunks(collection) -> list[Chunk]:
    """Every chunk in the collection, in file order."""
    return sorted(iter_chunks(collection), key=lambda c: (c.source, c.start))


def lexicon_diff(store, collection, deleted=(), added=()) -> tuple[list, list[str]]:
    """What the token store (with ``deleted`` and ``added``, changes about to be
    committed) lacks and holds beyond the collection: (token rows of the missing
    chunks, read from Chroma a page of ids at a time; ids of chunks that are gone)."""
    from rag.store.lexicon_writer import token_row

    known = (store.ids() - set(deleted)) | {r[0] for r in added}
    ids = set(collection.get(include=[])["ids"])
    missing = sorted(ids - known)
    rows = []
    for i in range(0, len(missing), 2000):
        got = collection.get(ids=missing[i:i + 2000], include=["documents", "metadatas"])
        rows += [token_row(chunk_from_record(cid, text, m))
                 for cid, text, m in zip(got["ids"], got["documents"], got["metadatas"])]
    return rows, sorted(known - ids)


def blocks_to_meta(chunk: Chunk) -> str:
    """A chunk's blocks as compact JSON (offsets relative to the chunk) for Chroma metadata."""
    paths: list[tuple[str, ...]] = []
    rows = []
    for b in chunk.blocks:
        if b.headings not in paths:
            paths.append(b.headings)
        rows.append([b.kind, b.start - chunk.start, b.end - chunk.start, b.level, paths.index(b.headings)])
    return json.dumps({"p": [list(p) for p in paths], "b": rows}, ensure_ascii=False, separators=(",", ":"))


def blocks_from_meta(meta: str | None, chunk_start: int) -> tuple[Block, ...]:
    """Inverse of :func:`blocks_to_meta`; ``()`` for chunks stored without blocks."""
    if not meta:
        return ()
    try:
        data = json.loads(meta)
        paths = [tuple(p) for p in data["p"]]
        return tuple(Block(k, chunk_start + s, chunk_start + e, lvl, paths[pi]) for k, s, e, lvl, pi in data["b"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ()


