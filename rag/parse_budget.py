"""Reading a file under a budget: a child process with a deadline and a memory cap.

A parser library cannot be stopped from a thread, and a zip bomb, a sheet of a
million empty rows or a mail with a huge attachment can cost minutes and
gigabytes. So the formats read by third-party parsers are parsed in a child
process (running :func:`_serve`): it caps its own address space, and
the parent kills it (its whole process group: Tesseract too) when a file
takes longer than its deadline. The file is then skipped with the reason and
the next file gets a fresh child; one child serves a whole indexing run.
Each page the child reads by OCR extends that file's deadline by the OCR page
allowance (it says so before starting the page).

The protocol is one JSON object per line: the parent sends ``{"path": ...}``;
the child answers ``{"page": 1}`` before each OCR page, then ``{"ok": parsed}``
or ``{"error": reason}``.

>>> with BudgetedParser(60, 2048, ReadOptions()) as p:  # doctest: +SKIP
...     p.parse(Path("minutes.docx")).text[:13]
'Board minutes'
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from .loaders.base import Parsed, ReadOptions
from .types import Block


class BudgetedParser:
    """Parses files one at a time in a child process, each within ``seconds``
    (plus ``options.ocr_page_seconds`` per OCR page) and ``memory_mb`` of memory.
    Raises ValueError with a short reason for a file that cannot be read."""

    def __init__(self, seconds: float, memory_mb: int, options: ReadOptions) -> None:
        self.seconds, self.memory_mb, self.options = seconds, memory_mb, options
        self._proc: subprocess.Popen | None = None
        self._buffer = bytearray()

    def __enter__(self) -> "BudgetedParser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def parse(self, path: Path) -> Parsed:
        proc = self._child()
        request = {"path": str(Path(path).resolve()), "ocr": self.options.ocr,
                   "ocr_page_seconds": self.options.ocr_page_seconds}
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            self.close()
            raise ValueError("the reader process could not be started") from None
        deadline = time.monotonic() + self.seconds
        allowed = self.seconds
        while True:
            line = self._readline(proc, deadline)
            if line is None:
                self._kill()
                raise ValueError(f"took longer than {allowed:g} s to read (a damaged or hostile file?); "
                                 "RAG_PARSE_TIMEOUT sets the limit")
            if line == b"":
                code = self._kill()
                why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
                raise ValueError(f"the reader stopped ({why}): a damaged or hostile file, or over the "
                                 f"{self.memory_mb} MB memory limit (RAG_PARSE_MEMORY_MB)")
            try:
                msg = json.loads(line)
            except ValueError:
                self._kill()
                raise ValueError("the reader process answered with garbage") from None
            if "page" in msg:
                deadline += self.options.ocr_page_seconds
                allowed += self.options.ocr_page_seconds
                continue
            if "error" in msg:
                if msg.get("fatal"):
                    self._kill()  # after a MemoryError the child is not trusted with another file
                raise ValueError(msg["error"])
            return from_json(msg["ok"])

    def close(self) -> None:
        if self._proc is not None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill()

    def _child(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            env = {**os.environ, "OMP_THREAD_LIMIT": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
            # Its own session: a timeout kills the child and any Tesseract it started, nothing else.
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(self.memory_mb), str(Path(__file__).resolve().parent)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, bufsize=0, env=env)
            self._buffer = bytearray()
        return self._proc

    def _readline(self, proc: subprocess.Popen, deadline: float) -> bytes | None:
        """The next line from the child; b"" when it died; None at the deadline."""
        fd = proc.stdout.fileno()
        end = self._buffer.find(b"\n")
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while end < 0:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b""
                start = len(self._buffer)  # a 50 MB answer: look for its end in the new bytes only
                self._buffer += chunk
                end = self._buffer.find(b"\n", start)
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return line

    def _kill(self) -> int:
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the child's own process group
            except (ProcessLookupError, PermissionError):
                pass
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return code


# The child imports the loaders only, not the whole library (rag/__init__ loads the
# pipeline: numpy and more, ~0.3 s per start): an empty package stands in for rag.
_CHILD = ("import sys, types\n"
          "rag = types.ModuleType('rag'); rag.__path__ = [sys.argv[2]]; sys.modules['rag'] = rag\n"
          "from rag.parse_budget import _serve\n"
          "_serve(int(sys.argv[1]))\n")


def to_json(p: Parsed) -> dict:
    return {"text": p.text, "blocks": [[b.kind, b.start, b.end, b.level, list(b.headings)] for b in p.blocks],
            "ocr": [list(s) for s in p.ocr], "parts": [[name, to_json(part)] for name, part in p.parts],
            "skipped": [list(s) for s in p.skipped]}


def from_json(d: dict) -> Parsed:
    return Parsed(d["text"], tuple(Block(k, s, e, lvl, tuple(h)) for k, s, e, lvl, h in d["blocks"]),
                  tuple((s, e) for s, e in d["ocr"]), tuple((n, from_json(p)) for n, p in d["parts"]),
                  tuple((n, r) for n, r in d["skipped"]))


def _serve(memory_mb: int) -> None:
    """The child: cap memory, then parse the files the parent names, one per line."""
    import resource
    import warnings

    from .loaders import parse_path

    warnings.simplefilter("ignore")
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library that prints must not garble the answers
    try:
        with open("/proc/self/statm") as f:
            base = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        base = 0
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = base + memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # a lower cap set from outside stays
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    def send(obj: dict) -> None:
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    for line in sys.stdin.buffer:
        req = json.loads(line)
        options = ReadOptions(ocr=req["ocr"], ocr_page_seconds=req["ocr_page_seconds"],
                              on_ocr_page=lambda: send({"page": 1}))
        try:
            send({"ok": to_json(parse_path(Path(req["path"]), options))})
        except MemoryError:
            send({"error": f"needs more than {memory_mb} MB of memory to read (RAG_PARSE_MEMORY_MB sets the limit)",
                  "fatal": True})
            return
        except (ValueError, OSError) as exc:
            send({"error": str(exc) or type(exc).__name__})
        except RecursionError:
            send({"error": "nested too deeply to read"})
        except Exception as exc:  # a parser's own bug on a strange file: this file only
            send({"error": f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"})

