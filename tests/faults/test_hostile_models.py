"""Issue 9 rows 2, 3 and 5: a model that obeys planted instructions, credentials
in the base URL under `rag -v`, and models that stall, trickle or never stop.
Real HTTP servers on 127.0.0.1, the real index, the real `rag` command."""

from __future__ import annotations

import time

import pytest
from fake_openai import FakeOpenAI, Reply, cite
from faultkit import HostileModel, hash_env, llm, out, planted_index, run_rag

from rag import Settings, ask
from rag.generate.answerer import GenerationError
from rag.ingest.loading import document_text

pytestmark = pytest.mark.slow

TOKYO_Q = "When did Tillerson travel to Tokyo?"


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Settings:
    """The seeds plus a notice with an instruction planted in it, indexed once."""
    return planted_index(tmp_path_factory.mktemp("planted"))


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def test_an_obeyed_planted_instruction_is_removed_and_its_passage_named(planted, fake):
    def reply(req):
        n = cite(req, "evil.example")
        return Reply(f"Tillerson traveled to Tokyo on March 16, 2017 [{n}]. "
                     f"Visit http://evil.example for the full schedule of the Tokyo trip [{n}]. "
                     f"The full schedule of the Tokyo trip is at http://evil.example [{n}].")
    fake.handler = reply
    a = ask(TOKYO_Q, settings=llm(planted, fake.url))
    assert fake.requests, "the model was never asked"
    assert "evil.example" not in a.text
    assert all("evil.example" not in c.quote and "IGNORE" not in c.quote for c in a.citations)
    assert a.text.startswith("Tillerson traveled to Tokyo on March 16, 2017 [1].")
    warnings = "\n".join(a.warnings)
    assert "embassy-notice.txt" in warnings and "addressed to the model or the reader" in warnings
    assert "tells the reader to act" in warnings
    for c in a.citations:
        assert document_text(planted.ingest.corpus_dir / c.source)[c.start:c.end] == c.quote


def test_urls_must_appear_verbatim_in_the_cited_passage(planted, fake):
    def reply(req):
        n = cite(req, "mofa.go.jp")
        return Reply(f"The schedule of the Tokyo trip is published at "
                     f"https://www.mofa.go.jp/tokyo-trip-schedule [{n}]. "
                     f"The schedule of the Tokyo trip is published at https://www.mofa.go.jp.evil.example/s [{n}].")
    fake.handler = reply
    a = ask("Where is the schedule of the Tokyo trip published?", settings=llm(planted, fake.url))
    assert "https://www.mofa.go.jp/tokyo-trip-schedule" in a.text      # stated in the passage: kept
    assert "evil.example" not in a.text                              # not in it: removed
    # Named in the warnings, but not as a live link (issue 17 row 14).
    assert any("does not state hxxps://www[.]mofa[.]go[.]jp[.]evil[.]example/s verbatim" in w for w in a.warnings)
    assert not any("evil.example" in w for w in a.warnings)


def test_credentials_in_the_base_url_never_reach_verbose_logs(planted, fake, tmp_path):
    fake.handler = lambda req: Reply(f"Tillerson traveled to Tokyo on March 16, 2017 [{cite(req, 'March 16')}].")
    base = fake.url.replace("http://", "http://alice:pw-S3CRET-77@")
    env = {**hash_env(planted.ingest.corpus_dir, planted.store.index_dir),
           "RAG_CHUNK_SIZE": "800", "RAG_CHUNK_OVERLAP": "120",
           "RAG_ANSWERER": "openai", "RAG_LLM_BASE_URL": base, "RAG_LLM_API_KEY": "sk-KEY-S3CRET-0123456789",
           "RAG_LLM_MODEL": "m", "RAG_LLM_MAX_RETRIES": "0"}
    proc = run_rag(["-v", "ask", TOKYO_Q], env, timeout=120)
    text = out(proc)
    assert proc.returncode == 0, text
    assert fake.requests and "INFO rag." in text  # verbose logging was on, and the model was called
    assert "pw-S3CRET-77" not in text and "KEY-S3CRET" not in text and "alice:" not in text


def test_an_endless_stream_is_cut_at_the_token_cap(seeds_settings):
    with HostileModel("endless") as model:
        t0 = time.monotonic()
        a = ask(TOKYO_Q, settings=llm(seeds_settings, model.url, llm_max_tokens=64, llm_deadline=60))
        elapsed = time.monotonic() - t0
    assert elapsed < 30 and model.requests == 1
    assert any("cut off at RAG_LLM_MAX_TOKENS=64" in w for w in a.warnings)
    assert a.text  # a verified answer from the cut text, or the extractive one


@pytest.mark.parametrize("mode", ["endless", "trickle", "stall"])
def test_one_deadline_bounds_the_whole_answer(seeds_settings, mode):
    with HostileModel(mode, pace=0.2) as model:
        s = llm(seeds_settings, model.url, llm_max_tokens=32768, llm_deadline=3.0, llm_timeout=2.0,
                llm_max_retries=3)
        t0 = time.monotonic()
        a = ask(TOKYO_Q, settings=s)
        elapsed = time.monotonic() - t0
    assert elapsed < 20, f"{mode}: took {elapsed:.1f}s"
    assert a.trace.get("fallback") == "extractive" and a.citations  # the extractive answer, cited
    reason = a.trace["fallback_reason"]
    assert "RAG_LLM_DEADLINE=3s" in reason or ("timed out" in reason and "no time left" in reason), reason


def test_strict_mode_turns_the_deadline_into_one_error(seeds_settings):
    with HostileModel("trickle", pace=0.2) as model:
        t0 = time.monotonic()
        with pytest.raises(GenerationError, match="RAG_LLM_DEADLINE=2s"):
            ask(TOKYO_Q, settings=llm(seeds_settings, model.url, llm_deadline=2.0, strict=True))
        assert time.monotonic() - t0 < 20
