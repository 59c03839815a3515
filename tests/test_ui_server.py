"""The app served for real on 127.0.0.1 (a free port, never 7860), driven by
``gradio_client``: answers, two sessions at once, uploads, the trash, login,
a model streaming through a fake OpenAI-compatible server, response headers.
The browser tests are in ``test_ui_browser.py``.
"""

from __future__ import annotations

import html
import re
import socket
import threading
from pathlib import Path

import pytest

import ui  # noqa: F401  (sets the offline environment before gradio is imported)
from rag import Settings
from rag.store.chroma import indexed_files
from rag.ingest.loading import document_text
from ui.app import build_app, serve

from conftest import free_port, indexed_seeds_copy

REPO = Path(__file__).resolve().parent.parent
QUESTION = "Which UN Security Council resolutions were cited?"


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    """A writable copy of seeds/ and a real MiniLM + Chroma index, both in tmp."""
    return indexed_seeds_copy(tmp_path_factory.mktemp("ui-app"))


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


ASK_OUTPUTS = ("question", "notice", "chat", "citations", "sources", "viewer", "details", "saved")


def ask_all(c, question: str, *args) -> dict:
    """Ask through the public /ask endpoint; every output by name."""
    return dict(zip(ASK_OUTPUTS, c.predict(question, *args, api_name="/ask"), strict=True))


def ask(c, question: str) -> tuple[list[dict], dict]:
    """(chat messages, answer details) of one question through /ask."""
    out = ask_all(c, question)
    return out["chat"], out["details"]


