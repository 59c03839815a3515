"""Small text-analysis helpers shared by retrieval, answering and citations:
tokens with a light stemmer, stop words, and sentence spans with offsets.

>>> terms("Which resolutions were cited?")
['resolution']
>>> tokens("Tillerson talked with Kishida")
['tillerson', 'talk', 'kishida']
"""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves s t don shall may might must upon per via
us mr ms mrs let get got one ever tell please say says said going become becoming became
""".split())

# Words that shape a question but carry no topic of their own.
QUESTION_WORDS = frozenset("""
what which who whom whose when where why how many much long often kind type name names list
happen happened happens describe explain according document documents file files text corpus
source sources article articles mention mentions mentioned mentioning discuss discussed discusses
cite cited cites refer refers referred talk talked talks give given gives state stated states
anything something someone anyone thing things know known find show tell told does did do
date dates day days time times year month happened take place took far
answer answers answering question questions citation citations cite quote quotes ignore previous
instruction instructions prompt system need needed make up
""".split())

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]|\d+(?:[.,:]\d+)*")

MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
    "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
}


IRREGULAR = {
    "led": "lead", "met": "meet", "shook": "shake", "took": "take", "taken": "take", "held": "hold",
    "made": "make", "won": "win", "began": "begin", "begun": "begin", "went": "go", "gone": "go",
    "saw": "see", "seen": "see", "spoke": "speak", "spoken": "speak", "wrote": "write",
    "written": "write", "gave": "give", "given": "give", "came": "come", "sent": "send",
    "brought": "bring", "thought": "think", "sought": "seek", "fell": "fall", "fallen": "fall",
    "became": "become", "chose": "choose", "chosen": "choose", "flew": "fly", "flown": "fly",
    "ran": "run", "rose": "rise", "risen": "rise", "stood": "stand", "struck": "strike", "told": "tell",
    "heard": "hear", "kept": "keep", "knew": "know", "known": "know", "drew": "draw", "drawn": "draw",
    "grew": "grow", "grown": "grow", "signed": "sign", "signing": "sign",
}


def stem(word: str) -> str:
    """A light suffix stripper: enough to match cited/cites/citing, talks/talk."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = MONTHS.get(w, w)
    if w in IRREGULAR:
        w = IRREGULAR[w]
    for suf, rep in (("ational", "ate"), ("ations", "ate"), ("ation", "ate"), ("iveness", "ive"),
                     ("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", "e"), ("es", "e"), ("ly", ""),
                     ("s", ""), ("ions", ""), ("ion", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not w.endswith("ss"):
            w = w[: len(w) - len(suf)] + rep
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Raw word tokens (numbers kept whole, e.g. '2:15', '2270')."""
    out = []
    for m in _WORD.finditer(text):
        tok = m.group(0).strip("'’-")
        out.extend(p for p in re.split(r"[-]", tok) if p) if "-" in tok and not tok[0].isdigit() else out.append(tok)
    return out


def tokens(text: str) -> list[str]:
    """Stemmed, lower-cased tokens without stop words: the lexical index vocabulary."""
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS]


def word_pieces(word: str) -> list[str]:
    """``word`` as the index cuts it: a text mentions the word when it holds every
    piece (its stem when every piece is a stop word).

    >>> word_pieces("json_patch"), word_pieces("--client-key"), word_pieces("countries")
    (['json', 'patch'], ['client', 'key'], ['country'])
    """
    return tokens(word) or [stem(word)]


def terms(question: str) -> list[str]:
    """The topical terms of a question: tokens minus stop words and question words."""
    seen: list[str] = []
    for w in words(question):
        low = w.lower().replace("’", "'")
        if low in STOPWORDS or low in QUESTION_WORDS or low.rstrip("'s") in QUESTION_WORDS:
            continue
        t = stem(w)
        if t not in seen:
            seen.append(t)
    return seen


CONTEXT_WORDS = frozenset(MONTHS.values()) | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday".split())


def is_context_term(term: str) -> bool:
    """Dates narrow a question's context ("in March 2017") rather than name its topic."""
    return term[:1].isdigit() or term in CONTEXT_WORDS


def surface_of(question: str) -> dict[str, str]:
    """Each stem of the question mapped to the word as written (for messages)."""
    out: dict[str, str] = {}
    for w in words(question):
        out.setdefault(stem(w), w)
    return out


def same_word(a: str, b: str) -> bool:
    """Stems equal, or one a 5+ letter prefix of the other (Korea / Korean)."""
    return a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))


def salient_words(question: str) -> list[str]:
    """Names and numbers in a question (capitalised words not opening it, digits),
    stemmed: an answer must be about these, so the corpus must contain them."""
    return [stem(w) for w in salient_surface(question)]


def salient_surface(question: str) -> list[str]:
    """:func:`salient_words` as written in the question."""
    out = []
    ws = words(question)
    for i, w in enumerate(ws):
        low = w.lower()
        if low in STOPWORDS or low in QUESTION_WORDS or (len(w) == 1 and w.isalpha()):
            continue  # single letters are pieces of abbreviations ("U.S.")
        if w[0].isdigit() or (i > 0 and w[0].isupper()):
            out.append(w)
    return out


