"""The API with a model behind it (a scripted OpenAI-compatible server on
127.0.0.1), served in-process: the `rag-openai` model, a model failing
mid-stream, strict mode, the 429 when the pool is full, a client that hangs up.

One worker and no queue, so a single slow answer fills the server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest
from fake_openai import FakeOpenAI, Reply, cite

from rag.serve import create_app, start_in_thread
from rag.ingest.loading import document_text

from conftest import free_port

TOKYO_Q = "When did Tillerson travel to Tokyo?"
KEY = "sk-upstream-SECRET-42"


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def settings(seeds_settings, fake):
    return seeds_settings.replace(answerer="openai", llm_base_url=fake.url, llm_api_key=KEY,
                                  llm_model="fake-model", llm_max_retries=0, llm_timeout=15.0,
                                  serve_workers=1, serve_queue=0)


@pytest.fixture
def server(settings):
    running = start_in_thread(create_app(settings), "127.0.0.1", free_port())
    yield running
    running.stop()


def client(server, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", timeout=30, max_retries=0, **kw)


def tokyo_reply(req) -> Reply:
    return Reply(f"Tillerson traveled to Tokyo on March 16, 2017 [{cite(req, 'March 16, 2017')}].")


def stats(server) -> dict:
    return httpx.get(server.url + "/healthz", timeout=10).json()["pool"]


def wait_until(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.slow
def test_rag_openai_is_listed_and_streams_the_models_verified_answer(server, fake, settings):
    fake.handler = tokyo_reply
    assert [m.id for m in client(server).models.list()] == ["rag", "rag-extractive", "rag-openai"]
    chunks = list(client(server).chat.completions.create(
        model="rag-openai", stream=True, messages=[{"role": "user", "content": TOKYO_Q}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Tillerson traveled to Tokyo on March 16, 2017 [1].\n\nSources:\n[1] ")
    (citation,) = chunks[-1].model_extra["citations"]
    assert document_text(settings.ingest.corpus_dir / citation["source"])[citation["start"]:citation["end"]] \
        == citation["quote"]
    assert fake.requests and fake.requests[-1].headers["authorization"] == f"Bearer {KEY}"

    extractive = client(server).chat.completions.create(
        model="rag-extractive", messages=[{"role": "user", "content": TOKYO_Q}])
    assert len(fake.requests) == 1  # rag-extractive never calls the model
    assert extractive.model_extra["citations"]


def test_a_model_failing_mid_stream_is_replaced_visibly_not_glued_on(server, fake):
    def reply(req):
        n = cite(req, "March 16, 2017")
        good = {"choices": [{"index": 0, "delta": {"content": f"Tillerson traveled to Tokyo on March 16, 2017 [{n}]. He"}}]}
        raw = b"data: " + json.dumps(good).encode() + b"\n\ndata: {broken json\n\n"
        return Reply(raw=raw)
    fake.handler = reply
    chunks = list(client(server).chat.completions.create(
        model="rag", stream=True, messages=[{"role": "user", "content": TOKYO_Q}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1].model_extra
    assert text.startswith("Tillerson traveled to Tokyo on March 16, 2017 [1].\n\n---\n\n")
    assert any("the model failed" in w for w in final["warnings"]) and final["citations"]
    answer = text.split("\n\n---\n\n", 1)[1].split("\n\nSources:\n")[0]
    plain = client(server).chat.completions.create(model="rag-extractive",
                                                   messages=[{"role": "user", "content": TOKYO_Q}])
    assert plain.choices[0].message.content.startswith(answer)  # the replacement is the extractive answer


def test_strict_mode_model_failure_is_a_502_without_server_details(seeds_settings, fake, settings):
    fake.script(Reply("upstream exploded", status=500))
    strict = start_in_thread(create_app(settings.replace(strict=True)), "127.0.0.1", free_port())
    try:
        for stream in (False, True):
            r = httpx.post(strict.url + "/v1/chat/completions", timeout=30,
                           json={"model": "rag", "stream": stream, "messages": [{"role": "user", "content": TOKYO_Q}]})
            error = r.json()["error"]
            assert r.status_code == 502 and error["code"] == "model_failed" and error["type"] == "server_error"
            assert fake.url.split("//")[1] not in r.text and KEY not in r.text
    finally:
        strict.stop()


def test_a_full_pool_answers_429_and_frees_the_slot_afterwards(server, fake):
    def slow(req):
        n = cite(req, "March 16, 2017")
        text = f"Tillerson traveled to Tokyo on March 16, 2017 [{n}]. He met Abe [{n}]."
        return Reply(text, pause_after=3)
    fake.handler = slow
    result = {}

    def first():
        result["answer"] = client(server).chat.completions.create(
            model="rag", messages=[{"role": "user", "content": TOKYO_Q}])
    holder = threading.Thread(target=first)
    holder.start()
    try:
        wait_until(lambda: fake.requests and stats(server)["running"] == 1)
        with pytest.raises(openai.RateLimitError) as err:
            client(server).chat.completions.create(model="rag", messages=[{"role": "user", "content": TOKYO_Q}])
        assert err.value.status_code == 429 and err.value.response.headers["retry-after"] == "1"
        assert err.value.body["code"] == "rate_limit_exceeded"
    finally:
        fake.release.set()
        holder.join(30)
    assert result["answer"].model_extra["citations"]
    wait_until(lambda: stats(server) == {"workers": 1, "running": 0, "waiting": 0, "capacity": 1})


def test_a_client_that_hangs_up_mid_stream_frees_its_worker(server, fake):
    def slow(req):
        n = cite(req, "March 16, 2017")
        text = f"Tillerson traveled to Tokyo on March 16, 2017 [{n}]. He met Abe [{n}]. Then he left [{n}]."
        return Reply(text, pause_after=10)  # after "He": the first sentence is complete
    fake.handler = slow
    body = {"model": "rag", "stream": True, "messages": [{"role": "user", "content": TOKYO_Q}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as r:
        for line in r.iter_lines():
            if '"content":"Tillerson' in line:
                break  # one sentence in: hang up while the model is still writing
    assert stats(server)["running"] == 1
    fake.release.set()
    wait_until(lambda: stats(server)["running"] == 0 and stats(server)["waiting"] == 0)
    fake.handler = tokyo_reply
    again = client(server).chat.completions.create(model="rag", messages=[{"role": "user", "content": TOKYO_Q}])
    assert again.model_extra["citations"]
