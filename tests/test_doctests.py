"""The tiny examples in public docstrings are true."""

import doctest
import importlib

import pytest

MODULES = ["rag.answer.questions", "rag.text", "rag.answer.citations", "rag.settings", "rag.ingest.loading", "rag.ingest.chunking",
           "rag.embeddings", "rag.pipeline", "rag.generate.prompt", "rag.generate.verification",
           "rag.serve.langchain_adapter", "rag.serve.schema", "rag.serve.pool", "rag.serve.app", "rag.serve.server", "rag.serve.access",
           "rag.safety", "rag.generate.deadline", "rag.store.health", "rag.ingest.filestate", "rag.serve.httpguard", "rag.ingest.loaders.budget",
           "rag.store.diskspace", "ui.security", "rag.ingest.loaders", "rag.ingest.loaders.base", "rag.ingest.loaders.sheets"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable examples"
    assert result.failed == 0
