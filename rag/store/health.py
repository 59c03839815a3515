"""Index health: is the store we are about to use ours, whole and readable?

- :func:`check_folder`: an index folder holding a ``manifest.json`` that is not
  ours is refused, never overwritten.
- :func:`index_lock`: one ``rag index`` at a time per folder (a second one waits).
- :func:`probe`: counts, lists and searches the collection in a child process,
  so damaged vector (HNSW) files crash the child, not us; :func:`check_store`
  caches a clean result per file signature, so this costs once per change.
- :func:`discard_collection` / :func:`wipe_store`: what a repair removes.
- :func:`readable_path`: a read-only index is answered from a private copy.
- :func:`store_error`: Chroma and OS failures as one line naming the path and the
  variable to change.

>>> is_our_manifest({"name": "app"}), is_our_manifest({"written_by": "rag-citations"})
(False, True)
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from rag.safety import printable
from rag.settings import Settings
from rag.store.diskspace import RESERVE, free_bytes, is_disk_full
from rag.store.errors import DamagedDatabase, ForeignIndexFolder, IndexStoreError, StoreUnavailable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DATABASE = "chroma.sqlite3"
LOCK_FILE = ".rag-index.lock"
HEALTH_FILE = ".rag-health.json"
DIGESTS = "\x00digests"  # key of the per-file digest cache in HEALTH_FILE (no collection name starts so)
WRITTEN_BY = "rag-citations"
PROBE_TIMEOUT = 600.0
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- whose folder is it? ----------------------------------------------------------

def is_our_manifest(data: object) -> bool:
    """Written by us: marked so, or (older versions) carrying our fingerprint keys."""
    return isinstance(data, dict) and (data.get("written_by") == WRITTEN_BY or
                                       {"fingerprint", "chromadb_version", "collection"} <= data.keys())


def check_folder(settings: Settings) -> None:
    """Raise :class:`ForeignIndexFolder` when the index folder holds a
    ``manifest.json`` that we did not write (we would overwrite it)."""
    if settings.store.chroma_url:
        return
    path = settings.store.index_dir / MANIFEST
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not is_our_manifest(data):
        raise ForeignIndexFolder(
            f"{printable(str(settings.store.index_dir))} holds a {MANIFEST} that rag-citations did not write; "
            "refusing to overwrite another program's files: set RAG_INDEX_DIR to an empty or new folder")


# -- one writer at a time ----------------------------------------------------------

WAIT_NOTE_AFTER = 1.0  # seconds an indexer waits for the lock quietly before it says so


def file_lock(path: Path) -> FileLock:
    """An exclusive lock on ``path`` held through flock(2): it dies with its process (a killed
    run never leaves it stale), and a file system without working locks is an error, not a
    silent fallback to a lock file that could outlive its owner."""
    return FileLock(path, mode=0o644, thread_local=False, fallback_to_soft=False, preserve_lock_file=True)


@contextlib.contextmanager
def index_lock(settings: Settings, wait_note=None):
    """Hold an exclusive lock on the index folder: a second ``rag index`` waits for
    the first instead of racing it. With a Chroma server the folder holds the file
    state and the lexicon, so indexers sharing it (on a shared file system with
    working locks) take turns too."""
    folder = settings.store.index_dir
    lock = file_lock(folder / LOCK_FILE)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            # Not at once: a reader checking whether a run is busy holds the lock for an
            # instant, and that is no reason to tell the user we wait for another run.
            lock.acquire(timeout=WAIT_NOTE_AFTER)
        except Timeout:
            msg = f"another `rag index` is updating {printable(str(folder))}; waiting for it to finish"
            log.warning(msg)
            if wait_note:
                wait_note(msg)
            lock.acquire()
    except OSError as exc:
        raise unwritable(settings, exc) from None
    try:
        yield
    finally:
        lock.release()


def index_busy(settings: Settings) -> bool:
    """True when another process holds the index lock right now."""
    path = settings.store.index_dir / LOCK_FILE
    if not path.exists():
        return False
    lock = file_lock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # a read-only folder: nobody can be writing to it
        return False
    lock.release()
    return False


# -- checking the store ------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """What the child process found. ``problem`` is None when the store is whole."""

    exists: bool = False
    count: int = 0
    ids: int = 0
    reachable: int = 0
    metadata: dict = field(default_factory=dict)
    problem: str | None = None
    database_damaged: bool = False  # chroma.sqlite3 itself cannot be read
    no_space: bool = False  # the disk is full: Chroma cannot apply what it holds; nothing is damaged

    @property
    def ok(self) -> bool:
        return self.problem is None


def probe(path: Path, collection: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    """Open, count, list and search ``collection`` of the embedded store at
    ``path`` in a child process (see ``rag/store/probe.py``)."""
    script = Path(__file__).with_name("probe.py")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    try:
        proc = subprocess.run([sys.executable, str(script), str(path), collection], capture_output=True,
                              timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Probe(exists=True, problem=f"checking the index took over {timeout:.0f}s")
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return Probe(exists=True, problem=f"reading its vector files crashed Chroma ({name}): they are damaged")
    try:
        out = json.loads(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return Probe(exists=True, problem=f"the index check failed (exit {proc.returncode}: {tail[0][:200]})")
    error = out.get("error")
    if error and _full_disk(path, error):
        return Probe(exists=True, no_space=True, problem=f"its disk is full ({shorten(error)})")
    if error:
        database = out.get("stage") == "open" and bool(re.search(r"code: (11|26)\b|malformed|not a database",
                                                                   error))
        if database:
            return Probe(exists=True, database_damaged=True,
                         problem=f"its database {DATABASE} is damaged ({shorten(error)})")
        if "readonly" in error or "code: 8)" in error:
            return Probe(exists=True, problem=f"it is read-only ({shorten(error)})")
        return Probe(exists=out.get("exists", True), metadata=out.get("metadata") or {},
                     problem=f"its vector files are damaged or missing ({shorten(error)})")
    p = Probe(exists=out["exists"], count=out.get("count", 0), ids=out.get("ids", 0),
              reachable=out.get("reachable", 0), metadata=out.get("metadata") or {})
    return _judge(p)


def _full_disk(path: Path, error: str) -> bool:
    """A full disk, not damage: Chroma could not apply its rows to its files for lack of room."""

    low = error.lower()
    return is_disk_full(error) or (("compaction" in low or "apply logs" in low) and free_bytes(path) < RESERVE)


def _judge(p: Probe) -> Probe:
    if not p.exists:
        return p
    if p.ids != p.count:
        return Probe(**{**p.__dict__, "problem": f"it lists {p.ids} chunks but counts {p.count}"})
    if p.reachable < p.count:
        return Probe(**{**p.__dict__, "problem": f"{p.count - p.reachable} of {p.count} chunks cannot be "
                                                 "found by vector search (vector files missing or stale)"})
    return p


def inspect_collection(collection) -> Probe:
    """The probe's checks run in this process, for a Chroma server (a crash
    there is the server's, and it reports an error instead)."""
    count = collection.count()
    ids, offset = 0, 0
    while True:
        got = collection.get(include=[], limit=5000, offset=offset)
        ids += len(got["ids"])
        offset += 5000
        if len(got["ids"]) < 5000:
            break
    reachable = 0
    if count:
        first = collection.get(limit=1, include=["embeddings"])
        vector = [float(x) for x in first["embeddings"][0]]
        reachable = len(collection.query(query_embeddings=[vector], n_results=count, include=[])["ids"][0])
    return _judge(Probe(exists=True, count=count, ids=ids, reachable=reachable,
                        metadata=dict(collection.metadata or {})))