_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|No|Nos|Gen|Sen|Rep|Gov|Prof|Corp|Inc|Ltd|Co|vs|etc|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|N|S|U|a\.m|p\.m|e\.g|i\.e|cf|approx|[A-Z])\.)$"
)
# A lone "!" or "?" ("the ! operator") ends nothing: the mark must follow a word.
_END = re.compile(r"(?<=\S)[.!?]+[\"'”’)\]]*(?=\s+|$)|\n\s*\n|\n")
_END_SOFT = re.compile(r"(?<=\S)[.!?]+[\"'”’)\]]*(?=\s+|$)|\n\s*\n")


def sentence_spans(text: str, base: int = 0, lines: bool = True) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in ``text`` (plus ``base``), whitespace trimmed.
    With ``lines=False`` a single line break is a soft wrap, not a sentence end
    (use it inside one block of a document).

    >>> t = "Mr. Abe met U.S. officials. They talked."
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['Mr. Abe met U.S. officials.', 'They talked.']
    >>> t = "One wrapped\\nline. Two."
    >>> [t[s:e] for s, e in sentence_spans(t, lines=False)]
    ['One wrapped\\nline.', 'Two.']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in (_END if lines else _END_SOFT).finditer(text):
        end = m.end()
        piece = text[start:end]
        if "\n" not in m.group(0) and _ABBREV.search(piece.rstrip("\"'”’)]")):
            nxt = text[end:end + 3].lstrip()
            if nxt[:1].islower() or nxt[:1].isdigit() or nxt[:1] == "":
                continue
            if re.search(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Gov|Prof|No|e\.g|i\.e|cf)|(?<![A-Za-z.])[A-Z]|U\.S)\.$",
                         piece.rstrip()):
                continue  # titles, initials and "e.g." ("Rex W. Tillerson", "N. Korea") never end a sentence
        _push(text, start, end, base, spans)
        start = end
    _push(text, start, len(text), base, spans)
    return spans


_MARKERS_AFTER = re.compile(r"(?:[ \t]*\[\d{1,3}\])*")


def stream_pieces(text: str) -> list[str]:
    """``text`` cut after each sentence and the ``[n]`` markers that follow it,
    for streaming an answer sentence by sentence. The pieces join back into
    ``text``, and every piece after the first starts with whitespace.

    >>> stream_pieces("Abe met Mr. Trump. [1] They talked. [2]\\n\\nLater, more. [3]")
    ['Abe met Mr. Trump. [1]', ' They talked. [2]', '\\n\\nLater, more. [3]']
    """
    cuts: list[int] = []
    for _, end in sentence_spans(text):
        end = _MARKERS_AFTER.match(text, end).end()
        if end < len(text) and text[end].isspace() and (not cuts or end > cuts[-1]):
            cuts.append(end)
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _push(text: str, start: int, end: int, base: int, spans: list[tuple[int, int]]) -> None:
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg) - len(seg.rstrip())
    s, e = start + lead, end - trail
    if e - s >= 2 and any(ch.isalnum() for ch in text[s:e]):
        spans.append((base + s, base + e))


def in_vocabulary(term: str, vocab_sorted: list[str], vocab: set[str] | dict) -> bool:
    """Is ``term`` (a stem) in the corpus, allowing derived forms that the light
    stemmer leaves apart (annex / annexation, withdraw / withdrawal)?"""
    if term in vocab:
        return True
    if len(term) < 5:
        return False
    from bisect import bisect_left

    i = bisect_left(vocab_sorted, term)
    if i < len(vocab_sorted) and vocab_sorted[i].startswith(term):
        return True
    return any(term.startswith(term[:k]) and term[:k] in vocab for k in range(5, len(term)))


# Code-like words: identifiers, options, versions, file names ("SQLITE_MAX_LENGTH", "--dry-run",
# "hatch.toml", "fts5", "3.12", "WAL"); not years, which only date a question's context.
_IDENT = re.compile(r"(?<![\w.-])(?:--?[A-Za-z][\w-]*|[A-Za-z]\w*_\w*|[A-Za-z]\w+(?:\.[A-Za-z_]\w*)+|"
                    r"[A-Za-z]+\d\w*|\d+(?:\.\d+)+[a-z]*\d*|[A-Z][A-Z0-9]{2,})(?:\(\))?(?![\w-])")


def question_identifiers(question: str) -> list[str]:
    """Code-like words of a question as written: identifiers, options, versions,
    file names ("SQLITE_MAX_LENGTH", "--dry-run", "hatch.toml", "3.12").

    >>> question_identifiers("Does hatch.toml accept --dry-run since 1.8.0?")
    ['hatch.toml', '--dry-run', '1.8.0']
    """
    return [m.group(0).removesuffix("()") for m in _IDENT.finditer(question)]


def corpus_identifiers(text: str) -> set[str]:
    """The code-like words of a text, lower-cased (see :func:`question_identifiers`)."""
    return {m.group(0).removesuffix("()").lower() for m in _IDENT.finditer(text)}


# Text in a document addressed to a model. It is data, and never counts as evidence.
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b|"
    r"\b(?:system prompt|you are now|as an ai|new instructions?)\b",
    re.IGNORECASE,
)
