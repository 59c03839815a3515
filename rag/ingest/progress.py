"""Progress of an indexing run: a bar on a terminal, plain lines in a log.

A run that embeds thousands of chunks takes minutes. On a terminal a tqdm bar
shows it; anywhere else (a script, a service, CI, ``rag index > log.txt``) a
line every few seconds says where it is::

    indexing: 60 files to read (0 unchanged)
    indexing: 14/60 files read, 120/310 chunks stored, 9.8 chunks/s, about 40 s left (12 s so far)
    indexing: 60/60 files read, 472/472 chunks stored, 8.1 chunks/s, done in 58 s

``rag index`` picks the form (see :func:`for_command_line`); :func:`rag.build_index`
takes ``progress=`` as a bool or an :class:`IndexProgress`.

>>> p = IndexProgress(lines=sys.stdout, every=60)
>>> p.start(files=2, unchanged=1)
indexing: 2 files to read (1 unchanged)
>>> p.file_read(); p.file_read(); p.chunks_found(4); p.chunks_stored(4)
>>> p.close()  # doctest: +ELLIPSIS
indexing: 2/2 files read, 4/4 chunks stored, ... chunks/s, done in ... s
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

DEFAULT_EVERY = 5.0  # seconds between two progress lines


class IndexProgress:
    """Counts of one indexing run, shown as a tqdm bar on stderr (``bar``)
    and/or as a line every ``every`` seconds on ``lines``. Safe to update from
    the reader and writer threads."""

    def __init__(self, *, bar: bool = False, lines: TextIO | None = None, every: float = DEFAULT_EVERY) -> None:
        self.bar_wanted, self.out, self.every = bar, lines, max(0.05, float(every))
        self.files = self.unchanged = self.read = self.found = self.stored = 0
        self.phase = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._bar = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.bar_wanted or self.out is not None

    def start(self, files: int, unchanged: int = 0) -> None:
        """The run begins: ``files`` to read, ``unchanged`` left alone."""
        self.files, self.unchanged, self.started = files, unchanged, time.monotonic()
        if self.bar_wanted and files:
            from tqdm import tqdm

            # The total grows as the reader finds new chunks; it is exact once reading is done.
            self._bar = tqdm(total=0, desc="embedding chunks", unit="chunk", file=sys.stderr)
        if self.out is not None and files:
            self._write(f"indexing: {files} file{'s' * (files != 1)} to read ({unchanged} unchanged)")
            self._timer = threading.Thread(target=self._tick, name="rag-index-progress", daemon=True)
            self._timer.start()

    def file_read(self) -> None:
        with self._lock:
            self.read += 1

    def chunks_found(self, n: int) -> None:
        """The reader found ``n`` new chunks to embed."""
        with self._lock:
            self.found += n
            if self._bar is not None:
                self._bar.total = self.found
                self._bar.refresh()

    def chunks_stored(self, n: int) -> None:
        """``n`` chunks were embedded and written to the store."""
        with self._lock:
            self.stored += n
            if self._bar is not None:
                self._bar.update(n)

    def set_phase(self, phase: str) -> None:
        """What the run does after embedding ("building the keyword index")."""
        with self._lock:
            self.phase = phase

    def line(self, final: bool = False) -> str:
        """The progress line as it stands now."""
        with self._lock:
            read, found, stored, phase = self.read, self.found, self.stored, self.phase
        elapsed = time.monotonic() - self.started
        parts = [f"{read}/{self.files} files read", f"{stored}/{found} chunks stored"]
        rate = stored / elapsed if elapsed > 0 else 0.0
        if stored:
            parts.append(f"{rate:.1f} chunks/s")
        if final:
            return "indexing: " + ", ".join(parts + [f"done in {_duration(elapsed)}"])
        if phase:
            parts.append(phase)
        elif stored and read:
            # Until every file is read, the chunks still to come are extrapolated from those read so far.
            total = found if read >= self.files else found * self.files / read
            parts.append(f"about {_duration(max(0.0, total - stored) / rate)} left")
        elif found:
            parts.append("embedding")
        return "indexing: " + ", ".join(parts) + f" ({_duration(elapsed)} so far)"

    def close(self) -> None:
        """The run ended: the final line, the bar closed."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=2)
            self._write(self.line(final=True))
            self._timer = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self._write(self.line())

    def _write(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
            self.out.flush()  # a log shows it now, not when the run ends
        except (OSError, ValueError):  # a closed pipe must not stop indexing
            pass


def _duration(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``.

    >>> _duration(8.2), _duration(75), _duration(3700)
    ('8 s', '1 min 15 s', '1 h 1 min')
    """
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def of(progress) -> IndexProgress:
    """What :func:`rag.build_index` makes of its ``progress`` argument: an
    :class:`IndexProgress` as given; True a bar; False nothing; None a bar
    when stderr is a terminal."""
    if isinstance(progress, IndexProgress):
        return progress
    if progress is None:
        return IndexProgress(bar=sys.stderr.isatty())
    return IndexProgress(bar=bool(progress))


def for_command_line(*, quiet: bool = False, bar: bool = False, every: float = DEFAULT_EVERY) -> IndexProgress:
    """``rag index``'s progress: nothing with ``--quiet``; a bar on a terminal
    (always with ``--progress``); lines on stdout when stdout is not a terminal
    (``rag index > log.txt``, a service, CI), next to the summary printed there."""
    if quiet:
        return IndexProgress()
    return IndexProgress(bar=bar or sys.stderr.isatty(), lines=None if sys.stdout.isatty() else sys.stdout,
                         every=every)
