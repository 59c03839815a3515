"""Corpus management for the UI: list, add (upload), remove (to the trash)
and restore files, then re-index incrementally with :func:`rag.build_index`.

Uploaded names are untrusted: :func:`safe_name` keeps only a plain file name,
and every destination is checked to lie inside the corpus folder. A file is
validated (size, type, extractable text) on a temporary copy before anything
in the corpus is touched, so a bad file changes nothing.

>>> safe_name("../../etc/x.txt")
'x.txt'
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rag import IndexReport, Settings, build_index
from rag.store import indexed_files
from rag.ingest import SUPPORTED_SUFFIXES, document_text
from rag.safety import printable

from .trash import TRASH_DIR, Trash, TrashEntry

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w\-. ()]+")

Progress = Callable[[float, str], None]


class UploadError(ValueError):
    """A file was refused; the message names it and says why."""


@dataclass
class Change:
    """What an add or remove did: for the status line in the corpus panel."""

    added: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replaced: list[TrashEntry] = field(default_factory=list)  # old versions, now in the trash
    report: IndexReport | None = None


def safe_name(name: str) -> str:
    """A plain file name for ``name``: no folders, no hidden files, no control
    or shell characters, a supported suffix. Raises UploadError otherwise.

    >>> safe_name("..\\\\..\\\\Report 2017 (final).PDF")
    'Report 2017 (final).PDF'
    """
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip(" ._") or f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        raise UploadError(f"{name!r}: unsupported file type; upload one of "
                          f"{' '.join(SUPPORTED_SUFFIXES)}")
    stem = stem[:MAX_NAME_CHARS - len(suffix) - 1].rstrip(" ._")
    return f"{stem}.{suffix}"


class Corpus:
    """The corpus folder of one app, shared by all sessions; changes are
    serialised by a lock because they rewrite the shared index."""

    def __init__(self, settings: Settings, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.settings = settings
        self.root = Path(settings.ingest.corpus_dir)
        self.max_bytes = max_bytes
        self.trash = Trash(Path(settings.store.index_dir) / TRASH_DIR)
        self._lock = threading.Lock()

    def files(self) -> list[list[str]]:
        """Rows ``[name, type, size, status]`` for every visible file."""
        try:
            indexed: set[str] | None = set(indexed_files(self.settings))
        except Exception:  # e.g. a Chroma server that is down: still list the files
            indexed = None
        rows = []
        for path in self._visible_files():
            rel = path.relative_to(self.root).as_posix()
            if indexed is None:
                status = "index unavailable"
            elif rel in indexed:
                status = "indexed"
            elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
                status = "unsupported type"
            else:
                status = "not indexed"
            rows.append([printable(rel), printable(path.suffix.lower().lstrip(".")) or "-",
                         _size(path.stat().st_size), status])
        return rows

    def names(self) -> list[str]:
        """Relative names of the visible files as the page shows them (choices for
        "remove"): undecodable bytes, controls and bidi overrides escaped
        (:func:`rag.safety.printable`), so every name can be shown and told apart."""
        return [printable(p.relative_to(self.root).as_posix()) for p in self._visible_files()]

    def real_name(self, shown: str) -> str | None:
        """The corpus file's relative name for a name as :meth:`names` shows it."""
        return next((rel for p in self._visible_files()
                     if printable(rel := p.relative_to(self.root).as_posix()) == shown), None)

    def add(self, uploads: list[tuple[Path, str]], progress: Progress | None = None) -> Change:
        """Validate each ``(path, original name)``, move the good ones into the
        corpus and index them; bad ones are reported and left out."""
        progress = progress or (lambda f, msg: None)
        change = Change()
        ready: list[Path] = []
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            for i, (src, original) in enumerate(uploads):
                progress(0.3 * i / max(1, len(uploads)), f"checking {original}")
                try:
                    ready.append(self._validated_copy(Path(src), original, Path(tmp)))
                except UploadError as exc:
                    change.errors.append(str(exc))
            if not ready:
                return change
            with self._lock:
                moved: dict[str, Path | None] = {}
                try:
                    self._move_in(ready, Path(tmp) / ".backup", moved)
                    progress(0.35, "indexing")
                    change.report = build_index(self.settings, progress=True)
                except Exception:
                    self._roll_back(moved)
                    raise
                change.added = [p.name for p in ready]
                # A replaced file is kept: its old version goes to the trash, restorable.
                change.replaced = [self.trash.put(backup, name) for name, backup in moved.items() if backup]
        return change

    def remove(self, name: str, progress: Progress | None = None) -> tuple[IndexReport, TrashEntry]:
        """Move one corpus file to the trash and drop its chunks from the index;
        :meth:`restore` undoes it."""
        progress = progress or (lambda f, msg: None)
        with self._lock:
            real = self.real_name(name)
            if real is None:
                raise UploadError(f"{name!r} is not a file in the corpus")
            path = self._inside(real)
            if len(self.names()) == 1:
                raise UploadError("that is the last file; the corpus cannot be empty")
            entry = self.trash.put(path, real)
            progress(0.3, "updating the index")
            try:
                return build_index(self.settings, progress=True), entry
            except Exception:
                self.trash.take(entry.id, path)  # the corpus and the index stay as they were
                raise

    def restore(self, entry_id: str, progress: Progress | None = None) -> tuple[IndexReport, TrashEntry]:
        """Put a file from the trash back into the corpus and index it again."""
        progress = progress or (lambda f, msg: None)
        with self._lock:
            entry = self.trash.get(entry_id)
            if entry is None:
                raise UploadError("that file is no longer in the trash")
            dest = self._inside(entry.name)
            if dest.exists():
                raise UploadError(f"{printable(entry.name)}: the corpus has a file of that name again; "
                                  "remove or rename it first")
            self.trash.take(entry_id, dest)
            progress(0.3, "updating the index")
            try:
                return build_index(self.settings, progress=True), entry
            except Exception:
                self.trash.put(dest, entry.name)
                raise

    def signature(self) -> tuple:
        """Changes whenever the corpus or the trash does (names, sizes, times):
        lets every open page refresh its file list only when needed."""
        files = tuple((p.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns)
                      for p in self._visible_files() if (st := p.stat()))
        return files, tuple(e.id for e in self.trash.entries())

    # -- internals -----------------------------------------------------------

    def _visible_files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.rglob("*") if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(self.root).parts))

    def _inside(self, name: str) -> Path:
        """``root / name``, refusing any path that resolves outside the corpus."""
        root = self.root.resolve()
        path = (root / name).resolve()
        if path == root or not path.is_relative_to(root):
            raise UploadError(f"{name!r} is outside the corpus")
        return path

    def _validated_copy(self, src: Path, original: str, tmp: Path) -> Path:
        name = safe_name(original)
        if not src.is_file():
            raise UploadError(f"{name}: the upload is missing; try again")
        size = src.stat().st_size
        if size > self.max_bytes:
            raise UploadError(f"{name}: too large ({_size(size)}; the limit is {_size(self.max_bytes)})")
        copy = tmp / name
        if copy.exists():
            raise UploadError(f"{name}: uploaded twice in one batch")
        shutil.copyfile(src, copy)
        try:
            text = document_text(copy, self.settings)
        except (OSError, ValueError) as exc:
            raise UploadError(f"{name}: cannot read it ({exc})") from None
        if not text.strip():
            raise UploadError(f"{name}: no text could be extracted")
        return copy

    def _move_in(self, copies: list[Path], backup_dir: Path, moved: dict[str, Path | None]) -> None:
        """Move validated copies into the corpus, recording in ``moved`` each
        name with the backup of the file it replaced (None if it is new)."""
        for copy in copies:
            if self._inside(copy.name).is_dir():
                raise UploadError(f"{copy.name}: a folder of that name exists in the corpus")
        backup_dir.mkdir()
        for copy in copies:
            dest = self._inside(copy.name)
            backup = Path(shutil.copy2(dest, backup_dir / copy.name)) if dest.exists() else None
            # Stage under a hidden name (the loader skips those), then rename atomically.
            staging = self.root / f".{copy.name}.uploading"
            shutil.copyfile(copy, staging)
            os.replace(staging, dest)
            moved[copy.name] = backup

    def _roll_back(self, moved: dict[str, Path | None]) -> None:
        """Undo :meth:`_move_in`: restore replaced files, delete new ones."""
        for name, backup in moved.items():
            dest = self._inside(name)
            if backup is not None:
                shutil.move(backup, dest)
            else:
                dest.unlink(missing_ok=True)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"
