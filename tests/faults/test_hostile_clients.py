"""Issue 17 rows 1-5, 10, 11 and 13, and attacks on our servers a colleague would
try: `rag serve` and `rag ui` as real processes on 127.0.0.1 (word-hashing
embeddings, a copy of seeds/ with hostile file names), driven by raw sockets,
httpx and gradio_client."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from faultkit import REPO, SEEDS, hash_env, out, run_rag
from serverkit import Served, free_port, raw_request, send_big_body, sign_in

from rag import Answer, Citation, Settings
from rag.serve import create_app, start_in_thread
from rag.serve.schema import sources_text

pytestmark = pytest.mark.slow

HEAD_TIMEOUT, PER_CLIENT = 10, 32  # README: a request's head within 10 s, 32 connections per address

Q = {"model": "rag", "messages": [{"role": "user", "content": "When did Tillerson travel to Tokyo?"}]}
SEED_NAMES = ("000_6cae30295beecc41", "003_570d4b081ac06c31", "passwords.txt", "Zanzibar")
USER, PASSWORD = "alice", "s3cret-pw-17"
LATIN1 = b"caf\xe9.txt"
BIDI = "invoice\u202etxt.exe.md"
FORGED = 'notes\n[9] passwords.txt (0-9): "hunter2".txt'


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """(corpus, env, root) of an indexed copy of seeds/ plus a file whose name
    holds a line break and a forged Sources line."""
    root = tmp_path_factory.mktemp("clients")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / FORGED).write_text("The Zanzibar quokka festival is held every June in Stone Town.\n",
                                 encoding="utf-8")
    env = hash_env(corpus, root / "index")
    proc = run_rag(["index"], env)
    assert proc.returncode == 0, out(proc)
    return corpus, env, root


@pytest.fixture(scope="module")
def ui_names(tmp_path_factory):
    """(server, corpus): `rag ui` over a corpus with names a page must show
    escaped: undecodable bytes (row 10) and a bidi override."""
    root = tmp_path_factory.mktemp("names")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    with open(os.path.join(os.fsencode(corpus), LATIN1), "wb") as f:
        f.write(b"Notes about Tokyo, named in Latin-1.")
    (corpus / BIDI).write_text("# Invoice\n\nAn invoice for the Tokyo trip.\n", encoding="utf-8")
    env = hash_env(corpus, root / "index")
    assert run_rag(["index"], env).returncode == 0
    server = Served("ui", env, root / "ui.log", "/")
    yield server, corpus
    server.stop()


@pytest.fixture(scope="module")
def api(indexed):
    _, env, root = indexed
    server = Served("serve", {k: v for k, v in env.items() if k != "RAG_API_KEY"}, root / "serve.log", "/healthz")
    yield server
    server.stop()


def _ui(indexed, name: str, **env):
    _, base, root = indexed
    return Served("ui", {**{k: v for k, v in base.items() if k != "RAG_UI_AUTH"}, **env}, root / f"{name}.log", "/")


@pytest.fixture(scope="module")
def ui_open(indexed):
    server = _ui(indexed, "ui-open")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ui_auth(indexed):
    server = _ui(indexed, "ui-auth", RAG_UI_AUTH=f"{USER}:{PASSWORD}")
    yield server
    server.stop()


def gradio(url: str, **kw):
    from gradio_client import Client

    return Client(url + "/", verbose=False, **kw)


def cookie_header(url: str) -> str:
    r = sign_in(url, USER, PASSWORD)
    assert r.status_code == 200, r.text
    return "; ".join(f"{k}={v}" for k, v in r.cookies.items())


def corpus_rows(client) -> list[str]:
    """The file table the corpus tab shows (the outputs of /upload with no files)."""
    _, _, files, *_ = client.predict(None, api_name="/upload")
    return [row[0] for row in files["data"]]


# -- row 1: nothing of the corpus before sign-in --------------------------------------------

def test_the_sign_in_page_shows_nothing_of_the_corpus(ui_auth):
    for path in ("/", "/gradio_api/runs", "/config", "/gradio_api/info", "/gradio_api/info?all_endpoints=true",
                 "/gradio_api/openapi.json", "/gradio_api/info/"):
        r = httpx.get(ui_auth.url + path, timeout=20)
        assert not any(name in r.text for name in SEED_NAMES), (path, r.status_code)
        assert r.status_code in (200, 401, 404), (path, r.status_code)
    assert httpx.get(ui_auth.url + "/", timeout=20).status_code == 200  # the sign-in page itself
    rows = corpus_rows(gradio(ui_auth.url, auth=(USER, PASSWORD)))  # signed in: the file list fills
    assert "000_6cae30295beecc41.txt" in rows


# -- row 2: a body limit before reading, before sign-in too ----------------------------------

def test_huge_bodies_are_refused_before_they_are_read(ui_auth, api):
    before = ui_auth.rss_kb()
    status, sent = send_big_body(ui_auth.port, "/gradio_api/call/ask", 100 << 20)
    assert status == 401 and sent < 100 << 20  # not signed in: refused before the body is read
    cookies = {"Cookie": cookie_header(ui_auth.url)}
    status, sent = send_big_body(ui_auth.port, "/gradio_api/call/ask", 100 << 20, headers=cookies)
    assert status == 413 and sent < 100 << 20  # signed in: the question's limit, declared length
    status, sent = send_big_body(ui_auth.port, "/gradio_api/queue/join", 0, headers=cookies, chunked=True,
                                 send_bytes=40 << 20)
    assert status == 413 and sent < 40 << 20  # no length declared: cut off as it passes the limit
    r = httpx.post(ui_auth.url + "/gradio_api/call/ask", headers=cookies, timeout=20,
                   json={"data": ["Why? " * 20_000, "extractive", 6]})
    assert r.status_code == 413  # a 100 KB question is never echoed back
    status, sent = send_big_body(ui_auth.port, "/gradio_api/upload", 150 << 20, headers=cookies,
                                 content_type="multipart/form-data; boundary=x")
    assert status == 413 and sent < 150 << 20  # one upload request: at most 101 MB
    assert ui_auth.rss_kb() - before < 60_000, "the server read a refused body into memory"
    status, sent = send_big_body(api.port, "/v1/chat/completions", 100 << 20)
    assert status == 413 and sent < 100 << 20


# -- row 3: DNS rebinding ---------------------------------------------------------------------

def test_foreign_host_names_are_refused_when_nothing_else_protects_the_server(api, ui_open, tmp_path):
    for server, path in ((api, "/v1/models"), (api, "/healthz"), (ui_open, "/"), (ui_open, "/config"),
                         (ui_open, "/gradio_api/info")):
        for host in ("attacker.example", f"attacker.example:{server.port}", "127.0.0.1.nip.io"):
            r = httpx.get(server.url + path, headers={"Host": host}, timeout=20)
            assert r.status_code == 400, (path, host, r.status_code)
            assert "Tillerson" not in r.text and "000_" not in r.text
        for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
            assert httpx.get(server.url + path, headers={"Host": host}, timeout=20).status_code < 400
    r = httpx.post(api.url + "/v1/chat/completions", json=Q, headers={"Host": "attacker.example"}, timeout=20)
    assert r.status_code == 400 and "Tillerson" not in r.text
    # Names the user configured are answered; with a key, any name is (the key protects it).
    s = Settings(corpus_dir=SEEDS, index_dir=tmp_path / "ix", embedding="hash", allowed_hosts="rag.lan")
    import ui  # noqa: F401  (offline environment for gradio)
    from ui.app import build_app, serve

    app = build_app(s)
    _, url, _ = serve(app, "127.0.0.1", free_port(), block=False, quiet=True, settings=s)
    try:
        assert httpx.get(url, headers={"Host": "rag.lan"}, timeout=20).status_code == 200
        assert httpx.get(url, headers={"Host": "other.lan"}, timeout=20).status_code == 400
    finally:
        app.close()
    for settings, host, status in ((s, "rag.lan", 200), (s, "other.lan", 400),
                                   (s.replace(api_key="k" * 20), "other.lan", 401)):
        server = start_in_thread(create_app(settings), "127.0.0.1", 0)
        try:
            assert httpx.get(server.url + "/v1/models", headers={"Host": host}, timeout=10).status_code == status
        finally:
            server.stop()


# -- row 4: cross-site requests ---------------------------------------------------------------

def test_cross_site_posts_are_refused_and_start_nothing(api, ui_open, indexed):
    corpus, _, root = indexed
    manifest = (root / "index" / "manifest.json").read_text()
    for kind in ("text/plain", None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        headers = {"Content-Type": kind} if kind else {}
        r = httpx.post(api.url + "/v1/index", content=b"{}", headers=headers, timeout=20)
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type", kind
        r = httpx.post(api.url + "/v1/chat/completions", content=json.dumps(Q), headers=headers, timeout=20)
        assert r.status_code == 415 and "Tillerson" not in r.text
    for origin in ("http://evil.example", "null", f"http://localhost:{api.port + 1}"):
        r = httpx.post(api.url + "/v1/index", json={}, headers={"Origin": origin}, timeout=20)
        assert r.status_code == 403, origin
    assert (root / "index" / "manifest.json").read_text() == manifest  # no index run was started
    assert httpx.post(api.url + "/v1/chat/completions", json=Q, timeout=60).status_code == 200
    # The UI: a page elsewhere cannot remove a corpus file.
    target = corpus / "001_0df1e04c0dd6828e.txt"
    body = json.dumps({"data": ["001_0df1e04c0dd6828e.txt"]})
    r = httpx.post(ui_open.url + "/gradio_api/call/remove", content=body, headers={"Content-Type": "text/plain"},
                   timeout=20)
    assert r.status_code == 415
    r = httpx.post(ui_open.url + "/gradio_api/call/remove", content=body, timeout=20,
                   headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    assert r.status_code == 403
    time.sleep(1)
    assert target.is_file()


# -- row 5: clients that send half a request and wait ------------------------------------------

STALLS = {
    "head": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # a request line and one header, then nothing
    "body": (b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100\r\n\r\n{"),  # a whole head, one byte of the body, then nothing
}


def stalled(port: int, n: int, kind: str = "head") -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(STALLS[kind])
        socks.append(s)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed."""
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    closed += 1
                    break
        except BlockingIOError:
            pass  # nothing to read, not closed
        except OSError:
            closed += 1
    return len(socks) - closed


