"""The budget every file is read under: time, memory and size limits, enforced
in a worker process.

A file in a corpus folder or an upload is data from anyone. One crafted to keep
a parser busy (a 44 KB PDF whose pages draw form XObjects nested nine deep,
each drawing the next ten times, kept pypdf busy for over an hour) or to swell
in memory (a compression bomb) must cost that one file, never the run. So every
file is parsed in a worker process, under a :class:`Budget`:

* size: at most ``max_bytes`` on disk (checked before reading), at most
  ``max_chars`` of text;
* time: ``seconds_per_mb`` seconds of CPU for each started megabyte of the file
  (``RLIMIT_CPU`` in the worker, so a busy machine does not fail a good file),
  and three times that (plus a few seconds) of wall-clock time, for a file on a
  stalled disk;
* memory: ``memory_mb`` of address space (``RLIMIT_AS``).

A file over budget raises ``ValueError`` naming the limit: the file is skipped
and named, the others are read. The worker is then killed and a fresh one
starts for the next file. Workers are reused (starting one costs about half a
second) and up to :data:`MAX_WORKERS` run side by side, so a slow file never
holds up another caller (another user's upload, the source viewer).

The worker opens the file itself and checks that what it opened is a regular
file and, given the corpus folder, inside it: a symbolic link swapped in after
the folder was walked is refused. It reads the bytes once and hands them to
:func:`rag.loading.parse_bytes`, which picks the loader by suffix: a loader gets
bytes, never a path to open again, so every format added there runs under this
budget with nothing to do.

>>> Budget().seconds_for(16 * 1024), Budget().seconds_for(3 * 2**20 + 1)
(20.0, 80.0)
"""

from __future__ import annotations

import atexit
import json
import math
import os
import select
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .base import Parsed

MiB = 1024 * 1024
MAX_WORKERS = 4  # parsing workers per process at once; more callers wait for one


@dataclass(frozen=True)
class Budget:
    """What reading one file may cost (see the module docstring).

    >>> Budget(seconds_per_mb=5).seconds_for(10)
    5.0
    """

    seconds_per_mb: float = 20.0   # RAG_PARSE_TIMEOUT
    max_bytes: int = 50 * MiB
    max_chars: int = 20_000_000
    memory_mb: int = 2048

    @classmethod
    def from_settings(cls, settings) -> "Budget":
        return cls(seconds_per_mb=settings.parse_timeout)

    def seconds_for(self, size: int) -> float:
        """CPU seconds allowed for a file of ``size`` bytes."""
        return float(self.seconds_per_mb * max(1, math.ceil(size / MiB)))


def read_within_budget(path: Path, root: Path | None, budget: Budget) -> Parsed:
    """Parse ``path`` in a worker under ``budget``; with ``root``, refuse a file
    that is not inside that folder when opened. Raises ValueError (with the
    reason, e.g. the limit it passed) or OSError (without the path)."""
    size = os.stat(path).st_size
    if size > budget.max_bytes:
        raise ValueError(f"too large ({size} bytes > {budget.max_bytes})")
    seconds = budget.seconds_for(size)
    # Absolute: the worker's working folder is the one this process had when it started it.
    request = {"path": os.path.abspath(path), "root": None if root is None else os.path.abspath(root),
               "seconds": seconds, "max_bytes": budget.max_bytes, "max_chars": budget.max_chars}
    worker = _POOL.acquire(budget.memory_mb)
    healthy = False
    try:
        reply = worker.ask(request, wall=3 * seconds + 5)
        healthy = True
    except _WorkerDied as died:
        raise ValueError(died.reason(seconds, budget)) from None
    finally:
        _POOL.release(worker, healthy)
    if "error" in reply:
        if reply["error"] == "os":
            raise OSError(reply.get("errno") or 0, reply["message"])
        raise ValueError(reply["message"])
    from ..types import Block

    blocks = tuple(Block(k, s, e, lv, tuple(h)) for k, s, e, lv, h in reply["blocks"])
    return Parsed(reply["text"], blocks)


# -- the parent side ---------------------------------------------------------------

class _WorkerDied(Exception):
    def __init__(self, returncode: int | None, timed_out: bool) -> None:
        super().__init__(returncode)
        self.returncode, self.timed_out = returncode, timed_out

    def reason(self, seconds: float, budget: Budget) -> str:
        if self.timed_out:
            return f"took longer than {3 * seconds + 5:.0f} s to read (stalled; the time budget of a file)"
        if self.returncode == -signal.SIGXCPU:
            return (f"took more than {seconds:.0f} s of CPU to read (the time budget for a file of this size, "
                    "RAG_PARSE_TIMEOUT seconds per MB)")
        return f"reading it crashed the parser (exit {self.returncode}); the file is damaged or hostile"


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "rag.loaders.budget", str(memory_mb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, close_fds=True)
        self.memory_mb = memory_mb
        self._buffer = b""

    def ask(self, request: dict, wall: float) -> dict:
        """Send one request; the reply, or _WorkerDied when it dies or passes ``wall`` seconds."""
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise _WorkerDied(self.proc.poll(), False) from None
        deadline = time.monotonic() + wall
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                raise _WorkerDied(None, True)
            data = os.read(fd, 1 << 20)
            if not data:
                raise _WorkerDied(self.proc.wait(), False)
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


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
                for w in self._idle:
                    if w.memory_mb == memory_mb and w.proc.poll() is None:
                        self._idle.remove(w)
                        return w
                if self._alive < MAX_WORKERS:
                    self._alive += 1
                    break
                if self._idle:  # idle, but with another memory limit: make room
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


# One pool per process: starting a worker costs ~0.5 s, so they are shared by every caller.
_POOL = _Pool()


# -- the worker side -----------------------------------------------------------------

def _serve(memory_mb: int) -> None:
    """The worker: one JSON request per line on stdin, one JSON reply per line on stdout."""
    import gc
    import logging
    import resource

    logging.disable(logging.CRITICAL)  # pypdf's warnings about broken files are not ours to print
    limit = memory_mb * MiB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        parsed = None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = int(usage.ru_utime + usage.ru_stime + request["seconds"]) + 1
        if cpu_hard == resource.RLIM_INFINITY or soft < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))  # SIGXCPU ends us past it
        try:
            parsed = _open_and_parse(Path(request["path"]), request["root"], request["max_bytes"])
            if len(parsed.text) > request["max_chars"]:
                raise ValueError(f"too much text (over {request['max_chars']:,} characters)")
            reply = {"text": parsed.text,
                     "blocks": [[b.kind, b.start, b.end, b.level, list(b.headings)] for b in parsed.blocks]}
        except OSError as exc:
            reply = {"error": "os", "errno": exc.errno, "message": exc.strerror or type(exc).__name__}
        except MemoryError:
            reply = {"error": "value", "message": f"needs more than {memory_mb} MB of memory to read "
                                                  "(the memory budget of a file)"}
        except RecursionError:
            reply = {"error": "value", "message": "nested too deeply to read"}
        except ValueError as exc:
            reply = {"error": "value", "message": str(exc) or type(exc).__name__}
        except Exception as exc:  # a loader's bug on a strange file: that file is skipped
            reply = {"error": "value", "message": f"could not be read ({type(exc).__name__}: {exc})"[:300]}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()
        if len(reply.get("text", "")) > MiB:
            reply = parsed = None
            gc.collect()  # a big document's objects, before the next file counts against the memory budget


def _open_and_parse(path: Path, root: str | None, max_bytes: int) -> Parsed:
    from ..loading import parse_bytes

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
    return parse_bytes(path.name, b"".join(chunks))


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
