"""Answering with any OpenAI-compatible chat model, every citation verified.

The model sees the retrieved passages numbered [1]..[k] and fenced as data
(:mod:`rag.generate.prompt`). Its answer is read sentence by sentence as it streams:
each ``[n]`` is checked against passage n (:class:`rag.generate.verification.Verifier`),
unsupported citations and claims are removed and reported in
``Answer.warnings``, and surviving markers are renumbered densely. Verified
sentences are streamed; nothing unverified is ever shown.

Outcomes, in order of precedence:

- the corpus cannot answer (the extractive answerer's ``unsupported_reason``):
  refusal, and the model is never called;
- the model fails (down, timeout, 429, 5xx, malformed) after
  ``settings.llm.max_retries`` retries: the extractive answer with a warning
  saying why (``settings.llm.strict``: :class:`GenerationError` instead);
- the model says the passages hold no answer and nothing it said survives
  verification: refusal (``refused=True``, no citations);
- no citation survives verification: the extractive answer, with a warning
  (its quotes are verified by construction; better than an uncited answer);
- otherwise: the model's verified sentences with their citations.

>>> answerer = OpenAIAnswerer(Settings(answerer="openai", llm_base_url="http://127.0.0.1:8080/v1"),
...                           embeddings)  # doctest: +SKIP
>>> answerer.answer(question, passages, retriever, query_vector).citations  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from typing import Iterator
from urllib.parse import urlparse

from rag.answer import ExtractiveAnswerer, refusal
from rag.generate.deadline import DeadlineExceeded, answer_deadline, make_http_client
from rag.safety import guard_http_loggers, printable
from rag.generate.prompt import answer_messages, clean_rewrite, doubtful_rewrite, rewrite_messages
from rag.settings import Settings
from rag.objects import Answer, Passage
from rag.generate.verification import AnswerBuilder, Verifier

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers ignore the key, but the client insists on one
MAX_BACKOFF = 4.0
MAX_RETRY_AFTER = 10.0


class GenerationError(RuntimeError):
    """The model could not produce an answer (raised only in strict mode)."""


class ModelError(Exception):
    """One failed model call: ``reason`` is safe to show (no secrets)."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class OpenAIAnswerer:
    """Answers with a chat model through langchain-openai's ``ChatOpenAI``
    (LangChain's chat interface keeps us provider-neutral; the openai SDK
    underneath speaks to OpenAI, vLLM, Ollama or llama.cpp alike)."""

    name = "openai"

    def __init__(self, settings: Settings, embeddings) -> None:
        from langchain_openai import ChatOpenAI  # ImportError here: providers.make_answerer says what to install

        self._chat_class = ChatOpenAI
        self.settings = settings
        self.embeddings = embeddings
        self.extractive = ExtractiveAnswerer(settings, embeddings)
        self.base_url = settings.llm.base_url or OPENAI_URL
        self._chat = None
        self._streams = True  # until the server shows it cannot

    def __repr__(self) -> str:
        return f"OpenAIAnswerer(model={self.settings.llm.model!r}, base_url={safe_url(self.base_url)!r})"

    # -- the model -------------------------------------------------------------
    @property
    def chat(self):
        if self._chat is None:
            s = self.settings
            if not s.llm.api_key and not s.llm.base_url:
                raise ModelError("no API key for api.openai.com: set RAG_LLM_API_KEY or OPENAI_API_KEY, "
                                 "or RAG_LLM_BASE_URL for a local server", retryable=False)
            import httpx2

            guard_http_loggers(s.llm.api_key or "")  # they would log the base URL, credentials included
            self._chat = self._chat_class(
                model=s.llm.model, base_url=self.base_url, api_key=s.llm.api_key or NO_KEY,
                timeout=httpx2.Timeout(s.llm.timeout, connect=min(s.llm.connect_timeout, s.llm.timeout)),
                http_client=make_http_client(),  # enforces RAG_LLM_DEADLINE on every byte
                max_retries=0,  # retries are ours: they also cover malformed replies
                temperature=0, max_tokens=s.llm.max_tokens,
                stream_usage=False,  # `stream_options` is not understood by every compatible server
                use_responses_api=False,  # compatible servers speak chat completions only
            )
        return self._chat

    def _deltas(self, messages: list[tuple[str, str]], deadline: float) -> Iterator[str]:
        """Text deltas of one streamed completion; any failure is a ModelError.
        A server that answers a streaming request with plain JSON (some do) is
        asked without streaming from then on. Past ``deadline`` the model is cut
        off; past RAG_LLM_MAX_TOKENS (counted here: servers may ignore the cap)
        the stream is closed and a :class:`Cut` marks the end."""
        it = None
        pieces = chars = 0
        cap = self.settings.llm.max_tokens
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydantic warns on malformed replies; we report them ourselves
                if not self._streams:
                    with answer_deadline(deadline):
                        text = _text(self.chat.invoke(messages).content)
                    if text:
                        yield text[:cap * MAX_CHARS_PER_TOKEN]
                    return
                it = iter(self.chat.stream(messages))
                while True:
                    try:
                        with answer_deadline(deadline):
                            chunk = next(it)
                    except StopIteration:
                        return
                    text = _text(chunk.content)
                    if text:
                        pieces += 1
                        chars += len(text)
                        yield text
                    if pieces >= cap or chars >= cap * MAX_CHARS_PER_TOKEN:
                        # A stream chunk is about one token; characters catch servers sending big chunks.
                        yield Cut()
                        return
        except ModelError:
            raise
        except ValueError as exc:
            if self._streams and "No generation chunks" in str(exc):
                log.info("%s sent no stream events; asking without streaming", safe_url(self.base_url))
                self._streams = False
                yield from self._deltas(messages, deadline)
                return
            raise self._classify(exc) from None
        except Exception as exc:
            raise self._classify(exc) from None
        finally:
            if it is not None and hasattr(it, "close"):
                it.close()  # a consumer that stops early closes the HTTP stream now, not at GC

    def _classify(self, exc: Exception) -> ModelError:
        import openai

        where = safe_url(self.base_url)
        if _caused_by(exc, DeadlineExceeded):
            return ModelError(f"no complete answer from {where} within RAG_LLM_DEADLINE="
                              f"{self.settings.llm.deadline:g}s", retryable=False)
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"timed out after {self.settings.llm.timeout:g}s waiting for {where}", True)
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"cannot connect to {where}", True)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = re.sub(r"^Error code: \d+ - ", "", self.redact(str(exc.message or "")))[:200]
            if isinstance(exc, openai.RateLimitError):
                return ModelError(f"rate limited by {where} (HTTP 429)", True, _retry_after(exc))
            if status >= 500:
                return ModelError(f"server error from {where} (HTTP {status}: {detail})", True)
            if status in (401, 403):
                return ModelError(f"{where} rejected the API key (HTTP {status}); check RAG_LLM_API_KEY", False)
            if status == 404:
                return ModelError(f"{where} has no model {self.settings.llm.model!r} or no chat endpoint "
                                  f"(HTTP 404); check RAG_LLM_MODEL and RAG_LLM_BASE_URL", False)
            return ModelError(f"{where} refused the request (HTTP {status}: {detail})", False)
        return ModelError(f"malformed response from {where} ({type(exc).__name__}: "
                          f"{self.redact(str(exc))[:200]})", True)

    def _complete(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        """Deltas of one completion, with bounded retries; returns the attempts
        used (``attempts = yield from ...``). Retries only before the first
        delta: text already handed on cannot be taken back."""
        attempts = 1 + self.settings.llm.max_retries
        deadline = time.monotonic() + self.settings.llm.deadline  # one for the whole answer, retries included
        for attempt in range(1, attempts + 1):
            got_text = False
            try:
                for delta in self._deltas(messages, deadline):
                    got_text = got_text or bool(delta.strip())
                    yield delta
                if not got_text:
                    raise ModelError(f"empty answer from {safe_url(self.base_url)}", retryable=True)
                return attempt
            except ModelError as exc:
                if got_text or not exc.retryable or attempt == attempts:
                    exc.reason = f"{exc.reason}; {attempt} attempt{'s' if attempt > 1 else ''}"
                    raise
                pause = exc.retry_after if exc.retry_after is not None else min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1))
                if time.monotonic() + pause >= deadline:
                    exc.reason = (f"{exc.reason}; no time left for a retry within RAG_LLM_DEADLINE="
                                  f"{self.settings.llm.deadline:g}s; {attempt} attempt{'s' if attempt > 1 else ''}")
                    raise
                log.warning("model call failed: %s; retrying in %.1fs", exc.reason, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def redact(self, text: str) -> str:
        """``text`` without the API key (error bodies sometimes echo it)."""
        key = self.settings.llm.api_key
        if key and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    # -- follow-up rewrite -----------------------------------------------------
    def rewrite(self, question: str, turns: list[tuple[str, str]]) -> tuple[str, str | None]:
        """A standalone form of the follow-up ``question`` written by the model,
        given earlier (role, text) turns. Returns (query, warning); on failure
        or a doubtful rewrite the question is returned unchanged with a reason."""
        try:
            text = "".join(self._complete(rewrite_messages(question, turns)))
        except ModelError as exc:
            if self.settings.llm.strict:
                raise GenerationError(f"follow-up rewrite failed: {exc.reason}") from None
            return question, f"the model could not rewrite the follow-up question ({exc.reason})"
        query = clean_rewrite(self.redact(text))
        doubt = doubtful_rewrite(question, query, turns, self.settings.answer.max_question_chars)
        if doubt:
            return question, f"ignored the model's rewrite of the follow-up question ({doubt}): {query[:120]!r}"
        return query, None

    # -- answering -------------------------------------------------------------
    def answer(self, question: str, passages: list[Passage], retriever, query_vector,
               max_chars: int | None = None) -> Answer:
        """The final :class:`Answer` (the last item of :meth:`stream`; the model is asked for a
        short answer and finishing caps it, so ``max_chars`` is not passed on)."""
        final = None
        for item in self.stream(question, passages, retriever, query_vector):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(self, question: str, passages: list[Passage], retriever, query_vector) -> Iterator[str | Answer]:
        """Yield verified text pieces as the model writes, then the Answer."""
        reason = self.extractive.unsupported_reason(question, passages, retriever)
        if reason:
            ans = refusal(reason)
            yield ans.text
            yield _with_trace(ans, model_called=False)
            return

        builder = AnswerBuilder(Verifier(question, passages, retriever.idf, self.embeddings.embed_documents),
                                passages, self.redact)
        trace = {"model": self.settings.llm.model, "base_url": safe_url(self.base_url), "model_called": True}
        if builder.verifier.injected:
            # Shown to whoever audits the answer; the prompt already fences these as data.
            trace["passages_addressing_the_model"] = builder.verifier.injected
            for n in builder.verifier.injected:
                p = passages[n - 1]
                builder.warnings.append(
                    f"a passage of {printable(p.source)} (characters {p.start}-{p.end}) holds text addressed to "
                    "the model or the reader (instructions, links to visit); it was treated as data, never as "
                    "evidence")
        t0 = time.perf_counter()
        deltas = self._complete(answer_messages(question, passages))
        try:
            while True:
                try:
                    delta = next(deltas)
                except StopIteration as stop:
                    attempts = stop.value
                    break
                if isinstance(delta, Cut):
                    builder.warnings.append(f"the model's answer was cut off at RAG_LLM_MAX_TOKENS="
                                            f"{self.settings.llm.max_tokens} tokens")
                    trace["cut_at_max_tokens"] = True
                    continue
                yield from builder.feed(delta)
        except GeneratorExit:
            deltas.close()  # the consumer stopped listening: hang up on the model now
            raise
        except ModelError as exc:
            trace["model_seconds"] = round(time.perf_counter() - t0, 3)
            yield from self._fallback(question, passages, retriever, query_vector,
                                      f"the model failed: {exc.reason}", builder, trace, failed=True)
            return
        trace["model_seconds"] = round(time.perf_counter() - t0, 3)
        yield from builder.finish()
        text = builder.raw
        trace.update(attempts=attempts, model_text=self.redact(text), verification=builder.report)

        if builder.citations:
            yield Answer(text=builder.text, citations=builder.citations, warnings=builder.warnings,
                         trace=trace)
            return
        if builder.refused:
            ans = refusal("the retrieved passages do not contain the answer (said the model)")
            yield ans.text
            yield _with_trace(ans, builder.warnings, **trace)
            return
        yield from self._fallback(question, passages, retriever, query_vector,
                                  "no citation in the model's answer could be verified", builder, trace,
                                  failed=False)

    def _fallback(self, question, passages, retriever, query_vector, why: str, builder: AnswerBuilder,
                  trace: dict, *, failed: bool) -> Iterator[str | Answer]:
        """The extractive answer with a warning saying why. In strict mode a
        model failure raises instead; an unverifiable answer never does."""
        if failed and self.settings.llm.strict:
            raise GenerationError(f"{why}; strict mode forbids the extractive fallback "
                                  "(unset RAG_STRICT to fall back)")
        log.warning("%s; answering extractively", why)
        ans = self.extractive.answer(question, passages, retriever, query_vector)
        yield ans.text
        yield _with_trace(ans, builder.warnings + [f"{why}; showing the extractive answer instead"],
                          **{**trace, "fallback": "extractive", "fallback_reason": why,
                             "verification": builder.report})


# -- helpers -------------------------------------------------------------------

MAX_CHARS_PER_TOKEN = 8  # generous: English averages about 4 characters per token


class Cut(str):
    """An empty delta marking that the answer was cut at RAG_LLM_MAX_TOKENS."""

    def __new__(cls):
        return super().__new__(cls, "")


def _caused_by(exc: BaseException, kind: type) -> bool:
    """Is ``kind`` anywhere in the chain of ``exc`` (the SDKs wrap what the transport raises)?"""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def safe_url(url: str) -> str:
    """``url`` without credentials (``http://user:pw@host`` -> ``http://host``)."""
    u = urlparse(url)
    if u.username or u.password:
        host = u.hostname or ""
        if u.port:
            host += f":{u.port}"
        u = u._replace(netloc=host)
    return u.geturl()


def _text(content) -> str:
    """Message content as text (some servers send a list of parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    if not isinstance(content, str):
        raise ModelError(f"malformed response (content of type {type(content).__name__})", retryable=True)
    return content


def _retry_after(exc) -> float | None:
    try:
        value = float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
    return max(0.0, min(MAX_RETRY_AFTER, value))


def _with_trace(ans: Answer, extra_warnings: list[str] | None = None, **trace) -> Answer:
    return Answer(text=ans.text, citations=list(ans.citations), refused=ans.refused,
                  warnings=list(ans.warnings) + list(extra_warnings or []), passages=ans.passages,
                  trace={**ans.trace, **trace})
