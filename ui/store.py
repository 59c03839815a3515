"""Conversations as the browser keeps them (``localStorage``), and back.

The page script stores one JSON record per conversation and lists them in the
sidebar; opening one sends its record here. A record comes from the browser,
so :func:`from_record` trusts nothing: types are checked, sizes capped, and
everything it holds is rendered escaped like any other text. Passage texts are
not stored (the viewer reads the file), which keeps records small.

>>> from ui.chat import Conversation, Turn
>>> from rag import Answer
>>> conv = Conversation([Turn("Who came?", Answer("Tillerson. [1]"))])
>>> from_record(to_record(conv)).turns[0].answer.text
'Tillerson. [1]'
"""

from __future__ import annotations

import json
import re
import time

from rag import Answer, Citation, Passage

from .chat import Conversation, Turn

VERSION = 1
MAX_TURNS = 200
MAX_TEXT = 100_000
MAX_RECORD_CHARS = 2_000_000
_ID = re.compile(r"c[0-9a-f]{16}")


def to_record(conv: Conversation) -> dict:
    """A JSON-ready record of ``conv`` for the browser."""
    return {"v": VERSION, "id": conv.id, "title": conv.title, "created": conv.created,
            "updated": time.time(), "turns": [_turn(t) for t in conv.turns]}


def _turn(t: Turn) -> dict:
    out: dict = {"q": t.question, "answerer": t.answerer, "top_k": t.top_k}
    if t.answer is not None:
        a = t.answer
        out["a"] = {
            "text": a.text, "refused": a.refused, "warnings": list(a.warnings),
            "citations": [[c.marker, c.source, c.quote, c.start, c.end] for c in a.citations],
            "passages": [[p.chunk_id, p.source, p.start, p.end, p.score, p.dense_score, p.lexical_score,
                          p.heading_path] for p in a.passages],
            "trace": json.loads(json.dumps(a.trace, default=str)),
        }
    elif t.stopped:
        out["stopped"] = True
    if t.partial and t.answer is None:
        out["partial"] = t.partial
    return out


def record_json(conv: Conversation) -> str:
    return json.dumps(to_record(conv), ensure_ascii=False)


def from_record(record: object) -> Conversation | None:
    """The conversation in ``record`` (a dict or its JSON), or None when it is
    not a valid record. A turn that was still being answered comes back
    without an answer (the page shows it as interrupted)."""
    try:
        if isinstance(record, str):
            if len(record) > MAX_RECORD_CHARS:
                return None
            record = json.loads(record)
        if not isinstance(record, dict) or record.get("v") != VERSION or not _ID.fullmatch(str(record.get("id"))):
            return None
        turns = record.get("turns")
        if not isinstance(turns, list) or len(turns) > MAX_TURNS:
            return None
        conv = Conversation([_parse_turn(t) for t in turns], id=record["id"],
                            created=float(record.get("created") or 0))
    except (ValueError, TypeError, KeyError):
        return None
    conv.selected = len(conv.turns) - 1 if conv.turns else None
    return conv


def _text(value: object, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value[:limit]


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


def _num(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("expected a number")
    return float(value)


def _parse_turn(raw: object) -> Turn:
    if not isinstance(raw, dict):
        raise TypeError("expected a turn")
    turn = Turn(_text(raw["q"], 10_000), answerer=_text(raw.get("answerer", ""), 40),
                top_k=_int(raw.get("top_k", 0)), partial=_text(raw.get("partial", "")),
                stopped=raw.get("stopped") is True)
    a = raw.get("a")
    if a is not None:
        if not isinstance(a, dict):
            raise TypeError("expected an answer")
        citations = [Citation(_int(m), _text(src, 1000), _text(q), _int(s), _int(en))
                     for m, src, q, s, en in a.get("citations", [])]
        passages = [Passage(_text(cid, 200), _text(src, 1000), _int(s), _int(en), "", _num(score) or 0.0,
                            _num(dense), _num(lex), _text(head or "", 1000))
                    for cid, src, s, en, score, dense, lex, head in a.get("passages", [])]
        trace = a.get("trace") if isinstance(a.get("trace"), dict) else {}
        turn.answer = Answer(_text(a["text"]), citations, a.get("refused") is True,
                             [_text(w, 2000) for w in a.get("warnings", [])], passages, trace)
    return turn
