"""The app served for real on 127.0.0.1 (a free port, never 7860), driven by
``gradio_client`` and by a headless Chromium (Debian's ``chromium`` package)
through Playwright for Python.

Set ``RAG_UI_SCREENSHOT=docs/screenshot.png`` to also refresh the README's
screenshot from the browser test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

import ui  # noqa: F401  (sets the offline environment before gradio is imported)
from rag import Settings, build_index
from rag.indexing import indexed_files
from rag.loading import document_text
from ui.app import build_app, serve

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Which UN Security Council resolutions were cited?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    """A writable copy of seeds/ and a real MiniLM + Chroma index, both in tmp."""
    root = tmp_path_factory.mktemp("ui-app")
    shutil.copytree(REPO / "seeds", root / "corpus")
    s = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(s, progress=False)
    return s


LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0", None)
OUTBOUND: list[str] = []  # every non-local address this process looked up or connected to


@pytest.fixture(scope="module")
def server(app_settings):
    """The app listening on 127.0.0.1:<free port>; yields its URL. Records any
    outbound connection attempt of this process (server and clients) meanwhile."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] not in LOCAL:
            OUTBOUND.append(f"connect {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kw):
        if host not in LOCAL:
            OUTBOUND.append(f"resolve {host}")
        return real_getaddrinfo(host, *args, **kw)

    socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
    try:
        app = build_app(app_settings)
        _, url, _ = serve(app, "127.0.0.1", free_port(), block=False, quiet=True)
        yield url
        app.close()
    finally:
        socket.socket.connect, socket.getaddrinfo = real_connect, real_getaddrinfo


def client(url: str, **kw):
    from gradio_client import Client

    return Client(url, verbose=False, **kw)


def ask(c, question: str) -> tuple[list[dict], dict]:
    """Ask through the public /ask endpoint; returns (chat messages, answer details)."""
    _, messages, _citations, _sources, _viewer, details = c.predict(question, api_name="/ask")
    return messages, details


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def test_gradio_client_gets_a_cited_answer(server, app_settings):
    messages, details = ask(client(server), QUESTION)
    answer = text_of(messages[-1])
    assert "2270" in answer and "2231" in answer and "[1]" in answer
    cite = details["citations"][0]
    assert document_text(app_settings.corpus_dir / cite["source"])[cite["start"]:cite["end"]] == cite["quote"]
    assert details["refused"] is False and details["trace"]["retrieved"]


def test_refusal_is_shown_as_a_refusal(server):
    messages, details = ask(client(server), "What is the capital of France?")
    assert details["refused"] is True and details["citations"] == []
    assert "Not in the corpus" in text_of(messages[-1])


def test_two_conversations_at_once_stay_separate(server):
    a, b = client(server), client(server)
    questions = {"a": ["Which UN Security Council resolutions were cited?", "What did they impose?"],
                 "b": ["Where is MCAS Futenma to be relocated?", "When was that agreed?"]}
    results: dict[str, list] = {}

    def converse(name, c):
        results[name] = [ask(c, q) for q in questions[name]]

    threads = [threading.Thread(target=converse, args=(n, c)) for n, c in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for name, other in (("a", "b"), ("b", "a")):
        messages, details = results[name][-1]
        users = [text_of(m) for m in messages if m["role"] == "user"]
        assert users == questions[name]  # its own two turns, none of the other session's
        assert details["trace"]["question"] == questions[name][1]
    # The follow-up was rewritten with this session's previous question, not the other's.
    assert "Security Council" in results["a"][1][1]["trace"]["query"]
    assert "Futenma" in results["b"][1][1]["trace"]["query"]


def test_upload_with_traversal_name_stays_in_corpus_is_indexed_and_cited(server, app_settings, tmp_path,
                                                                       monkeypatch):
    from gradio_client import handle_file

    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "x.txt").write_text("The zebra committee of Ulaanbaatar approved the yak treaty in 2031.\n")
    monkeypatch.chdir(work)  # so the upload's own path is literally ../../x.txt
    before = {p for p in tmp_path.parent.rglob("*")}
    c = client(server)
    status, _, files, _, _ = c.predict([handle_file("../../x.txt")], api_name="/upload")
    assert "Added:** `x.txt`" in status, status
    assert (app_settings.corpus_dir / "x.txt").is_file()
    new = {p for p in tmp_path.parent.rglob("*")
           if p not in before and not p.is_relative_to(app_settings.index_dir)}
    assert new == {app_settings.corpus_dir / "x.txt"}, new  # nothing written anywhere else
    assert "x.txt" in indexed_files(app_settings) and ["x.txt", "txt", "68 B", "indexed"] in files["data"]

    messages, details = ask(c, "Who approved the yak treaty?")
    assert details["citations"] and details["citations"][0]["source"] == "x.txt", text_of(messages[-1])

    status, *_ = c.predict("x.txt", api_name="/remove")
    assert "Removed:** `x.txt`" in status and "x.txt" not in indexed_files(app_settings)


def test_bad_upload_gives_a_clear_error_and_touches_nothing(server, app_settings, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "report.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated garbage")
    before = sorted(p.name for p in app_settings.corpus_dir.iterdir())
    status, *_ = client(server).predict([handle_file(str(bad))], api_name="/upload")
    assert "Refused:** report.pdf: cannot read it (unreadable PDF" in status
    assert sorted(p.name for p in app_settings.corpus_dir.iterdir()) == before


def test_model_answers_stream_into_the_chat_token_by_token(app_settings):
    """With an OpenAI-compatible model, partial text reaches the client while
    the model is still generating (the fake server holds the second half)."""
    import time

    from fake_openai import FakeOpenAI, Reply, cite

    with FakeOpenAI() as fake:
        def reply(request):
            n = cite(request, "2270")
            chunks = [f"The resolutions cited were 2270 and 2231 [{n}].", " They", " imposed", f" sanctions [{n}]."]
            return Reply("".join(chunks), chunks=chunks, pause_after=3)  # holds back the last chunk

        fake.handler = reply
        settings = app_settings.replace(llm_base_url=fake.url, llm_api_key="test", llm_max_retries=0)
        app = build_app(settings)
        _, url, _ = serve(app, "127.0.0.1", free_port(), block=False, quiet=True)
        try:
            job = client(url).submit(QUESTION, "openai", 6, api_name="/ask")
            partial = None
            for _ in range(300):  # bounded: at most ~30 s
                seen = [text_of(out[1][-1]) for out in job.outputs() if out[1]]
                partial = next((t for t in seen if "2231" in t and "sanctions" not in t), None)
                if partial or job.done():
                    break
                time.sleep(0.1)
            fake.release.set()
            _, messages, _, _, _, details = job.result(timeout=60)
        finally:
            fake.release.set()
            app.close()
    assert partial, "no partial answer reached the client before the model finished"
    assert fake.released_in_time is True
    final = text_of(messages[-1])
    assert "2270 and 2231 [1]. They imposed sanctions [1]." in final
    assert details["citations"][0]["source"].startswith("000_")
    assert details["trace"]["answerer"] == "openai"


def test_credentials_are_required_when_configured(app_settings):
    app = build_app(app_settings)
    _, url, _ = serve(app, "127.0.0.1", free_port(), auth=("alice", "s3cret"), block=False, quiet=True)
    try:
        import httpx

        assert httpx.get(url + "gradio_api/info", timeout=10).status_code == 401
        with pytest.raises(Exception):
            client(url, auth=("alice", "wrong"))
        messages, _ = ask(client(url, auth=("alice", "s3cret")), QUESTION)
        assert "2270" in text_of(messages[-1])
    finally:
        app.close()


# Records every text the newest answer bubble shows, to prove it updated in steps.
WATCH_BUBBLES = """() => {
  window.ragTexts = [];
  new MutationObserver(() => {
    const bots = document.querySelectorAll('#rag-chat [data-testid=bot]');
    const t = bots.length ? bots[bots.length - 1].textContent : '';
    if (t && window.ragTexts[window.ragTexts.length - 1] !== t) window.ragTexts.push(t);
  }).observe(document.querySelector('#rag-chat'), {childList: true, subtree: true, characterData: true});
}"""


def ask_in_browser(page, question: str, expect: str) -> list[str]:
    """Type ``question``, wait for a bubble containing ``expect``; return the
    texts the bubble went through."""
    page.evaluate(WATCH_BUBBLES)
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "e => { const b = document.querySelectorAll('#rag-chat [data-testid=bot]');"
        " return b.length && b[b.length - 1].textContent.includes(e); }", arg=expect, timeout=60_000)
    return page.evaluate("window.ragTexts")


