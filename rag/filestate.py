"""Which corpus files changed since the last index run, decided from file
sizes and times before reading anything (as git does with its index).

Each run records, per file, ``(size, mtime_ns, ctime_ns, sha256 of its text)``
in a small JSON file beside the index, stamped with the collection's generation
and fingerprint. The next run trusts that record only when both still match the
store (nobody else changed it), and then reads only files whose size or times
differ; a file that was merely touched is read and hashed but not re-chunked.

Limits (documented in README): a file edited without changing its size,
mtime or ctime is not noticed (ctime cannot be set back by ``touch``, so this
takes clock tricks or a filesystem without ctime; on Windows ctime is the
creation time). ``rag index --full-check`` reads and hashes every file.

>>> FileStat("a.txt", Path("a.txt"), 10, 1, 1).key
(10, 1, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .settings import Settings

log = logging.getLogger(__name__)

STATE_VERSION = 1
# Files modified this close to the scan could change again within the same
# timestamp tick: they are recorded as "re-read next time" (git's racy-clean rule).
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class FileStat:
    """A corpus file as seen by ``stat()``; ``source`` is relative to the corpus root."""

    source: str
    path: Path
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
    ``recorded`` is empty.
    """

    trusted: bool
    reason: str
    changed: list[FileStat] = field(default_factory=list)
    unchanged: list[FileStat] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recorded: dict[str, Recorded] = field(default_factory=dict)


def stat_files(root: Path, sources: list[str]) -> list[FileStat]:
    """``stat()`` every file (``sources`` relative to ``root``; files that
    vanished since listing are left out)."""
    out = []
    for rel in sources:
        path = Path(root) / rel
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append(FileStat(rel, path, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return out


def state_path(settings: Settings) -> Path:
    """Where the record lives: beside the embedded index; for a Chroma server,
    in RAG_INDEX_DIR under a name derived from the server URL and collection."""
    if settings.chroma_url:
        tag = hashlib.sha256(f"{settings.chroma_url}\x00{settings.collection}".encode()).hexdigest()[:12]
        return settings.index_dir / f"file_state.server-{tag}.json"
    return settings.index_dir / f"file_state.{settings.collection}.json"


def plan_changes(settings: Settings, files: list[FileStat], generation: str | None, fingerprint: str,
                 *, full_check: bool = False, readers: str = "") -> ChangePlan:
    """Split ``files`` into changed and unchanged using the last run's record.
    ``readers`` says what this run can read (OCR or not): when it differs from
    the last run's, every file is read again."""
    recorded, reason = _load(settings, generation, fingerprint, readers)
    if full_check:
        recorded, reason = None, "full check requested"
    if recorded is None:
        return ChangePlan(trusted=False, reason=reason, changed=list(files))
    changed, unchanged = [], []
    for f in files:
        r = recorded.get(f.source)
        (unchanged if r is not None and r.key == f.key else changed).append(f)
    present = {f.source for f in files}
    removed = sorted(s for s in recorded if s not in present)
    return ChangePlan(trusted=True, reason="", changed=changed, unchanged=unchanged, removed=removed,
                      recorded=recorded)


def save_state(settings: Settings, generation: str | None, fingerprint: str,
               entries: dict[str, Recorded], scan_started: float, *, readers: str = "",
               skipped: list[tuple[str, str]] | None = None) -> None:
    """Write the record for the next run (atomically: a crash leaves the old one);
    ``skipped`` is the run's list of what it could not read (see :func:`last_skipped`)."""
    racy = int((scan_started - RACY_SECONDS) * 1e9)
    files = {}
    for source, r in entries.items():
        size, mtime_ns, ctime_ns = r.key
        if mtime_ns >= racy or ctime_ns >= racy:
            mtime_ns = -1  # never matches: read again next run
        files[source] = [size, mtime_ns, ctime_ns, r.sha256, r.skipped, list(r.parts), [list(n) for n in r.notes]]
    state = {"version": STATE_VERSION, "generation": generation, "fingerprint": fingerprint,
             "corpus_dir": str(settings.corpus_dir.resolve()), "collection": settings.collection,
             "location": settings.index_location, "readers": readers,
             "skipped": [list(s) for s in skipped or []], "files": files}
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def forget_state(settings: Settings) -> None:
    """Drop the record (after a rebuild, the next run reads everything)."""
    try:
        state_path(settings).unlink()
    except FileNotFoundError:
        pass


def last_skipped(settings: Settings) -> list[tuple[str, str]]:
    """(source, reason) of what the last index run could not read; [] when unknown.

    >>> last_skipped(Settings(index_dir="/tmp/ix"))  # doctest: +SKIP
    [('minutes.docx', 'not a valid .docx file (damaged, or not a zip archive)')]
    """
    try:
        state = json.loads(state_path(settings).read_text(encoding="utf-8"))
        return [(str(s), str(r)) for s, r in state.get("skipped") or []]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _load(settings: Settings, generation: str | None, fingerprint: str,
          readers: str = "") -> tuple[dict | None, str]:
    path = state_path(settings)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no record of a previous run"
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable file state %s: %s", path, exc)
        return None, "record unreadable"
    expected = {"version": STATE_VERSION, "generation": generation, "fingerprint": fingerprint,
                "corpus_dir": str(settings.corpus_dir.resolve()), "collection": settings.collection,
                "location": settings.index_location, "readers": readers}
    stale = [k for k, v in expected.items() if state.get(k) != v]
    if stale or generation is None:
        # Most often "generation": another process (or an interrupted run of
        # another corpus) changed the store since this record was written.
        return None, f"record does not match the store ({', '.join(stale) or 'no generation'})"
    try:
        return {s: Recorded((int(v[0]), int(v[1]), int(v[2])), str(v[3]), str(v[4]),
                            tuple(str(p) for p in (v[5] if len(v) > 5 else ())),
                            tuple((str(a), str(b)) for a, b in (v[6] if len(v) > 6 else ())))
                for s, v in state["files"].items()}, ""
    except (KeyError, TypeError, ValueError, IndexError):
        return None, "record malformed"


def now() -> float:
    """Wall-clock time to pass to :func:`save_state` as ``scan_started``."""
    return time.time()