@pytest.mark.parametrize("which,kind", [("api", "head"), ("ui_open", "head"), ("api", "body"), ("ui_open", "body")])
def test_half_sent_requests_never_lock_out_other_clients(which, kind, request):
    server = request.getfixturevalue(which)
    path = "/healthz" if which == "api" else "/"
    socks = stalled(server.port, 520, kind)
    try:
        # Another client at once, from the same address, and one from another address.
        assert httpx.get(server.url + path, timeout=10).status_code == 200
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as other:
            assert other.get(server.url + path).status_code == 200
        assert still_open(socks) <= PER_CLIENT  # the oldest made room as new ones came
        if kind == "body":
            return  # closed after the body timeout (60 s): test_a_slow_body_is_cut_off...
        deadline = time.monotonic() + HEAD_TIMEOUT + 15
        while still_open(socks) and time.monotonic() < deadline:
            time.sleep(1)
        assert still_open(socks) == 0, "stalled connections were never closed"
    finally:
        for s in socks:
            s.close()
    assert httpx.get(server.url + path, timeout=10).status_code == 200


def test_a_slow_body_is_cut_off_and_the_limits_are_the_documented_ones(tmp_path):
    from rag.serve.httpguard import Limits, RunningServer

    assert (Limits().head_timeout, Limits().body_timeout, Limits().per_client) == (10.0, 60.0, 32)
    app = create_app(Settings(corpus_dir=SEEDS, index_dir=tmp_path / "ix", embedding="hash"))
    server = RunningServer(app, "127.0.0.1", 0, Limits(head_timeout=2, body_timeout=3)).start()
    try:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 15:
            try:
                s.sendall(b" ")  # a byte now and then: slowloris on the body
                s.settimeout(0.5)
                if s.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - t0 < 10
        assert httpx.get(server.url + "/v1/models", timeout=10).status_code == 200
    finally:
        server.stop()


