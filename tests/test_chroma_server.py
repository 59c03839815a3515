"""Index and ask against a real Chroma server (`chroma run`) on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_process
from rag import Settings, ask, build_index


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    cmd = [str(exe) if exe.exists() else shutil.which("chroma"), "run", "--path", str(tmp_path / "server-data"),
           "--host", "127.0.0.1", "--port", str(port)]
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.slow
def test_index_and_ask_through_chroma_server(chroma_server, corpus, tmp_path):
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "unused", chroma_url=chroma_server)
    report = build_index(s, progress=False)
    assert report.location == chroma_server and len(report.files_added) == 5
    assert not (tmp_path / "unused" / "chroma.sqlite3").exists()
    assert build_index(s, progress=False).chunks_embedded == 0
    a = ask("Which UN Security Council resolutions were cited?", settings=s)
    assert "2270" in a.text and a.citations
    c = a.citations[0]
    assert (corpus / c.source).read_text(encoding="utf-8")[c.start:c.end] == c.quote
