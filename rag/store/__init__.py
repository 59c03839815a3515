"""Store: the one owner of the index folder and of Chroma.

Chroma (client, collection, records: :mod:`.chroma`), the lexicon for keyword
search (:mod:`.lexicon`, :mod:`.lexicon_writer`), the answer-unit vectors
(:mod:`.unitstore`), the index lock, health checks and repair (:mod:`.health`,
:mod:`.repair`, :mod:`.probe` run in a child process), disk space
(:mod:`.diskspace`) and the errors (:mod:`.errors`). Ingest writes through it,
retrieval reads through it; neither imports the other.

>>> from rag.store import open_collection, make_chroma_client  # doctest: +SKIP
"""

from rag.lazy import exports

_EXPORTS = {
    "make_chroma_client": "chroma",
    "open_collection": "chroma",
    "index_exists": "chroma",
    "indexed_files": "chroma",
    "records": "chroma",
    "chunk_from_record": "chroma",
    "iter_chunks": "chroma",
    "stored_chunks": "chroma",
    "lexicon_diff": "chroma",
    "blocks_to_meta": "chroma",
    "blocks_from_meta": "chroma",
    "IndexStoreError": "errors",
    "ForeignIndexFolder": "errors",
    "DamagedDatabase": "errors",
    "StoreUnavailable": "errors",
    "WRITTEN_BY": "health",
    "check_folder": "health",
    "discard_collection": "health",
    "index_lock": "health",
    "index_busy": "health",
    "remember_clean": "health",
    "store_error": "health",
    "writable": "health",
    "repair_store": "repair",
    "prepare_reading": "repair",
    "RESERVE": "diskspace",
    "NoSpace": "diskspace",
    "Room": "diskspace",
    "estimate_bytes": "diskspace",
    "free_bytes": "diskspace",
    "full_disk_error": "diskspace",
    "is_disk_full": "diskspace",
    "Lexicon": "lexicon",
    "lexicon_folder": "lexicon:folder",
    "TokenStore": "lexicon_writer",
    "commit_lexicon": "lexicon_writer:commit",
    "token_row": "lexicon_writer",
    "writer_lock": "lexicon_writer",
    "UnitStore": "unitstore",
    "UNIT_FILE": "unitstore:FILE_NAME",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
