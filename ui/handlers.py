"""Chat event handlers: thin adapters from Gradio events to
:func:`rag.ask_stream`, the side panels, the browser's saved conversations and
the feedback file.

They return plain values (lists, HTML strings, dicts) or ``gr.update``, and
keep no state of their own besides what the app shares on purpose (settings,
the corpus); each session's conversation arrives as an argument. Every chat
handler returns the outputs in :data:`CHAT_OUTPUTS` order.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time

import gradio as gr

from rag import Answer, Settings, ask_stream
from ui.examples import example_questions
from rag.store import indexed_files
from rag.embeddings import embedding_name
from rag.safety import printable

from .chat import Conversation, Turn, feedback_record, new_id, store_feedback
from .corpus import Corpus
from .details import details_html, details_json
from .security import known_paths, public_location, public_message
from .store import from_record, record_json
from .viewer import (CITATIONS_PLACEHOLDER, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, citations_html,
                     heading_for, source_view_html, sources_html)

# question, notice, chatbot, conv, citations, sources, viewer, details, outbox
CHAT_OUTPUTS = ("question", "notice", "chatbot", "conv", "citations", "sources", "viewer", "details", "outbox")

log = logging.getLogger(__name__)


def details(turn: Turn | None) -> dict:
    """The JSON output of ``/ask``: citations with offsets, warnings and the trace."""
    return details_json(turn.answer) if turn is not None and turn.answer is not None else {}


def notice_html(message: str, kind: str = "error") -> str:
    """The line under the question box (errors stay there, never in the chat)."""
    if not message:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<div class="rag-input-notice rag-{kind}" role="{role}">{html.escape(message)}</div>'


def panel_failed(name: str, reason: str) -> str:
    """What a side panel shows in place of content it failed to render."""
    return (f'<div class="rag-notice" role="status">The {html.escape(name)} panel could not be shown '
            f"({html.escape(reason)}). The answer itself is complete.</div>")


def outbox(op: str, **payload) -> str:
    """A message to the page script that keeps conversations in the browser."""
    # The outbox renders nothing, but its value is HTML-typed: keep document text
    # from ever looking like markup there ("<" is "\u003c" to JSON.parse).
    text = json.dumps({"op": op, "n": time.time_ns(), **payload}, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _out(**values) -> tuple:
    """The chat outputs in order; anything not given stays as it is."""
    return tuple(values[k] if k in values else gr.update() for k in CHAT_OUTPUTS)


class Handlers:
    """Callbacks bound to one app's settings and corpus."""

    def __init__(self, settings: Settings, corpus: Corpus) -> None:
        self.settings = settings
        self.corpus = corpus
        self._examples: tuple[tuple, list[str]] | None = None
        self._examples_lock = threading.Lock()

    # -- chat -----------------------------------------------------------------

    def question_problem(self, question: str) -> str | None:
        """Why ``question`` cannot be asked, or None."""
        limit = self.settings.answer.max_question_chars
        if not question.strip():
            return "Type a question about the corpus first."
        if len(question.strip()) > limit:
            return (f"Your question is {len(question.strip()):,} characters long; the limit is {limit:,}. "
                    "Shorten it and ask again.")
        return None

    def respond(self, question: str, conv: Conversation, answerer: str, top_k: float):
        """Stream one answer into the chat (outputs: :data:`CHAT_OUTPUTS`).
        A question that cannot be asked stays in the box with the reason under it."""
        question = question or ""
        problem = self.question_problem(question)
        if problem:
            yield _out(question=question, notice=notice_html(problem), chatbot=conv.messages(), conv=conv)
            return
        q = question.strip()
        settings = self.settings.replace(answerer=answerer or self.settings.answer.answerer, top_k=int(top_k))
        if not conv.turns:
            # gr.State copies its initial value into every session, id included: a
            # conversation gets its own id when it starts, so two tabs never share one.
            conv.id, conv.created = new_id(), time.time()
        history = conv.history()  # before this turn is added
        turn = Turn(q, answerer=settings.answer.answerer, top_k=settings.retrieval.top_k)
        conv.turns.append(turn)
        conv.selected = len(conv.turns) - 1
        yield _out(question="", notice="", chatbot=conv.messages(live=True), conv=conv,
                   citations=CITATIONS_PLACEHOLDER, sources=SOURCES_PLACEHOLDER, viewer=VIEWER_PLACEHOLDER,
                   details={}, outbox=outbox("save", record=json.loads(record_json(conv))))
        try:
            for item in ask_stream(q, history=history, settings=settings):
                if turn.stopped:
                    return  # the user pressed stop (or opened another conversation)
                if isinstance(item, Answer):
                    turn.answer = item
                else:
                    turn.partial += item
                    yield _out(chatbot=conv.messages(live=True), conv=conv)
            if turn.answer is None:
                raise RuntimeError("the answerer returned no answer")
        except Exception as exc:  # the question goes back into the box, the reason under it
            conv.turns.remove(turn)
            conv.selected = len(conv.turns) - 1 if conv.turns else None
            reason = str(exc) if isinstance(exc, (ValueError, RuntimeError, OSError)) else \
                f"{type(exc).__name__}: {exc}"
            reason = public_message(reason, known_paths(self.settings))
            yield _out(question=q, notice=notice_html(f"Could not answer: {reason}"), chatbot=conv.messages(),
                       conv=conv, outbox=self._save(conv))
            return
        i = conv.turns.index(turn)
        yield _out(**{"notice": "", **self._panels(i, turn)}, chatbot=conv.messages(), conv=conv,
                   outbox=self._save(conv))

    def stop(self, conv: Conversation):
        """The stop button: keep what arrived, labelled as stopped."""
        turn = conv.turns[-1] if conv.turns else None
        if turn is None or not turn.pending:
            return _out(conv=conv)
        turn.stopped = True
        return _out(notice=notice_html("Stopped. Ask again to get a full answer with citations.", "info"),
                    chatbot=conv.messages(), conv=conv, outbox=self._save(conv))

    def inbox(self, conv: Conversation, evt: gr.SelectData):
        """Requests from the page script: open a citation, open or start a conversation."""
        try:
            msg = json.loads(evt.value) if isinstance(evt.value, str) else dict(evt.value)
            kind = msg.get("kind")
        except (ValueError, TypeError, AttributeError):
            return _out(conv=conv)
        if kind == "cite":
            return self._open_citation(conv, msg.get("turn"), msg.get("marker"), msg.get("req"))
        if kind == "more":  # an answer's "Retrieved passages and answer details" link
            return self._show_turn(conv, msg.get("turn"))
        if kind == "close":  # the source viewer was closed
            return _out(conv=conv, viewer=VIEWER_PLACEHOLDER)
        if kind == "open":
            new = from_record(msg.get("record"))
            if new is None:
                return _out(notice=notice_html("That saved conversation could not be read."), conv=conv)
            return self._switch(conv, new)
        if kind == "new":
            return self.new_conversation(conv)
        return _out(conv=conv)

    def new_conversation(self, conv: Conversation):
        """An empty chat (the old conversation stays saved in the browser)."""
        return self._switch(conv, Conversation())

    def _switch(self, old: Conversation, new: Conversation):
        for t in old.turns:
            if t.pending:
                t.stopped = True  # a stream still running for the old conversation ends quietly
        turn = new.current
        panels = self._panels(new.selected, turn) if turn is not None else self._empty_panels()
        return _out(**{"notice": "", **panels}, chatbot=new.messages(), conv=new,
                    outbox=outbox("active", id=new.id if new.turns else None))

    def _open_citation(self, conv: Conversation, turn_index, marker, request=None):
        if not isinstance(turn_index, int) or not isinstance(marker, int) or not 0 <= turn_index < len(conv.turns):
            return _out(conv=conv)
        turn = conv.turns[turn_index]
        a = turn.answer
        c = next((c for c in a.citations if c.marker == marker), None) if a else None
        if c is None:
            return _out(conv=conv)
        conv.selected = turn_index
        panels = self._panels(turn_index, turn)
        try:
            panels["viewer"] = source_view_html(self.settings.ingest.corpus_dir, c, heading_for(a, c), turn_index,
                                                  self.settings, request=request)
        except Exception as exc:  # noqa: BLE001 - the answer and the other panels stay usable
            log.exception("the source viewer failed for %s", c.source)
            reason = public_message(f"{type(exc).__name__}: {exc}", known_paths(self.settings))
            panels["viewer"] = panel_failed("Source", reason)
            panels["notice"] = notice_html(f"Could not open [{c.marker}] {printable(c.source)}: {reason}")
        return _out(conv=conv, **panels)

    def select(self, conv: Conversation, evt: gr.SelectData):
        """Clicking a message shows that turn's citations and sources."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        return self._show_turn(conv, conv.turn_at_message(index))

    def _show_turn(self, conv: Conversation, i):
        if not isinstance(i, int) or not 0 <= i < len(conv.turns):
            return _out(conv=conv)
        conv.selected = i
        return _out(conv=conv, **self._panels(i, conv.turns[i]))

    def example(self, evt: gr.SelectData) -> str:
        """An example question clicked on the empty chat goes into the box."""
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value or "")

    def feedback(self, conv: Conversation, evt: gr.LikeData, request: gr.Request) -> None:
        """Store a thumbs up/down with the question, answer and citations."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        i = conv.turn_at_message(index)
        if i is None or conv.turns[i].answer is None:
            return
        rating = {True: "up", False: "down"}.get(evt.liked, str(evt.liked or "cleared"))
        session = getattr(request, "session_hash", None) if request else None
        store_feedback(self.settings.store.index_dir, feedback_record(conv.turns[i], rating, session))
        gr.Info("Thanks, your feedback was saved.")

    def _save(self, conv: Conversation) -> str:
        return outbox("save", record=json.loads(record_json(conv))) if conv.turns else outbox("active", id=None)

    def _panels(self, i: int, turn: Turn) -> dict:
        """The side panels of turn ``i``. A panel that fails to render says so in
        its place and in the notice under the input; the answer is never lost to it."""
        a = turn.answer
        if a is None:
            return self._empty_panels()
        failed: list[str] = []

        def attempt(name: str, make, fallback=None):
            try:
                return make()
            except Exception as exc:  # noqa: BLE001 - any bug in a panel must leave the answer standing
                log.exception("the %s panel failed for %r", name, turn.question[:80])
                reason = public_message(f"{type(exc).__name__}: {exc}", known_paths(self.settings))
                failed.append(f"{name} ({reason})")
                return panel_failed(name, reason) if fallback is None else fallback

        # The sources panel holds the files retrieved, then the answer's details as tables;
        # the JSON output stays plain data (the /ask API returns it).
        out = {"viewer": VIEWER_PLACEHOLDER,
               "citations": attempt("Citations", lambda: citations_html(i, a)),
               "sources": attempt("Sources retrieved", lambda: sources_html(a, i))
               + attempt("Answer details", lambda: details_html(a)),
               "details": attempt("Answer details (JSON)", lambda: details(turn), {})}
        if failed:
            out["notice"] = notice_html("The answer is complete, but a panel could not be shown: "
                                        + "; ".join(failed) + ".", "info")
        return out

    @staticmethod
    def _empty_panels() -> dict:
        return {"citations": CITATIONS_PLACEHOLDER, "sources": SOURCES_PLACEHOLDER, "viewer": VIEWER_PLACEHOLDER,
                "details": {}}

    # -- examples and settings ---------------------------------------------------

    def examples(self) -> list[str]:
        """Three questions the corpus answers (recomputed when the corpus changes)."""
        sig = self.corpus.signature()[0]
        with self._examples_lock:
            if self._examples is None or self._examples[0] != sig:
                self._examples = (sig, example_questions(self.settings, 3))
            return list(self._examples[1])

    def examples_update(self):
        return gr.update(examples=[{"text": q} for q in self.examples()] or None)

    def in_use_html(self, answerer: str | None = None, top_k: float | None = None) -> str:
        """What is in use: answerer, embedding model, index, corpus size (no server paths)."""
        s = self.settings
        name = answerer or s.answer.answerer
        model = f"model {s.llm.model}" if name == "openai" else "extractive (verbatim quotes, no model)"
        try:
            files = len(indexed_files(s))
        except Exception as exc:  # an unreachable Chroma server must not break the page
            files = f"unavailable ({type(exc).__name__})"
        index, corpus = public_location(s)
        rows = [("Answerer", model), ("Top-k", int(top_k or s.retrieval.top_k)), ("Embedding", embedding_name(s)),
                ("Index", index), ("Corpus", corpus), ("Indexed files", files)]
        return '<dl class="rag-kv">' + "".join(
            f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows) + "</dl>"
