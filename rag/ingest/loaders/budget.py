"""The budget every file is read under: time, memory and size limits, enforced
in a worker process.

A file in a corpus folder or an upload is data from anyone. One crafted to keep
a parser busy (a 44 KB PDF whose pages draw form XObjects nested nine deep,
each drawing the next ten times, kept pypdf busy for over an hour), to swell in
memory (a zip bomb, a sheet of a million empty rows, a mail with a huge
attachment) or to crash its parser must cost that one file, never the run. So
every file, in every format, is parsed in a worker process under a
:class:`Budget`:

* size: at most ``max_bytes`` on disk (a mail, which holds its attachments:
  ``max_mail_bytes``), checked before reading; at most ``max_chars`` of text;
* time: ``seconds_per_mb`` seconds of CPU for each started megabyte of the file
  (``RAG_PARSE_TIMEOUT``; ``RLIMIT_CPU`` in the worker, so a busy machine does
  not fail a good file), and three times that (plus a few seconds) of
  wall-clock time, for a file on a stalled disk. Each page read by OCR adds
  ``ocr_page_seconds`` to both (the worker says so before it starts the page);
* memory: ``memory_mb`` of address space beyond what the worker held when it
  started (``RAG_PARSE_MEMORY_MB``; ``RLIMIT_AS``).

A file over budget raises ``ValueError`` naming the limit: the file is skipped
and named, the others are read. The worker is then killed with its whole
process group (a Tesseract it started too) and a fresh one starts for the next
file. Workers are reused (starting one costs a fraction of a second) and up to
:data:`MAX_WORKERS` run side by side, so a slow file never holds up another
caller (another user's upload, the source viewer).

The worker opens the file itself and checks that what it opened is a regular
file and, given the corpus folder, inside it: a symbolic link swapped in after
the folder was walked is refused. It reads the bytes once and hands them to
:func:`rag.ingest.loaders.parse_bytes`, which picks the loader by suffix and never
opens the corpus path again; every format added there runs under this budget
with nothing to do. Temporary files of a worker (a copy for a parser that
wants a file, rendered pages, attachments) live in a folder of its own, removed
with it.

>>> Budget().seconds_for(16 * 1024), Budget().seconds_for(3 * 2**20 + 1)
(20.0, 80.0)
"""

from __future__ import annotations

import atexit
import json
import math
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.loaders.base import Parsed

MiB = 1024 * 1024
MAX_WORKERS = 4  # parsing workers per process at once; more callers wait for one


@dataclass(frozen=True)
class Budget:
    """What reading one file may cost (see the module docstring), and whether
    OCR may be spent on it.

    >>> Budget(seconds_per_mb=5).seconds_for(10)
    5.0
    >>> Budget().limit_for("inbox/notice.eml") // MiB, Budget().limit_for("a.pdf") // MiB
    (150, 50)
    """

    seconds_per_mb: float = 20.0      # RAG_PARSE_TIMEOUT
    memory_mb: int = 2048             # RAG_PARSE_MEMORY_MB
    ocr: bool = True                  # RAG_OCR
    ocr_page_seconds: float = 120.0   # added to the time budget for each page read by OCR
    max_bytes: int = 50 * MiB
    max_mail_bytes: int = 150 * MiB   # a mail holds its attachments (each up to max_bytes)
    max_chars: int = 20_000_000

    @classmethod
    def from_settings(cls, settings) -> "Budget":
        i = settings.ingest
        return cls(seconds_per_mb=i.parse_timeout, memory_mb=i.parse_memory_mb, ocr=i.ocr)

    def seconds_for(self, size: int) -> float:
        """CPU seconds allowed for a file of ``size`` bytes (before OCR pages)."""
        return float(self.seconds_per_mb * max(1, math.ceil(size / MiB)))

    def limit_for(self, name: str) -> int:
        """The largest file of this name that is read."""
        return self.max_mail_bytes if str(name).lower().endswith(".eml") else self.max_bytes


def read_within_budget(path: Path, root: Path | None, budget: Budget) -> Parsed:
    """Parse ``path`` in a worker under ``budget``; with ``root``, refuse a file
    that is not inside that folder when opened. Raises ValueError (with the
    reason, e.g. the limit it passed) or OSError (without the path)."""
    size = os.stat(path).st_size
    limit = budget.limit_for(path)
    if size > limit:
        raise ValueError(f"too large ({size} bytes > {limit})")
    seconds = budget.seconds_for(size)
    # Absolute: the worker's working folder is the one this process had when it started it.
    request = {"path": os.path.abspath(path), "root": None if root is None else os.path.abspath(root),
               "seconds": seconds, "max_bytes": limit, "max_chars": budget.max_chars, "ocr": budget.ocr,
               "ocr_page_seconds": budget.ocr_page_seconds}
    worker = _POOL.acquire(budget.memory_mb)
    healthy = False
    try:
        reply = worker.ask(request, wall=3 * seconds + 5, per_page=budget.ocr_page_seconds)
        healthy = not reply.get("fatal")
    except _WorkerDied as died:
        raise ValueError(died.reason(budget)) from None
    finally:
        _POOL.release(worker, healthy)
    if "error" in reply:
        if reply["error"] == "os":
            raise OSError(reply.get("errno") or 0, reply["message"])
        raise ValueError(reply["message"])
    return from_json(reply["ok"])


