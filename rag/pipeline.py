"""The library entry point: ``ask()`` = retrieve -> select evidence -> answer.

>>> from rag import ask
>>> a = ask("Which UN Security Council resolutions were cited?")  # doctest: +SKIP
>>> a.citations[0].source  # doctest: +SKIP
'000_6cae30295beecc41.txt'
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import lru_cache
from typing import Iterator

from rag.ingest import last_skipped
from rag.store import DamagedDatabase
from rag.store import index_busy, writable
from rag.store import prepare_reading
from rag.ingest import build_index, check_manifest
from rag.store import index_exists, open_collection
from rag.providers import embedding_name, make_answerer, make_chroma_client, make_embeddings
from rag.store import UNIT_FILE, UnitStore
from rag.answer import refusal
from rag.answer import merge_answers
from rag.answer import finish_answer
from rag.ingest import unread_note
from rag.answer import mentions_target, split_question
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.text import QUESTION_WORDS, STOPWORDS, salient_words, stem, stream_pieces, terms, words
from rag.objects import MAX_ANSWER_CHARS, Answer, Answerer, Passage, StreamingAnswerer

log = logging.getLogger(__name__)

_ANAPHORA = re.compile(
    r"\b(?:he|she|him|his|her|hers|they|them|their|it|its|that|this|these|those|there|then)\b|"
    r"^\s*(?:and|also|what about|how about|and what|same)\b",
    re.IGNORECASE,
)


_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_question(question: object, max_chars: int = 2000) -> str:
    """The question stripped, or ValueError with a clear message."""
    if not isinstance(question, str):
        raise ValueError(f"question must be a string, not {type(question).__name__}")
    # Lone surrogates (undecodable argv bytes, broken JSON) cannot be encoded: U+FFFD instead.
    q = _SURROGATE.sub("\ufffd", question).strip()
    if not q:
        raise ValueError("question is empty: ask something about the corpus")
    if len(q) > max_chars:
        raise ValueError(f"question is too long ({len(q)} characters; the limit is {max_chars})")
    return q


def history_turns(history: list | None) -> list[tuple[str, str]]:
    """Earlier turns as (role, text), from a history in either common shape:
    ``[(user, assistant), ...]`` or ``[{"role": ..., "content": ...}, ...]``
    (Gradio's messages, where content may be a list of parts; assistant
    messages with metadata, such as a sources panel, are not turns).

    >>> history_turns([("Who visited Tokyo?", "Tillerson [1].")])
    [('user', 'Who visited Tokyo?'), ('assistant', 'Tillerson [1].')]
    """
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, (list, tuple)) and item:
            for role, text in zip(("user", "assistant"), item[:2]):
                if isinstance(text, str) and text.strip():
                    turns.append((role, text.strip()))
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            if item["role"] == "assistant" and item.get("metadata"):
                continue
            content = item.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            if isinstance(content, str) and content.strip():
                turns.append((item["role"], content.strip()))
    return [(role, _SURROGATE.sub("\ufffd", text)) for role, text in turns]


def history_user_turns(history: list | None) -> list[str]:
    """The user's earlier questions (see :func:`history_turns`)."""
    return [text for role, text in history_turns(history) if role == "user"]


def is_followup(question: str, history: list | None) -> bool:
    """Does ``question`` lean on earlier turns ("And when did he arrive?")?"""
    return bool(history_user_turns(history)) and bool(_ANAPHORA.search(question))


def rewrite_followup(question: str, history: list | None) -> str:
    """Deterministic standalone rewrite: a follow-up that leans on earlier turns
    ("And when did he arrive?") gets the names and topic of the previous
    question appended, so retrieval sees them.

    >>> rewrite_followup("And when did he arrive?", [("Who visited Tokyo, Tillerson?", "...")])
    'And when did he arrive? (visited Tokyo Tillerson)'
    """
    if not is_followup(question, history):
        return question
    previous = history_user_turns(history)
    have = set(terms(question))
    extra: list[str] = []
    for w in words(previous[-1]):
        low = w.lower()
        if low in STOPWORDS or low in QUESTION_WORDS or stem(w) in have or w in extra:
            continue
        extra.append(w)
    return f"{question} ({' '.join(extra)})" if extra else question


