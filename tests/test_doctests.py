"""The tiny examples in public docstrings are true."""

import doctest
import importlib

import pytest

MODULES = ["rag.questions", "rag.text", "rag.citations", "rag.settings", "rag.loading", "rag.chunking",
           "rag.embeddings", "rag.pipeline", "rag.prompting", "rag.verification",
           "rag.langchain_adapter", "rag.api.schema", "rag.api.pool", "rag.api.app", "rag.api.serve", "rag.api.access",
           "rag.safety", "rag.deadline", "rag.health", "rag.filestate", "rag.httpguard", "rag.loaders.budget",
           "rag.diskspace", "ui.security", "rag.loaders", "rag.loaders.base", "rag.loaders.sheets"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable examples"
    assert result.failed == 0