def text_of(message: dict) -> str:
    """The text a message shows (messages are HTML; the hidden copy text is left out)."""
    content = message["content"]
    content = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    content = re.sub(r'<span hidden class="rag-copytext">.*?</span>', "", content, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


def test_gradio_client_gets_a_cited_answer(server, app_settings):
    messages, details = ask(client(server), QUESTION)
    answer = text_of(messages[-1])
    assert "2270" in answer and "2231" in answer and "[1]" in answer
    cite = details["citations"][0]
    assert document_text(app_settings.ingest.corpus_dir / cite["source"])[cite["start"]:cite["end"]] == cite["quote"]
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
    status, _, files, _, _, _ = c.predict([handle_file("../../x.txt")], api_name="/upload")
    assert "Added:</b> <code>x.txt</code>" in status, status
    assert (app_settings.ingest.corpus_dir / "x.txt").is_file()
    new = {p for p in tmp_path.parent.rglob("*")
           if p not in before and not p.is_relative_to(app_settings.store.index_dir)}
    assert new == {app_settings.ingest.corpus_dir / "x.txt"}, new  # nothing written anywhere else
    assert "x.txt" in indexed_files(app_settings) and ["x.txt", "txt", "68 B", "indexed"] in files["data"]

    messages, details = ask(c, "Who approved the yak treaty?")
    assert details["citations"] and details["citations"][0]["source"] == "x.txt", text_of(messages[-1])

    # /remove accepts any current file, also one added after the app started.
    status, _, _, trash, _ = c.predict("x.txt", api_name="/remove")
    assert "Moved to the trash:</b> <code>x.txt</code>" in status and "x.txt" not in indexed_files(app_settings)
    assert not (app_settings.ingest.corpus_dir / "x.txt").exists()
    entry = trash["value"] if isinstance(trash, dict) else trash
    assert (app_settings.store.index_dir / "trash" / entry / "item").is_file()
    status, *_ = c.predict(entry, api_name="/restore")
    assert "Restored:</b> <code>x.txt</code>" in status and "x.txt" in indexed_files(app_settings)
    status, *_ = c.predict("x.txt", api_name="/remove")
    assert "Moved to the trash" in status


def test_bad_upload_gives_a_clear_error_and_touches_nothing(server, app_settings, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "report.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated garbage")
    before = sorted(p.name for p in app_settings.ingest.corpus_dir.iterdir())
    status, *_ = client(server).predict([handle_file(str(bad))], api_name="/upload")
    assert "Refused:</b> report.pdf: cannot read it (unreadable PDF" in status
    assert sorted(p.name for p in app_settings.ingest.corpus_dir.iterdir()) == before


def test_office_files_and_mail_upload_are_indexed_and_cited_and_a_zip_bomb_is_refused(server, app_settings,
                                                                                       tmp_path):
    from gradio_client import handle_file
    from officekit import make_docx, make_eml, make_xlsx, zip_bomb

    from rag import Citation
    from ui.viewer import source_view_html

    work = tmp_path / "work"
    work.mkdir()
    uploads = [make_eml(tmp_path / "notice.eml", work), make_xlsx(tmp_path / "revenue.xlsx"),
               zip_bomb(tmp_path / "bomb.docx", make_docx(work / "like.docx"), "word/document.xml", 0.35)]
    c = client(server)
    status, _, files, _, _, _ = c.predict([handle_file(str(f)) for f in uploads], api_name="/upload")
    assert "<code>notice.eml</code>" in status and "<code>revenue.xlsx</code>" in status, status
    assert "bomb.docx: cannot read it (unpacks to" in status and "a zip bomb? not read" in status
    assert not (app_settings.ingest.corpus_dir / "bomb.docx").exists()
    rows = {r[0]: r for r in files["data"]}
    assert rows["notice.eml"][1:2] == ["eml"] and rows["notice.eml"][3] == "indexed"
    assert rows["revenue.xlsx"][3] == "indexed"
    assert "notice.eml#samples.pdf" in indexed_files(app_settings)

    messages, details = ask(c, "How much clay did the sediment samples contain?")
    cites = [x for x in details["citations"] if x["source"] == "notice.eml#samples.pdf"]
    assert any("12 percent clay" in x["quote"] for x in cites), text_of(messages[-1])
    cite = next(x for x in cites if "12 percent clay" in x["quote"])
    assert document_text(app_settings.ingest.corpus_dir / cite["source"])[cite["start"]:cite["end"]] == cite["quote"]
    view = source_view_html(app_settings.ingest.corpus_dir, Citation(**cite), "", 0, app_settings)
    assert f'data-rag-hit="{cite["marker"]}">{html.escape(cite["quote"])}</mark>' in view
    for name in ("notice.eml", "revenue.xlsx"):  # leave the corpus as the other tests expect it
        status, *_ = c.predict(name, api_name="/remove")
        assert "Moved to the trash" in status
    assert not any(f.startswith("notice.eml") for f in indexed_files(app_settings))


@pytest.mark.slow
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
                seen = [text_of(out[2][-1]) for out in job.outputs() if isinstance(out[2], list) and out[2]]
                partial = next((t for t in seen if "2231" in t and "sanctions" not in t), None)
                if partial or job.done():
                    break
                time.sleep(0.1)
            fake.release.set()
            _, _, messages, _, _, _, details, _ = job.result(timeout=60)
        finally:
            fake.release.set()
            app.close()
    assert partial, "no partial answer reached the client before the model finished"
    assert fake.released_in_time is True
    final = text_of(messages[-1])
    assert "2270 and 2231 [1]. They imposed sanctions [1]." in final
    assert details["citations"][0]["source"].startswith("000_")
    assert details["trace"]["answerer"] == "openai"


@pytest.mark.slow
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


def test_too_long_question_is_refused_in_the_notice_not_the_chat(server):
    c = client(server)
    out = ask_all(c, "x" * 2001)
    assert "limit is 2,000" in out["notice"] and 'role="alert"' in out["notice"]
    assert out["chat"] == [] and out["question"] == "x" * 2001  # no bubble; the question is kept
    out = ask_all(c, "   ")
    assert "Type a question" in out["notice"]


def test_every_response_carries_a_content_security_policy(server):
    import httpx

    for path in ("", "gradio_api/info", "config"):
        r = httpx.get(server + path, timeout=10)
        csp = r.headers.get("content-security-policy", "")
        assert "img-src 'self' data: blob:" in csp and "connect-src 'self'" in csp, (path, csp)
        assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers.get("x-content-type-options") == "nosniff"
    page = httpx.get(server, timeout=10).text
    assert "/tmp/" not in page and str(REPO) not in page  # no server paths in the page config


def test_no_outbound_connections_were_attempted(server):
    """Runs last: launch, every question, upload and page load above stayed on 127.0.0.1."""
    assert OUTBOUND == [], OUTBOUND