class Engine:
    """The loaded pipeline for one Settings: embedder, store, retriever, answerer.

    Loading the embedding model takes seconds, so engines are kept per Settings
    (see :func:`engine_for`); ``Engine`` itself holds no global state.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The model loads (mostly native code, the GIL released) while this thread imports and opens Chroma.
        pool = ThreadPoolExecutor(1, thread_name_prefix="rag-load")
        loading = pool.submit(make_embeddings, settings)
        pool.shutdown(wait=False)  # the thread ends with its one task
        # Damaged vector files would crash this process: they are checked in a child first,
        # and rebuilt before this process opens them.
        damage, self._notes = prepare_reading(settings)
        if damage:
            log.warning("the index at %s is damaged (%s): rebuilding it", settings.index_location, damage)
            build_index(settings, embeddings=loading.result())
            self._notes.append(f"the index was damaged ({damage}) and has been rebuilt from the corpus")
        try:
            self._client = make_chroma_client(settings)
        except DamagedDatabase as exc:
            if not writable(settings.store.index_dir):
                raise
            log.warning("%s: rebuilding it", exc)
            build_index(settings, embeddings=loading.result())
            self._notes.append(f"the index was damaged ({exc.detail}) and has been rebuilt from the corpus")
            self._client = make_chroma_client(settings)
        finally:
            self.embeddings = loading.result()  # a model that failed to load raises here
        self._retriever: Retriever | None = None
        self._answerers: dict[str, object] = {}
        self._lock = threading.Lock()

    def ensure_index(self) -> None:
        if not index_exists(self.settings):
            log.warning("no index at %s: building it from %s first", self.settings.index_location,
                        self.settings.ingest.corpus_dir)
            report = build_index(self.settings, embeddings=self.embeddings)
            log.warning("%s", report.summary())

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self.ensure_index()
                warning = check_manifest(self.settings)
                if warning:
                    log.warning(warning)
                self._retriever = Retriever(self.settings, self.embeddings, self._client,
                                            UnitStore(self.settings.store.index_dir / UNIT_FILE,
                                                      embedding_name(self.settings)))
            else:
                self._retriever.refresh()
            return self._retriever

    def answerer(self, settings: Settings):
        # Keyed by the whole Settings: two calls with different models or
        # servers must not share a client.
        with self._lock:
            if settings not in self._answerers:
                self._answerers[settings] = make_answerer(settings, self.embeddings)
            return self._answerers[settings]

    def rewrite(self, question: str, history: list | None, answerer: Answerer) -> tuple[str, str, list[str]]:
        """(query, how, warnings): a follow-up made standalone by the model when
        the answerer has one, else by :func:`rewrite_followup`."""
        if not is_followup(question, history):
            return question, "none", []
        if isinstance(answerer, StreamingAnswerer):
            query, warning = answerer.rewrite(question, history_turns(history))
            if warning is None:
                return query, "model", []
            return rewrite_followup(question, history), "deterministic", [warning]
        return rewrite_followup(question, history), "deterministic", []

    def ask(self, question: str, history: list | None = None, settings: Settings | None = None) -> Answer:
        final = None
        for item in self.ask_stream(question, history=history, settings=settings):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def ask_stream(self, question: str, history: list | None = None,
                   settings: Settings | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as the answer is produced, then the final Answer."""
        settings = settings or self.settings
        q = validate_question(question, settings.answer.max_question_chars)
        t0 = time.perf_counter()
        answerer = self.answerer(settings)
        query, rewrite, rewrite_warnings = self.rewrite(q, history, answerer)
        plain = settings.answer.answerer == "top-chunk"  # the yardstick: one search, top chunk, nothing else
        if mentions_target(query) and settings.answer.answerer == "openai":
            # "Which documents mention X?" is a scan of the whole corpus, not a top-k prompt.
            answerer = self.answerer(settings.replace(answerer="extractive"))
        retriever = self.retriever
        parts = [query] if plain else split_question(query)
        # "..., and when did they happen?": a later part with no names of its own leans on the first.
        leans = [False] + [bool(_ANAPHORA.search(p)) for p in parts[1:]]
        parts = parts[:1] + [p if salient_words(p) else rewrite_followup(p, [(parts[0], "")]) for p in parts[1:]]

        timings: dict[str, float] = {}
        if len(parts) == 1:
            # 1. retrieve
            query_vector, passages = self._search(retriever, query, settings.retrieval.top_k, timings)
            # 2 + 3. select evidence (or build the prompt) and answer
            t = time.perf_counter()
            answer = None
            for item in self._answer(answerer, query, passages, retriever, query_vector, settings):
                if isinstance(item, Answer):
                    answer = item
                else:
                    yield item
            timings["answer"] = time.perf_counter() - t
        else:
            # A compound question: each part is retrieved and answered on its own.
            answered, passages = [], []
            for part, lean in zip(parts, leans):
                if lean and answered and answered[0][1].refused:
                    # "Which seed does it use, and how do I set it?": no answer to the first, none to the rest.
                    answered.append((part, refusal(f"it depends on {answered[0][0]!r}, which the corpus does "
                                                   "not answer")))
                    continue
                part_vector, part_passages = self._search(retriever, part, settings.retrieval.top_k, timings)
                passages += [p for p in part_passages if p not in passages]
                t = time.perf_counter()
                # The parts share one answer's length.
                *_, part_answer = self._answer(answerer, part, part_passages, retriever, part_vector, settings,
                                               max_chars=MAX_ANSWER_CHARS // len(parts) - 10)
                timings["answer"] = timings.get("answer", 0.0) + time.perf_counter() - t
                answered.append((part, part_answer))
            answer = finish_answer(merge_answers(answered), settings)
            yield from stream_pieces(answer.text)
        # Balanced quote marks, no statement cut at its colon (a no-op on an answer finished above;
        # a model's streamed text is finished here, and the final Answer is authoritative).
        answer = finish_answer(answer, settings)
        if answer.refused:
            # The answer may be in a file the index could not read: say which.
            note = unread_note(last_skipped(settings))
            if note:
                answer = dataclasses.replace(answer, text=f"{answer.text} {note}")
                yield " " + note

        trace = {
            "question": q,
            "query": query,
            "rewrite": rewrite,
            "parts": parts,
            "answerer": settings.answer.answerer,
            "retrieved": [{"chunk_id": p.chunk_id, "source": p.source, "start": p.start, "end": p.end,
                           "score": p.score, "dense": p.dense_score, "lexical": p.lexical_score}
                          for p in passages],
            "seconds": round(time.perf_counter() - t0, 3),
            "timings": {k: round(v, 5) for k, v in timings.items()},
            **answer.trace,
        }
        log.info("ask %r -> %s; chunks %s", query, "refused" if answer.refused else
                 [c.source for c in answer.citations],
                 [(p.chunk_id[:8], p.score) for p in passages])
        yield Answer(text=answer.text, citations=list(answer.citations), refused=answer.refused,
                     warnings=list(dict.fromkeys(self._index_warnings() + rewrite_warnings + list(answer.warnings))),
                     passages=passages, trace=trace)

    def _search(self, retriever: Retriever, query: str, k: int, timings: dict) -> tuple[list[float], list[Passage]]:
        """(query vector, top-k passages) of ``query``; inside :func:`shared_retrieval`, the ones
        an earlier search of the same query, k and index generation on this engine found."""
        shared = _SHARED.get()
        key = (self, retriever.generation, query, k)
        if shared is not None and key in shared:
            vector, passages = shared[key]
            return vector, list(passages)
        t = time.perf_counter()
        vector = self.embeddings.embed_query(query)
        timings["embed_query"] = timings.get("embed_query", 0.0) + time.perf_counter() - t
        passages = retriever.search(query, k, query_vector=vector, timings=timings)
        if shared is not None:
            shared[key] = (vector, tuple(passages))
        return vector, passages

    def _index_warnings(self) -> list[str]:
        """One-time notes (index repaired, read-only copy), then, on every answer,
        whether the index is partial (a `rag index` run in progress or interrupted)."""
        with self._lock:
            out, self._notes = self._notes, []
        collection = open_collection(self._client, self.settings, create=False)
        if collection is not None and (collection.metadata or {}).get("rag_complete") is False:
            state = "is being updated" if index_busy(self.settings) else "was interrupted"
            out.append(f"the index is incomplete: a `rag index` run {state}, so answers may miss documents; "
                       "run `rag index` to finish it")
        return out

    @staticmethod
    def _answer(answerer: Answerer, query, passages, retriever, query_vector, settings, max_chars: int | None = None
                ) -> Iterator[str | Answer]:
        """The answerer's text pieces, then its Answer (streaming when it can)."""
        if isinstance(answerer, StreamingAnswerer):
            yield from answerer.stream(query, passages, retriever, query_vector)
        else:
            # Finished before its text is sent, so what streams is what the Answer says; sent a
            # sentence at a time, as a model's verified sentences are.
            answer = finish_answer(answerer.answer(query, passages, retriever, query_vector, max_chars), settings)
            yield from stream_pieces(answer.text)
            yield answer


_SHARED: ContextVar[dict | None] = ContextVar("rag_shared_retrieval", default=None)


@contextlib.contextmanager
def shared_retrieval() -> Iterator[None]:
    """Within this block (in this thread), a search an engine already made (same query,
    same top-k, same index generation) is not made again: the same query vector and
    passages are used. Retrieval is deterministic, so answers are the same as without
    it; ``rag eval`` scores the top-chunk baseline on the passages the answerer retrieved
    this way instead of searching twice per case.

    >>> with shared_retrieval():  # doctest: +SKIP
    ...     a, b = ask(q), ask(q, settings=settings.replace(answerer="top-chunk"))  # one search
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


@lru_cache(maxsize=4)
def engine_for(settings: Settings) -> Engine:
    """The Engine for these settings, loaded once per process."""
    return Engine(settings)


def engine(settings: Settings | None = None) -> Engine:
    """The loaded engine (embedder, store, retriever, answerers) for ``settings``, shared by
    every caller in this process whose settings load the same things; what only changes
    answering (answerer, top-k...) is passed per call to ``Engine.ask``.

    >>> engine(Settings()).retriever.sample(3)  # doctest: +SKIP
    """
    return engine_for(_loading_part(settings or Settings.from_env()))


def ask(question: str, *, history: list | None = None, settings: Settings | None = None) -> Answer:
    """Answer ``question`` from the corpus, with citations, or refuse.

    Builds the index first if none exists.

    >>> a = ask("Which UN Security Council resolutions were cited?")  # doctest: +SKIP
    >>> a.refused, a.citations[0].quote[:40]  # doctest: +SKIP
    (False, 'We intend to continue our coordination ')
    """
    settings = settings or Settings.from_env()
    q = validate_question(question, settings.answer.max_question_chars)
    return engine(settings).ask(q, history=history, settings=settings)


def ask_stream(question: str, *, history: list | None = None,
               settings: Settings | None = None) -> Iterator[str | Answer]:
    """Like :func:`ask`, but yields text pieces as they are produced and ends
    with the final :class:`Answer`. With a model, pieces are sentences that
    passed verification (markers already renumbered); the final Answer's text
    is authoritative: after a model failure it replaces what was streamed.

    >>> for item in ask_stream("When did Tillerson take office?"):  # doctest: +SKIP
    ...     print(item if isinstance(item, str) else item.citations)
    """
    settings = settings or Settings.from_env()
    q = validate_question(question, settings.answer.max_question_chars)
    yield from engine(settings).ask_stream(q, history=history, settings=settings)


# What an Engine loads from: the store and embeddings groups, the corpus and its chunking; the
# others (answerer, top_k, ...) are per call.
def _loading_part(settings: Settings) -> Settings:
    i = settings.ingest
    return Settings(corpus_dir=i.corpus_dir, chunk_size=i.chunk_size, chunk_overlap=i.chunk_overlap,
                    store=settings.store, embeddings=settings.embeddings)
