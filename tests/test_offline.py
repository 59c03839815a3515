"""The default install answers with the network unplugged, and has no PyTorch."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

GUARD = r"""
import socket, sys
def _refuse(*a, **k):
    raise OSError("network is unplugged in this test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
from rag import ask, Settings
a = ask("Which UN Security Council resolutions were cited?",
        settings=Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2]))
assert "2270" in a.text and a.citations, a
print("OFFLINE-OK", a.citations[0].source)
"""


@pytest.mark.slow
def test_index_and_ask_with_every_socket_connection_refused(corpus, tmp_path):
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    out = subprocess.run([sys.executable, "-c", GUARD, str(corpus), str(tmp_path / "index")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OFFLINE-OK" in out.stdout


def test_default_install_has_no_pytorch():
    assert importlib.util.find_spec("torch") is None
