"""`rag serve` as a real subprocess on 127.0.0.1, driven by the real `openai`
client (and raw httpx where a client would hide the wire format).

The server indexes a private copy of seeds/ with the default MiniLM embedder at
start-up and requires an API key, as a deployment would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from rag.serve.schema import count_tokens
from rag.ingest.loading import document_text

from conftest import SEEDS, free_port, stop_process

KEY = "test-key-0123456789"
RESOLUTIONS_Q = "Which UN Security Council resolutions were cited?"
QUESTIONS = [
    RESOLUTIONS_Q,
    "Where is MCAS Futenma to be relocated?",
    "When did Tillerson assume his post?",
    "How many missiles did North Korea launch on March 6?",
    "What is the capital of France?",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, corpus dir) of `rag serve` running in its own process."""
    root = tmp_path_factory.mktemp("serve")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    port = free_port()
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(root / "index"),
           "RAG_API_KEY": KEY, "RAG_EMBEDDING": "minilm-onnx", "RAG_ANSWERER": "extractive"}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_LLM_BASE_URL", "RAG_LLM_API_KEY"):
        env.pop(var, None)
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # indexing 31 chunks + model load, on a busy machine
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "rag serve did not come up in 120 s"
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        yield url, corpus
    finally:
        stop_process(proc, 10)
        log.close()


def client(url: str, key: str = KEY, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, timeout=60, **kw)


def check_citations(citations: list[dict], corpus: Path) -> None:
    assert citations
    for c in citations:
        assert set(c) == {"marker", "source", "quote", "start", "end"}
        assert document_text(corpus / c["source"])[c["start"]:c["end"]] == c["quote"]


def ask_once(url: str, question: str, **kw):
    return client(url).chat.completions.create(model="rag", messages=[{"role": "user", "content": question}],
                                               **kw)


# -- chat ------------------------------------------------------------------------

def test_chat_answers_with_markers_sources_and_verbatim_citations(served):
    url, corpus = served
    resp = ask_once(url, RESOLUTIONS_Q, temperature=0.2, max_tokens=200)
    content = resp.choices[0].message.content
    extra = resp.model_extra
    assert resp.object == "chat.completion" and resp.model == "rag" and resp.choices[0].finish_reason == "stop"
    assert "2270" in content and "2231" in content and "[1]" in content
    assert extra["refused"] is False and extra["warnings"] == []
    check_citations(extra["citations"], corpus)
    answer, _, sources = content.partition("\n\nSources:\n")
    first = extra["citations"][0]
    assert sources.splitlines()[0] == f'[1] {first["source"]} ({first["start"]}-{first["end"]}): "{first["quote"]}"'
    assert {int(m) for m in re.findall(r"\[(\d+)\]", answer)} == {c["marker"] for c in extra["citations"]}


def test_out_of_corpus_question_is_refused_without_sources(served):
    url, _ = served
    resp = ask_once(url, "What is the capital of France?")
    assert resp.model_extra["refused"] is True and resp.model_extra["citations"] == []
    assert resp.choices[0].message.content.startswith("I can't answer that from the corpus")
    assert "Sources:" not in resp.choices[0].message.content


