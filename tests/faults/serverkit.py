"""Helpers for probing our servers as a hostile client would: `rag serve` and
`rag ui` as real subprocesses on free 127.0.0.1 ports, raw sockets, a sign-in,
and the server's memory (all bounded in time, servers stopped by their own PID)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import free_port, stop_process
from faultkit import REPO


class Served:
    """``rag serve`` or ``rag ui`` in its own process; ``url`` without a trailing slash."""

    def __init__(self, command: str, env: dict, log: Path, ready_path: str, timeout: float = 180) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log = open(log, "wb")
        full_env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
                    "HF_HUB_OFFLINE": "1", **env}
        self.proc = subprocess.Popen([sys.executable, "-m", "rag.cli", command, "--port", str(self.port)],
                                     cwd=REPO, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rag {command} exited: {self.output()[-3000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=3).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rag {command} did not come up: {self.output()[-3000:]}")
            time.sleep(0.3)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kb(self) -> int:
        """Resident memory of the server process now."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_process(self.proc, grace=15)
        self._log.close()


def raw_request(port: int, data: bytes, *, read_for: float = 5.0, source: str | None = None) -> bytes:
    """Send ``data`` as is and return everything the server answers until it
    closes or ``read_for`` seconds pass."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_for,
                                 source_address=(source, 0) if source else None)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading everything
        out = b""
        end = time.monotonic() + read_for
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def send_big_body(port: int, path: str, declared: int, *, headers: dict | None = None,
                  send_bytes: int = 8 << 20, chunked: bool = False,
                  content_type: str = "application/json") -> tuple[int | None, int]:
    """POST ``path`` claiming a ``declared``-byte JSON body (or chunked), then send
    up to ``send_bytes`` until the server answers. Returns (status, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    head += ["Transfer-Encoding: chunked"] if chunked else [f"Content-Length: {declared}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sent = 0
    answer = b""
    try:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        s.settimeout(0.05)
        piece = b"[" + b"1," * 32767 + b"1"
        while sent < send_bytes:
            block = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
            try:
                s.sendall(block)
                sent += len(piece)
            except OSError:
                break
            try:
                got = s.recv(65536)
                if got or not answer:
                    answer += got
                if answer:
                    break
            except socket.timeout:
                pass
            except OSError:
                break
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
        except OSError:
            pass
    finally:
        s.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return status, sent


def sign_in(url: str, user: str, password: str, source: str | None = None) -> httpx.Response:
    """Gradio's sign-in form, as the page posts it."""
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(transport=transport, timeout=20) as c:
        return c.post(url + "/login", files={"username": (None, user), "password": (None, password)})
