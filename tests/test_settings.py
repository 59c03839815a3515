import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag import Settings
from rag.settings import FLAT_NAMES, GROUPS, LLMSettings, SettingsError


def test_defaults_point_at_repo_folders():
    s = Settings.from_env({})
    assert s.ingest.corpus_dir.name == "seeds" and s.store.index_dir.name == "index"
    assert s.answer.answerer == "extractive" and s.embeddings.provider == "minilm-onnx" and s.store.chroma_url is None


def test_env_values_are_parsed_and_typed():
    s = Settings.from_env({"RAG_TOP_K": "3", "RAG_CORPUS_DIR": "/tmp/c", "RAG_STRICT": "yes",
                           "RAG_CHROMA_URL": "http://127.0.0.1:9000", "RAG_CHUNK_SIZE": "500"})
    assert s.retrieval.top_k == 3 and s.ingest.corpus_dir == Path("/tmp/c") and s.llm.strict is True
    assert s.store.chroma_url == "http://127.0.0.1:9000" and s.ingest.chunk_size == 500


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
    assert s.llm.api_key == "sk-secret-123" and s.llm.base_url == "http://127.0.0.1:1/v1"
    assert "sk-secret-123" not in repr(s)


def test_every_variable_reaches_its_group_field():
    env = {"RAG_EMBEDDING": "openai", "RAG_EMBEDDING_MODEL": "nomic", "RAG_LLM_DEADLINE": "30",
           "RAG_SERVE_PORT": "9000", "RAG_API_KEY": "k" * 16, "RAG_ALLOWED_HOSTS": "rag.lan",
           "RAG_OCR": "off", "RAG_MAX_QUESTION_CHARS": "500", "RAG_COLLECTION": "notes"}
    s = Settings.from_env(env)
    assert (s.embeddings.provider, s.embeddings.model, s.llm.deadline) == ("openai", "nomic", 30.0)
    assert (s.serve.port, s.serve.api_key, s.host_names) == (9000, "k" * 16, ("rag.lan",))
    assert (s.ingest.ocr, s.answer.max_question_chars, s.store.collection) == (False, 500, "notes")
    # Every field is named by one variable, RAG_ + its flat name.
    assert set(FLAT_NAMES) >= {"top_k", "embedding", "llm_base_url", "serve_port", "strict", "api_key"}
    assert all(GROUPS[g].model_fields[f].json_schema_extra["env"] == "RAG_" + flat.upper()
               for flat, (g, f) in FLAT_NAMES.items())


def test_empty_variables_are_unset_and_overrides_win():
    s = Settings.from_env({"RAG_TOP_K": "", "RAG_LLM_BASE_URL": "", "OPENAI_BASE_URL": "http://127.0.0.1:2/v1",
                           "RAG_ANSWERER": "openai"}, answerer="top-chunk", corpus_dir="/tmp/other")
    assert s.retrieval.top_k == 6 and s.llm.base_url == "http://127.0.0.1:2/v1"
    assert s.answer.answerer == "top-chunk" and s.ingest.corpus_dir == Path("/tmp/other")
    rag = Settings.from_env({"RAG_LLM_API_KEY": "sk-rag-1", "OPENAI_API_KEY": "sk-openai-1"})
    assert rag.llm.api_key == "sk-rag-1" and rag.embeddings.api_key == "sk-openai-1"


def test_settings_are_frozen_hashable_and_replace_routes_flat_names():
    s = Settings(corpus_dir="~/docs", top_k=4)
    assert s.ingest.corpus_dir == Path("~/docs").expanduser()
    assert s == Settings(corpus_dir="~/docs", top_k=4) and hash(s) == hash(Settings(corpus_dir="~/docs", top_k=4))
    assert len({s, Settings(corpus_dir="~/docs", top_k=4), Settings()}) == 2
    with pytest.raises(ValidationError):
        s.retrieval.top_k = 3
    r = s.replace(top_k=3, llm_model="qwen")
    assert (r.retrieval.top_k, r.llm.model, r.ingest.corpus_dir) == (3, "qwen", s.ingest.corpus_dir)
    assert s.retrieval.top_k == 4  # the original is unchanged
    g = s.replace(llm=LLMSettings(model="m2"))
    assert g.llm.model == "m2" and g.retrieval.top_k == 4
    with pytest.raises(SettingsError, match="RAG_TOP_K=0 is invalid: must be between 1 and 100"):
        s.replace(top_k=0)
    with pytest.raises(TypeError, match="'topk' is not a setting"):
        s.replace(topk=3)


@pytest.mark.parametrize("env,message", [
    ({"RAG_TOP_K": "abc"}, "RAG_TOP_K='abc' is invalid: invalid literal for int() with base 10: 'abc'"),
    ({"RAG_TOP_K": "0"}, "RAG_TOP_K=0 is invalid: must be between 1 and 100"),
    ({"RAG_CHUNK_SIZE": "900", "RAG_CHUNK_OVERLAP": "900"},
     "RAG_CHUNK_OVERLAP=900 is invalid: must be >= 0 and smaller than RAG_CHUNK_SIZE"),
    ({"RAG_LLM_DEADLINE": "inf"}, "RAG_LLM_DEADLINE=inf is invalid: must be positive seconds"),
    ({"RAG_EMBEDDING_BASE_URL": "x"}, "RAG_EMBEDDING_BASE_URL='x' is invalid: expected a URL such as "
                                      "http://127.0.0.1:8081/v1"),
    ({"RAG_ALLOWED_HOSTS": "ok.lan,bad host"}, "RAG_ALLOWED_HOSTS='ok.lan,bad host' is invalid: 'bad host' is not a "
                                               "host name (wildcards look like *.example.org)"),
])
def test_messages_are_the_documented_ones(env, message):
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert str(info.value) == message and not isinstance(info.value, ValidationError)


def test_a_bad_secret_is_named_but_never_shown():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"RAG_API_KEY": "short k"})
    assert str(info.value) == "RAG_API_KEY is invalid: use at least 8 characters without spaces"
    s = Settings(api_key="serve-key-1", llm_api_key="llm-key-1", embedding_api_key="emb-key-1")
    assert not {"serve-key-1", "llm-key-1", "emb-key-1"} & set(re.findall(r"[\w-]+", repr(s)))