# Process-wide memory of clean probes for read-only folders (we cannot write the cache there).
_CLEAN: dict[str, list] = {}


def signature(path: Path) -> list:
    """What the vector files hold (name, size, BLAKE2 digest) and the database's
    size and format header. Chroma may rewrite these files, identically, when it
    opens them, so times alone cannot tell a change; a digest costs ~0.2 s per
    100 MB, far less than a probe, and is computed again only for files whose
    size, times or inode changed since it was last computed (:data:`DIGESTS`).
    (Damage elsewhere in the database raises an error when opened, which
    :func:`open_damage` handles; only vector files crash.)"""
    out = []
    db = path / DATABASE
    try:
        with open(db, "rb") as f:
            out.append([DATABASE, db.stat().st_size, hashlib.blake2b(f.read(24)).hexdigest()])
    except OSError:
        pass
    known = _read_cache(path).get(DIGESTS, {})
    fresh = {}
    # length.bin is left out: Chroma rewrites it differently on every open of a small
    # collection, and garbling it (measured) neither crashes nor loses vectors.
    for p in sorted(x for d in _segment_dirs(path) for x in d.iterdir() if x.is_file() and x.name != "length.bin"):
        rel = p.relative_to(path).as_posix()
        try:
            st = p.stat()
            stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            if known.get(rel, [None])[:-1] == stamp:
                digest = known[rel][-1]
            else:
                h = hashlib.blake2b()
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                digest = h.hexdigest()
        except OSError:
            continue
        fresh[rel] = stamp + [digest]
        out.append([rel, stamp[0], digest])
    if fresh != known:
        _write_cache(path, {**_read_cache(path), DIGESTS: fresh})
    return out