def to_json(p: Parsed) -> dict:
    return {"text": p.text, "blocks": [[b.kind, b.start, b.end, b.level, list(b.headings)] for b in p.blocks],
            "ocr": [list(s) for s in p.ocr], "parts": [[name, to_json(part)] for name, part in p.parts],
            "skipped": [list(s) for s in p.skipped]}


def from_json(d: dict) -> Parsed:
    from rag.objects import Block

    return Parsed(d["text"], tuple(Block(k, s, e, lvl, tuple(h)) for k, s, e, lvl, h in d["blocks"]),
                  tuple((s, e) for s, e in d["ocr"]), tuple((n, from_json(p)) for n, p in d["parts"]),
                  tuple((n, r) for n, r in d["skipped"]))


# -- the parent side ---------------------------------------------------------------

class _WorkerDied(Exception):
    def __init__(self, returncode: int | None, why: str, cpu: float, wall: float, memory_mb: int) -> None:
        super().__init__(why)
        self.returncode, self.why, self.cpu, self.wall, self.memory_mb = returncode, why, cpu, wall, memory_mb

    def reason(self, budget: Budget) -> str:
        if self.why == "stalled":
            return f"took longer than {self.wall:.0f} s to read (stalled; the time budget of a file)"
        if self.why == "garbage":
            return "the reader process answered with garbage (a damaged or hostile file)"
        if self.returncode == -signal.SIGXCPU:
            return (f"took more than {self.cpu:g} s of CPU to read (the time budget for a file of this size, "
                    "RAG_PARSE_TIMEOUT seconds per MB)")
        code = self.returncode or 0
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return (f"the reader stopped ({how}): a damaged or hostile file, or over the {self.memory_mb} MB "
                "memory limit (RAG_PARSE_MEMORY_MB)")


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        # Its temporary files in a folder of its own, removed with it (a killed worker cleans nothing).
        self.tmp = tempfile.mkdtemp(prefix="rag-reader-")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_THREAD_LIMIT": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONWARNINGS": "ignore", "TMPDIR": self.tmp}
        try:
            # Its own session: a kill ends the worker and any Tesseract or pdftoppm it started, nothing else.
            self.proc = subprocess.Popen([sys.executable, "-m", "rag.ingest.loaders.budget", str(memory_mb)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=env, close_fds=True, start_new_session=True)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.memory_mb = memory_mb
        self.key = _key(memory_mb)
        self._buffer = bytearray()

    def ask(self, request: dict, wall: float, per_page: float) -> dict:
        """Send one request; the reply, or _WorkerDied when the worker dies, passes
        ``wall`` seconds (``per_page`` more for each OCR page it announces) or
        answers with garbage."""
        cpu = request["seconds"]
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise _WorkerDied(self.kill(), "died", cpu, wall, self.memory_mb) from None
        deadline = time.monotonic() + wall
        while True:
            line = self._readline(deadline)
            if line is None:
                self.kill()
                raise _WorkerDied(None, "stalled", cpu, wall, self.memory_mb)
            if line == b"":
                raise _WorkerDied(self.kill(), "died", cpu, wall, self.memory_mb)
            try:
                msg = json.loads(line)
            except ValueError:
                self.kill()
                raise _WorkerDied(None, "garbage", cpu, wall, self.memory_mb) from None
            if "page" in msg:  # an OCR page starts: it has an allowance of its own
                deadline += per_page
                wall += per_page
                cpu += per_page
                continue
            return msg

    def _readline(self, deadline: float) -> bytes | None:
        """The next line from the worker; b"" when it died; None at the deadline."""
        fd = self.proc.stdout.fileno()
        end = self._buffer.find(b"\n")
        # A selector, not select.select(): a server holding a thousand connections has
        # descriptors past select()'s limit of 1024.
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

    def kill(self) -> int:
        """End the worker and its process group; its exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code


class _Pool:
    """Idle workers of this process, at most MAX_WORKERS alive at once."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._alive = 0
        self._pid = os.getpid()
        atexit.register(self.close)

    def acquire(self, memory_mb: int) -> _Worker:
        with self._cond:
            if self._pid != os.getpid():  # a forked child: its parent's workers are not its own
                self._idle, self._alive, self._pid = [], 0, os.getpid()
            while True:
                key = _key(memory_mb)
                for w in self._idle:
                    if w.key == key and w.proc.poll() is None:
                        self._idle.remove(w)
                        return w
                if self._alive < MAX_WORKERS:
                    self._alive += 1
                    break
                if self._idle:  # idle, but with another memory limit or environment: make room
                    self._idle.pop(0).kill()
                    self._alive -= 1
                    continue
                self._cond.wait()
        try:
            return _Worker(memory_mb)
        except BaseException:
            with self._cond:
                self._alive -= 1
                self._cond.notify()
            raise

    def release(self, worker: _Worker, healthy: bool) -> None:
        with self._cond:
            if healthy and worker.proc.poll() is None:
                self._idle.append(worker)
            else:
                worker.kill()
                self._alive -= 1
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            for w in self._idle:
                w.kill()
            self._alive -= len(self._idle)
            self._idle = []


def _key(memory_mb: int) -> tuple:
    # A worker reads with the environment it started with (PATH finds Tesseract): one started
    # before the environment changed is not reused.
    return memory_mb, hash(frozenset(os.environ.items()))


# One pool per process: starting a worker costs a fraction of a second, so they are shared by every caller.
_POOL = _Pool()


# -- the worker side -----------------------------------------------------------------

def _serve(memory_mb: int) -> None:
    """The worker: one JSON request per line on stdin; on stdout ``{"page": 1}``
    before each OCR page, then one reply per request."""
    import gc
    import logging
    import resource
    import warnings

    from rag.ingest.loaders import ReadOptions

    logging.disable(logging.CRITICAL)  # pypdf's warnings about broken files are not ours to print
    warnings.simplefilter("ignore")
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library that prints must not garble the replies
    try:
        with open("/proc/self/statm") as f:
            base = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        base = 0
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = base + memory_mb * MiB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # a lower cap set from outside stays
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    def send(obj: dict) -> None:
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    def raise_cpu(seconds: float) -> None:
        soft, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
        if soft != resource.RLIM_INFINITY:
            new = soft + int(math.ceil(seconds))
            resource.setrlimit(resource.RLIMIT_CPU, (new if cpu_hard == resource.RLIM_INFINITY
                                                     else min(new, cpu_hard), cpu_hard))

    for line in sys.stdin.buffer:
        request = json.loads(line)
        parsed = reply = None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = int(usage.ru_utime + usage.ru_stime + request["seconds"]) + 1
        if cpu_hard == resource.RLIM_INFINITY or soft < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))  # SIGXCPU ends us past it

        def page(extra: float = request["ocr_page_seconds"]) -> None:
            raise_cpu(extra)  # inherited by the Tesseract this page starts
            send({"page": 1})

        options = ReadOptions(ocr=request["ocr"], ocr_page_seconds=request["ocr_page_seconds"], on_ocr_page=page)
        try:
            parsed = _open_and_parse(Path(request["path"]), request["root"], request["max_bytes"], options)
            if len(parsed.text) > request["max_chars"]:
                raise ValueError(f"too much text (over {request['max_chars']:,} characters)")
            reply = {"ok": to_json(parsed)}
        except OSError as exc:
            reply = {"error": "os", "errno": exc.errno, "message": exc.strerror or type(exc).__name__}
        except MemoryError:
            parsed = None
            # The worker is not trusted with another file after this: the parent ends it.
            reply = {"error": "value", "fatal": True,
                     "message": f"needs more than {memory_mb} MB of memory to read (RAG_PARSE_MEMORY_MB sets "
                                "the limit)"}
        except RecursionError:
            reply = {"error": "value", "message": "nested too deeply to read"}
        except ValueError as exc:
            reply = {"error": "value", "message": str(exc) or type(exc).__name__}
        except Exception as exc:  # a loader's bug on a strange file: that file is skipped
            reply = {"error": "value", "message": f"could not be read ({type(exc).__name__}: {exc})"[:300]}
        send(reply)
        if parsed is not None and len(parsed.text) > MiB:
            reply = parsed = None
            gc.collect()  # a big document's objects, before the next file counts against the memory budget


def _open_and_parse(path: Path, root: str | None, max_bytes: int, options) -> Parsed:
    from rag.ingest.loaders import parse_bytes

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file (FIFO, socket or device)")
        if root is not None and not _inside(_opened_path(fd, path), os.path.realpath(root)):
            raise ValueError("symbolic link leads outside the corpus folder (it changed while being read)")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(8 * MiB, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"too large (over {max_bytes} bytes)")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    del chunks
    return parse_bytes(path.name, data, options)


def _opened_path(fd: int, path: Path) -> str:
    """Where the opened file really is (Linux: the descriptor's own link; elsewhere the path resolved now)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


if __name__ == "__main__":  # pragma: no cover - the worker process
    _serve(int(sys.argv[1]))
