"""Disk space for an embedded index: what a run needs, checked before writing.

A full disk must never cost the index that answered before. Chroma applies the
rows it was given to its files when it writes and when it next opens them; a
run that fills the disk halfway leaves rows it cannot apply, and the index no
longer opens until space is freed. So ``rag index`` writes only when the disk
holds what it is about to write plus a reserve (:data:`RESERVE` and a tenth of
the index), checked

* before the run touches anything, for the files that changed (for all files
  when the index must be rebuilt, before the old one is dropped);
* before each window of chunks is written, for that window;

and refuses with :class:`NoSpace` ("no space left on <folder>: about N MB
needed, M MB free") otherwise. A disk that fills anyway (another program) gives
the same error, and a reader that meets a full disk says so instead of taking
the index for damaged and rebuilding it.

>>> estimate_bytes([("a.txt", 1_000_000), ("b.pdf", 3_000_000)]) // MiB
56
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from rag.store.errors import IndexStoreError
from rag.safety import printable

MiB = 1024 * 1024
RESERVE = 32 * MiB          # left free at all times: what Chroma needs to apply what it was given
BYTES_PER_TEXT_BYTE = 25    # measured: ~19-25 bytes of index (vectors, answer units, text, lexicon) per text byte
FIXED = 4 * MiB             # per run: database pages, the lexicon's new files
# Text per byte of file, by type: a PDF's text is about a third of its bytes (the R manuals: 0.34).
TEXT_SHARE = {".pdf": 0.4, ".html": 0.6, ".htm": 0.6}
_FULL = re.compile(r"disk is full|no space left|\bENOSPC\b|code: ?13\b|errno 28\b|quota exceeded",
                   re.IGNORECASE)


class NoSpace(IndexStoreError):
    """The index folder's disk lacks the room a write needs; nothing was written."""


def estimate_bytes(files) -> int:
    """Bytes of index that files of these ``(name, size)`` add (an upper estimate)."""
    text = sum(size * TEXT_SHARE.get(os.path.splitext(name)[1].lower(), 1.0) for name, size in files)
    return int(text * BYTES_PER_TEXT_BYTE) + FIXED


def free_bytes(folder: Path) -> int:
    """Free bytes on the disk holding ``folder`` (or its nearest existing parent)."""
    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Room:
    """The space checks of one ``rag index`` run on ``folder``.

    >>> Room(Path("/tmp")).need(0, "a test")  # doctest: +SKIP
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.reserve = RESERVE + folder_bytes(self.folder) // 10 if self.folder.exists() else RESERVE

    def need(self, nbytes: int, what: str) -> None:
        """Raise :class:`NoSpace` unless ``nbytes`` plus the reserve are free."""
        free = free_bytes(self.folder)
        if free < nbytes + self.reserve:
            raise NoSpace(
                f"no space left on {printable(str(self.folder))}: about {_mb(nbytes + self.reserve)} MB needed "
                f"to {what} (including {_mb(self.reserve)} MB kept free), {_mb(free)} MB free; nothing more was "
                "written and the index answers as before: free some space (or set RAG_INDEX_DIR to a bigger "
                "disk) and run `rag index` again")

    def chunks(self, texts: list[str]) -> None:
        """Before writing a window of chunks (their texts)."""
        self.need(sum(len(t.encode("utf-8", "replace")) for t in texts) * BYTES_PER_TEXT_BYTE, "write the next chunks")


def is_disk_full(error: BaseException | str) -> bool:
    """Does this error (from Chroma, SQLite or the OS) mean the disk is full?

    >>> is_disk_full("Database error: (code: 13) database or disk is full"), is_disk_full("malformed")
    (True, False)
    """
    if isinstance(error, OSError) and error.errno == 28:
        return True
    return bool(_FULL.search(str(error)))


def full_disk_error(folder: Path, error: BaseException | str, *, reading: bool = False) -> NoSpace:
    """A full disk met while writing (or, ``reading``, opening) the index, as one line."""
    then = ("the index is kept as it is (it is not damaged): free some space and ask again" if reading else
            "what was written so far is kept: free some space (or set RAG_INDEX_DIR to a bigger disk) and run "
            "`rag index` again")
    return NoSpace(f"no space left on {printable(str(folder))} ({_mb(free_bytes(folder))} MB free): "
                   f"{' '.join(str(error).split())[:160]}; {then}")


def _mb(n: int) -> str:
    return f"{max(n, 0) / MiB:,.1f}"
