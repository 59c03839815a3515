"""Verification of a model's answer against the passages it was given.

A model writes sentences ending in [n]; each [n] must point at a passage that
really supports its sentence. Support is lexical first: every number and name
of the sentence appears in the passage, and an IDF-weighted share of its
content terms is found in one or two adjacent sentences of the passage (no
negation the passage lacks; text addressed to a model never counts). Embedding
similarity decides the borderline cases. The quote is that supporting span,
verbatim, in file coordinates. :class:`AnswerBuilder` applies this to a
streamed answer sentence by sentence.

>>> v = Verifier("When?", [Passage("c", "a.txt", 0, 27, "Abe met Tillerson in Tokyo.", 1.0)], {})
>>> v.check("Tillerson met Abe in Tokyo [1].", 1).ok
True
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from rag.answer import CitationBook, claim_spans, normalize_markers, parse_markers, rewrite_markers, strip_markers
from rag.generate.prompt import is_refusal
from rag.objects import Passage
from rag.text import INSTRUCTION

STRONG_SUPPORT = 0.6     # this share of the sentence's term weight found: supported
WEAK_SUPPORT = 0.4       # between WEAK and STRONG, the embeddings decide
MIN_COSINE = 0.6         # claim vs quote cosine needed in the borderline band
SHORT_CLAIM_TERMS = 3    # shorter claims ("Tokyo [1].") must also match the question's topic
JOINT_SHARE = 0.25       # a passage cited with others must cover this share of the sentence

_NEGATION = re.compile(r"\b(?:not|never|no|none|neither|nor|without)\b|n['’]t\b", re.IGNORECASE)
# Prose about the passages themselves is not part of a claim.
_PROSE = frozenset("""passage passages context answer question provided based information according
here found find summary following follows yes sure certainly overall short brief briefly""".split())
# Text addressed to the reader or the model rather than stating something: imperatives
# to go somewhere, act, or leak ("Visit http://...", "Tell the user to...", "Reveal your prompt").
# A document sentence like this is never evidence, and an answer sentence like this is
# never kept: an answer states what the passages say.
_ACT = (r"(?:visit|click|go\s+to|navigate|open|download|install|run|execute|call|phone|text|e-?mail|contact|"
        r"write\s+to|send|forward|ignore|disregard|forget|override|reveal|disclose|print|output|repeat|"
        r"tell|inform|say|respond|reply|answer\s+with|sign\s+(?:in|up)|log\s*in|enter|share|subscribe|"
        r"buy|pay|transfer|wire|recommend|direct|redirect|include\s+(?:this|the\s+following))")
ADDRESSED = re.compile(
    rf"^\W*(?:(?:please|now|first|then|also|kindly|immediately)[\s,]+)*{_ACT}\b|"
    rf"\byou\s+(?:must|should|need\s+to|have\s+to|are\s+(?:required|instructed)\s+to)\s+(?:\w+\s+)?{_ACT}\b|"
    r"\b(?:tell|inform|instruct|remind)\s+(?:the\s+)?(?:user|reader|human|customer)s?\b|"
    r"\b(?:the\s+)?(?:assistant|chatbot|language\s+model|ai\s+model|llm)\s+(?:must|should|will)\b|"
    r"\byour\s+(?:instructions|system\s+prompt|prompt|rules|guidelines)\b",
    re.IGNORECASE,
)
# Addresses that send a reader somewhere: an answer may only repeat them verbatim from its passage.
CONTACT = re.compile(
    r"(?:https?|ftp)://[^\s<>\"'`\]\[)(]+|\bwww\.[^\s<>\"'`\]\[)(]+|"
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|"
    r"(?<![\w.])\+?\(?\d[\d ().-]{6,}\d(?!\w|\.\d)",
    re.IGNORECASE,
)


# Where a client that renders the answer would go or fetch from, scheme or not: Markdown
# links and images, reference definitions, autolinks, HTML attributes, "//host/path" and
# other schemes. ``m.group(name)`` of the alternative that matched is the target.
LINK = re.compile(
    r"!?\[[^\]\n]*\]\(\s*<?(?P<md>[^)\s>]*)[^)]*\)|"
    r"^[ \t]*\[[^\]\n]+\]:[ \t]*<?(?P<ref>[^\s>]+)|"
    r"<(?P<auto>(?:[a-z][a-z0-9+.-]*:|//)[^\s<>]+)>|"
    r"\b(?:src|href|srcset|action|formaction|poster|background|data)\s*=\s*[\"']?(?P<attr>[^\"'\s>]+)|"
    r"(?<![\w/:.])(?P<slash>//[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:/[^\s<>\"'`)\]]*)?)|"
    r"\b(?P<scheme>(?:mailto|javascript|vbscript|data|file|tel|sms|ftp|wss?):[^\s<>\"'`)\]]+)",
    re.IGNORECASE | re.MULTILINE,
)


def contacts(text: str) -> list[str]:
    """URLs, link and image targets, e-mail addresses and phone numbers in ``text``
    (trailing punctuation dropped): what an answer may only repeat verbatim from
    its passage.

    >>> contacts("Visit http://evil.example/x. Or mail a@b.org, or call +1 (202) 555-0100.")
    ['http://evil.example/x', 'a@b.org', '+1 (202) 555-0100']
    >>> contacts("See ![](//attacker.test/p.png?d=1) and [tickets](buy.html).")
    ['//attacker.test/p.png?d=1', 'buy.html']
    """
    plain = strip_markers(text)
    out = []
    for m in LINK.finditer(plain):
        value = next((v for v in m.groupdict().values() if v is not None), "")
        value = value.rstrip(".,;:!?") or m.group(0)  # an empty target is still a link: "[x]()"
        if value not in out:
            out.append(value)
    for m in CONTACT.finditer(plain):
        value = m.group(0).rstrip(".,;:!?")
        if (sum(ch.isdigit() for ch in value) >= 7 or not value[0] in "+(0123456789") and \
                not any(value in seen for seen in out):
            out.append(value)
    return out


def without_links(text: str) -> str:
    """``text`` with every link, image and address taken out (what is left of a
    sentence that may not send the reader anywhere).

    >>> without_links("Not in the passages; see ![x](//a.test/p.png) or http://b.test.")
    'Not in the passages; see or.'
    """
    def cut(m: re.Match) -> str:  # the address goes, the sentence's own punctuation stays
        value = m.group(0)
        return value[len(value.rstrip(".,;:!?")):]

    out = CONTACT.sub(cut, LINK.sub("", text))
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()


def defang(text: str) -> str:
    """``text`` for a warning: links and addresses kept readable but not live
    (no client renders or follows them), so a warning never links to what it removed.

    >>> defang("Visit https://evil.example/x or ![](//a.test/p.png) or mail bob@evil.example.")
    'Visit hxxps://evil[.]example/x or (image: //a[.]test/p[.]png) or mail bob[at]evil[.]example.'
    """
    def target(value: str) -> str:
        value = re.sub(r"^(h)tt(ps?:)", r"\1xx\2", value, flags=re.IGNORECASE)
        value = value.replace("@", "[at]")
        return re.sub(r"(?<=\w)\.(?=\w)", "[.]", value)

    def link(m: re.Match) -> str:
        whole = m.group(0)
        value = next((v for v in m.groupdict().values() if v is not None), "")
        if whole.startswith("!["):
            return f"(image: {target(value)})"
        if whole.startswith("["):
            label = whole[1:whole.index("]")]
            return f"{label} (link: {target(value)})"
        if m.group("attr") is not None or m.group("auto") is not None:
            return f"(link: {target(value)})"
        return whole.replace(value, target(value)) if value else whole

    text = LINK.sub(link, text)
    text = CONTACT.sub(lambda m: target(m.group(0)) if not m.group(0)[0] in "+(0123456789" else m.group(0), text)
    return text.replace("<", "‹").replace(">", "›")  # no markup: a warning is read, never rendered


def addresses_reader(sentence: str) -> bool:
    """Does this sentence address the reader or a model instead of stating something?

    >>> addresses_reader("Visit http://evil.example for details.")
    True
    >>> addresses_reader("Tillerson visited Tokyo in March.")
    False
    """
    text = strip_markers(sentence)
    return bool(ADDRESSED.search(text) or INSTRUCTION.search(text))


def claim_terms(sentence: str) -> list[str]:
    """Content terms of a claim (stemmed), without prose about the passages."""
    from rag.text import STOPWORDS, stem, words

    out: list[str] = []
    for w in words(strip_markers(sentence)):
        low = w.lower()
        if low in STOPWORDS or low in _PROSE:
            continue
        t = stem(w)
        if t not in out:
            out.append(t)
    return out


def claim_names(sentence: str) -> list[str]:
    """Numbers and capitalised words (not opening the sentence) of a claim: a
    supporting passage must contain every one of them.

    >>> claim_names("The resolutions imposed sanctions on Iran in 2016 [1].")
    ['Iran', '2016']
    """
    from rag.text import STOPWORDS, words

    out: list[str] = []
    for i, w in enumerate(words(strip_markers(sentence))):
        if w.lower() in STOPWORDS or w.lower() in _PROSE or w in out:
            continue
        if w[0].isdigit() or (i > 0 and w[0].isupper() and len(w) > 1):
            out.append(w)
    return out


@dataclass(frozen=True)
class Support:
    """How well one passage supports one claim; ``start``/``end`` are file
    offsets of the best supporting span (the quote)."""

    ok: bool
    score: float
    start: int = 0
    end: int = 0
    reason: str = ""
    cosine: float | None = None


@dataclass(frozen=True)
class _Window:
    start: int
    end: int
    tokens: frozenset
    negated: bool


class Verifier:
    """Checks claims against the passages the model was given (numbered from 1).

    ``idf`` weighs terms (distinctive words count more); ``embed`` (texts ->
    vectors, optional) decides borderline cases.

    >>> v = Verifier("When?", [Passage("c", "a.txt", 0, 30, "Abe met Tillerson in Tokyo.", 1.0)], {})
    >>> v.check("Tillerson met Abe in Tokyo [1].", 1).ok
    True
    """

    def __init__(self, question: str, passages: list[Passage], idf: dict[str, float], embed=None) -> None:
        from rag.text import terms

        self.passages = passages
        self.idf = idf
        # A word the corpus never uses is usually paraphrase ("went" for "traveled"):
        # it weighs like a typical word. Invented names and numbers are caught apart.
        self.default_idf = float(np.median(list(idf.values()))) if idf else 1.0
        self.embed = embed
        self.question_terms = terms(question)
        self.windows = [self._windows(p) for p in passages]
        self.stated = ["\n".join(self._text(i + 1, w) for w in ws) for i, ws in enumerate(self.windows)]
        self.passage_tokens = [frozenset().union(*(w.tokens for w in ws)) if ws else frozenset()
                               for ws in self.windows]
        # Passages with text addressed to a model or reader (prompt injection), by number.
        self.injected = [i + 1 for i, p in enumerate(passages) if INSTRUCTION.search(p.text) or any(
            ADDRESSED.search(p.text[s - p.start:e - p.start]) and not _plain_imperative(p.text[s - p.start:e - p.start])
            for s, e in _sentences(p))]

    @staticmethod
    def _windows(p: Passage) -> list[_Window]:
        """Single sentences and adjacent pairs (a quote often needs the
        sentence before it, e.g. the speaker), never instruction-like text."""
        from rag.text import sentence_spans, tokens

        sents = []
        for s, e in sentence_spans(p.text, base=p.start):
            text = p.text[s - p.start:e - p.start]
            if addresses_reader(text):
                sents.append(None)
                continue
            sents.append(_Window(s, e, frozenset(tokens(text)), bool(_NEGATION.search(text))))
        out = [w for w in sents if w]
        for a, b in zip(sents, sents[1:]):
            if a and b:
                out.append(_Window(a.start, b.end, a.tokens | b.tokens, a.negated or b.negated))
        return out

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default_idf)

    def check(self, sentence: str, n: int) -> Support:
        """Does passage ``n`` (1-based) support ``sentence``?"""
        from rag.text import stem

        if not 1 <= n <= len(self.passages):
            return Support(False, 0.0, reason=f"there is no passage [{n}]")
        terms = claim_terms(sentence)
        if not terms:
            return Support(False, 0.0, reason="the sentence makes no checkable claim")
        if addresses_reader(sentence):
            return Support(False, 0.0, reason="the sentence tells the reader to act instead of stating "
                                              "what the passage says")
        # Verbatim in what the passage states: a link inside planted instructions does not count.
        absent = [c for c in contacts(sentence) if c not in self.stated[n - 1]]
        if absent:
            return Support(False, 0.0, reason=f"the passage does not state {', '.join(map(defang, absent))} "
                                              "verbatim")
        windows = self.windows[n - 1]
        if not windows:
            return Support(False, 0.0, reason="the passage holds no usable text")
        ptoks = self.passage_tokens[n - 1]
        missing = [w for w in claim_names(sentence) if stem(w) not in ptoks]
        if missing:
            return Support(False, 0.0, reason=f"the passage never mentions {', '.join(missing)}")
        best, best_score = self._best_window(terms, n)
        found = Support(False, round(best_score, 3), best.start, best.end)
        if len(terms) < SHORT_CLAIM_TERMS and self.question_terms:
            topic = sum(1 for t in self.question_terms if t in ptoks) / len(self.question_terms)
            if topic < 0.5:
                return _replace(found, reason="a short answer from a passage off the question's topic")
        if _NEGATION.search(strip_markers(sentence)) and not best.negated:
            return _replace(found, reason="the sentence negates what the passage says")
        if best_score >= STRONG_SUPPORT:
            return _replace(found, ok=True)
        if best_score >= WEAK_SUPPORT and self.embed is not None:
            cos = self._cosine(strip_markers(sentence), self._text(n, best))
            if cos >= MIN_COSINE:
                return _replace(found, ok=True, cosine=round(cos, 3))
            return _replace(found, cosine=round(cos, 3),
                            reason=f"weak overlap ({best_score:.2f}) and similarity ({cos:.2f})")
        return _replace(found, reason=f"only {best_score:.0%} of the sentence's terms are in the passage")

    def check_all(self, sentence: str, numbers: list[int]) -> list[Support]:
        """:meth:`check` for each marker of a sentence, plus joint support: a
        sentence that combines facts ("X met Y [1] and later Z [2]", written
        "[1][2]") is supported when its cited passages together cover it, each
        contributing a real share."""
        from rag.text import stem

        results = [self.check(sentence, n) for n in numbers]
        cited = sorted({n for n in numbers if 1 <= n <= len(self.passages) and self.windows[n - 1]})
        failing = [r for n, r in zip(numbers, results) if n in cited and not r.ok]
        if len(cited) < 2 or not failing:
            return results
        terms = claim_terms(sentence)
        if not terms or _NEGATION.search(strip_markers(sentence)):
            return results
        union = frozenset().union(*(self.passage_tokens[n - 1] for n in cited))
        if any(stem(w) not in union for w in claim_names(sentence)):
            return results
        total = sum(self.weight(t) for t in terms)
        best = {n: self._best_window(terms, n)[0] for n in cited}
        covered = frozenset().union(*(w.tokens for w in best.values()))
        if sum(self.weight(t) for t in terms if t in covered) / total < STRONG_SUPPORT:
            return results
        out = []
        for n, r in zip(numbers, results):
            if n in cited and not r.ok:
                share = sum(self.weight(t) for t in terms if t in best[n].tokens) / total
                if share >= JOINT_SHARE:
                    r = Support(True, round(share, 3), best[n].start, best[n].end, reason="jointly")
            out.append(r)
        return out

    def _best_window(self, terms: list[str], n: int) -> tuple[_Window, float]:
        """The window of passage n covering most term weight (shortest on ties)."""
        total = sum(self.weight(t) for t in terms)
        best, best_score = None, -1.0
        for w in self.windows[n - 1]:
            score = sum(self.weight(t) for t in terms if t in w.tokens) / total
            if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and best
                                             and w.end - w.start < best.end - best.start):
                best, best_score = w, score
        assert best is not None
        return best, best_score

    def best(self, sentence: str) -> tuple[int, Support]:
        """The passage number that supports ``sentence`` best, and how."""
        results = [(n, self.check(sentence, n)) for n in range(1, len(self.passages) + 1)]
        if not results:
            return 0, Support(False, 0.0, reason="no passages")
        return max(results, key=lambda r: (r[1].ok, r[1].score))

    def _text(self, n: int, w: _Window) -> str:
        p = self.passages[n - 1]
        return p.text[w.start - p.start:w.end - p.start]

    def _cosine(self, a: str, b: str) -> float:
        va, vb = (np.asarray(v, dtype=np.float32) for v in self.embed([a, b]))
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0
        return float(va @ vb) / denom


def _sentences(p: Passage) -> list[tuple[int, int]]:
    from rag.text import sentence_spans

    return sentence_spans(p.text, base=p.start)


def _plain_imperative(sentence: str) -> bool:
    """An imperative that only addresses a reader ("Visit the museum."), common in
    ordinary documents: never evidence, but not worth flagging the passage for.
    Flagged are imperatives carrying a link or contact, and text aimed at a model."""
    return not INSTRUCTION.search(sentence) and not contacts(sentence) and not re.search(
        r"\b(?:user|reader|assistant|model|prompt|instructions?)\b", sentence, re.IGNORECASE)


def _replace(s: Support, **changes) -> Support:
    return dataclasses.replace(s, **changes)



class AnswerBuilder:
    """Turns the model's streamed text into verified sentences.

    Feed deltas; a sentence is judged once the next one has begun (its markers
    may follow its full stop). Verified pieces come back as soon as the answer
    holds a verified citation; until then they wait, so an answer that ends up
    replaced (fallback, refusal) never streamed a word.

    >>> b = AnswerBuilder(verifier, passages)  # doctest: +SKIP
    >>> list(b.feed("Tillerson arrived on March 16 [2]. He")) + list(b.finish())  # doctest: +SKIP
    ['Tillerson arrived on March 16 [1].', ' He ...']
    """

    def __init__(self, verifier: Verifier, passages: list[Passage], redact=lambda text: text) -> None:
        self.verifier = verifier
        self.passages = passages
        self.redact = redact  # a model may echo secrets; whole sentences hold whole keys
        self.book = CitationBook()
        self.warnings: list[str] = []
        self.report: list[dict] = []
        self.refused = False
        self._raw = ""
        self._done = 0          # raw offset up to which sentences are judged
        self._out: list[str] = []
        self._held: list[str] = []
        self._seen: set[str] = set()  # sentences already judged: an answer never repeats one

    @property
    def citations(self):
        return list(self.book.citations)

    @property
    def text(self) -> str:
        return "".join(self._out)

    @property
    def raw(self) -> str:
        """The model's text as received (marker lists normalised)."""
        return self._raw

    def feed(self, delta: str) -> list[str]:
        # Normalising the unjudged tail again is harmless: it is idempotent.
        self._raw = self._raw[:self._done] + normalize_markers(self._raw[self._done:] + delta)
        tail = self._raw[self._done:]
        spans = claim_spans(tail)
        if len(spans) < 2:
            return []
        last = tail[spans[-1][0]:spans[-1][1]]
        if not re.search(r"[A-Za-z0-9]", re.sub(r"\[[^\]]*\]?", "", last)):
            # Only a (partial) marker so far: it may still belong to the sentence before.
            return self._judge(spans[:-2])
        return self._judge(spans[:-1])

    def finish(self) -> list[str]:
        pieces = self._judge(claim_spans(self._raw[self._done:]))
        if not self.book.citations:
            self._held.clear()
        return pieces

    def _judge(self, spans: list[tuple[int, int]]) -> list[str]:
        base = self._done
        emitted: list[str] = []
        for s, e in spans:
            gap = self._raw[self._done:base + s]
            self._done = base + e
            sentence = self._sentence(self.redact(self._raw[base + s:base + e]))
            if sentence is None:
                continue
            self._held.append(_separator(gap) if self._out or self._held else "")
            self._held[-1] += sentence
            if self.book.citations:
                emitted.extend(self._held)
                self._out.extend(self._held)
                self._held.clear()
        return emitted

    def _sentence(self, raw: str) -> str | None:
        """The verified form of one sentence, or None to drop it."""
        body = strip_markers(raw)
        markers = parse_markers(raw)
        entry: dict = {"sentence": defang(body[:300]), "markers": markers}
        self.report.append(entry)
        key = " ".join(body.lower().split())
        if key in self._seen:
            entry["dropped"] = "a repeat of an earlier sentence"
            return None
        self._seen.add(key)
        if is_refusal(body):
            # "The passages do not say when..." is honest, never evidence-backed; it sends no one anywhere.
            entry["refusal"] = True
            self.refused = True
            return without_links(body) if contacts(body) else body
        if not markers:
            if contacts(body) and not self.verifier.best(body)[1].ok:
                entry["dropped"] = "a link or address no passage states"
                self.warnings.append(f"removed a sentence with a link or address no passage states: {_short(body)}")
                return None
            if not claim_terms(body):
                entry["kept"] = "connective"
                return body
            n, sup = self.verifier.best(body)
            if sup.ok:
                entry["kept"] = f"uncited, supported by [{n}]"
                return body
            entry["dropped"] = "no passage supports it"
            self.warnings.append(f"removed a sentence no passage supports: {_short(body)}")
            return None
        new: list[int | None] = []
        for n, sup in zip(markers, self.verifier.check_all(body, markers)):
            if sup.ok:
                p = self.passages[n - 1]
                new.append(self.book.add(p, sup.start, sup.end))
                continue
            new.append(None)
            if not 1 <= n <= len(self.passages):
                self.warnings.append(f"removed citation [{n}]: there is no passage [{n}] "
                                     f"(the model was given {len(self.passages)})")
            else:
                self.warnings.append(f"removed citation [{n}] ({self.passages[n - 1].source}): "
                                     f"{sup.reason} — for {_short(body)}")
            entry.setdefault("rejected", []).append({"marker": n, "reason": sup.reason})
        if not any(x is not None for x in new):
            entry["dropped"] = "no cited passage supports it"
            self.warnings.append(f"removed a sentence its citations do not support: {_short(body)}")
            return None
        entry["kept"] = {old: nw for old, nw in zip(markers, new) if nw is not None}
        return rewrite_markers(raw, new)


def _separator(gap: str) -> str:
    """Keep the model's paragraph and line breaks between kept sentences."""
    return "\n\n" if "\n\n" in gap else "\n" if "\n" in gap else " "


def _short(text: str, limit: int = 120) -> str:
    """A sentence quoted in a warning: one line, at most ``limit`` characters, links not live."""
    text = defang(" ".join(text.split()))
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")