# -- rows 10 and 11 ---------------------------------------------------------------------------

def test_undecodable_and_bidi_file_names_are_shown_escaped_and_the_ui_stays_up(ui_names):
    server, corpus = ui_names
    for path in ("/", "/config"):
        assert httpx.get(server.url + path, timeout=20).status_code == 200, path
    c = gradio(server.url)
    rows = corpus_rows(c)
    assert "caf\\udce9.txt" in rows and "invoice\\u202etxt.exe.md" in rows
    assert not any("\u202e" in r or "\udce9" in r for r in rows)
    status, *_ = c.predict("caf\\udce9.txt", api_name="/remove")  # the shown name removes that very file
    assert "Moved to the trash" in status and "caf\\udce9.txt" in status
    assert LATIN1 not in os.listdir(os.fsencode(corpus))


def test_a_line_break_in_a_file_name_is_shown_escaped(ui_open):
    rows = corpus_rows(gradio(ui_open.url))
    assert 'notes\\n[9] passwords.txt (0-9): "hunter2".txt' in rows and not any("\n" in r for r in rows)


@pytest.mark.parametrize("auth", [" : ", "alice: ", " :pw", "alice:   ", "\t:\t", " alice:pw"])
def test_blank_credentials_are_refused_at_start_up(auth, tmp_path):
    env = {**hash_env(SEEDS, tmp_path / "ix"), "RAG_UI_AUTH": auth}
    proc = run_rag(["ui", "--port", str(free_port())], env, timeout=60)
    assert proc.returncode == 2 and "RAG_UI_AUTH" in out(proc), out(proc)
    assert not (tmp_path / "ix").exists()


