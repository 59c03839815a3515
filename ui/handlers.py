"""Event handlers of the app: thin adapters from Gradio events to
:func:`rag.ask_stream`, the side panels, the corpus and the feedback file.

They return plain values (lists, HTML strings, dicts) or ``gr.update``, and
keep no state of their own besides what the app shares on purpose (settings,
the corpus); each session's conversation arrives as an argument.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import gradio as gr

from rag import Answer, Settings, ask_stream
from rag.indexing import indexed_files
from rag.providers import embedding_name

from .chat import Conversation, Turn, feedback_record, store_feedback
from .corpus import Corpus, UploadError
from .viewer import SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, citation_rows_for, source_view_html, sources_html


def model_configured(settings: Settings) -> bool:
    """True when an OpenAI-compatible model is configured (URL or key)."""
    return bool(settings.llm_base_url or settings.llm_api_key)


def details(turn: Turn | None) -> dict:
    """The JSON panel: citations with offsets, warnings and the trace."""
    if turn is None or turn.answer is None:
        return {} if turn is None else {"error": turn.error}
    a = turn.answer
    out = {"refused": a.refused, "warnings": list(a.warnings),
           "citations": [{"marker": c.marker, "source": c.source, "start": c.start, "end": c.end,
                          "quote": c.quote} for c in a.citations],
           "trace": a.trace}
    # Traces are free-form (int keys, tuples, numpy floats): make them plain JSON.
    return json.loads(json.dumps(out, default=str))


class Handlers:
    """Callbacks bound to one app's settings and corpus."""

    def __init__(self, settings: Settings, corpus: Corpus) -> None:
        self.settings = settings
        self.corpus = corpus

    # -- chat -----------------------------------------------------------------

    def respond(self, question: str, conv: Conversation, answerer: str, top_k: float):
        """Stream one answer. Yields (textbox, chatbot, conv, citations,
        sources, viewer, details)."""
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question about the corpus first.")
            yield gr.update(), gr.update(), conv, gr.update(), gr.update(), gr.update(), gr.update()
            return
        settings = self.settings.replace(answerer=answerer or self.settings.answerer, top_k=int(top_k))
        history = conv.history()  # before this turn is added
        turn = Turn(question, answerer=settings.answerer, top_k=settings.top_k)
        conv.turns.append(turn)
        conv.selected = len(conv.turns) - 1
        empty = gr.update(samples=[])
        yield "", conv.messages(streaming=""), conv, empty, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, {}
        text = ""
        try:
            for item in ask_stream(question, history=history, settings=settings):
                if isinstance(item, Answer):
                    turn.answer = item
                else:
                    text += item
                    yield "", conv.messages(streaming=text), conv, empty, gr.update(), gr.update(), gr.update()
        except Exception as exc:  # shown in the bubble; the session stays usable
            turn.error = f"{exc}" if isinstance(exc, (ValueError, RuntimeError, OSError)) else \
                f"{type(exc).__name__}: {exc}"
        if turn.answer is None and turn.error is None:
            turn.error = "the answerer returned no answer"
        yield ("", conv.messages(), conv, *self._panels(turn))

    def select(self, conv: Conversation, evt: gr.SelectData):
        """Clicking a message shows that turn's citations and sources."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        i = conv.turn_at_message(index)
        if i is None:
            return conv, gr.update(), gr.update(), gr.update(), gr.update()
        conv.selected = i
        return conv, *self._panels(conv.turns[i])

    def open_citation(self, row: int | None, conv: Conversation) -> str:
        """The source viewer for citation ``row`` of the selected turn."""
        turn = conv.current
        if row is None or turn is None or turn.answer is None or not 0 <= row < len(turn.answer.citations):
            return VIEWER_PLACEHOLDER
        return source_view_html(self.settings.corpus_dir, turn.answer.citations[row])

    def clear(self):
        """A new, empty conversation for this session."""
        conv = Conversation()
        return conv, [], gr.update(samples=[]), SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, {}

    def feedback(self, conv: Conversation, evt: gr.LikeData, request: gr.Request) -> None:
        """Store a thumbs up/down with the question, answer and citations."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        i = conv.turn_at_message(index)
        if i is None:
            return
        rating = {True: "up", False: "down"}.get(evt.liked, str(evt.liked or "cleared"))
        session = getattr(request, "session_hash", None) if request else None
        store_feedback(self.settings.index_dir, feedback_record(conv.turns[i], rating, session))
        gr.Info("Thanks, your feedback was saved.")

    def _panels(self, turn: Turn) -> tuple:
        a = turn.answer
        rows = citation_rows_for(a.citations) if a else []
        return (gr.update(samples=rows), sources_html(a) if a else SOURCES_PLACEHOLDER,
                VIEWER_PLACEHOLDER, details(turn))

    # -- settings ---------------------------------------------------------------

    def in_use_html(self, answerer: str | None = None, top_k: float | None = None) -> str:
        """What is in use: embedding model, index, answerer, corpus size."""
        s = self.settings
        name = answerer or s.answerer
        model = f"{name} ({s.llm_model} at {s.llm_base_url or 'api.openai.com'})" if name == "openai" else \
            f"{name} (verbatim quotes, no model)"
        try:
            files = len(indexed_files(s))
        except Exception as exc:  # an unreachable Chroma server must not break the page
            files = f"unavailable ({type(exc).__name__})"
        rows = [("Answerer", model), ("Top-k", int(top_k or s.top_k)), ("Embedding", embedding_name(s)),
                ("Index", s.index_location), ("Corpus", s.corpus_dir), ("Indexed files", files)]
        return '<dl class="rag-kv">' + "".join(
            f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows) + "</dl>"

    # -- corpus -----------------------------------------------------------------

    def corpus_view(self):
        """(file table, remove choices, in-use panel) after any change."""
        return self.corpus.files(), gr.update(choices=self.corpus.names(), value=None), self.in_use_html()

    def upload(self, files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        """Add uploaded files to the corpus and index them."""
        if not files:
            raise gr.Error("Choose one or more .txt, .md, .html or .pdf files first.")
        uploads = [(Path(f), Path(f).name) for f in files]
        try:
            change = self.corpus.add(uploads, progress=lambda f, msg: progress(f, desc=msg))
        except UploadError as exc:
            raise gr.Error(str(exc)) from None
        lines = []
        if change.added:
            lines.append(f"**Added:** {', '.join(f'`{n}`' for n in change.added)}")
            r = change.report
            lines.append(f"Index updated: {len(r.files_added)} added, {len(r.files_updated)} updated, "
                         f"{r.chunks_embedded} chunks embedded, {r.chunks_total} in total "
                         f"({r.seconds:.1f} s).")
        for err in change.errors:
            lines.append(f"**Refused:** {err}")
        if change.errors and not change.added:
            gr.Warning("No file was added: " + "; ".join(change.errors))
        return ("\n\n".join(lines), None, *self.corpus_view())

    def remove(self, name: str | None, progress=gr.Progress(track_tqdm=True)):
        """Delete a file from the corpus and its chunks from the index."""
        if not name:
            raise gr.Error("Choose a file to remove.")
        try:
            report = self.corpus.remove(name, progress=lambda f, msg: progress(f, desc=msg))
        except UploadError as exc:
            raise gr.Error(str(exc)) from None
        status = f"**Removed:** `{name}`; {report.chunks_removed} chunks dropped, {report.chunks_total} remain."
        return (status, *self.corpus_view())
