"""Ingest: files -> documents -> chunks -> the index.

Reading files in every supported format inside a parse budget (:mod:`.loading`,
:mod:`.loaders`), splitting them into chunks (:mod:`.chunking`), remembering
which files changed (:mod:`.filestate`), and the incremental sync into the
store (:mod:`.indexing`, with the embedding loop in :mod:`.embedloop`).

>>> from rag.ingest import build_index
>>> build_index(Settings(corpus_dir="seeds", index_dir="/tmp/ix")).chunks_total  # doctest: +SKIP
31
"""

from rag.lazy import exports

_EXPORTS = {
    "build_index": "indexing",
    "check_manifest": "indexing",
    "fingerprint": "indexing",
    "CorpusError": "loading",
    "SUPPORTED_SUFFIXES": "loading",
    "corpus_files": "loading",
    "document_text": "loading",
    "read_source": "loading",
    "split_source": "loading",
    "unread_note": "loading",
    "load_corpus": "loading",
    "last_skipped": "filestate",
    "IndexProgress": "progress",
    "DEFAULT_EVERY": "progress",
    "for_command_line": "progress",
    "split_documents": "chunking",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