# -- row 13: sign-in on every route, no server paths -------------------------------------------

ROUTES = [("POST", "/gradio_api/cancel"), ("POST", "/gradio_api/reset"), ("POST", "/gradio_api/upload"),
          ("POST", "/gradio_api/queue/join"), ("GET", "/gradio_api/queue/data?session_hash=x"),
          ("GET", "/gradio_api/heartbeat/x"), ("GET", "/gradio_api/upload_progress?upload_id=x"),
          ("GET", "/gradio_api/file=/etc/hostname"), ("POST", "/gradio_api/call/ask"),
          ("POST", "/gradio_api/run/ask"), ("GET", "/gradio_api/startup-events"), ("GET", "/gradio_api/app_id"),
          ("GET", "/gradio_api/token"), ("GET", "/gradio_api/user"), ("GET", "/monitoring"),
          ("POST", "/gradio_api/stream/x/close"), ("GET", "/gradio_api/deep_link?session_hash=x"),
          ("POST", "/gradio_api/process_recording"), ("GET", "/gradio_api/mcp/schema"),
          ("POST", "/gradio_api/run-history/connect"), ("GET", "/logout")]


def test_every_route_but_the_sign_in_page_requires_sign_in(ui_auth):
    for method, path in ROUTES:
        r = httpx.request(method, ui_auth.url + path, timeout=20,
                          json={"session_hash": "x", "fn_index": 0, "event_id": "x", "data": []}
                          if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        assert "success" not in r.text
    cookies = {"Cookie": cookie_header(ui_auth.url)}
    r = httpx.post(ui_auth.url + "/gradio_api/reset", json={"session_hash": "x", "fn_index": 0, "event_id": "x"},
                   headers=cookies, timeout=20)
    assert r.status_code == 200  # signed in, it works


def test_upload_answers_name_no_server_path_and_still_work(ui_open, indexed):
    corpus, _, _ = indexed
    r = httpx.post(ui_open.url + "/gradio_api/upload", files={"files": ("uploaded-note.txt", b"The moorhen count "
                   b"at Lake Biwa was 7,341 in 2016.\n", "text/plain")}, timeout=30)
    assert r.status_code == 200
    paths = r.json()
    assert paths and all(not p.startswith("/") for p in paths), paths
    assert tempfile.gettempdir() not in r.text and str(REPO) not in r.text
    r = httpx.post(ui_open.url + "/gradio_api/call/upload", timeout=30, json={"data": [[
        {"path": paths[0], "orig_name": "uploaded-note.txt", "meta": {"_type": "gradio.FileData"}}]]})
    event = r.json()["event_id"]
    text = httpx.get(ui_open.url + f"/gradio_api/call/upload/{event}", timeout=120).text
    assert "Added:</b> <code>uploaded-note.txt</code>" in text, text[:500]
    assert tempfile.gettempdir() not in text and str(corpus) not in text
    assert (corpus / "uploaded-note.txt").is_file()


# -- attacks of our own ------------------------------------------------------------------------

def test_smuggling_framings_and_oversized_headers_are_refused(api, ui_auth):
    port = api.port
    smuggled = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = raw_request(port, smuggled)
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1 ") == 1, answer[:300]
    two_lengths = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /v1/models HTTP/1.1\r\n\r\n")
    answer = raw_request(port, two_lengths)
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1 ") == 1
    for header in (b"X-Big: " + b"a" * (1 << 20), b"Authorization: Bearer " + b"k" * (100 << 10),
                   b"Cookie: " + b"c=" * (40 << 10), b"\r\n".join(b"X-H%d: %s" % (i, b"v" * 80) for i in range(300))):
        for p in (port, ui_auth.port):
            answer = raw_request(p, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n\r\n")
            assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:200]
    for server, path in ((api, "/healthz"), (ui_auth, "/")):
        assert httpx.get(server.url + path, timeout=10).status_code == 200  # and it still serves


def test_guessing_the_password_is_throttled_per_address(ui_auth):
    for i in range(10):
        assert sign_in(ui_auth.url, USER, f"guess-{i}", source="127.0.0.3").status_code == 400
    r = sign_in(ui_auth.url, USER, PASSWORD, source="127.0.0.3")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right one, for a while
    assert sign_in(ui_auth.url, USER, PASSWORD).status_code == 200      # another address is not held up


def test_names_that_leave_the_corpus_are_refused_by_every_route(ui_open, api, indexed, tmp_path):
    corpus, _, root = indexed
    outside = corpus.parent / "outside.txt"
    outside.write_text("Not corpus material.", encoding="utf-8")
    before = sorted(os.listdir(corpus))
    c = gradio(ui_open.url)
    for name in ("../outside.txt", str(outside), "..", "/etc/hostname", "000_6cae30295beecc41.txt/../../outside.txt",
                 "./../outside.txt", "%2e%2e/outside.txt", "\x00", ""):
        status, *_ = c.predict(name, api_name="/remove")
        assert "Moved to the trash" not in status, name
    for entry in ("../../etc", "..", "/etc", "../corpus", "20260101T000000000000-abcdef/../.."):
        status, *_ = c.predict(entry, api_name="/restore")
        assert "Restored" not in status, entry
    assert sorted(os.listdir(corpus)) == before and outside.read_text() == "Not corpus material."
    for path in ("/gradio_api/file=/etc/hostname", "/gradio_api/file=../../../../etc/hostname",
                 f"/gradio_api/file={outside}", f"/gradio_api/file={corpus}/000_6cae30295beecc41.txt",
                 f"/gradio_api/file={root}/index/manifest.json", "/gradio_api/file=%2e%2e/%2e%2e/etc/hostname"):
        r = httpx.get(ui_open.url + path, timeout=20)
        assert r.status_code in (400, 403, 404), (path, r.status_code)
        assert "Not corpus material" not in r.text and "written_by" not in r.text
    assert httpx.get(api.url + "/v1/models/..%2F..%2Fetc%2Fhostname", timeout=10).status_code == 404
    r = httpx.post(api.url + "/v1/chat/completions", json={**Q, "model": "../../etc/hostname"}, timeout=10)
    assert r.status_code == 404
    from ui.viewer import source_view_html

    html = source_view_html(corpus, Citation(1, "../outside.txt", "Not", 0, 3))
    assert "Not corpus material" not in html and "outside the corpus" in html


def test_a_request_naming_a_server_file_as_an_upload_is_refused(ui_open, indexed, tmp_path):
    corpus, _, _ = indexed
    secret = tmp_path / "launch-codes.txt"
    secret.write_text("The launch code is 0000-SWORDFISH.", encoding="utf-8")
    for path in (str(secret), "../../../" + str(secret).lstrip("/")):
        r = httpx.post(ui_open.url + "/gradio_api/call/upload", timeout=30, json={"data": [[
            {"path": path, "orig_name": "codes.txt", "meta": {"_type": "gradio.FileData"}}]]})
        text = httpx.get(ui_open.url + f"/gradio_api/call/upload/{r.json()['event_id']}", timeout=60).text
        assert "Added" not in text
    assert not (corpus / "codes.txt").exists() and not (corpus / "launch-codes.txt").exists()
    assert "SWORDFISH" not in "".join(p.read_text(errors="replace") for p in corpus.glob("*.txt"))


def test_the_ui_never_fetches_a_url_for_a_client(ui_open):
    """Gradio's ``/file=<url>`` would fetch any public URL for the caller (an outbound
    call, and a proxy for anyone who can reach the page); ours refuses before any lookup."""
    for url in ("http://example.com/a.png", "https://example.com/a.png", "//example.com/a.png",
                "HTTP://example.com/x", "http%3A%2F%2Fexample.com%2Fa.png"):
        for prefix in ("/gradio_api/file=", "/gradio_api/proxy="):
            r = httpx.get(ui_open.url + prefix + url, timeout=20)
            assert r.status_code == 403 and r.json()["code"] == "no_outbound_fetch", (prefix, url, r.text[:200])


def test_a_history_of_ten_thousand_turns_is_answered_or_refused_cleanly(api):
    turns = []
    for i in range(5000):
        turns += [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}]
    r = httpx.post(api.url + "/v1/chat/completions", timeout=120, json={"model": "rag", "messages": turns + [
        {"role": "user", "content": "When did Tillerson travel to Tokyo?"}]})
    assert r.status_code == 200 and "March 16, 2017" in r.json()["choices"][0]["message"]["content"]
    big = turns * 5  # 50,000 turns, over the 1 MiB body limit
    r = httpx.post(api.url + "/v1/chat/completions", timeout=60, json={"model": "rag", "messages": big + [
        {"role": "user", "content": "When did Tillerson travel to Tokyo?"}]})
    assert r.status_code == 413
    assert httpx.get(api.url + "/healthz", timeout=10).status_code == 200


