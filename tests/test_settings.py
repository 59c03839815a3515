from pathlib import Path

import pytest

from rag import Settings
from rag.settings import SettingsError


def test_defaults_point_at_repo_folders():
    s = Settings.from_env({})
    assert s.corpus_dir.name == "seeds" and s.index_dir.name == "index"
    assert s.answerer == "extractive" and s.embedding == "minilm-onnx" and s.chroma_url is None


def test_env_values_are_parsed_and_typed():
    s = Settings.from_env({"RAG_TOP_K": "3", "RAG_CORPUS_DIR": "/tmp/c", "RAG_STRICT": "yes",
                           "RAG_CHROMA_URL": "http://127.0.0.1:9000", "RAG_CHUNK_SIZE": "500"})
    assert s.top_k == 3 and s.corpus_dir == Path("/tmp/c") and s.strict is True
    assert s.chroma_url == "http://127.0.0.1:9000" and s.chunk_size == 500


@pytest.mark.parametrize("var,value", [
    ("RAG_TOP_K", "abc"), ("RAG_TOP_K", "0"), ("RAG_CHUNK_SIZE", "10"), ("RAG_CHUNK_OVERLAP", "5000"),
    ("RAG_ANSWERER", "gpt9"), ("RAG_EMBEDDING", "bert"), ("RAG_CHROMA_URL", "localhost:8000"),
    ("RAG_COLLECTION", "ab"), ("RAG_STRICT", "maybe"),
])
def test_invalid_value_names_the_variable(var, value):
    with pytest.raises(SettingsError, match=var):
        Settings.from_env({var: value})


def test_openai_standard_variables_are_fallbacks_and_key_is_not_in_repr():
    s = Settings.from_env({"OPENAI_API_KEY": "sk-secret-123", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert s.llm_api_key == "sk-secret-123" and s.llm_base_url == "http://127.0.0.1:1/v1"
    assert "sk-secret-123" not in repr(s)
