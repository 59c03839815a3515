"""Errors of the index store: each says what happened and what to do."""

from __future__ import annotations


class IndexStoreError(RuntimeError):
    """The index cannot be used as it is; the message names the path and what to do."""


class ForeignIndexFolder(IndexStoreError):
    """RAG_INDEX_DIR holds files that another program wrote."""


class DamagedDatabase(IndexStoreError):
    """Chroma's database file cannot be read; ``rag index`` rebuilds it.
    ``detail`` is what went wrong, without advice."""

    detail = ""


class StoreUnavailable(IndexStoreError):
    """The Chroma server (or index folder) went away or stopped answering."""
