"""Opening an index for reading or writing after a crash: probe it in a
child process, set a damaged database aside and start afresh, or read a
private copy of a read-only folder.

>>> client, note, moved = repair_store(Settings(index_dir="/tmp/ix"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from rag.settings import Settings
from rag.store.chroma import make_chroma_client, open_collection
import errno

from rag.safety import printable
from rag.store.diskspace import full_disk_error
from rag.store.errors import DamagedDatabase, IndexStoreError
from rag.store.health import (DATABASE, Probe, check_store, discard_collection, inspect_collection, readable_path,
                              shorten, unwritable, wipe_store, writable)

log = logging.getLogger(__name__)


def repair_store(settings: Settings, *, rebuild: bool = False) -> tuple[object, str | None, list[str]]:
    """Check the store before ``rag index`` writes to it, and clear what is damaged.

    Returns (client, rebuild reason or None, notes). A damaged database is
    removed with the vector files (the corpus rebuilds them); damaged or missing
    vector files, or chunks that vector search cannot reach, drop the collection.
    """
    reason, notes = None, []
    if not settings.store.chroma_url and (settings.store.index_dir / DATABASE).exists():
        if not writable(settings.store.index_dir):
            raise unwritable(settings, PermissionError(errno.EACCES, "read-only"))
        found = check_store(settings)
        if found.no_space:  # never drop an index for want of room: it is whole, only stuck
            raise full_disk_error(settings.store.index_dir, found.problem)
        if found.database_damaged:
            removed = wipe_store(settings)
            reason = f"the index was damaged: {found.problem}; removed {', '.join(removed)} and rebuilt it"
        elif not found.ok:
            client = make_chroma_client(settings, write=True)
            discard_collection(client, settings)
            reason = f"the index was damaged: {found.problem}; rebuilt it"
    try:
        client = make_chroma_client(settings, write=True)
    except DamagedDatabase as exc:  # damage the file signature did not show (inside the database)
        removed = wipe_store(settings)
        reason = f"the index was damaged: {exc.detail}; removed {', '.join(removed)} and rebuilt it"
        client = make_chroma_client(settings, write=True)
    if settings.store.chroma_url and not rebuild:
        collection = open_collection(client, settings, create=False)
        if collection is not None:
            try:
                found = inspect_collection(collection)
            except Exception as exc:  # the server could not read its own files
                found = Probe(exists=True, problem=f"the server could not read it ({shorten(str(exc))})")
            if not found.ok:
                discard_collection(client, settings)
                reason = f"the index was damaged: {found.problem}; rebuilt it"
    if rebuild and reason is None:
        discard_collection(client, settings)
        reason = "rebuild requested (--rebuild)"
    if reason:
        log.warning("%s", reason)
    return client, reason, notes


def prepare_reading(settings: Settings) -> tuple[str | None, list[str]]:
    """Before answering from an embedded index: (damage found or None, notes).
    The caller rebuilds on damage; a damaged read-only index raises instead."""
    if settings.store.chroma_url:
        return None, []
    path, note = readable_path(settings)
    notes = [note] if note else []
    found = check_store(settings, path)
    if found.ok:
        return None, notes
    if found.no_space:  # not damage: rebuilding would need room too, and would drop the index
        raise full_disk_error(settings.store.index_dir, found.problem, reading=True)
    if path != settings.store.index_dir:
        raise IndexStoreError(f"the index at {printable(str(settings.store.index_dir))} is damaged: {found.problem}; "
                              "it is read-only, so it cannot be repaired here: make it writable and run "
                              "`rag index`, or set RAG_INDEX_DIR to another folder")
    return found.problem, notes