def check_store(settings: Settings, path: Path | None = None, *, force: bool = False) -> Probe:
    """:func:`probe` the embedded store, unless its files are unchanged since
    the last clean probe (recorded in ``.rag-health.json``)."""
    path = Path(path or settings.store.index_dir)
    if not (path / DATABASE).exists():
        return Probe()
    sig = signature(path)
    key = f"{path}\x00{settings.store.collection}"
    if not force and (_CLEAN.get(key) == sig or _read_cache(path).get(settings.store.collection) == sig):
        return Probe(exists=True, problem=None)
    t0 = time.perf_counter()
    result = probe(path, settings.store.collection)
    log.info("index check of %s: %s (%.2fs)", printable(str(path)), result.problem or "clean",
             time.perf_counter() - t0)
    if result.ok:
        remember_clean(settings, path)
    return result


def remember_clean(settings: Settings, path: Path | None = None) -> None:
    """Record the current file signature as checked and clean."""
    path = Path(path or settings.store.index_dir)
    sig = signature(path)
    _CLEAN[f"{path}\x00{settings.store.collection}"] = sig
    cache = _read_cache(path)
    cache[settings.store.collection] = sig
    _write_cache(path, cache)


def _write_cache(path: Path, cache: dict) -> None:
    try:
        tmp = path / (HEALTH_FILE + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, path / HEALTH_FILE)
    except OSError:
        pass  # read-only folder: the in-process memory still helps


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads((path / HEALTH_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# -- repairs -----------------------------------------------------------------------

def _segment_dirs(path: Path) -> list[Path]:
    try:
        return [d for d in path.iterdir() if d.is_dir() and _SEGMENT_DIR.match(d.name)]
    except OSError:
        return []


def _collection_segment_dirs(path: Path, collection: str) -> list[Path]:
    """Vector segment folders of one collection, read from Chroma's database
    directly (read-only), so that no HNSW file is loaded."""
    try:
        con = sqlite3.connect(f"file:{path / DATABASE}?mode=ro", uri=True, timeout=5)
        try:
            rows = con.execute("SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                               "WHERE c.name = ?", (collection,)).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []
    return [path / r[0] for r in rows if (path / r[0]).is_dir()]


def discard_collection(client, settings: Settings) -> None:
    """Delete our collection and its vector files (Chroma leaves the folder of
    a deleted collection behind; a damaged one must not be read again)."""
    store = settings.store
    dirs = [] if store.chroma_url else _collection_segment_dirs(store.index_dir, store.collection)
    try:
        client.delete_collection(settings.store.collection)
    except Exception as exc:  # already gone
        if "does not exist" not in str(exc) and type(exc).__name__ != "NotFoundError":
            raise
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def wipe_store(settings: Settings) -> list[str]:
    """Remove Chroma's own files (database, journals, vector folders) from the
    index folder when its database is damaged; everything else there
    (manifest, feedback, user files) stays. Returns what was removed."""
    path = settings.store.index_dir
    removed = []
    for p in [path / DATABASE, path / (DATABASE + "-wal"), path / (DATABASE + "-shm"),
              path / (DATABASE + "-journal"), path / HEALTH_FILE, *_segment_dirs(path)]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
        else:
            continue
        removed.append(p.name)
    forget_client(path)
    return removed


def forget_client(path: Path) -> None:
    """Drop chromadb's in-process client for ``path`` (it caches one per
    folder, and would go on serving the files we just removed)."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:  # pragma: no cover
        return
    key = str(path)
    system = SharedSystemClient._identifier_to_system.pop(key, None)
    SharedSystemClient._identifier_to_refcount.pop(key, None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()


# -- read-only folders -------------------------------------------------------------

_COPIES: dict[str, Path] = {}


def writable(folder: Path) -> bool:
    """Can we write the index folder and its database (as Chroma must, even to read)?"""
    db = folder / DATABASE
    return os.access(folder, os.W_OK | os.X_OK) and (not db.exists() or os.access(db, os.W_OK))


def readable_path(settings: Settings) -> tuple[Path, str | None]:
    """(folder to open, note): the index folder itself, or for a read-only one a
    private copy in a temporary folder (Chroma cannot open a database it may
    not write). The copy is removed when the process exits."""
    folder = settings.store.index_dir
    if not (folder / DATABASE).exists() or writable(folder):
        return folder, None
    key = str(folder)
    if key not in _COPIES:
        tmp = Path(tempfile.mkdtemp(prefix="rag-readonly-index-"))
        atexit.register(shutil.rmtree, tmp, True)
        dest = tmp / "index"
        try:
            shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(LOCK_FILE))
        except OSError as exc:
            raise IndexStoreError(f"the index folder {printable(key)} is read-only and could not be copied "
                                  f"({exc.strerror or exc}); make it writable or set RAG_INDEX_DIR") from None
        _COPIES[key] = dest
        log.warning("index folder %s is read-only: answering from a private copy", printable(key))
    return _COPIES[key], f"the index folder {printable(key)} is read-only: answering from a private copy"


# -- errors ------------------------------------------------------------------------

def unwritable(settings: Settings, exc: OSError) -> IndexStoreError:
    reason = exc.strerror or str(exc)
    return IndexStoreError(f"cannot write the index folder {printable(str(settings.store.index_dir))} ({reason}); "
                           "make it writable or set RAG_INDEX_DIR to a folder you can write")


def store_error(exc: BaseException, settings: Settings) -> IndexStoreError:
    """A one-line error for a failure of the vector store, naming where and what to do."""
    text = f"{type(exc).__name__}: {exc}"
    if settings.store.chroma_url:
        url = settings.store.chroma_url
        if "Timeout" in type(exc).__name__ or "timed out" in str(exc).lower():
            return StoreUnavailable(f"the Chroma server at {url} did not answer within "
                                    f"{settings.store.chroma_timeout:g}s ({shorten(text)}); is it overloaded or "
                                    "stopped? (RAG_CHROMA_TIMEOUT sets the limit, RAG_CHROMA_URL the server)")
        return StoreUnavailable(f"lost the Chroma server at {url} ({shorten(text)}); is it still running? "
                                "Restart it or check RAG_CHROMA_URL")
    where = printable(str(settings.store.index_dir))
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return unwritable(settings, exc)
    low = str(exc).lower()
    if re.search(r"code: ?(11|26)\b", low) or "malformed" in low or "not a database" in low:
        err = DamagedDatabase(f"the index database {where}/{DATABASE} is damaged ({shorten(text)}); "
                              "run `rag index --rebuild` to rebuild it, or set RAG_INDEX_DIR to another folder")
        err.detail = f"its database {DATABASE} is damaged ({shorten(text)})"
        return err
    if "readonly" in low or "read-only" in low or "code: 8)" in low:
        return IndexStoreError(f"the index folder {where} is read-only ({shorten(text)}); "
                               "make it writable or set RAG_INDEX_DIR to a folder you can write")
    if "code: 14" in low or "unable to open" in low:
        return IndexStoreError(f"cannot open the index database in {where} ({shorten(text)}); check that the "
                               "folder exists and is writable, or set RAG_INDEX_DIR")
    return IndexStoreError(f"the index at {where} cannot be used ({shorten(text)}); "
                           "run `rag index --rebuild`, or set RAG_INDEX_DIR to another folder")


def shorten(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
