"""The trash: where "Remove from corpus" puts files, inside the index folder,
so a removal can be undone (restored) and nothing the user owns is deleted.

Each removed file is one folder ``<index>/trash/<id>/`` holding the file's
bytes (``item``) and ``meta.json`` (its name in the corpus, when it was
removed, its size). Ids sort by removal time.

>>> t = Trash(Path("/tmp/ix/trash"))  # doctest: +SKIP
>>> entry = t.put(Path("corpus/notes.md"), "notes.md")  # doctest: +SKIP
>>> t.take(entry.id, Path("corpus/notes.md"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rag.safety import printable

TRASH_DIR = "trash"


@dataclass(frozen=True)
class TrashEntry:
    """One removed file: ``name`` is its path relative to the corpus."""

    id: str
    name: str
    removed: str  # ISO time, UTC
    size: int

    def label(self) -> str:
        """How the page lists it: "notes.md (removed 2026-11-22 10:04 UTC)"."""
        return f"{printable(self.name)} (removed {self.removed[:16].replace('T', ' ')} UTC)"


class Trash:
    """A folder of removed files. Not locked itself: the corpus holds its lock
    around every change."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, path: Path, name: str) -> TrashEntry:
        """Move ``path`` (the corpus file called ``name``) into the trash."""
        now = datetime.now(timezone.utc)
        entry = TrashEntry(f"{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}", name,
                           now.isoformat(timespec="seconds"), path.stat().st_size)
        folder = self.root / entry.id
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps(entry.__dict__), encoding="utf-8")  # ASCII: names may hold undecodable bytes
        shutil.move(str(path), folder / "item")  # a rename when both are on one disk
        return entry

    def entries(self) -> list[TrashEntry]:
        """Everything in the trash, newest first; damaged entries are left out."""
        out = []
        if not self.root.is_dir():
            return out
        for folder in self.root.iterdir():
            try:
                meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
                entry = TrashEntry(str(meta["id"]), str(meta["name"]), str(meta["removed"]), int(meta["size"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if entry.id == folder.name and (folder / "item").is_file():
                out.append(entry)
        return sorted(out, key=lambda e: e.id, reverse=True)

    def get(self, entry_id: str) -> TrashEntry | None:
        return next((e for e in self.entries() if e.id == entry_id), None)

    def take(self, entry_id: str, dest: Path) -> TrashEntry:
        """Move entry ``entry_id`` back to ``dest`` (which must not exist) and
        forget it. Raises KeyError for an unknown id, FileExistsError when
        ``dest`` is taken."""
        entry = self.get(entry_id)
        if entry is None:
            raise KeyError(entry_id)
        if dest.exists():
            raise FileExistsError(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(f".{dest.name}.restoring")
        shutil.copyfile(self.root / entry.id / "item", staging)
        os.replace(staging, dest)  # the indexer never sees a half-written file
        shutil.rmtree(self.root / entry.id)
        return entry
