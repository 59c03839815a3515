"""Conversations: per-session state, chat bubbles, feedback records.

A :class:`Conversation` lives in a ``gr.State``, so every browser tab (and
every ``gradio_client.Client``) has its own; nothing here is shared between
sessions except the append-only feedback file.

>>> conv = Conversation()
>>> conv.history()
[]
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rag import Answer

FEEDBACK_FILE = "feedback.jsonl"
THINKING = "_Searching the corpus…_"
_feedback_lock = threading.Lock()


@dataclass
class Turn:
    """One question and what came back: an Answer, or an error message."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    answerer: str = ""
    top_k: int = 0


@dataclass
class Conversation:
    """The turns of one session. Message ``2*i`` is turn i's question and
    ``2*i + 1`` its answer, which is how chatbot events map back to turns."""

    turns: list[Turn] = field(default_factory=list)
    selected: int | None = None  # the turn whose citations the side panels show

    def history(self) -> list[dict]:
        """Earlier turns in the messages shape :func:`rag.ask_stream` accepts;
        failed turns are left out (there is no answer to follow up on)."""
        out: list[dict] = []
        for t in self.turns:
            if t.answer is not None:
                out.append({"role": "user", "content": t.question})
                out.append({"role": "assistant", "content": t.answer.text})
        return out

    def messages(self, streaming: str | None = None) -> list[dict]:
        """Chatbot messages; ``streaming`` is the partial text of the last turn."""
        out: list[dict] = []
        for i, t in enumerate(self.turns):
            out.append({"role": "user", "content": _escape(t.question)})
            last = i == len(self.turns) - 1
            if last and streaming is not None:
                out.append({"role": "assistant", "content": _escape(streaming) or THINKING})
            else:
                out.append({"role": "assistant", "content": bubble(t)})
        return out

    def turn_at_message(self, index: int) -> int | None:
        """The turn shown by chatbot message ``index``, if it exists."""
        i = index // 2
        return i if 0 <= i < len(self.turns) else None

    @property
    def current(self) -> Turn | None:
        return self.turns[self.selected] if self.selected is not None else None


def bubble(turn: Turn) -> str:
    """Markdown for an answer bubble: the text, a refusal label, warnings and
    the numbered citations as footnotes."""
    if turn.error is not None:
        return f"**Error:** {_escape(turn.error)}"
    a = turn.answer
    if a is None:
        return THINKING
    parts = []
    if a.refused:
        parts.append('<span class="rag-badge rag-refused">Not in the corpus</span>')
    parts.append(_escape(a.text))
    for w in a.warnings:
        parts.append(f'<span class="rag-badge rag-warning">Warning</span> {_escape(w)}')
    if a.citations:
        notes = [f"**[{c.marker}]** `{c.source}` ({c.start}–{c.end})" for c in a.citations]
        parts.append('<span class="rag-cites">' + "<br>".join(notes) + "</span>")
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    """Angle brackets and ampersands from documents or a model are shown as
    text, never parsed as HTML; markdown stays (answers may use lists)."""
    return html.escape(text, quote=False)


def feedback_record(turn: Turn, rating: str, session: str | None = None) -> dict:
    """What one thumbs up/down stores: enough to reproduce and judge the answer."""
    a = turn.answer
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": rating,
        "question": turn.question,
        "answer": a.text if a else turn.error,
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