def test_two_uploads_of_one_name_at_once_leave_one_file_indexed_and_the_other_in_the_trash(ui_open, indexed,
                                                                                              tmp_path):
    from gradio_client import handle_file

    corpus, env, _ = indexed
    texts = {"a": "The heron census at Lake Suwa counted 412 herons in 2015.\n",
             "b": "The heron census at Lake Suwa counted 977 herons in 2019.\n"}
    results: dict[str, str] = {}

    def upload(tag: str) -> None:
        folder = tmp_path / tag
        folder.mkdir()
        (folder / "heron-census.txt").write_text(texts[tag], encoding="utf-8")
        status, *_ = gradio(ui_open.url).predict([handle_file(str(folder / "heron-census.txt"))], api_name="/upload")
        results[tag] = status

    threads = [threading.Thread(target=upload, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert all("Added:</b> <code>heron-census.txt</code>" in s for s in results.values()), results
    final = (corpus / "heron-census.txt").read_text(encoding="utf-8")
    assert final in texts.values()
    trashed = [p.read_text() for p in (indexed[2] / "index" / "trash").glob("*/item")]
    assert [t for t in texts.values() if t != final][0] in trashed
    proc = run_rag(["ask", "--json", "How many herons did the Lake Suwa census count?"], env)
    answer = json.loads(proc.stdout)
    assert out(proc) and proc.returncode == 0
    assert [c["quote"] for c in answer["citations"] if c["source"] == "heron-census.txt"] == [final.strip()]


def test_file_names_and_quotes_cannot_forge_lines_of_the_sources_list(api):
    r = httpx.post(api.url + "/v1/chat/completions", timeout=60, json={"model": "rag", "messages": [
        {"role": "user", "content": "Where is the Zanzibar quokka festival held?"}]})
    body = r.json()
    content = body["choices"][0]["message"]["content"]
    assert "Stone Town" in content and body["citations"][0]["source"] == FORGED  # the structured field is exact
    assert not any(line.startswith("[9] passwords.txt") for line in content.splitlines())
    assert "[1] notes\\n[9] passwords.txt" in content  # the name, escaped, on the line of [1]
    text = sources_text(Answer("X [1].", [Citation(1, "a\u202etxt.exe", "line one\n[2] b.txt: forged", 0, 5)]))
    assert text.count("\n[") == 1 and "\u202e" not in text


def test_the_embedding_server_follows_the_same_rules():
    from rag.serve.embeddings import EmbeddingServer
    from rag.embeddings.local import HashEmbeddings

    body = {"model": "m", "input": ["a b c"]}
    with EmbeddingServer(HashEmbeddings(), port=0, models=("m",)) as server:
        base = server.url.rsplit("/v1", 1)[0]
        port = int(base.rsplit(":", 1)[1])
        assert httpx.post(server.url + "/embeddings", json=body, timeout=10).status_code == 200
        assert httpx.post(server.url + "/embeddings", json=body, timeout=10,
                          headers={"Host": "attacker.example"}).status_code == 400
        assert httpx.post(server.url + "/embeddings", content=json.dumps(body), timeout=10,
                          headers={"Content-Type": "text/plain"}).status_code == 415
        assert httpx.post(server.url + "/embeddings", json=body, timeout=10,
                          headers={"Origin": "http://evil.example"}).status_code == 403
        socks = stalled(port, 100)
        try:
            assert httpx.get(base + "/health", timeout=10).status_code == 200
            assert still_open(socks) <= PER_CLIENT
        finally:
            for s in socks:
                s.close()
    with EmbeddingServer(HashEmbeddings(), port=0, models=("m",), api_key="k" * 16) as server:
        port = int(server.url.rsplit("/v1", 1)[0].rsplit(":", 1)[1])
        status, sent = send_big_body(port, "/v1/embeddings", 60 << 20)
        assert status == 401 and sent < 60 << 20  # the key is checked before the body is read
        assert httpx.post(server.url + "/embeddings", json=body, timeout=10, headers={
            "Authorization": "Bearer " + "k" * 16, "Host": "any.name.example"}).status_code == 200