def test_stream_sends_openai_chunks_then_citations_then_done(served):
    url, corpus = served
    plain = ask_once(url, RESOLUTIONS_Q)
    chunks = list(ask_once(url, RESOLUTIONS_Q, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == plain.model_extra["citations"]
    check_citations(last.model_extra["citations"], corpus)
    assert all("citations" not in c.model_extra for c in chunks[:-1])

    # The wire format itself: SSE events, the last one [DONE].
    with httpx.stream("POST", url + "/v1/chat/completions", timeout=60,
                      headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "rag", "stream": True,
                            "messages": [{"role": "user", "content": RESOLUTIONS_Q}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["citations"] == plain.model_extra["citations"]


def test_usage_counts_words_and_punctuation_of_question_and_answer(served):
    url, _ = served
    resp = ask_once(url, RESOLUTIONS_Q)
    content = resp.choices[0].message.content
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == count_tokens(RESOLUTIONS_Q) == 8
    assert resp.usage.completion_tokens == count_tokens(content) > 20
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_a_long_extractive_answer_streams_sentence_by_sentence_with_usage(served):
    url, _ = served
    question = "What did Secretary Tillerson say?"
    plain = ask_once(url, question)
    chunks = list(ask_once(url, question, stream=True, stream_options={"include_usage": True}))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(deltas)
    assert text == plain.choices[0].message.content
    answer = [d for d in deltas if "Sources:" not in d]
    assert len(answer) >= 2, deltas  # one event per sentence, not the whole answer at once
    assert all(re.search(r"[.!?]”?\s*(\[\d+\]\s*)+$", d) for d in answer), answer  # each ends a sentence
    assert all(d[0].isspace() for d in answer[1:])
    finish = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert finish.usage is not None and finish.usage.model_dump() == plain.usage.model_dump()
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == plain.usage.model_dump()
    bad = httpx.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=30,
                     json={"model": "rag", "stream": True, "stream_options": {"include_usage": "yes"},
                           "messages": [{"role": "user", "content": question}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "stream_options"


def test_earlier_messages_are_the_history_so_follow_ups_work(served):
    url, corpus = served
    first_q = "When will Japan resume two-plus-two security talks with Russia?"
    first = ask_once(url, first_q).choices[0].message.content
    follow = "Why were those talks put on hold?"
    resp = client(url).chat.completions.create(model="rag", messages=[
        {"role": "system", "content": "You are a helpful assistant."},  # accepted and ignored
        {"role": "user", "content": first_q},
        {"role": "assistant", "content": first},  # our own answer, Sources list included
        {"role": "user", "content": [{"type": "text", "text": follow}]},
    ])
    assert resp.model_extra["refused"] is False and "Crimea" in resp.choices[0].message.content
    check_citations(resp.model_extra["citations"], corpus)


def test_models_lists_the_answerers_and_unknown_models_are_404(served):
    url, _ = served
    assert [m.id for m in client(url).models.list()] == ["rag", "rag-extractive"]
    resp = client(url).chat.completions.create(model="rag-extractive",
                                               messages=[{"role": "user", "content": RESOLUTIONS_Q}])
    assert resp.model == "rag-extractive" and resp.model_extra["citations"]
    with pytest.raises(openai.NotFoundError) as err:
        client(url).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi?"}])
    assert err.value.body["code"] == "model_not_found"  # rag-openai is not listed: no model configured
    with pytest.raises(openai.NotFoundError):
        client(url).chat.completions.create(model="rag-openai", messages=[{"role": "user", "content": "Hi?"}])


def test_healthz_needs_no_key_and_reports_the_index(served):
    url, _ = served
    r = httpx.get(url + "/healthz", timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["index"] == {"present": True, "chunks": body["index"]["chunks"]} and body["index"]["chunks"] > 20
    assert body["answerer"] == "extractive" and body["pool"]["capacity"] > 0


# -- auth and bad requests ------------------------------------------------------------

def test_wrong_or_missing_key_is_401_in_openai_shape(served):
    url, _ = served
    with pytest.raises(openai.AuthenticationError) as err:
        client(url, key="wrong-key-000000").models.list()
    assert err.value.status_code == 401 and err.value.body["code"] == "invalid_api_key"
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"},
                    {"Authorization": f"Bearer {KEY}x"}):
        for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/index")):
            r = httpx.request(method, url + path, headers=headers, timeout=10,
                              json={"messages": [{"role": "user", "content": RESOLUTIONS_Q}]})
            assert r.status_code == 401, (headers, path)
            error = r.json()["error"]
            assert set(error) == {"message", "type", "param", "code"} and KEY not in error["message"]
            assert r.headers["www-authenticate"] == "Bearer"


def post(url: str, body, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **kw.pop("headers", {})}
    if not isinstance(body, (dict, list)):
        return httpx.post(url + "/v1/chat/completions", content=body, headers=headers, timeout=30, **kw)
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=30, **kw)


USER = {"role": "user", "content": RESOLUTIONS_Q}


@pytest.mark.parametrize("body,status,needle", [
    ({"model": "rag", "messages": []}, 400, "'messages' must be a non-empty array"),
    ({"model": "rag"}, 400, "'messages'"),
    ({"model": "rag", "messages": "hello"}, 400, "'messages'"),
    ({"model": "rag", "messages": [USER, "oops"]}, 400, "messages[1] must be an object"),
    ({"model": "rag", "messages": [{"role": "user", "content": 42}]}, 400, "must be a string or a list"),
    ({"model": "rag", "messages": [{"role": "user", "content": "   "}]}, 400, "empty"),
    ({"model": "rag", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "role"),
    ({"model": "rag", "messages": [USER, {"role": "assistant", "content": "ok"}]}, 400, "last message"),
    ({"model": "rag", "messages": [{"role": "system", "content": "Be brief."}]}, 400, "last message"),
    ({"model": "rag", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://127.0.0.1/x.png"}}]}]}, 400, "only text parts"),
    ({"model": "rag", "messages": [USER], "stream": "yes"}, 400, "'stream' must be a boolean"),
    ({"model": "rag", "messages": [USER], "temperature": "hot"}, 400, "'temperature'"),
    ({"model": "rag", "messages": [USER], "max_tokens": -5}, 400, "'max_tokens'"),
    ({"model": "rag", "messages": [USER], "n": 3}, 400, "n=1"),
    ({"model": 7, "messages": [USER]}, 400, "'model'"),
    ({"model": "rag", "messages": [{"role": "user", "content": "x" * 2001}]}, 400, "too long"),
    ({"model": "rag", "stream": True, "messages": [{"role": "user", "content": "x" * 2001}]}, 400, "too long"),
    ([USER], 400, "JSON object"),
    ("{not json", 400, "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, 400, "not valid JSON"),
    (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    ({"model": "rag", "messages": [{"role": "user", "content": "a" * (2 << 20)}]}, 413, "larger than"),
])
def test_bad_requests_get_openai_shaped_4xx_never_500(served, body, status, needle):
    url, _ = served
    r = post(url, body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert needle in error["message"] and error["type"] == "invalid_request_error"
    assert str(served[1]) not in r.text  # no server paths


def test_the_openai_client_raises_bad_request_for_an_over_limit_question(served):
    url, _ = served
    with pytest.raises(openai.BadRequestError) as err:
        ask_once(url, "Why? " * 500)
    assert "the limit is 2000" in err.value.message


def test_unknown_paths_and_methods_answer_in_openai_shape(served):
    url, _ = served
    for method, path, status in (("GET", "/v1/nothing", 404), ("GET", "/v1/chat/completions", 405),
                                 ("DELETE", "/v1/models", 405), ("GET", "/docs", 404)):
        r = httpx.request(method, url + path, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert r.status_code == status and "error" in r.json()


def test_a_body_without_content_length_is_still_capped(served):
    url, _ = served

    def chunks():
        yield b'{"model": "rag", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}]}'
    r = post(url, chunks())  # chunked transfer encoding: no Content-Length to trust
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"]


# -- load -----------------------------------------------------------------------------

def test_20_concurrent_clients_all_get_their_own_verified_answers(served):
    url, corpus = served
    expected = {q: ask_once(url, q) for q in QUESTIONS}

    def one(i: int):
        q = QUESTIONS[i % len(QUESTIONS)]
        with client(url, max_retries=0) as c:  # a 429 would fail the test, not be retried away
            if i % 2:
                chunks = list(c.chat.completions.create(model="rag", stream=True,
                                                        messages=[{"role": "user", "content": q}]))
                return q, "".join(ch.choices[0].delta.content or "" for ch in chunks), \
                    chunks[-1].model_extra["citations"]
            resp = c.chat.completions.create(model="rag", messages=[{"role": "user", "content": q}])
            return q, resp.choices[0].message.content, resp.model_extra["citations"]

    with ThreadPoolExecutor(20) as ex:
        results = list(ex.map(one, range(20)))
    assert len(results) == 20
    for q, content, citations in results:
        assert content == expected[q].choices[0].message.content
        assert citations == expected[q].model_extra["citations"]
        if citations:
            check_citations(citations, corpus)


# -- indexing (last: it changes the corpus) ---------------------------------------------

def test_post_index_brings_the_index_in_line_with_the_corpus(served):
    url, corpus = served
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(url + "/v1/index", headers=auth, json={}, timeout=120)
    assert r.status_code == 200 and r.json()["chunks_embedded"] == 0 and r.json()["files_unchanged"] == 5
    (corpus / "zz_lighthouse.txt").write_text(
        "The Brightwater lighthouse keeper, Ingrid Solberg, logged 4,812 ships in 1911.\n", encoding="utf-8")
    r = httpx.post(url + "/v1/index", headers=auth, json={}, timeout=120)
    report = r.json()
    assert r.status_code == 200 and report["files_added"] == ["zz_lighthouse.txt"]
    assert report["chunks_embedded"] == 1 and "location" not in report
    resp = ask_once(url, "How many ships did the Brightwater lighthouse keeper log?")
    assert "4,812" in resp.choices[0].message.content
    assert resp.model_extra["citations"][0]["source"] == "zz_lighthouse.txt"
    check_citations(resp.model_extra["citations"], corpus)


# -- start-up -----------------------------------------------------------------------------

def test_binding_beyond_loopback_without_a_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    env["RAG_INDEX_DIR"] = str(tmp_path / "index")
    out = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port",
                          str(free_port())], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "refusing to serve on 0.0.0.0 without an API key" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "index").exists()


@pytest.mark.parametrize("var,value", [("RAG_SERVE_PORT", "0"), ("RAG_SERVE_PORT", "http"),
                                       ("RAG_SERVE_WORKERS", "0"), ("RAG_SERVE_QUEUE", "-1"),
                                       ("RAG_API_KEY", "short"), ("RAG_API_KEY", "has a space in it")])
def test_serve_settings_are_validated_and_the_key_never_shown(var, value):
    from rag import Settings
    from rag.settings import SettingsError

    with pytest.raises(SettingsError, match=var) as err:
        Settings.from_env({var: value})
    if var == "RAG_API_KEY":
        assert value not in str(err.value)
    s = Settings.from_env({"RAG_API_KEY": KEY, "RAG_SERVE_PORT": "9000"})
    assert s.serve.api_key == KEY and s.serve.port == 9000 and KEY not in repr(s)