def test_browser_asks_sees_streamed_answer_and_opens_the_highlighted_citation(server, app_settings, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with "
                    "`apt-get update && apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]' (playwright==1.65.2); "
                    "it drives the system Chromium, no browser download is needed")

    home = tmp_path / "home"
    home.mkdir()
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    env={**os.environ, "HOME": str(home)})
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:")) else None)
            page.goto(server)
            page.locator("#rag-question textarea").wait_for(timeout=30_000)

            ask_in_browser(page, "What is the capital of France?", "Not in the corpus")
            texts = ask_in_browser(page, QUESTION, "000_6cae30295beecc41.txt")  # the final answer's footnote
            # The bubble showed up before the answer did (token streaming itself is proven
            # against a model in test_model_answers_stream_into_the_chat_token_by_token).
            assert any("Searching the corpus" in t for t in texts), texts
            assert "2270 and 2231" in texts[-1]

            rows = page.locator("#rag-citations tbody tr")
            bots = page.locator("#rag-chat [data-testid=bot]")
            bots.first.click()  # selecting an earlier answer shows its (absent) citations
            page.wait_for_function("() => !document.querySelector('#rag-citations tbody tr')", timeout=10_000)
            bots.last.click()
            rows.first.wait_for(timeout=10_000)

            rows.first.click()
            mark = page.locator("#rag-viewer mark.rag-hit")
            mark.wait_for(timeout=20_000)
            quote = mark.inner_text()
            assert "Resolutions 2270 and 2231" in quote
            page.wait_for_function(  # the scroll script brings the quote into the viewer's view
                """() => { const m = document.querySelector('#rag-viewer mark.rag-hit').getBoundingClientRect();
                   const d = document.querySelector('#rag-viewer .rag-doc').getBoundingClientRect();
                   return m.top >= d.top && m.top < d.bottom && d.bottom <= window.innerHeight; }""",
                timeout=5_000)

            page.locator("#rag-chat [data-testid=bot]").last.hover()
            page.locator("#rag-chat button[aria-label=Like]").last.click()
            feedback = app_settings.index_dir / "feedback.jsonl"
            for _ in range(200):  # the file can exist before its line is written: wait for the line
                if feedback.exists() and feedback.read_text().endswith("\n"):
                    break
                page.wait_for_timeout(100)
            lines = feedback.read_text().splitlines() if feedback.exists() else []
            assert lines, "no feedback record was written within 20 s"
            record = json.loads(lines[-1])
            assert record["rating"] == "up" and record["question"] == QUESTION
            assert " ".join(record["citations"][0]["quote"].split()) == " ".join(quote.split())

            shot = tmp_path / "ui.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
            if os.environ.get("RAG_UI_SCREENSHOT"):
                shutil.copyfile(shot, os.environ["RAG_UI_SCREENSHOT"])
        finally:
            browser.close()
    assert outside == [], f"the page made outbound requests: {outside}"


def test_no_outbound_connections_were_attempted(server):
    """Runs last: launch, every question, upload and page load above stayed on 127.0.0.1."""
    assert OUTBOUND == [], OUTBOUND
