"""Conversations: per-session state, chat messages, feedback records.

A :class:`Conversation` lives in a ``gr.State``, so every browser tab (and
every ``gradio_client.Client``) has its own; nothing here is shared between
sessions except the append-only feedback file. The browser keeps a copy of
each conversation (see :mod:`ui.store`) so a reload can reopen it.

>>> conv = Conversation()
>>> conv.history()
[]
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rag import Answer

from .bubbles import answer_html, stopped_html, streaming_html, user_html

FEEDBACK_FILE = "feedback.jsonl"
STOPPED = "You stopped this answer before it finished; it has no verified citations."
INTERRUPTED = ("No answer: the page was closed or reloaded while this question was being answered. "
               "Ask it again.")
_feedback_lock = threading.Lock()


@dataclass
class Turn:
    """One question and what came back: an Answer, or text that stopped early."""

    question: str
    answer: Answer | None = None
    answerer: str = ""
    top_k: int = 0
    partial: str = ""  # streamed text so far (kept when the user stops)
    stopped: bool = False

    @property
    def pending(self) -> bool:
        return self.answer is None and not self.stopped


def new_id() -> str:
    return "c" + secrets.token_hex(8)


@dataclass
class Conversation:
    """The turns of one session. Message ``2*i`` is turn i's question and
    ``2*i + 1`` its answer, which is how chatbot events map back to turns."""

    turns: list[Turn] = field(default_factory=list)
    selected: int | None = None  # the turn whose citations the side panels show
    id: str = field(default_factory=lambda: new_id())
    created: float = field(default_factory=time.time)

    def history(self) -> list[dict]:
        """Earlier turns in the messages shape :func:`rag.ask_stream` accepts;
        turns without an answer are left out (there is nothing to follow up on)."""
        out: list[dict] = []
        for t in self.turns:
            if t.answer is not None:
                out.append({"role": "user", "content": t.question})
                out.append({"role": "assistant", "content": t.answer.text})
        return out

    def messages(self, live: bool = False) -> list[dict]:
        """Chatbot messages. With ``live``, the last pending turn is still
        streaming; without, a pending turn is one whose answer never came."""
        out: list[dict] = []
        for i, t in enumerate(self.turns):
            out.append({"role": "user", "content": user_html(t.question)})
            last = i == len(self.turns) - 1
            if t.answer is not None:
                out.append({"role": "assistant", "content": answer_html(i, t.answer)})
            elif t.stopped:
                out.append({"role": "assistant", "content": stopped_html(t.partial, STOPPED)})
            elif live and last:
                out.append({"role": "assistant", "content": streaming_html(t.partial)})
            else:
                out.append({"role": "assistant", "content": stopped_html(t.partial, INTERRUPTED)})
        return out

    def turn_at_message(self, index: int) -> int | None:
        """The turn shown by chatbot message ``index``, if it exists."""
        i = index // 2
        return i if 0 <= i < len(self.turns) else None

    @property
    def current(self) -> Turn | None:
        return self.turns[self.selected] if self.selected is not None and self.selected < len(self.turns) else None

    @property
    def title(self) -> str:
        """The first question, shortened: how the conversation list names it."""
        q = " ".join(self.turns[0].question.split()) if self.turns else "New conversation"
        return q if len(q) <= 80 else q[:79].rsplit(" ", 1)[0] + "…"


def feedback_record(turn: Turn, rating: str, session: str | None = None) -> dict:
    """What one thumbs up/down stores: enough to reproduce and judge the answer."""
    a = turn.answer
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": rating,
        "question": turn.question,
        "answer": a.text if a else turn.partial,
        "refused": a.refused if a else None,
        "citations": [{"marker": c.marker, "source": c.source, "quote": c.quote,
                       "start": c.start, "end": c.end} for c in (a.citations if a else [])],
        "warnings": list(a.warnings) if a else [],
        "answerer": turn.answerer,
        "top_k": turn.top_k,
        "session": session,
    }


def store_feedback(index_dir: Path, record: dict) -> Path:
    """Append ``record`` as one JSON line to ``index_dir/feedback.jsonl``.

    >>> store_feedback(Path("/tmp/ix"), {"rating": "up"})  # doctest: +SKIP
    PosixPath('/tmp/ix/feedback.jsonl')
    """
    path = Path(index_dir) / FEEDBACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _feedback_lock, path.open("a", encoding="utf-8") as f:
        f.write(line)  # one write per line keeps lines whole even across processes
    return path
