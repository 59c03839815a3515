"""Which corpus files changed since the last index run, decided from file
sizes and times before reading anything (as git does with its index).

Each run records, per file, ``(size, mtime_ns, ctime_ns, sha256 of its text)``
(and a mail's attachments, and what of the file was left out) in a small SQLite
database beside the index, stamped with the collection's generation and
fingerprint, what this machine can read (OCR or not), and a snapshot of the
index files' own stat. The next run trusts the record only when all still match
(nobody else changed the store, OCR was not installed or removed meanwhile),
and then reads only files whose size or times differ; a file that
was merely touched is read and hashed but not re-chunked. A run writes only the
rows of the files it read (one transaction: a crash leaves the previous record).

When no corpus file changed and the index files are exactly as the last run left
them, :func:`unchanged_report` says so without opening Chroma at all.

Limits (documented in README): a file edited without changing its size,
mtime or ctime is not noticed (ctime cannot be set back by ``touch``, so this
takes clock tricks or a filesystem without ctime; on Windows ctime is the
creation time). ``rag index --full-check`` reads and hashes every file.

>>> FileStat("a.txt", "corpus/a.txt", 10, 1, 1).key
(10, 1, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from rag.settings import Settings

log = logging.getLogger(__name__)

STATE_VERSION = 2
# Files modified this close to the scan could change again within the same
# timestamp tick: they are recorded as "re-read next time" (git's racy-clean rule).
RACY_SECONDS = 2.0
# Files in the index folder that are not the index's content (the snapshot ignores them).
_NOT_CONTENT = (".rag-index.lock", ".rag-health.json", "manifest.json")
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # Chroma's vector files


@dataclass(frozen=True)
class FileStat:
    """A corpus file as seen by ``stat()``; ``source`` is relative to the corpus root."""

    source: str
    path: str  # as given to stat()
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def key(self) -> tuple[int, int, int]:
        return self.size, self.mtime_ns, self.ctime_ns


@dataclass(frozen=True)
class Recorded:
    """What the last run saw of one file: its stat key, the sha256 of its
    text, why it was skipped ("" when it was indexed), the sources of the
    documents inside it (a mail's attachments: ``mail.eml#report.pdf``), and
    what of it was left out (source, reason): an attachment, scanned pages."""

    key: tuple[int, int, int]
    sha256: str
    skipped: str = ""
    parts: tuple[str, ...] = ()
    notes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ChangePlan:
    """Files to read now, files known unchanged without reading, and files gone.

    ``trusted`` is False when there was no usable record (first run, another
    process changed the store, ``--full-check``): then every file is read and
    ``recorded`` is empty. ``recorded`` holds the record of the changed and the
    removed files only; ``unchanged_skipped`` the reasons of unchanged files that
    were skipped, ``unchanged_notes`` what of unchanged files was left out.
    """

    trusted: bool
    reason: str
    changed: list[FileStat] = field(default_factory=list)
    unchanged: list[FileStat] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recorded: dict[str, Recorded] = field(default_factory=dict)
    unchanged_skipped: dict[str, str] = field(default_factory=dict)
    unchanged_notes: list[tuple[str, str]] = field(default_factory=list)


def stat_files(root: Path, sources: list[str], known: dict | None = None) -> list[FileStat]:
    """``stat()`` every file (``sources`` relative to ``root``; files that
    vanished since listing are left out); ``known`` stat results are used as they are."""
    out = []
    base = os.fspath(root)
    known = known or {}
    for rel in sources:
        path = os.path.join(base, rel)
        try:
            st = known.get(rel) or os.stat(path)
        except OSError:
            continue
        out.append(FileStat(rel, path, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return out


def state_path(settings: Settings) -> Path:
    """Where the record lives: beside the embedded index; for a Chroma server,
    in RAG_INDEX_DIR under a name derived from the server URL and collection."""
    if settings.store.chroma_url:
        tag = hashlib.sha256(f"{settings.store.chroma_url}\x00{settings.store.collection}".encode()).hexdigest()[:12]
        return settings.store.index_dir / f"file_state.server-{tag}.sqlite3"
    return settings.store.index_dir / f"file_state.{settings.store.collection}.sqlite3"


def _expected(settings: Settings, fingerprint: str, readers: str) -> dict:
    return {"version": STATE_VERSION, "fingerprint": fingerprint, "corpus_dir": str(settings.ingest.corpus_dir.resolve()),
            "collection": settings.store.collection, "location": settings.index_location, "readers": readers}


def _open(settings: Settings, *, create: bool = False) -> sqlite3.Connection | None:
    path = state_path(settings)
    if not create and not path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30)
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                   "ctime_ns INTEGER, sha256 TEXT, skipped TEXT, parts TEXT DEFAULT '[]', notes TEXT DEFAULT '[]')")
        columns = {r[1] for r in db.execute("PRAGMA table_info(files)")}
        for name in ("parts", "notes"):  # a record written before mails had attachments
            if name not in columns:
                db.execute(f"ALTER TABLE files ADD COLUMN {name} TEXT DEFAULT '[]'")
    return db


def _notes(value: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in json.loads(value)) if value and value != "[]" else ()


def _recorded(size, mtime, ctime, sha, why, parts, notes) -> Recorded:
    return Recorded((size, mtime, ctime), sha, why, tuple(json.loads(parts)) if parts and parts != "[]" else (),
                    _notes(notes))


def _meta(db: sqlite3.Connection) -> dict:
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


def _trusted_meta(settings: Settings, db: sqlite3.Connection | None, generation: str | None,
                  fingerprint: str, readers: str) -> tuple[dict | None, str]:
    if db is None:
        return None, "no record of a previous run"
    meta = _meta(db)
    if not meta:
        return None, "no record of a previous run"
    expected = {**_expected(settings, fingerprint, readers), "generation": generation}
    stale = [k for k, v in expected.items() if meta.get(k) != v]
    if stale or generation is None:
        # Most often "generation": another process (or an interrupted run of
        # another corpus) changed the store since this record was written.
        return None, f"record does not match the store ({', '.join(stale) or 'no generation'})"
    return meta, ""


def plan_changes(settings: Settings, files: list[FileStat], generation: str | None, fingerprint: str,
                 *, full_check: bool = False, readers: str = "") -> ChangePlan:
    """Split ``files`` into changed and unchanged using the last run's record.
    ``readers`` says what this run can read (OCR or not): when it differs from
    the last run's, every file is read again."""
    try:
        db = _open(settings) or _import_json(settings)
    except sqlite3.Error as exc:
        log.warning("ignoring unreadable file state %s: %s", state_path(settings), exc)
        return ChangePlan(trusted=False, reason="record unreadable", changed=list(files))
    try:
        meta, reason = _trusted_meta(settings, db, generation, fingerprint, readers)
        if full_check:
            meta, reason = None, "full check requested"
        if meta is None:
            return ChangePlan(trusted=False, reason=reason, changed=list(files))
        keys = {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in
                db.execute("SELECT source, size, mtime_ns, ctime_ns, skipped, notes FROM files")}
        changed, unchanged, skipped, notes = [], [], {}, []
        for f in files:
            r = keys.get(f.source)
            if r is not None and r[:3] == f.key:
                unchanged.append(f)
                if r[3]:
                    skipped[f.source] = r[3]
                notes += _notes(r[4])
            else:
                changed.append(f)
        present = {f.source for f in files}
        removed = sorted(s for s in keys if s not in present)
        recorded = {}
        wanted = [f.source for f in changed if f.source in keys] + removed
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            for source, *row in db.execute(
                    f"SELECT source, size, mtime_ns, ctime_ns, sha256, skipped, parts, notes FROM files "
                    f"WHERE source IN ({','.join('?' * len(part))})", part):
                recorded[source] = _recorded(*row)
        return ChangePlan(trusted=True, reason="", changed=changed, unchanged=unchanged, removed=removed,
                          recorded=recorded, unchanged_skipped=skipped, unchanged_notes=notes)
    except (sqlite3.Error, ValueError) as exc:
        log.warning("ignoring unreadable file state %s: %s", state_path(settings), exc)
        return ChangePlan(trusted=False, reason="record unreadable", changed=list(files))
    finally:
        if db is not None:
            db.close()


def save_state(settings: Settings, generation: str | None, fingerprint: str, entries: dict[str, Recorded],
               scan_started: float, *, removed: list[str] = (), replace: bool = True,
               chunks_total: int | None = None, readers: str = "",
               skipped: list[tuple[str, str]] | None = None) -> None:
    """Record ``entries`` for the next run, in one transaction (a crash leaves the
    old record). ``replace`` drops every other row (a run that read every file);
    otherwise only ``entries`` are written and ``removed`` deleted. ``skipped`` is
    the run's list of what it could not read (see :func:`last_skipped`)."""
    racy = int((scan_started - RACY_SECONDS) * 1e9)
    rows = []
    for source, r in entries.items():
        size, mtime_ns, ctime_ns = r.key
        if mtime_ns >= racy or ctime_ns >= racy:
            mtime_ns = -1  # never matches: read again next run
        rows.append((source, size, mtime_ns, ctime_ns, r.sha256, r.skipped, json.dumps(list(r.parts)),
                     json.dumps([list(n) for n in r.notes])))
    meta = {**_expected(settings, fingerprint, readers), "generation": generation, "chunks_total": chunks_total,
            "snapshot": snapshot(settings), "skipped": [list(s) for s in skipped or []]}
    db = _open(settings, create=True)
    try:
        with db:
            if replace:
                db.execute("DELETE FROM files")
            for i in range(0, len(removed), 500):
                part = list(removed[i:i + 500])
                db.execute(f"DELETE FROM files WHERE source IN ({','.join('?' * len(part))})", part)
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("DELETE FROM meta")
            db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    finally:
        db.close()


def _import_json(settings: Settings) -> sqlite3.Connection | None:
    """The record of version 1 (a JSON file), taken over so that upgrading does not
    read the whole corpus again."""
    old = settings.store.index_dir / (state_path(settings).name.rsplit(".", 1)[0] + ".json")
    try:
        state = json.loads(old.read_text(encoding="utf-8"))
        rows = [(src, int(v[0]), int(v[1]), int(v[2]), str(v[3]), str(v[4])) for src, v in state["files"].items()]
        meta = {k: state[k] for k in ("generation", "fingerprint", "corpus_dir", "collection", "location")}
        if state.get("version") != 1:
            return None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    db = _open(settings, create=True)
    with db:
        db.executemany("INSERT OR REPLACE INTO files (source, size, mtime_ns, ctime_ns, sha256, skipped) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                       [(k, json.dumps(v)) for k, v in {**meta, "version": STATE_VERSION}.items()])
    old.unlink(missing_ok=True)
    return db


def forget_state(settings: Settings) -> None:
    """Drop the record (after a rebuild, the next run reads everything)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            Path(str(state_path(settings)) + suffix).unlink()
        except FileNotFoundError:
            pass
    Path(str(state_path(settings)).rsplit(".", 1)[0] + ".json").unlink(missing_ok=True)  # version 1's record


def last_skipped(settings: Settings) -> list[tuple[str, str]]:
    """(source, reason) of what the last index run could not read; [] when unknown.

    >>> last_skipped(Settings(index_dir="/tmp/ix"))  # doctest: +SKIP
    [('minutes.docx', 'not a valid .docx file (damaged, or not a zip archive)')]
    """
    try:
        db = _open(settings)
        if db is None:
            return []
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'skipped'").fetchone()
        finally:
            db.close()
        return [(str(s), str(r)) for s, r in json.loads(row[0]) or []] if row else []
    except (sqlite3.Error, ValueError, TypeError):
        return []


def remember_skipped(settings: Settings, skipped: list[tuple[str, str]]) -> None:
    """Replace the last run's list of what it could not read (a run that found
    nothing changed still lists the unsupported files it walked past)."""
    try:
        db = _open(settings)
        if db is None:
            return
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('skipped', ?)", (json.dumps([list(s) for s in skipped]),))
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("could not record the skipped files in %s: %s", state_path(settings), exc)


def snapshot(settings: Settings) -> list | None:
    """``stat()`` of the embedded index's files (Chroma's database and vector files,
    the lexicon's manifest, the answer-unit store): equal snapshots mean nobody,
    not even Chroma opening the store, has touched them in between."""
    if settings.store.chroma_url:
        return None
    root = settings.store.index_dir
    own = state_path(settings).name
    out = []
    try:
        stack = [root]
        while stack:
            folder = stack.pop()
            for e in os.scandir(folder):
                if e.is_dir(follow_symlinks=False):
                    if folder == root and _SEGMENT_DIR.match(e.name):
                        stack.append(Path(e.path))
                    elif folder == root and e.name.startswith("lexicon-"):
                        meta = Path(e.path) / "meta.json"
                        if meta.exists():
                            st = meta.stat()
                            out.append([f"{e.name}/meta.json", st.st_size, st.st_mtime_ns, st.st_ctime_ns])
                    continue
                if e.name.startswith(own) or e.name.startswith("file_state.") or e.name in _NOT_CONTENT \
                        or e.name.endswith(".tmp"):
                    continue
                st = e.stat(follow_symlinks=False)
                out.append([os.path.relpath(e.path, root), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
    except OSError:
        return None
    return sorted(out)


@dataclass(frozen=True)
class Unchanged:
    """What :func:`unchanged_report` found: every file as recorded, the index untouched."""

    files: int  # indexed files (not skipped)
    skipped: dict[str, str]
    chunks_total: int
    notes: list[tuple[str, str]] = field(default_factory=list)  # what of the files was left out
    last_skipped: list[tuple[str, str]] = field(default_factory=list)  # as the record lists it


def unchanged_report(settings: Settings, files: list[FileStat], fingerprint: str,
                     readers: str = "") -> Unchanged | None:
    """Without opening Chroma: the record of the last run, when no file changed,
    none was added or removed, the record was saved after the last write to the
    embedded index and the index's files are exactly as then (see :func:`snapshot`).
    Otherwise None, and the caller does the full run."""
    if settings.store.chroma_url:
        return None
    try:
        db = _open(settings)
        if db is None:
            return None
        try:
            meta = _meta(db)
            if not meta or any(meta.get(k) != v for k, v in _expected(settings, fingerprint, readers).items()):
                return None
            if meta.get("snapshot") is None or meta.get("chunks_total") is None or not meta.get("generation"):
                return None
            rows = {r[0]: r[1:] for r in db.execute("SELECT source, size, mtime_ns, ctime_ns, skipped, notes "
                                                    "FROM files")}
        finally:
            db.close()
    except (sqlite3.Error, ValueError):
        return None
    if len(rows) != len(files):
        return None
    skipped, notes = {}, []
    for f in files:
        r = rows.get(f.source)
        if r is None or r[:3] != f.key:
            return None
        if r[3]:
            skipped[f.source] = r[3]
        notes += _notes(r[4])
    if snapshot(settings) != meta["snapshot"]:
        return None
    return Unchanged(len(files) - len(skipped), skipped, int(meta["chunks_total"]), notes,
                     [(str(s), str(r)) for s, r in meta.get("skipped") or []])


def now() -> float:
    """Wall-clock time to pass to :func:`save_state` as ``scan_started``."""
    return time.time()
